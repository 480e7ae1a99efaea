"""Pictures of a systolic array: one cycle's registers, a utilisation heat map, a slider.

matplotlib and ipywidgets load lazily (only when a function is called).
"""
from __future__ import annotations

import numpy as np

__all__ = ["plot_cycle", "plot_heatmap", "animate"]


def plot_cycle(result, t: int, ax=None):
    """Draw cycle ``t`` of an :class:`EmulationResult` made with ``trace=True``.

    Each PE shows its west operand ``a``, north/stationary operand ``b`` and its
    accumulator or partial sum; PEs doing a MAC this cycle are shaded.
    """
    import matplotlib.pyplot as plt

    if result.trace is None:
        raise ValueError("plot_cycle needs emulate(..., trace=True)")
    if not 0 <= t < len(result.trace):
        raise ValueError(f"plot_cycle t must be in [0, {len(result.trace) - 1}]; got {t}")
    snap = result.trace[t]
    R, C = result.rows, result.cols
    ax = ax or plt.subplots(figsize=(1.3 * C + 1, 1.1 * R + 1))[1]
    busy = ~np.isnan(snap["a"]) & ~np.isnan(snap["b"]) & ~np.isnan(snap["acc"])
    ax.imshow(busy, cmap="Greens", vmin=0, vmax=1.6)
    fmt = lambda v: "·" if np.isnan(v) else f"{v:g}"  # noqa: E731
    for i in range(R):
        for j in range(C):
            ax.text(j, i, f"a {fmt(snap['a'][i, j])}\nb {fmt(snap['b'][i, j])}\nΣ {fmt(snap['acc'][i, j])}",
                    ha="center", va="center", fontsize=12)
    ax.set_xticks(range(C))
    ax.set_yticks(range(R))
    ax.set_title(f"{result.dataflow.upper()} cycle {t} (fold {snap.get('fold', 0)})")
    return ax


def plot_heatmap(result, ax=None):
    """MACs per PE over the whole run, as a fraction of the cycles (utilisation map)."""
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(4, 3.2))[1]
    im = ax.imshow(result.pe_macs / result.cycles, cmap="viridis", vmin=0, vmax=1)
    ax.figure.colorbar(im, ax=ax, label="busy fraction")
    ax.set_title(f"{result.dataflow.upper()} PE utilisation ({result.utilization:.0%} overall)")
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    return ax


def animate(result):
    """An ipywidgets slider over the cycles of a traced run (Jupyter only)."""
    import matplotlib.pyplot as plt
    from ipywidgets import IntSlider, interact

    def show(t):
        plot_cycle(result, t)
        plt.show()

    return interact(show, t=IntSlider(min=0, max=len(result.trace) - 1, value=0, description="cycle"))
