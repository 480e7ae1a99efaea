"""The NPU's instruction set: what each instruction does, which queue runs it, its bits.

The machine (after TVM's VTA and Berkeley's Gemmini) has a DRAM, an on-chip **scratchpad**
(``SPAD``: rows of ``W`` int8 elements, ``W = max(array rows, array cols)``), an
**accumulator** (``ACC``: rows of ``W`` int32 elements), a ``rows x cols`` systolic array,
a vector ALU one row wide, and a file of configuration registers.  Instructions are issued
to three in-order queues that run concurrently: **load** (DRAM -> SPAD), **compute**
(MATMUL, ALU, DRAM -> ACC loads of bias and requantization constants) and **store**
(SPAD -> DRAM).  Queues synchronise only through **dependency tokens**, as in VTA: every
instruction has four flags, ``pop_prev``/``pop_next`` (wait for, and consume, a token from
the previous/next queue in the order load -> compute -> store) and ``push_prev``/
``push_next`` (give one when done).  The four token queues are ``l2c`` (data loaded),
``c2l`` (input buffer free), ``c2s`` (result ready) and ``s2c`` (output buffer free).

=========  ========  ==========================================================================
opcode     queue     semantics
=========  ========  ==========================================================================
NOP        compute   nothing (carries tokens: a barrier)
SETREG     load or   ``reg[r] = value``; the I2C_* registers and PADVAL belong to the load
           compute   unit, the others to the compute unit
LOAD       load /    ``mem[sp + i, j] = DRAM[dram + i*stride + j]`` for ``i < rows, j < cols``
           compute   (``mem=spad`` on the load queue, ``mem=acc`` on the compute queue;
                     ``stride=0`` broadcasts one row)
LOADI2C    load      rows ``row0..row0+rows`` and columns ``col0..col0+cols`` of the virtual
                     im2col matrix of an NHWC image at ``dram`` (geometry in the I2C_*
                     registers, columns ordered (r, s, c), out-of-image pixels = PADVAL)
STORE      store     ``DRAM[dram + i*stride + j] = SPAD[sp + i, j]``
MATMUL     compute   ``ACC[c:c+m, :n] (+)= SPAD[a:a+m, :k] @ SPAD[b:b+k, :n]`` on the array
                     (``acc=0`` overwrites); ``df`` is ``ws`` (k <= rows, n <= cols) or ``os``
                     (m <= rows, n <= cols); latency = npulab.systolic.compute_cycles
REQUANT    compute   ``SPAD[sp+i, j] = clamp(QZP + round(ACC[acc+i, j] * M_j), QLO, QHI)`` with
                     ``M_j`` = ``ACC[mult, j] * 2^-31 * 2^-ACC[shift, j]`` (gemmlowp)
ADDQ       compute   TFLite int8 add of two SPAD tiles (ADD_* registers), clamp QLO..QHI
MAX        compute   elementwise max of two SPAD tiles
CLAMP      compute   ``SPAD[dst] = clamp(SPAD[src], QLO, QHI)`` (a lone ReLU/ReLU6)
VMAC       compute   ``ACC[c+i, j] (+)= SPAD[a+i, j] * SPAD[b, j]`` on the vector ALU: one
                     weight per channel (depthwise convs, average pools)
LOADT      load      ``SPAD[sp + i, j] = DRAM[dram + j*stride + i]``: a transposed load (K^T
                     of attention)
VNORM      compute   RMSNorm of ``rows`` rows of ``cols`` int8 values, stored in chunks of
                     ``W`` columns ``pitch`` rows apart (chunk ``c`` of row ``i`` at SPAD row
                     ``a + c*pitch + i``), gains at SPAD rows ``b + c``: ACC (same layout
                     from row ``c``) = :func:`npulab.quant.int_rmsnorm` (NORM_Z, NORM_EPS)
VSOFTMAX   compute   ``SPAD[sp+i, :cols]`` = :func:`npulab.quant.int_softmax` of
                     ``ACC[acc+i, :cols]`` (I-BERT; SM_LN2, SM_B, SM_C), causal mask
                     ``j <= i + offset`` when ``causal=1``
VLUT       compute   ``SPAD[dst+i, j] = T[SPAD[src+i, j] + 128]``, ``T`` the 256 entries of
                     ACC from row ``table`` on (SiLU, GELU)
VMULQ      compute   :func:`npulab.quant.int_mul` of two SPAD tiles (MUL_* registers, QZP,
                     clamp QLO..QHI)
=========  ========  ==========================================================================

Binary encoding: every instruction is 128 bits, little-endian: opcode (4 bits), the four
dependency flags (4 bits), then the opcode's fields in the order of :data:`FIELDS`, each an
unsigned integer of the listed width (SETREG's value is 32-bit two's complement).

References
----------
T. Moreau et al., "A Hardware-Software Blueprint for Flexible Deep Learning
Specialization" (VTA), IEEE Micro 2019; H. Genc et al., "Gemmini: Enabling Systematic
Deep-Learning Architecture Evaluation via Full-Stack Integration", DAC 2021.
"""

from __future__ import annotations

__all__ = [
    "OPCODES",
    "FIELDS",
    "REGISTERS",
    "LOAD_REGS",
    "Instr",
    "encode",
    "decode",
    "queue_of",
    "INSTR_BYTES",
    "QUEUES",
    "DEP_FLAGS",
]

#: Opcode numbers.
OPCODES = {
    "NOP": 0,
    "SETREG": 1,
    "LOAD": 2,
    "LOADI2C": 3,
    "STORE": 4,
    "MATMUL": 5,
    "REQUANT": 6,
    "ADDQ": 7,
    "MAX": 8,
    "CLAMP": 9,
    "VMAC": 10,
    "LOADT": 11,
    "VNORM": 12,
    "VSOFTMAX": 13,
    "VLUT": 14,
    "VMULQ": 15,
}
_NAMES = {v: k for k, v in OPCODES.items()}

#: Fields of each opcode: (name, bits).  Widths bound addresses and sizes (checked on encode).
FIELDS = {
    "NOP": (),
    "SETREG": (("reg", 8), ("value", 32)),
    "LOAD": (("mem", 1), ("sp", 20), ("dram", 32), ("rows", 20), ("cols", 12), ("stride", 24)),
    "LOADI2C": (("sp", 20), ("dram", 32), ("row0", 20), ("col0", 14), ("rows", 20), ("cols", 12)),
    "STORE": (("sp", 20), ("dram", 32), ("rows", 20), ("cols", 12), ("stride", 24)),
    "MATMUL": (
        ("a", 20),
        ("b", 20),
        ("c", 20),
        ("m", 20),
        ("k", 12),
        ("n", 12),
        ("acc", 1),
        ("df", 1),
    ),
    "REQUANT": (("acc", 20), ("sp", 20), ("rows", 20), ("cols", 12), ("mult", 20), ("shift", 20)),
    "ADDQ": (("a", 20), ("b", 20), ("dst", 20), ("rows", 20), ("cols", 12)),
    "MAX": (("a", 20), ("b", 20), ("dst", 20), ("rows", 20), ("cols", 12)),
    "CLAMP": (("src", 20), ("dst", 20), ("rows", 20), ("cols", 12)),
    "VMAC": (("a", 20), ("b", 20), ("c", 20), ("rows", 20), ("cols", 12), ("acc", 1)),
    "LOADT": (("sp", 20), ("dram", 32), ("rows", 20), ("cols", 12), ("stride", 24)),
    "VNORM": (("a", 20), ("b", 20), ("c", 20), ("rows", 20), ("cols", 12), ("pitch", 20)),
    "VSOFTMAX": (("acc", 20), ("sp", 20), ("rows", 20), ("cols", 12), ("causal", 1),
                 ("offset", 20)),
    "VLUT": (("src", 20), ("dst", 20), ("rows", 20), ("cols", 12), ("table", 20)),
    "VMULQ": (("a", 20), ("b", 20), ("dst", 20), ("rows", 20), ("cols", 12)),
}

#: Configuration registers by number.
REGISTERS = (
    "I2C_H",
    "I2C_W",
    "I2C_C",
    "I2C_CG",
    "I2C_COFF",
    "I2C_R",
    "I2C_S",
    "I2C_STRIDE",
    "I2C_PAD",
    "I2C_E",
    "I2C_F",
    "PADVAL",
    "QZP",
    "QLO",
    "QHI",
    "ADD_ZA",
    "ADD_ZB",
    "ADD_MA",
    "ADD_SHA",
    "ADD_MB",
    "ADD_SHB",
    "ADD_MY",
    "ADD_SHY",
    "NORM_Z",
    "NORM_EPS",
    "SM_LN2",
    "SM_B",
    "SM_C",
    "MUL_ZA",
    "MUL_ZB",
    "MUL_M",
    "MUL_SH",
)
#: Registers read by the load unit (SETREG of them runs on the load queue).
LOAD_REGS = frozenset(range(REGISTERS.index("PADVAL") + 1))
#: Symbolic values of enumerated fields.
SYMBOLS = {"mem": ("spad", "acc"), "df": ("ws", "os"), "reg": REGISTERS}

QUEUES = ("load", "compute", "store")
#: Dependency flags, bit 0 first.
DEP_FLAGS = ("pop_prev", "pop_next", "push_prev", "push_next")
INSTR_BYTES = 16


class Instr:
    """One instruction: opcode name, field values (ints, in :data:`FIELDS` order), dep flags.

    Parameters
    ----------
    op : str
        A key of :data:`OPCODES`.
    args : tuple of int
        Field values in :data:`FIELDS` order.
    deps : int, default 0
        Bit mask of :data:`DEP_FLAGS` (1 = pop_prev, 2 = pop_next, 4 = push_prev, 8 = push_next).

    Examples
    --------
    >>> i = Instr("MATMUL", (0, 64, 0, 32, 64, 16, 1, 0), deps=1)
    >>> i.field("k"), i.queue, decode(encode([i]))[0] == i
    (64, 'compute', True)
    """

    __slots__ = ("op", "args", "deps")

    def __init__(self, op: str, args=(), deps: int = 0):
        if op not in OPCODES:
            raise ValueError(f"Instr.op must be one of {list(OPCODES)}; got {op!r}")
        if len(args) != len(FIELDS[op]):
            raise ValueError(
                f"Instr {op} takes {len(FIELDS[op])} fields "
                f"{[f for f, _ in FIELDS[op]]}; got {len(args)}"
            )
        if not isinstance(deps, int) or not 0 <= deps < 16:
            raise ValueError(f"Instr.deps must be an int in 0..15; got {deps!r}")
        self.op, self.args, self.deps = op, tuple(int(a) for a in args), deps

    def field(self, name: str) -> int:
        """The value of field ``name`` (one of :data:`FIELDS` of this opcode)."""
        for (f, _), v in zip(FIELDS[self.op], self.args, strict=True):
            if f == name:
                return v
        raise ValueError(f"{self.op} has no field {name!r}")

    @property
    def queue(self) -> str:
        """The queue that runs this instruction (:func:`queue_of`)."""
        return queue_of(self)

    def __eq__(self, other):
        return isinstance(other, Instr) and (self.op, self.args, self.deps) == (
            other.op,
            other.args,
            other.deps,
        )

    def __hash__(self):
        return hash((self.op, self.args, self.deps))

    def __str__(self):
        """One line of assembly (:mod:`npulab.compiler.asm`'s syntax)."""
        parts = [self.op]
        for (name, _), v in zip(FIELDS[self.op], self.args, strict=True):
            sym = SYMBOLS.get(name)
            parts.append(f"{name}={sym[v] if sym and 0 <= v < len(sym) else v}")
        parts += [f"!{f}" for b, f in enumerate(DEP_FLAGS) if self.deps >> b & 1]
        return " ".join(parts)

    def __repr__(self):
        return f"Instr({str(self)!r})"


def queue_of(instr: Instr) -> str:
    """The queue that executes ``instr`` (``"load"``, ``"compute"`` or ``"store"``)."""
    op = instr.op
    if op in ("LOADI2C", "LOADT") or (op == "LOAD" and instr.args[0] == 0):
        return "load"
    if op == "SETREG":
        return "load" if instr.args[0] in LOAD_REGS else "compute"
    if op == "STORE":
        return "store"
    return "compute"


def encode(program) -> bytes:
    """The binary image of a list of :class:`Instr` (16 bytes each, little-endian).

    Raises a one-line ``ValueError`` naming the instruction and field that does not fit.
    """
    out = bytearray()
    for idx, ins in enumerate(program):
        word, pos = OPCODES[ins.op] | (ins.deps << 4), 8
        for (name, bits), v in zip(FIELDS[ins.op], ins.args, strict=True):
            if name == "value":
                if not -(2**31) <= v < 2**31:
                    raise ValueError(
                        f"encode: instruction {idx} {ins.op}.{name}={v} is not an int32"
                    )
                v &= 0xFFFFFFFF
            elif not 0 <= v < (1 << bits):
                raise ValueError(
                    f"encode: instruction {idx} {ins.op}.{name}={v} does not fit {bits} bits"
                )
            word |= v << pos
            pos += bits
        out += word.to_bytes(INSTR_BYTES, "little")
    return bytes(out)


def decode(data: bytes) -> list:
    """The instructions of a binary image (inverse of :func:`encode`)."""
    if len(data) % INSTR_BYTES:
        raise ValueError(f"decode: {len(data)} bytes is not a multiple of {INSTR_BYTES}")
    prog = []
    for off in range(0, len(data), INSTR_BYTES):
        word = int.from_bytes(data[off : off + INSTR_BYTES], "little")
        code = word & 0xF
        if code not in _NAMES:
            raise ValueError(f"decode: unknown opcode {code} at byte {off}")
        op, pos, args = _NAMES[code], 8, []
        for name, bits in FIELDS[op]:
            v = (word >> pos) & ((1 << bits) - 1)
            if name == "value" and v >= 2**31:
                v -= 2**32
            args.append(v)
            pos += bits
        prog.append(Instr(op, tuple(args), (word >> 4) & 0xF))
    return prog
