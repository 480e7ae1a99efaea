"""The autograder on a class of adversarial submissions of the tiny fixture lab.

The class is graded once per session (``graded_class`` in conftest.py, 2 workers, short
time limits); the tests read its results and output files.
"""
from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import nbformat
import pytest
from grading_fixtures import ADD as ADD_OK
from grading_fixtures import (
    CASES,
    CELL_TIMEOUT,
    NOTEBOOK_TIMEOUT,
    REPLAY_ADD,
    REPLAY_MUL,
    SOURCE,
    student_notebook,
)

from npulab.grading.autograde import SubmissionResult, restore_source_cells, worst
from npulab.grading.classroom import find_submissions, grade_class, inventory
from npulab.grading.execute import TestOutcome, is_test_cell
from npulab.grading.feedback import write_atomic

pytestmark = pytest.mark.usefixtures("sandbox_required")

STUDENTS = [*CASES, "tamper_tests", "delete_tests", "lost_metadata", "broken"]


@pytest.mark.parametrize("student", STUDENTS)
def test_each_submission_gets_its_points_and_status(graded_class, student):
    _, _, expected, run = graded_class
    result = {r.student: r for r in run.results}[student]
    assert (result.total, result.status) == expected[student], (result, result.outcomes, result.notes)
    assert result.max_score == 5


def test_correct_gets_full_marks_and_stub_gets_zero(graded_class):
    results = {r.student: r for r in graded_class[3].results}
    assert all(o.passed for o in results["correct"].outcomes)
    assert not any(o.passed for o in results["stub"].outcomes)
    assert all(o.not_attempted for o in results["stub"].outcomes)


def test_hidden_test_failure_says_which_hidden_test_and_nothing_else(graded_class):
    results = {r.student: r for r in graded_class[3].results}
    mul = {o.grade_id: o for o in results["hidden_only_wrong"].outcomes}["test_mul"]
    assert not mul.passed and mul.message == "hidden test 1 failed"


def test_failures_keep_the_points_of_tests_that_ran_before(graded_class):
    results = {r.student: r for r in graded_class[3].results}
    for student in ("hang", "hang_ignores_interrupt", "os_exit", "memory_hog", "sys_exit"):
        by_id = {o.grade_id: o for o in results[student].outcomes}
        assert by_id["test_add"].passed and not by_id["test_mul"].passed, student
    assert "process died" in {o.grade_id: o for o in results["os_exit"].outcomes}["test_mul"].message
    assert any("sys.exit" in n for n in results["sys_exit"].notes)


def test_timeouts_are_enforced_per_cell_and_per_notebook(graded_class):
    results = {r.student: r for r in graded_class[3].results}
    hang = results["hang"]  # interrupted after CELL_TIMEOUT; the following test still ran
    assert any("interrupted" in n for n in hang.notes)
    assert {o.grade_id: o for o in hang.outcomes}["test_mul"].message.startswith("NameError")
    stubborn = results["hang_ignores_interrupt"]  # ignores SIGINT: only the notebook limit stops it
    assert stubborn.status == "timeout"
    assert stubborn.settings == {"cell_timeout": CELL_TIMEOUT, "notebook_timeout": NOTEBOOK_TIMEOUT,
                                 "memory_mb": 2048.0, "sandbox": True, "seed": None}


def test_gradebook_has_the_contract_columns(graded_class, attack_run):
    _, out, expected, _ = graded_class
    with open(out / "gradebook.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["student"] in expected]
    assert list(rows[0]) == ["student", "test_add", "test_mul", "total", "max", "status"]
    assert sorted(r["student"] for r in rows) == sorted(expected)
    for row in rows:
        assert float(row["total"]) == expected[row["student"]][0]
        assert float(row["test_add"]) + float(row["test_mul"]) == float(row["total"])
        assert row["max"] == "5" and row["status"] == expected[row["student"]][1]


def test_feedback_pages_show_results_but_never_hidden_tests(graded_class):
    _, out, expected, _ = graded_class
    pages = {p.stem: p.read_text() for p in (out / "feedback").glob("*.html")}
    assert set(expected) <= set(pages)
    assert "add(1, 2) should be 3" in pages["wrong"] and "Score: 3 / 5" in pages["wrong"]
    assert "timeout" in pages["hang"]
    for text in pages.values():
        assert "BEGIN HIDDEN" not in text and "mul(BASE" not in text


def test_summary_counts_statuses_and_pass_rates(graded_class):
    _, out, expected, _ = graded_class
    summary = json.loads((out / "summary.json").read_text())
    run = graded_class[3]
    assert summary["students"] == len(run.results) and summary["max"] == 5
    statuses = {}
    for r in run.results:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    assert summary["statuses"] == statuses
    passed_add = sum(1 for r in run.results for o in r.outcomes if o.grade_id == "test_add" and o.passed)
    assert summary["tests"]["test_add"]["passed"] == passed_add and summary["sandbox"] is True


def test_resumed_run_equals_a_complete_run(graded_class, tmp_path):
    subs, out, _, _ = graded_class
    resumed = tmp_path / "out"
    shutil.copytree(out, resumed)
    # An interrupted run: two students were never finished, and no gradebook was written.
    for student in ("wrong", "os_exit"):
        (resumed / "results" / f"{student}.json").unlink()
        (resumed / "feedback" / f"{student}.html").unlink()
    (resumed / "gradebook.csv").unlink()
    # A forged result: the student edited their stored result to full marks.
    forged = json.loads((resumed / "results" / "stub.json").read_text())
    forged["result"]["outcomes"][0]["passed"] = True
    (resumed / "results" / "stub.json").write_text(json.dumps(forged))
    key = out.parent / "grader.key"
    kw = dict(cell_timeout=CELL_TIMEOUT, notebook_timeout=NOTEBOOK_TIMEOUT, progress=False, key_file=key)
    run = grade_class(SOURCE, subs, resumed, workers=2, students=None, **kw)
    assert run.graded == ("os_exit", "stub", "wrong") and run.bad_signatures == ("stub",)
    assert (resumed / "gradebook.csv").read_bytes() == (out / "gradebook.csv").read_bytes()
    assert json.loads((resumed / "summary.json").read_text())["bad_signatures"] == ["stub"]
    # Nothing left to do: a second run re-grades nobody ...
    again = grade_class(SOURCE, subs, resumed, **kw)
    assert again.graded == () and len(again.reused) == len(run.results)
    # ... but with another key nothing verifies, so everything is graded again.
    other = tmp_path / "other.key"
    with pytest.raises(ValueError, match="inside the output folder"):
        grade_class(SOURCE, subs, resumed, **{**kw, "key_file": resumed / "k.key"})
    assert len(grade_class(SOURCE, subs, resumed, students=["wrong"], **{**kw, "key_file": other}).bad_signatures) \
        == len(run.results)


def test_force_and_changed_submissions_are_regraded(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    nbformat.write(student_notebook(CASES["wrong"][0], CASES["wrong"][1]), subs / "ada.ipynb")
    shutil.copyfile(Path(SOURCE).parent.parent / "invalid.ipynb", subs / "bob.ipynb")
    kw = dict(cell_timeout=CELL_TIMEOUT, progress=False)
    first = grade_class(SOURCE, subs, tmp_path / "out", **kw)
    assert first.graded == ("ada", "bob")
    assert grade_class(SOURCE, subs, tmp_path / "out", force=True, students=["bob"], **kw).graded == ("bob",)
    nbformat.write(student_notebook(CASES["correct"][0], CASES["correct"][1]), subs / "ada.ipynb")
    rerun = grade_class(SOURCE, subs, tmp_path / "out", **kw)  # ada handed in again
    assert rerun.graded == ("ada",)
    assert {r.student: r.total for r in rerun.results} == {"ada": 5, "bob": 0}


def test_restore_source_cells_puts_back_tests_and_locked_cells():
    src = nbformat.read(SOURCE, as_version=4)
    student = student_notebook("def add(a, b):\n    return 0", None)
    for cell in student.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid == "setup":
            cell.source = "BASE = 0  # edited a locked cell"
    student.cells = [c for c in student.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "test_add"]
    merged = restore_source_cells(src, student)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in merged.cells]
    assert ids == [c.metadata.get("nbgrader", {}).get("grade_id") for c in src.cells]
    by_id = dict(zip(ids, merged.cells))
    assert by_id["setup"].source == "BASE = int(open('data.txt').read())"
    assert "BEGIN HIDDEN TESTS" in by_id["test_add"].source
    assert by_id["add"].source == "def add(a, b):\n    return 0"  # the student's answer stays


def test_find_submissions_handles_lms_layouts(tmp_path):
    root = tmp_path / "export"
    (root / "ana" / "lab7").mkdir(parents=True)  # nbgrader-style <student>/<assignment>/
    (root / "ana" / "lab7" / "tiny.ipynb").write_text("{}")
    (root / "ben").mkdir()  # an LMS that renamed the file
    (root / "ben" / "tiny (1).ipynb").write_text("{}")
    (root / "cy").mkdir()  # handed in nothing
    (root / "cy" / "readme.txt").write_text("sorry")
    (root / "dee.ipynb").write_text("{}")
    (root / ".ipynb_checkpoints").mkdir()
    found = {s.student: s for s in find_submissions(root, "tiny.ipynb")}
    assert sorted(found) == ["ana", "ben", "cy", "dee"]
    assert found["ana"].path.name == "tiny.ipynb" and found["ben"].path.name == "tiny (1).ipynb"
    assert found["cy"].path is None and found["dee"].folder is None
    (root / "dee").mkdir()
    (root / "dee" / "tiny.ipynb").write_text("{}")
    subs, files = inventory(root, "tiny.ipynb")
    assert [s.student for s in subs if s.student == "dee"] == ["dee"] and subs[-1].folder is not None
    reasons = {f["path"]: (f["action"], f["reason"]) for f in files}
    assert reasons["dee.ipynb"][0] == "skipped" and "duplicate" in reasons["dee.ipynb"][1]
    assert reasons["cy/readme.txt"][0] == "student file"


def test_missing_notebook_gets_status_missing(tmp_path):
    (tmp_path / "subs" / "cy").mkdir(parents=True)
    run = grade_class(SOURCE, tmp_path / "subs", tmp_path / "out", cell_timeout=CELL_TIMEOUT, progress=False)
    assert [(r.student, r.status, r.total) for r in run.results] == [("cy", "missing", 0)]


def test_bad_arguments_are_one_line_errors(tmp_path):
    with pytest.raises(ValueError, match="--workers must be an int >= 1; got 0"):
        grade_class(SOURCE, tmp_path, tmp_path / "out", workers=0)
    with pytest.raises(ValueError, match="--timeout must be a finite number > 0; got -1"):
        grade_class(SOURCE, tmp_path, tmp_path / "out", cell_timeout=-1)
    with pytest.raises(ValueError, match="--notebook-timeout must be a finite number > 0; got 0"):
        grade_class(SOURCE, tmp_path, tmp_path / "out", notebook_timeout=0)  # not "the default"
    with pytest.raises(ValueError, match="source notebook not found"):
        grade_class(tmp_path / "nope.ipynb", tmp_path, tmp_path / "out")
    with pytest.raises(ValueError, match="submissions folder not found"):
        grade_class(SOURCE, tmp_path / "nope", tmp_path / "out")


def test_result_round_trips_through_json_and_worst_status_wins():
    result = SubmissionResult("ada", "timeout", (TestOutcome("t", 2.0, True), TestOutcome("u", 3.0, False, "E")),
                              notes=("n",), seconds=1.5, settings={"cell_timeout": 1.0})
    assert SubmissionResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result
    assert (result.total, result.max_score) == (2.0, 5.0)
    assert worst(["ok", "timeout", "kernel_died"]) == "kernel_died" and worst([]) == "ok"


def test_write_atomic_replaces_whole_files(tmp_path):
    path = write_atomic(tmp_path / "a" / "f.csv", "one\n")
    write_atomic(path, "two\n")
    assert path.read_text() == "two\n" and [p.name for p in path.parent.iterdir()] == ["f.csv"]


def test_released_source_cells_are_the_tests_graded():
    """The gradebook's columns are the source's graded test cells, in order."""
    src = nbformat.read(SOURCE, as_version=4)
    assert [c.metadata["nbgrader"]["grade_id"] for c in src.cells if is_test_cell(c)] == ["test_add", "test_mul"]


def test_worker_past_its_hard_limit_is_killed_with_its_sandbox(tmp_path):
    """A worker that outlives its hard limit is killed; nothing it started lingers."""
    import sys
    import time

    from conftest import become_subreaper, live_children

    from npulab.grading.worker import run_worker

    become_subreaper()
    before = set(live_children())
    path = tmp_path / "stubborn.ipynb"
    nbformat.write(student_notebook(*CASES["hang_ignores_interrupt"][:2]), path)
    job = {"source": str(SOURCE), "submission": str(path), "cell_timeout": 30.0, "notebook_timeout": 60.0}
    result = run_worker(job, hard_timeout=6.0)
    assert result.status == "timeout" and result.total == 0
    assert "worker killed" in result.notes[0]
    if sys.platform.startswith("linux"):
        for _ in range(100):
            if not (set(live_children()) - before):
                break
            time.sleep(0.1)
        assert not (set(live_children()) - before)


def test_grader_error_results_are_never_reused(tmp_path):
    from npulab.grading import signing

    subs = tmp_path / "subs"
    subs.mkdir()
    nbformat.write(student_notebook(CASES["correct"][0], CASES["correct"][1]), subs / "ada.ipynb")
    key_file = tmp_path / "k.key"
    kw = dict(cell_timeout=CELL_TIMEOUT, progress=False, key_file=key_file)
    assert grade_class(SOURCE, subs, tmp_path / "out", **kw).graded == ("ada",)
    stored = tmp_path / "out" / "results" / "ada.json"
    data = json.loads(stored.read_text())["result"]
    data["status"] = "grader_error"  # validly signed, but a grader_error
    stored.write_text(json.dumps(signing.sign(data, signing.load_key(key_file))))
    again = grade_class(SOURCE, subs, tmp_path / "out", **kw)
    assert again.graded == ("ada",) and again.bad_signatures == ()
    assert again.results[0].status == "ok" and again.results[0].total == 5


def _counting_starts(monkeypatch):
    from npulab.grading import engine

    starts = []
    real = engine.start_driver

    def counting(*args, **kwargs):
        starts.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "start_driver", counting)
    return starts


@pytest.mark.parametrize("student", ["correct", "hidden_only_wrong", "wrong"])
def test_both_passes_run_in_one_driver(tmp_path, monkeypatch, student):
    """The visible pass (every message a student reads) and then the full pass (the points:
    only the test cells again, hidden regions included) run in one driver, right or wrong
    (issue 27: one notebook run per submission)."""
    from npulab.grading.autograde import grade_submission

    starts = _counting_starts(monkeypatch)
    add, mul, total, status = CASES[student]
    path = tmp_path / student / SOURCE.name
    path.parent.mkdir()
    nbformat.write(student_notebook(add, mul), path)
    result = grade_submission(SOURCE, path, student=student, cell_timeout=CELL_TIMEOUT,
                              notebook_timeout=NOTEBOOK_TIMEOUT, sandbox=False)
    assert len(starts) == 1
    assert (result.total, result.status) == (total, status)
    if student == "hidden_only_wrong":
        mul_outcome = {o.grade_id: o for o in result.outcomes}["test_mul"]
        assert mul_outcome.message == "hidden test 1 failed"


def test_the_student_cells_run_once_and_before_any_hidden_input(tmp_path, monkeypatch):
    """The student's cells run once, in the visible pass; the full pass runs the test cells
    only, so a cell after the tests never sees a hidden input (what it prints is counted once)."""
    from npulab.grading.autograde import grade_submission

    starts = _counting_starts(monkeypatch)
    nb = student_notebook(REPLAY_ADD, REPLAY_MUL)
    nb.cells.append(nbformat.v4.new_code_cell("RUNS = globals().get('RUNS', 0) + 1\n"
                                              "assert RUNS == 1 and not any(s.startswith('S10x') for s in SEEN)"))
    path = tmp_path / "replay" / SOURCE.name
    path.parent.mkdir()
    nbformat.write(nb, path)
    result = grade_submission(SOURCE, path, student="replay", cell_timeout=CELL_TIMEOUT,
                              notebook_timeout=NOTEBOOK_TIMEOUT, sandbox=False)
    assert len(starts) == 1 and result.total == 0
    assert not any("S10x" in o.message for o in result.outcomes) and not any("S10x" in n for n in result.notes)
    assert not any("RUNS" in n or "AssertionError" in n for n in result.notes), result.notes


def test_a_driver_that_ends_in_the_full_pass_gets_a_fresh_full_run(tmp_path, monkeypatch):
    """When the driver ends during the full pass (killed, out of CPU), a fresh driver runs the
    whole notebook with every test, and the points come from that run."""
    from npulab.grading import engine
    from npulab.grading.autograde import grade_submission

    starts = _counting_starts(monkeypatch)
    real = engine.run_notebook_cells

    def dies_in_the_full_pass(nb, session, **kw):
        if kw.get("after") is not None and len(starts) == 1:
            session.dead = True  # as if the sandbox were killed
            return engine.NotebookRun(plan=kw["after"].plan)
        return real(nb, session, **kw)

    monkeypatch.setattr(engine, "run_notebook_cells", dies_in_the_full_pass)
    add, mul, total, status = CASES["hidden_only_wrong"]
    path = tmp_path / "s" / SOURCE.name
    path.parent.mkdir()
    nbformat.write(student_notebook(add, mul), path)
    result = grade_submission(SOURCE, path, student="s", cell_timeout=CELL_TIMEOUT,
                              notebook_timeout=NOTEBOOK_TIMEOUT, sandbox=False)
    assert len(starts) == 2 and (result.total, result.status) == (total, status)


def test_a_cell_that_does_not_compile_is_named_in_the_notes(tmp_path):
    """A syntax error in an answer cell is said (else every later test fails with a NameError
    that hides the cause; the issue 25 walkthrough)."""
    from npulab.grading.autograde import grade_submission

    path = tmp_path / "s" / SOURCE.name
    path.parent.mkdir()
    nbformat.write(student_notebook(ADD_OK, "def mul(a, b)\n    return a * b"), path)
    result = grade_submission(SOURCE, path, student="s", cell_timeout=CELL_TIMEOUT,
                              notebook_timeout=NOTEBOOK_TIMEOUT, sandbox=False)
    assert any("cell 'mul' is not valid Python (SyntaxError" in n for n in result.notes), result.notes
