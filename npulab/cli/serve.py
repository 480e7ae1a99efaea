"""``npulab serve``: simulate LLM serving on a hardware preset (TTFT, TPOT, p99, goodput).

Poisson arrivals (``--rate``) or a trace CSV (``--trace``), iteration-level continuous
batching with a paged KV cache, each iteration costed by the scorecard on the preset; see
:mod:`npulab.perf.serving`.  ``--rates R1,R2,...`` serves at several offered loads (in
parallel, locally or on ``--dask``) and plots latency against load.
"""
from __future__ import annotations


def _kwargs(args) -> dict:
    for flag, v in (("--requests", args.requests), ("--prompt-len", args.prompt_len),
                    ("--output-len", args.output_len), ("--max-batch", args.max_batch),
                    ("--max-tokens", 1 if args.max_tokens is None else args.max_tokens),
                    ("--block-size", args.block_size),
                    ("--context-bucket", args.context_bucket), ("--workers", args.workers)):
        if v < 1:
            raise ValueError(f"{flag} must be an int >= 1; got {v}")
    if args.seed < 0:
        raise ValueError(f"--seed must be an int >= 0; got {args.seed}")
    for flag, v in (("--slo-ttft", args.slo_ttft), ("--slo-tpot", args.slo_tpot)):
        if not v > 0:
            raise ValueError(f"{flag} must be > 0 seconds; got {v}")
    if args.memory_gb is not None and not args.memory_gb > 0:
        raise ValueError(f"--memory-gb must be > 0; got {args.memory_gb}")
    if not 0 < args.memory_util <= 1:
        raise ValueError(f"--memory-util must be in (0, 1]; got {args.memory_util}")
    from npulab.cli.layout_flags import layout_from_args

    if args.micro_batches != 1:
        raise ValueError("--micro-batches is for scorecard; serve runs one micro-batch per iteration")
    return dict(layout=layout_from_args(args), link=args.link,
                hardware=args.hw, workload=args.workload, requests=args.requests,
                prompt_len=args.prompt_len, output_len=args.output_len, seed=args.seed,
                trace=args.trace, max_batch=args.max_batch, max_tokens=args.max_tokens,
                chunked_prefill=args.chunked_prefill, policy=args.policy, block_size=args.block_size,
                memory_bytes=None if args.memory_gb is None else args.memory_gb * 1e9,
                memory_utilization=args.memory_util, weight_format=args.weights,
                kv_format=args.kv_format, group_size=args.group_size,
                context_bucket=args.context_bucket, score_model=args.model)


def _rates(text: str) -> list:
    try:
        rates = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"--rates must be comma-separated numbers; got {text!r}") from None
    if not rates or any(not r > 0 for r in rates):
        raise ValueError(f"--rates must be numbers > 0; got {text!r}")
    return sorted(rates)


def plot_load(rates, summaries, path, title=""):
    """Latency (TTFT and TPOT p50/p99) against offered load: where the knee is."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8))
    for q, style in (("p50", "o-"), ("p99", "s--")):
        a1.plot(rates, [s["ttft_s"][q] for s in summaries], style, label=f"TTFT {q}")
        a2.plot(rates, [s["tpot_s"][q] or float("nan") for s in summaries], style, label=f"TPOT {q}")
    a1.set(xlabel="offered load (requests/s)", ylabel="TTFT (s)", yscale="log", title=title or "TTFT vs load")
    a2.set(xlabel="offered load (requests/s)", ylabel="TPOT (s)", title="TPOT vs load")
    for ax in (a1, a2):
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run(args) -> int:
    from npulab.cli import print_json
    from npulab.perf.serving import serve

    kw = _kwargs(args)
    if args.rates:
        from npulab.perf.scenarios import map_rates

        if args.trace:
            raise ValueError("--rates and --trace cannot be combined (a trace fixes the arrivals)")
        rates = _rates(args.rates)
        executor = "dask" if args.dask else ("serial" if args.workers == 1 else "process")
        task = dict(kw, _slo=(args.slo_ttft, args.slo_tpot))
        task.pop("trace")
        summaries = map_rates(task, rates, executor=executor, workers=args.workers, address=args.dask,
                              progress=not args.json and not args.no_progress)
        if args.plot:
            plot_load(rates, summaries, args.plot, title=f"{args.workload} on {args.hw}")
        if args.json:
            print_json({"rates": rates, "results": summaries})
            return 0
        print(f"{'rate':>8}  {'TTFT p50':>10}  {'TTFT p99':>10}  {'TPOT p50':>10}  {'TPOT p99':>10}  "
              f"{'tokens/s':>10}  {'goodput':>8}")
        for r, s in zip(rates, summaries):
            print(f"{r:>8.4g}  {s['ttft_s']['p50']:>10.4g}  {s['ttft_s']['p99']:>10.4g}  "
                  f"{s['tpot_s']['p50'] or 0:>10.4g}  {s['tpot_s']['p99'] or 0:>10.4g}  "
                  f"{s['throughput_tokens_per_s']:>10.4g}  {s['goodput_requests_per_s']:>8.4g}")
        if args.plot:
            print(f"wrote plot: {args.plot}")
        return 0
    if args.rate is None and not args.trace:
        raise ValueError("give --rate R (requests per second), --rates R1,R2,... or --trace FILE.csv")
    if args.rate is not None and not args.rate > 0:
        raise ValueError(f"--rate must be > 0 requests per second; got {args.rate}")
    res = serve(rate=args.rate, progress=not args.json and not args.no_progress, **kw)
    summary = res.summary(args.slo_ttft, args.slo_tpot)
    if args.plot:
        res.plot(args.plot)
    if args.json:
        times, util = res.kv_utilization()
        step = max(1, len(times) // 200)
        summary["kv_cache"]["timeline"] = [[float(t), float(u)] for t, u in zip(times[::step], util[::step])]
        print_json(summary)
        return 0
    s = summary
    sc = s["scheduler"]
    print(f"{s['workload']} on {s['hardware']}: {s['requests']} requests, offered "
          f"{s['offered_rate_per_s'] or 0:.4g} req/s, {s['iterations']} iterations (mean batch {s['mean_batch']:.3g})")
    if s.get("layout"):
        lay = s["layout"]
        print(f"  layout: tp={lay['tp']} pp={lay['pp']} ep={lay['ep']} on {lay['devices']} devices: "
              f"one of dp={lay['dp']} replicas simulated at rate / {lay['dp']} (cluster: x{lay['dp']})")
    arrivals = (f"trace {args.trace}" if args.trace else
                f"Poisson, prompts {args.prompt_len} / outputs {args.output_len} tokens, seed {args.seed}")
    costs = "the preset's engine" if s["score_model"] == "engine" else "the roofline bound"
    print(f"  conditions: {arrivals}; policy {sc['policy']} (max {sc['max_batch']} sequences, "
          f"{sc['max_tokens']} tokens per iteration); weights {s['weight_format']}, KV {s['kv_format']}; "
          f"step costs from {costs}")
    for k, label in (("ttft_s", "TTFT"), ("tpot_s", "TPOT"), ("e2e_s", "e2e")):
        v = s[k]
        if v["p50"] is None:
            print(f"  {label:5} -")
            continue
        print(f"  {label:5} p50 {v['p50']:.4g} s   p90 {v['p90']:.4g} s   p99 {v['p99']:.4g} s")
    print(f"  throughput {s['throughput_tokens_per_s']:.4g} output tokens/s, {s['requests_per_s']:.4g} req/s; "
          f"goodput {s['goodput_requests_per_s']:.4g} req/s (TTFT <= {args.slo_ttft:g} s, TPOT <= {args.slo_tpot:g} s)")
    kv = s["kv_cache"]
    if kv["num_blocks"]:
        print(f"  KV cache {kv['num_blocks']} blocks of {kv['block_size']} tokens: mean {100 * kv['mean']:.1f}% "
              f"used, max {100 * kv['max']:.1f}%; {s['preemptions']} preemptions")
    else:
        print("  KV cache unlimited (the preset has no memory_bytes; pass --memory-gb)")
    if args.plot:
        print(f"wrote plot: {args.plot}")
    return 0


def add_parser(sub) -> None:
    from npulab.cli import add_json_flag

    p = sub.add_parser("serve", help="simulate LLM serving on a preset: TTFT, TPOT, p99, throughput, goodput")
    p.add_argument("--hw", required=True, metavar="PRESET|FILE", help="hardware preset name or YAML/JSON file")
    p.add_argument("--workload", required=True, metavar="MODEL",
                   help="bundled LLM name (llama-3.1-8b, mixtral-8x7b, ...) or a HF config.json")
    p.add_argument("--rate", type=float, help="Poisson arrival rate (requests per second)")
    p.add_argument("--rates", metavar="R1,R2,...", help="serve at several rates: latency vs offered load")
    p.add_argument("--trace", metavar="F.csv", help="arrivals from a CSV: arrival_s,prompt_tokens,output_tokens")
    p.add_argument("--requests", type=int, default=1000, help="requests to simulate (default 1000)")
    p.add_argument("--prompt-len", type=int, default=512, help="prompt tokens per request (default 512)")
    p.add_argument("--output-len", type=int, default=128, help="output tokens per request (default 128)")
    p.add_argument("--seed", type=int, default=0, help="seed of the arrivals (default 0)")
    p.add_argument("--max-batch", type=int, default=256, help="sequences per iteration (default 256)")
    p.add_argument("--policy", choices=("orca", "vllm-v0", "sarathi", "vllm"), default="orca",
                   help="scheduler: orca (default; Orca, OSDI'22: decodes and whole prompts in one batch), "
                   "vllm-v0 (prefill-only iterations), sarathi (Sarathi-Serve, OSDI'24: decode-first "
                   "chunked prefill, 512-token budget), vllm (current vLLM: chunked prefill, 8192 tokens)")
    p.add_argument("--max-tokens", type=int, default=None,
                   help="tokens per iteration (default: the policy's budget, 512 for sarathi, else 8192)")
    p.add_argument("--chunked-prefill", action="store_true",
                   help="split prompts across iterations (= --policy sarathi with --max-tokens, default 8192)")
    p.add_argument("--block-size", type=int, default=16, help="tokens per KV-cache block (default 16)")
    p.add_argument("--memory-gb", type=float, help="device memory in GB (default: the preset's memory_bytes; "
                   "none: unlimited KV cache)")
    p.add_argument("--memory-util", type=float, default=0.9,
                   help="fraction of memory for weights + KV cache (default 0.9, as vLLM)")
    p.add_argument("--weights", help="weight format (fp16, int8, int4, fp8_e4m3; default: the preset's)")
    p.add_argument("--kv-format", help="KV-cache format (default: the preset's precision)")
    p.add_argument("--group-size", type=int, help="group size of group-wise quantised weights")
    p.add_argument("--context-bucket", type=int, default=16,
                   help="round contexts up to a multiple of this when caching step costs (default 16; 1 = exact)")
    p.add_argument("--model", choices=("engine", "roofline"), default="engine",
                   help="cost each iteration with the preset's engine (default) or the roofline bound")
    p.add_argument("--slo-ttft", type=float, default=2.0, help="goodput SLO: TTFT bound in s (default 2)")
    p.add_argument("--slo-tpot", type=float, default=0.2, help="goodput SLO: TPOT bound in s (default 0.2)")
    p.add_argument("--plot", metavar="F.png", help="write a plot (per-request latency and KV use; "
                   "with --rates: latency vs offered load)")
    p.add_argument("--dask", metavar="ADDRESS", help="--rates on a Dask cluster (e.g. tcp://127.0.0.1:8786)")
    p.add_argument("--workers", type=int, default=2, help="--rates: local processes (default 2; 1 = serial)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    from npulab.cli.layout_flags import add_layout_arguments

    add_layout_arguments(p)
    add_json_flag(p)
    p.set_defaults(func=run)
