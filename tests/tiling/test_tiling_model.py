"""The tiler's cost model: the closed form equals the literal loop walk; clear errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npulab.tiling import (
    OPERANDS,
    Architecture,
    Mapping,
    MemoryLevel,
    Problem,
    evaluate,
    evaluate_batch,
    eyeriss_like,
    reference_counts,
    tpu_like,
)
from npulab.tiling.mapper import candidates, make_space, mapping_from_arrays
from npulab.tiling.model import fits


def _arch(spatial_level, caps=(None, None), rows=4, cols=4):
    levels = (MemoryLevel("DRAM", "dram", 100.0, 100.0), MemoryLevel("GLB", "sram", 2.0, 3.0, caps[0]),
              MemoryLevel("RF", "reg", 0.5, 0.5, caps[1]))
    return Architecture(levels, rows=rows, cols=cols, spatial_level=spatial_level, mac_pJ=0.3)


small = st.sampled_from([1, 2, 3, 4])
problems = st.one_of(
    st.builds(Problem.gemm, small, small, st.sampled_from([1, 2, 3, 4, 6])),
    st.builds(lambda n, k, c, p, q, r, s, stride, dil: Problem.conv(N=n, K=k, C=c, P=p, Q=q, R=r, S=s,
                                                                    stride=stride, dilation=dil),
              st.sampled_from([1, 2]), small, st.sampled_from([1, 2, 3]), st.sampled_from([1, 2, 3]),
              st.sampled_from([1, 2]), st.sampled_from([1, 2, 3]), st.sampled_from([1, 2]),
              st.sampled_from([1, 2]), st.sampled_from([1, 2])),
)


def _random_mapping(problem, arch, bypass, seed):
    space = make_space(problem, arch)
    space = type(space)(space.splits, space.perms, bypass, space.n_levels)
    f, o = candidates(space, ("random", seed, 64))
    ok = np.flatnonzero(fits(problem, arch, f, bypass))
    k = ok[0] if len(ok) else None
    return None if k is None else mapping_from_arrays(Mapping, problem, arch, f[k], o[k], bypass)


@given(problem=problems, spatial_level=st.sampled_from([0, 1, 2]),
       byp_glb=st.sets(st.sampled_from(OPERANDS)), byp_rf=st.sets(st.sampled_from(OPERANDS)),
       seed=st.integers(0, 2**31))
def test_closed_form_equals_loop_walk(problem, spatial_level, byp_glb, byp_rf, seed):
    """Every read, write and fill of the vectorised model equals the literal loop walk."""
    arch = _arch(spatial_level)
    bypass = (frozenset(), frozenset(byp_glb), frozenset(byp_rf))
    m = _random_mapping(problem, arch, bypass, seed)
    assert m is not None, "no candidate fits: the check would be vacuous"
    assert evaluate(m).accesses == reference_counts(m)


@settings(max_examples=25)
@given(problem=problems, spatial_level=st.sampled_from([0, 1, 2]),
       byp_rf=st.sets(st.sampled_from(OPERANDS)), seed=st.integers(0, 2**31))
def test_batched_counts_equal_loop_walk_row_by_row(problem, spatial_level, byp_rf, seed):
    """``evaluate_batch`` over many mappings at once: every row equals the loop walk of its mapping."""
    arch = _arch(spatial_level, caps=(64, None))
    bypass = (frozenset(), frozenset(), frozenset(byp_rf))
    space = make_space(problem, arch)
    space = type(space)(space.splits, space.perms, bypass, space.n_levels)
    f, o = candidates(space, ("random", seed, 256))
    r = evaluate_batch(problem, arch, f, o, bypass)
    ok = np.flatnonzero(r["valid"])
    assert len(ok) > 0
    for k in ok[:6]:
        want = reference_counts(mapping_from_arrays(Mapping, problem, arch, f[k], o[k], bypass))
        for i, lv in enumerate(arch.level_names):
            for j, op in enumerate(OPERANDS):
                got = {key: int(r[key][k, i, j]) for key in ("reads", "writes", "fills")}
                assert got == want[lv][op], (k, lv, op)


def test_walk_matches_on_eyeriss_row_stationary():
    """A hand-written row-stationary mapping of a small conv on the Eyeriss preset."""
    p = Problem.conv(N=1, K=4, C=2, P=4, Q=4, R=3, S=3)
    m = Mapping.build(p, eyeriss_like(), {"DRAM": [("K", 2)], "GLB": [("C", 2), ("Q", 2)],
                                          "RF": [("S", 3), ("Q", 2), ("K", 2)]},
                      spatial={"rows": {"R": 3}, "cols": {"P": 4}})
    assert evaluate(m).accesses == reference_counts(m)


def test_weight_stationary_reads_each_weight_once_from_dram():
    """Weights loaded once into each PE and held: DRAM weight reads = K*C*R*S."""
    p = Problem.conv(N=1, K=4, C=4, P=6, Q=6, R=3, S=3)
    m = Mapping.build(p, _arch(1), {"GLB": [("K", 2), ("R", 3), ("S", 3)], "RF": [("P", 6), ("Q", 6)]},
                      spatial={"rows": {"C": 4}, "cols": {"K": 2}})
    acc = evaluate(m).accesses
    assert acc["DRAM"]["weights"]["reads"] == 4 * 4 * 3 * 3
    assert acc["RF"]["weights"]["fills"] == 4 * 4 * 3 * 3          # one fill per weight per PE
    assert acc["RF"]["inputs"]["reads"] == p.macs                   # every MAC reads its input


def test_batch_equals_single_and_energy_sums():
    p = Problem.gemm(8, 6, 4)
    arch = tpu_like(rows=4, cols=4)
    space = make_space(p, arch, "os")
    f, o = candidates(space, ("random", 3, 200))
    r = evaluate_batch(p, arch, f, o, space.bypass)
    valid = np.flatnonzero(r["valid"])
    assert len(valid) > 0
    for k in valid[:10]:
        c = evaluate(mapping_from_arrays(Mapping, p, arch, f[k], o[k], space.bypass))
        assert c.energy_pJ == pytest.approx(r["energy_pJ"][k])
        assert c.cycles == r["cycles"][k]
        parts = sum(sum(v.values()) for k2, v in c.energy_breakdown_pJ.items() if k2 != "MAC")
        assert c.energy_pJ == pytest.approx(parts + c.energy_breakdown_pJ["MAC"])
        assert 0 < c.utilization <= 1


def test_sliding_window_footprint():
    p = Problem.conv(N=1, K=1, C=2, P=4, Q=3, R=3, S=2, stride=2, dilation=1)
    # height (4-1)*2 + (3-1)*1 + 1 = 9, width (3-1)*2 + (2-1) + 1 = 6
    assert p.footprint("inputs", dict(zip(p.dims, p.sizes))) == 2 * 9 * 6


def test_factors_that_do_not_multiply_name_the_dim():
    with pytest.raises(ValueError, match=r"dim 'K' multiply to 4, not its size 8"):
        Mapping.build(Problem.gemm(4, 4, 8), tpu_like(4, 4), {"REG": [("K", 4)]},
                      spatial={"rows": {"M": 4}, "cols": {"N": 4}})


def test_tile_that_does_not_fit_names_level_and_operand():
    with pytest.raises(ValueError, match=r"level 'RF' operand 'inputs': tile of 16 words"):
        Mapping.build(Problem.gemm(4, 4, 16), eyeriss_like(), {"RF": [("K", 16)]},
                      spatial={"rows": {"M": 4}, "cols": {"N": 4}})


def test_bad_spatial_and_bypass_are_rejected():
    p = Problem.gemm(8, 8, 8)
    with pytest.raises(ValueError, match=r"spatial rows factors multiply to 8, more than the array's 4"):
        Mapping.build(p, tpu_like(4, 4), {"REG": [("K", 8)]}, spatial={"rows": {"M": 8}, "cols": {"N": 8}})
    with pytest.raises(ValueError, match=r"backing store\) cannot bypass"):
        Mapping.build(p, tpu_like(8, 8), {"REG": [("K", 8)]}, spatial={"rows": {"M": 8}, "cols": {"N": 8}},
                      bypass={"DRAM": ["inputs"]})
    with pytest.raises(ValueError, match=r"unknown dim 'X'"):
        Mapping.build(p, tpu_like(8, 8), {"REG": [("X", 8)]})
    with pytest.raises(ValueError, match=r"unknown level 'L9'"):
        Mapping.build(p, tpu_like(8, 8), {"L9": [("K", 8)]})
    with pytest.raises(ValueError, match=r"Problem.M must be an int >= 1; got 0"):
        Problem.gemm(0, 1, 1)


def test_print_shows_the_loop_nest():
    m = Mapping.build(Problem.gemm(4, 4, 8), tpu_like(rows=4, cols=4), {"REG": [("K", 8)]},
                      spatial={"rows": {"M": 4}, "cols": {"N": 4}}, bypass={"REG": ["inputs", "weights"]})
    text = str(m)
    assert "par-for Mr in [0:4)  (rows)" in text and "for K0 in [0:8)" in text
    assert text.splitlines()[-2].strip() == "MAC" and text.splitlines()[-1] == "(REG bypasses inputs, weights)"


def test_report_and_plot():
    import matplotlib

    matplotlib.use("Agg")
    from npulab.tiling import plot_energy_breakdown

    m = Mapping.build(Problem.gemm(4, 4, 8), tpu_like(rows=4, cols=4), {"REG": [("K", 8)]},
                      spatial={"rows": {"M": 4}, "cols": {"N": 4}}, bypass={"REG": ["inputs", "weights"]})
    c = evaluate(m)
    rep = c.report()
    assert set(rep.energy_breakdown_pJ) == {"compute", "dram", "sram", "reg"}
    assert rep.energy_pJ == pytest.approx(c.energy_pJ)
    ax = plot_energy_breakdown([c, c], labels=["a", "b"], by="operand")
    assert len(ax.patches) == 2 * 4


def test_array_axes_restrict_unrolled_dims():
    from dataclasses import replace

    from npulab.tiling import search

    arch = replace(tpu_like(4, 4), row_dims=("K",), col_dims=("N",))
    with pytest.raises(ValueError, match=r"cannot unroll dim 'M' on its rows"):
        Mapping.build(Problem.gemm(4, 4, 8), arch, {"REG": [("K", 8)]}, spatial={"rows": {"M": 4}, "cols": {"N": 4}})
    res = search(Problem.gemm(8, 8, 8), arch, executor="inline", progress=False)
    assert {d for d, _ in res.best.spatial_rows} <= {"K"} and {d for d, _ in res.best.spatial_cols} <= {"N"}
    with pytest.raises(ValueError, match=r"row_dims must be a tuple of dim names"):
        replace(arch, row_dims="K")


@settings(max_examples=15)
@given(dataflow=st.sampled_from(["ws", "os", "is", "rs", "nlr"]), seed=st.integers(0, 2**31),
       K=st.sampled_from([2, 4]), C=st.sampled_from([1, 2]), P=st.sampled_from([2, 4]))
def test_named_dataflow_mappings_on_eyeriss_walk_equal(dataflow, seed, K, C, P):
    """Mappings drawn from each named dataflow's space on the Eyeriss preset (per-operand RF
    capacities, bypass): the closed form equals the loop walk."""
    p = Problem.conv(N=1, K=K, C=C, P=P, Q=2, R=3, S=3)
    arch = eyeriss_like()
    space = make_space(p, arch, dataflow)
    f, o = candidates(space, ("random", seed, 200))
    ok = np.flatnonzero(fits(p, arch, f, space.bypass))
    assert len(ok) > 0
    m = mapping_from_arrays(Mapping, p, arch, f[ok[0]], o[ok[0]], space.bypass)
    assert evaluate(m).accesses == reference_counts(m)
