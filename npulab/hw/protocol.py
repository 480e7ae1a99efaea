"""The hardware-config protocol: what every engine kind's typed config provides.

The engine registry (:mod:`npulab.perf.engines`) maps a kind to a config class; a preset file
(``datasets/hw/*.yaml``) is read by that class, and the scorecard, the serving simulator and
the roofline take every hardware number from the config through these members (and from
nowhere else).  :class:`~npulab.hw.SystolicConfig`, :class:`~npulab.hw.PimConfig`,
:class:`~npulab.hw.SnnConfig` and :class:`~npulab.hw.gpu.GpuConfig` implement it;
:func:`check_hardware_config` is the conformance check a test runs over the whole registry
(as scikit-learn's ``check_estimator`` runs one battery over every estimator).

Members (units in the names):

* ``kind`` (class attribute): the engine kind presets name (``engine: systolic``);
* ``PRESET_KEYS`` (class attribute): the preset-file keys this config reads;
* ``from_preset(fields)`` (classmethod): the config from those keys (one-line ``ValueError``);
* ``peak_ops_per_s``: peak operations per second (a MAC counts 2);
* ``dram_bytes_per_s``: off-chip (DRAM/HBM) bandwidth, bytes/s;
* ``memory_bytes``: off-chip memory capacity, bytes (0 when unknown: unlimited room);
* ``weight_capacity_bytes``: weights that stay on chip between runs, bytes;
* ``precision``: the operand precision (a key of :data:`npulab.hw.PRECISIONS` or a GPU dtype);
* ``static_power_w()``: idle/leakage power charged over the whole latency, W.

Examples
--------
>>> from npulab.hw import ArrayConfig, SystolicConfig
>>> hw = SystolicConfig(ArrayConfig(8, 8))
>>> isinstance(hw, HardwareConfig)
True
>>> check_hardware_config(hw)
"""
from __future__ import annotations

import math
import numbers
from typing import Any, ClassVar, Mapping, Protocol, runtime_checkable

__all__ = ["HardwareConfig", "PROTOCOL_MEMBERS", "check_hardware_config"]

#: The members :class:`HardwareConfig` requires (the conformance check reads each).
PROTOCOL_MEMBERS = ("kind", "PRESET_KEYS", "from_preset", "peak_ops_per_s", "dram_bytes_per_s",
                    "memory_bytes", "weight_capacity_bytes", "precision", "static_power_w")


@runtime_checkable
class HardwareConfig(Protocol):
    """An engine kind's typed, frozen hardware config (see the module docstring)."""

    kind: ClassVar[str]
    PRESET_KEYS: ClassVar[frozenset]

    @classmethod
    def from_preset(cls, fields: Mapping[str, Any]) -> "HardwareConfig":
        """The config from a preset file's keys of this kind (one-line ``ValueError``)."""

    @property
    def peak_ops_per_s(self) -> float:
        """Peak operations per second."""

    @property
    def dram_bytes_per_s(self) -> float:
        """Off-chip bandwidth, bytes/s."""

    @property
    def memory_bytes(self) -> float:
        """Off-chip memory capacity, bytes (0: unknown)."""

    @property
    def weight_capacity_bytes(self) -> float:
        """Weights that stay on chip between runs, bytes."""

    @property
    def precision(self) -> str:
        """Operand precision."""

    def static_power_w(self) -> float:
        """Static (idle/leakage) power, W."""


def _number(owner: str, name: str, value, *, allow_zero: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{owner}.{name} must be a finite number; got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{owner}.{name} must be {'>= 0' if allow_zero else '> 0'}; got {value!r}")


def check_hardware_config(hw) -> None:
    """Check that ``hw`` (a config instance) implements :class:`HardwareConfig` soundly.

    Every member is present; ``kind`` is a non-empty str and ``PRESET_KEYS`` a frozenset of
    str; peak and bandwidth are finite numbers > 0; memory, weight capacity and static power
    finite numbers >= 0; ``precision`` a non-empty str; the config is frozen (assigning an
    attribute fails).  Raises ``ValueError`` (one line) naming the class and the member.
    """
    owner = type(hw).__name__
    for member in PROTOCOL_MEMBERS:
        if not hasattr(hw, member):
            raise ValueError(f"{owner} does not implement HardwareConfig: {member} is missing")
    if not isinstance(hw.kind, str) or not hw.kind:
        raise ValueError(f"{owner}.kind must be a non-empty str; got {hw.kind!r}")
    keys = type(hw).PRESET_KEYS
    if not isinstance(keys, frozenset) or not all(isinstance(k, str) for k in keys):
        raise ValueError(f"{owner}.PRESET_KEYS must be a frozenset of str; got {keys!r}")
    if not callable(getattr(type(hw), "from_preset", None)):
        raise ValueError(f"{owner}.from_preset must be a classmethod")
    _number(owner, "peak_ops_per_s", hw.peak_ops_per_s, allow_zero=False)
    _number(owner, "dram_bytes_per_s", hw.dram_bytes_per_s, allow_zero=False)
    _number(owner, "memory_bytes", hw.memory_bytes, allow_zero=True)
    _number(owner, "weight_capacity_bytes", hw.weight_capacity_bytes, allow_zero=True)
    if not callable(hw.static_power_w):
        raise ValueError(f"{owner}.static_power_w must be a method returning watts")
    _number(owner, "static_power_w()", hw.static_power_w(), allow_zero=True)
    if not isinstance(hw.precision, str) or not hw.precision:
        raise ValueError(f"{owner}.precision must be a non-empty str; got {hw.precision!r}")
    try:
        hw.__setattr__("kind", "changed")
    except (AttributeError, TypeError):  # dataclasses.FrozenInstanceError is an AttributeError
        return
    raise ValueError(f"{owner} must be frozen (a frozen dataclass); an attribute could be assigned")
