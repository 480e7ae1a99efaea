"""``npulab scalesim``: SCALE-Sim 3.0.0's reports from its own config and topology files.

    npulab scalesim -c CONFIG.cfg -t TOPOLOGY.csv [-i conv|gemm] -p OUTDIR [--json]

Writes ``OUTDIR/<run_name>/COMPUTE_REPORT.csv``, ``BANDWIDTH_REPORT.csv`` and
``DETAILED_ACCESS_REPORT.csv`` with SCALE-Sim's columns in its order, one row per layer
(``InterfaceBandwidth: CALC`` or ``USER``; see :mod:`npulab.systolic.scalesim`).  As in SCALE-Sim, a
conv row whose name contains ``DP`` (depthwise) becomes one layer per channel.
"""
from __future__ import annotations


def add_parser(sub):
    from npulab.cli import add_json_flag

    p = sub.add_parser("scalesim", help="SCALE-Sim 3.0.0-compatible reports (CALC and USER bandwidth modes)",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("-c", dest="config", required=True, metavar="CONFIG.cfg", help="SCALE-Sim config file")
    p.add_argument("-t", dest="topology", required=True, metavar="TOPOLOGY.csv", help="SCALE-Sim topology CSV")
    p.add_argument("-i", dest="input_type", choices=("conv", "gemm"), default="conv",
                   help="topology format (default conv, as SCALE-Sim)")
    p.add_argument("-p", dest="outdir", required=True, metavar="OUTDIR", help="report directory")
    p.add_argument("--max-elements", type=int, default=None, metavar="N",
                   help="largest model size per layer, in array elements (default 5e7)")
    add_json_flag(p)
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from tqdm import tqdm

    from npulab.cli import print_json
    from npulab.systolic.scalesim import (
        KEYS,
        expand_depthwise,
        read_config,
        simulate_layer,
        write_reports,
    )
    from npulab.systolic.scalesim_model import MAX_ELEMENTS, check_size
    from npulab.workloads import load_topology

    limit = MAX_ELEMENTS if args.max_elements is None else args.max_elements
    if limit < 1:
        raise ValueError(f"--max-elements must be >= 1; got {limit}")
    cfg = read_config(args.config)
    layers = load_topology(args.topology, kind=args.input_type)
    n_layers = sum(layer.channels if "DP" in (layer.name or "") and hasattr(layer, "channels") else 1
                   for layer in layers)
    if n_layers > 100_000:
        raise ValueError(f"{args.topology}: {n_layers} layers after depthwise expansion (limit 100000)")
    layers = expand_depthwise(layers)
    for layer in layers:                               # refuse before simulating anything
        check_size(layer, cfg, limit)
    results = [simulate_layer(layer, cfg, limit)
               for layer in tqdm(layers, desc="layers", disable=args.json or len(layers) < 4)]
    path = write_reports(results, args.outdir, cfg.run_name)
    if args.json:
        print_json({"run_name": cfg.run_name, "report_dir": path, "dataflow": cfg.dataflow,
                    "array": [cfg.rows, cfg.cols],
                    "layers": [{"name": layer.name, **{k: r[k] for k in KEYS}}
                               for layer, r in zip(layers, results)]})
    else:
        print(f"{cfg.run_name}: {len(layers)} layer(s) on {cfg.rows}x{cfg.cols} "
              f"{cfg.dataflow.upper()} -> {path}")
        width = max(16, *(len(layer.name or "-") for layer in layers))    # long names stay aligned
        for layer, r in zip(layers, results):
            print(f"  {layer.name or '-':<{width}} total {r['total_cycles']:>10} cycles  "
                  f"compute {r['compute_cycles']:>10}  stall {r['stall_cycles']:>6}  "
                  f"util {r['overall_util_pct']:6.2f}%")
    return 0
