"""nbgrader 0.9 itself, run on npulab notebooks: same student version, same scores."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from grading_fixtures import SOURCE

from npulab.grading import release_notebook
from npulab.grading.classroom import find_submissions
from npulab.grading.execute import is_test_cell

pytest.importorskip("nbgrader", reason="nbgrader (dev extra) is not installed")
from npulab.grading import nbgrader_compat  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
# nbgrader's own SQLAlchemy session warnings (not ours).
pytestmark = pytest.mark.filterwarnings("ignore:Object of type:Warning")
KEYS = ("grade", "solution", "locked", "points")


def graded_cells(nb):
    """grade_id -> (cell type, source, nbgrader flags) of every cell nbgrader tracks."""
    out = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") or meta.get("solution") or meta.get("locked"):
            flags = tuple(meta.get(k) for k in KEYS)
            # npulab's stub names the exercise; nbgrader's is bare: compare them without it.
            source = re.sub(r'raise NotImplementedError\(".*"\)', "raise NotImplementedError()", cell.source)
            out[meta["grade_id"]] = (cell.cell_type, source.rstrip(), flags)
    return out


@pytest.mark.parametrize("source", [SOURCE, ROOT / "solutions" / "00_orientation.ipynb"], ids=["tiny", "lab00"])
def test_nbgrader_generate_assignment_matches_npulab_release(source, tmp_path):
    student = nbformat.read(nbgrader_compat.generate_assignment(source, tmp_path / "course"), as_version=4)
    ours = release_notebook(nbformat.read(source, as_version=4))
    theirs_cells, our_cells = graded_cells(student), graded_cells(ours)
    assert list(theirs_cells) == list(our_cells)
    assert theirs_cells == our_cells
    assert any(is_test_cell(c) for c in student.cells)
    assert "BEGIN HIDDEN TESTS" not in nbformat.writes(student)


def test_nbgrader_autograde_totals_equal_npulab_grade(graded_class, tmp_path):
    subs_dir, _, _, run = graded_class
    students = ("correct", "wrong", "stub", "hidden_only_wrong")
    paths = {s.student: s.path for s in find_submissions(subs_dir, SOURCE.name) if s.student in students}
    theirs = nbgrader_compat.autograde(SOURCE, paths, tmp_path / "course", timeout=30)
    ours = {r.student: r.total for r in run.results if r.student in students}
    assert theirs == ours
    assert sorted(set(ours.values())) == [0, 2, 3, 5]  # the cases really differ
