"""Analog crossbar (processing-in-memory) hardware configuration.

A crossbar stores a weight matrix as conductances at the crossings of ``rows`` word lines
(inputs, driven by DACs) and ``cols`` bit lines (outputs, read by ADCs).  Ohm's law makes
each cell a multiplier (I = G * V) and Kirchhoff's current law sums a column.

Defaults follow ISAAC (Shafiee et al., "ISAAC: A convolutional neural network accelerator
with in-situ analog arithmetic in crossbars", ISCA 2016, Sec. 5 and Table 6): 128x128
arrays of 2-bit cells, 1-bit DACs (inputs applied bit-serially), one 8-bit 1.28 GS/s ADC
shared by the 128 columns of an array, a 100 ns array read.  Conductances follow IBM
aihwkit's PCM defaults (``g_max`` = 25 uS, ``g_min`` = 0 uS; Nandakumar et al., ICECS 2019).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from npulab._validate import int_in_range, positive_int, positive_number


@dataclass(frozen=True)
class CrossbarConfig:
    """One analog crossbar array and its converters.

    Parameters
    ----------
    rows, cols : int, default 128, 128
        Word lines (inputs) and bit lines (outputs) of one array.
    g_min, g_max : float, default 0.0, 25.0
        Smallest and largest programmable conductance (uS); ``0 <= g_min < g_max``.
    bits_per_cell : int, default 2
        Bits stored in one cell (1..8); a weight of ``weight_bits`` uses
        ``ceil(weight_bits / bits_per_cell)`` cells (bit slicing).
    weight_bits : int, default 8
        Weight precision (magnitude bits + sign handled by the differential pair).
    input_bits : int, default 8
        Input (activation) precision.
    dac_bits : int, default 1
        DAC resolution; inputs are applied in ``ceil(input_bits / dac_bits)`` cycles.
    adc_bits : int, default 8
        ADC resolution (1..16).
    differential : bool, default True
        Signed weights as a pair of columns, G+ and G- (``w ~ G+ - G-``).
    cols_per_adc : int, default 128
        Bit lines sharing one ADC (time-multiplexed).
    read_time_s : float, default 100e-9
        One array read (settle + sample-and-hold), seconds.
    adc_rate_hz : float, default 1.28e9
        ADC conversions per second.
    read_voltage_v : float, default 0.2
        Read voltage of a full-scale input (V); a cell then carries ``G * V`` (uA for uS).
    r_wire_ohm : float, default 1.0
        Wire resistance of one bit-line segment between two cells (ohm), for the IR-drop
        model (an assumption of the order of NeuroSim's Cu wires at 22 nm).
    shift_add_pJ : float, default 0.1
        Energy of one digital shift-and-add (pJ): a 32-bit add at 45 nm (Horowitz, ISSCC 2014).

    Units: uS (conductance), seconds, Hz, V, ohm, pJ.

    Examples
    --------
    >>> xb = CrossbarConfig()
    >>> xb.cells_per_weight, xb.input_cycles, xb.adcs
    (8, 8, 1)
    >>> CrossbarConfig(g_min=30.0)
    Traceback (most recent call last):
    ...
    ValueError: CrossbarConfig.g_min must be < CrossbarConfig.g_max; got g_min=30.0, g_max=25.0
    """

    rows: int = 128
    cols: int = 128
    g_min: float = 0.0
    g_max: float = 25.0
    bits_per_cell: int = 2
    weight_bits: int = 8
    input_bits: int = 8
    dac_bits: int = 1
    adc_bits: int = 8
    differential: bool = True
    cols_per_adc: int = 128
    read_time_s: float = 100e-9
    adc_rate_hz: float = 1.28e9
    read_voltage_v: float = 0.2
    r_wire_ohm: float = 1.0
    shift_add_pJ: float = 0.1

    def __post_init__(self):
        o = "CrossbarConfig"
        positive_int(o, "rows", self.rows)
        positive_int(o, "cols", self.cols)
        positive_number(o, "g_min", self.g_min, allow_zero=True)
        positive_number(o, "g_max", self.g_max)
        if self.g_min >= self.g_max:
            raise ValueError(f"{o}.g_min must be < {o}.g_max; got g_min={self.g_min!r}, "
                             f"g_max={self.g_max!r}")
        int_in_range(o, "bits_per_cell", self.bits_per_cell, 1, 8)
        int_in_range(o, "weight_bits", self.weight_bits, 1, 32)
        int_in_range(o, "input_bits", self.input_bits, 1, 32)
        int_in_range(o, "dac_bits", self.dac_bits, 1, self.input_bits)
        int_in_range(o, "adc_bits", self.adc_bits, 1, 16)
        if not isinstance(self.differential, bool):
            raise ValueError(f"{o}.differential must be a bool; got {self.differential!r}")
        positive_int(o, "cols_per_adc", self.cols_per_adc)
        positive_number(o, "read_time_s", self.read_time_s)
        positive_number(o, "adc_rate_hz", self.adc_rate_hz)
        positive_number(o, "read_voltage_v", self.read_voltage_v)
        positive_number(o, "r_wire_ohm", self.r_wire_ohm, allow_zero=True)
        positive_number(o, "shift_add_pJ", self.shift_add_pJ)

    @property
    def slices(self) -> int:
        """Cells (bit slices) per weight magnitude, ``ceil(weight_bits / bits_per_cell)``."""
        return math.ceil(self.weight_bits / self.bits_per_cell)

    @property
    def cells_per_weight(self) -> int:
        """Columns one weight occupies: slices, times 2 for a differential pair."""
        return self.slices * (2 if self.differential else 1)

    @property
    def input_cycles(self) -> int:
        """Array reads per input vector when inputs go in ``dac_bits`` at a time."""
        return math.ceil(self.input_bits / self.dac_bits)

    @property
    def adcs(self) -> int:
        """ADCs per array, ``ceil(cols / cols_per_adc)``."""
        return math.ceil(self.cols / self.cols_per_adc)

    @property
    def cycle_time_s(self) -> float:
        """Time of one array read including conversion of every column (seconds).

        Reads and conversions are pipelined (ISAAC): a cycle is the longer of the array read
        and the ``min(cols, cols_per_adc)`` conversions each shared ADC must make.
        """
        return max(self.read_time_s, min(self.cols, self.cols_per_adc) / self.adc_rate_hz)
