"""Run a notebook cell by cell under time, output and kernel-death rules.

The execution engine shared by the autograder (:mod:`npulab.grading.autograde`, in a
sandboxed kernel) and the self-check (:mod:`npulab.grading.selfcheck`, in the ordinary
kernel).  It is nbclient's ``NotebookClient`` with four additions:

* every code cell's fate is recorded: ``ok``, ``error``, ``timeout``, ``skipped`` or ``died``;
* a cell that runs past its time limit is interrupted (SIGINT) and the run goes on with the
  next cell; past the notebook's limit no cell starts;
* output beyond a byte budget is dropped (a notebook that prints megabytes);
* a dying kernel ends the run without losing the fates recorded so far.
"""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from pathlib import Path

from npulab.grading.execute import TestOutcome, _error_of
from npulab.grading.release import nbgrader_meta

#: Environment of every grading kernel: one thread per library (fair on a shared machine),
#: no GUI backend, and the marker that makes ``npulab.check()`` cells do nothing.
KERNEL_ENV = {"NPULAB_SELF_CHECK": "1", "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1",
              "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}

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
                    notes.append(f"the notebook ran past its {notebook_timeout:g} s limit before "
                                 f"{cell_name(cell, index)}; later cells did not run")
                problems.append("timeout")
                client.fate[index] = "skipped"
                continue
            try:
                await client.async_execute_cell(cell, index, store_history=index not in tests)
            except DeadKernelError:
                problems.append("kernel_died")
                notes.append(f"the kernel died while running {cell_name(cell, index)}; later cells did not run")
                client.fate[index] = "died"
                break
            if client.fate.get(index) == "timeout":
                problems.append("timeout")
                limit = min(cell_timeout, notebook_timeout)
                notes.append(f"{cell_name(cell, index)} ran past its time limit ({limit:g} s a cell, or what "
                             "was left of the notebook's) and was interrupted")
            elif client.fate.get(index) == "error" and _error_name(cell).endswith("MemoryError"):
                problems.append("memory")
                notes.append(f"{cell_name(cell, index)} ran out of memory ({_error_name(cell)})")
            elif client.fate.get(index) == "error" and _error_name(cell) == "SystemExit":
                notes.append(f"{cell_name(cell, index)} called sys.exit(); the kernel ignored it and went on")
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


def cell_name(cell, index: int) -> str:
    """How feedback names a cell: its grade_id, else its position and first line."""
    gid = nbgrader_meta(cell).get("grade_id")
    if gid:
        return f"cell '{gid}'"
    first = (cell.source.strip().splitlines() or [""])[0][:40]
    return f"cell {index + 1} ({first!r})"


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
    return _error_of(cell) or "Error"


def outcome_of(cell, fate: str | None) -> TestOutcome:
    """The :class:`TestOutcome` of an executed test cell whose fate (see
    :func:`execute_cells`) is ``fate``."""
    meta = nbgrader_meta(cell)
    passed = fate == "ok"
    return TestOutcome(grade_id=str(meta.get("grade_id", "")), points=float(meta.get("points", 0)),
                       passed=passed, message="" if passed else _message(cell, fate))
