"""``npulab map``: text and JSON output, one-line errors."""
from __future__ import annotations

import json

from npulab.cli import main


def test_map_gemm_json(capsys):
    assert main(["map", "--gemm", "16", "16", "16", "--preset", "tpu", "--rows", "4", "--cols", "4",
                 "--dataflow", "ws", "--samples", "2000", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["problem"] == {"M": 16, "N": 16, "K": 16} and out["dataflow"] == "ws"
    assert out["best"]["energy_pJ"] > 0 and "MAC" in out["best"]["loop_nest"]
    assert out["pareto"] and out["valid"] <= out["evaluated"]


def test_map_text_on_bundled_layer(capsys):
    assert main(["map", "--layer", "layer1.0.conv1", "--dataflow", "rs", "--samples", "3000",
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "layer1.0.conv1" in out and "Pareto front" in out and "par-for" in out


def test_map_errors_are_one_line(capsys):
    assert main(["map", "--layer", "nope", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["npulab map: error: --layer 'nope' is not a layer name or index of the topology (21 layers)"]
    assert main(["map", "--gemm", "4", "4", "4", "--rows", "4", "--no-progress"]) == 2
    assert "apply to --preset tpu only" in capsys.readouterr().err
    assert main(["map", "--gemm", "4", "4", "4", "--preset", "tpu", "--rows", "0", "--no-progress"]) == 2
    assert "Architecture.rows must be an int >= 1; got 0" in capsys.readouterr().err
