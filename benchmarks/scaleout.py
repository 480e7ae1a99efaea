"""Benchmark beyond one chip (issue 28): ``npulab plan`` and serving with TP/PP layouts.

Goals: ``npulab plan`` over >= 200 layouts of a 70B model in < 30 s on 2 cores; serving with
TP/PP as fast as the single-device simulation (10,000 requests < 10 s).

1. ``plan`` of Llama-3.1-70B on ``h100-sxm`` (its calibrated engine), up to 64 devices,
   4 req/s, p99 TTFT <= 2 s, TPOT <= 0.1 s, 2 worker processes: layouts considered,
   layouts simulated, wall time.
2. 10,000 Poisson requests (prompt 512, output 128) of Llama-3.1-70B on one replica of
   ``tp=4 pp=2`` H100s, against the baseline in the same run: Llama-3.1-8B on one H100
   (the single-device path) at the same load, and Llama-3.1-8B itself on ``tp=2 pp=2``; the
   ratios are layout / single-device wall time per simulated iteration.

Run: ``python benchmarks/scaleout.py``.  Prints times; asserts nothing about speed.
"""
from __future__ import annotations

import time


def serve_time(label, model, hw, layout, rate):
    from npulab.perf.serving import serve

    t = time.perf_counter()
    res = serve(hw, model, rate=rate, requests=10_000, prompt_len=512, output_len=128, seed=0,
                layout=layout)
    dt = time.perf_counter() - t
    s = res.summary()
    print(f"{label}: 10,000 requests in {dt:.2f} s wall ({s['iterations']:,} iterations, "
          f"mean batch {s['mean_batch']:.1f}; TTFT p99 {s['ttft_s']['p99']:.3g} s, "
          f"TPOT p99 {s['tpot_s']['p99']:.3g} s; {dt / s['iterations'] * 1e6:.2f} us per iteration)")
    return dt / s["iterations"]


def main() -> None:
    from npulab.perf.parallel import Layout
    from npulab.perf.plan import plan

    t = time.perf_counter()
    res = plan("llama-3.1-70b", "h100-sxm", rate=4.0, slo_ttft_s=2.0, slo_tpot_s=0.1,
               max_devices=64, executor="process", workers=2)
    dt = time.perf_counter() - t
    b = res.best
    print(f"plan llama-3.1-70b on h100-sxm: {res.layouts} layouts considered, {res.simulated} "
          f"simulated, {dt:.2f} s wall (goal < 30 s: {dt / 30:.2f} of budget); cheapest "
          f"{b['devices']} GPUs tp={b['tp']} pp={b['pp']} dp={b['dp']}")
    t_one = serve_time("baseline: llama-3.1-8b on 1 x h100-sxm", "llama-3.1-8b", "h100-sxm",
                       None, 2.0)
    t_lay = serve_time("llama-3.1-70b on tp=4 pp=2 h100-sxm", "llama-3.1-70b", "h100-sxm",
                       Layout(tp=4, pp=2), 2.0)
    t_same = serve_time("llama-3.1-8b on tp=2 pp=2 h100-sxm (same model as the baseline)",
                        "llama-3.1-8b", "h100-sxm", Layout(tp=2, pp=2), 2.0)
    print(f"layout / single-device wall time per simulated iteration: 70B tp=4 pp=2 "
          f"{t_lay / t_one:.2f}, 8B tp=2 pp=2 {t_same / t_one:.2f} (goal ~1; each run < 10 s; a "
          "faster layout runs more, smaller iterations for the same requests)")


if __name__ == "__main__":
    main()
