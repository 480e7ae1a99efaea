"""The NPU simulator: every value bit-exact, every instruction timed.

:func:`simulate` runs a program on a :class:`~npulab.compiler.machine.Machine`:

* **Functional.**  The DRAM, the int8 scratchpad and the int32 accumulator are numpy arrays;
  each instruction does exactly what :mod:`~npulab.compiler.isa` says.  ``MATMUL`` uses
  :func:`matmul_tile`, a vectorised product (float64 BLAS, exact for int8 operands while
  ``k < 2^39``) that the tests prove equal to the value-moving emulator
  :func:`npulab.systolic.emulate` on small tiles; requantization is gemmlowp's fixed point
  (:func:`npulab.quant.multiply_by_quantized_multiplier`).
* **Timed.**  Three in-order queues (load, compute, store) and one DMA engine shared by every
  DRAM transfer.  An instruction starts when its queue is free, the tokens it pops have been
  pushed, and (for DRAM transfers) the DMA is idle; it lasts

  - LOAD/LOADI2C/STORE: ``ceil(bytes / dram_bytes_per_cycle)`` (int8 = 1 byte, the
    accumulator's int32 = 4 bytes);
  - MATMUL: :func:`npulab.systolic.compute_cycles` of the tile (the cycle-level emulator's
    count, so a layer's compute cycles equal ``npulab.systolic``'s for the same tiles);
  - ALU ops: one scratchpad row per cycle (``rows * ceil(cols / width)``); SETREG/NOP 1.

  The scheduler always issues the ready instruction that can start first, and executes its
  functional effect then: a program whose tokens do not protect a buffer computes wrong
  values here, as it would on hardware.  If no queue can issue while instructions remain,
  :class:`DeadlockError` names the queue, the instruction and the token it waits for;
  the simulation never hangs (every step issues one instruction or stops).

Units: cycles, bytes, elements.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from npulab.compiler.asm import format_instr
from npulab.compiler.isa import REGISTERS, queue_of
from npulab.compiler.machine import Machine
from npulab.compiler.quantize import int_add
from npulab.quant import multiply_by_quantized_multiplier
from npulab.systolic.folds import compute_cycles

__all__ = [
    "simulate",
    "SimResult",
    "DeadlockError",
    "matmul_tile",
    "instruction_cycles",
    "plot_trace",
]

_Q = {"load": 0, "compute": 1, "store": 2}
_TOKEN_NAMES = ("l2c", "c2l", "c2s", "s2c")
_R = {name: i for i, name in enumerate(REGISTERS)}


class DeadlockError(ValueError):
    """A program that can make no progress (one line: queue, instruction, awaited token)."""


def matmul_tile(a, b) -> np.ndarray:
    """``a[m, k] @ b[k, n]`` of int8 operands as exact int64 (float64 BLAS; |sums| < 2^53).

    Examples
    --------
    >>> import numpy as np
    >>> matmul_tile(np.full((1, 3), -128), np.full((3, 1), -128)).tolist()
    [[49152]]
    """
    return np.matmul(np.asarray(a, np.float64), np.asarray(b, np.float64)).astype(np.int64)


def _token_moves(queue: int, deps: int):
    """(pops, pushes) as token-queue indices for an instruction of ``queue`` with ``deps``.

    Token queues: 0 l2c (load -> compute), 1 c2l, 2 c2s, 3 s2c.
    """
    prev_in = {1: 0, 2: 2}.get(queue)  # token from the previous queue to me
    next_in = {0: 1, 1: 3}.get(queue)  # token from the next queue to me
    prev_out = {1: 1, 2: 3}.get(queue)  # token from me to the previous queue
    next_out = {0: 0, 1: 2}.get(queue)  # token from me to the next queue
    pops = [t for bit, t in ((1, prev_in), (2, next_in)) if deps & bit]
    pushes = [t for bit, t in ((4, prev_out), (8, next_out)) if deps & bit]
    if None in pops or None in pushes:
        raise ValueError(
            f"the {('load', 'compute', 'store')[queue]} queue has no such neighbour "
            f"(dependency flags {deps:04b})"
        )
    return pops, pushes


def instruction_cycles(ins, mach: Machine) -> int:
    """Latency of one instruction on ``mach`` (see the module docstring)."""
    op, a = ins.op, ins.args
    if op in ("LOAD", "LOADI2C", "STORE"):
        if op == "LOAD":
            nbytes = a[3] * a[4] * (4 if a[0] == 1 else 1)
        elif op == "LOADI2C":
            nbytes = a[4] * a[5]
        else:
            nbytes = a[2] * a[3]
        return max(1, math.ceil(nbytes / mach.dram_bytes_per_cycle))
    if op == "MATMUL":
        return compute_cycles(a[3], a[5], a[4], mach.rows, mach.cols, mach.dataflow)
    if op in ("REQUANT", "ADDQ", "MAX", "CLAMP"):
        rows, cols = (a[2], a[3]) if op in ("REQUANT", "CLAMP") else (a[3], a[4])
        return rows * math.ceil(cols / mach.width)
    return 1


@dataclass(frozen=True, repr=False)
class SimResult:
    """What a simulation leaves: the DRAM, the trace and the counts.

    Attributes
    ----------
    dram : ndarray of int32
    start, end : ndarray of int64, one per instruction (cycles)
    queue : ndarray of int8 (0 load, 1 compute, 2 store)
    cycles : int
        When the last instruction ends.
    dram_bytes : ndarray of int64, per instruction
    macs : ndarray of int64, per instruction
    """

    dram: np.ndarray
    start: np.ndarray
    end: np.ndarray
    queue: np.ndarray
    cycles: int
    dram_bytes: np.ndarray
    macs: np.ndarray

    def __repr__(self):
        return (
            f"SimResult(instructions={len(self.start)}, cycles={self.cycles}, "
            f"macs={int(self.macs.sum())}, dram_bytes={int(self.dram_bytes.sum())})"
        )


class _State:
    def __init__(self, mach, dram):
        self.mach = mach
        self.dram = dram
        self.spad = np.zeros((mach.spad_rows, mach.width), np.int32)
        self.acc = np.zeros((mach.acc_rows, mach.width), np.int32)
        self.reg = np.zeros(len(REGISTERS), np.int64)

    def _rows(self, mem, r0, rows, what):
        if r0 + rows > len(mem):
            raise ValueError(f"{what}: rows {r0}..{r0 + rows} outside the {len(mem)}-row memory")

    def execute(self, ins):
        op, a = ins.op, ins.args
        if op == "NOP":
            return
        if op == "SETREG":
            self.reg[a[0]] = a[1]
        elif op == "LOAD":
            mem, sp, base, rows, cols, stride = a
            idx = base + np.arange(rows)[:, None] * stride + np.arange(cols)[None, :]
            dst = self.acc if mem else self.spad
            self._rows(dst, sp, rows, "LOAD")
            dst[sp : sp + rows, :cols] = self.dram[idx]
        elif op == "LOADI2C":
            self.spad[a[0] : a[0] + a[4], : a[5]] = self._im2col(*a[1:])
        elif op == "STORE":
            sp, base, rows, cols, stride = a
            idx = base + np.arange(rows)[:, None] * stride + np.arange(cols)[None, :]
            self.dram[idx] = self.spad[sp : sp + rows, :cols]
        elif op == "MATMUL":
            ar, br, cr, m, k, n, accum, _ = a
            prod = matmul_tile(self.spad[ar : ar + m, :k], self.spad[br : br + k, :n]).astype(
                np.int32
            )
            if accum:
                self.acc[cr : cr + m, :n] += prod  # int32: wraps like the hardware register
            else:
                self.acc[cr : cr + m, :n] = prod
        elif op == "REQUANT":
            acc, sp, rows, cols, mult, shift = a
            r = self.reg
            y = multiply_by_quantized_multiplier(
                self.acc[acc : acc + rows, :cols], self.acc[mult, :cols], self.acc[shift, :cols]
            )
            self.spad[sp : sp + rows, :cols] = np.clip(
                y.astype(np.int64) + r[_R["QZP"]], r[_R["QLO"]], r[_R["QHI"]]
            )
        elif op == "ADDQ":
            ar, br, dst, rows, cols = a
            r = self.reg
            p = {
                "za": r[_R["ADD_ZA"]],
                "zb": r[_R["ADD_ZB"]],
                "ma": r[_R["ADD_MA"]],
                "sha": r[_R["ADD_SHA"]],
                "mb": r[_R["ADD_MB"]],
                "shb": r[_R["ADD_SHB"]],
                "my": r[_R["ADD_MY"]],
                "shy": r[_R["ADD_SHY"]],
                "zy": r[_R["QZP"]],
                "lo": r[_R["QLO"]],
                "hi": r[_R["QHI"]],
            }
            self.spad[dst : dst + rows, :cols] = int_add(
                self.spad[ar : ar + rows, :cols], self.spad[br : br + rows, :cols], p
            )
        elif op == "MAX":
            ar, br, dst, rows, cols = a
            self.spad[dst : dst + rows, :cols] = np.maximum(
                self.spad[ar : ar + rows, :cols], self.spad[br : br + rows, :cols]
            )
        elif op == "CLAMP":
            src, dst, rows, cols = a
            self.spad[dst : dst + rows, :cols] = np.clip(
                self.spad[src : src + rows, :cols], self.reg[_R["QLO"]], self.reg[_R["QHI"]]
            )
        else:  # pragma: no cover - Instr validates opcodes
            raise ValueError(f"simulate: unknown opcode {op}")

    def _im2col(self, base, row0, col0, rows, cols):
        """Rows/cols of the virtual im2col matrix (columns (r, s, c)) of the NHWC image at base."""
        g = {
            k: int(self.reg[_R[k]])
            for k in (
                "I2C_H",
                "I2C_W",
                "I2C_C",
                "I2C_CG",
                "I2C_COFF",
                "I2C_S",
                "I2C_STRIDE",
                "I2C_PAD",
                "I2C_E",
                "I2C_F",
            )
        }
        H, W, C, CG = g["I2C_H"], g["I2C_W"], g["I2C_C"], g["I2C_CG"]
        p = row0 + np.arange(rows)[:, None]  # output pixel (n, e, f)
        q = col0 + np.arange(cols)[None, :]  # column (r, s, c)
        n, e, f = p // (g["I2C_E"] * g["I2C_F"]), (p // g["I2C_F"]) % g["I2C_E"], p % g["I2C_F"]
        win, c = q // CG, g["I2C_COFF"] + q % CG
        h = e * g["I2C_STRIDE"] - g["I2C_PAD"] + win // g["I2C_S"]
        w = f * g["I2C_STRIDE"] - g["I2C_PAD"] + win % g["I2C_S"]
        ok = (h >= 0) & (h < H) & (w >= 0) & (w < W)
        idx = base + ((n * H + np.clip(h, 0, H - 1)) * W + np.clip(w, 0, W - 1)) * C + c
        return np.where(ok, self.dram[idx], self.reg[_R["PADVAL"]])


def simulate(program, mach: Machine, dram, functional: bool = True) -> SimResult:
    """Run ``program`` on ``mach`` starting from the DRAM image ``dram`` (copied).

    Parameters
    ----------
    program : list of Instr
    mach : Machine
    dram : ndarray of int32
    functional : bool, default True
        Compute values too (False: timing only).

    Returns
    -------
    SimResult

    Raises
    ------
    DeadlockError
        When no queue can issue its next instruction and instructions remain.
    """
    n = len(program)
    qid = np.empty(n, np.int8)
    lat = np.empty(n, np.int64)
    nbytes = np.zeros(n, np.int64)
    macs = np.zeros(n, np.int64)
    moves = []
    for i, ins in enumerate(program):
        q = _Q[queue_of(ins)]
        qid[i] = q
        lat[i] = instruction_cycles(ins, mach)
        moves.append(_token_moves(q, ins.deps))
        a = ins.args
        if ins.op == "LOAD":
            nbytes[i] = a[3] * a[4] * (4 if a[0] else 1)
        elif ins.op == "LOADI2C":
            nbytes[i] = a[4] * a[5]
        elif ins.op == "STORE":
            nbytes[i] = a[2] * a[3]
        elif ins.op == "MATMUL":
            macs[i] = a[3] * a[4] * a[5]
    is_dma = nbytes > 0
    queues = [np.flatnonzero(qid == q).tolist() for q in range(3)]
    heads = [0, 0, 0]
    free = [0, 0, 0]
    dma_free = 0
    tokens = [[], [], [], []]  # push times, FIFO (read position in tok_pos)
    tok_pos = [0, 0, 0, 0]
    start = np.zeros(n, np.int64)
    end = np.zeros(n, np.int64)
    state = _State(mach, np.array(dram, np.int32, copy=True)) if functional else None
    remaining = n
    while remaining:
        best, best_t = -1, None
        for q in range(3):
            if heads[q] >= len(queues[q]):
                continue
            i = queues[q][heads[q]]
            pops = moves[i][0]
            t = free[q]
            ok = True
            for tq in pops:
                if tok_pos[tq] + pops.count(tq) > len(tokens[tq]):
                    ok = False
                    break
                t = max(t, tokens[tq][tok_pos[tq]])
            if not ok:
                continue
            if is_dma[i]:
                t = max(t, dma_free)
            if best_t is None or t < best_t:
                best, best_t = q, t
        if best < 0:
            raise DeadlockError(_deadlock_message(program, queues, heads, moves, tokens, tok_pos))
        i = queues[best][heads[best]]
        heads[best] += 1
        pops, pushes = moves[i]
        for tq in pops:
            tok_pos[tq] += 1
        e = best_t + lat[i]
        start[i], end[i] = best_t, e
        free[best] = e
        if is_dma[i]:
            dma_free = e
        for tq in pushes:
            tokens[tq].append(e)
        if functional:
            try:
                state.execute(program[i])
            except (IndexError, ValueError) as err:
                raise ValueError(
                    f"instruction {i} ({format_instr(program[i])}): {str(err).splitlines()[0]}"
                ) from None
        remaining -= 1
    return SimResult(
        state.dram if functional else np.array(dram, np.int32),
        start,
        end,
        qid,
        int(end.max(initial=0)),
        nbytes,
        macs,
    )


def _deadlock_message(program, queues, heads, moves, tokens, tok_pos) -> str:
    names = ("load", "compute", "store")
    for q in range(3):
        if heads[q] < len(queues[q]):
            i = queues[q][heads[q]]
            waits = [t for t in moves[i][0] if tok_pos[t] >= len(tokens[t])]
            others = ", ".join(
                f"{names[o]} queue {'done' if heads[o] >= len(queues[o]) else 'blocked'}"
                for o in range(3)
                if o != q
            )
            return (
                f"deadlock: {names[q]} queue waits at instruction {i} ({format_instr(program[i])}) "
                f"for a {_TOKEN_NAMES[waits[0]] if waits else '?'} token ({others})"
            )
    return "deadlock"  # pragma: no cover


def plot_trace(result: SimResult, program=None, ax=None, max_instructions: int = 20000):
    """Timeline of the load / compute / store lanes (one bar per instruction).

    Parameters
    ----------
    result : SimResult
    program : list of Instr, optional
        Colours compute bars by opcode when given.
    ax : matplotlib Axes, optional
    max_instructions : int, default 20000
        Draw only the first this many instructions (a readable plot).

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(10, 2.6))
    n = min(len(result.start), max_instructions)
    colours = {
        "LOAD": "tab:blue",
        "LOADI2C": "tab:cyan",
        "MATMUL": "tab:orange",
        "REQUANT": "tab:red",
        "ADDQ": "tab:purple",
        "MAX": "tab:brown",
        "CLAMP": "tab:pink",
        "STORE": "tab:green",
        "SETREG": "tab:gray",
        "NOP": "black",
    }
    for q, _lane in enumerate(("load", "compute", "store")):
        idx = np.flatnonzero(result.queue[:n] == q)
        if program is None:
            cols = ["tab:blue", "tab:orange", "tab:green"][q]
        else:
            cols = [colours[program[i].op] for i in idx]
        ax.barh(
            np.full(len(idx), 2 - q),
            result.end[idx] - result.start[idx],
            left=result.start[idx],
            height=0.6,
            color=cols,
            edgecolor="none",
        )
    ax.set_yticks([2, 1, 0], ["load", "compute", "store"])
    ax.set_xlabel("cycle")
    ax.set_title(f"NPU trace: {n} instructions, {int(result.end[:n].max(initial=0)):,} cycles")
    return ax
