"""Grade ONE submission safely: the heart of ``npulab grade``.

What happens to a submission (nbgrader's ``autograde`` does the same steps, with the
safety rules below added):

1. Read it.  Not JSON, or not a notebook: status ``invalid_notebook``, zero points.
2. Restore the instructor's cells from the SOURCE notebook, matched by ``grade_id``
   (:func:`restore_source_cells`): every graded test cell (hidden tests included) and every
   locked cell, whatever the student did to them (edited, deleted, reordered, metadata
   changed).  Points come only from the source's test cells.
3. Run the result top to bottom in a fresh, memory-limited kernel
   (:mod:`npulab.grading.kernel`) started in a temporary copy of the lab folder
   (:mod:`npulab.grading.sandbox`).  The restored test cells exist only in this process's
   memory and go to the kernel over its socket when their turn comes, after the student's
   code before them has run; they are sent with ``store_history=False`` so they do not
   appear in the kernel's ``In``/``_ih`` history either.
4. Limits, each with its own status: a cell that runs past ``cell_timeout`` seconds is
   interrupted and the run goes on with the next cell; past ``notebook_timeout`` no more
   cells run (``timeout``); an allocation past ``memory_mb`` raises ``MemoryError``
   (``memory``); a kernel that dies (``os._exit``, ``exit()``, a crash) ends the run
   (``kernel_died``); output beyond ``max_output_bytes`` is dropped (``output_limit``).
   Tests that ran before a failure keep their points.

:func:`grade_submission` does all this in the calling process (which becomes the kernel's
parent).  :mod:`npulab.grading.worker` gives every submission its own such process, and
:mod:`npulab.grading.classroom` runs the workers for a whole class; the cell-by-cell
execution rules live in :mod:`npulab.grading.runner`.
"""
from __future__ import annotations

import copy
import hashlib
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from npulab.grading.execute import TestOutcome, is_test_cell
from npulab.grading.release import nbgrader_meta
from npulab.grading.runner import execute_cells, outcome_of, run_coroutine

#: Every status a submission can get, worst first (the gradebook shows the worst one).
STATUSES = ("invalid_notebook", "missing", "grader_error", "kernel_died", "memory", "timeout",
            "output_limit", "ok")
STATUS_HELP = {
    "ok": "graded normally",
    "invalid_notebook": "the file is not a readable Jupyter notebook (bad JSON or format)",
    "missing": "no notebook for this lab was found in the student's folder",
    "grader_error": "the autograder could not run this notebook (see the feedback)",
    "kernel_died": "the Python kernel died (os._exit, exit(), a crash): later tests did not run",
    "memory": "a cell ran out of memory (the per-kernel memory limit)",
    "timeout": "a cell or the whole notebook ran past its time limit",
    "output_limit": "the notebook printed too much; extra output was dropped",
}


@dataclass(frozen=True)
class SubmissionResult:
    """The graded outcome of one submission.

    Attributes
    ----------
    student : str
        Student id (folder name or file stem).
    status : str
        ``"ok"`` or the worst problem met, one of :data:`STATUSES`.
    outcomes : tuple of TestOutcome
        One per graded test cell of the SOURCE, in source order.
    notes : tuple of str
        Human-readable remarks (which cell timed out, why nothing ran, ...).
    seconds : float
        Wall-clock time of the run.  Units: seconds.
    submission_sha256, source_sha256 : str
        Hashes used to decide whether a stored result is still valid when resuming.
    """

    student: str
    status: str
    outcomes: tuple[TestOutcome, ...]
    notes: tuple[str, ...] = ()
    seconds: float = 0.0
    submission_sha256: str = ""
    source_sha256: str = ""
    settings: dict = field(default_factory=dict)

    @property
    def total(self) -> float:
        """Points earned.  Units: points."""
        return float(sum(o.score for o in self.outcomes))

    @property
    def max_score(self) -> float:
        """Points available.  Units: points."""
        return float(sum(o.points for o in self.outcomes))

    def __repr__(self) -> str:
        return (f"SubmissionResult(student={self.student!r}, status={self.status!r}, "
                f"total={self.total:g}/{self.max_score:g}, seconds={self.seconds:.1f})")

    def to_dict(self) -> dict:
        """JSON-ready dict (inverse of :meth:`from_dict`)."""
        d = asdict(self)
        d["outcomes"] = [asdict(o) for o in self.outcomes]
        d["notes"] = list(self.notes)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "SubmissionResult":
        """Rebuild a result stored with :meth:`to_dict`."""
        d = dict(d)
        d["outcomes"] = tuple(TestOutcome(**o) for o in d.get("outcomes", ()))
        d["notes"] = tuple(d.get("notes", ()))
        return cls(**d)


def not_graded(tests, reason: str) -> tuple[TestOutcome, ...]:
    """A failed :class:`TestOutcome` for each test cell in ``tests``, message ``"not graded: <reason>"``."""
    return tuple(TestOutcome(str(nbgrader_meta(c).get("grade_id")), float(nbgrader_meta(c).get("points", 0)),
                             False, f"not graded: {reason}") for c in tests)


def sha256_of(path) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def worst(statuses) -> str:
    """The worst of several statuses (order of :data:`STATUSES`); ``"ok"`` if none.

    >>> worst(["ok", "timeout", "memory"])
    'memory'
    """
    found = set(statuses) | {"ok"}
    return next(s for s in STATUSES if s in found)


def is_instructor_cell(cell) -> bool:
    """A cell the autograder takes from the source: graded tests and locked cells."""
    meta = nbgrader_meta(cell)
    if not meta.get("grade_id"):
        return False
    return is_test_cell(cell) or (bool(meta.get("locked")) and not meta.get("solution"))


def restore_source_cells(source, student, keep=is_instructor_cell):
    """The student's notebook with every ``keep`` cell of ``source`` put back.

    Cells are matched by ``grade_id``.  The source's version replaces the student's (source
    text AND metadata); duplicates the student made are dropped; a cell the student deleted
    is put back after the source cell that precedes it (or at the end).  The result holds
    hidden tests: never write it where students can read it.
    """
    student = copy.deepcopy(student)
    wanted = {nbgrader_meta(c).get("grade_id"): c for c in source.cells if keep(c)}
    cells, seen = [], set()
    for cell in student.cells:
        gid = nbgrader_meta(cell).get("grade_id")
        if gid in wanted:
            if gid not in seen:
                cells.append(copy.deepcopy(wanted[gid]))
                seen.add(gid)
            continue
        cells.append(cell)
    previous = None
    for cell in source.cells:
        gid = nbgrader_meta(cell).get("grade_id")
        if gid in wanted and gid not in seen:
            ids = [nbgrader_meta(c).get("grade_id") for c in cells]
            pos = ids.index(previous) + 1 if previous in ids else len(cells)
            cells.insert(pos, copy.deepcopy(wanted[gid]))
            seen.add(gid)
        if gid is not None:
            previous = gid
    student.cells = cells
    return student


def grade_submission(source, submission, *, student: str | None = None, cell_timeout: float = 60.0,
                     notebook_timeout: float = 600.0, memory_mb: float = 2048.0,
                     max_output_bytes: int = 2 * 2**20, extra_dir=None,
                     exclude=(), tmp_root=None) -> SubmissionResult:
    """Grade one submission against ``source`` in a sandbox (in this process's kernel child).

    Parameters
    ----------
    source : path-like
        The instructor's notebook (solutions and hidden tests).
    submission : path-like
        The student's notebook.
    student : str, optional
        Student id; default the submission's file stem.
    cell_timeout, notebook_timeout : float, default 60 and 600
        Time limits per cell and for the whole notebook.  Units: seconds.
    memory_mb : float, default 2048
        Address-space limit of the kernel (``RLIMIT_AS``).  Units: MiB.
    max_output_bytes : int, default 2 MiB
        Output kept from the whole run; more is dropped.  Units: bytes.
    extra_dir : path-like, optional
        The student's folder; its other files are copied into the sandbox.
    exclude : iterable of path-like
        Folders never copied into the sandbox (the submissions and output folders).
    tmp_root : path-like, optional
        Where the temporary folders go (the worker's, which it deletes even if killed).

    Returns
    -------
    SubmissionResult
    """
    source, submission = Path(source), Path(submission)
    student = student or submission.stem
    start = time.monotonic()
    src_nb = nbformat.read(source, as_version=4)
    tests = [c for c in src_nb.cells if is_test_cell(c)]
    settings = {"cell_timeout": cell_timeout, "notebook_timeout": notebook_timeout, "memory_mb": memory_mb}
    common = {"student": student, "source_sha256": sha256_of(source), "settings": settings,
              "submission_sha256": sha256_of(submission) if submission.is_file() else ""}

    def zero(status, note):
        return SubmissionResult(status=status, outcomes=not_graded(tests, note), notes=(note,),
                                seconds=time.monotonic() - start, **common)

    try:
        text = submission.read_text(encoding="utf-8")
        student_nb = nbformat.reads(text, as_version=4)
        nbformat.validate(student_nb)
        if not isinstance(student_nb.get("cells"), list):
            raise ValueError("no cells")
    except Exception as err:  # bad JSON, bad schema, bad encoding: all one status
        return zero("invalid_notebook", f"not a readable notebook ({err.__class__.__name__})")

    merged = restore_source_cells(src_nb, student_nb)
    test_ids = {nbgrader_meta(t).get("grade_id") for t in tests}
    test_index = {}  # grade_id -> index of the restored test cell in the merged notebook
    for i, cell in enumerate(merged.cells):
        if is_test_cell(cell) and nbgrader_meta(cell).get("grade_id") in test_ids:
            test_index.setdefault(nbgrader_meta(cell)["grade_id"], i)
    private = Path(tempfile.mkdtemp(prefix="npulab-grader-", dir=tmp_root))
    box = None
    try:
        from npulab.grading.sandbox import make_sandbox, write_kernelspec

        kernels = write_kernelspec(private, memory_mb)
        box = make_sandbox(source, text, source.name, extra_dir=Path(extra_dir) if extra_dir else None,
                           exclude=exclude, tmp_root=tmp_root)
        fate, problems, notes = run_coroutine(execute_cells(
            merged, cwd=box, kernels_dir=kernels, tests=set(test_index.values()),
            cell_timeout=cell_timeout, notebook_timeout=notebook_timeout,
            max_output_bytes=max_output_bytes))
    except Exception as err:  # kernel failed to start, etc.
        return zero("grader_error", f"the autograder failed: {err.__class__.__name__}: {err}"[:500])
    finally:
        shutil.rmtree(private, ignore_errors=True)
        if box is not None:
            shutil.rmtree(box, ignore_errors=True)
    outcomes = []
    for cell in tests:
        index = test_index[nbgrader_meta(cell).get("grade_id")]
        outcomes.append(outcome_of(merged.cells[index], fate.get(index)))
    return SubmissionResult(status=worst(problems), outcomes=tuple(outcomes), notes=tuple(notes),
                            seconds=time.monotonic() - start, **common)


