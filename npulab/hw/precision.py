"""The one table of number precisions: bits, bytes per element, and which MAC energy applies.

Workloads (bytes of each operand), the quantizer, the energy table (energy of one MAC) and
the tiler (bytes of a memory word) all read this table; a name that is not in it is a
``ValueError`` everywhere (no silent fallback).

=========  ====  =====  ===============  ==================================================
name       bits  bytes  MAC energy       note
=========  ====  =====  ===============  ==================================================
int4          4  0.5    ``mac_int8_pJ``  two values per byte; at most an 8-bit multiplier
int8          8  1      ``mac_int8_pJ``  Horowitz 45 nm: 8-bit multiply + 32-bit add
uint8         8  1      ``mac_int8_pJ``
fp8           8  1      ``mac_int8_pJ``  E4M3/E5M2; an 8-bit multiplier's energy (bound)
int16        16  2      none             no cited figure: ``EnergyTable.mac_pJ`` raises
fp16         16  2      ``mac_fp16_pJ``  Horowitz 45 nm: 16-bit FP multiply + add
bf16         16  2      ``mac_fp16_pJ``
int32        32  4      none             accumulators; no MAC energy
fp32         32  4      ``mac_fp32_pJ``  Horowitz 45 nm: 32-bit FP multiply + add
=========  ====  =====  ===============  ==================================================

Reference: M. Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC
2014, Fig. 1.1.9.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

__all__ = ["Precision", "PRECISIONS", "PRECISION_BYTES", "get_precision", "bytes_per_element",
           "precision_for_bits"]


@dataclass(frozen=True)
class Precision:
    """One number format.

    Attributes
    ----------
    name : str
    bits : int
        Bits per element.
    kind : {"int", "uint", "float"}
    mac_energy : str or None
        The :class:`~npulab.hw.EnergyTable` field holding one MAC's energy at this precision
        (None: no cited figure).
    """

    name: str
    bits: int
    kind: str
    mac_energy: str | None

    @property
    def bytes(self) -> float:
        """Bytes per element, ``bits / 8`` (int4 packs two per byte)."""
        return self.bits / 8


#: Every precision npulab knows, by name.
PRECISIONS = {p.name: p for p in (
    Precision("int4", 4, "int", "mac_int8_pJ"),
    Precision("int8", 8, "int", "mac_int8_pJ"),
    Precision("uint8", 8, "uint", "mac_int8_pJ"),
    Precision("fp8", 8, "float", "mac_int8_pJ"),
    Precision("int16", 16, "int", None),
    Precision("fp16", 16, "float", "mac_fp16_pJ"),
    Precision("bf16", 16, "float", "mac_fp16_pJ"),
    Precision("int32", 32, "int", None),
    Precision("fp32", 32, "float", "mac_fp32_pJ"),
)}

#: Bytes per element of each precision (int4 packs two values per byte).
PRECISION_BYTES = {name: p.bytes for name, p in PRECISIONS.items()}


def get_precision(name) -> Precision:
    """The :class:`Precision` called ``name``; ``ValueError`` listing the known ones otherwise.

    >>> get_precision("bf16").bits
    16
    """
    if not isinstance(name, str) or name not in PRECISIONS:
        raise ValueError(f"precision must be one of {sorted(PRECISIONS)}; got {name!r}")
    return PRECISIONS[name]


def bytes_per_element(precision) -> float:
    """Bytes one element takes: a name from :data:`PRECISIONS` or a positive number.

    >>> bytes_per_element("fp16"), bytes_per_element(1)
    (2.0, 1.0)
    """
    if isinstance(precision, str):
        if precision not in PRECISIONS:
            raise ValueError(
                f"precision must be one of {sorted(PRECISIONS)} or bytes per element; "
                f"got {precision!r}"
            )
        return PRECISION_BYTES[precision]
    if isinstance(precision, bool) or not isinstance(precision, numbers.Real):
        raise ValueError(f"precision must be a name or a number of bytes > 0; got {precision!r}")
    value = float(precision)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"precision must be a name or a number of bytes > 0; got {precision!r}")
    return value


def precision_for_bits(bits: int) -> str:
    """The integer precision whose bytes a ``bits``-bit weight is counted at: int4, int8 or int16.

    Exactly 4 bits packs two per byte (int4); other widths up to 8 take a byte (int8), wider
    ones two (int16).

    >>> precision_for_bits(8), precision_for_bits(4), precision_for_bits(3), precision_for_bits(9)
    ('int8', 'int4', 'int8', 'int16')
    """
    if bits == 4:
        return "int4"
    return "int8" if bits <= 8 else "int16"
