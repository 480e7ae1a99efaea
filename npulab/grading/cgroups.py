"""Whole-sandbox memory and process caps with Linux control groups (best effort).

``RLIMIT_AS`` and ``RLIMIT_NPROC`` (set by :mod:`npulab.grading.driver`) cap each process;
a submission that forks 60 processes of 2 GiB each would still use 120 GiB.  When the
grader may write to the cgroup filesystem (root, cgroup v1 ``memory`` and ``pids``
controllers or cgroup v2 with them enabled), :class:`SandboxGroup` puts the whole sandbox
in a group of its own with ``memory`` = ``--memory-mb`` plus the two RAM folders and
``pids`` = the process cap, so the kernel's OOM killer and the ``pids`` controller act
inside the submission only.  Where cgroups are not writable nothing happens and the
per-process limits stay the only ones.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")


def _v1(controller: str) -> Path | None:
    path = ROOT / controller
    return path if (path / "cgroup.procs").exists() and os.access(path, os.W_OK) else None


def _v2() -> Path | None:
    for path in (ROOT, ROOT / "unified"):
        try:
            controllers = (path / "cgroup.controllers").read_text().split()
        except OSError:
            continue
        if {"memory", "pids"} <= set(controllers) and os.access(path, os.W_OK):
            return path
    return None


class SandboxGroup:
    """One submission's control group(s); ``enter()`` runs in the child before ``exec``."""

    def __init__(self, name: str, memory_bytes: int, pids: int):
        self.dirs: list[Path] = []
        try:
            self._make(name, memory_bytes, pids)
        except OSError:
            self.remove()
            self.dirs = []

    def _make(self, name: str, memory_bytes: int, pids: int) -> None:
        mem, pid = _v1("memory"), _v1("pids")
        if mem is not None and pid is not None:
            for base, files in ((mem, {"memory.limit_in_bytes": memory_bytes}), (pid, {"pids.max": pids})):
                group = base / name
                group.mkdir(exist_ok=True)
                self.dirs.append(group)
                for key, value in files.items():
                    (group / key).write_text(str(value))
            with contextlib.suppress(OSError):
                (mem / name / "memory.memsw.limit_in_bytes").write_text(str(memory_bytes))
            return
        unified = _v2()
        if unified is not None:
            with contextlib.suppress(OSError):
                (unified / "cgroup.subtree_control").write_text("+memory +pids")
            group = unified / name
            group.mkdir(exist_ok=True)
            self.dirs.append(group)
            (group / "memory.max").write_text(str(memory_bytes))
            (group / "pids.max").write_text(str(pids))
            with contextlib.suppress(OSError):
                (group / "memory.swap.max").write_text("0")

    @property
    def active(self) -> bool:
        """True when the submission runs under the group's limits."""
        return bool(self.dirs)

    def enter(self) -> None:
        """Move the calling process (a child about to ``exec`` the sandbox) into the group."""
        for group in self.dirs:
            (group / "cgroup.procs").write_text(str(os.getpid()))

    def remove(self, wait: float = 5.0) -> None:
        """Delete the group(s) once the processes in them have ended (the kernel tears the
        sandbox down asynchronously: retry for up to ``wait`` seconds, killing stragglers)."""
        import signal
        import time

        deadline = time.monotonic() + wait
        for group in reversed(self.dirs):
            while group.exists():
                try:
                    group.rmdir()
                except OSError:
                    with contextlib.suppress(OSError, ValueError):
                        for pid in (group / "cgroup.procs").read_text().split():
                            with contextlib.suppress(OSError):
                                os.kill(int(pid), signal.SIGKILL)
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.02)


def cleanup(owner_pid: int) -> None:
    """Remove groups left by a worker that was killed before it could remove them."""
    roots = [ROOT / "memory", ROOT / "pids", ROOT, ROOT / "unified"]
    group = SandboxGroup.__new__(SandboxGroup)
    group.dirs = [d for root in roots if root.is_dir() for d in root.glob(f"npulab-{int(owner_pid)}-*")]
    group.remove()
