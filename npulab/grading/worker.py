"""One process per submission: start it, collect its result, kill it if it overruns.

On Linux the worker is forked from the grading process (a fresh process that already has
nbformat and nbclient imported; a new interpreter spends 1-2 s importing them); elsewhere
it is a new interpreter running :func:`main` (job as JSON on stdin, result on the last stdout
line).  Either way the worker leads its own session, and the kernel it starts dies with
it (:mod:`npulab.grading.kernel`), so killing the worker's process group ends everything.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from npulab.grading.autograde import SubmissionResult, grade_submission, not_graded, sha256_of
from npulab.grading.execute import is_test_cell

_RESULT_PREFIX = "NPULAB-RESULT "


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
    default ``notebook_timeout + 60``; then the status is ``timeout``.  ``active`` is an
    optional set that holds the worker's pid while it runs.
    """
    hard_timeout = hard_timeout or float(job.get("notebook_timeout", 600.0)) + 60.0
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
