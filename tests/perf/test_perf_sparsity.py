"""Sparsity as a workload attribute of the scorecard and the CLI (issue 30)."""
import json

import pytest

from npulab.cli import main
from npulab.perf import run_scorecard
from npulab.perf.scoring import make_jobs
from npulab.perf.sparsity import apply_sparsity, pruned_digits_accuracy

SPARSE_PRESET = """\
name: ws-sparse
engine: systolic
array: {rows: 16, cols: 16, dataflow: ws, clock_hz: 1.0e+9, precision: int8}
memory: {ifmap_sram_kb: 256, filter_sram_kb: 128, ofmap_sram_kb: 128, dram_bytes_per_s: 12.8e+9}
weight_capacity_bytes: 131072
zero_gating: true
skip_pattern: "2:4"
"""


@pytest.fixture
def preset(tmp_path):
    p = tmp_path / "ws-sparse.yaml"
    p.write_text(SPARSE_PRESET)
    return str(p)


def test_apply_sparsity_sets_layer_attributes_and_compresses_weights():
    job = make_jobs("resnet18")[0]
    s = apply_sparsity(job, weight_sparsity="2:4", act_density=0.5)
    assert s.name == "resnet18 [w 2:4, a 0.5]"
    assert all(layer.weight_sparsity == "2:4" and layer.act_density == 0.5 for layer, _ in s.layers)
    assert s.weight_bytes == pytest.approx(job.weight_bytes * 0.5 * (1 + 2 / 8))
    u = apply_sparsity(job, weight_density=0.3)
    assert u.weight_bytes == pytest.approx(job.weight_bytes * (0.3 + 1 / 8))
    assert apply_sparsity(job) is job
    with pytest.raises(ValueError, match="act_density"):
        apply_sparsity(job, act_density=0.0)


def test_sparse_design_beats_dense_on_latency_and_energy(preset):
    dense = run_scorecard(["resnet18"], [preset]).reports[0]
    sparse = run_scorecard(["resnet18"], [preset],
                           sparsity={"weight_sparsity": "2:4", "act_density": 0.6}).reports[0]
    assert sparse.latency_s < dense.latency_s
    assert sparse.energy_pJ < dense.energy_pJ
    assert sparse.macs == dense.macs                    # same work, done in fewer cycles


def test_pruned_digits_accuracy_is_measured():
    dense = pruned_digits_accuracy(8)
    half = pruned_digits_accuracy(8, weight_density=0.5)
    few = pruned_digits_accuracy(8, weight_density=0.05)
    assert 0.9 < dense <= 1.0 and few < half <= 1.0
    job = make_jobs("digits-cnn")[0]
    assert apply_sparsity(job, weight_sparsity="2:4").accuracy == pruned_digits_accuracy(8, "2:4")


def test_cli_flags(preset, capsys):
    assert main(["scorecard", "--workload", "resnet18", "--hw", preset,
                 "--weight-sparsity", "2:4", "--act-density", "0.5", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    text = json.dumps(rows)
    assert "[w 2:4, a 0.5]" in text
    for bad in (["--weight-sparsity", "5:4"], ["--weight-density", "1.5"],
                ["--weight-sparsity", "2:4", "--weight-density", "0.3"]):
        assert main(["scorecard", "--workload", "resnet18", "--hw", preset, *bad]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "error" in err


def test_sweep_varies_sparsity_hardware_and_workload():
    from npulab.perf.sweep import load_spec, run_sweep

    spec = load_spec({"name": "s", "workloads": ["resnet18"],
                      "space": {"dataflow": ["ws"], "skip_pattern": ["", "2:4"],
                                "weight_sparsity": ["", "2:4"]}})
    result = run_sweep(spec, executor="serial")
    rows = {(r["skip_pattern"], r["weight_sparsity"]): r for r in result.rows}
    assert len(rows) == 4
    both = rows[("2:4", "2:4")]["latency_s"]
    assert both < rows[("", "2:4")]["latency_s"] and both < rows[("2:4", "")]["latency_s"]
    assert rows[("2:4", "")]["latency_s"] == rows[("", "")]["latency_s"]   # dense weights: no skip
