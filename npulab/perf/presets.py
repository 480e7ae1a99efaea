"""Hardware presets: a named NPU (a kind's typed config + energy) from a YAML or JSON file.

A preset file (``datasets/hw/*.yaml``) names the engine kind and gives that kind's
configuration, with a ``sources`` map citing every number::

    name: tpuv1-like
    engine: systolic               # a kind of npulab.perf.engines.HARDWARE
    array:  {rows: 256, cols: 256, dataflow: ws, clock_hz: 700.0e+6, precision: int8}
    memory: {dram_bytes_per_s: 34.0e+9, ...}   # MemoryConfig fields
    weight_capacity_bytes: 0       # weights that stay on chip between runs (bytes)
    static_power_w: 28             # measured idle power (else: the area model's)
    energy: {dram_pJ_per_byte: 20}  # EnergyTable overrides (optional)
    sources: {array: "Jouppi et al., ISCA 2017"}

Besides ``name``, ``engine``, ``description``, ``energy`` and ``sources`` (:data:`COMMON_KEYS`),
every key belongs to the kind's config class (its ``PRESET_KEYS``, read by its
``from_preset``; :class:`~npulab.hw.SystolicConfig`, :class:`~npulab.hw.PimConfig`,
:class:`~npulab.hw.SnnConfig`, :class:`~npulab.hw.gpu.GpuConfig`, found through
:mod:`npulab.perf.engines`), which becomes :attr:`HardwarePreset.config`.  Every hardware
number of a preset (peak, bandwidth, memory, weight capacity, precision, static power) is
the config's (the :class:`~npulab.hw.protocol.HardwareConfig` protocol): there is no second
copy to override it, and a key the kind does not read is a one-line ``ValueError``.

* systolic: peak ``2 * rows * cols * clock_hz``; ``memory.dram_bytes_per_s``;
* pim: ``crossbar``, ``num_arrays``, ``dram_bytes_per_s``; peak
  ``num_arrays * (rows * cols / cells_per_weight) * 2 / (input_cycles * cycle_time_s)``,
  capacity ``num_arrays * rows * cols / cells_per_weight`` weights;
* snn: ``core``, ``spike_rate``, ``timesteps``, ``dram_bytes_per_s``; peak
  ``2 * num_cores * clock_hz / sop_cycles`` (a SOP counted as a MAC), capacity
  ``num_cores * synapse_memory_kb`` KiB;
* gpu: one ``gpu:`` mapping of :class:`~npulab.hw.gpu.GpuConfig` fields.

A bad file raises a one-line ``ValueError`` naming the file and the field.  Units: bytes,
bytes/s, ops/s, Hz, W.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from npulab.hw.build import build

#: Keys every preset file may have, whatever its engine (the engine's own keys are its
#: config class's ``PRESET_KEYS``).
COMMON_KEYS = frozenset({"name", "engine", "description", "energy", "sources", "interconnect"})
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def parse_numbers(value):
    """YAML reads ``34e9`` as a string: turn number-looking strings into floats."""
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        return float(value)
    if isinstance(value, Mapping):
        return {k: parse_numbers(v) for k, v in value.items()}
    return value


@dataclass(frozen=True, repr=False)
class HardwarePreset:
    """One NPU: a name, its engine kind's typed config, an energy table and sources.

    Every hardware number is read from :attr:`config` (a
    :class:`~npulab.hw.protocol.HardwareConfig`); the properties below forward to it and
    cannot be set.

    Parameters
    ----------
    name : str
        Preset name.
    config : SystolicConfig, PimConfig, SnnConfig, GpuConfig, ...
        The engine kind's typed hardware, passed to its ``estimate``.  ``config["array"]``
        etc. still read its parts.
    energy : EnergyTable
        Per-operation energies.
    description : str
        One line.
    sources : dict
        Citation of each number.
    interconnect : str or dict, optional
        The device's link to its peers: a name in :data:`npulab.hw.interconnect.LINKS` or
        :class:`~npulab.hw.interconnect.Link` fields (used by :mod:`npulab.perf.parallel`).

    Attributes
    ----------
    engine : str
        The engine kind (``config.kind``; a key of :data:`npulab.perf.engines.ENGINES`).
    peak_ops_per_s, dram_bytes_per_s, memory_bytes, weight_capacity_bytes, precision
        The config's (see :class:`~npulab.hw.protocol.HardwareConfig`).
    static_power_w : float
        ``config.static_power_w()``: charged for the whole latency as energy ``"static"``.

    Units: ops/s, bytes/s, bytes, W.
    """

    name: str
    config: Any
    energy: Any
    description: str = ""
    sources: Mapping[str, str] = field(default_factory=dict)
    interconnect: Any = None

    def __post_init__(self):
        from npulab.hw.protocol import HardwareConfig

        if not isinstance(self.config, HardwareConfig):
            raise ValueError("HardwarePreset.config must implement npulab.hw.protocol."
                             f"HardwareConfig; got {type(self.config).__name__}")

    @property
    def engine(self) -> str:
        """The engine kind that models it (``config.kind``)."""
        return self.config.kind

    @property
    def peak_ops_per_s(self) -> float:
        """Peak operations per second (the config's)."""
        return self.config.peak_ops_per_s

    @property
    def dram_bytes_per_s(self) -> float:
        """Off-chip bandwidth, bytes/s (the config's)."""
        return self.config.dram_bytes_per_s

    @property
    def memory_bytes(self) -> float:
        """Off-chip memory capacity, bytes; 0 when unknown (the config's)."""
        return self.config.memory_bytes

    @property
    def weight_capacity_bytes(self) -> float:
        """Weights (bytes) that stay on chip; a workload whose weights fit does not stream them."""
        return self.config.weight_capacity_bytes

    @property
    def static_power_w(self) -> float:
        """Static (idle/leakage) power, W (``config.static_power_w()``)."""
        return self.config.static_power_w()

    @property
    def precision(self) -> str:
        """Weight/activation precision the engine computes in (``"int8"``, ``"fp16"`` ...)."""
        return self.config.precision

    @property
    def roofline(self):
        """The preset's :class:`~npulab.perf.Roofline` (peak ops/s, DRAM bandwidth)."""
        from npulab.metrics.roofline import Roofline

        return Roofline(self.peak_ops_per_s, self.dram_bytes_per_s)

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
        hw = hw_type.from_preset({k: d[k] for k in hw_type.PRESET_KEYS if k in d})
        return HardwarePreset(name=str(d.get("name", origin)), config=hw, energy=energy,
                              description=str(d.get("description", "")),
                              sources=dict(d.get("sources") or {}),
                              interconnect=_interconnect(d.get("interconnect")))
    except TypeError as err:  # e.g. a list where a number belongs
        raise ValueError(f"{origin}: {str(err).splitlines()[0]}") from None
    except ValueError as err:
        raise ValueError(f"{origin}: {str(err).splitlines()[0]}") from None


def _interconnect(spec):
    """A preset's ``interconnect``: a link name or Link fields, checked now (one line if bad)."""
    if spec is None:
        return None
    from npulab.hw.interconnect import Link, get_link

    if isinstance(spec, Mapping):
        Link(**{"name": "link", **spec})
        return dict(spec)
    get_link(spec)
    return spec


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
    return preset_from_dict(_files_beside(read_data_file(p), p.parent), origin=str(p))


def _files_beside(d, folder: Path):
    """A preset file's data with ``gpu.measured`` resolved beside the file first (a
    calibrated preset names its data file relative to itself)."""
    gpu = d.get("gpu") if isinstance(d, Mapping) else None
    if isinstance(gpu, Mapping) and isinstance(gpu.get("measured"), str):
        from npulab.hw.gpu import measured_beside

        d = {**d, "gpu": {**gpu, "measured": measured_beside(gpu["measured"], folder)}}
    return d


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

