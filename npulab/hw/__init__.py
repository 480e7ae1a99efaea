"""Hardware configurations: frozen dataclasses validated on construction.

* :class:`ArrayConfig`: a rows x cols PE array, its dataflow and clock.
* :class:`MemoryConfig`: on-chip SRAM sizes and off-chip bandwidth.
* :class:`EnergyTable`: per-operation and per-access energies (pJ), cited defaults.

A bad value raises ``ValueError`` naming the field, the rule and the value, e.g.
``ArrayConfig.rows must be an int >= 1; got 0``.
"""
from npulab.hw.array import DATAFLOWS, ArrayConfig, MemoryConfig
from npulab.hw.crossbar import CrossbarConfig  # noqa: E402  (PIM crossbar, issue 6)
from npulab.hw.energy import EnergyTable
from npulab.hw.core import CoreConfig  # noqa: E402  (neuromorphic core, npulab.snn)

__all__ = ["ArrayConfig", "MemoryConfig", "EnergyTable", "DATAFLOWS"]
