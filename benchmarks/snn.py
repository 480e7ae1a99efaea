"""Benchmark: event-driven integer core vs dense stepping vs snnTorch, 784-512-10, 100 steps.

One inference (batch 1), rate-coded random inputs at 1%, 5% and 20% activity.  Prints the
wall time of each engine (best of several runs), the speed ratios, and the SOP count.  The
event-driven core's work scales with input spikes; the dense engines do every MAC every step.

Run: ``.venv/bin/python benchmarks/snn.py``  (target: event-driven faster than snnTorch's
dense CPU run at 1-5% activity).
"""
from __future__ import annotations

import timeit

import numpy as np
import torch

import snntorch
from npulab.hw import CoreConfig
from npulab.snn import IntLayer, run_core

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
        with torch.no_grad():
            mems = [lif.init_leaky() for lif in lifs]
            for t in range(x.shape[0]):
                s = x[t]
                for i, (fc, lif) in enumerate(zip(fcs, lifs)):
                    s, mems[i] = lif(fc(s), mems[i])

    print(f"SNN benchmark: {SIZES[0]}-{SIZES[1]}-{SIZES[2]}, T={T} steps, batch 1, "
          f"torch threads={torch.get_num_threads()}")
    print(f"{'rate':>5} {'SOPs':>10} {'event ms':>9} {'dense ms':>9} {'snnTorch ms':>12} "
          f"{'event/dense':>12} {'event/snnTorch':>15}")
    for p in RATES:
        spikes = (rng.random((T, SIZES[0])) < p).astype(np.uint8)
        x = torch.from_numpy(spikes.astype(np.float32))[:, None, :]
        result = run_core(layers, spikes, core, engine="event")
        t_ev = best_time(lambda: run_core(layers, spikes, core, engine="event"))
        t_de = best_time(lambda: run_core(layers, spikes, core, engine="dense"))
        t_st = best_time(lambda: snntorch_run(x))
        print(f"{p:5.0%} {result.total_sops:>10,} {t_ev * 1e3:9.2f} {t_de * 1e3:9.2f} {t_st * 1e3:12.2f} "
              f"{t_de / t_ev:11.2f}x {t_st / t_ev:14.2f}x")
    print("ratios > 1 mean the event-driven core is faster; dense MACs per inference: "
          f"{T * sum(a * b for a, b in zip(SIZES[:-1], SIZES[1:])):,}")


if __name__ == "__main__":
    main()
