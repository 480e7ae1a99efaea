"""A transformer decoder block compiled to the NPU: bit-exact, close to float, clear errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from npulab.compiler import compile_model
from npulab.compiler.models import bundled, decoder_layer
from npulab.hw import ArrayConfig, MemoryConfig, SystolicConfig


def _x(shape, seed=0):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def _cosine(a, b):
    return float(F.cosine_similarity(a.reshape(1, -1), b.reshape(1, -1)))


SMALL = {"hidden": 40, "heads": 4, "kv_heads": 2, "head_dim": 8, "intermediate": 56}


def _tiny(rows, cols, dataflow):
    return SystolicConfig(ArrayConfig(rows, cols, dataflow), MemoryConfig(2, 2, 2, 4e9))


@pytest.mark.parametrize("hw, tokens", [
    ("tpuv1-like", 7),
    ("edge-npu-int8", 7),
    (_tiny(8, 8, "ws"), 7),
    (_tiny(8, 16, "os"), 5),
    (_tiny(4, 8, "ws"), 4),  # head size 8 > 4 array rows: Q K^T in two k-chunks
])
def test_a_small_decoder_layer_runs_bit_exact(hw, tokens):
    model = decoder_layer(**SMALL, seed=3)
    x = _x((tokens, SMALL["hidden"]), 1)
    prog = compile_model(model, (x,), hw=hw)
    y, r = prog.run(x), prog.reference(x)
    assert torch.equal(y, r)
    with torch.no_grad():
        f = model(x)
    assert _cosine(y, f) > 0.98
    ops = prog.lowered(tokens).program
    assert {i.op for i in ops} >= {"VNORM", "VSOFTMAX", "LOADT", "VLUT", "VMULQ", "MATMUL"}


def test_smollm_layer_runs_bit_exact_and_close_to_float():
    model, (x,) = bundled("smollm-135m-layer")
    assert tuple(x.shape) == (16, 576)
    prog = compile_model(model, (x,), hw="tpuv1-like")
    y, r = prog.run(x), prog.reference(x)
    assert torch.equal(y, r)
    with torch.no_grad():
        f = model(x)
    assert _cosine(y, f) > 0.99
    ops = {n.op for n in prog.qgraph.graph.nodes}
    assert ops >= {"qrmsnorm", "qsdpa", "qlut", "qmul", "qadd", "qlinear", "cat", "slice"}
    assert sum(n.op == "qsdpa" for n in prog.qgraph.graph.nodes) == 9


class Softmax(nn.Module):
    def forward(self, x):
        return torch.softmax(x, dim=-1)


class RowSlice(nn.Module):
    def forward(self, x):
        return x[1:3]


class SliceAdd(nn.Module):
    def forward(self, x):
        return x[:, :2] + x[:, 2:]


@pytest.mark.parametrize("module, message", [
    (Softmax(), "unsupported op softmax at node 'softmax'"),
    (RowSlice(), "unsupported op getitem"),
    (SliceAdd(), "unsupported op qadd of the slice"),
])
def test_unsupported_transformer_ops_are_one_line(module, message):
    with pytest.raises(ValueError) as err:
        compile_model(module, (_x((4, 4)),))
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_a_sequence_longer_than_the_array_is_one_line():
    model = decoder_layer(**SMALL, seed=0)
    prog = compile_model(model, (_x((6, SMALL["hidden"])),), hw=_tiny(8, 8, "ws"))
    with pytest.raises(ValueError, match=r"^unsupported op sdpa with 9 tokens") as err:
        prog.lowered(9)
    assert "\n" not in str(err.value)


def test_cli_compiles_and_runs_the_smollm_layer(capsys):
    import json

    from npulab.cli import main

    assert main(["compile", "smollm-135m-layer", "--hw", "tpuv1-like", "--run", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["run"]["bit_exact"] is True and s["run"]["inputs"] == 16 and s["batch"] == 16
    assert s["run"]["cosine_vs_float"] > 0.99
    assert {"VNORM", "VSOFTMAX", "LOADT", "VLUT", "VMULQ"} <= set(s["opcodes"])


@settings(max_examples=6, deadline=None)
@given(st.integers(1, 3), st.integers(1, 2), st.sampled_from([4, 6, 8]), st.integers(1, 8),
       st.sampled_from(["ws", "os"]), st.integers(0, 2**16))
def test_random_decoder_layers_run_bit_exact(kv, group, head_dim, tokens, dataflow, seed):
    heads = kv * group
    hidden = heads * head_dim + 3  # a width that is no multiple of the array's row width
    model = decoder_layer(hidden, heads, kv, head_dim, 2 * hidden - 1, seed=seed)
    x = _x((tokens, hidden), seed)
    prog = compile_model(model, (x,), hw=_tiny(8, 8, dataflow))
    assert torch.equal(prog.run(x), prog.reference(x))


def test_timing_of_the_transformer_instructions_is_one_definition():
    from npulab.compiler.sim import instruction_cycles, prepare

    model = decoder_layer(**SMALL, seed=1)
    x = _x((4, SMALL["hidden"]))
    prog = compile_model(model, (x,), hw=_tiny(4, 8, "ws"))
    low = prog.lowered(4)
    lat = prepare(low.program, prog.machine)[1]
    assert lat.tolist() == [instruction_cycles(i, prog.machine) for i in low.program]
