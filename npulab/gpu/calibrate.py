"""Measure the local torch device and write a ``gpu`` preset calibrated from it.

:func:`measure` times, on ``cpu`` or ``cuda``:

* a GEMM sweep ``x[M,K] @ W[K,N]`` over M and a few (K, N) shapes;
* copy bandwidth (a large tensor copy, bytes read + written);
* elementwise ``silu(x) * x`` at several sizes and one tiny kernel (the per-kernel latency);
* fused attention (``F.scaled_dot_product_attention``, grouped-query) for decode
  (one query over a context) and causal prefill shapes;
* direct convolutions (``F.conv2d``, batch 1) of ResNet-like shapes.

Every figure is a median after warm-up (on the CPU the minimum: a shared machine's noise only
adds time); operands rotate over copies twice the size of the last-level cache (read from
sysfs on the CPU), so weights stream from memory as in a model.  On the CPU a read-only
stream (``read``) is timed beside the copy: it is the memory roof of the GEMMs, small-batch
GEMMs (M = 1 ... 64) at weight-streaming shapes are part of the sweep, and the sweep runs
``CPU_PASSES`` times, each point kept at its fastest (a neighbour slows whole seconds).  The
full CUDA sweep also times a large GEMM in a burst and back to back (``sustained``: a power-capped chip clocks
down).  A point the device cannot run (out of memory, no kernel) is skipped and listed in
``skipped``.  On CUDA each operator is captured ``R`` times
into a CUDA graph and the replay is timed with ``torch.cuda.Event``; the time per call is
then the device's own (``timing: "graph"``), without host launch overhead, which is timed
separately as ``launch_floor_s`` (one eager call between two events).  On the CPU a loop
of ``R`` calls is timed with ``time.perf_counter`` (the per-call overhead is part of the
real cost there, ``timing: "graph"`` too since there is nothing to subtract).

:func:`write_preset` writes the data file (the schema of ``datasets/measured/h100_measured.json``,
extended) and a preset YAML naming it, which ``npulab scorecard --hw PRESET.yaml`` reads.

Units: seconds, bytes, ops/s.
"""
from __future__ import annotations

import json
import math
import platform
import statistics
from pathlib import Path

from npulab.hw.gpu import datasheet

_DTYPES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}
#: Log-coordinate weights (M, N, K) of a CPU's GEMM table (see ``gemm_axes`` in the data).
CPU_GEMM_AXES = (4.0, 0.5, 0.5)
#: Passes of the sweep on the CPU, each point kept at its fastest (:func:`_fastest`).
CPU_PASSES = 3


def _grid(device: str, quick: bool):
    """(M values, (K, N) shapes, attention cases, elementwise sizes) for the sweep."""
    ms: tuple[int, ...]
    kn: tuple[tuple[int, int], ...]
    elem: tuple[int, ...]
    extra: tuple[tuple[int, int, int], ...]
    convs: tuple[tuple[int, int, int, int, int, int], ...]
    if device == "cuda":
        ms = (1, 8, 32, 128, 512, 2048) if quick else (1, 8, 32, 128, 512, 2048, 8192)
        kn = ((2048, 2048), (4096, 4096), (4096, 14336)) if quick else (
            (1024, 1024), (2048, 2048), (2048, 8192), (4096, 4096), (4096, 14336),
            (14336, 4096), (8192, 8192), (4096, 128256))
        att = [(1, 32, 8, 128, 1, 1024), (16, 32, 8, 128, 1, 1024), (64, 32, 8, 128, 1, 1024),
               (1, 32, 8, 128, 2048, 2048), (1, 32, 8, 64, 2048, 2048), (1, 32, 8, 128, 512, 512)]
        if not quick:
            att += [(64, 32, 8, 64, 1, 1024), (1, 32, 8, 128, 1, 8192), (4, 32, 8, 128, 512, 512),
                    (1, 12, 2, 128, 2048, 2048), (16, 12, 2, 128, 1, 4096)]
        elem = (2 ** 12, 2 ** 16, 2 ** 20, 2 ** 24) + (() if quick else (2 ** 27,))
        copy_bytes = 2 ** 30
    else:
        ms = (1, 4, 16, 128, 512) if quick else (1, 4, 8, 32, 128, 512, 2048)
        kn = ((256, 256), (1024, 1024), (1024, 4096)) if quick else (
            (256, 256), (512, 512), (1024, 1024), (1024, 4096), (4096, 1024), (2048, 2048))
        att = [(1, 8, 2, 64, 1, 256), (4, 8, 2, 64, 1, 512), (1, 8, 2, 64, 128, 128)]
        if not quick:
            att += [(16, 8, 2, 64, 1, 1024), (1, 8, 2, 64, 512, 512), (1, 16, 4, 128, 256, 256)]
        elem = (2 ** 10, 2 ** 14, 2 ** 18, 2 ** 22) if quick else (2 ** 10, 2 ** 14, 2 ** 18, 2 ** 22, 2 ** 24)
        copy_bytes = 2 ** 27 if quick else 2 ** 28
    # extra (M, K, N): weight streaming at small M (decode, LM head) and the tall-skinny
    # GEMMs of im2col-lowered convolutions (M = output pixels, K = 9 C, N = filters)
    extra = ((1, 2048, 8192), (16, 2048, 8192), (12544, 147, 64), (3136, 576, 64),
             (784, 1152, 128), (196, 2304, 256))
    if device == "cpu":
        # small-batch weight streaming (decode at batch 1-64, short prompts): the CPU's GEMM
        # kernels reach very different fractions of the memory roof at M = 1, 2, 4, ... 64
        extra += tuple((M, K, N) for K, N in ((2048, 8192), (8192, 2048), (2048, 32768))
                       for M in (1, 2, 4, 8, 16, 32, 64) if (M, K, N) not in extra)
    if device == "cuda":
        extra = ((50176, 147, 64), (12544, 576, 64), (3136, 1152, 128), (784, 2304, 256))
    # direct convolutions (h, w, c, filters, k, stride; padding folded in): ResNet-like
    convs = ((230, 230, 3, 64, 7, 2), (58, 58, 64, 64, 3, 1), (30, 30, 128, 128, 3, 1),
             (16, 16, 256, 256, 3, 1), (9, 9, 512, 512, 3, 1), (56, 56, 64, 256, 1, 1),
             (28, 28, 128, 512, 1, 1))
    if quick:
        convs = convs[:4]
    return ms, kn, att, elem, copy_bytes, extra, convs


class _Progress:
    """tqdm when installed, else a one-line counter on stderr."""

    def __init__(self, total: int, enabled: bool, desc: str):
        self.bar = None
        self.enabled, self.total, self.n, self.desc = enabled, total, 0, desc
        if enabled:
            try:
                from tqdm import tqdm

                self.bar = tqdm(total=total, desc=desc, unit="op", leave=True)
            except ImportError:
                self.bar = None

    def step(self, label: str = ""):
        self.n += 1
        if self.bar is not None:
            self.bar.set_postfix_str(label, refresh=False)
            self.bar.update(1)
        elif self.enabled:
            import sys

            print(f"\r{self.desc}: {self.n}/{self.total} {label:<30}", end="", file=sys.stderr, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()
        elif self.enabled:
            import sys

            print(file=sys.stderr)


def last_level_cache_bytes(default: int = 64 * 2 ** 20) -> int:
    """Size of this machine's last-level CPU cache in bytes (Linux sysfs), else ``default``."""
    best = (0, 0)
    for d in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*"):
        try:
            level = int((d / "level").read_text())
            text = (d / "size").read_text().strip().upper()
        except (OSError, ValueError):
            continue
        unit = {"K": 2 ** 10, "M": 2 ** 20, "G": 2 ** 30}.get(text[-1:], 1)
        try:
            size = int(text.rstrip("KMG")) * unit
        except ValueError:
            continue
        best = max(best, (level, size))
    return best[1] or default


def _device_name(torch, device: str) -> str:
    if device == "cuda":
        return torch.cuda.get_device_name()
    return platform.processor() or platform.machine() or "cpu"


def measure(device: str = "cpu", *, dtype: str | None = None, quick: bool = False,
            progress: bool = True, seed: int = 0, threads: int | None = None,
            passes: int | None = None) -> dict:
    """Time the local device; returns the measured-data dict (see the module docstring).

    Parameters
    ----------
    device : {"cpu", "cuda"}
    dtype : {"bf16", "fp16", "fp32"}, optional
        Default bf16 on cuda, fp32 on cpu.
    quick : bool
        A small sweep (under a minute on a 2-core CPU).
    progress : bool
        Show a progress bar (tqdm when installed).
    seed : int
        Seed of the random operands (a local ``torch.Generator``).
    threads : int, optional
        CPU threads for torch during the sweep (restored afterwards; recorded in the data
        so that ``scorecard --measure`` runs with the same count).
    passes : int, optional
        Passes of the sweep, each point kept at its fastest (default :data:`CPU_PASSES` on
        the CPU, 1 on CUDA).
    """
    from npulab.gpu.timing import torch_threads

    n = passes if passes is not None else (CPU_PASSES if device == "cpu" else 1)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"passes must be an int >= 1; got {passes!r}")
    with torch_threads(threads if device == "cpu" else None):
        runs = [_measure(device, dtype=dtype, quick=quick, progress=progress, seed=seed,
                         label=f" {i + 1}/{n}" if n > 1 else "") for i in range(n)]
    out = _derive(_fastest(runs), device) if n > 1 else runs[0]
    out["passes"] = n
    if device == "cpu":
        import torch

        out["threads"] = threads or torch.get_num_threads()
    return out


def _measure(device, *, dtype, quick, progress, seed, label: str = "") -> dict:
    import torch
    import torch.nn.functional as F

    from npulab.gpu.timing import Timer

    if device not in ("cpu", "cuda"):
        raise ValueError(f"--device must be cpu or cuda; got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: no CUDA device is available to torch here")
    dtype = dtype or ("bf16" if device == "cuda" else "fp32")
    if dtype not in _DTYPES:
        raise ValueError(f"--dtype must be one of {sorted(_DTYPES)}; got {dtype!r}")
    tdt = getattr(torch, _DTYPES[dtype])
    eb = torch.tensor([], dtype=tdt).element_size()
    gen = torch.Generator(device=device).manual_seed(seed)
    ms, kn, att, elem, copy_bytes, extra, convs = _grid(device, quick)
    timer = Timer(device, budget_s=0.01 if quick else 0.02, reps=3 if quick else 5,
                  stat="min" if device == "cpu" else "median")
    total = len(ms) * len(kn) + len(extra) + len(att) + len(elem) + len(convs) + 3
    bar = _Progress(total, progress, f"calibrate {device}{label}")

    def rand(*shape):
        return torch.randn(*shape, generator=gen, device=device, dtype=torch.float32).to(tdt)

    out = {"device": _device_name(torch, device), "torch": torch.__version__, "dtype": str(tdt),
           "elem_bytes": eb, "timing": "graph",
           "how": ("npulab calibrate: "
                   + ("median time per call after warm-up; R calls captured in a CUDA graph, "
                      "replay timed with torch.cuda.Event" if device == "cuda" else
                      "minimum time per call after warm-up, a loop of R calls timed with "
                      "time.perf_counter; each point the fastest of the sweep's passes (passes)")),
           "quick": quick, "gemm": {}, "attention": {}, "elementwise": {}, "conv": {}}
    # operands are rotated over copies totalling twice the last-level cache, so that
    # back-to-back calls stream from memory as a model's distinct weights do (a server CPU's
    # L3 holds hundreds of MB: a fixed 64 MB would time the cache, not the DRAM)
    spill = 256 * 2 ** 20 if device == "cuda" else min(2 ** 30, max(64 * 2 ** 20,
                                                                 2 * last_level_cache_bytes()))
    pool = rand(spill // eb) if device == "cpu" else None

    def copies(nbytes, make, shape=None):
        n = max(1, -(-spill // max(nbytes, 1)))
        if pool is not None and shape is not None and math.prod(shape) <= pool.numel():
            # CPU: views of one buffer (no allocation per copy); the views tile the buffer
            size = math.prod(shape)
            return [pool[i * size:(i + 1) * size].view(*shape)
                    for i in range(max(1, min(n, pool.numel() // size)))]
        return [make() for _ in range(min(128, n))]

    def rotating(fn, items):
        state = {"i": 0}

        def call():
            item = items[state["i"] % len(items)]
            state["i"] += 1
            return fn(*item) if isinstance(item, tuple) else fn(item)
        return call

    def attempt(key, fn):
        """Time one point; a point the device cannot run (out of memory, no kernel for
        the shape) is skipped and listed in ``out["skipped"]`` instead of ending the sweep."""
        try:
            return fn()
        except (RuntimeError, MemoryError) as err:
            out.setdefault("skipped", {})[key] = str(err).splitlines()[0][:200]
            if device == "cuda":
                torch.cuda.empty_cache()
            return None

    with torch.no_grad():
        # per-kernel latency: a one-element in-place add
        tiny = torch.zeros(1, device=device, dtype=tdt)
        out["empty_kernel_s"] = timer(lambda: tiny.add_(1))
        out["launch_floor_s"] = (timer.eager_cuda(lambda: tiny.add_(1)) if device == "cuda"
                                 else out["empty_kernel_s"])
        bar.step("kernel latency")
        n = max(copy_bytes, spill) // (2 * eb)
        src, dst = rand(n), torch.empty(n, device=device, dtype=tdt)
        s = min(timer(lambda d=dst, a=src: d.copy_(a)), timer(lambda d=dst, a=src: torch.add(a, 1, out=d)))
        out["copy"] = {"bytes_rw": 2 * n * eb, "s": s, "TBps": 2 * n * eb / s / 1e12}
        if device == "cpu":
            # read-only streaming (a reduction): the roof of weight-streaming GEMMs; on a
            # CPU a copy's writes also read the line first (write-allocate), so it is slower
            dst.copy_(src)
            s = timer(lambda a=src, b=dst: (a.sum(), b.sum()))  # 2x the cache read, no new buffer
            out["read"] = {"bytes": 2 * n * eb, "s": s, "TBps": 2 * n * eb / s / 1e12}
        del src, dst
        bar.step("copy")
        plan = [((K, N), ms) for K, N in kn] + [((K, N), (M,)) for M, K, N in extra]
        for (K, N), m_values in plan:
            Ws = copies(K * N * eb, lambda K=K, N=N: rand(K, N), (K, N))
            for M in m_values:
                x = rand(M, K)
                key = f"M={M}|K={K}|N={N}"
                s = attempt(key, lambda x=x, Ws=Ws: timer(rotating(lambda W: x @ W, Ws)))
                if s is not None:
                    out["gemm"][key] = {"s": s, "TFLOPs": 2 * M * N * K / s / 1e12,
                                        "GBps": eb * (M * K + K * N + M * N) / s / 1e9}
                bar.step(f"gemm {M}x{N}x{K}")
            del Ws
        for b, h, kvh, hd, q, ctx in att:
            Q = rand(b, h, q, hd)
            shape = (b, kvh, ctx, hd)
            kv = copies(2 * b * kvh * ctx * hd * eb, lambda shape=shape: (rand(*shape), rand(*shape)))
            causal = q > 1
            key = f"b={b}|h={h}|kvh={kvh}|hd={hd}|q={q}|ctx={ctx}"
            def sdpa(Kc, Vc, Q=Q, causal=causal, gqa=kvh != h):
                return F.scaled_dot_product_attention(Q, Kc, Vc, is_causal=causal, enable_gqa=gqa)

            s = attempt(key, lambda sdpa=sdpa, kv=kv: timer(rotating(sdpa, kv)))
            if s is not None:
                out["attention"][key] = {"s": s}
            bar.step(f"attention b={b} q={q} ctx={ctx}")
        for n in elem:
            x = rand(n)
            s = attempt(f"silu_mul|n={n}", lambda x=x: timer(lambda: F.silu(x) * x))
            if s is not None:
                out["elementwise"][f"silu_mul|n={n}"] = {"s": s}
            bar.step(f"silu*mul n={n}")
        for h, w, c, f, k, st in convs:
            key = f"conv|h={h}|w={w}|c={c}|f={f}|k={k}|s={st}"
            x = rand(1, c, h, w)
            wt = rand(f, c, k, k)  # one weight: a conv reuses it over the whole image
            s = attempt(key, lambda x=x, wt=wt, st=st: timer(lambda: F.conv2d(x, wt, stride=st)))
            if s is not None:
                out["conv"][key] = {"s": s}
            bar.step(f"conv {c}->{f} {k}x{k} /{st}")
        if device == "cuda" and not quick:
            out["sustained"] = _sustained(torch, rand)
        bar.step("sustained")
    bar.close()
    return _derive(out, device)


def _fastest(passes: list) -> dict:
    """One measured-data dict from several passes of the sweep: each point's fastest time.

    A shared machine's neighbour (another VM on the same core or memory channels) slows a
    whole stretch of seconds; points taken in passes seconds apart, each kept at its minimum,
    describe the machine rather than the moment."""
    out = dict(passes[0])
    for section in ("gemm", "attention", "elementwise", "conv"):
        merged: dict = {}
        for one in passes:
            for key, v in one[section].items():
                if key not in merged or v["s"] < merged[key]["s"]:
                    merged[key] = v
        out[section] = merged
    for key in ("copy", "read"):
        if key in out:
            out[key] = min((one[key] for one in passes if key in one), key=lambda v: v["s"])
    for key in ("empty_kernel_s", "launch_floor_s"):
        out[key] = min(one[key] for one in passes)
    timed = {k for section in ("gemm", "attention", "elementwise", "conv") for k in out[section]}
    skipped = {k: v for one in passes for k, v in one.get("skipped", {}).items() if k not in timed}
    out.pop("skipped", None)
    if skipped:  # only the points no pass could time
        out["skipped"] = skipped
    out["passes"] = len(passes)
    return out


def _derive(out: dict, device: str) -> dict:
    """The figures computed from the points: per-kernel latency, achieved roofs (in place)."""
    out["kernel_latency_s"] = _stream_intercept(out)
    small = [v["s"] / 2 for k, v in out["elementwise"].items() if int(k.split("n=")[1]) <= 2 ** 16]
    out["elementwise_latency_s"] = max(out["empty_kernel_s"], statistics.median(small)) if small \
        else out["empty_kernel_s"]
    if not out["gemm"]:
        raise ValueError(f"calibrate: no GEMM could be timed on {device} "
                         f"({next(iter(out.get('skipped', {}).values()), 'unknown error')})")
    best = max(v["TFLOPs"] for v in out["gemm"].values()) * 1e12
    out["achieved"] = {"gemm_ops_per_s": best, "copy_bytes_per_s": out["copy"]["bytes_rw"] / out["copy"]["s"]}
    if "read" in out:
        out["achieved"]["read_bytes_per_s"] = out["read"]["bytes"] / out["read"]["s"]
    if device == "cpu":
        out["llc_bytes"] = last_level_cache_bytes()
        # a CPU's GEMM kernel changes with every small M (1, 2, 4, ... 64 rows): interpolate
        # along M more locally than along N, K (npulab.gpu.table.GEMM_AXES is for GPUs)
        out["gemm_axes"] = list(CPU_GEMM_AXES)
    return out


def _stream_intercept(out) -> float:
    """Effective per-kernel latency: the intercept of ``time = a + bytes / B`` over the
    one-row GEMMs (weight streaming), at least the empty kernel's time."""
    import numpy as np

    pts = []
    eb = out["elem_bytes"]
    for key, v in out["gemm"].items():
        p = dict(part.split("=") for part in key.split("|"))
        M, K, N = int(p["M"]), int(p["K"]), int(p["N"])
        if M == 1:
            pts.append((eb * (K + K * N + N), v["s"]))
    a = 0.0
    if len(pts) >= 3:
        x, y = np.array([p[0] for p in pts]), np.array([p[1] for p in pts])
        slope, a = np.polyfit(x, y, 1)
        a = min(float(a), float(y.min())) if slope > 0 else 0.0
    return max(a, out["empty_kernel_s"])


def _sustained(torch, rand, seconds: float = 1.5) -> dict:
    """A large GEMM in bursts and then back to back for ``seconds``: a power-capped device
    lowers its clock under sustained load (an H100 SXM at 700 W: ~11% slower)."""
    import time as _time

    x, W = rand(8192, 8192), rand(8192, 8192)
    for _ in range(3):
        x @ W
    torch.cuda.synchronize()
    _time.sleep(1.0)
    events, t0 = [], _time.time()
    while _time.time() - t0 < seconds:
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        for _ in range(4):
            x @ W
        b.record()
        events.append((a, b))
        if len(events) % 16 == 0:
            torch.cuda.synchronize()
    torch.cuda.synchronize()
    ts = [a.elapsed_time(b) / 4e3 for a, b in events]
    burst, tail = min(ts[:2]), sorted(ts[len(ts) // 2:])[len(ts[len(ts) // 2:]) // 2]
    return {"gemm": "8192x8192x8192", "burst_s": burst, "sustained_s": tail,
            "ratio": burst / tail}


def preset_dict(data: dict, *, name: str, data_file: str, dtype: str,
                peak_ops_per_s: float | None = None, bandwidth_bytes_per_s: float | None = None) -> dict:
    """The preset (``engine: gpu``) for measured ``data``; datasheet peaks when the device is
    known (:data:`npulab.hw.gpu.DATASHEETS`) or given, else the best measured figures."""
    sheet = datasheet(data.get("device", ""))
    achieved = data["achieved"]
    peak = peak_ops_per_s or (sheet or {}).get(dtype) or achieved["gemm_ops_per_s"]
    bw = bandwidth_bytes_per_s or (sheet or {}).get("bw") or achieved["copy_bytes_per_s"]
    peak = max(peak, achieved["gemm_ops_per_s"])
    bw = max(bw, achieved["copy_bytes_per_s"], achieved.get("read_bytes_per_s", 0.0))
    src = "datasheet" if (sheet or peak_ops_per_s) else "best measured GEMM / copy (no datasheet)"
    return {
        "name": name, "engine": "gpu",
        "description": f"{data.get('device', 'device')} ({dtype}), calibrated by npulab calibrate",
        "gpu": {
            "peak_ops_per_s": float(peak), "dram_bytes_per_s": float(bw),
            "precision": dtype,
            "gemm_efficiency": round(min(1.0, achieved["gemm_ops_per_s"] / peak), 4),
            "bandwidth_efficiency": round(min(1.0, achieved["copy_bytes_per_s"] / bw), 4),
            "kernel_latency_s": float(data["kernel_latency_s"]),
            "elementwise_latency_s": float(data.get("elementwise_latency_s", 0.0)),
            "sustained_compute_ratio": round(min(1.0, float((data.get("sustained") or {}).get("ratio", 1.0))), 4),
            "launch_floor_s": float(data["launch_floor_s"]),
            "measured": data_file, "calibrated": True,
        },
        "sources": {"peaks": src, "measured": f"{data_file}: {data.get('how', '')}",
                    "device": str(data.get("device", "")), "torch": str(data.get("torch", ""))},
    }


def write_preset(data: dict, out: str | Path, *, name: str | None = None,
                 peak_ops_per_s: float | None = None,
                 bandwidth_bytes_per_s: float | None = None) -> tuple[Path, Path]:
    """Write ``out`` (a preset YAML) and its data file ``<stem>_measured.json`` beside it.

    The preset names the data file relative to itself (its file name): move the two together.
    :func:`npulab.perf.presets.load_preset` looks for it beside the preset first."""
    import yaml

    out = Path(out)
    if out.suffix not in (".yaml", ".yml"):
        raise ValueError(f"--out must end in .yaml or .yml; got {str(out)!r}")
    out.parent.mkdir(parents=True, exist_ok=True)
    data_path = out.with_name(out.stem + "_measured.json")
    data_path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    dtype = {"torch.bfloat16": "bf16", "torch.float16": "fp16"}.get(str(data.get("dtype")), "fp32")
    preset = preset_dict(data, name=name or out.stem, data_file=data_path.name, dtype=dtype,
                         peak_ops_per_s=peak_ops_per_s, bandwidth_bytes_per_s=bandwidth_bytes_per_s)
    out.write_text(yaml.safe_dump(preset, sort_keys=False), encoding="utf-8")
    return out, data_path


def summary(data: dict) -> str:
    """A few lines on what was measured."""
    g = max(data["gemm"].items(), key=lambda kv: kv[1]["TFLOPs"])
    return (f"device: {data['device']} ({data['dtype']})\n"
            f"  copy bandwidth  {data['copy']['TBps'] * 1e3:.4g} GB/s\n"
            f"  best GEMM       {g[1]['TFLOPs'] * 1e3:.4g} GFLOP/s at {g[0]}\n"
            f"  kernel latency  {data['kernel_latency_s'] * 1e6:.3g} us"
            f" (launch floor {data['launch_floor_s'] * 1e6:.3g} us)\n"
            f"  points          {len(data['gemm'])} GEMM, {len(data['attention'])} attention, "
            f"{len(data['elementwise'])} elementwise")


__all__ = ["measure", "write_preset", "preset_dict", "summary", "last_level_cache_bytes"]
