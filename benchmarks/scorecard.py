"""Benchmark the scorecard and the design-space sweep.

1. Score a full Llama-3.1-8B (prefill 2048 tokens + decode at context 2048) on every
   bundled preset (systolic x2, PIM, SNN): target under 1 s.
2. A 1,000-point random sweep (array shape, SRAM, bandwidth, precision) on MobileNetV2:
   serially (the baseline, same run) and on a local pool of 2 worker processes; the rows
   must be identical.

Run: ``python benchmarks/scorecard.py``.  Prints times and ratios; asserts nothing about
speed (tests never time).
"""
from __future__ import annotations

import time


def best_of(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main() -> None:
    from npulab.perf import run_scorecard
    from npulab.perf.sweep import run_sweep

    run_scorecard(["llama-3.2-1b"], phases=["decode"], seq_len=16)  # warm imports
    t, card = best_of(lambda: run_scorecard(["llama-3.1-8b"], seq_len=2048))
    print(f"scorecard: llama-3.1-8b prefill 2048 + decode on {len(card) // 2} presets "
          f"({len(card)} results): {t * 1e3:.1f} ms  (target < 1000 ms: {t / 1.0:.3f} of budget)")
    for r in card.reports:
        print(f"    {r.hardware:<14} {r.phase:<8} {r.latency_s:10.4g} s  {r.inferences_per_s:10.4g} tok/s  "
              f"{r.energy_per_inference_j:10.4g} J/tok  bound={r.bound}")

    spec = {"name": "bench", "mode": "random", "samples": 1000, "seed": 0,
            "workloads": ["mobilenetv2"], "base": "edge-npu-int8", "chunk_size": 50,
            "space": {"rows": [4, 8, 16, 32, 64, 128], "cols": [4, 8, 16, 32, 64, 128],
                      "sram_kb": [32, 64, 128, 256, 512, 1024],
                      "dram_bytes_per_s": [3.2e9, 6.4e9, 12.8e9, 25.6e9, 51.2e9],
                      "precision": ["int8", "fp16"], "dataflow": ["os", "ws", "is"]}}
    t_serial, serial = best_of(lambda: run_sweep(spec, executor="serial"), repeat=1)
    t_pool, pool = best_of(lambda: run_sweep(spec, executor="process", workers=2), repeat=1)
    assert serial.rows == pool.rows
    print(f"sweep: 1000 points x mobilenetv2: serial {t_serial:.2f} s, 2-worker pool {t_pool:.2f} s "
          f"(speed-up {t_serial / t_pool:.2f}x; {1000 / t_pool:.0f} points/s); rows identical")


if __name__ == "__main__":
    main()
