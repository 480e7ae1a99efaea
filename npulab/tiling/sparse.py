"""Density-aware data movement: per-level traffic of compressed operands (Sparseloop's approach).

Sparseloop (Wu et al., MICRO 2022) keeps the dense dataflow model and asks, for every tile that
moves, how many of its words are non-zero and how much metadata its format adds.  Here:

* The dense model (:func:`npulab.tiling.model.access_counts`) says how often each tile moves:
  a level's ``fills`` (= its ``writes`` for inputs/weights) are ``fills / T_i`` transfers of its
  own tile (``T_i`` words), a parent's ``reads`` are transfers of its child's tile, and the
  innermost level's ``reads`` are single words, one per MAC.
* A compressed operand moves only the non-zeros of each tile (``occ``), plus its metadata:

  ==========  ===============================================================================
  format      metadata bits per tile transfer (``S`` tile words, ``r`` dims of the operand)
  ==========  ===============================================================================
  ``bitmap``  ``1 + S * [occ > 0]``: a presence bit in the parent rank, the bitmap only if the
              tile is not empty (fibertree ``B(tiles) B(elements)``)
  ``coo``     ``occ * r * index_bits``: one coordinate per dim per non-zero
  ==========  ===============================================================================

  The innermost reads skip zeros: a MAC whose word is zero reads nothing (no metadata).
* **Exact** (:func:`sparse_access_counts` with ``tensors``): the occupancy of every distinct
  tile of the actual tensor; every distinct tile of a level moves equally often (perfect
  factorisation), so a count is ``transfers * mean over tiles of (occ or metadata)``.  The
  tests prove it equal to walking the loop nest transfer by transfer.
* **Modelled** (with ``densities``, :class:`npulab.sparse.Density`): ``E[occ]`` and
  ``P(occ = 0)`` of the density model (hypergeometric for uniform random, structured N:M along
  the reduction dim), so every count is the expectation of the exact one over random tensors
  of that density (tested against a seeded Monte Carlo mean).

Outputs (partial sums) stay dense.  Exact counts need tiles that partition the operand: a GEMM's
inputs and weights and a conv's weights (a conv's input tiles overlap: modelled only).

Units: words (non-zero values), bits (metadata).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from npulab.sparse.density import Density
from npulab.tiling.model import access_counts
from npulab.tiling.problem import OPERANDS

if TYPE_CHECKING:
    from npulab.tiling.mapping import Mapping

__all__ = ["SparseTraffic", "sparse_access_counts", "TILE_FORMATS"]

#: Formats of a compressed operand's tiles.
TILE_FORMATS = ("bitmap", "coo")
_SPARSE_OPS = ("inputs", "weights")
_GROUP_DIM = {"gemm": "K", "conv": "C"}          # N:M groups run along the reduction


@dataclass(frozen=True, repr=False)
class SparseTraffic:
    """Per-level traffic of a mapping with compressed operands.

    Attributes
    ----------
    dense : dict of ndarray [levels, 3]
        ``reads``, ``writes``, ``fills`` of the dense model (words).
    reads, writes, fills : ndarray of float, shape [levels, 3]
        Non-zero words moved (operands in :data:`OPERANDS` order; outputs as dense).
    metadata_read_bits, metadata_write_bits : ndarray of float, shape [levels, 3]
    kind : str
        ``"exact"`` or ``"modelled"``.
    """

    mapping: Mapping
    dense: dict
    reads: np.ndarray
    writes: np.ndarray
    fills: np.ndarray
    metadata_read_bits: np.ndarray
    metadata_write_bits: np.ndarray
    kind: str

    def summary(self) -> dict:
        """``{level: {operand: {reads, writes, fills, metadata_bits}}}`` (plain floats)."""
        out = {}
        for i, lv in enumerate(self.mapping.arch.level_names):
            out[lv] = {op: {"reads": float(self.reads[i, o]), "writes": float(self.writes[i, o]),
                            "fills": float(self.fills[i, o]),
                            "metadata_bits": float(self.metadata_read_bits[i, o]
                                                   + self.metadata_write_bits[i, o])}
                       for o, op in enumerate(OPERANDS)}
        return out

    def energy_pJ(self, value_bits: int = 8) -> float:
        """Level read/write energy of the compressed traffic, metadata included (``read_pJ`` and
        ``write_pJ`` per word of ``value_bits``), without the MACs."""
        arch = self.mapping.arch
        rd = np.array([lv.read_pJ for lv in arch.levels])[:, None]
        wr = np.array([lv.write_pJ for lv in arch.levels])[:, None]
        words_r = self.reads + self.metadata_read_bits / value_bits
        words_w = self.writes + self.metadata_write_bits / value_bits
        return float((words_r * rd + words_w * wr).sum())

    def __repr__(self) -> str:
        lines = [f"SparseTraffic({self.kind}, {self.mapping.problem})"]
        lines.append(f"  {'level':<6}{'operand':<9}{'reads':>12}{'writes':>12}{'fills':>12}"
                     f"{'meta bits':>12}")
        for lv, ops in self.summary().items():
            for op, a in ops.items():
                lines.append(f"  {lv:<6}{op:<9}{a['reads']:>12,.1f}{a['writes']:>12,.1f}"
                             f"{a['fills']:>12,.1f}{a['metadata_bits']:>12,.1f}")
        return "\n".join(lines)


def _tile_extents(mapping, level: int, op: str) -> tuple:
    e = mapping.extent(level)
    return tuple(e[d] for d in mapping.problem.relevant(op))


def _exact_stats(tensor: np.ndarray, ext: tuple, fmt: str, index_bits: int) -> tuple:
    """Mean occupancy and mean metadata bits over the distinct tiles of extent ``ext``."""
    grid = []
    for s, e in zip(tensor.shape, ext, strict=True):
        grid += [s // e, e]
    occ = np.count_nonzero(tensor.reshape(grid), axis=tuple(range(1, 2 * len(ext), 2)))
    size = math.prod(ext)
    if fmt == "bitmap":
        meta = 1 + size * np.mean(occ > 0)
    else:
        meta = np.mean(occ) * len(ext) * index_bits
    return float(np.mean(occ)), float(meta)


def _model_stats(density: Density, mapping, level: int, op: str, fmt: str,
                 index_bits: int) -> tuple:
    """Expected occupancy and metadata bits of one tile transfer under the density model."""
    p = mapping.problem
    rel = p.relevant(op)
    ext = _tile_extents(mapping, level, op)
    size = math.prod(ext)
    total = math.prod(p.size[d] for d in rel)
    occ = density.expected_occupancy(size, total)
    if fmt == "coo":
        return occ, occ * len(rel) * index_bits
    g = _GROUP_DIM[p.kind]
    group_extent = ext[rel.index(g)] if (density.kind == "nm" and g in rel) else None
    return occ, 1 + size * (1 - density.prob_empty(size, total, group_extent))


def sparse_access_counts(mapping, *, densities: dict | None = None, tensors: dict | None = None,
                         formats: dict | None = None, index_bits: int = 8) -> SparseTraffic:
    """Per-level reads, writes, fills and metadata of compressed inputs/weights.

    Parameters
    ----------
    mapping : Mapping
    densities : dict, optional
        ``{"inputs" | "weights": Density or "N:M" or float}``: the modelled counts.
    tensors : dict, optional
        ``{"inputs" | "weights": ndarray}`` in the operand's dims order
        (``problem.relevant(op)``, e.g. GEMM weights ``[K, N]``): the exact counts.
        Give ``densities`` or ``tensors``, not both.
    formats : dict, optional
        ``{operand: "bitmap" | "coo"}``; default ``"bitmap"`` for every sparse operand.
    index_bits : int, default 8
        Bits of one coordinate (``coo``).

    Returns
    -------
    SparseTraffic

    Units: words, bits.

    Examples
    --------
    >>> from npulab.tiling import Mapping, Problem, tpu_like
    >>> m = Mapping.build(Problem.gemm(4, 4, 8), tpu_like(rows=4, cols=4),
    ...                   {"REG": [("K", 8)]}, spatial={"rows": {"M": 4}, "cols": {"N": 4}},
    ...                   bypass={"REG": ["inputs", "weights"]})
    >>> t = sparse_access_counts(m, densities={"weights": "2:4"})
    >>> int(t.dense["reads"][1, 1]), float(t.reads[1, 1])   # SRAM weight reads: half the words
    (32, 16.0)
    """
    given: dict
    if densities is not None and tensors is None:
        given = densities
    elif tensors is not None and densities is None:
        given = tensors
    else:
        raise ValueError("sparse_access_counts needs densities or tensors (one of them)")
    bad = sorted(set(given) - set(_SPARSE_OPS))
    if bad:
        raise ValueError(f"sparse_access_counts operands must be in {list(_SPARSE_OPS)}; got {bad}")
    formats = {op: "bitmap" for op in given} | dict(formats or {})
    for op, f in formats.items():
        if f not in TILE_FORMATS:
            raise ValueError(f"sparse_access_counts format of {op} must be one of "
                             f"{list(TILE_FORMATS)}; got {f!r}")
    p, arch = mapping.problem, mapping.arch
    if tensors is not None:
        for op, x in tensors.items():
            shape = tuple(p.size[d] for d in p.relevant(op))
            if p.kind == "conv" and op == "inputs":
                raise ValueError("sparse_access_counts: exact counts of conv inputs are not "
                                 "supported (overlapping tiles); use densities")
            if np.shape(x) != shape:
                raise ValueError(f"sparse_access_counts tensors[{op!r}] must have shape {shape} "
                                 f"(dims {p.relevant(op)}); got {np.shape(x)}")
    dense = access_counts(p, arch, mapping.factors()[None], mapping.orders()[None], mapping.bypass)
    dense = {k: v[0] for k, v in dense.items()}
    L = len(arch.levels)
    out = {k: dense[k].astype(float) for k in ("reads", "writes", "fills")}
    meta_r, meta_w = np.zeros((L, 3)), np.zeros((L, 3))
    for op in given:
        o = OPERANDS.index(op)
        held = [i for i in range(L) if op not in mapping.bypass[i]]
        if tensors is not None:
            x = np.asarray(tensors[op])
            stats = {i: _exact_stats(x, _tile_extents(mapping, i, op), formats[op], index_bits)
                     for i in held}
            word = np.count_nonzero(x) / x.size
        else:
            d = Density.parse(given[op])      # given is densities here
            stats = {i: _model_stats(d, mapping, i, op, formats[op], index_bits) for i in held}
            total = math.prod(p.size[k] for k in p.relevant(op))
            word = d.expected_occupancy(total, total) / total
        for k, i in enumerate(held):
            T = int(dense["tiles"][i, o])
            if i > 0:                                       # fills = writes of this level's tile
                n = dense["fills"][i, o] / T
                out["fills"][i, o] = out["writes"][i, o] = n * stats[i][0]
                meta_w[i, o] = n * stats[i][1]
            if k + 1 < len(held):                           # reads feed the child's fills
                c = held[k + 1]
                n = dense["reads"][i, o] / int(dense["tiles"][c, o])
                out["reads"][i, o] = n * stats[c][0]
                meta_r[i, o] = n * stats[c][1]
            else:                                           # one word per MAC, zeros skipped
                out["reads"][i, o] = dense["reads"][i, o] * word
    return SparseTraffic(mapping=mapping, dense=dense, reads=out["reads"], writes=out["writes"],
                         fills=out["fills"], metadata_read_bits=meta_r, metadata_write_bits=meta_w,
                         kind="exact" if tensors is not None else "modelled")
