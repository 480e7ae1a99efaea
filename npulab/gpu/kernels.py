"""The kernels a GPU really runs for one LLM step (prefill or decode).

A minimal Llama-style decoder in PyTorch (the one ``npulab.perf.measure`` runs and the
H100 data was measured with) launches, per decoder layer, with ``M = batch * tokens``::

    rms_norm               elementwise   read/write M x d
    x @ W_qkv              GEMM          M x (H + 2G) h x d   (fused q, k, v)
    (+ bias)               elementwise   only with attention_bias (Qwen2)
    k, v -> KV cache       2 copies      M x G h each
    SDPA                   attention     b, H heads, G kv heads, q tokens, ctx keys
    (combine)              elementwise   decode only: split-KV partial results merged
                                         (Flash-Decoding, Dao et al. 2023)
    transpose + reshape    copy          M x H h
    @ W_o                  GEMM          M x d x H h
    residual add           elementwise
    rms_norm               elementwise
    @ W_gate_up            GEMM          M x 2f x d           (fused gate and up)
    silu, multiply         2 elementwise M x f
    @ W_down               GEMM          M x d x f
    residual add           elementwise

and once per step an embedding gather, the final norm on the last position of each
sequence and the LM head GEMM (``batch x V x d``).  That is 14 kernels per layer (15 with
a bias, one more in decode): a decode step of a 16-layer model is ~243 kernels, each paying the device's
per-kernel latency, which is why a one-token step costs more than ``weights / bandwidth``.

:func:`llm_kernels` reads the shapes from an :class:`~npulab.workloads.llm.LLMPhase`
(its GEMM list: ``q_proj``, ``k_proj``, ... ``qk``, ``lm_head``); GEMMs with other names
(e.g. MoE experts) are kept as separate GEMM kernels.

Units: elements, bytes, counts.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from npulab.workloads.layers import Gemm

#: Weight GEMMs fused into one kernel (name of the fused kernel, members).
FUSED = (("qkv", ("q_proj", "k_proj", "v_proj")), ("gate_up", ("gate_proj", "up_proj")))


@dataclass(frozen=True)
class Kernel:
    """One kernel launch (or ``count`` identical ones).

    Attributes
    ----------
    kind : {"gemm", "attention", "elementwise"}
    name : str
    shape : dict
        GEMM ``{M, N, K}`` (``conv: True`` for a lowered convolution); attention
        ``{b, h, kvh, hd, q, ctx}``; elementwise ``{bytes}``.
    count : int
        How many times it runs in the step.
    """

    kind: str
    name: str
    shape: dict = field(hash=False)
    count: int = 1

    def __post_init__(self):
        if self.kind not in ("gemm", "attention", "elementwise"):
            raise ValueError(f"Kernel.kind must be gemm, attention or elementwise; got {self.kind!r}")
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1:
            raise ValueError(f"Kernel.count must be an int >= 1; got {self.count!r}")

    @property
    def macs(self) -> int:
        """Multiply-accumulates (GEMM and attention; 0 for elementwise)."""
        s = self.shape
        if self.kind == "gemm":
            return s["M"] * s["N"] * s["K"]
        if self.kind == "attention":
            return 2 * s["b"] * s["h"] * s["q"] * s["ctx"] * s["hd"]
        return 0


def _elementwise(name, nbytes, count):
    return Kernel("elementwise", name, {"bytes": float(nbytes)}, count)


def _has_bias(phase, L, d, q, kv, weight_params) -> bool:
    """Whether the model has q/k/v biases, from the parameter count the phase records."""
    if "attention_bias" in phase.details:
        return bool(phase.details["attention_bias"])
    params = phase.details.get("params")
    if not params:
        return False
    V = next((g.N for g, _, _ in phase.gemms if g.name == "lm_head"), 0)
    for emb in (V * d, 2 * V * d):  # tied or untied embeddings
        rest = params - emb - weight_params - 2 * d * L - d
        if rest == L * (q + 2 * kv):
            return True
    return False


def llm_kernels(phase, elem_bytes: float = 2.0) -> list[Kernel]:
    """The kernel sequence of one LLM step (see the module docstring).

    Parameters
    ----------
    phase : LLMPhase
        From :meth:`~npulab.workloads.llm.DecoderLM.prefill` or
        :meth:`~npulab.workloads.llm.DecoderLM.decode`.
    elem_bytes : float, default 2
        Bytes per activation element (bf16).

    Returns
    -------
    list of Kernel

    Examples
    --------
    >>> from npulab.workloads.llm import from_config
    >>> m = from_config("llama-3.2-1b")
    >>> ks = llm_kernels(m.decode(1024, batch=1))
    >>> sum(k.count for k in ks)
    243
    """
    weights: dict[str, tuple[Gemm, int]] = {}
    attention = None
    for g, n, kind in phase.gemms:
        if kind == "attention":
            if g.name == "qk":
                attention = (g, n)
            continue
        weights.setdefault(g.name, (g, n))
    if "q_proj" not in weights or attention is None:
        # not a Llama-style phase: one GEMM kernel per weight GEMM, attention as GEMMs
        return [Kernel("gemm", g.name or "gemm", {"M": g.M, "N": g.N, "K": g.K}, n)
                for g, n, _ in phase.gemms]
    qg, L = weights["q_proj"]
    hd = attention[0].K
    B, T, ctx = phase.batch, phase.seq_len, phase.context_len
    M, d = qg.M, qg.K
    H = qg.N // hd
    G = weights["k_proj"][0].N // hd if "k_proj" in weights else H
    f = None
    eb = elem_bytes
    used = set()
    per_layer = []
    weight_params = 0
    for name, (g, n) in weights.items():
        if name != "lm_head":
            weight_params += g.K * g.N * n // max(L, 1)
    bias = _has_bias(phase, L, d, H * hd, G * hd, weight_params * L)

    def fused(fname, members):
        present = [weights[m][0] for m in members if m in weights]
        used.update(m for m in members if m in weights)
        if not present:
            return None
        return Kernel("gemm", fname, {"M": M, "N": sum(g.N for g in present), "K": present[0].K}, L)

    per_layer.append(_elementwise("rms_norm", 2 * M * d * eb, L))
    qkv = fused("qkv", ("q_proj", "k_proj", "v_proj"))
    per_layer.append(qkv)
    if bias:
        per_layer.append(_elementwise("qkv_bias", 2 * M * qkv.shape["N"] * eb, L))
    per_layer.append(_elementwise("kv_cache_write", 2 * M * G * hd * eb, 2 * L))
    per_layer.append(Kernel("attention", "sdpa", {"b": B, "h": H, "kvh": G, "hd": hd, "q": T,
                                                  "ctx": ctx}, L))
    if T == 1:  # split-KV decoding combines the partial softmaxes in a second kernel
        per_layer.append(_elementwise("attn_combine", 4 * B * H * hd * 4, L))
    per_layer.append(_elementwise("attn_transpose", 2 * M * H * hd * eb, L))
    if "o_proj" in weights:
        used.add("o_proj")
        o = weights["o_proj"][0]
        per_layer.append(Kernel("gemm", "o_proj", {"M": M, "N": o.N, "K": o.K}, L))
    per_layer.append(_elementwise("residual_add", 3 * M * d * eb, L))
    per_layer.append(_elementwise("rms_norm", 2 * M * d * eb, L))
    gated = "gate_proj" in weights
    gu = fused("gate_up", ("gate_proj", "up_proj"))
    if gu is not None:
        per_layer.append(gu)
        f = gu.shape["N"] // (2 if gated else 1)
    if f:
        per_layer.append(_elementwise("silu", 2 * M * f * eb, L))
        if gated:
            per_layer.append(_elementwise("mul", 3 * M * f * eb, L))
    if "down_proj" in weights:
        used.add("down_proj")
        dn = weights["down_proj"][0]
        per_layer.append(Kernel("gemm", "down_proj", {"M": M, "N": dn.N, "K": dn.K}, L))
    per_layer.append(_elementwise("residual_add", 3 * M * d * eb, L))
    for name, (g, n) in weights.items():  # anything else (e.g. MoE router, experts)
        if name not in used and name != "lm_head":
            per_layer.append(Kernel("gemm", name, {"M": g.M, "N": g.N, "K": g.K}, n))
    kernels = [_elementwise("embedding", 2 * M * d * eb, 1)] + per_layer
    kernels.append(_elementwise("final_norm", 2 * B * d * eb, 1))
    if "lm_head" in weights:
        h = weights["lm_head"][0]
        kernels.append(Kernel("gemm", "lm_head", {"M": h.M, "N": h.N, "K": h.K}, 1))
    return kernels


__all__ = ["Kernel", "llm_kernels"]
