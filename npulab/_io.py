"""Safe readers for the files users hand to npulab (configs, topologies, specs, presets).

Every failure is one ``ValueError`` (or ``FileNotFoundError``) line that names the file:
missing file, a folder, a file too big to be a config, bytes that are not UTF-8, JSON
that does not parse, nests deeper than :data:`MAX_DEPTH`, holds a number that is not
finite or has more than :data:`MAX_INT_DIGITS` digits, or has the wrong top-level type.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_INT_DIGITS", "read_text", "parse_json", "load_json", "check_depth"]

#: Largest input file read (bytes): configs and topologies are kilobytes.
MAX_BYTES = 64 * 2**20
#: Deepest nesting of lists/dicts accepted in a JSON or YAML document.
MAX_DEPTH = 64
#: Longest integer literal accepted (digits): 10**18 is far beyond any layer size.
MAX_INT_DIGITS = 18


def read_text(path, what: str = "file") -> str:
    """The UTF-8 text of ``path`` (a BOM is dropped); one-line errors name the file."""
    p = Path(os.fspath(path))
    if not p.exists():
        raise FileNotFoundError(f"{what} not found: {p}")
    if p.is_dir():
        raise ValueError(f"{p}: is a folder, expected a {what}")
    size = p.stat().st_size
    if size > MAX_BYTES:
        raise ValueError(f"{p}: {size} bytes is larger than the {MAX_BYTES} byte limit for a {what}")
    data = p.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(f"{p}: not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start})") from None


def check_depth(obj, origin: str, limit: int = MAX_DEPTH):
    """Raise ``ValueError`` if lists/dicts in ``obj`` nest deeper than ``limit`` (iterative)."""
    stack = [(obj, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth > limit:
                raise ValueError(f"{origin}: nested deeper than {limit} levels")
            stack.extend((v, depth + 1) for v in (node.values() if isinstance(node, dict) else node))
    return obj


def _parse_int(origin):
    def parse(s):
        if len(s.lstrip("-")) > MAX_INT_DIGITS:
            raise ValueError(f"{origin}: number {s[:12]}... has {len(s.lstrip('-'))} digits "
                             f"(limit {MAX_INT_DIGITS})")
        return int(s)
    return parse


def _parse_float(origin):
    def parse(s):
        v = float(s)
        if v in (float("inf"), float("-inf")):
            raise ValueError(f"{origin}: number {s[:24]} is out of range")
        return v
    return parse


def _no_constant(origin):
    def parse(s):
        raise ValueError(f"{origin}: {s} is not a number npulab accepts")
    return parse


def parse_json(text: str, origin: str, expect: type | None = None):
    """``json.loads`` with bounded depth and numbers; ``expect`` checks the top-level type."""
    try:
        obj = json.loads(text, parse_int=_parse_int(origin), parse_float=_parse_float(origin),
                         parse_constant=_no_constant(origin))
    except json.JSONDecodeError as err:
        raise ValueError(f"{origin}: not valid JSON ({err.msg}, line {err.lineno})") from None
    except RecursionError:
        raise ValueError(f"{origin}: nested deeper than {MAX_DEPTH} levels") from None
    check_depth(obj, origin)
    if expect is not None and not isinstance(obj, expect):
        names: dict[type, str] = {dict: "an object", list: "a list"}
        want = names.get(expect, expect.__name__)
        raise ValueError(f"{origin}: expected {want} at the top level; got {type(obj).__name__}")
    return obj


def load_json(path, expect: type | None = None, what: str = "JSON file"):
    """:func:`read_text` then :func:`parse_json` (the file named in every error)."""
    return parse_json(read_text(path, what), str(path), expect)
