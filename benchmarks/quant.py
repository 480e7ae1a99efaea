"""Benchmark npulab.quant: quantize vs brevitas on a 4096x4096 weight; int8 GEMM vs float32 matmul.

Prints ratios measured in the same run (no absolute targets): ``speedup = brevitas time /
npulab time`` (target >= 1: npulab's numpy path at least as fast), and int8 GEMM throughput
(``int_matmul_fast``, exact via float32 BLAS in K-chunks; and the int64 reference on a smaller
shape) relative to numpy's float32 matmul.

Run: ``.venv/bin/python benchmarks/quant.py [--size 4096] [--repeat 3]``.
"""
from __future__ import annotations

import argparse
import timeit

import numpy as np
import torch


def best_of(fn, repeat):
    """Fastest of ``repeat`` single calls of ``fn``, in seconds."""
    return min(timeit.repeat(fn, number=1, repeat=repeat))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import brevitas.nn as qnn
    from brevitas.quant import Int8WeightPerChannelFloat, Int8WeightPerTensorFloat

    from npulab.quant import QuantSpec, int_matmul, int_matmul_fast, quantize

    n = args.size
    torch.set_num_threads(max(1, torch.get_num_threads()))
    w = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    print(f"npulab.quant benchmark: weight {n}x{n} float32, best of {args.repeat}")
    for name, quant, per_channel in (("per-tensor", Int8WeightPerTensorFloat, False),
                                     ("per-channel", Int8WeightPerChannelFloat, True)):
        layer = qnn.QuantLinear(n, n, bias=False, weight_quant=quant)
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(w))
            t_brev = best_of(lambda layer=layer: layer.quant_weight().int(), args.repeat)
        spec = QuantSpec(8, per_channel=per_channel)
        t_np = best_of(lambda spec=spec: quantize(w, spec), args.repeat)
        with torch.no_grad():
            same = np.array_equal(quantize(w, spec).int_repr, layer.quant_weight().int().numpy())
        print(f"  quantize {name:<12} npulab {t_np * 1e3:8.1f} ms  brevitas {t_brev * 1e3:8.1f} ms  "
              f"speedup x{t_brev / t_np:5.2f}  identical ints: {same}")

    rng = np.random.default_rng(1)
    a8 = rng.integers(-128, 128, (n, n), dtype=np.int8)
    b8 = rng.integers(-127, 128, (n, n), dtype=np.int8)
    af, bf = a8.astype(np.float32), b8.astype(np.float32)
    t_f32 = best_of(lambda: af @ bf, args.repeat)
    t_i8 = best_of(lambda: int_matmul_fast(a8, b8), args.repeat)
    ops = 2.0 * n**3
    print(f"  GEMM {n}^3: float32 matmul {ops / t_f32 / 1e9:7.1f} GOP/s; int8 int_matmul_fast "
          f"{ops / t_i8 / 1e9:7.1f} GOP/s  ratio int8/fp32 x{t_f32 / t_i8:5.2f}")
    m = min(512, n)  # the int64 reference is numpy's non-BLAS integer matmul: measure it on a smaller cube
    t_ref = best_of(lambda: int_matmul(a8[:m, :m], b8[:m, :m]), 1)
    t_f = best_of(lambda: af[:m, :m] @ bf[:m, :m], args.repeat)
    same = np.array_equal(int_matmul(a8[:m, :m], b8[:m, :m]), int_matmul_fast(a8[:m, :m], b8[:m, :m]))
    print(f"  GEMM {m}^3: int_matmul (int64 reference) {2.0 * m**3 / t_ref / 1e9:7.2f} GOP/s  "
          f"ratio vs float32 x{t_f / t_ref:6.3f}  fast == reference: {same}")


if __name__ == "__main__":
    main()
