"""A graded test's outcome, and which cells are graded tests (a leaf module).

nbgrader's rule, kept by npulab: a graded test cell (``nbgrader.grade`` true, no solution)
earns its ``points`` when it runs to completion, and nothing otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from npulab.grading.release import nbgrader_meta


@dataclass(frozen=True)
class TestOutcome:
    """One graded test cell after a run."""

    __test__ = False  # not a pytest test class

    grade_id: str
    points: float
    passed: bool
    message: str = ""
    #: Instructor-only detail of a failed hidden test (``test``, ``message``, ``inputs``): stored
    #: in the gradebook database, never shown to students.
    detail: dict = field(default_factory=dict, compare=False, repr=False)

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
