"""Sparsity on a systolic array: zero-gating (saves energy) and N:M zero-skipping (saves cycles).

Two mechanisms (Sze et al., *Efficient Processing of DNNs*, 2020, Ch. 8; Chen et al.,
"Eyeriss v2", JETCAS 2019; Mishra et al., "Accelerating sparse deep neural networks",
arXiv:2104.08378, 2021, NVIDIA A100 sparse tensor cores):

* **Zero-gating** (``SystolicConfig.zero_gating``): a PE whose multiplier sees a zero operand
  does not toggle (its multiplier and operand registers are clock-gated).  Same schedule, same
  cycles and same outputs; the compute and register energy of those MACs is saved.
* **Zero-skipping of N:M weights** (``SystolicConfig.skip_pattern="N:M"``, weight-stationary):
  the weights ``B[K, N]`` hold at most ``N`` non-zeros in every group of ``M`` along ``K``, so
  the array stores only the kept values, ``K' = ceil(K / M) * N`` rows, each with a
  ``ceil(log2 M)``-bit index (its position in the group: the metadata).  A PE row of group
  ``g`` receives the ``M`` activations ``A[t, gM:(g+1)M]`` (an ``M``-wide operand bus) and
  its index drives a multiplexer that picks the one its weight multiplies.

Cycle model (WS, stated here and tested against the emulator)::

    dense:     F * (2R + C + T - 2),   F = ceil(K / R) * ceil(N / C),   T = M (rows of A)
    skipping:  F' * (2R + C + T - 2),  F' = ceil(K' / R) * ceil(N / C), K' = ceil(K / M) * N

so ``2:4`` halves the reduction folds: the array does the dense layer's MACs in about half the
cycles (double the effective MACs per cycle).  The metadata is loaded with its weights in the
same ``R`` fill cycles (a bus ``ceil(log2 M)`` bits wider per weight); it costs filter SRAM
bytes, ``K' * N * ceil(log2 M) / 8``, and activations are read ``M`` at a time, so the ifmap
SRAM reads stay those of the dense reduction.  Zero-gating adds nothing to cycles.

:func:`emulate_sparse` moves the values (activation vectors east, partial sums south, the
mux in every PE) and is bit-exact with ``A @ B``; :func:`skipping_cycles` is the closed form.

Units: cycles, elements, bits, bytes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from npulab._validate import positive_int
from npulab.sparse.prune import is_nm_sparse, nm_mask, parse_nm
from npulab.systolic.folds import compute_cycles, fold_cycles

__all__ = ["SparseEmulation", "emulate_sparse", "skipping_cycles", "compressed_reduction",
           "metadata_bits", "skipping_applies"]


def metadata_bits(pattern: str) -> int:
    """Index bits per kept weight of an ``"N:M"`` pattern: ``ceil(log2 M)`` (2 for 2:4)."""
    _, m = parse_nm(pattern)
    return max(1, math.ceil(math.log2(m))) if m > 1 else 0


def compressed_reduction(K: int, pattern: str) -> int:
    """``K' = ceil(K / M) * N``: rows of ``B`` the skipping array stores."""
    n, m = parse_nm(pattern)
    return -(-K // m) * n


def skipping_applies(weight_sparsity: str, skip_pattern: str) -> bool:
    """True when weights pruned ``a:b`` run on ``n:m`` skipping hardware: ``b == m``, ``a <= n``."""
    if not weight_sparsity or not skip_pattern:
        return False
    (a, b), (n, m) = parse_nm(weight_sparsity), parse_nm(skip_pattern)
    return b == m and a <= n


def skipping_cycles(M: int, N: int, K: int, rows: int, cols: int, pattern: str | None) -> int:
    """Cycles of ``A[M,K] @ B[K,N]`` on a WS array that skips ``pattern`` (None: dense).

    >>> skipping_cycles(8, 4, 64, 16, 4, None), skipping_cycles(8, 4, 64, 16, 4, "2:4")
    (168, 84)
    """
    k = K if not pattern else compressed_reduction(K, pattern)
    return compute_cycles(M, N, k, rows, cols, "ws")


@dataclass(frozen=True, repr=False)
class SparseEmulation:
    """What :func:`emulate_sparse` measured.

    Attributes
    ----------
    output : ndarray, shape (M, N)
        ``A @ B`` as the PEs computed it (int32/int64 for integers, float64 otherwise).
    cycles : int
    fold_cycles : list of int
    executed_macs : int
        MAC slots the array ran (a PE with a stationary weight and a streamed activation).
    gated_macs : int
        Of those, MACs with a zero operand (clock-gated with ``zero_gating``).
    dense_macs : int
        ``M * N * K``, the layer's work.
    accesses : dict
        ``ifmap_sram_reads``, ``filter_sram_reads`` (values), ``filter_metadata_bits``,
        ``ofmap_sram_writes``, ``ofmap_sram_reads``.
    pattern : str or None
    """

    output: np.ndarray
    cycles: int
    fold_cycles: list
    executed_macs: int
    gated_macs: int
    dense_macs: int
    accesses: dict
    pattern: str | None

    def __repr__(self) -> str:
        return (f"SparseEmulation(pattern={self.pattern!r}, output={self.output.shape}, "
                f"cycles={self.cycles}, executed_macs={self.executed_macs}, "
                f"gated_macs={self.gated_macs}, dense_macs={self.dense_macs})")


def _compress_nm(B: np.ndarray, n: int, m: int):
    """Kept values ``Bc[K', N]`` and their in-group indices ``idx[K', N]`` (ascending)."""
    K, N = B.shape
    G = -(-K // m)
    keep = np.zeros((G * m, N), bool)
    keep[:K] = nm_mask(B, n, m, axis=0)
    vals = np.zeros((G * m, N), B.dtype)
    vals[:K] = B
    pos = np.argsort(~keep.reshape(G, m, N), axis=1, kind="stable")[:, :n]   # [G, n, N]
    bc = np.take_along_axis(vals.reshape(G, m, N), pos, axis=1).reshape(G * n, N)
    return bc, pos.reshape(G * n, N)


def _ws_fold(a_groups, s, idx, used_r, used_c, R, C):
    """One WS fold: ``a_groups`` [T, R, W] (row r's W-wide activation per step), ``s``/``idx``
    [R, C] stationary weights and mux selects.  Returns out [T, C], MAC and gated counts."""
    T, _, W = a_groups.shape
    dtype = np.result_type(a_groups, s)
    a_val = np.zeros((R, C, W), dtype)                  # operand registers (W-wide)
    a_ok = np.zeros((R, C), bool)
    p_val = np.zeros((R, C), dtype)                     # partial sums
    p_ok = np.zeros((R, C), bool)
    out = np.zeros((T, C), dtype)
    rows_i, cols_j = np.arange(R), np.arange(C)
    live = (rows_i[:, None] < used_r) & (cols_j[None, :] < used_c)     # PEs holding a weight
    macs = gated = 0
    for t in range(T + R + C - 2):
        a_val[:, 1:] = a_val[:, :-1]                    # activations move east
        a_ok[:, 1:] = a_ok[:, :-1]
        k = t - rows_i                                                  # skew: row r starts at r
        ok = (k >= 0) & (k < T)
        a_ok[:, 0] = ok
        a_val[:, 0] = np.where(ok[:, None], a_groups[np.clip(k, 0, T - 1), rows_i], 0)
        new_p = np.zeros_like(p_val)                    # psums move south
        new_p[1:] = p_val[:-1]
        pin_ok = np.zeros_like(p_ok)
        pin_ok[1:] = p_ok[:-1]
        pin_ok[0] = (t - cols_j >= 0) & (t - cols_j < T)
        sel = np.take_along_axis(a_val, idx[..., None], axis=2)[..., 0]  # the mux
        p_val = new_p + sel * s
        p_ok = pin_ok
        mac = pin_ok & a_ok & live
        macs += int(mac.sum())
        gated += int((mac & ((sel == 0) | (s == 0))).sum())
        m_out = t - (R - 1) - cols_j                                    # bottom row drains
        done = (m_out >= 0) & (m_out < T)
        out[m_out[done], cols_j[done]] = np.where(p_ok[R - 1, done], p_val[R - 1, done], 0)
    return out, macs, gated


def emulate_sparse(A, B, rows: int, cols: int, *,
                   skip_pattern: str | None = None) -> SparseEmulation:
    """Run ``A[M,K] @ B[K,N]`` on a weight-stationary array, moving values, with zero-skipping.

    Parameters
    ----------
    A : array_like, shape (M, K)
        Activations (streamed).
    B : array_like, shape (K, N)
        Weights (stationary); with ``skip_pattern="N:M"`` every group of ``M`` along ``K``
        must hold at most ``N`` non-zeros (``prune(B, "N:M", axis=0)``).
    rows, cols : int
        Array height R and width C.
    skip_pattern : str, optional
        ``"N:M"``: store only the kept weights and their indices (module docstring); None:
        the dense WS schedule (one activation per row, no mux).

    Returns
    -------
    SparseEmulation
        ``output == A @ B`` exactly for integers; ``cycles == skipping_cycles(...)``;
        ``gated_macs`` counts the MACs a zero-gating PE would not toggle.

    Examples
    --------
    >>> from npulab.sparse import prune
    >>> rng = np.random.default_rng(0)
    >>> A = rng.integers(-8, 8, (5, 16)); B = prune(rng.integers(-8, 8, (16, 3)), "2:4", axis=0)
    >>> dense, sparse = emulate_sparse(A, B, 8, 4), emulate_sparse(A, B, 8, 4, skip_pattern="2:4")
    >>> bool((sparse.output == A @ B).all()), dense.cycles, sparse.cycles
    (True, 46, 23)
    """
    A, B = np.asarray(A), np.asarray(B)
    if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[0] or A.size == 0 or B.size == 0:
        raise ValueError(f"emulate_sparse needs non-empty A[M,K] and B[K,N]; got shapes "
                         f"{A.shape} and {B.shape}")
    R = positive_int("emulate_sparse", "rows", rows)
    C = positive_int("emulate_sparse", "cols", cols)
    M, K = A.shape
    N = B.shape[1]
    dtype: type[np.generic]
    if np.issubdtype(A.dtype, np.integer) and np.issubdtype(B.dtype, np.integer):
        bound = int(np.abs(A).max()) * int(np.abs(B).max()) * K
        dtype = np.int32 if bound < 2**31 else np.int64
    else:
        dtype = np.float64
    A, B = A.astype(dtype), B.astype(dtype)
    if skip_pattern:
        n, m = parse_nm(skip_pattern)
        if not is_nm_sparse(B, n, m, axis=0):
            raise ValueError(f"emulate_sparse B is not {skip_pattern} sparse along K; prune it "
                             f"with prune(B, {skip_pattern!r}, axis=0)")
        bc, idx = _compress_nm(B, n, m)
        G = -(-K // m)
        a_pad = np.zeros((M, G * m), dtype)
        a_pad[:, :K] = A
        groups = a_pad.reshape(M, G, m)                          # [M, G, m] activation vectors
        group_of_row = np.arange(bc.shape[0]) // n               # compressed row -> group
        meta = metadata_bits(skip_pattern)
    else:
        n = m = 1
        bc, idx = B, np.zeros(B.shape, np.int64)
        groups = A[:, :, None]                                   # [M, K, 1]
        group_of_row = np.arange(K)
        meta = 0
    Kc = bc.shape[0]
    out = np.zeros((M, N), dtype)
    per_fold, macs, gated = [], 0, 0
    acc = {"ifmap_sram_reads": 0, "filter_sram_reads": 0, "filter_metadata_bits": 0,
           "ofmap_sram_writes": 0, "ofmap_sram_reads": 0}
    for c0 in range(0, N, C):
        for r0 in range(0, Kc, R):
            used_r, used_c = min(R, Kc - r0), min(C, N - c0)
            rs, cs = slice(r0, r0 + used_r), slice(c0, c0 + used_c)
            s = np.zeros((R, C), dtype)                 # stationary weights of the fold
            s[:used_r, :used_c] = bc[rs, cs]
            ix = np.zeros((R, C), np.int64)             # their mux selects (metadata)
            ix[:used_r, :used_c] = idx[rs, cs]
            g_rows = group_of_row[rs]
            a = np.zeros((M, R, m), dtype)              # [T, R, m] activation vectors per row
            a[:, :used_r] = groups[:, g_rows]
            blk, f_macs, f_gated = _ws_fold(a, s, ix, used_r, used_c, R, C)
            macs += f_macs
            gated += f_gated
            per_fold.append(fold_cycles(M, R, C, "ws"))
            acc["ofmap_sram_reads"] += M * used_c if r0 else 0        # read-modify-write
            out[:, c0:c0 + used_c] += blk[:, :used_c]
            acc["ofmap_sram_writes"] += M * used_c
            acc["filter_sram_reads"] += used_r * used_c
            acc["filter_metadata_bits"] += used_r * used_c * meta
            # each distinct group's activations are read once and broadcast to its rows
            ks = np.unique(g_rows) * m
            acc["ifmap_sram_reads"] += M * int(np.minimum(m, K - ks).sum())
    return SparseEmulation(output=out, cycles=int(sum(per_fold)), fold_cycles=per_fold,
                           executed_macs=macs, gated_macs=gated, dense_macs=M * N * K,
                           accesses=acc, pattern=skip_pattern or None)
