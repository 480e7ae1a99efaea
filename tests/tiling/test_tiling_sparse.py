"""Density-aware traffic: exact counts == a transfer-by-transfer loop walk on random tensors;
modelled counts == the Monte Carlo mean of exact counts (seeded, within a confidence interval)."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npulab.sparse import Density, prune
from npulab.tiling import OPERANDS, Architecture, Mapping, MemoryLevel, Problem
from npulab.tiling.mapper import candidates, make_space, mapping_from_arrays
from npulab.tiling.model import fits
from npulab.tiling.sparse import sparse_access_counts


def _arch(spatial_level):
    levels = (MemoryLevel("DRAM", "dram", 100.0, 100.0), MemoryLevel("GLB", "sram", 2.0, 3.0),
              MemoryLevel("RF", "reg", 0.5, 0.5))
    return Architecture(levels, rows=4, cols=4, spatial_level=spatial_level, mac_pJ=0.3)


def _random_mapping(problem, arch, bypass, seed):
    space = make_space(problem, arch)
    space = type(space)(space.splits, space.perms, bypass, space.n_levels)
    f, o = candidates(space, ("random", seed, 64))
    ok = np.flatnonzero(fits(problem, arch, f, bypass))
    if not len(ok):
        return None
    return mapping_from_arrays(Mapping, problem, arch, f[ok[0]], o[ok[0]], bypass)


def _walk(mapping, tensors, fmt, index_bits):
    """Brute force: walk every MAC of the nest; each time a level's tile of an operand changes,
    the tile moves: add its *actual* non-zeros and metadata (multicast: one parent read per
    distinct transfer); each MAC reads its word at the innermost level if it is non-zero."""
    arch, p = mapping.arch, mapping.problem
    L = len(arch.levels)
    loops = []
    for i, level_loops in enumerate(mapping.temporal):
        fac = dict(level_loops)
        order = [d for d, _ in level_loops] + [d for d in p.dims if d not in fac]
        loops += [(d, fac.get(d, 1), i, False) for d in order]
        if i == arch.spatial_level:
            loops += [(d, f, i, True) for d, f in mapping.spatial_rows + mapping.spatial_cols]
    spatial = [k for k, lp in enumerate(loops) if lp[3]]
    temporal = [k for k, lp in enumerate(loops) if not lp[3]]
    above = {i: [k for k, lp in enumerate(loops) if lp[2] < i] for i in range(L)}

    def coords(idx):
        c = {}
        for (d, f, _, _), v in zip(loops, idx, strict=True):
            c[d] = c.get(d, 0) * f + v
        return c

    all_idx = []
    for tidx in itertools.product(*(range(loops[k][1]) for k in temporal)):
        for sidx in itertools.product(*(range(loops[k][1]) for k in spatial)):
            idx = [0] * len(loops)
            for k, v in zip(temporal, tidx, strict=True):
                idx[k] = v
            for k, v in zip(spatial, sidx, strict=True):
                idx[k] = v
            all_idx.append((tuple(tidx), idx))
    # pass 1: the words of every tile (level, operand, tile id)
    words = {}
    for _, idx in all_idx:
        c = coords(idx)
        for op in tensors:
            rel = p.relevant(op)
            w = tuple(c[d] for d in rel)
            for i in range(L):
                tid = tuple(idx[k] for k in above[i] if loops[k][0] in rel)
                words.setdefault((i, op, tid), set()).add(w)
    # pass 2: transfers
    res = {k: np.zeros((L, 3)) for k in ("reads", "writes", "fills", "mr", "mw")}
    current, events = {}, set()
    for tidx, idx in all_idx:
        c = coords(idx)
        for op, x in tensors.items():
            o = OPERANDS.index(op)
            rel = p.relevant(op)
            held = [i for i in range(L) if op not in mapping.bypass[i]]
            for k, i in enumerate(held[1:], 1):
                inst = tuple(idx[q] for q in spatial) if arch.spatial_level < i else ()
                tid = tuple(idx[q] for q in above[i] if loops[q][0] in rel)
                if current.get((i, op, inst)) == tid:
                    continue
                current[(i, op, inst)] = tid
                ws = words[(i, op, tid)]
                occ = sum(1 for w in ws if x[w] != 0)
                meta = (1 + len(ws) * (occ > 0)) if fmt == "bitmap" else occ * len(rel) * index_bits
                res["fills"][i, o] += occ
                res["writes"][i, o] += occ
                res["mw"][i, o] += meta
                par = held[k - 1]
                when = tuple(idx[q] for q in above[i] if not loops[q][3])
                pinst = tuple(idx[q] for q in spatial) if arch.spatial_level < par else ()
                ev = ("fill", op, i, when, tid, pinst)
                if ev not in events:
                    events.add(ev)
                    res["reads"][par, o] += occ
                    res["mr"][par, o] += meta
            b = held[-1]
            w = tuple(c[d] for d in rel)
            inst = tuple(idx[q] for q in spatial) if arch.spatial_level < b else ()
            ev = ("mac", op, tidx, w, inst)
            if ev not in events:
                events.add(ev)
                res["reads"][b, o] += x[w] != 0
    return res


gemms = st.builds(Problem.gemm, st.sampled_from([1, 2, 4]), st.sampled_from([1, 2, 3, 4]),
                  st.sampled_from([2, 4, 8]))


@settings(max_examples=40, deadline=None)
@given(problem=gemms, spatial_level=st.sampled_from([0, 1, 2]),
       byp=st.sets(st.sampled_from(["inputs", "weights"])), fmt=st.sampled_from(["bitmap", "coo"]),
       density=st.sampled_from([0.0, 0.2, 0.5, 0.9]), seed=st.integers(0, 2**31))
def test_exact_counts_equal_the_transfer_walk(problem, spatial_level, byp, fmt, density, seed):
    arch = _arch(spatial_level)
    bypass = (frozenset(), frozenset(byp), frozenset())
    m = _random_mapping(problem, arch, bypass, seed)
    assert m is not None
    rng = np.random.default_rng(seed)
    s = problem.size
    def sparse(shape):
        return rng.integers(1, 5, shape) * (rng.random(shape) < density)

    tensors = {"inputs": sparse((s["M"], s["K"])), "weights": sparse((s["K"], s["N"]))}
    got = sparse_access_counts(m, tensors=tensors, formats={"inputs": fmt, "weights": fmt},
                               index_bits=5)
    want = _walk(m, tensors, fmt, 5)
    for k, arr in (("reads", got.reads), ("writes", got.writes), ("fills", got.fills),
                   ("mr", got.metadata_read_bits), ("mw", got.metadata_write_bits)):
        assert np.allclose(arr[:, :2], want[k][:, :2]), k
    assert np.array_equal(got.reads[:, 2], got.dense["reads"][:, 2])      # outputs stay dense


def _mapping():
    p = Problem.gemm(8, 8, 16)
    return Mapping.build(p, _arch(1),
                         {"DRAM": [("M", 2), ("N", 2)], "GLB": [("K", 4)], "RF": [("K", 4)]},
                         spatial={"rows": {"M": 4}, "cols": {"N": 4}})


@pytest.mark.parametrize("spec, fmt", [(0.5, "bitmap"), (0.05, "bitmap"), (0.3, "coo"),
                                       ("2:4", "bitmap"), ("1:4", "coo")])
def test_modelled_counts_equal_monte_carlo_mean(spec, fmt):
    m = _mapping()
    d = Density.parse(spec)
    model = sparse_access_counts(m, densities={"weights": d}, formats={"weights": fmt})
    rng = np.random.default_rng(2026)
    K, N = 16, 8
    trials = 300
    samples = []
    for _ in range(trials):
        if d.kind == "nm":
            w = prune(rng.normal(size=(K, N)), spec, axis=0)   # groups of M along K (reduction)
            # the model's assumption: which N of M positions are kept is uniform random
        else:
            w = np.zeros(K * N)
            w[rng.choice(K * N, d.nonzeros(K * N), replace=False)] = 1.0
            w = w.reshape(K, N)
        t = sparse_access_counts(m, tensors={"weights": w}, formats={"weights": fmt})
        samples.append(np.concatenate([t.reads[:, 1], t.fills[:, 1], t.metadata_read_bits[:, 1],
                                       t.metadata_write_bits[:, 1]]))
    samples = np.array(samples)
    mean, sd = samples.mean(axis=0), samples.std(axis=0, ddof=1)
    want = np.concatenate([model.reads[:, 1], model.fills[:, 1], model.metadata_read_bits[:, 1],
                           model.metadata_write_bits[:, 1]])
    half = 4 * sd / math.sqrt(trials) + 1e-9                # 4-sigma confidence interval
    assert np.all(np.abs(mean - want) <= half), (mean, want)


def test_metadata_and_errors():
    m = _mapping()
    t = sparse_access_counts(m, densities={"weights": 1.0})
    assert np.array_equal(t.reads, t.dense["reads"].astype(float))
    assert t.energy_pJ() > 0 and "SparseTraffic(modelled" in repr(t)
    assert "metadata_bits" in t.summary()["GLB"]["weights"]
    with pytest.raises(ValueError, match="one of them"):
        sparse_access_counts(m)
    with pytest.raises(ValueError, match="outputs"):
        sparse_access_counts(m, densities={"outputs": 0.5})
    with pytest.raises(ValueError, match="shape"):
        sparse_access_counts(m, tensors={"weights": np.ones((3, 3))})
    with pytest.raises(ValueError, match="'rle'"):
        sparse_access_counts(m, densities={"weights": 0.5}, formats={"weights": "rle"})


def test_doctests():
    import doctest

    import npulab.tiling.sparse as mod
    r = doctest.testmod(mod)
    assert r.attempted > 0 and r.failed == 0
