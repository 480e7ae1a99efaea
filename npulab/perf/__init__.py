"""Performance results: one :class:`Report` type every engine returns.

A Report holds what was measured or modelled (MACs, cycles, latency, an energy breakdown,
utilisation, accuracy) and derives the scorecard metrics from them:

* throughput ``ops / latency`` (a MAC is 2 ops), TOPS;
* energy in J and average power ``energy / latency`` (W);
* TOPS/W, which is ``ops / energy`` (operations per joule, divided by 1e12).

:class:`Roofline` bounds any of them by peak compute and memory bandwidth.

The scorecard: :func:`load_preset` reads a hardware preset (``datasets/hw``), :func:`score`
runs one workload on one preset's engine and applies the memory-bound rule, and
:func:`run_scorecard` compares workloads x presets in a :class:`Scorecard` (text, HTML,
JSON, CSV, plots).  :mod:`npulab.perf.sweep` explores a design space.
"""
from npulab.perf.report import ENERGY_GROUPS, Report, format_si
from npulab.perf.roofline import Roofline
from npulab.perf.presets import HardwarePreset, available_presets, load_preset
from npulab.perf.scoring import EngineUnavailable, score
from npulab.perf.scorecard import Scorecard, run_scorecard

__all__ = ["Report", "Roofline", "format_si", "ENERGY_GROUPS", "HardwarePreset", "load_preset",
           "available_presets", "score", "EngineUnavailable", "Scorecard", "run_scorecard"]
