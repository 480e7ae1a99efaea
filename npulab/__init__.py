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


def check(notebook: str | None = None, *, timeout: float = 300.0, lang: str | None = None):
    """Self-check a lab notebook against its visible tests and print friendly feedback.

    Call it as the last cell of a lab, e.g. ``npulab.check("00_orientation.ipynb")``.
    The saved notebook is run top to bottom in a fresh kernel, so save first (Ctrl-S).
    Hidden tests are not in your notebook, so they are not run (and stay hidden).

    Parameters
    ----------
    notebook : str, optional
        Path of the notebook to check.  Defaults to the notebook Jupyter says is open
        (``JPY_SESSION_NAME``).
    timeout : float, default 300
        Seconds allowed for each cell.
    lang : {"en", "ko"}, optional
        Language of the report; default: the notebook's (Korean labs are tagged ``ko``),
        else the ``LANG`` environment (``ko_KR.*``), else English.

    Returns
    -------
    npulab.grading.CheckResult
        Per-test outcome; it renders as a table in a notebook.
    """
    from npulab.grading.selfcheck import check as _check

    return _check(notebook, timeout=timeout, lang=lang)
