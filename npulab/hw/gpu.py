"""A measured device (GPU or CPU) as the scorecard's ``gpu`` engine sees it.

A :class:`GpuConfig` holds the datasheet peaks, the efficiencies fitted to measurements
(what fraction of each peak real kernels reach) and the per-kernel latency, plus the path
of the measured-data file (``datasets/measured/*.json``) the engine interpolates
(:mod:`npulab.gpu`).  Where that file has no data for an operator, the engine falls back
to the *achieved roofline*::

    t_kernel = kernel_latency_s + max(flops / (peak * efficiency),
                                      bytes / (bandwidth * bandwidth_efficiency))

Two latencies are kept apart because they differ by 10x on a real GPU:

* ``kernel_latency_s``: what one kernel costs on the device when kernels are queued
  back to back (a CUDA graph replay: launch of a graph node, ramp-up and tail of the grid;
  about 2-3 us on an H100);
* ``launch_floor_s``: the host-side cost of launching one operator from eager PyTorch
  (Python, dispatcher, driver; about 25 us): the floor that isolated small-kernel timings
  and eager decoding loops hit.  Used only when ``cuda_graphs=False``.

Units: ops/s (a MAC counts 2), bytes/s, seconds, W, pJ.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar

from npulab._validate import one_of, positive_number

#: Precisions a measured device may compute in.
GPU_PRECISIONS = ("bf16", "fp16", "fp32", "fp8", "int8")

#: Datasheet dense peaks (ops/s per precision; fp32 without TF32, as torch's matmul default)
#: and memory bandwidth (``"bw"``, bytes/s) of
#: devices ``npulab calibrate`` recognises by a substring of the torch device name (the
#: first match wins, so specific names come first).  Sources: NVIDIA H100 Tensor Core GPU
#: datasheet (SXM5 / PCIe / NVL) and NVIDIA A100 Tensor Core GPU datasheet (SXM4 80 GB,
#: PCIe 80 GB, 40 GB).
DATASHEETS = {
    "H100 PCIe": {"bf16": 756e12, "fp16": 756e12, "fp32": 51.2e12, "bw": 2.0e12},
    "H100 NVL": {"bf16": 835e12, "fp16": 835e12, "fp32": 60e12, "bw": 3.9e12},
    "H100": {"bf16": 989.4e12, "fp16": 989.4e12, "fp32": 66.9e12, "bw": 3.35e12},  # SXM5 80GB HBM3
    "A100-SXM4-80GB": {"bf16": 312e12, "fp16": 312e12, "fp32": 19.5e12, "bw": 2.039e12},
    "A100 80GB PCIe": {"bf16": 312e12, "fp16": 312e12, "fp32": 19.5e12, "bw": 1.935e12},
    "A100": {"bf16": 312e12, "fp16": 312e12, "fp32": 19.5e12, "bw": 1.555e12},  # 40 GB
}


def datasheet(device: str) -> dict | None:
    """The :data:`DATASHEETS` entry whose key occurs in the ``device`` name; None if none does.

    >>> datasheet("NVIDIA H100 80GB HBM3")["bw"]
    3350000000000.0
    """
    return next((v for k, v in DATASHEETS.items() if k in str(device)), None)


@dataclass(frozen=True)
class GpuConfig:
    """A measured device: datasheet peaks, fitted efficiencies, kernel latency, data file.

    Parameters
    ----------
    name : str
        Device name (``"h100-sxm"``).
    peak_ops_per_s : float
        Datasheet dense peak at ``precision`` (ops/s; e.g. 989.4e12 for H100 SXM bf16).
    dram_bytes_per_s : float
        Datasheet memory bandwidth (bytes/s; 3.35e12 for H100 SXM HBM3).
    precision : str, default "bf16"
        Element type of weights and activations.
    gemm_efficiency : float, default 0.8
        Fraction of the peak a large GEMM reaches (fallback when no GEMM data).
    bandwidth_efficiency : float, default 0.9
        Fraction of the datasheet bandwidth a large copy reaches.
    gemv_bandwidth_efficiency : float, default 0.8
        Fraction of the datasheet bandwidth a weight-streaming (small-M) GEMM reaches
        (fallback when no GEMM data).
    attention_efficiency : float, default 0.3
        Fraction of the peak fused (flash) attention reaches when compute-bound.
    kernel_latency_s : float, default 2.5e-6
        Device time of one kernel beyond its data movement and math (CUDA-graph replay).
    elementwise_latency_s : float, default 0
        Device time of a small elementwise kernel (norms, adds, copies); 0 means
        ``kernel_latency_s``.
    launch_floor_s : float, default 25e-6
        Host launch cost of one eager operator (only with ``cuda_graphs=False``).
    sustained_compute_ratio : float, default 1
        Clock under sustained compute load / burst clock: a power-capped chip slows down
        when compute-bound kernels run back to back (an H100 SXM at its 700 W limit drops
        from 1980 to ~1440 MHz; a large GEMM runs ~11% slower than in a short burst).
        Applied to the compute-bound share of GEMM and attention time.
    cuda_graphs : bool, default True
        Model replayed CUDA graphs (hardware time); False models an eager PyTorch loop.
    measured : str, default ""
        Measured-data file (absolute, or relative to the preset file or ``datasets/``);
        empty: datasheet x efficiencies only.
    calibrated : bool, default False
        True when the efficiencies were fitted to measurements of this device.
    power_w, idle_power_w : float
        Board power limit and idle power (W); energy charges idle power for the whole
        latency plus per-operation energy.
    pJ_per_flop, dram_pJ_per_byte : float
        Dynamic energy of one operation and of one byte of memory traffic.
    memory_bytes : float, default 0
        Device memory capacity (0: unknown).

    Examples
    --------
    >>> g = GpuConfig("toy", peak_ops_per_s=100e12, dram_bytes_per_s=1e12)
    >>> g.achieved_ops_per_s, g.achieved_bytes_per_s
    (80000000000000.0, 900000000000.0)
    """

    kind: ClassVar[str] = "gpu"
    #: Keys of a preset file that describe this hardware (besides the common ones).
    PRESET_KEYS: ClassVar[frozenset] = frozenset({"gpu"})

    name: str
    peak_ops_per_s: float
    dram_bytes_per_s: float
    precision: str = "bf16"
    gemm_efficiency: float = 0.8
    bandwidth_efficiency: float = 0.9
    gemv_bandwidth_efficiency: float = 0.8
    attention_efficiency: float = 0.3
    kernel_latency_s: float = 2.5e-6
    elementwise_latency_s: float = 0.0
    launch_floor_s: float = 25e-6
    sustained_compute_ratio: float = 1.0
    cuda_graphs: bool = True
    measured: str = ""
    calibrated: bool = False
    power_w: float = 700.0
    idle_power_w: float = 100.0
    pJ_per_flop: float = 0.3
    dram_pJ_per_byte: float = 31.0
    memory_bytes: float = 0.0

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"GpuConfig.name must be a non-empty string; got {self.name!r}")
        for f in ("peak_ops_per_s", "dram_bytes_per_s", "kernel_latency_s",
                  "launch_floor_s", "power_w", "pJ_per_flop", "dram_pJ_per_byte"):
            positive_number("GpuConfig", f, getattr(self, f))
        for f in ("idle_power_w", "memory_bytes", "elementwise_latency_s"):
            positive_number("GpuConfig", f, getattr(self, f), allow_zero=True)
        for f in ("gemm_efficiency", "bandwidth_efficiency", "gemv_bandwidth_efficiency",
                  "attention_efficiency", "sustained_compute_ratio"):
            v = positive_number("GpuConfig", f, getattr(self, f))
            if v > 1:
                raise ValueError(f"GpuConfig.{f} must be in (0, 1]; got {v!r}")
        one_of("GpuConfig", "precision", self.precision, GPU_PRECISIONS)
        for f in ("cuda_graphs", "calibrated"):
            if not isinstance(getattr(self, f), bool):
                raise ValueError(f"GpuConfig.{f} must be a bool; got {getattr(self, f)!r}")
        if not isinstance(self.measured, str):
            raise ValueError(f"GpuConfig.measured must be a path string; got {self.measured!r}")

    @property
    def achieved_ops_per_s(self) -> float:
        """``peak_ops_per_s * gemm_efficiency``: what a large GEMM reaches."""
        return self.peak_ops_per_s * self.gemm_efficiency

    @property
    def achieved_bytes_per_s(self) -> float:
        """``dram_bytes_per_s * bandwidth_efficiency``: what a large copy reaches."""
        return self.dram_bytes_per_s * self.bandwidth_efficiency

    @property
    def small_kernel_latency_s(self) -> float:
        """``elementwise_latency_s`` or, when 0, ``kernel_latency_s``."""
        return self.elementwise_latency_s or self.kernel_latency_s

    @property
    def bytes_per_element(self) -> float:
        """Bytes of one element at :attr:`precision`."""
        return {"bf16": 2.0, "fp16": 2.0, "fp32": 4.0, "fp8": 1.0, "int8": 1.0}[self.precision]

    def to_dict(self) -> dict:
        """All fields as a plain dict."""
        return asdict(self)

    # ---- the engine-registry contract (npulab.perf.engines) ----------------------------
    @classmethod
    def from_preset(cls, fields) -> "GpuConfig":
        """Build from a preset file's ``gpu:`` mapping (see :func:`gpu_config_from_dict`)."""
        if "gpu" not in fields:
            raise ValueError("HardwarePreset.gpu is missing (a gpu preset needs a gpu: mapping)")
        return gpu_config_from_dict(fields["gpu"], origin="HardwarePreset")

    @property
    def weight_capacity_bytes(self) -> float:
        """0: an LLM's weights do not fit in on-chip SRAM/L2 and stream every step."""
        return 0.0

    def static_power_w(self) -> float:
        """Idle power (W), charged over the latency."""
        return self.idle_power_w


def measured_beside(measured, base_dir) -> str:
    """``measured`` (comma-separated data files) with each relative name that exists in
    ``base_dir`` (the preset file's folder) made absolute; other names are left as written
    (absolute, or relative to ``datasets/``).  A calibrated preset names its data file
    relative to itself, so the two can be moved together.

    >>> measured_beside("h100_measured.json", "/nonexistent")
    'h100_measured.json'
    """
    from pathlib import Path

    parts = []
    for part in str(measured).split(","):
        part = part.strip()
        cand = Path(base_dir) / part
        parts.append(str(cand.resolve()) if part and not Path(part).is_absolute()
                     and cand.exists() else part)
    return ", ".join(p for p in parts if p)


def gpu_config_from_dict(d, origin: str = "preset", base_dir=None) -> GpuConfig:
    """A :class:`GpuConfig` from a preset's ``gpu:`` mapping (plus the preset's ``name``).

    ``measured`` files are looked up beside the preset file (``base_dir``) first, then in
    ``datasets/``; ones found beside the preset are stored as absolute paths.  Raises a
    one-line ``ValueError`` naming ``origin`` and the bad field.
    """
    import dataclasses
    from collections.abc import Mapping

    if not isinstance(d, Mapping):
        raise ValueError(f"{origin}: gpu must be a mapping of GpuConfig fields; got {d!r}")
    known = {f.name for f in dataclasses.fields(GpuConfig)}
    d = dict(d)
    if "name" not in d:
        d["name"] = "gpu"
    for key in d:
        if key not in known:
            raise ValueError(f"{origin}: gpu.{key} is not a GpuConfig field (fields: {sorted(known)})")
    params = dict(d)
    for key, value in params.items():  # YAML reads 3.35e12 as a string
        if isinstance(value, str) and key not in ("name", "precision", "measured"):
            try:
                params[key] = float(value)
            except ValueError:
                pass
    if base_dir is not None and params.get("measured"):
        params["measured"] = measured_beside(params["measured"], base_dir)
    try:
        return GpuConfig(**params)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{origin}: {str(err).splitlines()[0]}") from None


__all__ = ["GpuConfig", "GPU_PRECISIONS", "gpu_config_from_dict", "measured_beside", "DATASHEETS",
           "datasheet"]
