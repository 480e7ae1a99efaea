"""Plain data over a pipe: the only thing that crosses the sandbox boundary.

The grader and the in-sandbox driver (:mod:`npulab.grading.driver`) exchange *frames*:
an 8-byte big-endian length followed by that many bytes of UTF-8 JSON.  Values are
*plain data* only (:func:`encode` / :func:`decode`):

* ``None``, ``bool``, ``int``, ``float`` (NaN and infinities included), ``str``;
* ``list``; ``tuple`` as ``{"__tuple__": [...]}``; ``dict`` as ``{"__dict__": [[k, v], ...]}``
  (keys: any plain, hashable value);
* numeric numpy arrays (dtype kind ``b``, ``i``, ``u``, ``f`` or ``c``) as
  ``{"__ndarray__": {"dtype": "<f8", "shape": [2, 3], "data": "<base64>"}}``; numpy scalars
  become Python numbers; torch tensors become numpy arrays (sender side only).

Anything else raises :class:`NotPlainData`.  Nothing is ever pickled or evaluated: a
sender can put any bytes in a frame, and :func:`decode` either returns plain data or
raises (bad JSON, unknown tag, an array whose bytes do not match its shape, a frame past
its size limit).  This module imports only the standard library (numpy on demand) so
the driver starts fast.
"""
from __future__ import annotations

import base64
import json
import os
import select
import struct
import time

#: Largest frame either side accepts.  Units: bytes.
MAX_FRAME = 64 * 2**20
#: Deepest nesting of lists/tuples/dicts accepted.
MAX_DEPTH = 64
#: Most list items / dict entries one frame may hold (checked before parsing, so a frame
#: of millions of tiny items cannot blow up the reader's memory).  Arrays do not count.
MAX_ITEMS = 5_000_000
_NUMERIC_KINDS = "biufc"
_HEADER = struct.Struct(">Q")


class NotPlainData(TypeError):
    """A value that may not cross the sandbox boundary (not plain data)."""


class WireError(RuntimeError):
    """A frame could not be read: closed pipe, timeout, bad length or bad content."""


class FrameTooLarge(WireError):
    """A frame's header announces more bytes than the reader accepts (nothing of it is read).

    ``length`` is the announced payload size and ``limit`` the reader's limit (bytes).
    """

    def __init__(self, length: int, limit: int):
        super().__init__(f"frame of {length} bytes is over the {limit} byte limit")
        self.length, self.limit = length, limit


def _is_torch_tensor(value) -> bool:
    return type(value).__module__.split(".")[0] == "torch" and hasattr(value, "detach")


def encode(value, depth: int = 0):
    """The JSON-ready form of a plain-data ``value`` (see module docstring)."""
    if depth > MAX_DEPTH:
        raise NotPlainData(f"data nested deeper than {MAX_DEPTH} levels")
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, (list, tuple)) and type(value) in (list, tuple):
        items = [encode(v, depth + 1) for v in value]
        return items if type(value) is list else {"__tuple__": items}
    if type(value) is dict:
        return {"__dict__": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]}
    if _is_torch_tensor(value):
        value = value.detach().cpu().numpy()
    module = type(value).__module__.split(".")[0]
    if module == "numpy":
        import numpy as np

        if isinstance(value, np.ndarray):
            if value.dtype.kind not in _NUMERIC_KINDS:
                raise NotPlainData(f"a numpy array of dtype {value.dtype} (only numeric arrays are allowed)")
            arr = np.ascontiguousarray(value)
            return {"__ndarray__": {"dtype": arr.dtype.str, "shape": list(arr.shape),
                                    "data": base64.b64encode(arr.tobytes()).decode("ascii")}}
        if isinstance(value, np.generic) and value.dtype.kind in _NUMERIC_KINDS:
            return encode(value.item(), depth)
    # subclasses of plain types (an int subclass with a rigged __eq__) are not plain data
    raise NotPlainData(f"a {type(value).__module__}.{type(value).__qualname__} object")


def _check_key(key):
    if isinstance(key, list):
        raise WireError("a dict key must be hashable")
    return key


def decode(obj, depth: int = 0):
    """Inverse of :func:`encode` for JSON-parsed ``obj``; raises :class:`WireError` on
    anything that is not exactly the encoding of plain data."""
    if depth > MAX_DEPTH + 2:
        raise WireError("data nested too deeply")
    if obj is None or type(obj) in (bool, int, float, str):
        return obj
    if type(obj) is list:
        return [decode(v, depth + 1) for v in obj]
    if type(obj) is dict and len(obj) == 1:
        (tag, body), = obj.items()
        if tag == "__tuple__" and type(body) is list:
            return tuple(decode(v, depth + 1) for v in body)
        if tag == "__dict__" and type(body) is list:
            out = {}
            for pair in body:
                if type(pair) is not list or len(pair) != 2:
                    raise WireError("bad dict item")
                out[_check_key(decode(pair[0], depth + 1))] = decode(pair[1], depth + 1)
            return out
        if tag == "__ndarray__" and type(body) is dict:
            return _decode_array(body)
    raise WireError("not an encoding of plain data")


def _decode_array(body: dict):
    import numpy as np

    try:
        dtype = np.dtype(str(body["dtype"]))
        shape = tuple(int(n) for n in body["shape"])
        data = base64.b64decode(str(body["data"]), validate=True)
    except (KeyError, TypeError, ValueError) as err:
        raise WireError(f"bad array ({err.__class__.__name__})") from None
    if dtype.kind not in _NUMERIC_KINDS or dtype.hasobject or any(n < 0 for n in shape):
        raise WireError("bad array dtype or shape")
    count = 1
    for n in shape:
        count *= n
    if count * dtype.itemsize != len(data):
        raise WireError("array bytes do not match its shape")
    return np.frombuffer(data, dtype=dtype).reshape(shape).copy()


def dumps(message: dict) -> bytes:
    """One frame's payload: a JSON object (already :func:`encode`-d values inside)."""
    return json.dumps(message, allow_nan=True, separators=(",", ":")).encode("utf-8")


def send(fd: int, message: dict, deadline: float | None = None) -> None:
    """Write ``message`` as one frame to file descriptor ``fd``.

    With a ``deadline`` (a ``time.monotonic()`` value; ``fd`` should be non-blocking) a
    reader that stops reading cannot block the sender past it: :class:`WireError`.
    """
    payload = dumps(message)
    if len(payload) > MAX_FRAME:
        raise NotPlainData(f"the data is too large to send ({len(payload) // 2**20} MiB)")
    view = memoryview(_HEADER.pack(len(payload)) + payload)
    while view:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([], [fd], [], wait)[1]:
                raise WireError("timed out")
        try:
            n = os.write(fd, view[: 1 << 16])
        except BlockingIOError:
            continue
        view = view[n:]


def _chunks(fd: int, n: int, deadline: float | None):
    """Yield the next ``n`` bytes of ``fd`` in chunks of at most 1 MiB, by ``deadline``."""
    left = n
    while left:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise WireError("timed out")
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise WireError("the other side closed the pipe")
        left -= len(chunk)
        yield chunk


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    return b"".join(_chunks(fd, n, deadline))


def skip(fd: int, n: int, deadline: float | None = None) -> None:
    """Read and drop ``n`` bytes from ``fd`` (by ``deadline``), 1 MiB at a time: the payload
    of a refused frame leaves the pipe without ever being held or decoded whole."""
    for _ in _chunks(fd, n, deadline):
        pass


def recv(fd: int, deadline: float | None = None, max_frame: int = MAX_FRAME) -> dict:
    """Read one frame from ``fd`` (by ``deadline``, a ``time.monotonic()`` value) and
    return its JSON object; raises :class:`WireError` on anything else
    (:class:`FrameTooLarge`, with the payload still unread, past ``max_frame`` bytes)."""
    (length,) = _HEADER.unpack(_read_exact(fd, _HEADER.size, deadline))
    if length > max_frame:
        raise FrameTooLarge(length, max_frame)
    payload = _read_exact(fd, length, deadline)
    if payload.count(b",") + payload.count(b"[") + payload.count(b"{") > MAX_ITEMS:
        raise WireError(f"a frame with more than {MAX_ITEMS} items")
    try:
        message = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise WireError("a frame that is not JSON") from None
    if type(message) is not dict:
        raise WireError("a frame that is not a JSON object")
    return message
