"""Bit slicing is exact when the ADC resolves every column; tiling; the cost model."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npulab.hw import CrossbarConfig, EnergyTable
from npulab.pim import IOConfig, bit_sliced_mvm, estimate, tiled_mvm
from npulab.workloads import Conv2d, Gemm


@settings(max_examples=30)
@given(seed=st.integers(0, 2**31 - 1), rows=st.integers(2, 16), n_in=st.integers(1, 40),
       n_out=st.integers(1, 9), bpc=st.integers(1, 4), dac=st.integers(1, 3))
def test_bit_sliced_mvm_is_exact_with_enough_adc_bits(seed, rows, n_in, n_out, bpc, dac):
    need = math.ceil(math.log2(rows * (2**dac - 1) * (2**bpc - 1) + 1))
    xb = CrossbarConfig(rows=rows, cols=64, bits_per_cell=bpc, weight_bits=6, input_bits=6,
                        dac_bits=min(dac, 6), adc_bits=min(need, 16))
    rng = np.random.default_rng(seed)
    W = rng.integers(-63, 64, (n_out, n_in))
    x = rng.integers(0, 64, (3, n_in))
    r = bit_sliced_mvm(W, x, xb)
    np.testing.assert_array_equal(r.y, x @ W.T)
    assert r.adc_clipped == 0
    assert r.row_tiles == math.ceil(n_in / rows)
    assert r.adc_conversions == 3 * r.row_tiles * xb.input_cycles * n_out * xb.slices * 2


def test_too_few_adc_bits_lose_precision():
    xb = CrossbarConfig(rows=64, cols=64, adc_bits=3)
    rng = np.random.default_rng(0)
    W, x = rng.integers(-255, 256, (4, 64)), rng.integers(0, 256, (2, 64))
    r = bit_sliced_mvm(W, x, xb)
    assert r.adc_clipped > 0 and np.any(r.y != x @ W.T)


def test_tiled_mvm_perfect_equals_matmul_and_tiles_have_own_periphery():
    rng = np.random.default_rng(2)
    W, x = rng.normal(size=(20, 50)), rng.normal(size=(3, 50))
    np.testing.assert_allclose(tiled_mvm(W, x, IOConfig(is_perfect=True), 16, 8), x @ W.T)
    noisy = tiled_mvm(W, x, IOConfig(out_noise=0.0), 16, 8)
    assert np.abs(noisy - x @ W.T).max() < 0.03 * np.abs(x @ W.T).max()


def test_estimate_counts_and_energy_keys():
    xb, e = CrossbarConfig(), EnergyTable()
    r = estimate(Gemm(M=10, N=100, K=300), xb, energy=e)
    d = r.details
    assert r.engine == "pim" and r.macs == 10 * 100 * 300
    assert (d["row_tiles"], d["col_tiles"]) == (3, 7)            # 300/128, 100/(128/8)
    assert d["adc_conversions"] == 10 * 8 * 100 * 8 * 3
    assert d["dac_conversions"] == 10 * 8 * 300 * 7
    assert r.energy_breakdown_pJ["adc"] == pytest.approx(d["adc_conversions"] * e.adc_pJ)
    assert set(r.energy_breakdown_pJ) == {"dac", "adc", "array", "digital", "sram"}
    assert r.latency_s == pytest.approx(10 * 8 * xb.cycle_time_s)
    assert 0 < r.utilization <= 1


def test_estimate_conv_is_its_gemm_and_more_adc_bits_cost_more():
    conv = Conv2d(ifmap_h=10, ifmap_w=10, filter_h=3, filter_w=3, channels=8, num_filters=16)
    xb = CrossbarConfig()
    a, b = estimate(conv, xb), estimate(conv.to_gemm(), xb)
    assert a.energy_pJ == pytest.approx(b.energy_pJ) and a.macs == conv.macs
    cheap = estimate(conv, xb, energy=EnergyTable(adc_pJ=0.5))
    assert cheap.energy_breakdown_pJ["adc"] < a.energy_breakdown_pJ["adc"]


def test_estimate_runs_in_rounds_when_the_chip_has_fewer_arrays_than_tiles():
    from npulab.hw import PimConfig

    g = Gemm(M=10, N=100, K=300)                      # 21 tiles of the default crossbar
    every = estimate(g, PimConfig(num_arrays=None))
    assert every.latency_s == estimate(g, CrossbarConfig()).latency_s
    assert estimate(g, PimConfig(num_arrays=21)).latency_s == every.latency_s
    assert estimate(g, PimConfig(num_arrays=4)).latency_s == pytest.approx(6 * every.latency_s)
    assert estimate(g, PimConfig(num_arrays=4)).energy_pJ == every.energy_pJ


def test_estimate_rejects_other_workloads_and_hardware():
    with pytest.raises(ValueError, match="Gemm or Conv2d"):
        estimate("resnet", CrossbarConfig())
    with pytest.raises(ValueError, match="PimConfig or CrossbarConfig"):
        estimate(Gemm(1, 2, 3), "isaac")
