"""npulab.quant.uniform and observers against brevitas 0.13.4 (recorded fixture and live)."""
from __future__ import annotations

import json
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from npulab.quant import (
    MinMaxObserver,
    MovingAverageObserver,
    MSEObserver,
    PercentileObserver,
    QuantSpec,
    error_metrics,
    quantize,
    sqnr_db,
)
from npulab.quant.observers import abs_percentile
from npulab.quant.uniform import round_half

brevitas_nn = pytest.importorskip("brevitas.nn")
from brevitas.quant import (  # noqa: E402
    Int8ActPerTensorFloat,
    Int8WeightPerChannelFloat,
    Int8WeightPerTensorFloat,
    Uint8ActPerTensorFloat,
)


def brevitas_weight(w: np.ndarray, bits: int, per_channel: bool, signed: bool = True,
                    narrow_range: bool = True):
    """ints and scale of brevitas's QuantLinear weight quantizer for ``w`` [out, in]."""
    q = Int8WeightPerChannelFloat if per_channel else Int8WeightPerTensorFloat
    if not signed or not narrow_range:
        q = q.let(signed=signed, narrow_range=narrow_range)
    layer = brevitas_nn.QuantLinear(w.shape[1], w.shape[0], bias=False, weight_quant=q, weight_bit_width=bits)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(w))
    qw = layer.quant_weight()
    return qw.int().numpy(), qw.scale.detach().numpy()


def test_matches_recorded_brevitas_fixture(reference_dir):
    meta = json.loads((reference_dir / "brevitas_weights.json").read_text())
    data = np.load(reference_dir / "brevitas_weights.npz")
    assert len(meta) == 20
    for case in meta:
        i = case["id"]
        qt = quantize(data[f"c{i}_w"], QuantSpec(case["bits"], per_channel=case["per_channel"]))
        np.testing.assert_array_equal(qt.int_repr, data[f"c{i}_int"], err_msg=f"case {i}")
        assert qt.scale.shape == data[f"c{i}_scale"].shape
        assert qt.scale.dtype == np.float32
        np.testing.assert_array_equal(qt.scale, data[f"c{i}_scale"], err_msg=f"case {i}")


weights = arrays(np.float32, st.tuples(st.integers(1, 6), st.integers(1, 9)),
                 elements=st.floats(-4, 4, width=32, allow_subnormal=False))


@settings(max_examples=40)
@given(w=weights, bits=st.integers(2, 8), per_channel=st.booleans(), signed=st.booleans(),
       narrow_range=st.booleans())
def test_live_brevitas_random_weights(w, bits, per_channel, signed, narrow_range):
    """Every QuantSpec option brevitas's weight quantizer has: signed/unsigned, narrow or full
    range (issue 13: full-range signed divides by 2^(b-1); unsigned scales from max|x|)."""
    ints, scale = brevitas_weight(w, bits, per_channel, signed, narrow_range)
    qt = quantize(w, QuantSpec(bits, signed=signed, narrow_range=narrow_range, per_channel=per_channel))
    np.testing.assert_array_equal(qt.int_repr, ints)
    np.testing.assert_array_equal(qt.scale, scale.reshape(qt.scale.shape))
    assert qt.scale.shape == ((w.shape[0], 1) if per_channel else ())


@pytest.mark.parametrize("spec, ints, scale", [
    (QuantSpec(8, narrow_range=False), [[127, -128]], 0.0078125),              # brevitas: / 2^(b-1)
    (QuantSpec(8), [[127, -127]], np.float32(1) / np.float32(127)),
    (QuantSpec(8, signed=False), [[254, 0]], np.float32(1) / np.float32(254)),  # from max|x|
    (QuantSpec(4, signed=False, narrow_range=False), [[15, 0]], np.float32(1) / np.float32(15)),
])
def test_the_two_brevitas_options_on_the_issue_example(spec, ints, scale):
    qt = quantize([[1.0, -1.0]], spec)
    assert qt.int_repr.tolist() == ints and qt.scale == np.float32(scale)
    b_ints, b_scale = brevitas_weight(np.array([[1.0, -1.0]], np.float32), spec.bits, False,
                                      spec.signed, spec.narrow_range)
    assert b_ints.tolist() == ints and float(b_scale) == float(qt.scale)


@pytest.mark.parametrize("bits", [2, 3, 4, 8])
@pytest.mark.parametrize("per_channel", [False, True])
def test_exact_ties_and_zero_channels_match_brevitas(bits, per_channel):
    q_max = 2 ** (bits - 1) - 1
    # max|w| = q_max makes the scale exactly 1.0, so w/s hits .5 ties exactly
    ties = np.arange(q_max) + 0.5  # 0.5, 1.5, ... below q_max
    row = np.concatenate([[q_max], ties, -ties, [0.0]]).astype(np.float32)
    w = np.stack([row, np.zeros_like(row), -row]).astype(np.float32)
    ints, scale = brevitas_weight(w, bits, per_channel)
    qt = quantize(w, QuantSpec(bits, per_channel=per_channel))
    np.testing.assert_array_equal(qt.int_repr, ints)
    np.testing.assert_array_equal(qt.scale, scale.reshape(qt.scale.shape))
    even = 2 * np.round(ties / 2)  # half to even: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2
    expected = np.concatenate([[q_max], even, -even, [0]])
    np.testing.assert_array_equal(qt.int_repr[0], expected)
    assert not qt.int_repr[1].any(), "an all-zero channel quantizes to zeros"
    if per_channel:
        assert qt.scale[1, 0] == np.float32(1e-10) / np.float32(q_max)


@settings(max_examples=10)
@given(seed=st.integers(0, 2**16), signed=st.booleans(), batches=st.integers(1, 4))
def test_percentile_observer_matches_brevitas_activation_quant(seed, signed, batches):
    rng = np.random.default_rng(seed)
    act = brevitas_nn.QuantIdentity(act_quant=Int8ActPerTensorFloat if signed else Uint8ActPerTensorFloat,
                                    return_quant_tensor=True)
    spec = QuantSpec(8, signed=signed, narrow_range=False)
    act.train()
    obs = PercentileObserver()
    for _ in range(batches):
        x = (rng.standard_normal((3, 40)) * rng.uniform(0.1, 5)).astype(np.float32)
        x = x if signed else np.abs(x)
        act(torch.from_numpy(x))
        obs.observe(x)
    act.eval()
    x = (rng.standard_normal((3, 40)) * 2).astype(np.float32)
    out = act(torch.from_numpy(x))
    scale, zp = obs.qparams(spec)
    assert np.float32(out.scale.item()) == scale
    np.testing.assert_array_equal(quantize(x, spec, scale).int_repr, out.int().numpy())


@pytest.mark.parametrize("bits", [2, 5, 8, 12, 16])
@pytest.mark.parametrize("signed,narrow,expected", [
    (True, True, lambda b: (-(2 ** (b - 1)) + 1, 2 ** (b - 1) - 1)),
    (True, False, lambda b: (-(2 ** (b - 1)), 2 ** (b - 1) - 1)),
    (False, False, lambda b: (0, 2**b - 1)),
    (False, True, lambda b: (0, 2**b - 2)),
])
def test_int_range_and_dtype(bits, signed, narrow, expected):
    spec = QuantSpec(bits, signed=signed, narrow_range=narrow)
    assert spec.int_range == expected(bits)
    lo, hi = spec.int_range
    assert np.iinfo(spec.int_dtype).min <= lo and hi <= np.iinfo(spec.int_dtype).max


@given(x=arrays(np.float32, st.integers(2, 50), elements=st.floats(-100, 100, width=32)),
       bits=st.integers(2, 16))
def test_asymmetric_roundtrip_error_is_half_a_step(x, bits):
    spec = QuantSpec(bits, signed=False, symmetric=False, narrow_range=False)
    qt = quantize(x, spec)
    lo, hi = spec.int_range
    assert qt.int_repr.min() >= lo and qt.int_repr.max() <= hi
    err = np.abs(qt.dequantize() - x)
    s = float(qt.scale)
    # inside the range the error is at most half a step (plus float32 slack)
    assert err.max() <= 0.5 * s * (1 + 1e-3) + 1e-6 * np.abs(x).max()
    # real zero is exactly representable
    assert quantize(np.zeros(1, np.float32), spec, qt.scale, qt.zero_point).dequantize()[0] == 0.0


@given(x=arrays(np.float32, st.tuples(st.integers(1, 5), st.integers(1, 5), st.integers(1, 4)),
                elements=st.floats(-10, 10, width=32)),
       axis=st.integers(-3, 2), bits=st.integers(2, 16))
def test_per_channel_scale_shape_and_bounds(x, axis, bits):
    qt = quantize(x, QuantSpec(bits, per_channel=True, axis=axis))
    shape = [1, 1, 1]
    shape[axis % 3] = x.shape[axis]
    assert qt.scale.shape == tuple(shape)
    lo, hi = QuantSpec(bits).int_range
    assert qt.int_repr.min() >= lo and qt.int_repr.max() <= hi
    # symmetric max-abs: every element is inside the range, so error <= half a step
    assert np.all(np.abs(qt.dequantize() - x) <= 0.5 * qt.scale * (1 + 1e-5) + 1e-30)


def test_rounding_modes():
    x = np.array([0.5, 1.5, -0.5, -1.5, 2.7, 127], np.float32)
    spec = dict(bits=8)
    assert quantize(x, QuantSpec(**spec), 1.0).int_repr.tolist() == [0, 2, 0, -2, 3, 127]
    assert quantize(x, QuantSpec(**spec, rounding="half_away"), 1.0).int_repr.tolist() == [1, 2, -1, -2, 3, 127]
    assert quantize(x, QuantSpec(**spec, rounding="floor"), 1.0).int_repr.tolist() == [0, 1, -1, -2, 2, 127]


_DECIMAL_MODES = {"half_even": ROUND_HALF_EVEN, "half_away": ROUND_HALF_UP, "floor": ROUND_FLOOR}


@given(y=arrays(np.float32, st.integers(1, 20), elements=st.floats(-2.0**25, 2.0**25, width=32)),
       rounding=st.sampled_from(sorted(_DECIMAL_MODES)))
def test_round_half_matches_decimal_rounding(y, rounding):
    # Python's decimal rounds the exact binary value: an independent oracle for every mode
    y = np.concatenate([y, np.float32([0.49999997, -0.49999997, 2.5, -2.5, 8388609.0])])
    want = [float(Decimal(float(v)).to_integral_value(rounding=_DECIMAL_MODES[rounding])) for v in y]
    assert round_half(y, rounding).tolist() == want


@pytest.mark.parametrize("kwargs,match", [
    (dict(bits=1), "QuantSpec.bits must be an int in 2..16; got 1"),
    (dict(bits=17), "got 17"),
    (dict(bits=8.0), "got 8.0"),
    (dict(bits=8, rounding="up"), "QuantSpec.rounding"),
])
def test_bad_specs_raise_one_line(kwargs, match):
    with pytest.raises(ValueError, match=match):
        QuantSpec(**kwargs)


def test_bad_inputs_name_the_value():
    x = np.zeros((3, 4), np.float32)
    with pytest.raises(ValueError, match="axis must be inside a 2-D tensor; got 2"):
        quantize(x, QuantSpec(8, per_channel=True, axis=2))
    x[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"at index \(1, 2\)"):
        quantize(x, QuantSpec(8))
    with pytest.raises(ValueError, match="inf"):
        quantize(np.array([1.0, np.inf]), QuantSpec(8))
    with pytest.raises(ValueError, match="scale must be finite and > 0"):
        quantize(np.ones(2), QuantSpec(8), scale=0.0)


def test_sqnr_grows_about_6db_per_bit():
    x = np.random.default_rng(0).uniform(-1, 1, 100_000).astype(np.float32)
    s = [sqnr_db(x, quantize(x, QuantSpec(b)).dequantize()) for b in range(4, 12)]
    # full-scale uniform signal, step 1/q_max: SQNR = 10 log10((1/3) / (step^2 / 12)) = 20 log10(2 q_max)
    theory = [20 * np.log10(2 * (2 ** (b - 1) - 1)) for b in range(4, 12)]
    np.testing.assert_allclose(s, theory, atol=0.1)
    assert np.all(np.abs(np.diff(s)[3:] - 6.02) < 0.1), "about 6 dB per bit once 2^b >> 1"
    m = error_metrics(x, quantize(x, QuantSpec(8)).dequantize())
    assert m["max_abs"] <= 0.5 / 127 + 1e-7 and m["sqnr_db"] == pytest.approx(s[4])


def test_observers():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(10_000).astype(np.float32)
    x[0] = 40.0  # one outlier
    spec = QuantSpec(8)
    s_minmax, _ = MinMaxObserver().observe(x).qparams(spec)
    assert s_minmax == np.float32(40.0) / np.float32(127)
    spec4 = QuantSpec(4)
    s_max4, _ = MinMaxObserver().observe(x).qparams(spec4)
    s_mse, _ = MSEObserver().observe(x).qparams(spec4)
    assert s_mse < s_max4 / 2, "at 4 bits the MSE range clips the outlier"
    err = lambda s: np.mean((quantize(x, spec4, s).dequantize() - x) ** 2)  # noqa: E731
    assert err(s_mse) < err(s_max4) / 2
    assert abs_percentile(np.arange(1, 101, dtype=np.float32), 50) == 50.0
    ema = MovingAverageObserver(momentum=0.5).observe([0.0, 1.0]).observe([0.0, 3.0])
    assert ema.max_val == 2.0 and ema.min_val == 0.0
    with pytest.raises(ValueError, match="observe at least one batch"):
        PercentileObserver().qparams(spec)
    with pytest.raises(ValueError, match="index"):
        MinMaxObserver().observe([1.0, np.nan])
