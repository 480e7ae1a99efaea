"""``npulab plan``: the search finds the fewest devices meeting the SLOs, on every executor."""

import pytest

from npulab.cli import main
from npulab.perf.plan import plan, replica_shapes
from npulab.workloads.llm import from_config


def test_replica_shapes_respect_heads_layers_and_experts():
    shapes = replica_shapes(from_config("mixtral-8x7b"), 8)
    assert (8, 1, 8) in shapes and (2, 4, 2) in shapes
    assert all(tp * pp <= 8 and tp % ep == 0 for tp, pp, ep in shapes)
    assert all(ep == 1 for _, _, ep in replica_shapes(from_config("llama-3.1-8b"), 8))


def test_plan_finds_the_fewest_devices_and_bisection_is_consistent():
    kw = dict(
        rate=40.0,
        slo_ttft_s=0.5,
        slo_tpot_s=0.05,
        max_devices=8,
        prompt_len=128,
        output_len=16,
        requests=80,
        score_model="roofline",
    )
    res = plan("llama-3.2-1b", "h100-sxm", **kw)
    assert res.best is not None and res.layouts >= 15
    assert res.simulated < res.layouts
    best = res.best
    # nothing that meets the SLO uses fewer devices
    assert all(p["devices"] >= best["devices"] for p in res.points if p["status"] == "meets")
    # monotone in dp: within a shape, every dp above a passing one passes
    for shape in {(p["tp"], p["pp"], p["ep"]) for p in res.points}:
        st = [p["status"] == "meets" for p in res.points if (p["tp"], p["pp"], p["ep"]) == shape]
        assert st == sorted(st)
    assert plan("llama-3.2-1b", "h100-sxm", executor="process", **kw).to_dict() == res.to_dict()
    pytest.importorskip("distributed")
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp://",
                      host="127.0.0.1", dashboard_address=None) as cluster:
        dask = plan("llama-3.2-1b", "h100-sxm", address=cluster.scheduler_address, **kw)
    assert dask.to_dict() == res.to_dict()


def test_plan_cli_prints_the_answer_and_fails_in_one_line(capsys):
    rc = main(
        [
            "plan",
            "--workload",
            "llama-3.2-1b",
            "--hw",
            "h100-sxm",
            "--rate",
            "5",
            "--slo-ttft",
            "1",
            "--slo-tpot",
            "0.1",
            "--max-devices",
            "2",
            "--requests",
            "40",
            "--model",
            "roofline",
            "--workers",
            "1",
            "--no-progress",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0 and "cheapest: 1 x h100-sxm" in out
    assert (
        main(
            [
                "plan",
                "--workload",
                "llama-3.2-1b",
                "--hw",
                "h100-sxm",
                "--rate",
                "0",
                "--slo-ttft",
                "1",
                "--slo-tpot",
                "0.1",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--rate must be > 0" in err


def test_scorecard_and_serve_take_layout_flags(capsys):
    assert (
        main(
            [
                "scorecard",
                "--workload",
                "llama-3.1-70b",
                "--hw",
                "h100-sxm",
                "--tp",
                "4",
                "--phase",
                "decode",
                "--seq-len",
                "512",
                "--model",
                "roofline",
            ]
        )
        == 0
    )
    assert "4x h100-sxm" in capsys.readouterr().out
    assert (
        main(
            [
                "scorecard",
                "--workload",
                "llama-3.1-70b",
                "--hw",
                "h100-sxm",
                "--tp",
                "1",
                "--devices",
                "1",
                "--phase",
                "decode",
            ]
        )
        == 2
    )
    assert "does not fit" in capsys.readouterr().err
    assert (
        main(
            [
                "serve",
                "--workload",
                "llama-3.1-70b",
                "--hw",
                "h100-sxm",
                "--devices",
                "8",
                "--tp",
                "4",
                "--rate",
                "1",
                "--requests",
                "20",
                "--prompt-len",
                "64",
                "--output-len",
                "4",
                "--model",
                "roofline",
                "--no-progress",
                "--json",
            ]
        )
        == 0
    )
    assert '"dp": 2' in capsys.readouterr().out
