"""Run notebooks in a fresh kernel and read the outcome of their graded test cells.

nbgrader's rule: a graded test cell (``nbgrader.grade`` true, no solution) earns its
``points`` when it runs without an error, and nothing otherwise.
"""
from __future__ import annotations

import copy
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import nbformat

from npulab.grading.release import nbgrader_meta


@dataclass(frozen=True)
class TestOutcome:
    """One graded test cell after a run."""

    __test__ = False  # not a pytest test class

    grade_id: str
    points: float
    passed: bool
    message: str = ""

    @property
    def score(self) -> float:
        """``points`` if passed, else 0."""
        return self.points if self.passed else 0.0

    @property
    def not_attempted(self) -> bool:
        """The test failed because a stub still raises ``NotImplementedError``."""
        return not self.passed and self.message.startswith("NotImplementedError")


def is_test_cell(cell) -> bool:
    """A graded test cell: ``grade`` true and ``solution`` false (nbgrader's autograder tests)."""
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def run_notebook(nb, *, cwd=".", timeout: float = 300.0, env: dict | None = None):
    """Execute a notebook node top to bottom in a fresh kernel; return the executed copy.

    Errors do not stop the run (``allow_errors``), so every test cell gets its chance.
    ``env`` entries are added to the kernel's environment.
    """
    from nbclient import NotebookClient

    nb = copy.deepcopy(nb)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(cwd)}},
    )
    # The kernel's own stderr (start-up warnings) is not the student's output: drop it.
    client.execute(env={**os.environ, **(env or {})}, stderr=subprocess.DEVNULL)
    return nb


def _error_of(cell) -> str:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            value = out.get("evalue", "")
            return f"{out.get('ename', 'Error')}: {value}" if value else out.get("ename", "Error")
    return ""


def test_results(nb) -> list[TestOutcome]:
    """The outcome of every graded test cell of an executed notebook, in order."""
    outcomes = []
    for cell in nb.cells:
        if not is_test_cell(cell):
            continue
        meta = nbgrader_meta(cell)
        message = _error_of(cell)
        ran = cell.get("execution_count") is not None or bool(cell.get("outputs"))
        if not ran and not message:
            message = "not run"
        outcomes.append(
            TestOutcome(
                grade_id=str(meta.get("grade_id", "")),
                points=float(meta.get("points", 0)),
                passed=ran and not message,
                message=message,
            )
        )
    return outcomes


test_results.__test__ = False  # a helper, not a pytest test


def merge_tests(source, student):
    """The student's notebook with every graded test cell taken from ``source``.

    A test cell is matched by ``grade_id``; a test the student deleted is put back after
    the cell that precedes it in the source (or at the end).  The source's cells carry
    the hidden tests, so the result must never be written where students can read it.
    """
    from npulab.grading.autograde import restore_source_cells

    return restore_source_cells(source, student, keep=is_test_cell)


def grade_against_source(source_path, student_path, *, timeout: float = 300.0) -> list[TestOutcome]:
    """Run ``student_path`` with the test cells (hidden ones included) of ``source_path``.

    The kernel runs in the student notebook's folder.  This is the core of the
    autograder; see ``npulab grade`` for the sandboxed, class-wide version.
    """
    source = nbformat.read(Path(source_path), as_version=4)
    student = nbformat.read(Path(student_path), as_version=4)
    merged = merge_tests(source, student)
    executed = run_notebook(merged, cwd=Path(student_path).parent, timeout=timeout,
                            env={"NPULAB_SELF_CHECK": "1"})
    return test_results(executed)
