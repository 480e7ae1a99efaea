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
from npulab.grading import mutgen
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
    report = mutation_report(path, shapes=False, generated=False)
    assert report.to_dict()["exercises"] == [
        {"grade_id": "add", "mutants": 2, "caught_visible": 1, "caught_all": 2},
        {"grade_id": "ceil_div", "mutants": 3, "caught_visible": 2, "caught_all": 2},
    ]
    assert [m.name for m in report.escaped(visible=False)] == ["escapes every test"]
    assert "escapes every test" in format_report(report)
    # One mutant per run gives the same counts (the tests are independent).
    assert mutation_report(path, isolated=True, shapes=False, generated=False).to_dict() == report.to_dict()


def test_shape_mutants_are_on_by_default(tmp_path):
    """Every exercise gets the automatic shape mutants; the grader's reference check catches
    each one that changes a result (an int result: empty and extra axis; transposed and
    scalar leave a number a number and do not count)."""
    path = _tiny_lab(tmp_path / "tiny.ipynb")
    report = mutation_report(path, generated=False)
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
    assert set(out) == {"lab", "exercises", "categories", "escaped"}
    assert set(out["exercises"][0]) == {"grade_id", "mutants", "caught_visible", "caught_all"}
    # 2 written + 2 generated (a + b: each operand dropped) + 2 shape mutants (the defaults)
    assert out["exercises"][0]["mutants"] == 6
    assert out["categories"]["missing"] == {"generated": 2, "caught_visible": 2, "caught_all": 2,
                                            "equivalent": 0}
    assert {"grade_id": "add", "category": "authored", "id": "", "caught_all": True,
            "name": "forgets b (only hidden tests catch it)"} in out["escaped"]
    assert main(["mutants", str(path), "--json", "--no-shapes"]) == 0
    assert json.loads(capsys.readouterr().out)["exercises"][0]["mutants"] == 4
    assert main(["mutants", str(path), "--json", "--no-shapes", "--no-generated"]) == 0
    assert json.loads(capsys.readouterr().out)["exercises"][0]["mutants"] == 2
    assert main(["mutants", str(path), "--strict", "--no-shapes"]) == 1
    with pytest.raises(SystemExit) as exit_:
        main(["mutants", str(path), "--per-category", "-1"])
    assert exit_.value.code == 2 and "must be an int >= 0; got '-1'" in capsys.readouterr().err
    assert main(["mutants", str(tmp_path / "none.ipynb")]) == 2
    assert "not a notebook file" in capsys.readouterr().err


GENERATED_SOURCE = """def f(x, W, n):
    y = np.zeros(n, dtype=np.int32)
    ### BEGIN SOLUTION
    q = np.clip(np.round(x), -128, 127).astype(np.int8)
    for i in range(n):
        if i < n - 1:
            y[i] += q[i]
    return W.T.sum(axis=0)[:n] + y
    ### END SOLUTION
"""


def test_generated_categories_from_the_ast():
    """Each category's edits appear, only in the student's lines (not the given line 2)."""
    found = {c[0]: c for c in mutgen.candidates(GENERATED_SOURCE)}
    cats = {c[1] for c in found.values()}
    assert cats == set(mutgen.CATEGORIES)
    for ident in ("rounding:floor(x+0.5)@4:17", "rounding:half-away@4:17", "dtype:clip-dropped@4:9",
                  "dtype:int8->int16@4:48", "dtype:astype-dropped@4:9", "off-by-one:range(n-1)@5:14",
                  "off-by-one:<-><=@6:12", "off-by-one:slice-stop-1@8:29", "axis:axis=0->1@8:25",
                  "axis:axis-dropped@8:12", "axis:T-dropped@8:12", "missing:aug-dropped@7:13",
                  "missing:drop-right@8:12"):
        assert ident in found, ident
    assert not [i for i in found if i.endswith(("@1:1", "@2:5", "@2:9"))], "the given lines are not mutated"
    assert "np.floor((np.round(x)) + 0.5)" not in found["rounding:floor(x+0.5)@4:17"][3]
    assert "floor((x) + 0.5)" in found["rounding:floor(x+0.5)@4:17"][3]
    assert found["missing:aug-dropped@7:13"][3].splitlines()[6].strip() == "pass"
    for _, _, _, mutated in found.values():
        compile(mutated, "<mutant>", "exec")


def test_generated_draw_is_bounded_and_reproducible():
    kept, same = mutgen.generate(GENERATED_SOURCE, "f", per_category=1)
    assert same == [] and sorted(g.category for g in kept) == sorted(mutgen.CATEGORIES)
    assert mutgen.generate(GENERATED_SOURCE, "f", per_category=1)[0] == kept
    draws = {tuple(g.id for g in mutgen.generate(GENERATED_SOURCE, "f", per_category=1, seed=s)[0])
             for s in range(8)}
    assert len(draws) > 1, "the seed changes the draw"
    every = mutgen.generate(GENERATED_SOURCE, "f", per_category=0)[0]
    assert len(every) == len(mutgen.candidates(GENERATED_SOURCE))


def test_equivalent_mutants_are_declared_not_dropped():
    ident = "off-by-one:range(n-1)@5:14"
    kept, same = mutgen.generate(GENERATED_SOURCE, "f", per_category=0,
                                 equivalent={ident: "the last i is skipped anyway"})
    assert [g.id for g in same] == [ident] and ident not in {g.id for g in kept}
    with pytest.raises(ValueError, match="not generated from the cell: off-by-one:nope@1:1"):
        mutgen.generate(GENERATED_SOURCE, "f", equivalent={"off-by-one:nope@1:1": "stale"})
    with pytest.raises(ValueError, match=r"\[mutant id, reason\]"):
        mutgen.equivalent_declared({"equivalent": [[ident]]})


def test_generated_mutants_run_and_are_reported(tmp_path):
    """The tiny lab: ``a + b`` loses either operand, ``-(-a // b)`` becomes a floor division;
    a declared equivalent mutant is not run but counted apart; a mutated cell that fails to
    run counts as caught only because the tests then fail."""
    path = _tiny_lab(tmp_path / "tiny.ipynb")
    nb = nbformat.read(path, as_version=4)
    nb.cells[3].metadata["npulab"]["equivalent"] = [["rounding:ceildiv->floordiv@3:12", "declared for the test"]]
    nbformat.write(nb, path)
    report = mutation_report(path, shapes=False, authored=False)
    assert sorted((o.mutant.id, o.caught_visible, o.caught_all) for o in report.outcomes) == [
        ("missing:drop-left@3:12", True, True), ("missing:drop-right@3:12", True, True)]
    assert [m.id for m in report.equivalent] == ["rounding:ceildiv->floordiv@3:12"]
    assert report.categories() == {
        "rounding": {"generated": 0, "caught_visible": 0, "caught_all": 0, "equivalent": 1},
        "missing": {"generated": 2, "caught_visible": 2, "caught_all": 2, "equivalent": 0}}
    table = format_report(report)
    assert "category" in table and "equivalent" in table


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
    nb.cells[3].metadata["npulab"]["equivalent"] = [["rounding:ceildiv->floordiv@3:12", "a reason"]]
    student = release_notebook(nb)
    assert "mutants" not in nbformat.writes(student) and "equivalent" not in nbformat.writes(student)
    assert 'raise NotImplementedError("Exercise 2: implement ceil_div(...)")' in student.cells[3].source


@pytest.mark.slow
def check_lab_catches_its_mutants(solution):
    """Issues 15, 23 and 24: the written mutants, the automatic shape mutants (empty, extra
    axis, transposed, scalar) and the generated ones (rounding mode, off-by-one, wrong axis,
    dtype, missing term; equivalent ones declared in the cell) of every exercise: visible
    tests >= 90%, all 100%."""
    report = mutation_report(solution)
    rows = report.exercises()
    assert len(rows) >= 5, f"{solution.name}: a lab has >= 5 graded code exercises"
    thin = [r["grade_id"] for r in rows if r["mutants"] < 2]
    assert not thin, f"{solution.name}: exercises with < 2 mutants: {thin}"
    shaped = {o.mutant.grade_id for o in report.outcomes if o.mutant.name.startswith("shape:")}
    assert shaped, f"{solution.name}: no shape mutant changed any result"
    generated = [o for o in report.outcomes if o.mutant.id]
    assert generated, f"{solution.name}: no generated mutant"
    assert report.caught_all == report.total, format_report(report)
    assert report.caught_visible >= 0.9 * report.total, format_report(report)


# One test class a lab (not one parametrized function): `make test` runs pytest-xdist with
# --dist loadscope, which keeps a class on one worker and spreads the classes, so the labs'
# mutant runs (the suite's longest tests) share the cores.  `-k 04_tiling` still selects one.
def _lab_class(solution: Path) -> type:
    def test_lab_tests_catch_its_mutants(self):
        check_lab_catches_its_mutants(solution)

    name = f"TestLab_{solution.stem}"
    return type(name, (), {"test_lab_tests_catch_its_mutants": test_lab_tests_catch_its_mutants,
                           "__doc__": f"`npulab mutants` on {solution.name}.", "__module__": __name__})


for _solution in SOLUTIONS:
    globals()[f"TestLab_{_solution.stem}"] = _lab_class(_solution)
