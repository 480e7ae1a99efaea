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
``spike_rate``, ``timesteps`` and ``dram_bytes_per_s``.  Peak throughput and on-chip weight
capacity are derived unless given (``peak_ops_per_s``, ``weight_capacity_bytes``):

* systolic: ``2 * rows * cols * clock_hz``;
* pim: ``num_arrays * (rows * cols / cells_per_weight) * 2 / (input_cycles * cycle_time_s)``,
  capacity ``num_arrays * rows * cols / cells_per_weight`` weights;
* snn: ``2 * num_cores * clock_hz / sop_cycles`` (a SOP counted as a MAC), capacity
  ``num_cores * synapse_memory_kb`` KiB.

A bad file raises a one-line ``ValueError`` naming the file and the field.  Units: bytes,
bytes/s, ops/s, Hz.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from npulab._validate import one_of, positive_int, positive_number

#: Engines a preset may name.
ENGINES = ("systolic", "pim", "snn")

_KEYS = {
    "common": {"name", "engine", "description", "energy", "sources", "weight_capacity_bytes",
               "peak_ops_per_s", "dram_bytes_per_s", "power_w", "area_mm2", "static_power_w"},
    "systolic": {"array", "memory"},
    "pim": {"crossbar", "num_arrays"},
    "snn": {"core", "spike_rate", "timesteps"},
}
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _numbers(value):
    """YAML reads ``34e9`` as a string: turn number-looking strings into floats."""
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        return float(value)
    if isinstance(value, Mapping):
        return {k: _numbers(v) for k, v in value.items()}
    return value


def _build(cls, owner: str, params) -> Any:
    """``cls(**params)`` with one-line errors naming ``owner.<field>``."""
    import dataclasses

    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise ValueError(f"{owner} must be a mapping of {cls.__name__} fields; got {params!r}")
    known = {f.name for f in dataclasses.fields(cls)}
    for key in params:
        if key not in known:
            raise ValueError(f"{owner}.{key} is not a {cls.__name__} field (fields: {sorted(known)})")
    return cls(**params)


@dataclass(frozen=True, repr=False)
class HardwarePreset:
    """One NPU: which engine runs it, its configuration, memory bandwidth and sources.

    Parameters
    ----------
    name : str
        Preset name.
    engine : {"systolic", "pim", "snn"}
        The engine that models it.
    config : dict
        The engine's config objects: ``{"array", "memory"}``, ``{"crossbar"}`` or ``{"core"}``.
    energy : EnergyTable
        Per-operation energies.
    peak_ops_per_s, dram_bytes_per_s : float
        Peak operations per second and off-chip bandwidth (bytes/s).
    weight_capacity_bytes : float
        Weights (bytes) that stay on chip; a workload whose weights fit does not stream them.
    static_power_w : float, default 0
        Static (idle/leakage) power, charged for the whole latency as energy ``"static"``.
        Systolic presets derive it from :mod:`npulab.perf.area` unless given; PIM and SNN
        presets default to 0 (their engines model dynamic energy only).
    spike_rate, timesteps : float, int
        SNN activity (only for ``engine="snn"``).
    description : str
        One line.
    sources : dict
        Citation of each number.

    Units: ops/s, bytes/s, bytes.
    """

    name: str
    engine: str
    config: Mapping[str, Any]
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
        one_of("HardwarePreset", "engine", self.engine, ENGINES)
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
        if self.engine == "systolic":
            return self.config["array"].precision
        bits = (self.config["crossbar"].weight_bits if self.engine == "pim"
                else self.config["core"].weight_bits)
        return {4: "int4", 8: "int8", 16: "int16"}.get(bits, "int8" if bits < 8 else "int16")

    def __repr__(self) -> str:
        return (f"HardwarePreset({self.name!r}, engine={self.engine!r}, "
                f"peak={self.peak_ops_per_s / 1e12:.4g} TOPS, "
                f"DRAM={self.dram_bytes_per_s / 1e9:.4g} GB/s, ridge={self.roofline.ridge_point:.4g} ops/B)")


def preset_from_dict(d: Mapping, origin: str = "preset") -> HardwarePreset:
    """Build a :class:`HardwarePreset` from the dict a preset file holds.

    Raises ``ValueError`` (one line, prefixed with ``origin``) for a missing, unknown or bad field.
    """
    from npulab.hw import ArrayConfig, EnergyTable, MemoryConfig

    if not isinstance(d, Mapping):
        raise ValueError(f"{origin}: a preset must be a mapping; got {type(d).__name__}")
    d = _numbers(dict(d))
    try:
        if "engine" not in d:
            raise ValueError("HardwarePreset.engine is missing (one of systolic, pim, snn)")
        engine = d["engine"]
        one_of("HardwarePreset", "engine", engine, ENGINES)
        allowed = _KEYS["common"] | _KEYS[engine]
        for key in d:
            if key not in allowed:
                raise ValueError(f"HardwarePreset.{key} is not a field of a {engine} preset "
                                 f"(fields: {sorted(allowed)})")
        energy = _build(EnergyTable, "HardwarePreset.energy", d.get("energy"))
        extra = {k: d[k] for k in ("power_w", "area_mm2") if k in d}
        common = dict(name=str(d.get("name", origin)), engine=engine, energy=energy,
                      static_power_w=d.get("static_power_w", 0.0),
                      description=str(d.get("description", "")),
                      sources=dict(d.get("sources") or {}), extra=extra)
        if engine == "systolic":
            array = _build(ArrayConfig, "HardwarePreset.array", d.get("array"))
            memory = _build(MemoryConfig, "HardwarePreset.memory", d.get("memory"))
            config = {"array": array, "memory": memory}
            peak = d.get("peak_ops_per_s", array.peak_ops_per_s)
            bw = d.get("dram_bytes_per_s", memory.dram_bytes_per_s)
            capacity = d.get("weight_capacity_bytes", 0.0)
            if "static_power_w" not in d:
                from npulab.perf.area import static_power_w

                common["static_power_w"] = static_power_w(array, memory)
            return HardwarePreset(config=config, peak_ops_per_s=peak, dram_bytes_per_s=bw,
                                  weight_capacity_bytes=capacity, **common)
        if "dram_bytes_per_s" not in d:
            raise ValueError(f"HardwarePreset.dram_bytes_per_s is missing (a {engine} preset needs it)")
        if engine == "pim":
            from npulab.hw.crossbar import CrossbarConfig

            xb = _build(CrossbarConfig, "HardwarePreset.crossbar", d.get("crossbar"))
            n = positive_int("HardwarePreset", "num_arrays", d.get("num_arrays", 1))
            weights_per_array = xb.rows * xb.cols // xb.cells_per_weight
            peak = d.get("peak_ops_per_s",
                         n * weights_per_array * 2 / (xb.input_cycles * xb.cycle_time_s))
            capacity = d.get("weight_capacity_bytes", n * weights_per_array * xb.weight_bits / 8)
            return HardwarePreset(config={"crossbar": xb, "num_arrays": n}, peak_ops_per_s=peak,
                                  dram_bytes_per_s=d["dram_bytes_per_s"],
                                  weight_capacity_bytes=capacity, **common)
        from npulab.hw.core import CoreConfig

        core = _build(CoreConfig, "HardwarePreset.core", d.get("core"))
        peak = d.get("peak_ops_per_s", 2.0 * core.num_cores * core.clock_hz / core.sop_cycles)
        capacity = d.get("weight_capacity_bytes", core.num_cores * core.synapse_memory_kb * 1024)
        timesteps = d.get("timesteps", 8)
        if isinstance(timesteps, float) and timesteps.is_integer():
            timesteps = int(timesteps)
        return HardwarePreset(config={"core": core}, peak_ops_per_s=peak,
                              dram_bytes_per_s=d["dram_bytes_per_s"], weight_capacity_bytes=capacity,
                              spike_rate=d.get("spike_rate", 0.1), timesteps=timesteps, **common)
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
    return preset_from_dict(_read_data_file(p), origin=str(p))


def _read_data_file(path):
    """The data in a JSON (``.json``) or YAML (any other suffix) file.

    Raises a one-line ``ValueError`` naming the file when it cannot be parsed (presets and
    sweep specs are read with it).
    """
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    try:
        if p.suffix == ".json":
            return json.loads(text)
        import yaml

        return yaml.safe_load(text)
    except Exception as err:  # yaml.YAMLError / json.JSONDecodeError
        raise ValueError(f"{p}: cannot parse ({str(err).splitlines()[0]})") from None
