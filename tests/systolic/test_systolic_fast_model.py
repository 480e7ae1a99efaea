"""The fold-level SCALE-Sim model (``scalesim_folds``) equals the address-set reference.

``simulate_layer`` runs the closed form; ``simulate_layer_reference`` builds the operand and
demand matrices and plays every request through the buffers.  Every report number must be
identical on random GEMMs, convs (overlapping windows, strides that leave rounded-up output
rows empty), depthwise layers, odd arrays and SRAMs small enough to refill many times.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npulab.systolic.scalesim import ScaleSimConfig, expand_depthwise
from npulab.systolic.scalesim_folds import FoldShape, RowClock, simulate_layer
from npulab.systolic.scalesim_model import check_size, simulate_layer_reference
from npulab.workloads import Conv2d, Gemm

arrays = st.tuples(st.sampled_from([1, 2, 3, 4, 5, 7, 8, 16]), st.sampled_from([1, 2, 3, 4, 6, 7, 8, 16]))
srams = st.tuples(st.sampled_from([1, 2, 3, 64]), st.sampled_from([1, 2, 64]), st.sampled_from([1, 2, 64]))
dataflows = st.sampled_from(["os", "ws", "is"])


def _same(layer, R, C, kb, df, mode="CALC"):
    cfg = ScaleSimConfig("t", R, C, *kb, dataflow=df, bandwidth_mode=mode)
    if df == "os" and R == C == 1 and layer.macs == 1:
        with pytest.raises(ValueError, match="0 cycles"):       # SCALE-Sim's count divides by zero
            simulate_layer(layer, cfg)
        return
    fast, ref = simulate_layer(layer, cfg), simulate_layer_reference(layer, cfg)
    assert set(fast) == set(ref)
    for k in ref:
        assert fast[k] == ref[k], (layer, cfg, k, fast[k], ref[k])


@settings(max_examples=60, deadline=None)
@given(M=st.integers(1, 80), N=st.integers(1, 80), K=st.integers(1, 80), arr=arrays, kb=srams, df=dataflows)
def test_gemm_fold_level_equals_address_sets(M, N, K, arr, kb, df):
    _same(Gemm(M, N, K), *arr, kb, df)


@settings(max_examples=60, deadline=None)
@given(H=st.integers(2, 16), extra=st.integers(0, 4), F=st.integers(1, 4), Fw=st.integers(1, 3),
       Ch=st.integers(1, 20), N=st.integers(1, 9), S=st.integers(1, 3), arr=arrays, kb=srams, df=dataflows)
def test_conv_fold_level_equals_address_sets(H, extra, F, Fw, Ch, N, S, arr, kb, df):
    _same(Conv2d(H, H + extra, min(F, H), min(Fw, H + extra), Ch, N, stride=S), *arr, kb, df)


@settings(max_examples=15, deadline=None)
@given(H=st.integers(3, 10), F=st.integers(1, 3), Ch=st.integers(1, 4), S=st.integers(1, 2),
       arr=arrays, df=dataflows)
def test_depthwise_layers_equal_address_sets(H, F, Ch, S, arr, df):
    for layer in expand_depthwise([Conv2d(H, H, F, F, Ch, Ch, stride=S, name="DPconv")]):
        _same(layer, *arr, (1, 1, 1), df)


@settings(max_examples=10, deadline=None)
@given(M=st.integers(1, 24), N=st.integers(1, 24), K=st.integers(1, 24), arr=arrays, df=dataflows)
def test_user_mode_runs_the_reference_rows(M, N, K, arr, df):
    _same(Gemm(M, N, K), *arr, (1, 1, 1), df, mode="USER")


def test_overlapping_conv_with_many_refills_and_passes():
    # 3x3 windows overlap; 1 kB ifmap SRAM refills tens of times; 4 column folds (passes)
    for S in (1, 2):
        _same(Conv2d(12, 13, 3, 3, 16, 30, stride=S), 4, 8, (1, 1, 1), "os")
    _same(Conv2d(6, 6, 3, 3, 40, 20, stride=2), 4, 4, (1, 1, 1), "os")      # passes of 3 blocks


@settings(max_examples=200)
@given(a=st.integers(0, 5), h=st.integers(1, 12), w=st.integers(1, 12), skew=st.booleans())
def test_fold_shape_running_sum_and_its_inverse(a, h, w, skew):
    s = FoldShape(a, h, w, skew)
    demand = np.zeros((a + h + w + 2, w), dtype=int)           # the fold as a 0/1 demand matrix
    for c in range(w):
        demand[a + (c if skew else 0): a + h + (c if skew else 0), c] = 1
    cum = np.concatenate([[0], np.cumsum(demand.sum(axis=1))])
    assert [s.cum(t) for t in range(len(cum))] == cum.tolist()
    for q in range(1, h * w + 1):
        assert s.reach(q) == int(np.searchsorted(cum, q))
    assert s.first_row == np.flatnonzero(demand.sum(axis=1))[0]
    assert s.last_row == np.flatnonzero(demand.sum(axis=1))[-1]


def test_row_clock_matches_the_stall_array():
    clock = RowClock([(2, 3), (5, 1), (9, 4)])
    start = clock.array(12)
    assert start.tolist() == [0, 1, 2, 6, 7, 8, 10, 11, 12, 13, 18, 19]
    assert [clock.start(i) for i in range(12)] == start.tolist()
    assert [clock.out(i) for i in range(12)] == [0, 1, 5, 6, 7, 9, 10, 11, 12, 17, 18, 19]


def test_huge_layers_are_refused_before_allocating():
    cfg = ScaleSimConfig("t", 1, 1)
    with pytest.raises(ValueError, match=r"over the limit of 5e\+07 \(npulab scalesim --max-elements"):
        check_size(Gemm(10**12, 1, 1), cfg)
    with pytest.raises(ValueError, match="array elements"):
        simulate_layer(Conv2d(10**6, 10**6, 3, 3, 1, 1), ScaleSimConfig("t", 32, 32, dataflow="ws"))
    assert simulate_layer(Gemm(64, 64, 64), cfg, max_elements=10**9)["compute_cycles"] > 0
