"""Benchmark the serving simulator: simulated requests per second of wall time.

Goal (issue 17): 10,000 requests of an 8B model on one core in under 10 s.

1. Llama-3.1-8B on the ``tpuv1-like`` preset (its engine costs every iteration), 10,000
   Poisson requests (prompt 512, output 128) at 0.5 req/s, near the preset's capacity:
   wall time, requests/s, iterations/s, distinct scorecard evaluations.
2. The same with a 16 GB memory limit at 1 req/s, over capacity (KV cache full: preemptions), and
   with chunked prefill.
3. Baseline in the same run: the uncached reference path (every iteration scored afresh)
   on the first 500 requests; the ratio is the speed-up of the cost cache.

Run: ``python benchmarks/serving.py`` (one process; pin it to one core with ``taskset -c 0``).
Prints times; asserts nothing about speed (tests never time).
"""
from __future__ import annotations

import time


def run(label, requests, cost, sched):
    from npulab.perf.serving import simulate

    t = time.perf_counter()
    res = simulate(requests, cost, sched)
    dt = time.perf_counter() - t
    s = res.summary()
    print(f"{label}: {len(requests)} requests in {dt:.2f} s wall = {len(requests) / dt:,.0f} simulated req/s "
          f"({s['iterations']:,} iterations, {s['iterations'] / dt:,.0f} it/s; {cost.misses:,} scorecard "
          f"evaluations; mean batch {s['mean_batch']:.1f}; preemptions {s['preemptions']})")
    print(f"    TTFT p50/p99 {s['ttft_s']['p50']:.3g}/{s['ttft_s']['p99']:.3g} s, TPOT p50/p99 "
          f"{s['tpot_s']['p50']:.3g}/{s['tpot_s']['p99']:.3g} s, {s['throughput_tokens_per_s']:.4g} tokens/s")
    return dt


def main() -> None:
    from npulab.perf.serving import (
        Requests,
        SchedulerConfig,
        ScorecardStepCost,
        kv_cache_blocks,
        poisson_requests,
    )

    model, hw, N, P, OUT = "llama-3.1-8b", "tpuv1-like", 10_000, 512, 128
    reqs = poisson_requests(0.5, N, P, OUT, seed=0)
    cost = ScorecardStepCost(model, hw)
    t_main = run(f"{model} on {hw}, rate 0.5/s", reqs, cost, SchedulerConfig())
    print(f"    goal: 10,000 requests < 10 s -> {t_main:.2f} s ({t_main / 10:.2f} of budget)")

    blocks = kv_cache_blocks(cost.model, 16e9, weight_format=cost.weight_format, kv_format=cost.kv_format)
    run(f"{model}, 16 GB ({blocks} KV blocks), rate 1/s", poisson_requests(1.0, N, P, OUT, seed=0),
        ScorecardStepCost(model, hw), SchedulerConfig(num_blocks=blocks))
    run(f"{model}, chunked prefill (2048 tokens/iteration)", reqs, ScorecardStepCost(model, hw),
        SchedulerConfig(max_tokens=2048, chunked_prefill=True))

    head = Requests(reqs.arrival_s[:500], reqs.prompt_tokens[:500], reqs.output_tokens[:500])
    t_cached = run("cached (default, context_bucket=16), first 500 requests", head,
                   ScorecardStepCost(model, hw), SchedulerConfig())
    t_ref = run("baseline: uncached reference path (every iteration scored), first 500 requests", head,
                ScorecardStepCost(model, hw, context_bucket=1, cache=False), SchedulerConfig())
    print(f"cost cache speed-up on the same 500 requests: {t_ref / t_cached:.1f}x")


if __name__ == "__main__":
    main()
