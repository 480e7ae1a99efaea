"""SRAM traffic of a systolic array from the tiler: the cross-check with SCALE-Sim.

A ``rows x cols`` systolic array running ``A[M, K] @ B[K, N]`` is a two-level mapping:
SRAM above the array, one register per operand in each PE (Samajdar et al., "SCALE-Sim",
ISPASS 2020; Kung, "Why systolic architectures?", 1982):

====  =============  =============  ===============  ======================================
flow  array rows     array cols     PE register      SRAM traffic (one fold = one array load)
====  =============  =============  ===============  ======================================
os    M              N              C (loop K)       A: M*K*ceil(N/cols), B: K*N*ceil(M/rows),
                                                     C: M*N written once
ws    K              N              B (loop M)       A: M*K*ceil(N/cols), B: K*N,
                                                     C: M*N*ceil(K/rows) partial sums
is    K              M              A (loop N)       A: M*K, B: K*N*ceil(M/cols),
                                                     C: M*N*ceil(K/rows) partial sums
====  =============  =============  ===============  ======================================

Operands moving between neighbouring PEs are the tiler's *multicast*: one SRAM read feeds a
whole row or column.  When ``rows`` does not divide the mapped dim the last fold is partial;
the tiler needs factors that divide, so the GEMM is cut into up to four sub-GEMMs (full folds
and the remainder) that are mapped exactly and summed.

SCALE-Sim 3.0.0 counts ``rows + cols`` extra ofmap writes per OS fold (it drains the whole
array every fold); npulab reports the ``M * N`` words that really move.
"""
from __future__ import annotations

from npulab._validate import one_of, positive_int
from npulab.hw.hierarchy import Architecture, MemoryLevel
from npulab.tiling.mapping import Mapping
from npulab.tiling.problem import Problem

_PLACE = {  # dataflow -> (dim on rows, dim on cols, dim looped in the PE, bypassed at REG)
    "os": ("M", "N", "K", ("inputs", "weights")),
    "ws": ("K", "N", "M", ("inputs", "outputs")),
    "is": ("K", "M", "N", ("weights", "outputs")),
}


def _arch(rows, cols):
    levels = (MemoryLevel("DRAM", "dram", 1.0, 1.0), MemoryLevel("SRAM", "sram", 1.0, 1.0),
              MemoryLevel("REG", "reg", 1.0, 1.0, {"inputs": 1, "weights": 1, "outputs": 1}))
    return Architecture(levels, rows=rows, cols=cols, spatial_level=1, mac_pJ=1.0,
                        name=f"systolic {rows}x{cols}")


def systolic_mapping(M: int, N: int, K: int, rows: int, cols: int, dataflow: str) -> Mapping:
    """The tiler mapping of a systolic ``dataflow`` when the array dims divide the GEMM.

    Folds run at the SRAM level (row folds outside column folds); the stationary operand's
    loop runs in the PE register.
    """
    one_of("systolic_mapping", "dataflow", dataflow, _PLACE)
    rd, cd, td, byp = _PLACE[dataflow]
    size = {"M": M, "N": N, "K": K}
    sr, sc = min(rows, size[rd]), min(cols, size[cd])
    if size[rd] % sr or size[cd] % sc:
        raise ValueError(f"systolic_mapping needs {rd}={size[rd]} divisible by {sr} and "
                         f"{cd}={size[cd]} by {sc}; use systolic_accesses for ragged folds")
    return Mapping.build(Problem.gemm(M, N, K), _arch(rows, cols),
                         {"SRAM": [(rd, size[rd] // sr), (cd, size[cd] // sc)], "REG": [(td, size[td])]},
                         spatial={"rows": {rd: sr}, "cols": {cd: sc}}, bypass={"REG": byp})


def _split(n, per):
    """``n`` as full folds of ``per`` plus the remainder: ``[(length), ...]``."""
    parts = [n - n % per] if n >= per else []
    if n % per:
        parts.append(n % per)
    return parts


def systolic_accesses(M: int, N: int, K: int, rows: int, cols: int, dataflow: str) -> dict:
    """SRAM reads and writes of ``A[M, K] @ B[K, N]`` on a ``rows x cols`` systolic array.

    Parameters
    ----------
    M, N, K : int
        GEMM shape (A is the ifmap, B the filter, C the ofmap).
    rows, cols : int
        Array size.
    dataflow : {"os", "ws", "is"}

    Returns
    -------
    dict
        ``ifmap_sram_reads``, ``filter_sram_reads``, ``ofmap_sram_writes`` (words), from the
        tiler's counts at the SRAM level of the matching mapping.

    Units: words.

    Examples
    --------
    >>> systolic_accesses(77, 155, 22, 32, 16, "os")
    {'ifmap_sram_reads': 16940, 'filter_sram_reads': 10230, 'ofmap_sram_writes': 11935}
    """
    from npulab.tiling.model import evaluate

    for f, v in (("M", M), ("N", N), ("K", K), ("rows", rows), ("cols", cols)):
        positive_int("systolic_accesses", f, v)
    dataflow = one_of("systolic_accesses", "dataflow", str(dataflow).lower(), _PLACE)
    rd, cd, _, _ = _PLACE[dataflow]
    size = {"M": M, "N": N, "K": K}
    out = {"ifmap_sram_reads": 0, "filter_sram_reads": 0, "ofmap_sram_writes": 0}
    for a in _split(size[rd], rows):
        for b in _split(size[cd], cols):
            sub = dict(size, **{rd: a, cd: b})
            acc = evaluate(systolic_mapping(sub["M"], sub["N"], sub["K"], rows, cols, dataflow)).accesses["SRAM"]
            out["ifmap_sram_reads"] += acc["inputs"]["reads"]
            out["filter_sram_reads"] += acc["weights"]["reads"]
            out["ofmap_sram_writes"] += acc["outputs"]["writes"]
    return out
