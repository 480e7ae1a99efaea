"""compress: exact round trips and byte counts against an independent, loop-by-loop count."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from npulab.sparse import FORMATS, compress, format_bits

SPARSE_2D = arrays(np.int8, st.tuples(st.integers(1, 9), st.integers(1, 40)),
                   elements=st.sampled_from([0, 0, 0, 0, 0, 1, -7, 127, -128]))
SPARSE_ND = arrays(st.sampled_from([np.int8, np.int32, np.float16, np.float64, np.bool_]),
                   st.lists(st.integers(1, 6), min_size=1, max_size=4).map(tuple),
                   elements=st.sampled_from([0, 0, 0, 1]))


def _count_bits(x, fmt, v, i, p, r):
    """Independent count: walk the elements one by one in plain Python."""
    flat = [bool(e != 0) for e in x.ravel()]
    nnz = sum(flat)
    if fmt in ("csr", "csc"):
        outer = x.shape[0] if fmt == "csr" else x.shape[1]
        return nnz * v, (outer + 1) * p + nnz * i
    if fmt == "coo":
        return nnz * v, nnz * x.ndim * i
    if fmt == "bitmap":
        return nnz * v, len(flat)
    entries, pending, run = 0, 0, 0
    for nz in flat:                       # RLE with fillers, as EIE stores it
        if nz:
            entries += pending + 1        # fillers only before a later non-zero
            pending = run = 0
        elif run == 2 ** r - 1:
            pending += 1                  # a filler zero ends the run
            run = 0
        else:
            run += 1
    return entries * v, entries * r


@settings(max_examples=150, deadline=None)
@given(SPARSE_2D, st.sampled_from(sorted(FORMATS)), st.integers(6, 20), st.integers(7, 20),
       st.integers(1, 6))
def test_round_trip_and_bytes_2d(x, fmt, ib, pb, rb):
    c = compress(x, fmt, index_bits=ib, pointer_bits=pb, run_bits=rb)
    back = c.to_dense()
    assert back.dtype == x.dtype and np.array_equal(back, x)
    pay, meta = _count_bits(x, fmt, 8, ib, pb, rb)
    assert (c.payload_bytes, c.metadata_bytes) == (math.ceil(pay / 8), math.ceil(meta / 8))
    assert c.nbytes == math.ceil(pay / 8) + math.ceil(meta / 8)
    assert c.nnz == int(np.count_nonzero(x))


@settings(max_examples=150, deadline=None)
@given(SPARSE_ND, st.sampled_from(["coo", "bitmap", "rle"]), st.integers(1, 5))
def test_round_trip_nd(x, fmt, rb):
    c = compress(x, fmt, run_bits=rb)
    assert np.array_equal(c.to_dense(), x) and c.to_dense().dtype == x.dtype
    pay, meta = _count_bits(x, fmt, 8 * x.dtype.itemsize, 32, 32, rb)
    assert c.nbytes == math.ceil(pay / 8) + math.ceil(meta / 8)


def test_worked_examples():
    x = np.array([[0, 5, 0, 0], [0, 0, 0, 7]], np.int8)
    csr = compress(x, "csr", index_bits=2, pointer_bits=2)
    assert csr.metadata["ptr"].tolist() == [0, 1, 2] and csr.metadata["idx"].tolist() == [1, 3]
    csc = compress(x, "csc")
    assert csc.metadata["ptr"].tolist() == [0, 0, 1, 1, 2]
    assert csc.metadata["idx"].tolist() == [0, 1]
    assert csc.nbytes == 2 + (5 * 32 + 2 * 32) // 8
    rle = compress(np.array([0] * 20 + [3], np.int8), "rle", run_bits=4)
    assert rle.metadata["runs"].tolist() == [15, 4] and rle.values.tolist() == [0, 3]
    assert rle.nnz == 1 and rle.nbytes == 2 + 1
    bm = compress(np.array([1, 0, 0, 2, 0, 0, 0, 0, 0, 3], np.int16), "bitmap")
    assert bm.nbytes == 6 + 2 and bm.ranks == "B(flat)"
    assert "nbytes=" in repr(bm)


def test_value_bits_override_and_all_zero():
    x = np.zeros((3, 5), np.float32)
    for fmt in FORMATS:
        c = compress(x, fmt)
        assert np.array_equal(c.to_dense(), x) and c.payload_bytes == 0
    assert compress(np.eye(4, dtype=np.int8), "coo", value_bits=4, index_bits=2).nbytes == 2 + 2
    assert format_bits("csc", (4, 8), 3, value_bits=8, pointer_bits=2, index_bits=2) == (24, 24)


@pytest.mark.parametrize("call, word", [
    (lambda: compress(np.ones(4), "ell"), "'ell'"),
    (lambda: compress(np.ones(4), "csr"), "2-D"),
    (lambda: compress(np.ones((2, 300)), "csr", index_bits=8), "index_bits=8"),
    (lambda: compress(np.ones((2, 3)), "csr", pointer_bits=2), "pointer_bits=2"),
    (lambda: compress(np.ones((2, 3)), "rle", run_bits=0), "run_bits"),
    (lambda: compress(np.ones((2, 3)), "bitmap", value_bits=True), "value_bits"),
    (lambda: compress(np.array([], np.int8), "coo"), "non-empty"),
    (lambda: compress(np.array(["x"]), "coo"), "dtype"),
])
def test_bad_arguments_are_one_line_value_errors(call, word):
    with pytest.raises(ValueError) as e:
        call()
    assert word in str(e.value) and "\n" not in str(e.value)
