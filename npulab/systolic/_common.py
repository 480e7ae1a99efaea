"""Shared by both systolic emulators: operand checks, cutting into folds, the result.

:mod:`npulab.systolic.reference` (per-PE loops in plain Python: read that one first) and
:mod:`npulab.systolic.emulator` (the same register transfers as numpy operations on whole
arrays) run the folds of ``A[M,K] @ B[K,N]`` on an ``R x C`` array (H. T. Kung, "Why
systolic architectures?", IEEE Computer 1982).  Both use this module to

* check the operands and pick the accumulator type (:func:`check_operands`),
* cut the GEMM into zero-padded folds (:func:`cut_folds`, the plan of
  :func:`npulab.systolic.folds.fold_plan`),
* write the fold outputs back into ``C``, count the SRAM buffer traffic and build the
  :class:`EmulationResult` (:func:`assemble`).

Units: cycles, elements.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from npulab._validate import one_of, positive_int
from npulab.hw.array import DATAFLOWS
from npulab.systolic.folds import fold_cycles, fold_plan

__all__ = ["EmulationResult", "check_operands", "cut_folds", "assemble"]


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
        from npulab.hw.energy import EnergyTable
        from npulab.hw.precision import bytes_per_element
        from npulab.metrics.report import Report

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


def check_operands(A, B, rows, cols, dataflow):
    """Check ``A[M,K]``, ``B[K,N]``, the array and the dataflow; pick the accumulator type."""
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


def cut_folds(A, B, rows, cols, df):
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


def assemble(A, B, df, dtype, rows, cols, folds, blocks, active, mac_count, record):
    """Write each fold's output block into ``C``, count buffer accesses, build the result.

    ``folds`` as yielded by :func:`cut_folds`; ``blocks[f]`` the outputs fold ``f`` left in
    the array; ``active`` busy PEs per cycle, all folds; ``mac_count`` [R, C] MACs per PE;
    ``record`` the per-cycle snapshots (or None).  WS/IS add the partial sums of
    different reduction folds in the output buffer (read-modify-write).
    """
    M, K = A.shape
    N = B.shape[1]
    out = np.zeros((M, N), dtype)
    T = {"os": K, "ws": M, "is": N}[df]
    n_fold = fold_cycles(T, rows, cols, df)
    acc = {"ifmap_sram_reads": 0, "filter_sram_reads": 0, "ofmap_sram_writes": 0, "ofmap_sram_reads": 0}
    written = np.zeros((M, N), bool)
    for (_x, _y, used_r, used_c, (r0, c0)), blk in zip(folds, blocks):
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
