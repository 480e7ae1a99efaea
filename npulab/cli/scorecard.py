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
        from npulab.perf.scenarios import run_cli

        return run_cli(args)
    if getattr(args, "measure", False):  # predicted vs measured on this machine (issue 16)
        from npulab.perf.measure import run_cli as measure_cli

        return measure_cli(args)

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
    add_json_flag(p)
    from npulab.perf.scenarios import add_arguments

    add_arguments(p)  # --scenario single-stream|server|offline and its bounds
    from npulab.perf.measure import add_arguments as add_measure_arguments

    add_measure_arguments(p)  # --measure, --layers, --device (predicted vs measured)
    p.set_defaults(func=run)
