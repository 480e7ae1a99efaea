"""Results are checked against the reference result's structure before a test compares them
(issue 23 #1): a broadcasting comparison can never pass on a wrong shape."""

from __future__ import annotations

import numpy as np
import pytest

from npulab.grading.reference import ResultShapeError, build, check, mismatch

GOOD = [
    (np.zeros(3), np.ones(3)),
    ([1.0, 2.0, 3.0], np.ones(3)),  # a list for an array of the same shape
    (np.arange(3), np.ones(3)),  # integers where the reference gives floats
    (3, 3.0),
    (True, 1),
    (np.float64(2.0).item(), 1),
    (np.array(2.0), 1.5),
    ((1, np.zeros(2)), (0, np.ones(2))),
    ({"a": np.zeros((2, 2)), "b": "x"}, {"a": np.ones((2, 2)), "b": "y"}),
    (None, None),
    ("s", "t"),
    (np.zeros(0), []),
]
BAD = [
    (np.zeros(0), np.ones(3)),  # empty
    (np.zeros((3, 1)), np.ones(3)),  # extra axis
    (np.zeros((3, 2)), np.ones((2, 3))),  # transposed
    (0.0, np.ones(3)),  # scalar for an array
    (np.zeros(1), 3.0),  # an array for a scalar
    (np.zeros(3, dtype=bool), np.ones(3)),  # bool for numbers
    ([1, 2], [1, 2, 3]),
    ({"a": 1}, {"a": 1, "b": 2}),
    ("s", 1),
    (None, 0.0),
    ((1, np.zeros(3)), (0, np.ones(2))),
]


@pytest.mark.parametrize("got, expected", GOOD)
def test_same_structure_passes(got, expected):
    assert mismatch(got, expected) is None


@pytest.mark.parametrize("got, expected", BAD)
def test_other_structure_fails_without_quoting_values(got, expected):
    why = mismatch(got, expected)
    assert why and "7.25" not in why


def test_check_calls_the_reference_with_copies_and_names_the_function():
    seen = []

    def ref(x):
        seen.append(x)
        x.append(7.25)
        return np.zeros(len(x))

    args = ([1.0, 2.0],)
    with pytest.raises(ResultShapeError, match=r"^f\(\) returned an array of shape \(0,\)"):
        check("f", np.zeros(0), ref, args, {})
    assert args == ([1.0, 2.0],)  # the reference mutated its own copy
    check("f", np.zeros(3), ref, args, {})  # same shape: no error
    check("f", "anything", lambda x: 1 / 0, args, {})  # a reference that raises checks nothing


def test_build_runs_the_instructors_cells_and_skips_broken_ones(tmp_path):
    import nbformat

    from npulab.grading import authoring as A

    nb = A.notebook(
        [
            A.code("import numpy as np\nSCALE = 2", grade_id="setup"),
            A.solution(
                "f",
                "def f(n):\n    ### BEGIN SOLUTION\n    return np.ones(n) * SCALE\n    ### END SOLUTION",
            ),
            A.code(
                "%matplotlib inline\nraise RuntimeError('a demo that fails')\ndef g():\n    return 1",
                grade_id="x",
            ),
            A.tests("test_f", 1, "assert f(2).shape == (2,)"),
        ]
    )
    nbformat.write(nb, tmp_path / "lab.ipynb")
    functions = build(nb, tmp_path)
    assert set(functions) == {"f"} and functions["f"](3).tolist() == [2.0, 2.0, 2.0]


def test_shape_mutants_of_the_tiny_lab_are_all_caught():
    """`npulab mutants --shapes`: each exercise's functions return an empty array, an extra
    axis, ... of their true result; the grader's reference check catches every one, visible
    tests included.  Kinds that cannot change a scalar (transposed, scalar) are not counted."""
    from grading_fixtures import SOURCE

    from npulab.grading.mutants import mutation_report

    report = mutation_report(SOURCE, shapes=True, authored=False)
    names = sorted((o.mutant.grade_id, o.mutant.name) for o in report.outcomes)
    assert names == [("add", "shape: empty (a zero-length leading axis)"), ("add", "shape: extra axis"),
                     ("mul", "shape: empty (a zero-length leading axis)"), ("mul", "shape: extra axis")]
    assert report.caught_visible == report.caught_all == report.total == 4
