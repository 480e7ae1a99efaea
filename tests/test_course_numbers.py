"""Issue 29: every npulab figure a lecture note or quiz key quotes is re-computed from npulab.

The notes quote energies, peak rates, ridge points, parameter counts, KV bytes, SQNR... that the
library also produces.  Each :data:`QUOTES` row names the file (in ``course/lectures/``, or
``../quizzes/``), the quoted text as a template (``{}`` fields), and the npulab expression whose
values, formatted into the template, must appear in the file verbatim (runs of whitespace count
as one space, so line breaks do not matter).  When the library or a note changes, the row fails
until the two agree again: notes, labs and library can no longer drift apart silently.  Rows
marked ``ko=True`` are language-neutral (formulas, tables) and are checked in the generated
Korean note too.

To add a number to a note: write it, then add its row here (keep the expression close to what a
student would type in a lab).
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from npulab import Conv2d, Gemm
from npulab.hw import CrossbarConfig
from npulab.hw import area as hw_area
from npulab.hw.array import ArrayConfig
from npulab.hw.energy import EnergyTable
from npulab.metrics import Roofline
from npulab.perf import load_preset
from npulab.pim import estimate as pim_estimate
from npulab.quant import QuantSpec, fp8_round, quantize, sqnr_db
from npulab.quant.formats import bytes_per_param
from npulab.sparse.formats import format_bits
from npulab.systolic.estimate import estimate as systolic_estimate
from npulab.workloads import llm

ROOT = Path(__file__).resolve().parents[1]
LECTURES = ROOT / "course" / "lectures"
E = EnergyTable()
L0, L1, L2, L3, L4 = ("00_orientation.md", "01_quantization.md", "02_integer_inference.md",
                      "03_systolic.md", "04_tiling.md")
L5, L6, L7, L8, L9, L10 = ("05_pim.md", "06_snn.md", "07_scorecard_llm.md", "08_capstone.md",
                           "09_compiler.md", "10_sparsity.md")
Q1, Q2, Q2K = "../quizzes/quiz1_key.md", "../quizzes/quiz2.md", "../quizzes/quiz2_key.md"
GUIDE = "../instructor_guide.md"


@dataclass(frozen=True)
class Quote:
    note: str                      # file name relative to course/lectures/
    template: str                  # the quoted text, with {} fields
    values: Callable[[], tuple]    # npulab expression -> the fields
    ko: bool = False               # also in the generated Korean note


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _round_to(x: float, step: int) -> int:
    return int(step * round(x / step))


# --------------------------------------------------------------------------- helpers (npulab only)

@cache
def _digits_cnn_stats() -> dict:
    """prog.stats of the bundled digits CNN compiled for edge-npu-int8 (batch 1)."""
    from npulab.compiler import compile_model
    from npulab.compiler.models import bundled

    model, (x,) = bundled("digits-cnn")
    return compile_model(model, example_inputs=(x,), hw="edge-npu-int8").stats


def _conv2_row() -> tuple:
    from npulab.compiler import load_hardware
    from npulab.compiler.machine import machine_for

    layer = _digits_cnn_stats()["layers"][1]
    bpc = machine_for(*load_hardware("edge-npu-int8")).dram_bytes_per_cycle
    return layer["dram_bytes"], layer["dram_bytes"] / bpc, layer["compute_cycles"]


def _int8() -> float:
    return E.mac_pJ("int8")


@cache
def _llama8b():
    return llm.from_config(ROOT / "datasets" / "llm" / "llama-3.1-8b.json")


@cache
def _llama2_7b():
    return llm.from_config({"hidden_size": 4096, "intermediate_size": 11008,
                            "num_hidden_layers": 32, "num_attention_heads": 32,
                            "num_key_value_heads": 32, "vocab_size": 32000})


def _decode_int8(context: int = 1, batch: int = 1):
    return _llama8b().decode(context, batch, weight_format="int8", kv_format="fp16")


def _peak(name: str) -> float:
    return load_preset(name).peak_ops_per_s


def _bw(name: str) -> float:
    return load_preset(name).dram_bytes_per_s


def _datasheet(name: str) -> tuple:
    """(peak TFLOPS, DRAM TB/s, memory GB) of a datasheet preset."""
    return _peak(name) / 1e12, _bw(name) / 1e12, load_preset(name).memory_bytes / 1e9


def _ridge(name: str) -> float:
    return _peak(name) / _bw(name)


def _lecture0_layers() -> list[tuple[int, float]]:
    """(MACs, compulsory bytes) of the four layers of Lecture 0, section 4 (int8)."""
    dw = Conv2d(58, 58, 3, 3, 1, 1)  # 3x3 depthwise, 56x56x144, P=1: 144 one-channel convs
    layers = (Gemm(M=256, N=256, K=256), Gemm(M=1, N=256, K=256), Conv2d(58, 58, 3, 3, 64, 64))
    return [(g.macs, g.total_bytes()) for g in layers] + [(144 * dw.macs, 144 * dw.total_bytes())]


def _intensity(i: int) -> float:
    macs, nbytes = _lecture0_layers()[i]
    return 2 * macs / nbytes


def _roof16() -> Roofline:
    """A 16x16 int8 array at 1 GHz with 16 GB/s (Lecture 0, section 5)."""
    return Roofline(2 * 16 * 16 * 1e9, 16e9)


def _roof_row(i: int, name: str, nd: int, pd: int) -> tuple:
    att = _roof16().attainable(_intensity(i))
    return name, _intensity(i), nd, att / 1e9, 100 * att / _roof16().peak_ops_per_s, pd


def _bytes_per_param_row() -> tuple:
    fmts = [("fp32", None), ("fp16", None), ("int8", None), ("int4", 128), ("int4", 32),
            ("mxint8", None), ("mxfp6", None), ("mxfp4", None)]
    return tuple(bytes_per_param(f, group_size=g) for f, g in fmts)


def _lsq_grad(v: float, s: float = 0.1, q_n: int = 8, q_p: int = 7) -> float:
    """d v_hat / d s of LSQ (Esser et al. 2020): -v/s + round(v/s) in range, -Q_N / Q_P out."""
    x = v / s
    if x <= -q_n:
        return -q_n
    if x >= q_p:
        return q_p
    return round(-x + float(np.rint(x)), 10)


def _os64(size: int):
    return systolic_estimate(Gemm(64, 64, 64), ArrayConfig(size, size, "os"))


def _fold_row() -> tuple:
    small, big = _os64(16).details["compute_cycles"], _os64(32).details["compute_cycles"]
    return _os64(32).details["folds"], big, small / big, 100 * 64**3 / (1024 * big)


_DIV64 = [d for d in range(1, 65) if 64 % d == 0]


def _tile_footprint(m: int, n: int, k: int) -> int:
    return m * k + k * n + m * n


def _tile_traffic(m: int, n: int, size: int = 64) -> int:
    """Output-stationary at DRAM: A once per column block, B once per row block, C once."""
    return size * size * (size // n) + size * size * (size // m) + size * size


def _compulsory64() -> int:
    return 3 * 64 * 64


def _tile_row(m: int, n: int, k: int) -> tuple:
    return _tile_footprint(m, n, k), _tile_traffic(m, n), _tile_traffic(m, n) / _compulsory64()


def _mvm512() -> Gemm:
    return Gemm(M=1, N=512, K=512)


def _pim(energy: EnergyTable = E) -> dict:
    return pim_estimate(_mvm512(), CrossbarConfig(), energy=energy).energy_breakdown_pJ


def _pim_total_nj() -> float:
    return sum(_pim().values()) / 1e3


def _pim_row() -> tuple:
    """The 512x512 MVM at the default energies: nJ (to 10), ADC and DAC shares (%), pJ/MAC."""
    b = _pim()
    total = sum(b.values())
    return (_round_to(total / 1e3, 10), 100 * b["adc"] / total, 100 * b["dac"] / total,
            total / _mvm512().macs)


def _systolic_row() -> tuple:
    r = systolic_estimate(_mvm512(), ArrayConfig(128, 128, "ws"))
    return _round_to((r.energy_pJ - r.energy_breakdown_pJ["dram"]) / 1e3, 10), r.energy_pJ / 1e6


def _dac_pJ() -> float:
    """ISAAC Table 6: 4 mW for 8 x 128 one-bit DACs, driven for one crossbar read."""
    return 4e-3 / (8 * 128) * CrossbarConfig().read_time_s * 1e12


#: The DAC energy npulab used before issue 29 (4 mW / 1024 DACs over the ADC's 1.28 GS/s).
OLD_DAC_PJ = 0.0031


def _dac_old_row() -> tuple:
    """The 512x512 MVM with the old DAC figure: nJ, DAC and ADC shares (%)."""
    b = _pim(EnergyTable(dac_pJ=OLD_DAC_PJ))
    total = sum(b.values())
    return total / 1e3, 100 * b["dac"] / total, 100 * b["adc"] / total


def _pim_decode() -> tuple[float, float]:
    """Lecture 5, section 6: Llama-3.1-8B decode, int8 weights, batch 16, context 4096."""
    d = _decode_int8(4096, 16)
    return d.weight_bytes, d.kv_read_bytes + d.kv_write_bytes


def _pim_decode_row() -> tuple:
    w, kv = _pim_decode()
    bw = _bw("h100-sxm")
    return kv / (4 * bw) * 1e3, w / bw * 1e3, w / bw * 1e3, (w + kv) / w


def _critical_batch(context: int) -> int | None:
    """Lecture 7 / Lab 07: smallest B with B f / peak >= (W + B k) / bandwidth (H100)."""
    peak, bw = _peak("h100-sxm"), _bw("h100-sxm")
    d = _llama8b().decode(context, 1, weight_format="fp16", kv_format="fp16")
    gain = d.ops * bw - (d.kv_read_bytes + d.kv_write_bytes) * peak
    return None if gain <= 0 else math.ceil(d.weight_bytes * peak / gain)


def _scores_gb() -> float:
    return 4096**2 * _llama8b().config.num_attention_heads * 2 / 1e9


def _sparse_ratio(fmt: str) -> float:
    payload, meta = format_bits(fmt, (256, 256), 256 * 256 // 2, value_bits=8)
    return (math.ceil(payload / 8) + math.ceil(meta / 8)) / (256 * 256)


def _duty_row() -> tuple:
    leak = 2e3 * hw_area.STATIC_W_PER_MM2 * (1 - 0.48)  # 2 mm^2, idle 52 % of the time, mW
    return leak, 57 + leak


def _quiz1_energy() -> tuple:
    mac, dram = 1e6 * _int8(), 1e5 * E.dram_pJ_per_byte
    return (mac + dram) / 1e6, 100 * dram / (mac + dram)


def _affine_quiz():
    """Quiz 1: unsigned 8-bit affine quantizer of [-1, 3], applied to [-1, 0.5, 3]."""
    return quantize(np.array([-1.0, 0.5, 3.0], np.float32),
                    QuantSpec(8, signed=False, symmetric=False, narrow_range=False))


def _adc_row() -> tuple:
    c = CrossbarConfig()
    peak = c.rows * (2**c.dac_bits - 1) * (2**c.bits_per_cell - 1)
    return peak, math.ceil(math.log2(peak + 1))


def _sqnr_gaussian(seed: int = 0) -> tuple[float, float]:
    w = np.random.default_rng(seed).standard_normal(100_000).astype(np.float32)
    s = np.float32(np.abs(w).max() / 448)
    return (sqnr_db(w, quantize(w, QuantSpec(8)).dequantize()),
            sqnr_db(w, fp8_round(w / s, "e4m3") * s))


# --------------------------------------------------------------------------- the quoted numbers

QUOTES = [
    # Lecture 0: energies (npulab.hw.EnergyTable = Horowitz 2014, 45 nm)
    Quote(L0, "$0.2 + 0.1 = {:.1f}$ pJ", lambda: (_int8(),), ko=True),
    Quote(L0, "$3.7 + 0.9 = {:.1f}$ pJ, some {}× more",
          lambda: (E.mac_pJ("fp32"), round(E.mac_pJ("fp32") / _int8()))),
    Quote(L0, "that is {}–{:.0f} pJ per byte",
          lambda: (E.dram_pJ_per_byte, 2 * E.dram_pJ_per_byte)),
    Quote(L0, "roughly {}–{:,} int8 MACs",
          lambda: (_round_to(E.dram_pJ_per_byte / _int8(), 10),
                   _round_to(2 * E.dram_pJ_per_byte / _int8(), 10))),
    Quote(L0, "32 KB SRAM (about {} pJ) costs about {} MACs",
          lambda: (E.sram_pJ_per_byte, {8: "eight"}[round(E.sram_pJ_per_byte / _int8())])),
    Quote(L0, "{:.1f} pJ per int8 MAC with int32 accumulation", lambda: (_int8(),)),
    # Lecture 0, section 4: MACs, compulsory bytes, intensity (npulab.Gemm / Conv2d)
    *[Quote(L0, "| {:,} | {:,.0f} | {:.{}f} |",
            lambda i=i, nd=nd: (*_lecture0_layers()[i], _intensity(i), nd), ko=True)
      for i, nd in enumerate((1, 2, 1, 2))],
    # Lecture 0, section 5: the 16x16 roofline (npulab.metrics.Roofline)
    Quote(L0, "$$\\pi = 2 \\cdot 256 \\cdot 10^9 = {:.0f}\\ \\text{{GOP/s}}.$$",
          lambda: (_roof16().peak_ops_per_s / 1e9,), ko=True),
    Quote(L0, "the ridge is $I^* = 512/16 = {:.0f}$ ops/byte", lambda: (_roof16().ridge_point,)),
    *[Quote(L0, "| {} | {:.{}f} | memory | {:.1f} GOP/s | {:.{}f} % |",
            lambda args=args: _roof_row(*args))
      for args in [(1, "GEMV 1×256×256", 2, 1), (3, "3×3 depthwise", 2, 0)]],
    # Lecture 0, section 7: the H100 datasheet preset, Llama 2 7B's KV cache
    Quote(L0, "$989/3.35 \\approx {:.0f}$ ops/byte", lambda: (_ridge("h100-sxm"),), ko=True),
    Quote(L0, "$\\pi = {:.0f}$ TFLOP/s", lambda: (_peak("h100-sxm") / 1e12,)),
    Quote(L0, "that is {:g} MiB per token, or {:g} GiB for a 4,096-token context",
          lambda: (_llama2_7b().kv_bytes_per_token("fp16") / 2**20,
                   4096 * _llama2_7b().kv_bytes_per_token("fp16") / 2**30)),
    # Lecture 1: bytes per parameter (npulab.quant.bytes_per_param)
    Quote(L1, "INT4 with $g = 128$ costs {:.3f} bytes",
          lambda: (bytes_per_param("int4", group_size=128),)),
    Quote(L1, "| {:g} | {:g} | {:g} | {:.4f} | {:.4f} | {:g} | {:g} | {:g} |",
          _bytes_per_param_row, ko=True),
    # Lecture 2, section 5.1: LSQ's step gradient
    Quote(L2, "$\\partial\\hat v/\\partial s = -3.7 + 4 = {:.1f}$; for $v = 0.34$ it is "
              "$-3.4 + 3 = {:.1f}$", lambda: (_lsq_grad(0.37), _lsq_grad(0.34))),
    Quote(L2, "($v/s = 9 > Q_P$) it is $Q_P = {}$", lambda: (_lsq_grad(0.9),)),
    # Lecture 3: folds against array size (npulab.systolic)
    Quote(L3, "$F = (64/16)^2 = {}$ folds of $2 \\cdot 16 + 16 + 64 - 2 = 110$ cycles, {:,} cycles",
          lambda: (_os64(16).details["folds"], _os64(16).details["compute_cycles"])),
    Quote(L3, "$64^3/(256 \\cdot 1760) = {:.1f}\\,\\%$", lambda: (100 * 64**3 / (256 * 1760),)),
    Quote(L3, "{} folds of 158 cycles, {} cycles ({:.1f}× faster) but utilisation {:.1f} %",
          _fold_row),
    Quote(L3, "adds {} stall cycles to the larger array ({} in all)",
          lambda: (_os64(32).details["stall_cycles"], _os64(32).cycles)),
    # Lecture 4, section 7: the mapping search by hand (closed form, enumerated below)
    *[Quote(L4, f"| ${m} \\times {n} \\times {k}$ | {{:,}} | {{:,}} | {{:.{nd}f}}× |",
            lambda m=m, n=n, k=k: _tile_row(m, n, k), ko=True)
      for m, n, k, nd in [(16, 16, 32, 1), (64, 16, 8, 1), (32, 32, 8, 2)]],
    Quote(L4, "| — | {:,} | 1× |", lambda: (_compulsory64(),), ko=True),
    Quote(L4, "the divisors of 64 for $m, n, k$ ({} candidates)", lambda: (len(_DIV64) ** 3,)),
    # Lecture 5: PIM cost of a 512x512 MVM (npulab.pim.estimate), the DAC erratum, DRAM PIM
    Quote(L5, "| DAC | $M\\cdot c\\cdot K\\cdot$ col tiles | {:.2f} pJ", lambda: (E.dac_pJ,)),
    Quote(L5, "| cell reads | $M\\cdot c\\cdot K N\\cdot$ cells/weight | {} pJ |",
          lambda: (E.crossbar_cell_pJ,)),
    Quote(L5, "| {} pJ (8-bit, 1.28 GS/s) |", lambda: (E.adc_pJ,)),
    Quote(L5, "| SRAM | inputs per column tile, outputs once | {} pJ/byte |",
          lambda: (E.sram_pJ_per_byte,)),
    Quote(L5, "A 512×512 MVM: {} nJ on crossbars, {:.0f} % of it in the ADCs and {:.0f} % in the "
              "DACs, that is {:.1f} pJ per MAC", _pim_row),
    Quote(L5, "against {} nJ on a 128×128 systolic array with weights on chip and {:.1f} µJ",
          _systolic_row),
    Quote(L5, "\\approx {:.2f}$ pJ", lambda: (_dac_pJ(),), ko=True),
    Quote(L5, "and that is npulab's default (`EnergyTable.dac_pJ`). Before issue 29 the default "
              "was {} pJ", lambda: (OLD_DAC_PJ,)),
    Quote(L5, "and it made the DACs {:.0f}× too cheap",
          lambda: (CrossbarConfig().read_time_s * CrossbarConfig().adc_rate_hz,)),
    Quote(L5, "(`EnergyTable(dac_pJ={})`, still accepted) the same MVM costs {:.0f} nJ, the DACs "
              "{:.1f} % of it and the ADCs {:.0f} %", lambda: (OLD_DAC_PJ, *_dac_old_row())),
    Quote(L5, "A step moves {:.2f} GB of weights and {:.2f} GB of KV cache",
          lambda: tuple(x / 1e9 for x in _pim_decode())),
    Quote(L5, "so the memory bound is {:.1f} ms",
          lambda: (sum(_pim_decode()) / _bw("h100-sxm") * 1e3,)),
    Quote(L5, "the KV part takes {:.2f} ms under the weights' {:.2f} ms, and the step drops to "
              "{:.2f} ms, {:.1f}×", _pim_decode_row),
    # Lecture 6: Loihi energies (npulab.hw.EnergyTable)
    Quote(L6, "**{} pJ per synaptic", lambda: (E.sop_pJ,)),
    Quote(L6, "**{:.0f} pJ per neuron update", lambda: (E.neuron_update_pJ,)),
    Quote(L6, "costs as much as ~{} int8 MACs", lambda: (_round_to(E.sop_pJ / _int8(), 10),)),
    # Lecture 7: presets, Llama-3.1-8B, decode bytes, critical batch, energies, fusion
    Quote(L7, "| {:.2f} TOPS | 34 GB/s | {:.0f} ops/B |",
          lambda: (_peak("tpuv1-like") / 1e12, _ridge("tpuv1-like")), ko=True),
    Quote(L7, "| {:.2f} TOPS | 12.8 GB/s | {:.0f} ops/B |",
          lambda: (_peak("edge-npu-int8") / 1e12, _ridge("edge-npu-int8")), ko=True),
    Quote(L7, "| {:.1f} TOPS | 6.4 GB/s | {:,} ops/B |",
          lambda: (_peak("pim-isaac") / 1e12, _round_to(_ridge("pim-isaac"), 100)), ko=True),
    Quote(L7, "| {:.2f} T SOP-ops/s | 12.8 GB/s (assumed) | {:.0f} ops/B |",
          lambda: (_peak("loihi-like") / 1e12, _ridge("loihi-like"))),
    Quote(L7, "/ 34\\,\\text{{GB/s}} = {:.0f}$ ops/byte, i.e. ~{}",
          lambda: (_ridge("tpuv1-like"), _round_to(_ridge("tpuv1-like") / 2, 50))),
    Quote(L7, "Llama-3.1-8B: {:,} parameters", lambda: (_llama8b().param_count(),)),
    Quote(L7, "streams {:.2f} GB of weights per token (the {:.2f} B",
          lambda: (_decode_int8().weight_bytes / 1e9, _llama8b().param_count() / 1e9)),
    Quote(L7, "34 GB/s: ≈ {:.1f} tokens/s",
          lambda: (_bw("tpuv1-like") / _decode_int8().bytes_moved,)),
    Quote(L7, "({} for int8 on TPUv1)", lambda: (_round_to(_ridge("tpuv1-like") / 2, 50),)),
    Quote(L7, "turns compute-bound at batch {} at context 128, and {} at context 1024",
          lambda: (_critical_batch(128), {None: "never"}[_critical_batch(1024)])),
    Quote(L7, "a MAC costs about {:.1f} pJ once its converters are counted (Lecture 5: {} nJ",
          lambda: (_pim_row()[3], _pim_row()[0])),
    Quote(L7, "more than a digital int8 MAC's {:.1f} pJ", lambda: (_int8(),)),
    Quote(L7, "energy scales with spikes ({} pJ per SOP)", lambda: (E.sop_pJ,)),
    Quote(L7, "$S^2 H \\cdot 2 = {:.2f}$ GB", lambda: (_scores_gb(),), ko=True),
    Quote(L7, "against {:.0f} MB of fp16 weights per layer",
          lambda: (2 * _llama8b().layer_param_count(moe=False) / 1e6,)),
    # Lecture 7, section 8: the Korean datasheet presets (datasets/hw/*.yaml)
    Quote(L7, "`furiosa-rngd`: {:.0f} TFLOPS bf16, {:.1f} TB/s, {:.0f} GB",
          lambda: _datasheet("furiosa-rngd"), ko=True),
    Quote(L7, "`rebellions-atom`: {:.0f} TFLOPS fp16, {:.0f} GB/s, {:.0f} GB",
          lambda: (_peak("rebellions-atom") / 1e12, _bw("rebellions-atom") / 1e9,
                   load_preset("rebellions-atom").memory_bytes / 1e9), ko=True),
    Quote(L7, "`deepx-dx-m1`: {:.0f} TOPS int8, {:.0f} GB LPDDR5, ≤ {:.0f} W",
          lambda: (_peak("deepx-dx-m1") / 1e12, load_preset("deepx-dx-m1").memory_bytes / 1e9,
                   load_preset("deepx-dx-m1").config.power_w), ko=True),
    # Lecture 8: area, static power and the duty-cycle example (npulab.hw.area)
    Quote(L8, "npulab's systolic default, {:.3f} W/mm²", lambda: (hw_area.STATIC_W_PER_MM2,)),
    Quote(L8, "65,536 ≈ {:.2f} × 10⁻³ mm² (× {} int4, × {:g} fp16)",
          lambda: (hw_area.PE_MM2_INT8 * 1e3, hw_area.PE_SCALE["int4"], hw_area.PE_SCALE["fp16"])),
    Quote(L8, "at npulab's systolic default it adds {:.1f} mW, {:.1f} mW in all", _duty_row),
    # Lecture 9: the compiled digits CNN (npulab.compiler, docs/compiler.md)
    Quote(L9, "{:,} instructions, {:,} cycles, {:,} MACs and {:,} DRAM bytes",
          lambda: tuple(_digits_cnn_stats()[k] for k in ("instructions", "cycles", "macs",
                                                          "dram_bytes"))),
    Quote(L9, "second convolution moves {:,} bytes (about {:.0f} DMA cycles) for {:,} compute "
              "cycles", _conv2_row),
    # Lecture 10: compressed bytes of an int8 2:4 matrix (npulab.sparse.format_bits)
    Quote(L10, "({:.3f} of dense)", lambda: (_sparse_ratio("bitmap"),)),
    Quote(L10, "({:.1f} of dense)", lambda: (_sparse_ratio("csr"),)),
    # Quizzes and their keys (course/quizzes/)
    Quote(Q1, "$= 0.3 + 16.25 = {:.2f}$ µJ; DRAM is {:.1f} %", _quiz1_energy),
    Quote(Q1, "$I(18) = {:.2f} < 32$ and $I(19) = {:.2f} \\ge 32$",
          lambda: tuple(Gemm(M=b, N=256, K=256).arithmetic_intensity() for b in (18, 19))),
    Quote(Q1, "$s = 4/255 \\approx {:.5f}$, $z = \\mathrm{{round}}(63.75) = {}$",
          lambda: (float(_affine_quiz().scale), int(np.ravel(_affine_quiz().zero_point)[0]))),
    Quote(Q1, "+ 64 = {}$", lambda: (int(np.ravel(_affine_quiz().int_repr)[1]),)),
    Quote(Q1, "= {}$ folds of $2 \\cdot 16 + 16 + 64 - 2 = 110$ cycles: {:,} cycles",
          lambda: (_os64(16).details["folds"], _os64(16).cycles)),
    Quote(Q2K, "$\\lceil 8/2 \\rceil = {}$ cells per weight (on each of $G^+$ and $G^-$: "
               "{} columns",
          lambda: (CrossbarConfig().slices, CrossbarConfig().cells_per_weight)),
    Quote(Q2K, "$\\lceil 8/1 \\rceil = {}$ input cycles", lambda: (CrossbarConfig().input_cycles,)),
    Quote(Q2K, "(2^2 - 1) = {}$, so {} ADC bits", _adc_row),
    Quote(Q2K, "\\times 100\\ \\text{{ns}} = {:.2f}$ pJ", lambda: (_dac_pJ(),)),
    # The instructor guide's teaching notes
    Quote(GUIDE, "is \"a fraction of a pJ\" (about {:.1f} pJ once the converters count)",
          lambda: (_pim_row()[3],)),
    Quote(GUIDE, "`EnergyTable.dac_pJ` is {:.2f} pJ", lambda: (E.dac_pJ,)),
    Quote(Q2, "streams {:.2f} GB of weights per token",
          lambda: (_decode_int8().weight_bytes / 1e9,)),
    Quote(Q2K, "$34 / 7.50 \\approx {:.1f}$ tokens/s",
          lambda: (_bw("tpuv1-like") / _decode_int8().bytes_moved,)),
    Quote(Q2K, "\\cdot 2 = {}$ bytes",
          lambda: (f"{_llama8b().kv_bytes_per_token('fp16'):,.0f}".replace(",", "{,}"),)),
]


def _id(q: Quote) -> str:
    return f"{Path(q.note).stem[:6]}:{q.template[:40]}"


@pytest.mark.parametrize("q", QUOTES, ids=[_id(q) for q in QUOTES])
def test_quoted_number_matches_npulab(q):
    expected = q.template.format(*q.values())
    text = _norm((LECTURES / q.note).read_text(encoding="utf-8"))
    assert _norm(expected) in text, (
        f"{q.note} should quote {expected!r} (recomputed by npulab); fix the note or the library")


@pytest.mark.parametrize("q", [q for q in QUOTES if q.ko], ids=[_id(q) for q in QUOTES if q.ko])
def test_quoted_number_is_the_same_in_the_korean_note(q):
    expected = q.template.format(*q.values())
    text = _norm((LECTURES / "ko" / q.note).read_text(encoding="utf-8"))
    assert _norm(expected) in text, f"ko/{q.note} should quote {expected!r}: translate it again"


def test_the_dac_default_is_the_per_read_energy():
    """Issue 29: ``EnergyTable.dac_pJ`` is ISAAC's DAC power per DAC times one crossbar read."""
    assert math.isclose(E.dac_pJ, _dac_pJ(), rel_tol=1e-12)
    assert EnergyTable(dac_pJ=OLD_DAC_PJ).dac_pJ == OLD_DAC_PJ   # the old figure, on request


def test_sqnr_quoted_in_lecture_1_is_the_labs_output_and_seed_robust():
    """Lecture 1 quotes Lab 01's printed SQNR; the FP8 figure does not depend on the sample."""
    nb = json.loads((ROOT / "solutions" / "01_quantization.ipynb").read_text(encoding="utf-8"))
    printed = "".join("".join(o.get("text", "")) for c in nb["cells"] if c["cell_type"] == "code"
                      for o in c.get("outputs", []))
    m = re.search(r"INT8 SQNR ([\d.]+) dB, FP8 E4M3 SQNR ([\d.]+) dB", printed)
    assert m, "Lab 01 no longer prints the Gaussian SQNR line"
    note = _norm((LECTURES / L1).read_text(encoding="utf-8"))
    assert f"({m.group(1)} vs {m.group(2)} dB SQNR" in note
    for seed in range(3):  # E4M3's relative error is scale-free: ~31.5-31.6 dB for any sample
        int8, fp8 = _sqnr_gaussian(seed)
        assert abs(fp8 - float(m.group(2))) < 0.15 and abs(int8 - float(m.group(1))) < 1.5


def test_the_prefill_attention_term_of_the_library_is_the_full_square():
    """Lecture 7 states: the lab halves the causal square, npulab.workloads.llm counts all of it."""
    m = _llama8b()
    L, H, h = m.config.num_hidden_layers, m.config.num_attention_heads, m.config.head_dim
    S = 512
    a, b, c = (m.prefill(n * S, 1).ops for n in (1, 2, 3))
    # the second difference isolates the S^2 term: 4 L H h (9 - 2*4 + 1) S^2 = 8 L H h S^2
    # (a causal count, 2 L H h S^2, would give half of it)
    assert c - 2 * b + a == pytest.approx(8 * L * H * h * S * S, rel=1e-9)


def test_the_best_tile_of_lecture_4_is_the_square_output_block():
    fits = [(m, n, k) for m in _DIV64 for n in _DIV64 for k in _DIV64
            if _tile_footprint(m, n, k) <= 2048]
    best = min(_tile_traffic(m, n) for m, n, _ in fits)
    assert best == _tile_traffic(32, 32)
    assert {(m, n) for m, n, _ in fits if _tile_traffic(m, n) == best} == {(32, 32)}
