"""Capacity planning: the fewest devices whose layout serves a request rate within TTFT/TPOT SLOs.

:func:`plan` searches layouts (:class:`npulab.perf.parallel.Layout`) of up to ``max_devices``
devices: every replica shape ``(tp, pp, ep)`` (powers of two that divide the model's heads,
layers and experts) times every replica count ``dp``.  For each shape it

1. checks that the weights fit one device (:func:`~npulab.perf.parallel.check_fits`);
2. checks the idle bounds: one prompt's prefill must be within the TTFT SLO and one decode
   step within the TPOT SLO, or no ``dp`` can help;
3. finds the smallest ``dp`` that meets both SLOs at p99 by simulating one replica at
   ``rate / dp`` (:func:`npulab.perf.serving.serve`): a galloping search from ``dp = 1``
   (1, 2, 4, ...) then bisection, since a replica's latency
   falls as its share of the load falls (every ``dp`` above a passing one passes, every one
   below a failing one fails; those layouts are decided without a simulation).

Each shape's step costs are cached once and shared by all its simulations.  Shapes run on a
local process pool or a Dask cluster (``executor="dask"``, ``address``), like
:func:`npulab.perf.sweep.run_sweep`; the result is the same for every executor.

The answer is the passing layout with the fewest devices (ties: lower p99 TTFT), and the
Pareto table of devices against cluster goodput (``dp x`` a replica's goodput).

Units: seconds, requests/s.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from npulab._validate import positive_int, positive_number
from npulab.perf.parallel import Layout, check_fits, stage_model

#: Requests simulated per layout (enough for a p99 of a few hundred requests).
DEFAULT_REQUESTS = 200


def _pow2_upto(n: int) -> list:
    out, k = [], 1
    while k <= n:
        out.append(k)
        k *= 2
    return out


def replica_shapes(model, max_devices: int) -> list:
    """Every ``(tp, pp, ep)`` with ``tp * pp <= max_devices`` the model can be split into."""
    c = model.config
    shapes = []
    for tp in _pow2_upto(max_devices):
        if c.num_attention_heads % tp or (
            c.num_key_value_heads % tp and tp % c.num_key_value_heads
        ):
            continue
        for pp in _pow2_upto(max_devices // tp):
            if pp > c.num_hidden_layers:
                continue
            eps = (
                [e for e in _pow2_upto(tp) if tp % e == 0 and c.num_experts % e == 0]
                if c.is_moe
                else [1]
            )
            for ep in eps:
                shapes.append((tp, pp, ep))
    return shapes


@dataclass(frozen=True)
class PlanResult:
    """What :func:`plan` found.

    Attributes
    ----------
    best : dict or None
        The passing layout with the fewest devices (None: nothing within ``max_devices``).
    points : tuple of dict
        Every layout considered: ``tp, pp, ep, dp, devices, status`` (``"meets"``,
        ``"misses"``, ``"does not fit"``, ``"idle bound"``), ``simulated``, and for simulated
        ones the p99 TTFT/TPOT and the cluster goodput.
    pareto : tuple of dict
        Passing layouts where no other passes with fewer or equal devices and more goodput.
    """

    workload: str
    hardware: str
    rate: float
    slo_ttft_s: float
    slo_tpot_s: float
    best: dict | None
    points: tuple = field(default_factory=tuple)
    pareto: tuple = field(default_factory=tuple)

    @property
    def layouts(self) -> int:
        """Layouts considered."""
        return len(self.points)

    @property
    def simulated(self) -> int:
        """Layouts that needed a serving simulation."""
        return sum(1 for p in self.points if p["simulated"])

    def to_dict(self) -> dict:
        """The result as JSON-ready data (what ``npulab plan --json`` prints)."""
        return {
            "workload": self.workload,
            "hardware": self.hardware,
            "rate": self.rate,
            "slo_ttft_s": self.slo_ttft_s,
            "slo_tpot_s": self.slo_tpot_s,
            "best": self.best,
            "layouts": self.layouts,
            "simulated": self.simulated,
            "pareto": list(self.pareto),
            "points": list(self.points),
        }

    def table(self) -> str:
        """The answer and the Pareto table as text."""
        from npulab.metrics.report import render_table

        lines = []
        if self.best is None:
            lines.append(
                f"no layout of up to the devices searched serves {self.workload} on "
                f"{self.hardware} at {self.rate:g} req/s within TTFT <= {self.slo_ttft_s:g} s, "
                f"TPOT <= {self.slo_tpot_s:g} s"
            )
        else:
            b = self.best
            lines.append(
                f"cheapest: {b['devices']} x {self.hardware} (tp={b['tp']} pp={b['pp']} "
                f"ep={b['ep']} dp={b['dp']}): p99 TTFT {b['ttft_p99_s']:.4g} s, p99 TPOT "
                f"{b['tpot_p99_s']:.4g} s, goodput {b['goodput_per_s']:.4g} req/s"
            )
        lines.append(f"{self.layouts} layouts considered, {self.simulated} simulated")
        rows = [
            (
                p["devices"],
                p["tp"],
                p["pp"],
                p["ep"],
                p["dp"],
                f"{p['ttft_p99_s']:.4g}",
                f"{p['tpot_p99_s']:.4g}",
                f"{p['goodput_per_s']:.4g}",
            )
            for p in self.pareto
        ]
        if rows:
            lines.append("Pareto (devices vs goodput):")
            lines.append(
                render_table(
                    (
                        "devices",
                        "tp",
                        "pp",
                        "ep",
                        "dp",
                        "TTFT p99 s",
                        "TPOT p99 s",
                        "goodput req/s",
                    ),
                    rows,
                )
            )
        return "\n".join(lines)

    __str__ = table


def _point(shape, dp, status, simulated=False, summary=None, slo=None) -> dict:
    tp, pp, ep = shape
    p = {
        "tp": tp,
        "pp": pp,
        "ep": ep,
        "dp": dp,
        "devices": tp * pp * dp,
        "status": status,
        "simulated": simulated,
    }
    if summary is not None:
        p["ttft_p99_s"] = summary["ttft_s"]["p99"]
        p["tpot_p99_s"] = summary["tpot_s"]["p99"] or 0.0
        p["goodput_per_s"] = dp * summary["goodput_requests_per_s"]
    return p


def _search_shape(task: dict) -> list:
    """All points of one replica shape (one task of the pool)."""
    from npulab.perf.parallel import LayoutStepCost
    from npulab.perf.scenarios import meets
    from npulab.perf.serving import serve

    shape, max_dp = task["shape"], task["max_dp"]
    tp, pp, ep = shape
    layout = Layout(tp=tp, pp=pp, ep=ep)
    cost = LayoutStepCost(
        task["workload"],
        task["hardware"],
        layout,
        weight_format=task["weight_format"],
        kv_format=task["kv_format"],
        score_model=task["score_model"],
    )
    mem = cost.preset.memory_bytes
    try:
        if mem:
            check_fits(
                cost.full_model,
                layout,
                mem,
                hardware=cost.preset.name,
                weight_format=cost.weight_format,
                kv_format=cost.kv_format,
            )
    except ValueError:
        return [_point(shape, dp, "does not fit") for dp in range(1, max_dp + 1)]
    P, out_len = task["prompt_len"], task["output_len"]
    ttft0, tpot0 = cost(((P, P),), 0, 0), cost((), 1, P + 1)
    if ttft0 > task["slo_ttft"] or tpot0 > task["slo_tpot"]:
        return [_point(shape, dp, "idle bound") for dp in range(1, max_dp + 1)]
    results: dict = {}

    def run(dp):
        s = serve(
            task["hardware"],
            task["workload"],
            rate=task["rate"],
            requests=task["requests"],
            prompt_len=P,
            output_len=out_len,
            seed=task["seed"],
            cost=cost,
            layout=Layout(tp=tp, pp=pp, ep=ep, dp=dp),
            memory_bytes=mem or None,
            policy=task["policy"],
        ).summary(task["slo_ttft"], task["slo_tpot"])
        ok = meets(s, task["slo_ttft"], task["slo_tpot"])
        results[dp] = (ok, s)
        return ok

    # galloping search from dp = 1 (high load: big batches, few iterations, cheap to simulate),
    # then bisection between the last failing and the first passing dp
    lo, hi, dp = 1, None, 1
    while hi is None:
        if run(dp):
            hi = dp
        elif dp == max_dp:
            hi, lo = max_dp + 1, max_dp + 1
        else:
            lo, dp = dp + 1, min(2 * dp, max_dp)
    while lo < hi:
        mid = (lo + hi) // 2
        if run(mid):
            hi = mid
        else:
            lo = mid + 1
    out = []
    for dp in range(1, max_dp + 1):
        if dp in results:
            ok, s = results[dp]
            out.append(_point(shape, dp, "meets" if ok else "misses", True, s))
        else:
            out.append(_point(shape, dp, "meets" if dp >= lo else "misses"))
    return out


def plan(
    workload,
    hardware,
    *,
    rate: float,
    slo_ttft_s: float,
    slo_tpot_s: float,
    max_devices: int = 64,
    prompt_len: int = 512,
    output_len: int = 128,
    requests: int = DEFAULT_REQUESTS,
    seed: int = 0,
    policy: str = "orca",
    weight_format: str | None = None,
    kv_format: str | None = None,
    score_model: str = "engine",
    executor: str = "serial",
    workers: int = 2,
    address: str | None = None,
    progress: bool = False,
) -> PlanResult:
    """Search layouts of up to ``max_devices`` devices for the cheapest that meets the SLOs.

    Parameters
    ----------
    workload : str or DecoderLM
        An LLM (bundled name or config.json).
    hardware : str or HardwarePreset
    rate : float
        Offered load, requests/s (Poisson).
    slo_ttft_s, slo_tpot_s : float
        p99 bounds on time to first token and time per output token, s.
    max_devices : int, default 64
    prompt_len, output_len, requests, seed, policy
        The simulated traffic (:func:`npulab.perf.serving.serve`).
    weight_format, kv_format, score_model
        As :class:`~npulab.perf.serving_cost.ScorecardStepCost`.
    executor : {"serial", "process", "dask"}, default "serial"
    workers : int, default 2
    address : str, optional
        Dask scheduler address (implies ``executor="dask"``).
    progress : bool, default False
        A tqdm bar over replica shapes.

    Returns
    -------
    PlanResult
    """
    from npulab.perf.presets import load_preset
    from npulab.workloads.llm import DecoderLM, from_config

    positive_number("plan", "rate", rate)
    positive_number("plan", "slo_ttft_s", slo_ttft_s)
    positive_number("plan", "slo_tpot_s", slo_tpot_s)
    max_devices = positive_int("plan", "max_devices", max_devices)
    preset = load_preset(hardware)
    model = workload if isinstance(workload, DecoderLM) else from_config(workload)
    stage_model(model, Layout())  # a bad model fails here, once
    if address:
        executor = "dask"
    if executor not in ("serial", "process", "dask"):
        raise ValueError(f"executor must be 'serial', 'process' or 'dask'; got {executor!r}")
    shapes = replica_shapes(model, max_devices)
    base = {
        "workload": model,
        "hardware": preset,
        "rate": float(rate),
        "slo_ttft": slo_ttft_s,
        "slo_tpot": slo_tpot_s,
        "prompt_len": prompt_len,
        "output_len": output_len,
        "requests": requests,
        "seed": seed,
        "policy": policy,
        "weight_format": weight_format,
        "kv_format": kv_format,
        "score_model": score_model,
    }
    tasks = [dict(base, shape=s, max_dp=max_devices // (s[0] * s[1])) for s in shapes]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(tasks), desc="plan", unit="shape")
    if executor == "serial" or len(tasks) <= 1:
        chunks = []
        for t in tasks:
            chunks.append(_search_shape(t))
            if bar is not None:
                bar.update(1)
    elif executor == "process":
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(_search_shape, t) for t in tasks]
            chunks = []
            for f in futures:
                chunks.append(f.result())
                if bar is not None:
                    bar.update(1)
    else:
        if not address:
            raise ValueError(
                "executor 'dask' needs a scheduler address (e.g. tcp://127.0.0.1:8786)"
            )
        from npulab.perf.dask_client import dask_client

        with dask_client(address, "20s") as client:
            futures = [client.submit(_search_shape, t, pure=False) for t in tasks]
            chunks = []
            for f in futures:
                chunks.append(f.result())
                if bar is not None:
                    bar.update(1)
    if bar is not None:
        bar.close()
    points = [p for chunk in chunks for p in chunk]
    passing = [p for p in points if p["status"] == "meets" and p["simulated"]]
    best = min(passing, key=lambda p: (p["devices"], p["ttft_p99_s"]), default=None)
    pareto: list = []
    for p in sorted(passing, key=lambda p: (p["devices"], -p["goodput_per_s"])):
        if not pareto or p["goodput_per_s"] > pareto[-1]["goodput_per_s"] * (1 + 1e-9):
            pareto.append(p)
    return PlanResult(
        workload=model.name,
        hardware=preset.name,
        rate=float(rate),
        slo_ttft_s=slo_ttft_s,
        slo_tpot_s=slo_tpot_s,
        best=best,
        points=tuple(points),
        pareto=tuple(pareto),
    )


__all__ = ["plan", "PlanResult", "replica_shapes", "DEFAULT_REQUESTS"]
