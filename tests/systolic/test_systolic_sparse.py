"""Zero-gating and N:M zero-skipping on the systolic array: bit-exact, cycles as stated."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npulab.hw import ArrayConfig, SystolicConfig
from npulab.sparse import prune
from npulab.systolic import compute_cycles, emulate, estimate
from npulab.systolic.sparse import (
    compressed_reduction,
    emulate_sparse,
    metadata_bits,
    skipping_applies,
    skipping_cycles,
)
from npulab.workloads import Gemm


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(1, 7), st.integers(1, 19), st.integers(1, 6),
       st.integers(1, 5), st.sampled_from(["1:2", "2:4", "1:4", "3:8"]), st.integers(0, 2**31))
def test_skipping_is_bit_exact_and_cycles_follow_the_model(M, N, K, R, C, pattern, seed):
    rng = np.random.default_rng(seed)
    A = rng.integers(-128, 128, (M, K)).astype(np.int8)
    B = prune(rng.integers(-128, 128, (K, N)).astype(np.int8), pattern, axis=0)
    r = emulate_sparse(A, B, R, C, skip_pattern=pattern)
    assert np.array_equal(r.output, A.astype(np.int64) @ B.astype(np.int64))
    assert r.cycles == skipping_cycles(M, N, K, R, C, pattern)
    kc = compressed_reduction(K, pattern)
    assert r.cycles == compute_cycles(M, N, kc, R, C, "ws")
    assert r.executed_macs == M * N * kc
    # gated = executed MAC slots whose selected activation or weight is zero
    assert r.accesses["filter_metadata_bits"] == kc * N * metadata_bits(pattern)
    # each fold reads its groups' activations once; exact "all of K" when groups do not
    # straddle row folds (R a multiple of N), more when they do
    n = int(pattern.split(":")[0])
    reads = r.accesses["ifmap_sram_reads"]
    assert reads == M * K * -(-N // C) if R % n == 0 else reads >= M * K * -(-N // C)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 6), st.integers(1, 7), st.integers(1, 12), st.integers(1, 6),
       st.integers(1, 5), st.integers(0, 2**31))
def test_dense_mode_equals_the_ws_emulator(M, N, K, R, C, seed):
    rng = np.random.default_rng(seed)
    A, B = rng.integers(-3, 3, (M, K)), rng.integers(-3, 3, (K, N))
    mine, ref = emulate_sparse(A, B, R, C), emulate(A, B, R, C, "ws")
    assert np.array_equal(mine.output, ref.output) and mine.cycles == ref.cycles
    assert mine.executed_macs == ref.macs == M * N * K
    assert mine.accesses["filter_sram_reads"] == ref.accesses["filter_sram_reads"]
    assert mine.accesses["ifmap_sram_reads"] == ref.accesses["ifmap_sram_reads"]
    # gating: the zero products, counted independently
    assert mine.gated_macs == sum(int(((A[:, k:k + 1] == 0) | (B[k:k + 1] == 0)).sum())
                                  for k in range(K))


def test_two_four_halves_the_reduction_folds():
    rng = np.random.default_rng(1)
    A, B = rng.integers(-5, 5, (16, 64)), prune(rng.normal(size=(64, 8)), "2:4", axis=0)
    d, s = emulate_sparse(A, B, 16, 8), emulate_sparse(A, B, 16, 8, skip_pattern="2:4")
    assert np.allclose(d.output, s.output) and s.cycles * 2 == d.cycles
    assert metadata_bits("2:4") == 2 and compressed_reduction(64, "2:4") == 32


def test_emulate_sparse_rejects_unstructured_weights():
    with pytest.raises(ValueError, match="not 2:4 sparse"):
        emulate_sparse(np.ones((2, 4)), np.ones((4, 2)), 2, 2, skip_pattern="2:4")


def test_estimate_gating_saves_energy_not_cycles():
    g = Gemm(256, 128, 512, act_density=0.5, weight_density=0.4)
    arr = ArrayConfig(32, 32, "ws")
    dense = estimate(g, SystolicConfig(arr))
    gated = estimate(g, SystolicConfig(arr, zero_gating=True))
    assert gated.cycles == dense.cycles
    assert gated.details["gated_macs"] == round(g.macs * (1 - 0.5 * 0.4))
    e_dense, e_gated = dense.energy_breakdown_pJ, gated.energy_breakdown_pJ
    assert e_gated["compute"] == pytest.approx(e_dense["compute"] * 0.2)
    assert gated.energy_breakdown_pJ["sram"] == dense.energy_breakdown_pJ["sram"]


def test_estimate_skipping_matches_emulator_cycles_and_counts_metadata():
    g = Gemm(64, 48, 200, weight_sparsity="2:4")
    arr = ArrayConfig(16, 16, "ws")
    r = estimate(g, SystolicConfig(arr, skip_pattern="2:4"))
    dense = estimate(Gemm(64, 48, 200), SystolicConfig(arr))
    assert r.cycles == skipping_cycles(64, 48, 200, 16, 16, "2:4") < dense.cycles
    assert r.details["executed_macs"] == 64 * 48 * 100
    assert r.details["filter_metadata_bytes"] == 100 * 48 * 2 / 8
    assert r.details["filter_sram_reads"] == dense.details["filter_sram_reads"] // 2
    assert r.details["ifmap_sram_reads"] == dense.details["ifmap_sram_reads"]
    assert r.macs == g.macs
    rng = np.random.default_rng(0)
    B = prune(rng.integers(-9, 9, (200, 48)), "2:4", axis=0)
    emu = emulate_sparse(rng.integers(-9, 9, (64, 200)), B, 16, 16, skip_pattern="2:4")
    assert emu.cycles == r.cycles


def test_skipping_needs_matching_pattern_and_ws():
    assert skipping_applies("2:4", "2:4") and skipping_applies("1:4", "2:4")
    assert not skipping_applies("2:8", "2:4") and not skipping_applies("", "2:4")
    g = Gemm(8, 8, 64, weight_density=0.5)                    # unstructured: no skipping
    hw = SystolicConfig(ArrayConfig(8, 8, "ws"), skip_pattern="2:4")
    assert estimate(g, hw).cycles == estimate(Gemm(8, 8, 64), ArrayConfig(8, 8, "ws")).cycles
    with pytest.raises(ValueError, match="dataflow 'ws'"):
        SystolicConfig(ArrayConfig(8, 8, "os"), skip_pattern="2:4")
    with pytest.raises(ValueError, match="zero_gating"):
        SystolicConfig(ArrayConfig(8, 8), zero_gating="yes")


def test_dense_numbers_unchanged_by_the_sparsity_fields():
    g = Gemm(64, 64, 64)
    assert estimate(g, ArrayConfig(16, 16, "os")).cycles == 1760
    assert "gated_macs" in estimate(g, ArrayConfig(16, 16, "os")).details


def test_doctests_of_the_sparse_module():
    import doctest

    import npulab.systolic.sparse as mod
    r = doctest.testmod(mod)
    assert r.attempted > 0 and r.failed == 0
