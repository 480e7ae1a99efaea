"""What a student's result must look like: the instructor's own result, shape for shape.

Tests written with ``np.allclose``, ``np.all(a == b)`` or ``np.all(a < b)`` broadcast: an
empty array, an extra axis or a scalar can pass them without computing anything.  So before
a test sees a student's result, the trusted side compares it with the **reference result**,
the instructor's solution called with the same arguments (:class:`Reference`), and a result
of another structure fails the test with :class:`ResultShapeError`:

* arrays (and rectangular lists of numbers): the same shape (so the same size) and the same
  dtype family (bool / number / complex; integers may stand for floats);
* scalars: a number for a number (bool, int and float are one family), complex, str, None;
* lists, tuples and dicts of other things: the same length (keys) and, item by item, the
  same structure.

A function defined in a cell whose metadata says ``"npulab": {"reference": false}`` has no
reference: an open-ended answer (Lab 08's ``my_design``, a design of any engine) may have any
structure, and its test checks it.

The reference namespace is the instructor's notebook with its solutions, run once in the
grader's process (:func:`build`) before the workers are forked, so each submission pays
only for the reference calls.  Its code is the instructor's; a cell that fails or runs past
its time limit is skipped (its names have no reference, and their results are not checked).
"""

from __future__ import annotations

import ast
import contextlib
import copy
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Longest list/tuple compared item by item (past this, the first items only).
MAX_ITEMS = 64
#: A student's result may take at most this many times the reference result's bytes on the
#: wire, plus :data:`RESULT_FRAME_SLACK`; a larger reply is refused before it is decoded
#: (:func:`result_frame_limit`).  The factor leaves room for a right answer written in
#: another form (floats where the reference gives small integers: ~10 x as JSON text).
RESULT_FRAME_FACTOR = 16
#: Bytes a result may take beyond ``RESULT_FRAME_FACTOR`` x the reference's (the reply's
#: envelope, short results of another form).  Units: bytes.
RESULT_FRAME_SLACK = 256 * 2**10

_CACHE: dict = {}


class ResultShapeError(AssertionError):
    """A student's result does not have the structure of the reference result."""


def _family(kind: str) -> str:
    return {"b": "bool", "i": "number", "u": "number", "f": "number", "c": "complex"}.get(
        kind, kind
    )


def _as_array_shape(value):
    """(shape, family) of an ndarray or a rectangular list/tuple of plain numbers, else None."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.shape, _family(value.dtype.kind)
    if (
        isinstance(value, (list, tuple))
        and value
        and all(
            isinstance(v, (int, float, bool, list, tuple)) and not isinstance(v, str) for v in value
        )
    ):
        try:
            arr = np.asarray(value)
        except (ValueError, TypeError):
            return None
        if arr.dtype.kind in "biuf":
            return arr.shape, _family(arr.dtype.kind)
    return None


def describe(value) -> str:
    """A short, input-free description of a value's structure (for messages).

    >>> import numpy as np
    >>> describe(np.zeros((2, 3))), describe(1.5), describe([1, 2]), describe({"a": 1})
    ('an array of shape (2, 3)', 'a number', 'a sequence of shape (2,)', 'a dict with 1 keys')
    """
    import numpy as np

    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if value is None:
        return "None"
    if isinstance(value, (bool, int, float)):
        return "a number"
    if isinstance(value, complex):
        return "a complex number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        shape = _as_array_shape(value)
        return (
            f"a sequence of shape {shape[0]}"
            if shape
            else f"a {type(value).__name__} of {len(value)} items"
        )
    if isinstance(value, dict):
        return f"a dict with {len(value)} keys"
    return f"a {type(value).__name__}"


def mismatch(got, expected, depth: int = 0) -> str | None:
    """None when ``got`` has the structure of ``expected`` (see the module docstring), else
    what differs, in words that quote no value.

    >>> import numpy as np
    >>> mismatch(np.zeros(3), [1.0, 2.0, 3.0]) is None, mismatch(np.zeros((0, 1)), np.zeros(3))
    (True, 'an array of shape (0, 1) where the reference gives an array of shape (3,)')
    """
    import numpy as np

    if depth > 16:
        return None
    if _as_array_shape(expected) is not None or isinstance(expected, np.ndarray):
        return _array_mismatch(got, expected)
    if isinstance(expected, (bool, int, float, complex, str)) or expected is None:
        return _scalar_mismatch(got, expected)
    if isinstance(expected, (list, tuple)):
        return _sequence_mismatch(got, expected, depth)
    if isinstance(expected, dict):
        if not isinstance(got, dict) or set(got) != set(expected):
            return _differs(got, expected)
        return _first([(got[k], expected[k]) for k in list(expected)[:MAX_ITEMS]], depth)
    return None  # a reference that is not plain data: nothing to compare


def _differs(got, expected) -> str:
    return f"{describe(got)} where the reference gives {describe(expected)}"


def _first(pairs, depth: int) -> str | None:
    """The first mismatch among ``(got, expected)`` pairs, or None."""
    for a, b in pairs:
        why = mismatch(a, b, depth + 1)
        if why:
            return why
    return None


def _array_mismatch(got, expected) -> str | None:
    """An array (or rectangular list of numbers) is expected: same shape, same family."""
    mine, theirs = _as_array_shape(got), _as_array_shape(expected)
    if mine is None or mine[0] != theirs[0]:
        return _differs(got, expected)
    if mine[1] != theirs[1] and not (mine[1] == "number" and theirs[1] in ("number", "complex")):
        return f"an array of {mine[1]} values where the reference gives {theirs[1]} values"
    return None


def _scalar_mismatch(got, expected) -> str | None:
    """A number (bool, int, float: one family; a 0-d numeric array counts), a complex
    number (a real one counts), a str or None is expected."""
    import numpy as np

    if isinstance(expected, (bool, int, float)):
        zero_d = isinstance(got, np.ndarray) and got.shape == () and got.dtype.kind in "biuf"
        ok = isinstance(got, (bool, int, float)) or zero_d
        return None if ok else f"{describe(got)} where the reference gives a number"
    ok = type(got) is type(expected) or (
        isinstance(expected, complex) and isinstance(got, (int, float))
    )
    return None if ok else _differs(got, expected)


def _sequence_mismatch(got, expected, depth: int) -> str | None:
    """A list or tuple of other things is expected: same length, item by item."""
    import numpy as np

    if isinstance(got, np.ndarray) and not expected:
        return (
            None
            if got.shape == (0,)
            else f"{describe(got)} where the reference gives an empty sequence"
        )
    if not isinstance(got, (list, tuple)) or len(got) != len(expected):
        return _differs(got, expected)
    return _first(list(zip(got, expected, strict=True))[:MAX_ITEMS], depth)


@dataclass(frozen=True)
class Expected:
    """The reference result of one call, as a student's result arrives (``value``: numpy
    scalars as Python numbers, tensors as arrays) and its size on the wire
    (``frame_bytes``, bytes of JSON)."""

    value: Any
    frame_bytes: int

    @property
    def max_frame(self) -> int:
        """Most bytes a student's result may take on the wire (:func:`result_frame_limit`)."""
        return result_frame_limit(self.frame_bytes)

    def too_large(self, name: str, length: int) -> ResultShapeError:
        """The one-line error for a result of ``length`` bytes over ``max_frame``."""
        return ResultShapeError(f"{name}() returned {length} bytes of data where the reference result "
                                f"takes {self.frame_bytes}; over {self.max_frame} bytes is refused unread")


def expect(reference, args, kwargs) -> Expected | None:
    """:class:`Expected` of ``reference(*args, **kwargs)`` (called with copies of the
    arguments), or None when the reference raises or its result is not plain data (then
    nothing is checked: the test decides).

    >>> expect(lambda n: [0.5] * n, (3,), {})
    Expected(value=[0.5, 0.5, 0.5], frame_bytes=13)
    """
    from npulab.grading import wire

    try:
        result = reference(*copy.deepcopy(args), **copy.deepcopy(kwargs))
        encoded = wire.encode(result)
        return Expected(wire.decode(encoded), len(wire.dumps(encoded)))
    except Exception:  # noqa: BLE001 - the test expects an exception, or not plain data
        return None


def result_frame_limit(frame_bytes: int) -> int:
    """Most bytes the trusted side reads for a result whose reference takes ``frame_bytes``:
    ``RESULT_FRAME_FACTOR * frame_bytes + RESULT_FRAME_SLACK``, at most the wire's
    ``MAX_FRAME``.

    >>> result_frame_limit(1000)
    278144
    """
    from npulab.grading import wire

    return min(wire.MAX_FRAME, RESULT_FRAME_FACTOR * frame_bytes + RESULT_FRAME_SLACK)


def judge(name: str, got, expected: Expected) -> None:
    """Raise :class:`ResultShapeError` when ``got`` (the student's result of ``name()``)
    does not have the structure of the ``expected`` reference result."""
    why = mismatch(got, expected.value)
    if why:
        raise ResultShapeError(f"{name}() returned {why}")


def check(name: str, got, reference, args, kwargs) -> None:
    """Raise :class:`ResultShapeError` when ``got`` (the student's ``name(*args, **kwargs)``)
    does not have the structure of ``reference(*args, **kwargs)``.  A reference that raises
    checks nothing (the test decides)."""
    expected = expect(reference, args, kwargs)
    if expected is not None:
        judge(name, got, expected)


def _runnable(source: str) -> str:
    """A cell's source without IPython magics and shell lines (``%...``, ``!...``)."""
    return "\n".join(
        "" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()
    )


def build(src_nb, cwd, *, cell_timeout: float = 60.0) -> dict:
    """Run the instructor's notebook ``src_nb`` (solutions in, test cells out) in a fresh
    namespace here, in the folder ``cwd``; return name -> function for every top-level
    function it defines.  Cells that fail or overrun are skipped."""
    from npulab.grading.engine import quiet, time_limit
    from npulab.grading.outcome import is_test_cell

    ns = {"__name__": "__main__"}
    names: set[str] = set()
    open_ended: set[str] = set()  # defined in cells marked "npulab": {"reference": false}
    saved = {k: os.environ.get(k) for k in ("NPULAB_SELF_CHECK", "MPLBACKEND")}
    os.environ.update({"NPULAB_SELF_CHECK": "1", "MPLBACKEND": "Agg"})
    try:
        with contextlib.chdir(cwd):
            for cell in src_nb.cells:
                if cell.cell_type != "code" or is_test_cell(cell):
                    continue
                source = _runnable(cell.source)
                try:
                    tree = ast.parse(source)
                    defined = {
                        n.name
                        for n in tree.body
                        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                    }
                    names.update(defined)
                    if cell.get("metadata", {}).get("npulab", {}).get("reference") is False:
                        open_ended.update(defined)
                    with time_limit(cell_timeout), quiet():
                        exec(compile(tree, "<npulab reference>", "exec"), ns)  # noqa: S102 - instructor code
                except BaseException as err:  # noqa: BLE001 - a failing cell only loses its references
                    if isinstance(err, KeyboardInterrupt):
                        raise
                    continue
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return {n: ns[n] for n in names - open_ended if callable(ns.get(n))}


class Reference:
    """The reference functions of one source notebook, built once per process (and
    inherited by forked workers): ``Reference.of(source).get(name)``."""

    def __init__(self, functions: dict):
        self.functions = functions

    def get(self, name: str):
        """The instructor's function ``name``, or None."""
        return self.functions.get(name)

    def expected(self, name: str, args, kwargs) -> Expected | None:
        """:func:`expect` of the instructor's ``name`` (None when it has none)."""
        function = self.functions.get(name)
        return None if function is None else expect(function, args, kwargs)

    def check(self, name: str, got, args, kwargs, expected: Expected | None = None) -> None:
        """:func:`check` ``got`` against the instructor's ``name`` (nothing when it has none);
        ``expected``: its :meth:`expected` result for these arguments, when already known."""
        if expected is None:
            expected = self.expected(name, args, kwargs)
        if expected is not None:
            judge(name, got, expected)

    @classmethod
    def of(cls, source, *, cell_timeout: float = 60.0) -> "Reference":
        """The reference of the source notebook at ``source`` (cached by path and content)."""
        import hashlib

        import nbformat

        path = Path(source).resolve()
        key = (str(path), hashlib.sha256(path.read_bytes()).hexdigest())
        if key not in _CACHE:
            nb = nbformat.read(path, as_version=4)
            _CACHE[key] = cls(build(nb, path.parent, cell_timeout=cell_timeout))
        return _CACHE[key]
