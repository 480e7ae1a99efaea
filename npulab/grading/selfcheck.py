"""The learner's self-check: run my saved notebook against the lab's released tests.

``npulab.check("00_orientation.ipynb")`` (last cell of every lab) or
``npulab check LAB.ipynb`` on the command line.  The saved notebook runs in a fresh
driver process (:mod:`npulab.grading.engine`, the autograder's engine, without the OS
sandbox: it is the learner's own code on the learner's machine); its test cells run in
the calling process against the notebook's functions, as under the autograder.

Honest by construction:

* the tests run are the lab's *released* tests: ``npulab release`` writes each test cell's
  SHA-256 to ``test_hashes.json`` beside the released notebooks
  (:data:`npulab.grading.release.MANIFEST`: a file of its own, so editing a notebook's test
  cells and the hashes stored in the notebook does not fool it) and into the cell
  (``metadata.npulab.test_sha256``, used only when no manifest is found, with a note); a
  test cell whose text no longer matches is reported as modified and fails (with
  ``metadata.npulab.test_source`` present, the released text is restored and run instead);
* it is **advisory** and says so: the grade comes from the instructor's autograder, which
  takes every test cell (hidden ones included) from its own source notebook;
* a notebook with no test cells reports "no tests found" and does not pass;
* the driver is shut down when the check ends, whatever happened.

Inside a self-check or grading run, ``check()`` returns "skipped" before importing anything
(``NPULAB_SELF_CHECK`` / nbgrader's ``NBGRADER_EXECUTION``), so the closing cell is cheap.
"""
from __future__ import annotations

import hashlib
import html
import os
from dataclasses import dataclass
from pathlib import Path

from npulab.i18n.messages import resolve_lang, t

_ENV = "NPULAB_SELF_CHECK"


@dataclass(frozen=True)
class CheckResult:
    """The outcome of a self-check: one :class:`TestOutcome` per visible graded test."""

    notebook: str
    outcomes: tuple
    notes: tuple = ()
    modified: tuple = ()  # grade_ids of test cells edited since release
    lang: str = "en"  # language of the report (npulab.i18n.messages)

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
        """Every visible test passed (False when there are no tests)."""
        return bool(self.outcomes) and all(o.passed for o in self.outcomes)

    def _lines(self) -> list[tuple[str, str, str]]:
        rows = []
        for o in self.outcomes:
            if o.passed:
                rows.append(("PASS", o.grade_id, t("check_points", self.lang, points=f"{o.points:g}")))
            elif o.not_attempted:
                rows.append(("TODO", o.grade_id, t("check_todo", self.lang)))
            else:
                rows.append(("FAIL", o.grade_id, o.message))
        return rows

    def _mark(self, mark: str) -> str:
        return t(f"mark_{mark.lower()}", self.lang)

    def __str__(self) -> str:
        if not self.outcomes:
            return t("check_no_tests", self.lang, notebook=self.notebook)
        lines = [t("check_header", self.lang, notebook=self.notebook, score=f"{self.score:g}",
                   max_score=f"{self.max_score:g}")]
        for mark, gid, text in self._lines():
            lines.append(f"  [{self._mark(mark)}] {gid}: {text}")
        for note in self.notes:
            lines.append("  " + t("check_note", self.lang, note=note))
        lines.append(t("check_all_passed" if self.all_passed else "check_fix_first", self.lang))
        lines.append(t("check_advisory", self.lang))
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        colour = {"PASS": "#2e7d32", "TODO": "#9e6a00", "FAIL": "#c62828"}
        rows = "".join(
            f"<tr><td style='color:{colour[m]};font-weight:bold'>{html.escape(self._mark(m))}</td>"
            f"<td>{html.escape(g)}</td><td style='text-align:left'>{html.escape(t)}</td></tr>"
            for m, g, t in self._lines()
        )
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        header = t("check_header", self.lang, notebook=self.notebook, score=f"{self.score:g}",
                   max_score=f"{self.max_score:g}")
        advisory = f"<p><i>{html.escape(t('check_advisory', self.lang))}</i></p>"
        return (f"<p><b>{html.escape(header)}</b></p><table>{rows}</table>" + (f"<ul>{notes}</ul>" if notes else "")
                + advisory)


class _Skipped:
    """What ``check()`` returns inside a self-check run (prints one line)."""

    def __repr__(self) -> str:
        return t("check_skipped")


def check(notebook=None, *, timeout: float = 300.0, lang: str | None = None):
    """Run a saved lab notebook in a fresh process and report its released visible tests.

    See :func:`npulab.check` for the user-facing description.
    """
    if os.environ.get(_ENV) or os.environ.get("NBGRADER_EXECUTION"):
        return _Skipped()  # inside a self-check, npulab grade or nbgrader autograde run
    timeout = _check_timeout(timeout)
    path = _notebook_path(notebook)
    import nbformat

    from npulab.grading.engine import run_notebook_cells, start_driver
    from npulab.grading.isolation import NoSandbox
    from npulab.grading.outcome import is_test_cell

    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:
        raise ValueError(f"{path}: not a readable notebook ({err.__class__.__name__})") from None
    lang = resolve_lang(lang, notebook_lang=(nb.metadata.get("npulab") or {}).get("lang"))
    tests = [i for i, c in enumerate(nb.cells) if is_test_cell(c)]
    if not tests:
        return CheckResult(notebook=path.name, outcomes=(), notes=(t("check_no_tests_note", lang),), lang=lang)
    from npulab.grading.release import read_manifest

    notes, modified, broken = _released_tests(nb, tests, lang, read_manifest(path))
    n_code = sum(c.cell_type == "code" for c in nb.cells)
    runnable = set(tests) - set(broken)
    for i in broken:  # a modified test cell is neither run here nor in the student's process
        nb.cells[i].cell_type = "raw"
    with start_driver(path.resolve().parent, sandbox=NoSandbox()) as session:
        run = run_notebook_cells(nb, session, tests=runnable, cell_timeout=timeout,
                                 notebook_timeout=timeout * max(n_code, 1), max_output_bytes=64 * 2**20,
                                 test_cwd=path.resolve().parent, lang=lang)
    notes = list(run.notes) + notes + _crash_note(nb, run.errors, lang)
    outcomes = tuple(broken.get(i) or run.outcomes[i] for i in tests)
    return CheckResult(notebook=path.name, outcomes=outcomes, notes=tuple(notes), modified=tuple(modified),
                       lang=lang)


def _check_timeout(timeout) -> float:
    """``timeout`` as a finite float > 0 (one-line ``ValueError`` otherwise)."""
    try:
        timeout = float(timeout)
    except (TypeError, ValueError):
        raise ValueError(f"check timeout must be a number of seconds > 0; got {timeout!r}") from None
    if not timeout > 0 or timeout != timeout or timeout == float("inf"):
        raise ValueError(f"check timeout must be a number of seconds > 0; got {timeout:g}")
    return timeout


def _notebook_path(notebook) -> Path:
    """The notebook file to check (default: the running Jupyter session's)."""
    if notebook is None:
        notebook = os.environ.get("JPY_SESSION_NAME")
        if not notebook:
            raise ValueError("check() needs the notebook's file name, e.g. npulab.check('00_orientation.ipynb')")
    path = Path(notebook)
    if not path.is_file():
        raise ValueError(f"notebook not found: {path} (save it first, and give its file name)")
    return path


def _released_tests(nb, tests, lang, manifest=None):
    """Put the released text back into edited test cells where it is known; otherwise mark
    them modified.  The released hashes come from ``manifest`` (the release's
    :data:`~npulab.grading.release.MANIFEST`, which the student's edits to the notebook do not
    reach) when there is one, else from the notebook's own ``test_sha256``.  Returns
    ``(notes, modified grade_ids, {index: failed TestOutcome})``."""
    from npulab.grading.outcome import TestOutcome
    from npulab.grading.release import nbgrader_meta

    notes, modified, broken = [], [], {}
    if manifest is None:
        notes.append(t("check_no_manifest", lang))
    for i in tests:
        cell = nb.cells[i]
        meta = cell.get("metadata", {}).get("npulab", {}) or {}
        released = meta.get("test_source")
        gid = str(nbgrader_meta(cell).get("grade_id", i))
        digest = meta.get("test_sha256") if manifest is None else manifest.get(gid, "")
        if isinstance(released, str) and (_sha(released) == digest or (manifest is None and not digest)):
            if cell.source != released:
                modified.append(gid)
                notes.append(t("check_test_restored", lang, gid=gid))
                cell.source = released
        elif isinstance(digest, str) and _sha(cell.source) != digest:
            modified.append(gid)
            notes.append(t("check_test_modified", lang, gid=gid))
            broken[i] = TestOutcome(gid, float(nbgrader_meta(cell).get("points", 0) or 0), False,
                                    t("check_not_run_modified", lang))
    return notes, modified, broken


def _crash_note(nb, errors: dict, lang) -> list:
    """The first crash outside the tests (it explains later failures), as a note."""
    from npulab.grading.engine import cell_name

    for i, error in sorted(errors.items()):
        if not error.startswith("NotImplementedError"):
            return [t("check_crash_note", lang, cell=cell_name(nb.cells[i], i), error=error[:200])]
    return []


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
