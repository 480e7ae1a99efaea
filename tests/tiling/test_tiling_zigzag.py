"""Cross-check with ZigZag 3.9.1 (KU Leuven): per-level access counts for a pinned mapping.

ZigZag searches mappings, but a *complete* ``temporal_ordering`` (every loop with its size,
innermost first) plus a ``spatial_mapping`` pins one; its memory allocator then fills each
memory bottom-up with as many loops as fit.  Giving every operand its own memory at each
level, sized exactly to the tiler's tile, makes ZigZag's level boundaries the tiler's (up to
irrelevant loops, which both models treat as reuse).  ZigZag reports per level and operand
four counts (rd/wr to/from the level below/above), in elements; the tiler's reads are
``rd_out_to_low + rd_out_to_high``, writes ``wr_in_by_low + wr_in_by_high``, fills
``wr_in_by_high``.

Known difference (documented): when PEs reduce partial sums spatially and each PE keeps its
own copy (``C`` unrolled over PEs that have their own output register), ZigZag skips the
first psum read only once per output word; the tiler skips it once per PE copy.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from npulab.tiling import OPERANDS, Architecture, Mapping, MemoryLevel, Problem, evaluate

zigzag = pytest.importorskip("zigzag")
yaml = pytest.importorskip("yaml")
# the one npulab -> ZigZag translation, shared with benchmarks/tiling_mapper.py
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import zigzag_bridge  # noqa: E402


def zigzag_counts(mapping: Mapping, tmp_path) -> dict:
    """Run ZigZag on the same layer and pinned mapping; counts per (level, operand)."""
    from zigzag.mapping.data_movement import DataDirection as Dir
    from zigzag.mapping.data_movement import DataMoveAttr

    cme = zigzag_bridge.pinned(mapping, tmp_path, same_data_no_access=False)
    out = {}
    names = mapping.arch.level_names
    for op in OPERANDS:
        zz_op = next(k for k in cme.mapping.unit_mem_data_movement if str(k) == zigzag_bridge.OPERANDS[op][0])
        for lv, move in enumerate(cme.mapping.unit_mem_data_movement[zz_op]):
            c = move.get_attribute(DataMoveAttr.DATA_ELEM_MOVE_COUNT).get
            level = names[len(names) - 1 - lv]
            out[level, op] = {"reads": c(Dir.RD_OUT_TO_LOW) + c(Dir.RD_OUT_TO_HIGH),
                              "writes": c(Dir.WR_IN_BY_LOW) + c(Dir.WR_IN_BY_HIGH),
                              "fills": c(Dir.WR_IN_BY_HIGH)}
    return out


def _arch(rows, cols, levels):
    lv = [MemoryLevel("DRAM", "dram", 100.0, 100.0)]
    if levels == 3:
        lv.append(MemoryLevel("GLB", "sram", 2.0, 2.0, 1 << 20))
    lv.append(MemoryLevel("RF", "reg", 0.5, 0.5, 1 << 20))
    return Architecture(tuple(lv), rows=rows, cols=cols, spatial_level=len(lv) - 2, mac_pJ=0.3)


CASES = [  # (M, N, K), rows x cols, levels, temporal per level (outer to inner), spatial
    ((4, 4, 4), (2, 2), 2, {"DRAM": [("M", 2), ("N", 2)], "RF": [("M", 2), ("K", 4)]},
     {"rows": {"M": 1}, "cols": {"N": 2}}),
    ((8, 4, 6), (2, 2), 2, {"DRAM": [("K", 3), ("M", 2), ("N", 2)], "RF": [("K", 2), ("M", 2)]},
     {"rows": {"M": 2}, "cols": {"N": 2}}),
    ((8, 8, 4), (2, 4), 3, {"DRAM": [("N", 2), ("M", 2)], "GLB": [("K", 2), ("M", 2)], "RF": [("K", 2), ("M", 2)]},
     {"rows": {}, "cols": {"N": 4}}),
    ((6, 4, 8), (4, 2), 3, {"DRAM": [("M", 3)], "GLB": [("K", 2), ("N", 2)], "RF": [("M", 2), ("K", 4)]},
     {"rows": {}, "cols": {"N": 2}}),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_per_level_counts_equal_zigzag(case, tmp_path):
    (M, N, K), (rows, cols), levels, temporal, spatial = CASES[case]
    spatial = {ax: {d: f for d, f in v.items() if f > 1} for ax, v in spatial.items()}
    m = Mapping.build(Problem.gemm(M, N, K), _arch(rows, cols, levels), temporal, spatial=spatial)
    ours = evaluate(m).accesses
    theirs = zigzag_counts(m, tmp_path)
    for (level, op), counts in theirs.items():
        assert ours[level][op] == counts, (level, op, m)


def test_spatial_reduction_differs_only_in_first_psum_reads(tmp_path):
    """K unrolled over 2 PE rows, each with its own psum register: every count equals ZigZag's
    except the innermost psum reads, where npulab skips the zero-start read on each of the
    2 copies of an output word (ZigZag once per word): a difference of M*N*(2-1) reads."""
    M, N, K = 4, 4, 4
    m = Mapping.build(Problem.gemm(M, N, K), _arch(2, 2, 2),
                      {"DRAM": [("N", 2), ("M", 2)], "RF": [("M", 2), ("K", 2)]},
                      spatial={"rows": {"K": 2}, "cols": {"N": 2}})
    ours = evaluate(m).accesses
    theirs = zigzag_counts(m, tmp_path)
    for (level, op), counts in theirs.items():
        if (level, op) == ("RF", "outputs"):
            assert counts["reads"] - ours[level][op]["reads"] == M * N * (2 - 1)
            assert counts["writes"] == ours[level][op]["writes"]
        else:
            assert ours[level][op] == counts, (level, op)


@pytest.mark.parametrize("case", range(len(CASES)))
def test_pinned_energy_is_npulab_energy_plus_zigzag_word_rounding(case, tmp_path):
    """ZigZag prices the pinned mapping with the architecture's per-word and MAC energies
    (one-word ports): its total is npulab's energy plus the accesses its energy step charges
    beyond its own element counts (it charges the zero-start psum reads the counts skip), as
    benchmarks/tiling_mapper.py relies on when it prices npulab's best mapping in ZigZag."""
    from zigzag.mapping.data_movement import DataDirection as Dir
    from zigzag.mapping.data_movement import DataMoveAttr

    (M, N, K), (rows, cols), levels, temporal, spatial = CASES[case]
    spatial = {ax: {d: f for d, f in v.items() if f > 1} for ax, v in spatial.items()}
    m = Mapping.build(Problem.gemm(M, N, K), _arch(rows, cols, levels), temporal, spatial=spatial)
    cme = zigzag_bridge.pinned(m, tmp_path, same_data_no_access=False)
    levels_in = m.arch.levels[::-1]                           # ZigZag lists levels innermost first
    extra = 0.0
    for zz_op, words in cme.memory_word_access.items():
        for lv, acc in enumerate(words):
            elems = cme.mapping.unit_mem_data_movement[zz_op][lv].get_attribute(DataMoveAttr.DATA_ELEM_MOVE_COUNT)
            for d in Dir:
                cost = levels_in[lv].read_pJ if d in (Dir.RD_OUT_TO_LOW, Dir.RD_OUT_TO_HIGH) else levels_in[lv].write_pJ
                assert acc.get(d) >= elems.get(d)
                extra += (acc.get(d) - elems.get(d)) * cost
    assert cme.mac_energy == pytest.approx(m.problem.macs * m.arch.mac_pJ)
    assert cme.energy_total == pytest.approx(evaluate(m).energy_pJ + extra, rel=1e-12)


def test_zigzag_best_maps_back_to_npulab(tmp_path):
    """ZigZag's searched mapping keeps its loop nest and unrolling when read back into npulab."""
    p, arch = Problem.gemm(8, 8, 8), _arch(2, 2, 3)
    cme = zigzag_bridge.search(p, arch, [("M", 2)], [("N", 2)], tmp_path)
    m, _ = zigzag_bridge.to_npulab(cme, p, arch)
    assert m is not None
    assert dict(m.spatial_rows) == {"M": 2} and dict(m.spatial_cols) == {"N": 2}
    order, _, _ = zigzag_bridge.nest(cme, p)
    assert zigzag_bridge.merge([lp for lv in m.temporal for lp in lv]) == zigzag_bridge.merge(order)
