"""The npulab command: text and --json, one-line errors with exit code 2 (no traceback)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from npulab import __version__
from npulab.cli import main

ROOT = Path(__file__).resolve().parent.parent


def npulab(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "npulab", *args], capture_output=True, text=True, cwd=cwd)


def test_version():
    out = npulab("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"npulab {__version__}"


def test_info_json(capsys):
    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["npulab"] == __version__
    assert info["dependencies"]["torch"].startswith("2.13.0")
    assert "topologies/resnet18.csv" in info["datasets"]


def test_info_and_scorecard_show_the_korean_datasheet_presets(capsys):
    """Issue 28 item 4: the domestic presets are first-class: listed, scored, one JSON row each."""
    assert main(["info", "--json"]) == 0
    gpu = json.loads(capsys.readouterr().out)["kinds"]["gpu"]["presets"]
    assert {"furiosa-rngd", "rebellions-atom", "deepx-dx-m1"} <= set(gpu)
    assert main(["scorecard", "--hw", "rebellions-atom", "--workload", "llama-3.2-1b",
                 "--phase", "decode", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["results"]
    assert row["hardware"] == "rebellions-atom" and row["bound"] == "memory"
    assert main(["scorecard", "--hw", "deepx-dx-m1", "--workload", "mobilenetv2", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["results"]
    assert row["hardware"] == "deepx-dx-m1" and row["latency_s"] > 0


def test_demo_json_is_the_roofline_report(capsys):
    assert main(["demo", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["layers"]) == 21
    assert doc["report"]["macs"] == 1_814_073_344
    assert doc["report"]["tops_per_w"] > 0


def test_release_cli(tmp_path, capsys):
    assert main(["release", str(ROOT / "solutions"), str(tmp_path / "labs"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["released"]


@pytest.mark.parametrize("args, message", [
    (["release", "no-such-dir", "out"], "npulab release: error: release source not found: no-such-dir"),
    (["demo", "--topology", "missing.csv"], "npulab demo: error: topology file not found: missing.csv"),
    (["demo", "--rows", "0"], "npulab demo: error: ArrayConfig.rows must be an int >= 1; got 0"),
    (["check", "nope.ipynb"],
     "npulab check: error: notebook not found: nope.ipynb (save it first, and give its file name)"),
])
def test_bad_input_is_one_line_exit_2(args, message):
    out = npulab(*args)
    assert out.returncode == 2
    assert out.stderr.strip() == message
    assert "Traceback" not in out.stderr


def test_bad_topology_row_via_cli(tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("Layer, M, N, K,\nfc, 4, -1, 8,\n")
    out = npulab("demo", "--topology", str(f))
    assert out.returncode == 2
    assert out.stderr.strip() == "npulab demo: error: bad.csv line 2: field 'N' must be a positive integer; got '-1'"


def test_unknown_subcommand_exits_2():
    out = npulab("frobnicate")
    assert out.returncode == 2 and "Traceback" not in out.stderr
