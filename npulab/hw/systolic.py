"""The systolic engine's typed hardware: a PE array and its memories (:class:`SystolicConfig`).

``npulab.systolic.estimate(layer, SystolicConfig(array, memory))`` is the engine contract's
call; an :class:`~npulab.hw.ArrayConfig` alone stands for ``SystolicConfig(array)`` (stock
SCALE-Sim memories).  Peak throughput is ``2 * rows * cols * clock_hz`` (a MAC is 2 ops);
static power comes from the area model :mod:`npulab.hw.area`.

Units: ops/s, bytes/s, bytes, W.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from npulab._validate import positive_number
from npulab.hw.array import ArrayConfig, MemoryConfig
from npulab.sparse.prune import parse_nm

__all__ = ["SystolicConfig"]


@dataclass(frozen=True)
class SystolicConfig:
    """A systolic array (:class:`ArrayConfig`) with its SRAMs and DRAM (:class:`MemoryConfig`).

    Parameters
    ----------
    array : ArrayConfig
    memory : MemoryConfig, default MemoryConfig()
    scalesim_compat : bool, default False
        Count cycles and SRAM accesses with SCALE-Sim 3.0.0's conventions (see
        :mod:`npulab.systolic`) instead of what the emulator measures.
    fold_overlap : bool, default False
        The stationary operand is double-buffered, so each fold's fill overlaps the previous
        fold's streaming (:func:`npulab.systolic.folds.pipelined_cycles`; a one-token WS GEMM
        is then weight-load bound).  Presets turn it on unless they say ``fold_overlap:
        false``; the bare default matches the cycle-level emulator.
    weight_capacity_bytes : float, default 0
        Weights (bytes) that stay on chip between runs (e.g. a filter SRAM that holds a
        small model); 0: the SRAMs are working buffers and weights stream from DRAM.
    idle_power_w : float or None, default None
        Measured static (idle) power in W; None derives it from the area model
        (:func:`npulab.hw.area.static_power_w`).  A preset file gives it as ``static_power_w``.
    zero_gating : bool, default False
        PEs clock-gate a MAC with a zero operand: saves its compute and register energy, not
        cycles (issue 30; :mod:`npulab.systolic.sparse`).
    skip_pattern : str, default ""
        Zero-skipping for ``"N:M"`` structured weights (e.g. ``"2:4"``, NVIDIA's sparse tensor
        cores): the array holds only the non-zeros and their metadata, so a WS fold covers
        ``M / N`` times the reduction (``dataflow="ws"`` only).

    Examples
    --------
    >>> hw = SystolicConfig(ArrayConfig(16, 16))
    >>> hw.peak_ops_per_s, hw.dram_bytes_per_s
    (512000000000.0, 16000000000.0)
    """

    kind: ClassVar[str] = "systolic"
    #: Keys of a preset file that describe this hardware (besides the common ones).
    PRESET_KEYS: ClassVar[frozenset] = frozenset({"array", "memory", "fold_overlap",
                                                  "weight_capacity_bytes", "static_power_w",
                                                  "zero_gating", "skip_pattern"})

    array: ArrayConfig
    memory: MemoryConfig = field(default_factory=MemoryConfig)
    scalesim_compat: bool = False
    fold_overlap: bool = False
    weight_capacity_bytes: float = 0.0
    idle_power_w: float | None = None
    zero_gating: bool = False
    skip_pattern: str = ""

    def __post_init__(self):
        if not isinstance(self.array, ArrayConfig):
            raise ValueError(f"SystolicConfig.array must be an ArrayConfig; got {type(self.array).__name__}")
        if not isinstance(self.memory, MemoryConfig):
            raise ValueError(f"SystolicConfig.memory must be a MemoryConfig; got {type(self.memory).__name__}")
        if not isinstance(self.scalesim_compat, bool):
            raise ValueError(f"SystolicConfig.scalesim_compat must be a bool; got {self.scalesim_compat!r}")
        if not isinstance(self.fold_overlap, bool):
            raise ValueError(f"SystolicConfig.fold_overlap must be a bool; got {self.fold_overlap!r}")
        positive_number("SystolicConfig", "weight_capacity_bytes", self.weight_capacity_bytes,
                        allow_zero=True)
        if self.idle_power_w is not None:
            positive_number("SystolicConfig", "idle_power_w", self.idle_power_w, allow_zero=True)
        # sparsity (issue 30)
        if not isinstance(self.zero_gating, bool):
            raise ValueError(f"SystolicConfig.zero_gating must be a bool; got {self.zero_gating!r}")
        if self.skip_pattern:
            parse_nm(self.skip_pattern, "SystolicConfig.skip_pattern")
            if self.array.dataflow != "ws":
                raise ValueError(f"SystolicConfig.skip_pattern needs dataflow 'ws'; got "
                                 f"{self.array.dataflow!r}")

    @classmethod
    def of(cls, hw) -> "SystolicConfig":
        """``hw`` itself, or an :class:`ArrayConfig` wrapped with the default memory."""
        if isinstance(hw, cls):
            return hw
        if isinstance(hw, ArrayConfig):
            return cls(hw)
        raise ValueError(f"systolic hardware must be a SystolicConfig or ArrayConfig; got {type(hw).__name__}")

    @classmethod
    def from_preset(cls, fields) -> "SystolicConfig":
        """Build from a preset file's ``array``, ``memory``, ``fold_overlap``,
        ``weight_capacity_bytes`` and ``static_power_w`` (the measured idle power) entries."""
        from npulab.hw.build import build

        overlap = fields.get("fold_overlap", True)  # real arrays double-buffer (issue 16)
        if not isinstance(overlap, bool):
            raise ValueError(f"HardwarePreset.fold_overlap must be true or false; got {overlap!r}")
        return cls(array=build(ArrayConfig, "HardwarePreset.array", fields.get("array")),
                   memory=build(MemoryConfig, "HardwarePreset.memory", fields.get("memory")),
                   fold_overlap=overlap,
                   weight_capacity_bytes=fields.get("weight_capacity_bytes", 0.0),
                   idle_power_w=fields.get("static_power_w"),
                   zero_gating=fields.get("zero_gating", False),
                   skip_pattern=fields.get("skip_pattern", ""))

    def __getitem__(self, key):  # the mapping view of the preset file (``config["array"]``)
        if key not in ("array", "memory"):
            raise KeyError(key)
        return getattr(self, key)

    @property
    def peak_ops_per_s(self) -> float:
        """``2 * rows * cols * clock_hz``."""
        return self.array.peak_ops_per_s

    @property
    def dram_bytes_per_s(self) -> float:
        """Off-chip bandwidth of :attr:`memory`."""
        return self.memory.dram_bytes_per_s

    @property
    def memory_bytes(self) -> float:
        """Off-chip memory capacity: 0 (not modelled; unlimited room for a KV cache)."""
        return 0.0

    @property
    def precision(self) -> str:
        """Operand precision of the array."""
        return self.array.precision

    def static_power_w(self) -> float:
        """:attr:`idle_power_w` if measured, else the area model's
        (:func:`npulab.hw.area.static_power_w`)."""
        if self.idle_power_w is not None:
            return self.idle_power_w
        from npulab.hw.area import static_power_w

        return static_power_w(self.array, self.memory)
