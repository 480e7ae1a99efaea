"""Integer-only kernels: fixed-point requantization, int GEMM/conv, overflow, digits models."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from npulab.quant import (
    QuantSpec,
    accumulator_bits,
    int_conv2d,
    int_matmul,
    int_matmul_fast,
    multiply_by_quantized_multiplier,
    quantize,
    quantize_multiplier,
    requantize,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
)

int32s = st.integers(-(2**31), 2**31 - 1)


@given(m=st.floats(1e-9, 1e4))
def test_quantize_multiplier_is_q31_times_power_of_two(m):
    m0, shift = quantize_multiplier(m)
    assert 2**30 <= int(m0) < 2**31
    approx = int(m0) * 2.0**-31 * 2.0 ** -int(shift)
    assert abs(approx - m) <= m * 2.0**-31


@given(a=int32s, b=int32s)
def test_srdhm_rounds_half_up(a, b):
    got = int(saturating_rounding_doubling_high_mul(np.int32(a), np.int32(b)))
    if a == b == -(2**31):
        assert got == 2**31 - 1
    else:
        assert got == math.floor((2 * a * b + 2**31) / 2**32) == (2 * a * b + 2**31) // 2**32


@given(x=int32s, e=st.integers(0, 31))
def test_rounding_divide_by_pot_ties_away_from_zero(x, e):
    expected = int(math.copysign((abs(x) * 2 + 2**e) // 2 ** (e + 1), x)) if x else 0
    assert int(rounding_divide_by_pot(np.int32(x), e)) == expected


@given(acc=st.integers(-(2**24), 2**24), m=st.floats(1e-6, 0.99))
def test_multiplier_matches_real_product_within_one(acc, m):
    m0, shift = quantize_multiplier(m)
    got = int(multiply_by_quantized_multiplier(np.int32(acc), m0, shift))
    # two roundings (gemmlowp's known double rounding): half a step of 2^-shift, then half a step
    assert abs(got - acc * m) <= 0.5 + 0.5 * 2.0 ** -int(shift) + abs(acc) * m * 2.0**-30 + 1e-9


def test_double_rounding_example():
    m0, shift = quantize_multiplier(0.25)  # 1 * 0.25 = 0.25 should round to 0 ...
    assert int(multiply_by_quantized_multiplier(np.int32(1), m0, shift)) == 1  # ... gemmlowp gives 1


def test_requantize_folds_relu_and_saturates():
    m0, shift = quantize_multiplier(0.5)
    acc = np.array([-1000, -3, 3, 200, 1000], np.int32)
    assert requantize(acc, m0, shift, 0, -128, 127).tolist() == [-128, -1, 2, 100, 127]  # -1.5 -> -1, 1.5 -> 2
    assert requantize(acc, m0, shift, 0, 0, 255, relu=True).tolist() == [0, 0, 2, 100, 255]
    assert requantize(acc, m0, shift, 10, 0, 255, relu=True).tolist() == [10, 10, 12, 110, 255]


mats = st.integers(1, 6).flatmap(lambda k: st.tuples(
    arrays(np.int8, st.tuples(st.integers(1, 5), st.just(k))),
    arrays(np.int8, st.tuples(st.just(k), st.integers(1, 5)))))


@given(ab=mats)
def test_int_matmul_fast_equals_reference(ab):
    a, b = ab
    ref = int_matmul(a, b)
    np.testing.assert_array_equal(int_matmul_fast(a, b), ref)
    np.testing.assert_array_equal(ref, a.astype(np.int64) @ b.astype(np.int64))
    assert ref.dtype == np.int32


def test_fast_path_chunks_long_k_exactly():
    rng = np.random.default_rng(0)
    a = rng.integers(-128, 128, (3, 5000), dtype=np.int8)
    b = rng.integers(-128, 128, (5000, 4), dtype=np.int8)
    np.testing.assert_array_equal(int_matmul_fast(a, b), int_matmul(a, b))


@settings(max_examples=30)
@given(ab=st.integers(1, 6).flatmap(lambda k: st.tuples(
    arrays(np.int16, st.tuples(st.integers(1, 4), st.just(k))),
    arrays(np.int16, st.tuples(st.just(k), st.integers(1, 4))))))
def test_int_matmul_fast_equals_reference_for_int16_operands(ab):
    # one int16 x int16 product can reach 2^30, beyond float32's exact integers (2^24)
    a, b = ab
    np.testing.assert_array_equal(int_matmul_fast(a, b, acc_bits=64), int_matmul(a, b, acc_bits=64))
    np.testing.assert_array_equal(int_matmul_fast(a, b), int_matmul(a, b))


def test_int_matmul_fast_is_exact_when_one_product_exceeds_2_pow_24():
    a, b = np.array([[32767, 3]], np.int16), np.array([[32767], [1]], np.int16)
    assert int(int_matmul_fast(a, b, acc_bits=64)[0, 0]) == 32767 * 32767 + 3


def test_int32_accumulator_overflow_is_where_the_math_says():
    # worst case -128 * -128 = 2^14 per term; int32 holds 2^31 - 1: K = 131071 fits, 131072 does not
    assert accumulator_bits(131071) == 32 and accumulator_bits(131072) == 33
    for K, expect_wrap in ((131071, False), (131072, True)):
        a = np.full((1, K), -128, np.int8)
        b = np.full((K, 1), -128, np.int8)
        exact = K * 2**14
        got = int(int_matmul(a, b)[0, 0])
        assert got == (exact if not expect_wrap else exact - 2**32)
        assert int(int_matmul_fast(a, b)[0, 0]) == got
        assert int(int_matmul(a, b, overflow="saturate")[0, 0]) == min(exact, 2**31 - 1)
        assert int(int_matmul(a, b, acc_bits=64)[0, 0]) == exact
    with pytest.raises(ValueError, match="accumulator overflow"):
        int_matmul(a, b, overflow="raise")
    # narrow-range weights (|w| <= 127) push the limit to floor((2^31 - 1) / (128 * 127)) = 132104
    a = np.full((1, 132105), -128, np.int8)
    assert int(int_matmul(a, np.full((132105, 1), 127, np.int8))[0, 0]) > 0  # wrapped past -2^31


@settings(max_examples=20)
@given(n=st.integers(1, 2), c=st.integers(1, 3), k=st.integers(1, 4), hw=st.integers(3, 7),
       r=st.sampled_from([1, 3]), stride=st.integers(1, 2), pad=st.integers(0, 1),
       zp=st.integers(0, 20), seed=st.integers(0, 1000))
def test_int_conv2d_equals_torch_conv(n, c, k, hw, r, stride, pad, zp, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, c, hw, hw), dtype=np.uint8)
    w = rng.integers(-127, 128, (k, c, r, r), dtype=np.int8)
    ref = torch.nn.functional.conv2d(torch.from_numpy(x.astype(np.float64) - zp),
                                     torch.from_numpy(w.astype(np.float64)), stride=stride, padding=pad)
    for fast in (True, False):
        got = int_conv2d(x, w, stride, pad, x_zero_point=zp, fast=fast)
        np.testing.assert_array_equal(got, ref.numpy().astype(np.int64))


@settings(max_examples=20)
@given(seed=st.integers(0, 10_000), relu=st.booleans())
def test_integer_layer_matches_float_math(seed, relu):
    from npulab.quant import IntegerLayer
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((6, 10)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    x = rng.uniform(0, 1, (4, 10)).astype(np.float32)
    wq = quantize(w, QuantSpec(8, per_channel=True))
    x_spec, y_spec = QuantSpec(8, signed=False, narrow_range=False), QuantSpec(8, signed=not relu, narrow_range=False)
    xq = quantize(x, x_spec, np.float32(1 / 255))
    y_scale = np.float32(0.05)
    layer = IntegerLayer.from_float("linear", wq.int_repr, wq.scale, b, 1 / 255, 0, y_scale, 0, y_spec, relu)
    got = layer(xq.int_repr)
    real = xq.dequantize() @ wq.dequantize().T + b
    if relu:
        real = np.maximum(real, 0)
    want = np.clip(np.rint(real / y_scale), *y_spec.int_range)
    assert np.abs(got - want).max() <= 1  # bias and multiplier rounding move at most one step
    assert np.mean(got == want) > 0.9


@pytest.fixture(scope="module")
def digits():
    from npulab import datasets
    return datasets.load_digits()


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
@pytest.mark.parametrize("bits", [8, 4])
def test_integer_digits_model_matches_fake_quant_accuracy(digits, kind, bits):
    from npulab import datasets
    from npulab.quant import calibrate, prepare_qat, to_integer
    x_tr, _, x_te, y_te = digits
    qat = calibrate(prepare_qat(datasets.digits_model(kind), w_bits=bits, a_bits=bits), x_tr)
    with torch.no_grad():
        fq_logits = qat(torch.from_numpy(x_te)).numpy()
    acc_fq = np.mean(fq_logits.argmax(1) == y_te)
    im = to_integer(qat)
    ints = im(x_te)
    assert ints.dtype == np.int32
    lo, hi = QuantSpec(bits, narrow_range=False).int_range
    assert ints.min() >= lo and ints.max() <= hi
    assert abs(im.accuracy(x_te, y_te) - acc_fq) <= 0.005
    # logits agree to one step almost everywhere
    diff = np.abs(np.rint(fq_logits / im.output_scale) - ints)
    assert diff.max() <= 1 and diff.mean() < 0.05
    if bits == 8:
        assert im.accuracy(x_te, y_te) > 0.95
    _, trace = im.forward_int(im.quantize_input(x_te[:2]), trace=True)
    assert all(t.dtype.kind in "iu" for t in trace), "every step stays integer"


def test_to_integer_needs_calibration():
    from npulab import datasets
    from npulab.quant import prepare_qat, to_integer
    with pytest.raises(ValueError, match="calibrated FakeQuantize"):
        to_integer(prepare_qat(datasets.digits_model("mlp")))
