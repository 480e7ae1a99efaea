"""Integer-only kernels of a transformer block: RMSNorm, softmax, table activations, products.

Each kernel is the one definition of its integer semantics: the compiler's reference
(:meth:`npulab.compiler.quantize.QuantizedGraph.forward_int`) and the NPU simulator's vector
ALU (:mod:`npulab.compiler.sim`) both call it, so the two agree bit for bit by construction.
Every runtime operation is on integers (int64 here; the ranges stated keep the hardware's
values in int32); the float scales are turned into integer constants once, at compile time,
by the ``*_params`` helpers.

* :func:`isqrt`: ``floor(sqrt(n))`` by Newton's iteration on integers.
* :func:`int_rmsnorm`: ``round((x - z) 2^16 / rms) * gamma_q`` with the root mean square
  from :func:`isqrt` (8 fractional bits), ready for the usual requantization
  (:func:`npulab.quant.requantize`) with ``M = s_gamma / (2^16 s_y)``.
* :func:`int_softmax`: I-BERT's integer exponential (a second-order polynomial on
  ``(-ln 2, 0]`` and a right shift), normalised by integer division to ``0..127``
  (scale ``1/127``, zero point 0); an optional causal mask.
* :func:`int_lut`: a 256-entry table indexed by an int8 value (SiLU, GELU: any function of one
  int8 value is exact as a table).
* :func:`int_mul`: the requantized product of two int8 tensors (a gated MLP's ``silu(g) * u``).

References
----------
S. Kim, A. Gholami, Z. Yao, M. W. Mahoney, K. Keutzer, "I-BERT: Integer-only BERT
Quantization", ICML 2021 (Algorithm 1, i-exp: ``a = 0.3585, b = 1.353, c = 0.344``;
Section 3.5, integer square root by Newton's method for LayerNorm).  B. Zhang, R. Sennrich,
"Root Mean Square Layer Normalization", NeurIPS 2019.  B. Jacob et al., CVPR 2018 (the
fixed-point multiplier).
"""

from __future__ import annotations

import math

import numpy as np

from npulab.quant.integer import multiply_by_quantized_multiplier, quantize_multiplier

__all__ = [
    "NORM_FRAC_BITS",
    "IEXP_COEFFS",
    "SOFTMAX_OUT_MAX",
    "isqrt",
    "int_rmsnorm",
    "softmax_params",
    "int_exp",
    "int_softmax",
    "lut_table",
    "int_lut",
    "mul_params",
    "int_mul",
]

#: Fractional bits of the normalised value ``(x - z) / rms`` that :func:`int_rmsnorm` returns.
NORM_FRAC_BITS = 16
#: I-BERT's second-order fit of ``exp`` on ``(-ln 2, 0]``: ``a (p + b)^2 + c``.
IEXP_COEFFS = (0.3585, 1.353, 0.344)
#: :func:`int_softmax` returns probabilities as integers ``0..127`` (scale ``1/127``).
SOFTMAX_OUT_MAX = 127


def isqrt(n) -> np.ndarray:
    """``floor(sqrt(n))`` of non-negative integers, by Newton's iteration on integers.

    ``x_{k+1} = (x_k + n // x_k) // 2`` from ``x_0 = 2^ceil(bits(n) / 2) >= sqrt(n)`` decreases
    monotonically to ``floor(sqrt(n))`` (I-BERT, Section 3.5).

    Parameters
    ----------
    n : array_like of int, >= 0, < 2^62

    Returns
    -------
    ndarray of int64

    Examples
    --------
    >>> isqrt([0, 1, 15, 16, 17, 2**40]).tolist()
    [0, 1, 3, 4, 4, 1048576]
    """
    n = np.asarray(n, np.int64)
    if n.size and (n.min() < 0 or n.max() >= 2**62):
        raise ValueError(f"isqrt: n must be in [0, 2^62); got {int(n.min())}..{int(n.max())}")
    bits = np.zeros(n.shape, np.int64)
    v = n.copy()
    while np.any(v > 0):  # bit length, integers only
        bits += v > 0
        v >>= 1
    x = np.left_shift(np.int64(1), (bits + 1) // 2)
    while True:
        y = (x + n // np.maximum(x, 1)) // 2
        done = y >= x
        if np.all(done):
            return np.where(n == 0, 0, x)
        x = np.where(done, x, y)


def int_rmsnorm(x_q, zero_point: int, gamma_q, eps_q: int = 0) -> np.ndarray:
    """RMSNorm over the last axis of int8 ``x_q``, times integer gains: an int32 accumulator.

    With ``x = x_q - z`` (``n`` values per row):
    ``r = isqrt(floor(2^16 sum(x^2) / n) + eps_q)`` is the root mean square with 8 fractional
    bits, and the result is ``round(x 2^24 / r) * gamma_q`` (ties away from zero), i.e.
    ``x / rms * gamma_q`` with :data:`NORM_FRAC_BITS` = 16 fractional bits.  Its real value is
    ``acc * s_gamma / 2^16``; requantize it with ``M = s_gamma / (2^16 s_y)``.  The input scale
    cancels; ``eps_q = round(2^16 eps / s_x^2)`` is the float epsilon in these units.
    ``|x| / rms <= sqrt(n)``, so for ``n <= 4096`` and ``|gamma_q| <= 127`` the result fits int32.

    Parameters
    ----------
    x_q : array_like of int, shape (..., n)
    zero_point : int
    gamma_q : array_like of int, shape (n,)
        Quantized gains (symmetric int8).
    eps_q : int, default 0

    Returns
    -------
    ndarray of int64, shape of ``x_q``

    Examples
    --------
    >>> int_rmsnorm([[3, -3, 3, -3]], 0, [1, 1, 1, 2]).tolist()
    [[65536, -65536, 65536, -131072]]
    """
    x = np.asarray(x_q, np.int64) - int(zero_point)
    n = x.shape[-1]
    ms = ((x * x).sum(axis=-1, keepdims=True) << 16) // n + int(eps_q)
    r = np.maximum(isqrt(ms), 1)
    num = np.abs(x) << (NORM_FRAC_BITS + 8)
    nrm = np.sign(x) * ((2 * num + r) // (2 * r))
    return nrm * np.asarray(gamma_q, np.int64)


def softmax_params(scale: float) -> tuple[int, int, int]:
    """Integer constants of :func:`int_exp` for inputs of real value ``q * scale``.

    Returns ``(q_ln2, q_b, q_c) = (floor(ln2 / S), floor(b / S), floor(c / (a S^2)))``
    (I-BERT, Algorithm 1).

    Examples
    --------
    >>> softmax_params(0.01)
    (69, 135, 9595)
    """
    a, b, c = IEXP_COEFFS
    s = float(scale)
    q_ln2 = math.floor(math.log(2.0) / s) if s > 0 else 0
    if not (s > 0 and q_ln2 >= 1):
        raise ValueError(f"softmax_params: scale must be in (0, ln 2]; got {scale!r}")
    return q_ln2, math.floor(b / s), math.floor(c / (a * s * s))


def int_exp(x, params) -> np.ndarray:
    """I-BERT's i-exp of integers ``x <= 0``: ``exp(x S)`` in units of ``a S^2``.

    ``z = floor(-x / q_ln2)``, ``p = x + z q_ln2`` (in ``(-ln 2, 0]``),
    ``L = (p + q_b)^2 + q_c``, result ``L >> z`` (0 once ``z >= 62``).
    """
    q_ln2, q_b, q_c = (int(v) for v in params)
    x = np.asarray(x, np.int64)
    if x.size and x.max() > 0:
        raise ValueError(f"int_exp: inputs must be <= 0; got {int(x.max())}")
    z = (-x) // q_ln2
    p = x + z * q_ln2
    poly = (p + q_b) * (p + q_b) + q_c
    return np.where(z >= 62, 0, poly >> np.minimum(z, 62))


def int_softmax(q, params, causal_offset: int | None = None) -> np.ndarray:
    """Softmax over the last axis of integer scores ``q`` (real value ``q * S``): ``0..127``.

    ``e = int_exp(q - max(q), params)`` (:func:`softmax_params` of ``S``), then
    ``y = floor((127 e + sum(e) // 2) / sum(e))``: probabilities with scale ``1/127`` and zero
    point 0.  With ``causal_offset = o``, row ``i`` sees only columns ``j <= i + o`` (the others
    are excluded from the max and get probability 0).

    Parameters
    ----------
    q : array_like of int, shape (rows, n)
    params : tuple of 3 int
    causal_offset : int, optional

    Returns
    -------
    ndarray of int64, shape of ``q``

    Examples
    --------
    >>> int_softmax([[0, 0], [0, -1000]], softmax_params(0.01)).tolist()
    [[64, 64], [127, 0]]
    >>> int_softmax([[5, 9], [5, 9]], softmax_params(0.01), causal_offset=0).tolist()
    [[127, 0], [62, 65]]
    """
    q = np.asarray(q, np.int64)
    if q.ndim != 2:
        raise ValueError(f"int_softmax: scores must be 2-D (rows, n); got shape {q.shape}")
    keep = np.ones(q.shape, bool)
    if causal_offset is not None:
        i = np.arange(q.shape[0])[:, None]
        keep = np.arange(q.shape[1])[None, :] <= i + int(causal_offset)
    lowest = np.iinfo(np.int64).min // 4
    mx = np.where(keep, q, lowest).max(axis=-1, keepdims=True)
    e = np.where(keep, int_exp(np.where(keep, q - mx, 0), params), 0)
    tot = np.maximum(e.sum(axis=-1, keepdims=True), 1)
    return (SOFTMAX_OUT_MAX * e + tot // 2) // tot


def lut_table(fn, x_scale: float, x_zero_point: int, y_scale: float,
              y_zero_point: int) -> np.ndarray:
    """The 256-entry int8 table of ``y = fn(x)`` for int8 ``x`` and ``y`` (built once, in float).

    ``table[v + 128] = clamp(round(fn((v - z_x) s_x) / s_y) + z_y, -128, 127)``.

    Examples
    --------
    >>> t = lut_table(lambda x: x * (x > 0), 0.1, 0, 0.1, 0)
    >>> t[128 - 5].item(), t[128 + 5].item()
    (0, 5)
    """
    v = np.arange(-128, 128, dtype=np.float64)
    y = np.asarray(fn((v - int(x_zero_point)) * float(x_scale)), np.float64)
    return np.clip(np.round(y / float(y_scale)) + int(y_zero_point), -128, 127).astype(np.int64)


def int_lut(x_q, table) -> np.ndarray:
    """``table[x_q + 128]`` for int8 ``x_q`` (a 256-entry table, :func:`lut_table`)."""
    x = np.asarray(x_q, np.int64)
    t = np.asarray(table, np.int64)
    if t.shape != (256,):
        raise ValueError(f"int_lut: the table must have 256 entries; got shape {t.shape}")
    if x.size and (x.min() < -128 or x.max() > 127):
        raise ValueError(f"int_lut: inputs must be int8; got {int(x.min())}..{int(x.max())}")
    return t[x + 128]


def mul_params(sa: float, za: int, sb: float, zb: int, sy: float, zy: int) -> dict:
    """Integer constants of :func:`int_mul` for ``(sa, za) * (sb, zb) -> (sy, zy)``."""
    m0, shift = quantize_multiplier(float(sa) * float(sb) / float(sy))
    return {"za": int(za), "zb": int(zb), "m0": int(m0), "shift": int(shift), "zy": int(zy),
            "lo": -128, "hi": 127}


def int_mul(a, b, p: dict) -> np.ndarray:
    """``clamp(z_y + round(M (a - z_a)(b - z_b)), lo, hi)`` with ``M = s_a s_b / s_y``.

    ``p`` is :func:`mul_params`; the product of two int8 values fits int32.

    Examples
    --------
    >>> int_mul([10, -4], [3, 3], mul_params(0.5, 0, 0.5, 0, 0.25, 0)).tolist()
    [30, -12]
    """
    prod = (np.asarray(a, np.int64) - p["za"]) * (np.asarray(b, np.int64) - p["zb"])
    y = multiply_by_quantized_multiplier(prod, p["m0"], p["shift"]).astype(np.int64) + p["zy"]
    return np.clip(y, p["lo"], p["hi"])
