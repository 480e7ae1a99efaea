"""The roofline model (Williams, Waterman and Patterson, CACM 52(4), 2009).

Attainable performance of a kernel with arithmetic intensity ``I`` (ops per byte) on a
machine with peak compute ``P`` (ops/s) and memory bandwidth ``B`` (bytes/s)::

    attainable(I) = min(P, I * B)

The *ridge point* ``I* = P / B`` separates memory-bound (``I < I*``) from compute-bound
kernels.
"""
from __future__ import annotations

from dataclasses import dataclass

from npulab._validate import positive_number


@dataclass(frozen=True)
class Roofline:
    """A two-line roofline: peak compute and one memory bandwidth.

    Parameters
    ----------
    peak_ops_per_s : float
        Peak operations per second (a MAC counts 2).
    mem_bandwidth_bytes_per_s : float
        Memory bandwidth in bytes per second.

    Examples
    --------
    >>> r = Roofline(peak_ops_per_s=512e9, mem_bandwidth_bytes_per_s=16e9)
    >>> r.ridge_point, r.attainable(8.0)
    (32.0, 128000000000.0)
    """

    peak_ops_per_s: float
    mem_bandwidth_bytes_per_s: float

    def __post_init__(self):
        positive_number("Roofline", "peak_ops_per_s", self.peak_ops_per_s)
        positive_number("Roofline", "mem_bandwidth_bytes_per_s", self.mem_bandwidth_bytes_per_s)

    @property
    def ridge_point(self) -> float:
        """Arithmetic intensity (ops/byte) where the two roofs meet, ``P / B``."""
        return self.peak_ops_per_s / self.mem_bandwidth_bytes_per_s

    def attainable(self, intensity):
        """``min(P, I * B)`` (ops/s); ``intensity`` may be a number or a numpy array."""
        import numpy as np

        value = np.minimum(self.peak_ops_per_s, np.asarray(intensity, dtype=float) * self.mem_bandwidth_bytes_per_s)
        return float(value) if np.ndim(value) == 0 else value

    def is_memory_bound(self, intensity: float) -> bool:
        """True when ``intensity`` is left of the ridge point."""
        return intensity < self.ridge_point

    def time_s(self, ops: float, bytes_moved: float) -> float:
        """Lower bound on run time: ``max(ops / P, bytes / B)`` seconds."""
        return max(ops / self.peak_ops_per_s, bytes_moved / self.mem_bandwidth_bytes_per_s)
