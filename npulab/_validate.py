"""One message shape for bad values: ``Owner.field must be <rule>; got <value>``."""
from __future__ import annotations

import math
import numbers


def positive_int(owner: str, field: str, value) -> int:
    """Return ``value`` if it is an int >= 1, else raise ``ValueError`` naming the field."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < 1:
        raise ValueError(f"{owner}.{field} must be an int >= 1; got {value!r}")
    return int(value)


def int_in_range(owner: str, field: str, value, lo: int, hi: int) -> int:
    """Return ``value`` if it is an int with ``lo <= value <= hi``, else raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not lo <= int(value) <= hi:
        raise ValueError(f"{owner}.{field} must be an int in [{lo}, {hi}]; got {value!r}")
    return int(value)


def positive_number(owner: str, field: str, value, *, allow_zero: bool = False) -> float:
    """Return ``value`` as float if it is finite and > 0 (or >= 0), else raise ``ValueError``."""
    ok = (
        not isinstance(value, bool)
        and isinstance(value, numbers.Real)
        and math.isfinite(value)
        and (float(value) >= 0 if allow_zero else float(value) > 0)
    )
    if not ok:
        rule = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{owner}.{field} must be a finite number {rule}; got {value!r}")
    return float(value)


def one_of(owner: str, field: str, value, allowed) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise ``ValueError`` listing them."""
    if value not in allowed:
        raise ValueError(f"{owner}.{field} must be one of {sorted(allowed)}; got {value!r}")
    return value
