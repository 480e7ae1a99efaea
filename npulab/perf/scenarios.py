"""MLPerf-style scenarios for LLM serving: single-stream, server, offline (K-Perf style).

Each scenario runs the serving simulator (:mod:`npulab.perf.serving`) on a preset with
MLPerf Inference's meaning (Reddi et al., "MLPerf Inference Benchmark", ISCA 2020; MLPerf
Inference rules, LLM benchmarks), so presets are ranked by the same rules:

* **single-stream**: one request at a time, the next sent when the previous finishes;
  the metric is the 90th-percentile request latency (with TTFT and TPOT beside it).
* **offline**: every request available at t = 0; the metric is throughput (tokens/s).
* **server**: requests arrive as a Poisson process; the metric is the **highest rate**
  (requests/s) whose p99 TTFT and p99 TPOT stay within bounds.  Defaults are MLPerf's
  Llama-2-70B server constraints, TTFT 2 s and TPOT 200 ms (MLCommons inference docs,
  "MLPerf Inference Benchmarks", Sec. 5.1, also used for Mixtral-8x7B).

The server search brackets the rate between 0 and the offline throughput (no server
sustains more), then narrows it in ``rounds`` rounds of ``points`` rates each, evaluated in
parallel (a local process pool by default, or a Dask cluster, as :func:`npulab.perf.sweep.run_sweep`);
every candidate rate uses the same seed (common random numbers), so the result is
deterministic whatever the executor.

Units: seconds, requests/s, tokens/s.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

#: Scenario names (MLPerf's).
SCENARIOS = ("single-stream", "server", "offline")
#: MLPerf Inference Llama-2-70B server latency constraints (p99): TTFT 2 s, TPOT 200 ms.
MLPERF_TTFT_S = 2.0
MLPERF_TPOT_S = 0.2


def _run_rates(task: dict, rates: list) -> list:
    """Serve at each rate (a pure function of its arguments: runs on any worker)."""
    from npulab.perf.serving import serve

    ttft, tpot = _slo_of(task)
    return [serve(rate=r, **_strip(task)).summary(ttft, tpot) for r in rates]


def _slo_of(task: dict):
    """The ``(TTFT, TPOT)`` bounds a task carries for goodput (MLPerf's by default)."""
    return task.get("_slo", (MLPERF_TTFT_S, MLPERF_TPOT_S))


def _strip(task: dict) -> dict:
    return {k: v for k, v in task.items() if not k.startswith("_")}


def map_rates(task: dict, rates, *, executor: str = "serial", workers: int = 2,
              address: str | None = None, progress: bool = False) -> list:
    """Serve ``task`` at every rate: one summary dict per rate, in order (same for every executor).

    ``task`` holds :func:`npulab.perf.serving.serve`'s keyword arguments (without ``rate``);
    ``progress`` shows a tqdm bar over the rates as they finish.
    """
    if address:
        executor = "dask"
    if executor not in ("serial", "process", "dask"):
        raise ValueError(f"executor must be 'serial', 'process' or 'dask'; got {executor!r}")
    rates = [float(r) for r in rates]
    slo = _slo_of(task)
    clean = _strip(task)
    call = {**clean, "_slo": slo}
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(rates), desc="rates", unit="rate")
    try:
        if executor == "serial" or len(rates) == 1:
            out = []
            for r in rates:
                out += _run_rates(call, [r])
                if bar is not None:
                    bar.update(1)
            return out
        if executor == "process":
            from concurrent.futures import ProcessPoolExecutor, as_completed

            with ProcessPoolExecutor(max_workers=workers) as pool:
                futures = [pool.submit(_run_rates, call, [r]) for r in rates]
                for _ in as_completed(futures):
                    if bar is not None:
                        bar.update(1)
                return [f.result()[0] for f in futures]
        if not address:
            raise ValueError("executor 'dask' needs a scheduler address (e.g. tcp://127.0.0.1:8786)")
        from npulab.perf.dask_client import dask_client

        with dask_client(address, "20s") as client:   # the run's client if one is open
            futures = [client.submit(_run_rates, call, [r], pure=False) for r in rates]
            if bar is not None:
                from distributed import as_completed as dask_completed

                for _ in dask_completed(futures):
                    bar.update(1)
            return [f.result()[0] for f in futures]
    finally:
        if bar is not None:
            bar.close()


def meets(summary: dict, ttft_s: float, tpot_s: float) -> bool:
    """Whether a run's p99 TTFT and p99 TPOT are within the bounds."""
    tpot = summary["tpot_s"]["p99"]
    return summary["ttft_s"]["p99"] <= ttft_s and (tpot is None or tpot <= tpot_s)


@dataclass(frozen=True)
class ScenarioResult:
    """One scenario on one (workload, preset): its metric and the run behind it."""

    scenario: str
    workload: str
    hardware: str
    metric: str
    value: float
    unit: str
    summary: dict = field(default_factory=dict)
    note: str = ""

    def row(self) -> dict:
        """One flat table row: the scenario's metric and value, and from the serving summary
        the p99 TTFT / TPOT (s), throughput (tokens/s) and request rate (requests/s); None
        where the run has none."""
        s = self.summary or {}
        pick = lambda k, q="p99": (s.get(k) or {}).get(q) if isinstance(s.get(k), dict) else None  # noqa: E731
        return {"scenario": self.scenario, "workload": self.workload, "hardware": self.hardware,
                "metric": self.metric, "value": self.value, "unit": self.unit,
                "ttft_p99_s": pick("ttft_s"), "tpot_p99_s": pick("tpot_s"),
                "throughput_tokens_per_s": s.get("throughput_tokens_per_s"),
                "requests_per_s": s.get("requests_per_s"), "note": self.note}


def single_stream(workload, hardware, *, prompt_len: int = 2048, output_len: int = 128,
                  requests: int = 8, **serve_kwargs) -> ScenarioResult:
    """MLPerf single-stream: requests back to back, one at a time; metric p90 latency (s)."""
    from npulab.perf.serving import Requests, SchedulerConfig, simulate

    cost = serve_kwargs.pop("cost", None) or _cost(workload, hardware, serve_kwargs)
    reqs = Requests(np.zeros(requests), np.full(requests, prompt_len), np.full(requests, output_len))
    res = simulate(reqs, cost, SchedulerConfig(max_batch=1, max_tokens=max(prompt_len, 1),
                                               block_size=serve_kwargs.get("block_size", 16)))
    issued = np.concatenate([[0.0], res.finish_s[:-1]])               # each query sent when the last ends
    service = res.finish_s - issued                                    # latency of each query
    s = res.summary(*serve_kwargs.get("_slo", (MLPERF_TTFT_S, MLPERF_TPOT_S)))
    s["ttft_s"] = _pcts(res.first_token_s - issued)                    # from issue, not from t = 0
    s["e2e_s"] = _pcts(service)
    s["latency_s"] = _pcts(service)
    name, hw = _names(cost)
    return ScenarioResult("single-stream", name, hw, "p90 latency", s["latency_s"]["p90"], "s", s)


def _pcts(x) -> dict:
    out = {f"p{q}": float(np.percentile(x, q)) for q in (50, 90, 99)}
    out["mean"] = float(np.mean(x))
    return out


def offline(workload, hardware, *, prompt_len: int = 2048, output_len: int = 128,
            requests: int = 256, **serve_kwargs) -> ScenarioResult:
    """MLPerf offline: every request at t = 0; metric output tokens per second."""
    from npulab.perf.serving import serve

    kw = _serve_kwargs(serve_kwargs)
    cost = kw.pop("cost", None) or _cost(workload, hardware, serve_kwargs)
    from npulab.perf.serving import Requests

    at_once = Requests(np.zeros(requests), np.full(requests, prompt_len), np.full(requests, output_len))
    for k in ("rate", "seed", "prompt_len", "output_len", "requests", "trace"):
        kw.pop(k, None)
    res = serve(hardware, workload, trace=at_once, cost=cost, **kw)     # every request at t = 0
    s = res.summary(*serve_kwargs.get("_slo", (MLPERF_TTFT_S, MLPERF_TPOT_S)))
    name, hw = _names(cost)
    return ScenarioResult("offline", name, hw, "throughput", s["throughput_tokens_per_s"], "tokens/s", s)


def server(workload, hardware, *, prompt_len: int = 2048, output_len: int = 128,
           requests: int = 500, seed: int = 0, ttft_s: float = MLPERF_TTFT_S,
           tpot_s: float = MLPERF_TPOT_S, rounds: int = 3, points: int = 6,
           executor: str = "serial", workers: int = 2, address: str | None = None,
           **serve_kwargs) -> ScenarioResult:
    """MLPerf server: the highest Poisson rate with p99 TTFT <= ``ttft_s`` and p99 TPOT <= ``tpot_s``.

    Returns a :class:`ScenarioResult` whose ``value`` is that rate (requests/s; 0 with a
    note when even the lowest rate misses a bound) and whose ``summary`` is the run at it.
    """
    for nm, v in (("ttft_s", ttft_s), ("tpot_s", tpot_s)):
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not v > 0:
            raise ValueError(f"server scenario bound {nm} must be > 0 seconds; got {v!r}")
    if rounds < 1 or points < 2:
        raise ValueError(f"server search needs rounds >= 1 and points >= 2; got {rounds}, {points}")
    cap = offline(workload, hardware, prompt_len=prompt_len, output_len=output_len,
                  requests=min(requests, 256), **dict(serve_kwargs, _slo=(ttft_s, tpot_s)))
    capacity = cap.summary["requests_per_s"]
    task = dict(_serve_kwargs(serve_kwargs), hardware=hardware, workload=workload,
                prompt_len=prompt_len, output_len=output_len, requests=requests, seed=seed,
                _slo=(ttft_s, tpot_s))
    lo, lo_summary, hi = 0.0, None, capacity
    for _round in range(rounds):
        grid = [lo + (hi - lo) * (k + 1) / (points + 1) for k in range(points)] if lo > 0 else \
            [hi * 2.0 ** -(points - 1 - k) * (points / (points + 1)) for k in range(points)]
        runs = map_rates(task, grid, executor=executor, workers=workers, address=address)
        ok = [i for i, s in enumerate(runs) if meets(s, ttft_s, tpot_s)]
        if ok:
            best = ok[-1]
            lo, lo_summary = grid[best], runs[best]
            hi = grid[best + 1] if best + 1 < len(grid) else hi
        else:
            hi = grid[0]
    name, hw = _names(_cost(workload, hardware, serve_kwargs)) if lo_summary is None else \
        (lo_summary.get("workload", str(workload)), lo_summary.get("hardware", str(hardware)))
    if lo_summary is None:
        return ScenarioResult("server", name, hw, "max rate within p99 bounds", 0.0, "requests/s", {},
                              note=f"no rate down to {hi:.3g} req/s meets p99 TTFT <= {ttft_s:g} s "
                                   f"and TPOT <= {tpot_s:g} s")
    lo_summary["search"] = {"capacity_requests_per_s": capacity, "upper_bound": hi, "rounds": rounds,
                            "points": points}
    return ScenarioResult("server", name, hw, "max rate within p99 bounds", lo, "requests/s", lo_summary)


def _serve_kwargs(kw: dict) -> dict:
    return {k: v for k, v in kw.items() if not k.startswith("_")}


def _cost(workload, hardware, kw: dict):
    from npulab.perf.serving import ScorecardStepCost

    return ScorecardStepCost(workload, hardware, weight_format=kw.get("weight_format"),
                             kv_format=kw.get("kv_format"), group_size=kw.get("group_size"),
                             context_bucket=kw.get("context_bucket", 16),
                             score_model=kw.get("score_model", "engine"))


def _names(cost) -> tuple:
    model = getattr(cost, "model", None)
    preset = getattr(cost, "preset", None)
    return (getattr(model, "name", "") or "llm", getattr(preset, "name", "") or "")


def run_scenario(scenario: str, workloads, hardware, *, progress: bool = False, **kwargs) -> list:
    """Run one scenario on every (LLM workload, preset); a list of :class:`ScenarioResult`.

    Non-LLM workloads and presets whose engine is missing are returned with ``value`` NaN
    and a ``note`` saying why.
    """
    from npulab.perf.dask_client import dask_client
    from npulab.perf.presets import available_presets, load_preset
    from npulab.perf.scoring import EngineUnavailable
    from npulab.workloads.llm import from_config

    if scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {', '.join(SCENARIOS)}; got {scenario!r}")
    run = {"single-stream": single_stream, "server": server, "offline": offline}[scenario]
    presets = [load_preset(h) for h in (hardware or available_presets())]
    pairs = [(w, p) for w in workloads for p in presets]
    if progress:
        from tqdm.auto import tqdm

        pairs = tqdm(pairs, desc=f"scenario {scenario}", unit="run")
    out = []
    with dask_client(kwargs.get("address"), "20s"):   # one client for every pair and round
        for w, p in pairs:
            try:
                from_config(w)
            except (ValueError, FileNotFoundError):
                out.append(ScenarioResult(scenario, str(w), p.name, "", math.nan, "", {},
                                          note=f"{w}: scenarios apply to LLM workloads"))
                continue
            try:
                out.append(run(w, p, **kwargs))
            except EngineUnavailable as err:
                out.append(ScenarioResult(scenario, str(w), p.name, "", math.nan, "", {}, note=str(err)))
            except ValueError as err:   # e.g. the weights do not fit the preset's memory
                out.append(ScenarioResult(scenario, str(w), p.name, "", math.nan, "", {}, note=str(err)))
    return out


def table(results: list) -> str:
    """A text table of scenario results, best first within each workload."""
    if not results:
        return "(no results)"
    def key(r):                       # higher is better, except single-stream latency
        return r.value if r.scenario != "single-stream" else -r.value

    rows = sorted(results, key=lambda r: (r.workload, 0 if r.value == r.value else 1, -key(r)
                                          if r.value == r.value else 0))
    from npulab.metrics.report import render_table

    head = ("workload", "hardware", "scenario", "metric", "value", "TTFT p99", "TPOT p99", "tokens/s", "note")
    fmt = lambda v, u="": "-" if v is None or v != v else f"{v:.4g}{u}"  # noqa: E731
    cells = []
    for r in rows:
        d = r.row()
        cells.append((r.workload, r.hardware, r.scenario, r.metric, fmt(r.value, " " + r.unit),
                      fmt(d["ttft_p99_s"], " s"), fmt(d["tpot_p99_s"], " s"),
                      fmt(d["throughput_tokens_per_s"]), r.note))
    return render_table(head, cells)


__all__ = ["SCENARIOS", "MLPERF_TTFT_S", "MLPERF_TPOT_S", "single_stream", "offline", "server",
           "run_scenario", "map_rates", "meets", "ScenarioResult", "table"]
