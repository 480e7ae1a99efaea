"""Run a workload for real on the local torch device, to hold predictions against it.

* **LLMs**: :class:`TorchDecoder`, a minimal Llama-style decoder built from an
  :class:`~npulab.workloads.llm.LLMConfig` with random weights (a seeded
  ``torch.Generator``): embedding, per layer RMSNorm, fused QKV (with the q/k/v bias when
  the config has one), grouped-query attention through ``F.scaled_dot_product_attention``
  over a static KV cache, output projection, RMSNorm, SwiGLU MLP (fused gate/up), residual
  adds; a final norm and the LM head on the last position of each sequence.  Rotary
  embeddings are omitted (< 1% of the work).  This is the kernel sequence
  :mod:`npulab.gpu.kernels` models and the structure the H100 measurements in
  ``datasets/measured/`` were made with.  ``layers`` cuts the depth.
* **Networks** (SCALE-Sim topologies, ``digits-cnn``): every layer runs as its own
  ``conv2d`` (padding already folded into the ifmap, as in the topology) or matmul on a
  random input of its shape, one after another.

Timing (:class:`Timer`): median after warm-up; on CUDA the step is captured in a CUDA graph
and timed with ``torch.cuda.Event`` (the hardware time, without Python launch overhead);
on the CPU a loop is timed with ``time.perf_counter``.

Units: seconds.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

from npulab.gpu.timing import Timer, torch_threads

__all__ = ["TorchDecoder", "Timer", "measure_llm", "measure_layers", "measure_job", "compare",
           "cut_layers", "table"]

_DTYPES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}


def _torch_dtype(dtype: str):
    import torch

    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be one of {sorted(_DTYPES)}; got {dtype!r}")
    return getattr(torch, _DTYPES[dtype])


def TorchDecoder(config, max_len: int, max_batch: int = 1, device: str = "cpu",
                 dtype: str = "fp32", seed: int = 0):
    """A minimal Llama-style decoder with random weights (see the module docstring): a
    ``torch.nn.Module`` whose ``forward(ids, pos)`` returns the last position's logits.

    Parameters
    ----------
    config : LLMConfig
        Shapes (``npulab.workloads.llm.from_config(...).config``).
    max_len : int
        KV-cache positions.
    max_batch : int
        KV-cache sequences.
    device, dtype : str
        torch device and ``"bf16" | "fp16" | "fp32"``.
    seed : int
        Seed of the weights' ``torch.Generator``.
    """
    return _decoder_class()(config, max_len, max_batch, device, dtype, seed)


_DECODER: list[type] = []   # the torch.nn.Module subclass, once defined


def _decoder_class():
    """The ``torch.nn.Module`` subclass, defined on first use (importing this module does
    not import torch)."""
    if _DECODER:
        return _DECODER[0]
    import torch

    class _TorchDecoder(torch.nn.Module):
        k_cache: torch.Tensor                   # buffers (register_buffer in __init__)
        v_cache: torch.Tensor

        def __init__(self, config, max_len: int, max_batch: int = 1, device: str = "cpu",
                     dtype: str = "fp32", seed: int = 0):
            import torch

            super().__init__()
            c = self.config = config
            dt = _torch_dtype(dtype)
            gen = torch.Generator(device=device).manual_seed(seed)
            d, hd = c.hidden_size, c.head_dim
            self.h, self.kvh, self.hd = c.num_attention_heads, c.num_key_value_heads, hd
            qkv = (self.h + 2 * self.kvh) * hd

            def w(*shape):
                t = torch.randn(*shape, generator=gen, device=device, dtype=torch.float32) * 0.02
                return torch.nn.Parameter(t.to(dt), requires_grad=False)

            def ones(n):
                return torch.nn.Parameter(torch.ones(n, device=device, dtype=dt), requires_grad=False)

            ffn = c.intermediate_size * (2 if c.gated_mlp else 1)
            self.blocks = torch.nn.ModuleList()
            for _ in range(c.num_hidden_layers):
                blk: Any = torch.nn.Module()   # a bare container of this layer's tensors
                blk.n1, blk.qkv, blk.o = ones(d), w(d, qkv), w(self.h * hd, d)
                blk.qkv_b = w(qkv) if c.attention_bias else None
                blk.n2, blk.gu, blk.down = ones(d), w(d, ffn), w(c.intermediate_size, d)
                self.blocks.append(blk)
            self.norm = ones(d)
            self.emb = w(c.vocab_size, d)
            self.head = w(d, c.vocab_size)  # tied or not, a [d, V] matrix read once per step
            shape = (c.num_hidden_layers, max_batch, self.kvh, max_len, hd)
            self.register_buffer("k_cache", torch.zeros(shape, device=device, dtype=dt))
            self.register_buffer("v_cache", torch.zeros(shape, device=device, dtype=dt))

        @staticmethod
        def rms(x, g):
            import torch.nn.functional as F

            return F.rms_norm(x, (x.shape[-1],), g, 1e-5)

        def forward(self, ids, pos: int = 0):
            """Logits of the last position of each sequence for tokens ``ids`` [batch, t] at
            cache position ``pos`` (a prompt when ``t > 1``: causal attention over it)."""
            import torch.nn.functional as F

            b, t = ids.shape
            h, kvh, hd = self.h, self.kvh, self.hd
            x = self.emb[ids]
            blk: Any                            # the containers __init__ filled
            for i, blk in enumerate(self.blocks):
                y = self.rms(x, blk.n1) @ blk.qkv
                if blk.qkv_b is not None:
                    y = y + blk.qkv_b
                q, k, v = y.split([h * hd, kvh * hd, kvh * hd], dim=-1)
                q = q.view(b, t, h, hd).transpose(1, 2)
                self.k_cache[i, :b, :, pos:pos + t] = k.view(b, t, kvh, hd).transpose(1, 2)
                self.v_cache[i, :b, :, pos:pos + t] = v.view(b, t, kvh, hd).transpose(1, 2)
                kk, vv = self.k_cache[i, :b, :, :pos + t], self.v_cache[i, :b, :, :pos + t]
                a = F.scaled_dot_product_attention(q, kk, vv, is_causal=t > 1, enable_gqa=kvh != h)
                x = x + a.transpose(1, 2).reshape(b, t, h * hd) @ blk.o
                z = self.rms(x, blk.n2) @ blk.gu
                if self.config.gated_mlp:
                    g, u = z.chunk(2, dim=-1)
                    z = F.silu(g) * u
                else:
                    z = F.gelu(z)
                x = x + z @ blk.down
            return self.rms(x[:, -1], self.norm) @ self.head

    _DECODER.append(_TorchDecoder)
    return _TorchDecoder


def cut_layers(model, layers: int | None):
    """A :class:`~npulab.workloads.llm.DecoderLM` with only its first ``layers`` layers."""
    import dataclasses

    from npulab._validate import positive_int
    from npulab.workloads.llm import DecoderLM

    if layers is None:
        return model
    positive_int("measure", "layers", layers)
    c = model.config
    n = min(layers, c.num_hidden_layers)
    return DecoderLM(dataclasses.replace(c, num_hidden_layers=n,
                                         name=c.name if n == c.num_hidden_layers else f"{c.name}-L{n}"))


def measure_llm(model, phase: str, seq_len: int, batch: int = 1, *, device: str = "cpu",
                dtype: str | None = None, layers: int | None = None, graphs: bool = True,
                seed: int = 0, budget_s: float = 0.05, reps: int = 5,
                threads: int | None = None, samples: list | None = None) -> float:
    """Seconds of one step of ``model`` (a DecoderLM, config path/dict or bundled name).

    ``phase="prefill"``: the whole prompt of ``seq_len`` tokens for ``batch`` sequences;
    ``phase="decode"``: one new token per sequence at context ``seq_len``.  After a warm-up
    call, ``reps`` timed repetitions: their median on CUDA, their minimum on the CPU (as
    ``npulab calibrate`` times its points); ``samples``, when given, receives every
    repetition's seconds (the spread).
    """
    import torch

    from npulab.workloads.llm import DecoderLM, from_config

    if phase not in ("prefill", "decode"):
        raise ValueError(f"phase must be 'prefill' or 'decode'; got {phase!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device cuda: no CUDA device is available to torch here")
    dtype = dtype or ("bf16" if device == "cuda" else "fp32")
    m = model if isinstance(model, DecoderLM) else from_config(model)
    m = cut_layers(m, layers)
    net = TorchDecoder(m.config, max_len=seq_len + 1, max_batch=batch, device=device,
                       dtype=dtype, seed=seed)
    gen = torch.Generator(device=device).manual_seed(seed + 1)
    if phase == "prefill":
        ids = torch.randint(0, m.config.vocab_size, (batch, seq_len), generator=gen, device=device)
        pos = 0
    else:
        ids = torch.randint(0, m.config.vocab_size, (batch, 1), generator=gen, device=device)
        pos = seq_len - 1  # seq_len - 1 cached keys plus the new token
    timer = _timer(device, budget_s, reps, graphs)
    with torch.no_grad(), torch_threads(threads if device == "cpu" else None):
        t = timer(lambda: net(ids, pos))
    if samples is not None:
        samples.extend(timer.samples or [t])
    return t


def _timer(device, budget_s, reps, graphs=True) -> Timer:
    """The Timer of a measurement: the minimum of the repetitions on the CPU (see Timer)."""
    return Timer(device, budget_s=budget_s, reps=reps, graphs=graphs,
                 stat="min" if device == "cpu" else "median")


def measure_layers(layers, *, device: str = "cpu", dtype: str | None = None, seed: int = 0,
                   budget_s: float = 0.05, reps: int = 5, threads: int | None = None,
                   samples: list | None = None) -> float:
    """Seconds of one inference of a network given as Gemm / Conv2d layers, run in order
    (timed as :func:`measure_llm` times a step; ``samples`` receives the repetitions)."""
    import torch
    import torch.nn.functional as F

    from npulab.workloads import Conv2d, Gemm

    dtype = dtype or ("bf16" if device == "cuda" else "fp32")
    dt = _torch_dtype(dtype)
    gen = torch.Generator(device=device).manual_seed(seed)

    def rand(*shape):
        return torch.randn(*shape, generator=gen, device=device, dtype=torch.float32).to(dt)

    ops: list[Callable[[], Any]] = []
    for layer in layers:
        if isinstance(layer, Conv2d):
            x = rand(1, layer.channels, layer.ifmap_h, layer.ifmap_w)
            w = rand(layer.num_filters, layer.channels, layer.filter_h, layer.filter_w)
            ops.append(functools.partial(F.conv2d, x, w, stride=layer.stride))
        elif isinstance(layer, Gemm):
            a, b = rand(layer.M, layer.K), rand(layer.K, layer.N)
            ops.append(functools.partial(torch.matmul, a, b))
        else:
            raise ValueError(f"cannot run a {type(layer).__name__} layer in torch")

    def run():
        for op in ops:
            op()

    timer = _timer(device, budget_s, reps)
    with torch.no_grad(), torch_threads(threads if device == "cpu" else None):
        t = timer(run)
    if samples is not None:
        samples.extend(timer.samples or [t])
    return t


def measure_job(workload, *, phase: str | None = None, seq_len: int = 2048, batch: int = 1,
                device: str = "cpu", dtype: str | None = None, layers: int | None = None,
                reps: int = 5, threads: int | None = None, samples: list | None = None) -> float:
    """Seconds of one run of a bundled workload (LLM step, topology or ``digits-cnn``)."""
    from npulab import datasets
    from npulab.workloads import load_topology
    from npulab.workloads.llm import DecoderLM

    if isinstance(workload, DecoderLM):
        return measure_llm(workload, phase or "decode", seq_len, batch, device=device,
                           dtype=dtype, layers=layers, reps=reps, threads=threads, samples=samples)
    spec = str(workload)
    if spec == "digits-cnn":
        from npulab.perf.scoring import digits_job

        job = digits_job()
        layers_ = [lay for lay, n in job.layers for _ in range(n)]
        return measure_layers(layers_, device=device, dtype=dtype, reps=reps, threads=threads, samples=samples)
    p = datasets.resolve_workload(spec)
    if p is None:
        raise ValueError(f"unknown workload {spec!r} for --measure")
    if p.suffix == ".csv":
        return measure_layers(load_topology(p), device=device, dtype=dtype, reps=reps,
                              threads=threads, samples=samples)
    return measure_llm(p, phase or "decode", seq_len, batch, device=device, dtype=dtype,
                       layers=layers, reps=reps, threads=threads, samples=samples)


def _cut_workload(spec, layers):
    """A bundled LLM name/config cut to ``layers`` (a DecoderLM), or a topology's first
    ``layers`` layers; other workloads unchanged."""
    from npulab import datasets
    from npulab.workloads import load_topology
    from npulab.workloads.llm import from_config

    if layers is None:
        return spec
    p = datasets.resolve_workload(spec)
    if p is not None and p.suffix == ".json":
        return cut_layers(from_config(p), layers)
    if p is not None and p.suffix == ".csv":
        return load_topology(p)[:layers]
    return spec


def compare(workloads, hardware, *, phases=None, seq_len: int = 2048, batch: int = 1,
            device: str | None = None, layers: int | None = None, reps: int = 5,
            weight_format: str | None = None, threads: int | None = None,
            progress: bool = False, passes: int | None = None) -> list[dict]:
    """Predicted (each preset) vs measured (the local torch device) for each workload.

    Returns rows ``{workload, phase, hardware, predicted_s, measured_s, error, reps, spread,
    statistic, threads}`` with ``error = predicted / measured - 1`` and ``spread = (slowest -
    fastest repetition) / measured``: how far one repetition strays on this machine.  The
    torch run uses the preset's precision when torch has it (bf16, fp16, fp32), else the
    device default, and on the CPU the thread count the preset was calibrated with (its data
    file's ``threads``) unless ``threads``.  Every job is measured in ``passes`` rounds over
    all jobs (default: :data:`npulab.gpu.calibrate.CPU_PASSES` on the CPU, as the calibration
    is, 1 on CUDA), each a warm-up and ``reps`` repetitions; the measurement is their minimum on
    the CPU (a neighbour's load only ever adds time), their median on CUDA.  ``progress`` shows
    a tqdm bar over the runs: a measurement takes seconds.
    """
    import statistics

    import torch

    from npulab.gpu.calibrate import CPU_PASSES
    from npulab.perf.presets import load_preset
    from npulab.perf.scoring import make_jobs, score_job
    from npulab.workloads.llm import DecoderLM

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    n_passes = passes if passes is not None else (CPU_PASSES if device == "cpu" else 1)
    if isinstance(n_passes, bool) or not isinstance(n_passes, int) or n_passes < 1:
        raise ValueError(f"passes must be an int >= 1; got {passes!r}")
    presets = [load_preset(h) for h in hardware]
    targets = [_cut_workload(w, layers) for w in workloads]
    plans = []  # (row without the measurement, a function measuring it into a sample list)
    for w, target in zip(workloads, targets):
        for preset in presets:
            jobs = make_jobs(target, phases=phases, seq_len=seq_len, batch=batch,
                             precision=preset.precision, weight_format=weight_format or None)
            dtype = preset.precision if preset.precision in _DTYPES else None
            n_threads = threads or _calibrated_threads(preset)
            for job in jobs:
                kw: dict[str, Any] = {"device": device, "dtype": dtype, "reps": reps, "threads": n_threads}
                if isinstance(target, (list, tuple)):
                    run = functools.partial(measure_layers, list(target), **kw)
                elif isinstance(target, DecoderLM):
                    run = functools.partial(measure_llm, target, job.phase, seq_len, batch, **kw)
                else:
                    run = functools.partial(measure_job, target, phase=job.phase or None,
                                            seq_len=seq_len, batch=batch, **kw)
                name = job.name if not isinstance(target, (list, tuple)) else f"{w}-L{len(target)}"
                row: dict[str, Any] = {"workload": name, "phase": job.phase, "hardware": preset.name,
                       "device": device, "predicted_s": score_job(job, preset).latency_s,
                       "threads": (n_threads or torch.get_num_threads()) if device == "cpu" else None}
                plans.append((row, run))
    todo = [(k, run) for _ in range(n_passes) for k, (_, run) in enumerate(plans)]
    if progress:
        from tqdm.auto import tqdm

        todo = tqdm(todo, desc="measure", unit="run")
    results: list[list[float]] = [[] for _ in plans]
    samples: list[list[float]] = [[] for _ in plans]
    for k, run in todo:
        results[k].append(run(samples=samples[k]))
    rows = []
    for (row, _), got, runs in zip(plans, results, samples):
        measured = min(got) if device == "cpu" else statistics.median(got)
        rows.append({**row, "measured_s": measured, "error": row["predicted_s"] / measured - 1.0,
                     "reps": len(runs), "passes": n_passes,
                     "spread": (max(runs) - min(runs)) / measured if runs else 0.0,
                     "statistic": "min" if device == "cpu" else "median"})
    return rows


def _calibrated_threads(preset):
    """The ``threads`` a gpu-kind preset's data file records (CPU calibrations), else None."""
    measured = getattr(preset.config, "measured", "")
    if not measured:
        return None
    try:
        from npulab.gpu.table import measured_paths, read, resolve

        for part in measured_paths(measured):
            n = read(resolve(part)).get("threads")
            if n:
                return int(n)
    except (ValueError, OSError):
        return None
    return None


def table(rows) -> str:
    """The comparison as a text table with the mean and max absolute error."""
    from npulab.metrics.report import format_si, render_table

    head = ("workload", "phase", "hardware", "predicted", "measured", "spread", "error")
    lines = [render_table(head, [(r["workload"], r["phase"] or "-", r["hardware"],
                                  format_si(r["predicted_s"], "s"), format_si(r["measured_s"], "s"),
                                  f"{100 * r.get('spread', 0.0):.0f}%",
                                  f"{100 * r['error']:+.1f}%") for r in rows])]
    if rows:
        errs = [abs(r["error"]) for r in rows]
        r0 = rows[0]
        how = f"{r0.get('statistic', 'median')} of {r0.get('reps', '?')} repetitions"
        if r0.get("passes", 1) > 1:
            how += f" in {r0['passes']} passes, each after a warm-up"
        else:
            how += " after a warm-up"
        if r0.get("threads"):
            how += f", {r0['threads']} thread{'s' if r0['threads'] != 1 else ''}"
        lines.append(f"mean |error| {100 * sum(errs) / len(errs):.1f}%, max {100 * max(errs):.1f}% "
                     f"(measured on {r0['device']}: {how}; spread = slowest - fastest repetition)")
    return "\n".join(lines)
