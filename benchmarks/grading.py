"""Benchmark: ``npulab grade`` (sandboxed) against nbgrader's ``autograde``, paired and fair.

Both tools grade the same submissions of one lab (default Lab 00: 6 in 10 correct, 3 in 10
the untouched stub, 1 in 10 hanging) at the SAME parallelism: nbgrader's autograde is one
process, so ``--workers`` nbgrader processes each grade a share of the students (one
nbgrader course folder each), against ``npulab grade --workers N``.  The two tools
alternate for ``--rounds`` rounds (npulab, nbgrader, npulab, nbgrader, ...) so machine load
hits both alike; the best round of each is compared.  Printed:

* seconds per submission of each tool and the ratio nbgrader / npulab, per worker and
  both ways (npulab / nbgrader too);
* npulab's sandbox overhead per submission: the student side started, run and stopped with
  and without the sandbox in alternating pairs (median), and the same class graded with
  ``--no-sandbox`` in the same rounds (the difference per submission; noisier);
* whether the totals agree on the submissions nbgrader graded (nbgrader stops a
  notebook at its first cell timeout and records nothing for it).

``--database-only`` measures what the gradebook database (``OUT/gradebook.sqlite``, issue 25)
costs: the same class graded with and without it in alternating rounds (best round each,
their ratio; the target is within 5 %), and the database's own work per submission (upsert
of the result and answers, the marks read for the feedback page) timed alone.

    .venv/bin/python benchmarks/grading.py [--n 20] [--workers 2] [--rounds 2] [--timeout 10]
    .venv/bin/python benchmarks/grading.py --database-only [--n 20] [--rounds 3]
"""
from __future__ import annotations

import argparse
import copy
import shutil
import tempfile
import time
from pathlib import Path

import nbformat

from npulab.grading import release_notebook, strip_hidden_tests
from npulab.grading.classroom import grade_class
from npulab.grading.execute import is_test_cell

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "solutions" / "00_orientation.ipynb"


def make_class(folder: Path, n: int, source: Path) -> dict[str, str]:
    """``n`` submissions: 6 in 10 correct, 3 in 10 the untouched stub, 1 in 10 hanging."""
    solution = nbformat.read(source, as_version=4)
    correct = copy.deepcopy(solution)
    for cell in correct.cells:
        if is_test_cell(cell):
            cell.source = strip_hidden_tests(cell.source)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    stub = release_notebook(solution)
    hanging = copy.deepcopy(correct)
    first_solution = next(c for c in hanging.cells if c.metadata.get("nbgrader", {}).get("solution")
                          and c.cell_type == "code")
    first_solution.source = "while True:\n    pass\n" + first_solution.source
    kinds = {}
    folder.mkdir(parents=True)
    for i in range(n):
        kind = "hanging" if i % 10 == 9 else "wrong" if i % 10 in (6, 7, 8) else "correct"
        nb = {"correct": correct, "wrong": stub, "hanging": hanging}[kind]
        (folder / f"s{i:03d}").mkdir()
        nbformat.write(nb, folder / f"s{i:03d}" / source.name)
        kinds[f"s{i:03d}"] = kind
    return kinds


def run_npulab(source, subs, out, *, workers, timeout, sandbox, database=True) -> tuple[float, dict]:
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    run = grade_class(source, subs, out, cell_timeout=timeout, workers=workers, progress=False, sandbox=sandbox,
                      database=database)
    return time.perf_counter() - start, {r.student: r.total for r in run.results}


def database_cost(source, subs, out, *, n, workers, timeout, rounds) -> tuple[float, float, float]:
    """Best seconds per submission grading the class with and without the gradebook database
    (alternating rounds), and the database's own seconds per submission: the stored results
    upserted one by one (as ``npulab grade`` does after each student) with the marks read back
    for each feedback page, then the whole-class upsert and ``rows()`` of the end of a run."""
    from npulab.grading.autograde import SubmissionResult
    from npulab.grading.gradebook_db import open_gradebook, written_questions

    times = {True: [], False: []}
    for r in range(rounds):
        for database in ((True, False) if r % 2 == 0 else (False, True)):
            s, _ = run_npulab(source, subs, out, workers=workers, timeout=timeout, sandbox=True, database=database)
            times[database].append(s / n)
            print(f"round {r + 1}, {'with' if database else 'without'} the database: {s:.1f} s", flush=True)
    import json

    results = [SubmissionResult.from_dict(json.loads(p.read_text())["result"])
               for p in sorted((out / "results").glob("*.json"))]
    db_out = out.parent / "db-only"
    shutil.rmtree(db_out, ignore_errors=True)
    start = time.perf_counter()
    with open_gradebook(db_out) as book:
        book.set_questions(written_questions(nbformat.read(source, as_version=4)))
        for result in results:
            book.record_results([result])
            book.manual_scores(result.student)
        book.record_results(results)
        book.rows()
    own = (time.perf_counter() - start) / max(1, len(results))
    return min(times[True]), min(times[False]), own


_NBGRADER_SHARE = """
import json, sys
from pathlib import Path
from npulab.grading import nbgrader_compat
job = json.loads(sys.argv[1])
paths = {s: Path(p) for s, p in job["paths"].items()}
course = Path(job["course"])
try:
    scores = nbgrader_compat.autograde(job["source"], paths, course, timeout=job["timeout"])
except RuntimeError:  # some submissions failed (hangs): score the rest
    from nbgrader.api import Gradebook, MissingEntry
    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for s in paths:
            try:
                scores[s] = float(gb.find_submission("lab", s).score)
            except MissingEntry:
                pass
print("SCORES " + json.dumps(scores))
"""


def run_nbgrader(source, kinds, subs, root, *, workers, timeout) -> tuple[float, dict]:
    """``workers`` nbgrader autograde processes side by side, each on its share of students."""
    import json
    import subprocess
    import sys

    shutil.rmtree(root, ignore_errors=True)
    students = sorted(kinds)
    shares = [students[i::workers] for i in range(workers)]
    start = time.perf_counter()
    procs = []
    for k, share in enumerate(shares):
        job = {"source": str(source), "course": str(root / f"course{k}"), "timeout": timeout,
               "paths": {s: str(subs / s / source.name) for s in share}}
        procs.append(subprocess.Popen([sys.executable, "-c", _NBGRADER_SHARE, json.dumps(job)],
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True))
    theirs = {}
    for proc in procs:
        out, _ = proc.communicate()
        for line in out.splitlines():
            if line.startswith("SCORES "):
                theirs.update(json.loads(line[7:]))
    return time.perf_counter() - start, theirs


def sandbox_start_overhead(pairs: int = 10) -> tuple[float, float]:
    """Median seconds to start the student side, run one cell and end it: (sandboxed, plain),
    measured in alternating pairs (the sandbox's own cost, free of class-run noise)."""
    import statistics

    from npulab.grading.engine import start_driver

    times = {True: [], False: []}
    with tempfile.TemporaryDirectory() as box:
        for _ in range(pairs):
            for sandbox in (True, False):
                start = time.perf_counter()
                with start_driver(Path(box), sandbox=sandbox, memory_mb=2048, nproc=64) as session:
                    session.request({"op": "run", "code": "x = 1", "timeout": 10}, 30)
                times[sandbox].append(time.perf_counter() - start)
    return statistics.median(times[True]), statistics.median(times[False])


def checks_cost(source, subs, out, *, n, workers, timeout, rounds) -> tuple[float, float, float]:
    """Issue 23's per-submission checks, on and off, alternating: best seconds per submission
    with them (the visible pass + the full pass in a fresh sandbox, every result checked
    against the reference result) and without (one pass, no reference check); and the
    seconds to build the reference once per class (not per submission)."""
    from npulab.grading import autograde, reference

    real = (autograde.has_hidden_tests, autograde.visible_only, reference.Reference.of)
    start = time.perf_counter()
    reference.Reference.of(source, cell_timeout=timeout)
    build = time.perf_counter() - start
    times = {True: [], False: []}
    try:
        for r in range(rounds):
            for checks in ((True, False) if r % 2 == 0 else (False, True)):
                if checks:
                    autograde.has_hidden_tests, autograde.visible_only, reference.Reference.of = real
                else:  # one pass over the full notebook, no reference: the grading of before
                    autograde.has_hidden_tests = lambda tests: False
                    autograde.visible_only = lambda nb: nb
                    reference.Reference.of = classmethod(lambda cls, *a, **k: cls({}))
                s, _ = run_npulab(source, subs, out, workers=workers, timeout=timeout, sandbox=True)
                times[checks].append(s / n)
    finally:
        autograde.has_hidden_tests, autograde.visible_only, reference.Reference.of = real
    return min(times[True]), min(times[False]), build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="submissions (default 20)")
    parser.add_argument("--workers", type=int, default=2, help="parallelism of BOTH tools (default 2)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (default 2)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per cell (default 10)")
    parser.add_argument("--source", default=str(SOURCE), help="the lab's source notebook (default Lab 00)")
    parser.add_argument("--no-nbgrader", action="store_true", help="skip the nbgrader comparison")
    parser.add_argument("--database-only", action="store_true",
                        help="only the cost of the gradebook database, paired runs with and without it (issue 25)")
    parser.add_argument("--checks-only", action="store_true",
                        help="only the per-submission cost of the two-pass hidden-input check (issue 23)")
    args = parser.parse_args()
    source = Path(args.source)
    with tempfile.TemporaryDirectory(prefix="npulab-bench-grading-") as tmp:
        tmp = Path(tmp)
        # The lab folder: the source and its data files, as a course repository has it.
        kinds = make_class(tmp / "submissions", args.n, source)
        counts = {k: list(kinds.values()).count(k) for k in ("correct", "wrong", "hanging")}
        print(f"{args.n} submissions of {source.name}: {counts}; cell timeout {args.timeout:g} s; "
              f"{args.workers} workers each tool; {args.rounds} alternating rounds")
        if args.database_only:
            on, off, own = database_cost(source, tmp / "submissions", tmp / "out", n=args.n,
                                         workers=args.workers, timeout=args.timeout, rounds=args.rounds)
            print(f"per submission (best of {args.rounds}, {args.workers} workers): with the database {on:.3f} s, "
                  f"without {off:.3f} s; ratio {on / off:.3f}x (target <= 1.05); the database's own work "
                  f"{own * 1000:.2f} ms per submission ({own / off:.2%} of a submission's grading)")
            return
        if args.checks_only:
            on, off, build = checks_cost(source, tmp / "submissions", tmp / "out", n=args.n,
                                         workers=args.workers, timeout=args.timeout, rounds=args.rounds)
            print(f"per submission (best of {args.rounds}, {args.workers} workers): with the checks {on:.2f} s, "
                  f"without {off:.2f} s; cost {on - off:+.2f} s ({on / off:.2f}x); the reference, built once "
                  f"per class: {build:.1f} s")
            return
        boxed, plain = sandbox_start_overhead()
        print(f"student side start+stop (median of 10 pairs): sandboxed {boxed:.3f} s, plain {plain:.3f} s; "
              f"sandbox overhead {boxed - plain:+.3f} s per submission")
        times = {"npulab": [], "no-sandbox": [], "nbgrader": []}
        ours = theirs = None
        for r in range(args.rounds):
            for sandbox in ((True, False) if r % 2 == 0 else (False, True)):  # alternate the order too
                s, totals = run_npulab(source, tmp / "submissions", tmp / "out", workers=args.workers,
                                       timeout=args.timeout, sandbox=sandbox)
                times["npulab" if sandbox else "no-sandbox"].append(s)
                ours = totals if sandbox else ours
            if not args.no_nbgrader:
                s, theirs = run_nbgrader(source, kinds, tmp / "submissions", tmp / "nbgrader",
                                         workers=args.workers, timeout=args.timeout)
                times["nbgrader"].append(s)
            print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.1f} s" for k, v in times.items() if v), flush=True)
        best = {k: min(v) for k, v in times.items() if v}
        n, w = args.n, args.workers
        print(f"npulab grade (sandboxed): {best['npulab'] / n:5.2f} s per submission "
              f"({best['npulab'] * w / n:5.2f} s per submission per worker)")
        print(f"sandbox overhead: {(best['npulab'] - best['no-sandbox']) / n * w:+.2f} s per submission "
              f"(sandboxed minus --no-sandbox, per worker)")
        if "nbgrader" not in best:
            return
        print(f"nbgrader autograde:       {best['nbgrader'] / n:5.2f} s per submission "
              f"({best['nbgrader'] * w / n:5.2f} s per submission per worker)")
        print(f"per worker, same parallelism: nbgrader / npulab = {best['nbgrader'] / best['npulab']:.2f}x; "
              f"npulab / nbgrader = {best['npulab'] / best['nbgrader']:.2f}x")
        agree = sum(theirs[s] == ours[s] for s in theirs)
        print(f"totals agree on {agree}/{len(theirs)} submissions nbgrader graded "
              f"({n - len(theirs)} not graded by nbgrader: hanging)")


if __name__ == "__main__":
    main()
