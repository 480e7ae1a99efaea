"""Gemm / Conv2d arithmetic, checked against brute-force loops and numpy."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from npulab.workloads import Conv2d, Gemm
from npulab.workloads.layers import bytes_per_element

dims = st.integers(min_value=1, max_value=64)


@given(dims, dims, dims)
def test_gemm_macs_equal_numpy_products(M, N, K):
    # Counting the multiplies numpy's einsum would do, one per (m, n, k).
    assert Gemm(M, N, K).macs == np.ones((M, N, K)).size


def test_gemm_bytes_and_intensity():
    g = Gemm(M=128, N=256, K=64)
    assert g.operand_bytes("int8") == {"ifmap": 8192.0, "filter": 16384.0, "ofmap": 32768.0}
    assert g.total_bytes("fp16") == 2 * (128 * 64 + 64 * 256 + 128 * 256)
    assert g.total_bytes("int8", out_precision="int32") == 128 * 64 + 64 * 256 + 4 * 128 * 256
    assert g.arithmetic_intensity("int8") == pytest.approx(2 * g.macs / 57344)


def _conv_macs_by_loops(H, W, Fh, Fw, C, K, S):
    macs = 0
    for _k in range(K):
        for _y in range(0, H - Fh + 1, S):
            for _x in range(0, W - Fw + 1, S):
                macs += Fh * Fw * C
    return macs


@given(st.integers(1, 12), st.integers(1, 12), st.integers(1, 4), st.integers(1, 4),
       st.integers(1, 3), st.integers(1, 3), st.integers(1, 3))
def test_conv_macs_equal_the_loop_nest(H, W, Fh, Fw, C, K, S):
    if Fh > H or Fw > W:
        return
    c = Conv2d(H, W, Fh, Fw, C, K, S)
    assert c.macs == _conv_macs_by_loops(H, W, Fh, Fw, C, K, S)
    assert c.to_gemm().macs == c.macs  # im2col keeps every MAC


@given(st.integers(1, 40), st.integers(1, 7), st.integers(1, 4))
def test_scalesim_output_size_rounds_up(H, Fh, S):
    if Fh > H:
        return
    c = Conv2d(H, H, Fh, Fh, 1, 1, S)
    e = math.ceil((H - Fh + S) / S)
    assert c.to_gemm(scalesim=True).M == e * e
    assert e - c.out_h in (0, 1)
    assert (e == c.out_h) == ((H - Fh) % S == 0)


@pytest.mark.parametrize("kwargs, message", [
    (dict(M=0, N=1, K=1), "Gemm.M must be an int >= 1; got 0"),
    (dict(M=1, N=-3, K=1), "Gemm.N must be an int >= 1; got -3"),
    (dict(M=1, N=1, K=2.5), "Gemm.K must be an int >= 1; got 2.5"),
])
def test_bad_gemm_names_the_field(kwargs, message):
    with pytest.raises(ValueError) as err:
        Gemm(**kwargs)
    assert str(err.value) == message


def test_bad_conv_names_the_field():
    with pytest.raises(ValueError, match="Conv2d.stride must be an int >= 1; got 0"):
        Conv2d(8, 8, 3, 3, 1, 1, 0)
    with pytest.raises(ValueError, match=r"Conv2d.filter_h must be <= ifmap_h \(4\); got 5"):
        Conv2d(4, 8, 5, 3, 1, 1)


def test_precision_names_and_errors():
    assert bytes_per_element("int4") == 0.5
    assert bytes_per_element(3) == 3.0
    with pytest.raises(ValueError, match="got 'int7'"):
        bytes_per_element("int7")
    with pytest.raises(ValueError, match="got -1"):
        bytes_per_element(-1)
