"""The :class:`Report` every engine returns, and its derived metrics."""
from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from npulab._validate import positive_int, positive_number

#: The scorecard's energy groups and the shared breakdown keys in each.
ENERGY_GROUPS = {
    "compute": ("compute", "mac", "array", "digital"),
    "on-chip memory": ("reg", "sram"),
    "off-chip memory": ("dram",),
    "converters": ("dac", "adc"),
    "spikes": ("sop", "neuron"),
    "static": ("static", "leakage"),
}
_GROUP_OF = {key: group for group, keys in ENERGY_GROUPS.items() for key in keys}

_PREFIXES = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"),
             (1e-6, "u"), (1e-9, "n"), (1e-12, "p")]


def format_si(value: float | None, unit: str, digits: int = 4) -> str:
    """Format a number with an SI prefix: ``format_si(0.00123, "s") == '1.23 ms'``."""
    if value is None:
        return "-"
    if value == 0 or not math.isfinite(value):
        return f"{value:g} {unit}".strip()
    for scale, prefix in _PREFIXES:
        if abs(value) >= scale:
            return f"{value / scale:.{digits}g} {prefix}{unit}".strip()
    return f"{value:.{digits}g} {unit}".strip()


def render_table(head, rows, *, indent: str = "", rule: bool = True) -> str:
    """The one fixed-width text table: columns left-aligned, two spaces apart, a dashed rule.

    ``head`` is a sequence of column titles (or None for a table without a header, as
    :class:`Report` prints its ``key  value`` rows); ``rows`` sequences of cells (``str()``
    of each); trailing spaces are trimmed.

    >>> print(render_table(("name", "MACs"), [("fc", "1,000"), ("conv", "9")]))
    name  MACs
    ----  -----
    fc    1,000
    conv  9
    """
    cells = ([tuple(head)] if head is not None else []) + [tuple(r) for r in rows]
    if not cells:
        return ""
    n = max(len(c) for c in cells)
    widths = [max(len(str(c[i])) for c in cells if i < len(c)) for i in range(n)]
    lines = [indent + "  ".join(str(c[i]).ljust(widths[i]) for i in range(len(c))).rstrip() for c in cells]
    if head is not None and rule:
        lines.insert(1, indent + "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def bound_of(compute_time_s: float, memory_time_s: float) -> str:
    """The one memory-bound rule: ``"memory"`` when moving the bytes takes longer than the math.

    ``memory_time_s > compute_time_s`` is memory-bound, otherwise compute-bound (a tie is
    compute-bound, so a run at 100% utilisation is never labelled memory-bound).  With
    ``compute = ops / P`` and ``memory = bytes / B`` this is the roofline's
    ``intensity < ridge point`` (Williams et al., CACM 2009); :class:`Report`,
    :class:`~npulab.perf.Roofline` and the scorecard all decide with it.

    >>> bound_of(1.0, 2.0), bound_of(2.0, 1.0), bound_of(1.0, 1.0)
    ('memory', 'compute', 'compute')
    """
    return "memory" if memory_time_s > compute_time_s else "compute"


def _check_nonneg(field_name: str, value, allow_none: bool = True):
    """``Report.<field> must be a finite number >= 0`` unless ``value`` is an allowed None."""
    if value is None and allow_none:
        return
    positive_number("Report", field_name, value, allow_zero=True)


@dataclass(frozen=True, repr=False)
class Report:
    """What running one workload on one engine cost.

    Parameters
    ----------
    name : str
        Workload (or layer) name.
    engine : str
        Which engine produced it: ``"systolic"``, ``"pim"``, ``"snn"``, ``"roofline"``, ...
    macs : int
        Multiply-accumulates performed (a MAC = 2 ops); for an SNN, synaptic operations.
    latency_s : float
        Wall-clock time of one run, seconds (> 0).
    energy_breakdown_pJ : dict of str to float
        Energy per component in pJ, e.g. ``{"mac": ..., "sram": ..., "dram": ...}``.
    cycles : int, optional
        Clock cycles, for engines that have a clock.
    clock_hz : float, optional
        The clock the cycles were converted with.
    utilization : float, optional
        Fraction of peak compute used, in [0, 1].
    peak_ops_per_s : float, optional
        The hardware's peak operations per second (for the roofline and utilisation).
    accuracy : float, optional
        Task accuracy in [0, 1], where the workload was run on data.
    accuracy_target : float, optional
        The accuracy a result must reach to be valid (MLPerf-style); see :attr:`valid`.
    inferences : int, default 1
        Inferences (or tokens) the run produced; throughput is per inference.
    details : dict, optional
        Engine-specific counters (SRAM reads, folds, conversions, spikes, ...).
    hardware : str, default ""
        The hardware (preset) name the workload ran on.
    phase : str, default ""
        Serving phase for LLMs (``"prefill"``, ``"decode"``), empty otherwise.
    bytes_moved : float, optional
        Off-chip bytes the run must move (for the roofline and :attr:`bound`).
    dram_bytes_per_s : float, optional
        The off-chip bandwidth it had (bytes/s).
    unit : str, default "inference"
        What :attr:`inferences` counts (``"inference"``, ``"token"``, ``"image"`` ...).
    compute_time_s : float, optional
        Time the math needs (s).  Default: ``ops / peak_ops_per_s`` when the peak is known.
    memory_time_s : float, optional
        Time the off-chip bytes need (s).  Default: ``bytes_moved / dram_bytes_per_s`` when
        both are known.
    stall_s : float, default 0
        Time the run waits for memory beyond its math (e.g. a systolic array's DRAM stall
        cycles / clock).
    fill_s : float, default 0
        Pipeline fill/drain time that repeats of the same layer hide when folds overlap
        (:func:`npulab.systolic.folds.pipelined_cycles`); the scorecard pays it once per layer.
    bound : {"memory", "compute"}, optional
        Which roof bounds the run.  Default, when the compute and memory times are known:
        :func:`bound_of` ``(compute_time_s, max(memory_time_s, stall_s))``; an engine with its
        own roofline (the ``gpu`` engine's achieved bandwidth) may state it.

    The typed timing fields above are what the scorecard reads; :attr:`details` is free-form,
    for people.

    The energy breakdown uses the keys shared by all engines (``compute``, ``reg``,
    ``sram``, ``dram``, ``dac``, ``adc``, ``array``, ``digital``, ``sop``, ``neuron``);
    :attr:`energy_groups_pJ` sums them into the scorecard's five groups (:data:`ENERGY_GROUPS`).

    Units: seconds, pJ (breakdown), J (``energy_j``), W, ops/s, bytes.

    Examples
    --------
    >>> r = Report(name="fc", engine="demo", macs=1_000_000, latency_s=1e-3,
    ...            energy_breakdown_pJ={"mac": 3e5, "sram": 7e5})
    >>> r.energy_pJ, r.tops_per_w
    (1000000.0, 2.0)
    """

    name: str
    engine: str
    macs: int
    latency_s: float
    energy_breakdown_pJ: Mapping[str, float] = field(default_factory=dict)
    cycles: int | None = None
    clock_hz: float | None = None
    utilization: float | None = None
    peak_ops_per_s: float | None = None
    accuracy: float | None = None
    accuracy_target: float | None = None
    inferences: int = 1
    details: Mapping[str, Any] = field(default_factory=dict)
    hardware: str = ""
    phase: str = ""
    bytes_moved: float | None = None
    dram_bytes_per_s: float | None = None
    unit: str = "inference"
    compute_time_s: float | None = None
    memory_time_s: float | None = None
    stall_s: float = 0.0
    fill_s: float = 0.0
    bound: str | None = None

    def __post_init__(self):
        _check_nonneg("macs", self.macs, allow_none=False)
        positive_number("Report", "latency_s", self.latency_s)
        for key, value in self.energy_breakdown_pJ.items():
            _check_nonneg(f"energy_breakdown_pJ[{key!r}]", value, allow_none=False)
        _check_nonneg("cycles", self.cycles)
        _check_nonneg("clock_hz", self.clock_hz)
        _check_nonneg("peak_ops_per_s", self.peak_ops_per_s)
        _check_nonneg("bytes_moved", self.bytes_moved)
        _check_nonneg("dram_bytes_per_s", self.dram_bytes_per_s)
        for f in ("utilization", "accuracy", "accuracy_target"):
            v = getattr(self, f)
            _check_nonneg(f, v)
            if v is not None and v > 1:
                raise ValueError(f"Report.{f} must be in [0, 1]; got {v!r}")
        if isinstance(self.inferences, bool) or not isinstance(self.inferences, int) or self.inferences < 1:
            raise ValueError(f"Report.inferences must be an int >= 1; got {self.inferences!r}")
        for f in ("compute_time_s", "memory_time_s"):
            _check_nonneg(f, getattr(self, f))
        for f in ("stall_s", "fill_s"):
            _check_nonneg(f, getattr(self, f), allow_none=False)
        if self.bound not in (None, "memory", "compute"):
            raise ValueError(f"Report.bound must be 'memory', 'compute' or None; "
                             f"got {self.bound!r}")
        object.__setattr__(self, "energy_breakdown_pJ", dict(self.energy_breakdown_pJ))
        object.__setattr__(self, "details", dict(self.details))
        self._derive_times()

    def _derive_times(self) -> None:
        """Fill the defaults of ``compute_time_s``, ``memory_time_s`` and ``bound``."""
        if self.compute_time_s is None and self.peak_ops_per_s:
            object.__setattr__(self, "compute_time_s", self.ops / self.peak_ops_per_s)
        if self.memory_time_s is None and self.bytes_moved is not None and self.dram_bytes_per_s:
            object.__setattr__(self, "memory_time_s", self.bytes_moved / self.dram_bytes_per_s)
        compute_s, memory_s = self.compute_time_s, self.memory_time_s
        if self.bound is None and compute_s is not None and memory_s is not None:
            object.__setattr__(self, "bound", bound_of(compute_s, max(memory_s, self.stall_s)))

    @classmethod
    def from_cycles(cls, *, name: str, engine: str, macs: int, cycles: int, clock_hz: float,
                    **kwargs) -> "Report":
        """A Report whose latency is ``cycles / clock_hz``."""
        positive_int("Report", "cycles", cycles)
        positive_number("Report", "clock_hz", clock_hz)
        return cls(name=name, engine=engine, macs=macs, cycles=cycles, clock_hz=clock_hz,
                   latency_s=cycles / clock_hz, **kwargs)

    # ---- derived metrics -------------------------------------------------------------
    @property
    def ops(self) -> int:
        """Operations, ``2 * macs``."""
        return 2 * self.macs

    @property
    def energy_pJ(self) -> float:
        """Total energy (pJ): the sum of the breakdown."""
        return float(sum(self.energy_breakdown_pJ.values()))

    @property
    def energy_j(self) -> float:
        """Total energy in joules."""
        return self.energy_pJ * 1e-12

    @property
    def energy_per_inference_j(self) -> float:
        """Energy of one inference (or token), J."""
        return self.energy_j / self.inferences

    @property
    def throughput_ops_per_s(self) -> float:
        """Achieved operations per second, ``ops / latency_s``."""
        return self.ops / self.latency_s

    @property
    def inferences_per_s(self) -> float:
        """Inferences (or tokens) per second."""
        return self.inferences / self.latency_s

    @property
    def tops(self) -> float:
        """Achieved tera-operations per second."""
        return self.throughput_ops_per_s / 1e12

    @property
    def power_w(self) -> float | None:
        """Average power, ``energy_j / latency_s`` (W); None without an energy breakdown."""
        return self.energy_j / self.latency_s if self.energy_breakdown_pJ else None

    @property
    def tops_per_w(self) -> float | None:
        """Energy efficiency, ``ops / energy_j / 1e12`` (= TOPS per watt)."""
        if not self.energy_breakdown_pJ or self.energy_pJ == 0:
            return None
        return self.ops / self.energy_j / 1e12

    @property
    def peak_tops(self) -> float | None:
        """Peak tera-operations per second of the hardware (None when unknown)."""
        return None if self.peak_ops_per_s is None else self.peak_ops_per_s / 1e12

    @property
    def energy_groups_pJ(self) -> dict:
        """The breakdown summed into :data:`ENERGY_GROUPS` (pJ); unknown keys go to ``"other"``."""
        groups = {g: 0.0 for g in ENERGY_GROUPS}
        for key, value in self.energy_breakdown_pJ.items():
            g = _GROUP_OF.get(key, "other")
            groups[g] = groups.get(g, 0.0) + float(value)
        return groups

    @property
    def arithmetic_intensity(self) -> float | None:
        """``ops / bytes_moved`` (ops per byte), None without :attr:`bytes_moved`."""
        if not self.bytes_moved:
            return None
        return self.ops / self.bytes_moved

    @property
    def valid(self) -> bool | None:
        """MLPerf-style validity: accuracy reaches the target (None when either is unknown)."""
        if self.accuracy is None or self.accuracy_target is None:
            return None
        return self.accuracy >= self.accuracy_target

    # ---- presentation ----------------------------------------------------------------
    def to_dict(self) -> dict:
        """A JSON-serialisable dict of the inputs and the derived metrics."""
        return {
            "name": self.name,
            "engine": self.engine,
            "macs": self.macs,
            "ops": self.ops,
            "cycles": self.cycles,
            "clock_hz": self.clock_hz,
            "latency_s": self.latency_s,
            "energy_pJ": self.energy_pJ,
            "energy_j": self.energy_j,
            "energy_breakdown_pJ": dict(self.energy_breakdown_pJ),
            "energy_per_inference_j": self.energy_per_inference_j,
            "inferences": self.inferences,
            "inferences_per_s": self.inferences_per_s,
            "throughput_ops_per_s": self.throughput_ops_per_s,
            "tops": self.tops,
            "power_w": self.power_w,
            "tops_per_w": self.tops_per_w,
            "utilization": self.utilization,
            "peak_ops_per_s": self.peak_ops_per_s,
            "accuracy": self.accuracy,
            "accuracy_target": self.accuracy_target,
            "valid": self.valid,
            "hardware": self.hardware,
            "phase": self.phase,
            "unit": self.unit,
            "peak_tops": self.peak_tops,
            "bytes_moved": self.bytes_moved,
            "dram_bytes_per_s": self.dram_bytes_per_s,
            "arithmetic_intensity": self.arithmetic_intensity,
            "bound": self.bound,
            "compute_time_s": self.compute_time_s,
            "memory_time_s": self.memory_time_s,
            "stall_s": self.stall_s,
            "fill_s": self.fill_s,
            "energy_groups_pJ": self.energy_groups_pJ,
            "details": dict(self.details),
        }

    def _rows(self) -> list[tuple[str, str]]:
        rows = [("engine", self.engine)]
        if self.hardware:
            rows.append(("hardware", self.hardware))
        if self.phase:
            rows.append(("phase", self.phase))
        rows.append(("MACs", f"{self.macs:,}"))
        if self.cycles is not None:
            rows.append(("cycles", f"{self.cycles:,}"))
        rows += [
            ("latency", format_si(self.latency_s, "s")),
            ("throughput", format_si(self.throughput_ops_per_s, "OP/s")),
            ("energy", format_si(self.energy_j, "J") if self.energy_breakdown_pJ else "-"),
        ]
        total = self.energy_pJ
        for key, value in self.energy_breakdown_pJ.items():
            share = f" ({100 * value / total:.1f}%)" if total else ""
            rows.append((f"  {key}", format_si(value * 1e-12, "J") + share))
        rows += [
            ("power", format_si(self.power_w, "W")),
            ("TOPS/W", "-" if self.tops_per_w is None else f"{self.tops_per_w:.4g}"),
        ]
        if self.phase or self.hardware:  # scorecard results (keeps engines' Reports as before)
            rows.append((f"{self.unit}s/s", f"{self.inferences_per_s:.4g}"))
            if self.peak_ops_per_s is not None:
                rows.append(("peak", format_si(self.peak_ops_per_s, "OP/s")))
        if self.bound is not None:
            rows.append(("bound", f"{self.bound} (memory time {format_si(self.memory_time_s, 's')})"))
        if self.utilization is not None:
            rows.append(("utilization", f"{100 * self.utilization:.2f}%"))
        if self.accuracy is not None:
            rows.append(("accuracy", f"{100 * self.accuracy:.2f}%"))
        if self.valid is not None:
            rows.append(("valid", "yes" if self.valid else "no (below accuracy target)"))
        return rows

    def __repr__(self) -> str:
        energy = format_si(self.energy_j, "J") if self.energy_breakdown_pJ else "-"
        tpw = "-" if self.tops_per_w is None else f"{self.tops_per_w:.4g}"
        return (f"Report(name={self.name!r}, engine={self.engine!r}, "
                f"latency={format_si(self.latency_s, 's')}, energy={energy}, TOPS/W={tpw})")

    def __str__(self) -> str:
        return f"Report: {self.name}\n" + render_table(None, self._rows(), indent="  ")

    def _repr_html_(self) -> str:
        body = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in self._rows()
        )
        return f"<table><caption>Report: {html.escape(self.name)}</caption>{body}</table>"
