"""The SNN engine's typed hardware: a neuromorphic chip and the activity it runs at (:class:`SnnConfig`).

A core design (:class:`~npulab.hw.CoreConfig`) plus the two numbers a spiking estimate needs
besides the layer: the input spike rate and the number of timesteps.  Peak throughput counts
a synaptic operation as a MAC: ``2 * num_cores * clock_hz / sop_cycles``; synaptic memory
holds the weights (``num_cores * synapse_memory_kb`` KiB).

Units: ops/s, bytes, Hz.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import ClassVar

from npulab._validate import positive_int, positive_number
from npulab.hw.core import CoreConfig
from npulab.hw.precision import precision_for_bits

__all__ = ["SnnConfig"]


@dataclass(frozen=True)
class SnnConfig:
    """A neuromorphic chip and its activity.

    Parameters
    ----------
    core : CoreConfig, default CoreConfig()
    spike_rate : float, default 0.1
        Probability that an input neuron spikes in a step, in [0, 1].
    timesteps : int, default 8

    Examples
    --------
    >>> SnnConfig().peak_ops_per_s
    256000000000.0
    """

    kind: ClassVar[str] = "snn"
    #: Keys of a preset file that describe this hardware (besides the common ones).
    PRESET_KEYS: ClassVar[frozenset] = frozenset({"core", "spike_rate", "timesteps"})

    core: CoreConfig = field(default_factory=CoreConfig)
    spike_rate: float = 0.1
    timesteps: int = 8

    def __post_init__(self):
        if not isinstance(self.core, CoreConfig):
            raise ValueError(f"SnnConfig.core must be a CoreConfig; got {type(self.core).__name__}")
        r = self.spike_rate
        if isinstance(r, bool) or not isinstance(r, numbers.Real) or not 0 <= r <= 1:
            raise ValueError(f"SnnConfig.spike_rate must be a number in [0, 1]; got {r!r}")
        positive_int("SnnConfig", "timesteps", self.timesteps)
        object.__setattr__(self, "timesteps", int(self.timesteps))

    @classmethod
    def of(cls, hw) -> "SnnConfig":
        """``hw`` itself, or a :class:`CoreConfig` with the default activity."""
        if isinstance(hw, cls):
            return hw
        if isinstance(hw, CoreConfig):
            return cls(hw)
        raise ValueError(f"snn hardware must be a SnnConfig or CoreConfig; got {type(hw).__name__}")

    @classmethod
    def from_preset(cls, fields) -> "SnnConfig":
        """Build from a preset file's ``core``, ``spike_rate`` and ``timesteps`` entries."""
        from npulab.hw.build import build

        core = build(CoreConfig, "HardwarePreset.core", fields.get("core"))
        rate = positive_number("HardwarePreset", "spike_rate", fields.get("spike_rate", 0.1))
        if rate > 1:
            raise ValueError(f"HardwarePreset.spike_rate must be in (0, 1]; got {rate!r}")
        timesteps = fields.get("timesteps", 8)
        if isinstance(timesteps, float) and timesteps.is_integer():
            timesteps = int(timesteps)
        positive_int("HardwarePreset", "timesteps", timesteps)
        return cls(core=core, spike_rate=rate, timesteps=timesteps)

    def __getitem__(self, key):  # the mapping view of the preset file (``config["core"]``)
        if key not in ("core", "spike_rate", "timesteps"):
            raise KeyError(key)
        return getattr(self, key)

    @property
    def peak_ops_per_s(self) -> float:
        """``2 * num_cores * clock_hz / sop_cycles`` (a SOP counted as a MAC)."""
        c = self.core
        return 2.0 * c.num_cores * c.clock_hz / c.sop_cycles

    @property
    def weight_capacity_bytes(self) -> float:
        """Synaptic memory of the chip, ``num_cores * synapse_memory_kb`` KiB, in bytes."""
        return self.core.num_cores * self.core.synapse_memory_kb * 1024

    @property
    def precision(self) -> str:
        """The integer precision the weights are counted at."""
        return precision_for_bits(self.core.weight_bits)

    #: Off-chip bandwidth is not part of the core: a preset must give it.
    dram_bytes_per_s: ClassVar[None] = None

    def static_power_w(self) -> float:
        """Static power the engine does not model: 0 W (presets may state one)."""
        return 0.0
