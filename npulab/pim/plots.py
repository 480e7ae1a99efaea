"""Figures for the crossbar: the circuit, conductance heat maps, accuracy curves, an explorer.

matplotlib (and ipywidgets for :func:`explorer`) are imported when a function is called.
"""
from __future__ import annotations

import numpy as np

from npulab.hw.pim import IOConfig
from npulab.pim.mvm import analog_mvm


def draw_crossbar(G, v, ax=None):
    """Draw a crossbar as a circuit: word lines (inputs ``v``), cells ``G``, bit-line currents.

    Parameters
    ----------
    G : array_like, shape [rows, cols]
        Conductances (uS); inputs on rows.
    v : array_like, shape [rows]
        Word-line voltages (V).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        Column currents ``I_j = sum_i G_ij v_i`` (uA) are written under each bit line.
    """
    import matplotlib.pyplot as plt

    G, v = np.asarray(G, dtype=float), np.asarray(v, dtype=float)
    rows, cols = G.shape
    if ax is None:
        fig, ax = plt.subplots(figsize=(1.6 * cols + 2, 1.2 * rows + 1.5))
    else:
        fig = ax.figure
    current = v @ G
    for i in range(rows):
        ax.plot([0, cols + 0.2], [-i, -i], color="tab:blue", lw=2)
        ax.text(-0.15, -i, f"DAC  V{i} = {v[i]:.2f} V", ha="right", va="center", fontsize=9)
    for j in range(cols):
        ax.plot([j + 0.6, j + 0.6], [0.3, -rows + 0.3], color="tab:red", lw=2)
        ax.text(j + 0.6, -rows + 0.1, f"I{j} = {current[j]:.2f} uA\nADC", ha="center",
                va="top", fontsize=9)
    for i in range(rows):
        for j in range(cols):
            ax.plot([j + 0.3, j + 0.6], [-i, -i - 0.25], color="k", lw=1)
            ax.add_patch(plt.Rectangle((j + 0.38, -i - 0.17), 0.14, 0.1, angle=-40,
                                       color=plt.cm.viridis(G[i, j] / max(G.max(), 1e-12))))
            ax.text(j + 0.25, -i - 0.35, f"{G[i, j]:g} uS", fontsize=7)
    ax.set_xlim(-2.2, cols + 0.5)
    ax.set_ylim(-rows - 0.6, 0.6)
    ax.axis("off")
    ax.set_title("Crossbar MVM: Ohm (I = G V) in every cell, Kirchhoff sums each bit line")
    return fig


def plot_conductances(maps: dict, ax=None, vmax=None):
    """Side-by-side heat maps of conductance matrices (uS), one shared colour scale.

    Parameters
    ----------
    maps : dict[str, array_like]
        Title -> conductance matrix, e.g. ``{"target": ..., "programmed": ..., "1 year": ...}``.
    """
    import matplotlib.pyplot as plt

    n = len(maps)
    fig, axes = plt.subplots(1, n, figsize=(3.2 * n, 3.2), squeeze=False)
    vmax = vmax if vmax is not None else max(float(np.max(m)) for m in maps.values())
    for a, (title, m) in zip(axes[0], maps.items()):
        im = a.imshow(np.asarray(m), vmin=0, vmax=vmax, cmap="viridis")
        a.set_title(title)
        a.set_xticks([])
        a.set_yticks([])
    fig.colorbar(im, ax=axes[0].tolist(), label="conductance (uS)", shrink=0.8)
    return fig


def plot_accuracy(xs, curves: dict, xlabel: str, logx: bool = False, reference=None, ax=None):
    """Accuracy curves (one per label in ``curves``) against ``xs``; optional float reference."""
    import matplotlib.pyplot as plt

    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6, 3.8))
    for label, ys in curves.items():
        ax.plot(xs, ys, "o-", label=label)
    if reference is not None:
        ax.axhline(reference, color="k", ls=":", label=f"float: {reference:.3f}")
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def explorer(W=None, x=None, seed: int = 0):
    """An ipywidgets explorer: DAC/ADC bits, output noise and bounds vs the exact product."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    W = rng.uniform(-1, 1, (64, 128)) if W is None else np.asarray(W)
    x = rng.normal(size=(16, W.shape[1])) if x is None else np.asarray(x)
    exact = x @ W.T

    def show(dac_bits=7, adc_bits=9, out_noise=0.06, out_bound=12.0, bound_management="iterative"):
        io = IOConfig.from_bits(dac_bits, adc_bits, out_noise=out_noise, out_bound=out_bound,
                                bound_management=bound_management)
        y = analog_mvm(W, x, io, rng)
        err = np.sqrt(np.mean((y - exact) ** 2)) / np.std(exact)
        fig, ax = plt.subplots(figsize=(4.5, 4))
        ax.plot(exact.ravel(), y.ravel(), ".", ms=3)
        lim = np.abs(exact).max()
        ax.plot([-lim, lim], [-lim, lim], "k:")
        ax.set_xlabel("exact x @ W.T")
        ax.set_ylabel("analog_mvm")
        ax.set_title(f"relative RMS error {err:.3f}")
        plt.show()

    return widgets.interactive(
        show, dac_bits=widgets.IntSlider(7, 2, 10), adc_bits=widgets.IntSlider(9, 2, 12),
        out_noise=widgets.FloatSlider(value=0.06, min=0.0, max=0.5, step=0.01),
        out_bound=widgets.FloatSlider(value=12.0, min=1.0, max=40.0, step=1.0),
        bound_management=["iterative", "none"])
