"""Issue 13: ``npulab.perf.measure`` and ``scenarios`` print through the one ``render_table``."""
import inspect
import math

import pytest

from npulab.metrics.report import render_table
from npulab.perf import measure, scenarios
from npulab.perf.scenarios import ScenarioResult

ROWS = [{"workload": "llama-3.2-1b", "phase": "decode", "hardware": "cpu-local", "predicted_s": 1.2e-3,
         "measured_s": 1.3e-3, "error": -0.0769, "device": "cpu", "reps": 5, "spread": 0.12,
         "statistic": "min", "threads": 1},
        {"workload": "resnet18", "phase": None, "hardware": "cpu-local", "predicted_s": 0.05,
         "measured_s": 0.049, "error": 0.02, "device": "cpu", "reps": 5, "spread": 0.031,
         "statistic": "min", "threads": 1}]


@pytest.mark.parametrize("module", [measure, scenarios])
def test_no_hand_drawn_columns(module):
    src = inspect.getsource(module.table)
    assert "render_table" in src and ".ljust(" not in src and '"-" *' not in src


def test_measure_table_content():
    text = measure.table(ROWS)
    body, footer = text.rsplit("\n", 1)
    assert body == render_table(("workload", "phase", "hardware", "predicted", "measured", "spread", "error"),
                                [("llama-3.2-1b", "decode", "cpu-local", "1.2 ms", "1.3 ms", "12%", "-7.7%"),
                                 ("resnet18", "-", "cpu-local", "50 ms", "49 ms", "3%", "+2.0%")])
    assert footer == ("mean |error| 4.8%, max 7.7% (measured on cpu: min of 5 repetitions after a warm-up, "
                      "1 thread; spread = slowest - fastest repetition)")
    assert measure.table([]).splitlines()[0].split() == ["workload", "phase", "hardware", "predicted",
                                                          "measured", "spread", "error"]


def test_scenario_table_content_and_order():
    res = [ScenarioResult("server", "resnet18", "tpuv1-like", "", math.nan, "", {}, note="not an LLM"),
           ScenarioResult("server", "llama-3.2-1b", "tpuv1-like", "max rate", 3.2, "req/s",
                          {"ttft_s": {"p99": 0.5}, "tpot_s": {"p99": 0.05}, "throughput_tokens_per_s": 400.0})]
    head = ("workload", "hardware", "scenario", "metric", "value", "TTFT p99", "TPOT p99", "tokens/s", "note")
    assert scenarios.table(res) == render_table(head, [
        ("llama-3.2-1b", "tpuv1-like", "server", "max rate", "3.2 req/s", "0.5 s", "0.05 s", "400", ""),
        ("resnet18", "tpuv1-like", "server", "", "-", "-", "-", "-", "not an LLM")])
    assert scenarios.table([]) == "(no results)"
