"""Put the instructor's cells back into a student's notebook (matched by ``grade_id``)."""
from __future__ import annotations

import copy

from npulab.grading.outcome import is_test_cell
from npulab.grading.release import nbgrader_meta


def is_instructor_cell(cell) -> bool:
    """A cell the autograder takes from the source: graded tests and locked cells."""
    meta = nbgrader_meta(cell)
    if not meta.get("grade_id"):
        return False
    return is_test_cell(cell) or (bool(meta.get("locked")) and not meta.get("solution"))


def restore_source_cells(source, student, keep=is_instructor_cell):
    """The student's notebook with every ``keep`` cell of ``source`` put back.

    Cells are matched by ``grade_id``.  The source's version replaces the student's (source
    text AND metadata); duplicates the student made are dropped; a cell the student deleted
    is put back after the source cell that precedes it (or at the end).  The result holds
    hidden tests: never write it where students can read it.
    """
    student = copy.deepcopy(student)
    wanted = {nbgrader_meta(c).get("grade_id"): c for c in source.cells if keep(c)}
    cells, seen = [], set()
    for cell in student.cells:
        gid = nbgrader_meta(cell).get("grade_id")
        if gid in wanted:
            if gid not in seen:
                cells.append(copy.deepcopy(wanted[gid]))
                seen.add(gid)
            continue
        cells.append(cell)
    previous = None
    for cell in source.cells:
        gid = nbgrader_meta(cell).get("grade_id")
        if gid in wanted and gid not in seen:
            ids = [nbgrader_meta(c).get("grade_id") for c in cells]
            pos = ids.index(previous) + 1 if previous in ids else len(cells)
            cells.insert(pos, copy.deepcopy(wanted[gid]))
            seen.add(gid)
        if gid is not None:
            previous = gid
    student.cells = cells
    return student


def without_tests(nb):
    """A copy of ``nb`` without its test cells (what the instructor's notebook defines)."""
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if not is_test_cell(c)]
    return nb
