"""Spiking neural networks: snnTorch-exact neurons, encoders, an event-driven integer core.

* :class:`Leaky`, :class:`Synaptic` -- float32 LIF neurons in numpy, equal to snnTorch 1.0
  (``.run(current[T, ...])``); torch twins for training in :mod:`npulab.snn.modules`, with
  surrogate gradients in :mod:`npulab.snn.surrogate`.
* :func:`rate`, :func:`latency`, :func:`delta` -- spike encoders.
* :func:`run_core` -- a Loihi-style fixed-point LIF core (:class:`npulab.hw.CoreConfig`) with
  a dense reference engine and an event-driven engine that count synaptic operations (SOPs,
  NeuroBench's effective count by default), neuron updates and spikes per layer and step; its
  ``reset="subtract"`` and ``"zero"`` equal snnTorch's (``reset_delay=False``), and
  ``"subtract_instant"`` (the default) is conversion's reset by subtraction.
* :func:`convert` -- ANN-to-SNN conversion with threshold balancing onto the integer core.
* :func:`estimate`, :func:`report` -- SOP/neuron-update energy and latency as a
  :class:`npulab.perf.Report` (``engine="snn"``).
* :mod:`npulab.snn.plots` -- spike raster, membrane traces, SOPs per layer.

numpy only at import; torch loads with ``npulab.snn.modules`` / ``npulab.snn.surrogate``
(also reachable as attributes, e.g. ``npulab.snn.modules.SpikingMLP``).
"""
from __future__ import annotations

import importlib

from npulab.snn.convert import balance, convert, linear_layers
from npulab.snn.core import CoreResult, IntLayer, leak, run_core
from npulab.snn.encoders import delta, latency, rate
from npulab.snn.energy import estimate, report
from npulab.snn.neurons import RESETS, Leaky, Synaptic

__all__ = ["Leaky", "Synaptic", "RESETS", "rate", "latency", "delta", "IntLayer", "CoreResult",
           "leak", "run_core", "convert", "balance", "linear_layers", "estimate", "report",
           "modules", "surrogate", "plots"]

_LAZY = ("modules", "surrogate", "plots")


def __getattr__(name):
    if name in _LAZY:
        return importlib.import_module(f"npulab.snn.{name}")
    raise AttributeError(f"module 'npulab.snn' has no attribute {name!r}")
