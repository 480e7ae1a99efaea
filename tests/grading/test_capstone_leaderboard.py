"""Issue 24 item 3: the grader records each design's trusted evaluation in OUT/capstone.json and
``npulab leaderboard OUT`` ranks a class of fixture submissions from it, Pareto front marked."""

from __future__ import annotations

import csv
import io
import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from npulab.cli import main
from npulab.grading.classroom import grade_class
from npulab.grading.leaderboard import COLUMNS, leaderboard, leaderboard_csv, rank_rows
from npulab.grading.records import RECORD_ENV, read_records, record


def _sys(rows, cols, kb, precision="int8", bw=12.8e9):
    return (
        f'{{"engine": "systolic", "array": {{"rows": {rows}, "cols": {cols}, "dataflow": "os", '
        f'"clock_hz": 1e9, "precision": "{precision}"}}, "memory": {{"ifmap_sram_kb": {kb}, '
        f'"filter_sram_kb": {kb}, "ofmap_sram_kb": {kb}, "dram_bytes_per_s": {bw}}}}}'
    )


def _design(perception, planner):
    return f"def my_design():\n    return {{'perception': {perception}, 'planner': {planner}}}\n"


GOOD = _design(_sys(16, 16, 32, "int4"), _sys(16, 32, 64))  # 0.3022 W, 1.901 mm2, 0.479 s
LOW = _design(_sys(8, 16, 32, "int4"), _sys(16, 32, 64))  # 0.3013 W, 1.823 mm2, 0.479 s
FAST = _design(_sys(16, 32, 48, bw=25.6e9), "'shared'")  # 0.3289 W, 1.183 mm2, 0.252 s
#: student -> (my_design cell, ranked?, on the Pareto front?)
CLASS = {
    "ada": (LOW, 1, True),
    "abe": (LOW, 1, True),  # a tie: both rank 1, both Pareto
    "bob": (GOOD, 3, False),  # dominated by ada
    "dan": (FAST, 4, True),
    "dee": (
        GOOD.replace("'planner': {", "'planner': {'energy': {'dram_pJ_per_byte': 0.01}, "),
        None,
        False,
    ),
    "eve": (_design(_sys(8, 8, 16, "int4"), _sys(16, 32, 48)), None, False),  # misses power
    "fay": (
        "class D(dict):\n    pass\n" + GOOD.replace("    return {", "    return D({") + ")\n",
        None,
        False,
    ),  # not plain data
}

TEST = """from npulab.grading.records import record
from npulab.perf.capstone import assess_design
a = assess_design(my_design())
record("capstone", a.to_dict())
assert not a.error, a.error
assert a.passes, f"your design misses these budgets: {list(a.failed)}"
### BEGIN HIDDEN TESTS
again = assess_design(my_design())
assert again.design == a.design, "my_design() must return the same design every call"
### END HIDDEN TESTS
"""


def _lab():
    nb = new_notebook()
    nb.cells = [
        new_markdown_cell("# capstone (fixture)"),
        new_code_cell("### BEGIN SOLUTION\n" + GOOD + "### END SOLUTION"),
        new_code_cell(TEST),
    ]
    nb.cells[1].metadata["nbgrader"] = {
        "grade": False,
        "grade_id": "my_design",
        "locked": False,
        "schema_version": 3,
        "solution": True,
        "task": False,
    }
    nb.cells[1].metadata["npulab"] = {"reference": False}  # a design of any structure
    nb.cells[2].metadata["nbgrader"] = {
        "grade": True,
        "grade_id": "test_my_design",
        "locked": True,
        "points": 6,
        "schema_version": 3,
        "solution": False,
        "task": False,
    }
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("capstone_class")
    source = root / "lab" / "capstone.ipynb"
    source.parent.mkdir()
    nbformat.write(_lab(), source)
    subs = root / "submissions"
    for student, (code, _, _) in CLASS.items():
        nb = _lab()
        nb.cells[1].source = code
        (subs / student).mkdir(parents=True)
        nbformat.write(nb, subs / student / "capstone.ipynb")
    out = root / "out"
    grade_class(
        source,
        subs,
        out,
        cell_timeout=60,
        workers=1,
        progress=False,
        sandbox=False,
        key_file=root / "key",
    )
    return out


def test_the_grader_writes_the_trusted_evaluation_of_each_design(graded):
    data = json.loads((graded / "capstone.json").read_text())
    assert data["lab"] == "capstone"
    students = data["students"]
    assert set(students) == {"ada", "abe", "bob", "dan", "dee", "eve"}  # fay's design never crossed
    assert students["ada"]["passes"] and students["ada"]["metrics"]["power_w"] == pytest.approx(
        0.3013, abs=1e-4
    )
    assert "may not set 'energy'" in students["dee"]["error"] and students["dee"]["metrics"] is None
    assert students["eve"]["failed"] == ["power_w"]
    book = {
        r["student"]: r for r in csv.DictReader(io.StringIO((graded / "gradebook.csv").read_text()))
    }
    assert {s: book[s]["test_my_design"] for s in CLASS} == {
        "ada": "6",
        "abe": "6",
        "bob": "6",
        "dan": "6",
        "dee": "0",
        "eve": "0",
        "fay": "0",
    }


def test_leaderboard_ranks_passing_designs_by_power_and_marks_the_pareto_front(graded):
    board = leaderboard(graded)
    assert [e["student"] for e in board] == ["abe", "ada", "bob", "dan", "dee", "eve", "fay"]
    for e in board:
        _, rank, pareto = CLASS[e["student"]]
        assert (e["rank"], e["pareto"]) == (rank, pareto), e
    notes = {e["student"]: e["note"] for e in board}
    assert "may not set 'energy'" in notes["dee"] and notes["eve"] == "misses power_w"
    assert notes["fay"] == "no evaluated design"
    text = leaderboard_csv(board)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == (*COLUMNS[:-1], "test_my_design", "note")
    assert rows[0]["pareto"] == "yes" and rows[2]["pareto"] == ""
    again = rank_rows(rows, 6)  # the CSV's rows rank again to the same board (Lab 08, Exercise 5)
    assert [(e["rank"], e["student"]) for e in again] == [
        (e["rank"], e["student"]) for e in board[:4]
    ]


def test_leaderboard_command(graded, tmp_path, capsys):
    target = tmp_path / "board.csv"
    assert main(["leaderboard", str(graded), "--csv", str(target)]) == 0
    out = capsys.readouterr().out
    assert "4 of 7 designs ranked" in out and "abe" in out
    assert target.read_text().splitlines()[0] == ",".join((*COLUMNS[:-1], "test_my_design", "note"))
    assert main(["leaderboard", str(graded), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["student"] == "abe"


def test_leaderboard_command_on_a_folder_without_a_grade_run_is_one_line(tmp_path, capsys):
    assert main(["leaderboard", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("npulab leaderboard: error: ") and "capstone.json not found" in err
    assert "\n" not in err


def test_rank_rows_is_the_lab_s_rule():
    rows = [
        {"student": "s07", "test_my_design": "6", "status": "ok", "power_w": "0.31"},
        {"student": "s02", "test_my_design": "6.0", "status": "ok", "power_w": "0.295"},
        {"student": "s05", "test_my_design": "0", "status": "ok", "power_w": "0.12"},
        {"student": "s01", "test_my_design": "6", "status": "timeout", "power_w": "0.2"},
        {"student": "s03", "test_my_design": "6", "status": "ok", "power_w": "0.31"},
        {"student": "s04", "test_my_design": "6", "status": "ok", "power_w": "0.9"},
        {"student": "s06", "test_my_design": "6", "status": "ok", "power_w": "inf"},
        {"student": "s08", "test_my_design": "6", "status": "ok", "power_w": ""},
    ]
    assert rank_rows(rows, 6) == [
        {"rank": 1, "student": "s02", "power_w": 0.295},
        {"rank": 2, "student": "s03", "power_w": 0.31},
        {"rank": 2, "student": "s07", "power_w": 0.31},
        {"rank": 4, "student": "s04", "power_w": 0.9},
    ]


def test_records_go_only_where_the_grader_points(tmp_path, monkeypatch):
    monkeypatch.delenv(RECORD_ENV, raising=False)
    assert record("capstone", {"x": 1}) is False
    path = tmp_path / "r.jsonl"
    monkeypatch.setenv(RECORD_ENV, str(path))
    assert record("capstone", {"x": 1}) and record("capstone", {"x": 2}) and record("other", [1])
    assert read_records(path) == {"capstone": {"x": 2}, "other": [1]}
    for name, data, message in [
        ("Capstone", 1, "name must match"),
        ("summary", 1, "name must match"),
        ("capstone", float("nan"), "without NaN"),
        ("capstone", object(), "plain JSON"),
        ("capstone", "x" * 70000, "byte limit"),
    ]:
        with pytest.raises(ValueError, match=message):
            record(name, data)
