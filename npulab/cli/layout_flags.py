"""The multi-device flags ``--devices N --tp T --pp P --ep E`` of ``scorecard`` and ``serve``.

``devices = dp x pp x tp``: the replicas ``dp`` are what is left
(:func:`npulab.perf.parallel.layout_for`).
"""

from __future__ import annotations


def add_layout_arguments(parser) -> None:
    """Register the layout flags (issue 28) on ``parser``."""
    g = parser.add_argument_group("several devices (npulab.perf.parallel)")
    g.add_argument(
        "--devices",
        type=int,
        metavar="N",
        help="devices in all (default tp x pp: one replica); N / (tp x pp) replicas",
    )
    g.add_argument(
        "--tp", type=int, default=1, metavar="T", help="tensor-parallel degree (default 1)"
    )
    g.add_argument(
        "--pp", type=int, default=1, metavar="P", help="pipeline-parallel stages (default 1)"
    )
    g.add_argument(
        "--ep",
        type=int,
        default=1,
        metavar="E",
        help="expert-parallel degree of an MoE model, dividing --tp (default 1)",
    )
    g.add_argument(
        "--micro-batches",
        type=int,
        default=1,
        metavar="M",
        help="scorecard: split --batch into M pipeline micro-batches (GPipe; default 1)",
    )
    g.add_argument(
        "--link",
        metavar="NAME",
        help="interconnect (nvlink4, nvlink3, pcie5-x16, pcie4-x16, pcie3-x4; "
        "default: the preset's)",
    )


def layout_from_args(args):
    """The :class:`~npulab.perf.parallel.Layout` the flags ask for, or None when none was given."""
    given = (
        args.devices is not None
        or args.tp != 1
        or args.pp != 1
        or args.ep != 1
        or args.link is not None
        or args.micro_batches != 1
    )
    if not given:
        return None
    from npulab.perf.parallel import layout_for

    for flag, v in (("--tp", args.tp), ("--pp", args.pp), ("--ep", args.ep),
                    ("--micro-batches", args.micro_batches)):
        if v < 1:
            raise ValueError(f"{flag} must be an int >= 1; got {v}")
    devices = args.tp * args.pp if args.devices is None else args.devices
    return layout_for(devices, args.tp, args.pp, args.ep, micro_batches=args.micro_batches)


def run_scorecard_layout(args, layout) -> int:
    """``npulab scorecard --devices/--tp/--pp/--ep``: each LLM phase on one replica."""
    from npulab.cli.limits import MAX_BATCH, MAX_SEQ_LEN, in_range
    from npulab.perf.parallel import score_layout
    from npulab.perf.presets import load_preset
    from npulab.perf.scorecard import Scorecard

    in_range("--seq-len", args.seq_len, 1, MAX_SEQ_LEN)
    in_range("--batch", args.batch, 1, MAX_BATCH)
    if not args.workload or not args.hw:
        raise ValueError("a multi-device layout needs --workload MODEL and --hw PRESET")
    reports: list = []
    conditions: list = []
    for w in args.workload:
        for h in args.hw:
            r = score_layout(
                w,
                h,
                layout,
                phase=args.phase,
                link=args.link,
                model=args.model,
                seq_len=args.seq_len,
                batch=args.batch,
                **({"weight_format": args.weights} if args.weights else {}),
                **({"group_size": args.group_size} if args.group_size else {}),
            )
            rs = r if isinstance(r, list) else [r]
            reports.extend(rs)
            prec = load_preset(h).precision          # the conditions line of the scorecard
            conditions.extend({"seq_len": args.seq_len, "batch": args.batch,
                               "weights": args.weights or prec, "activations": prec,
                               "kv_cache": prec} for _ in rs)
    card = Scorecard(tuple(reports), conditions=tuple(conditions))
    if args.json:
        print(card.to_json())
        return 0
    print(
        f"layout {layout} ({layout.devices} devices; one replica of {layout.devices // layout.dp} "
        f"scored)"
    )
    print(card.table())
    for r in reports:                              # where the time and the memory go
        lay = r.details.get("layout")
        if not lay:
            continue
        mem = lay["memory_per_device"]
        print(f"  {r.name}/{r.phase}: stage {lay['stage_s'] * 1e3:.4g} ms + TP all-reduces "
              f"{lay['tp_all_reduce_s'] * 1e3:.4g} ms + EP all-to-alls "
              f"{lay['ep_all_to_all_s'] * 1e3:.4g} ms per stage; PP hand-off "
              f"{lay['pp_handoff_s'] * 1e3:.4g} ms, bubble {100 * lay['bubble']:.0f}% over "
              f"{lay['link']}; per device {mem['weights'] / 1e9:.3g} GB weights, "
              f"{mem['kv_per_token'] / 1e3:.3g} kB KV per token")
    return 0
