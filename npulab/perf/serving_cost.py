"""What one serving iteration costs: the scorecard's cost model, cached, or a closed form.

A step-cost model is any callable ``cost(prefill_chunks, decode_batch, decode_context_total)
-> seconds``: ``prefill_chunks`` is a tuple of ``(new_tokens, context_len)`` (a whole prompt
of ``P`` is ``(P, P)``), ``decode_batch`` sequences generate one token each and
``decode_context_total`` is the sum of their contexts (each counting its new token).

:class:`ScorecardStepCost` builds the iteration as one
:meth:`~npulab.workloads.llm.DecoderLM.step` (projections over every token of the
iteration, weights streamed once; attention per sequence) and scores it with
:func:`npulab.perf.scoring.score_job` on the preset's engine, so every engine, calibrated
GPU presets included, gives serving numbers by the same rules as the scorecard.  A step
with one whole prompt is exactly the scorecard's ``prefill``; a step of ``b`` decodes at
context ``n`` is exactly its ``decode(n, b)``.  Costs are cached by
``(prefill chunks, decode batch, context bucket)``: the decode batch's mean context is
rounded up to a multiple of ``context_bucket`` tokens (PagedAttention reads the KV cache in
whole blocks, Kwon et al., SOSP 2023), and so is the context of a prompt chunk that
continues an earlier one (chunked prefill).  This is the table-lookup design of Vidur
(Agrawal et al., MLSys 2024), with the scorecard instead of profiled kernels.

:class:`LinearStepCost` is a closed form for teaching and for tests:
``base_s + per_token_s * tokens + per_context_s * keys attended``.

Units: seconds, tokens.
"""
from __future__ import annotations

import math

from npulab._validate import positive_int


class LinearStepCost:
    """``base_s + per_token_s * tokens + per_context_s * keys attended`` per iteration.

    ``tokens`` counts every prompt and decode token of the iteration; ``keys attended`` is
    ``sum(new * context)`` over prompt chunks plus the decode contexts.  With
    ``per_token_s = per_context_s = 0`` every iteration takes ``base_s`` (a fixed service
    time: batch size 1 gives an M/D/1 queue).

    >>> cost = LinearStepCost(base_s=0.01, per_token_s=0.001)
    >>> round(cost(((100, 100),), 0, 0), 6), round(cost((), 4, 400), 6)
    (0.11, 0.014)
    """

    def __init__(self, base_s: float = 0.0, per_token_s: float = 0.0, per_context_s: float = 0.0):
        for name, v in (("base_s", base_s), ("per_token_s", per_token_s), ("per_context_s", per_context_s)):
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not v >= 0:
                raise ValueError(f"LinearStepCost.{name} must be a number >= 0; got {v!r}")
        if base_s == per_token_s == per_context_s == 0:
            raise ValueError("LinearStepCost needs a positive base_s, per_token_s or per_context_s")
        self.base_s, self.per_token_s, self.per_context_s = float(base_s), float(per_token_s), float(per_context_s)

    def __call__(self, prefill_chunks, decode_batch: int, decode_context_total: int) -> float:
        tokens = sum(n for n, _ in prefill_chunks) + decode_batch
        keys = sum(n * ctx for n, ctx in prefill_chunks) + decode_context_total
        return self.base_s + self.per_token_s * tokens + self.per_context_s * keys

    def __repr__(self) -> str:
        return (f"LinearStepCost(base_s={self.base_s:g}, per_token_s={self.per_token_s:g}, "
                f"per_context_s={self.per_context_s:g})")


class ScorecardStepCost:
    """One iteration scored on a hardware preset by the scorecard's rules, cached.

    Parameters
    ----------
    model : DecoderLM or str
        The LLM (a bundled name, a config file, or a :class:`~npulab.workloads.llm.DecoderLM`).
    hardware : str or HardwarePreset
        The preset.
    weight_format, kv_format : str, optional
        Weight and KV-cache formats (default: the preset's precision).
    group_size : int, optional
        Group size of group-wise quantised weights.
    context_bucket : int, default 16
        Contexts are rounded up to a multiple of this (1: exact; see the module docstring).
    score_model : {"engine", "roofline"}, default "engine"
        Run the preset's engine, or the roofline bound only.
    cache : bool, default True
        Look costs up by key; ``False`` scores every iteration afresh (the reference path:
        with ``context_bucket=1`` both give the same numbers, only slower).

    Attributes
    ----------
    calls, misses : int
        Iterations costed, and how many needed a new scorecard evaluation.
    """

    def __init__(self, model, hardware, *, weight_format: str | None = None,
                 kv_format: str | None = None, group_size: int | None = None,
                 context_bucket: int = 16, score_model: str = "engine", cache: bool = True):
        from npulab.perf.presets import load_preset
        from npulab.workloads.llm import DecoderLM, from_config

        self.model = model if isinstance(model, DecoderLM) else from_config(model)
        self.preset = load_preset(hardware)
        self.weight_format = weight_format or self.preset.precision
        self.kv_format = kv_format or self.preset.precision
        self.group_size = group_size
        self.context_bucket = positive_int("ScorecardStepCost", "context_bucket", context_bucket)
        if score_model not in ("engine", "roofline"):
            raise ValueError(f"ScorecardStepCost.score_model must be 'engine' or 'roofline'; got {score_model!r}")
        self.score_model = score_model
        self.cache = bool(cache)
        self._cache: dict = {}
        self.calls = self.misses = 0

    def _round(self, n: int) -> int:
        b = self.context_bucket
        return -(-n // b) * b

    def key(self, prefill_chunks, decode_batch: int, decode_context_total: int) -> tuple:
        """The cache key of an iteration (what its cost is looked up by)."""
        chunks = tuple(sorted((n, ctx if n == ctx else max(n, self._round(ctx))) for n, ctx in prefill_chunks))
        ctx = self._round(math.ceil(decode_context_total / decode_batch)) if decode_batch else 0
        return chunks, decode_batch, ctx

    def phase(self, key: tuple):
        """The :class:`~npulab.workloads.llm.LLMPhase` of a cache key."""
        chunks, batch, ctx = key
        return self.model.step(chunks, batch, max(ctx, 1), weight_format=self.weight_format,
                               group_size=self.group_size, kv_format=self.kv_format)

    def report(self, key: tuple):
        """The scorecard :class:`~npulab.perf.Report` of a cache key."""
        from npulab.perf.scoring import llm_job, score_job

        return score_job(llm_job(self.phase(key)), self.preset, model=self.score_model)

    def __call__(self, prefill_chunks, decode_batch: int, decode_context_total: int) -> float:
        self.calls += 1
        if not self.cache:                       # reference: the exact iteration, scored now
            self.misses += 1
            phase = self.model.step(prefill_chunks, decode_batch,
                                    max(1, math.ceil(decode_context_total / decode_batch)) if decode_batch else 1,
                                    weight_format=self.weight_format, group_size=self.group_size,
                                    kv_format=self.kv_format)
            from npulab.perf.scoring import llm_job, score_job

            return score_job(llm_job(phase), self.preset, model=self.score_model).latency_s
        key = self.key(prefill_chunks, decode_batch, decode_context_total)
        latency = self._cache.get(key)
        if latency is None:
            self.misses += 1
            latency = self._cache[key] = self.report(key).latency_s
        return latency

    def __repr__(self) -> str:
        return (f"ScorecardStepCost({self.model.name!r} on {self.preset.name!r}, {self.weight_format} "
                f"weights, {len(self._cache)} cached steps)")


__all__ = ["LinearStepCost", "ScorecardStepCost"]
