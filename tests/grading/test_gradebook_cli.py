"""``npulab grade`` + ``npulab marks``: marks survive every rerun, stale marks, stubs, CSV
import/export, feedback with marks, hidden-test detail for the instructor only, and the
resume advice after an interrupted ``--force`` run."""

from __future__ import annotations

import csv
import json

import nbformat
import pytest

from npulab.cli import main

pytestmark = pytest.mark.usefixtures("sandbox_required")

WHY = "written_why"


def make_lab(folder):
    from npulab.grading import authoring as A

    nb = A.notebook(
        [
            A.solution(
                "f", "def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"
            ),
            A.tests(
                "test_f",
                2,
                "assert f(1) == 2\n### BEGIN HIDDEN TESTS\nassert f(7) == 14\n### END HIDDEN TESTS",
            ),
            A.markdown("**Question 1.** Why is doubling linear?"),
            A.written(WHY, 3, "Because 2(x + y) = 2x + 2y.", "3 points: names additivity"),
        ]
    )
    source = folder / "src" / "lab.ipynb"
    source.parent.mkdir(parents=True)
    nbformat.write(nb, source)
    return source


def submit(source, subs, student, *, f="def f(x):\n    return 2 * x", why=None):
    from npulab.grading import release_notebook

    nb = release_notebook(nbformat.read(source, as_version=4))
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid == "f":
            cell.source = f
        if gid == WHY and why is not None:
            cell.source = why
    subs.mkdir(exist_ok=True)
    nbformat.write(nb, subs / f"{student}.ipynb")


def rows(out):
    with open(out / "gradebook.csv", newline="") as fh:
        return {r["student"]: r for r in csv.DictReader(fh)}


def grade(source, subs, out, *extra):
    return main(
        [
            "grade",
            str(source),
            str(subs),
            "--out",
            str(out),
            "--no-progress",
            "--timeout",
            "10",
            *extra,
        ]
    )


def test_marks_survive_reruns_go_stale_and_reach_feedback(tmp_path, capsys):
    source, subs, out = make_lab(tmp_path), tmp_path / "subs", tmp_path / "out"
    submit(source, subs, "ada", why="Because 2(x+y) = 2x+2y: additivity.")
    submit(
        source, subs, "bob", f="def f(x):\n    return 2 if x == 1 else 0"
    )  # answer left as the stub
    assert grade(source, subs, out) == 0
    assert "written answers: 1 still to grade" in capsys.readouterr().out
    book = rows(out)
    assert list(book["ada"]) == [
        "student",
        "test_f",
        WHY,
        "total",
        "max",
        "status",
        "manual_pending",
    ]
    assert (
        book["ada"][WHY],
        book["ada"]["total"],
        book["ada"]["max"],
        book["ada"]["manual_pending"],
    ) == ("", "2", "5", "3")
    assert (book["bob"][WHY], book["bob"]["total"], book["bob"]["manual_pending"]) == (
        "0",
        "0",
        "0",
    )
    assert "left unanswered" in (out / "feedback" / "bob.html").read_text()

    # A mark from the command line: gradebook and feedback follow.
    assert (
        main(
            [
                "marks",
                str(out),
                "--student",
                "ada",
                "--grade-id",
                WHY,
                "--points",
                "2.5",
                "--comment",
                "Name the property: <additivity>",
                "--grader",
                "ta1",
            ]
        )
        == 0
    )
    assert (
        rows(out)["ada"][WHY],
        rows(out)["ada"]["total"],
        rows(out)["ada"]["manual_pending"],
    ) == ("2.5", "4.5", "0")
    page = (out / "feedback" / "ada.html").read_text()
    assert "2.5 / 3 points" in page and "Name the property: &lt;additivity&gt;" in page
    assert "Score: 4.5 / 5" in page
    summary = json.loads((out / "summary.json").read_text())
    assert summary["manual_pending_points"] == 0

    # Out of range: one line, exit 2, nothing stored.
    capsys.readouterr()
    assert main(["marks", str(out), "--student", "ada", "--grade-id", WHY, "--points", "4"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"npulab marks: error: points for {WHY} must be between 0 and 3; got 4.0"]

    # A late student and a --force rerun keep the mark.
    submit(source, subs, "cy", why="It commutes with addition.")
    assert grade(source, subs, out) == 0
    assert grade(source, subs, out, "--force") == 0
    assert (rows(out)["ada"][WHY], rows(out)["cy"][WHY]) == ("2.5", "")

    # Ada changes her answer: the mark is stale (shown, pending), not silently kept.
    submit(source, subs, "ada", why="Because f(x) = 2x is a linear map.")
    assert grade(source, subs, out) == 0
    assert (
        rows(out)["ada"][WHY],
        rows(out)["ada"]["manual_pending"],
        rows(out)["ada"]["total"],
    ) == ("", "3", "2")
    assert "changed after it was marked" in (out / "feedback" / "ada.html").read_text()

    # Export is a sheet to fill; import checks everything first.
    sheet = tmp_path / "marks.csv"
    assert main(["marks", str(out), "--export", str(sheet)]) == 0
    exported = {r["student"]: r for r in csv.DictReader(open(sheet, newline=""))}
    assert (exported["ada"]["state"], exported["ada"]["points"], exported["ada"]["grader"]) == (
        "stale",
        "2.5",
        "ta1",
    )
    assert (exported["bob"]["state"], exported["cy"]["state"]) == ("stub", "pending")
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "student,grade_id,points,comment\nada,written_why,3,ok\ncy,written_why,9,too many\n"
    )
    capsys.readouterr()
    assert main(["marks", str(out), "--import", str(bad)]) == 2
    assert (
        "line 3: points for written_why must be between 0 and 3; got 9" in capsys.readouterr().err
    )
    assert rows(out)["ada"][WHY] == ""  # nothing stored
    good = tmp_path / "good.csv"
    good.write_text(
        "student,grade_id,points,comment\nada,written_why,3,better\ncy,written_why,1,\n"
    )
    assert main(["marks", str(out), "--import", str(good)]) == 0
    assert (rows(out)["ada"][WHY], rows(out)["cy"][WHY], rows(out)["cy"]["total"]) == (
        "3",
        "1",
        "3",
    )


def test_hidden_failure_detail_is_for_the_instructor_only(tmp_path, capsys):
    source, subs, out = make_lab(tmp_path), tmp_path / "subs", tmp_path / "out"
    submit(source, subs, "bob", f="def f(x):\n    return 2 if x == 1 else 0", why="linear")
    assert grade(source, subs, out) == 0
    capsys.readouterr()
    assert main(["marks", str(out), "--failures", "bob", "--json"]) == 0
    (fail,) = json.loads(capsys.readouterr().out)["failures"]
    assert fail["grade_id"] == "test_f" and fail["test"] == "hidden test 1"
    assert "assert f(7) == 14" in fail["message"] and fail["inputs"] == "f(7)"
    page = (out / "feedback" / "bob.html").read_text()
    assert "hidden test 1 failed" in page and "f(7)" not in page
    assert main(["marks", str(out), "--failures", "nobody"]) == 2


def test_marks_on_a_folder_never_graded_is_one_line(tmp_path, capsys):
    assert main(["marks", str(tmp_path)]) == 2
    expected = f"no gradebook in {tmp_path} (run npulab grade --out {tmp_path} first)"
    assert capsys.readouterr().err.strip() == f"npulab marks: error: {expected}"


def test_interrupted_force_run_says_to_drop_force(tmp_path, capsys, monkeypatch):
    import npulab.grading.classroom as classroom

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(classroom, "grade_class", interrupted)
    assert main(["grade", "src.ipynb", "subs", "--out", str(tmp_path), "--force"]) == 130
    err = capsys.readouterr().err
    assert "WITHOUT --force" in err and "run the same command again to resume" not in err
    assert main(["grade", "src.ipynb", "subs", "--out", str(tmp_path)]) == 130
    assert "run the same command again to resume" in capsys.readouterr().err


def test_korean_feedback_shows_marks_and_comments():
    from npulab.grading.autograde import SubmissionResult
    from npulab.grading.feedback import feedback_html
    from npulab.grading.gradebook_db import ManualScore, Mark
    from npulab.grading.outcome import TestOutcome

    result = SubmissionResult(
        "ada",
        "ok",
        (TestOutcome("test_f", 2.0, True),),
        manual={
            WHY: {"points": 3.0, "answer": "linear"},
            "written_b": {"points": 1.0, "answer": "YOUR ANSWER HERE"},
        },
    )
    mark = Mark("ada", WHY, 2.0, "좋음", "ta", "2026-01-01T00:00:00+00:00", "h")
    manual = {
        WHY: ManualScore(WHY, "graded", 2.0, 3.0, mark),
        "written_b": ManualScore("written_b", "stub", 0.0, 1.0, None),
    }
    page = feedback_html(result, "lab", "ko", manual=manual)
    assert "2 / 3점, 교수자 채점" in page and "의견: " in page and "좋음" in page
    assert "0 / 1점, 답하지 않음" in page and "점수: 4 / 6" in page


def test_interrupted_force_run_keeps_every_student_in_the_gradebook(tmp_path, monkeypatch):
    """Ctrl-C before a --force run finished anyone: gradebook.csv still lists the class (each
    student's earlier result and mark from the database), as `npulab marks` would write it."""
    import npulab.grading.classroom as classroom

    source, subs, out = make_lab(tmp_path), tmp_path / "subs", tmp_path / "out"
    submit(source, subs, "ada", why="Because 2(x + y) = 2x + 2y.")
    submit(source, subs, "bob", f="def f(x):\n    return x")
    assert grade(source, subs, out) == 0
    assert main(["marks", str(out), "--student", "ada", "--grade-id", WHY, "--points", "3"]) == 0
    before = rows(out)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(classroom, "_run_all", interrupted)
    assert grade(source, subs, out, "--force") == 130
    after = rows(out)
    assert sorted(after) == ["ada", "bob"]
    assert after == before
