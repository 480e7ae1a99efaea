"""``npulab scorecard``: score workloads on hardware presets, one objective table.

With no arguments it scores the bundled default (edge CNNs and a small LLM's prefill and
decode, :data:`npulab.perf.scorecard.DEFAULT_WORKLOADS`) on every bundled preset (a
systolic edge NPU, a TPUv1-like NPU, an ISAAC-like PIM chip, a Loihi-like spiking chip).
The numbers are exactly those of :func:`npulab.perf.run_scorecard` with the same arguments.
"""
from __future__ import annotations


def run(args) -> int:
    from npulab.perf.scorecard import DEFAULT_WORKLOADS, run_scorecard

    if getattr(args, "scenario", None):  # MLPerf-style serving scenarios (npulab.perf.scenarios)
        return run_scenarios(args)
    if getattr(args, "measure", False):  # predicted vs measured on this machine (issue 16)
        return run_measure(args)
    from npulab.cli.layout_flags import layout_from_args, run_scorecard_layout

    layout = layout_from_args(args)                # several devices (issue 28)
    if layout is not None:
        return run_scorecard_layout(args, layout)

    from npulab.cli.limits import MAX_BATCH, MAX_SEQ_LEN, in_range

    in_range("--seq-len", args.seq_len, 1, MAX_SEQ_LEN)
    in_range("--batch", args.batch, 1, MAX_BATCH)
    if args.group_size is not None:
        in_range("--group-size", args.group_size, 1, 2**20)
    for flag, path in (("--csv", args.csv), ("--html", args.html), ("--plot", args.plot)):
        if path:
            from npulab.cli.limits import check_output_file

            check_output_file(flag, path)
    card = run_scorecard(
        args.workload or DEFAULT_WORKLOADS, args.hw or None,
        phases=[args.phase] if args.phase else None, seq_len=args.seq_len, batch=args.batch,
        **({"weight_format": args.weights} if args.weights else {}),
        **({"group_size": args.group_size} if args.group_size else {}),
        **_sparsity(args),
        model=args.model)
    if args.csv:
        card.to_csv(args.csv)
    if args.html:
        from npulab.perf.html_report import scorecard_html

        with open(args.html, "w", encoding="utf-8") as fh:
            fh.write(scorecard_html(card))          # styled, the figure embedded (one file)
    if args.plot:
        card.plot(args.plot)
    if args.json:
        print(card.to_json())
        return 0
    print(card.table())
    for label, path in (("CSV", args.csv), ("HTML", args.html), ("plot", args.plot)):
        if path:
            print(f"wrote {label}: {path}")
    return 0


def _sparsity(args) -> dict:
    """``--weight-sparsity`` / ``--weight-density`` / ``--act-density`` (issue 30)."""
    attrs = {k: v for k, v in (("weight_sparsity", getattr(args, "weight_sparsity", None)),
                               ("weight_density", getattr(args, "weight_density", None)),
                               ("act_density", getattr(args, "act_density", None)))
             if v is not None}
    return {"sparsity": attrs} if attrs else {}


def add_parser(sub) -> None:
    from npulab.cli import add_json_flag

    p = sub.add_parser("scorecard", help="compare engines/presets on workloads (latency, energy, TOPS/W)")
    p.add_argument("--workload", action="append", metavar="NAME|FILE",
                   help="bundled name (resnet18, mobilenetv2, vit-tiny, llama-3.1-8b, digits-cnn, ...) "
                        "or a SCALE-Sim .csv / LLM config .json; repeatable")
    p.add_argument("--hw", nargs="+", action="extend", metavar="PRESET|FILE",
                   help="hardware preset names or YAML/JSON files (default: all bundled)")
    p.add_argument("--phase", choices=("prefill", "decode"), help="LLM phase (default: both)")
    p.add_argument("--seq-len", type=int, default=2048, help="LLM prompt / context length (default 2048)")
    p.add_argument("--batch", type=int, default=1, help="LLM batch size (default 1)")
    p.add_argument("--weights", help="LLM weight format (fp16, int8, int4, fp8_e4m3; default: the preset's)")
    p.add_argument("--group-size", type=int, help="group size of group-wise quantised weights")
    p.add_argument("--model", choices=("engine", "roofline"), default="engine",
                   help="run the engines (default) or only the roofline bound")
    # sparsity as workload attributes (issue 30, npulab.perf.sparsity)
    p.add_argument("--weight-sparsity", metavar="N:M", help="prune weights N:M (e.g. 2:4)")
    p.add_argument("--weight-density", type=float, metavar="D",
                   help="prune weights to density D in (0, 1] (unstructured)")
    p.add_argument("--act-density", type=float, metavar="D",
                   help="fraction of non-zero activations, in (0, 1]")
    p.add_argument("--csv", metavar="F", help="also write the table as CSV")
    p.add_argument("--html", metavar="F", help="also write the table as HTML")
    p.add_argument("--plot", metavar="F.png", help="also write the energy/latency plot")
    from npulab.cli.layout_flags import add_layout_arguments

    add_layout_arguments(p)
    add_json_flag(p)
    add_scenario_arguments(p)  # --scenario single-stream|server|offline and its bounds
    add_measure_arguments(p)  # --measure, --layers, --device (predicted vs measured)
    p.set_defaults(func=run)


# ---- --scenario (npulab.perf.scenarios) ------------------------------------------------
def add_scenario_arguments(parser) -> None:
    """The scenario flags of ``npulab scorecard`` (``--scenario`` and its bounds)."""
    from npulab.perf.scenarios import MLPERF_TPOT_S, MLPERF_TTFT_S, SCENARIOS

    g = parser.add_argument_group("LLM serving scenarios (MLPerf rules; npulab.perf.scenarios)")
    g.add_argument("--scenario", choices=SCENARIOS,
                   help="rank presets by an MLPerf scenario instead of one prefill/decode step")
    g.add_argument("--ttft-bound", type=float, default=MLPERF_TTFT_S, metavar="S",
                   help="server scenario: p99 TTFT bound in s (default 2, MLPerf Llama-2-70B)")
    g.add_argument("--tpot-bound", type=float, default=MLPERF_TPOT_S, metavar="S",
                   help="server scenario: p99 TPOT bound in s (default 0.2, MLPerf Llama-2-70B)")
    g.add_argument("--output-len", type=int, default=128,
                   help="scenario output tokens per request (default 128)")
    g.add_argument("--requests", type=int, default=None,
                   help="scenario requests (default: 8 single-stream, 256 offline, 500 server)")
    g.add_argument("--dask", metavar="ADDRESS", help="server rate search on a Dask cluster")
    g.add_argument("--workers", type=int, default=2,
                   help="server rate search: local processes (1 = serial)")


def run_scenarios(args) -> int:
    """``npulab scorecard --scenario ...``: print the ranking (or JSON)."""
    from npulab.perf.scenarios import run_scenario, table
    from npulab.perf.scorecard import DEFAULT_WORKLOADS

    for flag, v in (("--ttft-bound", args.ttft_bound), ("--tpot-bound", args.tpot_bound)):
        if not v > 0:
            raise ValueError(f"{flag} must be > 0 seconds; got {v!r}")
    for flag, v in (("--output-len", args.output_len), ("--seq-len", args.seq_len),
                    ("--workers", args.workers)):
        if v < 1:
            raise ValueError(f"{flag} must be >= 1; got {v!r}")
    if args.requests is not None and args.requests < 1:
        raise ValueError(f"--requests must be >= 1; got {args.requests!r}")
    kwargs = dict(prompt_len=args.seq_len, output_len=args.output_len, score_model=args.model,
                  **({"weight_format": args.weights} if args.weights else {}),
                  **({"group_size": args.group_size} if args.group_size else {}))
    if args.requests:
        kwargs["requests"] = args.requests
    if args.scenario == "server":
        executor = "dask" if args.dask else ("serial" if args.workers == 1 else "process")
        kwargs.update(ttft_s=args.ttft_bound, tpot_s=args.tpot_bound, address=args.dask,
                      executor=executor, workers=args.workers)
    workloads = args.workload or [w for w in DEFAULT_WORKLOADS if is_llm(w)]
    results = run_scenario(args.scenario, workloads, args.hw or None,
                           progress=not args.json, **kwargs)
    conditions = {"scenario": args.scenario, "prompt_len": args.seq_len, "output_len": args.output_len,
                  "requests": args.requests or "scenario default", "policy": "orca",
                  "weights": args.weights or "preset precision", "costs": args.model}
    if args.json:
        from npulab.cli import print_json

        print_json({"scenario": args.scenario, "bounds": {"ttft_p99_s": args.ttft_bound,
                                                          "tpot_p99_s": args.tpot_bound},
                    "conditions": conditions,
                    "results": [dict(r.row(), summary=r.summary) for r in results]})
        return 0
    bounds = (f"; server bounds p99 TTFT <= {args.ttft_bound:g} s, p99 TPOT <= {args.tpot_bound:g} s"
              if args.scenario == "server" else "")
    print(f"conditions: {args.scenario}: prompts {args.seq_len} tokens (--seq-len), outputs "
          f"{args.output_len} tokens (--output-len), requests {conditions['requests']}, serving policy "
          f"orca; weights {conditions['weights']}; step costs from the {args.model} model{bounds}")
    print(table(results))
    return 0


def is_llm(name) -> bool:
    """True when ``name`` is an LLM (a bundled LLM config or a ``.json`` config file)."""
    from npulab import datasets

    p = datasets.resolve_workload(name)
    return p is not None and p.suffix == ".json"


# ---- --measure (npulab.perf.measure) ---------------------------------------------------
def add_measure_arguments(p) -> None:
    """``--measure``, ``--layers``, ``--device`` of ``npulab scorecard``."""
    p.add_argument("--measure", action="store_true",
                   help="also run the workload on the local torch device and print predicted, "
                        "measured and the error (needs --hw, e.g. a preset from npulab calibrate)")
    p.add_argument("--layers", type=int, metavar="N",
                   help="with --measure: keep only the first N layers (LLM decoder layers or "
                        "network layers) in both the prediction and the run")
    p.add_argument("--device", choices=("cpu", "cuda"),
                   help="with --measure: torch device (default cuda when available, else cpu)")
    p.add_argument("--threads", type=int, metavar="N",
                   help="with --measure on the CPU: torch threads (default: as calibrated)")


def run_measure(args) -> int:
    """``npulab scorecard ... --measure``: the comparison table (or JSON)."""
    if not args.hw:
        raise ValueError("--measure needs --hw PRESET (e.g. one written by npulab calibrate)")
    if args.layers is not None and args.layers < 1:
        raise ValueError(f"--layers must be >= 1; got {args.layers}")
    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads must be >= 1; got {args.threads}")
    from npulab.perf.measure import compare, table
    from npulab.perf.scorecard import DEFAULT_WORKLOADS

    rows = compare(args.workload or list(DEFAULT_WORKLOADS), args.hw,
                   phases=[args.phase] if args.phase else None, seq_len=args.seq_len,
                   batch=args.batch, device=args.device, layers=args.layers,
                   weight_format=args.weights, threads=args.threads, progress=not args.json)
    if args.json:
        from npulab.cli import print_json

        errs = [abs(r["error"]) for r in rows]
        print_json({"results": rows, "mean_abs_error": sum(errs) / len(errs) if errs else None,
                    "max_abs_error": max(errs) if errs else None})
        return 0
    print(table(rows))
    return 0
