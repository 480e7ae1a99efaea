"""Results are checked against the reference result's structure before a test compares them
(issue 23 #1): a broadcasting comparison can never pass on a wrong shape."""

from __future__ import annotations

import time

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
    """`npulab mutants` (shape mutants): each exercise's functions return an empty array, an extra
    axis, ... of their true result; the grader's reference check catches every one, visible
    tests included.  Kinds that cannot change a scalar (transposed, scalar) are not counted."""
    from grading_fixtures import SOURCE

    from npulab.grading.mutants import mutation_report

    report = mutation_report(SOURCE, shapes=True, authored=False, generated=False)
    names = sorted((o.mutant.grade_id, o.mutant.name) for o in report.outcomes)
    assert names == [("add", "shape: empty (a zero-length leading axis)"), ("add", "shape: extra axis"),
                     ("mul", "shape: empty (a zero-length leading axis)"), ("mul", "shape: extra axis")]
    assert report.caught_visible == report.caught_all == report.total == 4


def test_expected_result_bounds_the_reply_frame():
    """Issue 23 #5: the trusted side reads at most RESULT_FRAME_FACTOR x the reference
    result's bytes on the wire + RESULT_FRAME_SLACK (never more than the wire's MAX_FRAME)."""
    from npulab.grading import wire
    from npulab.grading.reference import (
        RESULT_FRAME_FACTOR,
        RESULT_FRAME_SLACK,
        expect,
        result_frame_limit,
    )

    expected = expect(lambda n: np.zeros(n), (4,), {})
    assert expected is not None and expected.value.shape == (4,)
    assert expected.frame_bytes == len(wire.dumps(wire.encode(np.zeros(4))))
    assert result_frame_limit(expected.frame_bytes) == (
        RESULT_FRAME_FACTOR * expected.frame_bytes + RESULT_FRAME_SLACK
    )
    assert result_frame_limit(10 * wire.MAX_FRAME) == wire.MAX_FRAME
    assert expect(lambda n: 1 / 0, (4,), {}) is None  # a reference that raises: no limit


def test_an_oversized_result_frame_is_refused_without_decoding(tmp_path, monkeypatch):
    """A student's result far larger than the reference's is dropped unread (the pipe stays
    in step: the next call works) and fails the test with a one-line message."""
    from npulab.grading import wire
    from npulab.grading.engine import Proxy, start_driver
    from npulab.grading.isolation import NoSandbox
    from npulab.grading.reference import Reference

    decoded, skipped = [], []
    real_decode, real_skip = wire.decode, wire.skip

    def counting_decode(obj, depth=0):
        decoded.append(len(repr(obj)))  # the reference result's round trip is ~100 bytes
        return real_decode(obj, depth)

    def counting_skip(fd, n, deadline=None):
        skipped.append(n)
        return real_skip(fd, n, deadline)

    reference = Reference({"f": lambda n: np.zeros(4)})  # the instructor's result: 4 floats
    with start_driver(tmp_path, sandbox=NoSandbox()) as session:
        code = "import numpy as np\ndef f(n):\n    return np.zeros(n)"
        assert session.request({"op": "run", "code": code}, 30)["status"] == "ok"
        f = Proxy(session, "f", lambda: time.monotonic() + 60, reference)
        monkeypatch.setattr(wire, "decode", counting_decode)
        monkeypatch.setattr(wire, "skip", counting_skip)
        with pytest.raises(ResultShapeError, match=r"^f\(\) returned \d+ bytes of data") as err:
            f(2_000_000)  # 16 MB of float64, ~21 MB on the wire
        assert "\n" not in str(err.value) and "refused unread" in str(err.value)
        assert max(decoded) < 1000 and skipped and skipped[0] > 2**24  # the big reply: skipped only
        assert f(4).shape == (4,)  # the driver answers the next call
        assert not session.dead
