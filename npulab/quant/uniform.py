"""Uniform (integer) quantization in numpy: the reference path students read.

A real number ``x`` is represented by an integer ``q`` and a scale ``s`` (and a zero point ``z``
for asymmetric ranges)::

    q = clamp(round(x / s) + z, q_min, q_max)          (quantize)
    x_hat = (q - z) * s                                (dequantize)

(Jacob et al., "Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only
Inference", CVPR 2018, eq. 1.)  With the defaults, ``quantize`` reproduces brevitas 0.13.4's
``Int8WeightPerTensorFloat`` (``per_channel=True``: ``Int8WeightPerChannelFloat``) bit for bit:

* the scale is ``max(max|x|, 1e-10) / q_max`` in float32 (brevitas's ``MaxStatsScaling`` with
  ``scaling_min_val = 1e-10``), per tensor or per output channel (``axis=0``);
* the integer range is *narrow*: ``[-(2^(b-1) - 1), 2^(b-1) - 1]`` (``-127..127`` for 8 bits);
* ``x / s`` is a float32 division and rounding is half-to-even (``torch.round``).

Differences from brevitas, each an option here: brevitas fixes rounding to half-even (npulab
also offers ``"half_away"`` as in C's ``round`` and ``"floor"``); brevitas has no 16-bit
weight preset (npulab accepts 2..16 bits); an all-zero channel gets brevitas's scale
``1e-10 / q_max`` so that the division is defined and every integer is 0.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from npulab._validate import one_of

#: Rounding modes of :func:`quantize`: ties to even (brevitas, IEEE), ties away from zero, floor.
ROUNDINGS = ("half_even", "half_away", "floor")
#: brevitas's ``scaling_min_val``: the smallest statistic a scale is computed from.
SCALING_MIN_VAL = 1e-10


@dataclass(frozen=True)
class QuantSpec:
    """How to quantize: bit width, signedness, symmetry, range and granularity.

    Parameters
    ----------
    bits : int
        Bit width of the integers, 2..16.
    signed : bool, default True
        Signed (two's complement) or unsigned integers.
    symmetric : bool, default True
        Zero point fixed at 0 (symmetric) or chosen from the data's min and max (asymmetric).
    narrow_range : bool, default True
        Drop the most negative code (signed: ``-2^(b-1)``) so the range is symmetric; for
        unsigned integers drop the top code (brevitas's convention).
    per_channel : bool, default False
        One scale per slice along ``axis`` instead of one per tensor.
    axis : int, default 0
        The channel axis for ``per_channel`` (0 = output channels of a weight).
    rounding : {"half_even", "half_away", "floor"}, default "half_even"

    Examples
    --------
    >>> QuantSpec(8).int_range
    (-127, 127)
    >>> QuantSpec(4, signed=False, narrow_range=False).int_range
    (0, 15)
    """

    bits: int
    signed: bool = True
    symmetric: bool = True
    narrow_range: bool = True
    per_channel: bool = False
    axis: int = 0
    rounding: str = "half_even"

    def __post_init__(self):
        b = self.bits
        if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or not 2 <= b <= 16:
            raise ValueError(f"QuantSpec.bits must be an int in 2..16; got {b!r}")
        for name in ("signed", "symmetric", "narrow_range", "per_channel"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ValueError(f"QuantSpec.{name} must be a bool; got {getattr(self, name)!r}")
        if isinstance(self.axis, bool) or not isinstance(self.axis, (int, np.integer)):
            raise ValueError(f"QuantSpec.axis must be an int; got {self.axis!r}")
        one_of("QuantSpec", "rounding", self.rounding, ROUNDINGS)

    @property
    def int_range(self) -> tuple[int, int]:
        """``(q_min, q_max)``, the integers this spec can produce."""
        if self.signed:
            q_max = 2 ** (self.bits - 1) - 1
            q_min = -q_max if self.narrow_range else -q_max - 1
        else:
            q_min = 0
            q_max = 2**self.bits - 1 - (1 if self.narrow_range else 0)
        return q_min, q_max

    @property
    def scaling_int(self) -> int:
        """The integer a symmetric scale divides the range by (brevitas 0.13.4's ``IntScaling``).

        ``-q_min`` for signed integers (``2^(b-1) - 1`` with ``narrow_range``, ``2^(b-1)``
        without, so ``max|x|`` maps to ``-q_min``), ``q_max`` for unsigned ones.

        >>> QuantSpec(8).scaling_int, QuantSpec(8, narrow_range=False).scaling_int
        (127, 128)
        >>> QuantSpec(8, signed=False).scaling_int
        254
        """
        q_min, q_max = self.int_range
        return -q_min if self.signed else q_max

    @property
    def int_dtype(self) -> np.dtype:
        """The narrowest numpy integer type that holds :attr:`int_range`."""
        if self.bits <= 8:
            return np.dtype(np.int8 if self.signed else np.uint8)
        return np.dtype(np.int16 if self.signed else np.uint16)


@dataclass(frozen=True, repr=False)
class QTensor:
    """A quantized tensor: integers plus the scale (and zero point) that give them meaning.

    ``dequantize()`` returns ``(int_repr - zero_point) * scale`` in float32.

    Attributes
    ----------
    int_repr : ndarray of int, same shape as the input
    scale : ndarray of float32, shape () per tensor, or the input's shape with 1 everywhere but
        the channel axis (e.g. ``(out, 1)`` for a 2-D weight) per channel
    zero_point : ndarray of int32, same shape as ``scale``
    spec : QuantSpec
    """

    int_repr: np.ndarray
    scale: np.ndarray
    zero_point: np.ndarray
    spec: QuantSpec = field(default_factory=lambda: QuantSpec(8))

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the integer tensor."""
        return self.int_repr.shape

    def dequantize(self) -> np.ndarray:
        """Real values represented: ``(int_repr - zero_point) * scale`` (float32)."""
        q = self.int_repr.astype(np.float32)
        if np.any(self.zero_point):
            q = q - self.zero_point.astype(np.float32)
        return (q * self.scale).astype(np.float32)

    def __repr__(self) -> str:
        s = self.spec
        kind = f"{'int' if s.signed else 'uint'}{s.bits}"
        gran = f"per-channel(axis={s.axis})" if s.per_channel else "per-tensor"
        sc = self.scale.ravel()
        scale = f"{sc[0]:.4g}" if sc.size == 1 else f"[{sc.min():.4g} .. {sc.max():.4g}] x{sc.size}"
        zp = "" if not np.any(self.zero_point) else f", zero_point={self.zero_point.ravel()[:4].tolist()}"
        return f"QTensor({kind}, {gran}, shape={self.shape}, scale={scale}{zp})"


def check_finite(x: np.ndarray, name: str = "x") -> None:
    """Raise ``ValueError`` naming the first NaN/inf element of ``x`` (index and count)."""
    bad = ~np.isfinite(x)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} must be finite; got {x[idx]} at index {idx} ({int(bad.sum())} non-finite values)"
        )


def _channel_shape(x: np.ndarray, spec: QuantSpec) -> tuple[int, ...]:
    """Shape of a per-channel scale: 1 everywhere except the channel axis, e.g. (out, 1)."""
    if spec.per_channel:
        if not -x.ndim <= spec.axis < x.ndim:
            raise ValueError(f"QuantSpec.axis must be inside a {x.ndim}-D tensor; got {spec.axis}")
        shape = [1] * x.ndim
        shape[spec.axis] = x.shape[spec.axis]
        return tuple(shape)
    return ()


def _reduce_axes(x: np.ndarray, spec: QuantSpec):
    """The axes a statistic reduces over: all (per tensor) or all but the channel axis."""
    if not spec.per_channel:
        return None
    axis = spec.axis % x.ndim
    return tuple(a for a in range(x.ndim) if a != axis)


def minmax_scale(x: np.ndarray, spec: QuantSpec) -> tuple[np.ndarray, np.ndarray]:
    """Scale and zero point from the data's range (brevitas's max / min-max statistics).

    Symmetric: ``s = max(max|x|, 1e-10) / QuantSpec.scaling_int``, zero point 0 (brevitas
    0.13.4: the divisor is ``-q_min`` for signed integers, e.g. 128 for 8 bits without
    ``narrow_range``, and ``q_max`` for unsigned ones, whose scale also comes from ``max|x|``).
    Asymmetric: ``s = (max(x, 0) - min(x, 0)) / (q_max - q_min)``,
    ``z = q_min - round(min(x, 0) / s)``, so that 0.0 is exactly representable.

    Returns
    -------
    scale : ndarray float32, shape () or channel shape
    zero_point : ndarray int32, same shape
    """
    x = np.asarray(x, dtype=np.float32)
    axes, shape = _reduce_axes(x, spec), _channel_shape(x, spec)
    q_min, q_max = spec.int_range
    if spec.symmetric:
        stat = np.abs(x).max(axis=axes)
        stat = np.maximum(stat, np.float32(SCALING_MIN_VAL)).astype(np.float32)
        scale = (stat / np.float32(spec.scaling_int)).astype(np.float32)
        zero_point = np.zeros_like(scale, dtype=np.int32)
    else:
        lo = np.minimum(x.min(axis=axes), 0).astype(np.float32)
        hi = np.maximum(x.max(axis=axes), 0).astype(np.float32)
        rng = np.maximum(hi - lo, np.float32(SCALING_MIN_VAL))
        scale = (rng / np.float32(q_max - q_min)).astype(np.float32)
        zero_point = (q_min - np.rint(lo / scale)).astype(np.int32)
    return scale.reshape(shape), zero_point.reshape(shape)


def round_half(y: np.ndarray, rounding: str = "half_even") -> np.ndarray:
    """Round to integers (values stay floating point): ties to even, ties away from 0, floor."""
    if rounding == "half_even":
        return np.rint(y)  # IEEE round-half-to-even, the same as torch.round
    if rounding == "half_away":  # C's round(); y - trunc(y) is exact, |y| + 0.5 would round
        t = np.trunc(y)
        return np.where(np.abs(y - t) >= 0.5, t + np.sign(y), t)
    if rounding == "floor":
        return np.floor(y)
    raise ValueError(f"rounding must be one of {list(ROUNDINGS)}; got {rounding!r}")


def round_to_step(v: np.ndarray, step: float) -> np.ndarray:
    """Round ``v`` to the nearest multiple of ``step``, ties to even (``rint``); ``step <= 0``: no-op.

    The uniform quantizer of a converter with step ``step`` and no clipping (a DAC/ADC,
    :mod:`npulab.pim.mvm`); values stay floating point.

    >>> round_to_step(np.array([0.24, 0.26, -0.375]), 0.25).tolist()
    [0.25, 0.25, -0.5]
    """
    if step <= 0:
        return v
    return np.rint(v / step) * step


def scale_to_int(x, q_max: int, *, eps: float = 1e-12) -> tuple[np.ndarray, float]:
    """Symmetric per-tensor integers by multiplication, in float64: ``(rint(x * m), m)``.

    ``m = q_max / max(max|x|, eps)`` maps the largest magnitude to ``q_max`` (ties to even);
    the multiplier is returned so other quantities (a bias, a threshold) can share the grid,
    as an ANN-to-SNN conversion does (:func:`npulab.snn.convert`).

    >>> q, m = scale_to_int(np.array([0.5, -1.0, 0.26]), 127)
    >>> q.tolist(), m
    ([64, -127, 33], 127.0)
    """
    x = np.asarray(x, dtype=np.float64)
    m = q_max / max(float(np.abs(x).max(initial=0.0)), eps)
    return np.rint(x * m).astype(np.int64), m


def quantize(x, spec: QuantSpec, scale=None, zero_point=None) -> QTensor:
    """Quantize ``x`` to integers: ``q = clamp(round(x / s + z), q_min, q_max)``.

    Parameters
    ----------
    x : array_like, any shape
        Real values (converted to float32, as brevitas computes).
    spec : QuantSpec
    scale : array_like, optional
        Use this scale (scalar, or the per-channel shape) instead of the max-abs/min-max one.
    zero_point : array_like of int, optional
        Zero point to use with ``scale`` (default 0).

    Returns
    -------
    QTensor
        ``int_repr`` (spec.int_dtype), ``scale`` (float32), ``zero_point`` (int32).

    Raises
    ------
    ValueError
        If ``x`` has NaN/inf (the message gives the index), ``spec.axis`` is outside ``x``,
        or ``scale`` is not positive and finite.

    References
    ----------
    Jacob et al., CVPR 2018, eq. 1; brevitas 0.13.4 ``IntQuant.to_int`` (divide, add zero
    point, round, clamp).

    Examples
    --------
    >>> qt = quantize(np.array([0.5, -1.0, 0.25], dtype=np.float32), QuantSpec(8))
    >>> qt.int_repr.tolist(), float(qt.scale)
    ([64, -127, 32], 0.007874015718698502)
    """
    x = np.asarray(x, dtype=np.float32)
    if x.size == 0:
        raise ValueError(f"quantize: x is empty (shape {x.shape}); nothing to take a scale from")
    check_finite(x, "quantize: x")
    shape = _channel_shape(x, spec)
    if scale is None:
        scale, zp = minmax_scale(x, spec)
    else:
        scale = np.asarray(scale, dtype=np.float32)
        if not np.all(np.isfinite(scale) & (scale > 0)):
            raise ValueError(f"quantize: scale must be finite and > 0; got {scale.ravel()[:4]}")
        scale = np.broadcast_to(scale, shape).copy() if scale.size == 1 else scale.reshape(shape)
        zp = np.zeros(shape, np.int32) if zero_point is None else np.asarray(zero_point, np.int32).reshape(shape)
    q_min, q_max = spec.int_range
    y = x / scale  # float32 division, as brevitas
    if np.any(zp):
        y = y + zp.astype(np.float32)
    y = round_half(y, spec.rounding)
    q = np.clip(y, q_min, q_max).astype(spec.int_dtype)
    return QTensor(int_repr=q, scale=scale.astype(np.float32), zero_point=zp.astype(np.int32), spec=spec)


def fake_quantize(x, spec: QuantSpec, scale=None, zero_point=None) -> np.ndarray:
    """Quantize then dequantize: the float values an integer pipeline would see (float32)."""
    return quantize(x, spec, scale, zero_point).dequantize()
