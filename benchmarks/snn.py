"""Benchmark: event-driven integer core vs dense stepping vs snnTorch, 784-512-10, 100 steps.

Batch 1 and batch 32, rate-coded random inputs at 1%, 5% and 20% activity.  Prints the wall
time of each engine (best of several runs, one torch thread), the speed ratios, the SOP
count, and the output agreement: the event core's spikes must equal the dense reference's
exactly; against snnTorch's float ``Leaky`` (same weights, beta and threshold; float decay
instead of the core's integer shift) the share of equal spike decisions is printed as a rate.

Run: ``.venv/bin/python benchmarks/snn.py [--batches 1 32]``  (target: the event-driven core
at least as fast as snnTorch at batch 1-64 and 1-20% activity).
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):   # one core for every
    os.environ.setdefault(_var, "1")                                           # engine (numpy's BLAS too)

import timeit  # noqa: E402

import numpy as np  # noqa: E402
import snntorch  # noqa: E402
import torch  # noqa: E402

from npulab.hw import CoreConfig  # noqa: E402
from npulab.snn import IntLayer, run_core  # noqa: E402

SIZES = (784, 512, 10)
T = 100
RATES = (0.01, 0.05, 0.20)
REPEATS = 5


def best_time(fn, repeats=REPEATS):
    """Fastest of ``repeats`` single calls of ``fn``, in seconds."""
    return min(timeit.repeat(fn, number=1, repeat=repeats))


def main():
    torch.set_num_threads(1)                 # same single core for every engine
    rng = np.random.default_rng(0)
    core = CoreConfig(decay_mode="shift", decay=4)
    weights = [rng.integers(-127, 128, (a, b)) for a, b in zip(SIZES[:-1], SIZES[1:])]
    layers = [IntLayer(w, threshold=400, name=f"fc{i + 1}") for i, w in enumerate(weights)]
    fcs = [torch.nn.Linear(a, b, bias=False) for a, b in zip(SIZES[:-1], SIZES[1:])]
    with torch.no_grad():
        for fc, w in zip(fcs, weights):
            fc.weight.copy_(torch.from_numpy(w.T.astype(np.float32)))
    lifs = [snntorch.Leaky(beta=core.beta, threshold=400.0, reset_delay=False) for _ in fcs]

    def snntorch_run(x):
        out = []
        with torch.no_grad():
            mems = [lif.init_leaky() for lif in lifs]
            for t in range(x.shape[0]):
                s = x[t]
                for i, (fc, lif) in enumerate(zip(fcs, lifs)):
                    s, mems[i] = lif(fc(s), mems[i])
                out.append(s)
        return torch.stack(out).numpy()                      # [T, B, 10] output spikes

    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 32])
    args = ap.parse_args()
    print(f"SNN benchmark: {SIZES[0]}-{SIZES[1]}-{SIZES[2]}, T={T} steps, "
          f"torch threads={torch.get_num_threads()}")
    print(f"{'batch':>5} {'rate':>5} {'SOPs':>11} {'event ms':>9} {'dense ms':>9} {'snnTorch ms':>12} "
          f"{'event/dense':>12} {'event/snnTorch':>15}  {'= dense':>8} {'~ snnTorch':>11}")
    worst = float("inf")
    for B in args.batches:
        for p in RATES:
            spikes = (rng.random((T, B, SIZES[0])) < p).astype(np.uint8)
            x = torch.from_numpy(spikes.astype(np.float32))
            ev = run_core(layers, spikes, core, engine="event")
            de = run_core(layers, spikes, core, engine="dense")
            same = all(np.array_equal(a, b) for a, b in zip(ev.spikes, de.spikes))
            agree = float((snntorch_run(x) == ev.spikes[-1]).mean())
            t_ev = best_time(lambda s=spikes: run_core(layers, s, core, engine="event"))
            t_de = best_time(lambda s=spikes: run_core(layers, s, core, engine="dense"))
            t_st = best_time(lambda x=x: snntorch_run(x))
            worst = min(worst, t_st / t_ev)
            print(f"{B:>5} {p:5.0%} {ev.total_sops:>11,} {t_ev * 1e3:9.2f} {t_de * 1e3:9.2f} {t_st * 1e3:12.2f} "
                  f"{t_de / t_ev:11.2f}x {t_st / t_ev:14.2f}x  {'yes' if same else 'NO':>8} {agree:10.2%}",
                  flush=True)
    print("ratios > 1 mean the event-driven core is faster; '= dense': spikes of every layer equal to "
          "the dense reference; '~ snnTorch': output spike decisions equal to snnTorch's float Leaky")
    print(f"slowest event/snnTorch ratio: {worst:.2f}x (target >= 1)")


if __name__ == "__main__":
    main()
