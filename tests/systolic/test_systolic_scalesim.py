"""SCALE-Sim 3.0.0 reports: every column of the 61-case fixture, live cross-checks, the CLI."""
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npulab.cli import main
from npulab.systolic.scalesim import (
    BANDWIDTH_COLUMNS,
    COMPUTE_COLUMNS,
    DETAILED_COLUMNS,
    KEYS,
    ScaleSimConfig,
    read_config,
    read_report,
    simulate_layer,
    write_config,
)
from npulab.workloads import Conv2d, Gemm
from npulab.workloads.topology import save_topology

RUN_SCALESIM = textwrap.dedent("""
    import sys
    from scalesim.scale_sim import scalesim
    s = scalesim(save_disk_space=True, verbose=False, config=sys.argv[1], topology=sys.argv[2],
                 layout=sys.argv[3], input_type_gemm=sys.argv[5] == "gemm")
    s.run_scale(top_path=sys.argv[4])
""")

REPORTS = {"COMPUTE_REPORT.csv": (COMPUTE_COLUMNS, KEYS[0:6]),
           "BANDWIDTH_REPORT.csv": (BANDWIDTH_COLUMNS, KEYS[6:12]),
           "DETAILED_ACCESS_REPORT.csv": (DETAILED_COLUMNS, KEYS[12:])}


def test_every_column_equals_scalesim_fixture(reference_dir):
    cases = json.loads((reference_dir / "scalesim_gemm.json").read_text())
    assert len(cases) == 61
    for c in cases:
        r = simulate_layer(Gemm(c["M"], c["N"], c["K"]), ScaleSimConfig("t", c["rows"], c["cols"],
                                                                     dataflow=c["dataflow"]))
        for key, want in c.items():
            if key in ("M", "N", "K", "rows", "cols", "dataflow"):
                continue
            if isinstance(want, int):
                assert r[key] == want, (c, key)
            else:   # the fixture rounds floats (6 dp, 4 dp for percentages, 2 dp for compute util)
                assert r[key] == pytest.approx(want, abs=1e-4 if key != "compute_util_pct" else 5e-3), (c, key)


def _write_inputs(tmp_path, layers, kind, rows, cols, df, kb=64, **config):
    """A SCALE-Sim config and topology file that both tools read (``kind`` is implied by the layers)."""
    cfg = write_config(ScaleSimConfig("run", rows, cols, kb, kb, kb, df, **config), tmp_path / "s.cfg")
    names = [x.name or f"{'g' if kind == 'gemm' else 'c'}{i}" for i, x in enumerate(layers)]
    from dataclasses import replace

    topo = save_topology([replace(x, name=n) for x, n in zip(layers, names)], tmp_path / "t.csv")
    return Path(cfg), topo


def test_write_config_round_trips_through_read_config(tmp_path):
    for c in (ScaleSimConfig("a", 8, 4, 1, 2, 3, "ws"),
              ScaleSimConfig("b", 2, 16, dataflow="is", bandwidth_mode="USER", bandwidth=3,
                             ifmap_sram_bank_bandwidth=5, filter_sram_bank_bandwidth=7)):
        assert read_config(write_config(c, tmp_path / f"{c.run_name}.cfg")) == c


def _scalesim_reports(tmp_path, cfg, topo, kind):
    lay = tmp_path / "layout.csv"
    lay.write_text("Layer,\n")
    script = tmp_path / "run_scalesim.py"
    script.write_text(RUN_SCALESIM)
    out = tmp_path / "scalesim_out"
    subprocess.run([sys.executable, str(script), str(cfg), str(topo), str(lay), str(out), kind],
                   check=True, capture_output=True, cwd=tmp_path)
    return out / "run"


def _compare_dirs(ours, theirs):
    for fname, (cols, _) in REPORTS.items():
        head = (ours / fname).read_text().splitlines()[0]
        assert head == (theirs / fname).read_text().splitlines()[0] == ", ".join(cols) + ","
        a, b = read_report(ours / fname), read_report(theirs / fname)
        assert len(a) == len(b)
        for ra, rb in zip(a, b):
            assert ra.keys() == rb.keys()
            for k in ra:
                assert ra[k] == pytest.approx(rb[k], rel=1e-12, abs=1e-9), (fname, k)


@settings(max_examples=4)
@given(M=st.integers(1, 40), N=st.integers(1, 40), K=st.integers(1, 40),
       rows=st.sampled_from([2, 4, 8]), cols=st.sampled_from([2, 4, 8]),
       df=st.sampled_from(["os", "ws", "is"]))
def test_live_gemm_matches_installed_scalesim(tmp_path_factory, M, N, K, rows, cols, df):
    pytest.importorskip("scalesim")
    tmp = tmp_path_factory.mktemp("gemm")
    cfg, topo = _write_inputs(tmp, [Gemm(M, N, K)], "gemm", rows, cols, df, kb=1)
    assert main(["scalesim", "-c", str(cfg), "-t", str(topo), "-i", "gemm", "-p", str(tmp / "ours")]) == 0
    _compare_dirs(tmp / "ours" / "run", _scalesim_reports(tmp, cfg, topo, "gemm"))


@settings(max_examples=3)
@given(H=st.integers(3, 12), F=st.integers(1, 3), C=st.integers(1, 4), N=st.integers(1, 6),
       S=st.integers(1, 2), df=st.sampled_from(["os", "ws", "is"]))
def test_live_conv_matches_installed_scalesim(tmp_path_factory, H, F, C, N, S, df):
    pytest.importorskip("scalesim")
    tmp = tmp_path_factory.mktemp("conv")
    cfg, topo = _write_inputs(tmp, [Conv2d(H, H + 1, F, F, C, N, stride=S)], "conv", 4, 4, df, kb=1)
    assert main(["scalesim", "-c", str(cfg), "-t", str(topo), "-p", str(tmp / "ours")]) == 0
    _compare_dirs(tmp / "ours" / "run", _scalesim_reports(tmp, cfg, topo, "conv"))


def test_cli_json_and_errors(tmp_path, capsys):
    cfg, topo = _write_inputs(tmp_path, [Gemm(20, 30, 40)], "gemm", 8, 8, "os")
    assert main(["scalesim", "-c", str(cfg), "-t", str(topo), "-i", "gemm", "-p", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["layers"][0]["compute_cycles"] == 4 * 3 * (8 + 8 + 40 - 2) - 1
    bad = tmp_path / "bad.cfg"
    bad.write_text(cfg.read_text().replace("ArrayHeight: 8", "ArrayHeight: 0"))
    assert main(["scalesim", "-c", str(bad), "-t", str(topo), "-i", "gemm", "-p", str(tmp_path)]) == 2
    assert "rows must be an int >= 1; got 0" in capsys.readouterr().err
    missing = tmp_path / "missing.cfg"
    missing.write_text(cfg.read_text().replace("Dataflow : os\n", ""))
    assert main(["scalesim", "-c", str(missing), "-t", str(topo), "-i", "gemm", "-p", str(tmp_path)]) == 2
    assert "missing required key [architecture_presets] Dataflow" in capsys.readouterr().err
    topo.write_text("Layer, M, N, K,\ng, 4, 4,\n")
    assert main(["scalesim", "-c", str(cfg), "-t", str(topo), "-i", "gemm", "-p", str(tmp_path)]) == 2
    assert "t.csv line 2: missing field 'K'" in capsys.readouterr().err


@settings(max_examples=4)
@given(M=st.integers(1, 30), N=st.integers(1, 30), K=st.integers(1, 30),
       rows=st.sampled_from([2, 4, 8]), cols=st.sampled_from([2, 4, 8]),
       df=st.sampled_from(["os", "ws", "is"]), bw=st.sampled_from([1, 2, 10]))
def test_live_user_bandwidth_mode_matches_installed_scalesim(tmp_path_factory, M, N, K, rows, cols, df, bw):
    """USER mode: a fixed DRAM bandwidth, so the array stalls; every column still equal."""
    pytest.importorskip("scalesim")
    tmp = tmp_path_factory.mktemp("user")
    cfg, topo = _write_inputs(tmp, [Gemm(M, N, K)], "gemm", rows, cols, df, kb=1,
                              bandwidth_mode="USER", bandwidth=bw)
    assert main(["scalesim", "-c", str(cfg), "-t", str(topo), "-i", "gemm", "-p", str(tmp / "ours")]) == 0
    _compare_dirs(tmp / "ours" / "run", _scalesim_reports(tmp, cfg, topo, "gemm"))


def test_user_mode_stalls_when_dram_is_slow():
    slow = simulate_layer(Gemm(32, 33, 26), ScaleSimConfig("t", 8, 8, 1, 1, 1, "os", "USER", 1, 1, 1))
    fast = simulate_layer(Gemm(32, 33, 26), ScaleSimConfig("t", 8, 8, 1, 1, 1, "os", "USER", 10, 10, 10))
    assert slow["stall_cycles"] > 0 and fast["stall_cycles"] == 0
    assert slow["compute_cycles"] == fast["compute_cycles"] + slow["stall_cycles"]


def test_live_depthwise_and_multi_layer_topology(tmp_path):
    pytest.importorskip("scalesim")
    layers = [Conv2d(6, 6, 3, 3, 2, 3, name="DPconv"), Conv2d(9, 7, 2, 2, 3, 5, stride=2, name="c1")]
    cfg, topo = _write_inputs(tmp_path, layers, "conv", 4, 2, "ws", kb=1)
    assert main(["scalesim", "-c", str(cfg), "-t", str(topo), "-p", str(tmp_path / "ours")]) == 0
    ours = tmp_path / "ours" / "run"
    assert len(read_report(ours / "COMPUTE_REPORT.csv")) == 3      # 2 depthwise channels + 1 conv
    _compare_dirs(ours, _scalesim_reports(tmp_path, cfg, topo, "conv"))
