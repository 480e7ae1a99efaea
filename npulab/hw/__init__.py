"""Hardware configurations: frozen dataclasses validated on construction.

* :class:`ArrayConfig`: a rows x cols PE array, its dataflow and clock.
* :class:`MemoryConfig`: on-chip SRAM sizes and off-chip bandwidth.
* :class:`EnergyTable`: per-operation and per-access energies (pJ), cited defaults.

A bad value raises ``ValueError`` naming the field, the rule and the value, e.g.
``ArrayConfig.rows must be an int >= 1; got 0``.
"""
from npulab.hw.array import DATAFLOWS, ArrayConfig, MemoryConfig
from npulab.hw.energy import EnergyTable

__all__ = ["ArrayConfig", "MemoryConfig", "EnergyTable", "DATAFLOWS"]
