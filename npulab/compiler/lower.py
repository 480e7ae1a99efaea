"""Lowering: the integer graph -> tiled loops -> instructions with dependency tokens.

Each integer op becomes one **layer** of instructions:

* ``qlinear`` / ``qconv2d`` (all but depthwise): a GEMM
  ``A[M, K] @ B[K, N]`` per group, where ``A`` is the input (a plain 2-D load for linear
  layers and 1x1 convs, else the im2col gather ``LOADI2C``) and ``B`` the weights in
  ``(r, s, c) x k`` order.  Tiles: ``TK`` <= array rows (WS) or the row width (OS),
  ``TN`` <= array cols, ``TM`` the most output rows whose double-buffered tiles fit the
  scratchpad and whose int32 tile fits the accumulator (OS also ``TM`` <= array rows).
  Loop order (:func:`gemm_tiles`): ``group, n, m, k`` with an n-tile's weights resident in
  the scratchpad across its m-tiles, or ``group, m, n, k`` with an m-tile's inputs resident
  across its n-tiles, or weights streamed every step, whichever loads fewer DRAM bytes.
  **Fusion**: bias, the input zero point (folded into the bias:
  ``b' = b_q - z_x sum_k W_q``), ReLU/ReLU6 and requantization happen in one pass over the
  accumulator: the bias is the accumulator's initial value, one ``REQUANT`` per output tile.
* depthwise ``qconv2d`` (groups = in = out channels; average pools are such convs with
  weights 1): on the vector ALU, one ``VMAC`` per window position and tile.
* ``qadd`` -> ``ADDQ``, ``qmaxpool`` -> ``R*S`` im2col column blocks reduced by ``MAX``,
  ``qclamp`` -> ``CLAMP``, ``reshape`` -> nothing (a view of the same DRAM buffer).
* A transformer block (values ``[tokens, features]``, one row per token): ``qrmsnorm`` ->
  per row tile the row's ``W``-wide chunks and the gains loaded, one ``VNORM`` into the
  accumulator, one ``REQUANT`` per chunk; ``qsdpa`` (one head, all tokens in one tile: tokens
  <= array rows and cols) -> ``Q`` and ``V`` loaded, ``K^T`` by ``LOADT``, ``MATMUL`` (scores
  into the accumulator), ``VSOFTMAX`` (probabilities into the scratchpad), ``MATMUL``
  (``P V``), ``REQUANT``; ``qlut`` -> ``VLUT`` (the table in accumulator rows), ``qmul`` ->
  ``VMULQ``; ``slice`` -> nothing (a strided view: only attention reads one), ``cat`` ->
  nothing (the heads store straight into their columns of the joined tensor).

**Double buffering** with VTA's tokens: k-step ``t`` loads into input slot ``t % 2`` and
(``t >= 2``) first pops a ``c2l`` token, pushed by the compute that finished with step
``t - 2``; compute pops ``l2c`` before each step.  Output tile ``j`` goes to output slot
``j % 2``; compute pops ``s2c`` (``j >= 2``) before writing it and pushes ``c2s`` after;
the store pops ``c2s``.  Between layers one barrier (the last store pushes ``s2c``, a compute
``NOP`` turns it into ``c2l``, the next layer's first load pops it) orders the next layer's
loads after this layer's stores.  Every token pushed is popped: the token queues are empty
at the end of a program.

Activations live in DRAM in NHWC order (row = pixel, column = channel); flattening an NHWC
tensor permutes the next linear layer's weight columns instead of the data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from npulab.compiler.isa import OPCODES, REGISTERS, Instr
from npulab.compiler.machine import Machine

__all__ = ["lower", "Lowered", "Buffer", "gemm_tiles"]

POP_PREV, POP_NEXT, PUSH_PREV, PUSH_NEXT = 1, 2, 4, 8
_R = {name: i for i, name in enumerate(REGISTERS)}
_DF = {"ws": 0, "os": 1}


@dataclass
class Buffer:
    """A tensor in DRAM: a ``rows x cols`` int8 matrix at ``addr``.

    ``nhwc`` is ``(N, H, W, C)`` for images (rows = pixels); ``chw`` is ``(C, H, W)`` for a
    feature matrix that is a flattened NHWC image (columns in (h, w, c) order).  ``stride``
    (0: ``cols``) is the distance between rows: a column slice (an attention head) is a view
    of its tensor with the tensor's row stride.
    """

    addr: int
    rows: int
    cols: int
    nhwc: tuple | None = None
    chw: tuple | None = None
    stride: int = 0

    @property
    def pitch(self) -> int:
        """Elements from one row to the next."""
        return self.stride or self.cols


@dataclass
class Lowered:
    """A lowered program and what the simulator needs to run it.

    Attributes
    ----------
    program : list of Instr
    layer_of : ndarray of int, one per instruction (-1 for the final barrier)
    layers : list of dict
        Per layer: ``name``, ``op``, and for GEMM layers ``M, N, K, groups`` and the tiles.
    dram_init : ndarray of int32
        The DRAM image before the run: constants (weights, bias, multipliers), zeros elsewhere.
    buffers : dict
        Value name -> :class:`Buffer`.
    machine : Machine
    batch : int
    output_value : str
        Name of the graph's output value (its buffer holds the result).
    table : tuple
        ``(opcodes, deps, args)`` arrays of ``program``, kept so that the simulator need not
        decode the instruction objects (:func:`npulab.compiler.sim.prepare`).
    """

    program: list
    layer_of: np.ndarray
    layers: list
    dram_init: np.ndarray
    buffers: dict
    machine: Machine
    batch: int
    output_value: str = ""
    table: tuple | None = None


class _Emitter:
    """Instruction list, DRAM allocator and the token bookkeeping of one layer at a time."""

    def __init__(self) -> None:
        self.prog: list[Instr] = []
        self.layer_of: list[int] = []
        self.layer = -1
        self.codes: list[int] = []
        self.args: list[tuple] = []
        self.step_last: list[int] = []
        self.stores: list[int] = []
        self.step_first_load: int | None = None
        self.step_last_load: int | None = None
        self.consts: list[tuple[int, np.ndarray]] = []
        self.dram_top = 0

    def emit(self, op, args, deps=0) -> int:
        self.prog.append(Instr(op, args, deps))
        self.layer_of.append(self.layer)
        self.codes.append(OPCODES[op])
        self.args.append(tuple(args) + (0,) * (8 - len(args)))
        return len(self.prog) - 1

    def table(self):
        """``(opcodes, deps, args)`` arrays of the program (as ``sim.decode_table`` gives)."""
        deps = np.fromiter((i.deps for i in self.prog), np.int64, len(self.prog))
        args = np.array(self.args, np.int64).reshape(len(self.prog), 8)
        return np.array(self.codes, np.int64), deps, args

    def const(self, arr) -> int:
        arr = np.asarray(arr).reshape(-1).astype(np.int64)
        addr = self.dram_top
        self.consts.append((addr, arr))
        self.dram_top += len(arr)
        return addr

    def alloc(self, n) -> int:
        addr = self.dram_top
        self.dram_top += int(n)
        return addr

    # ------------------------------------------------------------- tokens of one layer
    def begin_layer(self, first: bool):
        self.layer += 1
        self.first, self.t, self.j = first, 0, 0
        self.step_last, self.stores = [], []
        self.step_first_load = self.step_last_load = None
        if not first:  # barrier: previous layer's last store -> this layer's first load
            self.emit("NOP", (), POP_NEXT | PUSH_PREV)

    def begin_step(self):
        self.step_first_load, self.step_last_load = None, None
        self.step_consumed = False

    def load(self, op, args):
        d = 0
        if self.step_first_load is None and (self.t >= 2 or (self.t == 0 and not self.first)):
            d |= POP_NEXT
        i = self.emit(op, args, d)
        if self.step_first_load is None:
            self.step_first_load = i
        self.step_last_load = i
        return i

    def compute(self, op, args, step=False, out_first=False, out_last=False) -> int:
        d = 0
        if step and not self.step_consumed:  # first compute reading this step's slot
            if self.step_last_load is None:
                raise ValueError("lower: a k-step must load something before it computes")
            self.prog[self.step_last_load].deps |= PUSH_NEXT
            d |= POP_PREV
            self.step_consumed = True
        if out_first and self.j >= 2:
            d |= POP_NEXT
        if out_last:
            d |= PUSH_NEXT
        i = self.emit(op, args, d)
        if step:
            self.last_step_compute = i
        return i

    def end_step(self):
        self.step_last.append(self.last_step_compute)
        self.t += 1

    def store(self, args):
        self.stores.append(self.emit("STORE", args, POP_PREV))
        self.j += 1

    def end_layer(self):
        for i in self.step_last[:-2]:  # tell the load queue: slot free again
            self.prog[i].deps |= PUSH_PREV
        J = len(self.stores)
        for j, i in enumerate(self.stores):
            if j + 2 < J or j == J - 1:  # output slot free; the last one is the barrier
                self.prog[i].deps |= PUSH_PREV


def _image(buf: Buffer) -> tuple:
    """``(N, H, W, C)`` of an image buffer."""
    if buf.nhwc is None:
        raise ValueError("lower: expected an image (NHWC) value")
    return buf.nhwc


def _ceil(a, b):
    return -(-a // b)


def gemm_tiles(M: int, N: int, K: int, mach: Machine) -> dict:
    """Tile sizes, loop order and scratchpad plan of one GEMM on ``mach``.

    ``TK`` <= array rows (WS) or the row width (OS), ``TN`` <= array cols; ``TM`` is the most
    rows (OS: also <= array rows; always <= accumulator rows - 2) that the plan's buffers
    leave room for, balanced over the m-tiles.  Three plans, each double-buffered:

    * ``"nm"``: n-tiles outside m-tiles; an n-tile's weights (``nk`` chunks of ``TK`` rows)
      stay in the scratchpad across its m-tiles: DRAM reads ``M K n_tiles + K N``;
    * ``"mn"``: m-tiles outside n-tiles; an m-tile's inputs (``nk`` chunks of ``TM`` rows)
      stay across its n-tiles: DRAM reads ``M K + K N m_tiles``;
    * ``"stream"``: ``"nm"`` with weights reloaded every step (when they do not fit):
      ``M K n_tiles + K N m_tiles``.

    The plan with the fewest DRAM bytes wins (ties: the order above).

    Returns
    -------
    dict
        ``TM, TN, TK, order``, ``resident`` (``order == "nm"``), ``dram_bytes`` (the plan's
        input + weight bytes loaded), ``spad_rows_used``.

    Units: rows, elements, bytes.

    Examples
    --------
    >>> from npulab.compiler.machine import Machine
    >>> m = Machine("t", 8, 8, "ws", 8, 1024, 64, 1e9, 8.0)
    >>> t = gemm_tiles(100, 20, 30, m)
    >>> t["TM"], t["TN"], t["TK"], t["order"], t["dram_bytes"]
    (50, 8, 8, 'mn', 4200)
    """
    W = mach.width
    TK = min(K, mach.rows if mach.dataflow == "ws" else W)
    TN = min(N, mach.cols)
    nk, n_tiles = _ceil(K, TK), _ceil(N, TN)
    cap_m = mach.acc_rows - 2
    if mach.dataflow == "os":
        cap_m = min(cap_m, mach.rows)
    S = mach.spad_rows
    plans: list[tuple] = []
    for order, fixed, per_tm in (("nm", 2 * nk * TK, 4), ("mn", 2 * TK, 2 * nk + 2),
                                 ("stream", 2 * TK, 4)):
        tm = min(M, cap_m, (S - fixed) // per_tm)
        if tm < 1:
            continue
        tm = _ceil(M, _ceil(M, tm))  # balanced m-tiles
        m_tiles = _ceil(M, tm)
        nbytes = {"nm": M * K * n_tiles + K * N, "mn": M * K + K * N * m_tiles,
                  "stream": M * K * n_tiles + K * N * m_tiles}[order]
        plans.append((nbytes, len(plans), {"TM": tm, "TN": TN, "TK": TK, "order": order,
                                           "resident": order == "nm", "dram_bytes": nbytes,
                                           "spad_rows_used": fixed + per_tm * tm}))
    if not plans:
        raise ValueError(f"gemm_tiles: the scratchpad of {mach.name} ({S} rows) cannot hold a "
                         f"tile of K={K}")
    return min(plans)[2]


def _regs(em, values: dict):
    for name, v in values.items():
        em.emit("SETREG", (_R[name], int(v)))


def _wrap32(x):
    return ((np.asarray(x, np.int64) + 2**31) % 2**32 - 2**31).astype(np.int64)


def _gemm_layer(em, mach, node, x: Buffer, y: Buffer, groups_b, first):
    """Emit one conv/linear layer.

    ``groups_b``: per group (B[K, Ng] int8, bias' int32, m0, shift).
    """
    at = node.attrs
    G = len(groups_b)
    K, Ng = groups_b[0][0].shape
    conv = node.op == "qconv2d"
    if conv:
        N_, H, W_, C = _image(x)
        _, E, F, _ = _image(y)
        (R, S), st, pad = at["kernel"], at["stride"], at["padding"]
        plain = R == S == 1 and st == 1 and pad == 0 and G == 1
    else:
        plain = True
    M = y.rows
    tiles = gemm_tiles(M, Ng, K, mach)
    TM, TN, TK, order = tiles["TM"], tiles["TN"], tiles["TK"], tiles["order"]
    nk = _ceil(K, TK)
    layer = at["layers"][0]
    em.begin_layer(first)
    _regs(em, {"QZP": layer.y_zero_point, "QLO": layer.y_range[0] if not layer.relu
               else max(layer.y_range[0], layer.y_zero_point), "QHI": layer.y_range[1]})
    if conv and not plain:
        _regs(em, {"I2C_H": H, "I2C_W": W_, "I2C_C": C, "I2C_CG": C // G, "I2C_COFF": 0,
                   "I2C_R": R, "I2C_S": S, "I2C_STRIDE": st, "I2C_PAD": pad, "I2C_E": E, "I2C_F": F,
                   "PADVAL": layer.x_zero_point})
    consts = [(em.const(b), em.const(bias), em.const(m0), em.const(sh))
              for b, bias, m0, sh in groups_b]
    if order == "mn":  # A regions (2 x nk chunks of TM rows), B slots, output slots
        b_base, out_base = 2 * nk * TM, 2 * nk * TM + 2 * TK
    else:              # A slots, B regions (resident) or slots (stream), output slots
        b_base = 2 * TM
        out_base = b_base + (2 * nk * TK if order == "nm" else 2 * TK)

    def load_a(dst, g, m0, tm, k0, tk):
        if plain:
            em.load("LOAD", (0, dst, x.addr + m0 * x.cols + g * K + k0, tm, tk, x.cols))
        else:
            em.load("LOADI2C", (dst, x.addr, m0, k0, tm, tk))

    def tile(g, m0, tm, n0, tn, a_row, b_row, load_a_now, load_b_now):
        """One output tile: bias, the k-steps, requantize, store."""
        b_addr, bias_addr, m_addr, s_addr = consts[g]
        em.emit("LOAD", (1, TM, m_addr + n0, 1, tn, 0))
        em.emit("LOAD", (1, TM + 1, s_addr + n0, 1, tn, 0))
        em.emit("LOAD", (1, 0, bias_addr + n0, tm, tn, 0))  # bias broadcast = initial acc
        for ki, k0 in enumerate(range(0, K, TK)):
            tk = min(TK, K - k0)
            em.begin_step()
            ar, br = a_row(ki), b_row(ki)
            if load_a_now(ki):
                load_a(ar, g, m0, tm, k0, tk)
            if load_b_now(ki):
                em.load("LOAD", (0, br, b_addr + k0 * Ng + n0, tk, tn, Ng))
            em.compute("MATMUL", (ar, br, 0, tm, tk, tn, 1, _DF[mach.dataflow]), step=True)
            em.end_step()
        o = out_base + (em.j % 2) * TM
        em.compute("REQUANT", (0, o, tm, tn, TM, TM + 1), out_first=True, out_last=True)
        em.store((o, y.addr + m0 * y.cols + g * Ng + n0, tm, tn, y.cols))

    tiles_done = 0
    for g in range(G):
        if conv and not plain and G > 1:
            _regs(em, {"I2C_COFF": g * (C // G)})
        if order == "mn":
            for m0 in range(0, M, TM):
                tm = min(TM, M - m0)
                region = (tiles_done % 2) * nk * TM
                for ni, n0 in enumerate(range(0, Ng, TN)):
                    tile(g, m0, tm, n0, min(TN, Ng - n0),
                         lambda ki, r=region: r + ki * TM,
                         lambda ki: b_base + (em.t % 2) * TK,
                         lambda ki, first_n=ni == 0: first_n, lambda ki: True)
                tiles_done += 1
        else:
            for n0 in range(0, Ng, TN):
                tn = min(TN, Ng - n0)
                region = b_base + (tiles_done % 2) * nk * TK
                for mi, m0 in enumerate(range(0, M, TM)):
                    resident = order == "nm"
                    tile(g, m0, min(TM, M - m0), n0, tn, lambda ki: (em.t % 2) * TM,
                         lambda ki, r=region, res=resident: (r + ki * TK if res
                                                             else b_base + (em.t % 2) * TK),
                         lambda ki: True,
                         lambda ki, first_m=mi == 0, res=resident: first_m or not res)
                tiles_done += 1
    macs = M * Ng * K * G
    em.end_layer()
    return {"M": M, "N": Ng, "K": K, "groups": G, **tiles, "macs": macs}


def _depthwise_layer(em, mach, node, x: Buffer, y: Buffer, first):
    """A depthwise conv (or average pool) on the vector ALU: one weight per channel.

    For each output tile and window position ``(r, s)`` a step loads the im2col column block
    of ``(r, s)`` and that position's weight row, and ``VMAC`` accumulates
    ``x * w`` per channel into the accumulator, whose initial value is the bias (with the
    input zero point folded in); one ``REQUANT`` per tile, as for a GEMM.
    """
    at = node.attrs
    N_, H, W_, C = _image(x)
    _, E, F, _ = _image(y)
    (R, S), st, pad = at["kernel"], at["stride"], at["padding"]
    layers = at["layers"]
    w = np.stack([lay.weight.astype(np.int64).reshape(R * S) for lay in layers], axis=1)  # [RS, C]
    zx = layers[0].x_zero_point
    bias = _wrap32(np.array([int(lay.bias[0]) for lay in layers], np.int64) - zx * w.sum(axis=0))
    m0 = np.array([int(lay.multiplier[0]) for lay in layers], np.int64)
    sh = np.array([int(lay.shift[0]) for lay in layers], np.int64)
    w_addr, b_addr, m_addr, s_addr = em.const(w), em.const(bias), em.const(m0), em.const(sh)
    TM, TC = _eltwise_tiles(y.rows, C, mach, 4)
    TM = min(TM, mach.acc_rows - 2, (mach.spad_rows - 4) // 4)
    TM = _ceil(y.rows, _ceil(y.rows, TM))
    lay = layers[0]
    em.begin_layer(first)
    _regs(em, {"QZP": lay.y_zero_point, "QLO": lay.y_range[0] if not lay.relu
               else max(lay.y_range[0], lay.y_zero_point), "QHI": lay.y_range[1]})
    _regs(em, {"I2C_H": H, "I2C_W": W_, "I2C_C": C, "I2C_CG": C, "I2C_COFF": 0, "I2C_R": R,
               "I2C_S": S, "I2C_STRIDE": st, "I2C_PAD": pad, "I2C_E": E, "I2C_F": F,
               "PADVAL": zx})
    for m0_ in range(0, y.rows, TM):
        tm = min(TM, y.rows - m0_)
        for c0 in range(0, C, TC):
            tc = min(TC, C - c0)
            em.emit("LOAD", (1, TM, m_addr + c0, 1, tc, 0))
            em.emit("LOAD", (1, TM + 1, s_addr + c0, 1, tc, 0))
            em.emit("LOAD", (1, 0, b_addr + c0, tm, tc, 0))
            for rs in range(R * S):
                slot = (em.t % 2) * (TM + 1)
                em.begin_step()
                em.load("LOADI2C", (slot, x.addr, m0_, rs * C + c0, tm, tc))
                em.load("LOAD", (0, slot + TM, w_addr + rs * C + c0, 1, tc, C))
                em.compute("VMAC", (slot, slot + TM, 0, tm, tc, 1), step=True)
                em.end_step()
            o = 2 * (TM + 1) + (em.j % 2) * TM
            em.compute("REQUANT", (0, o, tm, tc, TM, TM + 1), out_first=True, out_last=True)
            em.store((o, y.addr + m0_ * y.cols + c0, tm, tc, y.cols))
    em.end_layer()
    return {"TM": TM, "TC": TC, "macs": y.rows * C * R * S}


def _eltwise_tiles(rows, cols, mach, per_row):
    TM = max(1, min(rows, mach.spad_rows // per_row))
    TM = _ceil(rows, _ceil(rows, TM))
    return TM, min(cols, mach.width)


def _add_layer(em, mach, node, a: Buffer, b: Buffer, y: Buffer, first):
    p = node.attrs["add"]
    TM, TC = _eltwise_tiles(y.rows, y.cols, mach, 6)
    em.begin_layer(first)
    _regs(
        em,
        {
            "ADD_ZA": p["za"],
            "ADD_ZB": p["zb"],
            "ADD_MA": p["ma"],
            "ADD_SHA": p["sha"],
            "ADD_MB": p["mb"],
            "ADD_SHB": p["shb"],
            "ADD_MY": p["my"],
            "ADD_SHY": p["shy"],
            "QZP": p["zy"],
            "QLO": p["lo"],
            "QHI": p["hi"],
        },
    )
    _two_input_tiles(em, a, b, y, TM, TC, "ADDQ")
    em.end_layer()
    return {"TM": TM, "TC": TC}


def _clamp_layer(em, mach, node, x: Buffer, y: Buffer, first):
    TM, TC = _eltwise_tiles(y.rows, y.cols, mach, 4)
    em.begin_layer(first)
    _regs(em, {"QLO": node.attrs["lo"], "QHI": node.attrs["hi"]})
    for m0 in range(0, y.rows, TM):
        tm = min(TM, y.rows - m0)
        for c0 in range(0, y.cols, TC):
            tc = min(TC, y.cols - c0)
            s = (em.t % 2) * TM
            em.begin_step()
            em.load("LOAD", (0, s, x.addr + m0 * x.cols + c0, tm, tc, x.cols))
            o = 2 * TM + (em.j % 2) * TM
            em.compute("CLAMP", (s, o, tm, tc), step=True, out_first=True, out_last=True)
            em.end_step()
            em.store((o, y.addr + m0 * y.cols + c0, tm, tc, y.cols))
    em.end_layer()
    return {"TM": TM, "TC": TC}


def _maxpool_layer(em, mach, node, x: Buffer, y: Buffer, first):
    at = node.attrs
    N_, H, W_, C = _image(x)
    _, E, F, _ = _image(y)
    (R, S), st, pad = at["kernel"], at["stride"], at["padding"]
    TM, TC = _eltwise_tiles(y.rows, C, mach, 4)
    em.begin_layer(first)
    _regs(
        em,
        {
            "I2C_H": H,
            "I2C_W": W_,
            "I2C_C": C,
            "I2C_CG": C,
            "I2C_COFF": 0,
            "I2C_R": R,
            "I2C_S": S,
            "I2C_STRIDE": st,
            "I2C_PAD": pad,
            "I2C_E": E,
            "I2C_F": F,
            "PADVAL": -128,
        },
    )
    for m0 in range(0, y.rows, TM):
        tm = min(TM, y.rows - m0)
        for c0 in range(0, C, TC):
            tc = min(TC, C - c0)
            o = 2 * TM + (em.j % 2) * TM
            for w in range(R * S):
                s = (em.t % 2) * TM
                em.begin_step()
                em.load("LOADI2C", (s, x.addr, m0, w * C + c0, tm, tc))
                em.compute(
                    "MAX",
                    (s if w == 0 else o, s, o, tm, tc),
                    step=True,
                    out_first=w == 0,
                    out_last=w == R * S - 1,
                )
                em.end_step()
            em.store((o, y.addr + m0 * y.cols + c0, tm, tc, y.cols))
    em.end_layer()
    return {"TM": TM, "TC": TC}


def _const_rows(em, mach, values) -> tuple[int, int]:
    """DRAM addresses of two accumulator rows: a multiplier and a shift for every column."""
    m0, sh = values
    return em.const(np.full(mach.width, m0)), em.const(np.full(mach.width, sh))


def _rmsnorm_layer(em, mach, node, x: Buffer, y: Buffer, first):
    """RMSNorm of each row on the vector ALU: chunks of ``W`` columns ``TM`` rows apart."""
    at, W, n = node.attrs, mach.width, x.cols
    nc = _ceil(n, W)
    if n > 4095:
        raise ValueError(f"unsupported op rmsnorm over {n} > 4095 features at node {node.name!r}")
    slot = lambda tm: nc * tm + nc  # noqa: E731 - rows of one input slot (data + gains)
    TM = min(y.rows, (mach.acc_rows - 2) // nc, (mach.spad_rows - 2 * nc) // (2 * nc + 2))
    if TM < 1:
        raise ValueError(f"unsupported op rmsnorm over {n} features at node {node.name!r} (the "
                         f"memories of {mach.name} are too small)")
    TM = _ceil(y.rows, _ceil(y.rows, TM))
    g_addr = em.const(at["gamma"])
    m_addr, s_addr = _const_rows(em, mach, (at["m0"], at["shift"]))
    em.begin_layer(first)
    _regs(em, {"QZP": at["zy"], "QLO": -128, "QHI": 127, "NORM_Z": at["zx"],
               "NORM_EPS": at["eps_q"]})
    acc_m = nc * TM
    em.emit("LOAD", (1, acc_m, m_addr, 1, W, 0))
    em.emit("LOAD", (1, acc_m + 1, s_addr, 1, W, 0))
    for m0 in range(0, y.rows, TM):
        tm = min(TM, y.rows - m0)
        s = (em.t % 2) * slot(TM)
        em.begin_step()
        for c in range(nc):
            cw = min(W, n - c * W)
            em.load("LOAD", (0, s + c * TM, x.addr + m0 * x.pitch + c * W, tm, cw, x.pitch))
            em.load("LOAD", (0, s + nc * TM + c, g_addr + c * W, 1, cw, 0))
        em.compute("VNORM", (s, s + nc * TM, 0, tm, n, TM), step=True)
        em.end_step()
        for c in range(nc):
            cw = min(W, n - c * W)
            o = 2 * slot(TM) + (em.j % 2) * TM
            em.compute("REQUANT", (c * TM, o, tm, cw, acc_m, acc_m + 1), out_first=True,
                       out_last=True)
            em.store((o, y.addr + m0 * y.pitch + c * W, tm, cw, y.pitch))
    em.end_layer()
    return {"TM": TM, "chunks": nc}


def _sdpa_layer(em, mach, node, q: Buffer, k: Buffer, v: Buffer, y: Buffer, first):
    """One attention head with every token in one tile: scores, softmax, ``P V``."""
    at, W = node.attrs, mach.width
    T, d = q.rows, q.cols
    lim = min(mach.rows, mach.cols)
    if T > lim or d > W:
        raise ValueError(f"unsupported op sdpa with {T} tokens and head size {d} at node "
                         f"{node.name!r} (the {mach.rows}x{mach.cols} array takes <= {lim} "
                         f"tokens and heads <= {W})")
    ws = mach.dataflow == "ws"
    TK, TN = min(d, mach.rows if ws else W), min(d, mach.cols)
    nk, nn_ = _ceil(d, TK), _ceil(d, TN)
    K0 = nk * T
    V0 = K0 + d
    P0 = V0 + nn_ * T
    O0 = P0 + T
    acc_m = T + nn_ * T
    if O0 + 2 * T > mach.spad_rows or acc_m + 2 > mach.acc_rows:
        raise ValueError(f"unsupported op sdpa with {T} tokens and head size {d} at node "
                         f"{node.name!r} (the memories of {mach.name} are too small)")
    m_addr, s_addr = _const_rows(em, mach, (at["m0"], at["shift"]))
    ln2, b, c_ = at["softmax"]
    if max(ln2, b, c_) >= 2**31:
        raise ValueError(f"unsupported op sdpa at node {node.name!r}: its softmax constants "
                         f"{(ln2, b, c_)} exceed int32 (the scores' scale is too small)")
    em.begin_layer(first)
    _regs(em, {"QZP": at["zy"], "QLO": -128, "QHI": 127, "SM_LN2": ln2, "SM_B": b, "SM_C": c_})
    em.emit("LOAD", (1, acc_m, m_addr, 1, W, 0))
    em.emit("LOAD", (1, acc_m + 1, s_addr, 1, W, 0))
    em.begin_step()
    for c in range(nk):
        em.load("LOAD", (0, c * T, q.addr + c * TK, T, min(TK, d - c * TK), q.pitch))
    em.load("LOADT", (K0, k.addr, d, T, k.pitch))
    for c in range(nn_):
        em.load("LOAD", (0, V0 + c * T, v.addr + c * TN, T, min(TN, d - c * TN), v.pitch))
    df = _DF[mach.dataflow]
    for c in range(nk):
        em.compute("MATMUL", (c * T, K0 + c * TK, 0, T, min(TK, d - c * TK), T, int(c > 0), df),
                   step=True)
    em.compute("VSOFTMAX", (0, P0, T, T, int(at["causal"]), 0), step=True)
    for c in range(nn_):
        em.compute("MATMUL", (P0, V0 + c * T, T + c * T, T, T, min(TN, d - c * TN), 0, df),
                   step=True)
    em.end_step()
    for c in range(nn_):
        o = O0 + (em.j % 2) * T
        em.compute("REQUANT", (T + c * T, o, T, min(TN, d - c * TN), acc_m, acc_m + 1),
                   out_first=True, out_last=True)
        em.store((o, y.addr + c * TN, T, min(TN, d - c * TN), y.pitch))
    em.end_layer()
    return {"tokens": T, "head_dim": d, "macs": 2 * T * T * d}


def _lut_layer(em, mach, node, x: Buffer, y: Buffer, first):
    """A table activation (SiLU, GELU): the 256 entries in accumulator rows, one VLUT a tile."""
    W = mach.width
    tr = _ceil(256, W)
    if tr > mach.acc_rows:
        raise ValueError(f"unsupported op {node.attrs['fn']} at node {node.name!r} (a 256-entry "
                         f"table does not fit the accumulator of {mach.name})")
    table = np.zeros(tr * W, np.int64)
    table[:256] = node.attrs["table"]
    t_addr = em.const(table)
    TM, TC = _eltwise_tiles(y.rows, y.cols, mach, 4)
    em.begin_layer(first)
    em.emit("LOAD", (1, 0, t_addr, tr, W, W))
    for m0 in range(0, y.rows, TM):
        tm = min(TM, y.rows - m0)
        for c0 in range(0, y.cols, TC):
            tc = min(TC, y.cols - c0)
            s = (em.t % 2) * TM
            em.begin_step()
            em.load("LOAD", (0, s, x.addr + m0 * x.cols + c0, tm, tc, x.cols))
            o = 2 * TM + (em.j % 2) * TM
            em.compute("VLUT", (s, o, tm, tc, 0), step=True, out_first=True, out_last=True)
            em.end_step()
            em.store((o, y.addr + m0 * y.cols + c0, tm, tc, y.cols))
    em.end_layer()
    return {"TM": TM, "TC": TC}


def _two_input_tiles(em, a: Buffer, b: Buffer, y: Buffer, TM: int, TC: int, opcode: str) -> None:
    """y = opcode(a, b) tile by tile: two LOADs into a double-buffered scratchpad pair, one
    compute into an alternating output slot, one STORE (the element-wise add and product)."""
    for m0 in range(0, y.rows, TM):
        tm = min(TM, y.rows - m0)
        for c0 in range(0, y.cols, TC):
            tc = min(TC, y.cols - c0)
            s = (em.t % 2) * 2 * TM
            em.begin_step()
            em.load("LOAD", (0, s, a.addr + m0 * a.cols + c0, tm, tc, a.cols))
            em.load("LOAD", (0, s + TM, b.addr + m0 * b.cols + c0, tm, tc, b.cols))
            o = 4 * TM + (em.j % 2) * TM
            em.compute(opcode, (s, s + TM, o, tm, tc), step=True, out_first=True, out_last=True)
            em.end_step()
            em.store((o, y.addr + m0 * y.cols + c0, tm, tc, y.cols))


def _mul_layer(em, mach, node, a: Buffer, b: Buffer, y: Buffer, first):
    """The requantized product of two tensors (a gated MLP), one VMULQ a tile."""
    p = node.attrs["mul"]
    TM, TC = _eltwise_tiles(y.rows, y.cols, mach, 6)
    em.begin_layer(first)
    _regs(em, {"MUL_ZA": p["za"], "MUL_ZB": p["zb"], "MUL_M": p["m0"], "MUL_SH": p["shift"],
               "QZP": p["zy"], "QLO": p["lo"], "QHI": p["hi"]})
    _two_input_tiles(em, a, b, y, TM, TC, "VMULQ")
    em.end_layer()
    return {"TM": TM, "TC": TC}


def _cat_views(em, g, batch) -> dict:
    """Buffers of every ``cat`` and, for its inputs, views of their columns in it."""
    views = {}
    for n in g.nodes:
        if n.op != "cat":
            continue
        out = _buffer_for(em, (batch,) + tuple(n.shape[1:]))
        views[n.name] = out
        off = 0
        for i in n.inputs:
            src = g.node(i) if i not in g.inputs else None
            if src is None or src.op != "qsdpa" or len(g.users(i)) != 1 or i in views:
                raise ValueError(f"unsupported op cat at node {n.name!r} (of {i!r}: only "
                                 f"attention heads read by nothing else are joined)")
            w = src.shape[1]
            views[i] = Buffer(out.addr + off, out.rows, w, stride=out.cols)
            off += w
    return views


def _weights(node, x: Buffer):
    """Per group: (B[K, Ng] int8 in the DRAM column order, bias' int32, m0, shift)."""
    out = []
    for layer in node.attrs["layers"]:
        w = layer.weight.astype(np.int64)
        if node.op == "qconv2d":
            B = w.transpose(2, 3, 1, 0).reshape(-1, w.shape[0])  # (r, s, c) x k
        else:
            if x.chw is not None:  # features in (h, w, c) order: permute the columns to match
                C, H, W_ = x.chw
                w = w.reshape(w.shape[0], C, H, W_).transpose(0, 2, 3, 1).reshape(w.shape[0], -1)
            B = w.T
        bias = _wrap32(layer.bias.astype(np.int64) - layer.x_zero_point * B.sum(axis=0))
        out.append((B, bias, layer.multiplier.astype(np.int64), layer.shift.astype(np.int64)))
    return out


def _reshape(x: Buffer, shape, name) -> Buffer:
    if len(shape) == 2:
        if x.nhwc is None:
            return Buffer(x.addr, x.rows, x.cols, None, x.chw)
        N, H, W_, C = x.nhwc
        chw = (C, H, W_) if (C > 1 and H * W_ > 1) else None
        return Buffer(x.addr, N, H * W_ * C, None, chw)
    if len(shape) == 4:
        N, C, H, W_ = shape
        if x.nhwc is not None and x.nhwc == (N, H, W_, C):
            return x
        if x.nhwc is None and (x.chw == (C, H, W_) or C == 1 or H * W_ == 1):
            return Buffer(x.addr, N * H * W_, C, (N, H, W_, C))
    raise ValueError(f"unsupported op reshape to {list(shape)} at node {name!r} (would move data)")


def _buffer_for(em, shape) -> Buffer:
    if len(shape) == 4:
        N, C, H, W_ = shape
        return Buffer(em.alloc(N * H * W_ * C), N * H * W_, C, (N, H, W_, C))
    if len(shape) == 2:
        return Buffer(em.alloc(shape[0] * shape[1]), shape[0], shape[1])
    raise ValueError(f"lower: values must be 2-D or 4-D; got shape {list(shape)}")


def lower(qgraph, mach: Machine, batch: int = 1) -> Lowered:
    """Lower a :class:`~npulab.compiler.quantize.QuantizedGraph` for ``batch`` inputs.

    Returns
    -------
    Lowered
    """
    g = qgraph.graph
    em = _Emitter()
    inp = next(iter(g.inputs))
    bufs = {inp: _buffer_for(em, (batch,) + tuple(g.inputs[inp][1:]))}
    layers, first = [], True
    views = _cat_views(em, g, batch)
    for n in g.nodes:
        shape = (batch,) + tuple(n.shape[1:])
        x = bufs[n.inputs[0]]
        if n.op == "reshape":
            bufs[n.name] = _reshape(x, shape, n.name)
            continue
        if n.op == "slice":
            a0, a1 = n.attrs["start"], n.attrs["stop"]
            bufs[n.name] = Buffer(x.addr + a0, x.rows, a1 - a0, stride=x.pitch)
            continue
        if n.op == "cat":
            bufs[n.name] = views[n.name]
            continue
        if n.op != "qsdpa":
            strided = [i for i in n.inputs if bufs[i].pitch != bufs[i].cols]
            if strided:
                raise ValueError(f"unsupported op {n.op} of the slice {strided[0]!r} at node "
                                 f"{n.name!r} (only attention reads slices)")
        y = bufs[n.name] = views[n.name] if n.name in views else _buffer_for(em, shape)
        if n.op in ("qrmsnorm", "qsdpa", "qlut", "qmul"):
            if n.op == "qrmsnorm":
                info = _rmsnorm_layer(em, mach, n, x, y, first)
            elif n.op == "qsdpa":
                info = _sdpa_layer(em, mach, n, x, bufs[n.inputs[1]], bufs[n.inputs[2]], y, first)
            elif n.op == "qlut":
                info = _lut_layer(em, mach, n, x, y, first)
            else:
                info = _mul_layer(em, mach, n, x, bufs[n.inputs[1]], y, first)
            layers.append({"name": n.name, "op": n.op, **info})
            first = False
            continue
        if n.op in ("qadd", "qclamp", "qmaxpool") and y.nhwc is None:
            y.chw = x.chw  # elementwise: the columns keep their (h, w, c) order
        depthwise = (n.op == "qconv2d" and n.attrs["groups"] == x.cols == y.cols
                     and n.attrs["groups"] > 1)
        if depthwise:
            info = _depthwise_layer(em, mach, n, x, y, first)
        elif n.op in ("qlinear", "qconv2d"):
            info = _gemm_layer(em, mach, n, x, y, _weights(n, x), first)
        elif n.op == "qadd":
            b = bufs[n.inputs[1]]
            if (x.rows, x.cols) != (b.rows, b.cols) or x.chw != b.chw:
                raise ValueError(
                    f"unsupported op add of differently laid out values at node {n.name!r}"
                )
            info = _add_layer(em, mach, n, x, b, y, first)
        elif n.op == "qmaxpool":
            info = _maxpool_layer(em, mach, n, x, y, first)
        elif n.op == "qclamp":
            info = _clamp_layer(em, mach, n, x, y, first)
        else:
            raise ValueError(f"lower: unsupported op {n.op!r} at node {n.name!r}")
        layers.append({"name": n.name, "op": n.op, **info})
        first = False
    em.layer = -1
    em.emit("NOP", (), POP_NEXT)  # consume the last barrier token: every token queue ends empty
    dram = np.zeros(em.dram_top, np.int32)
    for addr, arr in em.consts:
        dram[addr : addr + len(arr)] = arr
    return Lowered(em.prog, np.asarray(em.layer_of), layers, dram, bufs, mach, batch, g.outputs[0],
                   table=em.table())
