"""``npulab grade`` and ``npulab check`` on the command line."""
from __future__ import annotations

import json
import shutil

import nbformat
from grading_fixtures import ADD, CASES, FIXTURES, SOURCE, student_notebook

from npulab.cli import main


def test_grade_cli_writes_the_outputs_and_prints_json(tmp_path, capsys):
    subs = tmp_path / "subs"
    (subs / "ada").mkdir(parents=True)
    nbformat.write(student_notebook(*CASES["correct"][:2]), subs / "ada" / "tiny.ipynb")
    shutil.copyfile(FIXTURES / "invalid.ipynb", subs / "bob.ipynb")
    code = main(["grade", str(SOURCE), str(subs), "--out", str(tmp_path / "out"), "--timeout", "5",
                 "--workers", "2", "--no-progress", "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["statuses"] == {"invalid_notebook": 1, "ok": 1}
    assert {r["student"]: r["status"] for r in report["results"]} == {"ada": "ok", "bob": "invalid_notebook"}
    assert (tmp_path / "out" / "gradebook.csv").read_text().splitlines() == [
        "student,test_add,test_mul,total,max,status", "ada,2,3,5,5,ok", "bob,0,0,0,5,invalid_notebook"]
    assert sorted(p.name for p in (tmp_path / "out" / "feedback").iterdir()) == ["ada.html", "bob.html"]
    # Text output, everything reused from the first run.
    assert main(["grade", str(SOURCE), str(subs), "--out", str(tmp_path / "out"), "--timeout", "5"]) == 0
    text = capsys.readouterr().out
    assert "0 graded now, 2 kept from an earlier run" in text and "bob" in text


def test_grade_cli_bad_input_is_one_line_exit_2(tmp_path, capsys):
    assert main(["grade", str(tmp_path / "nope.ipynb"), str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"npulab grade: error: source notebook not found: {tmp_path / 'nope.ipynb'}"]
    assert main(["grade", str(SOURCE), str(tmp_path), "--out", str(tmp_path / "o"), "--workers", "0"]) == 2
    assert "workers must be an int >= 1" in capsys.readouterr().err


def test_check_cli_reports_todo_and_interrupts_a_hanging_cell(tmp_path, capsys):
    shutil.copyfile(FIXTURES / "tiny" / "data.txt", tmp_path / "data.txt")
    nbformat.write(student_notebook(ADD, "while True:\n    pass"), tmp_path / "tiny.ipynb")
    code = main(["check", str(tmp_path / "tiny.ipynb"), "--timeout", "5", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert [(t["grade_id"], t["passed"]) for t in report["tests"]] == [("test_add", True), ("test_mul", False)]
    assert report["score"] == 2 and report["max_score"] == 5
    assert any("interrupted" in n for n in report["notes"])
    assert "HIDDEN" not in json.dumps(report)


def test_check_of_a_finished_notebook_passes(tmp_path, capsys):
    shutil.copyfile(FIXTURES / "tiny" / "data.txt", tmp_path / "data.txt")
    nbformat.write(student_notebook(*CASES["correct"][:2]), tmp_path / "tiny.ipynb")
    assert main(["check", str(tmp_path / "tiny.ipynb")]) == 0
    out = capsys.readouterr().out
    assert "5/5 points" in out and "[PASS] test_mul" in out
