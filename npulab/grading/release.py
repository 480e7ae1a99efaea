"""``npulab release SRC DST``: write student notebooks from instructor solutions.

For every ``*.ipynb`` in ``SRC`` (or one file): solution regions become stubs, hidden tests
are removed, outputs and execution counts are cleared, and the nbgrader metadata is kept
so nbgrader can still grade the released notebooks.  Output is deterministic: the same
solutions give byte-identical labs, so ``labs/`` can be checked for drift in CI.
"""
from __future__ import annotations

import copy
import shutil
from pathlib import Path

import nbformat

from npulab.grading.markers import (
    BEGIN_HIDDEN,
    BEGIN_SOLUTION,
    CODE_STUB,
    MARKDOWN_STUB,
    has_marker,
    strip_hidden_tests,
    strip_solution,
)

#: Cell metadata kept in the student version (everything else is execution noise).
KEEP_CELL_METADATA = ("nbgrader", "tags", "deletable", "editable")
#: Files and folders never copied into a release.
_SKIP = {".ipynb_checkpoints", "__pycache__", ".DS_Store"}


def nbgrader_meta(cell) -> dict:
    """The cell's ``nbgrader`` metadata dict (empty if none)."""
    return dict(cell.get("metadata", {}).get("nbgrader", {}))


def release_notebook(nb, *, name: str = "notebook"):
    """Return the student version of a notebook node (the input is not modified)."""
    nb = copy.deepcopy(nb)
    for index, cell in enumerate(nb.cells):
        where = f"{name} cell {index} ({nbgrader_meta(cell).get('grade_id', cell.get('id', '?'))})"
        meta = nbgrader_meta(cell)
        src = cell.source
        if has_marker(src, BEGIN_SOLUTION):
            src = strip_solution(src, markdown=cell.cell_type == "markdown", where=where)
        elif meta.get("solution") and not meta.get("grade"):
            # nbgrader: a solution cell without markers is replaced whole.
            src = MARKDOWN_STUB if cell.cell_type == "markdown" else "\n".join(CODE_STUB)
        if has_marker(src, BEGIN_HIDDEN):
            src = strip_hidden_tests(src, where=where)
        cell.source = src
        cell.metadata = {k: cell.metadata[k] for k in KEEP_CELL_METADATA if k in cell.metadata}
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def release(src, dst) -> list[Path]:
    """Release every notebook under ``src`` into ``dst``; return the notebooks written.

    ``src`` may be a folder (notebooks and their data files are copied, keeping the
    layout) or a single ``.ipynb`` file (then ``dst`` is a folder or a file name).
    """
    src, dst = Path(src), Path(dst)
    if not src.exists():
        raise ValueError(f"release source not found: {src}")
    if src.is_file():
        if src.suffix != ".ipynb":
            raise ValueError(f"release source must be a folder or a .ipynb file; got {src}")
        target = dst / src.name if dst.suffix != ".ipynb" else dst
        return [_release_file(src, target)]
    written = []
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if any(part in _SKIP for part in rel.parts) or path.is_dir():
            continue
        if path.suffix == ".ipynb":
            written.append(_release_file(path, dst / rel))
        else:
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dst / rel)
    if not written:
        raise ValueError(f"no notebooks (*.ipynb) found in {src}")
    return written


def _release_file(path: Path, target: Path) -> Path:
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:  # nbformat raises several types for bad JSON
        raise ValueError(f"{path}: not a readable notebook ({err.__class__.__name__}: {err})") from None
    student = release_notebook(nb, name=path.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = nbformat.writes(student) + "\n"
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")
    return target
