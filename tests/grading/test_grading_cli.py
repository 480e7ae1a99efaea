"""``npulab grade`` and ``npulab check`` on the command line."""
from __future__ import annotations

import json
import shutil

import nbformat
import pytest
from grading_fixtures import ADD, CASES, FIXTURES, MUL, SOURCE, student_notebook

from npulab.cli import main

pytestmark = pytest.mark.usefixtures("sandbox_required")


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
    assert "--workers must be an int >= 1" in capsys.readouterr().err


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


def test_check_of_a_finished_notebook_passes_and_leaves_no_process(tmp_path, capsys):
    import time

    from conftest import become_subreaper, live_children

    become_subreaper()
    before = set(live_children())
    shutil.copyfile(FIXTURES / "tiny" / "data.txt", tmp_path / "data.txt")
    nbformat.write(student_notebook(*CASES["correct"][:2]), tmp_path / "tiny.ipynb")
    assert main(["check", str(tmp_path / "tiny.ipynb")]) == 0
    for _ in range(100):
        if not (set(live_children()) - before):
            break
        time.sleep(0.1)
    assert not (set(live_children()) - before), "npulab check left its notebook process running"
    out = capsys.readouterr().out
    assert "5/5 points" in out and "[PASS] Exercise 2: mul — test_mul: 3/3 pts" in out
    assert "Checked: the saved file" in out and "Fix the first failing test" not in out


def test_check_reports_modified_tests_and_no_tests(tmp_path, capsys):
    from npulab.grading.release import release_notebook

    shutil.copyfile(FIXTURES / "tiny" / "data.txt", tmp_path / "data.txt")
    nb = release_notebook(nbformat.read(SOURCE, as_version=4))
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid == "test_mul":
            cell.source = "pass"  # the learner "fixed" a failing test
        if gid == "add":
            cell.source = ADD
    nbformat.write(nb, tmp_path / "tiny.ipynb")
    code = main(["check", str(tmp_path / "tiny.ipynb"), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    by_id = {t["grade_id"]: t for t in report["tests"]}
    assert by_id["test_add"]["passed"] and not by_id["test_mul"]["passed"]
    assert any("test_mul" in n and "modified" in n for n in report["notes"])
    nb.cells = [c for c in nb.cells if not c.metadata.get("nbgrader", {}).get("grade")]
    nbformat.write(nb, tmp_path / "none.ipynb")
    assert main(["check", str(tmp_path / "none.ipynb")]) == 1
    assert "no tests found" in capsys.readouterr().out


def test_bad_flag_values_are_one_line_exit_2(tmp_path, capsys):
    nbformat.write(student_notebook(ADD, None), tmp_path / "tiny.ipynb")
    for bad in ("0", "-5"):
        assert main(["check", str(tmp_path / "tiny.ipynb"), "--timeout", bad]) == 2
        assert "timeout" in capsys.readouterr().err
    assert main(["grade", str(SOURCE), str(tmp_path), "--out", str(tmp_path / "o"), "--memory-mb", "50"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--memory-mb 50" in err[0]


def test_seed_reaches_the_trusted_tests_only_and_must_match(tmp_path, capsys):
    from npulab.grading import authoring as A

    cells = [A.solution("f", "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION"),
             A.code("import os\nSEEN = os.environ.get('NPULAB_COURSE_SEED', 'none')", grade_id="peek"),
             A.tests("test_seed", 1, "import os\nassert os.environ['NPULAB_COURSE_SEED'] == '7'\n"
                     "assert SEEN == 'none'\nassert f() == 1"),
             A.markdown("### BEGIN SOLUTION\nmodel answer\n### END SOLUTION", grade_id="written_why")]
    cells[-1].metadata["nbgrader"].update({"solution": True, "grade": True, "locked": False, "points": 2})
    nb = A.notebook(cells)
    seed_check = __import__("hashlib").sha256(b"npulab-course-seed:7").hexdigest()[:16]
    nb.metadata["npulab"] = {"course_seed_check": seed_check}
    source = tmp_path / "src" / "lab.ipynb"
    source.parent.mkdir()
    nbformat.write(nb, source)
    subs = tmp_path / "subs"
    subs.mkdir()
    mine = nbformat.read(source, as_version=4)
    mine.cells[-1].source = "because <b>systolic</b>"
    nbformat.write(mine, subs / "ada.ipynb")
    assert main(["grade", str(source), str(subs), "--out", str(tmp_path / "o"), "--seed", "8", "--no-progress"]) == 2
    assert "does not match" in capsys.readouterr().err
    assert main(["grade", str(source), str(subs), "--out", str(tmp_path / "o"), "--seed", "7", "--no-progress"]) == 0
    rows = (tmp_path / "o" / "gradebook.csv").read_text().splitlines()
    assert rows == ["student,test_seed,written_why,total,max,status,manual_pending", "ada,1,,1,3,ok,2"]
    page = (tmp_path / "o" / "feedback" / "ada.html").read_text()
    assert "because &lt;b&gt;systolic&lt;/b&gt;" in page and "not graded yet" in page


def test_sigterm_writes_the_gradebook_and_resumes(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from conftest import become_subreaper, live_children

    become_subreaper()
    before = set(live_children())
    subs = tmp_path / "subs"
    subs.mkdir()
    nbformat.write(student_notebook(ADD, MUL), subs / "a_fast.ipynb")
    nbformat.write(student_notebook(ADD, "import time\ntime.sleep(60)"), subs / "b_slow.ipynb")
    out = tmp_path / "out"
    cmd = [sys.executable, "-c", "import sys; from npulab.cli import main; sys.exit(main(sys.argv[1:]))",
           "grade", str(SOURCE), str(subs), "--out", str(out), "--timeout", "120", "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for _ in range(600):
        if (out / "results" / "a_fast.json").exists():
            break
        time.sleep(0.1)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert (out / "gradebook.csv").read_text().splitlines()[1:] == ["a_fast,2,3,5,5,ok"]
    for _ in range(100):
        if not (set(live_children()) - before):
            break
        time.sleep(0.1)
    assert not (set(live_children()) - before)
    nbformat.write(student_notebook(ADD, MUL), subs / "b_slow.ipynb")  # resume (b handed in again)
    done = subprocess.run(cmd[:-1] + ["--json"], capture_output=True, text=True, timeout=300)
    report = json.loads(done.stdout)
    assert report["graded"] == ["b_slow"] and report["reused"] == ["a_fast"]


def test_no_sandbox_is_said_in_gradebook_and_summary(tmp_path, capsys):
    subs = tmp_path / "subs"
    subs.mkdir()
    nbformat.write(student_notebook(ADD, MUL), subs / "ada.ipynb")
    assert main(["grade", str(SOURCE), str(subs), "--out", str(tmp_path / "o"), "--no-sandbox", "--no-progress"]) == 0
    assert "WARNING" in capsys.readouterr().out
    assert (tmp_path / "o" / "gradebook.csv").read_text().splitlines() == [
        "student,test_add,test_mul,total,max,status,sandbox", "ada,2,3,5,5,ok,off"]
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["sandbox"] is False and "WITHOUT" in summary["warning"]


def test_grade_cli_never_prints_a_student_id_raw(tmp_path, capsys):
    """Escape sequences and carriage returns in an id cannot fake or hide rows (issue 23 #7)."""
    subs = tmp_path / "subs"
    subs.mkdir()
    evil = "eve\x1b[1A\x1b[2Kada      5 of 5    ok\r"
    nbformat.write(student_notebook(None, None), subs / f"{evil}.ipynb")
    code = main(["grade", str(SOURCE), str(subs), "--out", str(tmp_path / "out"), "--timeout", "5"])
    assert code == 0
    out = capsys.readouterr()
    assert "\x1b" not in out.out + out.err and "\r" not in out.out
    assert "eve\\x1b[1A\\x1b[2Kada" in out.out


def test_check_trusts_the_release_manifest_not_hashes_in_the_notebook(tmp_path, capsys):
    """Issue 23 #8: a student edits a test cell AND the hash stored beside it in the notebook;
    the manifest released next to the lab still tells, and the check says it is advisory."""
    from npulab.grading.release import MANIFEST, release, source_sha256

    lab = tmp_path / "lab"
    release(SOURCE, lab)
    assert json.loads((lab / MANIFEST).read_text())["notebooks"]["tiny.ipynb"].keys() == {"test_add", "test_mul"}
    shutil.copyfile(FIXTURES / "tiny" / "data.txt", lab / "data.txt")
    nb = nbformat.read(lab / "tiny.ipynb", as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in ("test_add", "test_mul"):  # a stub "passes" once the tests and their hashes are edited
            cell.source = "pass"
            cell.metadata["npulab"] = {"test_sha256": source_sha256("pass")}
    nbformat.write(nb, lab / "tiny.ipynb")
    assert main(["check", str(lab / "tiny.ipynb"), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [t["passed"] for t in report["tests"]] == [False, False]
    assert sorted(report["modified"]) == ["test_add", "test_mul"]
    assert main(["check", str(lab / "tiny.ipynb")]) == 1
    assert "advisory" in capsys.readouterr().out
    (lab / MANIFEST).unlink()  # without the manifest the notebook's own hashes are all there is
    assert main(["check", str(lab / "tiny.ipynb"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert any("test_hashes.json" in n for n in report["notes"])
