"""Score one workload on one hardware preset: run its engine, then apply the roofline.

Every engine (``npulab.systolic``, ``npulab.pim``, ``npulab.snn``) exposes
``estimate(layer, <config>, ..., energy=EnergyTable()) -> Report`` for one layer.
:func:`score` runs it on each distinct layer of a workload (a network topology or an LLM
phase), multiplies by how often the layer repeats, and sums latency, energy and MACs
(layers run one after another).  Then it applies the **memory-bound rule** (Williams et al.,
CACM 2009; as in LLM-Viewer and LLMCompass): a run cannot finish faster than its off-chip
bytes take at the preset's bandwidth, and it spends at least that many DRAM accesses::

    latency = max(sum of engine latencies, bytes_moved / dram_bytes_per_s)
    E_dram  = max(engine's DRAM energy, bytes_moved * dram_pJ_per_byte)

Weight formats: an LLM's ``weight_format`` (int4, fp8, ...) sets the weight bytes of the
roofline floor and of the DRAM-energy floor; the engines themselves count traffic at their
array precision (int8 on the bundled presets), so a format narrower than the array's shows
its benefit only where the floor binds.

A preset's ``static_power_w`` (idle/leakage) is charged for the whole latency as energy
``"static"``; this is what makes a bigger, under-used array cost energy.

A run is reported ``bound="memory"`` when the time memory needs (the floor above, or the
DRAM stall cycles an engine reports) is at least half its latency.

``bytes_moved`` is the minimum traffic: the weights, unless they fit in the preset's
``weight_capacity_bytes`` (then they stay on chip, as in a PIM crossbar or a large SRAM),
plus the network's input and output, plus the KV cache read and written for an LLM.  So
LLM decode at batch 1 on a systolic NPU is limited by ``(weights + KV) / bandwidth``: one
token per ``bytes_per_token / bandwidth`` seconds.

To compare engines on equal terms, a Report's ``macs`` is the workload's MACs (an SNN's
synaptic operations are in ``details["engine_macs"]``), so TOPS and TOPS/W count the same
work for every engine (MLPerf's rule: the same model, the same metric).

A PIM layer that needs more crossbar tiles than the preset's ``num_arrays`` runs in
``ceil(tiles / num_arrays)`` rounds (the engine itself assumes every tile is present).

``model="roofline"`` skips the engine and returns the roofline bound alone
(``max(ops / peak, bytes / bandwidth)``, MAC + DRAM energy): useful when an engine is not
installed, and as the ideal every engine is compared with.

Units: seconds, pJ, bytes, ops/s.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from npulab.perf.presets import HardwarePreset, load_preset
from npulab.perf.report import Report
from npulab.workloads.layers import bytes_per_element

#: Bundled workload names besides topologies and LLM configs.
DIGITS_CNN = "digits-cnn"


class EngineUnavailable(RuntimeError):
    """The engine a preset needs is not installed (the scorecard skips it, with this reason)."""


@dataclass(frozen=True)
class Job:
    """What to score: a name, its distinct layers with repeat counts, bytes and units.

    Attributes
    ----------
    name : str
        Workload name.
    phase : str
        ``"prefill"``, ``"decode"`` or ``""`` (a network's inference).
    layers : tuple of (layer, int)
        Distinct layers (Gemm or Conv2d) and how often each runs.
    weight_bytes, io_bytes : float
        Weights (streamed unless they fit on chip) and unavoidable other traffic (network
        input/output, KV cache), bytes.
    inferences : int
        Tokens (LLM) or inferences the job produces.
    unit : str
        ``"token"`` or ``"inference"``.
    """

    name: str
    phase: str
    layers: tuple
    weight_bytes: float
    io_bytes: float
    inferences: int = 1
    unit: str = "inference"
    accuracy: float | None = None
    accuracy_target: float | None = None

    @property
    def macs(self) -> int:
        return sum(layer.macs * n for layer, n in self.layers)

    @property
    def label(self) -> str:
        """``name`` or ``name/phase``: how tables and skip notes name the job."""
        return self.name + (f"/{self.phase}" if self.phase else "")


def _topology_job(name, layers, precision) -> Job:
    b = bytes_per_element(precision)
    counts: dict = {}
    for layer in layers:
        key = layer if not getattr(layer, "name", "") else type(layer)(
            **{k: v for k, v in layer.__dict__.items() if k != "name"})
        counts[key] = counts.get(key, 0) + 1
    weights = sum(layer.operand_elements()["filter"] for layer in layers) * b
    io = (layers[0].operand_elements()["ifmap"] + layers[-1].operand_elements()["ofmap"]) * b
    return Job(name=name, phase="", layers=tuple(counts.items()), weight_bytes=weights, io_bytes=io)


def _llm_job(phase_obj) -> Job:
    layers = tuple((g, n) for g, n, _ in phase_obj.gemms)
    return Job(name=phase_obj.name, phase=phase_obj.phase, layers=layers,
               weight_bytes=phase_obj.weight_bytes,
               io_bytes=phase_obj.kv_read_bytes + phase_obj.kv_write_bytes,
               inferences=phase_obj.tokens, unit="token")


def workload_names() -> list[str]:
    """Bundled workloads: topologies (edge CNNs, ViT), LLM configs and ``digits-cnn``."""
    from npulab import datasets

    names = [Path(n).stem for n in datasets.available()
             if (n.startswith("topologies/") and n.endswith(".csv")) or
             (n.startswith("llm/") and n.endswith(".json"))]
    return sorted(names) + [DIGITS_CNN]


def make_jobs(workload, *, phases=None, seq_len: int = 2048, batch: int = 1,
              precision: str = "int8", weight_format: str | None = None,
              group_size: int | None = None, kv_format: str | None = None) -> list[Job]:
    """Turn a workload (name, file, LLM model/phase, or list of layers) into :class:`Job` s.

    An LLM gives one job per phase (default both ``prefill(seq_len, batch)`` and
    ``decode(seq_len, batch)``); weights and KV cache default to ``precision``.
    """
    from npulab import datasets
    from npulab.workloads import load_topology
    from npulab.workloads.llm import DecoderLM, LLMPhase, from_config

    if isinstance(workload, Job):
        return [workload]
    if isinstance(workload, LLMPhase):
        return [_llm_job(workload)]
    if isinstance(workload, (list, tuple)):
        return [_topology_job("workload", list(workload), precision)]
    if hasattr(workload, "macs") and hasattr(workload, "operand_elements"):
        return [_topology_job(getattr(workload, "name", "") or "layer", [workload], precision)]
    model = workload if isinstance(workload, DecoderLM) else None
    if model is None:
        spec = str(workload)
        if spec == DIGITS_CNN:
            return [digits_job(precision, weight_bits=int(8 * bytes_per_element(precision)))]
        p = Path(spec)
        bundled = datasets.available()
        if not p.exists() and f"topologies/{spec}.csv" in bundled:
            p = datasets.path(f"topologies/{spec}.csv")
        elif not p.exists() and f"llm/{spec}.json" in bundled:
            p = datasets.path(f"llm/{spec}.json")
        elif not p.exists():
            raise ValueError(f"unknown workload {spec!r} (bundled: {', '.join(workload_names())}; "
                             "or a SCALE-Sim .csv / LLM config .json file)")
        if p.suffix == ".csv":
            return [_topology_job(p.stem, load_topology(p), precision)]
        model = from_config(p)
    phases = phases or ("prefill", "decode")
    wf, kf = weight_format or precision, kv_format or precision
    jobs = []
    for ph in phases:
        if ph not in ("prefill", "decode"):
            raise ValueError(f"phase must be 'prefill' or 'decode'; got {ph!r}")
        step = getattr(model, ph)  # DecoderLM.prefill or DecoderLM.decode
        jobs.append(_llm_job(step(seq_len, batch, weight_format=wf, group_size=group_size, kv_format=kf)))
    return jobs


def digits_job(precision: str = "int8", weight_bits: int = 8) -> Job:
    """The runnable small CNN on the bundled digits: layers, and accuracy with quantised weights.

    Accuracy is measured on the 360 test images with every weight rounded to a symmetric
    per-tensor ``weight_bits`` grid; the target is 99% of the FP32 model's accuracy
    (MLPerf's 99% rule).  This is the same for every engine at the same weight precision:
    the analog noise of a PIM crossbar (``npulab.pim``) and the rate-coding loss of a
    converted SNN (``npulab.snn``) are measured in Labs 05-06, not here.
    """
    acc, acc_fp32, layers = _digits_accuracy(weight_bits)
    job = _topology_job(DIGITS_CNN, layers, precision)
    return Job(name=job.name, phase="", layers=job.layers, weight_bytes=job.weight_bytes,
               io_bytes=job.io_bytes, accuracy=acc, accuracy_target=round(0.99 * acc_fp32, 6))


def _digits_accuracy(weight_bits: int):
    import copy

    import torch

    from npulab import datasets
    from npulab.workloads import from_torch

    _, _, x_test, y_test = datasets.load_digits()
    model = datasets.digits_model("cnn", pretrained=True)
    x = torch.as_tensor(x_test, dtype=torch.float32)  # [360, 64]; the model unflattens
    layers = from_torch(model, x[:1])
    with torch.no_grad():
        acc_fp32 = float((model(x).argmax(1).numpy() == y_test).mean())
        q = copy.deepcopy(model)
        qmax = 2 ** (weight_bits - 1) - 1
        for p in q.parameters():
            if p.dim() > 1:
                scale = p.abs().max() / qmax
                p.copy_(torch.round(p / scale).clamp(-qmax, qmax) * scale)
        acc = float((q(x).argmax(1).numpy() == y_test).mean())
    return acc, acc_fp32, layers


def _estimate(preset: HardwarePreset, layer):
    """One layer on the preset's engine -> the engine's Report."""
    try:
        module = importlib.import_module(f"npulab.{preset.engine}")
        estimate = getattr(module, "estimate")
    except (ImportError, AttributeError) as err:
        raise EngineUnavailable(
            f"engine npulab.{preset.engine}.estimate is not available ({err.__class__.__name__}: {err})"
        ) from None
    c, e = preset.config, preset.energy
    if preset.engine == "systolic":
        return estimate(layer, c["array"], c["memory"], energy=e)
    if preset.engine == "pim":
        return estimate(layer, c["crossbar"], energy=e)
    return estimate(layer, c["core"], spike_rate=preset.spike_rate, timesteps=preset.timesteps,
                    energy=e)


def score(workload, hardware, *, model: str = "engine", phase: str | None = None, **job_kwargs):
    """Score ``workload`` on ``hardware``: one :class:`~npulab.perf.Report` (per phase).

    Parameters
    ----------
    workload : str, Path, Job, LLMPhase, DecoderLM, layer or list of layers
        A bundled name (``"resnet18"``, ``"llama-3.1-8b"``, ``"digits-cnn"``), a file, or objects.
    hardware : str, Path or HardwarePreset
        A preset name (``"tpuv1-like"``) or file.
    model : {"engine", "roofline"}, default "engine"
        Run the preset's engine, or only the roofline bound.
    phase : {"prefill", "decode"}, optional
        For LLMs; without it a DecoderLM or name gives a list of two Reports.
    **job_kwargs
        ``seq_len``, ``batch``, ``weight_format``, ``group_size``, ``kv_format`` (see :func:`make_jobs`).

    Returns
    -------
    Report or list of Report
        One Report when the workload has one phase (or ``phase`` is given), else a list.

    Raises
    ------
    EngineUnavailable
        When the engine is not installed (and ``model="engine"``).
    """
    preset = load_preset(hardware)
    job_kwargs.setdefault("precision", preset.precision)
    jobs = make_jobs(workload, phases=(phase,) if phase else None, **job_kwargs)
    reports = [score_job(job, preset, model=model) for job in jobs]
    return reports[0] if len(reports) == 1 else reports


def score_job(job: Job, preset: HardwarePreset, *, model: str = "engine") -> Report:
    """Score one :class:`Job` on one preset (see the module docstring for the rules)."""
    if model not in ("engine", "roofline"):
        raise ValueError(f"score model must be 'engine' or 'roofline'; got {model!r}")
    e = preset.energy
    resident = job.weight_bytes <= preset.weight_capacity_bytes
    bytes_moved = job.io_bytes + (0.0 if resident else job.weight_bytes)
    memory_time = bytes_moved / preset.dram_bytes_per_s
    macs = job.macs
    if model == "roofline":
        compute_time = 2 * macs / preset.peak_ops_per_s
        latency, breakdown, engine_macs = compute_time, {"compute": macs * e.mac_pJ("int8")}, macs
        engine_name = f"{preset.engine} (roofline)"
    else:
        latency, breakdown, engine_macs, compute_time = 0.0, {}, 0, 0.0
        for layer, n in job.layers:
            r = _estimate(preset, layer)
            layer_latency = r.latency_s
            if preset.engine == "pim":  # more tiles than arrays: run the layer in rounds
                layer_latency *= -(-r.details["tiles"] // preset.config["num_arrays"])
            latency += layer_latency * n
            stall = r.details.get("stall_cycles", 0) / r.clock_hz if r.clock_hz else 0.0
            compute_time += (layer_latency - stall) * n
            engine_macs += r.macs * n
            for key, value in r.energy_breakdown_pJ.items():
                breakdown[key] = breakdown.get(key, 0.0) + value * n
        engine_name = preset.engine
    engine_latency = latency
    latency = max(latency, memory_time)
    # memory-bound: the time memory needs (the roofline floor, or the engine's DRAM stalls)
    # is at least half of the run
    bound = "memory" if max(memory_time, latency - compute_time) >= 0.5 * latency else "compute"
    breakdown["dram"] = max(breakdown.get("dram", 0.0), bytes_moved * e.dram_pJ_per_byte)
    if preset.static_power_w:
        breakdown["static"] = preset.static_power_w * latency * 1e12  # W x s -> pJ
    return Report(
        name=job.name, engine=engine_name, macs=macs, latency_s=latency,
        energy_breakdown_pJ=breakdown,
        utilization=min(1.0, 2 * macs / latency / preset.peak_ops_per_s),
        peak_ops_per_s=preset.peak_ops_per_s, accuracy=job.accuracy,
        accuracy_target=job.accuracy_target, inferences=job.inferences,
        hardware=preset.name, phase=job.phase, bytes_moved=bytes_moved,
        mem_bandwidth_bytes_per_s=preset.dram_bytes_per_s, unit=job.unit,
        details={"bound": bound, "engine_latency_s": engine_latency, "compute_time_s": compute_time, "memory_time_s": memory_time,
                 "engine_macs": engine_macs, "weights_on_chip": resident,
                 "weight_bytes": job.weight_bytes,
                 "ridge_point_ops_per_byte": preset.roofline.ridge_point},
    )
