"""Benchmark npulab.sparse: compress/decompress throughput and the density model's speed.

Prints, measured in the same run (no absolute targets in tests; the issue's targets are
>= 1e8 elements/s for bitmap and CSR on 2 cores, and < 10 ms for the density-model access
counts of a ResNet-18 layer):

* elements/s of ``compress`` and ``Compressed.to_dense`` for every format on a 2:4-pruned
  int8 matrix (density 0.5) and a 10%-dense one, beside the dense baseline (a plain copy of
  the same array, ``numpy.copy``) as a ratio;
* the time of :func:`npulab.tiling.sparse_access_counts` (modelled, weights 2:4 and inputs at
  density 0.4) for ResNet-18's 3x3 64->64 conv on an Eyeriss-like hierarchy, beside the dense
  model :func:`npulab.tiling.evaluate` of the same mapping.

Run: ``.venv/bin/python benchmarks/sparse.py [--rows 2048] [--cols 4096] [--repeat 5]``.
"""
from __future__ import annotations

import argparse
import timeit

import numpy as np


def best_of(fn, repeat):
    """Fastest of ``repeat`` single calls of ``fn``, in seconds."""
    return min(timeit.repeat(fn, number=1, repeat=repeat))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2048)
    ap.add_argument("--cols", type=int, default=4096)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    from npulab.sparse import FORMATS, compress, prune
    from npulab.tiling import Problem, dataflow_mapping, evaluate, eyeriss_like
    from npulab.tiling.sparse import sparse_access_counts
    from npulab.workloads import Conv2d

    rng = np.random.default_rng(0)
    dense = rng.integers(-127, 128, (args.rows, args.cols)).astype(np.int8)
    cases = {"2:4 (d=0.5)": prune(dense, "2:4"),
             "d=0.1": prune(dense, "unstructured", density=0.1)}
    n = dense.size
    t_copy = best_of(lambda: np.copy(dense), args.repeat)
    print(f"npulab.sparse benchmark: int8 {args.rows}x{args.cols} ({n:.3g} elements), "
          f"best of {args.repeat}")
    print(f"  dense baseline (numpy.copy): {n / t_copy:10.3g} elements/s")
    print(f"  {'tensor':<12} {'format':<7} {'compress el/s':>14} {'decompress el/s':>16} "
          f"{'vs copy':>8} {'nbytes/dense':>13}")
    for label, x in cases.items():
        for fmt in FORMATS:
            c = compress(x, fmt)
            assert np.array_equal(c.to_dense(), x)
            tc = best_of(lambda x=x, fmt=fmt: compress(x, fmt), args.repeat)
            td = best_of(c.to_dense, args.repeat)
            print(f"  {label:<12} {fmt:<7} {n / tc:14.3g} {n / td:16.3g} "
                  f"{t_copy / max(tc, td):8.3f} {c.nbytes / c.dense_nbytes:13.3f}")
    layer = Conv2d(58, 58, 3, 3, 64, 64, name="resnet18 conv2_x")
    problem = Problem.from_workload(layer)
    mapping = dataflow_mapping(problem, eyeriss_like(), "ws", samples=2000)
    dens = {"weights": "2:4", "inputs": 0.4}
    t_model = best_of(lambda: sparse_access_counts(mapping, densities=dens), args.repeat * 4)
    t_dense = best_of(lambda: evaluate(mapping), args.repeat * 4)
    print(f"  density model, {layer.name} (3x3, 64->64, 56x56) on eyeriss_like: "
          f"{t_model * 1e3:.2f} ms (target < 10 ms); dense evaluate {t_dense * 1e3:.2f} ms "
          f"(ratio x{t_model / t_dense:.2f})")


if __name__ == "__main__":
    main()
