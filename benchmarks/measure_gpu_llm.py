"""Measure decoder LLMs on a CUDA GPU the way `datasets/measured/h100_measured.json` was made.

A minimal Llama-style decoder built from a ``config.json`` with random bf16 weights: RMSNorm,
fused QKV (with the q/k/v bias when the config has one), grouped-query attention through torch
SDPA, SwiGLU MLP, a static KV cache, logits for the last position only; rotary embedding
omitted (< 1% of the work).  For each config it records

- prefill of ``seq`` tokens for one sequence (CUDA graph and eager),
- one decode step at context ``ctx`` for a batch (CUDA graph, i.e. hardware time without
  Python launch overhead, and eager),

each the median of CUDA-event timings after warm-up.  It also records a GEMM grid for the
projection shapes of every config and SDPA attention at several contexts.  This is the script
behind ``datasets/measured/h100_session.json``; it needs a CUDA device and is not part of
``make bench`` (run it by hand: ``python benchmarks/measure_gpu_llm.py OUT.json``).
"""
from __future__ import annotations

import functools
import json
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
#: The dense configs measured (MoE configs need routing this minimal decoder does not model).
CONFIGS = [ROOT / "datasets" / "llm" / f"{n}.json" for n in (
    "llama-3.2-1b", "qwen2.5-1.5b", "exaone-3.5-2.4b", "qwen2.5-7b", "exaone-3.5-7.8b", "llama-3.1-8b")]


def _get(cfg, *keys, default=None):
    for k in keys:
        if k in cfg and cfg[k] is not None:
            return cfg[k]
    return default


def shape(cfg):
    """The dimensions the minimal decoder needs, read from an HF config dict."""
    d = _get(cfg, "hidden_size")
    heads = _get(cfg, "num_attention_heads")
    return {
        "d": d,
        "ffn": _get(cfg, "intermediate_size"),
        "layers": _get(cfg, "num_hidden_layers", "num_layers"),
        "heads": heads,
        "kv_heads": _get(cfg, "num_key_value_heads", default=heads),
        "head_dim": _get(cfg, "head_dim", default=d // heads),
        "vocab": _get(cfg, "vocab_size"),
        "qkv_bias": bool(_get(cfg, "attention_bias", default=cfg.get("model_type") == "qwen2")),
    }


class Decoder(torch.nn.Module):
    def __init__(self, s, max_len, batch, device, dtype, gen):
        super().__init__()
        self.s = s
        d, hd = s["d"], s["head_dim"]
        qkv_out = (s["heads"] + 2 * s["kv_heads"]) * hd

        def w(*shape):
            return (torch.randn(*shape, generator=gen, device=device, dtype=torch.float32) * 0.02).to(dtype)

        self.layers = []
        for _ in range(s["layers"]):
            self.layers.append({
                "n1": torch.ones(d, device=device, dtype=dtype),
                "qkv": w(d, qkv_out),
                "qkv_b": w(qkv_out) if s["qkv_bias"] else None,
                "o": w(s["heads"] * hd, d),
                "n2": torch.ones(d, device=device, dtype=dtype),
                "gu": w(d, 2 * s["ffn"]),
                "down": w(s["ffn"], d),
            })
        self.norm = torch.ones(d, device=device, dtype=dtype)
        self.emb = w(s["vocab"], d)
        self.head = w(d, s["vocab"])
        self.k = torch.zeros(s["layers"], batch, s["kv_heads"], max_len, hd, device=device, dtype=dtype)
        self.v = torch.zeros_like(self.k)

    @staticmethod
    def rms(x, g):
        return F.rms_norm(x, (x.shape[-1],), g, 1e-5)

    def forward(self, ids, pos: int, causal: bool):
        s = self.s
        b, t = ids.shape
        hd, h, kvh = s["head_dim"], s["heads"], s["kv_heads"]
        x = self.emb[ids]
        for i, L in enumerate(self.layers):
            y = self.rms(x, L["n1"]) @ L["qkv"]
            if L["qkv_b"] is not None:
                y = y + L["qkv_b"]
            q, k, v = y.split([h * hd, kvh * hd, kvh * hd], dim=-1)
            q = q.view(b, t, h, hd).transpose(1, 2)
            self.k[i, :b, :, pos:pos + t] = k.view(b, t, kvh, hd).transpose(1, 2)
            self.v[i, :b, :, pos:pos + t] = v.view(b, t, kvh, hd).transpose(1, 2)
            kk, vv = self.k[i, :b, :, :pos + t], self.v[i, :b, :, :pos + t]
            a = F.scaled_dot_product_attention(q, kk, vv, is_causal=causal, enable_gqa=True)
            x = x + a.transpose(1, 2).reshape(b, t, h * hd) @ L["o"]
            gu = self.rms(x, L["n2"]) @ L["gu"]
            g, u = gu.chunk(2, dim=-1)
            x = x + (F.silu(g) * u) @ L["down"]
        return self.rms(x[:, -1], self.norm) @ self.head


def cuda_median(fn, reps=20, warm=5):
    for _ in range(warm):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        torch.cuda.synchronize()
        times.append(a.elapsed_time(b) / 1e3)
    return statistics.median(times)


def graphed(fn):
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(3):
            fn()
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        fn()
    return g.replay


def measure_model(name, cfg, out, dtype=torch.bfloat16):
    s = shape(cfg)
    dev = "cuda"
    gen = torch.Generator(device=dev).manual_seed(0)
    res = {"shape": s, "prefill": [], "decode": []}
    with torch.no_grad():
        m = Decoder(s, max_len=4097, batch=64, device=dev, dtype=dtype, gen=gen)
        for seq in (128, 512, 2048):
            ids = torch.randint(0, s["vocab"], (1, seq), device=dev, generator=gen)
            step = functools.partial(m, ids, 0, True)
            eager = cuda_median(step, reps=10)
            graph = cuda_median(graphed(step), reps=10)
            res["prefill"].append({"tokens": seq, "batch": 1, "eager_s": eager, "graph_s": graph})
        for ctx, batch in ((1024, 1), (1024, 16), (1024, 64), (4096, 1), (4096, 16), (256, 8)):
            ids = torch.randint(0, s["vocab"], (batch, 1), device=dev, generator=gen)
            step = functools.partial(m, ids, ctx, False)
            eager = cuda_median(step)
            graph = cuda_median(graphed(step))
            res["decode"].append({"context": ctx, "batch": batch, "eager_s": eager, "graph_s": graph})
        del m
    torch.cuda.empty_cache()
    out["llm"][name] = res
    print(name, json.dumps(res["prefill"]), json.dumps(res["decode"]), flush=True)


def measure_gemms(out, dtype=torch.bfloat16):
    shapes = set()
    for p in CONFIGS:
        s = shape(json.loads(p.read_text()))
        qkv = (s["heads"] + 2 * s["kv_heads"]) * s["head_dim"]
        shapes |= {(s["d"], qkv), (s["heads"] * s["head_dim"], s["d"]), (s["d"], 2 * s["ffn"]),
                   (s["ffn"], s["d"]), (s["d"], s["vocab"])}
    for K, N in sorted(shapes):
        W = torch.randn(K, N, device="cuda", dtype=dtype)
        for M in (1, 8, 32, 128, 512, 2048, 8192):
            x = torch.randn(M, K, device="cuda", dtype=dtype)
            t = cuda_median(functools.partial(torch.matmul, x, W), reps=15)
            out["gemm"][f"M={M}|K={K}|N={N}"] = {"s": t, "TFLOPs": 2 * M * N * K / t / 1e12}
        del W
    print("gemm points", len(out["gemm"]), flush=True)


def measure_attention(out, dtype=torch.bfloat16):
    for heads, kvh, hd in ((32, 8, 128), (12, 2, 128), (32, 8, 64)):
        for batch, q_len, ctx in ((1, 1, 1024), (16, 1, 1024), (64, 1, 1024), (1, 1, 8192),
                                  (1, 512, 512), (1, 2048, 2048), (4, 512, 512)):
            q = torch.randn(batch, heads, q_len, hd, device="cuda", dtype=dtype)
            k = torch.randn(batch, kvh, ctx, hd, device="cuda", dtype=dtype)
            v = torch.randn_like(k)
            causal = q_len > 1
            t = cuda_median(functools.partial(F.scaled_dot_product_attention, q, k, v, is_causal=causal,
                                              enable_gqa=True))
            out["attention"][f"b={batch}|h={heads}|kvh={kvh}|hd={hd}|q={q_len}|ctx={ctx}"] = {"s": t}
    for n in (2**12, 2**16, 2**20, 2**24, 2**27):
        x = torch.randn(n, device="cuda", dtype=dtype)
        out["elementwise"][f"silu_mul|n={n}"] = {"s": cuda_median(lambda x=x: F.silu(x) * x)}
    print("attention points", len(out["attention"]), flush=True)


def main(path):
    out = {"device": torch.cuda.get_device_name(), "torch": torch.__version__,
           "how": "median of CUDA-event timings after warm-up; bf16; see benchmarks/measure_gpu_llm.py",
           "gemm": {}, "attention": {}, "elementwise": {}, "llm": {}}
    t0 = time.time()
    measure_gemms(out)
    measure_attention(out)
    Path(path).write_text(json.dumps(out, indent=1))
    for p in CONFIGS:
        try:
            measure_model(p.stem, json.loads(p.read_text()), out)
        except Exception as err:  # keep what was measured
            print(p.stem, "failed:", err, flush=True)
            torch.cuda.empty_cache()
        Path(path).write_text(json.dumps(out, indent=1))
        print(f"{time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    if not torch.cuda.is_available():
        print("measure_gpu_llm: no CUDA device here; skipped (run it on a GPU machine)")
        sys.exit(0)
    main(sys.argv[1] if len(sys.argv) > 1 else "gpu_measured.json")
