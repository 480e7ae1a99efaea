"""Grade a whole class: ``npulab grade SOURCE.ipynb SUBMISSIONS_DIR --out OUT_DIR``.

Layout of ``SUBMISSIONS_DIR`` (the student id is the folder name or the file stem)::

    SUBMISSIONS_DIR/<student>/<lab>.ipynb      folder per student (other files come along)
    SUBMISSIONS_DIR/<student>.ipynb            one file per student

In a student's folder the notebook named like the lab is used; failing that the only
notebook in the folder (searched recursively, so nbgrader's ``<student>/<assignment>/``
layout and LMS exports that rename files work too).

Layout of ``OUT_DIR``::

    gradebook.csv            student, <grade_id>..., total, max, status (+ manual_pending)
    feedback/<student>.html  per-test result, message and points; written answers' marks
    summary.json             class statistics and the settings used
    results/<student>.json   the stored result of each student (what resuming reads)
    gradebook.sqlite         results, written answers, manual marks, hidden-test detail
                             (:mod:`npulab.grading.gradebook_db`; never deleted by a rerun)
    <name>.json              what the tests recorded on the trusted side, per student
                             (npulab.grading.records; Lab 08: capstone.json, read by
                             ``npulab leaderboard``)

Every file is written atomically.  Each submission is graded in its own worker process
(:func:`npulab.grading.worker.run_worker`), ``workers`` at a time, its student side in an
OS sandbox; a finished student's result is stored at once, signed with an HMAC
(:mod:`npulab.grading.signing`; the key lives outside OUT and outside every sandbox), so
an interrupted run resumes where it stopped.  A stored result is reused unless ``force``,
unless the submission, the source or the limits changed since, unless it is a
``grader_error``, or unless its HMAC fails (then it is regraded and listed in
``summary.json`` under ``bad_signatures``).

SIGTERM or SIGINT (Ctrl-C) stops the run: running workers and their sandboxes are
killed, the gradebook of what is finished is written, and the next run resumes.

Every entry under SUBMISSIONS_DIR is accounted for in ``summary.json`` (``files``): graded,
or skipped with its reason (symlink, not a notebook, duplicate, not a regular file, ...).
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import re
import signal
import threading
import time
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path

import nbformat

from npulab.grading.autograde import SubmissionResult, not_graded, sha256_of
from npulab.grading.feedback import (
    dumps,
    feedback_html,
    gradebook_csv,
    gradebook_rows_csv,
    shown,
    summary_dict,
    write_atomic,
)
from npulab.grading.gradebook_db import Gradebook, open_gradebook, written_questions
from npulab.grading.outcome import is_test_cell
from npulab.grading.release import nbgrader_meta
from npulab.grading.worker import kill_group, run_worker


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
    bad_signatures: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return (f"ClassRun(students={len(self.results)}, graded={len(self.graded)}, "
                f"reused={len(self.reused)}, out='{self.out}', seconds={self.seconds:.1f})")


_CACHE_DIRS = {".ipynb_checkpoints", "__pycache__"}


def _is_notebook(path: Path) -> bool:
    return path.suffix.lower() == ".ipynb"


def student_id(name: str) -> str:
    """A student id from a file or folder name: bytes that are not UTF-8 (Python's
    ``surrogateescape`` characters) become the text ``\\xNN``, so the id can be written
    anywhere (JSON, CSV, HTML); everything else is kept as it is.

    >>> student_id("ada"), student_id(b"b\\xff".decode("utf-8", "surrogateescape"))
    ('ada', 'b\\\\xff')
    """
    return "".join(f"\\x{ord(ch) - 0xDC00:02x}" if 0xDC80 <= ord(ch) <= 0xDCFF else ch for ch in name)


def _walk(folder: Path):
    """Every entry under ``folder`` (symlinks are not followed), sorted."""
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(dirs + files):
            yield Path(root) / name


def inventory(submissions_dir, lab_name: str, *, exclude=()):
    """``(submissions, files)``: every student with the notebook to grade, and every entry
    under ``submissions_dir`` with what happens to it (``files`` rows are dicts with
    ``path`` (relative), ``student``, ``action`` (``graded``, ``student file``,
    ``skipped``) and ``reason``)."""
    root = Path(submissions_dir)
    if not root.is_dir():
        raise ValueError(f"submissions folder not found: {root}")
    excluded = {Path(e).resolve() for e in exclude}
    found: dict[str, Submission] = {}
    files: list[dict] = []

    def note(path, action, reason="", student=None):
        files.append({"path": str(path.relative_to(root)), "student": student, "action": action,
                      "reason": reason})

    entries = sorted(root.iterdir(), key=lambda p: (not p.is_dir() or p.is_symlink(), p.name))
    for entry in entries:  # folders first: a folder wins over a same-named notebook file
        if entry.is_symlink():
            note(entry, "skipped", "symlink (never followed)")
            continue
        if entry.resolve() in excluded:
            note(entry, "skipped", "the output folder")
            continue
        if entry.is_dir() and entry.name in _CACHE_DIRS:
            note(entry, "skipped", "a checkpoint/cache folder")
            continue
        if entry.is_dir():
            sub = _pick(entry, lab_name, found, note)
        elif not entry.is_file():
            note(entry, "skipped", "not a regular file")
            continue
        elif _is_notebook(entry):
            sub = Submission(student_id(entry.stem), entry)
            if sub.student in found:
                note(entry, "skipped", f"duplicate: student {sub.student!r} already has a submission")
                continue
            note(entry, "graded", student=sub.student)
        else:
            note(entry, "skipped", "not a notebook")
            continue
        if sub is not None:
            found[sub.student] = sub
    return list(sorted(found.values(), key=lambda s: s.student)), files


def _pick(folder: Path, lab_name: str, found: dict, note):
    """The submission in a student's folder (see the module docstring), noting its files."""
    student = student_id(folder.name)
    if student in found:
        note(folder, "skipped", f"duplicate: student {student!r} already has a submission")
        return None
    books, other = [], []
    for path in _walk(folder):
        rel = path.relative_to(folder)
        if path.is_symlink():
            note(path, "skipped", "symlink (never followed)", student)
        elif any(part in _CACHE_DIRS for part in rel.parts):
            if path.is_file():
                note(path, "skipped", "a checkpoint/cache file", student)
        elif path.is_dir():
            continue
        elif not path.is_file():
            note(path, "skipped", "not a regular file", student)
        elif _is_notebook(path):
            books.append(path)
        else:
            other.append(path)
    named = [p for p in books if p.name.lower() == lab_name.lower()]
    like = [p for p in books if Path(lab_name).stem.lower() in p.stem.lower()]
    pick = named[:1] or (books if len(books) == 1 else like[:1] if len(like) == 1 else [])
    chosen = pick[0] if pick else None
    for path in books:
        if path == chosen:
            note(path, "graded", student=student)
        else:
            note(path, "skipped", "another notebook in the student's folder (not graded)", student)
    for path in other:
        note(path, "student file", "copied into the student's work folder", student)
    return Submission(student, chosen, folder)


def find_submissions(submissions_dir, lab_name: str, *, exclude=()) -> list[Submission]:
    """Every student in ``submissions_dir`` with the notebook to grade (see module doc)."""
    return inventory(submissions_dir, lab_name, exclude=exclude)[0]


def _missing(sub: Submission, source: Path, tests) -> SubmissionResult:
    return SubmissionResult(student=sub.student, status="missing",
                            outcomes=not_graded(tests, "no notebook handed in"),
                            notes=(f"no {source.name} found in {sub.folder.name}/" if sub.folder
                                   else f"no {source.name} found",),
                            source_sha256=sha256_of(source))


class Stopped(BaseException):
    """SIGTERM arrived: stop grading (handled like Ctrl-C)."""


@contextlib.contextmanager
def _stop_on_sigterm():
    """Turn SIGTERM into :class:`Stopped` in the main thread while grading."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_term(signum, frame):
        raise Stopped(f"stopped by signal {signum}")

    old = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def preimport(src_nb) -> None:
    """Import, once, what the source's cells import (numpy, npulab modules, ...), so every
    forked worker (the trusted side) starts with them loaded instead of importing them again.
    Only the instructor's notebook decides what is imported here."""
    import ast
    import importlib

    for cell in src_nb.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else []
            for name in names:
                try:
                    importlib.import_module(name)
                except Exception:  # noqa: BLE001 - a best-effort warm-up only
                    continue


def check_seed(src_nb, seed) -> int | None:
    """Validate ``--seed`` against the source's ``metadata.npulab.course_seed_check``."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"--seed must be an integer >= 0; got {seed!r}")
    stamp = src_nb.metadata.get("npulab", {}).get("course_seed_check")
    if stamp:
        import hashlib

        if hashlib.sha256(f"npulab-course-seed:{seed}".encode()).hexdigest()[:16] != stamp:
            raise ValueError(f"--seed {seed} does not match the seed this lab was released with "
                             "(metadata.npulab.course_seed_check)")
    return seed


def grade_class(source, submissions_dir, out, *, cell_timeout: float = 60.0,
                notebook_timeout: float | None = None, workers: int = 1, force: bool = False,
                memory_mb: float = 2048.0, students=None, progress: bool = True, sandbox: bool = True,
                seed: int | None = None, key_file=None, lang: str | None = None,
                dask: str | None = None, database: bool = True) -> ClassRun:
    """Grade every submission of one lab; write the gradebook, feedback and summary.

    Parameters
    ----------
    source : path-like
        The instructor's notebook (``solutions/NN_name.ipynb``).
    submissions_dir : path-like
        One folder or notebook per student (see the module docstring).
    out : path-like
        Output folder (created).
    cell_timeout : float, default 60
        Time limit per cell.  Units: seconds.
    notebook_timeout : float, optional
        Time limit per notebook; default ``10 * cell_timeout``.  Units: seconds.
    workers : int, default 1
        Submissions graded in parallel (one worker process and one sandbox each).
    force : bool, default False
        Re-grade students whose stored result is still valid.
    memory_mb : float, default 2048
        Memory (address space) limit of each student side.  Units: MiB.
    students : iterable of str, optional
        Grade (and re-grade) only these students; the gradebook still lists everyone
        graded so far.
    progress : bool, default True
        Show a tqdm progress bar with ETA on stderr.
    sandbox : bool, default True
        Run each student side in the OS sandbox; when none can be made, stop with one line
        naming the fix.  False (``--no-sandbox``) grades without isolation and says so in
        summary.json and the gradebook.
    seed : int, optional
        Course seed (``NPULAB_COURSE_SEED`` in the trusted test process only); checked
        against the source's ``metadata.npulab.course_seed_check`` when present.
    key_file : path-like, optional
        HMAC key file for stored results; default ``~/.cache/npulab/grader.key``.
    lang : {"en", "ko"}, optional
        Language of the feedback pages; default from ``LANG`` (:mod:`npulab.i18n.messages`).
    dask : str, optional
        Address of a Dask scheduler (``tcp://host:8786``): each submission is graded by a
        task on a worker, in that machine's sandbox, and its signed result is verified here
        (:mod:`npulab.grading.cluster`); OUT is written here as in a local run.  ``workers``
        is then at least the cluster's thread count.
    database : bool, default True
        Keep ``OUT/gradebook.sqlite`` (:mod:`npulab.grading.gradebook_db`): results and
        written answers are upserted after every student (manual marks are never touched),
        ``gradebook.csv`` gets a column per written question and the feedback pages show
        the marks.  False only to measure its cost (``benchmarks/grading.py``).

    Returns
    -------
    ClassRun
    """
    start = time.monotonic()
    source, subs_dir, out = Path(source), Path(submissions_dir), Path(out)
    cell_timeout, notebook_timeout, memory_mb = _check_limits(workers, cell_timeout, notebook_timeout, memory_mb)
    lab = _read_lab(source)
    seed = check_seed(lab.nb, seed)
    preimport(lab.nb)
    from npulab.grading.reference import Reference

    Reference.of(source, cell_timeout=cell_timeout)  # the instructor's results, once, before forking
    subs, files = inventory(subs_dir, source.name, exclude=[out])
    # With --dask the sandbox is each worker's (checked by cluster.connect), not this machine's.
    key = _check_isolation(sandbox and not dask, key_file, source, subs_dir, out)
    wanted = _check_students(students, subs, subs_dir)
    settings = {"cell_timeout": cell_timeout, "notebook_timeout": notebook_timeout, "memory_mb": memory_mb}
    plan = _plan(subs, out / "results", key, lab.sha256, settings, sandbox=sandbox, seed=seed, force=force,
                 wanted=wanted)
    results = plan.results
    reused = tuple(sorted(results))
    book = _open_book(out, lab, source, lang, sandbox) if database else None

    def finish(result: SubmissionResult) -> None:
        result = _with_run_settings(result, sandbox, seed)
        results[result.student] = result
        _store(out, key, result, lab.name, lang, book)

    def job(sub: Submission) -> SubmissionResult:
        if sub.path is None:
            return _missing(sub, source, lab.tests)
        spec = {"student": sub.student, "cell_timeout": cell_timeout, "notebook_timeout": notebook_timeout,
                "memory_mb": memory_mb, "sandbox": sandbox, "seed": seed}
        if remote is not None:  # the files travel as bytes; the worker writes its own copies
            return remote.grade(spec, path=sub.path, folder=sub.folder, student=sub.student, tests=lab.tests)
        return run_worker({**spec, "source": str(source.resolve()), "submission": str(sub.path.absolute()),
                           "extra_dir": str(sub.folder.absolute()) if sub.folder else None,
                           "exclude": [str(subs_dir.resolve()), str(out.resolve())]}, active=active)

    active: set = set()
    remote = None
    if dask:  # connected last: nothing above can leave a client open
        from npulab.grading.cluster import DaskGrader

        remote = DaskGrader(dask, source=source, exclude=[subs_dir, out], key=key, sandbox=sandbox,
                            points=lab.points)
        workers = max(workers, remote.slots)
    try:
        graded = _run_all(plan.todo, job, finish, workers=workers, active=active,
                          progress=progress, desc=f"grading {lab.name}",
                          stop=remote.stop if remote is not None else None)
    finally:
        if remote is not None:
            remote.close()  # never raises: the tables below are written whatever happened
        try:
            _write_tables(out, lab.name, source, list(results.values()), lab.grade_ids, lab.points, settings,
                          sandbox=sandbox, seed=seed, files=files, bad_signatures=plan.bad_signatures,
                          has_manual=lab.has_manual, book=book, roster={s.student for s in subs})
        finally:
            if book is not None:
                book.close()
    ordered = tuple(results[s] for s in sorted(results))
    return ClassRun(results=ordered, graded=tuple(sorted(graded)), reused=reused, out=out,
                    seconds=time.monotonic() - start, bad_signatures=tuple(sorted(plan.bad_signatures)))


def _check_limits(workers, cell_timeout, notebook_timeout, memory_mb) -> tuple[float, float, float]:
    """Validated ``(cell_timeout, notebook_timeout, memory_mb)``; one-line ``ValueError``s."""
    from npulab._validate import positive_int, positive_number
    from npulab.grading.autograde import MIN_MEMORY_MB

    def flag(check, name: str, option: str, value):
        """The check, its one-line error naming the command-line option too."""
        try:
            return check("grade_class", name, value)
        except ValueError as err:
            raise ValueError(str(err).replace(f"grade_class.{name}", option)) from None

    flag(positive_int, "workers", "--workers", workers)
    cell_timeout = flag(positive_number, "cell_timeout", "--timeout", cell_timeout)
    notebook_timeout = flag(positive_number, "notebook_timeout", "--notebook-timeout",
                            10 * cell_timeout if notebook_timeout is None else notebook_timeout)
    memory_mb = flag(positive_number, "memory_mb", "--memory-mb", memory_mb)
    if memory_mb < MIN_MEMORY_MB:
        raise ValueError(f"--memory-mb {memory_mb:g} is too small to run a notebook's Python "
                         f"(IPython and numpy need >= {MIN_MEMORY_MB:g} MiB)")
    return cell_timeout, notebook_timeout, memory_mb


@dataclass(frozen=True)
class _Lab:
    """What grading needs to know about the source notebook."""

    name: str
    nb: object
    tests: list
    grade_ids: list
    points: dict
    has_manual: bool
    sha256: str


def _read_lab(source: Path) -> _Lab:
    """Read and check the instructor's notebook (one-line ``ValueError`` when unusable)."""
    from npulab.grading.autograde import is_manual_cell

    if not source.is_file():
        raise ValueError(f"source notebook not found: {source}")
    try:
        src_nb = nbformat.read(source, as_version=4)
    except Exception as err:
        raise ValueError(f"{source}: not a readable notebook ({err.__class__.__name__})") from None
    tests = [c for c in src_nb.cells if is_test_cell(c)]
    if not tests:
        raise ValueError(f"{source} has no graded test cells (nbgrader grade=true, solution=false)")
    grade_ids = [str(nbgrader_meta(c).get("grade_id")) for c in tests]
    points = {g: float(nbgrader_meta(c).get("points", 0)) for g, c in zip(grade_ids, tests)}
    return _Lab(source.stem, src_nb, tests, grade_ids, points, any(is_manual_cell(c) for c in src_nb.cells),
                sha256_of(source))


def _check_isolation(sandbox, key_file, source: Path, subs_dir: Path, out: Path) -> bytes:
    """Stop (``ValueError``) when no sandbox can be made or a grader file is visible in one;
    return the HMAC key."""
    from npulab.grading import signing

    if sandbox:
        from npulab.grading.backends import get_sandbox

        problem = get_sandbox(sandbox).problem()
        if problem:
            raise ValueError(problem)
    key = signing.load_key(key_file, out=out)
    if sandbox:
        from npulab.grading.sandbox import exposed

        key_path = Path(key_file or os.environ.get("NPULAB_GRADER_KEY") or signing.DEFAULT_KEY).expanduser()
        for what, path in (("source notebook", source), ("submissions folder", subs_dir), ("output folder", out),
                           ("key file", key_path)):
            inside = exposed(path)
            if inside:
                raise ValueError(f"the {what} {path} is inside {inside}, which every sandbox can read; move it")
    return key


def _check_students(students, subs, subs_dir) -> set | None:
    """The ``students`` asked for, as a set (None: everyone); unknown ids are a ``ValueError``."""
    if students is None:
        return None
    wanted = set(students)
    unknown = wanted - {s.student for s in subs}
    if unknown:
        names = ", ".join(shown(u) for u in sorted(unknown))
        raise ValueError(f"no submission for student(s) {names} in {shown(subs_dir, 200)}")
    return wanted


@dataclass
class _Plan:
    """Which stored results are reused and which submissions are graded now."""

    results: dict
    todo: list
    bad_signatures: list


def _is_fresh(stored, sub: Submission, source_sha: str, settings: dict, sandbox, seed) -> bool:
    """A stored result still valid for ``sub`` under this run's source and settings."""
    return (stored is not None and stored.source_sha256 == source_sha and stored.student == sub.student
            and stored.status != "grader_error"
            and stored.submission_sha256 == (sha256_of(sub.path) if sub.path else "")
            and (sub.path is None or {k: stored.settings.get(k) for k in settings} == settings)
            and stored.settings.get("sandbox", True) == sandbox and stored.settings.get("seed") == seed)


def _plan(subs, store: Path, key: bytes, source_sha: str, settings: dict, *, sandbox, seed, force: bool,
          wanted: set | None) -> _Plan:
    """Split ``subs`` into reused stored results and submissions to grade now."""
    plan = _Plan({}, [], [])
    for sub in subs:
        stored, forged = _load(store / f"{result_key(sub.student)}.json", key)
        if forged:
            plan.bad_signatures.append(sub.student)
        fresh = _is_fresh(stored, sub, source_sha, settings, sandbox, seed)
        chosen = wanted is None or sub.student in wanted
        if fresh and (not chosen or (not force and wanted is None)):
            plan.results[sub.student] = stored
        elif chosen:
            plan.todo.append(sub)
    return plan


def _open_book(out: Path, lab: _Lab, source: Path, lang, sandbox: bool) -> Gradebook:
    """The lab's gradebook database with the source's questions (rubrics, prompts, stubs)."""
    book = open_gradebook(out)
    try:
        book.set_questions(written_questions(lab.nb))
        book.set_info(lab=lab.name, source=str(source), lang=lang or "", sandbox=int(bool(sandbox)))
    except BaseException:
        book.close()
        raise
    return book


def _store(out: Path, key: bytes, result: SubmissionResult, lab: str, lang, book: Gradebook | None = None) -> None:
    """Write one student's signed result, gradebook rows and feedback page (atomically)."""
    from npulab.grading import signing

    write_atomic(out / "results" / f"{result_key(result.student)}.json", dumps(signing.sign(result.to_dict(), key)))
    manual = None
    if book is not None:
        book.record_results([result])
        manual = book.manual_scores(result.student)
    write_atomic(out / "feedback" / f"{result_key(result.student)}.html",
                 feedback_html(result, lab, lang, manual=manual))


def _run_all(todo, job, finish, *, workers: int, active: set, progress: bool, desc: str,
             stop=None) -> list[str]:
    """Run ``job`` on every submission of ``todo`` (``workers`` at a time), ``finish`` each
    result as it comes; on Ctrl-C/SIGTERM kill the running workers (pids in ``active``) and
    call ``stop()`` (a cluster cancels its tasks)."""
    bar = None
    if progress and todo:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), desc=desc, unit="nb", dynamic_ncols=True)
    graded = []
    pool = futures.ThreadPoolExecutor(max_workers=workers)
    try:
        with _stop_on_sigterm():
            pending = {pool.submit(job, sub): sub for sub in todo}
            for future in futures.as_completed(pending):
                result = future.result()
                finish(result)
                graded.append(result.student)
                if bar is not None:
                    bar.set_postfix_str(f"{shown(result.student, 40)}: {result.status}", refresh=False)
                    bar.update(1)
    except BaseException:  # Ctrl-C, SIGTERM or a bug: stop every running worker, keep what is finished
        pool.shutdown(wait=False, cancel_futures=True)
        for pid in list(active):
            kill_group(pid)
        if stop is not None:
            stop()
        raise
    finally:
        pool.shutdown(wait=True)
        if bar is not None:
            bar.close()
    return graded


def _with_run_settings(result: SubmissionResult, sandbox: bool, seed) -> SubmissionResult:
    import dataclasses

    return dataclasses.replace(result, settings={**result.settings, "sandbox": sandbox, "seed": seed})


#: Longest result-file key.  Units: characters (ASCII, so also bytes).
MAX_KEY = 96
_PLAIN_KEY = re.compile(r"[a-z0-9_][a-z0-9_.@+=-]{0,63}")


def result_key(student: str) -> str:
    """The file name stem of a student's stored result and feedback page.

    Bounded (at most :data:`MAX_KEY` ASCII characters, whatever the id's length or bytes)
    and collision-free: a plain lowercase id (``[a-z0-9_][a-z0-9_.@+=-]{0,63}``) is its own
    key; any other id becomes its plain characters (cut to 40) + ``~`` + 24 hex digits of its
    SHA-256.  ``~`` never occurs in a plain id, and two different ids differ in the hash.

    >>> result_key("ada"), result_key("Ada")
    ('ada', 'ada~99a563ab2f6e21e96998f9fd')
    """
    if _PLAIN_KEY.fullmatch(student):
        return student
    raw = student.encode("utf-8", "surrogateescape")
    stem = "".join(ch for ch in student.lower() if ch.isascii() and (ch.isalnum() or ch in "-_.@+="))[:40]
    return f"{stem.lstrip('.-')}~{hashlib.sha256(raw).hexdigest()[:24]}"


def _load(path: Path, key: bytes):
    """``(result or None, forged)``: a stored result whose HMAC verifies, else None."""
    import json

    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, False  # absent or unreadable: grade again
    from npulab.grading.signing import verify

    data = verify(stored, key)
    if data is None:
        return None, True
    try:
        return SubmissionResult.from_dict(data), False
    except (ValueError, TypeError, KeyError):
        return None, True


def _write_tables(out, lab, source, results, grade_ids, points, settings, *, sandbox=True, seed=None,
                  files=(), bad_signatures=(), has_manual=False, book: Gradebook | None = None,
                  roster=frozenset()) -> None:
    from npulab import __version__

    rows = None
    if book is not None:
        book.record_results(results)  # reused results too (a gradebook made after they were stored)
        # Every student of SUBMISSIONS with a row in the database, also after an interrupted
        # --force run that finished only some of them (their earlier results stand until regraded).
        names = {res.student for res in results} | set(roster)
        rows = [r for r in book.rows() if r["student"] in names]
        write_atomic(out / "gradebook.csv", gradebook_rows_csv(book.columns(), rows, sandbox=sandbox))
    else:
        write_atomic(out / "gradebook.csv", gradebook_csv(results, grade_ids, sandbox=sandbox, manual=has_manual))
    summary = summary_dict(results, grade_ids, points, lab=lab, source=str(source),
                           source_sha256=sha256_of(source), settings=settings, npulab_version=__version__)
    summary["sandbox"] = bool(sandbox)
    if not sandbox:
        summary["warning"] = "graded WITHOUT the OS sandbox (--no-sandbox): results are not protected"
    summary["seed_used"] = seed is not None
    summary["files"] = list(files)
    summary["bad_signatures"] = sorted(bad_signatures)
    if has_manual:
        summary["manual_pending_points"] = (sum(r.manual_pending for r in results) if rows is None
                                            else sum(r.get("manual_pending", 0.0) for r in rows))
    write_atomic(out / "summary.json", dumps(summary))
    _write_records(out, lab, results)


def refresh_outputs(out, *, key_file=None) -> tuple[int, list[str]]:
    """Write ``gradebook.csv``, every feedback page and ``summary.json``'s
    ``manual_pending_points`` again from ``OUT/gradebook.sqlite`` (after ``npulab marks`` or
    the grading page changed a mark).

    Parameters
    ----------
    out : path-like
        The output folder of ``npulab grade``.
    key_file : path-like, optional
        The HMAC key the results were stored with (as given to ``npulab grade``); a key
        file that does not exist is a one-line ``ValueError`` (never a new key).

    Returns
    -------
    (int, list of str)
        Feedback pages written, and the students whose stored result did not verify
        (their page is left as it was).
    """
    import json

    from npulab.grading import signing

    out = Path(out)
    key_path = Path(key_file or os.environ.get("NPULAB_GRADER_KEY") or signing.DEFAULT_KEY).expanduser()
    if not key_path.is_file():
        raise ValueError(f"no grader key at {key_path}; pass --key-file as given to npulab grade")
    key = signing.load_key(key_path, out=out)
    with open_gradebook(out, create=False) as book:
        info = book.info()
        sandbox = info.get("sandbox", "1") != "0"
        rows = book.rows()
        has_written = bool(book.questions("written"))
        write_atomic(out / "gradebook.csv", gradebook_rows_csv(book.columns(), rows, sandbox=sandbox))
        written, bad = 0, []
        lab, lang = info.get("lab", out.name), info.get("lang") or None
        for student in book.students():
            stored, _ = _load(out / "results" / f"{result_key(student)}.json", key)
            if stored is None:
                bad.append(student)
                continue
            write_atomic(out / "feedback" / f"{result_key(student)}.html",
                         feedback_html(stored, lab, lang, manual=book.manual_scores(student)))
            written += 1
    summary_path = out / "summary.json"
    if summary_path.is_file() and has_written:
        try:
            summary = json.loads(summary_path.read_text(encoding="utf-8"))
        except ValueError:
            summary = None
        if isinstance(summary, dict):
            summary["manual_pending_points"] = sum(r.get("manual_pending", 0.0) for r in rows)
            write_atomic(summary_path, dumps(summary))
    return written, bad


def _write_records(out, lab, results) -> None:
    """``OUT/<name>.json`` for every record name the tests used (:mod:`npulab.grading.records`):
    ``{"lab": lab, "students": {student: data}}``, students sorted."""
    names = sorted({name for r in results for name in r.records})
    for name in names:
        students = {r.student: r.records[name] for r in sorted(results, key=lambda r: r.student)
                    if name in r.records}
        write_atomic(out / f"{name}.json", dumps({"lab": lab, "students": students}))
