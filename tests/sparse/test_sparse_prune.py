"""prune: the N:M pattern and its tie rule, unstructured and channel pruning, errors."""
import doctest
import importlib
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from npulab.sparse import is_nm_sparse, prune

SMALL_INTS = arrays(np.int8, st.tuples(st.integers(1, 5), st.integers(1, 13)),
                    elements=st.integers(-3, 3))           # few values: many ties


def _nm_by_loops(w, n, m):
    """Readable oracle: per row, per group of m, keep the n largest |w|, lower index first."""
    out = np.zeros_like(w)
    for r in range(w.shape[0]):
        for g0 in range(0, w.shape[1], m):
            idx = list(range(g0, min(g0 + m, w.shape[1])))
            # sort by (-|w|, index): the lower index wins a tie
            kept = sorted(idx, key=lambda j: (-abs(int(w[r, j])), j))[:n]
            for j in kept:
                out[r, j] = w[r, j]
    return out


@settings(max_examples=200, deadline=None)
@given(SMALL_INTS, st.integers(1, 4), st.integers(0, 4))
def test_nm_matches_loop_oracle_with_ties(w, n, extra):
    m = n + extra
    assert np.array_equal(prune(w, f"{n}:{m}"), _nm_by_loops(w, n, m))


@settings(max_examples=100, deadline=None)
@given(arrays(np.float32, st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 9)),
              elements=st.floats(-4, 4, width=32)), st.sampled_from(["1:2", "2:4", "2:8", "3:4"]))
def test_nm_pattern_holds_and_keeps_largest(w, pattern):
    n, m = map(int, pattern.split(":"))
    p = prune(w, pattern, axis=2)
    assert p.dtype == w.dtype and p.shape == w.shape
    assert is_nm_sparse(p, n, m, axis=2)
    # every kept value is w's own; every pruned |w| <= every kept |w| in its group
    assert np.all((p == 0) | (p == w))
    L = w.shape[2]
    for g0 in range(0, L, m):
        gw, gp = np.abs(w[..., g0:g0 + m]), p[..., g0:g0 + m]
        kept = np.where(gp != 0, gw, np.inf).min(axis=-1)
        dropped = np.where((gp == 0) & (w[..., g0:g0 + m] != 0), gw, -np.inf).max(axis=-1)
        assert np.all(dropped <= kept)


def test_two_four_tie_rule_lower_index():
    w = np.array([[1, 1, 1, 1, -2, 2, 0, 2]])
    assert prune(w, "2:4").tolist() == [[1, 1, 0, 0, -2, 2, 0, 0]]


def test_default_axis_is_input_axis_of_torch_layout():
    w = np.arange(1, 33, dtype=np.float64).reshape(2, 4, 2, 2)   # [out, in, kh, kw]
    p = prune(w, "2:4")
    assert np.count_nonzero(p) == 16
    assert np.array_equal(p[:, 2:], w[:, 2:]) and not p[:, :2].any()
    assert np.array_equal(prune(w[0, :, 0, 0], "1:4"), [0, 0, 0, w[0, 3, 0, 0]])


@settings(max_examples=100, deadline=None)
@given(arrays(np.int16, st.integers(1, 60), elements=st.integers(-5, 5)), st.floats(0, 1))
def test_unstructured_keeps_rounded_count_of_largest(w, d):
    p = prune(w, "unstructured", density=d)
    k = math.floor(d * w.size + 0.5)
    order = sorted(range(w.size), key=lambda j: (-abs(int(w[j])), j))
    expect = np.zeros_like(w)
    expect[order[:k]] = w[order[:k]]
    assert np.array_equal(p, expect)


def test_channel_prunes_whole_output_channels_by_l2():
    w = np.array([[3.0, 0.0], [1.0, 1.0], [0.0, -3.0], [2.0, 2.0]])   # norms 3, 1.41, 3, 2.83
    p = prune(w, "channel", density=0.5)
    assert p.tolist() == [[3.0, 0.0], [0.0, 0.0], [0.0, -3.0], [0.0, 0.0]]


@pytest.mark.parametrize("args, kwargs, word", [
    (("2-4",), {}, "'2-4'"), (("5:4",), {}, "'5:4'"), (("0:4",), {}, "'0:4'"),
    (("unstructured",), {}, "density"), (("unstructured",), {"density": 1.5}, "1.5"),
    (("channel",), {"density": -0.1}, "-0.1"), (("2:4",), {"density": 0.5}, "density=0.5"),
    (("2:4",), {"axis": 3}, "axis"),
])
def test_bad_arguments_are_one_line_value_errors(args, kwargs, word):
    with pytest.raises(ValueError) as e:
        prune(np.ones((2, 4)), *args, **kwargs)
    assert word in str(e.value) and "\n" not in str(e.value)


def test_bad_weights_rejected():
    for w in (np.array(3.0), np.zeros((0, 4)), np.array([np.nan, 1.0]), np.array(["a"])):
        with pytest.raises(ValueError):
            prune(w, "2:4")


@pytest.mark.parametrize("name", ["npulab.sparse", "npulab.sparse.prune", "npulab.sparse.formats",
                                  "npulab.sparse.density"])
def test_doctests(name):
    r = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert r.attempted > 0 and r.failed == 0
