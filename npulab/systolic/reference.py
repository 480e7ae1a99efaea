"""Reference systolic-array emulator: every PE, every cycle, in plain Python.

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

This module is the readable definition: :func:`emulate_reference` loops over cycles and
over every PE (slow; small arrays).  :func:`npulab.systolic.emulator.emulate` does the
same register transfers as whole-array numpy operations per cycle; the tests prove the
two identical.  Operand checks, fold cutting and the result type live in
:mod:`npulab.systolic._common`.

Units: cycles, elements.
"""
from __future__ import annotations

import numpy as np

from npulab.systolic._common import EmulationResult, assemble, check_operands, cut_folds

__all__ = ["emulate_reference"]


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


def fold_by_fold(fold_fn, folds, rows, cols, record):
    """Run ``fold_fn`` on each fold in turn; returns (output blocks, MACs per PE [R, C],
    busy PEs per cycle) and tags each snapshot in ``record`` with its fold index."""
    mac_count = np.zeros((rows, cols), np.int64)
    act: list = []
    blocks = []
    for i, (x, y, used_r, used_c, _) in enumerate(folds):
        n0 = len(record) if record is not None else 0
        blk, n = fold_fn(x, y, used_r, used_c, rows, cols, mac_count, act, record)
        blocks.append(blk)
        if record is not None:
            for rec in record[n0:]:
                rec["fold"] = i
    return blocks, mac_count, np.asarray(act, np.int64)


def emulate_reference(A, B, rows: int, cols: int, dataflow: str = "os", trace: bool = False) -> EmulationResult:
    """Readable reference emulator: same contract as :func:`npulab.systolic.emulate` (slow; small arrays).

    Parameters
    ----------
    A : array, shape (M, K)
        The ifmap operand (integers or floats).
    B : array, shape (K, N)
        The filter operand.
    rows, cols : int
        PE array size ``R x C``.
    dataflow : {"os", "ws", "is"}, default "os"
    trace : bool, default False
        Record every PE's registers every cycle (for plots and animation).

    Returns
    -------
    EmulationResult
        ``.output`` equals ``A @ B`` exactly; ``.cycles`` counts every fold (units: cycles).

    Examples
    --------
    >>> import numpy as np
    >>> A, B = np.arange(6).reshape(2, 3), np.ones((3, 2), dtype=int)
    >>> r = emulate_reference(A, B, rows=2, cols=2, dataflow="os")
    >>> r.output.tolist(), r.cycles                 # OS fold: 2R + C + T - 2 = 4 + 2 + 3 - 2
    ([[3, 3], [12, 12]], 7)
    """
    A, B, df, dtype = check_operands(A, B, rows, cols, dataflow)
    folds = list(cut_folds(A, B, rows, cols, df))
    record: list | None = [] if trace else None
    fold_fn = _os_fold_reference if df == "os" else _stationary_fold_reference
    blocks, mac_count, active = fold_by_fold(fold_fn, folds, rows, cols, record)
    return assemble(A, B, df, dtype, rows, cols, folds, blocks, active, mac_count, record)
