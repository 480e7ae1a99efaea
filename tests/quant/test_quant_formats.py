"""FP8 against torch's float8 dtypes; MX per the OCP MX v1.0 rules; group-wise; bytes per param."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from npulab.quant import (
    bytes_per_param,
    fp8_decode,
    fp8_encode,
    fp8_round,
    mx_quantize,
    quantize_groupwise,
)
from npulab.quant.minifloat import FORMATS, decode_table

TORCH = {"e4m3": torch.float8_e4m3fn, "e5m2": torch.float8_e5m2}
MAX = {"e4m3": 448.0, "e5m2": 57344.0}


def torch_codes(x: np.ndarray, fmt: str) -> np.ndarray:
    return torch.from_numpy(np.asarray(x, np.float32)).to(TORCH[fmt]).view(torch.uint8).numpy()


@pytest.mark.parametrize("fmt", ["e4m3", "e5m2"])
def test_fp8_decode_all_256_codes_like_torch(fmt):
    codes = np.arange(256, dtype=np.uint8)
    ref = torch.from_numpy(codes).view(TORCH[fmt]).float().numpy()
    mine = fp8_decode(codes, fmt)
    assert mine.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(mine), np.isnan(ref))
    ok = ~np.isnan(ref)
    np.testing.assert_array_equal(mine[ok].view(np.uint32), ref[ok].view(np.uint32))  # incl. -0.0
    assert np.nanmax(mine[np.isfinite(mine)]) == MAX[fmt]


@pytest.mark.parametrize("fmt", ["e4m3", "e5m2"])
def test_fp8_encode_roundtrips_every_code(fmt):
    codes = np.arange(256, dtype=np.uint8)
    values = fp8_decode(codes, fmt)
    ok = ~np.isnan(values)
    np.testing.assert_array_equal(fp8_encode(values[ok], fmt, saturate=False), codes[ok])
    np.testing.assert_array_equal(fp8_encode(values[ok], fmt, saturate=False), torch_codes(values[ok], fmt))
    assert np.isnan(fp8_decode(fp8_encode(np.float32("nan"), fmt), fmt))


@pytest.mark.parametrize("fmt", ["e4m3", "e5m2"])
def test_fp8_ties_round_to_even_like_torch(fmt):
    v = decode_table(fmt)
    v = np.sort(v[np.isfinite(v)])
    mids = ((v[:-1] + v[1:]) / 2).astype(np.float32)  # exact midpoints between neighbours
    mine = fp8_encode(mids, fmt, saturate=fmt == "e4m3")
    np.testing.assert_array_equal(mine, torch_codes(mids, fmt))
    assert np.all(fp8_encode(mids[mids > 0], fmt) % 2 == 0), "ties go to the even mantissa"


floats = st.floats(width=32, allow_nan=True, allow_infinity=True)


@settings(max_examples=50)
@given(x=arrays(np.float32, st.integers(1, 64), elements=floats))
def test_fp8_encode_random_values_like_torch(x):
    # torch's e4m3fn cast saturates (our saturate=True); its e5m2 cast overflows to inf (saturate=False)
    np.testing.assert_array_equal(fp8_encode(x, "e4m3", saturate=True), torch_codes(x, "e4m3"))
    np.testing.assert_array_equal(fp8_encode(x, "e5m2", saturate=False), torch_codes(x, "e5m2"))
    fin = x[np.isfinite(x)]
    for fmt in ("e4m3", "e5m2"):
        clamped = np.clip(fin, -MAX[fmt], MAX[fmt])
        np.testing.assert_array_equal(fp8_encode(fin, fmt, saturate=True), torch_codes(clamped, fmt))


@settings(max_examples=30)
@given(x=arrays(np.float32, st.integers(1, 64), elements=st.floats(-2.0**-6, 2.0**-6, width=32)))
def test_fp8_subnormals_like_torch(x):
    for fmt in ("e4m3", "e5m2"):
        np.testing.assert_array_equal(fp8_encode(x, fmt, saturate=False), torch_codes(x, fmt))


def test_fp8_saturation_and_specials():
    big = np.array([500.0, 1e9, np.inf, -np.inf], np.float32)
    assert fp8_decode(fp8_encode(big, "e4m3"), "e4m3").tolist() == [448.0, 448.0, 448.0, -448.0]
    assert np.isnan(fp8_decode(fp8_encode(big, "e4m3", saturate=False), "e4m3")).all()
    assert fp8_decode(fp8_encode(big, "e5m2", saturate=False), "e5m2").tolist() == [512.0, np.inf, np.inf, -np.inf]
    assert fp8_decode(fp8_encode(np.float32(1e9), "e5m2"), "e5m2") == 57344.0
    assert fp8_decode(fp8_encode(2.0**-9, "e4m3"), "e4m3") == 2.0**-9  # smallest E4M3 subnormal
    assert fp8_round(2.0**-11, "e4m3") == 0.0  # below half the smallest subnormal
    assert fp8_encode(-0.0, "e4m3") == 0x80
    with pytest.raises(ValueError, match="fp8 fmt must be one of"):
        fp8_encode(1.0, "e3m4")
    with pytest.raises(ValueError, match="codes must be in 0..255"):
        fp8_decode([256], "e4m3")


def test_element_formats_have_spec_ranges():
    # OCP MX v1.0 table 2 / OFP8: max normal, and emax of each element type
    assert {k: f.max_value for k, f in FORMATS.items()} == {
        "e4m3": 448.0, "e5m2": 57344.0, "e3m2": 28.0, "e2m3": 7.5, "e2m1": 6.0}
    assert {k: f.emax for k, f in FORMATS.items()} == {"e4m3": 8, "e5m2": 15, "e3m2": 4, "e2m3": 2, "e2m1": 2}
    assert sorted(set(np.abs(decode_table("e2m1")))) == [0, 0.5, 1, 1.5, 2, 3, 4, 6]


def test_mx_worked_examples():
    # MXFP4: max|V| = 6 -> E = floor(log2 6) - emax(E2M1)=2 -> 0, X = 1; 5 is a tie between 4 and 6 -> 4
    t = mx_quantize(np.array([6.0, 5.0, -0.75, 0.2] + [0.0] * 28), "mxfp4")
    assert t.scale_e8m0.tolist() == [127] and t.elements[:4].tolist() == [6.0, 4.0, -1.0, 0.0]
    # max 7 -> X = 1 too, and 7 saturates to the E2M1 maximum 6
    t = mx_quantize(np.array([7.0] + [1.0] * 31), "mxfp4")
    assert t.dequantize()[0] == 6.0 and float(t.scale[0]) == 1.0
    # max 8 -> E = 3 - 2 = 1, X = 2
    t = mx_quantize(np.array([8.0, 5.0] + [0.0] * 30), "mxfp4")  # 5/2 = 2.5: tie -> 2
    assert float(t.scale[0]) == 2.0 and t.dequantize()[:2].tolist() == [8.0, 4.0]
    # MXINT8: elements are int8 with an implicit 2^-6; max 1.0 -> X = 1
    t = mx_quantize(np.array([1.0, 0.5, -0.3] + [0.0] * 29), "mxint8")
    assert t.codes[:3].tolist() == [64, 32, -19] and t.dequantize()[2] == np.float32(-19 / 64)
    # MXFP8 (E4M3): max 1.0 -> E = 0 - 8 = -8, element = 256
    t = mx_quantize(np.ones(32), "mxfp8")
    assert t.scale_e8m0[0] == 127 - 8 and t.elements[0] == 256.0
    # all-zero block: smallest scale, zero elements
    t = mx_quantize(np.zeros((2, 64)), "mxfp6")
    assert t.scale_e8m0.shape == (2, 2) and not t.scale_e8m0.any() and not t.dequantize().any()


@settings(max_examples=30)
@given(x=arrays(np.float32, st.tuples(st.integers(1, 3), st.sampled_from([32, 64])),
                elements=st.floats(-1e4, 1e4, width=32)),
       fmt=st.sampled_from(["mxint8", "mxfp8", "mxfp6", "mxfp4", "mxfp8_e5m2", "mxfp6_e3m2"]))
def test_mx_scale_is_the_blocks_power_of_two(x, fmt):
    t = mx_quantize(x, fmt)
    blocks = x.reshape(x.shape[0], -1, 32)
    amax = np.abs(blocks).max(-1)
    X = t.scale
    assert np.all((X == 2.0 ** np.round(np.log2(X))))  # a power of two
    from npulab.quant.mx import MX_FORMATS, element_emax
    emax = element_emax(MX_FORMATS[fmt])
    nz = amax > 2.0**-100
    ratio = amax[nz] / X[nz]  # max|V| / X in [2^emax, 2^(emax+1))
    assert np.all((ratio >= 2.0**emax) & (ratio < 2.0 ** (emax + 1)))
    # error per element: within the element grid's resolution relative to the block max
    err = np.abs(t.dequantize() - x).reshape(blocks.shape).max(-1)
    assert np.all(err <= amax * 0.51 + 1e-30)


def test_mx_errors():
    with pytest.raises(ValueError, match="block_size 32 must divide the last dimension; got 40"):
        mx_quantize(np.zeros(40), "mxfp4")
    with pytest.raises(ValueError, match="MX fmt must be one of"):
        mx_quantize(np.zeros(32), "mxfp5")
    with pytest.raises(ValueError, match="index"):
        mx_quantize(np.full(32, np.nan), "mxfp8")


@pytest.mark.parametrize("bits", [4, 8])
def test_groupwise_smaller_groups_less_error(bits):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((16, 256)).astype(np.float32) * rng.uniform(0.1, 3, (1, 256)).astype(np.float32)
    errs = []
    for g in (128, 64, 32):
        gq = quantize_groupwise(w, bits, g)
        assert gq.scale.shape == (16, 256 // g) and gq.int_repr.shape == w.shape
        lo, hi = gq.spec.int_range
        assert gq.int_repr.min() >= lo and gq.int_repr.max() <= hi
        errs.append(np.mean((gq.dequantize() - w) ** 2))
    assert errs[0] > errs[1] > errs[2]
    asym = quantize_groupwise(w, bits, 32, symmetric=False)
    assert asym.int_repr.min() >= 0 and np.mean((asym.dequantize() - w) ** 2) < errs[0]
    with pytest.raises(ValueError, match="group_size 48 must divide the input dimension 256"):
        quantize_groupwise(w, bits, 48)


def test_bytes_per_param():
    assert [bytes_per_param(f) for f in ("fp32", "fp16", "bf16", "int8", "int4", "fp8_e4m3", "fp8_e5m2")] == \
        [4.0, 2.0, 2.0, 1.0, 0.5, 1.0, 1.0]
    assert bytes_per_param("int4", group_size=128) == 0.5 + 2 / 128
    assert bytes_per_param("int4", group_size=32) == 0.5625
    assert bytes_per_param("int8", group_size=64) == 1 + 2 / 64
    assert {f: bytes_per_param(f) for f in ("mxint8", "mxfp8", "mxfp6", "mxfp4")} == \
        {"mxint8": 1.03125, "mxfp8": 1.03125, "mxfp6": 0.78125, "mxfp4": 0.53125}
    with pytest.raises(ValueError, match="fmt must be one of"):
        bytes_per_param("int3")
    with pytest.raises(ValueError, match="group_size applies to int4/int8/MX formats, not 'fp16'"):
        bytes_per_param("fp16", group_size=32)
    with pytest.raises(ValueError, match="group_size must be an int >= 1 or None; got 0"):
        bytes_per_param("int4", group_size=0)
