"""Markers, release (deterministic, no hidden tests, nbgrader metadata kept), drift, hidden tests."""
import filecmp
from pathlib import Path

import nbformat
import pytest

from npulab.grading import grade_against_source, release, strip_hidden_tests, strip_solution
from npulab.grading.execute import is_test_cell, merge_tests

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))


def test_strip_solution_keeps_indent_and_surroundings():
    src = "def f(x):\n    '''doc'''\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n\ny = 1"
    assert strip_solution(src) == ("def f(x):\n    '''doc'''\n    # YOUR CODE HERE\n"
                                   "    raise NotImplementedError()\n\ny = 1")
    assert strip_solution("### BEGIN SOLUTION\nanswer\n### END SOLUTION", markdown=True) == "YOUR ANSWER HERE"


def test_strip_hidden_tests_removes_region_only():
    src = "assert a\n### BEGIN HIDDEN TESTS\nassert secret\n### END HIDDEN TESTS\nassert b"
    assert strip_hidden_tests(src) == "assert a\nassert b"


@pytest.mark.parametrize("src, message", [
    ("### BEGIN SOLUTION\nx = 1", "never closed"),
    ("x = 1\n### END SOLUTION", "without '### BEGIN SOLUTION'"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "inside another region"),
])
def test_unbalanced_markers_are_errors(src, message):
    with pytest.raises(ValueError, match=message):
        strip_solution(src, where="lab.ipynb cell 3")


def test_labs_are_a_fresh_release_of_solutions(tmp_path):
    """CI's drift check: labs/ must equal `npulab release solutions labs`."""
    release(ROOT / "solutions", tmp_path / "labs")
    # labs/ko/ is the Korean release (`--lang ko`), drift-checked in tests/test_i18n.py.
    cmp = filecmp.dircmp(tmp_path / "labs", ROOT / "labs", ignore=[".ipynb_checkpoints", "__pycache__", "ko"])
    assert not cmp.left_only, f"missing from labs/ (run make release): {cmp.left_only}"
    assert not cmp.right_only, f"in labs/ but not released from solutions/: {cmp.right_only}"
    _, mismatch, errors = filecmp.cmpfiles(tmp_path / "labs", ROOT / "labs", cmp.common_files, shallow=False)
    assert not mismatch and not errors, f"labs/ differs from a fresh release (run make release): {mismatch}"


def test_the_release_command_rebuilds_all_of_labs(tmp_path, capsys):
    """`npulab release solutions DST` (no --lang) writes every language: DST equals labs/ file for file."""
    from npulab.cli import main

    assert main(["release", str(ROOT / "solutions"), str(tmp_path / "labs")]) == 0
    capsys.readouterr()

    def files(root):
        return {p.relative_to(root): p.read_bytes() for p in root.rglob("*")
                if p.is_file() and not ({".ipynb_checkpoints", "__pycache__"} & set(p.parts))}

    fresh, repo = files(tmp_path / "labs"), files(ROOT / "labs")
    assert sorted(map(str, fresh.keys() ^ repo.keys())) == [], "labs/ and a fresh release differ in files"
    assert [str(k) for k in fresh if fresh[k] != repo[k]] == [], "labs/ differs from a fresh release"
    assert any(k.parts[0] == "ko" for k in fresh), "the Korean labs are part of the release"


def test_release_is_deterministic(tmp_path):
    release(ROOT / "solutions", tmp_path / "a")
    release(ROOT / "solutions", tmp_path / "b")
    for nb in SOLUTIONS:
        a = (tmp_path / "a" / nb.name).read_bytes()
        assert a == (tmp_path / "b" / nb.name).read_bytes()


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_released_lab_has_stubs_metadata_and_no_secrets(solution):
    lab = nbformat.read(ROOT / "labs" / solution.name, as_version=4)
    src = nbformat.read(solution, as_version=4)
    text = (ROOT / "labs" / solution.name).read_text()
    assert "BEGIN HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text
    assert all(not c.get("outputs") for c in lab.cells if c.cell_type == "code")
    src_ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in src.cells]
    lab_ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in lab.cells]
    assert src_ids == lab_ids, "release keeps every cell and its nbgrader grade_id"
    for c in lab.cells:
        meta = c.metadata.get("nbgrader")
        if meta:
            assert {"grade", "grade_id", "locked", "schema_version", "solution"} <= set(meta)
        if meta and meta.get("solution") and c.cell_type == "code":
            assert "raise NotImplementedError(" in c.source
    assert any(is_test_cell(c) for c in lab.cells), "a lab has graded tests"


def test_merge_tests_restores_edited_and_deleted_test_cells():
    src = nbformat.read(SOLUTIONS[0], as_version=4)
    student = nbformat.read(ROOT / "labs" / SOLUTIONS[0].name, as_version=4)
    tests = [c for c in student.cells if is_test_cell(c)]
    tests[0].source = "pass  # the student 'fixed' the test"
    student.cells.remove(tests[1])
    merged = merge_tests(src, student)
    merged_tests = [c.source for c in merged.cells if is_test_cell(c)]
    assert merged_tests == [c.source for c in src.cells if is_test_cell(c)]


@pytest.mark.slow
@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_hidden_tests_fail_on_stub_and_pass_on_solution(solution):
    """Every graded test fails on the released stub and passes on the solution."""
    on_solution = grade_against_source(solution, solution)
    on_stub = grade_against_source(solution, ROOT / "labs" / solution.name)
    assert on_solution and all(o.passed for o in on_solution), [o for o in on_solution if not o.passed]
    assert [o.grade_id for o in on_stub] == [o.grade_id for o in on_solution]
    assert not any(o.passed for o in on_stub), [o.grade_id for o in on_stub if o.passed]
