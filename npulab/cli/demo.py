"""``npulab demo``: a bundled workload on a default array, bounded by its roofline.

For each layer: MACs, bytes moved (each operand once, int8), arithmetic intensity, whether
it is memory- or compute-bound, and the roofline lower bound on latency; then one
:class:`~npulab.perf.Report` for the whole network.  (The performance scorecard replaces
this with the cycle-level engines; the numbers here are ideal-reuse lower bounds.)
"""
from __future__ import annotations


def run(args) -> int:
    from npulab import datasets
    from npulab.cli.limits import check_array_flags
    from npulab.hw import ArrayConfig, EnergyTable, MemoryConfig
    from npulab.metrics.roofline import roofline_report
    from npulab.perf import format_si
    from npulab.workloads import load_topology

    check_array_flags(args)
    layers = load_topology(args.topology) if args.topology else datasets.topology("resnet18")
    name = args.topology or "resnet18 (bundled)"
    array = ArrayConfig(rows=args.rows, cols=args.cols, clock_hz=args.clock_hz)
    memory = MemoryConfig(dram_bytes_per_s=args.bandwidth)
    rows, report = roofline_report(layers, array, memory, EnergyTable(), name=name)
    if args.json:
        from npulab.cli import print_json

        print_json({"array": {"rows": array.rows, "cols": array.cols, "clock_hz": array.clock_hz},
                    "dram_bytes_per_s": memory.dram_bytes_per_s, "layers": rows,
                    "report": report.to_dict()})
        return 0
    print(f"Workload {name} on a {array.rows}x{array.cols} int8 array at "
          f"{format_si(array.clock_hz, 'Hz')}, DRAM {format_si(memory.dram_bytes_per_s, 'B/s')} "
          f"(ridge point {report.details['ridge_point_ops_per_byte']:.1f} ops/byte)")
    print(f"{'layer':<22}{'MACs':>14}{'bytes':>12}{'ops/byte':>10}  {'bound':<8}{'latency':>12}")
    for r in rows:
        print(f"{r['name']:<22}{r['macs']:>14,}{int(r['bytes']):>12,}{r['intensity']:>10.1f}  "
              f"{r['bound']:<8}{format_si(r['latency_s'], 's'):>12}")
    print()
    print(report)
    return 0


def add_parser(sub) -> None:
    from npulab.cli import add_json_flag
    from npulab.hw import ArrayConfig, MemoryConfig

    # the defaults are npulab.hw's
    clock, bandwidth = ArrayConfig(1, 1).clock_hz, MemoryConfig().dram_bytes_per_s
    p = sub.add_parser("demo", help="roofline report of a bundled network on a default array")
    p.add_argument("--topology", help="SCALE-Sim topology CSV (default: bundled ResNet-18)")
    p.add_argument("--rows", type=int, default=32, help="PE array rows (default 32)")
    p.add_argument("--cols", type=int, default=32, help="PE array columns (default 32)")
    p.add_argument("--clock-hz", type=float, default=clock, help=f"clock in Hz (default {clock:g})")
    p.add_argument("--bandwidth", type=float, default=bandwidth,
                   help=f"DRAM bytes/s (default {bandwidth:g})")
    add_json_flag(p)
    p.set_defaults(func=run)
