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
    dram_bytes_per_s : float, default 12.8e9
        Off-chip bandwidth for models whose weights do not fit in synaptic memory (Loihi has
        no DRAM interface; the default is an npulab assumption: one LPDDR4-3200 x32 channel,
        3200 MT/s x 4 bytes, JEDEC JESD209-4).
    idle_power_w : float, default 0
        Static (idle/leakage) power in W, charged over the latency; the engine models
        dynamic energy only.  A preset file gives it as ``static_power_w``.

    Examples
    --------
    >>> SnnConfig().peak_ops_per_s
    256000000000.0
    """

    kind: ClassVar[str] = "snn"
    #: Keys of a preset file that describe this hardware (besides the common ones).
    PRESET_KEYS: ClassVar[frozenset] = frozenset({"core", "spike_rate", "timesteps",
                                                  "dram_bytes_per_s", "static_power_w"})

    core: CoreConfig = field(default_factory=CoreConfig)
    spike_rate: float = 0.1
    timesteps: int = 8
    dram_bytes_per_s: float = 12.8e9
    idle_power_w: float = 0.0

    def __post_init__(self):
        if not isinstance(self.core, CoreConfig):
            raise ValueError(f"SnnConfig.core must be a CoreConfig; got {type(self.core).__name__}")
        r = self.spike_rate
        if isinstance(r, bool) or not isinstance(r, numbers.Real) or not 0 <= r <= 1:
            raise ValueError(f"SnnConfig.spike_rate must be a number in [0, 1]; got {r!r}")
        positive_int("SnnConfig", "timesteps", self.timesteps)
        object.__setattr__(self, "timesteps", int(self.timesteps))
        positive_number("SnnConfig", "dram_bytes_per_s", self.dram_bytes_per_s)
        positive_number("SnnConfig", "idle_power_w", self.idle_power_w, allow_zero=True)

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
        """Build from a preset file's ``core``, ``spike_rate``, ``timesteps``,
        ``dram_bytes_per_s`` (required) and ``static_power_w`` entries (the constructor's
        rules apply)."""
        from npulab.hw.build import build

        if "dram_bytes_per_s" not in fields:
            raise ValueError("HardwarePreset.dram_bytes_per_s is missing (an snn preset needs it)")
        core = build(CoreConfig, "HardwarePreset.core", fields.get("core"))
        timesteps = fields.get("timesteps", 8)
        if isinstance(timesteps, float) and timesteps.is_integer():
            timesteps = int(timesteps)
        return cls(core=core, spike_rate=fields.get("spike_rate", 0.1), timesteps=timesteps,
                   dram_bytes_per_s=fields["dram_bytes_per_s"],
                   idle_power_w=fields.get("static_power_w", 0.0))

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

    @property
    def memory_bytes(self) -> float:
        """Off-chip memory capacity: 0 (not modelled)."""
        return 0.0

    def static_power_w(self) -> float:
        """:attr:`idle_power_w` (the engine models dynamic energy only)."""
        return self.idle_power_w
