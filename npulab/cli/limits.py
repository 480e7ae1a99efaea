"""Bounds on command-line numbers and output paths, checked before any work starts.

Each check raises a one-line ``ValueError`` naming the flag, the allowed range and the
value (``npulab.cli.main`` prints it and exits 2).  The bounds keep a typo (an extra
zero) from turning into minutes of work or gigabytes of memory.
"""
from __future__ import annotations

import math
import os

#: Largest systolic array side accepted on the command line (PEs).
MAX_ARRAY_SIDE = 4096
#: Longest LLM context / prompt accepted (tokens).
MAX_SEQ_LEN = 2**20
#: Largest LLM batch accepted.
MAX_BATCH = 4096


def in_range(flag: str, value, lo, hi):
    """``value`` if ``lo <= value <= hi`` (finite), else a one-line ``ValueError``."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)) \
            or (isinstance(value, float) and not math.isfinite(value)) or not lo <= value <= hi:
        fmt = "{:,}".format if isinstance(hi, int) and isinstance(lo, int) else "{:g}".format
        raise ValueError(f"{flag} must be in [{fmt(lo)}, {fmt(hi)}]; got {value!r}")
    return value


def check_array_flags(args) -> None:
    """``--rows``/``--cols`` (PEs), ``--clock-hz`` and ``--bandwidth`` of an array command."""
    # values below the range are left to the config classes (their messages name the field)
    for flag in ("rows", "cols"):
        v = getattr(args, flag, None)
        if v is not None and v > MAX_ARRAY_SIDE:
            in_range(f"--{flag}", v, 1, MAX_ARRAY_SIDE)
    for flag, hi in (("clock_hz", 1e11), ("bandwidth", 1e15)):
        v = getattr(args, flag, None)
        if v is not None and not (0 < v <= hi):      # also NaN and inf
            raise ValueError(f"--{flag.replace('_', '-')} must be > 0 and <= {hi:g}; got {v!r}")


def check_output_file(flag: str, path) -> None:
    """An output file path: not an existing folder, and its folder exists."""
    p = os.fspath(path)
    if os.path.isdir(p):
        raise ValueError(f"{flag} {p}: is a folder; give a file name")
    parent = os.path.dirname(os.path.abspath(p))
    if not os.path.isdir(parent):
        raise ValueError(f"{flag} {p}: folder {parent} does not exist")
