"""Performance orchestration: presets, the engine registry, scoring, scorecards, sweeps, serving.

The scorecard: :func:`load_preset` reads a hardware preset (``datasets/hw``), :func:`score`
runs one workload on one preset's engine (looked up in :data:`npulab.perf.engines.ENGINES`)
and applies the memory-bound rule, and :func:`run_scorecard` compares workloads x presets
in a :class:`Scorecard` (text, HTML, JSON, CSV, plots).  :mod:`npulab.perf.sweep` explores a
design space; :mod:`npulab.perf.serving` and :mod:`npulab.perf.scenarios` simulate LLM
serving; :mod:`npulab.perf.measure` compares predictions with this machine.

Layering: ``perf`` sits above the engines (inputs -> engines -> perf -> apps).  The leaf
the engines return into, :class:`Report` and :class:`Roofline`, lives in
:mod:`npulab.metrics`; it is re-exported here for users (``from npulab.perf import Report``).
The engine-running parts load on first use, so ``import npulab.perf`` stays light.
"""
from npulab.metrics.report import ENERGY_GROUPS, Report, format_si
from npulab.metrics.roofline import Roofline

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
