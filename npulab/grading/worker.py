"""One process per submission: start it, collect its result, kill it if it overruns.

The worker is the *trusted* grader-side interpreter of one submission: it runs the test
cells (:mod:`npulab.grading.engine`) and starts the submission's sandbox.  On Linux it is
forked from the grading process (nbformat already imported); elsewhere it is a new
interpreter running :func:`main` (job as JSON on stdin, result on the last stdout line).
The result comes back as JSON over a pipe only the worker holds (never pickle).  The
worker leads its own session; its sandbox dies with it (bwrap ``--die-with-parent``, PID
namespace), so killing the worker's process group ends everything.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from npulab.grading.autograde import SubmissionResult, grade_submission, not_graded, sha256_of
from npulab.grading.outcome import is_test_cell

_RESULT_PREFIX = "NPULAB-RESULT "
#: Address space the trusted worker may add to what it holds when it starts (decoding the
#: student's results and comparing them in the tests).  Units: MiB.
TRUSTED_HEADROOM_MB = 2048


def limit_trusted_memory(headroom_mb: float = TRUSTED_HEADROOM_MB) -> int | None:
    """Cap this process's address space at its current size + ``headroom_mb``; return the
    cap in bytes (None where it cannot be read).  A student's result that a test broadcasts
    into a huge temporary then fails that test with ``MemoryError`` instead of taking the
    grader's memory (issue 23 #5)."""
    import resource

    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    cap = pages * os.sysconf("SC_PAGE_SIZE") + int(headroom_mb * 2**20)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    return cap


def kill_group(pid: int) -> None:
    """SIGKILL a worker's process group (its session), or the process alone."""
    import signal

    for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            kill()
            return
        except (ProcessLookupError, PermissionError):
            continue


def _forked_worker(job: dict, fd: int) -> None:
    """Body of a forked worker: own session, quiet stdio, result as JSON through ``fd``."""
    try:
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        for std in (0, 1, 2):
            os.dup2(null, std)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)
        # The trusted side imports nothing from the current folder (never a student's file).
        sys.path[:] = [p for p in sys.path if p not in ("", ".", os.getcwd())]
        limit_trusted_memory()
        try:
            data: dict[str, object] = {"result": grade_submission(**job).to_dict()}
        except BaseException as err:  # report, never raise
            data = {"error": f"{err.__class__.__name__}: {err}"[:500]}
        payload = json.dumps(data).encode()
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os._exit(0)


def _read_all(fd: int, deadline: float) -> bytes | None:
    """Everything written to ``fd`` until EOF, or None past ``deadline``."""
    import select

    chunks: list[bytes] = []
    while True:
        wait = deadline - time.monotonic()
        if wait <= 0 or not select.select([fd], [], [], wait)[0]:
            return None
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _spawn(job: dict, hard_timeout: float, active: set | None = None):
    """Run a worker; return ``(result dict or None, reason)``.  While it runs, its pid
    is in ``active`` (so a caller can kill every running worker on Ctrl-C)."""
    active = set() if active is None else active
    if sys.platform.startswith("linux"):
        # fork: a fresh process that already has nbformat imported (a new interpreter
        # spends ~1 s importing it).  The result comes back as JSON, never pickle.
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            os.close(read_fd)
            _forked_worker(job, write_fd)
        os.close(write_fd)
        active.add(pid)
        try:
            raw = _read_all(read_fd, time.monotonic() + hard_timeout)
        finally:
            kill_group(pid)
            os.waitpid(pid, 0)
            os.close(read_fd)
            active.discard(pid)
            from npulab.grading.backends import get_sandbox

            get_sandbox(job.get("sandbox", True)).cleanup(pid)  # what a killed worker left behind
        if raw is None:
            return None, f"worker killed after {hard_timeout:g} s"
        try:
            data = json.loads(raw.decode())
        except ValueError:
            return None, "the grading worker died"
        return (None, data["error"]) if "error" in data else (data["result"], "")
    command = [sys.executable, "-c", "from npulab.grading.worker import main; main()"]
    proc = subprocess.Popen(command, stdin=subprocess.PIPE,
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

    ``job`` holds :func:`~npulab.grading.autograde.grade_submission`'s arguments (paths as
    strings).  On Linux the worker is forked from this process; elsewhere it is a new
    interpreter running :func:`main` (job on stdin, result on stdout).  The worker is killed
    (with its kernel, which dies with its parent) if it outlives ``hard_timeout`` seconds,
    default ``2 * notebook_timeout + 30`` (the visible and the full pass); then the status is
    ``timeout``.  ``active`` is an optional set that holds the worker's pid while it runs.
    """
    hard_timeout = hard_timeout or 2 * float(job.get("notebook_timeout", 600.0)) + 30.0  # two passes
    start = time.monotonic()
    tmp_root = tempfile.mkdtemp(prefix="npulab-job-")  # removed here even if the worker is killed
    try:
        data, reason = _spawn({**job, "tmp_root": tmp_root}, hard_timeout, active)
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
    if data is not None:
        return SubmissionResult.from_dict(data)
    status = "timeout" if reason.startswith("worker killed") else "grader_error"
    src = nbformat.read(job["source"], as_version=4)
    outcomes = not_graded([c for c in src.cells if is_test_cell(c)], "the grading worker stopped")
    sub = Path(job["submission"])
    return SubmissionResult(student=job.get("student") or sub.stem, status=status, outcomes=outcomes,
                            notes=(f"grading worker stopped: {reason[:300]}",),
                            seconds=time.monotonic() - start,
                            submission_sha256=sha256_of(sub) if sub.is_file() else "",
                            source_sha256=sha256_of(job["source"]),
                            settings={k: float(job[k]) for k in ("cell_timeout", "notebook_timeout", "memory_mb")
                                      if k in job})


def main() -> None:
    """Entry point of a spawned worker: a job as JSON on stdin, the result on stdout."""
    job = json.loads(sys.stdin.read())
    result = grade_submission(**job)
    sys.stdout.write("\n" + _RESULT_PREFIX + json.dumps(result.to_dict()) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
