"""Microscaling (MX) block formats, OCP MX v1.0: 32 narrow elements share one power-of-two scale.

A block of ``k = 32`` values ``V_1..V_k`` is stored as one E8M0 scale ``X = 2^E`` (8 bits, an
exponent with bias 127, no mantissa) and ``k`` elements ``P_i`` in a narrow format, with
``V_i ~= X * P_i``.  The spec's conversion (MX v1.0, section 6.3)::

    E   = floor(log2(max_i |V_i|)) - emax_elem        # shared exponent, clamped to [-127, 127]
    P_i = quantize_elem(V_i / 2^E)                   # round to nearest even, saturate

where ``emax_elem`` is the exponent of the element format's largest normal number:

=======  ===================================  =========  ========================
format   element                              emax_elem  bits / element (+ scale)
=======  ===================================  =========  ========================
MXINT8   int8, implicit scale 2^-6 (1.6 fix)  0          8 + 8/32
MXFP8    E4M3 (or E5M2)                       8 (15)     8 + 8/32
MXFP6    E2M3 (or E3M2)                       2 (4)      6 + 8/32
MXFP4    E2M1                                 2          4 + 8/32
=======  ===================================  =========  ========================

Because ``max|V| / 2^E`` lies in ``[2^emax, 2^(emax+1))``, the largest element can exceed the
element format's maximum (e.g. 7.5 > 6 for E2M1) and then saturates: MX trades a little error
on the block maximum for a scale that costs one byte and multiplies by shifting.

Differences and choices: an all-zero block gets the smallest scale 2^-127 (E8M0 code 0);
MXINT8 elements clamp to [-127, 127] (symmetric, as the Microsoft ``microxcaling`` reference
library does) although int8 could hold -128; NaN/inf input is rejected with a ``ValueError``
(the spec would set the block scale to NaN).

References
----------
OCP Microscaling Formats (MX) Specification v1.0 (2023); Rouhani et al., "Microscaling Data
Formats for Deep Learning", arXiv:2310.10537 (2023).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from npulab.quant import minifloat
from npulab.quant.uniform import check_finite

#: MX format name -> element format ("int8" or a minifloat name).
MX_FORMATS = {
    "mxint8": "int8",
    "mxfp8": "e4m3",
    "mxfp8_e5m2": "e5m2",
    "mxfp6": "e2m3",
    "mxfp6_e3m2": "e3m2",
    "mxfp4": "e2m1",
}
MX_BLOCK = 32
E8M0_BIAS = 127


def element_emax(elem: str) -> int:
    """``emax_elem`` of an element format (0 for MXINT8's 1.6 fixed point)."""
    return 0 if elem == "int8" else minifloat.get_format(elem).emax


def element_bits(fmt: str) -> int:
    """Bits per element of an MX format (8, 6 or 4)."""
    elem = _elem(fmt)
    return 8 if elem == "int8" else minifloat.get_format(elem).bits


def _elem(fmt: str) -> str:
    if fmt not in MX_FORMATS:
        raise ValueError(f"MX fmt must be one of {sorted(MX_FORMATS)}; got {fmt!r}")
    return MX_FORMATS[fmt]


def quantize_element(v, elem: str) -> tuple[np.ndarray, np.ndarray]:
    """Round already-scaled values to an element format: returns ``(codes, values)``.

    int8: ``codes = clamp(rint(v * 64), -127, 127)`` (int8), ``values = codes / 64``.
    minifloat: codes from :func:`minifloat.encode` (saturating), values decoded.
    """
    if elem == "int8":
        codes = np.clip(np.rint(np.asarray(v, np.float64) * 64.0), -127, 127).astype(np.int8)
        return codes, codes.astype(np.float32) / np.float32(64.0)
    codes = minifloat.encode(v, elem, saturate=True)
    return codes, minifloat.decode(codes, elem)


@dataclass(frozen=True, repr=False)
class MXTensor:
    """An MX-quantized tensor, blocks along the last axis.

    Attributes
    ----------
    fmt : str
        ``"mxint8"``, ``"mxfp8"``, ``"mxfp6"``, ``"mxfp4"`` (or the ``_e5m2``/``_e3m2`` variants).
    codes : ndarray, shape (..., n)
        Element codes (int8 for MXINT8, uint8 bit patterns otherwise).
    scale_e8m0 : ndarray of uint8, shape (..., n // block_size)
        Shared exponent codes: the block scale is ``2^(code - 127)``.
    block_size : int
    elements : ndarray of float32, shape (..., n)
        The element values ``P_i`` (decoded codes).
    """

    fmt: str
    codes: np.ndarray
    scale_e8m0: np.ndarray
    block_size: int
    elements: np.ndarray

    @property
    def scale(self) -> np.ndarray:
        """Block scales ``2^(code - 127)`` as float32, shape (..., n_blocks)."""
        return np.ldexp(np.float32(1.0), self.scale_e8m0.astype(np.int32) - E8M0_BIAS).astype(np.float32)

    def dequantize(self) -> np.ndarray:
        """``X * P_i`` for every element (float32, the input's shape)."""
        shp = self.elements.shape
        blocks = self.elements.reshape(*shp[:-1], -1, self.block_size)
        return (blocks * self.scale[..., None]).reshape(shp).astype(np.float32)

    def __repr__(self) -> str:
        return (f"MXTensor({self.fmt}, shape={self.codes.shape}, block_size={self.block_size}, "
                f"scales 2^[{int(self.scale_e8m0.min()) - 127}..{int(self.scale_e8m0.max()) - 127}])")


def mx_quantize(x, fmt: str, block_size: int = MX_BLOCK) -> MXTensor:
    """Quantize ``x`` to an MX format with blocks of ``block_size`` along the last axis.

    Parameters
    ----------
    x : array_like of float, shape (..., n), n divisible by block_size
    fmt : {"mxint8", "mxfp8", "mxfp6", "mxfp4", "mxfp8_e5m2", "mxfp6_e3m2"}
    block_size : int, default 32 (the spec's k)

    Returns
    -------
    MXTensor

    Examples
    --------
    >>> t = mx_quantize(np.array([[6.0, -3.0, 0.5, 0.0] * 8]), "mxfp4")
    >>> float(t.scale[0, 0]), t.elements[0, :4].tolist()
    (1.0, [6.0, -3.0, 0.5, 0.0])
    """
    elem = _elem(fmt)
    x = np.asarray(x, dtype=np.float32)
    check_finite(x, "mx_quantize: x")
    if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)) or block_size < 1:
        raise ValueError(f"mx_quantize: block_size must be an int >= 1; got {block_size!r}")
    n = x.shape[-1] if x.ndim else 1
    if x.ndim == 0 or n % block_size:
        raise ValueError(f"mx_quantize: block_size {block_size} must divide the last dimension; got {n}")
    blocks = x.reshape(*x.shape[:-1], n // block_size, block_size).astype(np.float64)
    amax = np.abs(blocks).max(axis=-1)  # (..., n_blocks)
    _, k = np.frexp(amax)  # amax = f * 2^k, f in [0.5, 1): floor(log2 amax) = k - 1
    shared = np.where(amax > 0, k - 1 - element_emax(elem), -E8M0_BIAS)
    shared = np.clip(shared, -E8M0_BIAS, E8M0_BIAS)
    scaled = np.ldexp(blocks, -shared[..., None])  # V_i / 2^E, exact (power of two)
    codes, values = quantize_element(scaled, elem)
    return MXTensor(fmt=fmt, codes=codes.reshape(x.shape), scale_e8m0=(shared + E8M0_BIAS).astype(np.uint8),
                    block_size=int(block_size), elements=values.reshape(x.shape).astype(np.float32))


def mx_fake_quantize(x, fmt: str, block_size: int = MX_BLOCK) -> np.ndarray:
    """Quantize to MX and back (float32): what the hardware's values look like."""
    return mx_quantize(x, fmt, block_size).dequantize()
