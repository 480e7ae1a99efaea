"""``npulab sweep SPEC.yaml``: a design-space sweep (grid or random) -> Pareto table and plot.

Runs on a local process pool by default, or on a Dask distributed cluster with
``--dask ADDRESS``; the results are the same either way (see :mod:`npulab.perf.sweep`).
"""
from __future__ import annotations


def run(args) -> int:
    from npulab.perf.sweep import MAX_POINTS, run_sweep

    if not 1 <= args.workers <= 256:
        raise ValueError(f"--workers must be in [1, 256]; got {args.workers}")
    if args.dask:
        _check_listening(args.dask)
    from npulab.cli.limits import check_output_file

    for flag, path in (("--csv", args.csv), ("--plot", args.plot)):
        if path:
            check_output_file(flag, path)
    max_points = MAX_POINTS if args.max_points is None else args.max_points
    if max_points < 1:
        raise ValueError(f"--max-points must be >= 1; got {max_points}")

    executor = "dask" if args.dask else ("serial" if args.workers == 1 else "process")
    result = run_sweep(args.spec, executor=executor, workers=args.workers, address=args.dask,
                       progress=not args.json and not args.no_progress, max_points=max_points)
    if args.csv:
        result.to_csv(args.csv)
    if args.plot:
        plot = args.plot
    elif args.csv:                                   # next to the CSV
        from pathlib import Path

        plot = str(Path(args.csv).with_name(Path(args.csv).stem + "_pareto.png"))
    else:                                            # generated files go under out/
        from pathlib import Path

        Path("out").mkdir(exist_ok=True)
        plot = f"out/{result.spec.name}_pareto.png"
    if not args.json:
        result.plot_all(plot)                        # one panel per workload
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
    p.add_argument("--plot", metavar="F.png", help="Pareto plot file, one panel per workload (default: "
                   "next to --csv as <csv stem>_pareto.png, else out/<name>_pareto.png)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--max-points", type=int, metavar="N", help="refuse specs with more design points "
                   "(default 100000)")
    add_json_flag(p)
    p.set_defaults(func=run)


def _check_listening(address: str, timeout: float = 2.0) -> None:
    """One line, at once, when nothing listens at a ``tcp://host:port`` scheduler address."""
    import socket
    from urllib.parse import urlsplit

    if not address.startswith("tcp://"):
        return
    try:
        u = urlsplit(address)
        host, port = u.hostname, u.port
    except ValueError:
        raise ValueError(f"--dask {address!r} is not an address like tcp://HOST:PORT") from None
    if not host or not port:
        raise ValueError(f"--dask {address!r} is not an address like tcp://HOST:PORT")
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as err:
        raise ValueError(f"--dask {address}: nothing answers there ({err.strerror or err})") from None
