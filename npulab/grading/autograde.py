"""Grade ONE submission safely: the heart of ``npulab grade``.

1. Read it.  Not JSON, or not a notebook: status ``invalid_notebook``, zero points.
2. Restore the instructor's cells from the SOURCE notebook, matched by ``grade_id``
   (:func:`restore_source_cells`): every graded test cell (hidden tests included) and every
   locked cell, whatever the student did to them.  Points come only from the source.
3. Make the submission's work folder (:func:`npulab.grading.sandbox.make_sandbox`: the
   notebook, the lab's data files, the student's own files) and start the student side in
   an OS sandbox (:mod:`npulab.grading.sandbox`, :mod:`npulab.grading.driver`): no network,
   own PID namespace, private ``/tmp``, read-only system, its own uid, memory, CPU-time and
   process limits.
4. Run the notebook (:func:`npulab.grading.engine.run_notebook_cells`): student and locked
   cells in the sandbox; test cells in THIS process, which sees the student's functions
   only through plain-data proxies.  Test source never enters the sandbox.  Two passes in
   one sandbox: first the notebook with the visible tests only (every message and note the
   student reads comes from this pass, which ends before the student's code has seen a
   hidden input), then the test cells again with every test, the student's cells not re-run
   (the points; its failures are reported in fixed words, so no hidden input can reach the
   feedback through an exception text or a class name: :func:`combine_passes`).  When the
   sandbox ends during the second pass, a fresh one runs the whole notebook with every test.
   A lab without hidden tests runs once.  An exercise whose answer uses what its source cell forbids
   (:mod:`npulab.grading.forbid`, rules read from the SOURCE) earns 0 on all its tests.
5. Limits, each with its own status: a cell past ``cell_timeout`` is interrupted and the
   run goes on; past ``notebook_timeout`` no more cells run (``timeout``); a cell that will
   not stop is ended from outside (``timeout``); an allocation past ``memory_mb`` raises
   ``MemoryError`` (``memory``); a dying student process ends the run (``kernel_died``);
   printing more than ``max_output_bytes`` is ``output_limit``.  Tests that ran before a
   failure keep their points.  When the run ends the sandbox is killed with everything
   in it.

Manually graded written answers (Markdown cells with ``solution`` and ``grade`` true) are
not scored here: their points are ``manual_pending`` and their text goes to the feedback.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from npulab.grading.merge import is_instructor_cell, restore_source_cells, without_tests
from npulab.grading.outcome import TestOutcome, is_test_cell
from npulab.grading.records import RECORD_ENV, read_records
from npulab.grading.release import nbgrader_meta
from npulab.i18n.messages import t as _t
from npulab.i18n.notebooks import localize_test_messages

__all__ = ["SubmissionResult", "grade_submission", "restore_source_cells", "is_instructor_cell", "not_graded",
           "sha256_of", "worst", "is_manual_cell", "manual_answers", "STATUSES", "STATUS_HELP"]

#: Smallest ``memory_mb`` that still starts the student's Python (IPython, numpy).  Units: MiB.
MIN_MEMORY_MB = 256.0
#: Processes (and threads) the student side may have at once.
NPROC = 64
#: Largest notebook file read.  Units: bytes.
MAX_NOTEBOOK_BYTES = 64 * 2**20
#: Longest written answer copied into the feedback.  Units: characters.
MAX_ANSWER = 4000

#: Every status a submission can get, worst first (the gradebook shows the worst one).
STATUSES = ("invalid_notebook", "missing", "grader_error", "kernel_died", "memory", "timeout",
            "output_limit", "ok")
#: status -> what it means, in English (every language: ``npulab.i18n.messages``, ``status_<status>``).
STATUS_HELP = {s: _t(f"status_{s}", "en") for s in STATUSES}


def is_manual_cell(cell) -> bool:
    """A written answer graded by hand: Markdown, nbgrader ``solution`` and ``grade`` true."""
    meta = nbgrader_meta(cell)
    return cell.cell_type == "markdown" and bool(meta.get("grade")) and bool(meta.get("solution"))


def manual_answers(source, student) -> dict:
    """grade_id -> (points, the student's answer text, cut to :data:`MAX_ANSWER`)."""
    answers = {}
    by_id = {nbgrader_meta(c).get("grade_id"): c for c in student.cells if nbgrader_meta(c).get("grade_id")}
    for cell in source.cells:
        if is_manual_cell(cell):
            gid = str(nbgrader_meta(cell).get("grade_id"))
            mine = by_id.get(gid)
            text = str(mine.source) if mine is not None and mine.cell_type == "markdown" else ""
            answers[gid] = (float(nbgrader_meta(cell).get("points", 0) or 0), text[:MAX_ANSWER])
    return answers


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
    records : dict
        name -> plain data the tests recorded on the trusted side
        (:func:`npulab.grading.records.record`; Lab 08's evaluated design), from the run with
        every test.
    """

    student: str
    status: str
    outcomes: tuple[TestOutcome, ...]
    notes: tuple[str, ...] = ()
    seconds: float = 0.0
    submission_sha256: str = ""
    source_sha256: str = ""
    settings: dict = field(default_factory=dict)
    manual: dict = field(default_factory=dict)  # grade_id -> {"points": p, "answer": text}
    records: dict = field(default_factory=dict)  # name -> data a test recorded (npulab.grading.records)

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
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in known})

    @property
    def manual_pending(self) -> float:
        """Points of written answers left for manual grading.  Units: points."""
        return float(sum(float(m.get("points", 0)) for m in self.manual.values()))


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


def grade_submission(source, submission, *, student: str | None = None, cell_timeout: float = 60.0,
                     notebook_timeout: float = 600.0, memory_mb: float = 2048.0,
                     max_output_bytes: int = 2 * 2**20, extra_dir=None,
                     exclude=(), tmp_root=None, sandbox: bool = True, seed: int | None = None) -> SubmissionResult:
    """Grade one submission against ``source`` (see the module docstring).

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
        Address-space limit of the student side (``RLIMIT_AS``).  Units: MiB.
    max_output_bytes : int, default 2 MiB
        Output the notebook may print.  Units: bytes.
    extra_dir : path-like, optional
        The student's folder; its other files are copied into the work folder.
    exclude : iterable of path-like
        Folders never copied into the work folder (the submissions and output folders).
    tmp_root : path-like, optional
        Where the work folder goes (the worker's, which it deletes even if killed).
    sandbox : bool, default True
        Run the student side in the OS sandbox; False only with ``npulab grade --no-sandbox``.
    seed : int, optional
        Course seed: ``NPULAB_COURSE_SEED`` while the tests run (trusted side only).

    Returns
    -------
    SubmissionResult
    """
    from npulab.grading.backends import get_sandbox
    from npulab.grading.engine import run_notebook_cells, start_driver
    from npulab.grading.forbid import plan_of
    from npulab.grading.reference import Reference
    from npulab.grading.sandbox import make_sandbox

    source, submission = Path(source), Path(submission)
    student = student or submission.stem
    start = time.monotonic()
    src_nb = nbformat.read(source, as_version=4)
    tests = [c for c in src_nb.cells if is_test_cell(c)]
    settings = {"cell_timeout": cell_timeout, "notebook_timeout": notebook_timeout, "memory_mb": memory_mb}
    common: dict[str, Any] = {"student": student, "source_sha256": sha256_of(source), "settings": settings,
                              "submission_sha256": sha256_of(submission) if submission.is_file() else ""}

    def zero(status, note):
        return SubmissionResult(status=status, outcomes=not_graded(tests, note), notes=(note,),
                                seconds=time.monotonic() - start, **common)

    try:
        if submission.stat().st_size > MAX_NOTEBOOK_BYTES:
            raise ValueError("too large")
        text = submission.read_text(encoding="utf-8")
        student_nb = nbformat.reads(text, as_version=4)
        nbformat.validate(student_nb)
        if not isinstance(student_nb.get("cells"), list):
            raise ValueError("no cells")
    except Exception as err:  # bad JSON, bad schema, bad encoding: all one status
        return zero("invalid_notebook", f"not a readable notebook ({err.__class__.__name__})")

    manual = {g: {"points": p, "answer": a} for g, (p, a) in manual_answers(src_nb, student_nb).items()}
    common["manual"] = manual
    merged = restore_source_cells(src_nb, student_nb)
    # the feedback speaks the submission's language (only message literals change: npulab.i18n.assertions)
    merged = localize_test_messages(merged, source, (student_nb.metadata.get("npulab") or {}).get("lang"))
    test_ids = {nbgrader_meta(t).get("grade_id") for t in tests}
    test_index: dict[str | None, int] = {}  # grade_id -> index of the restored test cell in the merged notebook
    for i, cell in enumerate(merged.cells):
        if is_test_cell(cell) and nbgrader_meta(cell).get("grade_id") in test_ids:
            test_index.setdefault(nbgrader_meta(cell)["grade_id"], i)
    test_env = {"NPULAB_COURSE_SEED": str(int(seed))} if seed is not None else {"NPULAB_COURSE_SEED": "0"}
    backend = get_sandbox(sandbox)
    reference = Reference.of(source, cell_timeout=cell_timeout)  # built once, before the workers fork
    try:  # the forbid rules come from the SOURCE: a student cannot drop one by editing metadata
        plan = plan_of(src_nb)
    except ValueError as err:
        return zero("grader_error", f"the autograder failed: the source's forbid rules: {err}"[:2000])

    def run_once(nb, then=None):
        """Run ``nb`` in a fresh sandboxed driver; then, when given, the test cells of
        ``then`` in the same driver (see below).  ``(run, then_run or None, records)``."""
        box = None
        fd, record_file = tempfile.mkstemp(prefix="npulab-records-", suffix=".jsonl", dir=tmp_root)
        os.close(fd)  # outside the work folder: the student side never sees it (npulab.grading.records)
        try:
            box = make_sandbox(source, text, source.name, extra_dir=Path(extra_dir) if extra_dir else None,
                               exclude=exclude, tmp_root=tmp_root)
            # the student side may use its CPU limit twice: the notebook, then the tests again
            with start_driver(box, sandbox=backend, memory_mb=memory_mb,
                              cpu_s=(2 if then is not None else 1) * notebook_timeout + 30,
                              nproc=NPROC) as session:
                kw = {"tests": set(test_index.values()), "cell_timeout": cell_timeout,
                      "notebook_timeout": notebook_timeout, "max_output_bytes": max_output_bytes,
                      "test_env": {**test_env, RECORD_ENV: record_file}, "allow_from": without_tests(src_nb),
                      "test_cwd": source.resolve().parent, "reference": reference, "forbid": plan,
                      "lang": "en"}
                run = run_notebook_cells(nb, session, **kw)
                second = None
                if then is not None and not session.dead:
                    second = run_notebook_cells(then, session, after=run, **kw)
                    if session.dead:  # ended during the second pass: a fresh full run decides
                        second = None
            return run, second, read_records(record_file)
        finally:
            if box is not None:
                shutil.rmtree(box, ignore_errors=True)
            with contextlib.suppress(OSError):
                os.unlink(record_file)

    order = [test_index[nbgrader_meta(c).get("grade_id")] for c in tests]
    try:
        # Two passes when the lab has hidden tests, in ONE driver.  The visible pass runs the
        # notebook with the visible tests only: every message and note the student can read
        # comes from it, and it ends before the student's code has seen any hidden input.
        # The full pass then runs every test cell again, hidden regions included, in the same
        # driver (the student's cells are not re-run) and decides the points; what it says
        # quotes nothing the student's code controls (combine_passes).  When the driver ends
        # before the full pass is through (killed, out of CPU), a fresh driver runs the whole
        # notebook with every test, as two separate passes always did.
        # The records a test made (npulab.grading.records) are the full pass's when there is one.
        if has_hidden_tests(tests):
            visible, full, records = run_once(visible_only(merged), then=merged)
            if full is None:
                full, _, records = run_once(merged)
        else:
            (visible, _, records), full = run_once(merged), None
    except Exception as err:  # the driver failed to start, etc.
        return zero("grader_error", f"the autograder failed: {err.__class__.__name__}: {err}"[:2000])
    outcomes, notes, problems = combine_passes(visible, full, order)
    if not sandbox:
        notes.append("graded WITHOUT the OS sandbox (npulab grade --no-sandbox)")
    return SubmissionResult(status=worst(problems), outcomes=tuple(outcomes), notes=tuple(notes),
                            seconds=time.monotonic() - start, records=records or {}, **common)


def has_hidden_tests(tests) -> bool:
    """True when a test cell of the source has a hidden-test region."""
    from npulab.grading.markers import BEGIN_HIDDEN, has_marker

    return any(has_marker(c.source, BEGIN_HIDDEN) for c in tests)


def visible_only(nb):
    """A copy of ``nb`` whose test cells lost their hidden-test regions."""
    import copy

    from npulab.grading.markers import BEGIN_HIDDEN, has_marker, strip_hidden_tests

    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if is_test_cell(cell) and has_marker(cell.source, BEGIN_HIDDEN):
            cell.source = strip_hidden_tests(cell.source)
    return nb


#: What a failed test says when only the run with the hidden tests failed it, and the
#: failure is not a hidden test's own fixed message.
HIDDEN_RUN_FAILED = "failed when run with the hidden tests"
_FIXED_PREFIXES = ("hidden test ", "not run: ", "CellTimeoutError: ", HIDDEN_RUN_FAILED)


def combine_passes(visible, full, order: list) -> tuple[list, list, list]:
    """``(outcomes, notes, problems)`` from the visible-only run and the full run (None when
    the lab has no hidden tests).  Points: the full run.  Messages and notes: the visible
    run, or fixed texts (never student text from the full run: hidden inputs may be in it).
    """
    if full is None:
        return [visible.outcomes[i] for i in order], list(visible.notes), list(visible.problems)
    outcomes = []
    for i in order:
        mine, whole = visible.outcomes[i], full.outcomes[i]
        if whole.passed:
            message = ""
        elif not mine.passed:
            message = mine.message
        elif i in getattr(full, "forbidden", ()):  # names what the answer used: no hidden input in it
            message = whole.message
        else:
            message = whole.message if whole.message.startswith(_FIXED_PREFIXES) else HIDDEN_RUN_FAILED
        outcomes.append(TestOutcome(whole.grade_id, whole.points, whole.passed, message, whole.detail))
    from npulab.i18n.messages import t

    notes = list(visible.notes)
    for problem in dict.fromkeys(full.problems):
        if problem not in visible.problems:
            notes.append(f"with the hidden tests: {t(f'status_{problem}', 'en')}")
    return outcomes, notes, [*visible.problems, *full.problems]
