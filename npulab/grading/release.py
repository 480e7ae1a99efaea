"""``npulab release SRC DST``: write student notebooks from instructor solutions.

For every ``*.ipynb`` in ``SRC`` (or one file):

* each solution region becomes a guiding stub,
  ``raise NotImplementedError("Exercise N: implement fname(...)")``, where ``N`` counts the
  graded solution code cells in order (or is ``metadata.npulab.exercise`` when the cell sets
  it) and ``fname`` is the function the region sits in; a written-answer Markdown cell
  becomes ``YOUR ANSWER HERE``;
* hidden tests are removed, outputs and execution counts are cleared, and the nbgrader
  metadata is kept so nbgrader can still grade the released notebooks;
* each graded test cell records ``metadata.npulab.test_sha256``, the SHA-256 of its released
  source, and the same hashes go to :data:`MANIFEST` beside the released notebooks (a file
  of its own, which the self-check trusts over the notebook's copy);
* the instructor-only ``npulab.mutants`` metadata (plausible wrong answers) is dropped;
* ``seed=S`` stamps ``metadata.npulab.course_seed_check`` (:func:`seed_check`), never the seed.

Output is deterministic: the same solutions give byte-identical labs, so ``labs/`` can be
checked for drift in CI.
"""
from __future__ import annotations

import copy
import hashlib
import re
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
KEEP_CELL_METADATA = ("nbgrader", "tags", "deletable", "editable", "npulab")
#: Keys of ``metadata.npulab`` that stay with the instructor (never released).
PRIVATE_NPULAB_KEYS = ("mutants",)
#: Files and folders never copied into a release.
#: (``i18n/`` holds the translation catalogs: instructor material, see :mod:`npulab.i18n`.)
_SKIP = {".ipynb_checkpoints", "__pycache__", ".DS_Store", "i18n"}
_DEF = re.compile(r"^(\s*)(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(")


def nbgrader_meta(cell) -> dict:
    """The cell's ``nbgrader`` metadata dict (empty if none)."""
    return dict(cell.get("metadata", {}).get("nbgrader", {}))


def npulab_meta(cell) -> dict:
    """The cell's ``npulab`` metadata dict (empty if none)."""
    return dict(cell.get("metadata", {}).get("npulab", {}))


def seed_check(seed: int) -> str:
    """The fingerprint of a course seed stored in released labs (never the seed itself).

    >>> seed_check(0)
    'de28b005fbc4f4f4'
    """
    return hashlib.sha256(f"npulab-course-seed:{int(seed)}".encode()).hexdigest()[:16]


def source_sha256(source: str) -> str:
    """SHA-256 (hex) of a cell's source text, as stored in ``npulab.test_sha256``."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


#: The file ``npulab release`` writes beside the released notebooks: for each notebook, the
#: SHA-256 of every released test cell (what ``npulab check`` compares against; a student
#: who edits a notebook's test cells and the hashes stored in it cannot edit these too).
MANIFEST = "test_hashes.json"


def manifest_entries(student_nb) -> dict:
    """grade_id -> SHA-256 of each graded test cell of a released notebook node."""
    out = {}
    for cell in student_nb.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution") and meta.get("grade_id"):
            out[str(meta["grade_id"])] = source_sha256(cell.source)
    return dict(sorted(out.items()))


def write_manifest(folder, notebooks: dict) -> Path:
    """Merge ``{notebook name: manifest_entries(...)}`` into ``folder/``:data:`MANIFEST`
    (deterministic JSON: the same release gives the same file)."""
    import json

    path = Path(folder) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    books = data.get("notebooks") if isinstance(data.get("notebooks"), dict) else {}
    books.update(notebooks)
    text = json.dumps({"about": "SHA-256 of every released test cell; npulab check compares against it",
                       "notebooks": dict(sorted(books.items()))}, indent=1, sort_keys=True) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path


def read_manifest(notebook) -> dict | None:
    """The released test hashes of ``notebook`` from the :data:`MANIFEST` in its folder
    (grade_id -> SHA-256), or None when there is none for it."""
    import json

    path = Path(notebook)
    try:
        data = json.loads((path.parent / MANIFEST).read_text(encoding="utf-8"))
        entry = data["notebooks"][path.name]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return {str(k): str(v) for k, v in entry.items()} if isinstance(entry, dict) else None


def is_solution_code_cell(cell) -> bool:
    """A code cell the student writes (``nbgrader.solution`` true)."""
    return cell.cell_type == "code" and bool(nbgrader_meta(cell).get("solution"))


def exercise_numbers(nb) -> dict[int, int]:
    """Cell index -> exercise number of every solution code cell.

    Counted 1, 2, ... in order; a cell with ``metadata.npulab.exercise`` takes that number
    (and the count continues from it).
    """
    numbers, count = {}, 0
    for index, cell in enumerate(nb.cells):
        if not is_solution_code_cell(cell):
            continue
        given = npulab_meta(cell).get("exercise")
        count = int(given) if given is not None else count + 1
        numbers[index] = count
    return numbers


def _region_functions(source: str) -> list[str | None]:
    """For each solution region, the name of the innermost ``def`` it sits in (or None)."""
    names: list[str | None] = []
    stack: list[tuple[int, str]] = []  # (indent, name) of the enclosing defs
    for line in source.splitlines():
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        if line.strip() == BEGIN_SOLUTION:
            while stack and stack[-1][0] >= indent:
                stack.pop()
            names.append(stack[-1][1] if stack else None)
            continue
        match = _DEF.match(line)
        if match:
            while stack and stack[-1][0] >= indent:
                stack.pop()
            stack.append((indent, match.group(2)))
    return names


def stub_message(number: int, function: str | None, lang: str = "en") -> str:
    """The text of a released stub's ``NotImplementedError`` (in ``lang``: see :mod:`npulab.i18n.messages`)."""
    from npulab.i18n.messages import t

    if function:
        return t("stub", lang, n=number, what=f"{function}(...)")
    return t("stub_cell", lang, n=number)


def _guided_stubs(stripped: str, original: str, number: int, lang: str = "en") -> str:
    """Give each bare stub of ``strip_solution`` the exercise number and function name."""
    names = iter(_region_functions(original))
    lines = stripped.splitlines()
    for i in range(1, len(lines)):
        if lines[i].strip() == CODE_STUB[1] and lines[i - 1].strip() == CODE_STUB[0]:
            indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
            message = stub_message(number, next(names, None), lang)
            lines[i] = f'{indent}raise NotImplementedError("{message}")'
    return "\n".join(lines)


def _student_metadata(cell, *, test_source: str | None) -> dict:
    meta = {k: copy.deepcopy(cell.metadata[k]) for k in KEEP_CELL_METADATA if k in cell.metadata}
    own = {k: v for k, v in meta.pop("npulab", {}).items() if k not in PRIVATE_NPULAB_KEYS}
    if test_source is not None:
        own["test_sha256"] = source_sha256(test_source)
    if own:
        meta["npulab"] = dict(sorted(own.items()))
    return meta


def release_notebook(nb, *, name: str = "notebook", seed: int | None = None, lang: str = "en"):
    """Return the student version of a notebook node (the input is not modified)."""
    nb = copy.deepcopy(nb)
    numbers = exercise_numbers(nb)
    for index, cell in enumerate(nb.cells):
        meta = nbgrader_meta(cell)
        where = f"{name} cell {index} ({meta.get('grade_id', cell.get('id', '?'))})"
        markdown = cell.cell_type == "markdown"
        src = cell.source
        if has_marker(src, BEGIN_SOLUTION):
            src = strip_solution(src, markdown=markdown, where=where)
            if index in numbers:
                src = _guided_stubs(src, cell.source, numbers[index], lang)
        elif meta.get("solution") and (markdown or not meta.get("grade")):
            # nbgrader: a solution cell without markers is replaced whole.
            if markdown:
                src = MARKDOWN_STUB
            else:
                message = stub_message(numbers[index], None, lang)
                src = "\n".join([CODE_STUB[0], f'raise NotImplementedError("{message}")'])
        if has_marker(src, BEGIN_HIDDEN):
            src = strip_hidden_tests(src, where=where)
        cell.source = src
        is_test = cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")
        cell.metadata = _student_metadata(cell, test_source=src if is_test else None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    if seed is not None:
        if int(seed) < 0:
            raise ValueError(f"--seed must be >= 0; got {seed}")
        nb.metadata.setdefault("npulab", {})["course_seed_check"] = seed_check(seed)
    return nb


def release(src, dst, *, seed: int | None = None, lang: str = "en") -> list[Path]:
    """Release every notebook under ``src`` into ``dst``; return the notebooks written.

    ``src`` may be a folder (notebooks and their data files are copied, keeping the
    layout) or a single ``.ipynb`` file (then ``dst`` is a folder or a file name).
    ``seed`` stamps the course seed's fingerprint into each notebook.  ``lang="ko"`` takes
    the Markdown from the translation catalogs ``src/i18n/ko/`` (:mod:`npulab.i18n.notebooks`)
    and writes Korean stub messages and test-cell messages (:mod:`npulab.i18n.assertions`);
    code and what the tests check are the English ones.
    """
    src, dst = Path(src), Path(dst)
    from npulab.i18n.messages import normalize_lang

    lang = normalize_lang(lang)
    if not src.exists():
        raise ValueError(f"release source not found: {src}")
    if seed is not None and int(seed) < 0:
        raise ValueError(f"--seed must be >= 0; got {seed}")
    if src.is_file():
        if src.suffix != ".ipynb":
            raise ValueError(f"release source must be a folder or a .ipynb file; got {src}")
        target = dst / src.name if dst.suffix != ".ipynb" else dst
        written = [_release_file(src, target, seed, lang)]
        _manifest_of(written)
        return written
    written = []
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if any(part in _SKIP for part in rel.parts) or path.is_dir():
            continue
        if path.suffix == ".ipynb":
            written.append(_release_file(path, dst / rel, seed, lang))
        else:
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dst / rel)
    if not written:
        raise ValueError(f"no notebooks (*.ipynb) found in {src}")
    _manifest_of(written)
    return written


def _manifest_of(written: list[Path]) -> None:
    """Record the released test hashes of ``written`` in each folder's :data:`MANIFEST`."""
    by_folder: dict[Path, dict] = {}
    for path in written:
        nb = nbformat.read(path, as_version=4)
        by_folder.setdefault(path.parent, {})[path.name] = manifest_entries(nb)
    for folder, notebooks in by_folder.items():
        write_manifest(folder, notebooks)


def _release_file(path: Path, target: Path, seed: int | None = None, lang: str = "en") -> Path:
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:  # nbformat raises several types for bad JSON
        raise ValueError(f"{path}: not a readable notebook ({err.__class__.__name__}: {err})") from None
    if lang != "en":  # prose and test messages from the translation catalog (npulab.i18n); code stays
        from npulab.i18n.notebooks import localize_for_release

        nb = localize_for_release(nb, path, lang)
    student = release_notebook(nb, name=path.name, seed=seed, lang=lang)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = nbformat.writes(student) + "\n"
    if not target.exists() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")
    return target
