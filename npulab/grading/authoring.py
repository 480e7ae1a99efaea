"""Write lab notebooks from Python: cells with nbgrader metadata and stable ids.

An instructor can author ``solutions/NN_name.ipynb`` in Jupyter directly; these helpers
are for building one from a script, with the metadata nbgrader 0.9 expects::

    from npulab.grading import authoring as A
    nb = A.notebook([
        A.markdown("# Lab 00", grade_id="intro"),
        A.solution("gemm_macs", "def gemm_macs(M, N, K):\\n    ### BEGIN SOLUTION\\n"
                   "    return M * N * K\\n    ### END SOLUTION"),
        A.tests("test_gemm_macs", 2, "assert gemm_macs(2, 3, 4) == 24"),
    ])
    A.write_executed(nb, "solutions/00_orientation.ipynb")

Cell ids are derived from the grade_id (or the cell's index), so rebuilding a notebook
gives the same file.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

SCHEMA_VERSION = 3


def _meta(grade_id, *, solution=False, grade=False, locked=False, points=None) -> dict:
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": SCHEMA_VERSION,
        "solution": solution,
        "task": False,
    }
    if points is not None:
        meta["points"] = points
    return meta


def markdown(text: str, grade_id: str | None = None):
    """A Markdown cell; with a ``grade_id`` it is locked (read-only instructions)."""
    cell = new_markdown_cell(text.strip("\n"))
    if grade_id:
        cell.metadata["nbgrader"] = _meta(grade_id, locked=True)
    return cell


def code(text: str, grade_id: str | None = None, tags=()):
    """An ordinary code cell (a demo, a plot); with a ``grade_id`` it is locked."""
    cell = new_code_cell(text.strip("\n"))
    if grade_id:
        cell.metadata["nbgrader"] = _meta(grade_id, locked=True)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def solution(grade_id: str, text: str, mutants=None, forbid=None):
    """A cell the student writes (``### BEGIN SOLUTION`` / ``### END SOLUTION`` inside).

    ``mutants``: plausible wrong answers for ``npulab mutants``, each
    ``{"name": ..., "replace": [[old, new], ...]}`` or ``{"name": ..., "source": ...}``
    (stored in ``metadata.npulab.mutants``; release drops them).  ``forbid``: what the
    answer may not use (``metadata.npulab.forbid``, released; see :mod:`npulab.grading.forbid`).
    """
    cell = new_code_cell(text.strip("\n"))
    cell.metadata["nbgrader"] = _meta(grade_id, solution=True)
    if mutants:
        cell.metadata["npulab"] = {"mutants": [dict(m) for m in mutants]}
    if forbid:
        from npulab.grading.forbid import Forbid

        Forbid.from_meta(forbid)  # a bad rule fails here, where it is written
        cell.metadata.setdefault("npulab", {})["forbid"] = dict(forbid)
    return cell


def written(grade_id: str, points: float, answer: str, rubric: str):
    """A manually graded written answer (nbgrader: solution, grade, unlocked Markdown).

    The model answer and its rubric sit between the solution markers, so the released
    notebook shows ``YOUR ANSWER HERE``; the question belongs in the locked cell above.
    """
    text = (f"### BEGIN SOLUTION\n{answer.strip()}\n\n**Rubric ({points:g} points):** "
            f"{rubric.strip()}\n### END SOLUTION")
    cell = new_markdown_cell(text)
    cell.metadata["nbgrader"] = _meta(grade_id, solution=True, grade=True, points=points)
    return cell


def tests(grade_id: str, points: float, text: str):
    """A graded, locked test cell worth ``points`` (may hold ``### BEGIN HIDDEN TESTS``)."""
    cell = new_code_cell(text.strip("\n"))
    cell.metadata["nbgrader"] = _meta(grade_id, grade=True, locked=True, points=points)
    return cell


def notebook(cells, *, kernel: str = "python3"):
    """A notebook node with stable cell ids and a Python 3 kernelspec."""
    nb = new_notebook(cells=list(cells))
    used = set()
    for index, cell in enumerate(nb.cells):
        base = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell-{index:02d}"
        cid = base.replace("_", "-")
        while cid in used:
            cid = f"{cid}-{index}"
        used.add(cid)
        cell["id"] = cid
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": kernel}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def write_executed(nb, path, *, timeout: float = 600.0) -> Path:
    """Execute ``nb`` in a fresh kernel in ``path``'s folder, store the outputs, write it.

    Raises nbclient's ``CellExecutionError`` at the first cell that errors (a solution
    must run clean).
    """
    from nbclient import NotebookClient

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)  # on disk first: a self-check cell runs the saved notebook
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute(stderr=subprocess.DEVNULL)
    nb.metadata["language_info"] = {"name": "python"}
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)
    return path
