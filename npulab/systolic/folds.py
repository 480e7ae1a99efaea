"""Folding and the closed-form timing/traffic model of a systolic array.

A GEMM ``A[M, K] @ B[K, N]`` rarely fits an ``R x C`` array at once: it is cut into
*folds* (tiles) that each occupy the array for one pass.  Which dimensions map to the
array depends on the dataflow (Samajdar et al., "SCALE-Sim", ISPASS 2020, Table 1):

========  ======================  ====================  =====================
dataflow  array rows (spatial)    array cols (spatial)  streamed (temporal T)
========  ======================  ====================  =====================
``os``    M (output rows)         N (output cols)       K
``ws``    K (reduction)           N (filters)           M
``is``    K (reduction)           M (output pixels)     N
========  ======================  ====================  =====================

Folds: ``F = ceil(Sr / R) * ceil(Sc / C)``.  Cycles of one fold (the emulator measures
these, see :mod:`npulab.systolic.emulator`):

* OS: skewed operands reach the far corner after ``R + C - 2`` cycles, the last MAC is
  at ``T + R + C - 3`` (0-based), then the ``R`` rows of results shift out:
  ``2R + C + T - 2`` (Kung's systolic schedule; SCALE-Sim paper Eq. 1).
* WS / IS: ``R`` cycles to load the stationary operand, then ``T + R + C - 2`` cycles
  of streaming: ``2R + C + T - 2``.

**Folds back to back** (:func:`pipelined_cycles`, what ``estimate`` uses when the hardware
double-buffers its stationary operand, ``SystolicConfig.fold_overlap``; scorecard presets
do): the next fold's fill (loading its stationary operand, or for OS draining the previous
fold's results) overlaps the current fold's streaming, as the TPU's weight FIFO and
double-buffered weight registers do (Jouppi et al., ISCA 2017, Sec. 2).  A fold then issues
every ``max(T, R')`` cycles (``R' = min(R, Sr)``, the rows a fold maps) and only the first
fill and the last drain are exposed::

    cycles = (F - 1) * max(T, R') + (2R + C + T - 2)

Repeats of a layer (the heads of an attention, the layers of a model) continue the same
pipeline: the scorecard charges each repeat ``F * max(T, R')`` and the exposed fill and
drain once (``details["pipeline_fill_cycles"]``), ignoring the data dependence between
consecutive layers (an optimistic bound, as double-buffered accelerators approach).

So a one-token GEMM (``T = M = 1`` on WS) is *weight-load bound*: ``F * R = K * N / C``
cycles, one array row of weights per cycle, instead of ``F * (2R + C - 1)``.  Without
``fold_overlap`` (the default of the bare engine, and what the cycle-level emulator
measures) every fold pays its own fill and drain.

SCALE-Sim 3.0.0 (``scalesim_compat=True``) uses the same fold count but an OS fold of
``T + R + C - 2`` (no drain) and reports the index of the last cycle (``total - 1``);
it also counts ``R + C`` extra OS ofmap writes per fold.  All differences are listed in
:mod:`npulab.systolic` (module docstring) and in ``course/lectures/03_systolic.md``.

Units: cycles, elements (words), pJ.
"""
from __future__ import annotations

from dataclasses import dataclass

from npulab._validate import one_of, positive_int
from npulab.hw.array import DATAFLOWS

__all__ = ["FoldPlan", "fold_plan", "compute_cycles", "pipelined_cycles", "sram_accesses",
           "utilization"]


@dataclass(frozen=True)
class FoldPlan:
    """How a GEMM folds onto an array.

    Attributes
    ----------
    Sr, Sc, T : int
        Spatial rows, spatial columns and temporal length (see the table above).
    row_folds, col_folds : int
        ``ceil(Sr / R)`` and ``ceil(Sc / C)``.
    rows, cols : int
        Array height R and width C.
    """

    Sr: int
    Sc: int
    T: int
    rows: int
    cols: int
    row_folds: int
    col_folds: int

    @property
    def folds(self) -> int:
        """Total folds ``row_folds * col_folds``."""
        return self.row_folds * self.col_folds

    @property
    def mapping_efficiency(self) -> float:
        """Average over folds of (PEs mapped / PEs), = ``Sr * Sc / (folds * R * C)``."""
        return self.Sr * self.Sc / (self.folds * self.rows * self.cols)


def _check(M, N, K, rows, cols, dataflow):
    for name, v in (("M", M), ("N", N), ("K", K), ("rows", rows), ("cols", cols)):
        positive_int("systolic", name, v)
    if isinstance(dataflow, str):
        dataflow = dataflow.lower()
    return one_of("systolic", "dataflow", dataflow, DATAFLOWS)


def fold_plan(M: int, N: int, K: int, rows: int, cols: int, dataflow: str) -> FoldPlan:
    """Map a GEMM ``A[M,K] @ B[K,N]`` onto a ``rows x cols`` array.

    Examples
    --------
    >>> p = fold_plan(100, 70, 30, 32, 32, "os")
    >>> (p.row_folds, p.col_folds, p.T)
    (4, 3, 30)
    """
    df = _check(M, N, K, rows, cols, dataflow)
    Sr, Sc, T = {"os": (M, N, K), "ws": (K, N, M), "is": (K, M, N)}[df]
    return FoldPlan(Sr, Sc, T, rows, cols, -(-Sr // rows), -(-Sc // cols))


def fold_cycles(T: int, rows: int, cols: int, dataflow: str, scalesim_compat: bool = False) -> int:
    """Cycles one fold occupies the array.

    Physical: ``2R + C + T - 2`` for every dataflow.  SCALE-Sim: the same for WS/IS and
    ``R + C + T - 2`` for OS (it omits the output drain).
    """
    if scalesim_compat and dataflow == "os":
        return rows + cols + T - 2
    return 2 * rows + cols + T - 2


def compute_cycles(M: int, N: int, K: int, rows: int, cols: int, dataflow: str,
                   scalesim_compat: bool = False) -> int:
    """Compute cycles of a GEMM (no memory stalls), folds included.

    ``folds * fold_cycles``; with ``scalesim_compat`` this is SCALE-Sim 3.0.0's
    "Total Cycles" in CALC bandwidth mode, which is one less (the index of the last cycle).

    Units: cycles.

    Examples
    --------
    >>> compute_cycles(16, 16, 16, 16, 16, "os")
    62
    >>> compute_cycles(16, 16, 16, 16, 16, "os", scalesim_compat=True)
    45
    """
    p = fold_plan(M, N, K, rows, cols, dataflow)
    n = p.folds * fold_cycles(p.T, rows, cols, dataflow.lower(), scalesim_compat)
    return n - 1 if scalesim_compat else n


def pipelined_cycles(M: int, N: int, K: int, rows: int, cols: int, dataflow: str) -> int:
    """Compute cycles with folds back to back: ``(F - 1) * max(T, R') + 2R + C + T - 2``.

    Each fold's fill overlaps the previous fold's streaming (double-buffered stationary
    operand; see the module docstring); ``R' = min(R, Sr)`` rows are loaded (or drained)
    per fold.  Never more than :func:`compute_cycles`, never less than ``M*N*K / (R*C)``.

    Units: cycles.

    Examples
    --------
    >>> compute_cycles(1, 4096, 4096, 256, 256, "ws"), pipelined_cycles(1, 4096, 4096, 256, 256, "ws")
    (196352, 66047)
    """
    p = fold_plan(M, N, K, rows, cols, dataflow)
    return (p.folds - 1) * fold_interval(p) + fold_cycles(p.T, rows, cols, dataflow.lower())


def fold_interval(plan: FoldPlan) -> int:
    """Cycles between fold starts when folds overlap: ``max(T, min(R, Sr))``: stream the
    fold's ``T`` rows, or load (drain) the rows the next fold maps, whichever is longer."""
    return max(plan.T, min(plan.rows, plan.Sr))


def utilization(M: int, N: int, K: int, rows: int, cols: int, dataflow: str,
                scalesim_compat: bool = False) -> dict:
    """Mapping efficiency, compute utilisation and overall utilisation (fractions).

    * mapping efficiency: mean over folds of mapped PEs / PEs;
    * compute utilisation: mean over folds of ``MACs_fold / (R*C*cycles_fold)``, where
      SCALE-Sim's WS/IS ``cycles_fold`` is ``2R + 2C + T - 3`` (its demand-matrix height
      plus width minus one) and its OS one ``R + C + T - 2``;
    * overall: ``M*N*K / (R*C*compute_cycles)``.
    """
    df = dataflow.lower()
    p = fold_plan(M, N, K, rows, cols, df)
    if scalesim_compat:
        per_fold = (2 * rows + 2 * cols + p.T - 3) if df in ("ws", "is") else rows + cols + p.T - 2
    else:
        per_fold = fold_cycles(p.T, rows, cols, df)
    # mean over folds of used_rows*used_cols*T/(R*C*per_fold) = Sr*Sc*T/(folds*R*C*per_fold)
    compute_util = p.Sr * p.Sc * p.T / (p.folds * rows * cols * per_fold)
    cyc = compute_cycles(M, N, K, rows, cols, df, scalesim_compat)
    return {
        "mapping_efficiency": p.mapping_efficiency,
        "compute_utilization": compute_util,
        "overall_utilization": M * N * K / (rows * cols * cyc),
    }


def sram_accesses(M: int, N: int, K: int, rows: int, cols: int, dataflow: str,
                  scalesim_compat: bool = True) -> dict:
    """SRAM reads and writes per operand of a GEMM ``A[M,K] @ B[K,N]`` on ``rows x cols``.

    Parameters
    ----------
    M, N, K : int
        GEMM sizes; A (ifmap) is ``M x K``, B (filter) ``K x N``, C (ofmap) ``M x N``.
    rows, cols : int
        Array height R and width C.
    dataflow : {"os", "ws", "is"}
    scalesim_compat : bool, default True
        True: SCALE-Sim 3.0.0's counts (its DETAILED_ACCESS_REPORT "SRAM Reads/Writes"),
        including its ``R + C`` extra OS ofmap writes per fold.  False: what the
        moving-values emulator measures (OS writes exactly ``M*N``).

    Returns
    -------
    dict
        ``ifmap_sram_reads``, ``filter_sram_reads``, ``ofmap_sram_writes``,
        ``ofmap_sram_reads`` (partial sums read back to accumulate across reduction
        folds in WS/IS; SCALE-Sim does not count them, so 0 when compatible),
        ``folds``, ``row_folds``, ``col_folds``.

    Notes
    -----
    With ``Fr = ceil(Sr/R)`` and ``Fc = ceil(Sc/C)`` (see :func:`fold_plan`):

    ====  ===============  ===============  ===================================
    df    ifmap reads      filter reads     ofmap writes
    ====  ===============  ===============  ===================================
    os    ``M*K*Fc``       ``K*N*Fr``       ``M*N`` (+ ``Fr*Fc*(R+C)`` SCALE-Sim)
    ws    ``M*K*Fc``       ``K*N``          ``M*N*Fr``
    is    ``M*K``          ``K*N*Fc``       ``M*N*Fr``
    ====  ===============  ===============  ===================================

    Units: elements (words).

    Examples
    --------
    >>> sram_accesses(39, 94, 95, 16, 16, "is")["filter_sram_reads"]
    26790
    >>> d = sram_accesses(32, 32, 8, 16, 16, "os")
    >>> d["ofmap_sram_writes"], sram_accesses(32, 32, 8, 16, 16, "os", False)["ofmap_sram_writes"]
    (1152, 1024)
    """
    df = _check(M, N, K, rows, cols, dataflow)
    p = fold_plan(M, N, K, rows, cols, df)
    Fr, Fc = p.row_folds, p.col_folds
    if df == "os":
        ifmap, filt, ofmap_w, ofmap_r = M * K * Fc, K * N * Fr, M * N, 0
        if scalesim_compat:
            ofmap_w += p.folds * (rows + cols)
    elif df == "ws":
        ifmap, filt, ofmap_w, ofmap_r = M * K * Fc, K * N, M * N * Fr, M * N * (Fr - 1)
    else:
        ifmap, filt, ofmap_w, ofmap_r = M * K, K * N * Fc, M * N * Fr, M * N * (Fr - 1)
    return {
        "ifmap_sram_reads": ifmap,
        "filter_sram_reads": filt,
        "ofmap_sram_writes": ofmap_w,
        "ofmap_sram_reads": 0 if scalesim_compat else ofmap_r,
        "folds": p.folds,
        "row_folds": Fr,
        "col_folds": Fc,
    }

