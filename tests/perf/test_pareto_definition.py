"""The one Pareto definition (npulab.metrics.pareto): minimise all, ties kept, used everywhere."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from npulab.metrics import dominates, pareto_front
from npulab.perf.sweep import pareto_front as sweep_front

small = st.integers(0, 6).map(float) | st.just(math.inf)


def brute(points):
    """Independent reference: a point stays when no other point is <= everywhere and < somewhere."""
    return [
        i
        for i, p in enumerate(points)
        if not any(
            all(a <= b for a, b in zip(q, p, strict=True))
            and any(a < b for a, b in zip(q, p, strict=True))
            for q in points
        )
    ]


def test_recorded_fronts():
    assert pareto_front([[1, 5], [2, 3], [3, 4], [4, 1], [2, 3], [5, 5]]) == [0, 1, 3, 4]
    assert pareto_front([[1, 2], [1, 3], [0, 5]]) == [0, 2]
    assert pareto_front([[2, 1], [3, 1]]) == [0]
    assert pareto_front([[0.3, math.inf], [0.2, 0.5]]) == [1]
    assert pareto_front([[math.inf, math.inf], [math.inf, math.inf]]) == [0, 1]
    assert pareto_front([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [0.5, 2.0, 1.0], [2.0, 2.0, 2.0]]) == [
        0,
        1,
        2,
    ]
    assert pareto_front([]) == [] and pareto_front([[7, 7]]) == [0]


def test_duplicates_are_all_kept_and_the_front_does_not_depend_on_order():
    pts = [[2, 3], [1, 5], [2, 3], [4, 1], [3, 4]]
    assert pareto_front(pts) == [0, 1, 2, 3]
    rev = pts[::-1]
    assert sorted(len(pts) - 1 - i for i in pareto_front(rev)) == pareto_front(pts)


@given(st.lists(st.tuples(small, small), min_size=0, max_size=40))
def test_sweep_equals_the_pairwise_reference(pts):
    pts = [list(p) for p in pts]
    want = brute(pts)
    assert pareto_front(pts, method="sweep") == want
    assert pareto_front(pts, method="pairwise") == want


@given(st.lists(st.tuples(small, small, small), min_size=1, max_size=25))
def test_three_objectives_match_the_reference(pts):
    assert pareto_front([list(p) for p in pts]) == brute([list(p) for p in pts])


def test_nan_and_ragged_input_are_one_line_errors():
    with pytest.raises(ValueError, match="point 1 has NaN in objective 0"):
        pareto_front([[1, 2], [math.nan, 1]])
    with pytest.raises(ValueError, match="equal-length"):
        pareto_front([[1, 2], [1]])
    with pytest.raises(ValueError, match="'sweep' needs 2 objectives"):
        pareto_front([[1, 2, 3]], method="sweep")
    with pytest.raises(ValueError, match="same number of objectives"):
        dominates([1], [1, 2])


def test_the_sweep_uses_the_same_definition_ties_kept():
    rows = [
        {"latency_s": 1.0, "energy_j": 2.0},
        {"latency_s": 1.0, "energy_j": 2.0},
        {"latency_s": 0.5, "energy_j": 3.0},
        {"latency_s": 2.0, "energy_j": 2.5},
    ]
    assert sweep_front(rows) == [2, 0, 1]  # by latency, the tie kept


def test_the_mapper_front_is_the_shared_front_one_mapping_per_cost_point():
    from npulab.tiling.mapper import _pareto

    e = np.array([3.0, 1.0, 1.0, 2.0, 5.0, 1.0])
    c = np.array([1.0, 4.0, 4.0, 2.0, 1.0, 5.0])
    assert _pareto(e, c).tolist() == [1, 3, 0]
    assert sorted({(e[k], c[k]) for k in pareto_front(np.column_stack([e, c]))}) == sorted(
        (e[k], c[k]) for k in _pareto(e, c)
    )
