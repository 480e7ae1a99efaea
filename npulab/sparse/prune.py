"""Pruning: zero the smallest-magnitude weights, unstructured, N:M-structured or by channel.

Three patterns (Hoefler et al., "Sparsity in deep learning", JMLR 2021, Sec. 2-3):

* ``"N:M"`` (e.g. ``"2:4"``): in every group of ``M`` consecutive weights along the input
  (reduction) axis keep the ``N`` largest ``|w|`` and zero the rest; a tie between equal
  magnitudes keeps the **lower index**.  This is NVIDIA's 2:4 structured sparsity (Mishra et
  al., "Accelerating sparse deep neural networks", arXiv:2104.08378, 2021): the array knows in
  advance that a group holds at most ``N`` non-zeros, so it can skip the rest.  A trailing
  group shorter than ``M`` (axis length not a multiple of ``M``) keeps its ``min(N, len)``
  largest, as if padded with zeros.
* ``"unstructured"``: keep the ``k = floor(density * size + 1/2)`` largest ``|w|`` of the
  whole tensor (Han et al., "Learning both weights and connections", NeurIPS 2015); ties keep
  the lower flat (C-order) index.
* ``"channel"``: keep the ``k = floor(density * channels + 1/2)`` output channels (axis 0)
  with the largest L2 norm, zero the others (Li et al., "Pruning filters for efficient
  ConvNets", ICLR 2017); ties keep the lower channel.

The input axis is the PyTorch layout's: axis 1 of a ``[out, in]`` linear or
``[out, in, kh, kw]`` conv weight (axis 0 of a vector).  A weight stored ``B[K, N]`` as
npulab's ``Gemm`` does has its reduction on axis 0: pass ``axis=0``.
"""
from __future__ import annotations

import math
import re

import numpy as np

__all__ = ["prune", "nm_mask", "parse_nm", "is_nm_sparse", "PATTERNS"]

#: Pattern names besides ``"N:M"``.
PATTERNS = ("unstructured", "channel")

_NM = re.compile(r"^\s*(\d+)\s*:\s*(\d+)\s*$")


def parse_nm(pattern: str, what: str = "prune pattern") -> tuple[int, int]:
    """``"2:4"`` -> ``(2, 4)``; ``ValueError`` (naming ``what``) unless ``1 <= N <= M``.

    >>> parse_nm("2:4")
    (2, 4)
    """
    m = _NM.match(pattern) if isinstance(pattern, str) else None
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        rest = ", 'unstructured' or 'channel'" if what == "prune pattern" else ""
        raise ValueError(f"{what} must be 'N:M' with 1 <= N <= M{rest}; got {pattern!r}")
    return int(m.group(1)), int(m.group(2))


def _input_axis(w: np.ndarray, axis) -> int:
    if axis is None:
        return 0 if w.ndim == 1 else 1
    if (isinstance(axis, bool) or not isinstance(axis, (int, np.integer))
            or not -w.ndim <= axis < w.ndim):
        raise ValueError(f"prune axis must be an int in [{-w.ndim}, {w.ndim - 1}]; got {axis!r}")
    return int(axis) % w.ndim


def _check_weights(w) -> np.ndarray:
    w = np.asarray(w)
    if w.ndim == 0 or w.size == 0:
        raise ValueError(f"prune needs a non-empty array with ndim >= 1; got shape {w.shape}")
    if not (np.issubdtype(w.dtype, np.integer) or np.issubdtype(w.dtype, np.floating)):
        raise ValueError(f"prune needs integer or float weights; got dtype {w.dtype}")
    if np.issubdtype(w.dtype, np.floating) and not np.isfinite(w).all():
        raise ValueError("prune needs finite weights; got NaN or inf")
    return w


def _check_density(density) -> float:
    ok = (density is not None and not isinstance(density, bool)
          and isinstance(density, (int, float, np.integer, np.floating))
          and math.isfinite(density) and 0 <= density <= 1)
    if not ok:
        raise ValueError(f"prune density must be a number in [0, 1]; got {density!r}")
    return float(density)


def nm_mask(w, n: int, m: int, axis=None) -> np.ndarray:
    """Boolean keep-mask of the N:M pattern (``True`` = kept), same shape as ``w``.

    Vectorised: the axis is padded to a multiple of ``m`` with ``-1`` magnitudes (never kept
    ahead of a real weight), cut into groups, and a stable sort by descending ``|w|`` puts
    the lower index first among ties.

    >>> nm_mask(np.array([[1, -3, 3, 0]]), 2, 4).astype(int).tolist()
    [[0, 1, 1, 0]]
    """
    w = _check_weights(w)
    ax = _input_axis(w, axis)
    mag = np.moveaxis(np.abs(w.astype(np.float64)), ax, -1)          # [..., L]
    L = mag.shape[-1]
    G = -(-L // m)
    padded = np.full(mag.shape[:-1] + (G * m,), -1.0)
    padded[..., :L] = mag
    groups = padded.reshape(mag.shape[:-1] + (G, m))                  # [..., G, m]
    order = np.argsort(-groups, axis=-1, kind="stable")               # largest first, ties low
    keep = np.zeros(groups.shape, bool)
    np.put_along_axis(keep, order[..., :n], True, axis=-1)
    keep = keep.reshape(padded.shape)[..., :L]
    return np.moveaxis(keep, -1, ax)


def is_nm_sparse(w, n: int, m: int, axis=None) -> bool:
    """True when every group of ``m`` along the input axis holds at most ``n`` non-zeros."""
    w = _check_weights(w)
    ax = _input_axis(w, axis)
    nz = np.moveaxis(w != 0, ax, -1)
    L = nz.shape[-1]
    G = -(-L // m)
    padded = np.zeros(nz.shape[:-1] + (G * m,), bool)
    padded[..., :L] = nz
    return bool((padded.reshape(nz.shape[:-1] + (G, m)).sum(axis=-1) <= n).all())


def _top_k_mask(score: np.ndarray, k: int) -> np.ndarray:
    """Keep the ``k`` largest of a flat score; ties keep the lower index."""
    keep = np.zeros(score.size, bool)
    if k > 0:
        keep[np.argsort(-score, kind="stable")[:k]] = True
    return keep


def prune(w, pattern: str, *, density: float | None = None, axis: int | None = None) -> np.ndarray:
    """Zero the smallest-magnitude weights of ``w`` in ``pattern``; a pruned copy.

    Parameters
    ----------
    w : array_like, shape (out, in, ...) or (n,)
        Integer or float weights (finite).
    pattern : str
        ``"N:M"`` (e.g. ``"2:4"``, ``1 <= N <= M``), ``"unstructured"`` or ``"channel"``.
    density : float in [0, 1], optional
        Fraction of weights (``"unstructured"``) or output channels (``"channel"``) kept;
        required by those two, not allowed with ``"N:M"`` (its density is ``N/M``).
    axis : int, optional
        The input (reduction) axis the N:M groups run along; default 1 (0 for a vector).

    Returns
    -------
    ndarray
        Same shape and dtype as ``w``; pruned entries are 0.

    Examples
    --------
    >>> w = np.array([[0.1, -0.9, 0.5, 0.5, 2.0, 0.0, -1.0, 0.3]])
    >>> prune(w, "2:4").tolist()
    [[0.0, -0.9, 0.5, 0.0, 2.0, 0.0, -1.0, 0.0]]
    >>> int(np.count_nonzero(prune(w, "unstructured", density=0.25)))
    2
    """
    w = _check_weights(w)
    if pattern in PATTERNS:
        d = _check_density(density)
        if pattern == "unstructured":
            k = math.floor(d * w.size + 0.5)
            keep = _top_k_mask(np.abs(w.astype(np.float64)).ravel(), k).reshape(w.shape)
        else:
            norms = np.sqrt((w.astype(np.float64).reshape(w.shape[0], -1) ** 2).sum(axis=1))
            keep_ch = _top_k_mask(norms, math.floor(d * w.shape[0] + 0.5))
            keep = np.broadcast_to(keep_ch.reshape((-1,) + (1,) * (w.ndim - 1)), w.shape)
    else:
        n, m = parse_nm(pattern)
        if density is not None:
            raise ValueError(f"prune density is fixed by the pattern {pattern!r} (N/M); got "
                             f"density={density!r}")
        keep = nm_mask(w, n, m, axis)
    return np.where(keep, w, np.zeros((), w.dtype)).astype(w.dtype)
