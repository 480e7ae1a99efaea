"""The mapper: exhaustive search is optimal, random search is seeded, any executor works."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from npulab.tiling import Problem, dataflow_mapping, eyeriss_like, search, tpu_like
from npulab.tiling.mapper import candidates, make_space
from npulab.tiling.model import evaluate_batch


def test_exhaustive_search_finds_the_minimum_and_a_true_pareto_front():
    p, arch = Problem.gemm(8, 8, 4), tpu_like(rows=4, cols=4)
    res = search(p, arch, dataflow="ws", method="exhaustive", executor="inline", progress=False, chunk=3000)
    space = make_space(p, arch, "ws")
    f, o = candidates(space, ("range", 0, space.size))
    r = evaluate_batch(p, arch, f, o, space.bypass)
    assert res.evaluated == space.size and res.valid == int(r["valid"].sum())
    assert res.cost.energy_pJ == pytest.approx(r["energy_pJ"][r["valid"]].min())
    pts = [(e, c) for e, c, _ in res.pareto]
    for e, c in pts:                       # nobody dominates a front point
        dominated = r["valid"] & (r["energy_pJ"] <= e) & (r["cycles"] <= c) & (
            (r["energy_pJ"] < e) | (r["cycles"] < c))
        assert not dominated.any()
    assert min(c for _, c in pts) == r["cycles"][r["valid"]].min()
    lat = search(p, arch, dataflow="ws", objective="latency", executor="inline", progress=False)
    assert lat.cost.cycles == r["cycles"][r["valid"]].min()


def test_dataflow_constraints_are_respected():
    p = Problem.conv(N=1, K=8, C=4, P=6, Q=6, R=3, S=3)
    arch = eyeriss_like()
    for name, inner, rows, cols in [("ws", {"N", "P", "Q"}, {"C", "R", "S"}, {"K"}),
                                    ("rs", {"S", "Q", "C", "K"}, {"R", "C"}, {"P", "K"})]:
        m = dataflow_mapping(p, arch, name, samples=4000)
        assert {d for d, f in m.temporal[-1] if f > 1} <= inner
        assert {d for d, _ in m.spatial_rows} <= rows and {d for d, _ in m.spatial_cols} <= cols
    with pytest.raises(ValueError, match="does not apply to gemm"):
        dataflow_mapping(Problem.gemm(4, 4, 4), arch, "rs")


def test_random_search_is_seeded_and_executor_independent():
    p, arch = Problem.conv(N=1, K=8, C=8, P=8, Q=8, R=3, S=3), eyeriss_like()
    kw = dict(dataflow="rs", samples=6000, chunk=2000, rng=7, progress=False)
    a = search(p, arch, executor="inline", **kw)
    with ThreadPoolExecutor(max_workers=2) as pool:
        b = search(p, arch, executor=pool, **kw)
    c = search(p, arch, executor=None, **kw)         # default: a process pool
    assert a.method == "random" and a.evaluated == 6000
    assert str(a.best) == str(b.best) == str(c.best)
    assert a.cost.energy_pJ == b.cost.energy_pJ == c.cost.energy_pJ
    d = search(p, arch, executor="inline", **dict(kw, rng=8))
    assert d.evaluated == 6000 and (d.valid != a.valid or str(d.best) != str(a.best))


def test_search_runs_on_a_dask_local_cluster():
    distributed = pytest.importorskip("dask.distributed")
    p, arch = Problem.gemm(16, 16, 8), tpu_like(rows=4, cols=4)
    kw = dict(dataflow="os", samples=3000, chunk=1000, method="random", rng=1, progress=False)
    # loopback TCP, one in-process worker (processes=False needs protocol="tcp://" to take a host)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp://",
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        on_dask = search(p, arch, executor=client, **kw)
    inline = search(p, arch, executor="inline", **kw)
    assert on_dask.cost.energy_pJ == inline.cost.energy_pJ and str(on_dask.best) == str(inline.best)


def test_bad_search_arguments():
    p, arch = Problem.gemm(4, 4, 4), tpu_like(4, 4)
    with pytest.raises(ValueError, match="objective must be one of"):
        search(p, arch, objective="speed", executor="inline", progress=False)
    with pytest.raises(ValueError, match="dataflow must be one of"):
        search(p, arch, dataflow="xs", executor="inline", progress=False)
    with pytest.raises(ValueError, match="samples must be an int >= 1"):
        search(p, arch, samples=0, executor="inline", progress=False)


def test_search_accepts_workload_objects():
    from npulab.workloads import Gemm

    res = search(Gemm(8, 8, 8), tpu_like(4, 4), dataflow="is", executor="inline", progress=False)
    assert res.best.problem.size == {"M": 8, "N": 8, "K": 8}
    assert np.isfinite(res.cost.energy_pJ)
