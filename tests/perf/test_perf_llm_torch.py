"""LLM workloads against an independent oracle: a tiny Llama-style torch model.

Parameter counts come from ``sum(p.numel() for p in model.parameters())`` (torch dedupes a
tied LM head), and the decode/prefill projection GEMMs from tracing the model's
``nn.Linear`` calls with :func:`npulab.workloads.from_torch`.
"""
from collections import Counter

import pytest
import torch
from torch import nn

from npulab.workloads import from_torch
from npulab.workloads.llm import from_config


class TinyDecoder(nn.Module):
    """Llama-shaped decoder: GQA attention projections, SwiGLU MLP, RMSNorm weights, LM head."""

    def __init__(self, cfg):
        super().__init__()
        d, h = cfg["hidden_size"], cfg["head_dim"]
        H, G, f, V = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["intermediate_size"], cfg["vocab_size"]
        bias = cfg.get("attention_bias", False)
        self.embed = nn.Embedding(V, d)
        self.layers = nn.ModuleList()
        for _ in range(cfg["num_hidden_layers"]):
            layer = nn.ModuleDict({
                "q": nn.Linear(d, H * h, bias=bias), "k": nn.Linear(d, G * h, bias=bias),
                "v": nn.Linear(d, G * h, bias=bias), "o": nn.Linear(H * h, d, bias=False),
                "gate": nn.Linear(d, f, bias=False), "up": nn.Linear(d, f, bias=False),
                "down": nn.Linear(f, d, bias=False)})
            layer.norms = nn.ParameterList([nn.Parameter(torch.ones(d)), nn.Parameter(torch.ones(d))])
            self.layers.append(layer)
        self.norm = nn.Parameter(torch.ones(d))
        self.lm_head = nn.Linear(d, V, bias=False)
        if cfg["tie_word_embeddings"]:
            self.lm_head.weight = self.embed.weight
        self.H, self.G, self.h = H, G, h

    def forward(self, tokens):                      # tokens: (B, T) int64
        x = self.embed(tokens)                      # (B, T, d)
        for layer in self.layers:
            a = x * layer.norms[0]
            q = layer["q"](a)                       # (B, T, H*h)
            layer["k"](a), layer["v"](a)            # (B, T, G*h) each: run so the trace sees them
            # shapes only: attention output has q's shape (the attention products are not Linear)
            x = x + layer["o"](q)
            m = x * layer.norms[1]
            x = x + layer["down"](torch.nn.functional.silu(layer["gate"](m)) * layer["up"](m))
        return self.lm_head((x * self.norm)[:, -1])  # logits of the last token: (B, V)


CFGS = [
    {"hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 2, "num_attention_heads": 4,
     "num_key_value_heads": 2, "head_dim": 16, "vocab_size": 50, "tie_word_embeddings": False},
    {"hidden_size": 48, "intermediate_size": 40, "num_hidden_layers": 3, "num_attention_heads": 6,
     "num_key_value_heads": 1, "head_dim": 10, "vocab_size": 33, "tie_word_embeddings": True},
    {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 4,
     "num_key_value_heads": 4, "head_dim": 8, "vocab_size": 20, "tie_word_embeddings": True,
     "model_type": "qwen2"},
]


@pytest.mark.parametrize("cfg", CFGS)
def test_param_count_matches_torch(cfg):
    torch.manual_seed(0)
    model = TinyDecoder({**cfg, "attention_bias": cfg.get("model_type") == "qwen2"})
    assert from_config(cfg).param_count() == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("cfg", CFGS)
@pytest.mark.parametrize("batch, tokens", [(1, 1), (3, 5)])
def test_projection_gemms_match_torch_trace(cfg, batch, tokens):
    torch.manual_seed(0)
    model = TinyDecoder({**cfg, "attention_bias": cfg.get("model_type") == "qwen2"}).eval()
    traced = from_torch(model, torch.zeros(batch, tokens, dtype=torch.long))
    m = from_config(cfg)
    phase = m.decode(8, batch) if tokens == 1 else m.prefill(tokens, batch)
    ours = Counter()
    for g, n, kind in phase.gemms:
        if kind == "weight":
            ours[(g.M, g.N, g.K)] += n
    assert ours == Counter((g.M, g.N, g.K) for g in traced)
