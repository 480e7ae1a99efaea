"""Every report states its conditions (issue 27): text header, HTML, CSV/JSON columns."""
from __future__ import annotations

import csv
import io
import json

from npulab.cli import main
from npulab.perf.scorecard import CONDITION_COLUMNS, run_scorecard
from npulab.perf.sweep import _knob


def test_scorecard_text_html_csv_state_seq_len_batch_and_formats():
    sc = run_scorecard(("resnet18", "llama-3.2-1b"), hardware=["tpuv1-like"], seq_len=512, batch=8,
                       weight_format="int4")
    text = sc.table()
    assert "seq-len 512, batch 8" in text and "networks = one inference (batch 1)" in text
    assert "w int4 / a int8 / kv int8" in text and "format" in text.splitlines()[4]
    html = sc.to_html()
    assert "seq-len 512, batch 8" in html and "<th>format</th>" in html
    rows = list(csv.DictReader(io.StringIO(sc.to_csv())))
    assert set(CONDITION_COLUMNS) <= set(rows[0])
    llm = [r for r in rows if r["phase"] == "decode"][0]
    assert (llm["seq_len"], llm["batch"], llm["weights"], llm["kv_cache"]) == ("512", "8", "int4", "int8")
    net = [r for r in rows if r["workload"] == "resnet18"][0]
    assert (net["seq_len"], net["batch"], net["weights"]) == ("", "1", "int8")
    assert sc.to_dict()["conditions"][0].startswith("conditions:")


def test_phase_on_a_network_is_said_not_silently_ignored():
    sc = run_scorecard(("resnet18",), hardware=["tpuv1-like"], phases=("decode",))
    assert "--phase applies to LLM workloads only: resnet18 is scored as one inference" in sc.table()


def test_accuracy_column_only_when_some_workload_has_accuracy():
    plain = run_scorecard(("resnet18",), hardware=["tpuv1-like"]).table()
    assert "accuracy" not in plain.splitlines()[-3] and "no accuracy column" in plain
    with_acc = run_scorecard(("digits-cnn",), hardware=["tpuv1-like"]).table()
    assert "accuracy" in with_acc and "%" in with_acc.splitlines()[-1]


def test_sweep_knobs_print_as_people_write_them():
    assert _knob(25600000000.0) == "2.56e+10" and _knob(64) == "64" and _knob("int8") == "int8"
    assert _knob(0.5) == "0.5"


def test_scenario_output_states_prompt_and_output_lengths(capsys):
    rc = main(["scorecard", "--scenario", "single-stream", "--hw", "tpuv1-like", "--workload", "llama-3.2-1b",
               "--seq-len", "64", "--output-len", "4", "--requests", "2", "--model", "roofline"])
    assert rc == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("conditions: single-stream: prompts 64 tokens") and "outputs 4 tokens" in first
    rc = main(["scorecard", "--scenario", "single-stream", "--hw", "tpuv1-like", "--workload", "llama-3.2-1b",
               "--seq-len", "64", "--output-len", "4", "--requests", "2", "--model", "roofline", "--json"])
    assert json.loads(capsys.readouterr().out)["conditions"]["prompt_len"] == 64


def test_serve_rates_shows_progress(capsys):
    rc = main(["serve", "--hw", "tpuv1-like", "--workload", "llama-3.2-1b", "--rates", "0.5,1",
               "--requests", "3", "--prompt-len", "32", "--output-len", "2", "--model", "roofline",
               "--workers", "1"])
    assert rc == 0
    assert "rates" in capsys.readouterr().err                      # tqdm writes to stderr
