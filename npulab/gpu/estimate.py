"""Cost of kernels, layers and LLM steps on a measured device (the ``gpu`` engine).

Every kernel costs the device's per-kernel latency plus its time on the *achieved*
roofline (Williams et al., CACM 2009, with measured instead of datasheet roofs)::

    t = kernel_latency_s + roof / f          roof = max(flops / peak, bytes / copy_bw)

* GEMM: its memory roof uses the read-only streaming bandwidth when the data has one (CPU
  calibrations: a GEMM reads its weights, a copy also writes), else the copy's; ``f``
  interpolated from the measured GEMM table (:mod:`npulab.gpu.table`; a
  convolution, lowered by im2col, from the measured direct convolutions when there are); without
  data ``roof / f = max(flops / (peak * gemm_efficiency), bytes / (bw * gemv_bandwidth_efficiency))``.
* attention (fused SDPA / flash attention, Dao et al. 2022): ``flops = 4 b h q ctx hd``
  (halved for a causal prompt), bytes = Q, O and the K, V read for the context; from
  graph-timed attention points when the file has them, else
  ``max(flops / (peak * attention_efficiency * (hd/128)**0.47), bytes / copy_bw)``.
* elementwise (norms, adds, activations, KV-cache writes, copies): ``bytes / copy_bw``,
  plus ``elementwise_latency_s`` (a small kernel's fixed cost) instead of the GEMM's.

Compute-bound time is stretched by ``1 / sustained_compute_ratio`` (a power-capped chip
clocks down under sustained compute; the GEMM tables are timed in short bursts).

With ``cuda_graphs=False`` (an eager PyTorch loop) the host launches one kernel per
``launch_floor_s`` while the device runs them, so a step takes
``max(device time, kernels * launch_floor_s)``: host-bound for small kernels.

Since ``f <= 1`` and the copy bandwidth is below the datasheet's, no kernel is ever faster
than the datasheet roofline.

Steps add their kernels one after another (one CUDA stream).  This is the approach of
operator-level simulators calibrated on the real device (Vidur, Agrawal et al., MLSys
2024; LLMCompass, Zhang et al., ISCA 2024).

Energy: ``flops * pJ_per_flop + bytes * dram_pJ_per_byte + idle_power_w * latency``
(labelled assumptions in each preset).

Units: seconds, bytes, ops (a MAC counts 2), pJ.
"""
from __future__ import annotations

from npulab.gpu.kernels import Kernel, llm_kernels
from npulab.gpu.table import attention_flops_bytes, gemm_flops_bytes, load
from npulab.hw.gpu import GpuConfig
from npulab.metrics.report import Report, bound_of

#: Fused attention reaches a smaller fraction of the peak at smaller head sizes (the
#: softmax and the loads per score do not shrink with ``hd``): ``eff(hd) = eff(128) *
#: (hd / 128) ** 0.47``, from the H100's CUDA-graph SDPA timings at q = ctx = 2048, 32 heads
#: (h100_calibrate.json): 82.6 us at hd 128 (eff 0.43), 57.4 us at hd 64 (eff 0.31).
ATTENTION_HD_EXPONENT = 0.47

__all__ = ["estimate", "estimate_job", "estimate_llm", "estimate_kernels", "kernel_time", "gemm_time"]


def _check(hw):
    if not isinstance(hw, GpuConfig):
        raise ValueError(f"the gpu engine needs a GpuConfig; got {type(hw).__name__}")


def _copy_bw(hw, data):
    return data.copy_bytes_per_s if data is not None and data.copy_bytes_per_s else hw.achieved_bytes_per_s


def _stream_bw(hw, data):
    """A GEMM's memory roof: the read-only streaming bandwidth where measured, else the copy's."""
    read = getattr(data, "read_bytes_per_s", None) if data is not None else None
    return max(read or 0.0, _copy_bw(hw, data))


def gemm_time(M: int, N: int, K: int, hw: GpuConfig, data=None, *, conv: bool = False) -> float:
    """Device time of one ``[M,K] @ [K,N]`` GEMM (s), table-interpolated where data exists.

    ``conv=True``: the im2col GEMM of a convolution, interpolated among measured direct
    convolutions when the data has them (a direct conv kernel is not an explicit GEMM).
    """
    eb = hw.bytes_per_element
    flops, nbytes = gemm_flops_bytes(M, N, K, eb)
    bw = _stream_bw(hw, data)
    roof = max(flops / hw.peak_ops_per_s, nbytes / bw)
    table = None
    if data is not None:
        table = data.conv if conv and data.conv is not None and len(data.conv) else data.gemm
    if table is not None and len(table):
        t = roof / table.efficiency((M, N, K))
    else:
        t = max(flops / hw.achieved_ops_per_s,
                nbytes / (hw.dram_bytes_per_s * hw.gemv_bandwidth_efficiency))
    return hw.kernel_latency_s + _sustain(t, flops / hw.peak_ops_per_s, nbytes / bw, hw)


def _sustain(t, compute_roof, memory_roof, hw):
    """Stretch the compute-bound share of ``t`` by the power-capped clock (see GpuConfig)."""
    if hw.sustained_compute_ratio >= 1.0 or compute_roof <= 0:
        return t
    share = 1.0 if bound_of(compute_roof, memory_roof) == "compute" else compute_roof / memory_roof
    return t * (1.0 + share * (1.0 / hw.sustained_compute_ratio - 1.0))


def attention_time(shape: dict, hw: GpuConfig, data=None) -> float:
    """Device time of one fused attention call (s)."""
    s = shape
    flops, nbytes = attention_flops_bytes(s["b"], s["h"], s["kvh"], s["hd"], s["q"], s["ctx"],
                                          hw.bytes_per_element)
    bw = _copy_bw(hw, data)
    if data is not None and data.attention is not None and len(data.attention):
        roof = max(flops / hw.peak_ops_per_s, nbytes / bw)
        t = roof / data.attention.efficiency((s["b"] * s["h"] * s["q"], s["ctx"], s["hd"]))
    else:
        eff = hw.attention_efficiency * (min(s["hd"], 128) / 128) ** ATTENTION_HD_EXPONENT
        t = max(flops / (hw.peak_ops_per_s * eff), nbytes / bw)
    return hw.kernel_latency_s + _sustain(t, flops / hw.peak_ops_per_s, nbytes / bw, hw)


def kernel_flops_bytes(k: Kernel, elem_bytes: float = 2.0) -> tuple[float, float]:
    """Operations and bytes of one run of kernel ``k``."""
    s = k.shape
    if k.kind == "gemm":
        return gemm_flops_bytes(s["M"], s["N"], s["K"], elem_bytes)
    if k.kind == "attention":
        return attention_flops_bytes(s["b"], s["h"], s["kvh"], s["hd"], s["q"], s["ctx"], elem_bytes)
    return 0.0, float(s["bytes"])


def kernel_time(k: Kernel, hw: GpuConfig, data=None) -> float:
    """Device time of one run of kernel ``k`` (s)."""
    if k.kind == "gemm":
        return gemm_time(k.shape["M"], k.shape["N"], k.shape["K"], hw, data,
                         conv=bool(k.shape.get("conv")))
    if k.kind == "attention":
        return attention_time(k.shape, hw, data)
    return hw.small_kernel_latency_s + k.shape["bytes"] / _copy_bw(hw, data)


def estimate_kernels(kernels, hw: GpuConfig, *, name: str = "step", macs: int | None = None,
                     energy=None, data=None) -> Report:
    """Sum a kernel sequence into one :class:`~npulab.perf.Report` (``engine="gpu"``).

    ``details`` holds the time, bytes and count of each kernel kind, the roofline floor
    (``max(ops / peak, bytes / datasheet bandwidth)``), ``compute_time_s`` (the time of the
    kernels whose compute roof is not below their memory roof) and ``bound``, both by the one
    rule :func:`~npulab.metrics.report.bound_of` (memory-bound when the bytes at the achieved
    bandwidth take longer than the math at peak; a tie is compute-bound).
    """
    _check(hw)
    data = load(hw) if data is None else data
    eb = hw.bytes_per_element
    latency = flops = nbytes = 0.0
    by_kind: dict = {}
    n_kernels = 0
    mem_time = comp_time = compute_bound_time = 0.0
    bw = _copy_bw(hw, data)
    for k in kernels:
        t = kernel_time(k, hw, data) * k.count
        f, b = kernel_flops_bytes(k, eb)
        if bound_of(f / hw.peak_ops_per_s, b / bw) == "compute":
            compute_bound_time += t
        latency += t
        flops += f * k.count
        nbytes += b * k.count
        n_kernels += k.count
        mem_time += b * k.count / bw
        comp_time += f * k.count / hw.peak_ops_per_s
        slot = by_kind.setdefault(k.kind, {"time_s": 0.0, "count": 0, "bytes": 0.0, "flops": 0.0})
        slot["time_s"] += t
        slot["count"] += k.count
        slot["bytes"] += b * k.count
        slot["flops"] += f * k.count
    macs = int(round(flops / 2)) if macs is None else int(macs)
    device_time = latency
    if not hw.cuda_graphs:  # eager: the host launches while the device runs
        latency = max(latency, n_kernels * hw.launch_floor_s)
    floor = max(flops / hw.peak_ops_per_s, nbytes / hw.dram_bytes_per_s)
    latency = max(latency, floor, 1e-12)
    breakdown = {"compute": flops * hw.pJ_per_flop,
                 "dram": nbytes * hw.dram_pJ_per_byte,
                 "static": hw.idle_power_w * latency * 1e12}
    return Report(
        name=name, engine="gpu", macs=macs, latency_s=latency, energy_breakdown_pJ=breakdown,
        utilization=min(1.0, flops / latency / hw.peak_ops_per_s),
        peak_ops_per_s=hw.peak_ops_per_s, hardware=hw.name, bytes_moved=nbytes,
        dram_bytes_per_s=hw.dram_bytes_per_s,
        compute_time_s=compute_bound_time, bound=bound_of(comp_time, mem_time),
        details={"bound": bound_of(comp_time, mem_time),
                 "compute_time_s": compute_bound_time, "device_time_s": device_time,
                 "kernels": n_kernels, "by_kind": by_kind, "roofline_floor_s": floor,
                 "kernel_latency_s": hw.kernel_latency_s, "cuda_graphs": hw.cuda_graphs,
                 "calibrated": hw.calibrated, "achieved_copy_bytes_per_s": bw})


def estimate(layer, hw: GpuConfig, *, energy=None) -> Report:
    """One layer (a :class:`~npulab.workloads.Gemm`, :class:`~npulab.workloads.Conv2d` lowered
    by im2col, a :class:`~npulab.gpu.kernels.Kernel`, or a whole
    :class:`~npulab.workloads.llm.LLMPhase`) on a measured device.

    ``energy`` is accepted for the engine contract; the device's own energy figures
    (``GpuConfig.pJ_per_flop`` ...) are used.

    Examples
    --------
    >>> from npulab.workloads import Gemm
    >>> hw = GpuConfig("toy", peak_ops_per_s=100e12, dram_bytes_per_s=1e12)
    >>> r = estimate(Gemm(4096, 4096, 4096), hw)
    >>> round(r.latency_s * 1e3, 3)   # 2 * 4096**3 / 80e12 + 2.5 us
    1.72
    """
    from npulab.workloads import Conv2d, Gemm

    _check(hw)
    if hasattr(layer, "gemms") and hasattr(layer, "phase"):
        return estimate_llm(layer, hw, energy=energy)
    if isinstance(layer, Kernel):
        return estimate_kernels([layer], hw, name=layer.name)
    if isinstance(layer, Conv2d):
        g = layer.to_gemm()
    elif isinstance(layer, Gemm):
        g = layer
    else:
        raise ValueError(f"gpu estimate needs a Gemm, Conv2d, Kernel or LLMPhase; got {type(layer).__name__}")
    k = Kernel("gemm", getattr(layer, "name", "") or "gemm",
               {"M": g.M, "N": g.N, "K": g.K, "conv": isinstance(layer, Conv2d)})
    return estimate_kernels([k], hw, name=getattr(layer, "name", "") or str(layer))


def estimate_job(job, hw: GpuConfig, *, energy=None):
    """The engine registry's whole-job entry point: an LLM step (``job.source`` an
    LLMPhase) as its kernel sequence; None for other jobs (scored layer by layer)."""
    src = getattr(job, "source", None)
    if src is not None and hasattr(src, "gemms") and hasattr(src, "phase"):
        return estimate_llm(src, hw, energy=energy)
    return None


def estimate_llm(phase, hw: GpuConfig, *, energy=None) -> Report:
    """One LLM step (prefill of the whole prompt, or one decode step of the batch) as the
    kernel sequence of :func:`~npulab.gpu.kernels.llm_kernels`."""
    _check(hw)
    ks = llm_kernels(phase, hw.bytes_per_element)
    r = estimate_kernels(ks, hw, name=phase.name, macs=phase.macs)
    return Report(**{**_fields(r), "phase": phase.phase, "inferences": phase.tokens, "unit": "token"})


def _fields(r: Report) -> dict:
    import dataclasses

    return {f.name: getattr(r, f.name) for f in dataclasses.fields(r)}
