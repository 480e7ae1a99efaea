"""Group-wise weight quantization: one scale per ``group_size`` consecutive weights of a row.

Weight-only LLM quantization (GPTQ, Frantar et al., ICLR 2023; AWQ, Lin et al., MLSys 2024)
stores each output row of a ``[out, in]`` weight as INT4 (or INT8) codes in groups of 32, 64 or
128 along the input dimension, with one scale per group.  A smaller group tracks the local range
better (less error) but stores more scales: ``bits/8 + scale_bytes/group_size`` bytes per weight
(see :func:`npulab.quant.bytes_per_param`).

The quantizer is :func:`npulab.quant.quantize` itself, applied per channel to the weight
reshaped to ``[out * in / g, g]``, so every rule (max-abs scale, narrow range, rounding) is
the same as for per-channel quantization.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from npulab.quant.uniform import QTensor, QuantSpec, quantize

GROUP_SIZES = (32, 64, 128)


@dataclass(frozen=True, repr=False)
class GroupQTensor:
    """A group-wise quantized weight.

    Attributes
    ----------
    int_repr : ndarray of int, shape (out, in)
    scale : ndarray of float32, shape (out, in // group_size)
    zero_point : ndarray of int32, shape (out, in // group_size)
    group_size : int
    spec : QuantSpec
    """

    int_repr: np.ndarray
    scale: np.ndarray
    zero_point: np.ndarray
    group_size: int
    spec: QuantSpec

    def dequantize(self) -> np.ndarray:
        """``(q - z) * s`` with each group's scale (float32, shape (out, in))."""
        out, n = self.int_repr.shape
        g = self.group_size
        q = self.int_repr.reshape(out, n // g, g).astype(np.float32) - self.zero_point[..., None]
        return (q * self.scale[..., None]).reshape(out, n).astype(np.float32)

    def __repr__(self) -> str:
        return (f"GroupQTensor(int{self.spec.bits}, shape={self.int_repr.shape}, "
                f"group_size={self.group_size}, scales={self.scale.shape})")


def quantize_groupwise(w, bits: int = 4, group_size: int = 128, symmetric: bool = True) -> GroupQTensor:
    """Quantize a 2-D weight ``[out, in]`` with one scale per ``group_size`` inputs of a row.

    Parameters
    ----------
    w : array_like of float, shape (out, in)
    bits : int, default 4
    group_size : int, default 128
        Must divide ``in`` (32, 64 and 128 are the usual choices).
    symmetric : bool, default True
        Symmetric signed codes (zero point 0) or asymmetric unsigned codes with a zero point
        per group (as GPTQ/AWQ checkpoints store them).

    Returns
    -------
    GroupQTensor

    Examples
    --------
    >>> w = np.arange(-64, 64, dtype=np.float32).reshape(2, 64)
    >>> g = quantize_groupwise(w, bits=4, group_size=32)
    >>> g.scale.shape, int(g.int_repr.min()), int(g.int_repr.max())
    ((2, 2), -7, 7)
    """
    w = np.asarray(w, dtype=np.float32)
    if w.ndim != 2:
        raise ValueError(f"quantize_groupwise: w must be 2-D [out, in]; got shape {w.shape}")
    if isinstance(group_size, bool) or not isinstance(group_size, (int, np.integer)) or group_size < 1:
        raise ValueError(f"quantize_groupwise: group_size must be an int >= 1; got {group_size!r}")
    out, n = w.shape
    if n % group_size:
        raise ValueError(f"quantize_groupwise: group_size {group_size} must divide the input dimension {n}")
    spec = QuantSpec(bits, signed=symmetric, symmetric=symmetric, narrow_range=symmetric,
                     per_channel=True, axis=0)
    qt: QTensor = quantize(w.reshape(out * n // group_size, group_size), spec)  # one row per group
    shape = (out, n // group_size)
    return GroupQTensor(int_repr=qt.int_repr.reshape(out, n), scale=qt.scale.reshape(shape),
                        zero_point=qt.zero_point.reshape(shape), group_size=int(group_size), spec=spec)
