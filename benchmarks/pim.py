"""Throughput of npulab.pim.analog_mvm: a 512x512 layer, batch 256, default IOConfig.

Prints MVMs per second (one MVM = one input vector through the tile) and the overhead over a
float32 numpy matmul of the same shape measured in the same run.  BLAS runs single-threaded
(set before numpy loads) so the ratios do not depend on how busy the other core is; times are
the best of several runs.  Usage: python benchmarks/pim.py
"""
import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import time  # noqa: E402

import numpy as np  # noqa: E402

from npulab.pim import IOConfig, analog_mvm, analog_mvm_reference  # noqa: E402


def best_of(fn, repeats=20):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    rng = np.random.default_rng(0)
    W = rng.uniform(-1, 1, (512, 512)).astype(np.float32)
    x = rng.normal(size=(256, 512)).astype(np.float32)
    io = IOConfig()
    t_float = best_of(lambda: x @ W.T)
    t_fast = best_of(lambda: analog_mvm(W, x, io, rng))
    t_ref = best_of(lambda: analog_mvm_reference(W, x, io, rng), repeats=3)
    t_batch = best_of(lambda: analog_mvm(W, x, IOConfig(bm_scope="batch"), rng))
    print("analog_mvm 512x512, batch 256, default IOConfig (float32)")
    print(f"  float matmul            {t_float * 1e3:8.2f} ms  {256 / t_float:12.0f} MVM/s")
    print(f"  analog_mvm (fast)       {t_fast * 1e3:8.2f} ms  {256 / t_fast:12.0f} MVM/s  "
          f"overhead x{t_fast / t_float:.1f}")
    print(f"  analog_mvm bm=batch     {t_batch * 1e3:8.2f} ms  {256 / t_batch:12.0f} MVM/s  "
          f"overhead x{t_batch / t_float:.1f}")
    print(f"  reference (row by row)  {t_ref * 1e3:8.2f} ms  {256 / t_ref:12.0f} MVM/s  "
          f"fast path speed-up x{t_ref / t_fast:.1f}")


if __name__ == "__main__":
    main()
