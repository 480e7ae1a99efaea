"""Processing-in-memory hardware: the crossbar periphery (:class:`IOConfig`) and the PIM engine's
typed configuration (:class:`PimConfig`: a crossbar design and how many arrays the chip has).

:class:`IOConfig` is aihwkit's forward ``IOParameters`` (DAC/ADC resolution and bounds, noise
and bound management); :mod:`npulab.pim.mvm` runs the analog MVM it describes.  See that
module's docstring for the forward pass and the references (Gokmen, Rasch & Haensch, IEDM
2019; Rasch et al., AICAS 2021).

Units: normalised (IOConfig), uS / seconds / Hz (crossbar), ops/s, bytes.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from npulab._validate import one_of, positive_int, positive_number
from npulab.hw.crossbar import CrossbarConfig
from npulab.hw.precision import precision_for_bits

__all__ = ["IOConfig", "PimConfig", "converter_step", "NOISE_MANAGEMENT", "BOUND_MANAGEMENT", "BM_SCOPES"]


NOISE_MANAGEMENT = ("none", "abs_max")
BOUND_MANAGEMENT = ("none", "iterative")
BM_SCOPES = ("row", "batch")


def _real(owner: str, field: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
        raise ValueError(f"{owner}.{field} must be a real number; got {value!r}")
    return float(value)


@dataclass(frozen=True)
class IOConfig:
    """DAC/ADC and noise/bound management of an analog forward pass (aihwkit's ``IOParameters``).

    Names and defaults are those of aihwkit 1.2.0's forward ``IOParameters`` for
    ``InferenceRPUConfig`` (strings lower case; ``"none"`` switches a management off).

    Parameters
    ----------
    is_perfect : bool, default False
        Skip all periphery: ``y = out_scale * W x``.
    inp_res : float, default 1/126
        DAC step as a fraction of the range ``2 * inp_bound`` (7 bits: ``1/(2**7 - 2)``);
        a value > 1 is a number of steps; negative: no input quantisation.
    out_res : float, default 1/510
        ADC step as a fraction of ``2 * out_bound`` (9 bits); > 1 counts steps; negative: off.
    inp_bound : float, default 1.0
        DAC clipping level (normalised voltage); <= 0 means no clipping.  Noise
        management requires 1.0 (as aihwkit).
    out_bound : float, default 12.0
        ADC clipping level in units of (weight x input); <= 0 means no clipping.
    noise_management : {"abs_max", "none"}, default "abs_max"
    bound_management : {"iterative", "none"}, default "iterative"
    nm_thres : float, default 0.0
        Cap on the noise-management scale when > 0.
    max_bm_factor : int, default 1000
        Largest input reduction of bound management.
    max_bm_res : float, default 0.25
        Stop reducing once ``reduction * dx`` would exceed this.
    out_scale : float, default 1.0
        Digital gain applied to the output.
    out_noise : float, default 0.06
        Std of additive Gaussian output noise (normalised units, before the ADC).
    bm_scope : {"row", "batch"}, default "row"
        Bound management per input row (aihwkit's C++ tile) or per batch (its torch tile).

    Units: normalised (inputs in DAC full-scale units, outputs in weight x input units).

    Examples
    --------
    >>> io = IOConfig()
    >>> round(io.inp_step, 6), round(io.out_step, 6)
    (0.015873, 0.047059)
    >>> IOConfig.from_bits(dac_bits=4, adc_bits=6).out_res == 1 / 62
    True
    """

    is_perfect: bool = False
    inp_res: float = 1 / 126
    out_res: float = 1 / 510
    inp_bound: float = 1.0
    out_bound: float = 12.0
    noise_management: str = "abs_max"
    bound_management: str = "iterative"
    nm_thres: float = 0.0
    max_bm_factor: int = 1000
    max_bm_res: float = 0.25
    out_scale: float = 1.0
    out_noise: float = 0.06
    bm_scope: str = "row"

    def __post_init__(self):
        o = "IOConfig"
        if not isinstance(self.is_perfect, (bool, np.bool_)):
            raise ValueError(f"{o}.is_perfect must be a bool; got {self.is_perfect!r}")
        for name in ("noise_management", "bound_management", "bm_scope"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, value.lower())
        one_of(o, "noise_management", self.noise_management, NOISE_MANAGEMENT)
        one_of(o, "bound_management", self.bound_management, BOUND_MANAGEMENT)
        one_of(o, "bm_scope", self.bm_scope, BM_SCOPES)
        for name in ("inp_res", "out_res", "inp_bound", "out_bound", "nm_thres", "max_bm_res",
                     "out_scale", "out_noise"):
            _real(o, name, getattr(self, name))
        for name in ("inp_res", "out_res"):
            if getattr(self, name) == 0:
                raise ValueError(f"{o}.{name} must be > 0 (a step, or a number of steps if > 1) "
                                 f"or negative for no quantisation; got {getattr(self, name)!r}")
        if self.out_res > 0 and not (0 < self.out_bound < math.inf):
            raise ValueError(f"{o}.out_bound must be > 0 and finite when out_res quantises "
                             f"the output; got {self.out_bound!r}")
        if self.inp_res > 0 and not (0 < self.inp_bound < math.inf):
            raise ValueError(f"{o}.inp_bound must be > 0 and finite when inp_res quantises "
                             f"the input; got {self.inp_bound!r}")
        if self.noise_management != "none" and self.inp_bound != 1.0:
            raise ValueError(f"{o}.inp_bound must be 1.0 with noise management; "
                             f"got {self.inp_bound!r}")
        positive_int(o, "max_bm_factor", self.max_bm_factor)
        if self.out_noise < 0:
            raise ValueError(f"{o}.out_noise must be >= 0; got {self.out_noise!r}")
        if self.nm_thres < 0:
            raise ValueError(f"{o}.nm_thres must be >= 0; got {self.nm_thres!r}")

    @classmethod
    def from_bits(cls, dac_bits: int = 7, adc_bits: int = 9, **kwargs) -> "IOConfig":
        """An ``IOConfig`` whose DAC/ADC have ``2**bits - 2`` steps (aihwkit's convention).

        A signed b-bit converter has ``2**b - 1`` levels symmetric about 0, i.e.
        ``2**b - 2`` steps over ``[-bound, bound]``; 7 and 9 bits give aihwkit's defaults.
        """
        positive_int("IOConfig.from_bits", "dac_bits", dac_bits)
        positive_int("IOConfig.from_bits", "adc_bits", adc_bits)
        if dac_bits < 2 or adc_bits < 2:
            raise ValueError(f"IOConfig.from_bits needs >= 2 bits; got dac_bits={dac_bits}, "
                             f"adc_bits={adc_bits}")
        return cls(inp_res=1 / (2 ** dac_bits - 2), out_res=1 / (2 ** adc_bits - 2), **kwargs)

    @property
    def inp_step(self) -> float:
        """DAC step ``dx`` (0 when the input is not quantised)."""
        return float(converter_step(self.inp_res, self.inp_bound, np.float64))

    @property
    def out_step(self) -> float:
        """ADC step ``dy`` (0 when the output is not quantised)."""
        return float(converter_step(self.out_res, self.out_bound, np.float64))


def converter_step(res: float, bound: float, dtype) -> float:
    """Quantisation step: ``res * 2 * bound``; ``res > 1`` counts steps; ``res < 0``: none."""
    t = np.dtype(dtype).type
    if res <= 0:
        return t(0)
    r = t(1) / t(res) if res > 1 else t(res)
    return t(r * (t(2) * t(bound)))



@dataclass(frozen=True)
class PimConfig:
    """The PIM engine's hardware: one crossbar design and the number of arrays on the chip.

    Parameters
    ----------
    crossbar : CrossbarConfig, default CrossbarConfig()
    num_arrays : int or None, default None
        Crossbar arrays on the chip.  A layer that needs more tiles than this runs in
        ``ceil(tiles / num_arrays)`` rounds; None assumes every tile is present (one round).
    dram_bytes_per_s : float, default 6.4e9
        Off-chip bandwidth, bytes/s (ISAAC's one HyperTransport link, 6.4 GB/s: Shafiee et
        al., ISCA 2016, Sec. 5).
    idle_power_w : float, default 0
        Static (idle/leakage) power in W, charged over the latency; the engine models
        dynamic energy only.  A preset file gives it as ``static_power_w``.

    Examples
    --------
    >>> PimConfig(num_arrays=64).weight_capacity_bytes
    131072.0
    """

    kind: ClassVar[str] = "pim"
    #: Keys of a preset file that describe this hardware (besides the common ones).
    PRESET_KEYS: ClassVar[frozenset] = frozenset({"crossbar", "num_arrays", "dram_bytes_per_s",
                                                  "static_power_w"})

    crossbar: CrossbarConfig = field(default_factory=CrossbarConfig)
    num_arrays: int | None = None
    dram_bytes_per_s: float = 6.4e9
    idle_power_w: float = 0.0

    def __post_init__(self):
        if not isinstance(self.crossbar, CrossbarConfig):
            raise ValueError(f"PimConfig.crossbar must be a CrossbarConfig; got {type(self.crossbar).__name__}")
        if self.num_arrays is not None:
            positive_int("PimConfig", "num_arrays", self.num_arrays)
        positive_number("PimConfig", "dram_bytes_per_s", self.dram_bytes_per_s)
        positive_number("PimConfig", "idle_power_w", self.idle_power_w, allow_zero=True)

    @classmethod
    def from_preset(cls, fields) -> "PimConfig":
        """Build from a preset file's ``crossbar``, ``num_arrays`` (default 1),
        ``dram_bytes_per_s`` (required) and ``static_power_w`` entries."""
        from npulab.hw.build import build

        if "dram_bytes_per_s" not in fields:
            raise ValueError("HardwarePreset.dram_bytes_per_s is missing (a pim preset needs it)")

        xb = build(CrossbarConfig, "HardwarePreset.crossbar", fields.get("crossbar"))
        return cls(crossbar=xb, num_arrays=positive_int("HardwarePreset", "num_arrays",
                                                        fields.get("num_arrays", 1)),
                   dram_bytes_per_s=fields["dram_bytes_per_s"],
                   idle_power_w=fields.get("static_power_w", 0.0))

    def __getitem__(self, key):  # the mapping view of the preset file (``config["crossbar"]``)
        if key not in ("crossbar", "num_arrays"):
            raise KeyError(key)
        return getattr(self, key)

    @property
    def arrays(self) -> int:
        """Arrays on the chip (1 when :attr:`num_arrays` is None)."""
        return self.num_arrays or 1

    @property
    def weights_per_array(self) -> int:
        """Weights one array holds, ``rows * cols // cells_per_weight``."""
        xb = self.crossbar
        return xb.rows * xb.cols // xb.cells_per_weight

    @property
    def peak_ops_per_s(self) -> float:
        """``arrays * weights_per_array * 2 / (input_cycles * cycle_time_s)``."""
        xb = self.crossbar
        return self.arrays * self.weights_per_array * 2 / (xb.input_cycles * xb.cycle_time_s)

    @property
    def weight_capacity_bytes(self) -> float:
        """Weights the arrays hold, in bytes at ``weight_bits``."""
        return self.arrays * self.weights_per_array * self.crossbar.weight_bits / 8

    @property
    def precision(self) -> str:
        """The integer precision the weights are counted at (:func:`precision_for_bits`)."""
        return precision_for_bits(self.crossbar.weight_bits)

    @property
    def memory_bytes(self) -> float:
        """Off-chip memory capacity: 0 (not modelled)."""
        return 0.0

    def static_power_w(self) -> float:
        """:attr:`idle_power_w` (the engine models dynamic energy only)."""
        return self.idle_power_w
