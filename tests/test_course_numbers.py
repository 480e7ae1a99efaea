"""Issue 29: every npulab figure a lecture note quotes is re-computed from npulab.

The notes quote energies, peak rates, ridge points, parameter counts, KV bytes, SQNR... that the
library also produces.  Each :data:`QUOTES` row names the note, the quoted text as a template
(``{}`` fields), and the npulab expression whose value, formatted into the template, must appear
in the note verbatim (runs of whitespace count as one space, so line breaks do not matter).
When the library or a note changes, the row fails until the two agree again: notes, labs and
library can no longer drift apart silently.  Rows marked ``ko=True`` are language-neutral
(formulas, tables) and are checked in the generated Korean note too.

To add a number to a note: write it, then add its row here (keep the expression as close as
possible to what a student would type in a lab).
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


@dataclass(frozen=True)
class Quote:
    note: str                      # file name in course/lectures/
    template: str                  # the quoted text, with {} fields
    values: Callable[[], tuple]    # npulab expression -> the fields
    ko: bool = False               # also in the generated Korean note


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text)


# --------------------------------------------------------------------------- helpers (npulab only)

@cache
def _llama8b():
    return llm.from_config(ROOT / "datasets" / "llm" / "llama-3.1-8b.json")


@cache
def _llama2_7b():
    return llm.from_config({"hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32,
                            "num_attention_heads": 32, "num_key_value_heads": 32, "vocab_size": 32000})


def _mvm512():
    return Gemm(M=1, N=512, K=512)


def _pim(energy=E):
    r = pim_estimate(_mvm512(), CrossbarConfig(), energy=energy)
    return r.energy_breakdown_pJ


def _depthwise():
    """3x3 depthwise conv, 56x56x144, P=1: 144 single-channel convolutions."""
    one = Conv2d(58, 58, 3, 3, 1, 1)
    return 144 * one.macs, 144 * one.total_bytes()


def _lecture0_layers():
    dw_macs, dw_bytes = _depthwise()
    return [(g.macs, g.total_bytes()) for g in (Gemm(M=256, N=256, K=256), Gemm(M=1, N=256, K=256),
                                                Conv2d(58, 58, 3, 3, 64, 64))] + [(dw_macs, dw_bytes)]


def _roof16():
    """A 16x16 int8 array at 1 GHz with 16 GB/s (Lecture 0, section 5)."""
    return Roofline(2 * 16 * 16 * 1e9, 16e9)


def _critical_batch(context: int) -> int | None:
    """Lecture 7 / Lab 07: smallest B with B f / peak >= (W + B k) / bandwidth (H100 datasheet)."""
    h100 = load_preset("h100-sxm")
    d = _llama8b().decode(context, 1, weight_format="fp16", kv_format="fp16")
    kv = d.kv_read_bytes + d.kv_write_bytes
    gain = d.ops * h100.dram_bytes_per_s - kv * h100.peak_ops_per_s
    return None if gain <= 0 else math.ceil(d.weight_bytes * h100.peak_ops_per_s / gain)


def _sqnr_gaussian(seed: int = 0):
    w = np.random.default_rng(seed).standard_normal(100_000).astype(np.float32)
    s = np.float32(np.abs(w).max() / 448)
    return (sqnr_db(w, quantize(w, QuantSpec(8)).dequantize()), sqnr_db(w, fp8_round(w / s, "e4m3") * s))


def _affine_quiz():
    """Quiz 1: unsigned 8-bit affine quantizer of [-1, 3], applied to [-1, 0.5, 3]."""
    return quantize(np.array([-1.0, 0.5, 3.0], np.float32),
                    QuantSpec(8, signed=False, symmetric=False, narrow_range=False))


def _h100_bw() -> float:
    return load_preset("h100-sxm").dram_bytes_per_s


def _pim_decode():
    """Lecture 5, section 6: Llama-3.1-8B decode, int8 weights, fp16 KV, batch 16, context 4096."""
    d = _llama8b().decode(4096, 16, weight_format="int8", kv_format="fp16")
    return d.weight_bytes, d.kv_read_bytes + d.kv_write_bytes


def _os64(size: int):
    return systolic_estimate(Gemm(64, 64, 64), ArrayConfig(size, size, "os"))


def _sparse_ratio(fmt: str) -> float:
    payload, meta = format_bits(fmt, (256, 256), 256 * 256 // 2, value_bits=8)
    return (math.ceil(payload / 8) + math.ceil(meta / 8)) / (256 * 256)


def _lsq_grad(v: float, s: float = 0.1, q_n: int = 8, q_p: int = 7) -> float:
    """d v_hat / d s of LSQ: -v/s + round(v/s) inside the range, -Q_N below, Q_P above."""
    x = v / s
    if x <= -q_n:
        return -q_n
    if x >= q_p:
        return q_p
    return round(-x + float(np.rint(x)), 10)


_DIV64 = [d for d in range(1, 65) if 64 % d == 0]


def _tile_footprint(m: int, n: int, k: int) -> int:
    return m * k + k * n + m * n


def _tile_traffic(m: int, n: int, size: int = 64) -> int:
    """Output-stationary at DRAM: A once per column block, B once per row block, C once."""
    return size * size * (size // n) + size * size * (size // m) + size * size


def _compulsory64() -> int:
    return 3 * 64 * 64


def test_the_best_tile_of_lecture_4_is_the_square_output_block():
    fits = [(m, n, k) for m in _DIV64 for n in _DIV64 for k in _DIV64 if _tile_footprint(m, n, k) <= 2048]
    best = min(_tile_traffic(m, n) for m, n, _ in fits)
    assert best == _tile_traffic(32, 32) and {(m, n) for m, n, _ in fits if _tile_traffic(m, n) == best} == {(32, 32)}


def _ridge(name: str) -> float:
    p = load_preset(name)
    return p.peak_ops_per_s / p.dram_bytes_per_s


def _round_to(x: float, step: int) -> int:
    return int(step * round(x / step))


# --------------------------------------------------------------------------- the quoted numbers

QUOTES = [
    # Lecture 0: energies (npulab.hw.EnergyTable = Horowitz 2014, 45 nm)
    Quote("00_orientation.md", "$0.2 + 0.1 = {:.1f}$ pJ", lambda: (E.mac_pJ("int8"),), ko=True),
    Quote("00_orientation.md", "$3.7 + 0.9 = {:.1f}$ pJ, some {}× more",
          lambda: (E.mac_pJ("fp32"), round(E.mac_pJ("fp32") / E.mac_pJ("int8")))),
    Quote("00_orientation.md", "that is {}–{:.0f} pJ per byte",
          lambda: (E.dram_pJ_per_byte, 2 * E.dram_pJ_per_byte)),
    Quote("00_orientation.md", "roughly {}–{:,} int8 MACs",
          lambda: (_round_to(E.dram_pJ_per_byte / E.mac_pJ("int8"), 10),
                   _round_to(2 * E.dram_pJ_per_byte / E.mac_pJ("int8"), 10))),
    Quote("00_orientation.md", "32 KB SRAM (about {} pJ) costs about {} MACs",
          lambda: (E.sram_pJ_per_byte, {8: "eight"}[round(E.sram_pJ_per_byte / E.mac_pJ("int8"))])),
    Quote("00_orientation.md", "{:.1f} pJ per int8 MAC with int32 accumulation", lambda: (E.mac_pJ("int8"),)),
    # Lecture 0, section 4: MACs, compulsory bytes, intensity (npulab.Gemm / Conv2d)
    *[Quote("00_orientation.md", "| {:,} | {:,.0f} | {:.{}f} |",
            (lambda i=i: (*_lecture0_layers()[i], 2 * _lecture0_layers()[i][0] / _lecture0_layers()[i][1],
                          (1, 2, 1, 2)[i])), ko=True) for i in range(4)],
    # Lecture 0, section 5: the 16x16 roofline
    Quote("00_orientation.md", "$$\\pi = 2 \\cdot 256 \\cdot 10^9 = {:.0f}\\ \\text{{GOP/s}}.$$",
          lambda: (_roof16().peak_ops_per_s / 1e9,), ko=True),
    Quote("00_orientation.md", "the ridge is $I^* = 512/16 = {:.0f}$ ops/byte", lambda: (_roof16().ridge_point,)),
    *[Quote("00_orientation.md", "| {} | {:.{}f} | memory | {:.1f} GOP/s | {:.{}f} % |",
            (lambda i=i, name=name, nd=nd, pd=pd: (
                name, 2 * _lecture0_layers()[i][0] / _lecture0_layers()[i][1], nd,
                _roof16().attainable(2 * _lecture0_layers()[i][0] / _lecture0_layers()[i][1]) / 1e9,
                100 * _roof16().attainable(2 * _lecture0_layers()[i][0] / _lecture0_layers()[i][1])
                / _roof16().peak_ops_per_s, pd)))
      for i, name, nd, pd in [(1, "GEMV 1×256×256", 2, 1), (3, "3×3 depthwise", 2, 0)]],
    # Lecture 0, section 7: H100 datasheet preset, Llama 2 7B KV cache
    Quote("00_orientation.md", "$989/3.35 \\approx {:.0f}$ ops/byte", lambda: (_ridge("h100-sxm"),), ko=True),
    Quote("00_orientation.md", "$\\pi = {:.0f}$ TFLOP/s", lambda: (load_preset("h100-sxm").peak_ops_per_s / 1e12,)),
    Quote("00_orientation.md", "that is {:g} MiB per token, or {:g} GiB for a 4,096-token context",
          lambda: (_llama2_7b().kv_bytes_per_token("fp16") / 2**20,
                   4096 * _llama2_7b().kv_bytes_per_token("fp16") / 2**30)),
    # Lecture 1: bytes per parameter (npulab.quant.bytes_per_param), SQNR
    Quote("01_quantization.md", "INT4 with $g = 128$ costs {:.3f} bytes",
          lambda: (bytes_per_param("int4", group_size=128),)),
    Quote("01_quantization.md", "| {:g} | {:g} | {:g} | {:.4f} | {:.4f} | {:g} | {:g} | {:g} |",
          lambda: (bytes_per_param("fp32"), bytes_per_param("fp16"), bytes_per_param("int8"),
                   bytes_per_param("int4", group_size=128), bytes_per_param("int4", group_size=32),
                   bytes_per_param("mxint8"), bytes_per_param("mxfp6"), bytes_per_param("mxfp4")), ko=True),
    # Lecture 2, section 5.1: LSQ's step gradient (Esser et al. 2020, eq. 3)
    Quote("02_integer_inference.md", "$\\partial\\hat v/\\partial s = -3.7 + 4 = {:.1f}$; for\n$v = 0.34$ it is $-3.4 + 3 = {:.1f}$",
          lambda: (_lsq_grad(0.37), _lsq_grad(0.34)), ko=False),
    Quote("02_integer_inference.md", "($v/s = 9 > Q_P$) it is $Q_P = {}$", lambda: (_lsq_grad(0.9),)),
    # Lecture 3: the fold example (npulab.systolic)
    Quote("03_systolic.md", "$F = (64/16)^2 = {}$ folds of $2 \\cdot 16 + 16 + 64 - 2 = 110$ cycles, {:,} cycles",
          lambda: (_os64(16).details["folds"], _os64(16).details["compute_cycles"])),
    Quote("03_systolic.md", "$64^3/(256 \\cdot 1760) = {:.1f}\\,\\%$", lambda: (100 * 64**3 / (256 * 1760),)),
    Quote("03_systolic.md", "{} folds of 158 cycles, {} cycles\n({:.1f}× faster) but utilisation {:.1f} %",
          lambda: (_os64(32).details["folds"], _os64(32).details["compute_cycles"],
                   _os64(16).details["compute_cycles"] / _os64(32).details["compute_cycles"],
                   100 * 64**3 / (1024 * _os64(32).details["compute_cycles"]))),
    Quote("03_systolic.md", "adds {} stall cycles to the larger\narray ({} in all)",
          lambda: (_os64(32).details["stall_cycles"], _os64(32).cycles)),
    # Lecture 10: compressed bytes of an int8 2:4 matrix (npulab.sparse.format_bits)
    Quote("10_sparsity.md", "({:.3f} of dense)", lambda: (_sparse_ratio("bitmap"),)),
    Quote("10_sparsity.md", "({:.1f} of dense)", lambda: (_sparse_ratio("csr"),)),
    # Lecture 8: the duty-cycle example (static power from npulab.hw.area)
    Quote("08_capstone.md", "at npulab's systolic default it adds {:.1f} mW,\n{:.1f} mW in all",
          lambda: (2e3 * hw_area.STATIC_W_PER_MM2 * 0.52, 57 + 2e3 * hw_area.STATIC_W_PER_MM2 * 0.52)),
    # Lecture 4, section 7: the mapping search by hand (closed form, enumerated)
    *[Quote("04_tiling.md", f"| ${m} \\times {n} \\times {k}$ | {{:,}} | {{:,}} | {{:.{nd}f}}× |",
            (lambda m=m, n=n, k=k: (_tile_footprint(m, n, k), _tile_traffic(m, n),
                                    _tile_traffic(m, n) / _compulsory64())), ko=True)
      for m, n, k, nd in [(16, 16, 32, 1), (64, 16, 8, 1), (32, 32, 8, 2)]],
    Quote("04_tiling.md", "| — | {:,} | 1× |", lambda: (_compulsory64(),), ko=True),
    Quote("04_tiling.md", "the divisors of 64 for $m, n, k$ ({} candidates)", lambda: (len(_DIV64) ** 3,)),
    # Lecture 5: PIM cost of a 512x512 MVM (npulab.pim.estimate) and the DAC erratum
    Quote("05_pim.md", "| DAC | $M\\cdot c\\cdot K\\cdot$ col tiles | {} pJ", lambda: (E.dac_pJ,)),
    Quote("05_pim.md", "| cell reads | $M\\cdot c\\cdot K N\\cdot$ cells/weight | {} pJ |", lambda: (E.crossbar_cell_pJ,)),
    Quote("05_pim.md", "| {} pJ (8-bit, 1.28 GS/s) |", lambda: (E.adc_pJ,)),
    Quote("05_pim.md", "| SRAM | inputs per column tile, outputs once | {} pJ/byte |", lambda: (E.sram_pJ_per_byte,)),
    Quote("05_pim.md", "A 512×512 MVM: {} nJ on crossbars, {:.0f} % of it in the ADCs, that is {:.1f} pJ per MAC",
          lambda: (_round_to(sum(_pim().values()) / 1e3, 10), 100 * _pim()["adc"] / sum(_pim().values()),
                   sum(_pim().values()) / _mvm512().macs)),
    Quote("05_pim.md", "against {} nJ on a 128×128 systolic array with weights on chip and {:.1f} µJ",
          lambda: ((lambda r: (_round_to((r.energy_pJ - r.energy_breakdown_pJ["dram"]) / 1e3, 10), r.energy_pJ / 1e6))(
              systolic_estimate(_mvm512(), ArrayConfig(128, 128, "ws"))))),
    Quote("05_pim.md", "\\approx {:.2f}$ pJ", lambda: (4e-3 / (8 * 128) * CrossbarConfig().read_time_s * 1e12,), ko=True),
    Quote("05_pim.md", "the same MVM costs {:.0f} nJ (the DACs now take {:.0f} %): the ADCs still dominate ({:.0f} %)",
          lambda: (lambda b: (sum(b.values()) / 1e3, 100 * b["dac"] / sum(b.values()),
                              100 * b["adc"] / sum(b.values())))(_pim(EnergyTable(dac_pJ=0.39)))),
    Quote("05_pim.md", "A step moves {:.2f} GB of weights and {:.2f} GB of KV cache",
          lambda: (_pim_decode()[0] / 1e9, _pim_decode()[1] / 1e9)),
    Quote("05_pim.md", "so the memory bound is {:.1f} ms", lambda: (sum(_pim_decode()) / _h100_bw() * 1e3,)),
    Quote("05_pim.md", "the KV part takes {:.2f} ms under the weights' {:.2f} ms, and the step drops to {:.2f} ms, {:.1f}×",
          lambda: (_pim_decode()[1] / (4 * _h100_bw()) * 1e3, _pim_decode()[0] / _h100_bw() * 1e3,
                   _pim_decode()[0] / _h100_bw() * 1e3, sum(_pim_decode()) / _pim_decode()[0])),
    # Lecture 6: Loihi energies (npulab.hw.EnergyTable)
    Quote("06_snn.md", "**{} pJ per synaptic", lambda: (E.sop_pJ,)),
    Quote("06_snn.md", "**{:.0f} pJ per neuron update", lambda: (E.neuron_update_pJ,)),
    # Lecture 7: presets, Llama-3.1-8B, decode bytes, critical batch, energies
    Quote("07_scorecard_llm.md", "| {:.2f} TOPS | 34 GB/s | {:.0f} ops/B |",
          lambda: (load_preset("tpuv1-like").peak_ops_per_s / 1e12, _ridge("tpuv1-like")), ko=True),
    Quote("07_scorecard_llm.md", "| {:.2f} TOPS | 12.8 GB/s | {:.0f} ops/B |",
          lambda: (load_preset("edge-npu-int8").peak_ops_per_s / 1e12, _ridge("edge-npu-int8")), ko=True),
    Quote("07_scorecard_llm.md", "| {:.1f} TOPS | 6.4 GB/s | {:,} ops/B |",
          lambda: (load_preset("pim-isaac").peak_ops_per_s / 1e12, _round_to(_ridge("pim-isaac"), 100)), ko=True),
    Quote("07_scorecard_llm.md", "| {:.2f} T SOP-ops/s | 12.8 GB/s (assumed) | {:.0f} ops/B |",
          lambda: (load_preset("loihi-like").peak_ops_per_s / 1e12, _ridge("loihi-like"))),
    Quote("07_scorecard_llm.md", "/ 34\\,\\text{{GB/s}} = {:.0f}$ ops/byte, i.e. ~{}",
          lambda: (_ridge("tpuv1-like"), _round_to(_ridge("tpuv1-like") / 2, 50))),
    Quote("07_scorecard_llm.md", "Llama-3.1-8B: {:,} parameters", lambda: (_llama8b().param_count(),)),
    Quote("07_scorecard_llm.md", "streams {:.2f} GB of weights per token (the {:.2f} B",
          lambda: (_llama8b().decode(1, 1, weight_format="int8").weight_bytes / 1e9, _llama8b().param_count() / 1e9)),
    Quote("07_scorecard_llm.md", "34 GB/s: ≈ {:.1f} tokens/s",
          lambda: (load_preset("tpuv1-like").dram_bytes_per_s
                   / _llama8b().decode(1, 1, weight_format="int8").bytes_moved,)),
    Quote("07_scorecard_llm.md", "({} for int8 on TPUv1)", lambda: (_round_to(_ridge("tpuv1-like") / 2, 50),)),
    Quote("07_scorecard_llm.md", "turns compute-bound at batch {} at context 128, and {} at context 1024",
          lambda: (_critical_batch(128), {None: "never"}[_critical_batch(1024)])),
    Quote("07_scorecard_llm.md", "a MAC costs about {:.1f} pJ once its converters are counted (Lecture 5: {} nJ",
          lambda: (sum(_pim().values()) / _mvm512().macs, _round_to(sum(_pim().values()) / 1e3, 10))),
    Quote("07_scorecard_llm.md", "more than a digital int8 MAC's {:.1f} pJ", lambda: (E.mac_pJ("int8"),)),
    Quote("07_scorecard_llm.md", "energy scales with spikes ({} pJ per SOP)", lambda: (E.sop_pJ,)),
    Quote("07_scorecard_llm.md", "$S^2 H \\cdot 2 = {:.2f}$ GB", lambda: (4096**2 * _llama8b().config.num_attention_heads * 2 / 1e9,),
          ko=True),
    Quote("07_scorecard_llm.md", "against {:.0f} MB of fp16 weights per layer", lambda: (2 * _llama8b().layer_param_count(moe=False) / 1e6,)),
    Quote("06_snn.md", "costs as much as ~{} int8 MACs", lambda: (_round_to(E.sop_pJ / E.mac_pJ("int8"), 10),)),
    # Lecture 8: area and static power (npulab.hw.area)
    Quote("08_capstone.md", "npulab's systolic default, {:.3f} W/mm²", lambda: (hw_area.STATIC_W_PER_MM2,)),
    Quote("08_capstone.md", "65,536 ≈ {:.2f} × 10⁻³ mm² (× {} int4, × {:g} fp16)",
          lambda: (hw_area.PE_MM2_INT8 * 1e3, hw_area.PE_SCALE["int4"], hw_area.PE_SCALE["fp16"])),
    # Quizzes and their keys (course/quizzes/)
    Quote("../quizzes/quiz1_key.md", "$= 0.3 + 16.25 = {:.2f}$ µJ; DRAM is {:.1f} %",
          lambda: ((1e6 * E.mac_pJ("int8") + 1e5 * E.dram_pJ_per_byte) / 1e6,
                   100 * 1e5 * E.dram_pJ_per_byte / (1e6 * E.mac_pJ("int8") + 1e5 * E.dram_pJ_per_byte))),
    Quote("../quizzes/quiz1_key.md", "$I(18) = {:.2f} < 32$ and $I(19) = {:.2f} \\ge 32$",
          lambda: (Gemm(M=18, N=256, K=256).arithmetic_intensity(), Gemm(M=19, N=256, K=256).arithmetic_intensity())),
    Quote("../quizzes/quiz1_key.md", "$s = 4/255 \\approx {:.5f}$, $z = \\mathrm{{round}}(63.75) = {}$",
          lambda: (lambda q: (float(q.scale), int(np.asarray(q.zero_point).ravel()[0])))(_affine_quiz())),
    Quote("../quizzes/quiz1_key.md", "+ 64 = {}$", lambda: (int(np.asarray(_affine_quiz().int_repr).ravel()[1]),)),
    Quote("../quizzes/quiz1_key.md", "= {}$ folds of $2 \\cdot 16 + 16 + 64 - 2 = 110$ cycles: {:,} cycles",
          lambda: (lambda r: (r.details["folds"], r.cycles))(systolic_estimate(Gemm(64, 64, 64), ArrayConfig(16, 16, "os")))),
    Quote("../quizzes/quiz2_key.md", "$\\lceil 8/2 \\rceil = {}$ cells per weight (on each of $G^+$ and $G^-$: {} columns",
          lambda: (CrossbarConfig().slices, CrossbarConfig().cells_per_weight)),
    Quote("../quizzes/quiz2_key.md", "$\\lceil 8/1 \\rceil = {}$ input cycles", lambda: (CrossbarConfig().input_cycles,)),
    Quote("../quizzes/quiz2_key.md", "(2^2 - 1) = {}$, so {} ADC bits",
          lambda: (lambda c: (c.rows * (2**c.dac_bits - 1) * (2**c.bits_per_cell - 1),
                              math.ceil(math.log2(c.rows * (2**c.dac_bits - 1) * (2**c.bits_per_cell - 1) + 1))))(
              CrossbarConfig())),
    Quote("../quizzes/quiz2_key.md", "\\times 100\\ \\text{{ns}} = {:.2f}$ pJ",
          lambda: (4e-3 / (8 * 128) * CrossbarConfig().read_time_s * 1e12,)),
    Quote("../quizzes/quiz2.md", "streams {:.2f} GB of weights per token",
          lambda: (_llama8b().decode(1, 1, weight_format="int8").weight_bytes / 1e9,)),
    Quote("../quizzes/quiz2_key.md", "$34 / 7.50 \\approx {:.1f}$ tokens/s",
          lambda: (load_preset("tpuv1-like").dram_bytes_per_s
                   / _llama8b().decode(1, 1, weight_format="int8").bytes_moved,)),
    Quote("../quizzes/quiz2_key.md", "\\cdot 2 = {}$ bytes",
          lambda: (f"{_llama8b().kv_bytes_per_token('fp16'):,.0f}".replace(",", "{,}"),)),
]


def _id(q: Quote) -> str:
    return f"{q.note[:2]}:{q.template[:40]}"


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
    assert _norm(expected) in text, f"ko/{q.note} should quote {expected!r}: translate the block again"


def test_sqnr_quoted_in_lecture_1_is_the_labs_output_and_seed_robust():
    """Lecture 1 quotes Lab 01's printed SQNR; the FP8 figure does not depend on the sample."""
    nb = json.loads((ROOT / "solutions" / "01_quantization.ipynb").read_text(encoding="utf-8"))
    printed = "".join("".join(o.get("text", "")) for c in nb["cells"] if c["cell_type"] == "code"
                      for o in c.get("outputs", []))
    m = re.search(r"INT8 SQNR ([\d.]+) dB, FP8 E4M3 SQNR ([\d.]+) dB", printed)
    assert m, "Lab 01 no longer prints the Gaussian SQNR line"
    note = _norm((LECTURES / "01_quantization.md").read_text(encoding="utf-8"))
    assert f"({m.group(1)} vs {m.group(2)} dB SQNR" in note
    for seed in range(3):  # relative error of E4M3 is scale-free: ~31.5-31.6 dB for any sample
        int8, fp8 = _sqnr_gaussian(seed)
        assert abs(fp8 - float(m.group(2))) < 0.15 and abs(int8 - float(m.group(1))) < 1.5


def test_the_prefill_attention_term_of_the_library_is_the_full_square():
    """Lecture 7 states: the lab halves the causal square, npulab.workloads.llm counts all of it."""
    m = _llama8b()
    cfg = m.config
    L, H, h = cfg.num_hidden_layers, cfg.num_attention_heads, cfg.head_dim
    S = 512
    a, b, c = (m.prefill(n * S, 1).ops for n in (1, 2, 3))
    # the second difference isolates the S^2 term: 4 L H h (9 - 2*4 + 1) S^2 = 8 L H h S^2
    # (a causal count, 2 L H h S^2, would give half of it)
    assert c - 2 * b + a == pytest.approx(8 * L * H * h * S * S, rel=1e-9)
