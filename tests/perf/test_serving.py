"""The serving simulator against what can be computed by hand, queueing theory and the scorecard."""
import json

import numpy as np
import pytest

from npulab.cli import main
from npulab.perf.scoring import score
from npulab.perf.serving import (
    LinearStepCost,
    Requests,
    SchedulerConfig,
    ScorecardStepCost,
    kv_cache_blocks,
    load_trace,
    poisson_requests,
    serve,
    simulate,
)
from npulab.workloads.llm import from_config


def reqs(arrivals, prompt, output):
    n = len(arrivals)
    return Requests(np.array(arrivals, float), np.full(n, prompt), np.full(n, output))


# ---- hand-computed --------------------------------------------------------------------------
def test_isolated_requests_give_hand_computed_ttft_tpot():
    """Iteration = 1 s + 0.1 s per token. Prefill of 4: 1.4 s; each decode: 1.1 s."""
    res = simulate(reqs([0, 10, 20], 4, 3), LinearStepCost(base_s=1.0, per_token_s=0.1))
    np.testing.assert_allclose(res.ttft_s, [1.4, 1.4, 1.4])
    np.testing.assert_allclose(res.tpot_s, [1.1, 1.1, 1.1])
    np.testing.assert_allclose(res.e2e_s, [3.6, 3.6, 3.6])
    assert len(res.timeline) == 9 and res.summary()["ttft_s"]["p99"] == pytest.approx(1.4)


def test_a_late_arrival_is_prefilled_beside_running_decodes():
    """r0, r1 at 0 (P=4, O=2); r2 at 0.5 waits for the iteration to end.

    it1 [0, 1.8]: prefill r0 + r1 (8 tokens).  it2 [1.8, 3.4]: decode r0, r1 + prefill r2
    (1 + 0.1 * 6).  it3 [3.4, 4.5]: decode r2.
    """
    res = simulate(reqs([0, 0, 0.5], 4, 2), LinearStepCost(base_s=1.0, per_token_s=0.1))
    np.testing.assert_allclose(res.first_token_s, [1.8, 1.8, 3.4])
    np.testing.assert_allclose(res.finish_s, [3.4, 3.4, 4.5])
    np.testing.assert_allclose(res.ttft_s, [1.8, 1.8, 2.9])
    np.testing.assert_allclose(res.timeline[:, 1:3], [[2, 8], [3, 6], [1, 1]])


def test_chunked_prefill_splits_a_prompt_to_the_token_budget():
    res = simulate(reqs([0], 20, 2), LinearStepCost(base_s=1.0),
                   SchedulerConfig(max_tokens=8, chunked_prefill=True))
    assert res.timeline[:, 2].tolist() == [8, 8, 4, 1]
    assert res.ttft_s[0] == pytest.approx(3.0) and res.e2e_s[0] == pytest.approx(4.0)
    whole = simulate(reqs([0], 20, 2), LinearStepCost(base_s=1.0), SchedulerConfig(max_tokens=8))
    assert whole.timeline[:, 2].tolist() == [20, 1]          # a long prompt runs alone


def test_max_batch_queues_the_rest():
    res = simulate(reqs([0, 0, 0], 1, 2), LinearStepCost(base_s=1.0), SchedulerConfig(max_batch=2))
    np.testing.assert_allclose(res.first_token_s, [1, 1, 3])
    np.testing.assert_allclose(res.finish_s, [2, 2, 4])


def test_preemption_frees_blocks_and_every_request_finishes():
    """4 blocks of 4 tokens: two requests of 4 + 8 tokens cannot both hold 3 blocks."""
    sched = SchedulerConfig(block_size=4, num_blocks=4)
    res = simulate(reqs([0, 0], 4, 8), LinearStepCost(base_s=1.0), sched)
    assert res.preemptions.sum() >= 1
    assert np.all(np.isfinite(res.finish_s))
    assert res.timeline[:, 3].max() <= 4
    assert res.summary()["kv_cache"]["max"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="KV-cache blocks"):
        simulate(reqs([0], 12, 8), LinearStepCost(base_s=1.0), sched)   # 20 tokens > 16


# ---- the scorecard's numbers at low load --------------------------------------------------
def test_low_rate_ttft_is_the_prefill_and_tpot_the_batch1_decode():
    P, Out = 64, 4
    cost = ScorecardStepCost("llama-3.2-1b", "tpuv1-like", context_bucket=1)
    r = poisson_requests(0.01, 5, P, Out, seed=3)
    assert np.diff(r.arrival_s).min() > 10                     # no overlap: service is < 1 s
    res = simulate(r, cost)
    prefill = score("llama-3.2-1b", "tpuv1-like", phase="prefill", seq_len=P).latency_s
    decodes = [score("llama-3.2-1b", "tpuv1-like", phase="decode", seq_len=P + k).latency_s
               for k in range(1, Out)]
    np.testing.assert_allclose(res.ttft_s, prefill, rtol=1e-12)
    np.testing.assert_allclose(res.tpot_s, np.mean(decodes), rtol=1e-12)
    assert res.tpot_s[0] == pytest.approx(decodes[0], rel=0.01)


def test_step_cost_of_one_prompt_is_the_scorecard_prefill_job():
    m = from_config("llama-3.2-1b")
    assert m.step([(100, 100)] * 3).gemms == m.prefill(100, 3).gemms
    assert m.step((), 5, 300).gemms == m.decode(300, 5).gemms
    mixed = m.step([(100, 100)], 5, 300)
    assert mixed.phase == "mixed" and mixed.tokens == 105
    assert mixed.weight_bytes == m.prefill(100).weight_bytes       # weights streamed once


# ---- queueing theory ------------------------------------------------------------------------
@pytest.mark.parametrize("rho", [0.3, 0.6])
def test_batch1_fixed_service_mean_wait_matches_md1(rho):
    """M/D/1 (Pollaczek-Khinchine): W_q = rho S / (2 (1 - rho))."""
    S = 0.5
    r = poisson_requests(rho / S, 20000, 8, 1, seed=7)
    res = simulate(r, LinearStepCost(base_s=S), SchedulerConfig(max_batch=1))
    wait = res.ttft_s - S
    expected = rho * S / (2 * (1 - rho))
    assert wait.mean() == pytest.approx(expected, rel=0.08)
    assert wait.min() >= -1e-12


def test_throughput_saturates_at_the_batched_decode_rate():
    B, P, Out = 8, 16, 256
    cost = ScorecardStepCost("llama-3.2-1b", "tpuv1-like")
    sched = SchedulerConfig(max_batch=B)
    tput = []
    for rate in (1e3, 1e4):
        res = simulate(poisson_requests(rate, 64, P, Out, seed=1), cost, sched)
        tput.append(res.summary()["throughput_tokens_per_s"])
    step = score("llama-3.2-1b", "tpuv1-like", phase="decode", seq_len=P + Out // 2, batch=B).latency_s
    assert tput[0] == pytest.approx(tput[1], rel=0.02)                  # saturated
    assert tput[1] == pytest.approx(B / step, rel=0.05)
    assert tput[1] < B / step * 1.001


def test_throughput_grows_with_load_then_flattens():
    cost = ScorecardStepCost("llama-3.2-1b", "tpuv1-like", score_model="roofline")
    out = [simulate(poisson_requests(rate, 300, 128, 32, seed=0), cost).summary() for rate in (1, 4, 16)]
    t = [s["throughput_tokens_per_s"] for s in out]
    assert t[0] < t[1] < t[2]
    assert out[0]["ttft_s"]["p99"] <= out[2]["ttft_s"]["p99"] * 1.5


# ---- memory and inputs ----------------------------------------------------------------------
def test_kv_cache_blocks_is_memory_minus_weights_over_block_bytes():
    m = from_config("llama-3.1-8b")
    mem = 80e9
    blocks = kv_cache_blocks(m, mem, block_size=16, weight_format="fp16", kv_format="fp16")
    per_block = 16 * 2 * 32 * 8 * 128 * 2
    assert blocks == int((0.9 * mem - 2 * m.param_count()) // per_block)
    with pytest.raises(ValueError, match="no room"):
        kv_cache_blocks(m, 16e9, weight_format="fp16")


def test_goodput_counts_requests_within_the_slo():
    res = simulate(reqs([0, 10, 20], 4, 3), LinearStepCost(base_s=1.0, per_token_s=0.1))
    s = res.summary()
    assert res.goodput(10, 10) == pytest.approx(s["requests_per_s"])
    assert res.goodput(1.0, 10) == 0.0


def test_trace_csv_is_read_and_bad_rows_are_named(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("arrival_s,prompt_tokens,output_tokens\n0.5,10,2\n0.0,20,3\n")
    r = load_trace(f)
    assert r.arrival_s.tolist() == [0.0, 0.5] and r.prompt_tokens.tolist() == [20, 10]
    f.write_text("arrival_s,prompt_tokens,output_tokens\n0.5,ten,2\n")
    with pytest.raises(ValueError, match="line 2"):
        load_trace(f)
    f.write_text("arrival,prompt_tokens,output_tokens\n")
    with pytest.raises(ValueError, match="arrival_s"):
        load_trace(f)


# ---- the CLI contract ----------------------------------------------------------------------
ARGS = ["serve", "--hw", "tpuv1-like", "--workload", "llama-3.2-1b", "--rate", "4", "--requests", "60",
        "--prompt-len", "128", "--output-len", "16", "--seed", "5", "--json"]


def test_serve_json_contract_and_same_seed_same_result(capsys):
    assert main(ARGS) == 0
    a = json.loads(capsys.readouterr().out)
    for k in ("ttft_s", "tpot_s", "e2e_s"):
        assert set(a[k]) >= {"p50", "p90", "p99"} and a[k]["p50"] <= a[k]["p99"]
    assert a["throughput_tokens_per_s"] > 0 and a["requests_per_s"] > 0
    assert main(ARGS) == 0
    assert json.loads(capsys.readouterr().out) == a
    assert main(ARGS[:-3] + ["--seed", "6", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["ttft_s"] != a["ttft_s"]


@pytest.mark.parametrize("bad, word", [(["--rate", "0"], "--rate"), (["--requests", "0"], "--requests"),
                                       (["--memory-gb", "1"], "no room"), (["--trace", "nope.csv"], "nope.csv")])
def test_serve_bad_input_is_one_line_exit_2(capsys, bad, word):
    args = ["serve", "--hw", "tpuv1-like", "--workload", "llama-3.1-8b", "--rate", "1", "--requests", "5", *bad]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert word in err and "\n" not in err and "Traceback" not in err


def test_serve_rates_plot_latency_vs_load(tmp_path, capsys):
    plot = tmp_path / "load.png"
    assert main(["serve", "--hw", "tpuv1-like", "--workload", "llama-3.2-1b", "--rates", "1,8",
                 "--requests", "40", "--prompt-len", "64", "--output-len", "8", "--model", "roofline",
                 "--workers", "1", "--plot", str(plot), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rates"] == [1.0, 8.0] and len(out["results"]) == 2
    assert plot.stat().st_size > 1000


def test_serve_function_same_seed_same_result():
    kw = dict(rate=3, requests=50, prompt_len=64, output_len=8, seed=2, score_model="roofline")
    a = serve("tpuv1-like", "llama-3.2-1b", **kw).summary()
    b = serve("tpuv1-like", "llama-3.2-1b", **kw).summary()
    assert a == b


def test_cached_step_costs_equal_the_uncached_reference():
    r = poisson_requests(6, 40, 100, 12, seed=4)
    sched = SchedulerConfig(max_tokens=256, chunked_prefill=True)
    fast = simulate(r, ScorecardStepCost("llama-3.2-1b", "tpuv1-like", context_bucket=1), sched)
    ref_cost = ScorecardStepCost("llama-3.2-1b", "tpuv1-like", context_bucket=1, cache=False)
    ref = simulate(r, ref_cost, sched)
    np.testing.assert_allclose(fast.finish_s, ref.finish_s, rtol=1e-12)
    assert ref_cost.misses == ref_cost.calls == len(ref.timeline)


@pytest.mark.parametrize("module", ["npulab.perf.serving", "npulab.perf.serving_cost"])
def test_doctests(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0 and result.attempted > 0


# ---- MLPerf-style scenarios -------------------------------------------------------------------
def test_single_stream_latency_is_prefill_plus_decodes():
    from npulab.perf.scenarios import single_stream

    cost = LinearStepCost(base_s=0.01, per_token_s=0.001)
    r = single_stream("llama-3.2-1b", "tpuv1-like", prompt_len=100, output_len=10, cost=cost)
    assert r.value == pytest.approx(0.11 + 9 * 0.011)            # p90 of identical queries
    assert r.summary["ttft_s"]["p99"] == pytest.approx(0.11)      # from issue, not from t = 0


def test_offline_throughput_is_tokens_over_makespan():
    from npulab.perf.scenarios import offline

    cost = LinearStepCost(base_s=0.01)                            # any batch: 10 ms per iteration
    r = offline("llama-3.2-1b", "tpuv1-like", prompt_len=8, output_len=10, requests=16, cost=cost)
    assert r.value == pytest.approx(16 * 10 / (10 * 0.01), rel=1e-6)


def test_server_finds_the_highest_rate_within_the_bounds():
    from npulab.perf.scenarios import map_rates, meets, server

    cost = LinearStepCost(base_s=0.01, per_token_s=0.002)
    kw = dict(prompt_len=100, output_len=10, requests=300, seed=1, cost=cost)
    res = server("llama-3.2-1b", "tpuv1-like", ttft_s=0.5, tpot_s=0.05, rounds=3, points=5, **kw)
    assert res.value > 0 and meets(res.summary, 0.5, 0.05)
    task = dict(kw, hardware="tpuv1-like", workload="llama-3.2-1b")
    above = map_rates(task, [res.value * 1.3])[0]
    assert not meets(above, 0.5, 0.05)
    tight = server("llama-3.2-1b", "tpuv1-like", ttft_s=0.1, tpot_s=0.05, **kw)   # prefill alone is 0.21 s
    assert tight.value == 0 and "no rate" in tight.note


def test_rate_sweep_is_the_same_serial_on_processes_and_on_dask():
    from distributed import LocalCluster

    from npulab.perf.scenarios import map_rates

    task = dict(hardware="tpuv1-like", workload="llama-3.2-1b", requests=30, prompt_len=64, output_len=8,
                seed=3, score_model="roofline")
    serial = map_rates(task, [1, 4], executor="serial")
    assert serial == map_rates(task, [1, 4], executor="process", workers=2)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp://", host="127.0.0.1",
                      dashboard_address=None) as cluster:
        assert serial == map_rates(task, [1, 4], address=cluster.scheduler_address)


def test_scorecard_scenario_cli(capsys):
    args = ["scorecard", "--scenario", "server", "--hw", "tpuv1-like", "--workload", "llama-3.2-1b",
            "--workload", "resnet18", "--seq-len", "128", "--output-len", "16", "--requests", "60",
            "--model", "roofline", "--workers", "1", "--json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["bounds"] == {"ttft_p99_s": 2.0, "tpot_p99_s": 0.2}
    llm, cnn = out["results"]
    assert llm["value"] > 0 and llm["ttft_p99_s"] <= 2.0 and llm["tpot_p99_s"] <= 0.2
    assert "LLM" in cnn["note"]
    assert main(["scorecard", "--scenario", "server", "--tpot-bound", "0"]) == 2
    assert "--tpot-bound" in capsys.readouterr().err


# ---- invariants on random streams ------------------------------------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

streams = st.lists(st.tuples(st.floats(0, 20), st.integers(1, 40), st.integers(1, 12)), min_size=1, max_size=25)


@settings(max_examples=60, deadline=None)
@given(streams, st.integers(1, 6), st.sampled_from([8, 32, 1000]),
       st.sampled_from(["orca", "vllm-v0", "sarathi", "vllm"]), st.sampled_from([None, 8, 20]))
def test_every_token_is_computed_once_unless_preempted(stream, max_batch, max_tokens, policy, blocks):
    a, p, o = (np.array(x) for x in zip(*stream))
    r = Requests(a, p, o)
    sched = SchedulerConfig(max_batch=max_batch, max_tokens=max_tokens, policy=policy,
                            block_size=4, num_blocks=blocks)
    if blocks is not None and np.max(-(-(p + o) // 4)) > blocks:
        with pytest.raises(ValueError, match="KV-cache blocks"):
            simulate(r, LinearStepCost(base_s=0.1, per_token_s=0.01), sched)
        return
    res = simulate(r, LinearStepCost(base_s=0.1, per_token_s=0.01), sched)
    tokens = res.timeline[:, 2].sum()
    needed = r.prompt_tokens.sum() + (r.output_tokens - 1).sum()
    if res.preemptions.sum() == 0:
        assert tokens == needed
    else:
        assert tokens > needed
    assert np.all(res.first_token_s >= res.requests.arrival_s + 0.1 - 1e-9)
    assert np.all(res.finish_s >= res.first_token_s)
    assert np.all(res.timeline[:, 1] <= max_batch)
    assert np.all(np.diff(res.timeline[:, 0]) > 0)
    if blocks is not None:
        assert res.timeline[:, 3].max() <= blocks


# ---- named policies (issue 27): hand-computed timelines, Vidur's scheduler rules -----------
def test_vllm_v0_runs_prefill_only_iterations():
    """As test_a_late_arrival... but vLLM v0: r2's prefill runs alone, the decodes wait.

    it1 [0, 1.8]: prefill r0 + r1.  it2 [1.8, 3.2]: prefill r2 only (1 + 0.1 * 4).
    it3 [3.2, 4.5]: decode r0, r1, r2 (all reach O = 2).
    """
    res = simulate(reqs([0, 0, 0.5], 4, 2), LinearStepCost(base_s=1.0, per_token_s=0.1),
                   SchedulerConfig(policy="vllm-v0"))
    np.testing.assert_allclose(res.first_token_s, [1.8, 1.8, 3.2])
    np.testing.assert_allclose(res.finish_s, [4.5, 4.5, 4.5])
    np.testing.assert_allclose(res.timeline[:, 1:3], [[2, 8], [1, 4], [3, 3]])
    orca = simulate(reqs([0, 0, 0.5], 4, 2), LinearStepCost(base_s=1.0, per_token_s=0.1))
    np.testing.assert_allclose(orca.first_token_s, [1.8, 1.8, 3.4])      # mixed batch: later TTFT
    np.testing.assert_allclose(orca.finish_s, [3.4, 3.4, 4.5])           # but earlier decodes


def test_sarathi_and_vllm_chunk_decode_first():
    """Two 20-token prompts, O = 3, budget 8: decodes first, then chunks fill the budget.

    it1-2: r0 chunks 8, 8.  it3: r0's last 4 + r1's first 4 (r0's first token at 3).
    it4-5: r0 decodes (done at 5) + r1 chunks of 7.  it6: r1's last 2 (first token at 6).
    it7-8: r1 decodes (done at 8).
    """
    for policy in ("sarathi", "vllm"):
        res = simulate(reqs([0, 0], 20, 3), LinearStepCost(base_s=1.0),
                       SchedulerConfig(max_tokens=8, policy=policy))
        assert res.timeline[:, 2].tolist() == [8, 8, 8, 8, 8, 2, 1, 1], policy
        np.testing.assert_allclose(res.first_token_s, [3, 6])
        np.testing.assert_allclose(res.finish_s, [5, 8])
    legacy = simulate(reqs([0, 0], 20, 3), LinearStepCost(base_s=1.0),
                      SchedulerConfig(max_tokens=8, chunked_prefill=True))
    assert legacy.timeline[:, 2].tolist() == [8, 8, 8, 8, 8, 2, 1, 1]


def test_policy_defaults_and_errors():
    assert SchedulerConfig(chunked_prefill=True).policy == "sarathi"
    assert SchedulerConfig(policy="vllm").chunked_prefill and not SchedulerConfig(policy="orca").chunked_prefill
    with pytest.raises(ValueError, match="policy must be one of"):
        SchedulerConfig(policy="fifo")
    with pytest.raises(ValueError, match="vllm-v0"):
        SchedulerConfig(policy="vllm-v0", chunked_prefill=True)
    kw = dict(rate=0.5, requests=3, prompt_len=32, output_len=2, seed=0, score_model="roofline")
    for policy, budget in (("sarathi", 512), ("vllm", 8192), ("orca", 8192), ("vllm-v0", 8192)):
        info = serve("tpuv1-like", "llama-3.2-1b", policy=policy, **kw).summary()["scheduler"]
        assert (info["policy"], info["max_tokens"]) == (policy, budget)
    with pytest.raises(ValueError, match="policy must be one of"):
        serve("tpuv1-like", "llama-3.2-1b", policy="x", **kw)


def test_cli_policy_flag(capsys):
    rc = main(["serve", "--hw", "tpuv1-like", "--workload", "llama-3.2-1b", "--rate", "0.5", "--requests", "3",
               "--prompt-len", "32", "--output-len", "2", "--policy", "vllm-v0", "--model", "roofline",
               "--no-progress", "--json"])
    assert rc == 0
    assert json.loads(capsys.readouterr().out)["scheduler"]["policy"] == "vllm-v0"
    with pytest.raises(SystemExit) as e:
        main(["serve", "--hw", "tpuv1-like", "--workload", "llama-3.2-1b", "--rate", "1", "--policy", "fifo"])
    assert e.value.code == 2
