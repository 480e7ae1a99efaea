"""Score one workload on one hardware preset: run its engine, then apply the roofline.

Every engine (``npulab.systolic``, ``npulab.pim``, ``npulab.snn``, ...) exposes the engine
contract ``estimate(layer, hw, *, energy=None) -> Report`` for one layer; the preset's
``engine`` kind picks it from the registry :data:`npulab.perf.engines.ENGINES` and its
typed ``config`` is the ``hw``.
:func:`score` runs it on each distinct layer of a workload (a network topology or an LLM
phase), multiplies by how often the layer repeats, and sums latency, energy and MACs
(layers run one after another).  Then it applies the **memory-bound rule** (Williams et al.,
CACM 2009; as in LLM-Viewer and LLMCompass): a run cannot finish faster than its off-chip
bytes take at the preset's bandwidth, and it spends at least that many DRAM accesses::

    latency = max(sum of engine latencies, bytes_moved / dram_bytes_per_s, 2 * MACs / peak)
    E_dram  = max(engine's DRAM energy, bytes_moved * dram_pJ_per_byte)

Weight formats: an LLM's ``weight_format`` (int4, fp8, ...) sets the weight bytes of the
roofline floor and of the DRAM-energy floor; the engines themselves count traffic at their
array precision (int8 on the bundled presets), so a format narrower than the array's shows
its benefit only where the floor binds.

A preset's ``static_power_w`` (idle/leakage) is charged for the whole latency as energy
``"static"``; this is what makes a bigger, under-used array cost energy.

A run is reported ``bound="memory"`` by the one rule :func:`npulab.metrics.report.bound_of`:
the time memory needs (the floor above, or the DRAM stall cycles an engine reports) is
longer than the time the engine computes.

``bytes_moved`` is the minimum traffic: the weights, unless they fit in the preset's
``weight_capacity_bytes`` (then they stay on chip, as in a PIM crossbar or a large SRAM),
plus the network's input and output, plus the KV cache read and written for an LLM.  So
LLM decode at batch 1 on a systolic NPU is limited by ``(weights + KV) / bandwidth``: one
token per ``bytes_per_token / bandwidth`` seconds.

To compare engines on equal terms, a Report's ``macs`` is the workload's MACs (an SNN's
synaptic operations are in ``details["engine_macs"]``), so TOPS and TOPS/W count the same
work for every engine (MLPerf's rule: the same model, the same metric).

A PIM layer that needs more crossbar tiles than the preset's ``num_arrays`` runs in
``ceil(tiles / num_arrays)`` rounds (the PIM engine counts them from its ``PimConfig``).

``model="roofline"`` skips the engine and returns the roofline bound alone
(``max(ops / peak, bytes / bandwidth)``, MAC + DRAM energy): useful when an engine is not
installed, and as the ideal every engine is compared with.

Units: seconds, pJ, bytes, ops/s.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from npulab.hw.precision import bytes_per_element
from npulab.metrics.report import Report, bound_of
from npulab.perf.presets import HardwarePreset, load_preset

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
    source : object, optional
        What the job was made from (an LLMPhase for an LLM), for engines that cost a whole
        job (:data:`npulab.perf.engines.JOB_ENGINES`); not compared.
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
    source: object = field(default=None, compare=False, repr=False)

    @property
    def macs(self) -> int:
        """Multiply-accumulates of one run of the job: ``macs * count`` summed over its
        layers."""
        return sum(layer.macs * n for layer, n in self.layers)

    @property
    def label(self) -> str:
        """``name`` or ``name/phase``: how tables and skip notes name the job."""
        return self.name + (f"/{self.phase}" if self.phase else "")


def job_conditions(job: Job, precision: str, sparsity: dict | None = None) -> dict:
    """What a job measured: LLM ``seq_len``/``batch``/``context_len`` and the number formats.

    ``precision`` is the preset's (activations; weights and KV cache too unless the job's
    LLM phase says otherwise); ``sparsity`` the scorecard's sparsity attributes, if any.
    """
    src: Any = job.source            # duck-typed: an LLM phase is what has a ``seq_len``
    if src is not None and hasattr(src, "seq_len"):                 # an LLM phase
        c = {"seq_len": src.context_len, "batch": src.batch,        # --seq-len: prompt or context
             "weights": src.weight_format, "activations": precision, "kv_cache": src.kv_format}
    else:                                                           # a network: one inference
        c = {"batch": 1, "weights": precision, "activations": precision}
    if sparsity:
        c["sparsity"] = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sparsity.items() if v)
    return c


def topology_job(name, layers, precision) -> Job:
    """A :class:`Job` of a list of layers: repeats counted, weights and network input/output in bytes."""
    b = bytes_per_element(precision)
    counts: dict = {}
    for layer in layers:
        key = layer if not getattr(layer, "name", "") else type(layer)(
            **{k: v for k, v in layer.__dict__.items() if k != "name"})
        counts[key] = counts.get(key, 0) + 1
    weights = sum(layer.operand_elements()["filter"] for layer in layers) * b
    io = (layers[0].operand_elements()["ifmap"] + layers[-1].operand_elements()["ofmap"]) * b
    return Job(name=name, phase="", layers=tuple(counts.items()), weight_bytes=weights, io_bytes=io)


def llm_job(phase_obj) -> Job:
    """A :class:`Job` of one LLM phase (prefill or decode): its GEMMs, weights and KV-cache bytes."""
    layers = tuple((g, n) for g, n, _ in phase_obj.gemms)
    return Job(name=phase_obj.name, phase=phase_obj.phase, layers=layers,
               weight_bytes=phase_obj.weight_bytes,
               io_bytes=phase_obj.kv_read_bytes + phase_obj.kv_write_bytes,
               inferences=phase_obj.tokens, unit="token", source=phase_obj)


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
        return [llm_job(workload)]
    if isinstance(workload, (list, tuple)):
        return [topology_job("workload", list(workload), precision)]
    if hasattr(workload, "macs") and hasattr(workload, "operand_elements"):
        return [topology_job(getattr(workload, "name", "") or "layer", [workload], precision)]
    model = workload if isinstance(workload, DecoderLM) else None
    if model is None:
        spec = str(workload)
        if spec == DIGITS_CNN:
            return [digits_job(precision, weight_bits=int(8 * bytes_per_element(precision)))]
        p = datasets.resolve_workload(spec)
        if p is None:
            raise ValueError(f"unknown workload {spec!r} (bundled: {', '.join(workload_names())}; "
                             "or a SCALE-Sim .csv / LLM config .json file)")
        if p.suffix == ".csv":
            return [topology_job(p.stem, load_topology(p), precision)]
        model = from_config(p)
    phases = phases or ("prefill", "decode")
    wf, kf = weight_format or precision, kv_format or precision
    jobs = []
    for ph in phases:
        if ph not in ("prefill", "decode"):
            raise ValueError(f"phase must be 'prefill' or 'decode'; got {ph!r}")
        step = getattr(model, ph)  # DecoderLM.prefill or DecoderLM.decode
        jobs.append(llm_job(step(seq_len, batch, weight_format=wf, group_size=group_size, kv_format=kf)))
    return jobs


def digits_job(precision: str = "int8", weight_bits: int = 8) -> Job:
    """The runnable small CNN on the bundled digits: layers, and accuracy with quantised weights.

    Accuracy is measured on the 360 test images with every weight rounded to a symmetric
    per-tensor ``weight_bits`` grid (:func:`npulab.quant.fake_quantize` with
    ``QuantSpec(weight_bits)``; wider than 16 bits keeps the float weights); the target is 99%
    of the FP32 model's accuracy
    (MLPerf's 99% rule).  This is the same for every engine at the same weight precision:
    the analog noise of a PIM crossbar (``npulab.pim``) and the rate-coding loss of a
    converted SNN (``npulab.snn``) are measured in Labs 05-06, not here.
    """
    acc, acc_fp32, layers = _digits_accuracy(weight_bits)
    job = topology_job(DIGITS_CNN, layers, precision)
    return Job(name=job.name, phase="", layers=job.layers, weight_bytes=job.weight_bytes,
               io_bytes=job.io_bytes, accuracy=acc, accuracy_target=round(0.99 * acc_fp32, 6))


def _digits_accuracy(weight_bits: int):
    import copy

    import torch

    from npulab import datasets
    from npulab.quant import QuantSpec, fake_quantize
    from npulab.workloads import from_torch

    _, _, x_test, y_test = datasets.load_digits()
    model = datasets.digits_model("cnn", pretrained=True)
    x = torch.as_tensor(x_test, dtype=torch.float32)  # [360, 64]; the model unflattens
    layers = from_torch(model, x[:1])
    with torch.no_grad():
        acc_fp32 = float((model(x).argmax(1).numpy() == y_test).mean())
        q = copy.deepcopy(model)
        spec = QuantSpec(weight_bits) if weight_bits <= 16 else None  # wider: the float weights
        for p in q.parameters():
            if p.dim() > 1 and spec is not None:
                p.copy_(torch.from_numpy(fake_quantize(p.numpy(), spec)))
        acc = float((q(x).argmax(1).numpy() == y_test).mean())
    return acc, acc_fp32, layers


def estimate_layer(preset: HardwarePreset, layer) -> Report:
    """One layer on the preset's engine (looked up in :data:`npulab.perf.engines.ENGINES`).

    Raises :class:`EngineUnavailable` when no engine is registered for the preset's kind.
    """
    from npulab.perf.engines import ENGINES

    estimate = ENGINES.get(preset.engine)
    if estimate is None:
        raise EngineUnavailable(f"no engine registered for kind {preset.engine!r} "
                                f"(registered: {', '.join(sorted(ENGINES))})")
    return estimate(layer, preset.config, energy=preset.energy)


def estimate_job(preset: HardwarePreset, job: Job) -> Report | None:
    """The whole job on the preset's engine, if it registered a job entry point (else None)."""
    from npulab.perf.engines import JOB_ENGINES

    whole = JOB_ENGINES.get(preset.engine)
    return None if whole is None else whole(job, preset.config, energy=preset.energy)


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
        whole = estimate_job(preset, job)
        latency, breakdown, engine_macs, compute_time = 0.0, {}, 0, 0.0
        if whole is not None:
            latency, engine_macs = whole.latency_s, whole.macs
            compute_time = (whole.compute_time_s if whole.compute_time_s is not None
                            else whole.latency_s)
            breakdown = dict(whole.energy_breakdown_pJ)
        for layer, n in (job.layers if whole is None else ()):
            r = estimate_layer(preset, layer)
            # a pipelined engine (systolic fold_overlap) pays its fill/drain once per layer
            # row when compute-bound (issue 16; npulab.systolic.folds.pipelined_cycles)
            fill = r.fill_s if not r.stall_s else 0.0
            latency += r.latency_s * n - fill * (n - 1)
            compute_time += (r.latency_s - r.stall_s) * n - fill * (n - 1)
            engine_macs += r.macs * n
            for key, value in r.energy_breakdown_pJ.items():
                breakdown[key] = breakdown.get(key, 0.0) + value * n
        engine_name = preset.engine
    engine_latency = latency
    # the roofline floor: no engine may beat bytes / bandwidth or ops / peak (issue 16)
    latency = max(latency, memory_time, 2 * macs / preset.peak_ops_per_s)
    # memory-bound: the time memory needs (the roofline floor, or the engine's DRAM stalls)
    # is longer than the compute time (the one rule, bound_of; Report derives it)
    stall = max(0.0, latency - compute_time)
    bound = bound_of(compute_time, max(memory_time, stall))
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
        dram_bytes_per_s=preset.dram_bytes_per_s, unit=job.unit,
        compute_time_s=compute_time, memory_time_s=memory_time, stall_s=stall,
        details={"bound": bound, "engine_latency_s": engine_latency,
                 "compute_time_s": compute_time, "memory_time_s": memory_time,
                 "engine_macs": engine_macs, "weights_on_chip": resident,
                 "weight_bytes": job.weight_bytes,
                 "ridge_point_ops_per_byte": preset.roofline.ridge_point},
    )
