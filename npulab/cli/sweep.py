"""``npulab sweep SPEC.yaml``: a design-space sweep (grid or random) -> Pareto table and plot.

Runs on a local process pool by default, or on a Dask distributed cluster with
``--dask ADDRESS``; the results are the same either way (see :mod:`npulab.perf.sweep`).
"""
from __future__ import annotations


def run(args) -> int:
    from npulab.perf.sweep import run_sweep

    executor = "dask" if args.dask else ("serial" if args.workers == 1 else "process")
    result = run_sweep(args.spec, executor=executor, workers=args.workers, address=args.dask,
                       progress=not args.json and not args.no_progress)
    if args.csv:
        result.to_csv(args.csv)
    plot = args.plot or f"{result.spec.name}_pareto.png"
    if not args.json:
        result.plot(plot)
    if args.json:
        from npulab.cli import print_json

        print_json({"name": result.spec.name, "rows": list(result.rows),
                    "pareto": {w: result.pareto(w) for w in result.workloads()}})
        return 0
    print(result.table())
    print(f"\nwrote Pareto plot: {plot}" + (f"; CSV: {args.csv}" if args.csv else ""))
    return 0


def add_parser(sub) -> None:
    from npulab.cli import add_json_flag

    p = sub.add_parser("sweep", help="design-space sweep of a systolic NPU -> Pareto table and plot")
    p.add_argument("spec", metavar="SPEC.yaml", help="sweep spec (see datasets/sweeps/edge-npu.yaml)")
    p.add_argument("--dask", metavar="ADDRESS", help="run on a Dask cluster (e.g. tcp://127.0.0.1:8786)")
    p.add_argument("--workers", type=int, default=2, help="local processes (default 2; 1 = serial)")
    p.add_argument("--csv", metavar="F", help="write every row as CSV")
    p.add_argument("--plot", metavar="F.png", help="Pareto plot file (default <name>_pareto.png)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_json_flag(p)
    p.set_defaults(func=run)
