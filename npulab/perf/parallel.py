"""An LLM across several devices: tensor, pipeline, expert and data parallel layouts.

A :class:`Layout` puts ``devices = dp * pp * tp`` devices to work:

* **Tensor parallel** (``tp``; Megatron-LM, Shoeybi et al. 2019): q/k/v, gate and up are split
  by columns, o and down by rows, the LM head by vocabulary, attention by heads; each layer
  then needs **two all-reduces** of the ``tokens x hidden`` activations (after attention's
  o_proj and after the MLP's down_proj).  A device runs the model whose heads, KV heads,
  MLP width and vocabulary are divided by ``tp`` (:func:`stage_model`).
* **Pipeline parallel** (``pp``; GPipe, Huang et al. 2019): the layers are split into ``pp``
  stages of ``ceil(L / pp)`` layers; a batch cut into ``m`` micro-batches takes
  ``(m + pp - 1) * (stage time + hand-off)``: the bubble is ``(pp - 1) / (m + pp - 1)`` of it.
  Every stage is costed as the last one (the one with the LM head, the slowest), an upper
  bound for the others.
* **Expert parallel** (``ep``, MoE models): each MoE layer's experts are spread over ``ep`` of
  a stage's ``tp`` devices (the remaining ``tp / ep`` split each expert's width, Megatron-Core's
  expert-tensor parallelism); a device runs ``1 / ep`` of the routed expert work and holds
  ``1 / ep`` of the experts, and each MoE layer sends the routed tokens out and back with two
  **all-to-alls** (dispatch and combine) of ``tokens x top_k x hidden`` activations instead of
  the MLP's all-reduce.
* **Data parallel** (``dp``): independent replicas; requests are shared among them (Poisson
  arrivals at rate ``R`` split at random are ``dp`` Poisson streams at ``R / dp``).

The per-device cost of a step is the single-device scorecard's
(:func:`npulab.perf.scoring.score_job` on the sharded phase), so every engine and the
calibrated GPU presets cost layouts by the same rules; communication comes from
:mod:`npulab.hw.interconnect` (alpha-beta).  ``tp = pp = ep = dp = 1`` is today's
single-device path, exactly (the same function calls).

Memory per device (:func:`device_memory`): the stage's weights (experts divided by ``ep``),
its KV cache per token, and an activation buffer of ``tokens x (hidden + MLP width / tp)``
activations in and out; a layout whose weights and activations do not fit raises one line.

Units: seconds, bytes.

References
----------
M. Shoeybi et al., "Megatron-LM: Training Multi-Billion Parameter Language Models Using
Model Parallelism", arXiv:1909.08053, 2019.  Y. Huang et al., "GPipe: Efficient Training
of Giant Neural Networks using Pipeline Parallelism", NeurIPS 2019.  D. Lepikhin et al.,
"GShard", ICLR 2021 (all-to-all dispatch/combine).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from npulab._validate import positive_int, positive_number
from npulab.hw.interconnect import Link, all_reduce_time, all_to_all_time, get_link
from npulab.perf.serving_cost import ScorecardStepCost

#: Bytes of one activation element sent between devices (bf16/fp16 activations).
ACTIVATION_BYTES = 2


@dataclass(frozen=True)
class Layout:
    """How ``devices = dp * pp * tp`` devices share one model.

    Parameters
    ----------
    tp, pp, ep, dp : int, default 1
        Tensor-, pipeline-, expert- and data-parallel degrees; ``ep`` must divide ``tp``.
    micro_batches : int, default 1
        Micro-batches a pipeline splits a batch into (GPipe's ``m``).

    Examples
    --------
    >>> Layout(tp=4, pp=2).devices, Layout(tp=4, pp=2).bubble
    (8, 0.5)
    """

    tp: int = 1
    pp: int = 1
    ep: int = 1
    dp: int = 1
    micro_batches: int = 1

    def __post_init__(self):
        for f in ("tp", "pp", "ep", "dp", "micro_batches"):
            positive_int("Layout", f, getattr(self, f))
        if self.tp % self.ep:
            raise ValueError(
                f"Layout.ep must divide tp={self.tp} (experts are spread over a "
                f"stage's tensor-parallel devices); got {self.ep}"
            )

    @property
    def devices(self) -> int:
        """``dp * pp * tp``."""
        return self.dp * self.pp * self.tp

    @property
    def trivial(self) -> bool:
        """One device per replica (``tp = pp = ep = 1``)."""
        return self.tp == self.pp == self.ep == 1

    @property
    def bubble(self) -> float:
        """GPipe's idle fraction ``(p - 1) / (m + p - 1)``."""
        return pipeline_bubble(self.pp, self.micro_batches)

    def __str__(self) -> str:
        return f"tp={self.tp} pp={self.pp} ep={self.ep} dp={self.dp}"


def layout_for(
    devices: int, tp: int = 1, pp: int = 1, ep: int = 1, micro_batches: int = 1
) -> Layout:
    """The :class:`Layout` of ``--devices N --tp T --pp P --ep E``: ``dp = N / (T P)``."""
    devices = positive_int("layout", "devices", devices)
    tp, pp = positive_int("layout", "tp", tp), positive_int("layout", "pp", pp)
    if devices % (tp * pp):
        raise ValueError(f"--devices must be a multiple of tp x pp = {tp * pp}; got {devices}")
    return Layout(tp=tp, pp=pp, ep=ep, dp=devices // (tp * pp), micro_batches=micro_batches)


def pipeline_bubble(p: int, m: int) -> float:
    """Idle fraction of a ``p``-stage pipeline over ``m`` micro-batches: ``(p - 1) / (m + p - 1)``.

    >>> pipeline_bubble(4, 1), pipeline_bubble(4, 12)
    (0.75, 0.2)
    """
    p, m = positive_int("pipeline", "p", p), positive_int("pipeline", "m", m)
    return (p - 1) / (m + p - 1)


def pipeline_time(stage_s: float, p: int, m: int = 1, handoff_s: float = 0.0) -> float:
    """A batch through ``p`` stages in ``m`` micro-batches: ``(m + p - 1) * (stage + hand-off)``.

    ``stage_s`` is one micro-batch's time on one stage.  With ``p = m = 1`` it is ``stage_s``.
    """
    p, m = positive_int("pipeline", "p", p), positive_int("pipeline", "m", m)
    positive_number("pipeline", "stage_s", stage_s, allow_zero=True)
    return (m + p - 1) * (stage_s + (handoff_s if p > 1 else 0.0))


# ---- the model one device runs ----------------------------------------------------------
def _check_divides(model, layout: Layout) -> None:
    c = model.config
    if c.num_attention_heads % layout.tp:
        raise ValueError(
            f"tp={layout.tp} must divide {c.name or 'the model'}'s "
            f"{c.num_attention_heads} attention heads"
        )
    G = c.num_key_value_heads
    if G % layout.tp and layout.tp % G:
        raise ValueError(
            f"tp={layout.tp} must divide (or be a multiple of) the "
            f"{G} KV heads of {c.name or 'the model'}"
        )
    if layout.pp > c.num_hidden_layers:
        raise ValueError(
            f"pp={layout.pp} exceeds the {c.num_hidden_layers} layers of {c.name or 'the model'}"
        )
    if layout.ep > 1 and not c.is_moe:
        raise ValueError(
            f"ep={layout.ep} needs a mixture-of-experts model; {c.name or 'the model'} is dense"
        )
    if layout.ep > 1 and c.num_experts % layout.ep:
        raise ValueError(f"ep={layout.ep} must divide the {c.num_experts} experts of {c.name}")


def stage_model(model, layout: Layout):
    """The :class:`~npulab.workloads.llm.DecoderLM` one device of the last pipeline stage runs.

    Heads, KV heads (at least one: replicated when ``tp`` exceeds them), MLP widths and the
    vocabulary are divided by ``tp`` (the experts' width by ``tp / ep``); the layers by ``pp``
    (``ceil``).  A trivial layout returns ``model`` itself.
    """
    from npulab.workloads.llm import DecoderLM

    if layout.tp == 1 and layout.pp == 1:
        _check_divides(model, layout)
        return model
    _check_divides(model, layout)
    c = model.config
    T, P = layout.tp, layout.pp
    L = c.num_hidden_layers
    Ls = math.ceil(L / P)
    kw = dict(
        num_attention_heads=c.num_attention_heads // T,
        num_key_value_heads=max(1, c.num_key_value_heads // T),
        head_dim=c.head_dim,
        intermediate_size=math.ceil(c.intermediate_size / T),
        vocab_size=math.ceil(c.vocab_size / T),
        num_hidden_layers=Ls,
        shared_expert_intermediate_size=math.ceil(c.shared_expert_intermediate_size / T),
    )
    if c.is_moe:
        kw["moe_intermediate_size"] = math.ceil(c.moe_intermediate_size / (T // layout.ep))
        kw["num_moe_layers"] = min(Ls, math.ceil(c.num_moe_layers / P))
    else:
        kw["num_moe_layers"] = 0
    if c.sliding_window is not None:
        kw["num_sliding_layers"] = min(Ls, math.ceil(c.num_sliding_layers / P))
    return DecoderLM(dataclasses.replace(c, **kw))


def _expert_bytes(model, tokens: int, bpp: float) -> float:
    """Routed-expert weight bytes a step streams (every active expert of every MoE layer)."""
    c = model.config
    return c.num_moe_layers * model.active_experts(tokens) * model.expert_param_count() * bpp


def expert_parallel(phase, model, ep: int):
    """A device's share of ``phase`` when the experts are spread over ``ep`` devices.

    Each routed-expert GEMM count becomes ``ceil(count / ep)`` (the busiest device) and the
    streamed expert weights ``1 / ep`` of them.  ``ep = 1`` returns ``phase`` itself.
    """
    if ep == 1:
        return phase
    gemms = tuple(
        (g, -(-n // ep) if g.name.startswith("expert_") else n, kind) for g, n, kind in phase.gemms
    )
    bpp = phase.details["bytes_per_param"]
    saved = _expert_bytes(
        model, phase.tokens if phase.new_tokens is None else phase.new_tokens, bpp
    )
    return dataclasses.replace(
        phase, gemms=gemms, weight_bytes=phase.weight_bytes - saved * (1 - 1 / ep)
    )


# ---- communication ----------------------------------------------------------------------
def communication_time(
    model,
    layout: Layout,
    tokens: int,
    link,
    *,
    activation_bytes: float = ACTIVATION_BYTES,
    algorithm: str = "ring",
) -> dict:
    """Seconds one step's collectives take on one stage, by kind.

    Returns ``{"tp_all_reduce_s", "ep_all_to_all_s", "pp_handoff_s"}``: per layer of the
    stage, two all-reduces of ``tokens x hidden`` over ``tp`` devices (MoE layers with
    ``ep > 1``: one all-reduce plus a dispatch and a combine all-to-all of
    ``tokens x top_k x hidden`` over ``ep`` devices, and an all-reduce over the ``tp / ep``
    devices that share an expert); and one stage-to-stage hand-off of ``tokens x hidden``.
    """
    link = get_link(link)
    c = model.config
    tokens = positive_int("communication", "tokens", tokens)
    Ls = math.ceil(c.num_hidden_layers / layout.pp)
    Lm = min(Ls, math.ceil(c.num_moe_layers / layout.pp)) if c.is_moe else 0
    act = tokens * c.hidden_size * activation_bytes
    ar = all_reduce_time(act, layout.tp, link, algorithm)
    a2a = 0.0
    if layout.ep > 1 and Lm:
        routed = act * c.num_experts_per_tok
        a2a = Lm * 2 * all_to_all_time(routed, layout.ep, link, algorithm)
        tp_s = (Ls - Lm) * 2 * ar + Lm * (
            ar + all_reduce_time(act, layout.tp // layout.ep, link, algorithm)
        )
    else:
        tp_s = Ls * 2 * ar
    handoff = link.transfer_time(act) if layout.pp > 1 else 0.0
    return {"tp_all_reduce_s": tp_s, "ep_all_to_all_s": a2a, "pp_handoff_s": handoff}


# ---- memory ------------------------------------------------------------------------------
def device_memory(
    model,
    layout: Layout,
    *,
    weight_format: str = "fp16",
    kv_format: str = "fp16",
    group_size: int | None = None,
    max_tokens: int = 8192,
    activation_bytes: float = ACTIVATION_BYTES,
) -> dict:
    """Bytes one device holds: ``{"weights", "kv_per_token", "activations"}``.

    Weights: the stage model's parameters (an untied embedding counted on every stage: an
    upper bound), experts divided by ``ep``.  KV per token: the stage's layers and KV heads.
    Activations: ``max_tokens x (hidden + MLP width / tp) x 2`` elements (in and out buffers).
    """
    from npulab.workloads.llm import bytes_per_param

    sm = stage_model(model, layout)
    bpp = bytes_per_param(weight_format, group_size)
    c = sm.config
    experts = c.num_moe_layers * c.num_experts * sm.expert_param_count() if c.is_moe else 0
    weights = (sm.param_count() - experts * (1 - 1 / layout.ep)) * bpp
    width = max(c.intermediate_size, c.moe_intermediate_size or 0)
    acts = max_tokens * (c.hidden_size + width) * 2 * activation_bytes
    return {
        "weights": weights,
        "kv_per_token": sm.kv_bytes_per_token(kv_format),
        "activations": acts,
    }


def check_fits(
    model,
    layout: Layout,
    memory_bytes: float,
    *,
    memory_utilization: float = 0.9,
    hardware: str = "",
    **kw,
) -> dict:
    """:func:`device_memory`, or a one-line ``ValueError`` when weights + activations overflow."""
    mem = device_memory(model, layout, **kw)
    room = memory_bytes * memory_utilization
    need = mem["weights"] + mem["activations"]
    if memory_bytes and need >= room:
        raise ValueError(
            f"layout {layout} does not fit {model.name or 'the model'} on "
            f"{hardware or 'the device'}: {mem['weights'] / 1e9:.3g} GB weights + "
            f"{mem['activations'] / 1e9:.3g} GB activations "
            f"per device > {memory_utilization:g} x {memory_bytes / 1e9:.3g} GB"
        )
    return mem


# ---- one serving step / one scorecard phase on a layout ----------------------------------
def preset_link(preset) -> Link:
    """The preset's ``interconnect`` (a name in :data:`~npulab.hw.interconnect.LINKS` or a
    mapping of :class:`~npulab.hw.interconnect.Link` fields), else PCIe 5.0 x16."""
    spec = getattr(preset, "interconnect", None)
    if spec is None:
        return get_link("pcie5-x16")
    if isinstance(spec, str):
        return get_link(spec)
    fields = dict(spec)
    fields.setdefault("name", f"{preset.name} link")
    return Link(**fields)


class LayoutStepCost(ScorecardStepCost):
    """One serving iteration of one replica on a :class:`Layout` (a step-cost model).

    ``pipeline(stage step + TP/EP collectives, pp, m=1, hand-off)``; the stage step is the
    scorecard's cost of the sharded phase (:func:`stage_model`, :func:`expert_parallel`) and
    is cached like :class:`~npulab.perf.serving_cost.ScorecardStepCost`'s.  A trivial layout
    gives exactly ScorecardStepCost's numbers.

    Parameters
    ----------
    model, hardware
        As :class:`~npulab.perf.serving_cost.ScorecardStepCost`.
    layout : Layout, default Layout()
    link : Link or str, optional
        Default: the preset's (:func:`preset_link`).
    algorithm : {"ring", "tree"}, default "ring"
    **kwargs
        ``weight_format``, ``kv_format``, ``group_size``, ``context_bucket``, ``score_model``,
        ``cache``.
    """

    def __init__(
        self,
        model,
        hardware,
        layout: Layout = Layout(),
        *,
        link=None,
        algorithm: str = "ring",
        **kwargs,
    ):
        super().__init__(model, hardware, **kwargs)
        if not isinstance(layout, Layout):
            raise ValueError(f"layout must be a Layout; got {type(layout).__name__}")
        self.layout = layout
        self.full_model = self.model
        self.model = stage_model(self.full_model, layout)
        self.link = get_link(link) if link is not None else preset_link(self.preset)
        self.algorithm = algorithm

    def phase(self, key: tuple):
        """The :class:`~npulab.workloads.llm.LLMPhase` one device runs for a cache key."""
        return expert_parallel(super().phase(key), self.model, self.layout.ep)

    def step_time(self, key: tuple) -> float:
        """Seconds of the iteration of a cache key (compute, collectives, pipeline)."""
        chunks, batch, _ = key
        tokens = sum(n for n, _ in chunks) + batch
        comm = communication_time(
            self.full_model, self.layout, tokens, self.link, algorithm=self.algorithm
        )
        stage = self.report(key).latency_s + comm["tp_all_reduce_s"] + comm["ep_all_to_all_s"]
        return pipeline_time(stage, self.layout.pp, 1, comm["pp_handoff_s"])

    def __call__(self, prefill_chunks, decode_batch: int, decode_context_total: int) -> float:
        if self.layout.trivial:
            return super().__call__(prefill_chunks, decode_batch, decode_context_total)
        self.calls += 1
        key = self.key(prefill_chunks, decode_batch, decode_context_total)
        t = self._cache.get(key) if self.cache else None
        if t is None:
            self.misses += 1
            t = self.step_time(key)
            if self.cache:
                self._cache[key] = t
        return t

    def kv_cache_blocks(
        self,
        memory_bytes: float,
        *,
        block_size: int = 16,
        memory_utilization: float = 0.9,
        max_tokens: int = 8192,
    ) -> int:
        """KV-cache blocks one device holds beside weights and activations (one line if none)."""
        mem = check_fits(
            self.full_model,
            self.layout,
            memory_bytes,
            memory_utilization=memory_utilization,
            hardware=self.preset.name,
            weight_format=self.weight_format,
            kv_format=self.kv_format,
            group_size=self.group_size,
            max_tokens=max_tokens,
        )
        free = memory_bytes * memory_utilization - mem["weights"] - mem["activations"]
        blocks = int(free // (block_size * mem["kv_per_token"]))
        if blocks < 1:
            raise ValueError(
                f"layout {self.layout} leaves no room for a KV-cache block of "
                f"{self.full_model.name} on {self.preset.name}"
            )
        return blocks

    def __repr__(self) -> str:
        return (
            f"LayoutStepCost({self.full_model.name!r} on {self.layout.devices // self.layout.dp} x "
            f"{self.preset.name!r}, {self.layout}, {self.link.name}, "
            f"{len(self._cache)} cached steps)"
        )


def score_layout(
    workload,
    hardware,
    layout: Layout = Layout(),
    *,
    phase: str | None = None,
    link=None,
    algorithm: str = "ring",
    model: str = "engine",
    **job_kwargs,
):
    """Score an LLM's phases on one replica of ``layout``: Report (or list, like ``score``).

    A trivial layout returns exactly :func:`npulab.perf.scoring.score`'s Reports (after the
    same memory check as any layout).  Otherwise a
    Report's latency is the pipeline of the per-device phase plus its collectives; its
    energy is the per-device energy times ``tp * pp`` (links' energy is not modelled); MACs
    are the whole model's; ``details["layout"]`` holds the layout, the collectives' seconds
    and the per-device memory.  ``job_kwargs``: ``seq_len``, ``batch``, ``weight_format``,
    ``kv_format``, ``group_size`` (``batch`` must divide into ``layout.micro_batches``).
    """
    from npulab.perf.presets import load_preset
    from npulab.perf.scoring import llm_job, make_jobs, score, score_job
    from npulab.workloads.llm import DecoderLM, from_config

    preset = load_preset(hardware)
    full = workload if isinstance(workload, DecoderLM) else _load_llm(workload, from_config)
    seq_len, batch = job_kwargs.get("seq_len", 2048), job_kwargs.get("batch", 1)
    m = layout.micro_batches
    if batch % m:
        raise ValueError(f"--batch {batch} must be a multiple of micro_batches={m}")
    wf = job_kwargs.get("weight_format") or preset.precision
    kf = job_kwargs.get("kv_format") or preset.precision
    gs = job_kwargs.get("group_size")
    sm = stage_model(full, layout)
    mem = check_fits(
        full,
        layout,
        preset.memory_bytes,
        hardware=preset.name,
        weight_format=wf,
        kv_format=kf,
        group_size=gs,
        max_tokens=seq_len * batch,
    )
    if layout.trivial:  # one device: the scorecard's own numbers, exactly
        return score(full, preset, model=model, phase=phase, **job_kwargs)
    lk = get_link(link) if link is not None else preset_link(preset)
    reports = []
    for ph in (phase,) if phase else ("prefill", "decode"):
        if ph not in ("prefill", "decode"):
            raise ValueError(f"phase must be 'prefill' or 'decode'; got {ph!r}")
        micro = getattr(sm, ph)(seq_len, batch // m, weight_format=wf, group_size=gs, kv_format=kf)
        micro = expert_parallel(micro, sm, layout.ep)
        r = score_job(llm_job(micro), preset, model=model)
        comm = communication_time(full, layout, micro.tokens, lk, algorithm=algorithm)
        stage = r.latency_s + comm["tp_all_reduce_s"] + comm["ep_all_to_all_s"]
        latency = pipeline_time(stage, layout.pp, m, comm["pp_handoff_s"])
        whole = make_jobs(
            full,
            phases=(ph,),
            seq_len=seq_len,
            batch=batch,
            precision=wf,
            weight_format=wf,
            kv_format=kf,
            group_size=gs,
        )[0]
        per_device = layout.tp * layout.pp
        energy = {k: v * per_device * m for k, v in r.energy_breakdown_pJ.items()}
        peak = preset.peak_ops_per_s * per_device
        details = dict(r.details)
        details["layout"] = {
            "tp": layout.tp,
            "pp": layout.pp,
            "ep": layout.ep,
            "dp": layout.dp,
            "micro_batches": m,
            "link": lk.name,
            "stage_s": r.latency_s,
            "bubble": layout.bubble,
            **comm,
            "memory_per_device": mem,
        }
        reports.append(
            dataclasses.replace(
                r,
                name=whole.name,
                macs=whole.macs,
                latency_s=latency,
                energy_breakdown_pJ=energy,
                inferences=whole.inferences,
                peak_ops_per_s=peak,
                utilization=min(1.0, 2 * whole.macs / latency / peak),
                details=details,
                hardware=f"{per_device}x {preset.name}",
                stall_s=0.0,
                fill_s=0.0,
                compute_time_s=None,
                memory_time_s=None,
                bound=r.bound,
            )
        )
    return reports[0] if len(reports) == 1 else reports


def _load_llm(workload, from_config):
    from npulab import datasets

    p = datasets.resolve_workload(str(workload))
    if p is None or p.suffix != ".json":
        raise ValueError(
            f"a parallel layout needs an LLM (a bundled config or a config.json); got {workload!r}"
        )
    return from_config(p)


__all__ = [
    "Layout",
    "layout_for",
    "pipeline_bubble",
    "pipeline_time",
    "stage_model",
    "expert_parallel",
    "communication_time",
    "device_memory",
    "check_fits",
    "preset_link",
    "LayoutStepCost",
    "score_layout",
    "ACTIVATION_BYTES",
]
