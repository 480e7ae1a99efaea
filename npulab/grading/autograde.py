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

The grading worker is this module run as ``python -m npulab.grading.autograde`` (a job as
JSON on stdin, the :class:`SubmissionResult` as JSON on the last stdout line), so every
submission gets its own process; :mod:`npulab.grading.classroom` starts the workers.
"""
from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from npulab.grading.execute import TestOutcome, is_test_cell
from npulab.grading.release import nbgrader_meta

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
#: Environment of every grading kernel: one thread per library (fair on a shared machine),
#: no GUI backend, and the marker that makes ``npulab.check()`` cells do nothing.
KERNEL_ENV = {"NPULAB_SELF_CHECK": "1", "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1",
              "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}
_RESULT_PREFIX = "NPULAB-RESULT "


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


def sha256_of(path) -> str:
    """Hex SHA-256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def worst(statuses) -> str:
    """The worst of several statuses (order of :data:`STATUSES`); ``"ok"`` if none."""
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


def _client_class():
    """A NotebookClient that records each cell's fate and caps time and output."""
    from nbclient import NotebookClient

    class GradingClient(NotebookClient):
        def setup_limits(self, *, deadline, cell_timeout, max_output_bytes):
            self.deadline = deadline
            self.cell_timeout = cell_timeout
            self.max_output_bytes = max_output_bytes
            self.output_bytes = 0
            self.output_dropped = False
            self.fate = {}  # cell index -> "ok" | "error" | "timeout" | "skipped"
            self.timeout_func = self._cell_budget
            self.on_cell_executed = self._record

        def _cell_budget(self, cell):
            return max(1.0, min(self.cell_timeout, self.deadline - time.monotonic()))

        def _record(self, cell, cell_index, execute_reply):
            content = (execute_reply or {}).get("content", {})
            if content.get("status") != "error":
                self.fate[cell_index] = "ok"
            elif content.get("ename") == "CellTimeoutError":
                self.fate[cell_index] = "timeout"
            else:
                self.fate[cell_index] = "error"

        def output(self, outs, msg, display_id, cell_index):
            size = len(json.dumps(msg.get("content", {}), default=str))
            self.output_bytes += size
            if self.output_bytes > self.max_output_bytes and msg["msg_type"] != "error":
                self.output_dropped = True
                return None
            return super().output(outs, msg, display_id, cell_index)

    return GradingClient


async def execute_cells(nb, *, cwd: Path, kernels_dir: Path | None = None, tests=(),
                        cell_timeout: float = 60.0, notebook_timeout: float = 600.0,
                        max_output_bytes: int = 2 * 2**20, env: dict | None = None):
    """Run ``nb`` in place, cell by cell; return ``(fate, problems, notes)``.

    ``fate`` maps each code cell's index to ``"ok"``, ``"error"``, ``"timeout"``,
    ``"skipped"`` (notebook time limit) or ``"died"``; cells after a kernel death are absent.
    ``problems`` lists statuses met (``timeout``, ``memory``, ``kernel_died``,
    ``output_limit``); ``notes`` says what happened in words.  ``kernels_dir`` holds the
    sandbox kernelspec (:func:`npulab.grading.sandbox.write_kernelspec`); without it the
    ordinary ``python3`` kernel runs.  Cells whose index is in ``tests`` are sent with
    ``store_history=False``.
    """
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbclient.exceptions import DeadKernelError

    from npulab.grading.sandbox import KERNEL_NAME

    if kernels_dir is None:
        kernel_name, km = "python3", AsyncKernelManager(kernel_name="python3")
    else:
        ksm = KernelSpecManager(kernel_dirs=[str(kernels_dir)], ensure_native_kernel=False)
        kernel_name, km = KERNEL_NAME, AsyncKernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=ksm)
    client = _client_class()(
        nb, km=km, kernel_name=kernel_name, allow_errors=True, interrupt_on_timeout=True,
        error_on_timeout={"ename": "CellTimeoutError", "evalue": "", "traceback": []},
        iopub_timeout=2, shutdown_kernel="immediate", record_timing=False,
        resources={"metadata": {"path": str(cwd)}},
    )
    client.setup_limits(deadline=time.monotonic() + notebook_timeout + 3600, cell_timeout=cell_timeout,
                        max_output_bytes=max_output_bytes)
    problems, notes = [], []
    env = {**os.environ, **(KERNEL_ENV if env is None else env)}
    async with client.async_setup_kernel(env=env, cwd=str(cwd), stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
        client.deadline = time.monotonic() + notebook_timeout  # the clock starts once the kernel is up
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            if time.monotonic() >= client.deadline:
                if "skipped" not in client.fate.values():
                    notes.append(f"the notebook ran past its {notebook_timeout:g} s limit at cell "
                                 f"{index}; later cells did not run")
                problems.append("timeout")
                client.fate[index] = "skipped"
                continue
            try:
                await client.async_execute_cell(cell, index, store_history=index not in tests)
            except DeadKernelError:
                problems.append("kernel_died")
                notes.append(f"the kernel died while running cell {index}; later cells did not run")
                client.fate[index] = "died"
                break
            if client.fate.get(index) == "timeout":
                problems.append("timeout")
                notes.append(f"cell {index} ran past its time limit ({min(cell_timeout, notebook_timeout):g} s "
                             "a cell, or what was left of the notebook's) and was interrupted")
            elif client.fate.get(index) == "error" and _error_name(cell).endswith("MemoryError"):
                problems.append("memory")
                notes.append(f"cell {index} ran out of memory ({_error_name(cell)})")
            elif client.fate.get(index) == "error" and _error_name(cell) == "SystemExit":
                notes.append(f"cell {index} called sys.exit(); the kernel ignored it and went on")
    if client.output_dropped:
        problems.append("output_limit")
        notes.append(f"output beyond {max_output_bytes // 1024} KiB was dropped")
    return client.fate, problems, notes


def run_coroutine(coro):
    """``asyncio.run(coro)``, also from inside a running event loop (a Jupyter kernel):
    then the coroutine runs in a helper thread with its own loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _error_name(cell) -> str:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return str(out.get("ename", "Error"))
    return ""


def _message(cell, fate: str | None) -> str:
    if fate == "timeout":
        return "CellTimeoutError: the test ran past its time limit"
    if fate == "skipped":
        return "not run: the notebook ran past its time limit before this test"
    if fate == "died":
        return "not run: the kernel died while running this test"
    if fate is None:
        return "not run: the kernel died before this test"
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            name, value = out.get("ename", "Error"), str(out.get("evalue", ""))
            return f"{name}: {value}" if value else str(name)
    return "Error"


def outcome_of(cell, fate: str | None) -> TestOutcome:
    """The :class:`TestOutcome` of an executed test cell whose fate (see
    :func:`execute_cells`) is ``fate``."""
    meta = nbgrader_meta(cell)
    passed = fate == "ok"
    return TestOutcome(grade_id=str(meta.get("grade_id", "")), points=float(meta.get("points", 0)),
                       passed=passed, message="" if passed else _message(cell, fate))


def grade_submission(source, submission, *, student: str | None = None, cell_timeout: float = 60.0,
                     notebook_timeout: float = 600.0, memory_mb: float = 2048.0,
                     max_output_bytes: int = 2 * 2**20, extra_dir=None,
                     exclude=()) -> SubmissionResult:
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
        outcomes = tuple(TestOutcome(str(nbgrader_meta(c).get("grade_id")), float(nbgrader_meta(c).get("points", 0)),
                                     False, f"not graded: {note}") for c in tests)
        return SubmissionResult(status=status, outcomes=outcomes, notes=(note,),
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
    test_index = {}
    for i, cell in enumerate(merged.cells):
        if is_test_cell(cell) and nbgrader_meta(cell).get("grade_id") in {nbgrader_meta(t).get("grade_id") for t in tests}:
            test_index.setdefault(nbgrader_meta(cell)["grade_id"], i)
    private = Path(tempfile.mkdtemp(prefix="npulab-grader-"))
    box = None
    try:
        from npulab.grading.sandbox import make_sandbox, write_kernelspec

        kernels = write_kernelspec(private, memory_mb)
        box = make_sandbox(source, text, source.name, extra_dir=Path(extra_dir) if extra_dir else None,
                           exclude=exclude)
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


def kill_group(pid: int) -> None:
    """SIGKILL a worker's process group (its session), or the process alone."""
    import signal

    for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            kill()
            return
        except (ProcessLookupError, PermissionError):
            continue


def _forked_worker(job: dict, conn) -> None:
    """Body of a forked worker: own session, quiet stdio, result through ``conn``."""
    os.setsid()
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    try:
        conn.send(grade_submission(**job).to_dict())
    except BaseException as err:  # report, never raise into multiprocessing's handler
        conn.send({"error": f"{err.__class__.__name__}: {err}"})
    finally:
        conn.close()


def _spawn(job: dict, hard_timeout: float, active: set | None = None):
    """Run a worker; return ``(result dict or None, reason)``.  While it runs, its pid
    is in ``active`` (so a caller can kill every running worker on Ctrl-C)."""
    active = set() if active is None else active
    if sys.platform.startswith("linux"):
        # fork: a fresh process that already has nbformat/nbclient imported (a new
        # interpreter spends ~1-2 s importing them).
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        recv, send = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_forked_worker, args=(job, send), daemon=False)
        proc.start()
        active.add(proc.pid)
        send.close()
        try:
            if recv.poll(hard_timeout):
                try:
                    data = recv.recv()
                except EOFError:
                    data = {"error": "the grading worker died"}
            else:
                data = None
        finally:
            kill_group(proc.pid)
            proc.join()
            recv.close()
            active.discard(proc.pid)
        if data is None:
            return None, f"worker killed after {hard_timeout:g} s"
        return (None, data["error"]) if "error" in data else (data, "")
    proc = subprocess.Popen([sys.executable, "-m", "npulab.grading.autograde"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    active.add(proc.pid)
    try:
        out, err = proc.communicate(json.dumps(job).encode(), timeout=hard_timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc.pid)
        proc.communicate()
        return None, f"worker killed after {hard_timeout:g} s"
    except BaseException:  # KeyboardInterrupt: take the worker down with us
        kill_group(proc.pid)
        raise
    finally:
        active.discard(proc.pid)
    for line in reversed(out.decode(errors="replace").splitlines()):
        if line.startswith(_RESULT_PREFIX):
            return json.loads(line[len(_RESULT_PREFIX):]), ""
    return None, (err.decode(errors="replace").strip().splitlines()[-1:] or ["no result"])[0]


def run_worker(job: dict, *, hard_timeout: float | None = None, active: set | None = None) -> SubmissionResult:
    """Grade one job in a NEW process, which starts the submission's kernel.

    ``job`` holds :func:`grade_submission`'s arguments (paths as strings).  On Linux the
    worker is forked from this process; elsewhere it is ``python -m
    npulab.grading.autograde`` (job on stdin, result on stdout).  The worker is killed
    (with its kernel, which dies with its parent) if it outlives ``hard_timeout`` seconds,
    default ``notebook_timeout + 60``; then the status is ``timeout``.  ``active`` is an
    optional set that holds the worker's pid while it runs.
    """
    hard_timeout = hard_timeout or float(job.get("notebook_timeout", 600.0)) + 60.0
    start = time.monotonic()
    data, reason = _spawn(job, hard_timeout, active)
    if data is not None:
        return SubmissionResult.from_dict(data)
    status = "timeout" if reason.startswith("worker killed") else "grader_error"
    src = nbformat.read(job["source"], as_version=4)
    outcomes = tuple(TestOutcome(str(nbgrader_meta(c).get("grade_id")), float(nbgrader_meta(c).get("points", 0)),
                                 False, "not graded: the grading worker stopped") for c in src.cells if is_test_cell(c))
    sub = Path(job["submission"])
    return SubmissionResult(student=job.get("student") or sub.stem, status=status, outcomes=outcomes,
                            notes=(f"grading worker stopped: {reason[:300]}",),
                            seconds=time.monotonic() - start,
                            submission_sha256=sha256_of(sub) if sub.is_file() else "",
                            source_sha256=sha256_of(job["source"]),
                            settings={k: float(job[k]) for k in ("cell_timeout", "notebook_timeout", "memory_mb")
                                      if k in job})


def _worker_main() -> None:
    job = json.loads(sys.stdin.read())
    result = grade_submission(**job)
    sys.stdout.write("\n" + _RESULT_PREFIX + json.dumps(result.to_dict()) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    _worker_main()
