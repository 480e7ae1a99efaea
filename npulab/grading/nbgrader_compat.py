"""Run nbgrader 0.9 itself on npulab notebooks (the compatibility route, and its check).

npulab's ``solutions/`` notebooks carry nbgrader's cell metadata, so a course that uses
nbgrader can feed them to nbgrader unchanged.  These helpers build a throw-away nbgrader
course folder and call nbgrader's own Python API (``NbGraderAPI.generate_assignment`` and
``NbGraderAPI.autograde``), so tests and ``benchmarks/grading.py`` can compare nbgrader's
student version and scores with ``npulab release`` and ``npulab grade``.

nbgrader's course layout (``CourseDirectory``)::

    ROOT/source/<assignment>/<lab>.ipynb
    ROOT/release/<assignment>/<lab>.ipynb           generate_assignment writes this
    ROOT/submitted/<student>/<assignment>/<lab>.ipynb
    ROOT/autograded/<student>/<assignment>/...      autograde writes this
    ROOT/gradebook.db                               scores (sqlite)

nbgrader is an optional (dev) dependency; it is imported only here, when called.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import sys
from pathlib import Path


@contextlib.contextmanager
def _venv_on_path():
    """nbgrader runs the ``alembic`` script by name: put this Python's ``bin`` on PATH."""
    old = os.environ.get("PATH", "")
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + old
    try:
        yield
    finally:
        os.environ["PATH"] = old


def _api(root: Path, timeout: float):
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config

    config = Config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
    config.ExecutePreprocessor.timeout = int(timeout)
    config.Execute.timeout = int(timeout)
    return NbGraderAPI(config=config)


def _check(result: dict, what: str) -> None:
    if not result.get("success"):
        text = (result.get("error") or result.get("log") or "").strip().splitlines()
        raise RuntimeError(f"nbgrader {what} failed: {text[-1] if text else 'no message'}")


def generate_assignment(source, root, *, assignment: str = "lab") -> Path:
    """Run nbgrader's ``generate_assignment`` on ``source``; return the student notebook.

    ``root`` becomes an nbgrader course folder (created; an old one is replaced).
    """
    source, root = Path(source), Path(root)
    if root.exists():
        shutil.rmtree(root)
    (root / "source" / assignment).mkdir(parents=True)
    shutil.copyfile(source, root / "source" / assignment / source.name)
    for extra in source.parent.iterdir():  # the lab's data files, as npulab release copies them
        if extra.is_file() and extra.suffix != ".ipynb":
            shutil.copyfile(extra, root / "source" / assignment / extra.name)
    with _venv_on_path():
        _check(_api(root, 60).generate_assignment(assignment), "generate_assignment")
    return root / "release" / assignment / source.name


def autograde(source, submissions: dict, root, *, assignment: str = "lab",
              timeout: float = 60.0) -> dict[str, float]:
    """Grade ``submissions`` (student id -> notebook path) with nbgrader; return totals.

    Runs :func:`generate_assignment` first (nbgrader grades against its own database of
    the source's cells), copies each submission into ``submitted/``, runs nbgrader's
    ``autograde`` for all students, and reads each submission's score from the gradebook.
    ``timeout`` is nbgrader's per-cell limit.  Units: seconds.
    """
    from nbgrader.api import Gradebook

    source, root = Path(source), Path(root)
    generate_assignment(source, root, assignment=assignment)
    for student, path in submissions.items():
        target = root / "submitted" / student / assignment
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target / source.name)
    scores = {}
    with _venv_on_path():
        _check(_api(root, timeout).autograde(assignment, "*"), "autograde")
        with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
            for student in submissions:
                scores[student] = float(gb.find_submission(assignment, student).score)
    return scores
