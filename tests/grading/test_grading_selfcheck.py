"""The in-notebook self-check (issue 25 #6): what it checks, which notebook, what it says."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest
from grading_fixtures import ADD, FIXTURES, MUL, SOURCE, student_notebook

from npulab.grading import selfcheck
from npulab.grading.outcome import TestOutcome
from npulab.grading.selfcheck import CheckResult, Exercise, WrittenAnswer

ROOT = Path(__file__).resolve().parents[2]
MUL_WRONG = "def mul(a, b):\n    return a + b"


@pytest.fixture(autouse=True)
def _not_inside_a_check(monkeypatch):
    for var in (
        "NPULAB_SELF_CHECK",
        "NBGRADER_EXECUTION",
        "JPY_SESSION_NAME",
        "NPULAB_LANG",
        "LC_ALL",
        "LC_MESSAGES",
        "LANGUAGE",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


def _report(outcomes, lang="en", mode="kernel"):
    return CheckResult(
        notebook="01.ipynb",
        outcomes=tuple(outcomes),
        lang=lang,
        mode=mode,
        exercises=(Exercise(1, "quantize_affine"), Exercise(2, "mse_scale")),
        written=(
            WrittenAnswer("written_a", 3.0, True, 1),
            WrittenAnswer("written_b", 2.0, False, 2),
        ),
        checked="Checked: somewhere",
    )


def test_report_names_exercises_counts_written_points_and_advises_only_on_failure():
    passed, todo = (
        TestOutcome("test_quantize_affine", 3, True),
        TestOutcome("test_mse_scale", 4, False, "NotImplementedError: Exercise 2"),
    )
    failed = TestOutcome("test_mse_scale", 4, False, "AssertionError: scale too small")
    text = str(_report([passed, todo]))
    assert "[PASS] Exercise 1: quantize_affine — test_quantize_affine: 3/3 pts" in text
    assert "[TODO] Exercise 2: mse_scale — test_mse_scale: not attempted yet" in text
    header = "3/7 points on visible tests; 5 more points of written answers are graded by your"
    assert header + " instructor" in text
    assert "[WRITTEN] Question 1: written_a: 3 pts, graded by your instructor" in text
    assert (
        "[WRITTEN] Question 2: written_b: 2 pts, graded by your instructor — not answered yet"
        in text
    )
    assert "Fix the first failing test" not in text and "finish the exercises marked TODO" in text
    text = str(_report([passed, failed]))
    assert (
        "Fix the first failing test (Exercise 2: mse_scale — test_mse_scale), run its cell again"
        in text
    )
    assert "[FAIL] Exercise 2: mse_scale — test_mse_scale: AssertionError: scale too small" in text
    assert "Fix the first failing test (Exercise 2" in str(_report([passed, failed], mode="file"))
    done = str(_report([passed, TestOutcome("test_mse_scale", 4, True)]))
    assert (
        "All visible tests pass" in done
        and "Fix the first" not in done
        and "Checked: somewhere" in done
    )
    ko = str(_report([passed, failed], lang="ko"))
    assert "[통과] 연습문제 1: quantize_affine" in ko and "[서술형] 서술형 문제 2: written_b" in ko
    assert (
        "처음 실패한 테스트부터(연습문제 2: mse_scale — test_mse_scale)" in ko and "교수자가" in ko
    )
    html = _report([passed, failed])._repr_html_()
    assert (
        "Exercise 2: mse_scale" in html
        and "graded by your instructor" in html
        and "Fix the first" in html
    )


def test_a_name_the_kernel_never_defined_reads_as_not_run_yet():
    text = str(
        _report(
            [
                TestOutcome(
                    "test_quantize_affine",
                    3,
                    False,
                    "NameError: name 'quantize_affine' is not defined",
                )
            ]
        )
    )
    assert (
        "[TODO] Exercise 1: quantize_affine — test_quantize_affine: not run in this kernel yet"
        in text
    )
    assert "Fix the first failing test" not in text


def test_exercise_numbers_and_written_answers_come_from_the_notebook():
    src = nbformat.read(ROOT / "solutions" / "01_quantization.ipynb", as_version=4)
    lab = nbformat.read(ROOT / "labs" / "01_quantization.ipynb", as_version=4)
    tests = [
        i
        for i, c in enumerate(lab.cells)
        if c.metadata.get("nbgrader", {}).get("grade")
        and not c.metadata["nbgrader"].get("solution")
    ]
    names = {
        lab.cells[i].metadata["nbgrader"]["grade_id"]: ex
        for i, ex in zip(tests, selfcheck.exercises_of(lab, tests), strict=True)
    }
    assert names["test_mse_scale"] == Exercise(2, "mse_scale")
    assert names["test_shared_exponent"] == Exercise(5, "shared_exponent")
    # the released stub says the same number
    assert any(
        "Exercise 2" in c.source and "mse_scale" in c.source
        for c in lab.cells
        if c.cell_type == "code"
    )
    assert [(w.grade_id, w.points, w.answered) for w in selfcheck.written_answers(lab)] == [
        ("written_int8_vs_fp8", 3.0, False),
        ("written_group_scales", 3.0, False),
    ]
    assert all(w.answered for w in selfcheck.written_answers(src))


class FakeShell:
    """What check() reads from an IPython kernel: its namespace (and that it is a kernel)."""

    kernel = object()

    def __init__(self, ns):
        self.user_ns = ns


def _lab(tmp_path, name="tiny.ipynb", add=None, mul=None):
    shutil.copyfile(FIXTURES / "tiny" / "data.txt", tmp_path / "data.txt")
    nbformat.write(student_notebook(add, mul), tmp_path / name)
    return tmp_path / name


def test_a_copy_finds_itself_and_checks_the_kernels_unsaved_answers(tmp_path, monkeypatch, capsys):
    _lab(tmp_path, "tiny.ipynb", ADD, MUL)  # the original: finished and saved
    copy = _lab(tmp_path, "tiny-Copy1.ipynb")  # the copy: saved as released (stubs)
    ns = {"__vsc_ipynb_file__": str(copy)}
    exec(ADD + "\n" + MUL_WRONG, ns)  # typed and run in the copy, never saved
    monkeypatch.setattr(selfcheck, "_kernel_shell", lambda: FakeShell(ns))
    monkeypatch.chdir(tmp_path)
    result = selfcheck.check(progress=False)
    assert result.notebook == "tiny-Copy1.ipynb" and result.mode == "kernel"
    assert [(o.grade_id, o.passed) for o in result.outcomes] == [
        ("test_add", True),
        ("test_mul", False),
    ]
    text = str(result)
    assert "Checked: the answers in this kernel" in text and str(copy.resolve()) in text
    assert "Fix the first failing test (Exercise 2: mul — test_mul)" in text
    assert (
        "mul" in ns and "BASE" not in ns and not any(k.startswith("test_") for k in ns)
    )  # kernel untouched
    # the same call, naming the file, checks the same; the saved file is what `source="file"` runs
    assert [o.passed for o in selfcheck.check("tiny-Copy1.ipynb", progress=False).outcomes] == [
        True,
        False,
    ]
    capsys.readouterr()
    saved = selfcheck.check(copy, source="file")  # a progress bar on stderr while the cells run
    assert "self-check" in capsys.readouterr().err
    assert saved.mode == "file" and [o.passed for o in saved.outcomes] == [False, False]
    assert "Checked: the saved file" in str(saved) and "not attempted yet" in str(saved)


def test_the_notebook_is_found_without_a_name(tmp_path, monkeypatch):
    nb = _lab(tmp_path, "mine.ipynb")
    other = _lab(tmp_path, "other.ipynb")
    monkeypatch.setattr(selfcheck, "_from_server_sessions", lambda: None)
    assert selfcheck.own_notebook(FakeShell({"__vsc_ipynb_file__": str(nb)}), environ={}) == nb
    assert selfcheck.own_notebook(FakeShell({}), environ={"JPY_SESSION_NAME": str(other)}) == other
    monkeypatch.chdir(tmp_path)
    relative = {"JPY_SESSION_NAME": "course/labs/other.ipynb"}  # a path under the server's root
    found = selfcheck.own_notebook(FakeShell({}), environ=relative)
    assert found.resolve() == other.resolve()
    monkeypatch.chdir(tmp_path)  # nbval, nbclient: nothing says; the cells the kernel ran do
    ran = ["", "BASE = int(open('data.txt').read())", "import npulab\nnpulab.check()"]
    other_nb = nbformat.read(other, as_version=4)
    other_nb.cells.append(nbformat.v4.new_code_cell("print('only in other')"))
    nbformat.write(other_nb, other)
    assert (
        selfcheck.own_notebook(FakeShell({"In": [*ran, "print('only in other')"]}), environ={})
        == other
    )
    assert selfcheck.own_notebook(FakeShell({"In": ["x = 1"]}), environ={}) is None
    # nbval stores no history: the exercise functions the kernel holds tell; copies tie, the
    # most recently saved wins
    os.utime(nb, (2e9, 2e9))
    assert selfcheck.own_notebook(FakeShell({"add": len, "In": [""]}), environ={}) == nb
    monkeypatch.setattr(selfcheck, "_kernel_shell", lambda: FakeShell({"In": ["x = 1"]}))
    with pytest.raises(ValueError, match="could not tell which notebook"):
        selfcheck.check(progress=False)


def test_bad_source_is_one_line():
    with pytest.raises(
        ValueError, match="check source must be one of auto, kernel, file; got 'disk'"
    ):
        selfcheck.check(str(SOURCE), source="disk")
    with pytest.raises(ValueError, match="needs an IPython kernel"):
        selfcheck.check(str(SOURCE), source="kernel")


def test_closing_cell_runs_on_a_fresh_kernel_and_checks_unsaved_work(tmp_path):
    """A real kernel (as Jupyter starts one): nothing imported, the notebook never saved
    since the student typed ``add``; the lab's closing cell alone reports it passed."""
    jupyter_client = pytest.importorskip("jupyter_client")
    nb = _lab(tmp_path, "tiny-Copy1.ipynb")
    km = jupyter_client.KernelManager(kernel_name="python3")
    km.start_kernel(
        cwd=str(tmp_path), env={**os.environ, "JPY_SESSION_NAME": str(nb)}
    )
    try:
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        out = []

        def run(code):
            reply = kc.execute_interactive(
                code,
                timeout=120,
                output_hook=lambda m: out.append(
                    m["content"].get("text") or m["content"].get("data", {}).get("text/plain", "")
                ),
            )
            return reply["content"]["status"]

        assert run(ADD) == "ok"
        assert run("import npulab\nnpulab.check(progress=False)") == "ok"
        text = "".join(out)
        assert (
            "Self-check of tiny-Copy1.ipynb" in text
            and "Checked: the answers in this kernel" in text
        )
        assert "[PASS] Exercise 1: add — test_add: 2/2 pts" in text
        assert "[TODO] Exercise 2: mul — test_mul: not run in this kernel yet" in text
        kc.stop_channels()
    finally:
        km.shutdown_kernel(now=True)


def test_every_lab_closes_with_the_argument_free_check():
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        last = nbformat.read(path, as_version=4).cells[-1]
        assert last.source == "import npulab\nnpulab.check()", path.name
