"""FP8 (OCP OFP8 rev. 1.0): E4M3 and E5M2 codes, the same bits as torch's float8 dtypes.

``fp8_encode`` rounds to nearest, ties to even; ``fp8_decode`` maps the 256 codes back.  The
bit-level rules (bias, subnormals, NaN/inf, saturation) live in :mod:`npulab.quant.minifloat`.

============  =====  ==========  ==========================  ======================
format        bias   max         smallest subnormal          specials
============  =====  ==========  ==========================  ======================
E4M3 (fn)     7      448         2^-9  = 0.001953125         NaN = S.1111.111
E5M2          15     57344       2^-16 = 1.52587890625e-05   inf = S.11111.00, NaN
============  =====  ==========  ==========================  ======================

References
----------
Micikevicius et al., "FP8 Formats for Deep Learning", arXiv:2209.05433 (2022); OCP 8-bit
Floating Point Specification (OFP8) revision 1.0 (2023).
"""
from __future__ import annotations

import numpy as np

from npulab.quant import minifloat

FP8_FORMATS = ("e4m3", "e5m2")


def _check(fmt: str) -> str:
    if fmt not in FP8_FORMATS:
        raise ValueError(f"fp8 fmt must be one of {list(FP8_FORMATS)}; got {fmt!r}")
    return fmt


def fp8_encode(x, fmt: str, saturate: bool = True) -> np.ndarray:
    """Encode real values as FP8 codes.

    Parameters
    ----------
    x : array_like of float, any shape
    fmt : {"e4m3", "e5m2"}
        OCP E4M3 (= ``torch.float8_e4m3fn``) or E5M2 (= ``torch.float8_e5m2``).
    saturate : bool, default True
        True: values beyond the largest finite value (and +-inf) become +-max (448 or 57344).
        False: OCP non-saturating mode: E4M3 overflow is NaN, E5M2 overflow is inf.
        torch 2.13's ``.to(torch.float8_e4m3fn)`` equals ``saturate=True`` and
        ``.to(torch.float8_e5m2)`` equals ``saturate=False``.

    Returns
    -------
    ndarray of uint8, same shape as ``x``

    Examples
    --------
    >>> fp8_encode([1.0, -2.0, 448.0, 1000.0], "e4m3").tolist()
    [56, 192, 126, 126]
    """
    return minifloat.encode(x, _check(fmt), saturate=saturate)


def fp8_decode(codes, fmt: str) -> np.ndarray:
    """Decode FP8 codes (uint8) to float32.

    Examples
    --------
    >>> fp8_decode([56, 192, 126, 127], "e4m3").tolist()
    [1.0, -2.0, 448.0, nan]
    """
    return minifloat.decode(codes, _check(fmt))


def fp8_round(x, fmt: str, saturate: bool = True) -> np.ndarray:
    """Round to the nearest FP8 value and return it as float32 (encode then decode)."""
    return minifloat.round_to_format(x, _check(fmt), saturate).astype(np.float32)
