"""Integer kernels of a transformer block: exact where exactness is defined, close to float."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npulab.quant.transformer import (
    IEXP_COEFFS,
    int_exp,
    int_lut,
    int_mul,
    int_rmsnorm,
    int_softmax,
    isqrt,
    lut_table,
    mul_params,
    softmax_params,
)


@given(st.lists(st.integers(0, 2**62 - 1), min_size=1, max_size=20))
def test_isqrt_is_floor_sqrt(ns):
    got = isqrt(np.array(ns, np.int64)).tolist()
    assert got == [math.isqrt(n) for n in ns]


def test_isqrt_rejects_negative_input():
    with pytest.raises(ValueError, match=r"^isqrt: n must be in \[0, 2\^62\)"):
        isqrt([4, -1])


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 700), st.integers(-20, 20))
def test_rmsnorm_is_x_over_rms_times_gain(seed, n, zp):
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, size=(3, n))
    x[:, 0] = np.where(x[:, 0] == zp, zp + 1, x[:, 0])  # no all-zero row
    g = rng.integers(-127, 128, size=n)
    acc = int_rmsnorm(x, zp, g)
    xc = (x - zp).astype(np.float64)
    want = xc / np.sqrt((xc**2).mean(axis=1, keepdims=True)) * g * 2.0**16
    # rms has 8 fractional bits: relative error <= 1/(2 rms 2^8) + rounding of the quotient
    rms = np.sqrt((xc**2).mean(axis=1, keepdims=True))
    tol = np.abs(want) * (1.0 / (rms * 2**8)) + np.abs(g) + 1
    assert np.all(np.abs(acc - want) <= tol)
    assert np.abs(acc).max() < 2**31


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(1e-4, 0.05))
def test_int_exp_is_close_to_exp(seed, scale):
    params = softmax_params(scale)
    x = -np.random.default_rng(seed).integers(0, int(8 / scale), size=50)
    a = IEXP_COEFFS[0]
    got = int_exp(x, params) * a * scale * scale
    want = np.exp(x * scale)
    assert np.all(np.abs(got - want) <= 0.01 * want + 4 * a * scale)  # I-BERT's fit: < 1e-2


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 24), st.floats(1e-3, 0.05),
       st.booleans())
def test_softmax_is_close_to_float_and_sums_to_127(seed, n, scale, causal):
    q = np.random.default_rng(seed).integers(-3000, 3000, size=(n, n))
    p = int_softmax(q, softmax_params(scale), 0 if causal else None)
    s = q * scale
    if causal:
        s = np.where(np.tri(n, dtype=bool), s, -np.inf)
    f = np.exp(s - s.max(axis=1, keepdims=True))
    f /= f.sum(axis=1, keepdims=True)
    assert p.min() >= 0 and p.max() <= 127
    assert np.abs(p / 127.0 - f).max() <= 0.02
    assert np.all(np.abs(p.sum(axis=1) - 127) <= n)
    if causal:
        assert np.all(p[~np.tri(n, dtype=bool)] == 0)


def test_softmax_params_refuse_a_scale_above_ln2():
    with pytest.raises(ValueError, match=r"^softmax_params: scale must be in \(0, ln 2\]"):
        softmax_params(1.0)


def test_silu_table_is_the_rounded_float_function():
    s_x, z_x, s_y, z_y = 0.05, 3, 0.03, -100
    table = lut_table(lambda v: v / (1 + np.exp(-v)), s_x, z_x, s_y, z_y)
    x = np.arange(-128, 128)
    y = int_lut(x, table)
    real = (x - z_x) * s_x
    want = np.clip(np.round(real / (1 + np.exp(-real)) / s_y) + z_y, -128, 127)
    assert np.array_equal(y, want)
    with pytest.raises(ValueError, match=r"^int_lut: inputs must be int8"):
        int_lut([200], table)


@given(st.lists(st.tuples(st.integers(-128, 127), st.integers(-128, 127)), min_size=1,
                max_size=40), st.floats(0.001, 0.1), st.floats(0.001, 0.1), st.floats(0.01, 1.0))
def test_int_mul_is_the_rounded_real_product(pairs, sa, sb, sy):
    a, b = np.array(pairs).T
    p = mul_params(sa, 2, sb, -3, sy, 5)
    got = int_mul(a, b, p)
    want = np.clip(np.round((a - 2) * sa * (b + 3) * sb / sy) + 5, -128, 127)
    assert np.all(np.abs(got - want) <= 1)
