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

The two serving phases (Pope et al., "Efficiently Scaling Transformer Inference",
MLSys 2023; Yuan et al., "LLM Inference Unveiled" (LLM-Viewer), 2024):

* **prefill** ``(seq_len, batch)``: every projection is a GEMM with ``M = batch * seq_len``;
  attention is ``Q K^T`` (``seq_len x seq_len x h``) and ``P V`` per head and sequence;
  the K and V of every prompt token are written to the KV cache.
* **decode** ``(context_len, batch)``: one new token per sequence, ``M = batch``; attention
  reads the ``context_len`` cached keys and values (``context_len`` counts the new token).

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

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from npulab._validate import positive_int
from npulab.workloads.layers import Gemm

#: HF config keys and the aliases other model families use for them.
_ALIASES = {
    "num_hidden_layers": ("num_hidden_layers", "num_layers", "n_layer"),
    "hidden_size": ("hidden_size", "n_embd", "d_model"),
    "num_attention_heads": ("num_attention_heads", "n_head"),
    "intermediate_size": ("intermediate_size", "ffn_hidden_size", "n_inner"),
}


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
        Model width ``d``, MLP width ``f``, layers, query heads ``H``.
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

    Units: elements (widths), parameters.
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
        for f in ("tie_word_embeddings", "gated_mlp", "attention_bias"):
            if not isinstance(getattr(self, f), bool):
                raise ValueError(f"LLMConfig.{f} must be a bool; got {getattr(self, f)!r}")


@dataclass(frozen=True, repr=False)
class LLMPhase:
    """One serving step of an LLM: its GEMMs and the bytes it must move.

    Attributes
    ----------
    name, phase : str
        Model name and ``"prefill"`` or ``"decode"``.
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

    @property
    def tokens(self) -> int:
        """Tokens this step processes: ``batch * seq_len`` (``batch`` in decode)."""
        return self.batch * self.seq_len

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
    >>> m = from_config({"hidden_size": 64, "intermediate_size": 256, "num_hidden_layers": 2,
    ...                  "num_attention_heads": 4, "vocab_size": 1000})
    >>> m.param_count()
    259392
    >>> m.decode(context_len=16, batch=1).tokens
    1
    """

    config: LLMConfig

    @property
    def name(self) -> str:
        return self.config.name

    # ---- parameters ----------------------------------------------------------------
    def layer_param_count(self) -> int:
        """Parameters of one decoder layer (projections, biases, two norms)."""
        c = self.config
        d, q, kv = c.hidden_size, c.num_attention_heads * c.head_dim, c.num_key_value_heads * c.head_dim
        attn = d * q + 2 * d * kv + q * d
        if c.attention_bias:
            attn += q + 2 * kv
        mlp = (3 if c.gated_mlp else 2) * d * c.intermediate_size
        return attn + mlp + 2 * d

    def embedding_param_count(self) -> int:
        """Token embedding (and untied LM head) parameters."""
        c = self.config
        return c.vocab_size * c.hidden_size * (1 if c.tie_word_embeddings else 2)

    def param_count(self) -> int:
        """All parameters: embeddings, every layer, final norm, LM head unless tied."""
        c = self.config
        return self.embedding_param_count() + c.num_hidden_layers * self.layer_param_count() + c.hidden_size

    def streamed_param_count(self) -> int:
        """Parameters read from memory for every step (all but an untied embedding table)."""
        c = self.config
        untied_table = 0 if c.tie_word_embeddings else c.vocab_size * c.hidden_size
        return self.param_count() - untied_table

    def kv_bytes_per_token(self, kv_format: str = "fp16") -> float:
        """KV-cache bytes one token adds: ``2 * layers * G * h * bytes``."""
        c = self.config
        return 2 * c.num_hidden_layers * c.num_key_value_heads * c.head_dim * bytes_per_param(kv_format)

    # ---- phases --------------------------------------------------------------------
    def _phase(self, phase, batch, seq_len, context_len, weight_format, group_size, kv_format):
        c = self.config
        L, d, h = c.num_hidden_layers, c.hidden_size, c.head_dim
        q, kv = c.num_attention_heads * h, c.num_key_value_heads * h
        M = batch * seq_len                       # tokens through every projection
        per_layer = [
            (Gemm(M, q, d, name="q_proj"), 1),
            (Gemm(M, kv, d, name="k_proj"), 1),
            (Gemm(M, kv, d, name="v_proj"), 1),
            (Gemm(M, d, q, name="o_proj"), 1),
        ]
        if c.gated_mlp:
            per_layer += [(Gemm(M, c.intermediate_size, d, name="gate_proj"), 1),
                          (Gemm(M, c.intermediate_size, d, name="up_proj"), 1)]
        else:
            per_layer += [(Gemm(M, c.intermediate_size, d, name="up_proj"), 1)]
        per_layer += [(Gemm(M, d, c.intermediate_size, name="down_proj"), 1)]
        heads = batch * c.num_attention_heads
        attention = [(Gemm(seq_len, context_len, h, name="qk"), heads),   # Q K^T per head
                     (Gemm(seq_len, h, context_len, name="pv"), heads)]   # P V per head
        gemms = [(g, n * L, "weight") for g, n in per_layer]
        gemms += [(g, n * L, "attention") for g, n in attention]
        gemms.append((Gemm(batch, c.vocab_size, d, name="lm_head"), 1, "weight"))
        bpp = bytes_per_param(weight_format, group_size)
        kv_token = self.kv_bytes_per_token(kv_format)
        kv_read = batch * (context_len - seq_len) * kv_token if phase == "decode" else 0.0
        return LLMPhase(
            name=c.name or "llm", phase=phase, batch=batch, seq_len=seq_len,
            context_len=context_len, gemms=tuple(gemms),
            weight_bytes=self.streamed_param_count() * bpp,
            kv_read_bytes=float(kv_read), kv_write_bytes=float(batch * seq_len * kv_token),
            weight_format=weight_format, kv_format=kv_format,
            details={"bytes_per_param": bpp, "kv_bytes_per_token": kv_token,
                     "params": self.param_count()},
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
        return self._phase("prefill", batch, seq_len, seq_len, weight_format, group_size, kv_format)

    def decode(self, context_len: int, batch: int = 1, *, weight_format: str = "fp16",
               group_size: int | None = None, kv_format: str = "fp16") -> LLMPhase:
        """Generate one token per sequence attending to ``context_len`` tokens.

        ``context_len`` counts the new token: ``context_len - 1`` keys and values are read
        from the cache and one is written.  Parameters as :meth:`prefill`.
        """
        positive_int("decode", "context_len", context_len)
        positive_int("decode", "batch", batch)
        return self._phase("decode", batch, 1, context_len, weight_format, group_size, kv_format)


def _pick(cfg: Mapping, key: str):
    for alias in _ALIASES.get(key, (key,)):
        if alias in cfg:
            return cfg[alias]
    return None


def from_config(path_or_dict) -> DecoderLM:
    """Build a :class:`DecoderLM` from a HF-style ``config.json`` (path or dict).

    Reads ``hidden_size``, ``intermediate_size``, ``num_hidden_layers`` (or EXAONE's
    ``num_layers``), ``num_attention_heads``, ``num_key_value_heads``, ``head_dim``,
    ``vocab_size``, ``tie_word_embeddings``; Qwen2 (``model_type: qwen2``) has q/k/v biases,
    ``attention_bias`` overrides; ``gated_mlp`` (not a HF key) defaults to True.  A bundled
    name such as ``"llama-3.1-8b"`` loads ``datasets/llm/<name>.json``.

    Raises ``ValueError`` naming a missing or bad field.
    """
    if isinstance(path_or_dict, Mapping):
        cfg, origin = dict(path_or_dict), "config"
    else:
        p = Path(path_or_dict)
        if not p.exists() and p.suffix != ".json":
            from npulab import datasets

            if f"llm/{p.name}.json" in datasets.available():
                p = datasets.path(f"llm/{p.name}.json")
        if not p.exists():
            raise FileNotFoundError(f"no LLM config file {str(p)!r}")
        try:
            cfg = json.loads(p.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ValueError(f"{p}: not valid JSON ({err.msg}, line {err.lineno})") from None
        origin = str(p)
        cfg.setdefault("name", p.stem)
    args = {}
    for key in ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                "vocab_size"):
        value = _pick(cfg, key)
        if value is None:
            raise ValueError(f"{origin}: LLMConfig.{key} is missing")
        args[key] = value
    for key in ("num_key_value_heads", "head_dim"):
        if cfg.get(key) is not None:
            args[key] = cfg[key]
    args["tie_word_embeddings"] = cfg.get("tie_word_embeddings", False)
    args["gated_mlp"] = cfg.get("gated_mlp", True)
    args["attention_bias"] = cfg.get("attention_bias", cfg.get("model_type") == "qwen2")
    args["name"] = str(cfg.get("name") or cfg.get("_name_or_path") or cfg.get("model_type") or "")
    return DecoderLM(LLMConfig(**args))


def bundled() -> list[str]:
    """Names of the LLM configs shipped in ``datasets/llm/``."""
    from npulab import datasets

    return sorted(Path(n).stem for n in datasets.available() if n.startswith("llm/"))


__all__ = ["LLMConfig", "LLMPhase", "DecoderLM", "from_config", "bundled", "bytes_per_param"]
