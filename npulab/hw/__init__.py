"""Hardware description: frozen dataclasses validated on construction (an input, like workloads).

Building blocks:

* :class:`ArrayConfig`: a rows x cols PE array, its dataflow, clock and precision.
* :class:`MemoryConfig`: on-chip SRAM sizes and off-chip bandwidth.
* :class:`CrossbarConfig`, :class:`IOConfig`: an analog crossbar and its DAC/ADC periphery.
* :class:`CoreConfig`: a neuromorphic (LIF) core.
* :class:`EnergyTable`: per-operation and per-access energies (pJ), cited defaults.
* :data:`PRECISIONS` / :func:`get_precision`: the one table of number precisions.
* :class:`Architecture`, :class:`MemoryLevel`, :func:`eyeriss_like`, :func:`tpu_like`: a
  memory hierarchy above a PE array (what the tiler maps onto).
* :mod:`npulab.hw.area`: a first-order area and static-power model.

One typed config per engine kind (what ``estimate(layer, hw, *, energy=None)`` takes):
:class:`SystolicConfig`, :class:`PimConfig`, :class:`SnnConfig` (and the measured-device
kind's ``GpuConfig`` in :mod:`npulab.hw.gpu`).  Each implements the
:class:`~npulab.hw.protocol.HardwareConfig` protocol (kind, preset keys, ``from_preset``,
peak ops/s, ``dram_bytes_per_s``, ``memory_bytes``, weight capacity, precision, static
power): every hardware number the scorecard and serving use is read through it.

A bad value raises ``ValueError`` naming the field, the rule and the value, e.g.
``ArrayConfig.rows must be an int >= 1; got 0``.  This package imports no engine.
"""
from npulab.hw.array import DATAFLOWS, ArrayConfig, MemoryConfig
from npulab.hw.core import CoreConfig
from npulab.hw.crossbar import CrossbarConfig
from npulab.hw.energy import EnergyTable
from npulab.hw.hierarchy import Architecture, MemoryLevel, eyeriss_like, tpu_like
from npulab.hw.pim import IOConfig, PimConfig
from npulab.hw.precision import PRECISIONS, Precision, get_precision
from npulab.hw.protocol import HardwareConfig, check_hardware_config
from npulab.hw.snn import SnnConfig
from npulab.hw.systolic import SystolicConfig

__all__ = ["ArrayConfig", "MemoryConfig", "EnergyTable", "DATAFLOWS", "CrossbarConfig", "IOConfig",
           "CoreConfig", "SystolicConfig", "PimConfig", "SnnConfig", "Precision", "PRECISIONS",
           "get_precision", "Architecture", "MemoryLevel", "eyeriss_like", "tpu_like",
           "HardwareConfig", "check_hardware_config"]
