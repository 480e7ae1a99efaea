"""Benchmark of the tiler (npulab.tiling): mapping evaluation rate and search against ZigZag.

1. Fast path: mappings evaluated per second by the vectorised closed form on ResNet-18
   ``layer1.0.conv1`` with the Eyeriss-like preset (target >= 1e5/s on one core), and the
   speed-up over the literal loop-walking reference on a small layer.
2. Search: npulab's seeded random search against ZigZag 3.9.1's LOMA search for the same
   layer, architecture (Eyeriss-like levels, capacities and per-word energies) and spatial
   unrolling (C on rows, K on columns); wall time ratio and the best energy each finds, each
   in its own cost model.

Run: ``.venv/bin/python benchmarks/tiling_mapper.py [--no-zigzag]``.
"""
from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from npulab import datasets
from npulab.tiling import (Dataflow, Mapping, Problem, eyeriss_like, evaluate, evaluate_batch,
                           reference_counts, search)
from npulab.tiling.mapper import _candidates, _mapping, make_space
from npulab.tiling.model import fits


def rate_fast(problem, arch, dataflow, n=200_000, chunk=25_000, repeats=3):
    """Mappings/s of evaluate_batch over ``n`` random candidates in the search's chunk size
    (best of ``repeats``; candidate generation not timed)."""
    space = make_space(problem, arch, dataflow)
    batches = [_candidates(space, ("random", k, chunk)) for k in range(n // chunk)]
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
    f, o = _candidates(space, ("random", 1, 2000))
    ok = np.flatnonzero(fits(p, arch, f, space.bypass))[:20]
    maps = [_mapping(Mapping, p, arch, f[k], o[k], space.bypass) for k in ok]
    t = time.perf_counter()
    for m in maps:
        reference_counts(m)
    t_ref = (time.perf_counter() - t) / len(maps)
    t = time.perf_counter()
    r = evaluate_batch(p, arch, f, o, space.bypass)
    t_fast = (time.perf_counter() - t) / len(f)
    assert all(evaluate(m).accesses == reference_counts(m) for m in maps[:3])
    return p, t_ref, t_fast, r


def _memory(size_bits, mem_ops, served, cost):
    ports, k = [], 0
    for op in mem_ops:
        k += 2
        alloc_w = ["O, fh", "O, fl"] if op == "O" else [f"{op}, fh"]
        alloc_r = ["O, tl", "O, th"] if op == "O" else [f"{op}, tl"]
        ports += [{"name": f"w_port_{k}", "type": "write", "bandwidth_min": 8, "bandwidth_max": 8,
                   "allocation": alloc_w},
                  {"name": f"r_port_{k + 1}", "type": "read", "bandwidth_min": 8, "bandwidth_max": 8,
                   "allocation": alloc_r}]
    return {"size": int(size_bits), "r_cost": cost, "w_cost": cost, "area": 0, "latency": 1,
            "auto_cost_extraction": False, "operands": mem_ops, "ports": ports, "served_dimensions": served}


def zigzag_search(layer, arch, rows_c, cols_k, tmp):
    """ZigZag's LOMA search on the Eyeriss-like architecture; returns (seconds, best energy pJ)."""
    import yaml
    from zigzag.api import get_hardware_performance_zigzag

    dram, glb, rf = arch.levels
    mems = {}
    for op, zz in (("inputs", "I1"), ("weights", "I2"), ("outputs", "O")):
        mems[f"rf_{op}"] = _memory(8 * rf.capacity[op], [zz], [], rf.read_pJ)
    mems["glb"] = _memory(8 * glb.capacity, ["I1", "I2", "O"], ["D1", "D2"], glb.read_pJ)
    mems["dram"] = _memory(1 << 40, ["I1", "I2", "O"], ["D1", "D2"], dram.read_pJ)
    acc = {"name": "eyeriss_npulab", "memories": mems,
           "operational_array": {"input_precision": [8, 8], "unit_energy": arch.mac_pJ, "unit_area": 1,
                                 "dimensions": ["D1", "D2"], "sizes": [arch.rows, arch.cols]}}
    wl = [{"id": 0, "name": layer.name, "operator_type": "Conv",
           "equation": "O[b][k][oy][ox]+=W[k][c][fy][fx]*I[b][c][iy][ix]",
           "dimension_relations": [f"ix={layer.stride}*ox+1*fx", f"iy={layer.stride}*oy+1*fy"],
           "loop_dims": ["B", "K", "C", "OY", "OX", "FY", "FX"],
           "loop_sizes": [1, layer.num_filters, layer.channels, layer.out_h, layer.out_w, layer.filter_h, layer.filter_w],
           "operand_precision": {"W": 8, "I": 8, "O": 8, "O_final": 8}, "operand_source": {"I": 0, "W": 0}}]
    mp = [{"name": "default", "spatial_mapping": {"D1": [f"C, {rows_c}"], "D2": [f"K, {cols_k}"]},
           "memory_operand_links": {"O": "O", "W": "I2", "I": "I1"}}]
    for name, obj in (("acc", acc), ("wl", wl), ("mp", mp)):
        (tmp / f"{name}.yaml").write_text(yaml.safe_dump(obj, sort_keys=False))
    logging.disable(logging.CRITICAL)
    t = time.perf_counter()
    energy, _, _ = get_hardware_performance_zigzag(str(tmp / "wl.yaml"), str(tmp / "acc.yaml"), str(tmp / "mp.yaml"),
                                                   opt="energy", dump_folder=str(tmp / "out"),
                                                   loma_show_progress_bar=False)
    return time.perf_counter() - t, energy


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-zigzag", action="store_true", help="skip the ZigZag comparison")
    ap.add_argument("--samples", type=int, default=100_000, help="npulab search samples (default 1e5)")
    args = ap.parse_args(argv)

    layer = next(l for l in datasets.topology("resnet18") if l.name == "layer1.0.conv1")
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
    with tempfile.TemporaryDirectory() as d:
        t_zz, e_zz = zigzag_search(layer, arch, rows_c, cols_k, Path(d))
    print(f"ZigZag 3.9.1 LOMA search (spatial C{rows_c} x K{cols_k}, lpf_limit 6): {t_zz:.2f} s, "
          f"best {e_zz / 1e6:.2f} uJ (its own model)")
    print(f"ratio npulab search time / ZigZag search time: {t_np / t_zz:.3f}  "
          f"(best energy npulab / ZigZag: {res.cost.energy_pJ / e_zz:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
