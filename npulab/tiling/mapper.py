"""Mapping search: exhaustive for small spaces, seeded random sampling for large ones.

The space of a layer on an architecture with ``L`` levels is, for every dim, an ordered
factorisation of its size into ``L`` temporal factors plus a rows and a cols factor, times
a loop order for every level but the innermost (whose order moves no data).  A named
dataflow (:mod:`npulab.tiling.dataflows`) restricts which dims may sit at the innermost
level and on each array axis.  Candidates are evaluated in vectorised chunks
(:func:`npulab.tiling.model.evaluate_batch`), chunks run on any
:class:`concurrent.futures.Executor` (a process pool by default) or a Dask
``distributed.Client``, and each chunk returns only its best rows and its Pareto front.

Objectives: ``"energy"`` (pJ), ``"latency"`` (cycles), ``"edp"`` (pJ x cycles).
"""
from __future__ import annotations

import itertools
import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from npulab._validate import one_of, positive_int
from npulab.hw.hierarchy import as_architecture
from npulab.metrics.pareto import pareto_front
from npulab.tiling.dataflows import get_dataflow
from npulab.tiling.model import evaluate_batch

if TYPE_CHECKING:  # annotations only
    from npulab.tiling.mapping import Mapping
    from npulab.tiling.model import Cost

OBJECTIVES = ("energy", "latency", "edp")


#: Largest loop bound the mapper factors (trial division by primes up to its square root).
MAX_DIM = 2**40
#: Largest problem (MACs) the int64 cost model counts without overflow.
MAX_MACS = 2**50
#: Most random candidates one search draws.
MAX_SAMPLES = 10**8
#: Most factorisations of one loop bound the mapper enumerates.
MAX_SPLITS = 1_000_000


def _prime_factors(n: int) -> dict:
    """``{prime: exponent}`` of ``n`` by trial division up to ``sqrt(n)`` (O(sqrt n))."""
    out: dict[int, int] = {}
    p = 2
    while p * p <= n:
        while n % p == 0:
            out[p] = out.get(p, 0) + 1
            n //= p
        p += 1 if p == 2 else 2
    if n > 1:
        out[n] = out.get(n, 0) + 1
    return out


def _divisors(n):
    """Divisors of ``n`` in ascending order, built from its prime factorisation."""
    divs = [1]
    for p, e in _prime_factors(n).items():
        divs = [d * p**k for d in divs for k in range(e + 1)]
    return sorted(divs)


def _count_splits(n: int, parts: int) -> int:
    """Ordered factorisations of ``n`` into ``parts`` factors: ``prod_p C(e_p + parts - 1, parts - 1)``."""
    return math.prod(math.comb(e + parts - 1, parts - 1) for e in _prime_factors(n).values())


def _splits(n: int, allowed: list) -> np.ndarray:
    """All ordered factorisations of ``n`` into ``len(allowed)`` factors (int [k, parts]);
    ``allowed[j]`` is the largest factor position ``j`` may take (1 = must be 1)."""
    if n > MAX_DIM:
        raise ValueError(f"mapper: loop bound {n} is larger than the limit {MAX_DIM} (2**40)")
    free = sum(1 for a in allowed if a > 1)
    if _count_splits(n, max(free, 1)) > MAX_SPLITS:
        raise ValueError(f"mapper: loop bound {n} has {_count_splits(n, max(free, 1)):.3g} factorisations "
                         f"over {free} levels, over the limit of {MAX_SPLITS} (npulab.tiling.mapper.MAX_SPLITS)")
    out = []

    def rec(rest, j, acc):
        if j == len(allowed) - 1:
            if rest <= allowed[j]:
                out.append(acc + [rest])
            return
        for d in _divisors(rest):
            if d <= allowed[j]:
                rec(rest // d, j + 1, acc + [d])

    rec(n, 0, [])
    return np.array(out, dtype=np.int64).reshape(-1, len(allowed))


@dataclass(frozen=True)
class Space:
    """The candidate space of one search (plain arrays, cheap to send to workers)."""

    splits: tuple          # per dim: int [k_d, L + 2]
    perms: np.ndarray      # int [D!, D]: every loop order
    bypass: tuple
    n_levels: int

    @property
    def n_order_levels(self) -> int:
        """Levels whose loop order is searched (all but the innermost)."""
        return self.n_levels - 1

    @property
    def size(self) -> int:
        """Candidates in the space: factor splits times loop orders."""
        return math.prod(len(s) for s in self.splits) * len(self.perms) ** self.n_order_levels


def make_space(problem, arch, dataflow=None) -> Space:
    """The mapping space of ``problem`` on ``arch``, restricted by a named ``dataflow``."""
    L = len(arch.levels)
    df = get_dataflow(dataflow) if dataflow is not None else None
    bypass = df.bypass(arch) if df else tuple(frozenset() for _ in range(L))
    inner_dims = df.dims("inner", problem) if df else problem.dims
    row_dims = df.dims("rows", problem) if df else problem.dims
    col_dims = df.dims("cols", problem) if df else problem.dims
    if arch.row_dims is not None:                    # what the array's wiring allows
        row_dims = tuple(d for d in row_dims if d in arch.row_dims)
    if arch.col_dims is not None:
        col_dims = tuple(d for d in col_dims if d in arch.col_dims)
    inner_off = len(bypass[-1]) == 3
    splits = []
    for d, n in zip(problem.dims, problem.sizes):
        allowed = [n] * (L - 1) + [n if (d in inner_dims and not inner_off) else 1]
        allowed += [arch.rows if d in row_dims else 1, arch.cols if d in col_dims else 1]
        splits.append(_splits(n, allowed))
    perms = np.array(list(itertools.permutations(range(len(problem.dims)))), dtype=np.int64)
    return Space(tuple(splits), perms, bypass, L)


def _decode(space: Space, split_idx: np.ndarray, order_idx: np.ndarray):
    """Factor and order arrays from per-dim split indices [n, D] and order indices [n, L-1]."""
    n, D, L = len(split_idx), len(space.splits), space.n_levels
    factors = np.empty((n, L + 2, D), dtype=np.int64)
    for j, s in enumerate(space.splits):
        factors[:, :, j] = s[split_idx[:, j]]
    orders = np.empty((n, L, D), dtype=np.int64)
    orders[:, : L - 1] = space.perms[order_idx]
    orders[:, L - 1] = np.arange(D)
    return factors, orders


def candidates(space: Space, spec):
    """Decode one chunk: ``("range", start, stop)`` (exhaustive) or ``("random", seed, n)``."""
    D, Lo = len(space.splits), space.n_order_levels
    radices = [len(s) for s in space.splits] + [len(space.perms)] * Lo
    if spec[0] == "range":
        g = np.arange(spec[1], spec[2], dtype=np.int64)
        digits = np.empty((len(g), len(radices)), dtype=np.int64)
        for k in range(len(radices) - 1, -1, -1):
            g, digits[:, k] = np.divmod(g, radices[k])
    else:
        rng = np.random.default_rng(spec[1])
        digits = np.stack([rng.integers(0, r, size=spec[2]) for r in radices], axis=1)
    return _decode(space, digits[:, :D], digits[:, D:])


def _pareto(energy, cycles) -> np.ndarray:
    """Indices of the non-dominated points (min energy, min cycles), by rising energy.

    The front is :func:`npulab.metrics.pareto_front` (the one definition, ties kept); of
    equal-cost mappings on it the search keeps one, the lowest index (they cost the same, so
    listing every equivalent loop order would only repeat the point).
    """
    front = pareto_front(np.column_stack([energy, cycles]))
    keep, last = [], None
    for k in sorted(front, key=lambda i: (energy[i], cycles[i], i)):
        if (energy[k], cycles[k]) != last:
            keep.append(k)
            last = (energy[k], cycles[k])
    return np.array(keep, dtype=np.int64)


def evaluate_chunk(problem, arch, space: Space, spec) -> dict:
    """Evaluate one chunk; return counts, best candidate per objective and the Pareto front."""
    factors, orders = candidates(space, spec)
    r = evaluate_batch(problem, arch, factors, orders, space.bypass)
    ok = np.flatnonzero(r["valid"])
    out: dict = {"evaluated": len(factors), "valid": len(ok), "rows": None}
    if len(ok) == 0:
        return out
    e, c = r["energy_pJ"][ok], r["cycles"][ok]
    picks = {"energy": ok[np.lexsort((c, e))[0]], "latency": ok[np.lexsort((e, c))[0]],
             "edp": ok[np.argmin(e * c)]}
    front = ok[_pareto(e, c)]
    keep = np.unique(np.concatenate([front, list(picks.values())]))
    out["rows"] = {"factors": factors[keep], "orders": orders[keep],
                   "energy": r["energy_pJ"][keep], "cycles": r["cycles"][keep]}
    return out


@dataclass(frozen=True)
class SearchResult:
    """Outcome of :func:`search`.

    Attributes
    ----------
    best : Mapping
        Best mapping for the objective.
    cost : Cost
        Its cost.
    pareto : tuple of (float, float, Mapping)
        Energy (pJ), cycles and mapping of every non-dominated candidate, by rising energy.
    evaluated, valid : int
        Candidates evaluated and those whose tiles fit.
    method : {"exhaustive", "random"}
    """

    objective: str
    best: Mapping
    cost: Cost
    pareto: tuple
    evaluated: int
    valid: int
    method: str
    space_size: int

    def __repr__(self) -> str:
        return (f"SearchResult({self.method}, objective={self.objective}: {self.valid:,} valid of "
                f"{self.evaluated:,} evaluated (space {self.space_size:,}); best "
                f"{self.cost.energy_pJ / 1e6:.4g} uJ, {self.cost.cycles:,.0f} cycles; "
                f"Pareto front of {len(self.pareto)})\n{self.best}")


def _run(tasks, executor, progress: bool):
    from tqdm.auto import tqdm

    bar = dict(total=len(tasks), disable=not progress, desc="mapping search", unit="chunk")
    if executor == "inline" or (executor is None and len(tasks) == 1):
        return [evaluate_chunk(*t) for t in tqdm(tasks, **bar)]
    if executor is None:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=min(len(tasks), os.cpu_count() or 1)) as pool:
            return _run(tasks, pool, progress)
    futures = [executor.submit(evaluate_chunk, *t) for t in tasks]   # Executor or dask Client
    return [f.result() for f in tqdm(futures, **bar)]


def search(problem, arch, dataflow=None, objective: str = "energy", method: str = "auto",
           samples: int = 50_000, max_exhaustive: int = 200_000, chunk: int = 25_000,
           rng=0, executor=None, progress: bool = True) -> SearchResult:
    """Search mappings of ``problem`` on ``arch`` and return the best and the Pareto front.

    Parameters
    ----------
    problem : Problem or npulab.workloads layer
    arch : Architecture, ArrayConfig or SystolicConfig
        An array config is mapped with :meth:`~npulab.hw.Architecture.from_array`.
    dataflow : str or Dataflow, optional
        Restrict to a named dataflow ("ws", "os", "is", "rs", "nlr").
    objective : {"energy", "latency", "edp"}, default "energy"
    method : {"auto", "exhaustive", "random"}, default "auto"
        "auto" is exhaustive when the space has at most ``max_exhaustive`` candidates.
    samples : int, default 50000
        Candidates drawn by random search.
    chunk : int, default 25000
        Candidates per task sent to the executor.
    rng : int, numpy.random.Generator or None, default 0
        Seed of random search (the result does not depend on the executor).
    executor : concurrent.futures.Executor, dask.distributed.Client, "inline" or None
        Where chunks run; None is a process pool (or inline for a single chunk).
    progress : bool, default True
        Show a tqdm progress bar.

    Returns
    -------
    SearchResult

    Examples
    --------
    >>> from npulab.tiling import Problem, tpu_like
    >>> r = search(Problem.gemm(8, 8, 8), tpu_like(rows=4, cols=4), dataflow="os",
    ...            executor="inline", progress=False)
    >>> r.method, r.best.evaluate().energy_pJ == r.cost.energy_pJ
    ('exhaustive', True)
    """
    from npulab.tiling.mapping import Mapping
    from npulab.tiling.problem import Problem

    if not isinstance(problem, Problem):
        problem = Problem.from_workload(problem)
    arch = as_architecture(arch)  # an ArrayConfig / SystolicConfig maps onto Architecture.from_array
    one_of("search", "objective", objective, OBJECTIVES)
    one_of("search", "method", method, ("auto", "exhaustive", "random"))
    samples = positive_int("search", "samples", samples)
    if samples > MAX_SAMPLES:
        raise ValueError(f"search.samples must be <= {MAX_SAMPLES:.0e}; got {samples}")
    chunk = positive_int("search", "chunk", chunk)
    if math.prod(problem.sizes) > MAX_MACS:
        raise ValueError(f"search: {problem} has {math.prod(problem.sizes):.3g} MACs, over the limit "
                         f"of {MAX_MACS:.3g} (access counts are int64)")
    space = make_space(problem, arch, dataflow)
    if any(len(s) == 0 for s in space.splits):
        raise ValueError(f"no mapping of {problem} fits the array under dataflow {dataflow!r}")
    if method == "auto":
        method = "exhaustive" if space.size <= max_exhaustive else "random"
    if method == "exhaustive":
        specs = [("range", a, min(a + chunk, space.size)) for a in range(0, space.size, chunk)]
    else:
        seq = np.random.SeedSequence(rng if isinstance(rng, (int, type(None))) else
                                     int(np.random.default_rng(rng).integers(2**63)))
        counts = [min(chunk, samples - a) for a in range(0, samples, chunk)]
        specs = [("random", int(s.generate_state(1, np.uint64)[0]), c)
                 for s, c in zip(seq.spawn(len(counts)), counts)]
    results = _run([(problem, arch, space, s) for s in specs], executor, progress)
    rows = [r["rows"] for r in results if r["rows"] is not None]
    evaluated = sum(r["evaluated"] for r in results)
    valid = sum(r["valid"] for r in results)
    if not rows:
        raise ValueError(f"no valid mapping of {problem} found among {evaluated:,} candidates "
                         f"(tiles never fit); try more samples or another dataflow")
    fac = np.concatenate([r["factors"] for r in rows])
    order = np.concatenate([r["orders"] for r in rows])
    e = np.concatenate([r["energy"] for r in rows])
    c = np.concatenate([r["cycles"] for r in rows])
    key = {"energy": np.lexsort((c, e)), "latency": np.lexsort((e, c)),
           "edp": np.lexsort((c, e, e * c))}[objective]
    build = lambda k: mapping_from_arrays(Mapping, problem, arch, fac[k], order[k], space.bypass)  # noqa: E731
    best = build(key[0])
    front = _pareto(e, c)
    pareto = tuple((float(e[k]), float(c[k]), build(k)) for k in front)
    return SearchResult(objective, best, best.evaluate(), pareto, evaluated, valid, method, space.size)


def mapping_from_arrays(cls, problem, arch, factors, orders, bypass):
    """A :class:`Mapping` from one row of factor and order arrays."""
    L, dims = len(arch.levels), problem.dims
    temporal = []
    for i in range(L):
        temporal.append(tuple((dims[j], int(factors[i, j])) for j in orders[i] if factors[i, j] > 1))
    rows = tuple((dims[j], int(factors[L, j])) for j in range(len(dims)) if factors[L, j] > 1)
    cols = tuple((dims[j], int(factors[L + 1, j])) for j in range(len(dims)) if factors[L + 1, j] > 1)
    return cls(problem, arch, tuple(temporal), rows, cols, bypass)


def dataflow_mapping(problem, arch, dataflow, objective: str = "energy", samples: int = 20000, rng=0):
    """The best mapping of ``problem`` under a named dataflow (a small in-process search).

    Examples
    --------
    >>> from npulab.tiling import Problem, tpu_like
    >>> m = dataflow_mapping(Problem.gemm(8, 8, 8), tpu_like(rows=4, cols=4), "ws")
    >>> dict(m.spatial_rows), dict(m.spatial_cols)
    ({'K': 4}, {'N': 4})
    """
    return search(problem, arch, dataflow=dataflow, objective=objective, samples=samples, rng=rng,
                  executor="inline", progress=False).best
