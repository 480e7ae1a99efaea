"""The adversarial class: every attack of issue 14 and the honest cases, graded as one class
(2 workers, sandboxed) by the session fixture in conftest.py; each gets its expected outcome."""
from __future__ import annotations

import csv
import json
import time

import pytest
from conftest import live_children
from grading_fixtures import ATTACKS, BAD_UTF8_ID, CASES, ODD_IDS, tampered_notebooks

pytestmark = pytest.mark.usefixtures("sandbox_required")

ATTACK_NAMES = sorted(ATTACKS)


def results(attack_run):
    return {r.student: r for r in attack_run[1].results}


def test_the_class_is_large_enough(attack_run):
    assert len(attack_run[1].results) >= 40
    assert len(attack_run[0]) + len(CASES) + len(tampered_notebooks()) >= 40


@pytest.mark.parametrize("student", [*ATTACK_NAMES, "UPPER", ".dotty", "=1+2+cmd|' -C calc'!A0", "nbg", "lms",
                                     "old_format", "nothing", "replay_hidden_inputs", *ODD_IDS, BAD_UTF8_ID])
def test_each_attack_gets_its_expected_outcome(attack_run, student):
    expected, run = attack_run[0], results(attack_run)
    totals, statuses = expected[student]
    result = run[student]
    assert result.total in totals and result.status in statuses, (result, result.outcomes, result.notes)


def test_no_escape_reached_the_network(attack_run):
    assert attack_run[2] == [], "a sandboxed submission connected to a server on the grader's machine"


def test_nothing_outlives_grading(attack_run):
    before = attack_run[3]
    for _ in range(100):
        left = set(live_children()) - set(before)
        if not left:
            break
        time.sleep(0.1)
    assert not left, f"processes left behind: {sorted(left)}"


def test_the_source_notebook_is_unchanged(attack_run):
    assert attack_run[4]


def test_classmates_are_unharmed(attack_run):
    run = results(attack_run)
    assert run["correct"].total == 5 and run["correct"].status == "ok"
    assert all(run[s].total == 5 for s in ("UPPER", "nbg", "lms", "old_format"))


def test_every_file_is_accounted_for(graded_class, attack_run):
    subs, out = graded_class[0], graded_class[1]
    summary = json.loads((out / "summary.json").read_text())
    listed = {f["path"]: f for f in summary["files"]}
    on_disk = {str(p.relative_to(subs)) for p in subs.rglob("*") if p.is_file() or p.is_symlink()}
    assert on_disk <= set(listed)
    assert listed["evil_link.ipynb"]["reason"].startswith("symlink")
    assert listed["zero.ipynb"]["reason"].startswith("symlink")
    assert listed["readme.md"]["reason"] == "not a notebook"
    assert listed["correct.ipynb"]["reason"].startswith("duplicate")
    assert listed["UPPER.IPYNB"]["action"] == "graded"
    assert "evil_link" not in results(attack_run) and "zero" not in results(attack_run)


def test_gradebook_escapes_formulas(graded_class):
    out = graded_class[1]
    text = (out / "gradebook.csv").read_text()
    rows = list(csv.reader(text.splitlines()))
    students = [r[0] for r in rows[1:]]
    assert "'=1+2+cmd|' -C calc'!A0" in students
    assert not any(s.startswith(("=", "+", "-", "@")) for s in students)


def test_feedback_is_small_and_never_shows_hidden_tests_or_inputs(graded_class, attack_run):
    out = graded_class[1]
    for page in (out / "feedback").glob("*.html"):
        text = page.read_text()
        assert len(text) < 20_000, page.name
        assert "BEGIN HIDDEN" not in text and "BASE" not in text and "0.5" not in text
        assert "(10, -3)" not in text and "LEAK(10" not in text
    leak = {o.grade_id: o.message for o in results(attack_run)["leak_inputs"].outcomes}
    assert leak["test_add"] == "ValueError: LEAK(1, 2)"  # the visible test's own inputs are fine
    assert leak["test_mul"] == "ValueError: LEAK(2, 3)"


def test_not_plain_data_fails_with_a_clear_message(attack_run):
    run = results(attack_run)
    for student in ("always_equal", "int_subclass", "returns_function", "returns_object_array", "deep_nesting",
                    "huge_result"):
        message = run[student].outcomes[0].message
        assert "plain data" in message, (student, message)


def test_transformers_in_the_student_process_change_nothing(attack_run):
    run = results(attack_run)
    for student in ("input_transformer", "ast_strip_asserts"):
        assert run[student].total == 0 and run[student].outcomes[0].message.startswith(("NameError", "NotImpl"))


def test_any_student_id_is_stored_under_a_bounded_distinct_key(graded_class, attack_run):
    from npulab.grading.classroom import MAX_KEY, result_key

    out = graded_class[1]
    students = [r.student for r in attack_run[1].results]
    keys = {result_key(s) for s in students}
    assert len(keys) == len(students)
    for key in keys:
        assert len(key) <= MAX_KEY and key.isascii() and "/" not in key
        assert (out / "results" / f"{key}.json").is_file() and (out / "feedback" / f"{key}.html").is_file()
    assert {p.stem for p in (out / "results").glob("*.json")} == keys


def test_hidden_inputs_never_reach_any_feedback_field(graded_class, attack_run):
    """Issue 23 #3: a submission records the hidden tests' inputs and replays them through
    exception texts, class names, a status note and its printed output; none of it arrives."""
    result = results(attack_run)["replay_hidden_inputs"]
    fields = [result.status, *result.notes, *(o.message for o in result.outcomes),
              *(str(m) for m in result.manual.values())]
    assert not any("S10x" in f for f in fields), fields
    page = (graded_class[1] / "feedback" / "replay_hidden_inputs.html").read_text()
    assert "S10x" not in page
    messages = {o.grade_id: o.message for o in result.outcomes}
    assert messages["test_add"] == "ValueError: S1x2"  # the visible test's own input: quoted
    assert messages["test_mul"].startswith("StudentError: E_")  # recorded before any hidden input
