"""Performance results: one :class:`Report` type every engine returns.

A Report holds what was measured or modelled (MACs, cycles, latency, an energy breakdown,
utilisation, accuracy) and derives the scorecard metrics from them:

* throughput ``ops / latency`` (a MAC is 2 ops), TOPS;
* energy in J and average power ``energy / latency`` (W);
* TOPS/W, which is ``ops / energy`` (operations per joule, divided by 1e12).

:class:`Roofline` bounds any of them by peak compute and memory bandwidth.

The scorecard: :func:`load_preset` reads a hardware preset (``datasets/hw``), :func:`score`
runs one workload on one preset's engine (looked up in :data:`npulab.perf.engines.ENGINES`)
and applies the memory-bound rule, and :func:`run_scorecard` compares workloads x presets
in a :class:`Scorecard` (text, HTML, JSON, CSV, plots).  :mod:`npulab.perf.sweep` explores a
design space.

Layering: :mod:`npulab.perf.report` and :mod:`npulab.perf.roofline` are leaf modules (engines
import them); everything that runs engines (presets, scoring, scorecard, sweep) loads on first
use, so importing an engine never imports the others.
"""
from npulab.perf.report import ENERGY_GROUPS, Report, format_si
from npulab.perf.roofline import Roofline

__all__ = ["Report", "Roofline", "format_si", "ENERGY_GROUPS", "HardwarePreset", "load_preset",
           "available_presets", "score", "EngineUnavailable", "Scorecard", "run_scorecard",
           "ENGINES", "register_engine"]


def __getattr__(name):
    """Load the engine-running modules on first use (see the layering note above)."""
    if name in ("HardwarePreset", "load_preset", "available_presets"):
        from npulab.perf import presets as module
    elif name in ("score", "EngineUnavailable"):
        from npulab.perf import scoring as module
    elif name in ("Scorecard", "run_scorecard"):
        from npulab.perf import scorecard as module
    elif name in ("ENGINES", "register_engine"):
        from npulab.perf import engines as module
    else:
        raise AttributeError(f"module 'npulab.perf' has no attribute {name!r}")
    return getattr(module, name)
