"""Integer-only arithmetic: int8 x int8 -> int32 GEMM/conv and fixed-point requantization.

The scheme of Jacob et al. (CVPR 2018), used by TFLite and gemmlowp.  A layer with real
weights ``W = s_w (W_q)`` (zero point 0), input ``x = s_x (x_q - z_x)`` and output
``y = s_y (y_q - z_y)`` computes, for output channel ``o`` (eq. 4 and 7 of the paper)::

    acc[o]  = sum_k W_q[o, k] * (x_q[k] - z_x) + b_q[o]          # int32 accumulator
    b_q[o]  = round(b[o] / (s_w[o] s_x))                         # bias in int32, same scale
    y_q[o]  = clamp(z_y + round(M[o] * acc[o]), lo, hi)          # requantize to int8/uint8
    M[o]    = s_w[o] s_x / s_y  =  m0[o] * 2^-31 * 2^-shift[o]   # fixed-point multiplier

``M`` is a real number, but the hardware only multiplies integers: ``m0`` is a 31-bit integer
in ``[2^30, 2^31)`` and ``shift`` a right shift.  ``round(M * acc)`` becomes gemmlowp's
``SaturatingRoundingDoublingHighMul(acc, m0)`` (the high 32 bits of ``2 * acc * m0``, rounded
to nearest, ties toward +infinity) followed by ``RoundingDivideByPOT(., shift)`` (an arithmetic
right shift, rounded to nearest, ties away from zero).  Rounding twice can be off by one from
``round(M * acc)`` (``acc = 1, M = 0.25`` gives 1, not 0): gemmlowp and TFLite accept this
double rounding, and so do we, bit for bit.  A ReLU folds into the clamp:
``lo = max(q_min, z_y)``.

Overflow: products of two int8 values are at most ``128 * 128 = 2^14``, so an int32 accumulator
(largest value ``2^31 - 1``) is safe for ``K < 2^31 / 2^14 = 131072`` terms in the worst case
(all ``-128 * -128``); with narrow-range weights (``|w| <= 127``) the bound is 132104.  Beyond
that :func:`int_matmul` wraps around like two's-complement hardware (``overflow="wrap"``),
or saturates, or raises, as you choose.  :func:`accumulator_bits` gives the width a GEMM needs.

References
----------
Jacob et al., "Quantization and Training of Neural Networks for Efficient
Integer-Arithmetic-Only Inference", CVPR 2018; gemmlowp ``fixedpoint.h``
(SaturatingRoundingDoublingHighMul, RoundingDivideByPOT); TFLite ``QuantizeMultiplier``.
"""
from __future__ import annotations

import numpy as np

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
OVERFLOW_MODES = ("wrap", "saturate", "raise")


# --------------------------------------------------------------------------- fixed point
def quantize_multiplier(real_multiplier) -> tuple[np.ndarray, np.ndarray]:
    """Split a positive real ``M`` into ``m0 * 2^-31 * 2^-shift`` with ``m0`` in ``[2^30, 2^31)``.

    Parameters
    ----------
    real_multiplier : float or array_like of float, > 0

    Returns
    -------
    m0 : ndarray of int32
        The Q0.31 fixed-point mantissa.
    shift : ndarray of int32
        Right shift (negative = left shift, for ``M >= 1``).

    Examples
    --------
    >>> m0, shift = quantize_multiplier(0.0039)
    >>> int(m0), int(shift), abs(float(m0) * 2.0**-31 * 2.0**-int(shift) - 0.0039) < 1e-12
    (2144047674, 8, True)
    """
    m = np.asarray(real_multiplier, dtype=np.float64)
    if not np.all(np.isfinite(m) & (m > 0)):
        raise ValueError(f"quantize_multiplier: multiplier must be finite and > 0; got {m.ravel()[:4]}")
    frac, exp = np.frexp(m)  # m = frac * 2^exp, frac in [0.5, 1)
    m0 = np.rint(frac * 2.0**31).astype(np.int64)
    carry = m0 == 2**31  # frac rounded up to 1.0
    m0 = np.where(carry, m0 // 2, m0)
    exp = np.where(carry, exp + 1, exp)
    return m0.astype(np.int32), (-exp).astype(np.int32)


def saturating_rounding_doubling_high_mul(a, b) -> np.ndarray:
    """gemmlowp's ``SaturatingRoundingDoublingHighMul``: ``round(a * b / 2^31)`` in int32.

    The one overflow (``a = b = -2^31``) saturates to ``2^31 - 1``.  A nudge of ``+2^30``
    (``1 - 2^30`` for negative products) before C's truncating division by ``2^31`` gives
    ``floor(a b / 2^31 + 1/2)``: round to nearest, ties toward +infinity.
    """
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    ab = a * b  # |ab| <= 2^62: exact in int64
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    t = ab + nudge
    high = np.sign(t) * (np.abs(t) >> 31)  # C integer division truncates toward zero
    high = np.where((a == INT32_MIN) & (b == INT32_MIN), INT32_MAX, high)
    return high.astype(np.int32)


def rounding_divide_by_pot(x, exponent) -> np.ndarray:
    """gemmlowp's ``RoundingDivideByPOT``: ``x / 2^exponent`` rounded, ties away from zero."""
    x = np.asarray(x, np.int64)
    e = np.asarray(exponent, np.int64)
    mask = (np.int64(1) << e) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return ((x >> e) + (remainder > threshold)).astype(np.int32)


def multiply_by_quantized_multiplier(acc, m0, shift) -> np.ndarray:
    """``round(acc * M)`` for ``M = m0 * 2^-31 * 2^-shift``, in integer arithmetic only."""
    acc = np.asarray(acc, np.int64)
    shift = np.asarray(shift, np.int64)
    left = np.maximum(-shift, 0)
    acc = np.clip(acc << left, INT32_MIN, INT32_MAX)  # left shift for M >= 1 (saturating)
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(acc, m0), np.maximum(shift, 0))


def requantize(acc, m0, shift, zero_point=0, q_min=-128, q_max=127, relu=False) -> np.ndarray:
    """int32 accumulators -> output integers: ``clamp(z + round(M * acc), lo, q_max)``.

    Parameters
    ----------
    acc : ndarray of int32, shape (..., C) (or (N, C, H, W) with ``m0``/``shift`` shaped to match)
    m0, shift : ndarray of int32, broadcastable to ``acc``
        From :func:`quantize_multiplier` (per tensor or per output channel).
    zero_point : int, default 0
    q_min, q_max : int, default -128, 127
    relu : bool, default False
        Fold a ReLU into the clamp: the lower bound becomes ``max(q_min, zero_point)``.

    Returns
    -------
    ndarray of int32
    """
    y = multiply_by_quantized_multiplier(acc, m0, shift).astype(np.int64) + int(zero_point)
    lo = max(q_min, int(zero_point)) if relu else q_min
    return np.clip(y, lo, q_max).astype(np.int32)


# --------------------------------------------------------------------------- GEMM and conv
def accumulator_bits(K: int, a_bits: int = 8, b_bits: int = 8, signed: bool = True) -> int:
    """Bits a signed accumulator needs for a K-term dot product of worst-case operands.

    Worst case for signed operands is ``(-2^(a-1)) * (-2^(b-1))`` summed K times:
    ``K * 2^(a+b-2)``; an n-bit accumulator holds at most ``2^(n-1) - 1``, so the answer is
    ``floor(log2(K * 2^(a+b-2))) + 2``.

    Examples
    --------
    >>> accumulator_bits(131071), accumulator_bits(131072)
    (32, 33)
    """
    big = K * (2 ** (a_bits - 1)) * (2 ** (b_bits - 1)) if signed else K * (2**a_bits - 1) * (2**b_bits - 1)
    return int(big).bit_length() + 1  # floor(log2(big)) + 2, exact for any int (1 when big = 0)


def _wrap(acc: np.ndarray, bits: int, overflow: str) -> np.ndarray:
    """Fit exact (int64) sums into a ``bits``-wide two's-complement accumulator."""
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 2 <= bits <= 64:
        raise ValueError(f"int_matmul: acc_bits must be an int in 2..64; got {bits!r}")
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    if overflow == "raise":
        if acc.size and (acc.min() < lo or acc.max() > hi):
            raise ValueError(f"int_matmul: accumulator overflow: sums reach [{acc.min()}, {acc.max()}], "
                             f"int{bits} holds [{lo}, {hi}]")
        return acc
    if overflow == "saturate":
        return np.clip(acc, lo, hi)
    if overflow == "wrap":
        if bits >= 64:
            return acc  # the exact int64 sum is already what a 64-bit register holds
        return ((acc - lo) & ((1 << bits) - 1)) + lo
    raise ValueError(f"int_matmul: overflow must be one of {list(OVERFLOW_MODES)}; got {overflow!r}")


def int_matmul(a, b, acc_bits: int = 32, overflow: str = "wrap") -> np.ndarray:
    """Integer GEMM ``A[M,K] @ B[K,N]`` accumulated exactly, then fitted to ``acc_bits``.

    The reference path: numpy's integer matmul in int64 (exact for any realistic K), then the
    accumulator's overflow rule.  :func:`int_matmul_fast` gives the same numbers with float BLAS.

    Returns
    -------
    ndarray of int32 (``acc_bits <= 32``) or int64

    Examples
    --------
    >>> a = np.full((1, 131073), -128, np.int8); b = np.full((131073, 1), -128, np.int8)
    >>> int(int_matmul(a, b)[0, 0])  # 131073 * 2^14 = 2^31 + 2^14 wraps to a negative number
    -2147467264
    """
    acc = np.matmul(np.asarray(a, np.int64), np.asarray(b, np.int64))
    acc = _wrap(acc, acc_bits, overflow)
    return acc.astype(np.int32 if acc_bits <= 32 else np.int64)


def int_matmul_fast(a, b, acc_bits: int = 32, overflow: str = "wrap") -> np.ndarray:
    """The same result as :func:`int_matmul`, computed with float32 BLAS (exact by construction).

    float32 represents every integer up to ``2^24`` exactly, so a partial dot product is exact as
    long as ``K_chunk * max|a| * max|b| < 2^24``.  We split K into such chunks, multiply each with
    BLAS, and add the chunks in int64.  (An int8 NPU needs no such trick; a CPU without int8 BLAS
    does.)  Operands so wide that one product reaches ``2^24`` (e.g. int16 x int16) use the
    int64 reference instead.
    """
    a, b = np.asarray(a), np.asarray(b)
    amax = max(int(np.abs(a.astype(np.int64)).max(initial=0)), 1)
    bmax = max(int(np.abs(b.astype(np.int64)).max(initial=0)), 1)
    if amax * bmax >= 2**24:  # a single product would not be exact in float32
        return int_matmul(a, b, acc_bits, overflow)
    chunk = (2**24 - 1) // (amax * bmax)
    K = a.shape[-1]
    a32, b32 = a.astype(np.float32), b.astype(np.float32)
    if K <= chunk:
        acc = np.matmul(a32, b32).astype(np.int64)
    else:
        acc = np.zeros(a.shape[:-1] + b.shape[-1:], np.int64)
        for k0 in range(0, K, chunk):
            acc += np.matmul(a32[..., k0:k0 + chunk], b32[k0:k0 + chunk]).astype(np.int64)
    acc = _wrap(acc, acc_bits, overflow)
    return acc.astype(np.int32 if acc_bits <= 32 else np.int64)


def im2col(x, kernel: tuple[int, int], stride: int = 1, padding: int = 0, pad_value: int = 0) -> np.ndarray:
    """Unfold ``x[N, C, H, W]`` into patches ``[N, E*F, C*R*S]`` (torch's (C, R, S) order).

    Padding uses ``pad_value`` (the input zero point, so padded pixels mean real 0.0).
    """
    x = np.asarray(x)
    N, C, H, W = x.shape
    R, S = kernel
    if padding:
        x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)), constant_values=pad_value)
    E = (H + 2 * padding - R) // stride + 1
    F = (W + 2 * padding - S) // stride + 1
    # (N, C, H', W', R, S); numpy takes a tuple axis, its stubs (2.3) say SupportsIndex only
    win = np.lib.stride_tricks.sliding_window_view(x, (R, S), axis=(2, 3))  # type: ignore[call-overload]
    win = win[:, :, ::stride, ::stride][:, :, :E, :F]  # (N, C, E, F, R, S)
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(N, E * F, C * R * S)


def int_conv2d(x, w, stride: int = 1, padding: int = 0, x_zero_point: int = 0,
               acc_bits: int = 32, overflow: str = "wrap", fast: bool = True) -> np.ndarray:
    """Integer convolution ``x[N, C, H, W] * w[K, C, R, S] -> int32 [N, K, E, F]`` via im2col.

    Computes ``sum w_q (x_q - z_x)``: the zero point is subtracted before multiplying
    (int16 operands), which keeps padded pixels at real 0.0.
    """
    x, w = np.asarray(x), np.asarray(w)
    N, K = x.shape[0], w.shape[0]
    cols = im2col(x.astype(np.int32) - x_zero_point, w.shape[2:], stride, padding, pad_value=0)
    mm = int_matmul_fast if fast else int_matmul
    acc = mm(cols, w.reshape(K, -1).T.astype(np.int32), acc_bits, overflow)  # (N, E*F, K)
    E = (x.shape[2] + 2 * padding - w.shape[2]) // stride + 1
    return acc.transpose(0, 2, 1).reshape(N, K, E, -1)
