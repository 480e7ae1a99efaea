"""Assembler and disassembler: one instruction per line, ``OP key=value ... !flag``.

A line is the opcode, its fields as ``key=value`` in any order (enumerated fields by name:
``mem=spad``, ``df=ws``, ``reg=QZP``), then the dependency flags it sets, each as
``!pop_prev``, ``!pop_next``, ``!push_prev``, ``!push_next``.  ``#`` starts a comment.
:func:`assemble` and :func:`disassemble` round-trip: ``assemble(disassemble(p)) == p``.

Examples
--------
>>> text = "MATMUL a=0 b=64 c=0 m=8 k=64 n=16 acc=1 df=ws !pop_prev  # one tile"
>>> prog = assemble(text)
>>> disassemble(prog)
'MATMUL a=0 b=64 c=0 m=8 k=64 n=16 acc=1 df=ws !pop_prev'
"""

from __future__ import annotations

from npulab.compiler.isa import DEP_FLAGS, FIELDS, SYMBOLS, Instr

__all__ = ["assemble", "disassemble", "format_instr", "parse_instr"]


def format_instr(ins: Instr) -> str:
    """One line of assembly for ``ins`` (``str(ins)``)."""
    return str(ins)


def parse_instr(line: str, lineno: int = 1) -> Instr:
    """Parse one line (no comment) into an :class:`Instr`; one-line ``ValueError`` on bad input."""
    toks = line.split()
    op = toks[0].upper()
    if op not in FIELDS:
        raise ValueError(f"asm line {lineno}: unknown opcode {toks[0]!r}")
    want = [f for f, _ in FIELDS[op]]
    vals, deps = {}, 0
    for t in toks[1:]:
        if t.startswith("!"):
            if t[1:] not in DEP_FLAGS:
                raise ValueError(
                    f"asm line {lineno}: unknown flag {t!r} (one of {list(DEP_FLAGS)})"
                )
            deps |= 1 << DEP_FLAGS.index(t[1:])
            continue
        key, eq, v = t.partition("=")
        if not eq or key not in want:
            raise ValueError(f"asm line {lineno}: {op} has no field {key!r} (fields: {want})")
        sym = SYMBOLS.get(key)
        if sym and v in sym:
            vals[key] = sym.index(v)
        else:
            try:
                vals[key] = int(v, 0)
            except ValueError:
                raise ValueError(f"asm line {lineno}: {key}={v!r} is not an integer") from None
    missing = [f for f in want if f not in vals]
    if missing:
        raise ValueError(f"asm line {lineno}: {op} is missing field {missing[0]!r}")
    return Instr(op, tuple(vals[f] for f in want), deps)


def assemble(text: str) -> list:
    """The instructions of assembly ``text`` (blank lines and ``#`` comments ignored)."""
    prog = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if line:
            prog.append(parse_instr(line, n))
    return prog


def disassemble(program) -> str:
    """Assembly text of a list of instructions, one per line."""
    return "\n".join(format_instr(i) for i in program)
