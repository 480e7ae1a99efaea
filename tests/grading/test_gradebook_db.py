"""The gradebook database: upserts never lose a mark, stale and stub answers, validation."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npulab.grading.autograde import SubmissionResult
from npulab.grading.gradebook_db import (
    DB_NAME,
    MARK_STATES,
    Question,
    is_stub_answer,
    open_gradebook,
    text_sha256,
    written_questions,
)
from npulab.grading.outcome import TestOutcome

QUESTIONS = [
    Question("test_a", "auto", 2.0),
    Question("test_b", "auto", 3.0),
    Question("why", "written", 4.0, "model answer", "Why?", "YOUR ANSWER HERE"),
    Question("how", "written", 1.0, "model", "How?", "YOUR ANSWER HERE"),
]


def result(student, *, a=True, b=False, why="YOUR ANSWER HERE", how="", status="ok", detail=None):
    outcomes = (
        TestOutcome("test_a", 2.0, a, "" if a else "AssertionError"),
        TestOutcome("test_b", 3.0, b, "" if b else "hidden test 2 failed", detail=detail or {}),
    )
    return SubmissionResult(
        student,
        status,
        outcomes,
        manual={"why": {"points": 4.0, "answer": why}, "how": {"points": 1.0, "answer": how}},
    )


@pytest.fixture
def book(tmp_path):
    with open_gradebook(tmp_path) as b:
        b.set_questions(QUESTIONS)
        yield b


def test_open_creates_a_wal_database_with_the_schema(tmp_path):
    with open_gradebook(tmp_path / "out"):
        pass
    db = sqlite3.connect(tmp_path / "out" / DB_NAME)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"questions", "results", "answers", "marks", "mark_history", "hidden_failures"} <= tables
    with pytest.raises(ValueError, match="no gradebook in"):
        open_gradebook(tmp_path / "never", create=False)


def test_not_a_database_is_one_line_value_error(tmp_path):
    (tmp_path / DB_NAME).write_text("not sqlite " * 100)
    with pytest.raises(ValueError, match="not a usable gradebook"):
        open_gradebook(tmp_path)


def test_rows_count_written_columns_stub_zero_and_pending(book):
    book.record_results(
        [
            result("ada", why="because the array is square", how=""),
            result("bob", a=False, b=True, why="YOUR ANSWER HERE", how="  YOUR ANSWER HERE\n"),
        ]
    )
    assert book.columns() == [
        "student",
        "test_a",
        "test_b",
        "why",
        "how",
        "total",
        "max",
        "status",
        "manual_pending",
    ]
    ada, bob = book.rows()
    assert (ada["why"], ada["how"], ada["total"], ada["max"], ada["manual_pending"]) == (
        None,
        0.0,
        2.0,
        10.0,
        4.0,
    )
    assert (bob["why"], bob["how"], bob["total"], bob["manual_pending"]) == (0.0, 0.0, 3.0, 0.0)
    assert book.mark_state("ada", "why") == "pending" and book.mark_state("bob", "why") == "stub"
    assert book.progress("why") == (1, 2)
    book.set_mark("ada", "why", 3.5, "good, but cite the ridge point", grader="ta1")
    ada = book.rows()[0]
    assert (ada["why"], ada["total"], ada["manual_pending"]) == (3.5, 5.5, 0.0)
    assert book.progress("why") == (2, 2)
    assert book.mark("ada", "why").grader == "ta1"


def test_changed_answer_makes_the_mark_stale_not_lost(book):
    book.record_results([result("ada", why="first answer")])
    book.set_mark("ada", "why", 4, "full marks")
    book.record_results([result("ada", why="a different answer after a late resubmission")])
    assert book.mark_state("ada", "why") == "stale"
    assert book.mark("ada", "why").points == 4.0  # shown, kept ...
    row = book.rows()[0]
    assert (
        row["why"] is None and row["manual_pending"] == 4.0 and row["total"] == 2.0
    )  # ... not counted
    assert book.progress("why") == (0, 1)  # a stale mark is not "graded"
    book.record_results([result("ada", why="first answer")])  # the same text again: the mark counts
    assert book.mark_state("ada", "why") == "graded"


def test_set_mark_validates_with_one_line_errors(book):
    book.record_results([result("ada", why="text")])
    for bad, match in (
        (5, "between 0 and 4; got 5"),
        (-1, "got -1"),
        (float("nan"), "got nan"),
        ("x", "must be a number"),
    ):
        with pytest.raises(ValueError, match=match):
            book.set_mark("ada", "why", bad)
    with pytest.raises(ValueError, match="unknown grade_id 'nope'"):
        book.set_mark("ada", "nope", 1)
    with pytest.raises(ValueError, match="autograded test, not a written question"):
        book.set_mark("ada", "test_a", 1)
    with pytest.raises(ValueError, match="unknown student 'zed'"):
        book.set_mark("zed", "why", 1)
    assert book.marks() == []


def test_hidden_failure_detail_is_stored_for_the_instructor(book):
    detail = {
        "test": "hidden test 2",
        "message": "AssertionError: f(7, 1) == 8",
        "inputs": "f(7, 1)",
    }
    book.record_results([result("ada", detail=detail)])
    (fail,) = book.hidden_failures("ada")
    assert (fail.grade_id, fail.test, fail.message, fail.inputs) == (
        "test_b",
        "hidden test 2",
        "AssertionError: f(7, 1) == 8",
        "f(7, 1)",
    )
    book.record_results([result("ada", b=True)])  # fixed: the old failure goes
    assert book.hidden_failures("ada") == []


def test_questions_from_a_source_notebook():
    from npulab.grading import authoring as A

    nb = A.notebook(
        [
            A.markdown("**Question 1.** Why is the array square?"),
            A.written("why", 3, "Because of symmetry.", "3 points for symmetry"),
            A.tests("test_f", 1, "assert True"),
        ]
    )
    auto, why = sorted(written_questions(nb), key=lambda q: q.kind)
    assert (auto.grade_id, auto.kind, auto.max_points) == ("test_f", "auto", 1.0)
    assert (
        why.kind == "written" and why.max_points == 3.0 and why.prompt.startswith("**Question 1.**")
    )
    assert "Because of symmetry." in why.rubric and "3 points for symmetry" in why.rubric
    assert "BEGIN SOLUTION" not in why.rubric and is_stub_answer(why.stub)


def test_questions_dropped_from_the_source_keep_their_marks(book):
    book.record_results([result("ada", why="text")])
    book.set_mark("ada", "why", 2)
    book.set_questions([q for q in QUESTIONS if q.grade_id != "why"])
    assert "why" not in book.columns() and len(book.marks()) == 1
    book.set_questions(QUESTIONS)
    assert book.rows()[0]["why"] == 2.0


def test_two_connections_see_each_others_writes(tmp_path, book):
    book.record_results([result("ada", why="text")])
    with open_gradebook(tmp_path) as other:
        other.set_mark("ada", "why", 1, grader="web")
    assert book.mark("ada", "why").grader == "web"


ACTIONS = st.lists(
    st.one_of(
        st.tuples(
            st.just("grade"),
            st.sampled_from(["ada", "bob", "cy"]),
            st.sampled_from(["", "A", "B", "C"]),
        ),
        st.tuples(st.just("mark"), st.sampled_from(["ada", "bob", "cy"]), st.integers(0, 4)),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(ACTIONS)
def test_no_mark_is_ever_lost(tmp_path_factory, actions):
    """Random sequences of grade runs (answers changing), and marks: the latest mark of every
    answer survives every later run, counts exactly while its text is current, and the
    history keeps every mark given."""
    out = tmp_path_factory.mktemp("gb")
    answers: dict = {}
    marks: dict = {}
    given_marks = 0
    with open_gradebook(out) as book:
        book.set_questions(QUESTIONS)
        for kind, student, value in actions:
            if kind == "grade":
                answers[student] = value or "YOUR ANSWER HERE"
                book.record_results([result(s, why=a) for s, a in answers.items()])  # a whole rerun
            elif student in answers:
                book.set_mark(student, "why", value)
                marks[student] = (value, text_sha256(answers[student]))
                given_marks += 1
        assert {(m.student, m.points, m.text_sha256) for m in book.marks()} == {
            (s, float(p), h) for s, (p, h) in marks.items()
        }
        assert len(book.mark_history()) == given_marks
        for row in book.rows():
            s = row["student"]
            state = book.mark_state(s, "why")
            assert state in MARK_STATES
            current = text_sha256(answers[s])
            if s in marks and marks[s][1] == current:
                assert state == "graded" and row["why"] == marks[s][0]
            elif s in marks:
                assert state == "stale" and row["why"] is None
            else:
                assert state == ("stub" if answers[s] == "YOUR ANSWER HERE" else "pending")
