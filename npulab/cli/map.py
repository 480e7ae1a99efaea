"""``npulab map``: search the mappings of one layer on a preset architecture.

The layer comes from a topology CSV (``--topology FILE --layer NAME|INDEX``), from shape
flags (``--gemm M N K`` or ``--conv H W FH FW C K [--stride S]``), or by default from the
bundled ResNet-18 (``--layer``, default ``layer1.0.conv1``).  Prints the best mapping as a
loop nest, its per-level accesses and energy, and the energy/latency Pareto front.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor


def _layer(args):
    from npulab import datasets
    from npulab.workloads import Conv2d, Gemm, load_topology

    if args.gemm:
        return Gemm(*args.gemm, name="gemm")
    if args.conv:
        h, w, fh, fw, c, k = args.conv
        return Conv2d(h, w, fh, fw, c, k, stride=args.stride, name="conv")
    layers = load_topology(args.topology) if args.topology else datasets.topology("resnet18")
    want = args.layer if args.layer is not None else ("layer1.0.conv1" if not args.topology else "0")
    for layer in layers:
        if layer.name == want:
            return layer
    if want.isdigit() and int(want) < len(layers):
        return layers[int(want)]
    raise ValueError(f"--layer {want!r} is not a layer name or index of the topology "
                     f"({len(layers)} layers)")


def run(args) -> int:
    from npulab.tiling import PRESETS, Problem, search

    layer = _layer(args)
    if args.preset == "tpu":
        arch = PRESETS["tpu"](rows=32 if args.rows is None else args.rows,
                              cols=32 if args.cols is None else args.cols)
    else:
        if args.rows is not None or args.cols is not None:
            raise ValueError("--rows/--cols apply to --preset tpu only (Eyeriss is 12 x 14)")
        arch = PRESETS["eyeriss"]()
    from npulab.tiling.mapper import MAX_SAMPLES

    if not 1 <= args.samples <= MAX_SAMPLES:
        raise ValueError(f"--samples must be in [1, {MAX_SAMPLES:.0e}]; got {args.samples}")
    if not 0 <= args.workers <= 256:
        raise ValueError(f"--workers must be in [0, 256]; got {args.workers}")
    executor: str | ProcessPoolExecutor | None = "inline" if args.workers == 0 else None
    pool = None
    if args.workers and args.workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        pool = executor = ProcessPoolExecutor(max_workers=args.workers)
    try:
        res = search(Problem.from_workload(layer), arch, dataflow=args.dataflow,
                     objective=args.objective, samples=args.samples, rng=args.seed,
                     executor=executor, progress=not args.json and not args.no_progress)
    finally:
        if pool is not None:
            pool.shutdown()
    cost = res.cost
    if args.json:
        from npulab.cli import print_json

        print_json({
            "layer": str(layer), "problem": dict(res.best.problem.size), "arch": arch.name,
            "dataflow": args.dataflow, "objective": args.objective, "method": res.method,
            "evaluated": res.evaluated, "valid": res.valid, "space_size": res.space_size,
            "best": {"loop_nest": str(res.best), "energy_pJ": cost.energy_pJ, "cycles": cost.cycles,
                     "utilization": cost.utilization, "accesses": cost.accesses,
                     "energy_breakdown_pJ": cost.energy_breakdown_pJ},
            "pareto": [{"energy_pJ": e, "cycles": c} for e, c, _ in res.pareto],
        })
        return 0
    print(f"{layer} on {arch.name}, dataflow {args.dataflow or 'any'}, objective {args.objective}")
    print(f"{res.method} search: {res.valid:,} valid of {res.evaluated:,} mappings "
          f"(space {res.space_size:,})\n")
    print(res.best)
    print()
    print(cost)
    print("\nPareto front (energy, cycles):")
    for e, c, _ in res.pareto:
        print(f"  {e / 1e6:12.4f} uJ  {c:14,.0f} cycles")
    return 0


def add_parser(sub) -> None:
    from npulab.cli import add_json_flag

    p = sub.add_parser("map", help="search the dataflow mappings of one layer (tiler)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--gemm", type=int, nargs=3, metavar=("M", "N", "K"), help="a GEMM A[M,K] @ B[K,N]")
    src.add_argument("--conv", type=int, nargs=6, metavar=("H", "W", "FH", "FW", "C", "K"),
                     help="a convolution: ifmap H W (padded), filter FH FW, channels, filters")
    src.add_argument("--topology", help="SCALE-Sim topology CSV (default: bundled ResNet-18)")
    p.add_argument("--layer", help="layer name or index in the topology (default layer1.0.conv1)")
    p.add_argument("--stride", type=int, default=1, help="stride of --conv (default 1)")
    p.add_argument("--preset", choices=("eyeriss", "tpu"), default="eyeriss",
                   help="architecture preset (default eyeriss)")
    p.add_argument("--rows", type=int, help="array rows of --preset tpu (default 32)")
    p.add_argument("--cols", type=int, help="array cols of --preset tpu (default 32)")
    p.add_argument("--dataflow", choices=("ws", "os", "is", "rs", "nlr"),
                   help="restrict to a named dataflow (default: any mapping)")
    p.add_argument("--objective", choices=("energy", "latency", "edp"), default="energy",
                   help="what to minimise: energy (pJ), latency (cycles) or edp (default energy)")
    p.add_argument("--samples", type=int, default=50_000, help="random-search samples (default 50000)")
    p.add_argument("--seed", type=int, default=0, help="random-search seed (default 0)")
    p.add_argument("--workers", type=int, default=0,
                   help="worker processes (default 0: in this process)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    add_json_flag(p)
    p.set_defaults(func=run)
