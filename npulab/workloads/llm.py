"""Decoder-only transformer LLMs as workloads: parameters, GEMMs, weight and KV-cache bytes.

A model is read from a HuggingFace-style ``config.json`` (Llama, Qwen2, EXAONE, Mistral ...)
with :func:`from_config`.  One decoder layer (pre-norm, grouped-query attention, gated MLP)
holds, with ``d = hidden_size``, ``H`` query heads, ``G`` key/value heads, head size ``h``
and MLP width ``f``::

    q_proj  d x H*h    k_proj, v_proj  d x G*h    o_proj  H*h x d
    gate_proj, up_proj  d x f   down_proj  f x d  (a non-gated MLP has only up and down)
    two RMSNorm weight vectors of d

plus the token embedding ``V x d``, a final norm ``d`` and the LM head ``d x V`` (the
embedding itself when ``tie_word_embeddings``).  Qwen2 adds biases to q, k and v.
Keys are read as Hugging Face reads them, with each ``model_type``'s defaults and rules
(:mod:`npulab.workloads.hf_config`).

**Mixture of experts** (Mixtral, Qwen-MoE, DeepSeek-style shared experts): an MoE layer's
MLP is a router ``d x E``, ``E`` routed experts (gated MLPs of ``moe_intermediate_size``) of
which each token uses ``k``, and optional shared experts every token uses.  Total
parameters count every expert; *active* parameters (:meth:`DecoderLM.active_param_count`)
count the ``k`` a token uses.  A step of ``T`` tokens streams the experts they route to:
assuming uniform routing, ``E (1 - (1 - k/E)^T)`` distinct experts per layer
(:func:`expected_active_experts`); MACs are exact (``T k`` expert rows).  **Sliding-window**
layers attend to at most ``sliding_window`` keys (the KV cache still holds every token).

The two serving phases (Pope et al., "Efficiently Scaling Transformer Inference",
MLSys 2023; Yuan et al., "LLM Inference Unveiled" (LLM-Viewer), 2024):

* **prefill** ``(seq_len, batch)``: every projection is a GEMM with ``M = batch * seq_len``;
  attention is ``Q K^T`` (``seq_len x seq_len x h``) and ``P V`` per head and sequence;
  the K and V of every prompt token are written to the KV cache.
* **decode** ``(context_len, batch)``: one new token per sequence, ``M = batch``; attention
  reads the ``context_len`` cached keys and values (``context_len`` counts the new token).
* a **serving iteration** (:meth:`DecoderLM.step`, phase ``"mixed"``): prompt chunks and
  decode tokens in one pass (Yu et al., Orca, OSDI 2022), projections over all its tokens.

Bytes moved (the roofline's denominator) are the weights read once per phase (at the
weight format's bytes per parameter, incl. group-wise scales) plus the KV cache read and
written; activations are assumed to stay on chip (an ideal-reuse lower bound, as in
LLM-Viewer).  The embedding table is not streamed (only ``batch * tokens`` rows are
looked up) unless it doubles as the LM head.  Differences from LLM-Viewer: logits are
computed for the last token of each sequence only in prefill (what serving needs), and
the causal mask is not exploited (``Q K^T`` counts the full square).

Units: parameters, MACs, bytes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from npulab._validate import positive_int
from npulab.workloads.layers import Gemm


def bytes_per_param(fmt: str = "fp16", group_size: int | None = None) -> float:
    """Bytes one weight takes in ``fmt``, group-wise scales included: :func:`npulab.quant.bytes_per_param`.

    >>> bytes_per_param("fp16"), bytes_per_param("int4", group_size=128)
    (2.0, 0.515625)
    """
    from npulab.quant.formats import bytes_per_param as quant_bytes_per_param

    return quant_bytes_per_param(fmt, group_size=group_size)


@dataclass(frozen=True)
class LLMConfig:
    """The shape of a decoder-only transformer (the fields of a HF ``config.json``).

    Parameters
    ----------
    hidden_size, intermediate_size, num_hidden_layers, num_attention_heads : int
        Model width ``d``, MLP width ``f`` (of a dense layer), layers ``L``, query heads ``H``.
    num_key_value_heads : int, optional
        Key/value heads ``G`` (grouped-query attention); defaults to ``H`` (multi-head).
    head_dim : int, optional
        Head size ``h``; defaults to ``d // H``.
    vocab_size : int
        Vocabulary ``V``.
    tie_word_embeddings : bool, default False
        The LM head reuses the embedding matrix.
    gated_mlp : bool, default True
        SwiGLU-style MLP with gate, up and down projections.
    attention_bias : bool, default False
        Biases on q, k and v (Qwen2).
    name : str, default ""
        Model name.
    mlp_bias, o_proj_bias : bool, default False
        Biases on the MLP projections (Llama ``mlp_bias``) and on o_proj (Llama's
        ``attention_bias`` also biases o_proj).
    qk_norm : bool, default False
        RMSNorm of ``h`` on q and k (Qwen3): ``2 h`` parameters per layer.
    norms_per_layer : int, default 2
        RMSNorm weight vectors of ``d`` per layer (Gemma2: 4).
    num_experts, num_experts_per_tok : int, default 0
        Routed experts ``E`` and experts per token ``k`` of a mixture-of-experts layer (0: dense).
    moe_intermediate_size : int, optional
        Width of one routed expert's gated MLP (default ``intermediate_size``, as Mixtral).
    shared_expert_intermediate_size : int, default 0
        Width of the shared expert(s) every token uses (DeepSeek: ``n_shared * width``).
    shared_expert_gate : bool, default False
        Qwen-MoE's sigmoid gate on the shared expert (``d x 1``).
    num_moe_layers : int, optional
        Layers whose MLP is a mixture of experts (default all when ``num_experts``); the
        others are dense with ``intermediate_size``.
    sliding_window : int, optional
        Keys a sliding-window layer attends to (Mistral 7B, Gemma2).
    num_sliding_layers : int, optional
        Layers with sliding-window attention (default all when ``sliding_window``).

    Units: elements (widths), parameters, tokens.
    """

    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    vocab_size: int
    num_key_value_heads: int | None = None
    head_dim: int | None = None
    tie_word_embeddings: bool = False
    gated_mlp: bool = True
    attention_bias: bool = False
    name: str = ""
    mlp_bias: bool = False
    o_proj_bias: bool = False
    qk_norm: bool = False
    norms_per_layer: int = 2
    num_experts: int = 0
    num_experts_per_tok: int = 0
    moe_intermediate_size: int | None = None
    shared_expert_intermediate_size: int = 0
    shared_expert_gate: bool = False
    num_moe_layers: int | None = None
    sliding_window: int | None = None
    num_sliding_layers: int | None = None

    def __post_init__(self):
        for f in ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                  "vocab_size"):
            positive_int("LLMConfig", f, getattr(self, f))
        if self.num_key_value_heads is None:
            object.__setattr__(self, "num_key_value_heads", self.num_attention_heads)
        positive_int("LLMConfig", "num_key_value_heads", self.num_key_value_heads)
        if self.num_attention_heads % self.num_key_value_heads:
            raise ValueError(
                f"LLMConfig.num_key_value_heads must divide num_attention_heads "
                f"({self.num_attention_heads}); got {self.num_key_value_heads}")
        if self.head_dim is None:
            object.__setattr__(self, "head_dim", self.hidden_size // self.num_attention_heads)
        positive_int("LLMConfig", "head_dim", self.head_dim)
        for f in ("tie_word_embeddings", "gated_mlp", "attention_bias", "mlp_bias", "o_proj_bias",
                  "qk_norm", "shared_expert_gate"):
            if not isinstance(getattr(self, f), bool):
                raise ValueError(f"LLMConfig.{f} must be a bool; got {getattr(self, f)!r}")
        _nonneg("norms_per_layer", self.norms_per_layer)
        L = self.num_hidden_layers
        _nonneg("num_experts", self.num_experts)
        _nonneg("shared_expert_intermediate_size", self.shared_expert_intermediate_size)
        if self.num_experts:
            if not 1 <= _nonneg("num_experts_per_tok", self.num_experts_per_tok) <= self.num_experts:
                raise ValueError(f"LLMConfig.num_experts_per_tok must be in [1, num_experts="
                                 f"{self.num_experts}]; got {self.num_experts_per_tok!r}")
            if self.moe_intermediate_size is None:
                object.__setattr__(self, "moe_intermediate_size", self.intermediate_size)
            positive_int("LLMConfig", "moe_intermediate_size", self.moe_intermediate_size)
            if self.num_moe_layers is None:
                object.__setattr__(self, "num_moe_layers", L)
        else:
            if self.num_moe_layers not in (None, 0):
                raise ValueError(f"LLMConfig.num_moe_layers needs num_experts >= 1; got "
                                 f"num_moe_layers={self.num_moe_layers!r}")
            object.__setattr__(self, "num_moe_layers", 0)
        if not 0 <= _nonneg("num_moe_layers", self.num_moe_layers) <= L:
            raise ValueError(f"LLMConfig.num_moe_layers must be in [0, num_hidden_layers={L}]; "
                             f"got {self.num_moe_layers!r}")
        if self.sliding_window is None:
            if self.num_sliding_layers not in (None, 0):
                raise ValueError("LLMConfig.num_sliding_layers needs a sliding_window; got "
                                 f"num_sliding_layers={self.num_sliding_layers!r}")
            object.__setattr__(self, "num_sliding_layers", 0)
        else:
            positive_int("LLMConfig", "sliding_window", self.sliding_window)
            if self.num_sliding_layers is None:
                object.__setattr__(self, "num_sliding_layers", L)
            if not 0 <= _nonneg("num_sliding_layers", self.num_sliding_layers) <= L:
                raise ValueError(f"LLMConfig.num_sliding_layers must be in [0, num_hidden_layers={L}]; "
                                 f"got {self.num_sliding_layers!r}")

    @property
    def is_moe(self) -> bool:
        """Whether any layer is a mixture of experts."""
        return self.num_moe_layers > 0


def _nonneg(field_name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"LLMConfig.{field_name} must be an int >= 0; got {value!r}")
    return value


def expected_active_experts(experts: int, per_token: int, tokens: int) -> float:
    """Expected distinct experts ``tokens`` route to under uniform routing.

    Each token picks ``k`` of ``E`` experts uniformly, so one expert is missed by a token
    with probability ``1 - k/E`` and by all of them with ``(1 - k/E)^T``::

        E_active(T) = E * (1 - (1 - k/E) ** T)

    (the assumption behind "experts streamed per decode step"; real routers are skewed,
    which makes fewer experts active).

    >>> expected_active_experts(8, 2, 1), round(expected_active_experts(8, 2, 16), 3)
    (2.0, 7.92)
    """
    if tokens <= 0 or experts <= 0:
        return 0.0
    return experts * (1.0 - (1.0 - per_token / experts) ** tokens)


@dataclass(frozen=True, repr=False)
class LLMPhase:
    """One serving step of an LLM: its GEMMs and the bytes it must move.

    Attributes
    ----------
    name, phase : str
        Model name and ``"prefill"``, ``"decode"`` or ``"mixed"`` (a serving iteration).
    batch, seq_len, context_len : int
        Sequences, new tokens per sequence, keys attended per new token (at most).
    gemms : tuple of (Gemm, int, str)
        Each distinct GEMM, how many times it runs, and its kind: ``"weight"`` (a
        projection with static weights) or ``"attention"`` (activation x activation).
    weight_bytes, kv_read_bytes, kv_write_bytes : float
        Weights streamed, KV cache read and written (bytes).

    Units: MACs, bytes, tokens.
    """

    name: str
    phase: str
    batch: int
    seq_len: int
    context_len: int
    gemms: tuple
    weight_bytes: float
    kv_read_bytes: float
    kv_write_bytes: float
    weight_format: str = "fp16"
    kv_format: str = "fp16"
    details: Mapping = field(default_factory=dict)
    new_tokens: int | None = None

    @property
    def tokens(self) -> int:
        """Tokens this step processes: ``batch * seq_len`` (``batch`` in decode; every
        prompt and decode token of a ``"mixed"`` step)."""
        return self.new_tokens if self.new_tokens is not None else self.batch * self.seq_len

    @property
    def macs(self) -> int:
        """All multiply-accumulates of the step."""
        return sum(g.macs * n for g, n, _ in self.gemms)

    @property
    def ops(self) -> int:
        """``2 * macs``."""
        return 2 * self.macs

    @property
    def bytes_moved(self) -> float:
        """Weights + KV cache read + KV cache written (bytes), the roofline's traffic."""
        return self.weight_bytes + self.kv_read_bytes + self.kv_write_bytes

    def arithmetic_intensity(self) -> float:
        """``ops / bytes_moved`` (ops per byte)."""
        return self.ops / self.bytes_moved

    def layers(self) -> list:
        """Every GEMM expanded (``count`` copies each), e.g. to feed a layer-by-layer engine."""
        return [g for g, n, _ in self.gemms for _ in range(n)]

    def __repr__(self) -> str:
        return (f"LLMPhase({self.name!r}, {self.phase}, batch={self.batch}, seq_len={self.seq_len}, "
                f"context_len={self.context_len}, GMACs={self.macs / 1e9:.3g}, "
                f"MB moved={self.bytes_moved / 1e6:.4g})")


@dataclass(frozen=True)
class DecoderLM:
    """A decoder-only LLM built from an :class:`LLMConfig`.

    Examples
    --------
    >>> m = from_config({"model_type": "llama", "hidden_size": 64, "intermediate_size": 256,
    ...                  "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 1000})
    >>> m.param_count()
    259392
    >>> m.decode(context_len=16, batch=1).tokens
    1
    """

    config: LLMConfig

    @property
    def name(self) -> str:
        """The config's name."""
        return self.config.name

    # ---- parameters ----------------------------------------------------------------
    def attention_param_count(self) -> int:
        """Parameters of one layer's attention: q, k, v, o (+ biases, q/k norms)."""
        c = self.config
        d, q, kv = c.hidden_size, c.num_attention_heads * c.head_dim, c.num_key_value_heads * c.head_dim
        n = d * q + 2 * d * kv + q * d
        n += (q + 2 * kv) if c.attention_bias else 0
        n += d if c.o_proj_bias else 0
        n += 2 * c.head_dim if c.qk_norm else 0
        return n

    def _mlp_param_count(self, width: int) -> int:
        c = self.config
        d = c.hidden_size
        mats = (3 if c.gated_mlp else 2) * d * width
        bias = ((2 if c.gated_mlp else 1) * width + d) if c.mlp_bias else 0
        return mats + bias

    def expert_param_count(self) -> int:
        """Parameters of one routed expert (a gated MLP of ``moe_intermediate_size``); 0 if dense."""
        c = self.config
        return self._mlp_param_count(c.moe_intermediate_size) if c.num_experts else 0

    def layer_param_count(self, moe: bool | None = None) -> int:
        """Parameters of one decoder layer (attention, MLP or experts, norms).

        ``moe`` picks a mixture-of-experts layer (all experts, router, shared expert) or a
        dense one; by default the kind most layers have.
        """
        c = self.config
        if moe is None:
            moe = c.num_moe_layers * 2 > c.num_hidden_layers
        d = c.hidden_size
        n = self.attention_param_count() + c.norms_per_layer * d
        if not moe:
            return n + self._mlp_param_count(c.intermediate_size)
        n += c.num_experts * self.expert_param_count() + d * c.num_experts       # experts + router
        if c.shared_expert_intermediate_size:
            n += self._mlp_param_count(c.shared_expert_intermediate_size)
            n += d if c.shared_expert_gate else 0
        return n

    def embedding_param_count(self) -> int:
        """Token embedding (and untied LM head) parameters."""
        c = self.config
        return c.vocab_size * c.hidden_size * (1 if c.tie_word_embeddings else 2)

    def param_count(self) -> int:
        """All parameters: embeddings, every layer (all experts), final norm, LM head unless tied."""
        c = self.config
        dense = c.num_hidden_layers - c.num_moe_layers
        return (self.embedding_param_count() + dense * self.layer_param_count(moe=False)
                + c.num_moe_layers * self.layer_param_count(moe=True) + c.hidden_size)

    def active_param_count(self) -> int:
        """Parameters one token uses: all but the ``E - k`` routed experts it skips per MoE layer.

        (The "activated parameters" of MoE model cards, embeddings included: Mixtral-8x7B
        12.9 B of 46.7 B.)  Equal to :meth:`param_count` for a dense model.
        """
        c = self.config
        skipped = c.num_moe_layers * (c.num_experts - c.num_experts_per_tok) * self.expert_param_count()
        return self.param_count() - skipped

    def active_experts(self, tokens: int) -> float:
        """Expected routed experts per MoE layer that ``tokens`` tokens use (uniform routing)."""
        c = self.config
        return expected_active_experts(c.num_experts, c.num_experts_per_tok, tokens) if c.is_moe else 0.0

    def streamed_param_count(self, tokens: int | None = None):
        """Parameters read from memory for a step (all but an untied embedding table).

        With ``tokens``, an MoE layer streams only the experts those tokens route to,
        :meth:`active_experts` (a float: an expectation); without, every expert.
        """
        c = self.config
        untied_table = 0 if c.tie_word_embeddings else c.vocab_size * c.hidden_size
        total = self.param_count() - untied_table
        if tokens is None or not c.is_moe:
            return total
        unused = c.num_experts - self.active_experts(tokens)
        return total - c.num_moe_layers * unused * self.expert_param_count()

    def kv_bytes_per_token(self, kv_format: str = "fp16") -> float:
        """KV-cache bytes one token adds: ``2 * layers * G * h * bytes``."""
        c = self.config
        return 2 * c.num_hidden_layers * c.num_key_value_heads * c.head_dim * bytes_per_param(kv_format)

    # ---- phases --------------------------------------------------------------------
    def _projections(self, M: int, tokens: int) -> list:
        """``(Gemm, count, kind)`` of every weight GEMM for ``M`` token rows (``tokens`` of them)."""
        c = self.config
        L, Lm, d = c.num_hidden_layers, c.num_moe_layers, c.hidden_size
        q, kv = c.num_attention_heads * c.head_dim, c.num_key_value_heads * c.head_dim
        out = [(Gemm(M, q, d, name="q_proj"), L), (Gemm(M, kv, d, name="k_proj"), L),
               (Gemm(M, kv, d, name="v_proj"), L), (Gemm(M, d, q, name="o_proj"), L)]

        def mlp(rows, width, count, prefix=""):
            if count <= 0 or rows <= 0:
                return []
            g = [(Gemm(rows, width, d, name=prefix + "gate_proj"), count)] if c.gated_mlp else []
            return g + [(Gemm(rows, width, d, name=prefix + "up_proj"), count),
                        (Gemm(rows, d, width, name=prefix + "down_proj"), count)]

        out += mlp(M, c.intermediate_size, L - Lm)
        if Lm:
            out.append((Gemm(M, c.num_experts, d, name="router"), Lm))
            if c.shared_expert_intermediate_size:
                out += mlp(M, c.shared_expert_intermediate_size, Lm, "shared_")
                if c.shared_expert_gate:
                    out.append((Gemm(M, 1, d, name="shared_expert_gate"), Lm))
            # R = M k routed rows shared by round(E_active) experts as evenly as possible:
            # exact MACs, and each active expert's weights appear once
            R = M * c.num_experts_per_tok
            n_act = max(1, min(c.num_experts, R, round(self.active_experts(tokens))))
            rows, extra = divmod(R, n_act)
            out += mlp(rows + 1, c.moe_intermediate_size, extra * Lm, "expert_")
            out += mlp(rows, c.moe_intermediate_size, (n_act - extra) * Lm, "expert_")
        return [(g, n, "weight") for g, n in out]

    def _spans(self, new: int, context: int) -> list:
        """``(keys attended, keys read from the cache, layers)`` for full and sliding layers."""
        c = self.config
        Ls = c.num_sliding_layers
        out = [(context, context - new, c.num_hidden_layers - Ls)]
        if Ls:
            W = c.sliding_window
            out.append((min(context, W), min(context - new, W - 1), Ls))
        return [s for s in out if s[2] > 0]

    def step(self, prefill_chunks=(), decode_batch: int = 0, decode_context: int = 1, *,
             weight_format: str = "fp16", group_size: int | None = None,
             kv_format: str = "fp16") -> LLMPhase:
        """One serving iteration: prompt chunks and decode tokens in one pass (Orca, vLLM).

        Parameters
        ----------
        prefill_chunks : sequence of (int, int)
            ``(new_tokens, context_len)`` per sequence being prefilled: a whole prompt of
            ``P`` is ``(P, P)``; a chunk of ``c`` after ``n`` computed tokens is ``(c, n + c)``.
        decode_batch : int, default 0
            Sequences generating one token each.
        decode_context : int, default 1
            Their context (counting the new token).
        weight_format, group_size, kv_format
            As :meth:`prefill`.

        Notes
        -----
        The projections run once on all ``sum(new_tokens) + decode_batch`` rows (weights
        streamed once); attention runs per sequence.  ``prefill(P, b)`` is
        ``step([(P, P)] * b)`` and ``decode(n, b)`` is ``step((), b, n)``.
        """
        chunks = [(int(n), int(ctx)) for n, ctx in prefill_chunks]
        for n, ctx in chunks:
            if n < 1 or ctx < n:
                raise ValueError(f"step: a prefill chunk needs 1 <= new_tokens <= context_len; got ({n}, {ctx})")
        if decode_batch < 0:
            raise ValueError(f"step: decode_batch must be an int >= 0; got {decode_batch!r}")
        if decode_batch:
            positive_int("step", "decode_context", decode_context)
        if not chunks and not decode_batch:
            raise ValueError("step: nothing to run (no prefill chunk and decode_batch=0)")
        c = self.config
        h, H = c.head_dim, c.num_attention_heads
        tokens = sum(n for n, _ in chunks) + decode_batch
        seqs = len(chunks) + decode_batch
        gemms = self._projections(tokens, tokens)
        groups: dict = {}
        for chunk in chunks:
            groups[chunk] = groups.get(chunk, 0) + 1
        if decode_batch:
            groups[(1, decode_context)] = groups.get((1, decode_context), 0) + decode_batch
        kv_layer_token = self.kv_bytes_per_token(kv_format) / c.num_hidden_layers
        kv_read = 0.0
        attention: dict = {}
        for (n, ctx), count in groups.items():
            for span, cached, layers in self._spans(n, ctx):
                for key in ((n, span, h, "qk"), (n, h, span, "pv")):   # Q K^T, P V per head
                    attention[key] = attention.get(key, 0) + count * H * layers
                kv_read += count * cached * layers * kv_layer_token
        gemms += [(Gemm(M, N, K, name=nm), cnt, "attention") for (M, N, K, nm), cnt in attention.items()]
        gemms.append((Gemm(seqs, c.vocab_size, c.hidden_size, name="lm_head"), 1, "weight"))
        bpp = bytes_per_param(weight_format, group_size)
        if chunks and not decode_batch and len(set(chunks)) == 1 and chunks[0][0] == chunks[0][1]:
            phase, batch, seq_len, context_len = "prefill", len(chunks), chunks[0][0], chunks[0][0]
        elif decode_batch and not chunks:
            phase, batch, seq_len, context_len = "decode", decode_batch, 1, decode_context
        else:
            phase, batch, seq_len = "mixed", seqs, 1
            context_len = max([ctx for _, ctx in chunks] + ([decode_context] if decode_batch else []))
        return LLMPhase(
            name=c.name or "llm", phase=phase, batch=batch, seq_len=seq_len,
            context_len=context_len, gemms=tuple(gemms),
            weight_bytes=self.streamed_param_count(tokens) * bpp,
            kv_read_bytes=float(kv_read), kv_write_bytes=float(tokens * self.kv_bytes_per_token(kv_format)),
            weight_format=weight_format, kv_format=kv_format, new_tokens=tokens,
            details={"bytes_per_param": bpp, "kv_bytes_per_token": self.kv_bytes_per_token(kv_format),
                     "params": self.param_count(), "active_params": self.active_param_count(),
                     "active_experts": self.active_experts(tokens)},
        )

    def prefill(self, seq_len: int, batch: int = 1, *, weight_format: str = "fp16",
                group_size: int | None = None, kv_format: str = "fp16") -> LLMPhase:
        """Process a prompt of ``seq_len`` tokens for ``batch`` sequences.

        Parameters
        ----------
        seq_len : int
            Prompt tokens per sequence.
        batch : int, default 1
            Sequences served together.
        weight_format : str, default "fp16"
            Weight format (``"fp16"``, ``"int8"``, ``"int4"``, ``"fp8_e4m3"`` ...).
        group_size : int, optional
            Group size of group-wise quantised weights (adds the scales' bytes).
        kv_format : str, default "fp16"
            KV-cache element format.
        """
        positive_int("prefill", "seq_len", seq_len)
        positive_int("prefill", "batch", batch)
        return self.step([(seq_len, seq_len)] * batch, weight_format=weight_format,
                         group_size=group_size, kv_format=kv_format)

    def decode(self, context_len: int, batch: int = 1, *, weight_format: str = "fp16",
               group_size: int | None = None, kv_format: str = "fp16") -> LLMPhase:
        """Generate one token per sequence attending to ``context_len`` tokens.

        ``context_len`` counts the new token: ``context_len - 1`` keys and values are read
        from the cache and one is written.  Parameters as :meth:`prefill`.
        """
        positive_int("decode", "context_len", context_len)
        positive_int("decode", "batch", batch)
        return self.step((), batch, context_len, weight_format=weight_format,
                         group_size=group_size, kv_format=kv_format)


def from_config(path_or_dict) -> DecoderLM:
    """Build a :class:`DecoderLM` from a HF-style ``config.json`` (path or dict).

    Keys are read as Hugging Face reads them (:mod:`npulab.workloads.hf_config`): a missing
    key takes the default of the ``model_type``'s config class (Gemma ties embeddings, Llama
    does not); an unknown or absent ``model_type`` takes ``PretrainedConfig``'s
    (``tie_word_embeddings=True``).  Mixture-of-experts keys (Mixtral, Qwen-MoE, DeepSeek
    shared experts) and sliding windows are modelled; an architecture key npulab does not
    model (MLA's ``kv_lora_rank`` ...) raises.  ``gated_mlp`` (not a HF key) defaults to
    True.  A bundled name such as ``"llama-3.1-8b"`` loads ``datasets/llm/<name>.json``.

    Raises ``ValueError`` naming a missing or bad field or an unmodelled key.
    """
    from npulab.workloads.hf_config import llm_config_kwargs

    if isinstance(path_or_dict, Mapping):
        cfg, origin = dict(path_or_dict), "config"
    else:
        p = Path(path_or_dict)
        if not p.exists() and p.suffix != ".json":
            from npulab import datasets

            p = datasets.resolve_workload(p.name, kinds=("llm",)) or p
        if not p.exists():
            raise FileNotFoundError(f"no LLM config file {str(p)!r}")
        from npulab._io import load_json

        cfg = load_json(p, expect=dict, what="LLM config")   # bounded depth/numbers, file named
        origin = str(p)
        cfg.setdefault("name", p.stem)
    try:
        return DecoderLM(LLMConfig(**llm_config_kwargs(cfg, origin)))
    except ValueError as err:
        msg = str(err)
        raise ValueError(msg if msg.startswith(origin) else f"{origin}: {msg}") from None


def bundled() -> list[str]:
    """Names of the LLM configs shipped in ``datasets/llm/``."""
    from npulab import datasets

    return sorted(Path(n).stem for n in datasets.available() if n.startswith("llm/"))


__all__ = ["LLMConfig", "LLMPhase", "DecoderLM", "from_config", "bundled", "bytes_per_param",
           "expected_active_experts"]
