"""Cycle-level systolic-array emulator that moves real values.

Every PE ``(i, j)`` of an ``R x C`` array holds registers; each cycle, operands step one
PE to the right (the west-to-east operand) or down (the north-to-south one), edge PEs
take new values from the SRAM buffers with a skew of one cycle per row/column, and
every PE that holds two valid operands does one multiply-accumulate (MAC).  This is H.T.
Kung's systolic schedule ("Why systolic architectures?", IEEE Computer 1982) in the three
dataflows of Chen et al. (Eyeriss, ISCA 2016) / SCALE-Sim (Samajdar et al., ISPASS 2020):

* **OS** (output stationary): ``A[m, k]`` flows right along row ``m``, ``B[k, n]`` flows
  down column ``n``; PE ``(i, j)`` accumulates ``C[i, j]`` in place.  ``A[i, k]`` and
  ``B[k, j]`` meet in PE ``(i, j)`` at cycle ``k + i + j``.  After the last MAC the
  ``R`` rows of results shift out of the bottom edge (``R`` cycles).
* **WS** (weight stationary): ``B[k, n]`` is loaded into PE ``(k, n)`` first (``R``
  cycles, one row per cycle), then ``A[m, k]`` flows right along row ``k`` and partial sums
  flow down; ``C[m, j]`` leaves the bottom of column ``j`` at cycle ``m + R - 1 + j``.
* **IS** (input stationary): like WS with the roles of A and B swapped: ``A[m, k]`` sits
  in PE ``(k, m)``, ``B[k, n]`` flows right, and ``C[m, n]`` leaves column ``m`` (a
  transposed output, written back as ``C``).

Large GEMMs are cut into folds (:func:`npulab.systolic.folds.fold_plan`); folds run one
after another, and WS/IS accumulate partial sums of different reduction folds in the
output buffer (read-modify-write).  Operands are integers (int8 range, int64/int32 sums)
or floats; accumulators are int32 when the sum provably fits, else int64.

Two implementations, proven identical by tests:

* :func:`emulate_reference`: loops over cycles and over every PE: read this one.
* :func:`emulate`: the same register transfers as whole-array numpy operations per cycle.

Units: cycles, elements.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from npulab._validate import one_of, positive_int
from npulab.hw.array import DATAFLOWS
from npulab.systolic.folds import fold_cycles, fold_plan

__all__ = ["EmulationResult", "emulate", "emulate_reference"]


@dataclass(frozen=True, repr=False)
class EmulationResult:
    """What the emulator measured.

    Attributes
    ----------
    output : ndarray, shape (M, N)
        The product ``A @ B`` computed by the PEs: int32 accumulators for integer inputs
        when ``max|A| * max|B| * K < 2**31`` (always for int8 with K < 131072), else
        int64; float64 for float inputs.
    cycles : int
        Total cycles, all folds.
    dataflow : str
    rows, cols : int
    fold_cycles : list of int
        Cycles of each fold.
    active_pes : ndarray of int, shape (cycles,)
        PEs doing a MAC in each cycle.
    pe_macs : ndarray of int, shape (rows, cols)
        MACs each PE performed (a utilisation heat map).
    accesses : dict of str to int
        Buffer traffic: ``ifmap_sram_reads``, ``filter_sram_reads``,
        ``ofmap_sram_writes``, ``ofmap_sram_reads``.
    trace : list of dict or None
        With ``trace=True``: per cycle, copies of the operand registers ``a``, ``b``
        (NaN where empty) and accumulators/partial sums ``acc``, plus the fold index.
    """

    output: np.ndarray
    cycles: int
    dataflow: str
    rows: int
    cols: int
    fold_cycles: list
    active_pes: np.ndarray
    pe_macs: np.ndarray
    accesses: dict
    trace: list | None = field(default=None)

    @property
    def macs(self) -> int:
        """MACs performed."""
        return int(self.pe_macs.sum())

    @property
    def utilization(self) -> float:
        """MACs / (PEs x cycles)."""
        return self.macs / (self.rows * self.cols * self.cycles)

    def to_report(self, clock_hz: float = 1e9, precision: str = "int8", energy=None, name: str = ""):
        """The measured run as a :class:`npulab.perf.Report` (no DRAM: the emulator stops at
        the SRAM buffers).  Energy keys ``compute``, ``reg`` (2 operand register reads per
        MAC) and ``sram`` (every buffer access measured), in pJ."""
        from npulab.hw import EnergyTable
        from npulab.perf import Report
        from npulab.workloads.layers import bytes_per_element

        energy = energy or EnergyTable()
        b = bytes_per_element(precision)
        return Report.from_cycles(
            name=name or f"emulated {self.output.shape[0]}x{self.output.shape[1]}", engine="systolic",
            macs=self.macs, cycles=self.cycles, clock_hz=clock_hz, utilization=self.utilization,
            peak_ops_per_s=2.0 * self.rows * self.cols * clock_hz,
            energy_breakdown_pJ={"compute": self.macs * energy.mac_pJ(precision),
                                 "reg": 2 * self.macs * b * energy.reg_pJ_per_byte,
                                 "sram": sum(self.accesses.values()) * b * energy.sram_pJ_per_byte},
            details={**self.accesses, "dataflow": self.dataflow, "folds": len(self.fold_cycles)})

    def __repr__(self) -> str:
        M, N = self.output.shape
        return (f"EmulationResult(dataflow={self.dataflow!r}, array={self.rows}x{self.cols}, "
                f"output={M}x{N}, cycles={self.cycles}, folds={len(self.fold_cycles)}, "
                f"utilization={self.utilization:.1%}, accesses={self.accesses})")


def _check(A, B, rows, cols, dataflow):
    A, B = np.asarray(A), np.asarray(B)
    if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[0]:
        raise ValueError(f"emulate needs A[M,K] and B[K,N]; got shapes {A.shape} and {B.shape}")
    if A.size == 0 or B.size == 0:
        raise ValueError(f"emulate needs non-empty A and B; got shapes {A.shape} and {B.shape}")
    positive_int("emulate", "rows", rows)
    positive_int("emulate", "cols", cols)
    df = one_of("emulate", "dataflow", str(dataflow).lower(), DATAFLOWS)
    if np.issubdtype(A.dtype, np.integer) and np.issubdtype(B.dtype, np.integer):
        # int32 accumulators (as in hardware) when |sum| < 2**31 is guaranteed, else int64
        bound = int(np.abs(A).max(initial=0)) * int(np.abs(B).max(initial=0)) * A.shape[1]
        acc_dtype = np.int32 if bound < 2**31 else np.int64
    else:
        acc_dtype = np.float64
    return A.astype(acc_dtype), B.astype(acc_dtype), df, acc_dtype


def _folds(A, B, rows, cols, df):
    """Yield (west, north_or_stationary, out_rows, out_cols, k_fold) per fold, zero-padded.

    For OS: ``west`` [R, T] streams right (row i), ``north`` [T, C] streams down.
    For WS/IS: ``west`` [T, R] streams right (row i gets column i, time along axis 0),
    ``stationary`` [R, C] sits in the PEs.  The result block of the fold is
    ``out[rs, cs]`` (OS, WS) or its transpose (IS).
    """
    M, K = A.shape
    N = B.shape[1]
    p = fold_plan(M, N, K, rows, cols, df)
    for fc in range(p.col_folds):
        for fr in range(p.row_folds):
            r0, c0 = fr * rows, fc * cols
            if df == "os":
                a = np.zeros((rows, K), A.dtype)
                b = np.zeros((K, cols), B.dtype)
                blk_a = A[r0:r0 + rows, :]
                blk_b = B[:, c0:c0 + cols]
                a[:blk_a.shape[0]] = blk_a
                b[:, :blk_b.shape[1]] = blk_b
                yield a, b, blk_a.shape[0], blk_b.shape[1], (r0, c0)
            elif df == "ws":
                w = np.zeros((M, rows), A.dtype)            # streamed: A[:, k-chunk]
                s = np.zeros((rows, cols), B.dtype)          # stationary: B[k-chunk, n-chunk]
                blk_a = A[:, r0:r0 + rows]
                blk_s = B[r0:r0 + rows, c0:c0 + cols]
                w[:, :blk_a.shape[1]] = blk_a
                s[:blk_s.shape[0], :blk_s.shape[1]] = blk_s
                yield w, s, blk_s.shape[0], blk_s.shape[1], (r0, c0)
            else:
                w = np.zeros((N, rows), B.dtype)            # streamed: B[k-chunk, :].T
                s = np.zeros((rows, cols), A.dtype)          # stationary: A[m-chunk, k-chunk].T
                blk_b = B[r0:r0 + rows, :].T
                blk_s = A[c0:c0 + cols, r0:r0 + rows].T
                w[:, :blk_b.shape[1]] = blk_b
                s[:blk_s.shape[0], :blk_s.shape[1]] = blk_s
                yield w, s, blk_s.shape[0], blk_s.shape[1], (r0, c0)


# --------------------------------------------------------------------------------------
# Reference: every PE, every cycle, in plain Python.
# --------------------------------------------------------------------------------------
def _os_fold_reference(a, b, used_r, used_c, R, C, mac_count, active, record):
    """Output stationary: A moves east, B moves south, C stays; then R drain cycles."""
    T = a.shape[1]
    a_reg = [[None] * C for _ in range(R)]   # operand arriving from the west
    b_reg = [[None] * C for _ in range(R)]   # operand arriving from the north
    acc = [[0] * C for _ in range(R)]
    compute = T + R + C - 2
    for t in range(compute):
        new_a = [[None] * C for _ in range(R)]
        new_b = [[None] * C for _ in range(R)]
        for i in range(R):
            for j in range(C):
                # west input: the edge buffer (skewed by row i) or the left neighbour
                if j == 0:
                    k = t - i
                    new_a[i][j] = a[i, k] if (0 <= k < T and i < used_r) else None
                else:
                    new_a[i][j] = a_reg[i][j - 1]
                if i == 0:
                    k = t - j
                    new_b[i][j] = b[k, j] if (0 <= k < T and j < used_c) else None
                else:
                    new_b[i][j] = b_reg[i - 1][j]
        a_reg, b_reg = new_a, new_b
        n_active = 0
        for i in range(R):
            for j in range(C):
                if a_reg[i][j] is not None and b_reg[i][j] is not None:
                    acc[i][j] += a_reg[i][j] * b_reg[i][j]
                    mac_count[i, j] += 1
                    n_active += 1
        active.append(n_active)
        if record is not None:
            record.append(_snap(a_reg, b_reg, acc))
    # drain: each cycle the bottom row leaves and every row moves one PE down
    out = np.array(acc)
    for _ in range(R):
        active.append(0)
        if record is not None:
            record.append(_snap([[None] * C] * R, [[None] * C] * R, acc))
        acc = [[0] * C] + acc[:-1]
    return out[:used_r, :used_c], compute + R


def _stationary_fold_reference(w, s, used_r, used_c, R, C, mac_count, active, record):
    """WS/IS: load ``s`` (R cycles), stream ``w`` east, partial sums flow south."""
    T = w.shape[0]
    for t in range(R):                        # weight load: one row per cycle from the top
        active.append(0)
        if record is not None:
            rows_in = [[s[i, j] if i >= R - 1 - t else None for j in range(C)] for i in range(R)]
            record.append(_snap([[None] * C] * R, rows_in, [[None] * C] * R))
    a_reg = [[None] * C for _ in range(R)]
    psum = [[None] * C for _ in range(R)]    # partial sum leaving each PE southwards
    out = np.zeros((T, C), dtype=np.result_type(w, s))
    stream = T + R + C - 2
    for t in range(stream):
        new_a = [[None] * C for _ in range(R)]
        new_p = [[None] * C for _ in range(R)]
        n_active = 0
        for i in range(R):
            for j in range(C):
                if j == 0:
                    m = t - i
                    new_a[i][j] = w[m, i] if (0 <= m < T and i < used_r) else None
                else:
                    new_a[i][j] = a_reg[i][j - 1]
                # partial sum from the north (a zero enters row 0 with the wavefront)
                if i == 0:
                    p_in = 0 if 0 <= t - j < T else None
                else:
                    p_in = psum[i - 1][j]
                if p_in is not None and new_a[i][j] is not None and j < used_c:
                    new_p[i][j] = p_in + new_a[i][j] * s[i, j]
                    mac_count[i, j] += 1
                    n_active += 1
                else:
                    new_p[i][j] = p_in
        a_reg, psum = new_a, new_p
        for j in range(C):                    # the bottom row writes finished sums
            m = t - (R - 1) - j
            if 0 <= m < T and psum[R - 1][j] is not None:
                out[m, j] = psum[R - 1][j]
        active.append(n_active)
        if record is not None:
            record.append(_snap(a_reg, [[s[i][j] for j in range(C)] for i in range(R)], psum))
    return out[:, :used_c], R + stream


def _snap(a, b, acc):
    def arr(x):
        return np.array([[np.nan if v is None else float(v) for v in row] for row in x])
    return {"a": arr(a), "b": arr(b), "acc": arr(acc)}


def emulate_reference(A, B, rows: int, cols: int, dataflow: str = "os", trace: bool = False) -> EmulationResult:
    """Readable reference emulator: same contract as :func:`emulate` (slow; small arrays)."""
    return _run(A, B, rows, cols, dataflow, trace, vectorised=False)


# --------------------------------------------------------------------------------------
# Vectorised: the same register transfers on whole arrays per cycle.
# --------------------------------------------------------------------------------------
def _os_folds_fast(a, b, used_r, used_c, R, C, record=None):
    """All OS folds at once: ``a`` [F, R, T] moves east, ``b`` [F, T, C] moves south.

    Folds are independent, so they advance side by side (axis 0); the cycle count is
    still the sum over folds.  Returns outputs [F, R, C], busy PEs [F, cycles], MACs
    per PE [R, C] and per-cycle snapshots [F][cycles] (or None).
    """
    F, _, T = a.shape
    dtype = np.result_type(a, b)
    a_val = np.zeros((F, R, C), dtype); a_ok = np.zeros((F, R, C), bool)
    b_val = np.zeros((F, R, C), dtype); b_ok = np.zeros((F, R, C), bool)
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
        a_val[:, :, 1:] = a_val[:, :, :-1]; a_ok[:, :, 1:] = a_ok[:, :, :-1]
        k = t - rows_i
        ok = ((k >= 0) & (k < T))[None, :] & row_ok
        a_ok[:, :, 0] = ok
        a_val[:, :, 0] = np.where(ok, a[:, rows_i, np.clip(k, 0, T - 1)], 0)
        b_val[:, 1:, :] = b_val[:, :-1, :]; b_ok[:, 1:, :] = b_ok[:, :-1, :]
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
    a_val = np.zeros((F, R, C), dtype); a_ok = np.zeros((F, R, C), bool)
    p_val = np.zeros((F, R, C), dtype); p_ok = np.zeros((F, R, C), bool)
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
        a_val[:, :, 1:] = a_val[:, :, :-1]; a_ok[:, :, 1:] = a_ok[:, :, :-1]
        m = t - rows_i
        ok = ((m >= 0) & (m < T))[None, :] & row_ok
        a_ok[:, :, 0] = ok
        a_val[:, :, 0] = np.where(ok, w[:, np.clip(m, 0, T - 1), rows_i], 0)
        # partial sums step one PE south; a zero enters row 0 with the wavefront
        new_p[:, 1:] = p_val[:, :-1]; new_p[:, 0] = 0
        pin_ok[:, 1:] = p_ok[:, :-1]; pin_ok[:, 0] = ((t - cols_j >= 0) & (t - cols_j < T))[None, :]
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
        Ifmap (activations); integers (e.g. int8) or floats; accumulators are int32 when the sum provably fits, else int64.
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
    return _run(A, B, rows, cols, dataflow, trace, vectorised=True)


def _run(A, B, rows, cols, dataflow, trace, vectorised):
    A, B, df, dtype = _check(A, B, rows, cols, dataflow)
    M, K = A.shape
    N = B.shape[1]
    out = np.zeros((M, N), dtype)
    folds = list(_folds(A, B, rows, cols, df))
    T = {"os": K, "ws": M, "is": N}[df]
    n_fold = fold_cycles(T, rows, cols, df)
    record = [] if trace else None
    if vectorised and not trace:
        x = np.stack([f[0] for f in folds]); y = np.stack([f[1] for f in folds])
        used_r = np.array([f[2] for f in folds]); used_c = np.array([f[3] for f in folds])
        fn = _os_folds_fast if df == "os" else _stationary_folds_fast
        blocks, busy, mac_count = fn(x, y, used_r, used_c, rows, cols)
        blocks = [blocks[i] for i in range(len(folds))]
        active = busy.reshape(-1)
    else:
        mac_count = np.zeros((rows, cols), np.int64)
        act: list = []
        blocks = []
        fn = (_os_fold_reference if df == "os" else _stationary_fold_reference) if not vectorised \
            else (_os_fold_traced if df == "os" else _stationary_fold_traced)
        for i, (x, y, used_r, used_c, _) in enumerate(folds):
            n0 = len(record) if record is not None else 0
            blk, n = fn(x, y, used_r, used_c, rows, cols, mac_count, act, record)
            blocks.append(blk)
            if record is not None:
                for rec in record[n0:]:
                    rec["fold"] = i
        active = np.asarray(act, np.int64)
    acc = {"ifmap_sram_reads": 0, "filter_sram_reads": 0, "ofmap_sram_writes": 0, "ofmap_sram_reads": 0}
    written = np.zeros((M, N), bool)
    for (x, y, used_r, used_c, (r0, c0)), blk in zip(folds, blocks):
        if df == "os":
            blk = blk[:used_r, :used_c]
            out[r0:r0 + used_r, c0:c0 + used_c] = blk
            acc["ifmap_sram_reads"] += used_r * K
            acc["filter_sram_reads"] += used_c * K
            acc["ofmap_sram_writes"] += blk.size
            continue
        blk = blk[:, :used_c]
        if df == "is":
            blk = blk.T                               # column j held A row c0 + j
            rs, cs = slice(c0, c0 + used_c), slice(None)
            acc["ifmap_sram_reads"] += used_r * used_c
            acc["filter_sram_reads"] += used_r * N
        else:
            rs, cs = slice(None), slice(c0, c0 + used_c)
            acc["ifmap_sram_reads"] += used_r * M
            acc["filter_sram_reads"] += used_r * used_c
        acc["ofmap_sram_reads"] += int(written[rs, cs].sum())   # read-modify-write
        out[rs, cs] += blk
        written[rs, cs] = True
        acc["ofmap_sram_writes"] += blk.size
    per_fold = [n_fold] * len(folds)
    assert len(active) == sum(per_fold)
    return EmulationResult(output=out, cycles=int(sum(per_fold)), dataflow=df, rows=rows, cols=cols,
                           fold_cycles=per_fold, active_pes=active,
                           pe_macs=mac_count, accesses=acc, trace=record)


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
