"""The moving-values emulator: exact products, closed-form cycles/accesses, reference == fast."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npulab.systolic import compute_cycles, emulate, emulate_reference, fold_plan, sram_accesses

DF = st.sampled_from(["os", "ws", "is"])
DIM = st.integers(1, 9)
ARR = st.integers(1, 5)


def _ab(seed, M, N, K):
    rng = np.random.default_rng(seed)
    return (rng.integers(-128, 128, (M, K)).astype(np.int8),
            rng.integers(-128, 128, (K, N)).astype(np.int8))


@settings(max_examples=40)
@given(M=DIM, N=DIM, K=DIM, R=ARR, C=ARR, df=DF, seed=st.integers(0, 2**16))
def test_output_equals_matmul_and_cycles_match_closed_form(M, N, K, R, C, df, seed):
    A, B = _ab(seed, M, N, K)
    r = emulate(A, B, R, C, df)
    np.testing.assert_array_equal(r.output, A.astype(np.int64) @ B.astype(np.int64))
    assert r.cycles == compute_cycles(M, N, K, R, C, df)
    assert len(r.fold_cycles) == fold_plan(M, N, K, R, C, df).folds
    phys = sram_accesses(M, N, K, R, C, df, scalesim_compat=False)
    assert r.accesses == {k: phys[k] for k in r.accesses}
    assert r.macs == M * N * K == int(r.active_pes.sum())


@settings(max_examples=15)
@given(M=st.integers(1, 6), N=st.integers(1, 6), K=st.integers(1, 6), R=st.integers(1, 4),
       C=st.integers(1, 4), df=DF, seed=st.integers(0, 2**16))
def test_vectorised_equals_reference_register_by_register(M, N, K, R, C, df, seed):
    A, B = _ab(seed, M, N, K)
    ref = emulate_reference(A, B, R, C, df, trace=True)
    fast = emulate(A, B, R, C, df, trace=True)
    np.testing.assert_array_equal(ref.output, fast.output)
    np.testing.assert_array_equal(ref.active_pes, fast.active_pes)
    np.testing.assert_array_equal(ref.pe_macs, fast.pe_macs)
    assert ref.accesses == fast.accesses and ref.cycles == fast.cycles
    assert len(ref.trace) == len(fast.trace) == ref.cycles
    for a, b in zip(ref.trace, fast.trace):
        for key in ("a", "b", "acc"):
            np.testing.assert_array_equal(a[key], b[key])


def test_float_operands_and_8x8_array():
    rng = np.random.default_rng(3)
    A, B = rng.normal(size=(20, 13)), rng.normal(size=(13, 17))
    for df in ("os", "ws", "is"):
        np.testing.assert_allclose(emulate(A, B, 8, 8, df).output, A @ B, rtol=1e-12, atol=1e-12)


def test_os_meeting_time_is_k_plus_i_plus_j():
    A, B = np.ones((4, 3), int), np.ones((3, 4), int)
    r = emulate(A, B, 4, 4, "os", trace=True)
    # cycle t: PEs with i + j <= t < i + j + K are busy
    for t in range(3 + 4 + 4 - 2):
        busy = sum(1 for i in range(4) for j in range(4) if i + j <= t < i + j + 3)
        assert r.active_pes[t] == busy
    assert r.trace[-1]["acc"].shape == (4, 4)


def test_known_cycle_counts():
    # OS 16x16x16 on 16x16: one fold of 2R + C + T - 2 = 62 cycles; SCALE-Sim says R+C+T-2-1
    assert compute_cycles(16, 16, 16, 16, 16, "os") == 62
    assert compute_cycles(16, 16, 16, 16, 16, "os", scalesim_compat=True) == 45
    assert compute_cycles(10, 10, 10, 4, 4, "ws") == 9 * (8 + 4 + 10 - 2)


@pytest.mark.parametrize("bad", [
    dict(rows=0), dict(cols=-1), dict(dataflow="xs"),
])
def test_bad_input_names_the_value(bad):
    args = dict(A=np.ones((2, 2)), B=np.ones((2, 2)), rows=2, cols=2, dataflow="os")
    args.update(bad)
    key, val = next(iter(bad.items()))
    with pytest.raises(ValueError, match=f"{key} must .*got {val!r}"):
        emulate(**args)


def test_shape_mismatch_is_one_line():
    with pytest.raises(ValueError, match=r"shapes \(2, 3\) and \(2, 2\)"):
        emulate(np.ones((2, 3)), np.ones((2, 2)), 2, 2, "os")


def test_emulated_report_matches_closed_form_estimate_on_chip():
    from npulab.hw import ArrayConfig, MemoryConfig, SystolicConfig
    from npulab.systolic import estimate
    from npulab.workloads import Gemm

    A, B = _ab(1, 12, 10, 9)
    rep = emulate(A, B, 4, 4, "ws").to_report()
    est = estimate(Gemm(12, 10, 9), SystolicConfig(ArrayConfig(4, 4, "ws"), MemoryConfig(dram_bytes_per_s=1e15)))
    assert rep.cycles == est.cycles and rep.macs == est.macs
    for key in ("compute", "reg", "sram"):
        assert rep.energy_breakdown_pJ[key] == pytest.approx(est.energy_breakdown_pJ[key])
