"""The simulated NPU's sizes, derived from a systolic hardware preset (no numbers of its own).

Every number comes from the preset's :class:`npulab.hw.SystolicConfig`: the array's rows,
cols, dataflow and clock; the scratchpad is the preset's ifmap + filter SRAM (int8 rows of
``W = max(rows, cols)`` elements), the accumulator its ofmap SRAM (int32 rows of ``W``), the
DMA moves ``dram_bytes_per_s / clock_hz`` bytes per cycle, and the vector ALU processes one
row of ``W`` elements per cycle.

Units: elements, rows, bytes, cycles.
"""

from __future__ import annotations

from dataclasses import dataclass

from npulab.hw import SystolicConfig

__all__ = ["Machine", "machine_for"]


@dataclass(frozen=True)
class Machine:
    """Sizes the lowering and the simulator use.

    Attributes
    ----------
    name : str
    rows, cols : int
        Systolic array height and width (PEs).
    dataflow : {"ws", "os"}
    width : int
        Elements per scratchpad/accumulator row, ``max(rows, cols)``.
    spad_rows, acc_rows : int
        Rows of the int8 scratchpad and the int32 accumulator.
    clock_hz : float
    dram_bytes_per_cycle : float
    """

    name: str
    rows: int
    cols: int
    dataflow: str
    width: int
    spad_rows: int
    acc_rows: int
    clock_hz: float
    dram_bytes_per_cycle: float

    def __post_init__(self):
        if self.dataflow not in ("ws", "os"):
            raise ValueError(
                f"Machine.dataflow must be 'ws' or 'os' for the compiler; got {self.dataflow!r}"
            )
        if self.acc_rows < 8 or self.spad_rows < 16:
            raise ValueError(
                f"Machine {self.name}: scratchpad ({self.spad_rows} rows) or accumulator "
                f"({self.acc_rows} rows) too small"
            )


def machine_for(hw, name: str = "npu") -> Machine:
    """A :class:`Machine` from a :class:`~npulab.hw.SystolicConfig` (or ``ArrayConfig``).

    Examples
    --------
    >>> from npulab.hw import ArrayConfig
    >>> m = machine_for(ArrayConfig(16, 16, "ws"))
    >>> m.width, m.dataflow
    (16, 'ws')
    """
    hw = SystolicConfig.of(hw)
    a, mem = hw.array, hw.memory
    w = max(a.rows, a.cols)
    return Machine(
        name=name,
        rows=a.rows,
        cols=a.cols,
        dataflow=a.dataflow,
        width=w,
        spad_rows=int((mem.ifmap_sram_kb + mem.filter_sram_kb) * 1024 // w),
        acc_rows=int(mem.ofmap_sram_kb * 1024 // (4 * w)),
        clock_hz=float(a.clock_hz),
        dram_bytes_per_cycle=float(mem.dram_bytes_per_s) / float(a.clock_hz),
    )
