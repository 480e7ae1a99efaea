"""The sandbox boundary's pieces: plain-data wire format, name analysis, signing, CSV escaping."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npulab.grading import signing, wire
from npulab.grading.engine import free_names, hidden_test_number, notebook_imports
from npulab.grading.feedback import csv_safe

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
plain = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
                     | st.dictionaries(st.text(max_size=5) | st.integers(), inner, max_size=4), max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(plain)
def test_plain_data_round_trips_exactly(value):
    back = wire.decode(json.loads(wire.dumps({"v": wire.encode(value)}))["v"])
    assert back == value and type(back) is type(value)


@pytest.mark.parametrize("dtype", ["bool", "int8", "uint16", "int64", "float32", "float64", "complex128"])
def test_numeric_arrays_round_trip_with_dtype_and_shape(dtype):
    arr = (np.arange(12).reshape(3, 4) % 3).astype(dtype)
    back = wire.decode(json.loads(json.dumps(wire.encode(arr))))
    assert back.dtype == arr.dtype and back.shape == arr.shape and np.array_equal(back, arr)
    assert wire.decode(wire.encode(np.float32(1.5))) == 1.5


@pytest.mark.parametrize("value", [object(), lambda: 1, np.array(["a"]), np.array([1, "x"], dtype=object),
                                   type("Int", (int,), {})(3), {1, 2}, b"bytes", range(3)])
def test_anything_else_is_not_plain_data(value):
    with pytest.raises(wire.NotPlainData):
        wire.encode(value)


@pytest.mark.parametrize("obj", [{"__pickle__": "x"}, {"a": 1}, {"__tuple__": 3},
                                 {"__ndarray__": {"dtype": "O", "shape": [1], "data": ""}},
                                 {"__ndarray__": {"dtype": "<f8", "shape": [2], "data": "AAAA"}},
                                 {"__dict__": [[1]]}, {"__dict__": [[[1], 2]]}])
def test_the_decoder_rejects_anything_but_the_encoding(obj):
    with pytest.raises(wire.WireError):
        wire.decode(obj)


def test_frames_reject_garbage_oversize_and_item_floods():
    for payload in (b"\x80\x04not json", b"[1, 2]", b"{" * 10):
        r, w = os.pipe()
        os.write(w, len(payload).to_bytes(8, "big") + payload)
        os.close(w)
        with pytest.raises(wire.WireError):
            wire.recv(r, deadline=None)
        os.close(r)
    r, w = os.pipe()
    os.write(w, (2**40).to_bytes(8, "big"))
    with pytest.raises(wire.WireError, match="limit"):
        wire.recv(r)
    os.close(w)
    os.close(r)


def test_a_frame_over_the_readers_limit_is_refused_unread_and_can_be_skipped():
    r, w = os.pipe()
    big, small = wire.dumps({"v": "x" * 5000}), wire.dumps({"v": 1})
    os.write(w, len(big).to_bytes(8, "big") + big + len(small).to_bytes(8, "big") + small)
    os.close(w)
    with pytest.raises(wire.FrameTooLarge, match="over the 1000 byte limit") as err:
        wire.recv(r, max_frame=1000)
    assert (err.value.length, err.value.limit) == (len(big), 1000)
    wire.skip(r, err.value.length)
    assert wire.recv(r) == {"v": 1}  # the next frame is read in step
    with pytest.raises(wire.WireError, match="closed"):
        wire.skip(r, 10)
    os.close(r)


def test_free_names_are_what_a_test_takes_from_the_notebook():
    src = "import numpy as np\nfrom math import isclose\ndef h(x):\n    return add(x, 1)\n" \
          "assert isclose(h(BASE), 3) and len([round]) == 1\nfor i in range(3):\n    assert mul(i, 1) == i"
    assert free_names(src) == ["BASE", "add", "mul"]
    assert free_names(src, allow={"round"}) == ["BASE", "add", "mul", "round"]


def test_hidden_tests_are_numbered_by_statement():
    src = "assert a\n### BEGIN HIDDEN TESTS\nassert b\nfor i in range(2):\n    assert c(i)\n### END HIDDEN TESTS"
    assert [hidden_test_number(src, line) for line in (3, 4, 5)] == [1, 2, 2]


def test_notebook_imports_come_from_the_instructor_notebook():
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import numpy as np\nimport os.path\n"
                                                                   "from npulab.pim import CrossbarConfig as C")])
    assert notebook_imports(nb, set()) == {"np": ("numpy", None), "os": ("os", None),
                                           "C": ("npulab.pim", "CrossbarConfig")}


def test_signed_results_verify_and_edits_do_not(tmp_path):
    key = signing.load_key(tmp_path / "k" / "grader.key")
    assert oct((tmp_path / "k" / "grader.key").stat().st_mode & 0o777) == "0o600"
    stored = signing.sign({"student": "ada", "total": 3}, key)
    assert signing.verify(json.loads(json.dumps(stored)), key) == {"student": "ada", "total": 3}
    stored["result"]["total"] = 5
    assert signing.verify(stored, key) is None
    assert signing.verify({"result": {"total": 5}}, key) is None
    with pytest.raises(ValueError, match="inside the output folder"):
        signing.load_key(tmp_path / "out" / "k.key", out=tmp_path / "out")


@pytest.mark.parametrize("text, safe", [("=SUM(A1)", "'=SUM(A1)"), ("+1", "'+1"), ("-2", "'-2"), ("@x", "'@x"),
                                        ("ada", "ada"), ("5", "5")])
def test_csv_cells_never_start_a_formula(text, safe):
    assert csv_safe(text) == safe
