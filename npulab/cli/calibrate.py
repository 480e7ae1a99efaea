"""``npulab calibrate``: measure the local torch device and write a calibrated preset.

Times a GEMM sweep, copy bandwidth, elementwise kernels, the per-kernel latency and fused
attention on ``--device cpu|cuda`` (:func:`npulab.gpu.calibrate.measure`), then writes
``--out PRESET.yaml`` and its data file ``PRESET_measured.json`` beside it (the schema of
``datasets/measured/h100_measured.json``).  Score with it::

    npulab calibrate --device cpu --quick --out my-cpu.yaml
    npulab scorecard --hw my-cpu.yaml --workload llama-3.2-1b --phase decode --seq-len 128 --measure --layers 1
"""
from __future__ import annotations


def run(args) -> int:
    from npulab.gpu import calibrate

    if args.peak_tflops is not None and not args.peak_tflops > 0:
        raise ValueError(f"--peak-tflops must be > 0; got {args.peak_tflops}")
    if args.bandwidth_gbs is not None and not args.bandwidth_gbs > 0:
        raise ValueError(f"--bandwidth-gbs must be > 0; got {args.bandwidth_gbs}")
    out = args.out or f"out/{args.device}-calibrated.yaml"       # generated files go under out/
    if not str(out).endswith((".yaml", ".yml")):
        raise ValueError(f"--out must end in .yaml or .yml; got {out!r}")
    if args.threads is not None and args.threads < 1:
        raise ValueError(f"--threads must be >= 1; got {args.threads}")
    if args.passes is not None and args.passes < 1:
        raise ValueError(f"--passes must be >= 1; got {args.passes}")
    data = calibrate.measure(args.device, dtype=args.dtype, quick=args.quick,
                             progress=not args.json and not args.no_progress, threads=args.threads,
                             passes=args.passes)
    preset, data_path = calibrate.write_preset(
        data, out, name=args.name,
        peak_ops_per_s=args.peak_tflops * 1e12 if args.peak_tflops else None,
        bandwidth_bytes_per_s=args.bandwidth_gbs * 1e9 if args.bandwidth_gbs else None)
    if args.json:
        from npulab.cli import print_json

        print_json({"preset": str(preset), "data": str(data_path),
                    "kernel_latency_s": data["kernel_latency_s"],
                    "launch_floor_s": data["launch_floor_s"], "copy": data["copy"],
                    "achieved": data["achieved"], "points": {k: len(data[k]) for k in
                                                             ("gemm", "attention", "elementwise")}})
        return 0
    print(calibrate.summary(data))
    print(f"wrote preset: {preset}")
    print(f"wrote data:   {data_path}")
    return 0


def add_parser(sub) -> None:
    from npulab.cli import add_json_flag

    p = sub.add_parser("calibrate", help="measure this machine's torch device and write a calibrated preset")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="torch device (default cpu)")
    p.add_argument("--dtype", choices=("bf16", "fp16", "fp32"),
                   help="element type (default bf16 on cuda, fp32 on cpu)")
    p.add_argument("--out", metavar="PRESET.yaml",
                   help="preset file to write (default out/<device>-calibrated.yaml); the data "
                        "file goes beside it as <stem>_measured.json")
    p.add_argument("--name", help="preset name (default: the file's stem)")
    p.add_argument("--quick", action="store_true", help="a small sweep (< 60 s on a 2-core CPU)")
    p.add_argument("--peak-tflops", type=float, help="datasheet peak at the dtype (default: known "
                   "datasheet for H100/A100, else the best measured GEMM)")
    p.add_argument("--bandwidth-gbs", type=float, help="datasheet memory bandwidth (default: known "
                   "datasheet, else the measured copy bandwidth)")
    p.add_argument("--threads", type=int, metavar="N",
                   help="CPU threads for torch (default: torch's; 1 is steadiest on a busy machine)")
    p.add_argument("--passes", type=int, metavar="N",
                   help="passes of the sweep, each point kept at its fastest (default 3 on the "
                        "CPU, where a neighbour's load comes and goes; 1 on CUDA)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_json_flag(p)
    p.set_defaults(func=run)
