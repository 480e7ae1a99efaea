"""npulab: a Jupyter-first course kit and research toolkit for NPU design.

The package is a set of small, teachable building blocks that share one picture
(see ``ARCHITECTURE.md`` at the repository root)::

    workload (npulab.workloads) -> hardware (npulab.hw) -> engine -> Report (npulab.perf)

Every engine exports ``estimate(layer, hw, *, energy=None) -> Report``.

Importing :mod:`npulab` is cheap: torch, matplotlib and the notebook machinery load
only when a function that needs them is called.

Example
-------
>>> import npulab
>>> g = npulab.Gemm(M=64, N=64, K=64)
>>> g.macs
262144
"""
from __future__ import annotations

__version__ = "0.1.0"

from npulab.workloads import Conv2d, Gemm  # noqa: E402  (light: stdlib only)

__all__ = ["__version__", "Gemm", "Conv2d", "check"]


def check(notebook: str | None = None, *, timeout: float = 300.0, lang: str | None = None,
          source: str = "auto", progress: bool = True):
    """Self-check a lab notebook against its visible tests and print friendly feedback.

    The last cell of every lab is ``import npulab`` then ``npulab.check()``: it finds its own
    notebook (a copy checks itself) and, in a notebook, checks the answers in the running
    kernel -- the cells you ran, saved or not -- against the lab's released tests read from
    the notebook's file.  Outside a kernel (or with ``source="file"``) the saved notebook is
    run top to bottom in a fresh process.  The report says which it checked.  Hidden tests
    are not in your notebook, so they are not run (and stay hidden).

    Parameters
    ----------
    notebook : str, optional
        Path of the notebook to check.  Default: the notebook this kernel runs
        (VS Code's ``__vsc_ipynb_file__``, Jupyter's ``JPY_SESSION_NAME`` or the Jupyter
        server's session list).
    timeout : float, default 300
        Seconds allowed for each cell (each test).
    lang : {"en", "ko"}, optional
        Language of the report; default: the notebook's (Korean labs are tagged ``ko``),
        else the ``LANG`` environment (``ko_KR.*``), else English.
    source : {"auto", "kernel", "file"}, default "auto"
        ``"kernel"``: the calling kernel's answers; ``"file"``: the saved file in a fresh
        process; ``"auto"``: the kernel's when called from the notebook's own kernel.
    progress : bool, default True
        Show a progress bar while the check runs.

    Returns
    -------
    npulab.grading.CheckResult
        Per-exercise outcome and the written questions; it renders as a table in a notebook.
    """
    from npulab.grading.selfcheck import check as _check

    return _check(notebook, timeout=timeout, lang=lang, source=source, progress=progress)
