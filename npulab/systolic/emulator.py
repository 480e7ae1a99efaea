"""Vectorised cycle-level systolic-array emulator: the fast path.

:func:`emulate` performs exactly the register transfers of the readable per-PE emulator
:func:`npulab.systolic.reference.emulate_reference` (read that module first: it explains
the OS/WS/IS schedules), but as numpy operations on whole ``[folds, R, C]`` register
arrays per cycle, with all folds advancing side by side.  The tests prove the two
identical (outputs, cycles, busy PEs per cycle, MACs per PE, buffer accesses, traces).
This is H. T. Kung's systolic schedule ("Why systolic architectures?", IEEE Computer
1982) in the dataflows of Chen et al. (Eyeriss, ISCA 2016) / SCALE-Sim (Samajdar et al.,
ISPASS 2020).

:class:`EmulationResult` and the fold cutting are shared with the reference
(:mod:`npulab.systolic._common`); :func:`emulate_reference` is re-exported here.

Units: cycles, elements.
"""
from __future__ import annotations

import numpy as np

from npulab.systolic._common import EmulationResult, assemble, check_operands, cut_folds
from npulab.systolic.reference import emulate_reference, fold_by_fold

__all__ = ["EmulationResult", "emulate", "emulate_reference"]


def _os_folds_fast(a, b, used_r, used_c, R, C, record=None):
    """All OS folds at once: ``a`` [F, R, T] moves east, ``b`` [F, T, C] moves south.

    Folds are independent, so they advance side by side (axis 0); the cycle count is
    still the sum over folds.  Returns outputs [F, R, C], busy PEs [F, cycles], MACs
    per PE [R, C] and per-cycle snapshots [F][cycles] (or None).
    """
    F, _, T = a.shape
    dtype = np.result_type(a, b)
    a_val = np.zeros((F, R, C), dtype)
    a_ok = np.zeros((F, R, C), bool)
    b_val = np.zeros((F, R, C), dtype)
    b_ok = np.zeros((F, R, C), bool)
    acc = np.zeros((F, R, C), dtype)
    rows_i, cols_j = np.arange(R), np.arange(C)
    row_ok = rows_i[None, :] < used_r[:, None]           # [F, R]
    col_ok = cols_j[None, :] < used_c[:, None]           # [F, C]
    compute = T + R + C - 2
    busy = np.zeros((F, compute + R), np.int64)
    cnt = np.zeros((F, R, C), np.int32)
    prod = np.empty((F, R, C), dtype)
    both = np.empty((F, R, C), bool)
    for t in range(compute):
        a_val[:, :, 1:] = a_val[:, :, :-1]
        a_ok[:, :, 1:] = a_ok[:, :, :-1]
        k = t - rows_i
        ok = ((k >= 0) & (k < T))[None, :] & row_ok
        a_ok[:, :, 0] = ok
        a_val[:, :, 0] = np.where(ok, a[:, rows_i, np.clip(k, 0, T - 1)], 0)
        b_val[:, 1:, :] = b_val[:, :-1, :]
        b_ok[:, 1:, :] = b_ok[:, :-1, :]
        k = t - cols_j
        ok = ((k >= 0) & (k < T))[None, :] & col_ok
        b_ok[:, 0, :] = ok
        b_val[:, 0, :] = np.where(ok, b[:, np.clip(k, 0, T - 1), cols_j], 0)
        np.logical_and(a_ok, b_ok, out=both)
        # an empty register holds 0, so the product of an idle PE adds nothing
        np.multiply(a_val, b_val, out=prod)
        acc += prod
        busy[:, t] = np.count_nonzero(both.reshape(F, -1), axis=1)
        np.add(cnt, both, out=cnt)
        if record is not None:                          # single fold: keep a snapshot
            record.append({"a": np.where(a_ok[0], a_val[0], np.nan),
                           "b": np.where(b_ok[0], b_val[0], np.nan), "acc": acc[0].astype(float)})
    if record is not None:                              # drain: rows shift out of the bottom
        d = acc[0].copy()
        for _ in range(R):
            record.append({"a": np.full((R, C), np.nan), "b": np.full((R, C), np.nan),
                           "acc": d.astype(float)})
            d = np.vstack([np.zeros((1, C), dtype), d[:-1]])
    return acc, busy, cnt.sum(axis=0, dtype=np.int64)


def _stationary_folds_fast(w, s, used_r, used_c, R, C, record=None):
    """All WS/IS folds at once: ``w`` [F, T, R] streams east, ``s`` [F, R, C] stays."""
    F, T, _ = w.shape
    dtype = np.result_type(w, s)
    a_val = np.zeros((F, R, C), dtype)
    a_ok = np.zeros((F, R, C), bool)
    p_val = np.zeros((F, R, C), dtype)
    p_ok = np.zeros((F, R, C), bool)
    out = np.zeros((F, T, C), dtype)
    rows_i, cols_j = np.arange(R), np.arange(C)
    row_ok = rows_i[None, :] < used_r[:, None]
    col_ok = (cols_j[None, :] < used_c[:, None])[:, None, :]   # [F, 1, C]
    stream = T + R + C - 2
    busy = np.zeros((F, R + stream), np.int64)
    cnt = np.zeros((F, R, C), np.int32)
    mac = np.empty((F, R, C), bool)
    prod = np.empty((F, R, C), dtype)
    new_p = np.empty((F, R, C), dtype)
    pin_ok = np.empty((F, R, C), bool)
    if record is not None:                              # weight load, one row per cycle
        for t in range(R):
            loaded = np.arange(R)[:, None] >= R - 1 - t
            record.append({"a": np.full((R, C), np.nan), "b": np.where(loaded, s[0], np.nan),
                           "acc": np.full((R, C), np.nan)})
    for t in range(stream):
        a_val[:, :, 1:] = a_val[:, :, :-1]
        a_ok[:, :, 1:] = a_ok[:, :, :-1]
        m = t - rows_i
        ok = ((m >= 0) & (m < T))[None, :] & row_ok
        a_ok[:, :, 0] = ok
        a_val[:, :, 0] = np.where(ok, w[:, np.clip(m, 0, T - 1), rows_i], 0)
        # partial sums step one PE south; a zero enters row 0 with the wavefront
        new_p[:, 1:] = p_val[:, :-1]
        new_p[:, 0] = 0
        pin_ok[:, 1:] = p_ok[:, :-1]
        pin_ok[:, 0] = ((t - cols_j >= 0) & (t - cols_j < T))[None, :]
        np.logical_and(pin_ok, a_ok, out=mac)
        mac &= col_ok
        # idle PEs hold a zero operand (or a zero weight), so they add nothing
        np.multiply(a_val, s, out=prod)
        np.add(new_p, prod, out=p_val)
        p_ok[:] = pin_ok
        busy[:, R + t] = np.count_nonzero(mac.reshape(F, -1), axis=1)
        np.add(cnt, mac, out=cnt)
        m_out = t - (R - 1) - cols_j
        done = (m_out >= 0) & (m_out < T)
        if done.any():
            jj = cols_j[done]
            out[:, m_out[done], jj] = np.where(p_ok[:, R - 1, jj], p_val[:, R - 1, jj], 0)
        if record is not None:
            record.append({"a": np.where(a_ok[0], a_val[0], np.nan), "b": s[0].astype(float),
                           "acc": np.where(p_ok[0], p_val[0], np.nan)})
    return out, busy, cnt.sum(axis=0, dtype=np.int64)


def emulate(A, B, rows: int, cols: int, dataflow: str = "os", trace: bool = False) -> EmulationResult:
    """Run ``A[M,K] @ B[K,N]`` on a ``rows x cols`` systolic array, cycle by cycle.

    Parameters
    ----------
    A : array_like, shape (M, K)
        Ifmap (activations); integers (e.g. int8) or floats; accumulators are int32 when the
        sum provably fits, else int64.
    B : array_like, shape (K, N)
        Filter (weights).
    rows, cols : int
        Array height R and width C.
    dataflow : {"os", "ws", "is"}, default "os"
    trace : bool, default False
        Keep a copy of every register per cycle (for the animation; small arrays only).

    Returns
    -------
    EmulationResult
        ``.output`` equals ``A @ B`` exactly for integers (int32/int64 accumulators), ``.cycles``
        equals :func:`npulab.systolic.compute_cycles` (physical model).

    Units: cycles, elements.

    References
    ----------
    H. T. Kung, "Why systolic architectures?", IEEE Computer 15(1), 1982.
    A. Samajdar et al., "A systematic methodology for characterizing scalability of DNN
    accelerators using SCALE-Sim", ISPASS 2020.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.arange(12).reshape(3, 4); B = np.arange(8).reshape(4, 2)
    >>> r = emulate(A, B, rows=2, cols=2, dataflow="ws")
    >>> bool((r.output == A @ B).all()), r.cycles
    (True, 14)
    """
    A, B, df, dtype = check_operands(A, B, rows, cols, dataflow)
    folds = list(cut_folds(A, B, rows, cols, df))
    if trace:                      # fold by fold, copying the registers every cycle
        record: list | None = []
        fold_fn = _os_fold_traced if df == "os" else _stationary_fold_traced
        blocks, mac_count, active = fold_by_fold(fold_fn, folds, rows, cols, record)
    else:                          # all folds side by side (axis 0)
        record = None
        x = np.stack([f[0] for f in folds])
        y = np.stack([f[1] for f in folds])
        used_r = np.array([f[2] for f in folds])
        used_c = np.array([f[3] for f in folds])
        fn = _os_folds_fast if df == "os" else _stationary_folds_fast
        blocks, busy, mac_count = fn(x, y, used_r, used_c, rows, cols)
        blocks = [blocks[i] for i in range(len(folds))]
        active = busy.reshape(-1)
    return assemble(A, B, df, dtype, rows, cols, folds, blocks, active, mac_count, record)


def _os_fold_traced(a, b, used_r, used_c, R, C, mac_count, active, record):
    """One OS fold through the vectorised kernel, with per-cycle snapshots."""
    acc, busy, macs = _os_folds_fast(a[None], b[None], np.array([used_r]), np.array([used_c]), R, C, record)
    mac_count += macs
    active.extend(busy[0].tolist())
    return acc[0][:used_r, :used_c], busy.shape[1]


def _stationary_fold_traced(w, s, used_r, used_c, R, C, mac_count, active, record):
    out, busy, macs = _stationary_folds_fast(w[None], s[None], np.array([used_r]), np.array([used_c]), R, C,
                                             record)
    mac_count += macs
    active.extend(busy[0].tolist())
    return out[0][:, :used_c], busy.shape[1]
