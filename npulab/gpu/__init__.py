"""The ``gpu`` engine: a measured device, calibrated from kernel timings.

Where the other engines model a design from first principles, this one models a chip that
exists: per-operator costs come from measurements of that chip (a GEMM table over M, N, K,
copy bandwidth, optional attention and elementwise timings; :mod:`npulab.gpu.table`),
falling back to the datasheet roofline times fitted efficiencies (:class:`npulab.hw.gpu.GpuConfig`)
where no data exists.  An LLM step is modelled as the kernel sequence a PyTorch decoder
really launches (:mod:`npulab.gpu.kernels`), each kernel paying the per-kernel latency.

* :func:`estimate` ``(layer, hw, *, energy=None) -> Report``: one Gemm / Conv2d / kernel,
  or a whole :class:`~npulab.workloads.llm.LLMPhase`;
* :func:`estimate_llm` ``(phase, hw) -> Report``: one prefill or decode step.

Modules: :mod:`~npulab.gpu.table` (reading and interpolating measurements),
:mod:`~npulab.gpu.kernels` (an LLM step as kernels), :mod:`~npulab.gpu.estimate` (costs),
:mod:`~npulab.gpu.calibrate` (``npulab calibrate``: measure the local torch device and write a
preset), :mod:`~npulab.gpu.timing` (medians after warm-up; CUDA-graph timing on cuda).

Presets ``h100-sxm`` (calibrated from ``datasets/measured/h100_*.json``) and ``a100-sxm``
(datasheet only, not calibrated) ship in ``datasets/hw/``; ``npulab calibrate`` writes one for
the local device.  ``benchmarks/silicon.py`` holds the predictions against every measured case.
"""
from npulab.gpu.estimate import estimate, estimate_kernels, estimate_llm, gemm_time, kernel_time
from npulab.gpu.kernels import Kernel, llm_kernels

__all__ = ["estimate", "estimate_llm", "estimate_kernels", "gemm_time", "kernel_time", "Kernel",
           "llm_kernels"]
