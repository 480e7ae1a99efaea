"""Closed-form cost model: accesses, energy and latency of many mappings at once (numpy).

For operand ``o`` held at level ``i`` (Timeloop's reasoning, Parashar et al., ISPASS 2019;
Sze et al. 2020, Ch. 5):

* the *tile* ``T_i`` is the footprint of all loops at and inside level ``i``;
* the level has ``I_i`` instances (the PE count if the array is above it, else 1);
* walking the loops *above* level ``i`` outer to inner, the tile is (re)loaded
  ``V_i = prod(factors down to the innermost loop relevant to o)`` times per instance:
  irrelevant loops inside that loop reuse the tile (this is what "stationary" means);
* inputs/weights: ``fills_i = I_i * V_i * T_i``; the parent reads the child's fills once per
  group of PEs that receive the same data at the same time (multicast over the spatial
  factors of dims irrelevant to ``o``); the innermost holding level feeds each MAC one word;
* outputs: each of the ``V_i`` visits ends with a write-back (drain) of ``T_i`` partial sums
  to the parent (reduced across PEs over spatial reduction dims); a visit to a tile seen
  before first reads its partial sums back (``V_i - D_i`` refills, ``D_i`` = distinct
  tiles = product of relevant outer factors); each MAC reads and writes one partial sum.

Latency is ``max(compute cycles, traffic_i / (I_i * bandwidth_i))`` over levels; the compute
cycles are the product of all temporal factors.  :mod:`npulab.tiling.reference` walks the
loops literally and the tests prove it equal to this model.

Differences from Timeloop/ZigZag (documented in ``course/lectures/04_tiling.md``): no
sliding-window (halo) reuse between consecutive input tiles, no diagonal multicast of inputs
(Eyeriss RS); the zero-start psum read is skipped once per PE copy of an output word (ZigZag:
once per word); innermost reads are all counted (ZigZag's API default
``access_same_data_considered_as_no_access`` drops repeats); factors must divide (no imperfect
factorisation; :func:`npulab.tiling.systolic_accesses` sums ragged folds instead).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from npulab.tiling.problem import OPERANDS


def _relevance(problem) -> np.ndarray:
    """Boolean ``[3, dims]``: which dims index each operand."""
    return np.array([[d in problem.relevant(op) for d in problem.dims] for op in OPERANDS])


def _footprint(problem, op: str, cov: np.ndarray) -> np.ndarray:
    """Vectorised :meth:`Problem.footprint`; ``cov`` is ``[n, dims]`` extents."""
    j = {d: k for k, d in enumerate(problem.dims)}
    if problem.kind == "conv" and op == "inputs":
        h = (cov[:, j["P"]] - 1) * problem.stride[0] + (cov[:, j["R"]] - 1) * problem.dilation[0] + 1
        w = (cov[:, j["Q"]] - 1) * problem.stride[1] + (cov[:, j["S"]] - 1) * problem.dilation[1] + 1
        return cov[:, j["N"]] * cov[:, j["C"]] * h * w
    rel = [j[d] for d in problem.relevant(op)]
    return np.prod(cov[:, rel], axis=1)


def tiles(problem, arch, factors: np.ndarray) -> np.ndarray:
    """Tile words ``[n, levels, 3]`` held by one instance of each level (bypass ignored)."""
    L = len(arch.levels)
    n = factors.shape[0]
    sp = factors[:, L] * factors[:, L + 1]                       # [n, D] spatial
    inner = np.cumprod(factors[:, L - 1::-1], axis=1)[:, ::-1]   # [n, L, D] loops at and inside i
    out = np.empty((n, L, 3), dtype=np.int64)
    for i in range(L):
        cov = inner[:, i] * (sp if arch.spatial_level >= i else 1)
        for o, op in enumerate(OPERANDS):
            out[:, i, o] = _footprint(problem, op, cov)
    return out


def fits(problem, arch, factors, bypass, tile_words=None) -> np.ndarray:
    """Boolean ``[n]``: every tile fits its level and the spatial factors fit the array."""
    L = len(arch.levels)
    ok = (np.prod(factors[:, L], axis=1) <= arch.rows) & (np.prod(factors[:, L + 1], axis=1) <= arch.cols)
    t = tiles(problem, arch, factors) if tile_words is None else tile_words
    for i, lv in enumerate(arch.levels):
        if lv.capacity is None:
            continue
        held = [o for o, op in enumerate(OPERANDS) if op not in bypass[i]]
        if lv.shared:
            ok &= t[:, i, held].sum(axis=1) <= lv.capacity
        else:
            for o in held:
                ok &= t[:, i, o] <= lv.capacity_of(OPERANDS[o])
    return ok


def access_counts(problem, arch, factors: np.ndarray, orders: np.ndarray, bypass) -> dict:
    """Per-level, per-operand reads, writes and fills of ``n`` mappings.

    Parameters
    ----------
    problem : Problem
    arch : Architecture
    factors : ndarray of int, shape [n, levels + 2, dims]
        Temporal factors per level, then spatial rows and cols factors.
    orders : ndarray of int, shape [n, levels, dims]
        Loop order per level: dim indices outer to inner.
    bypass : tuple of frozenset
        Operands each level does not store (the same for all ``n`` mappings).

    Returns
    -------
    dict of ndarray [n, levels, 3] (int64)
        ``reads``, ``writes``, ``fills`` (words entering from the parent; for outputs the
        partial sums read back), and ``tiles``; operands in :data:`OPERANDS` order.

    Units: words.
    """
    factors = np.asarray(factors, dtype=np.int64)
    orders = np.asarray(orders, dtype=np.int64)
    n, L, D = factors.shape[0], len(arch.levels), len(problem.dims)
    s = arch.spatial_level
    rel = _relevance(problem)                                    # [3, D]
    macs = problem.macs
    sp = factors[:, L] * factors[:, L + 1]                       # [n, D]
    pes = np.prod(sp, axis=1)                                    # [n]
    # spatial factors over dims irrelevant to each operand (multicast / reduction)
    irr_sp = np.stack([np.prod(sp[:, ~rel[o]], axis=1) for o in range(3)], 1)  # [n, 3]
    t = tiles(problem, arch, factors)
    rows = np.arange(n)
    # temporal loops above the innermost level in nest order, outer to inner
    A = (L - 1) * D
    ordered = np.take_along_axis(factors[:, : L - 1], orders[:, : L - 1], axis=2).reshape(n, A)
    ordered_dim = orders[:, : L - 1].reshape(n, A)
    cum = np.cumprod(ordered, axis=1)
    big = ordered > 1
    reads = np.zeros((n, L, 3), dtype=np.int64)
    writes = np.zeros_like(reads)
    fills = np.zeros_like(reads)
    ones = np.ones(n, dtype=np.int64)
    for o, op in enumerate(OPERANDS):
        held = [i for i in range(L) if op not in bypass[i]]
        relmask = rel[o][ordered_dim] & big                      # [n, A]
        # per-level product of relevant factors, cumulated: distinct tiles above level i
        rel_prod = np.cumprod(np.prod(factors[:, : L - 1][:, :, rel[o]], axis=2), axis=1)  # [n, L-1]
        visits, distinct = {}, {}
        for i in held:
            if i == 0:
                visits[i] = distinct[i] = ones
            else:
                above = relmask[:, : i * D]
                last = i * D - 1 - np.argmax(above[:, ::-1], axis=1)
                visits[i] = np.where(above.any(axis=1), cum[rows, last], 1)
                distinct[i] = rel_prod[:, i - 1]
        for k, i in enumerate(held):
            inst = pes if s < i else ones
            child = held[k + 1] if k + 1 < len(held) else None
            between = (i <= s < child) if child is not None else (i <= s)
            share = irr_sp[:, o] if between else 1               # multicast / reduction group
            red_above = irr_sp[:, o] if s < i else 1
            if op != "outputs":
                if i > 0:
                    fills[:, i, o] = inst * visits[i] * t[:, i, o]
                    writes[:, i, o] += fills[:, i, o]
                if child is None:
                    reads[:, i, o] += macs // share
                else:
                    c_inst = pes if s < child else 1
                    reads[:, i, o] += c_inst // share * visits[child] * t[:, child, o]
            else:
                if i > 0:
                    reads[:, i, o] += inst * visits[i] * t[:, i, o]     # drains (write-back)
                    fills[:, i, o] = inst // red_above * (visits[i] - distinct[i]) * t[:, i, o]
                    writes[:, i, o] += fills[:, i, o]
                if child is None:
                    # every MAC updates a psum; the first update of a word that starts at
                    # zero needs no read: D*T words per receiving PE, V*T per other copy
                    fresh = inst // red_above * (distinct[i] + (red_above - 1) * visits[i]) * t[:, i, o]
                    reads[:, i, o] += macs // share - fresh
                    writes[:, i, o] += macs // share
                else:
                    c_inst = pes if s < child else 1
                    cv = visits[child]
                    writes[:, i, o] += c_inst * cv * t[:, child, o] // share
                    c_red = irr_sp[:, o] if s < child else 1
                    reads[:, i, o] += c_inst // c_red * (cv - distinct[child]) * t[:, child, o]
    return {"reads": reads, "writes": writes, "fills": fills, "tiles": t}


def evaluate_batch(problem, arch, factors, orders, bypass) -> dict:
    """Energy (pJ), cycles, utilisation and validity of ``n`` mappings (the fast path).

    Returns a dict of arrays: ``energy_pJ`` [n], ``level_energy_pJ`` [n, levels, 3],
    ``mac_energy_pJ`` (scalar), ``cycles`` [n], ``compute_cycles`` [n], ``utilization``
    [n], ``valid`` [n] (tiles fit), plus everything from :func:`access_counts`.

    Units: pJ, cycles.
    """
    factors = np.asarray(factors, dtype=np.int64)
    L = len(arch.levels)
    c = access_counts(problem, arch, factors, orders, bypass)
    rd = np.array([lv.read_pJ for lv in arch.levels])[None, :, None]
    wr = np.array([lv.write_pJ for lv in arch.levels])[None, :, None]
    lvl_e = c["reads"] * rd + c["writes"] * wr
    mac_e = problem.macs * arch.mac_pJ
    energy = lvl_e.sum(axis=(1, 2)) + mac_e
    compute = np.prod(factors[:, :L].reshape(len(factors), -1), axis=1)
    pes = np.prod((factors[:, L] * factors[:, L + 1]), axis=1)
    cycles = compute.astype(np.float64)
    for i, lv in enumerate(arch.levels):
        if lv.bandwidth is None:
            continue
        inst = pes if arch.spatial_level < i else 1
        traffic = (c["reads"][:, i] + c["writes"][:, i]).sum(axis=1)
        cycles = np.maximum(cycles, np.ceil(traffic / (inst * lv.bandwidth)))
    util = problem.macs / (cycles * arch.rows * arch.cols)
    return dict(c, energy_pJ=energy, level_energy_pJ=lvl_e, mac_energy_pJ=mac_e, cycles=cycles,
                compute_cycles=compute, utilization=util,
                valid=fits(problem, arch, factors, bypass, c["tiles"]))


@dataclass(frozen=True)
class Cost:
    """Accesses, energy and latency of one mapping.

    Attributes
    ----------
    accesses : dict
        ``{level: {operand: {"reads", "writes", "fills"}}}`` in words.
    energy_pJ : float
        Total: MACs plus every level's reads and writes.
    energy_breakdown_pJ : dict
        ``{level: {operand: pJ}}`` plus ``"MAC"``.
    cycles, compute_cycles : int
    utilization : float
        ``MACs / (cycles * rows * cols)``.

    Units: words, pJ, cycles.
    """

    mapping: Any = field(repr=False)    # a npulab.tiling.mapping.Mapping (which imports this module)
    macs: int
    accesses: dict
    energy_pJ: float
    energy_breakdown_pJ: dict
    cycles: int
    compute_cycles: int
    utilization: float

    @property
    def edp(self) -> float:
        """Energy-delay product (pJ * cycles)."""
        return self.energy_pJ * self.cycles

    def level_energy_pJ(self) -> dict:
        """``{level: pJ}`` (all operands) plus ``"MAC"``."""
        out = {lv: sum(v.values()) for lv, v in self.energy_breakdown_pJ.items() if lv != "MAC"}
        out["MAC"] = self.energy_breakdown_pJ["MAC"]
        return out

    def report(self, name: str = ""):
        """This cost as a :class:`npulab.perf.Report` (energy keys: compute, reg, sram, dram)."""
        from npulab.metrics.report import Report

        arch = self.mapping.arch
        groups = {"compute": self.energy_breakdown_pJ["MAC"]}
        for lv in arch.levels:
            groups[lv.kind] = groups.get(lv.kind, 0.0) + sum(self.energy_breakdown_pJ[lv.name].values())
        return Report.from_cycles(name=name or str(self.mapping.problem), engine="tiler",
                                  macs=self.macs, cycles=self.cycles, clock_hz=arch.clock_hz,
                                  energy_breakdown_pJ=groups, peak_ops_per_s=2 * arch.rows * arch.cols * arch.clock_hz)

    def __repr__(self) -> str:
        lines = [f"Cost({self.mapping.problem}, {self.mapping.arch.name}): "
                 f"{self.energy_pJ / 1e6:.4g} uJ, {self.cycles:,.0f} cycles, "
                 f"utilization {self.utilization:.1%}"]
        lines.append(f"  {'level':<6}{'operand':<9}{'reads':>14}{'writes':>14}{'fills':>14}{'pJ':>14}")
        for lv, ops in self.accesses.items():
            for op, a in ops.items():
                lines.append(f"  {lv:<6}{op:<9}{a['reads']:>14,}{a['writes']:>14,}{a['fills']:>14,}"
                             f"{self.energy_breakdown_pJ[lv][op]:>14,.1f}")
        lines.append(f"  MAC {self.macs:,} x {self.mapping.arch.mac_pJ} pJ = "
                     f"{self.energy_breakdown_pJ['MAC']:,.1f} pJ")
        return "\n".join(lines)


def _cost_from(mapping, counts: dict, energy: dict, cycles, compute, util) -> Cost:
    arch = mapping.arch
    acc: dict[str, dict] = {}
    brk: dict = {}  # level -> operand -> pJ, and 'MAC' -> pJ
    for i, lv in enumerate(arch.levels):
        acc[lv.name], brk[lv.name] = {}, {}
        for o, op in enumerate(OPERANDS):
            acc[lv.name][op] = {k: int(counts[k][0, i, o]) for k in ("reads", "writes", "fills")}
            brk[lv.name][op] = float(energy["level_energy_pJ"][0, i, o])
    brk["MAC"] = float(energy["mac_energy_pJ"])
    return Cost(mapping, mapping.problem.macs, acc, float(energy["energy_pJ"][0]), brk,
                int(cycles), int(compute), float(util))


def evaluate(mapping) -> Cost:
    """Cost of one :class:`Mapping` by the closed-form model.

    Examples
    --------
    >>> from npulab.tiling import Problem, Mapping, tpu_like
    >>> m = Mapping.build(Problem.gemm(4, 4, 8), tpu_like(rows=4, cols=4),
    ...                   {"REG": [("K", 8)]}, spatial={"rows": {"M": 4}, "cols": {"N": 4}},
    ...                   bypass={"REG": ["inputs", "weights"]})
    >>> evaluate(m).accesses["SRAM"]["inputs"]["reads"]    # M*K words, each multicast to 4 PEs
    32
    """
    r = evaluate_batch(mapping.problem, mapping.arch, mapping.factors()[None],
                       mapping.orders()[None], mapping.bypass)
    return _cost_from(mapping, r, r, r["cycles"][0], r["compute_cycles"][0], r["utilization"][0])
