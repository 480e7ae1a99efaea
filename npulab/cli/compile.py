"""``npulab compile``: compile a model to an NPU program, print or run it.

MODEL is a bundled model (``digits-mlp``, ``digits-cnn``, ``resnet18``, ``mobilenetv2``,
``smollm-135m-layer``: one SmolLM-135M decoder layer on 16 tokens, random weights) or a
Python file exposing ``model()`` (a ``torch.nn.Module``) and ``example_inputs()`` (a tuple of
one tensor, the calibration batch).  ``--emit asm|bin|json`` prints the program (binary to
``--output`` or stdout), ``--run`` simulates the example inputs and checks the result
against the integer reference bit for bit, ``--trace FILE`` draws the load/compute/store
timeline, ``--json`` prints the summary as JSON.
"""
from __future__ import annotations

import sys
from pathlib import Path


def _load_model(spec: str, image_size: int):
    from npulab.compiler.models import MODELS, bundled

    if spec in MODELS:
        return bundled(spec, image_size=image_size, batch=1)
    path = Path(spec)
    if path.suffix != ".py" or not path.is_file():
        raise ValueError(f"MODEL {spec!r} is neither a bundled model ({', '.join(MODELS)}) "
                         f"nor a Python file")
    import importlib.util

    mod_spec = importlib.util.spec_from_file_location(f"npulab_user_model_{path.stem}", path)
    if mod_spec is None or mod_spec.loader is None:
        raise ValueError(f"{path}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(mod_spec)
    try:
        mod_spec.loader.exec_module(module)
    except Exception as err:  # the user's file: report any failure in one line
        first = str(err).splitlines()[0] if str(err) else ""
        raise ValueError(f"{path}: {type(err).__name__}: {first}") from None
    for name in ("model", "example_inputs"):
        if not callable(getattr(module, name, None)):
            raise ValueError(f"{path}: must define a function {name}()")
    example = module.example_inputs()
    if not isinstance(example, (tuple, list)):
        example = (example,)
    return module.model(), tuple(example)


def _summary(args, prog, run_info) -> dict:
    s = prog.stats
    return {"model": args.model, "hw": args.hw, "batch": prog.batch,
            **{k: s[k] for k in ("instructions", "cycles", "seconds", "macs", "dram_bytes",
                                 "utilization", "compute_cycles", "queue_busy_cycles", "opcodes")},
            "binary_bytes": 16 * s["instructions"], "run": run_info, "layers": s["layers"]}


def run(args) -> int:
    import json

    from npulab.compiler import compile_model

    if args.image_size < 8:
        raise ValueError(f"--image-size must be >= 8; got {args.image_size}")
    module, example = _load_model(args.model, args.image_size)
    # a sequence model's rows are the tokens of one sequence: describe the whole sequence
    batch = int(example[0].shape[0]) if args.model == "smollm-135m-layer" else 1
    prog = compile_model(module, example, hw=args.hw, batch=batch)
    run_info = None
    if args.run:
        import torch

        x = example[0]
        y, r = prog.run(x), prog.reference(x)
        with torch.no_grad():
            f = module(x)
        cos = torch.nn.functional.cosine_similarity(y.reshape(1, -1), f.reshape(1, -1))
        run_info = {"inputs": int(x.shape[0]), "bit_exact": bool(torch.equal(y, r)),
                    "max_abs_error_vs_float": float((y - f).abs().max()),
                    "cosine_vs_float": float(cos)}
        if y.ndim == 2:
            run_info["top1_agreement_vs_float"] = float((y.argmax(1) == f.argmax(1)).float().mean())
    if args.trace:
        prog.trace(args.trace)
    if args.emit:
        if args.emit == "asm":
            data = prog.asm().encode()
        elif args.emit == "bin":
            data = prog.binary()
        else:
            data = (json.dumps({"hw": args.hw, "instructions": [
                {"op": i.op, "args": list(i.args), "deps": i.deps, "queue": i.queue}
                for i in prog.instructions]}) + "\n").encode()
        if args.output:
            Path(args.output).write_bytes(data)
        else:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        if not args.output:
            return 0 if run_info is None or run_info["bit_exact"] else 1
    summary = _summary(args, prog, run_info)
    if args.json:
        from npulab.cli import print_json

        print_json(summary)
    else:
        print(f"{args.model} on {args.hw}: {summary['instructions']:,} instructions "
              f"({summary['binary_bytes']:,} bytes), {summary['cycles']:,} cycles "
              f"({summary['seconds'] * 1e6:.1f} us), {summary['macs']:,} MACs, "
              f"{summary['dram_bytes']:,} DRAM bytes, utilization {summary['utilization']:.1%}")
        print(f"{'layer':<14}{'op':<9}{'instr':>8}{'MACs':>14}{'array cyc':>11}"
              f"{'systolic cyc':>14}{'ALU cyc':>10}{'span cyc':>12}{'DMA+stall':>11}")
        for lay in summary["layers"]:
            print(f"{lay['name'][:13]:<14}{lay['op']:<9}{lay['instructions']:>8,}{lay['macs']:>14,}"
                  f"{lay['compute_cycles']:>11,}{lay['systolic_tile_cycles']:>14,}"
                  f"{lay['alu_cycles']:>10,}"
                  f"{lay['span_cycles']:>12,}{lay['overhead_cycles']:>11,}")
        if run_info:
            line = (f"run: {run_info['inputs']} inputs, bit-exact vs integer reference: "
                    f"{'yes' if run_info['bit_exact'] else 'NO'}")
            line += (f", vs float: cosine {run_info['cosine_vs_float']:.4f}, max |error| "
                     f"{run_info['max_abs_error_vs_float']:.4g}")
            if "top1_agreement_vs_float" in run_info:
                line += f", top-1 agreement with float {run_info['top1_agreement_vs_float']:.1%}"
            print(line)
        if args.trace:
            print(f"trace: {args.trace}")
    return 0 if run_info is None or run_info["bit_exact"] else 1


def add_parser(sub) -> None:
    from npulab.cli import add_json_flag

    p = sub.add_parser("compile", help="compile a PyTorch model to an NPU program (and run it)")
    p.add_argument("model", metavar="MODEL",
                   help="digits-mlp, digits-cnn, resnet18, mobilenetv2, smollm-135m-layer, or "
                        "a .py file with model() and example_inputs()")
    p.add_argument("--hw", default="tpuv1-like", metavar="PRESET",
                   help="systolic hardware preset or preset file (default tpuv1-like)")
    p.add_argument("--emit", choices=("asm", "bin", "json"), help="print the program")
    p.add_argument("--output", "-o", metavar="FILE", help="write --emit to FILE instead of stdout")
    p.add_argument("--run", action="store_true",
                   help="simulate the example inputs and compare with the integer reference")
    p.add_argument("--trace", metavar="PNG", help="save the load/compute/store timeline")
    p.add_argument("--image-size", type=int, default=224,
                   help="input size of resnet18/mobilenetv2 (default 224)")
    add_json_flag(p)
    p.set_defaults(func=run)
