"""LLM configs read as Hugging Face reads them: defaults per model_type, MoE, rejected keys."""
import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from npulab import datasets
from npulab.workloads.llm import expected_active_experts, from_config

TINY = {"hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 2, "num_attention_heads": 4,
        "vocab_size": 100}


def macs(phase, kind):
    return sum(g.macs * n for g, n, k in phase.gemms if k == kind)


# ---- published counts -------------------------------------------------------------------
def test_mixtral_total_and_active_params():
    m = from_config("mixtral-8x7b")
    assert m.param_count() == 46_702_792_704               # the true count
    assert abs(m.active_param_count() - 12.9e9) / 12.9e9 < 0.01   # Mixtral paper: 12.9B active


def test_qwen_moe_total_active_and_qkv_biases():
    m = from_config("qwen1.5-moe-a2.7b")
    assert abs(m.param_count() - 14.3e9) / 14.3e9 < 0.01    # model card: 14.3B
    assert abs(m.active_param_count() - 2.7e9) / 2.7e9 < 0.01  # 2.7B activated
    c = m.config
    assert c.attention_bias and not c.o_proj_bias and c.shared_expert_gate
    assert (c.num_experts, c.num_experts_per_tok, c.moe_intermediate_size) == (60, 4, 1408)
    assert c.shared_expert_intermediate_size == 5632 and c.num_sliding_layers == 0


def test_gemma_without_tie_key_is_tied():
    cfg = json.loads(datasets.path("llm/gemma-7b.json").read_text())
    assert "tie_word_embeddings" not in cfg
    m = from_config(cfg)
    assert m.config.tie_word_embeddings
    assert m.param_count() == 8_537_680_896                 # Gemma report: 8.54B
    untied = from_config({**cfg, "tie_word_embeddings": False}).param_count()
    assert untied - m.param_count() == 256000 * 3072        # the 9.2% the issue found


# ---- defaults of each model_type ----------------------------------------------------------
@pytest.mark.parametrize("model_type, tied", [("llama", False), ("mistral", False), ("mixtral", False),
                                              ("qwen2", False), ("qwen3", False), ("gemma", True),
                                              ("gemma2", True), ("phi3", False), ("exaone", True),
                                              ("some-new-arch", True), (None, True)])
def test_tie_default_follows_the_config_class(model_type, tied):
    cfg = dict(TINY, num_key_value_heads=4, **({"model_type": model_type} if model_type else {}))
    assert from_config(cfg).config.tie_word_embeddings is tied


@pytest.mark.parametrize("model_type, kv", [("llama", 4), ("phi3", 4), ("exaone", 4), ("mistral", 8),
                                            ("qwen2", 32), ("gemma", 16), ("qwen3_moe", 4)])
def test_missing_kv_heads_take_the_class_default(model_type, kv):
    heads = 32
    cfg = dict(TINY, model_type=model_type, num_attention_heads=heads, hidden_size=2048)
    if model_type in ("llama", "phi3", "exaone"):
        kv = heads                                           # None -> num_attention_heads
    assert from_config(cfg).config.num_key_value_heads == kv


def test_all_missing_keys_take_the_class_defaults():
    assert from_config({"model_type": "mixtral"}).param_count() == 46_702_792_704
    gemma = from_config({"model_type": "gemma"}).config
    assert (gemma.head_dim, gemma.hidden_size, gemma.vocab_size) == (256, 3072, 256000)
    assert from_config({"model_type": "qwen3"}).config.qk_norm
    assert from_config({"model_type": "exaone"}).config.intermediate_size == 4 * 2048


def test_unknown_type_without_required_key_names_it():
    with pytest.raises(ValueError, match="vocab_size") as err:
        from_config({k: v for k, v in TINY.items() if k != "vocab_size"})
    assert "\n" not in str(err.value)


def test_bias_rules_per_family():
    d, L, kv = 64, 2, 64
    llama = from_config(dict(TINY, model_type="llama"))
    llama_b = from_config(dict(TINY, model_type="llama", attention_bias=True))
    assert llama_b.param_count() - llama.param_count() == L * (d + 2 * kv + d)   # q, k, v and o
    assert llama_b.config.o_proj_bias
    mlp = from_config(dict(TINY, model_type="llama", mlp_bias=True))
    assert mlp.param_count() - llama.param_count() == L * (2 * 96 + d)
    qwen2 = from_config(dict(TINY, model_type="qwen2", num_key_value_heads=4))
    assert qwen2.config.attention_bias and not qwen2.config.o_proj_bias
    mistral = from_config(dict(TINY, model_type="mistral", num_key_value_heads=4, attention_bias=True))
    assert not mistral.config.attention_bias                # MistralAttention has no biases
    qwen3 = from_config(dict(TINY, model_type="qwen3", num_key_value_heads=4, head_dim=16))
    assert qwen3.param_count() - from_config(dict(TINY, num_key_value_heads=4, head_dim=16,
                                                  tie_word_embeddings=False)).param_count() == L * 2 * 16


def test_gemma2_has_four_norms_and_alternating_windows():
    m = from_config(dict(TINY, model_type="gemma2", num_key_value_heads=2, head_dim=16, num_hidden_layers=5))
    c = m.config
    assert c.norms_per_layer == 4 and c.sliding_window == 4096 and c.num_sliding_layers == 3
    # Gemma-2-2B (model card: 2.61B parameters)
    g2 = from_config({"model_type": "gemma2", "hidden_size": 2304, "intermediate_size": 9216,
                      "num_hidden_layers": 26, "num_attention_heads": 8, "num_key_value_heads": 4,
                      "head_dim": 256, "vocab_size": 256000})
    assert abs(g2.param_count() - 2.61e9) / 2.61e9 < 0.01


# ---- sliding windows ------------------------------------------------------------------------
def test_sliding_window_caps_attention_and_kv_reads():
    m = from_config(dict(TINY, model_type="mistral", num_key_value_heads=2, sliding_window=8))
    c = m.config
    assert c.sliding_window == 8 and c.num_sliding_layers == 2
    ph = m.decode(100, 3)
    assert macs(ph, "attention") == 2 * 3 * c.num_hidden_layers * c.num_attention_heads * 8 * c.head_dim
    assert ph.kv_read_bytes == 3 * 7 * m.kv_bytes_per_token("fp16")     # W - 1 cached keys
    short = m.decode(5, 3)                                                # below the window: as dense
    assert short.kv_read_bytes == 3 * 4 * m.kv_bytes_per_token("fp16")
    off = from_config(dict(TINY, model_type="qwen2", num_key_value_heads=2, sliding_window=8))
    assert off.config.sliding_window is None                              # use_sliding_window False
    on = from_config(dict(TINY, model_type="qwen2", num_key_value_heads=2, sliding_window=8,
                          use_sliding_window=True, max_window_layers=1))
    assert on.config.num_sliding_layers == 1                              # layers >= 1 slide
    typed = from_config(dict(TINY, sliding_window=8, layer_types=["sliding_attention", "full_attention"]))
    assert typed.config.num_sliding_layers == 1


# ---- rejected architecture keys -----------------------------------------------------------
@pytest.mark.parametrize("extra, key", [
    ({"kv_lora_rank": 512}, "kv_lora_rank"),
    ({"q_lora_rank": 1536}, "q_lora_rank"),
    ({"attention_chunk_size": 8192}, "attention_chunk_size"),
    ({"layer_types": ["linear_attention", "full_attention"]}, "linear_attention"),
    ({"text_config": {"hidden_size": 8}}, "text_config"),
    ({"model_type": "deepseek_v3"}, "deepseek_v3"),
    ({"model_type": "deepseek_v2"}, "kv_lora_rank"),
])
def test_unmodelled_architecture_keys_are_rejected_in_one_line(extra, key):
    with pytest.raises(ValueError, match=key) as err:
        from_config(dict(TINY, **extra))
    assert "\n" not in str(err.value)


def test_inactive_unmodelled_keys_are_accepted():
    m = from_config(dict(TINY, kv_lora_rank=None, attention_chunk_size=None, sliding_window=None))
    assert m.param_count() > 0


# ---- mixture of experts ----------------------------------------------------------------------
def test_deepseek_style_shared_experts_and_dense_first_layers():
    cfg = dict(TINY, model_type="deepseek", num_hidden_layers=4, n_routed_experts=8, num_experts_per_tok=2,
               n_shared_experts=2, moe_intermediate_size=16, first_k_dense_replace=1, moe_layer_freq=1)
    c = from_config(cfg).config
    assert (c.num_experts, c.num_moe_layers, c.shared_expert_intermediate_size) == (8, 3, 32)
    qwen = from_config(dict(TINY, model_type="qwen2_moe", num_key_value_heads=4, num_hidden_layers=6,
                            decoder_sparse_step=2, mlp_only_layers=[1]))
    assert qwen.config.num_moe_layers == 2                  # layers 3 and 5 (1 is listed dense)


def test_decode_streams_the_routed_experts_only():
    m = from_config("mixtral-8x7b")
    bpp = 2.0
    one = m.decode(512, 1, weight_format="fp16")
    table = m.config.vocab_size * m.config.hidden_size        # untied embedding: looked up, not streamed
    assert one.weight_bytes == pytest.approx((m.active_param_count() - table) * bpp)
    many = m.decode(512, 256, weight_format="fp16")
    assert many.weight_bytes == pytest.approx(m.streamed_param_count() * bpp, rel=1e-6)  # every expert
    # weights-only lower bound of a decode step: active weights / bandwidth
    assert one.bytes_moved >= (m.active_param_count() - table) * bpp


def test_expected_active_experts_matches_monte_carlo():
    rng = np.random.default_rng(0)
    E, k = 8, 2
    for tokens in (1, 3, 10):
        draws = [len({e for _ in range(tokens) for e in rng.choice(E, k, replace=False)}) for _ in range(3000)]
        assert np.mean(draws) == pytest.approx(expected_active_experts(E, k, tokens), rel=0.03)


moe_configs = st.builds(
    lambda d, kv, group, layers, f, fe, vocab, tied, E, k, shared, moe_layers: {
        "hidden_size": d * kv * group, "num_attention_heads": kv * group, "num_key_value_heads": kv,
        "num_hidden_layers": layers, "intermediate_size": f, "moe_intermediate_size": fe,
        "vocab_size": vocab, "tie_word_embeddings": tied, "num_experts": E,
        "num_experts_per_tok": min(k, E), "shared_expert_intermediate_size": shared,
        "num_moe_layers": min(moe_layers, layers)},
    st.integers(1, 8), st.sampled_from([1, 2]), st.sampled_from([1, 2, 4]), st.integers(1, 4),
    st.integers(1, 32), st.integers(1, 32), st.integers(1, 300), st.booleans(), st.integers(1, 9),
    st.integers(1, 3), st.sampled_from([0, 8]), st.integers(0, 4))


@settings(max_examples=40, deadline=None)
@given(moe_configs, st.integers(1, 6), st.integers(1, 40))
def test_moe_weight_macs_are_tokens_times_active_matrices(cfg, batch, context):
    """Every token uses k experts + router + shared expert + attention once: MACs = tokens x active matrices."""
    m = from_config(cfg)
    c = m.config
    norms = (2 * c.num_hidden_layers + 1) * c.hidden_size
    table = 0 if c.tie_word_embeddings else c.vocab_size * c.hidden_size
    active_matrices = m.active_param_count() - norms - table
    assert macs(m.decode(context, batch), "weight") == batch * active_matrices
    pre = m.prefill(context, batch)
    lm_head = batch * c.hidden_size * c.vocab_size
    assert macs(pre, "weight") - lm_head == batch * context * (active_matrices - c.hidden_size * c.vocab_size)


class TinyMoE(nn.Module):
    """Mixtral/Qwen-MoE-shaped model in torch: an independent parameter count."""

    def __init__(self, cfg):
        super().__init__()
        d, h, H, G = cfg["hidden_size"], cfg["head_dim"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
        E, fe, fs, V = cfg["num_experts"], cfg["moe_intermediate_size"], cfg["shared"], cfg["vocab_size"]
        bias = cfg["qkv_bias"]

        def mlp(f):
            return nn.ModuleList([nn.Linear(d, f, bias=False), nn.Linear(d, f, bias=False),
                                  nn.Linear(f, d, bias=False)])

        self.embed = nn.Embedding(V, d)
        self.layers = nn.ModuleList()
        for _ in range(cfg["num_hidden_layers"]):
            layer = nn.ModuleDict({"q": nn.Linear(d, H * h, bias=bias), "k": nn.Linear(d, G * h, bias=bias),
                                   "v": nn.Linear(d, G * h, bias=bias), "o": nn.Linear(H * h, d, bias=False),
                                   "router": nn.Linear(d, E, bias=False),
                                   "experts": nn.ModuleList([mlp(fe) for _ in range(E)])})
            if fs:
                layer["shared"] = mlp(fs)
                layer["shared_gate"] = nn.Linear(d, 1, bias=False)
            layer.norms = nn.ParameterList([nn.Parameter(torch.ones(d)), nn.Parameter(torch.ones(d))])
            self.layers.append(layer)
        self.norm = nn.Parameter(torch.ones(d))
        self.lm_head = nn.Linear(d, V, bias=False)


@pytest.mark.parametrize("hf", [
    {"model_type": "mixtral", "hidden_size": 32, "intermediate_size": 24, "num_hidden_layers": 2,
     "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 50, "num_local_experts": 4,
     "num_experts_per_tok": 2},
    {"model_type": "qwen2_moe", "hidden_size": 32, "intermediate_size": 40, "num_hidden_layers": 3,
     "num_attention_heads": 4, "num_key_value_heads": 4, "vocab_size": 70, "num_experts": 6,
     "num_experts_per_tok": 2, "moe_intermediate_size": 12, "shared_expert_intermediate_size": 20},
])
def test_moe_param_count_matches_torch(hf):
    m = from_config(hf)
    c = m.config
    model = TinyMoE({"hidden_size": c.hidden_size, "head_dim": c.head_dim,
                     "num_attention_heads": c.num_attention_heads, "num_key_value_heads": c.num_key_value_heads,
                     "num_experts": c.num_experts, "moe_intermediate_size": c.moe_intermediate_size,
                     "shared": c.shared_expert_intermediate_size, "vocab_size": c.vocab_size,
                     "qkv_bias": c.attention_bias, "num_hidden_layers": c.num_hidden_layers})
    assert m.param_count() == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("cfg, total, active", [
    # DeepSeekMoE 16B (Dai et al., arXiv:2401.06066, Table 1: 16.4B total, 2.8B activated)
    ({"model_type": "deepseek", "hidden_size": 2048, "intermediate_size": 10944, "moe_intermediate_size": 1408,
      "num_hidden_layers": 28, "num_attention_heads": 16, "num_key_value_heads": 16, "n_routed_experts": 64,
      "n_shared_experts": 2, "num_experts_per_tok": 6, "first_k_dense_replace": 1, "moe_layer_freq": 1,
      "vocab_size": 102400, "tie_word_embeddings": False}, 16.4e9, 2.8e9),
    # Qwen3-30B-A3B (model card: 30.5B total, 3.3B activated)
    ({"model_type": "qwen3_moe", "hidden_size": 2048, "intermediate_size": 6144, "moe_intermediate_size": 768,
      "num_hidden_layers": 48, "num_attention_heads": 32, "num_key_value_heads": 4, "head_dim": 128,
      "num_experts": 128, "num_experts_per_tok": 8, "vocab_size": 151936, "tie_word_embeddings": False},
     30.5e9, 3.3e9),
])
def test_held_out_moe_models_match_published_counts(cfg, total, active):
    m = from_config(cfg)
    assert abs(m.param_count() - total) / total < 0.01
    assert abs(m.active_param_count() - active) / active < 0.02
