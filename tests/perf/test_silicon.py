"""Issue 16: the measured-device (``gpu``) engine, calibrated presets, floors, calibrate, --measure."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from npulab import datasets
from npulab.cli import main
from npulab.gpu import estimate, estimate_llm, gemm_time, llm_kernels
from npulab.gpu.table import build, gemm_flops_bytes, load, read
from npulab.hw.gpu import GpuConfig
from npulab.perf.presets import load_preset
from npulab.perf.scoring import score
from npulab.workloads import Gemm
from npulab.workloads.llm import from_config

MEASURED = datasets.DATASETS_DIR / "measured"
H100 = load_preset("h100-sxm").config


def _llm_cases():
    ref = read(MEASURED / "h100_measured.json")["llm"]
    cases = [("prefill", 2048, 1, ref["prefill_s"]["seq2048_batch1"])]
    for b in (1, 16, 64):
        cases.append(("decode", 1024, b, ref["decode_step_cuda_graph_s"][f"context1024_batch{b}"]))
    return cases


@pytest.mark.parametrize("phase, tokens, batch, measured", _llm_cases())
def test_h100_preset_predicts_the_reference_llama_1b_within_10_percent(phase, tokens, batch, measured):
    r = score("llama-3.2-1b", "h100-sxm", phase=phase, seq_len=tokens, batch=batch)
    assert r.engine == "gpu"
    assert abs(r.latency_s / measured - 1) < 0.10


def test_h100_preset_on_six_models_mean_and_max_error():
    session = read(MEASURED / "h100_session.json")["llm"]
    errs = []
    for model, v in session.items():
        for c in v["prefill"]:
            r = score(model, "h100-sxm", phase="prefill", seq_len=c["tokens"], batch=c["batch"])
            errs.append(abs(r.latency_s / c["graph_s"] - 1))
        for c in v["decode"]:
            r = score(model, "h100-sxm", phase="decode", seq_len=c["context"], batch=c["batch"])
            errs.append(abs(r.latency_s / c["graph_s"] - 1))
    assert len(errs) == 54
    assert sum(errs) / len(errs) < 0.10 and max(errs) < 0.15


def test_scorecard_cli_contract_decode_batch_64(capsys):
    rc = main(["scorecard", "--hw", "h100-sxm", "--workload", "llama-3.1-8b", "--phase", "decode",
               "--seq-len", "1024", "--batch", "64", "--json"])
    assert rc == 0
    r = json.loads(capsys.readouterr().out)["results"][0]
    assert r["engine"] == "gpu" and r["phase"] == "decode" and r["inferences"] == 64
    assert abs(r["latency_s"] / 9.778e-3 - 1) < 0.10  # h100_session.json, CUDA graph


def test_prefill_is_the_whole_prompt_and_grows_with_it():
    a = score("llama-3.1-8b", "h100-sxm", phase="prefill", seq_len=512).latency_s
    b = score("llama-3.1-8b", "h100-sxm", phase="prefill", seq_len=2048).latency_s
    assert 3.0 < b / a < 4.5


def test_graph_timed_table_points_come_back_exactly():
    raw = read(MEASURED / "h100_calibrate.json")
    hw = GpuConfig("h100", 989.4e12, 3.35e12, kernel_latency_s=4e-6,
                   measured=str(MEASURED / "h100_calibrate.json"))
    data = load(hw)
    checked = 0
    for key, v in raw["gemm"].items():
        p = dict(part.split("=") for part in key.split("|"))
        M, N, K = int(p["M"]), int(p["N"]), int(p["K"])
        flops, nbytes = gemm_flops_bytes(M, N, K, 2.0)
        roof = max(flops / hw.peak_ops_per_s, nbytes / data.copy_bytes_per_s)
        if v["s"] - hw.kernel_latency_s < roof:  # efficiency clipped at 1: not reproduced
            continue
        assert gemm_time(M, N, K, hw, data) == pytest.approx(v["s"], rel=1e-6)
        checked += 1
    assert checked > 20


def test_isolated_tables_censor_the_launch_floor_and_subtract_host_overhead():
    d = build(read(MEASURED / "h100_measured.json"), peak_ops_per_s=989.4e12,
              kernel_latency_s=4e-6, launch_floor_s=25e-6, fallback_bytes_per_s=3e12)
    assert d.censored > 0 and 0 < d.host_overhead_s < 25e-6
    assert all(0 < e <= 1 for e in d.gemm.eff)


@given(st.integers(1, 16384), st.integers(1, 65536), st.integers(1, 16384))
def test_no_gemm_is_faster_than_the_datasheet_roofline(M, N, K):
    for hw in (H100, load_preset("a100-sxm").config):
        flops, nbytes = gemm_flops_bytes(M, N, K, 2.0)
        floor = max(flops / hw.peak_ops_per_s, nbytes / hw.dram_bytes_per_s)
        assert gemm_time(M, N, K, hw, load(hw)) >= floor


@pytest.mark.parametrize("preset", ["h100-sxm", "a100-sxm", "tpuv1-like", "edge-npu-int8", "pim-isaac"])
@pytest.mark.parametrize("phase, batch", [("decode", 1), ("decode", 64), ("prefill", 1)])
def test_no_engine_reports_less_than_the_roofline_floor(preset, phase, batch):
    r = score("llama-3.2-1b", preset, phase=phase, seq_len=512, batch=batch)
    floor = max(r.bytes_moved / r.dram_bytes_per_s, r.ops / r.peak_ops_per_s)
    assert r.latency_s >= floor * (1 - 1e-12)


def test_a_design_streaming_weights_at_full_bandwidth_comes_close_to_the_floor():
    from npulab.perf.presets import preset_from_dict

    d = {"name": "wide-ws", "engine": "systolic",
         "array": {"rows": 256, "cols": 1024, "dataflow": "ws", "clock_hz": 1.887e9, "precision": "bf16"},
         "memory": {"ifmap_sram_kb": 25600, "filter_sram_kb": 25600, "ofmap_sram_kb": 25600,
                    "dram_bytes_per_s": 3.35e12}}
    for overlap, lo, hi in ((True, 1.0, 1.25), (False, 3.0, 100.0)):
        p = preset_from_dict({**d, "fold_overlap": overlap})
        r = score("llama-3.1-8b", p, phase="decode", seq_len=1024, batch=1)
        floor = max(r.bytes_moved / r.dram_bytes_per_s, r.ops / r.peak_ops_per_s)
        assert lo <= r.latency_s / floor < hi


@given(st.integers(1, 300), st.integers(1, 300), st.integers(1, 300), st.sampled_from([4, 8, 16]),
       st.sampled_from(["os", "ws", "is"]))
def test_pipelined_folds_between_ideal_and_unoverlapped(M, N, K, R, df):
    from npulab.systolic.folds import compute_cycles, pipelined_cycles

    p = pipelined_cycles(M, N, K, R, R, df)
    assert M * N * K / (R * R) <= p <= compute_cycles(M, N, K, R, R, df)


def test_one_token_ws_gemm_is_weight_load_bound():
    from npulab.systolic.folds import pipelined_cycles

    K = N = 4096
    R = C = 256
    cycles = pipelined_cycles(1, N, K, R, C, "ws")
    assert K * N / C <= cycles <= K * N / C + 3 * R + C


def test_kernel_sequence_of_a_llama_decode_step():
    ks = llm_kernels(from_config("llama-3.2-1b").decode(1024, batch=4))
    names = {k.name: k for k in ks}
    assert names["qkv"].shape == {"M": 4, "N": 3072, "K": 2048} and names["qkv"].count == 16
    assert names["gate_up"].shape["N"] == 16384 and names["lm_head"].shape == {"M": 4, "N": 128256, "K": 2048}
    assert names["sdpa"].shape == {"b": 4, "h": 32, "kvh": 8, "hd": 64, "q": 1, "ctx": 1024}
    assert sum(k.count for k in ks) == 16 * 15 + 3
    qwen = {k.name for k in llm_kernels(from_config("qwen2.5-1.5b").decode(64))}
    assert "qkv_bias" in qwen and "qkv_bias" not in names


def test_small_gemm_pays_the_kernel_latency_and_eager_the_launch_floor():
    import dataclasses

    tiny = Gemm(1, 64, 64)
    r = estimate(tiny, H100)
    assert r.latency_s >= H100.kernel_latency_s
    eager = dataclasses.replace(H100, cuda_graphs=False)
    assert estimate(tiny, eager).latency_s >= eager.launch_floor_s
    step = from_config("llama-3.2-1b").decode(1024)
    n = sum(k.count for k in llm_kernels(step))
    assert estimate_llm(step, eager).latency_s == pytest.approx(n * eager.launch_floor_s)
    big = from_config("llama-3.1-8b").prefill(2048)
    assert estimate_llm(big, eager).latency_s == pytest.approx(estimate_llm(big, H100).latency_s)


def test_a100_preset_is_datasheet_only_and_says_so():
    p = load_preset("a100-sxm")
    assert p.engine == "gpu" and not p.config.calibrated and p.config.measured == ""
    assert "NOT calibrated" in p.description
    r = estimate_llm(from_config("llama-3.1-8b").decode(1024), p.config)
    assert r.details["calibrated"] is False


def test_bad_gpu_preset_is_one_line_exit_2(tmp_path, capsys):
    f = tmp_path / "bad.yaml"
    f.write_text("name: bad\nengine: gpu\ngpu: {peak_ops_per_s: 1.0e+12, dram_bytes_per_s: 1.0e+11,"
                 " gemm_efficiency: 1.5}\n")
    assert main(["scorecard", "--hw", str(f), "--workload", "resnet18"]) == 2
    err = capsys.readouterr().err
    assert "gemm_efficiency" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(ValueError, match="warp_size"):
        from npulab.hw.gpu import gpu_config_from_dict

        gpu_config_from_dict({"peak_ops_per_s": 1e12, "dram_bytes_per_s": 1e11, "warp_size": 32})


# ---- calibrate and --measure on this machine's CPU (small: runs in CI) ----------------------------

@pytest.fixture(scope="module")
def cpu_preset(tmp_path_factory):
    out = tmp_path_factory.mktemp("cal") / "this-cpu.yaml"
    # two passes: the merge of passes is exercised, at two thirds of the default's time
    rc = main(["calibrate", "--device", "cpu", "--quick", "--threads", "1", "--passes", "2",
               "--no-progress", "--out", str(out)])
    assert rc == 0
    return out


def test_calibrate_quick_writes_a_preset_and_its_data(cpu_preset):
    data = json.loads(Path(str(cpu_preset).replace(".yaml", "_measured.json")).read_text())
    for key in ("device", "how", "copy", "gemm", "attention", "elementwise", "kernel_latency_s",
                "launch_floor_s", "timing", "threads"):
        assert key in data
    assert data["copy"]["bytes_rw"] > 0 and all(v["s"] > 0 for v in data["gemm"].values())
    p = load_preset(cpu_preset)
    assert p.engine == "gpu" and p.config.calibrated and p.config.precision == "fp32"
    assert p.config.peak_ops_per_s >= data["achieved"]["gemm_ops_per_s"]


def test_a_calibrated_preset_moves_with_its_data_file(cpu_preset, tmp_path, monkeypatch):
    """The preset names its data file relative to itself: copy both elsewhere, load from any
    working directory, and the same numbers come back (issue 27: no absolute paths)."""
    import shutil

    import yaml

    text = cpu_preset.read_text()
    assert str(cpu_preset.parent) not in text
    assert yaml.safe_load(text)["gpu"]["measured"] == "this-cpu_measured.json"
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    shutil.copy(cpu_preset, moved / cpu_preset.name)
    shutil.copy(cpu_preset.with_name("this-cpu_measured.json"), moved / "this-cpu_measured.json")
    monkeypatch.chdir(tmp_path)
    work = Gemm(64, 64, 64)
    a = score(work, load_preset(cpu_preset))
    b = score(work, load_preset(Path("elsewhere") / cpu_preset.name))
    assert b.latency_s == a.latency_s and b.energy_j == a.energy_j


def test_scorecard_reads_a_calibrated_preset(cpu_preset, capsys):
    rc = main(["scorecard", "--hw", str(cpu_preset), "--workload", "llama-3.2-1b", "--phase", "decode",
               "--seq-len", "64", "--json"])
    assert rc == 0
    r = json.loads(capsys.readouterr().out)["results"][0]
    assert r["engine"] == "gpu" and r["latency_s"] > 0


def test_measure_tiny_llm_one_layer(cpu_preset, tmp_path, capsys):
    cfg = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 3, "num_attention_heads": 4,
           "num_key_value_heads": 2, "vocab_size": 256, "name": "tiny"}
    f = tmp_path / "tiny.json"
    f.write_text(json.dumps(cfg))
    rc = main(["scorecard", "--hw", str(cpu_preset), "--workload", str(f), "--phase", "decode",
               "--seq-len", "16", "--batch", "2", "--measure", "--layers", "1", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    row = out["results"][0]
    assert row["workload"] == "tiny-L1" and row["measured_s"] > 0 and row["predicted_s"] > 0
    assert math.isfinite(row["error"]) and out["max_abs_error"] == abs(row["error"])


def test_measure_needs_hw_and_rejects_bad_layers(capsys):
    assert main(["scorecard", "--workload", "resnet18", "--measure"]) == 2
    assert main(["scorecard", "--hw", "h100-sxm", "--workload", "resnet18", "--measure",
                 "--layers", "0"]) == 2
    assert main(["calibrate", "--out", "x.txt"]) == 2
    assert main(["calibrate", "--passes", "0"]) == 2


def test_torch_decoder_runs_prefill_then_decode_deterministically():
    import torch

    from npulab.perf.measure import TorchDecoder

    c = from_config({"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                     "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 50,
                     "attention_bias": True}).config
    a, b = (TorchDecoder(c, max_len=8, max_batch=2, seed=3) for _ in range(2))
    ids = torch.arange(10).view(2, 5) % 50
    with torch.no_grad():
        la, lb = a(ids, 0), b(ids, 0)
        assert la.shape == (2, 50) and torch.equal(la, lb)
        step = a(ids[:, :1], 5)
        assert step.shape == (2, 50) and torch.isfinite(step).all()


@pytest.mark.parametrize("device, peak", [("NVIDIA H100 80GB HBM3", 989.4e12), ("NVIDIA H100 PCIe", 756e12),
                                          ("NVIDIA A100-SXM4-80GB", 312e12), ("Some NPU", 5e12)])
def test_calibrated_preset_takes_the_datasheet_peak_when_the_device_is_known(device, peak):
    from npulab.gpu.calibrate import preset_dict

    data = {"device": device, "how": "", "kernel_latency_s": 3e-6, "launch_floor_s": 2e-5,
            "achieved": {"gemm_ops_per_s": 5e12, "copy_bytes_per_s": 1e11}}
    p = preset_dict(data, name="x", data_file="x.json", dtype="bf16")
    assert p["gpu"]["peak_ops_per_s"] == peak and 0 < p["gpu"]["gemm_efficiency"] <= 1
    from npulab.perf.presets import preset_from_dict  # and the dict is a valid preset

    assert preset_from_dict({**p, "gpu": {**p["gpu"], "measured": ""}}).engine == "gpu"


def test_convolutions_use_the_measured_direct_convs(cpu_preset):
    from npulab.workloads import Conv2d

    p = load_preset(cpu_preset)
    data = load(p.config)
    raw = json.loads(Path(str(cpu_preset).replace(".yaml", "_measured.json")).read_text())
    assert data.conv is not None and len(data.conv) == len(raw["conv"]) >= 3
    key, v = next(iter(raw["conv"].items()))
    q = dict(part.split("=") for part in key.split("|")[1:])
    layer = Conv2d(int(q["h"]), int(q["w"]), int(q["k"]), int(q["k"]), int(q["c"]), int(q["f"]),
                   stride=int(q["s"]))
    g = layer.to_gemm()
    flops, nbytes = gemm_flops_bytes(g.M, g.N, g.K, 4.0)
    roof = max(flops / p.config.peak_ops_per_s, nbytes / data.copy_bytes_per_s)
    if v["s"] - p.config.kernel_latency_s > roof:  # not clipped: the point comes back
        assert estimate(layer, p.config).latency_s == pytest.approx(v["s"], rel=1e-6)


@pytest.mark.parametrize("peak, bound", [(8e12, "compute"), (16e12, "compute"), (32e12, "memory")])
def test_gpu_bound_uses_the_one_rule_and_a_tie_is_compute(peak, bound):
    # 48^3 GEMM in bf16: 2*48^3 ops and 2*3*48^2 bytes, so ops/peak == bytes/bw at peak = 16 bw.
    from npulab.metrics.report import bound_of
    from npulab.metrics.roofline import Roofline

    hw = GpuConfig("toy", peak_ops_per_s=peak, dram_bytes_per_s=1e12, bandwidth_efficiency=1.0)
    r = estimate(Gemm(48, 48, 48), hw)
    flops, nbytes = gemm_flops_bytes(48, 48, 48, 2.0)
    assert r.details["bound"] == bound == bound_of(flops / peak, nbytes / 1e12) == r.bound
    assert (r.details["compute_time_s"] > 0) == (bound == "compute")
    assert Roofline(peak, 1e12).bound(flops, nbytes) == bound


# ---- CPU calibration that predicts the machine it measured (issue 27) -----------------------

def test_cpu_calibration_streams_past_the_last_level_cache_and_times_a_read_roof(cpu_preset):
    """Operands rotate over twice the last-level cache (a server L3 holds hundreds of MB), the
    copy is that large too, a read-only stream is timed, and small-batch GEMMs are swept."""
    from npulab.gpu.calibrate import last_level_cache_bytes

    data = json.loads(cpu_preset.with_name("this-cpu_measured.json").read_text())
    llc = last_level_cache_bytes()
    assert data["llc_bytes"] == llc > 0
    spill = min(2 ** 30, max(64 * 2 ** 20, 2 * llc))
    assert data["copy"]["bytes_rw"] >= spill - 16 and data["read"]["bytes"] == data["copy"]["bytes_rw"]
    assert data["achieved"]["read_bytes_per_s"] == pytest.approx(data["read"]["bytes"] / data["read"]["s"])
    ms = {int(k.split("|")[0][2:]) for k in data["gemm"] if "|K=2048|N=32768" in k}
    assert ms == {1, 2, 4, 8, 16, 32, 64}
    from npulab.gpu.calibrate import CPU_GEMM_AXES, CPU_PASSES

    assert data["gemm_axes"] == list(CPU_GEMM_AXES) and data["passes"] == 2 and CPU_PASSES == 3
    assert load_preset(cpu_preset).config.dram_bytes_per_s >= data["achieved"]["read_bytes_per_s"]


def test_cpu_table_points_come_back_exactly_against_the_read_roof(cpu_preset):
    """A GEMM's roof is the read stream, in the fit and in the prediction alike, so every
    measured point below the roof is predicted to its own time."""
    hw = load_preset(cpu_preset).config
    data = load(hw, base=cpu_preset.parent)
    from npulab.gpu.calibrate import CPU_GEMM_AXES

    assert data.read_bytes_per_s and data.gemm.axes == CPU_GEMM_AXES
    checked = 0
    for key, v in data.raw["gemm"].items():
        p = dict(part.split("=") for part in key.split("|"))
        M, N, K = int(p["M"]), int(p["N"]), int(p["K"])
        flops, nbytes = gemm_flops_bytes(M, N, K, 4.0)
        roof = max(flops / hw.peak_ops_per_s, nbytes / max(data.read_bytes_per_s, data.copy_bytes_per_s))
        if v["s"] - hw.kernel_latency_s - data.host_overhead_s <= roof:
            continue  # efficiency clipped at 1
        assert gemm_time(M, N, K, hw, data) == pytest.approx(v["s"], rel=1e-6)
        checked += 1
    assert checked > 10


@pytest.mark.parametrize("bad, match", [
    ({"gemm_axes": [1.0, -1.0]}, "gemm_axes must be three numbers > 0"),
    ({"gemm_axes": 5}, "gemm_axes must be three numbers > 0"),
    ({"gemm_axes": ["a", 1, 1]}, "gemm_axes must be three numbers > 0"),
    ({"read": [1, 2]}, "'read' must be an object"),
    ({"read": {"bytes": "x", "s": 1}}, "read.bytes and read.s must be numbers > 0"),
    ({"copy": {"bytes_rw": 10, "s": -1}}, "copy.bytes_rw and copy.s must be numbers > 0"),
])
def test_a_malformed_data_file_is_one_line(bad, match):
    raw = read(MEASURED / "h100_calibrate.json") | bad
    with pytest.raises(ValueError, match=match):
        build(raw, peak_ops_per_s=989.4e12, kernel_latency_s=4e-6, launch_floor_s=25e-6,
              fallback_bytes_per_s=3e12)


def test_timer_min_statistic_and_samples():
    from npulab.gpu.timing import Timer

    calls = []
    t = Timer("cpu", budget_s=0.0, reps=4, stat="min")
    out = t(lambda: calls.append(1))
    assert len(t.samples) == 4 and out == min(t.samples) and len(calls) == 2 + 4  # warm-up, probe
    m = Timer("cpu", budget_s=0.0, reps=5)
    assert m(lambda: None) == sorted(m.samples)[2]
    assert Timer("cpu", reps=3).stat == "median"
    with pytest.raises(ValueError, match="stat must be 'median' or 'min'; got 'mean'"):
        Timer("cpu", stat="mean")


def test_measure_reports_repetitions_spread_and_threads(cpu_preset, tmp_path):
    from npulab.perf.measure import compare, table

    cfg = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
           "num_key_value_heads": 2, "vocab_size": 256, "name": "tiny"}
    f = tmp_path / "tiny.json"
    f.write_text(json.dumps(cfg))
    rows = compare([str(f)], [str(cpu_preset)], phases=["decode"], seq_len=16, device="cpu",
                   layers=1, reps=4, passes=2)
    r = rows[0]
    assert r["reps"] == 8 and r["passes"] == 2 and r["statistic"] == "min" and r["threads"] == 1
    assert r["spread"] >= 0
    text = table(rows)
    assert "spread" in text.splitlines()[0]
    assert "min of 8 repetitions in 2 passes, each after a warm-up, 1 thread" in text
    with pytest.raises(ValueError, match="passes must be an int >= 1; got 0"):
        compare([str(f)], [str(cpu_preset)], device="cpu", passes=0)
