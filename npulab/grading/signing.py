"""Results nobody can forge: an HMAC-SHA256 on every stored result (RFC 2104).

``npulab grade`` stores ``OUT/results/<student>.json`` as ``{"result": {...}, "mac": hex}``
where ``mac = HMAC-SHA256(key, canonical JSON of result)``.  The key is 32 random bytes in a
file outside OUT and outside every sandbox: by default ``~/.cache/npulab/grader.key``
(created with mode 0600 on first use), or the file given by ``npulab grade --key-file``.
On resume a result whose MAC does not verify is regraded (and reported).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

#: Default key file.
DEFAULT_KEY = Path("~/.cache/npulab/grader.key")
KEY_BYTES = 32


def load_key(path=None, *, out=None) -> bytes:
    """The grader's key from ``path`` (default :data:`DEFAULT_KEY`), created if absent.

    Refuses a key file inside ``out`` (students' results must not sit next to the key).
    """
    path = Path(path or os.environ.get("NPULAB_GRADER_KEY") or DEFAULT_KEY).expanduser()
    if out is not None:
        try:
            path.resolve().relative_to(Path(out).resolve())
        except ValueError:
            pass
        else:
            raise ValueError(f"key file {path} is inside the output folder {out}; keep it outside")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(KEY_BYTES))
    if path.is_dir():
        raise ValueError(f"key file {path} is a folder")
    key = path.read_bytes()
    if len(key) < 16:
        raise ValueError(f"key file {path} is too short ({len(key)} bytes; need >= 16)")
    return key


def _canonical(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode("utf-8")


def sign(result: dict, key: bytes) -> dict:
    """The stored form of ``result``: ``{"result": result, "mac": hex}``."""
    return {"result": result, "mac": hmac.new(key, _canonical(result), hashlib.sha256).hexdigest()}


def verify(stored, key: bytes):
    """The result inside ``stored`` if its MAC verifies, else None."""
    if not isinstance(stored, dict) or not isinstance(stored.get("result"), dict):
        return None
    mac = stored.get("mac")
    good = hmac.new(key, _canonical(stored["result"]), hashlib.sha256).hexdigest()
    if not isinstance(mac, str) or not hmac.compare_digest(mac, good):
        return None
    return stored["result"]
