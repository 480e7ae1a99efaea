"""Figures for spiking networks: spike raster, membrane traces, SOPs per layer (matplotlib)."""
from __future__ import annotations

import numpy as np

__all__ = ["raster", "membrane", "sops_per_layer"]


def _axes(ax, figsize=(6, 3)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def raster(spikes, ax=None, title: str = "spike raster"):
    """Dot per spike: ``spikes`` [T, n] (0/1) -> time on x, neuron index on y."""
    s = np.asarray(spikes)
    s = s.reshape(s.shape[0], -1)
    ax = _axes(ax)
    t, n = np.nonzero(s)
    ax.scatter(t, n, marker="|", s=30, color="black")
    ax.set(xlabel="timestep", ylabel="neuron", title=title, xlim=(-0.5, s.shape[0] - 0.5))
    return ax


def membrane(mem, threshold: float = 1.0, spikes=None, ax=None, title: str = "membrane"):
    """Membrane traces ``mem`` [T] or [T, k] with the threshold as a dashed line.

    Spike times (``spikes`` of the same shape) are marked with a triangle.
    """
    m = np.asarray(mem, dtype=float)
    m = m.reshape(m.shape[0], -1)
    ax = _axes(ax)
    for k in range(m.shape[1]):
        line, = ax.plot(m[:, k], drawstyle="steps-mid", label=f"neuron {k}" if m.shape[1] > 1 else "U[t]")
        if spikes is not None:
            st = np.flatnonzero(np.asarray(spikes).reshape(m.shape[0], -1)[:, k])
            ax.plot(st, m[st, k], "v", color=line.get_color())
    ax.axhline(threshold, ls="--", color="red", label="threshold")
    ax.set(xlabel="timestep", ylabel="membrane U", title=title)
    ax.legend(loc="best", fontsize="small")
    return ax


def sops_per_layer(result, ax=None, title: str = "synaptic operations per layer"):
    """Bar chart of a :class:`~npulab.snn.CoreResult`'s SOPs per layer (per inference)."""
    ax = _axes(ax)
    sops = result.sops.sum(axis=1) / result.batch
    names = list(result.names) or [f"layer{i}" for i in range(len(sops))]
    ax.bar(names, sops, color="tab:blue")
    for i, v in enumerate(sops):
        ax.text(i, v, f"{v:,.0f}", ha="center", va="bottom", fontsize="small")
    ax.set(ylabel="SOPs per inference", title=title)
    return ax
