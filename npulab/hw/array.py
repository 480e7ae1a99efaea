"""PE-array and memory configurations."""
from __future__ import annotations

from dataclasses import dataclass

from npulab._validate import one_of, positive_int, positive_number
from npulab.hw.precision import PRECISIONS

#: Dataflows: output-, weight- and input-stationary (Chen et al., ISCA 2016; SCALE-Sim).
DATAFLOWS = ("os", "ws", "is")


@dataclass(frozen=True)
class ArrayConfig:
    """A systolic (or spatial) array of ``rows x cols`` MAC processing elements.

    Parameters
    ----------
    rows, cols : int
        PE array height and width.
    dataflow : {"os", "ws", "is"}, default "os"
        Which operand stays in the PEs: outputs, weights or inputs.
    clock_hz : float, default 1e9
        Clock frequency (Hz); converts cycles to seconds.
    precision : str, default "int8"
        Operand precision of the MACs (a name in :data:`npulab.hw.precision.PRECISIONS`).

    Units: cycles, Hz.

    Examples
    --------
    >>> a = ArrayConfig(rows=16, cols=16)
    >>> a.pes, a.peak_macs_per_s
    (256, 256000000000.0)
    """

    rows: int
    cols: int
    dataflow: str = "os"
    clock_hz: float = 1e9
    precision: str = "int8"

    def __post_init__(self):
        positive_int("ArrayConfig", "rows", self.rows)
        positive_int("ArrayConfig", "cols", self.cols)
        if isinstance(self.dataflow, str):
            object.__setattr__(self, "dataflow", self.dataflow.lower())
        one_of("ArrayConfig", "dataflow", self.dataflow, DATAFLOWS)
        positive_number("ArrayConfig", "clock_hz", self.clock_hz)
        one_of("ArrayConfig", "precision", self.precision, PRECISIONS)

    @property
    def pes(self) -> int:
        """Number of processing elements, ``rows * cols``."""
        return self.rows * self.cols

    @property
    def peak_macs_per_s(self) -> float:
        """Peak MACs per second: one MAC per PE per cycle."""
        return self.pes * self.clock_hz

    @property
    def peak_ops_per_s(self) -> float:
        """Peak operations per second (a MAC is 2 ops): ``2 * rows * cols * clock_hz``."""
        return 2.0 * self.peak_macs_per_s


@dataclass(frozen=True)
class MemoryConfig:
    """On-chip buffers and the off-chip (DRAM) interface.

    Parameters
    ----------
    ifmap_sram_kb, filter_sram_kb, ofmap_sram_kb : int, default 64
        Buffer sizes in KiB (SCALE-Sim's ``IfmapSramSzkB`` etc.; its stock config is 64/64/64).
    dram_bytes_per_s : float, default 16e9
        Off-chip bandwidth in bytes per second.

    Units: KiB, bytes/s, bytes.
    """

    ifmap_sram_kb: int = 64
    filter_sram_kb: int = 64
    ofmap_sram_kb: int = 64
    dram_bytes_per_s: float = 16e9

    def __post_init__(self):
        for f in ("ifmap_sram_kb", "filter_sram_kb", "ofmap_sram_kb"):
            positive_int("MemoryConfig", f, getattr(self, f))
        positive_number("MemoryConfig", "dram_bytes_per_s", self.dram_bytes_per_s)

    @property
    def sram_bytes(self) -> int:
        """Total on-chip buffer capacity in bytes."""
        return 1024 * (self.ifmap_sram_kb + self.filter_sram_kb + self.ofmap_sram_kb)
