"""The seam between the grading engine and an OS sandbox: the :class:`Sandbox` protocol.

:func:`npulab.grading.engine.start_driver` starts the student side through a
:class:`Sandbox`.  A sandbox backend answers four questions:

* **availability** -- :meth:`Sandbox.problem`: ``None`` when it can isolate a submission on
  this machine, else the one-line fix to print (``npulab grade`` stops with it);
* **command** -- :meth:`Sandbox.launch`: how to run the driver's command line around a work
  folder, with the :class:`Limits` (memory, CPU time, processes) it must enforce;
* **limits** -- the :class:`Limits` hold for the whole sandbox, not one process: the backend
  picks the per-process limits the driver sets (:func:`limit_args`) and what it sets up
  around them (a control group), released by :meth:`Launch.release`;
* **cleanup** -- :meth:`Sandbox.cleanup`: remove what a worker killed mid-run left behind.

Two implementations ship: :class:`NoSandbox` (an ordinary child process: the learner's
self-check and ``npulab grade --no-sandbox``) and
:class:`npulab.grading.sandbox.Bubblewrap` (Linux namespaces).  A new backend (a container
runtime for instructors on macOS, say) implements this protocol and registers in
:data:`npulab.grading.backends.BACKENDS`; nothing else in grading changes.
``tests/grading/test_grading_isolation.py`` checks every registered backend against the
protocol.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol, runtime_checkable

#: Environment variables the student side never inherits (grader secrets).
SECRET_ENV = ("NPULAB_COURSE_SEED", "NPULAB_GRADER_KEY")


@dataclass(frozen=True)
class Limits:
    """What a sandbox must bound for one submission.

    Attributes
    ----------
    memory_mb : float
        Memory of the student side (0: no limit).  Units: MiB.
    cpu_s : float
        CPU time of the student side (0: no limit).  Units: seconds.
    nproc : int
        Processes and threads the student side may have at once (0: no limit).
    """

    memory_mb: float = 0.0
    cpu_s: float = 0.0
    nproc: int = 0


@dataclass
class Launch:
    """How to start the driver: ``subprocess.Popen`` arguments plus what to release after.

    Attributes
    ----------
    argv : list of str
        The full command line.
    env : dict
        The environment of the started process.
    cwd : str or None
        Its current folder (None: the sandbox sets it).
    preexec : callable or None
        Run in the child before ``exec`` (e.g. entering a control group).
    new_session : bool
        Start the child in a session of its own (so its process group can be killed).
    isolated : bool
        True when the student side cannot see or reach the host beyond its work folder.
    pass_fds : tuple of int
        Descriptors the child inherits (e.g. a seccomp program); closed here once it started.
    on_release : list of callables
        Called once by :meth:`release` after the driver ended.
    """

    argv: list
    env: dict
    cwd: str | None = None
    preexec: Callable[[], None] | None = None
    new_session: bool = True
    isolated: bool = False
    pass_fds: tuple = ()
    on_release: list = field(default_factory=list)

    def release(self) -> None:
        """Undo what the backend set up for this launch (idempotent)."""
        while self.on_release:
            self.on_release.pop()()


@runtime_checkable
class Sandbox(Protocol):
    """An OS sandbox backend for the student side (see the module docstring)."""

    #: Short name (the key in :data:`npulab.grading.backends.BACKENDS`).
    name: str

    def problem(self) -> str | None:
        """None when this backend works here; else a one-line fix naming what to install."""
        ...

    def launch(self, workdir: Path, argv: list, env: dict, limits: Limits) -> Launch:
        """How to run the driver ``argv`` (:func:`driver_argv`) with ``env`` around the work
        folder ``workdir`` so that the WHOLE sandbox stays within ``limits``: the backend
        appends :func:`limit_args` of the per-process limits that achieve it (with a control
        group, ``limits`` itself; without one, a share of the memory per allowed process)."""
        ...

    def cleanup(self, owner_pid: int) -> None:
        """Remove anything a worker process ``owner_pid`` left behind when it was killed."""
        ...


def package_root() -> Path:
    """The folder holding the ``npulab`` package this process imported (what the driver
    must import too, wherever it is installed: a checkout, site-packages, a conda env)."""
    return Path(__file__).resolve().parent.parent.parent


def driver_argv() -> list[str]:
    """The driver's command line without its limit flags (:func:`limit_args`): this
    interpreter, importing npulab from :func:`package_root` first (an editable install
    elsewhere, a student's ``npulab/`` folder or ``PYTHONPATH`` cannot swap it), then the
    work folder (a student's helper modules)."""
    boot = (
        f"import sys; sys.path[0:1] = [{str(package_root())!r}, '']; "
        "from npulab.grading.driver import main; main()"
    )
    return [sys.executable, "-c", boot]


def limit_args(per_process: Limits) -> list[str]:
    """The driver's flags that make it set ``per_process`` on itself (inherited by every
    process it starts) before it reads the first request."""
    return [
        "--memory-mb",
        f"{per_process.memory_mb:g}",
        "--cpu-s",
        f"{per_process.cpu_s:g}",
        "--nproc",
        str(int(per_process.nproc)),
    ]


class NoSandbox:
    """No isolation: the driver is an ordinary child process in the work folder.

    Used by the learner's self-check (their own notebook, their own machine) and by
    ``npulab grade --no-sandbox``.  The per-process limits still apply (the driver sets them
    itself); the grader's secrets are removed from the environment.
    """

    name = "none"

    def problem(self) -> str | None:
        """Always usable."""
        return None

    def launch(self, workdir: Path, argv: list, env: dict, limits: Limits) -> Launch:
        """Run ``argv`` in ``workdir`` with this process's environment (minus secrets) + ``env``."""
        base = {k: v for k, v in os.environ.items() if k not in SECRET_ENV}
        base.pop("PYTHONPATH", None)  # the driver puts npulab first itself
        return Launch(
            argv=[*argv, *limit_args(limits)],
            env={**base, **env},
            cwd=str(workdir),
            new_session=True,
        )

    def cleanup(self, owner_pid: int) -> None:
        """Nothing outlives the driver's process group."""
