"""The engine registry: which ``estimate`` runs a preset of each hardware kind.

Every engine exports one function with one signature (the *engine contract*)::

    estimate(layer, hw, *, energy=None) -> Report

where ``layer`` is a :class:`~npulab.workloads.Gemm` or :class:`~npulab.workloads.Conv2d`,
``hw`` the engine kind's frozen config from :mod:`npulab.hw` and ``energy`` an optional
:class:`~npulab.hw.EnergyTable`.  :data:`ENGINES` maps a kind to that function and
:data:`HARDWARE` to its config class (which reads the kind's section of a preset file:
``PRESET_KEYS`` and ``from_preset``).  The scorecard looks engines up here: no ``if engine ==``
chains, no import by name.

Add an engine (see ``ARCHITECTURE.md``, "How to add an engine")::

    from npulab.perf.engines import register_engine
    register_engine("gpu", npulab.gpu.estimate, GpuConfig)

Units: those of :class:`~npulab.metrics.Report`.
"""
from __future__ import annotations

from typing import Callable

from npulab.gpu.estimate import estimate as gpu_estimate
from npulab.gpu.estimate import estimate_job as gpu_estimate_job
from npulab.hw.gpu import GpuConfig
from npulab.hw.pim import PimConfig
from npulab.hw.protocol import HardwareConfig
from npulab.hw.snn import SnnConfig
from npulab.hw.systolic import SystolicConfig
from npulab.pim.cost import estimate as pim_estimate
from npulab.snn.energy import estimate as snn_estimate
from npulab.systolic.estimate import estimate as systolic_estimate

__all__ = ["ENGINES", "HARDWARE", "JOB_ENGINES", "register_engine", "hardware_for"]

#: kind -> ``estimate(layer, hw, *, energy=None) -> Report``.
ENGINES: dict[str, Callable] = {}
#: kind -> the frozen config class its ``hw`` is (from :mod:`npulab.hw`).
HARDWARE: dict[str, type[HardwareConfig]] = {}
#: kind -> ``estimate_job(job, hw, *, energy=None) -> Report | None`` for engines that cost a
#: whole job (e.g. an LLM step as one kernel sequence); None means "per layer, as usual".
JOB_ENGINES: dict[str, Callable] = {}


def register_engine(kind: str, estimate: Callable,
                    hw_type: type[HardwareConfig] | None = None, *,
                    estimate_job: Callable | None = None) -> None:
    """Register (or replace) the engine of hardware ``kind``.

    Parameters
    ----------
    kind : str
        The name presets use (``engine: <kind>``).
    estimate : callable
        ``estimate(layer, hw, *, energy=None) -> Report``.
    hw_type : type, optional
        Its config class; needed to load presets of this kind.  It implements
        :class:`npulab.hw.protocol.HardwareConfig` (``kind``, ``PRESET_KEYS``,
        ``from_preset(fields)``, ``peak_ops_per_s``, ``dram_bytes_per_s``, ``memory_bytes``,
        ``weight_capacity_bytes``, ``precision``, ``static_power_w()``); the architecture
        test checks every registered class against it.
    estimate_job : callable, optional
        ``estimate_job(job, hw, *, energy=None) -> Report | None``: cost a whole
        :class:`~npulab.perf.scoring.Job` at once (``job.source`` is the LLMPhase or layer list
        it came from); return None to be scored layer by layer.  Its Report's typed
        ``compute_time_s`` (default ``ops / peak_ops_per_s``, else its latency) feeds the
        memory-bound rule.
    """
    if not isinstance(kind, str) or not kind:
        raise ValueError(f"register_engine kind must be a non-empty str; got {kind!r}")
    if not callable(estimate):
        raise ValueError(f"register_engine estimate must be callable; got {estimate!r}")
    ENGINES[kind] = estimate
    if hw_type is not None:
        HARDWARE[kind] = hw_type
    if estimate_job is not None:
        JOB_ENGINES[kind] = estimate_job


def hardware_for(kind: str) -> type[HardwareConfig]:
    """The registered config class of ``kind``; ``ValueError`` naming the registered kinds."""
    if kind not in HARDWARE:
        raise ValueError(f"HardwarePreset.engine must be one of {sorted(HARDWARE)}; got {kind!r}")
    return HARDWARE[kind]


register_engine("systolic", systolic_estimate, SystolicConfig)
register_engine("pim", pim_estimate, PimConfig)
register_engine("snn", snn_estimate, SnnConfig)
register_engine("gpu", gpu_estimate, GpuConfig, estimate_job=gpu_estimate_job)  # measured devices (issue 16)
