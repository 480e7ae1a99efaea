"""Hardware presets: a named NPU (engine + configs + memory) read from a YAML or JSON file.

A preset file (``datasets/hw/*.yaml`` ships four) names the engine and the configuration
that engine takes, with a ``sources`` map citing every number::

    name: tpuv1-like
    engine: systolic               # systolic | pim | snn
    array:  {rows: 256, cols: 256, dataflow: ws, clock_hz: 700.0e+6, precision: int8}
    memory: {dram_bytes_per_s: 34.0e+9, ...}   # MemoryConfig fields
    weight_capacity_bytes: 0       # weights that stay on chip between runs (bytes)
    energy: {dram_pJ_per_byte: 20}  # EnergyTable overrides (optional)
    sources: {array: "Jouppi et al., ISCA 2017"}

``pim`` presets give ``crossbar`` (:class:`~npulab.hw.CrossbarConfig` fields), ``num_arrays``
and ``dram_bytes_per_s``; ``snn`` presets give ``core`` (:class:`~npulab.hw.CoreConfig`),
``spike_rate``, ``timesteps`` and ``dram_bytes_per_s``.  The engine's keys are read by its
typed config (:class:`~npulab.hw.SystolicConfig`, :class:`~npulab.hw.PimConfig`,
:class:`~npulab.hw.SnnConfig`, found through :mod:`npulab.perf.engines`), which becomes
:attr:`HardwarePreset.config`.  Peak throughput and on-chip weight capacity are derived by
that config unless given (``peak_ops_per_s``, ``weight_capacity_bytes``):

* systolic: ``2 * rows * cols * clock_hz``;
* pim: ``num_arrays * (rows * cols / cells_per_weight) * 2 / (input_cycles * cycle_time_s)``,
  capacity ``num_arrays * rows * cols / cells_per_weight`` weights;
* snn: ``2 * num_cores * clock_hz / sop_cycles`` (a SOP counted as a MAC), capacity
  ``num_cores * synapse_memory_kb`` KiB.

A bad file raises a one-line ``ValueError`` naming the file and the field.  Units: bytes,
bytes/s, ops/s, Hz.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from npulab._validate import positive_int, positive_number
from npulab.hw.build import build

#: Keys every preset file may have, whatever its engine (the engine's own keys are its
#: config class's ``PRESET_KEYS``).
COMMON_KEYS = frozenset({"name", "engine", "description", "energy", "sources", "weight_capacity_bytes",
                         "peak_ops_per_s", "dram_bytes_per_s", "power_w", "area_mm2", "static_power_w",
                         "memory_bytes"})
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def parse_numbers(value):
    """YAML reads ``34e9`` as a string: turn number-looking strings into floats."""
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        return float(value)
    if isinstance(value, Mapping):
        return {k: parse_numbers(v) for k, v in value.items()}
    return value


#: Old name of :func:`parse_numbers`.
_numbers = parse_numbers


@dataclass(frozen=True, repr=False)
class HardwarePreset:
    """One NPU: which engine runs it, its configuration, memory bandwidth and sources.

    Parameters
    ----------
    name : str
        Preset name.
    engine : str
        The engine kind that models it (a key of :data:`npulab.perf.engines.ENGINES`).
    config : SystolicConfig, PimConfig, SnnConfig, ...
        The engine's typed hardware (its ``kind`` is ``engine``), passed to its ``estimate``.
        ``config["array"]`` etc. still read its parts.
    energy : EnergyTable
        Per-operation energies.
    peak_ops_per_s, dram_bytes_per_s : float
        Peak operations per second and off-chip bandwidth (bytes/s).
    weight_capacity_bytes : float
        Weights (bytes) that stay on chip; a workload whose weights fit does not stream them.
    static_power_w : float, default 0
        Static (idle/leakage) power, charged for the whole latency as energy ``"static"``.
        Systolic presets derive it from :mod:`npulab.hw.area` unless given; PIM and SNN
        presets default to 0 (their engines model dynamic energy only).
    spike_rate, timesteps : float, int
        SNN activity (``engine="snn"``; the same as ``config.spike_rate`` / ``config.timesteps``).
    description : str
        One line.
    sources : dict
        Citation of each number.

    Units: ops/s, bytes/s, bytes.
    """

    name: str
    engine: str
    config: Any
    energy: Any
    peak_ops_per_s: float
    dram_bytes_per_s: float
    weight_capacity_bytes: float = 0.0
    static_power_w: float = 0.0
    spike_rate: float = 0.1
    timesteps: int = 8
    description: str = ""
    sources: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if getattr(self.config, "kind", None) != self.engine:
            raise ValueError(f"HardwarePreset.config must be the {self.engine!r} engine's hardware config; "
                             f"got {type(self.config).__name__}")
        positive_number("HardwarePreset", "peak_ops_per_s", self.peak_ops_per_s)
        positive_number("HardwarePreset", "dram_bytes_per_s", self.dram_bytes_per_s)
        positive_number("HardwarePreset", "weight_capacity_bytes", self.weight_capacity_bytes,
                        allow_zero=True)
        positive_number("HardwarePreset", "static_power_w", self.static_power_w, allow_zero=True)
        positive_number("HardwarePreset", "spike_rate", self.spike_rate)
        if self.spike_rate > 1:
            raise ValueError(f"HardwarePreset.spike_rate must be in (0, 1]; got {self.spike_rate!r}")
        positive_int("HardwarePreset", "timesteps", self.timesteps)

    @property
    def roofline(self):
        """The preset's :class:`~npulab.perf.Roofline` (peak ops/s, DRAM bandwidth)."""
        from npulab.perf.roofline import Roofline

        return Roofline(self.peak_ops_per_s, self.dram_bytes_per_s)

    @property
    def precision(self) -> str:
        """Weight/activation precision the engine computes in (``"int8"``, ``"fp16"`` ...)."""
        return self.config.precision

    def __repr__(self) -> str:
        return (f"HardwarePreset({self.name!r}, engine={self.engine!r}, "
                f"peak={self.peak_ops_per_s / 1e12:.4g} TOPS, "
                f"DRAM={self.dram_bytes_per_s / 1e9:.4g} GB/s, ridge={self.roofline.ridge_point:.4g} ops/B)")


def preset_from_dict(d: Mapping, origin: str = "preset") -> HardwarePreset:
    """Build a :class:`HardwarePreset` from the dict a preset file holds.

    The engine's keys go to its config class (:func:`npulab.perf.engines.hardware_for`).
    Raises ``ValueError`` (one line, prefixed with ``origin``) for a missing, unknown or bad field.
    """
    from npulab.hw.energy import EnergyTable
    from npulab.perf.engines import HARDWARE, hardware_for

    if not isinstance(d, Mapping):
        raise ValueError(f"{origin}: a preset must be a mapping; got {type(d).__name__}")
    d = parse_numbers(dict(d))
    try:
        if "engine" not in d:
            raise ValueError(f"HardwarePreset.engine is missing (one of {', '.join(sorted(HARDWARE))})")
        engine = d["engine"]
        hw_type = hardware_for(engine)
        allowed = COMMON_KEYS | hw_type.PRESET_KEYS
        for key in d:
            if key not in allowed:
                raise ValueError(f"HardwarePreset.{key} is not a field of a {engine} preset "
                                 f"(fields: {sorted(allowed)})")
        energy = build(EnergyTable, "HardwarePreset.energy", d.get("energy"))
        extra = {k: d[k] for k in ("power_w", "area_mm2", "memory_bytes") if k in d}  # memory_bytes: KV-cache room (npulab.perf.serving)
        hw = hw_type.from_preset({k: d[k] for k in hw_type.PRESET_KEYS if k in d})
        bw = d.get("dram_bytes_per_s", hw.dram_bytes_per_s)
        if bw is None:
            raise ValueError(f"HardwarePreset.dram_bytes_per_s is missing (a {engine} preset needs it)")
        static = d["static_power_w"] if "static_power_w" in d else hw.static_power_w()
        activity = {k: getattr(hw, k) for k in ("spike_rate", "timesteps") if hasattr(hw, k)}
        return HardwarePreset(
            name=str(d.get("name", origin)), engine=engine, config=hw, energy=energy,
            peak_ops_per_s=d.get("peak_ops_per_s", hw.peak_ops_per_s), dram_bytes_per_s=bw,
            weight_capacity_bytes=d.get("weight_capacity_bytes", hw.weight_capacity_bytes),
            static_power_w=static, description=str(d.get("description", "")),
            sources=dict(d.get("sources") or {}), extra=extra, **activity)
    except TypeError as err:  # e.g. a list where a number belongs
        raise ValueError(f"{origin}: {str(err).splitlines()[0]}") from None
    except ValueError as err:
        raise ValueError(f"{origin}: {str(err).splitlines()[0]}") from None


def available_presets() -> list[str]:
    """Names of the bundled presets (``datasets/hw/*.yaml|json``), sorted."""
    from npulab import datasets

    return sorted(Path(n).stem for n in datasets.available()
                  if n.startswith("hw/") and n.endswith((".yaml", ".yml", ".json")))


def load_preset(name_or_path) -> HardwarePreset:
    """Load a bundled preset by name (``"tpuv1-like"``) or a YAML/JSON preset file.

    Examples
    --------
    >>> p = load_preset("tpuv1-like")
    >>> round(p.peak_ops_per_s / 1e12, 2), round(p.roofline.ridge_point)
    (91.75, 2699)
    """
    if isinstance(name_or_path, HardwarePreset):
        return name_or_path
    p = Path(name_or_path)
    if not p.exists():
        from npulab import datasets

        names = available_presets()
        if str(name_or_path) in names:
            for ext in (".yaml", ".yml", ".json"):
                cand = datasets.DATASETS_DIR / "hw" / f"{name_or_path}{ext}"
                if cand.exists():
                    p = cand
                    break
        else:
            raise ValueError(f"no hardware preset or file {str(name_or_path)!r} "
                             f"(bundled: {', '.join(names)})")
    return preset_from_dict(read_data_file(p), origin=str(p))


def read_data_file(path):
    """The data in a JSON (``.json``) or YAML (any other suffix) file.

    Raises a one-line ``ValueError`` naming the file when it cannot be parsed (presets and
    sweep specs are read with it).
    """
    from npulab._io import check_depth, parse_json, read_text

    p = Path(path)
    text = read_text(p)                          # UTF-8, size-bounded, the file named on failure
    if p.suffix == ".json":
        return parse_json(text, str(p))
    try:
        import yaml

        return check_depth(yaml.safe_load(text), str(p))
    except ValueError:
        raise
    except RecursionError:
        raise ValueError(f"{p}: nested too deeply") from None
    except Exception as err:  # yaml.YAMLError
        raise ValueError(f"{p}: cannot parse ({str(err).splitlines()[0]})") from None


#: Old name of :func:`read_data_file`.
_read_data_file = read_data_file
