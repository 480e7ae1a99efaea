"""Scorecard meets silicon: predicted vs measured, with the mean and max error.

1. Every public measured LLM case on the H100 (``datasets/measured/h100_measured.json``, the
   peer reference, ``h100_session.json``, six dense models, and ``h100_extra.json``, cases
   outside both measured with ``scorecard --measure``) against
   ``npulab scorecard --hw h100-sxm`` (the calibrated ``gpu`` engine), next to the datasheet
   roofline (``model="roofline"``) for contrast.  The measured figures are CUDA-graph
   replays (hardware time); none of them was used to set the preset's parameters.
2. The CPU loop on this machine, three times in a row: ``npulab calibrate --device cpu --quick``
   -> predict -> ``--measure`` (a minimal Llama cut to one or two layers, a Qwen prompt, six
   ResNet-18 layers), one thread, the minimum of five repetitions on both sides; the target is
   every run within 15% mean and 30% max error on a quiet machine.

Run: ``python benchmarks/silicon.py [--no-cpu] [--json OUT.json]``.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MEASURED = ROOT / "datasets" / "measured"


def h100_cases():
    """(source, model, phase, tokens, batch, measured seconds) of every public H100 case."""
    cases = []
    ref = json.loads((MEASURED / "h100_measured.json").read_text())["llm"]
    for key, s in ref["prefill_s"].items():  # "seq512_batch1"
        seq, b = key.replace("seq", "").split("_batch")
        cases.append(("reference", "llama-3.2-1b", "prefill", int(seq), int(b), s))
    for key, s in ref["decode_step_cuda_graph_s"].items():  # "context1024_batch16"
        ctx, b = key.replace("context", "").split("_batch")
        cases.append(("reference", "llama-3.2-1b", "decode", int(ctx), int(b), s))
    for c in ref["second_run"]["cases"]:
        if c["phase"] == "decode_graph":
            cases.append(("reference-2", "llama-3.2-1b", "decode", c["tokens"], c["batch"], c["seconds"]))
    extra = MEASURED / "h100_extra.json"
    if extra.exists():
        from npulab.workloads.llm import from_config

        data = json.loads(extra.read_text())
        configs = {k: from_config(v) for k, v in data.get("configs", {}).items()}
        for c in data["cases"]:
            cases.append(("extra", configs.get(c["model"], c["model"]), c["phase"], c["tokens"],
                          c["batch"], c["seconds"]))
    session = MEASURED / "h100_session.json"
    if session.exists():
        for model, v in json.loads(session.read_text())["llm"].items():
            for c in v["prefill"]:
                cases.append(("session", model, "prefill", c["tokens"], c["batch"], c["graph_s"]))
            for c in v["decode"]:
                cases.append(("session", model, "decode", c["context"], c["batch"], c["graph_s"]))
    return cases


def run_h100():
    from npulab.perf.scoring import score

    rows = []
    for src, model, phase, tokens, batch, measured in h100_cases():
        pred = score(model, "h100-sxm", phase=phase, seq_len=tokens, batch=batch).latency_s
        roof = score(model, "h100-sxm", phase=phase, seq_len=tokens, batch=batch,
                     model="roofline").latency_s
        rows.append({"source": src, "model": getattr(model, "name", model), "phase": phase, "tokens": tokens,
                     "batch": batch, "measured_s": measured, "predicted_s": pred,
                     "roofline_s": roof, "error": pred / measured - 1, "roofline_error": roof / measured - 1})
    return rows


def summary(rows, key="error"):
    errs = [abs(r[key]) for r in rows]
    return (sum(errs) / len(errs), max(errs)) if errs else (float("nan"), float("nan"))


def print_h100(rows):
    print("H100 SXM (bf16, CUDA graphs): predicted by npulab scorecard --hw h100-sxm vs measured")
    print(f"{'source':<12} {'model':<16} {'phase':<8} {'tokens':>6} {'batch':>5} "
          f"{'measured':>10} {'predicted':>10} {'error':>7} {'roofline':>10} {'error':>7}")
    for r in rows:
        print(f"{r['source']:<12} {r['model']:<16} {r['phase']:<8} {r['tokens']:>6} {r['batch']:>5} "
              f"{r['measured_s'] * 1e3:>8.3f}ms {r['predicted_s'] * 1e3:>8.3f}ms {100 * r['error']:>+6.1f}% "
              f"{r['roofline_s'] * 1e3:>8.3f}ms {100 * r['roofline_error']:>+6.1f}%")
    for label, sel in (("all", rows), ("Llama-3.2-1B reference", [r for r in rows if r["source"] == "reference"]),
                       ("session (6 models)", [r for r in rows if r["source"] == "session"]),
                       ("extra (npulab --measure)", [r for r in rows if r["source"] == "extra"])):
        if sel:
            m, x = summary(sel)
            rm, rx = summary(sel, "roofline_error")
            print(f"{label:<24} n={len(sel):<3} gpu engine: mean |error| {100 * m:.1f}%, max {100 * x:.1f}%"
                  f"   | datasheet roofline: mean {100 * rm:.1f}%, max {100 * rx:.1f}%")


def run_cpu(threads: int = 1):
    """calibrate --quick -> predict -> measure on this machine's CPU."""
    from npulab.gpu import calibrate
    from npulab.perf.measure import compare

    t0 = time.perf_counter()
    data = calibrate.measure("cpu", quick=True, progress=False, threads=threads)
    cal_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        preset, _ = calibrate.write_preset(data, Path(tmp) / "this-cpu.yaml")
        rows = []
        rows += compare(["llama-3.2-1b"], [preset], phases=["decode"], seq_len=128, batch=1,
                        device="cpu", layers=1, reps=5, threads=threads)
        rows += compare(["llama-3.2-1b"], [preset], phases=["decode"], seq_len=256, batch=4,
                        device="cpu", layers=2, reps=5, threads=threads)
        rows += compare(["qwen2.5-1.5b"], [preset], phases=["prefill"], seq_len=64, batch=1,
                        device="cpu", layers=1, reps=5, threads=threads)
        rows += compare(["resnet18"], [preset], device="cpu", layers=6, reps=5, threads=threads)
    return rows, cal_s, data


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-cpu", action="store_true", help="skip the CPU calibrate/measure loop")
    ap.add_argument("--json", metavar="OUT", help="also write all rows as JSON")
    ap.add_argument("--cpu-runs", type=int, default=3, metavar="N",
                    help="consecutive calibrate -> measure loops on the CPU (default 3: the "
                         "target is each within 15%% mean, 30%% max)")
    args = ap.parse_args(argv)
    out = {}
    rows = run_h100()
    print_h100(rows)
    out["h100"] = rows
    if not args.no_cpu:
        from npulab.perf.measure import table

        out["cpu"] = []
        verdicts = []
        for i in range(args.cpu_runs):
            cpu_rows, cal_s, data = run_cpu()
            read = data.get("read", {}).get("TBps", 0.0) * 1e3
            print(f"\nCPU loop {i + 1}/{args.cpu_runs} on this machine ({data['device']}, "
                  f"{data.get('threads')} thread, last-level cache {data.get('llc_bytes', 0) / 2 ** 20:.0f} MiB): "
                  f"calibrate --quick took {cal_s:.1f} s; copy {data['copy']['TBps'] * 1e3:.3g} GB/s, "
                  f"read {read:.3g} GB/s, best GEMM {data['achieved']['gemm_ops_per_s'] / 1e9:.3g} GFLOP/s")
            print(table(cpu_rows))
            m, x = summary(cpu_rows)
            verdicts.append((m, x))
            out["cpu"].append(cpu_rows)
        ok = all(m <= 0.15 and x <= 0.30 for m, x in verdicts)
        print("\nCPU target (each run: mean |error| <= 15%, max <= 30%): "
              + ", ".join(f"run {i + 1}: {100 * m:.1f}% / {100 * x:.1f}%" for i, (m, x) in enumerate(verdicts))
              + (" -> met" if ok else " -> NOT met"))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
