"""Read a Hugging Face ``config.json`` the way ``transformers`` reads it.

A key missing from a config takes the default of that ``model_type``'s config class in
``transformers`` (``src/transformers/models/<type>/configuration_<type>.py``), not a guess:
a Gemma config without ``tie_word_embeddings`` is tied (``GemmaConfig`` default True), a
Llama config is untied, a Qwen2 config without ``num_key_value_heads`` has 32 of them.
A ``model_type`` not in :data:`HF_DEFAULTS` (or none) takes the defaults of the base
``PretrainedConfig`` (``tie_word_embeddings=True``, no other architecture default) and
npulab's generic layer: q/k/v biases when ``attention_bias``, a gated MLP unless
``gated_mlp: false``.

Besides the defaults, each family's modelling code fixes some structure no key states
(:data:`TRAITS`): Qwen2 and Qwen2-MoE always have q/k/v biases; Llama, Gemma and Qwen3
put ``attention_bias`` on q, k, v *and* o; Qwen3 normalises q and k per head; Gemma2 has
four norms per layer; Mistral, Mixtral, Phi-3 and EXAONE have no biases.

Mixture of experts (Fedus et al., "Switch Transformers", JMLR 2022; Jiang et al.,
"Mixtral of Experts", arXiv:2401.04088; Dai et al., "DeepSeekMoE", arXiv:2401.06066):

* routed experts ``num_local_experts`` (Mixtral), ``num_experts`` (Qwen-MoE) or
  ``n_routed_experts`` (DeepSeek), ``num_experts_per_tok`` of them per token, each a gated
  MLP of ``moe_intermediate_size`` (Mixtral: ``intermediate_size``);
* shared experts that every token uses: Qwen-MoE's one of ``shared_expert_intermediate_size``
  with a sigmoid gate ``d x 1``; DeepSeek's ``n_shared_experts`` of ``moe_intermediate_size``;
* which layers are MoE: Qwen ``mlp_only_layers`` and ``decoder_sparse_step`` (layer ``i`` is
  MoE when ``i`` is not listed and ``(i + 1) % step == 0``); DeepSeek ``first_k_dense_replace``
  and ``moe_layer_freq`` (``i >= k`` and ``i % freq == 0``); the others use ``intermediate_size``.

Sliding-window attention (Beltagy et al., Longformer, 2020; Jiang et al., Mistral 7B, 2023)
is modelled: ``sliding_window`` (Mistral; Qwen only with ``use_sliding_window``; Gemma2 on
every other layer; ``layer_types`` when given) caps the keys a sliding layer attends to.

Architecture keys npulab does not model are rejected with one line naming the key
(:data:`UNMODELLED`): multi-head latent attention (``kv_lora_rank``, DeepSeek-V2/V3),
chunked local attention, cross-attention, linear-attention or state-space layers, nested
multimodal configs.  Keys that change no count (token ids, dropout, RoPE parameters, norm
epsilons, router loss weights ...) are read and ignored.
"""
from __future__ import annotations

from typing import Mapping

#: Defaults of each ``transformers`` config class, for the keys that change counts
#: (transformers ``configuration_<type>.py``; EXAONE: ``configuration_exaone.py`` of
#: LGAI-EXAONE's model repositories).  ``None`` means "derived": ``num_key_value_heads``
#: -> ``num_attention_heads``, ``head_dim`` -> ``hidden_size // num_attention_heads``,
#: EXAONE's ``intermediate_size`` -> ``4 * hidden_size``.
HF_DEFAULTS: dict[str, dict] = {
    "llama": dict(vocab_size=32000, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                  num_attention_heads=32, num_key_value_heads=None, head_dim=None,
                  tie_word_embeddings=False, attention_bias=False, mlp_bias=False),
    "mistral": dict(vocab_size=32000, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                    num_attention_heads=32, num_key_value_heads=8, head_dim=None,
                    tie_word_embeddings=False, sliding_window=4096),
    "mixtral": dict(vocab_size=32000, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                    num_attention_heads=32, num_key_value_heads=8, head_dim=None,
                    tie_word_embeddings=False, sliding_window=None, num_local_experts=8,
                    num_experts_per_tok=2),
    "qwen2": dict(vocab_size=151936, hidden_size=4096, intermediate_size=22016, num_hidden_layers=32,
                  num_attention_heads=32, num_key_value_heads=32, tie_word_embeddings=False,
                  use_sliding_window=False, sliding_window=4096, max_window_layers=28),
    "qwen2_moe": dict(vocab_size=151936, hidden_size=2048, intermediate_size=5632, num_hidden_layers=24,
                      num_attention_heads=16, num_key_value_heads=16, tie_word_embeddings=False,
                      use_sliding_window=False, sliding_window=4096, max_window_layers=28,
                      decoder_sparse_step=1, moe_intermediate_size=1408,
                      shared_expert_intermediate_size=5632, num_experts_per_tok=4, num_experts=60,
                      mlp_only_layers=[]),
    "qwen3": dict(vocab_size=151936, hidden_size=4096, intermediate_size=22016, num_hidden_layers=32,
                  num_attention_heads=32, num_key_value_heads=32, head_dim=128,
                  tie_word_embeddings=False, attention_bias=False, use_sliding_window=False,
                  sliding_window=4096, max_window_layers=28),
    "qwen3_moe": dict(vocab_size=151936, hidden_size=2048, intermediate_size=6144, num_hidden_layers=24,
                      num_attention_heads=32, num_key_value_heads=4, tie_word_embeddings=False,
                      attention_bias=False, use_sliding_window=False, sliding_window=4096,
                      decoder_sparse_step=1, moe_intermediate_size=768, num_experts_per_tok=8,
                      num_experts=128, mlp_only_layers=[]),
    "gemma": dict(vocab_size=256000, hidden_size=3072, intermediate_size=24576, num_hidden_layers=28,
                  num_attention_heads=16, num_key_value_heads=16, head_dim=256,
                  tie_word_embeddings=True, attention_bias=False),
    "gemma2": dict(vocab_size=256000, hidden_size=2304, intermediate_size=9216, num_hidden_layers=26,
                   num_attention_heads=8, num_key_value_heads=4, head_dim=256,
                   tie_word_embeddings=True, attention_bias=False, sliding_window=4096),
    "phi3": dict(vocab_size=32064, hidden_size=3072, intermediate_size=8192, num_hidden_layers=32,
                 num_attention_heads=32, num_key_value_heads=None, tie_word_embeddings=False,
                 sliding_window=None),
    "exaone": dict(vocab_size=102400, hidden_size=2048, num_layers=32, num_attention_heads=32,
                   num_key_value_heads=None, intermediate_size=None, tie_word_embeddings=True),
}

#: Structure each family's modelling code fixes: ``qkv_bias`` (always), ``bias_key`` (what
#: ``attention_bias`` adds: "qkv" or "qkvo"; None: the key is not read), ``mlp_bias_key``,
#: ``qk_norm`` (RMSNorm of head_dim on q and k), ``norms`` per layer.
TRAITS: dict[str, dict] = {
    "llama": dict(bias_key="qkvo", mlp_bias_key=True),
    "mistral": dict(bias_key=None),
    "mixtral": dict(bias_key=None),
    "qwen2": dict(qkv_bias=True, bias_key=None),
    "qwen2_moe": dict(qkv_bias=True, bias_key=None, shared_expert_gate=True),
    "qwen3": dict(bias_key="qkvo", qk_norm=True),
    "qwen3_moe": dict(bias_key="qkvo", qk_norm=True),
    "gemma": dict(bias_key="qkvo"),
    "gemma2": dict(bias_key="qkvo", norms=4, sliding_every_other=True),
    "phi3": dict(bias_key=None),
    "exaone": dict(bias_key=None),
}
_GENERIC = dict(bias_key="qkv", mlp_bias_key=True)

#: Model types npulab knows and rejects (their attention is not modelled).
REJECTED_TYPES = {
    "deepseek_v2": "multi-head latent attention (kv_lora_rank)",
    "deepseek_v3": "multi-head latent attention (kv_lora_rank)",
}


def _active(value) -> bool:
    return value not in (None, False, 0, [], {}, "")


#: Keys that change the architecture in a way npulab does not model: key -> what it is.
#: A key is rejected when its value is "active" (not None/False/0/empty).
UNMODELLED = {
    "kv_lora_rank": "multi-head latent attention (MLA, DeepSeek-V2/V3)",
    "q_lora_rank": "low-rank query projection (MLA, DeepSeek-V2/V3)",
    "attention_chunk_size": "chunked local attention (Llama 4)",
    "cross_attention_layers": "cross-attention layers",
    "is_encoder_decoder": "an encoder-decoder model",
    "text_config": "a nested (multimodal) config; pass the text model's config",
    "vision_config": "a nested (multimodal) config; pass the text model's config",
    "attn_config": "a nested attention config (DBRX)",
    "ffn_config": "a nested FFN config (DBRX)",
    "linear_num_value_heads": "linear-attention layers",
    "full_attention_interval": "hybrid linear/full attention layers",
    "ssm_cfg": "state-space (Mamba) layers",
    "mamba_d_state": "state-space (Mamba) layers",
    "attn_layer_indices": "hybrid attention/state-space layers",
    "hybrid_override_pattern": "hybrid attention/state-space layers",
    "num_nextn_predict_layers": "multi-token-prediction layers",
}

#: Aliases other families use for the core keys.
ALIASES = {
    "num_hidden_layers": ("num_hidden_layers", "num_layers", "n_layer"),
    "hidden_size": ("hidden_size", "n_embd", "d_model"),
    "num_attention_heads": ("num_attention_heads", "n_head"),
    "intermediate_size": ("intermediate_size", "ffn_hidden_size", "n_inner"),
}
_REQUIRED = ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "vocab_size")


def _get(cfg: Mapping, defaults: Mapping, key: str):
    """The config's value of ``key`` (or an alias), else the class default (``None`` if none)."""
    for source in (cfg, defaults):
        for alias in ALIASES.get(key, (key,)):
            if alias in source:
                return source[alias]
    return None


def _int(origin: str, key: str, value):
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{origin}: {key} must be an int; got {value!r}")
    return value


def _sliding_layers(cfg: Mapping, defaults: Mapping, traits: Mapping, layers: int, origin: str):
    """``(window, number of sliding-window layers)``, or ``(None, 0)``."""
    layer_types = cfg.get("layer_types")
    window = _get(cfg, defaults, "sliding_window")
    if "use_sliding_window" in cfg or "use_sliding_window" in defaults:
        if not _get(cfg, defaults, "use_sliding_window"):
            window = None
    if layer_types is not None:
        if not isinstance(layer_types, (list, tuple)):
            raise ValueError(f"{origin}: layer_types must be a list; got {layer_types!r}")
        bad = sorted({t for t in layer_types if t not in ("full_attention", "sliding_attention")})
        if bad:
            raise ValueError(f"{origin}: layer_types {bad[0]!r} is not modelled by npulab "
                             "(only full_attention and sliding_attention)")
        n = sum(t == "sliding_attention" for t in layer_types)
        if n and not _active(window):
            raise ValueError(f"{origin}: layer_types has sliding_attention layers but no sliding_window")
        return (window, n) if n else (None, 0)
    if not _active(window):
        return None, 0
    window = _int(origin, "sliding_window", window)
    if traits.get("sliding_every_other"):          # Gemma2: layers 0, 2, 4 ... slide
        return window, (layers + 1) // 2
    pattern = cfg.get("sliding_window_pattern")
    if _active(pattern):                           # every pattern-th layer is global
        pattern = _int(origin, "sliding_window_pattern", pattern)
        return window, layers - layers // pattern
    if "max_window_layers" in cfg or "max_window_layers" in defaults:   # Qwen: layers >= m slide
        m = _int(origin, "max_window_layers", _get(cfg, defaults, "max_window_layers"))
        return window, max(0, layers - m)
    return window, layers


def _moe(cfg: Mapping, defaults: Mapping, traits: Mapping, layers: int, origin: str) -> dict:
    """LLMConfig MoE fields from whichever family's keys the config uses."""
    experts = None
    for source in (cfg, defaults):            # the config's own key first, whichever family's name
        for key in ("num_local_experts", "num_experts", "n_routed_experts"):
            if source.get(key) is not None and experts is None:
                experts = _int(origin, key, source[key])
    if not experts:
        return {}
    top_k = _int(origin, "num_experts_per_tok", _get(cfg, defaults, "num_experts_per_tok") or 0)
    out = {"num_experts": experts, "num_experts_per_tok": top_k}
    width = _get(cfg, defaults, "moe_intermediate_size")
    if width is not None:
        out["moe_intermediate_size"] = _int(origin, "moe_intermediate_size", width)
    shared = _get(cfg, defaults, "shared_expert_intermediate_size")
    n_shared = _get(cfg, defaults, "n_shared_experts")
    if _active(shared):
        out["shared_expert_intermediate_size"] = _int(origin, "shared_expert_intermediate_size", shared)
        out["shared_expert_gate"] = bool(traits.get("shared_expert_gate", False))
    elif _active(n_shared):
        per = out.get("moe_intermediate_size") or _get(cfg, defaults, "intermediate_size")
        out["shared_expert_intermediate_size"] = _int(origin, "n_shared_experts", n_shared) * per
    only = _get(cfg, defaults, "mlp_only_layers") or []
    step = _int(origin, "decoder_sparse_step", _get(cfg, defaults, "decoder_sparse_step") or 1)
    first_dense = _int(origin, "first_k_dense_replace", _get(cfg, defaults, "first_k_dense_replace") or 0)
    freq = _int(origin, "moe_layer_freq", _get(cfg, defaults, "moe_layer_freq") or 1)
    if step < 1 or freq < 1:
        raise ValueError(f"{origin}: decoder_sparse_step and moe_layer_freq must be >= 1")
    out["num_moe_layers"] = sum(1 for i in range(layers)
                                if i not in only and (i + 1) % step == 0
                                and i >= first_dense and i % freq == 0)
    return out


def llm_config_kwargs(cfg: Mapping, origin: str = "config") -> dict:
    """The :class:`~npulab.workloads.llm.LLMConfig` arguments of a HF config dict.

    Raises ``ValueError`` (one line, prefixed with ``origin``) naming a missing required
    key, a bad value, or an architecture key npulab does not model.
    """
    model_type = cfg.get("model_type")
    if model_type in REJECTED_TYPES:
        raise ValueError(f"{origin}: model_type {model_type!r} uses {REJECTED_TYPES[model_type]}, "
                         "which npulab does not model")
    for key, what in UNMODELLED.items():
        if _active(cfg.get(key)):
            raise ValueError(f"{origin}: {key} ({what}) is not modelled by npulab")
    known = model_type in HF_DEFAULTS
    defaults = HF_DEFAULTS.get(model_type or "", {"tie_word_embeddings": True})  # PretrainedConfig
    traits = TRAITS.get(model_type or "", _GENERIC)
    args: dict = {}
    for key in _REQUIRED:
        value = _get(cfg, defaults, key)
        if value is None and key == "intermediate_size" and model_type == "exaone":
            hidden = _get(cfg, defaults, "hidden_size")
            value = 4 * hidden if isinstance(hidden, int) else None
        if value is None:
            raise ValueError(f"{origin}: LLMConfig.{key} is missing")
        args[key] = value
    for key in ("num_key_value_heads", "head_dim"):
        value = _get(cfg, defaults, key)
        if value is not None:
            args[key] = value
    args["tie_word_embeddings"] = _get(cfg, defaults, "tie_word_embeddings")
    if traits.get("qkv_bias"):                       # Qwen2 / Qwen2-MoE: q, k, v always biased
        qkv_bias = cfg.get("qkv_bias", True)
    elif traits.get("bias_key"):
        qkv_bias = _get(cfg, defaults, "attention_bias")
        qkv_bias = False if qkv_bias is None else qkv_bias
    else:                                            # Mistral, Mixtral, Phi-3, EXAONE: none
        qkv_bias = False
    args["attention_bias"] = qkv_bias
    if known:
        args["o_proj_bias"] = qkv_bias is True and traits.get("bias_key") == "qkvo"
        args["mlp_bias"] = bool(_get(cfg, defaults, "mlp_bias")) if traits.get("mlp_bias_key") else False
        args["qk_norm"] = traits.get("qk_norm", False)
        args["norms_per_layer"] = traits.get("norms", 2)
    else:                                            # npulab's generic layer (LLMConfig's own keys)
        for key, default in (("o_proj_bias", False), ("mlp_bias", False), ("qk_norm", False),
                             ("norms_per_layer", 2)):
            args[key] = cfg.get(key, default)
    args["gated_mlp"] = cfg.get("gated_mlp", True)
    layers = args["num_hidden_layers"]
    if isinstance(layers, int) and not isinstance(layers, bool) and layers > 0:  # else LLMConfig names it
        if not known and "num_moe_layers" in cfg and "num_experts" in cfg:   # LLMConfig's own fields
            for key in ("num_experts", "num_experts_per_tok", "moe_intermediate_size",
                        "shared_expert_intermediate_size", "shared_expert_gate", "num_moe_layers"):
                if key in cfg:
                    args[key] = cfg[key]
        else:
            args.update(_moe(cfg, defaults, traits, layers, origin))
        if not known and "num_sliding_layers" in cfg:
            args["sliding_window"], args["num_sliding_layers"] = cfg.get("sliding_window"), cfg["num_sliding_layers"]
        else:
            window, n = _sliding_layers(cfg, defaults, traits, layers, origin)
            if window is not None:
                args["sliding_window"], args["num_sliding_layers"] = window, n
    args["name"] = str(cfg.get("name") or cfg.get("_name_or_path") or model_type or "")
    return args


__all__ = ["HF_DEFAULTS", "TRAITS", "UNMODELLED", "REJECTED_TYPES", "llm_config_kwargs"]
