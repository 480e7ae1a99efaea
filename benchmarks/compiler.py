"""Benchmark: the NPU compiler and simulator (issue 26's performance targets).

Printed, each with its target:

* compile time of ResNet-18 (int8, 224x224, batch 1) for ``tpuv1-like`` (target < 10 s on
  a 2-core machine): capture + BN folding, calibration, quantization, lowering;
* functional simulation speed in MAC/s (target >= 1e8): ``prog.run`` of ResNet-18, checked
  bit-exact against ``prog.reference``;
* timing simulation speed in instructions/s (target >= 1e6): the timing-only scheduler on
  MobileNetV2 lowered for the small ``edge-npu-int8`` array (many instructions);
* per layer of ResNet-18: the simulated MATMUL cycles, ``npulab.systolic.estimate`` of the
  same tiles (equal), ``npulab.systolic.estimate`` of the whole layer, and the simulated
  span with the DMA/stall overhead it adds.

    .venv/bin/python benchmarks/compiler.py [--image-size 224] [--layers 8]
"""
from __future__ import annotations

import argparse
import time

import torch

from npulab.compiler import compile_model
from npulab.compiler.models import bundled
from npulab.compiler.sim import prepare, simulate


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--image-size", type=int, default=224)
    ap.add_argument("--layers", type=int, default=8, help="per-layer rows to print")
    args = ap.parse_args()

    model, (x,) = bundled("resnet18", image_size=args.image_size, batch=1)
    compile_model(torch.nn.Sequential(torch.nn.Linear(2, 2)), (torch.zeros(1, 2),))  # warm imports
    t0 = time.perf_counter()
    prog = compile_model(model, (x,), hw="tpuv1-like")
    t_compile = time.perf_counter() - t0
    print(f"compile ResNet-18 int8 {args.image_size}x{args.image_size} for tpuv1-like: "
          f"{t_compile:.2f} s (target < 10 s: {'ok' if t_compile < 10 else 'MISSED'}), "
          f"{len(prog.instructions):,} instructions")

    t0 = time.perf_counter()
    y = prog.run(x)
    t_run = time.perf_counter() - t0
    macs = int(prog.last_result.macs.sum())
    exact = torch.equal(y, prog.reference(x))
    print(f"functional simulation: {macs:,} MACs in {t_run:.2f} s = {macs / t_run:.3g} MAC/s "
          f"(target >= 1e8: {'ok' if macs / t_run >= 1e8 else 'MISSED'}), bit-exact: {exact}")

    mb, (xm,) = bundled("mobilenetv2", image_size=args.image_size, batch=1)
    pm = compile_model(mb, (xm,), hw="edge-npu-int8")
    low = pm.lowered()
    t0 = time.perf_counter()
    prepared = prepare(low.program, pm.machine, low.table)
    t_decode = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = simulate(low.program, pm.machine, low.dram_init, functional=False, prepared=prepared)
    t_time = time.perf_counter() - t0
    n = len(low.program)
    rate = n / t_time
    print(f"timing simulation: MobileNetV2 on edge-npu-int8, {n:,} instructions, {res.cycles:,} "
          f"cycles: decode {t_decode:.2f} s, schedule {t_time:.2f} s = {rate:.3g} instr/s "
          f"(target >= 1e6: {'ok' if rate >= 1e6 else 'MISSED'}); with decode "
          f"{n / (t_decode + t_time):.3g} instr/s")

    s = prog.stats
    print(f"\nResNet-18 on tpuv1-like: {s['cycles']:,} cycles, {s['macs']:,} MACs, "
          f"{s['dram_bytes']:,} DRAM bytes, utilization {s['utilization']:.1%}")
    print(f"{'layer':<12}{'op':<9}{'sim MATMUL cyc':>15}{'systolic, same tiles':>21}"
          f"{'systolic, layer':>16}{'sim ALU':>9}{'sim span':>11}{'DMA+stall':>11}")
    for layer in s["layers"][: args.layers]:
        print(f"{layer['name'][:11]:<12}{layer['op']:<9}{layer['compute_cycles']:>15,}"
              f"{layer['systolic_tile_cycles']:>21,}{layer.get('systolic_layer_cycles', 0):>16,}"
              f"{layer['alu_cycles']:>9,}{layer['span_cycles']:>11,}{layer['overhead_cycles']:>11,}")
    same = all(layer["compute_cycles"] == layer["systolic_tile_cycles"] for layer in s["layers"])
    print(f"simulated compute cycles = systolic estimate of the same tiles, every layer: {same}")


if __name__ == "__main__":
    main()
