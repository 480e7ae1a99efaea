"""The NPU simulator: every value bit-exact, every instruction timed.

:func:`simulate` runs a program on a :class:`~npulab.compiler.machine.Machine`:

* **Functional.**  The DRAM, the int8 scratchpad and the int32 accumulator are numpy arrays;
  each instruction does exactly what :mod:`~npulab.compiler.isa` says.  ``MATMUL`` uses
  :func:`matmul_tile`, a vectorised product (float64 BLAS, exact for int8 operands while
  ``k < 2^39``) that the tests prove equal to the value-moving emulator
  :func:`npulab.systolic.emulate` on small tiles; requantization is gemmlowp's fixed point
  (:func:`npulab.quant.multiply_by_quantized_multiplier`).
* **Timed.**  Three in-order queues (load, compute, store), each with its own DMA port to
  DRAM at the preset's bandwidth (as VTA's load, compute and store modules each have their
  own memory port; concurrent transfers of different queues are not slowed down).  An
  instruction starts when its queue is free and the tokens it pops have been pushed; it lasts

  - LOAD/LOADI2C/STORE: ``ceil(bytes / dram_bytes_per_cycle)`` (int8 = 1 byte, the
    accumulator's int32 = 4 bytes; a ``stride=0`` LOAD reads one row from DRAM and repeats
    it on chip);
  - MATMUL: :func:`npulab.systolic.compute_cycles` of the tile (the cycle-level emulator's
    count, so a layer's compute cycles equal ``npulab.systolic``'s for the same tiles);
  - ALU ops (REQUANT, ADDQ, MAX, CLAMP, VMAC, VLUT, VMULQ): one row per cycle (``rows *
    ceil(cols / width)``); VNORM two passes (sum of squares, then scale), VSOFTMAX three
    (max, exponentials and sum, division); SETREG/NOP 1.

  The scheduler advances each queue as far as its tokens allow and executes functional
  effects in that order: a program whose tokens do not protect a buffer computes wrong
  values here, as it would on hardware.  If no queue can issue while instructions remain,
  :class:`DeadlockError` names the queue, the instruction and the token it waits for; the
  simulation never hangs (each round issues at least one instruction or stops).

Units: cycles, bytes, elements.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import chain

import numpy as np

from npulab.compiler.isa import FIELDS, LOAD_REGS, OPCODES, QUEUES, REGISTERS
from npulab.compiler.machine import Machine
from npulab.compiler.quantize import int_add
from npulab.quant import (
    int_lut,
    int_mul,
    int_rmsnorm,
    int_softmax,
    multiply_by_quantized_multiplier,
)
from npulab.systolic.folds import compute_cycles

__all__ = [
    "simulate",
    "prepare",
    "decode_table",
    "SimResult",
    "DeadlockError",
    "matmul_tile",
    "instruction_cycles",
    "plot_trace",
]

_OPNAMES = {v: k for k, v in OPCODES.items()}
_TOKEN_NAMES = ("l2c", "c2l", "c2s", "s2c")
_R = {name: i for i, name in enumerate(REGISTERS)}


class DeadlockError(ValueError):
    """A program that can make no progress (one line: queue, instruction, awaited token)."""


def matmul_tile(a, b) -> np.ndarray:
    """``a[m, k] @ b[k, n]`` of int8 operands, exact in int64 (float64 BLAS: sums below 2^53).

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
    if op in ("LOAD", "LOADI2C", "STORE", "LOADT"):
        if op == "LOAD":
            rows = a[3] if a[5] else 1  # stride 0: one row read, repeated on chip
            nbytes = rows * a[4] * (4 if a[0] == 1 else 1)
        elif op == "LOADI2C":
            nbytes = a[4] * a[5]
        else:
            nbytes = a[2] * a[3]
        return max(1, math.ceil(nbytes / mach.dram_bytes_per_cycle))
    if op == "MATMUL":
        return compute_cycles(a[3], a[5], a[4], mach.rows, mach.cols, ("ws", "os")[a[7]])
    if op in ("REQUANT", "ADDQ", "MAX", "CLAMP", "VMAC", "VLUT", "VMULQ", "VNORM", "VSOFTMAX"):
        two_src = op not in ("REQUANT", "CLAMP", "VLUT", "VSOFTMAX")
        rows, cols = (a[3], a[4]) if two_src else (a[2], a[3])
        passes = {"VNORM": 2, "VSOFTMAX": 3}.get(op, 1)
        return passes * rows * math.ceil(cols / mach.width)
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
        elif op == "VMAC":
            ar, br, cr, rows, cols, accum = a
            prod = self.spad[ar:ar + rows, :cols] * self.spad[br, :cols]  # int8 x int8 fits int32
            if accum:
                self.acc[cr:cr + rows, :cols] += prod
            else:
                self.acc[cr:cr + rows, :cols] = prod
        elif op == "LOADT":
            sp, base, rows, cols, stride = a
            idx = base + np.arange(cols)[None, :] * stride + np.arange(rows)[:, None]
            self._rows(self.spad, sp, rows, "LOADT")
            self.spad[sp : sp + rows, :cols] = self.dram[idx]
        elif op == "VNORM":
            self._vnorm(*a)
        elif op == "VSOFTMAX":
            acc, sp, rows, cols, causal, offset = a
            r = self.reg
            params = (r[_R["SM_LN2"]], r[_R["SM_B"]], r[_R["SM_C"]])
            self.spad[sp : sp + rows, :cols] = int_softmax(
                self.acc[acc : acc + rows, :cols], params, offset if causal else None
            )
        elif op == "VLUT":
            src, dst, rows, cols, table = a
            w = self.mach.width
            t = self.acc[table : table + -(-256 // w)].reshape(-1)[:256]
            self.spad[dst : dst + rows, :cols] = int_lut(self.spad[src : src + rows, :cols], t)
        elif op == "VMULQ":
            ar, br, dst, rows, cols = a
            r = self.reg
            p = {"za": int(r[_R["MUL_ZA"]]), "zb": int(r[_R["MUL_ZB"]]),
                 "m0": int(r[_R["MUL_M"]]), "shift": int(r[_R["MUL_SH"]]),
                 "zy": int(r[_R["QZP"]]), "lo": int(r[_R["QLO"]]), "hi": int(r[_R["QHI"]])}
            self.spad[dst : dst + rows, :cols] = int_mul(
                self.spad[ar : ar + rows, :cols], self.spad[br : br + rows, :cols], p
            )
        elif op == "CLAMP":
            src, dst, rows, cols = a
            self.spad[dst : dst + rows, :cols] = np.clip(
                self.spad[src : src + rows, :cols], self.reg[_R["QLO"]], self.reg[_R["QHI"]]
            )
        else:  # pragma: no cover - Instr validates opcodes
            raise ValueError(f"simulate: unknown opcode {op}")

    def _vnorm(self, a, b, c, rows, cols, pitch):
        """RMSNorm of rows stored in chunks of ``W`` columns, ``pitch`` rows apart."""
        w = self.mach.width
        chunks = [(k, min(w, cols - k * w)) for k in range(-(-cols // w))]
        x = np.concatenate([self.spad[a + k * pitch : a + k * pitch + rows, :cw]
                            for k, cw in chunks], axis=1)
        g = np.concatenate([self.spad[b + k, :cw] for k, cw in chunks])
        y = int_rmsnorm(x, int(self.reg[_R["NORM_Z"]]), g, int(self.reg[_R["NORM_EPS"]]))
        for k, cw in chunks:
            self._rows(self.acc, c + k * pitch, rows, "VNORM")
            self.acc[c + k * pitch : c + k * pitch + rows, :cw] = y[:, k * w : k * w + cw]

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


def decode_table(program):
    """``(opcodes, deps, args[n, 8])`` int64 arrays of a list of instructions."""
    n = len(program)
    head = np.fromiter(chain.from_iterable((OPCODES[i.op], i.deps) for i in program), np.int64,
                       2 * n).reshape(n, 2)
    codes, deps = head[:, 0], head[:, 1]
    args = np.zeros((n, 8), np.int64)
    for code in np.unique(codes):
        sel = np.flatnonzero(codes == code)
        width = len(FIELDS[_OPNAMES[code]])
        if width:
            flat = chain.from_iterable(program[i].args for i in sel.tolist())
            args[sel, :width] = np.fromiter(flat, np.int64, len(sel) * width).reshape(-1, width)
    return codes, deps, args


def _prepare(program, mach: Machine, table=None):
    """Per-instruction arrays: queue, latency, DRAM bytes, MACs, and token pops/pushes.

    Vectorised over the program (numpy), so that the scheduler's loop does nothing else.
    ``table`` is :func:`decode_table` of the program when the caller already has it.
    """
    n = len(program)
    codes, deps, args = decode_table(program) if table is None else table
    op = {name: codes == c for name, c in OPCODES.items()}
    qid = np.ones(n, np.int64)                                          # compute by default
    qid[op["LOADI2C"] | op["LOADT"] | (op["LOAD"] & (args[:, 0] == 0))] = 0
    qid[op["SETREG"] & (args[:, 0] <= max(LOAD_REGS))] = 0
    qid[op["STORE"]] = 2
    nbytes = np.zeros(n, np.int64)
    rows = np.where(args[:, 5] == 0, 1, args[:, 3])  # stride 0: one row read, repeated on chip
    nbytes[op["LOAD"]] = (rows * args[:, 4] * np.where(args[:, 0] == 1, 4, 1))[op["LOAD"]]
    nbytes[op["LOADI2C"]] = (args[:, 4] * args[:, 5])[op["LOADI2C"]]
    nbytes[op["STORE"]] = (args[:, 2] * args[:, 3])[op["STORE"]]
    nbytes[op["LOADT"]] = (args[:, 2] * args[:, 3])[op["LOADT"]]
    lat = np.ones(n, np.int64)
    dma = nbytes > 0
    lat[dma] = np.maximum(1, np.ceil(nbytes[dma] / mach.dram_bytes_per_cycle)).astype(np.int64)
    mm = op["MATMUL"]
    macs = np.where(mm, args[:, 3] * args[:, 4] * args[:, 5], 0)
    macs = np.where(op["VMAC"], args[:, 3] * args[:, 4], macs)
    if mm.any():
        m, k, nn_ = args[mm, 3], args[mm, 4], args[mm, 5]
        df = args[mm, 7]
        rows_dim = np.where(df == 0, k, m)  # ws: k on the array rows; os: m
        bad = np.flatnonzero((rows_dim > mach.rows) | (nn_ > mach.cols) | (k > mach.width))
        if len(bad):
            i = int(np.flatnonzero(mm)[bad[0]])
            raise ValueError(f"instruction {i} ({program[i]}) does not fit the {mach.rows}x"
                             f"{mach.cols} array (ws: k <= rows, os: m <= rows; n <= cols; "
                             f"k <= {mach.width})")
        lat[mm] = _matmul_cycles(m, nn_, k, df, mach)
    w = mach.width
    for name, (r, c), passes in (("REQUANT", (2, 3), 1), ("CLAMP", (2, 3), 1),
                                 ("ADDQ", (3, 4), 1), ("MAX", (3, 4), 1), ("VMAC", (3, 4), 1),
                                 ("VLUT", (2, 3), 1), ("VMULQ", (3, 4), 1), ("VNORM", (3, 4), 2),
                                 ("VSOFTMAX", (2, 3), 3)):
        sel = op[name]
        lat[sel] = (passes * args[:, r] * -(-args[:, c] // w))[sel]
    table = [[_token_moves(q, d) if _moves_ok(q, d) else None for d in range(16)] for q in range(3)]
    moves = [table[q][d] for q, d in zip(qid.tolist(), deps.tolist(), strict=True)]
    bad_dep = next((i for i, mv in enumerate(moves) if mv is None), None)
    if bad_dep is not None:
        raise ValueError(f"instruction {bad_dep} ({program[bad_dep]}): the "
                         f"{QUEUES[qid[bad_dep]]} queue has no such neighbour (dependency flags "
                         f"{deps[bad_dep]:04b})")
    return qid, lat, nbytes, macs, moves


def _matmul_cycles(m, n, k, df, mach):
    """:func:`npulab.systolic.compute_cycles` for arrays of tiles (one call per distinct shape)."""
    shapes = np.stack([m, n, k, df], axis=1)
    uniq, inv = np.unique(shapes, axis=0, return_inverse=True)
    cyc = np.array([compute_cycles(int(a), int(b), int(c), mach.rows, mach.cols, ("ws", "os")[d])
                    for a, b, c, d in uniq], np.int64)
    return cyc[np.asarray(inv).reshape(-1)]


def _moves_ok(q, d):
    try:
        _token_moves(q, d)
        return True
    except ValueError:
        return False


def prepare(program, mach: Machine, table=None):
    """Decode ``program`` once for :func:`simulate` (queues, latencies, token moves).

    The result depends only on the program and the machine, so a program run many times (a
    :class:`~npulab.compiler.program.Program` does) is decoded once, as hardware loads a binary
    once.  ``table``: :func:`decode_table` of the program, when the lowering kept it.
    """
    return _prepare(program, mach, table)


def simulate(program, mach: Machine, dram, functional: bool = True, prepared=None) -> SimResult:
    """Run ``program`` on ``mach`` starting from the DRAM image ``dram`` (copied).

    The scheduler advances one queue as far as its tokens allow, then the next, until every
    queue is done; each instruction starts at ``max(its queue's previous end, the push times
    of the tokens it pops)``.  Functional effects are executed in that (token-respecting)
    order, so a buffer that no token protects is overwritten early and the values come out
    wrong.

    Parameters
    ----------
    program : list of Instr
    mach : Machine
    dram : ndarray of int32
    functional : bool, default True
        Compute values too (False: timing only).
    prepared : tuple, optional
        :func:`prepare` of the same program and machine (decoded once, reused).

    Returns
    -------
    SimResult

    Raises
    ------
    DeadlockError
        When no queue can issue its next instruction and instructions remain.
    """
    n = len(program)
    qid, lat, nbytes, macs, moves = prepared if prepared is not None else _prepare(program, mach)
    latl = lat.tolist()
    if not functional:  # timing only: one pass in program order when that order is valid
        end_l = _schedule_in_order(qid.tolist(), latl, moves)
        if end_l is not None:
            end_a = np.asarray(end_l, np.int64)
            return SimResult(np.asarray(dram), end_a - lat, end_a, qid.astype(np.int8),
                             int(end_a.max(initial=0)), nbytes, macs)
    queues = [np.flatnonzero(qid == q).tolist() for q in range(3)]
    # per queue, in order: latencies, popped and pushed token queues, end times
    q_lat = [[latl[i] for i in qi] for qi in queues]
    q_pop = [[moves[i][0] for i in qi] for qi in queues]
    q_push = [[moves[i][1] for i in qi] for qi in queues]
    q_end = [[0] * len(qi) for qi in queues]
    heads = [0, 0, 0]
    free = [0, 0, 0]
    tokens: list[list[int]] = [[], [], [], []]      # push times per token queue (FIFO)
    popped = [0, 0, 0, 0]
    state = _State(mach, np.array(dram, np.int32, copy=True)) if functional else None
    done = 0
    while done < n:
        progress = False
        for q in range(3):
            qi, h, t_free = queues[q], heads[q], free[q]
            lat_q, pop_q, push_q, end_q, size = q_lat[q], q_pop[q], q_push[q], q_end[q], len(qi)
            while h < size:
                pops = pop_q[h]
                t = t_free
                if pops:
                    if len(pops) == 1:
                        tq = pops[0]
                        k = popped[tq]
                        if k >= len(tokens[tq]):
                            break
                        v = tokens[tq][k]
                        popped[tq] = k + 1
                        if v > t:
                            t = v
                    else:  # two pops: distinct token queues, both must be there
                        if any(popped[tq] >= len(tokens[tq]) for tq in pops):
                            break
                        for tq in pops:
                            v = tokens[tq][popped[tq]]
                            popped[tq] += 1
                            if v > t:
                                t = v
                t_free = t + lat_q[h]
                end_q[h] = t_free
                for tq in push_q[h]:
                    tokens[tq].append(t_free)
                if state is not None:
                    i = qi[h]
                    try:
                        state.execute(program[i])
                    except (IndexError, ValueError) as err:
                        raise ValueError(f"instruction {i} ({program[i]}): "
                                         f"{str(err).splitlines()[0]}") from None
                h += 1
            if h != heads[q]:
                progress = True
                done += h - heads[q]
                heads[q], free[q] = h, t_free
        if not progress:
            raise DeadlockError(_deadlock_message(program, queues, heads, moves, tokens, popped))
    end_a = np.zeros(n, np.int64)
    for q in range(3):
        end_a[queues[q]] = q_end[q]
    return SimResult(state.dram if state is not None else np.asarray(dram), end_a - lat, end_a,
                     qid.astype(np.int8), int(end_a.max(initial=0)), nbytes, macs)


def _schedule_in_order(qid: list, lat: list, moves: list) -> list | None:
    """End times computed in program order, or None if an instruction pops a token that no
    earlier instruction pushed (then the queue-by-queue scheduler decides, and finds deadlocks).

    The same recurrence as :func:`simulate`'s scheduler: each token queue has one producer
    queue, so its k-th push is the same instruction in any order that respects the queues.
    """
    free = [0, 0, 0]
    tokens: list[list[int]] = [[], [], [], []]
    popped = [0, 0, 0, 0]
    end = [0] * len(qid)
    for i, q in enumerate(qid):
        pops, pushes = moves[i]
        t = free[q]
        for tq in pops:
            k = popped[tq]
            if k >= len(tokens[tq]):
                return None
            v = tokens[tq][k]
            popped[tq] = k + 1
            if v > t:
                t = v
        e = t + lat[i]
        free[q] = e
        end[i] = e
        for tq in pushes:
            tokens[tq].append(e)
    return end


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
                f"deadlock: {names[q]} queue waits at instruction {i} ({program[i]}) "
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
        "CLAMP": "tab:pink", "VMAC": "tab:olive", "LOADT": "tab:cyan",
        "VNORM": "gold", "VSOFTMAX": "crimson", "VLUT": "teal", "VMULQ": "indigo",
        "STORE": "tab:green",
        "SETREG": "tab:gray",
        "NOP": "black",
    }
    for q, _lane in enumerate(("load", "compute", "store")):
        idx = np.flatnonzero(result.queue[:n] == q)
        if program is None:
            cols: list[str] = [["tab:blue", "tab:orange", "tab:green"][q]] * len(idx)
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
    if program is not None:
        from matplotlib.patches import Patch

        used = sorted({program[i].op for i in range(n)} - {"SETREG", "NOP"})
        ax.legend(handles=[Patch(color=colours[o], label=o) for o in used], loc="upper left",
                  bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    ax.set_yticks([2, 1, 0], ["load", "compute", "store"])
    ax.set_xlabel("cycle")
    ax.set_title(f"NPU trace: {n} instructions, {int(result.end[:n].max(initial=0)):,} cycles")
    return ax
