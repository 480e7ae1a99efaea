"""Scorecard: memory-bound rule, CLI = API, outputs, Report compatibility."""
import csv
import io
import json

import pytest

from npulab.cli import main
from npulab.perf import ENERGY_GROUPS, Report, Roofline
from npulab.perf.presets import load_preset
from npulab.perf.scorecard import COLUMNS, Scorecard, run_scorecard
from npulab.perf.scoring import score
from npulab.workloads.llm import from_config


@pytest.mark.parametrize("hw, model", [("pim-isaac", "engine"), ("loihi-like", "engine"),
                                       ("tpuv1-like", "roofline"), ("edge-npu-int8", "roofline")])
def test_decode_batch1_tokens_per_s_is_bandwidth_over_bytes_per_token(hw, model):
    """LLM decode at batch 1 is memory-bound: tokens/s = bandwidth / (weights + KV bytes)."""
    preset = load_preset(hw)
    llm = from_config("llama-3.2-1b")
    phase = llm.decode(1024, 1, weight_format=preset.precision, kv_format=preset.precision)
    r = score(phase, preset, model=model)
    assert r.bound == "memory"
    bytes_per_token = phase.weight_bytes + phase.kv_read_bytes + phase.kv_write_bytes
    assert r.inferences_per_s == pytest.approx(preset.dram_bytes_per_s / bytes_per_token, rel=0.01)
    assert r.unit == "token" and r.phase == "decode"


def test_memory_floor_never_beaten():
    for hw in ("tpuv1-like", "edge-npu-int8", "pim-isaac", "loihi-like"):
        for r in score("llama-3.2-1b", hw, seq_len=256):
            assert r.latency_s >= r.bytes_moved / r.dram_bytes_per_s * (1 - 1e-12)
            dram_pJ = load_preset(hw).energy.dram_pJ_per_byte
            assert r.energy_breakdown_pJ["dram"] >= r.bytes_moved * dram_pJ * (1 - 1e-12)


def test_roofline_model_is_max_of_compute_and_memory():
    p = load_preset("tpuv1-like")
    r = score("resnet18", p, model="roofline")
    roof = Roofline(p.peak_ops_per_s, p.dram_bytes_per_s)
    assert r.latency_s == pytest.approx(roof.time_s(r.ops, r.bytes_moved))


def test_batching_raises_decode_throughput():
    one = score("llama-3.2-1b", "tpuv1-like", phase="decode", batch=1, seq_len=512)
    many = score("llama-3.2-1b", "tpuv1-like", phase="decode", batch=16, seq_len=512)
    assert many.inferences_per_s > 8 * one.inferences_per_s


def test_cli_and_python_api_give_identical_numbers(capsys):
    args = ["scorecard", "--workload", "llama-3.2-1b", "--hw", "tpuv1-like", "pim-isaac",
            "--phase", "decode", "--seq-len", "512", "--json"]
    assert main(args) == 0
    cli = json.loads(capsys.readouterr().out)
    api = json.loads(run_scorecard(["llama-3.2-1b"], ["tpuv1-like", "pim-isaac"], phases=["decode"],
                                   seq_len=512).to_json())
    assert cli == api
    assert [r["hardware"] for r in cli["results"]] == ["tpuv1-like", "pim-isaac"]


def test_default_json_covers_three_engines(capsys):
    assert main(["scorecard", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    engines = {r["engine"] for r in doc["results"]}
    assert {"systolic", "pim", "snn"} <= engines
    for r in doc["results"]:
        assert r["latency_s"] > 0 and r["energy_j"] > 0 and r["tops_per_w"] > 0


def test_cli_bad_workload_exits_2_one_line(capsys):
    assert main(["scorecard", "--workload", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("npulab scorecard: error:") and err.count("\n") == 1


def test_outputs_csv_html_plot(tmp_path, capsys):
    csv_f, html_f, png = tmp_path / "s.csv", tmp_path / "s.html", tmp_path / "s.png"
    assert main(["scorecard", "--workload", "resnet18", "--hw", "edge-npu-int8", "tpuv1-like",
                 "--csv", str(csv_f), "--html", str(html_f), "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "resnet18" in out and "tpuv1-like" in out
    rows = list(csv.DictReader(io.StringIO(csv_f.read_text())))
    assert len(rows) == 2 and tuple(rows[0]) == COLUMNS
    assert "<table>" in html_f.read_text()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_energy_groups_sum_to_total():
    named = {key for keys in ENERGY_GROUPS.values() for key in keys}
    for r in run_scorecard(["mobilenetv2"]).reports:
        # every key an engine reports belongs to a named group (none lands in "other") ...
        assert set(r.energy_breakdown_pJ) <= named, (r.hardware, sorted(r.energy_breakdown_pJ))
        # ... so the named groups alone add up to the total
        assert sum(r.energy_groups_pJ[g] for g in ENERGY_GROUPS) == pytest.approx(r.energy_pJ)
    pim = score("mobilenetv2", "pim-isaac")
    assert pim.energy_groups_pJ["converters"] > 0
    snn = score("mobilenetv2", "loihi-like")
    assert snn.energy_groups_pJ["spikes"] > 0 and snn.details["engine_macs"] != snn.macs


def test_same_workload_macs_on_every_engine():
    macs = {score("resnet18", hw).macs for hw in ("tpuv1-like", "pim-isaac", "loihi-like")}
    assert len(macs) == 1


def test_missing_engine_is_skipped_with_reason(monkeypatch):
    from npulab.perf.engines import ENGINES

    monkeypatch.delitem(ENGINES, "snn")  # an engine that is not registered (not installed)
    card = run_scorecard(["resnet18"], ["tpuv1-like", "pim-isaac", "loihi-like"])
    assert {r.engine for r in card.reports} == {"systolic", "pim"}
    assert card.skipped and "no engine registered" in card.skipped[0]["reason"]
    assert "skipped loihi-like" in card.table()


def test_report_keeps_foundation_api_and_validity():
    r = Report(name="fc", engine="demo", macs=1_000_000, latency_s=1e-3,
               energy_breakdown_pJ={"mac": 3e5, "sram": 7e5}, accuracy=0.97, accuracy_target=0.98)
    assert r.energy_pJ == 1e6 and r.tops_per_w == 2.0 and r.valid is False
    assert r.energy_groups_pJ["compute"] == 3e5 and r.energy_groups_pJ["on-chip memory"] == 7e5
    d = r.to_dict()
    assert d["valid"] is False and d["bound"] is None and d["hardware"] == ""
    with pytest.raises(ValueError, match="bytes_moved"):
        Report(name="x", engine="y", macs=1, latency_s=1, bytes_moved=-1)


def test_scorecard_table_and_validity_marks():
    ok = Report(name="a", engine="e", macs=10, latency_s=1, energy_breakdown_pJ={"compute": 1.0},
                accuracy=0.99, accuracy_target=0.98)
    bad = Report(name="b", engine="e", macs=10, latency_s=1, energy_breakdown_pJ={"compute": 1.0},
                 accuracy=0.5, accuracy_target=0.98)
    text = Scorecard([ok, bad]).table()
    assert "INVALID" in text and " ok" in text
    with pytest.raises(ValueError, match="Report"):
        Scorecard(["not a report"])


def test_roofline_plot_places_reports(tmp_path):
    p = load_preset("tpuv1-like")
    rs = score("llama-3.2-1b", p, seq_len=256)
    ax = p.roofline.plot(rs + [("gemv", 2.0)], path=tmp_path / "r.png")
    assert (tmp_path / "r.png").exists()
    assert len(ax.lines) == 2 + 3
