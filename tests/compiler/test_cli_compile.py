"""``npulab compile``: output formats, the run check, and one-line errors with exit 2."""
from __future__ import annotations

import json

import pytest

from npulab.cli import main
from npulab.compiler.asm import assemble
from npulab.compiler.isa import decode


def test_emit_asm_assembles_back_to_the_binary(tmp_path, capsys):
    assert main(["compile", "digits-mlp", "--emit", "asm"]) == 0
    text = capsys.readouterr().out
    out = tmp_path / "p.bin"
    assert main(["compile", "digits-mlp", "--emit", "bin", "-o", str(out)]) == 0
    assert decode(out.read_bytes()) == assemble(text)
    assert text.splitlines()[-1] == "NOP !pop_next"


def test_json_summary_with_run_and_trace(tmp_path, capsys):
    png = tmp_path / "trace.png"
    rc = main(["compile", "digits-cnn", "--hw", "edge-npu-int8", "--run", "--trace", str(png),
               "--json"])
    assert rc == 0
    s = json.loads(capsys.readouterr().out)
    assert s["run"]["bit_exact"] is True and s["run"]["top1_agreement_vs_float"] >= 0.99
    assert s["macs"] == sum(layer["macs"] for layer in s["layers"]) == 88064
    assert all(layer["compute_cycles"] == layer["systolic_tile_cycles"] for layer in s["layers"])
    assert png.stat().st_size > 1000


def test_emit_json_lists_instructions(capsys):
    assert main(["compile", "digits-mlp", "--emit", "json"]) == 0
    prog = json.loads(capsys.readouterr().out)
    assert prog["instructions"][0]["op"] == "SETREG"
    assert {i["queue"] for i in prog["instructions"]} == {"load", "compute", "store"}


def test_text_summary_of_a_python_file_model(tmp_path, capsys):
    f = tmp_path / "net.py"
    f.write_text("import torch\n"
                 "def model():\n    return torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3, stride=2), "
                 "torch.nn.ReLU(), torch.nn.Flatten())\n"
                 "def example_inputs():\n"
                 "    g = torch.Generator().manual_seed(0)\n"
                 "    return (torch.randn(3, 2, 9, 9, generator=g),)\n")
    assert main(["compile", str(f), "--hw", "edge-npu-int8", "--run"]) == 0
    out = capsys.readouterr().out
    assert "bit-exact vs integer reference: yes" in out and "qconv2d" in out


@pytest.mark.parametrize("argv, message", [
    (["compile", "nosuch"], "MODEL 'nosuch' is neither a bundled model"),
    (["compile", "digits-mlp", "--hw", "pim-isaac"], "is a pim preset"),
    (["compile", "digits-mlp", "--hw", "no-such-hw"], "no hardware preset or file"),
    (["compile", "resnet18", "--image-size", "2"], "--image-size must be >= 8; got 2"),
])
def test_bad_input_exits_2_with_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("npulab compile: error: ") and message in err
    assert err.count("\n") == 1


def test_unsupported_op_in_a_user_model_exits_2_naming_op_and_node(tmp_path, capsys):
    f = tmp_path / "bad.py"
    f.write_text("import torch\n"
                 "def model():\n"
                 "    return torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Tanh())\n"
                 "def example_inputs():\n    return (torch.zeros(2, 4),)\n")
    assert main(["compile", str(f)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("npulab compile: error: unsupported op Tanh at node '_1' (supported: ")
    assert err.count("\n") == 1


def test_a_python_file_without_model_exits_2(tmp_path, capsys):
    f = tmp_path / "empty.py"
    f.write_text("x = 1\n")
    assert main(["compile", str(f)]) == 2
    assert "must define a function model()" in capsys.readouterr().err
