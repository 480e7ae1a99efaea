"""A first-order area and static-power model of a systolic NPU (for budgets and sweeps).

Constants are derived from Google's TPUv1 floor plan (Jouppi et al., ISCA 2017, Fig. 2
and Table 2; 28 nm, die <= 331 mm^2): the 65,536-MAC matrix unit is 24% of the die
(~79 mm^2, so ~0.0012 mm^2 per int8 MAC), the 24 MiB Unified Buffer 29% (~96 mm^2, so
~0.0039 mm^2 per KiB of SRAM), and the idle die draws 28 W (~0.085 W per mm^2 of static
power).  An fp16 MAC is taken as 5x an int8 MAC (Horowitz, ISSCC 2014: a 16-bit FP
multiplier is ~5.8x an 8-bit integer one).  These are estimates for teaching budgets, not
a layout tool.

Units: mm^2, W.
"""
from __future__ import annotations

#: mm^2 per int8 MAC PE (TPUv1: 24% of 331 mm^2 / 65,536).
PE_MM2_INT8 = 0.24 * 331 / 65536
#: Area of a PE relative to int8, by precision.
PE_SCALE = {"int4": 0.5, "int8": 1.0, "uint8": 1.0, "fp8": 1.5, "int16": 2.5, "fp16": 5.0,
            "bf16": 4.0, "int32": 8.0, "fp32": 16.0}
#: mm^2 per KiB of SRAM (TPUv1: 29% of 331 mm^2 / 24 MiB).
SRAM_MM2_PER_KB = 0.29 * 331 / (24 * 1024)
#: Static (idle) power per mm^2 (TPUv1 idle die 28 W / 331 mm^2).
STATIC_W_PER_MM2 = 28 / 331
#: mm^2 per 128x128 ISAAC crossbar with its share of ADCs, eDRAM and routers (Shafiee et al.,
#: ISCA 2016, Table 6, 32 nm: 85.4 mm^2 for 16,128 crossbars).
XBAR_MM2_ISAAC = 85.4 / 16128
#: mm^2 per neuromorphic core (Davies et al., Loihi, IEEE Micro 2018, 14 nm: 60 mm^2, 128 cores).
CORE_MM2_LOIHI = 60.0 / 128
#: Static power per mm^2 of an edge die (Lab 08): an npulab assumption for a low-power 28 nm
#: process with idle SRAM in retention, ~4x below TPUv1's datacentre idle density (40 mW for
#: 2 mm^2, the tens of milliwatts of idle power reported for edge NPU modules).
EDGE_STATIC_W_PER_MM2 = 0.02


def area_mm2(array, memory) -> float:
    """Die area estimate of a PE array plus its three SRAMs (mm^2).

    >>> from npulab.hw import ArrayConfig, MemoryConfig
    >>> round(area_mm2(ArrayConfig(256, 256), MemoryConfig(24576, 256, 4096)), 1)
    192.4
    """
    pe = PE_MM2_INT8 * PE_SCALE[array.precision]
    sram_kb = memory.ifmap_sram_kb + memory.filter_sram_kb + memory.ofmap_sram_kb
    return array.pes * pe + sram_kb * SRAM_MM2_PER_KB


def static_power_w(array, memory) -> float:
    """Static (leakage and idle) power of :func:`area_mm2` at TPUv1's idle power density (W)."""
    return area_mm2(array, memory) * STATIC_W_PER_MM2
