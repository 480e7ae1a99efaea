"""The roofline model (Williams, Waterman and Patterson, CACM 52(4), 2009).

Attainable performance of a kernel with arithmetic intensity ``I`` (ops per byte) on a
machine with peak compute ``P`` (ops/s) and memory bandwidth ``B`` (bytes/s)::

    attainable(I) = min(P, I * B)

The *ridge point* ``I* = P / B`` separates memory-bound (``I < I*``) from compute-bound
kernels: ``I < I*`` is exactly ``bytes / B > ops / P``, the one memory-bound rule of
:func:`npulab.metrics.report.bound_of` (used by Report and the scorecard too).
"""
from __future__ import annotations

from dataclasses import dataclass

from npulab._validate import positive_number
from npulab.metrics.report import Report, bound_of


@dataclass(frozen=True)
class Roofline:
    """A two-line roofline: peak compute and one memory bandwidth.

    Parameters
    ----------
    peak_ops_per_s : float
        Peak operations per second (a MAC counts 2).
    dram_bytes_per_s : float
        Memory bandwidth in bytes per second.

    Examples
    --------
    >>> r = Roofline(peak_ops_per_s=512e9, dram_bytes_per_s=16e9)
    >>> r.ridge_point, r.attainable(8.0)
    (32.0, 128000000000.0)
    """

    peak_ops_per_s: float
    dram_bytes_per_s: float

    def __post_init__(self):
        positive_number("Roofline", "peak_ops_per_s", self.peak_ops_per_s)
        positive_number("Roofline", "dram_bytes_per_s", self.dram_bytes_per_s)

    @property
    def ridge_point(self) -> float:
        """Arithmetic intensity (ops/byte) where the two roofs meet, ``P / B``."""
        return self.peak_ops_per_s / self.dram_bytes_per_s

    def attainable(self, intensity):
        """``min(P, I * B)`` (ops/s); ``intensity`` may be a number or a numpy array."""
        import numpy as np

        value = np.minimum(self.peak_ops_per_s, np.asarray(intensity, dtype=float) * self.dram_bytes_per_s)
        return float(value) if np.ndim(value) == 0 else value

    def is_memory_bound(self, intensity: float) -> bool:
        """True when ``intensity`` is left of the ridge point (``I < P / B``)."""
        return intensity < self.ridge_point

    def bound(self, ops: float, bytes_moved: float) -> str:
        """``"memory"`` or ``"compute"``: :func:`~npulab.metrics.report.bound_of` of ``ops / P``
        and ``bytes / B``."""
        return bound_of(ops / self.peak_ops_per_s, bytes_moved / self.dram_bytes_per_s)

    def time_s(self, ops: float, bytes_moved: float) -> float:
        """Lower bound on run time: ``max(ops / P, bytes / B)`` seconds."""
        return max(ops / self.peak_ops_per_s, bytes_moved / self.dram_bytes_per_s)

    def plot(self, points=(), *, ax=None, path=None, precision="int8", title=None):
        """Draw the roofline and place workloads on it (log-log).

        Parameters
        ----------
        points : iterable, optional
            Each item is a :class:`~npulab.perf.Report` with ``bytes_moved`` (placed at its
            intensity and *achieved* ops/s), a layer with ``arithmetic_intensity(precision)``
            or a ``(label, intensity)`` pair (placed on the roof, i.e. attainable ops/s).
        ax : matplotlib Axes, optional
            Draw into it (a new figure otherwise).
        path : str, optional
            Save the figure there (PNG, ...).
        precision : str, default "int8"
            Bytes per element for layers.
        title : str, optional

        Returns
        -------
        matplotlib.axes.Axes
        """
        import numpy as np

        if path is not None:
            import matplotlib

            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4.5))
        placed = []
        for item in points:
            if hasattr(item, "bytes_moved") and hasattr(item, "throughput_ops_per_s"):
                if not item.bytes_moved:
                    continue
                label = f"{item.name}{'/' + item.phase if item.phase else ''}"
                placed.append((label, item.ops / item.bytes_moved, item.throughput_ops_per_s))
            elif hasattr(item, "arithmetic_intensity"):
                i = item.arithmetic_intensity(precision)
                placed.append((getattr(item, "name", "") or str(item), i, self.attainable(i)))
            else:
                label, i = item
                placed.append((str(label), float(i), self.attainable(float(i))))
        lo = min([self.ridge_point / 100] + [p[1] / 3 for p in placed])
        hi = max([self.ridge_point * 100] + [p[1] * 3 for p in placed])
        xs = np.logspace(np.log10(lo), np.log10(hi), 256)
        ax.loglog(xs, self.attainable(xs), "k-", lw=2,
                  label=f"roof: {self.peak_ops_per_s / 1e12:.3g} TOPS, "
                        f"{self.dram_bytes_per_s / 1e9:.3g} GB/s")
        ax.axvline(self.ridge_point, color="grey", ls=":",
                   label=f"ridge point {self.ridge_point:.4g} ops/byte")
        for label, i, perf in placed:
            ax.loglog(i, perf, "o", ms=7, label=f"{label} (I={i:.3g})")
        ax.set_xlabel("arithmetic intensity (ops/byte)")
        ax.set_ylabel("performance (ops/s)")
        ax.set_title(title or "Roofline")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
        if path is not None:
            ax.figure.savefig(path, dpi=120)
            plt.close(ax.figure)
        return ax


def roofline_report(layers, array, memory, energy=None, name="network"):
    """Per-layer rows and one whole-network :class:`~npulab.metrics.report.Report` from the roofline bound.

    Latency per layer is ``max(ops / P, bytes / B)`` with ``P`` the array's peak and ``B``
    the memory's DRAM bandwidth; energy is the MACs plus one SRAM and one DRAM access per
    operand byte (the minimum any dataflow can do).  ``npulab demo`` prints it.

    Parameters
    ----------
    layers : list of Gemm or Conv2d
    array : ArrayConfig
    memory : MemoryConfig
    energy : EnergyTable, optional
    name : str, default "network"

    Returns
    -------
    rows : list of dict
        Per layer: ``name``, ``macs``, ``bytes``, ``intensity``, ``bound``, ``latency_s``.
    report : Report

    Examples
    --------
    >>> from npulab.hw import ArrayConfig, MemoryConfig
    >>> from npulab.workloads import Gemm
    >>> rows, r = roofline_report([Gemm(64, 64, 64, name="fc")], ArrayConfig(16, 16), MemoryConfig())
    >>> rows[0]["bound"], r.engine
    ('compute', 'roofline bound')
    """
    from npulab.hw.energy import EnergyTable

    energy = energy or EnergyTable()
    roof = Roofline(array.peak_ops_per_s, memory.dram_bytes_per_s)
    rows, latency, macs, bytes_total = [], 0.0, 0, 0.0
    for layer in layers:
        b = layer.total_bytes(array.precision)
        t = roof.time_s(layer.ops, b)
        intensity = layer.arithmetic_intensity(array.precision)
        rows.append({
            "name": layer.name, "macs": layer.macs, "bytes": b, "intensity": intensity,
            "bound": "memory" if roof.is_memory_bound(intensity) else "compute", "latency_s": t,
        })
        latency += t
        macs += layer.macs
        bytes_total += b
    report = Report(
        name=name,
        engine="roofline bound",
        macs=macs,
        latency_s=latency,
        energy_breakdown_pJ={
            "mac": macs * energy.mac_pJ(array.precision),
            "sram": bytes_total * energy.sram_pJ_per_byte,
            "dram": bytes_total * energy.dram_pJ_per_byte,
        },
        utilization=(2 * macs / latency) / array.peak_ops_per_s,
        peak_ops_per_s=array.peak_ops_per_s,
        details={"ridge_point_ops_per_byte": roof.ridge_point, "bytes": bytes_total},
    )
    return rows, report
