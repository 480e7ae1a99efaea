"""Translation catalogs on disk: YAML files that pair each English unit with its translation.

A catalog maps a key (a notebook cell id, or a lecture block's hash) to an entry
``{"en_sha256": <digest of the English it was made from>, "<lang>": <translated text>}``.
The digest is :func:`digest` of the English text: the first 16 hex digits of its SHA-256
(64 bits; collisions among a course's few thousand paragraphs are not a concern).  When the
English changes its digest changes, so the entry is *stale* until a translator updates it.

YAML because translators edit these files by hand: multi-line text is written as ``|``
literal blocks, Korean as is (no ``\\uXXXX`` escapes).  Files are written deterministically
(keys in document order, fixed width), so a re-save of an unchanged catalog is a no-op.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import yaml

#: Hex digits of SHA-256 kept as an English text's fingerprint.
DIGEST_CHARS = 16


def digest(text: str) -> str:
    """Fingerprint of an English text: first :data:`DIGEST_CHARS` hex digits of its SHA-256.

    >>> digest("Hello")
    '185f8db32271fe25'
    """
    return hashlib.sha256(str(text).encode("utf-8")).hexdigest()[:DIGEST_CHARS]


class _Dumper(yaml.SafeDumper):
    """SafeDumper that writes multi-line strings as ``|`` blocks."""


def _str_representer(dumper, data: str):
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _str_representer)


def load(path) -> dict:
    """Read a catalog file; a missing file is an empty catalog ``{}``."""
    path = Path(path)
    if not path.exists():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ValueError(f"{path}: not a readable translation catalog ({err.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a translation catalog must be a YAML mapping")
    return data


def dumps(data: dict | list) -> str:
    """YAML text of a catalog or a work list (keys in insertion order, Unicode as is)."""
    return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100,
                     default_flow_style=False)


def save(path, data: dict, *, header: str = "") -> Path:
    """Write a catalog (only when its text changed); ``header`` becomes leading ``#`` comments."""
    path = Path(path)
    text = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines()) + dumps(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path


def entry_state(entry, english: str, lang: str) -> str:
    """``"ok"``, ``"stale"`` (translated from other English) or ``"missing"`` for one unit."""
    if not isinstance(entry, dict) or not str(entry.get(lang) or "").strip():
        return "missing"
    return "ok" if entry.get("en_sha256") == digest(english) else "stale"
