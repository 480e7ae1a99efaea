"""Test outcomes, test cells, and the nbclient helper that stores a notebook's outputs.

A graded test cell (``nbgrader.grade`` true, no solution) earns its ``points`` when it runs
to completion in the trusted grader process (:mod:`npulab.grading.engine`, the one
grading engine); :func:`run_notebook` (nbclient) only executes a whole notebook to store
its outputs (authoring, nbval), it does not grade.
"""
from __future__ import annotations

import copy
import os
import subprocess
from pathlib import Path

import nbformat

from npulab.grading.outcome import TestOutcome, is_test_cell
from npulab.grading.release import nbgrader_meta

__all__ = ["TestOutcome", "is_test_cell", "run_notebook", "test_results", "merge_tests", "grade_against_source"]


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


test_results.__dict__["__test__"] = False  # a helper, not a pytest test


def merge_tests(source, student):
    """The student's notebook with every graded test cell taken from ``source``.

    A test cell is matched by ``grade_id``; a test the student deleted is put back after
    the cell that precedes it in the source (or at the end).  The source's cells carry
    the hidden tests, so the result must never be written where students can read it.
    """
    from npulab.grading.merge import restore_source_cells

    return restore_source_cells(source, student, keep=is_test_cell)


def grade_against_source(source_path, student_path, *, timeout: float = 300.0) -> list[TestOutcome]:
    """Run ``student_path`` with the test cells (hidden ones included) of ``source_path``.

    No sandbox: the notebook runs in a driver process in the student notebook's folder,
    the tests in this process (:mod:`npulab.grading.engine`).  For untrusted work use
    ``npulab grade`` (sandboxed, class-wide).
    """
    from npulab.grading.engine import run_notebook_cells, start_driver
    from npulab.grading.isolation import NoSandbox
    from npulab.grading.merge import without_tests

    source = nbformat.read(Path(source_path), as_version=4)
    student = nbformat.read(Path(student_path), as_version=4)
    merged = restore_instructor_cells(source, student)
    n_code = sum(c.cell_type == "code" for c in merged.cells)
    with start_driver(Path(student_path).resolve().parent, sandbox=NoSandbox()) as session:
        run = run_notebook_cells(merged, session, cell_timeout=timeout, notebook_timeout=timeout * max(n_code, 1),
                                 max_output_bytes=64 * 2**20, allow_from=without_tests(source),
                                 test_cwd=Path(source_path).resolve().parent)
    return [run.outcomes[i] for i, c in enumerate(merged.cells) if is_test_cell(c)]


def restore_instructor_cells(source, student):
    """:func:`npulab.grading.merge.restore_source_cells` (tests and locked cells)."""
    from npulab.grading.merge import restore_source_cells

    return restore_source_cells(source, student)
