"""The ISA's binary encoding and the assembler round-trip; bad input is one line."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from npulab.compiler.asm import assemble, disassemble
from npulab.compiler.isa import (
    FIELDS,
    INSTR_BYTES,
    OPCODES,
    REGISTERS,
    Instr,
    decode,
    encode,
    queue_of,
)


@st.composite
def instructions(draw):
    op = draw(st.sampled_from(sorted(FIELDS)))
    args = []
    for name, bits in FIELDS[op]:
        if name == "value":
            args.append(draw(st.integers(-(2**31), 2**31 - 1)))
        elif name == "reg":
            args.append(draw(st.integers(0, len(REGISTERS) - 1)))
        else:
            args.append(draw(st.integers(0, (1 << bits) - 1)))
    return Instr(op, tuple(args), draw(st.integers(0, 15)))


@given(st.lists(instructions(), max_size=30))
def test_binary_and_assembly_round_trip(prog):
    blob = encode(prog)
    assert len(blob) == INSTR_BYTES * len(prog)
    assert decode(blob) == prog
    assert assemble(disassemble(prog)) == prog
    assert encode(assemble(disassemble(prog))) == blob


def test_assembly_reads_symbols_comments_and_flags():
    prog = assemble("""
        # a comment line
        SETREG reg=QZP value=-5
        LOAD mem=acc sp=3 dram=100 rows=2 cols=4 stride=0 !pop_prev   # bias
        MATMUL k=8 a=0 b=8 c=0 m=4 n=4 acc=1 df=os !pop_prev !push_prev
    """)
    assert [i.op for i in prog] == ["SETREG", "LOAD", "MATMUL"]
    assert prog[0].args == (12, -5)
    assert prog[1].field("mem") == 1 and prog[1].deps == 1
    assert prog[2].field("df") == 1 and prog[2].deps == 1 | 4
    assert [queue_of(i) for i in prog] == ["compute", "compute", "compute"]


def test_queues_follow_the_memory_and_register():
    assert queue_of(Instr("LOAD", (0, 0, 0, 1, 1, 1))) == "load"
    assert queue_of(Instr("SETREG", (0, 3))) == "load"  # I2C_H belongs to the load unit
    assert queue_of(Instr("STORE", (0, 0, 1, 1, 1))) == "store"
    assert queue_of(Instr("LOADT", (0, 0, 1, 1, 1))) == "load"  # K^T of attention
    for op in ("VNORM", "VSOFTMAX", "VLUT", "VMULQ"):
        n = len(FIELDS[op])
        assert queue_of(Instr(op, (1,) * n)) == "compute"


def test_transformer_instructions_assemble_with_their_registers():
    prog = assemble("""
        SETREG reg=SM_LN2 value=2310
        VSOFTMAX acc=0 sp=40 rows=16 cols=16 causal=1 offset=0 !push_next
        VNORM a=0 b=48 c=0 rows=16 cols=576 pitch=16
    """)
    assert prog[0].args == (REGISTERS.index("SM_LN2"), 2310)
    assert prog[1].field("causal") == 1 and decode(encode(prog)) == prog


@pytest.mark.parametrize(
    "text, message",
    [
        ("FOO a=1", "unknown opcode 'FOO'"),
        ("NOP !pop_later", "unknown flag '!pop_later'"),
        ("CLAMP src=0 dst=1 rows=2", "missing field 'cols'"),
        ("CLAMP src=0 dst=1 rows=2 cols=x", "cols='x' is not an integer"),
        ("CLAMP src=0 dst=1 rows=2 cols=3 k=4", "has no field 'k'"),
    ],
)
def test_bad_assembly_is_one_line_naming_the_problem(text, message):
    with pytest.raises(ValueError, match="asm line 1") as err:
        assemble(text)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_encode_rejects_a_field_that_does_not_fit():
    with pytest.raises(ValueError, match=r"instruction 0 CLAMP.cols=4096 does not fit 12 bits"):
        encode([Instr("CLAMP", (0, 0, 1, 4096))])


def test_decode_rejects_bad_images():
    with pytest.raises(ValueError, match="not a multiple of 16"):
        decode(b"\x00" * 17)
    # the transformer instructions fill the 4-bit opcode space: every code decodes
    assert [decode(bytes([code]) + b"\x00" * 15)[0].op for code in range(16)] == list(OPCODES)


def test_the_isa_page_example_is_what_the_compiler_emits():
    import re
    from pathlib import Path

    from npulab.compiler import compile_model
    from npulab.compiler.models import bundled

    page = (Path(__file__).resolve().parents[2] / "docs" / "isa.md").read_text(encoding="utf-8")
    block = re.search(r"The first layer of .*?```text\n(.*?)```", page, re.S).group(1)
    example = assemble(block)
    model, example_inputs = bundled("digits-mlp")
    prog = compile_model(model, example_inputs)
    assert prog.instructions[: len(example)] == example
