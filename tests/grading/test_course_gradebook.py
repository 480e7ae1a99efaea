"""``npulab gradebook``: course totals over labs, weights validation, and the csv, Canvas and
Moodle layouts (checked against the sample files in ``docs/samples/``)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from npulab.cli import main
from npulab.grading.autograde import SubmissionResult
from npulab.grading.course import course_rows, export_table, read_roster
from npulab.grading.gradebook_db import Question, open_gradebook
from npulab.grading.outcome import TestOutcome

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"


def make_lab(out: Path, lab: str, scores: dict, *, written=None):
    """A graded lab's OUT: ``scores`` student -> (test points earned of 10, answer text)."""
    with open_gradebook(out) as book:
        book.set_questions([Question("test_all", "auto", 10.0), Question("why", "written", 5.0)])
        book.set_info(lab=lab)
        results = []
        for student, (earned, answer) in scores.items():
            outcome = TestOutcome("test_all", 10.0, earned == 10.0)
            results.append(
                SubmissionResult(
                    student, "ok", (outcome,), manual={"why": {"points": 5.0, "answer": answer}}
                )
            )
        book.record_results(results)
        # record_results scores tests by pass/fail; partial points come from several tests in
        # real labs, so write the earned points straight into the table here.
        for student, (earned, _) in scores.items():
            book._db.execute("UPDATE results SET points = ? WHERE student = ?", (earned, student))
        book._db.commit()
        for (student, gid), points in (written or {}).items():
            book.set_mark(student, gid, points, grader="ta")
    return out


def sample_outs(root: Path) -> list[Path]:
    """The two labs behind docs/samples/."""
    lab0 = make_lab(
        root / "out00",
        "00_orientation",
        {"ada": (10.0, "because"), "bob": (0.0, "YOUR ANSWER HERE")},
        written={("ada", "why"): 5},
    )
    lab1 = make_lab(
        root / "out01",
        "01_quantization",
        {"ada": (10.0, "since"), "cy": (10.0, "so")},
        written={("ada", "why"): 2.5},
    )
    return [lab0, lab1]


def test_weighted_totals_and_pending(tmp_path):
    outs = sample_outs(tmp_path)
    (tmp_path / "w.yaml").write_text(
        "00_orientation: 1\n01_quantization: {weight: 3, title: Lab 01}\n"
    )
    specs, rows = course_rows(outs, tmp_path / "w.yaml")
    assert [(s.name, s.weight, s.title) for s in specs] == [
        ("00_orientation", 1.0, "00_orientation"),
        ("01_quantization", 3.0, "Lab 01"),
    ]
    by = {r.student: r for r in rows}
    assert by["ada"].percent == {"00_orientation": 100.0, "01_quantization": 100.0 * 12.5 / 15}
    assert by["ada"].total == pytest.approx((100.0 + 3 * 100.0 * 12.5 / 15) / 4)
    assert (
        by["bob"].percent["01_quantization"] == 0.0 and by["bob"].pending_points == 0.0
    )  # stub: 0, not pending
    assert by["cy"].percent["00_orientation"] == 0.0 and by["cy"].pending_points == 5.0


@pytest.mark.parametrize(
    "text, match",
    [
        ("00_orientation: 1\n01_quantization: 1\n02_nope: 1\n", "unknown lab '02_nope'"),
        (
            "00_orientation: -1\n01_quantization: 1\n",
            "weight of lab '00_orientation' must be a number >= 0; got -1",
        ),
        ("00_orientation: x\n01_quantization: 1\n", "got 'x'"),
        ("00_orientation: 1\n", "no weight for lab\\(s\\) 01_quantization"),
        ("00_orientation: 0\n01_quantization: 0\n", "sum to 0"),
        (
            "00_orientation: {weight: 1, colour: red}\n01_quantization: 1\n",
            "unknown key\\(s\\) colour",
        ),
        ("[1, 2]\n", "must map lab names to weights"),
    ],
)
def test_bad_weights_are_one_line_exit_2(tmp_path, capsys, text, match):
    outs = sample_outs(tmp_path)
    (tmp_path / "w.yaml").write_text(text)
    with pytest.raises(ValueError, match=match):
        course_rows(outs, tmp_path / "w.yaml")
    code = main(
        [
            "gradebook",
            *map(str, outs),
            "--weights",
            str(tmp_path / "w.yaml"),
            "--export",
            "csv",
            str(tmp_path / "c.csv"),
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("npulab gradebook: error: ")


def test_bad_layout_and_missing_gradebook(tmp_path, capsys):
    outs = sample_outs(tmp_path)
    assert main(["gradebook", str(outs[0]), "--export", "excel", str(tmp_path / "c.csv")]) == 2
    assert "choose one of csv, canvas, moodle" in capsys.readouterr().err
    assert (
        main(["gradebook", str(tmp_path / "none"), "--export", "csv", str(tmp_path / "c.csv")]) == 2
    )
    assert "no gradebook in" in capsys.readouterr().err


@pytest.mark.parametrize("layout", ["csv", "canvas", "moodle"])
def test_each_layout_matches_its_documented_sample(tmp_path, capsys, layout):
    outs = sample_outs(tmp_path)
    target = tmp_path / f"course_{layout}.csv"
    args = [
        "gradebook",
        *map(str, outs),
        "--weights",
        str(SAMPLES / "weights.yaml"),
        "--export",
        layout,
        str(target),
    ]
    if layout != "csv":
        args += ["--roster", str(SAMPLES / "roster.csv")]
    assert main(args) == 0
    assert "5 points of written answers are not graded yet" in capsys.readouterr().err
    text = target.read_text()
    assert text == (SAMPLES / f"course_{layout}.csv").read_text()
    table = list(csv.reader(io.StringIO(text)))
    if layout == "canvas":
        assert table[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
        assert table[0][5] == "Lab 00 Orientation (120033)" and table[1][0] == "Points Possible"
    elif layout == "moodle":
        assert table[0][:2] == ["ID number", "Email address"] and table[1][1] == "ada@example.edu"
    else:
        assert table[0] == [
            "student",
            "Lab 00 Orientation",
            "Lab 01 Quantization",
            "total",
            "pending_points",
        ]


def test_ids_that_look_like_formulas_are_escaped(tmp_path):
    from npulab.grading.course import CourseRow, LabSpec

    text = export_table(
        [LabSpec("lab", 1.0, "=HYPERLINK()")],
        [CourseRow("=cmd", {"lab": 50.0}, 50.0, 0.0)],
        "moodle",
        read_roster(None),
    )
    assert text.splitlines() == [
        "ID number,Email address,'=HYPERLINK(),npulab total",
        "'=cmd,,50.00,50.00",
    ]


def write_samples() -> None:  # pragma: no cover - run by hand after changing a layout
    """Regenerate docs/samples/course_*.csv: ``python tests/grading/test_course_gradebook.py``."""
    import tempfile

    outs = sample_outs(Path(tempfile.mkdtemp()))
    specs, rows = course_rows(outs, SAMPLES / "weights.yaml")
    roster = read_roster(SAMPLES / "roster.csv")
    for layout in ("csv", "canvas", "moodle"):
        text = export_table(specs, rows, layout, roster if layout != "csv" else None)
        (SAMPLES / f"course_{layout}.csv").write_text(text)


if __name__ == "__main__":
    write_samples()
