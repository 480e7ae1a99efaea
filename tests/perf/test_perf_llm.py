"""LLM workloads: parameter counts against published counts, phases, bytes."""
import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npulab import datasets
from npulab.workloads.llm import LLMConfig, bundled, bytes_per_param, from_config

# Published counts (model cards; see datasets/README.md).  EXAONE cards publish the count
# without embeddings, so that is what is compared for them.
PUBLISHED = {
    "llama-3.1-8b": ("total", 8.03e9),
    "llama-3.1-70b": ("total", 70.6e9),
    "llama-3.2-1b": ("total", 1.23e9),
    "qwen2.5-1.5b": ("total", 1.54e9),
    "qwen2.5-7b": ("total", 7.61e9),
    "exaone-3.5-2.4b": ("non_embedding", 2.14e9),
    "exaone-3.5-7.8b": ("non_embedding", 6.98e9),
    "mixtral-8x7b": ("total", 46.7e9),
    "qwen1.5-moe-a2.7b": ("total", 14.3e9),
    "gemma-7b": ("total", 8.54e9),
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_param_count_matches_published_within_1_percent(name):
    m = from_config(name)
    kind, published = PUBLISHED[name]
    count = m.param_count() if kind == "total" else m.param_count() - m.embedding_param_count()
    assert isinstance(m.param_count(), int)
    assert abs(count - published) / published < 0.01, (name, count, published)


def test_every_bundled_config_is_checked():
    assert set(bundled()) == set(PUBLISHED)


def test_llama_8b_exact_count_and_tied_embeddings_counted_once(tmp_path):
    assert from_config("llama-3.1-8b").param_count() == 8_030_261_248
    cfg = json.loads(datasets.path("llm/llama-3.2-1b.json").read_text())
    tied = from_config(cfg).param_count()
    cfg["tie_word_embeddings"] = False
    assert from_config(cfg).param_count() - tied == cfg["vocab_size"] * cfg["hidden_size"]
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    assert from_config(path).param_count() == from_config(cfg).param_count()


def test_qwen_has_qkv_biases():
    m = from_config("qwen2.5-1.5b")
    c = m.config
    assert c.attention_bias
    no_bias = from_config({**c.__dict__, "attention_bias": False})
    kv = c.num_key_value_heads * c.head_dim
    assert m.param_count() - no_bias.param_count() == c.num_hidden_layers * (c.hidden_size + 2 * kv)


def macs_of(phase, kind, skip=()):
    """MACs of the phase's GEMMs of one kind ("weight" or "attention"), GEMMs named in ``skip`` left out."""
    return sum(g.macs * n for g, n, k in phase.gemms if k == kind and g.name not in skip)


configs = st.builds(
    lambda d, kv, group, layers, f, vocab, tied, gated: {
        "hidden_size": d * kv * group, "num_attention_heads": kv * group, "num_key_value_heads": kv,
        "num_hidden_layers": layers, "intermediate_size": f, "vocab_size": vocab,
        "tie_word_embeddings": tied, "gated_mlp": gated},
    st.integers(1, 16), st.sampled_from([1, 2, 3]), st.sampled_from([1, 2, 4]),
    st.integers(1, 4), st.integers(1, 64), st.integers(1, 500), st.booleans(), st.booleans())


@settings(max_examples=30)
@given(configs, st.integers(1, 4), st.integers(1, 64))
def test_decode_weight_macs_equal_matrix_params(cfg, batch, context):
    """At decode every weight is used once per token: weight-GEMM MACs = batch x matrix params."""
    m = from_config(cfg)
    ph = m.decode(context, batch)
    c = m.config
    norms = (2 * c.num_hidden_layers + 1) * c.hidden_size
    untied_table = 0 if c.tie_word_embeddings else c.vocab_size * c.hidden_size
    matrices = m.param_count() - norms - untied_table
    assert macs_of(ph, "weight") == batch * matrices
    # attention: Q K^T and P V over `context` keys, per head and sequence
    assert macs_of(ph, "attention") == 2 * batch * c.num_hidden_layers * c.num_attention_heads * context * c.head_dim
    assert ph.kv_read_bytes == batch * (context - 1) * m.kv_bytes_per_token("fp16")


@settings(max_examples=20)
@given(configs, st.integers(1, 64), st.integers(1, 3))
def test_prefill_scales_with_tokens(cfg, seq, batch):
    m = from_config(cfg)
    p = m.prefill(seq, batch)
    c = m.config
    assert p.tokens == seq * batch
    assert p.kv_write_bytes == seq * batch * 2 * c.num_hidden_layers * c.num_key_value_heads * c.head_dim * 2
    assert p.kv_read_bytes == 0
    # projections scale exactly with the tokens
    proj = macs_of(p, "weight", skip=("lm_head",))
    assert proj == seq * batch * macs_of(m.prefill(1, 1), "weight", skip=("lm_head",))


def test_weight_bytes_follow_the_format():
    m = from_config("llama-3.2-1b")
    fp16 = m.decode(128, weight_format="fp16").weight_bytes
    int8 = m.decode(128, weight_format="int8").weight_bytes
    int4 = m.decode(128, weight_format="int4", group_size=128).weight_bytes
    assert fp16 == 2 * int8 == 2 * m.streamed_param_count()
    assert int4 == pytest.approx(m.streamed_param_count() * bytes_per_param("int4", 128))
    assert int8 / 2 < int4 < int8


@pytest.mark.parametrize("bad, field", [
    ({"hidden_size": 0}, "hidden_size"),
    ({"num_key_value_heads": 3}, "num_key_value_heads"),
    ({"tie_word_embeddings": "yes"}, "tie_word_embeddings"),
])
def test_bad_config_one_line_error_naming_field(bad, field):
    cfg = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
           "num_attention_heads": 4, "vocab_size": 100, **bad}
    with pytest.raises(ValueError, match=field) as err:
        from_config(cfg)
    assert "\n" not in str(err.value)


def test_missing_field_is_named():
    with pytest.raises(ValueError, match="vocab_size"):
        from_config({"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                     "num_attention_heads": 4})


def test_llmconfig_is_frozen():
    c = LLMConfig(hidden_size=8, intermediate_size=8, num_hidden_layers=1, num_attention_heads=2, vocab_size=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.hidden_size = 4
