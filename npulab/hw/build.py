"""Build a frozen hardware config from a mapping (a preset file's section), with one-line errors.

``build(ArrayConfig, "HardwarePreset.array", {"rows": 16, "cols": 16})`` returns the config;
an unknown key or a bad value raises ``ValueError`` naming ``owner.<field>``.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping

__all__ = ["build"]


def build(cls, owner: str, params) -> Any:
    """``cls(**params)`` with one-line errors naming ``owner.<field>``."""
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise ValueError(f"{owner} must be a mapping of {cls.__name__} fields; got {params!r}")
    known = {f.name for f in dataclasses.fields(cls)}
    for key in params:
        if key not in known:
            raise ValueError(f"{owner}.{key} is not a {cls.__name__} field (fields: {sorted(known)})")
    return cls(**params)
