"""Narrow floating-point formats (FP8, FP6, FP4): encode real numbers to bit codes and back.

A minifloat with ``E`` exponent bits, ``M`` mantissa bits and bias ``b`` stores sign ``s``,
exponent field ``e`` and mantissa field ``m``::

    value = (-1)^s * 2^(e - b) * (1 + m / 2^M)      if e > 0   (normal)
    value = (-1)^s * 2^(1 - b) * (m / 2^M)          if e == 0  (subnormal)

Encoding rounds to the nearest representable value, ties to even (IEEE 754 roundTiesToEven).
The special codes differ per format (OCP "8-bit Floating Point Specification (OFP8)" rev. 1.0,
2023; OCP "Microscaling Formats (MX) v1.0", 2023):

* ``e4m3`` (E4M3, bias 7): no infinities; only ``S.1111.111`` is NaN, so the top binade is
  usable and the largest value is 448.  Same encoding as ``torch.float8_e4m3fn``.
* ``e5m2`` (E5M2, bias 15): IEEE-like; exponent field 31 holds inf (mantissa 0) and NaN.
  Largest value 57344.  Same encoding as ``torch.float8_e5m2``.
* ``e2m3``, ``e3m2`` (FP6) and ``e2m1`` (FP4), the MX element types: no inf, no NaN.

Overflow: with ``saturate=True`` (the OCP spec's saturating mode, NVIDIA's ``satfinite``)
finite overflows and infinities clamp to the largest finite value; NaN stays NaN.  With
``saturate=False`` (the OCP non-saturating mode) E4M3 overflows to NaN and E5M2 to inf.
torch 2.13's casts pick one mode each: ``x.to(torch.float8_e4m3fn)`` saturates (even inf becomes
448), ``x.to(torch.float8_e5m2)`` does not (overflow becomes inf); the tests check both.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FloatFormat:
    """A sign-exponent-mantissa minifloat.

    Parameters
    ----------
    name : str
    ebits, mbits : int
        Exponent and mantissa field widths (the sign takes one more bit).
    bias : int
        Exponent bias.
    specials : {"ieee", "fn", "none"}
        ``"ieee"``: top exponent field is inf/NaN; ``"fn"``: only all-ones is NaN ("finite");
        ``"none"``: every code is a number.
    """

    name: str
    ebits: int
    mbits: int
    bias: int
    specials: str

    @property
    def bits(self) -> int:
        """Total bits: sign + exponent + mantissa."""
        return 1 + self.ebits + self.mbits

    @property
    def emin(self) -> int:
        """Exponent of the smallest normal number, ``1 - bias``."""
        return 1 - self.bias

    @property
    def emax(self) -> int:
        """Exponent of the largest normal number (the MX spec's ``emax_elem``)."""
        top = 2**self.ebits - 1
        return (top - 1 if self.specials == "ieee" else top) - self.bias

    @property
    def max_value(self) -> float:
        """Largest finite magnitude (448 for E4M3, 57344 for E5M2, 6 for E2M1)."""
        frac_codes = 2**self.mbits - (2 if self.specials == "fn" else 1)  # fn: all-ones is NaN
        return float(2.0**self.emax * (1 + frac_codes / 2**self.mbits))

    @property
    def min_subnormal(self) -> float:
        """Smallest positive (subnormal) value, ``2**(emin - mbits)``."""
        return float(2.0 ** (self.emin - self.mbits))


#: The formats npulab knows (OCP OFP8 rev 1.0 and OCP MX v1.0).
FORMATS = {
    "e4m3": FloatFormat("e4m3", 4, 3, 7, "fn"),
    "e5m2": FloatFormat("e5m2", 5, 2, 15, "ieee"),
    "e3m2": FloatFormat("e3m2", 3, 2, 3, "none"),
    "e2m3": FloatFormat("e2m3", 2, 3, 1, "none"),
    "e2m1": FloatFormat("e2m1", 2, 1, 1, "none"),
}


def get_format(fmt) -> FloatFormat:
    """Look up a :class:`FloatFormat` by name (``"e4m3"``, ``"e5m2"``, ``"e2m1"``, ...)."""
    if isinstance(fmt, FloatFormat):
        return fmt
    if fmt not in FORMATS:
        raise ValueError(f"float format must be one of {sorted(FORMATS)}; got {fmt!r}")
    return FORMATS[fmt]


def round_to_format(x, fmt, saturate: bool = True) -> np.ndarray:
    """Round real values to the nearest value of ``fmt`` (ties to even); float64 result.

    The grid spacing in the binade ``[2^e, 2^(e+1))`` is ``2^(e - M)``, and below the smallest
    normal it stays ``2^(emin - M)`` (subnormals), so ``rint(|x| / spacing) * spacing`` is exact.
    Overflow: see the module docstring.  NaN stays NaN.
    """
    f = get_format(fmt)
    x = np.asarray(x, dtype=np.float64)
    a = np.abs(x)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        _, k = np.frexp(a)  # a = frac * 2^k with frac in [0.5, 1), so floor(log2 a) = k - 1
        e = np.maximum(k - 1, f.emin)
        spacing = np.ldexp(1.0, e - f.mbits)
        r = np.rint(a / spacing) * spacing  # rint: ties to even
        too_big = r > f.max_value
        if saturate or f.specials == "none":
            r = np.where(too_big | np.isinf(a), f.max_value, r)
        elif f.specials == "ieee":
            r = np.where(too_big, np.inf, r)
        else:  # "fn": no infinity, overflow is NaN
            r = np.where(too_big, np.nan, r)
        r = np.where(np.isnan(a), np.nan, r)
    return np.copysign(r, x)


def encode(x, fmt, saturate: bool = True) -> np.ndarray:
    """Encode real values as ``fmt`` bit codes (uint8), rounding to nearest even.

    Parameters
    ----------
    x : array_like of float, any shape
    fmt : str or FloatFormat
    saturate : bool, default True
        Clamp overflows and infinities to the largest finite value (else: inf or NaN).

    Returns
    -------
    ndarray of uint8, same shape: ``sign << (E + M) | exponent << M | mantissa``.

    Examples
    --------
    >>> encode([1.0, -0.5, 6.0, 7.0], "e2m1").tolist()  # -0.5 is subnormal; 7 saturates to 6
    [2, 9, 7, 7]
    """
    f = get_format(fmt)
    x = np.asarray(x, dtype=np.float64)
    r = round_to_format(x, f, saturate)
    sign = np.signbit(x).astype(np.uint8) << (f.ebits + f.mbits)
    a = np.abs(r)
    finite = np.isfinite(a)
    a0 = np.where(finite, a, 0.0)
    _, k = np.frexp(a0)
    is_normal = a0 >= 2.0**f.emin
    exp_field = np.where(is_normal, k - 1 + f.bias, 0)
    mant = np.where(is_normal, np.ldexp(a0, -(k - 1)) - 1.0, np.ldexp(a0, -f.emin))  # in [0, 1)
    mant_field = np.rint(np.ldexp(mant, f.mbits)).astype(np.int64)
    code = (exp_field.astype(np.int64) << f.mbits) | mant_field
    all_ones = 2 ** (f.ebits + f.mbits) - 1
    if f.specials == "ieee":
        inf_code = (2**f.ebits - 1) << f.mbits
        code = np.where(np.isinf(a), inf_code, code)
        code = np.where(np.isnan(a), all_ones, code)
    elif f.specials == "fn":
        code = np.where(np.isnan(a), all_ones, code)
    return (code.astype(np.uint8) | sign).astype(np.uint8)


def decode_table(fmt) -> np.ndarray:
    """Value of every code ``0 .. 2^bits - 1`` (float64), NaN/inf where the format says."""
    f = get_format(fmt)
    codes = np.arange(2**f.bits)
    s = codes >> (f.ebits + f.mbits)
    e = (codes >> f.mbits) & (2**f.ebits - 1)
    m = codes & (2**f.mbits - 1)
    frac = m / 2.0**f.mbits
    val = np.where(e == 0, np.ldexp(frac, f.emin), np.ldexp(1.0 + frac, e - f.bias))
    if f.specials == "ieee":
        top = e == 2**f.ebits - 1
        val = np.where(top & (m == 0), np.inf, np.where(top, np.nan, val))
    elif f.specials == "fn":
        val = np.where((e == 2**f.ebits - 1) & (m == 2**f.mbits - 1), np.nan, val)
    return np.where(s == 1, -val, val)


def decode(codes, fmt) -> np.ndarray:
    """Decode ``fmt`` bit codes (any integer array) to float32 values."""
    f = get_format(fmt)
    codes = np.asarray(codes)
    if codes.size and (codes.min() < 0 or codes.max() >= 2**f.bits):
        raise ValueError(f"{f.name} codes must be in 0..{2**f.bits - 1}; got {codes.min()}..{codes.max()}")
    return decode_table(f).astype(np.float32)[codes.astype(np.int64)]
