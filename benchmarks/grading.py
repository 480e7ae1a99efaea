"""Benchmark: autograde 40 copies of Lab 00 (correct, wrong, hanging) with 2 workers.

Prints seconds per submission for ``npulab grade`` and, with nbgrader installed, for
nbgrader's ``autograde`` on the same submissions (nbgrader grades one at a time), their
ratio, and whether the totals agree.  nbgrader stops grading a submission at its first
cell timeout and records nothing for it, so hanging submissions have no nbgrader score.

    .venv/bin/python benchmarks/grading.py [--n 40] [--workers 2] [--timeout 10]
"""
from __future__ import annotations

import argparse
import copy
import tempfile
import time
from collections import Counter
from pathlib import Path

import nbformat

from npulab.grading import release_notebook, strip_hidden_tests
from npulab.grading.classroom import grade_class
from npulab.grading.execute import is_test_cell

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "solutions" / "00_orientation.ipynb"


def make_class(folder: Path, n: int) -> dict[str, str]:
    """``n`` submissions: 6 in 10 correct, 3 in 10 the untouched stub, 1 in 10 hanging."""
    solution = nbformat.read(SOURCE, as_version=4)
    correct = copy.deepcopy(solution)
    for cell in correct.cells:
        if is_test_cell(cell):
            cell.source = strip_hidden_tests(cell.source)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    stub = release_notebook(solution)
    hanging = copy.deepcopy(correct)
    first_solution = next(c for c in hanging.cells if c.metadata.get("nbgrader", {}).get("solution"))
    first_solution.source = "while True:\n    pass\n" + first_solution.source
    kinds = {}
    folder.mkdir(parents=True)
    for i in range(n):
        kind = "hanging" if i % 10 == 9 else "wrong" if i % 10 in (6, 7, 8) else "correct"
        nb = {"correct": correct, "wrong": stub, "hanging": hanging}[kind]
        (folder / f"s{i:03d}").mkdir()
        nbformat.write(nb, folder / f"s{i:03d}" / SOURCE.name)
        kinds[f"s{i:03d}"] = kind
    return kinds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40, help="submissions (default 40)")
    parser.add_argument("--workers", type=int, default=2, help="npulab grade workers (default 2)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per cell (default 10)")
    parser.add_argument("--no-nbgrader", action="store_true", help="skip the nbgrader comparison")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="npulab-bench-grading-") as tmp:
        tmp = Path(tmp)
        kinds = make_class(tmp / "submissions", args.n)
        counts = {k: list(kinds.values()).count(k) for k in ("correct", "wrong", "hanging")}
        print(f"{args.n} submissions of {SOURCE.name}: {counts}; cell timeout {args.timeout:g} s")
        start = time.perf_counter()
        run = grade_class(SOURCE, tmp / "submissions", tmp / "out", cell_timeout=args.timeout,
                          workers=args.workers, progress=False)
        ours_s = time.perf_counter() - start
        ours = {r.student: r.total for r in run.results}
        statuses = dict(Counter(r.status for r in run.results))
        print(f"npulab grade  ({args.workers} workers): {ours_s:7.1f} s total, "
              f"{ours_s / args.n:5.2f} s per submission; statuses {statuses}")
        if args.no_nbgrader:
            return
        try:
            from npulab.grading import nbgrader_compat
        except ImportError:
            print("nbgrader not installed: no comparison")
            return
        paths = {s: tmp / "submissions" / s / SOURCE.name for s in kinds}
        start = time.perf_counter()
        try:
            theirs = nbgrader_compat.autograde(SOURCE, paths, tmp / "nbgrader", timeout=args.timeout)
            failed = []
        except RuntimeError:  # some submissions failed (hangs): score the rest
            from nbgrader.api import Gradebook, MissingEntry

            theirs, failed = {}, []
            with Gradebook(f"sqlite:///{tmp / 'nbgrader' / 'gradebook.db'}") as gb:
                for s in kinds:
                    try:
                        theirs[s] = float(gb.find_submission("lab", s).score)
                    except MissingEntry:
                        failed.append(s)
        theirs_s = time.perf_counter() - start
        agree = sum(theirs[s] == ours[s] for s in theirs)
        print(f"nbgrader autograde (1 process):  {theirs_s:7.1f} s total, "
              f"{theirs_s / args.n:5.2f} s per submission; {len(failed)} submissions not graded")
        print(f"ratio nbgrader / npulab time: {theirs_s / ours_s:.2f}x "
              f"(per submission per worker: {theirs_s / (ours_s * args.workers):.2f}x)")
        print(f"totals agree on {agree}/{len(theirs)} submissions nbgrader graded")


if __name__ == "__main__":
    main()
