"""The tiler's hardware: a memory hierarchy above a spatial PE array (hardware description
lives in ``npulab.hw``).

Levels are listed outermost first (``levels[0]`` is DRAM).  The PE array sits below
``levels[spatial_level]``: that level *fans out* to ``rows x cols`` instances of every level
below it (one per PE).  Each level has a capacity in words (shared by the operands it holds,
or one capacity per operand), a per-word read and write energy and a bandwidth in words per
cycle per instance.  ``kind`` ("dram", "sram", "reg") says which key of the shared energy
breakdown (:class:`npulab.perf.Report`) the level's energy goes to.

Presets
-------
* :func:`eyeriss_like`: Eyeriss (Chen et al., ISCA 2016 and JSSC 2017): 12 x 14 PEs, a
  108 KB global buffer, per-PE scratchpads of 12 input, 224 weight and 24 psum words.
* :func:`tpu_like`: a weight-/output-/input-stationary systolic array (Jouppi et al., ISCA
  2017: 256 x 256 MACs fed from a 24 MiB unified buffer), here with SCALE-Sim's stock
  64 + 64 + 64 KB SRAM and a one-word register per operand in each PE.

Energies come from :class:`npulab.hw.EnergyTable` (Horowitz, ISSCC 2014): a word costs
``pJ_per_byte * word_bytes`` at its level; the word size and the MAC energy come from the
one precision table (:mod:`npulab.hw.precision`), so an unknown precision, or one without a
cited MAC energy (int16, int32), is a ``ValueError``.

:meth:`Architecture.from_array` builds the tiler's view of an :class:`~npulab.hw.ArrayConfig`
(and optionally its :class:`~npulab.hw.MemoryConfig`): :func:`tpu_like` with the array's
rows, columns, clock and precision and the memory's three SRAMs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from npulab._validate import one_of, positive_int, positive_number

#: The three operands of a layer, in the tiler's order (``npulab.tiling.Problem`` uses them).
OPERANDS = ("inputs", "weights", "outputs")

#: Which energy-breakdown key each level kind feeds.
LEVEL_KINDS = ("dram", "sram", "reg")


@dataclass(frozen=True)
class MemoryLevel:
    """One level of the memory hierarchy.

    Parameters
    ----------
    name : str
        Short name used in mappings and plots ("DRAM", "GLB", "RF").
    kind : {"dram", "sram", "reg"}
        Energy-breakdown key of this level.
    capacity : int, dict or None, default None
        Words per instance: one int shared by all operands, a ``{operand: words}`` dict, or
        None for unbounded (DRAM).
    read_pJ, write_pJ : float
        Energy per word read / written (pJ).
    bandwidth : float or None, default None
        Words per cycle per instance (reads + writes); None for unbounded.

    Units: words, pJ per word, words per cycle.
    """

    name: str
    kind: str
    read_pJ: float
    write_pJ: float
    capacity: object = None
    bandwidth: object = None

    def __post_init__(self):
        one_of("MemoryLevel", "kind", self.kind, LEVEL_KINDS)
        positive_number("MemoryLevel", "read_pJ", self.read_pJ, allow_zero=True)
        positive_number("MemoryLevel", "write_pJ", self.write_pJ, allow_zero=True)
        if isinstance(self.capacity, dict):
            for op, c in self.capacity.items():
                one_of("MemoryLevel", "capacity key", op, OPERANDS)
                positive_int("MemoryLevel", f"capacity[{op!r}]", c)
        elif self.capacity is not None:
            positive_int("MemoryLevel", "capacity", self.capacity)
        if self.bandwidth is not None:
            positive_number("MemoryLevel", "bandwidth", self.bandwidth)

    def capacity_of(self, operand: str):
        """Words available to ``operand`` (None = unbounded or shared, see :attr:`shared`)."""
        if isinstance(self.capacity, dict):
            return self.capacity.get(operand, 0)
        return None

    @property
    def shared(self) -> bool:
        """True when one capacity is shared by all operands."""
        return self.capacity is not None and not isinstance(self.capacity, dict)


@dataclass(frozen=True)
class Architecture:
    """A memory hierarchy (outermost first) and a ``rows x cols`` PE array.

    Parameters
    ----------
    levels : tuple of MemoryLevel
        ``levels[0]`` is the backing store (DRAM), the last is the innermost (per PE).
    rows, cols : int
        PE array size.
    spatial_level : int
        Index of the level that fans out to the PE array.
    mac_pJ : float
        Energy of one MAC (pJ).
    clock_hz : float, default 1e9
    name : str, default "arch"
    word_bytes : float, default 1.0
    row_dims, col_dims : tuple of str or None, default None
        Dims the array may unroll on its rows / cols (None: any), e.g. a systolic array
        wired for reduction down its columns allows only reduction dims on ``row_dims``.

    Examples
    --------
    >>> a = eyeriss_like()
    >>> [lv.name for lv in a.levels], a.rows, a.cols
    (['DRAM', 'GLB', 'RF'], 12, 14)
    """

    levels: tuple
    rows: int
    cols: int
    spatial_level: int
    mac_pJ: float
    clock_hz: float = 1e9
    name: str = "arch"
    word_bytes: float = 1.0
    row_dims: object = None
    col_dims: object = None
    notes: str = field(default="", compare=False)

    def __post_init__(self):
        object.__setattr__(self, "levels", tuple(self.levels))
        if not self.levels or not all(isinstance(lv, MemoryLevel) for lv in self.levels):
            raise ValueError("Architecture.levels must be a non-empty sequence of MemoryLevel")
        positive_int("Architecture", "rows", self.rows)
        positive_int("Architecture", "cols", self.cols)
        if not (isinstance(self.spatial_level, int) and 0 <= self.spatial_level < len(self.levels)):
            raise ValueError(f"Architecture.spatial_level must be an int in [0, "
                             f"{len(self.levels) - 1}]; got {self.spatial_level!r}")
        positive_number("Architecture", "mac_pJ", self.mac_pJ)
        positive_number("Architecture", "clock_hz", self.clock_hz)
        for f in ("row_dims", "col_dims"):
            v = getattr(self, f)
            if v is not None:
                if isinstance(v, str) or not all(isinstance(d, str) for d in v):
                    raise ValueError(f"Architecture.{f} must be a tuple of dim names or None; got {v!r}")
                object.__setattr__(self, f, tuple(v))
        names = [lv.name for lv in self.levels]
        if len(set(names)) != len(names):
            raise ValueError(f"Architecture.levels names must be unique; got {names}")

    @classmethod
    def from_array(cls, array, memory=None, energy=None) -> "Architecture":
        """The tiler's view of an :class:`~npulab.hw.ArrayConfig` (or a
        :class:`~npulab.hw.SystolicConfig`): :func:`tpu_like` with its rows, columns, clock and
        precision, and the three SRAMs of ``memory`` (default: SCALE-Sim's stock 64 + 64 + 64 KiB)
        as one shared buffer.

        >>> from npulab.hw import ArrayConfig
        >>> a = Architecture.from_array(ArrayConfig(16, 8, clock_hz=7e8))
        >>> a.rows, a.cols, a.clock_hz, a.levels[1].capacity
        (16, 8, 700000000.0, 196608)
        """
        from npulab.hw.array import ArrayConfig, MemoryConfig

        if hasattr(array, "array") and hasattr(array, "memory"):  # a SystolicConfig
            array, memory = array.array, memory or array.memory
        if not isinstance(array, ArrayConfig):
            raise ValueError(f"Architecture.from_array needs an ArrayConfig; got {type(array).__name__}")
        m = memory or MemoryConfig()
        return tpu_like(array.rows, array.cols, sram_kb=m.ifmap_sram_kb + m.filter_sram_kb + m.ofmap_sram_kb,
                        energy=energy, precision=array.precision, clock_hz=array.clock_hz)

    @property
    def level_names(self) -> tuple:
        """Names of the memory levels, outermost (DRAM) first, e.g. ``("DRAM", "SRAM", "REG")``."""
        return tuple(lv.name for lv in self.levels)

    def level_index(self, name) -> int:
        """Index of level ``name`` (or pass an int through)."""
        if isinstance(name, int):
            return name
        if name not in self.level_names:
            raise ValueError(f"unknown level {name!r}; levels are {list(self.level_names)}")
        return self.level_names.index(name)


def _word_pJ(per_byte: float, word_bytes: float) -> float:
    return per_byte * word_bytes


def eyeriss_like(energy=None, precision: str = "int8", clock_hz: float = 200e6) -> Architecture:
    """An Eyeriss-like accelerator: DRAM -> 108 KB global buffer -> 12 x 14 PEs with scratchpads.

    Numbers from Chen et al., "Eyeriss: A Spatial Architecture for Energy-Efficient Dataflow
    for Convolutional Neural Networks", ISCA 2016 and JSSC 2017: 168 PEs in 12 rows x 14
    columns; a 108 KB global buffer (GLB); per-PE scratchpads (RF) of 12 input, 224 weight and
    24 partial-sum words; 200 MHz.  Energies from :class:`~npulab.hw.EnergyTable` per byte
    times the word size (Eyeriss uses 16-bit words; npulab's default precision is int8).
    Bandwidths (words/cycle) are illustrative: DRAM 8, GLB 64 (shared), RF 3 per PE.

    Parameters
    ----------
    energy : EnergyTable, optional
    precision : str, default "int8"
    clock_hz : float, default 200e6
    """
    from npulab.hw.energy import EnergyTable
    from npulab.hw.precision import bytes_per_element

    e = energy or EnergyTable()
    wb = bytes_per_element(precision)
    dram = _word_pJ(e.dram_pJ_per_byte, wb)
    sram = _word_pJ(e.sram_pJ_per_byte, wb)
    reg = _word_pJ(e.reg_pJ_per_byte, wb)
    levels = (
        MemoryLevel("DRAM", "dram", dram, dram, None, 8),
        MemoryLevel("GLB", "sram", sram, sram, int(108 * 1024 // wb), 64),
        MemoryLevel("RF", "reg", reg, reg, {"inputs": 12, "weights": 224, "outputs": 24}, 3),
    )
    return Architecture(levels, rows=12, cols=14, spatial_level=1, mac_pJ=e.mac_pJ(precision),
                        clock_hz=clock_hz, name="eyeriss-like", word_bytes=wb)


def tpu_like(rows: int = 32, cols: int = 32, sram_kb: int = 192, energy=None,
             precision: str = "int8", clock_hz: float = 1e9) -> Architecture:
    """A systolic array: DRAM -> on-chip SRAM -> ``rows x cols`` PEs with one register per operand.

    After the TPU v1 (Jouppi et al., ISCA 2017: a 256 x 256 MAC array fed from a unified
    buffer; weights stationary) and SCALE-Sim (Samajdar et al., ISPASS 2020), whose stock
    config has 64 KB each for ifmap, filter and ofmap SRAM (``sram_kb=192`` shared here).
    Each PE holds one word of each operand (the stationary one is reused; the others move
    between neighbours, which the tiler counts as multicast).

    Parameters
    ----------
    rows, cols : int, default 32
    sram_kb : int, default 192
    energy : EnergyTable, optional
    precision : str, default "int8"
    clock_hz : float, default 1e9
    """
    from npulab.hw.energy import EnergyTable
    from npulab.hw.precision import bytes_per_element

    e = energy or EnergyTable()
    wb = bytes_per_element(precision)
    dram_pJ = _word_pJ(e.dram_pJ_per_byte, wb)      # per word, read = write
    sram_pJ = _word_pJ(e.sram_pJ_per_byte, wb)
    reg_pJ = _word_pJ(e.reg_pJ_per_byte, wb)
    levels = (
        MemoryLevel("DRAM", "dram", dram_pJ, dram_pJ, None, 16),
        MemoryLevel("SRAM", "sram", sram_pJ, sram_pJ, int(sram_kb * 1024 // wb), None),
        MemoryLevel("REG", "reg", reg_pJ, reg_pJ, {"inputs": 1, "weights": 1, "outputs": 1}, None),
    )
    return Architecture(levels, rows=rows, cols=cols, spatial_level=1, mac_pJ=e.mac_pJ(precision),
                        clock_hz=clock_hz, name=f"tpu-like {rows}x{cols}", word_bytes=wb)


def as_architecture(arch) -> Architecture:
    """``arch`` itself, or :meth:`Architecture.from_array` of an ArrayConfig / SystolicConfig."""
    if isinstance(arch, Architecture):
        return arch
    return Architecture.from_array(arch)


#: Preset architectures by name (for the CLI).
PRESETS: dict[str, Callable[..., Architecture]] = {"eyeriss": eyeriss_like, "tpu": tpu_like}
