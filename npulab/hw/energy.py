"""Per-operation and per-access energies (pJ), with the sources of the defaults.

Digital defaults are Horowitz's 45 nm figures ("Computing's energy problem (and what we
can do about it)", ISSCC 2014, Fig. 1.1.9):

=====================  =======  ==============================================
operation              pJ       derivation
=====================  =======  ==============================================
int8 MAC               0.3      8-bit multiply 0.2 + 32-bit add 0.1 (int32 acc.)
fp16 MAC               1.5      16-bit FP multiply 1.1 + add 0.4
fp32 MAC               4.6      32-bit FP multiply 3.7 + add 0.9
register, per byte     0.1      Eyeriss RF access ~ 1x a 16-bit MAC per 2-byte
                                word (Chen et al., ISCA 2016, Fig. 4)
SRAM, per byte         2.5      32 KB SRAM, 64-bit read 20 pJ / 8 bytes
DRAM, per byte         162.5    64-bit DRAM access 1.3 nJ (low end) / 8 bytes
=====================  =======  ==============================================

Analog (PIM) defaults are ISAAC's (Shafiee et al., ISCA 2016, Table 6, 32 nm): an 8-bit
1.28 GS/s ADC at 2 mW is 1.56 pJ per conversion; a 128x128 memristor array read at 10 MHz
(0.3 mW) is 30 pJ, i.e. 0.0018 pJ per cell.  The DAC default is per 1-bit conversion held for
one crossbar read: an IMA's 8x128 = 1024 one-bit DACs draw 4 mW, and each drives its word line
for the whole 100 ns read (ISAAC's crossbar cycle, ``CrossbarConfig.read_time_s``), so

    dac_pJ = 4 mW / 1024 x 100 ns = 0.390625 pJ  (:data:`DAC_PJ_PER_READ`).

Up to issue 29 the default was 0.0031 pJ, the same power divided by the ADC's 1.28 GS/s
instead of the read time, 128x too small; ``EnergyTable(dac_pJ=0.0031)`` still gives it.

Neuromorphic defaults are Loihi's (Davies et al., IEEE Micro 2018, Table 2; pre-silicon
simulation at 0.75 V): 23.6 pJ per synaptic spike operation (SOP, the minimum) and 52 pJ per
neuron update (the inactive-neuron figure; an active update is 81 pJ).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from npulab._validate import positive_number
from npulab.hw.precision import PRECISIONS, get_precision

#: ISAAC's DAC energy per 1-bit conversion held for one crossbar read (pJ): the 4 mW of an
#: IMA's 8 x 128 one-bit DACs (Shafiee et al., ISCA 2016, Table 6) over 1024 DACs, times the
#: 100 ns read (Sec. 5).  The default of :attr:`EnergyTable.dac_pJ` since issue 29.
DAC_PJ_PER_READ = 4e-3 / (8 * 128) * 100e-9 * 1e12

#: Precisions with a cited MAC energy (the ``mac_energy`` column of :data:`PRECISIONS`).
MAC_PRECISIONS = tuple(n for n, p in PRECISIONS.items() if p.mac_energy)


@dataclass(frozen=True)
class EnergyTable:
    """Energy per operation and per access, in picojoules.

    Every field must be a finite number > 0.  Override any of them for another process
    node, e.g. ``EnergyTable(dram_pJ_per_byte=20.0)`` for HBM-class memory.

    Units: pJ per MAC, pJ per byte, pJ per conversion, pJ per event.

    ``dac_pJ`` is per 1-bit DAC conversion, held for one crossbar read (ISAAC: 4 mW for
    8 x 128 DACs over a 100 ns read, :data:`DAC_PJ_PER_READ`, 0.390625 pJ).  The figure npulab
    used before issue 29, 0.0031 pJ (the same power over the ADC's 1.28 GS/s rather than the
    read time), is still available as ``EnergyTable(dac_pJ=0.0031)``, e.g. to reproduce
    results recorded with it.

    Examples
    --------
    >>> e = EnergyTable()
    >>> e.mac_pJ("int8"), e.sram_pJ_per_byte
    (0.3, 2.5)
    >>> e.dac_pJ, EnergyTable(dac_pJ=0.0031).dac_pJ
    (0.390625, 0.0031)
    """

    mac_int8_pJ: float = 0.3
    mac_fp16_pJ: float = 1.5
    mac_fp32_pJ: float = 4.6
    reg_pJ_per_byte: float = 0.1
    sram_pJ_per_byte: float = 2.5
    dram_pJ_per_byte: float = 162.5
    adc_pJ: float = 1.56
    dac_pJ: float = DAC_PJ_PER_READ
    crossbar_cell_pJ: float = 0.0018
    sop_pJ: float = 23.6
    neuron_update_pJ: float = 52.0

    def __post_init__(self):
        for name, value in asdict(self).items():
            positive_number("EnergyTable", name, value)

    def mac_pJ(self, precision: str = "int8") -> float:
        """Energy of one MAC at ``precision``: the field :data:`npulab.hw.precision.PRECISIONS`
        names (int4/int8/uint8/fp8 -> ``mac_int8_pJ``, fp16/bf16 -> ``mac_fp16_pJ``, fp32 ->
        ``mac_fp32_pJ``); ``ValueError`` for a precision without a cited MAC energy."""
        field = get_precision(precision).mac_energy if precision in PRECISIONS else None
        if field is None:
            raise ValueError(
                f"EnergyTable.mac_pJ precision must be one of {sorted(MAC_PRECISIONS)}; got {precision!r}"
            )
        return getattr(self, field)

    def to_dict(self) -> dict:
        """All entries as a plain dict (pJ)."""
        return asdict(self)
