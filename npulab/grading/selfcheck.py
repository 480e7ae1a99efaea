"""The learner's self-check: run my saved notebook against its visible tests.

``npulab.check("00_orientation.ipynb")`` (last cell of every lab) or
``npulab check LAB.ipynb`` on the command line.  The notebook runs in a fresh kernel, so
it sees what is saved on disk; a ``check`` cell inside that run does nothing (the
``NPULAB_SELF_CHECK`` variable marks it, and nbgrader's ``NBGRADER_EXECUTION`` likewise), so
there is no recursion.  Only the tests in the
learner's notebook run (the released lab has no hidden tests).  A cell that runs past
``timeout`` is interrupted and the check goes on; a kernel that dies is reported, with the
tests that ran before it.
"""
from __future__ import annotations

import html
import os
from dataclasses import dataclass
from pathlib import Path

import nbformat

from npulab.grading.execute import TestOutcome, is_test_cell

_ENV = "NPULAB_SELF_CHECK"


@dataclass(frozen=True)
class CheckResult:
    """The outcome of a self-check: one :class:`TestOutcome` per visible graded test."""

    notebook: str
    outcomes: tuple[TestOutcome, ...]
    notes: tuple[str, ...] = ()

    @property
    def score(self) -> float:
        """Points earned on the visible tests."""
        return sum(o.score for o in self.outcomes)

    @property
    def max_score(self) -> float:
        """Points available in the visible tests' cells."""
        return sum(o.points for o in self.outcomes)

    @property
    def all_passed(self) -> bool:
        """Every visible test passed."""
        return all(o.passed for o in self.outcomes)

    def _lines(self) -> list[tuple[str, str, str]]:
        rows = []
        for o in self.outcomes:
            if o.passed:
                rows.append(("PASS", o.grade_id, f"{o.points:g}/{o.points:g} pts"))
            elif o.not_attempted:
                rows.append(("TODO", o.grade_id, "not attempted yet (the stub still raises NotImplementedError)"))
            else:
                rows.append(("FAIL", o.grade_id, o.message))
        return rows

    def __str__(self) -> str:
        lines = [f"Self-check of {self.notebook}: {self.score:g}/{self.max_score:g} points on visible tests"]
        for mark, gid, text in self._lines():
            lines.append(f"  [{mark}] {gid}: {text}")
        for note in self.notes:
            lines.append(f"  Note: {note}")
        if self.all_passed:
            lines.append("All visible tests pass. Hidden tests are run by your instructor's autograder.")
        else:
            lines.append("Fix the first failing test, save (Ctrl-S), and run the check again.")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        colour = {"PASS": "#2e7d32", "TODO": "#9e6a00", "FAIL": "#c62828"}
        rows = "".join(
            f"<tr><td style='color:{colour[m]};font-weight:bold'>{m}</td>"
            f"<td>{html.escape(g)}</td><td style='text-align:left'>{html.escape(t)}</td></tr>"
            for m, g, t in self._lines()
        )
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return (
            f"<p><b>Self-check of {html.escape(self.notebook)}</b>: {self.score:g}/{self.max_score:g} "
            f"points on visible tests</p><table>{rows}</table>" + (f"<ul>{notes}</ul>" if notes else "")
        )


class _Skipped:
    """What ``check()`` returns inside a self-check run (prints one line)."""

    def __repr__(self) -> str:
        return "(self-check: skipped inside a self-check run)"


def check(notebook=None, *, timeout: float = 300.0):
    """Run a saved lab notebook in a fresh kernel and report its visible tests.

    See :func:`npulab.check` for the user-facing description.
    """
    if os.environ.get(_ENV) or os.environ.get("NBGRADER_EXECUTION"):
        return _Skipped()  # inside a self-check, npulab grade or nbgrader autograde run
    if notebook is None:
        notebook = os.environ.get("JPY_SESSION_NAME")
        if not notebook:
            raise ValueError("check() needs the notebook's file name, e.g. npulab.check('00_orientation.ipynb')")
    path = Path(notebook)
    if not path.is_file():
        raise ValueError(f"notebook not found: {path} (save it first, and give its file name)")
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:
        raise ValueError(f"{path}: not a readable notebook ({err.__class__.__name__})") from None
    from npulab.grading.runner import cell_name, execute_cells, outcome_of, run_coroutine

    # Run like the autograder does (a hanging cell is interrupted, a dead kernel is
    # reported), but in the notebook's own folder and with the ordinary kernel.
    n_code = sum(c.cell_type == "code" for c in nb.cells)
    fate, _, notes = run_coroutine(execute_cells(
        nb, cwd=path.resolve().parent, cell_timeout=timeout, notebook_timeout=timeout * max(n_code, 1),
        max_output_bytes=64 * 2**20, env={_ENV: "1"}))
    outcomes = tuple(outcome_of(cell, fate.get(i)) for i, cell in enumerate(nb.cells) if is_test_cell(cell))
    for i, cell in enumerate(nb.cells):  # the first crash outside the tests explains later failures
        if fate.get(i) == "error" and not is_test_cell(cell):
            error = outcome_of(cell, "error").message
            if not error.startswith("NotImplementedError"):
                notes.append(f"{cell_name(cell, i)} raised {error[:200]}; tests after it may fail because of it")
                break
    return CheckResult(notebook=path.name, outcomes=outcomes, notes=tuple(notes))
