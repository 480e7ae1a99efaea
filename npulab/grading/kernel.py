"""A resource-limited IPython kernel for the autograder.

``python npulab/grading/kernel.py --memory-mb 2048 -f CONNECTION_FILE`` sets limits on its
own process, then becomes an ordinary ``ipykernel`` kernel.  Limits are inherited by every
process the student's code starts.

* ``RLIMIT_AS`` (address space) caps memory: an allocation past it raises ``MemoryError``
  in the cell (numpy: ``_ArrayMemoryError``), which the autograder reports as ``memory``.
* On Linux the kernel asks to be killed when the grading worker that started it dies
  (``prctl(PR_SET_PDEATHSIG, SIGKILL)``), so a worker killed for overrunning its time
  limit leaves no orphan kernel behind.

The autograder starts this file as a script (so no npulab import delays the kernel)
through a private kernelspec (see :func:`npulab.grading.sandbox.write_kernelspec`); it is
not meant to be run by hand.
"""
from __future__ import annotations

import os
import resource
import signal
import sys

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def limit_memory(memory_mb: float) -> None:
    """Cap this process's address space at ``memory_mb`` MiB (soft and hard limit)."""
    if memory_mb and memory_mb > 0:
        limit = int(memory_mb * 2**20)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def die_with_parent() -> None:
    """Linux: get SIGKILL when the parent process dies; elsewhere do nothing."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - exotic libc
        return
    parent = os.environ.get("JPY_PARENT_PID")
    if parent and parent.isdigit() and os.getppid() != int(parent):
        os._exit(1)  # the parent died before prctl: nobody is waiting for this kernel


def main(argv: list[str] | None = None) -> None:
    """Apply the limits, then hand the remaining arguments to ipykernel."""
    argv = list(sys.argv[1:] if argv is None else argv)
    memory_mb = 0.0
    if argv[:1] == ["--memory-mb"]:
        memory_mb = float(argv[1])
        argv = argv[2:]
    die_with_parent()
    limit_memory(memory_mb)
    # Run as a script, Python put this file's folder first on sys.path: take it off, so
    # student code cannot import npulab's grading modules by their bare names.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    from ipykernel import kernelapp

    sys.argv = ["ipykernel_launcher", *argv]
    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
