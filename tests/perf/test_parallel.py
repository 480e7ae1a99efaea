"""Multi-device layouts (issue 28): TP=PP=EP=1 is the single device exactly; TP/PP/EP rules."""

import math

import pytest

from npulab.hw.interconnect import LINKS, Link, all_reduce_time, all_to_all_time
from npulab.perf.parallel import (
    Layout,
    LayoutStepCost,
    communication_time,
    device_memory,
    layout_for,
    pipeline_bubble,
    pipeline_time,
    score_layout,
    stage_model,
)
from npulab.perf.scoring import score
from npulab.perf.serving import serve
from npulab.perf.serving_cost import ScorecardStepCost
from npulab.workloads.llm import from_config


@pytest.mark.parametrize("hw", ["tpuv1-like", "h100-sxm"])
def test_one_device_layout_is_the_single_device_scorecard_exactly(hw):
    want = score("llama-3.2-1b", hw, seq_len=256, batch=2)
    got = score_layout("llama-3.2-1b", hw, Layout(), seq_len=256, batch=2)
    assert [r.to_dict() for r in got] == [r.to_dict() for r in want]


def test_one_device_step_cost_is_the_scorecard_step_cost_exactly():
    a = ScorecardStepCost("llama-3.2-1b", "h100-sxm")
    b = LayoutStepCost("llama-3.2-1b", "h100-sxm", Layout())
    for step in ((((128, 128),), 0, 0), ((), 8, 8 * 300), (((64, 64), (32, 96)), 3, 900)):
        assert b(*step) == a(*step)


def test_serving_with_a_one_device_layout_is_unchanged():
    kw = dict(rate=2.0, requests=40, prompt_len=64, output_len=8, seed=1)
    base = serve("h100-sxm", "llama-3.2-1b", **kw).summary()
    same = serve("h100-sxm", "llama-3.2-1b", layout=Layout(), **kw).summary()
    same.pop("layout", None)
    assert same == base


def test_tensor_parallel_splits_heads_widths_and_vocab():
    m = from_config("llama-3.1-70b")
    s = stage_model(m, Layout(tp=8))
    c = s.config
    assert (c.num_attention_heads, c.num_key_value_heads, c.head_dim) == (8, 1, 128)
    assert c.intermediate_size == 28672 // 8 and c.vocab_size == 128256 // 8
    # every projection's weights are split: the per-device model holds 1/8 of the matrices
    assert s.param_count() == pytest.approx(m.param_count() / 8, rel=1e-3)
    assert stage_model(m, Layout()) is m


def test_pipeline_splits_layers_and_the_bubble_is_gpipes():
    m = from_config("llama-3.1-70b")
    assert stage_model(m, Layout(pp=3)).config.num_hidden_layers == math.ceil(80 / 3)
    assert pipeline_bubble(4, 4) == pytest.approx(3 / 7)
    assert pipeline_time(1.0, 4, 4, 0.1) == pytest.approx(7 * 1.1)
    assert pipeline_time(2.0, 1, 1, 5.0) == 2.0  # one stage: no hand-off


def test_tp_collectives_are_two_all_reduces_per_layer():
    m = from_config("llama-3.1-70b")
    link = Link("x", 100e9, 2e-6)
    comm = communication_time(m, Layout(tp=4, pp=2), 512, link)
    act = 512 * 8192 * 2
    assert comm["tp_all_reduce_s"] == pytest.approx(40 * 2 * all_reduce_time(act, 4, link))
    assert comm["pp_handoff_s"] == pytest.approx(2e-6 + act / 100e9)
    assert comm["ep_all_to_all_s"] == 0.0


def test_expert_parallel_spreads_experts_with_all_to_alls():
    m = from_config("mixtral-8x7b")
    full = device_memory(m, Layout())
    tp = device_memory(m, Layout(tp=2))
    ep = device_memory(m, Layout(tp=2, ep=2))
    experts = 32 * 8 * m.expert_param_count() * 2  # fp16 bytes of all experts
    # half the experts whole (ep=2) or every expert at half width (tp=2): the same bytes
    assert ep["weights"] == pytest.approx(tp["weights"], rel=1e-9)
    assert full["weights"] - ep["weights"] > experts / 2
    link = LINKS["nvlink4"]
    comm = communication_time(m, Layout(tp=2, ep=2), 64, link)
    assert comm["ep_all_to_all_s"] == pytest.approx(
        32 * 2 * all_to_all_time(64 * 4096 * 2 * 2, 2, link)
    )
    # the busiest device runs half of the routed expert GEMMs (rounded up) and streams half the
    # active experts' weights
    a = LayoutStepCost(m, "h100-sxm", Layout(tp=2, ep=2), score_model="roofline")
    key = a.key((), 4, 4 * 256)
    ph, whole = a.phase(key), LayoutStepCost(m, "h100-sxm", Layout(tp=2), score_model="roofline")
    n_ep = sum(n for g, n, _ in ph.gemms if g.name.startswith("expert_"))
    n_tp = sum(n for g, n, _ in whole.phase(key).gemms if g.name.startswith("expert_"))
    assert n_ep == pytest.approx(n_tp / 2, abs=32)


def test_a_70b_model_needs_several_h100s():
    with pytest.raises(ValueError, match="does not fit"):
        score_layout("llama-3.1-70b", "h100-sxm", Layout(dp=2), seq_len=128)
    r = score_layout("llama-3.1-70b", "h100-sxm", Layout(tp=4), phase="decode", seq_len=1024)
    assert r.hardware == "4x h100-sxm" and r.details["layout"]["tp_all_reduce_s"] > 0
    # decode at batch 1 streams 1/4 of the weights per device: faster than 1/2 the 2-GPU time
    r8 = score_layout("llama-3.1-70b", "h100-sxm", Layout(tp=8), phase="decode", seq_len=1024)
    assert r8.latency_s < r.latency_s


@pytest.mark.parametrize(
    "kw, msg",
    [
        (dict(tp=3), "attention heads"),
        (dict(tp=2, ep=4), "ep must divide tp"),
        (dict(tp=2, ep=2), "mixture-of-experts"),
        (dict(pp=81), "exceeds the 80 layers"),
    ],
)
def test_bad_layouts_fail_in_one_line(kw, msg):
    with pytest.raises(ValueError, match=msg) as err:
        stage_model(from_config("llama-3.1-70b"), Layout(**kw))
    assert "\n" not in str(err.value)


def test_devices_give_the_replicas():
    assert layout_for(16, tp=4, pp=2).dp == 2
    with pytest.raises(ValueError, match="multiple of tp x pp"):
        layout_for(6, tp=4)


def test_tensor_parallel_agrees_with_genz_on_identical_inputs(reference_dir):
    """GenZ's TP model (recorded) and npulab's roofline on the same peak, bandwidth and link."""
    import json

    g = json.loads((reference_dir / "genz_llama31_70b_tp.json").read_text())
    s = g["system"]
    link = Link("genz-icn", s["ICN"] * 1e9, s["ICN_LL"] * 1e-6)
    m = from_config("llama-3.1-70b")
    for tp in (1, 2, 4, 8):
        cost = LayoutStepCost(m, "h100-sxm", Layout(tp=tp), link=link, score_model="roofline",
                              context_bucket=1)
        assert cost.preset.peak_ops_per_s == s["Flops"] * 1e12
        assert cost.preset.dram_bytes_per_s == s["Memory_BW"] * 1e9
        decode, prefill = cost((), 1, 1025) * 1e3, cost(((1024, 1024),), 0, 0) * 1e3
        assert decode == pytest.approx(g["decode"][str(tp)]["latency_ms"], rel=0.08)
        assert prefill == pytest.approx(g["prefill"][str(tp)]["latency_ms"], rel=0.05)
        comm = communication_time(m, Layout(tp=tp), 1024, link)["tp_all_reduce_s"] * 1e3
        assert comm == pytest.approx(g["prefill"][str(tp)]["collective_ms"], rel=0.12)


def test_scorecard_pipeline_with_micro_batches_is_gpipes_schedule():
    lay = Layout(tp=4, pp=2, micro_batches=4)
    r = score_layout("llama-3.1-70b", "h100-sxm", lay, phase="prefill", seq_len=256, batch=8,
                     model="roofline")
    d = r.details["layout"]
    stage = d["stage_s"] + d["tp_all_reduce_s"] + d["ep_all_to_all_s"] + d["pp_handoff_s"]
    assert r.latency_s == pytest.approx((4 + 2 - 1) * stage)
    assert d["bubble"] == pytest.approx(1 / 5)
    assert r.inferences == 8 * 256
