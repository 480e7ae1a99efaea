"""`npulab mutants`: every lab's tests catch its plausible wrong answers (issue 15).

Goal per lab: the visible tests catch >= 90% of the mutants, visible + hidden 100%.
The unit tests build a tiny lab in a temporary folder.
"""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from npulab.cli import main
from npulab.grading import authoring as A
from npulab.grading.mutants import apply_mutant, find_mutants, format_report, mutation_report
from npulab.grading.release import release_notebook

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))


def _tiny_lab(path: Path) -> Path:
    add = A.solution("add", "def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION")
    add.metadata["npulab"] = {"mutants": [
        {"name": "subtracts", "replace": [["a + b", "a - b"]]},
        {"name": "forgets b (only hidden tests catch it)",
         "source": "def add(a, b):\n    return a if b == 1 else a + b"},
    ]}
    ceil = A.solution("ceil_div", "def ceil_div(a, b):\n    ### BEGIN SOLUTION\n"
                                  "    return -(-a // b)\n    ### END SOLUTION")
    ceil.metadata["npulab"] = {"mutants": [
        {"name": "floor", "replace": [["-(-a // b)", "a // b"]]},
        {"name": "escapes every test", "replace": [["-(-a // b)", "-(-a // b) if a != 99 else 0"]]},
        {"name": "loops forever? no: wrong type", "replace": [["return -(-a // b)", "return str(-(-a // b))"]]},
    ]}
    nb = A.notebook([
        A.code("import math"),
        add,
        A.tests("test_add", 1, "assert add(2, 3) == 5\n### BEGIN HIDDEN TESTS\n"
                               "assert add(4, 1) == 5\n### END HIDDEN TESTS"),
        ceil,
        A.tests("test_ceil_div", 1, "assert ceil_div(7, 2) == 4"),
        A.code("print(add(1, 1))"),
    ])
    nbformat.write(nb, path)
    return path


def test_apply_mutant_replace_and_source():
    assert apply_mutant("x = a + b", {"name": "m", "replace": [["+", "-"]]}) == "x = a - b"
    assert apply_mutant("x = 1", {"name": "m", "source": "x = 2"}) == "x = 2"
    with pytest.raises(ValueError, match="not found"):
        apply_mutant("x = 1", {"name": "m", "replace": [["y", "z"]]})
    with pytest.raises(ValueError, match="does not change"):
        apply_mutant("x = 1", {"name": "m", "source": "x = 1"})


def test_tiny_lab_report(tmp_path):
    path = _tiny_lab(tmp_path / "tiny.ipynb")
    assert len(find_mutants(nbformat.read(path, as_version=4))) == 5
    report = mutation_report(path, shapes=False)
    assert report.to_dict() == {"lab": "tiny", "exercises": [
        {"grade_id": "add", "mutants": 2, "caught_visible": 1, "caught_all": 2},
        {"grade_id": "ceil_div", "mutants": 3, "caught_visible": 2, "caught_all": 2},
    ]}
    assert [m.name for m in report.escaped(visible=False)] == ["escapes every test"]
    assert "escapes every test" in format_report(report)
    # One mutant per run gives the same counts (the tests are independent).
    assert mutation_report(path, isolated=True, shapes=False).to_dict() == report.to_dict()


def test_shape_mutants_are_on_by_default(tmp_path):
    """Every exercise gets the automatic shape mutants; the grader's reference check catches
    each one that changes a result (an int result: empty and extra axis; transposed and
    scalar leave a number a number and do not count)."""
    path = _tiny_lab(tmp_path / "tiny.ipynb")
    report = mutation_report(path)
    shape = sorted((o.mutant.grade_id, o.mutant.name) for o in report.outcomes
                   if o.mutant.name.startswith("shape:"))
    assert shape == [(g, k) for g in ("add", "ceil_div")
                     for k in ("shape: empty (a zero-length leading axis)", "shape: extra axis")]
    assert all(o.caught_visible and o.caught_all for o in report.outcomes if o.mutant.name.startswith("shape:"))
    assert report.to_dict()["exercises"] == [
        {"grade_id": "add", "mutants": 4, "caught_visible": 3, "caught_all": 4},
        {"grade_id": "ceil_div", "mutants": 5, "caught_visible": 4, "caught_all": 4},
    ]


def test_cli_json_shape_and_bad_input(tmp_path, capsys):
    path = _tiny_lab(tmp_path / "tiny.ipynb")
    assert main(["mutants", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"lab", "exercises"}
    assert set(out["exercises"][0]) == {"grade_id", "mutants", "caught_visible", "caught_all"}
    assert out["exercises"][0]["mutants"] == 4  # 2 written + 2 shape mutants (the default)
    assert main(["mutants", str(path), "--json", "--no-shapes"]) == 0
    assert json.loads(capsys.readouterr().out)["exercises"][0]["mutants"] == 2
    assert main(["mutants", str(path), "--strict", "--no-shapes"]) == 1
    assert main(["mutants", str(tmp_path / "none.ipynb")]) == 2
    assert "not a notebook file" in capsys.readouterr().err


def test_broken_solution_is_reported(tmp_path):
    path = _tiny_lab(tmp_path / "tiny.ipynb")
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].source = nb.cells[1].source.replace("a + b", "a * b")
    nb.cells[1].metadata["npulab"]["mutants"] = [{"name": "m", "replace": [["a * b", "a / b"]]}]
    nbformat.write(nb, path)
    with pytest.raises(ValueError, match="fails its own tests: test_add"):
        mutation_report(path)


def test_release_drops_mutants(tmp_path):
    nb = nbformat.read(_tiny_lab(tmp_path / "tiny.ipynb"), as_version=4)
    student = release_notebook(nb)
    assert "mutants" not in nbformat.writes(student)
    assert 'raise NotImplementedError("Exercise 2: implement ceil_div(...)")' in student.cells[3].source


@pytest.mark.slow
@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_lab_tests_catch_its_mutants(solution):
    """Issue 15 and issue 23: the written mutants and the automatic shape mutants (empty,
    extra axis, transposed, scalar) of every exercise: visible tests >= 90%, all 100%."""
    report = mutation_report(solution)
    rows = report.exercises()
    assert len(rows) >= 5, f"{solution.name}: a lab has >= 5 graded code exercises"
    thin = [r["grade_id"] for r in rows if r["mutants"] < 2]
    assert not thin, f"{solution.name}: exercises with < 2 mutants: {thin}"
    shaped = {o.mutant.grade_id for o in report.outcomes if o.mutant.name.startswith("shape:")}
    assert shaped, f"{solution.name}: no shape mutant changed any result"
    assert report.caught_all == report.total, format_report(report)
    assert report.caught_visible >= 0.9 * report.total, format_report(report)
