"""``npulab grade --dask ADDRESS``: the same gradebook as a local run, results verified."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import nbformat
import pytest
from grading_fixtures import ADD, CASES, FIXTURES, MUL, SOURCE, student_notebook

from npulab.grading import cluster, signing

pytestmark = pytest.mark.usefixtures("sandbox_required")

#: A small class: both layouts, a wrong answer, one caught only by a hidden test, a stub,
#: a student file next to the notebook, an unreadable notebook and a folder with no notebook.
STUDENTS = ("correct", "stub", "wrong", "hidden_only_wrong")


def _write_class(folder):
    folder.mkdir()
    for i, student in enumerate(STUDENTS):
        add, mul = CASES[student][:2]
        if i % 2:
            nbformat.write(student_notebook(add, mul), folder / f"{student}.ipynb")
        else:
            (folder / student).mkdir()
            nbformat.write(student_notebook(add, mul), folder / student / "tiny.ipynb")
            (folder / student / "notes.txt").write_text("my notes\n")
    shutil.copyfile(FIXTURES / "invalid.ipynb", folder / "broken.ipynb")
    (folder / "absent").mkdir()
    (folder / "absent" / "readme.txt").write_text("forgot the notebook\n")


@pytest.fixture(scope="module")
def dask_cluster():
    """A local cluster of two worker PROCESSES (each imports npulab on its own)."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as lc:
        yield lc.scheduler_address


def test_dask_gradebook_equals_a_local_run(tmp_path, dask_cluster):
    from npulab.grading.classroom import grade_class

    subs = tmp_path / "subs"
    _write_class(subs)
    common = {"cell_timeout": 8.0, "notebook_timeout": 20.0, "progress": False}
    local = grade_class(SOURCE, subs, tmp_path / "local", workers=2, **common)
    remote = grade_class(SOURCE, subs, tmp_path / "dask", dask=dask_cluster, **common)
    book = (tmp_path / "local" / "gradebook.csv").read_text()
    assert (tmp_path / "dask" / "gradebook.csv").read_text() == book
    assert "correct,2,3,5,5,ok" in book and "hidden_only_wrong,2,0,2,5,ok" in book
    assert sorted(remote.graded) == sorted(local.graded) == sorted([*STUDENTS, "absent", "broken"])
    same = [
        (r.student, r.status, r.outcomes, r.submission_sha256, r.source_sha256)
        for r in local.results
    ]
    assert [
        (r.student, r.status, r.outcomes, r.submission_sha256, r.source_sha256)
        for r in remote.results
    ] == same
    # What is stored in OUT is signed with the grader's own key (the coordinator's), as locally.
    key = signing.load_key()
    for path in (tmp_path / "dask" / "results").iterdir():
        assert signing.verify(json.loads(path.read_text()), key) is not None, path.name
    assert sorted(p.name for p in (tmp_path / "dask" / "feedback").iterdir()) == sorted(
        p.name for p in (tmp_path / "local" / "feedback").iterdir()
    )
    # The submissions were graded by tasks on the cluster, which removed its copies of the lab.
    from distributed import Client

    with Client(dask_cluster, set_as_default=False) as client:
        ran = client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.task_prefixes))
        tmp = tempfile.gettempdir()
        left = client.run(lambda: [str(p) for p in Path(tmp).glob("npulab-dask-*")])
    assert "npulab-grade" in ran
    assert not any(left.values()), left
    # A rerun on the cluster reuses everything, as a local rerun does.
    again = grade_class(SOURCE, subs, tmp_path / "dask", dask=dask_cluster, **common)
    assert again.graded == () and (tmp_path / "dask" / "gradebook.csv").read_text() == book


def test_a_worker_with_another_npulab_stops_the_run(dask_cluster, monkeypatch):
    monkeypatch.setattr(cluster, "engine_fingerprint", lambda: "not-the-workers")
    with pytest.raises(ValueError, match=r"runs a different npulab .* install the same npulab"):
        cluster.connect(dask_cluster, sandbox=True)


def test_a_worker_without_the_sandbox_stops_the_run(monkeypatch):
    """NPULAB_REQUIRE_SANDBOX's rule on every worker: no sandbox, no grading (one line)."""
    from distributed import LocalCluster

    from npulab.grading import backends

    class Missing:
        name = "bubblewrap"

        def problem(self):
            return "bubblewrap (bwrap) is not installed: make sandbox"

    monkeypatch.setattr(backends, "get_sandbox", lambda spec: Missing())
    # processes=False: the worker runs in this process, where get_sandbox is patched
    with LocalCluster(n_workers=1, processes=False, dashboard_address=":0") as lc:
        with pytest.raises(ValueError, match=r"Dask worker .*: bubblewrap \(bwrap\) is not"):
            cluster.connect(lc.scheduler_address, sandbox=True)
        client = cluster.connect(lc.scheduler_address, sandbox=False)  # --no-sandbox asks nothing
        client.close()


def test_unreachable_scheduler_is_one_line_exit_2(tmp_path, capsys, monkeypatch):
    from npulab.cli import main

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 1.0)
    (tmp_path / "subs").mkdir()
    code = main(
        [
            "grade",
            str(SOURCE),
            str(tmp_path / "subs"),
            "--out",
            str(tmp_path / "out"),
            "--dask",
            "tcp://127.0.0.1:9",
            "--no-progress",
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        code == 2
        and len(err) == 1
        and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in err[0]
    )


def _signed(result: dict, key: bytes) -> str:
    return json.dumps(signing.sign(result, key))


def test_results_from_workers_are_untrusted_until_verified():
    """A worker's text is checked: its MAC (the task's key), the student, the hashes, the
    tests and points; anything else is rejected, never stored as a grade."""
    from npulab.grading.autograde import SubmissionResult
    from npulab.grading.outcome import TestOutcome

    good = SubmissionResult(
        student="ada",
        status="ok",
        outcomes=(TestOutcome("test_add", 2.0, True), TestOutcome("test_mul", 3.0, False, "x")),
        submission_sha256="a" * 64,
        source_sha256="b" * 64,
    ).to_dict()
    key = cluster.task_key(b"k" * 32, "nonce", "ada", "a" * 64)
    expect = {
        "student": "ada",
        "submission_sha256": "a" * 64,
        "source_sha256": "b" * 64,
        "points": {"test_add": 2.0, "test_mul": 3.0},
    }
    result, why = cluster.verify_remote(_signed(good, key), key, **expect)
    assert why == "" and result.total == 2.0
    other_task = cluster.task_key(
        b"k" * 32, "nonce", "bob", "a" * 64
    )  # bob's task cannot sign ada's result
    assert (
        cluster.verify_remote(_signed(good, other_task), key, **expect)[1]
        == "its signature did not verify"
    )
    forged = json.loads(_signed(good, key))
    forged["result"]["outcomes"][1]["passed"] = True
    assert cluster.verify_remote(json.dumps(forged), key, **expect)[0] is None
    cases = {
        "a result for another student": {**good, "student": "bob"},
        "a result for another notebook": {**good, "submission_sha256": "c" * 64},
        "tests or points that are not the source's": {
            **good,
            "outcomes": [{**good["outcomes"][0], "points": 200.0}, good["outcomes"][1]],
        },
        "an unknown status": {**good, "status": "excellent"},
    }
    for reason, data in cases.items():  # signed with the right key by a worker gone wrong
        assert cluster.verify_remote(_signed(data, key), key, **expect) == (None, reason)
    assert cluster.verify_remote("{not json", key, **expect) == (None, "not JSON")
    assert cluster.verify_remote(b"bytes", key, **expect) == (None, "not a result")


def test_payloads_carry_the_lab_data_and_the_students_files(tmp_path):
    lab = cluster.lab_payload(SOURCE)
    assert lab["name"] == "tiny.ipynb" and set(lab["files"]) == {"data.txt"}
    (tmp_path / "ada" / ".ipynb_checkpoints").mkdir(parents=True)
    nbformat.write(student_notebook(ADD, MUL), tmp_path / "ada" / "tiny.ipynb")
    (tmp_path / "ada" / "notes.txt").write_text("n")
    (tmp_path / "ada" / ".ipynb_checkpoints" / "tiny-checkpoint.ipynb").write_text("{}")
    (tmp_path / "ada" / "link.txt").symlink_to(tmp_path / "ada" / "notes.txt")
    sub = cluster.submission_payload(tmp_path / "ada" / "tiny.ipynb", tmp_path / "ada")
    assert set(sub["extra"]) == {"tiny.ipynb", "notes.txt"} and sub["folder"]
