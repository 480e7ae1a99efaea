"""A compiled program: run it on the simulated NPU, compare with the reference, read its stats.

:class:`Program` holds the quantized graph and the machine.  It lowers the graph for each
batch size it is asked to run (cached), so ``prog.run(x)`` accepts any batch;
:meth:`~Program.asm`, :meth:`~Program.binary` and :attr:`~Program.stats` describe the
program for the compiled batch (``batch`` of :func:`~npulab.compiler.compile_model`).
"""

from __future__ import annotations

import numpy as np

from npulab.compiler.asm import disassemble
from npulab.compiler.isa import encode
from npulab.compiler.lower import Lowered, lower
from npulab.compiler.sim import SimResult, plot_trace, prepare, simulate

__all__ = ["Program"]


def _to_numpy(x):
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x, np.float32)


class Program:
    """A model compiled for one NPU.

    Parameters
    ----------
    qgraph : QuantizedGraph
    machine : Machine
    hw : SystolicConfig
        The preset's hardware (for ``npulab.systolic`` estimates beside the simulation).
    batch : int, default 1
        The batch :meth:`asm`, :meth:`binary` and :attr:`stats` describe.
    """

    def __init__(self, qgraph, machine, hw, batch: int = 1):
        self.qgraph, self.machine, self.hw, self.batch = qgraph, machine, hw, int(batch)
        self._lowered: dict[int, Lowered] = {}
        self._prepared: dict[int, tuple] = {}
        self._stats: dict | None = None
        self.last_result: SimResult | None = None

    # ------------------------------------------------------------------ lowering
    def lowered(self, batch: int | None = None):
        """The :class:`~npulab.compiler.lower.Lowered` program for ``batch`` inputs (cached)."""
        b = self.batch if batch is None else int(batch)
        if b < 1:
            raise ValueError(f"Program: batch must be >= 1; got {b}")
        if b not in self._lowered:
            self._lowered[b] = lower(self.qgraph, self.machine, b)
        return self._lowered[b]

    @property
    def instructions(self) -> list:
        """The instructions for the compiled batch."""
        return self.lowered().program

    def asm(self) -> str:
        """Assembly text of the program (:mod:`npulab.compiler.asm`)."""
        return disassemble(self.instructions) + "\n"

    def binary(self) -> bytes:
        """Binary image of the program (16 bytes per instruction, see :func:`~.isa.encode`)."""
        return encode(self.instructions)

    # ------------------------------------------------------------------ running
    def run_int(self, x_q) -> np.ndarray:
        """Simulate on integer input ``x_q`` (torch shape); integer output in torch's shape."""
        x_q = np.asarray(x_q, np.int32)
        low = self.lowered(x_q.shape[0])
        dram = low.dram_init.copy()
        inp = low.buffers[self.qgraph.input_name]
        data = x_q.transpose(0, 2, 3, 1) if x_q.ndim == 4 else x_q
        dram[inp.addr : inp.addr + data.size] = data.reshape(-1)
        if x_q.shape[0] not in self._prepared:
            self._prepared[x_q.shape[0]] = prepare(low.program, self.machine, low.table)
        res = simulate(low.program, self.machine, dram, prepared=self._prepared[x_q.shape[0]])
        self.last_result = res
        out = low.buffers[low.output_value]
        y = res.dram[out.addr : out.addr + out.rows * out.cols]
        if out.nhwc is not None:
            return y.reshape(out.nhwc).transpose(0, 3, 1, 2)
        if out.chw is not None:
            C, H, W = out.chw
            return y.reshape(-1, H, W, C).transpose(0, 3, 1, 2).reshape(len(x_q), -1)
        return y.reshape(out.rows, out.cols)

    def run(self, x):
        """The simulated NPU's output for float input ``x``, dequantized (float32 tensor)."""
        import torch

        y_q = self.run_int(self.qgraph.quantize_input(_to_numpy(x)))
        return torch.from_numpy(self.qgraph.dequantize_output(y_q))

    def reference(self, x):
        """``npulab.quant``'s integer-only inference of the same quantized graph, dequantized."""
        import torch

        return torch.from_numpy(self.qgraph(_to_numpy(x)))

    # ------------------------------------------------------------------ stats
    @property
    def stats(self) -> dict:
        """Counts and cycles of the compiled batch (timing simulation), whole program and per layer.

        Keys: ``hw``, ``batch``, ``instructions``, ``cycles``, ``seconds``, ``macs``,
        ``dram_bytes``, ``utilization`` (MACs / (PEs x cycles)), ``compute_cycles`` (array
        busy), ``dram_cycles`` (all DRAM bytes at the preset's bandwidth: a lower bound on
        ``cycles`` that the per-queue DMA ports of the simulator could beat only by moving
        data on two queues at once), ``queue_busy_cycles``, ``opcodes``, and ``layers``: per
        layer ``name``, ``op``, ``instructions``, ``macs``, ``dram_bytes``, ``compute_cycles``
        (simulated MATMULs),
        ``systolic_tile_cycles`` (``npulab.systolic.estimate`` of the same tiles: equal),
        ``systolic_layer_cycles`` (its estimate of the whole layer as one GEMM per group,
        DRAM included), ``tiling_sram_accesses`` (the array's SRAM words for the layer from
        :func:`npulab.tiling.systolic_accesses`), ``alu_cycles`` (vector ALU ops),
        ``span_cycles`` (first start to last end in the simulation) and ``overhead_cycles``
        (span minus array and ALU cycles: DMA not hidden and dependency stalls).
        """
        if self._stats is None:
            self._stats = _stats(self, self.lowered())
        return self._stats

    def trace(self, path=None, max_instructions: int = 20000):
        """Plot the load/compute/store timeline of the compiled batch; save it to ``path``."""
        low = self.lowered()
        res = simulate(low.program, self.machine, low.dram_init, functional=False)
        ax = plot_trace(res, low.program, max_instructions=max_instructions)
        if path is not None:
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
            ax.figure.savefig(path, dpi=120, bbox_inches="tight")
        return ax

    def __repr__(self):
        low = self.lowered()
        return (
            f"Program({self.machine.name}, {len(low.layers)} layers, {len(low.program)} "
            f"instructions for batch {self.batch})"
        )


def _stats(prog: Program, low) -> dict:
    from npulab.hw import SystolicConfig
    from npulab.systolic import estimate
    from npulab.tiling import systolic_accesses
    from npulab.workloads import Gemm

    mach = prog.machine
    res = simulate(low.program, mach, low.dram_init, functional=False)
    lat = res.end - res.start
    ops = [i.op for i in low.program]
    is_mm = np.array([o == "MATMUL" for o in ops])
    is_alu = np.array([o in ("REQUANT", "ADDQ", "MAX", "CLAMP", "VMAC", "VLUT", "VMULQ", "VNORM",
                             "VSOFTMAX") for o in ops])
    tile_hw = SystolicConfig(prog.hw.array, prog.hw.memory, fold_overlap=False)
    cache = {}

    def tile_cycles(m, n, k):
        if (m, n, k) not in cache:
            cache[(m, n, k)] = estimate(Gemm(m, n, k), tile_hw).details["compute_cycles"]
        return cache[(m, n, k)]

    layers = []
    for li, info in enumerate(low.layers):
        sel = low.layer_of == li
        idx = np.flatnonzero(sel)
        mm = idx[is_mm[idx]]
        entry = {
            "name": info["name"],
            "op": info["op"],
            "instructions": int(len(idx)),
            "macs": int(res.macs[idx].sum()),
            "dram_bytes": int(res.dram_bytes[idx].sum()),
            "compute_cycles": int(lat[mm].sum()),
            "systolic_tile_cycles": int(
                sum(
                    tile_cycles(
                        low.program[i].args[3], low.program[i].args[5], low.program[i].args[4]
                    )
                    for i in mm
                )
            ),
            "span_cycles": int(res.end[idx].max() - res.start[idx].min()),
        }
        if "K" in info:
            est = estimate(Gemm(info["M"], info["N"], info["K"]), prog.hw)
            entry["systolic_layer_cycles"] = int(est.cycles or 0) * info["groups"]
            entry["tiles"] = {k: info[k] for k in ("TM", "TN", "TK", "order")}
            sram = systolic_accesses(info["M"], info["N"], info["K"], mach.rows, mach.cols,
                                     mach.dataflow)
            entry["tiling_sram_accesses"] = {k: v * info["groups"] for k, v in sram.items()}
        alu = idx[is_alu[idx]]
        entry["alu_cycles"] = int(lat[alu].sum())
        entry["overhead_cycles"] = (entry["span_cycles"] - entry["compute_cycles"]
                                    - entry["alu_cycles"])
        layers.append(entry)
    busy = {q: int(lat[res.queue == i].sum()) for i, q in enumerate(("load", "compute", "store"))}
    macs = int(res.macs.sum())
    return {
        "hw": mach.name,
        "batch": low.batch,
        "instructions": len(low.program),
        "cycles": res.cycles,
        "seconds": res.cycles / mach.clock_hz,
        "macs": macs,
        "dram_bytes": int(res.dram_bytes.sum()),
        "utilization": macs / (mach.rows * mach.cols * max(res.cycles, 1)),
        "compute_cycles": int(lat[is_mm].sum()),
        "dram_cycles": int(-(-int(res.dram_bytes.sum()) // mach.dram_bytes_per_cycle)),
        "queue_busy_cycles": busy,
        "opcodes": {o: ops.count(o) for o in sorted(set(ops))},
        "layers": layers,
    }
