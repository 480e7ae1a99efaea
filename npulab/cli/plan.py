"""``npulab plan``: the fewest devices of a preset that serve a model at a rate within SLOs.

Searches tensor/pipeline/expert/data-parallel layouts (:func:`npulab.perf.plan.plan`) and
prints the cheapest that meets the p99 TTFT and TPOT bounds, and the Pareto table of devices
against goodput.  ``--dask ADDRESS`` runs the search on a Dask cluster, like ``sweep``.
"""

from __future__ import annotations


def run(args) -> int:
    from npulab.cli import print_json
    from npulab.perf.plan import plan

    for flag, v in (
        ("--rate", args.rate),
        ("--slo-ttft", args.slo_ttft),
        ("--slo-tpot", args.slo_tpot),
    ):
        if not v > 0:
            raise ValueError(f"{flag} must be > 0; got {v}")
    for flag, v in (
        ("--max-devices", args.max_devices),
        ("--requests", args.requests),
        ("--prompt-len", args.prompt_len),
        ("--output-len", args.output_len),
        ("--workers", args.workers),
    ):
        if v < 1:
            raise ValueError(f"{flag} must be an int >= 1; got {v}")
    if args.max_devices > 1024:
        raise ValueError(f"--max-devices must be <= 1024; got {args.max_devices}")
    executor = "dask" if args.dask else ("serial" if args.workers == 1 else "process")
    result = plan(
        args.workload,
        args.hw,
        rate=args.rate,
        slo_ttft_s=args.slo_ttft,
        slo_tpot_s=args.slo_tpot,
        max_devices=args.max_devices,
        prompt_len=args.prompt_len,
        output_len=args.output_len,
        requests=args.requests,
        seed=args.seed,
        weight_format=args.weights,
        score_model=args.model,
        executor=executor,
        workers=args.workers,
        address=args.dask,
        progress=not args.json and not args.no_progress,
    )
    if args.json:
        print_json(result.to_dict())
        return 0
    print(result.table())
    return 0 if result.best is not None else 1


def add_parser(sub) -> None:
    from npulab.cli import add_json_flag

    p = sub.add_parser(
        "plan", help="capacity planning: the fewest devices (and layout) meeting TTFT/TPOT SLOs"
    )
    p.add_argument(
        "--workload",
        required=True,
        metavar="MODEL",
        help="bundled LLM (llama-3.1-70b, mixtral-8x7b, ...) or a HF config.json",
    )
    p.add_argument(
        "--hw", required=True, metavar="PRESET|FILE", help="hardware preset name or file"
    )
    p.add_argument("--rate", type=float, required=True, help="offered load, requests per second")
    p.add_argument("--slo-ttft", type=float, required=True, metavar="S", help="p99 TTFT bound, s")
    p.add_argument("--slo-tpot", type=float, required=True, metavar="S", help="p99 TPOT bound, s")
    p.add_argument(
        "--max-devices", type=int, default=64, metavar="N", help="largest cluster (default 64)"
    )
    p.add_argument(
        "--prompt-len", type=int, default=512, help="prompt tokens per request (default 512)"
    )
    p.add_argument(
        "--output-len", type=int, default=128, help="output tokens per request (default 128)"
    )
    p.add_argument(
        "--requests", type=int, default=200, help="requests simulated per layout (default 200)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the arrivals (default 0)")
    p.add_argument("--weights", help="weight format (default: the preset's)")
    p.add_argument(
        "--model",
        choices=("engine", "roofline"),
        default="engine",
        help="cost steps with the preset's engine (default) or the roofline bound",
    )
    p.add_argument("--dask", metavar="ADDRESS", help="run the search on a Dask cluster")
    p.add_argument("--workers", type=int, default=2, help="local processes (default 2; 1 = serial)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_json_flag(p)
    p.set_defaults(func=run)
