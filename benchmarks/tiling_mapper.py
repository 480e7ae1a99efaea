"""Benchmark of the tiler (npulab.tiling): mapping evaluation rate and search against ZigZag.

1. Fast path: mappings evaluated per second by the vectorised closed form on ResNet-18
   ``layer1.0.conv1`` with the Eyeriss-like preset (target >= 1e5/s on one core), and the
   speed-up over the literal loop-walking reference on a small layer.
2. Search: npulab's seeded random search against ZigZag 3.9.1's LOMA search for the same
   layer, architecture (Eyeriss-like levels, capacities and per-word energies) and spatial
   unrolling (C on rows, K on columns); wall time ratio, and both best mappings priced in both
   cost models (npulab's mapping pinned in ZigZag as ``tests/tiling/test_tiling_zigzag.py``
   does; ZigZag's read back into npulab with its loop nest and unrolling, npulab's one level
   boundary per level placed at the cheapest fitting spot; the translation is
   ``benchmarks/zigzag_bridge.py``).

Run: ``.venv/bin/python benchmarks/tiling_mapper.py [--no-zigzag] [--samples N]``.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from npulab import datasets
from npulab.tiling import (
    Dataflow,
    Mapping,
    Problem,
    evaluate,
    evaluate_batch,
    eyeriss_like,
    reference_counts,
    search,
)
from npulab.tiling.mapper import candidates, make_space, mapping_from_arrays
from npulab.tiling.model import fits


def rate_fast(problem, arch, dataflow, n=200_000, chunk=25_000, repeats=3):
    """Mappings/s of evaluate_batch over ``n`` random candidates in the search's chunk size
    (best of ``repeats``; candidate generation not timed)."""
    space = make_space(problem, arch, dataflow)
    batches = [candidates(space, ("random", k, chunk)) for k in range(n // chunk)]
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        for f, o in batches:
            evaluate_batch(problem, arch, f, o, space.bypass)
        best = min(best, time.perf_counter() - t)
    return n / best


def reference_speedup():
    p = Problem.conv(N=1, K=4, C=4, P=6, Q=6, R=3, S=3)
    arch = eyeriss_like()
    space = make_space(p, arch, "rs")
    f, o = candidates(space, ("random", 1, 2000))
    ok = np.flatnonzero(fits(p, arch, f, space.bypass))[:20]
    maps = [mapping_from_arrays(Mapping, p, arch, f[k], o[k], space.bypass) for k in ok]
    t = time.perf_counter()
    for m in maps:
        reference_counts(m)
    t_ref = (time.perf_counter() - t) / len(maps)
    t = time.perf_counter()
    r = evaluate_batch(p, arch, f, o, space.bypass)
    t_fast = (time.perf_counter() - t) / len(f)
    assert all(evaluate(m).accesses == reference_counts(m) for m in maps[:3])
    return p, t_ref, t_fast, r


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-zigzag", action="store_true", help="skip the ZigZag comparison")
    ap.add_argument("--samples", type=int, default=100_000, help="npulab search samples (default 1e5)")
    args = ap.parse_args(argv)

    layer = next(lay for lay in datasets.topology("resnet18") if lay.name == "layer1.0.conv1")
    conv, arch = Problem.from_workload(layer), eyeriss_like()
    print(f"layer {layer} -> {conv}; architecture {arch.name} ({arch.rows}x{arch.cols} PEs)")
    for df in ("rs", None):
        r = rate_fast(conv, arch, df)
        print(f"fast path, dataflow {df or 'any':>3}: {r:12,.0f} mappings/s on one core "
              f"(target 1e5/s: ratio {r / 1e5:5.2f}x)")
    p, t_ref, t_fast, _ = reference_speedup()
    print(f"reference loop walk on {p} ({p.macs:,} MACs): {t_ref * 1e3:.1f} ms/mapping; "
          f"fast path {t_fast * 1e6:.2f} us/mapping -> speed-up {t_ref / t_fast:,.0f}x")

    rows_c, cols_k = 8, 8
    fixed = Dataflow("c8k8", "C on rows, K on cols", {"conv": conv.dims}, {"conv": ("C",)}, {"conv": ("K",)}, ())
    t = time.perf_counter()
    res = search(conv, arch, dataflow=fixed, objective="energy", samples=args.samples, rng=0,
                 executor="inline", progress=False)
    t_np = time.perf_counter() - t
    print(f"npulab random search ({res.evaluated:,} mappings, {res.valid:,} valid, 1 process): "
          f"{t_np:.2f} s, best {res.cost.energy_pJ / 1e6:.2f} uJ "
          f"(spatial {dict(res.best.spatial_rows)} x {dict(res.best.spatial_cols)})")
    if args.no_zigzag:
        return 0
    try:
        import zigzag  # noqa: F401
    except ImportError:
        print("zigzag-dse not installed: skipping the ZigZag comparison")
        return 0
    import zigzag_bridge as zb

    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        zz = zb.search(conv, arch, [("C", rows_c)], [("K", cols_k)], Path(d) / "search")
        t_zz = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as d:      # ZigZag's API setting, as in its search
        np_in_zz = zb.pinned(res.best, d, same_data_no_access=True).energy_total
    zz_in_np, exact = zb.to_npulab(zz, conv, arch)
    e_np, e_zz = res.cost.energy_pJ, zz.energy_total
    print(f"ZigZag 3.9.1 LOMA search (spatial C{rows_c} x K{cols_k}, lpf_limit 6): {t_zz:.2f} s, "
          f"best {e_zz / 1e6:.2f} uJ (its own model)")
    print(f"ratio npulab search time / ZigZag search time: {t_np / t_zz:.3f}")
    print("\nbest energy (uJ) of each tool's best mapping in each cost model:")
    print(f"  {'mapping':<13}{'npulab model':>14}{'ZigZag model':>14}")
    e_zz_np = zz_in_np.evaluate().energy_pJ if zz_in_np is not None else float("nan")
    print(f"  {'npulab best':<13}{e_np / 1e6:14.2f}{np_in_zz / 1e6:14.2f}")
    print(f"  {'ZigZag best':<13}{e_zz_np / 1e6:14.2f}{e_zz / 1e6:14.2f}")
    print(f"  {'ratio np/zz':<13}{e_np / e_zz_np:14.3f}{np_in_zz / e_zz:14.3f}")
    if zz_in_np is None:
        print("  (ZigZag's mapping fits no npulab mapping with its loop nest: nan)")
    else:
        print("  (ZigZag's mapping in npulab: its loop nest and unrolling; ZigZag keeps one level boundary "
              "per operand, npulab one per level, "
              + ("moved only across loops irrelevant to each operand)" if exact else
                 "moved across relevant loops, so an approximation: the cheapest placement that fits)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
