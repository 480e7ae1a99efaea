"""Grade a whole class: ``npulab grade SOURCE.ipynb SUBMISSIONS_DIR --out OUT_DIR``.

Layout of ``SUBMISSIONS_DIR`` (the student id is the folder name or the file stem)::

    SUBMISSIONS_DIR/<student>/<lab>.ipynb      folder per student (other files come along)
    SUBMISSIONS_DIR/<student>.ipynb            one file per student

In a student's folder the notebook named like the lab is used; failing that the only
notebook in the folder (searched recursively, so nbgrader's ``<student>/<assignment>/``
layout and LMS exports that rename files work too).

Layout of ``OUT_DIR``::

    gradebook.csv            student, <grade_id>..., total, max, status
    feedback/<student>.html  per-test result, message and points
    summary.json             class statistics and the settings used
    results/<student>.json   the stored result of each student (what resuming reads)

Every file is written atomically.  Each submission is graded in its own worker process
(:func:`npulab.grading.worker.run_worker`), ``workers`` at a time; a finished student's
result is stored at once, so an interrupted run resumes where it stopped.  A stored result
is reused unless ``force``, or unless the submission, the source (their SHA-256 hashes are
stored with it) or the limits (timeouts, memory) changed since.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import nbformat

from npulab.grading.autograde import SubmissionResult, not_graded, sha256_of
from npulab.grading.worker import kill_group, run_worker
from npulab.grading.execute import is_test_cell
from npulab.grading.feedback import dumps, feedback_html, gradebook_csv, summary_dict, write_atomic
from npulab.grading.release import nbgrader_meta


@dataclass(frozen=True)
class Submission:
    """One student's hand-in: ``path`` is None when no notebook was found."""

    student: str
    path: Path | None
    folder: Path | None = None


@dataclass(frozen=True)
class ClassRun:
    """What :func:`grade_class` did.

    Attributes
    ----------
    results : tuple of SubmissionResult
        Every student's result (graded now or reused), sorted by student id.
    graded, reused : tuple of str
        Students graded in this run / whose stored result was reused.
    out : Path
        The output folder.
    seconds : float
        Wall-clock time of this run.  Units: seconds.
    """

    results: tuple[SubmissionResult, ...]
    graded: tuple[str, ...]
    reused: tuple[str, ...]
    out: Path
    seconds: float

    def __repr__(self) -> str:
        return (f"ClassRun(students={len(self.results)}, graded={len(self.graded)}, "
                f"reused={len(self.reused)}, out='{self.out}', seconds={self.seconds:.1f})")


def _notebooks(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.ipynb")
                  if not any(s.startswith(".") for s in p.relative_to(folder).parts))  # .ipynb_checkpoints too


def find_submissions(submissions_dir, lab_name: str, *, exclude=()) -> list[Submission]:
    """Every student in ``submissions_dir`` with the notebook to grade (see module doc)."""
    root = Path(submissions_dir)
    if not root.is_dir():
        raise ValueError(f"submissions folder not found: {root}")
    excluded = {Path(e).resolve() for e in exclude}
    found: dict[str, Submission] = {}
    for entry in sorted(root.iterdir()):
        if entry.name.startswith(".") or entry.resolve() in excluded or entry.name == "__pycache__":
            continue
        if entry.is_file() and entry.suffix == ".ipynb":
            sub = Submission(entry.stem, entry)
        elif entry.is_dir():
            books = _notebooks(entry)
            named = [p for p in books if p.name == lab_name]
            like = [p for p in books if Path(lab_name).stem in p.stem]
            pick = named or (books if len(books) == 1 else like if len(like) == 1 else [])
            sub = Submission(entry.name, pick[0] if pick else None, entry)
        else:
            continue
        if sub.student in found:
            raise ValueError(f"student id {sub.student!r} appears twice in {root} (a folder and a file?)")
        found[sub.student] = sub
    return list(found.values())


def _missing(sub: Submission, source: Path, tests) -> SubmissionResult:
    return SubmissionResult(student=sub.student, status="missing",
                            outcomes=not_graded(tests, "no notebook handed in"),
                            notes=(f"no {source.name} found in {sub.folder.name}/",),
                            source_sha256=sha256_of(source))


def grade_class(source, submissions_dir, out, *, cell_timeout: float = 60.0,
                notebook_timeout: float | None = None, workers: int = 1, force: bool = False,
                memory_mb: float = 2048.0, students=None, progress: bool = True) -> ClassRun:
    """Grade every submission of one lab; write the gradebook, feedback and summary.

    Parameters
    ----------
    source : path-like
        The instructor's notebook (``solutions/NN_name.ipynb``).
    submissions_dir : path-like
        One folder or notebook per student (see the module docstring).
    out : path-like
        Output folder (created).  It may not be inside ``submissions_dir``'s students.
    cell_timeout : float, default 60
        Time limit per cell.  Units: seconds.
    notebook_timeout : float, optional
        Time limit per notebook; default ``10 * cell_timeout``.  Units: seconds.
    workers : int, default 1
        Submissions graded in parallel (one process and one kernel each).
    force : bool, default False
        Re-grade students whose stored result is still valid.
    memory_mb : float, default 2048
        Memory (address space) limit of each kernel.  Units: MiB.
    students : iterable of str, optional
        Grade (and re-grade) only these students; the gradebook still lists everyone
        graded so far.
    progress : bool, default True
        Show a tqdm progress bar with ETA on stderr.

    Returns
    -------
    ClassRun
    """
    from npulab._validate import positive_int, positive_number

    start = time.monotonic()
    source, subs_dir, out = Path(source), Path(submissions_dir), Path(out)
    if not source.is_file():
        raise ValueError(f"source notebook not found: {source}")
    positive_int("grade_class", "workers", workers)
    cell_timeout = positive_number("grade_class", "cell_timeout", cell_timeout)
    notebook_timeout = positive_number("grade_class", "notebook_timeout", notebook_timeout or 10 * cell_timeout)
    memory_mb = positive_number("grade_class", "memory_mb", memory_mb)
    try:
        src_nb = nbformat.read(source, as_version=4)
    except Exception as err:
        raise ValueError(f"{source}: not a readable notebook ({err.__class__.__name__})") from None
    tests = [c for c in src_nb.cells if is_test_cell(c)]
    if not tests:
        raise ValueError(f"{source} has no graded test cells (nbgrader grade=true, solution=false)")
    grade_ids = [str(nbgrader_meta(c).get("grade_id")) for c in tests]
    points = {g: float(nbgrader_meta(c).get("points", 0)) for g, c in zip(grade_ids, tests)}
    subs = find_submissions(subs_dir, source.name, exclude=[out])
    if students is not None:
        wanted = set(students)
        unknown = wanted - {s.student for s in subs}
        if unknown:
            raise ValueError(f"no submission for student(s) {', '.join(sorted(unknown))} in {subs_dir}")
    source_sha = sha256_of(source)
    settings = {"cell_timeout": cell_timeout, "notebook_timeout": notebook_timeout, "memory_mb": memory_mb}
    store = out / "results"
    results: dict[str, SubmissionResult] = {}
    todo: list[Submission] = []
    for sub in subs:
        stored = _load(store / f"{sub.student}.json")
        fresh = (stored is not None and stored.source_sha256 == source_sha
                 and stored.submission_sha256 == (sha256_of(sub.path) if sub.path else "")
                 and (sub.path is None or stored.settings == settings))
        rerun = force or (students is not None and sub.student in wanted)
        if stored is not None and (students is not None and sub.student not in wanted):
            results[sub.student] = stored
        elif fresh and not rerun:
            results[sub.student] = stored
        elif students is None or sub.student in wanted:
            todo.append(sub)
    reused = tuple(sorted(results))
    lab = source.stem

    def finish(result: SubmissionResult) -> None:
        results[result.student] = result
        write_atomic(store / f"{result.student}.json", dumps(result.to_dict()))
        write_atomic(out / "feedback" / f"{result.student}.html", feedback_html(result, lab))

    def job(sub: Submission) -> SubmissionResult:
        if sub.path is None:
            return _missing(sub, source, tests)
        return run_worker({"source": str(source.resolve()), "submission": str(sub.path.resolve()),
                           "student": sub.student, "cell_timeout": cell_timeout,
                           "notebook_timeout": notebook_timeout, "memory_mb": memory_mb,
                           "extra_dir": str(sub.folder.resolve()) if sub.folder else None,
                           "exclude": [str(subs_dir.resolve()), str(out.resolve())]}, active=active)

    bar = None
    if progress and todo:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), desc=f"grading {lab}", unit="nb", dynamic_ncols=True)
    graded, active = [], set()
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        futures = {pool.submit(job, sub): sub for sub in todo}
        for future in as_completed(futures):
            result = future.result()
            finish(result)
            graded.append(result.student)
            if bar is not None:
                bar.set_postfix_str(f"{result.student}: {result.status}", refresh=False)
                bar.update(1)
    except BaseException:  # Ctrl-C or a bug: stop every running worker, keep what is finished
        pool.shutdown(wait=False, cancel_futures=True)
        for pid in list(active):
            kill_group(pid)
        raise
    finally:
        pool.shutdown(wait=True)
        if bar is not None:
            bar.close()
        _write_tables(out, lab, source, list(results.values()), grade_ids, points, settings)
    ordered = tuple(results[s] for s in sorted(results))
    return ClassRun(results=ordered, graded=tuple(sorted(graded)), reused=reused, out=out,
                    seconds=time.monotonic() - start)


def _load(path: Path) -> SubmissionResult | None:
    import json

    try:
        return SubmissionResult.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, KeyError):
        return None  # absent or damaged: grade again


def _write_tables(out, lab, source, results, grade_ids, points, settings) -> None:
    from npulab import __version__

    write_atomic(out / "gradebook.csv", gradebook_csv(results, grade_ids))
    write_atomic(out / "summary.json", dumps(summary_dict(
        results, grade_ids, points, lab=lab, source=str(source), source_sha256=sha256_of(source),
        settings=settings, npulab_version=__version__)))
