"""The learner's self-check: run my answers against the lab's released tests.

The last cell of every lab is ``import npulab; npulab.check()`` (it imports what it needs,
so it also runs on a fresh kernel); ``npulab check LAB.ipynb`` is the command-line form.

What is checked, and the report says which (its ``Checked:`` line):

* **in a notebook** (``check()`` called from a Jupyter/IPython kernel): the answers *in this
  kernel* -- the exercise functions you ran, as you see them -- against the released tests
  read from the notebook's file.  Nothing has to be saved first: a kernel cannot save its
  notebook reliably (JupyterLab 4 and Notebook 7 no longer run ``IPython.notebook`` Javascript
  and do not expose the app to output Javascript unless ``exposeAppInBrowser`` is set;
  ipylab's ``docmanager:save`` needs a front-end extension and answers only after the cell
  ends; VS Code has no kernel-side save), so the check uses what the kernel holds.  Written
  answers are read from the saved file (the report says when it was saved);
* **from the command line** (or ``check(source="file")``): the *saved file*, run top to
  bottom in a fresh driver process (:mod:`npulab.grading.engine`, the autograder's engine,
  without the OS sandbox: it is the learner's own code on the learner's machine), its test
  cells in the calling process against the notebook's functions, as under the autograder.

The notebook is found without being named: VS Code's ``__vsc_ipynb_file__``, Jupyter's
``JPY_SESSION_NAME`` (the notebook the kernel was started for), else the running Jupyter
server's session list (the kernel's id from its connection file), else the notebook of the
current folder whose cells and exercise functions the kernel holds; so a copy
(``01_quantization-Copy1.ipynb``) checks itself.  ``check("name.ipynb")`` still works.

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

The report names each test by its exercise (``Exercise 2: mse_scale — test_mse_scale``, the
number of the released stub), lists the written questions' points as graded by the
instructor (a written answer still ``YOUR ANSWER HERE`` is "not answered yet"), and says
"Fix the first failing test" only when a test failed.  A progress bar runs while it works.

Inside a self-check or grading run, ``check()`` returns "skipped" before importing anything
(``NPULAB_SELF_CHECK`` / nbgrader's ``NBGRADER_EXECUTION``), so the closing cell is cheap.

References
----------
Why a kernel does not save its notebook: in JupyterLab the notebook lives in the browser until
the front end saves it (jupyterlab/jupyterlab#6161); ``Jupyter.notebook.save_checkpoint()``
Javascript works only in the classic notebook (ucbds-infra/otter-grader#448,
microsoft/pybryt#23); ``window.jupyterapp`` exists only with ``--expose-app-in-browser``
(jupyterlab/jupyterlab#11417).  ``JPY_SESSION_NAME``: set by jupyter_server's session
manager for the kernel it starts for a notebook.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import os
import time
from dataclasses import dataclass
from pathlib import Path

from npulab.i18n.messages import resolve_lang, t

_ENV = "NPULAB_SELF_CHECK"
#: ``source`` values of :func:`check`.
SOURCES = ("auto", "kernel", "file")


@dataclass(frozen=True)
class Exercise:
    """Which exercise a test cell checks: its number and the function the student writes."""

    number: int
    name: str


@dataclass(frozen=True)
class WrittenAnswer:
    """A written ("predict, then explain") question: graded by the instructor, never here."""

    grade_id: str
    points: float
    answered: bool
    number: int = 0


@dataclass(frozen=True)
class CheckResult:
    """The outcome of a self-check: one :class:`TestOutcome` per visible graded test.

    Attributes
    ----------
    notebook : str
        File name of the notebook checked.
    outcomes : tuple of TestOutcome
        One per visible graded test cell, in notebook order.
    exercises : tuple of Exercise or None
        The exercise of each outcome (same order); None where no solution cell precedes it.
    written : tuple of WrittenAnswer
        The written questions (their points are the instructor's to give).
    checked : str
        What was checked, in words (the report's ``Checked:`` line).
    mode : {"kernel", "file"}
        The answers in the calling kernel, or the saved file run in a fresh process.
    """

    notebook: str
    outcomes: tuple
    notes: tuple = ()
    modified: tuple = ()  # grade_ids of test cells edited since release
    lang: str = "en"  # language of the report (npulab.i18n.messages)
    exercises: tuple = ()
    written: tuple = ()
    checked: str = ""
    mode: str = "file"

    @property
    def score(self) -> float:
        """Points earned on the visible tests."""
        return sum(o.score for o in self.outcomes)

    @property
    def max_score(self) -> float:
        """Points available in the visible tests' cells."""
        return sum(o.points for o in self.outcomes)

    @property
    def written_points(self) -> float:
        """Points of the written questions (graded by the instructor).  Units: points."""
        return sum(w.points for w in self.written)

    @property
    def all_passed(self) -> bool:
        """Every visible test passed (False when there are no tests)."""
        return bool(self.outcomes) and all(o.passed for o in self.outcomes)

    def _kind(self, o) -> str:
        if o.passed:
            return "PASS"
        if o.not_attempted or _not_run_yet(o.message):
            return "TODO"
        return "FAIL"

    def _label(self, i: int, o) -> str:
        ex = self.exercises[i] if i < len(self.exercises) else None
        if ex is None:
            return o.grade_id
        return t("check_exercise", self.lang, n=ex.number, name=ex.name, gid=o.grade_id)

    def _lines(self) -> list[tuple[str, str, str]]:
        rows = []
        for i, o in enumerate(self.outcomes):
            kind, label = self._kind(o), self._label(i, o)
            if kind == "PASS":
                rows.append((kind, label, t("check_points", self.lang, points=f"{o.points:g}")))
            elif kind == "TODO" and o.not_attempted:
                rows.append((kind, label, t("check_todo", self.lang)))
            elif kind == "TODO":
                rows.append((kind, label, t("check_not_run_yet", self.lang, error=o.message)))
            else:
                rows.append((kind, label, o.message))
        for w in self.written:
            label = (
                t("check_question", self.lang, n=w.number, gid=w.grade_id)
                if w.number
                else w.grade_id
            )
            text = t(
                "check_written" if w.answered else "check_written_blank",
                self.lang,
                points=f"{w.points:g}",
            )
            rows.append(("WRITTEN", label, text))
        return rows

    def _mark(self, mark: str) -> str:
        return t(f"mark_{mark.lower()}", self.lang)

    def _header(self) -> str:
        text = t(
            "check_header",
            self.lang,
            notebook=self.notebook,
            score=f"{self.score:g}",
            max_score=f"{self.max_score:g}",
        )
        if self.written:
            text += t("check_header_written", self.lang, points=f"{self.written_points:g}")
        return text

    def _advice(self) -> str:
        failed = [i for i, o in enumerate(self.outcomes) if self._kind(o) == "FAIL"]
        if failed:
            return t(
                "check_fix_first" if self.mode == "file" else "check_fix_first_kernel",
                self.lang,
                test=self._label(failed[0], self.outcomes[failed[0]]),
            )
        if self.all_passed:
            return t("check_all_passed", self.lang)
        return t("check_finish_todo", self.lang)

    def __str__(self) -> str:
        if not self.outcomes:
            return t("check_no_tests", self.lang, notebook=self.notebook)
        lines = [self._header()]
        if self.checked:
            lines.append(self.checked)
        for mark, label, text in self._lines():
            lines.append(f"  [{self._mark(mark)}] {label}: {text}")
        for note in self.notes:
            lines.append("  " + t("check_note", self.lang, note=note))
        lines.append(self._advice())
        lines.append(t("check_advisory", self.lang))
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        if not self.outcomes:
            return f"<p><b>{html.escape(str(self))}</b></p>"
        colour = {"PASS": "#2e7d32", "TODO": "#9e6a00", "FAIL": "#c62828", "WRITTEN": "#1565c0"}
        rows = "".join(
            f"<tr><td style='color:{colour[m]};font-weight:bold'>{html.escape(self._mark(m))}</td>"
            f"<td style='text-align:left'>{html.escape(g)}</td>"
            f"<td style='text-align:left'>{html.escape(text)}</td></tr>"
            for m, g, text in self._lines()
        )
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        checked = f"<p>{html.escape(self.checked)}</p>" if self.checked else ""
        advice = f"<p>{html.escape(self._advice())}</p>"
        advisory = f"<p><i>{html.escape(t('check_advisory', self.lang))}</i></p>"
        return (
            f"<p><b>{html.escape(self._header())}</b></p>{checked}<table>{rows}</table>"
            + (f"<ul>{notes}</ul>" if notes else "")
            + advice
            + advisory
        )


def _not_run_yet(message: str) -> bool:
    """A test that failed because a name it needs was never defined in the kernel."""
    return message.startswith("NameError")


class _Skipped:
    """What ``check()`` returns inside a self-check run (prints one line)."""

    def __repr__(self) -> str:
        return t("check_skipped")


def check(
    notebook=None,
    *,
    timeout: float = 300.0,
    lang: str | None = None,
    source: str = "auto",
    progress: bool = True,
):
    """Check a lab notebook's answers against its released visible tests.

    See :func:`npulab.check` for the user-facing description and the module docstring for
    what is checked.  ``source`` is ``"auto"`` (the calling kernel's answers when called
    from the notebook's own kernel, else the saved file), ``"kernel"`` or ``"file"``.
    """
    if os.environ.get(_ENV) or os.environ.get("NBGRADER_EXECUTION"):
        return _Skipped()  # inside a self-check, npulab grade or nbgrader autograde run
    timeout = _check_timeout(timeout)
    shell, path = _what_to_check(notebook, source)
    live = shell is not None
    import nbformat

    from npulab.grading.outcome import is_test_cell

    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:
        raise ValueError(f"{path}: not a readable notebook ({err.__class__.__name__})") from None
    lang = resolve_lang(lang, notebook_lang=(nb.metadata.get("npulab") or {}).get("lang"))
    tests = [i for i, c in enumerate(nb.cells) if is_test_cell(c)]
    if not tests:
        return CheckResult(
            notebook=path.name, outcomes=(), notes=(t("check_no_tests_note", lang),), lang=lang
        )
    from npulab.grading.release import read_manifest

    notes, modified, broken = _released_tests(nb, tests, lang, read_manifest(path))
    runnable = [i for i in tests if i not in broken]
    saved = time.strftime("%Y-%m-%d %H:%M", time.localtime(path.stat().st_mtime))
    if live and shell is not None:
        outcomes_by_index, run_notes = _run_in_kernel(
            nb, runnable, shell.user_ns, timeout, path, progress
        )
        checked = t("check_checked_kernel", lang, path=str(path.resolve()), saved=saved)
    else:
        outcomes_by_index, run_notes = _run_saved_file(
            nb, path, tests, broken, timeout, lang, progress
        )
        checked = t("check_checked_file", lang, path=str(path.resolve()), saved=saved)
    outcomes = tuple(broken.get(i) or outcomes_by_index[i] for i in tests)
    return CheckResult(
        notebook=path.name,
        outcomes=outcomes,
        notes=tuple(run_notes + notes),
        modified=tuple(modified),
        lang=lang,
        exercises=tuple(exercises_of(nb, tests)),
        written=tuple(written_answers(nb)),
        checked=checked,
        mode="kernel" if live else "file",
    )


def _what_to_check(notebook, source: str):
    """``(kernel shell or None, notebook path)``: the shell when the calling kernel's answers
    are checked (``source`` "kernel", or "auto" from the notebook's own kernel), else None
    (the saved file runs in a fresh process)."""
    if source not in SOURCES:
        raise ValueError(f"check source must be one of {', '.join(SOURCES)}; got {source!r}")
    shell = _kernel_shell() if source != "file" else None
    if source == "kernel" and shell is None:
        raise ValueError(
            "check(source='kernel') needs an IPython kernel; use source='file' or npulab check"
        )
    own = own_notebook(shell) if shell is not None else None
    path = _notebook_path(notebook, own)
    mine = notebook is None or own is None or _same_file(path, own) or source == "kernel"
    return (shell if mine else None), path


def _run_saved_file(nb, path: Path, tests, broken, timeout, lang, progress) -> tuple[dict, list]:
    """Run the saved notebook in a fresh driver; ``(index -> TestOutcome, notes)``."""
    from npulab.grading.engine import run_notebook_cells, start_driver
    from npulab.grading.isolation import NoSandbox

    n_code = sum(c.cell_type == "code" for c in nb.cells)
    for i in broken:  # a modified test cell is neither run here nor in the student's process
        nb.cells[i].cell_type = "raw"
    bar = _bar(
        progress, sum(c.cell_type == "code" and c.source.strip() != "" for c in nb.cells), lang
    )
    try:
        with start_driver(path.resolve().parent, sandbox=NoSandbox()) as session:
            run = run_notebook_cells(
                nb,
                session,
                tests=set(tests) - set(broken),
                cell_timeout=timeout,
                notebook_timeout=timeout * max(n_code, 1),
                max_output_bytes=64 * 2**20,
                test_cwd=path.resolve().parent,
                on_cell=(lambda index, cell: bar.update(1)) if bar is not None else None,
                lang=lang,
            )
    finally:
        if bar is not None:
            bar.close()
    return dict(run.outcomes), list(run.notes) + _crash_note(nb, run.errors, lang)


def _run_in_kernel(
    nb, runnable, user_ns: dict, timeout: float, path: Path, progress
) -> tuple[dict, list]:
    """Run the released test cells against the calling kernel's namespace (a copy: a test's
    own names never leak into the kernel); ``(index -> TestOutcome, notes)``."""
    from npulab.grading.engine import TestTimeout, failure_message, quiet, time_limit
    from npulab.grading.outcome import TestOutcome
    from npulab.grading.release import nbgrader_meta

    ns = dict(user_ns)
    outcomes = {}
    bar = _bar(progress, len(runnable), None)
    try:
        with contextlib.chdir(path.resolve().parent):
            for i in runnable:
                cell = nb.cells[i]
                meta = nbgrader_meta(cell)
                gid, points = str(meta.get("grade_id", i)), float(meta.get("points", 0) or 0)
                try:
                    code = compile(cell.source, f"<npulab test {gid}>", "exec")
                    with time_limit(timeout), quiet():
                        exec(code, ns)  # noqa: S102 - the released test, in the learner's own kernel
                    outcomes[i] = TestOutcome(gid, points, True, "")
                except KeyboardInterrupt:
                    raise
                except (Exception, TestTimeout) as err:  # noqa: BLE001 - every failure is a failed test
                    outcomes[i] = TestOutcome(gid, points, False, failure_message(cell, err))
                if bar is not None:
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return outcomes, []


def _bar(progress: bool, total: int, lang):
    """A text tqdm bar on stderr (Jupyter shows it under the cell and clears it at the end;
    tqdm's widget bar would leave widget state in the saved notebook), or None."""
    if not progress or total <= 0:
        return None
    import sys

    from tqdm import tqdm

    desc = t("check_progress", lang)
    return tqdm(total=total, desc=desc, unit="cell", leave=False, file=sys.stderr)


def exercises_of(nb, tests) -> list:
    """The :class:`Exercise` of each test cell in ``tests``: the solution code cell right
    before it (its number as the released stub says it, its ``grade_id`` as the name)."""
    from npulab.grading.release import exercise_numbers, nbgrader_meta

    numbers = exercise_numbers(nb)
    out: list[Exercise | None] = []
    for i in tests:
        before = [j for j in numbers if j < i]
        if not before:
            out.append(None)
            continue
        j = before[-1]
        name = str(nbgrader_meta(nb.cells[j]).get("grade_id") or f"cell {j + 1}")
        out.append(Exercise(numbers[j], name))
    return out


def written_answers(nb) -> list:
    """The written questions of ``nb`` with their points, and whether each is answered
    (anything but the released stub ``YOUR ANSWER HERE``)."""
    from npulab.grading.autograde import is_manual_cell
    from npulab.grading.markers import MARKDOWN_STUB
    from npulab.grading.release import nbgrader_meta

    out: list[WrittenAnswer] = []
    for cell in nb.cells:
        if is_manual_cell(cell):
            meta = nbgrader_meta(cell)
            text = str(cell.source).strip()
            out.append(
                WrittenAnswer(
                    str(meta.get("grade_id", "")),
                    float(meta.get("points", 0) or 0),
                    bool(text) and text != MARKDOWN_STUB,
                    len(out) + 1,
                )
            )
    return out


def _check_timeout(timeout) -> float:
    """``timeout`` as a finite float > 0 (one-line ``ValueError`` otherwise)."""
    try:
        timeout = float(timeout)
    except (TypeError, ValueError):
        raise ValueError(
            f"check timeout must be a number of seconds > 0; got {timeout!r}"
        ) from None
    if not timeout > 0 or timeout != timeout or timeout == float("inf"):
        raise ValueError(f"check timeout must be a number of seconds > 0; got {timeout:g}")
    return timeout


def _kernel_shell():
    """The calling IPython kernel's shell, or None (plain Python, a terminal IPython)."""
    import sys

    if "IPython" not in sys.modules:
        return None
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return None
    shell = get_ipython()
    return shell if shell is not None and getattr(shell, "kernel", None) is not None else None


def own_notebook(shell=None, environ=None) -> Path | None:
    """The notebook file of the calling kernel, or None when it cannot be told.

    In order: VS Code's ``__vsc_ipynb_file__`` in the kernel's namespace; Jupyter's
    ``JPY_SESSION_NAME`` (set by jupyter_server >= 2 for the notebook a kernel was started
    for) when that file exists; else the running Jupyter servers' ``/api/sessions``, matched
    by the kernel id in ipykernel's connection file (a renamed notebook); else the notebook
    of the current folder this kernel ran (:func:`_from_folder`).
    """
    environ = os.environ if environ is None else environ
    ns = getattr(shell, "user_ns", None) or {}
    for candidate in (ns.get("__vsc_ipynb_file__"), environ.get("JPY_SESSION_NAME")):
        if not candidate or not str(candidate).endswith(".ipynb"):
            continue
        # JPY_SESSION_NAME is absolute, or (no session name) the path under the server's
        # root; the kernel runs in the notebook's folder, so its name alone finds it there
        for path in (Path(candidate), Path(Path(candidate).name)):
            if path.is_file():
                return path
    return _from_server_sessions() or _from_folder(ns, Path.cwd())


#: Most notebooks of a folder compared with the kernel's history, and the largest read.
_MAX_CANDIDATES, _MAX_CANDIDATE_BYTES = 64, 16 * 2**20


def _from_folder(ns: dict, folder: Path) -> Path | None:
    """The notebook in ``folder`` that this kernel ran, the last resort (a kernel started by
    nbval, nbclient or an editor that says nothing).

    Each candidate scores the code cells of it the kernel ran (IPython's ``In``, when the
    runner stored history) plus the exercise functions its solution cells define that the
    kernel holds (``def`` names in ``nbgrader.solution`` cells, present in ``ns``); the
    highest score wins, the most recently saved on a tie; None when nothing matches.  Copies
    of one lab hold the same released tests, so a tie between copies changes only which
    saved file's written answers are read.
    """
    import json

    ran = {str(cell).strip() for cell in (ns.get("In") or ()) if str(cell).strip()}
    best, best_key = None, (0, 0.0)
    for path in sorted(folder.glob("*.ipynb"))[:_MAX_CANDIDATES]:
        try:
            if path.stat().st_size > _MAX_CANDIDATE_BYTES:
                continue
            cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
            code = [c for c in cells if c.get("cell_type") == "code"]
            sources = ["".join(c.get("source", "")) for c in code]
            score = sum(src.strip() in ran for src in sources)
            for cell, src in zip(code, sources, strict=True):
                if (cell.get("metadata", {}).get("nbgrader") or {}).get("solution"):
                    score += sum(callable(ns.get(name)) for name in _defined_functions(src))
            key = (score, path.stat().st_mtime)
        except (OSError, ValueError, AttributeError, TypeError):
            continue
        if score > 0 and key > best_key:
            best, best_key = path, key
    return best


def _defined_functions(source: str) -> list[str]:
    """Names of the functions a cell defines at its top level (none when it does not parse)."""
    import ast

    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    return [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _from_server_sessions(timeout: float = 1.0) -> Path | None:
    """The calling kernel's notebook from the Jupyter server's session list, or None."""
    try:
        import json
        import urllib.parse
        import urllib.request

        from ipykernel import get_connection_file
        from jupyter_server.serverapp import list_running_servers

        kernel_id = Path(get_connection_file()).stem.split("-", 1)[1]
    except Exception:  # noqa: BLE001 - not in a Jupyter kernel, or no jupyter_server
        return None
    for server in list_running_servers():
        query = urllib.parse.urlencode({"token": server.get("token", "")})
        url = f"{server['url'].rstrip('/')}/api/sessions?{query}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as reply:  # noqa: S310 - a local server
                sessions = json.loads(reply.read().decode())
        except Exception:  # noqa: BLE001 - a stale server file, a password-protected server
            continue
        for session in sessions:
            if (session.get("kernel") or {}).get("id") == kernel_id and session.get("path"):
                root = Path(server.get("root_dir") or server.get("notebook_dir") or ".")
                path = root / session["path"]
                if path.is_file():
                    return path
    return None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _notebook_path(notebook, own: Path | None = None) -> Path:
    """The notebook file to check (default: the calling kernel's own notebook)."""
    if notebook is None:
        notebook = own or os.environ.get("JPY_SESSION_NAME")
        if not notebook:
            raise ValueError(
                "check() could not tell which notebook it runs in; give its file name, "
                "e.g. npulab.check('00_orientation.ipynb')"
            )
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
        if isinstance(released, str) and (
            _sha(released) == digest or (manifest is None and not digest)
        ):
            if cell.source != released:
                modified.append(gid)
                notes.append(t("check_test_restored", lang, gid=gid))
                cell.source = released
        elif isinstance(digest, str) and _sha(cell.source) != digest:
            modified.append(gid)
            notes.append(t("check_test_modified", lang, gid=gid))
            broken[i] = TestOutcome(
                gid,
                float(nbgrader_meta(cell).get("points", 0) or 0),
                False,
                t("check_not_run_modified", lang),
            )
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
