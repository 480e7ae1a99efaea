"""Translate a lab notebook's prose from its catalog (``solutions/i18n/<lang>/<lab>.yaml``).

One catalog per lab, keyed by the stable cell ``id`` (the lab authoring tools derive it from
the ``grade_id``, so it survives edits and re-ordering).  For every Markdown cell the entry
holds the translation and the digest of the English source it was made from::

    notebook: 03_systolic.ipynb
    lang: ko
    cells:
      intro:
        en_sha256: 9f2c...        # npulab.i18n.catalog.digest(English cell source)
        en: |                     # that English, kept so `status --show` can diff a stale cell
          # Lab 03 — ...
        ko: |
          # 실습 03 — ...

Markdown cells are translated whole.  Of the code, only the *messages* of the test cells
(assertion messages, raised errors) are translated, from the catalog's ``messages`` table
(:mod:`npulab.i18n.assertions`); code, grade ids, points, metadata and the tests' logic are
never touched, so the Korean release grades exactly like the English one (one ``solutions/``
notebook stays the single source).  A written-answer cell's translation must keep its
``### BEGIN SOLUTION`` / ``### END SOLUTION`` lines (release strips what is between them).

A cell whose entry is missing or stale keeps its English text, and
:func:`translate_notebook` reports it (``python -m npulab.i18n status`` lists them; the test
suite fails on them).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

from npulab.i18n import assertions
from npulab.i18n import catalog as cat
from npulab.i18n.messages import normalize_lang

#: Folder (beside the solution notebooks) that holds the catalogs, one sub-folder a language.
CATALOG_DIR = "i18n"
_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")


def catalog_path(notebook, lang: str) -> Path:
    """``solutions/03_systolic.ipynb`` -> ``solutions/i18n/ko/03_systolic.yaml``."""
    notebook = Path(notebook)
    return notebook.parent / CATALOG_DIR / normalize_lang(lang) / f"{notebook.stem}.yaml"


def prose_cells(nb) -> list:
    """The cells a translator translates: every Markdown cell (with a non-empty source)."""
    return [c for c in nb.cells if c.cell_type == "markdown" and str(c.source).strip()]


def marker_lines(text: str) -> list[str]:
    """The nbgrader marker lines of a cell, in order (a translation must keep them)."""
    return [line.strip() for line in str(text).splitlines() if line.strip() in _MARKERS]


@dataclass
class NotebookStatus:
    """Translation state of one notebook: cell ids per state (in notebook order)."""

    notebook: str
    lang: str
    ok: list = field(default_factory=list)
    stale: list = field(default_factory=list)
    missing: list = field(default_factory=list)
    orphans: list = field(default_factory=list)  # catalog keys with no Markdown cell any more
    #: test-cell messages (keys of the catalog's ``messages`` table, see npulab.i18n.assertions)
    messages_ok: list = field(default_factory=list)
    messages_missing: list = field(default_factory=list)
    messages_invalid: list = field(default_factory=list)  # a translation that is not a usable literal
    messages_orphans: list = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Every prose cell has an up-to-date translation."""
        return not self.stale and not self.missing

    @property
    def messages_complete(self) -> bool:
        """Every test-cell message has a usable translation."""
        return not self.messages_missing and not self.messages_invalid


def _cells_entry(data: dict) -> dict:
    cells = data.get("cells") or {}
    if not isinstance(cells, dict):
        raise ValueError("translation catalog: 'cells' must be a mapping of cell id -> entry")
    return cells


def _messages_entry(data: dict) -> dict:
    messages = data.get("messages") or {}
    if not isinstance(messages, dict):
        raise ValueError("translation catalog: 'messages' must be a mapping of message key -> entry")
    return {str(k): v for k, v in messages.items()}


def notebook_status(nb, data: dict, lang: str, *, name: str = "notebook") -> NotebookStatus:
    """Compare a notebook's prose cells with a loaded catalog."""
    lang = normalize_lang(lang)
    entries = _cells_entry(data)
    status = NotebookStatus(notebook=name, lang=lang)
    seen = set()
    for cell in prose_cells(nb):
        cid = str(cell.get("id"))
        seen.add(cid)
        state = cat.entry_state(entries.get(cid), cell.source, lang)
        if state == "ok" and marker_lines(entries[cid][lang]) != marker_lines(cell.source):
            state = "stale"  # a translation that lost a marker cannot be released
        getattr(status, state).append(cid)
    status.orphans = [k for k in entries if str(k) not in seen]
    messages = _messages_entry(data)
    english = assertions.notebook_messages(nb)
    for key, text in english.items():
        getattr(status, f"messages_{assertions.entry_state(messages.get(key), text, lang)}").append(key)
    status.messages_orphans = [k for k in messages if k not in english]
    return status


def translate_notebook(nb, data: dict, lang: str, *, name: str = "notebook"):
    """A copy of ``nb`` with each up-to-date translated Markdown cell in ``lang``.

    Returns ``(translated_nb, status)``.  The notebook's ``metadata.npulab.lang`` is set to
    ``lang`` (the self-check and the grader's feedback speak it).  Cells that are missing or
    stale in ``status`` keep their English text.  The messages of test cells are translated
    where the catalog has a usable entry (:func:`npulab.i18n.assertions.translate_source`).
    """
    lang = normalize_lang(lang)
    status = notebook_status(nb, data, lang, name=name)
    out = copy.deepcopy(nb)
    entries = _cells_entry(data)
    usable = set(status.ok)
    for cell in out.cells:
        cid = str(cell.get("id"))
        if cell.cell_type == "markdown" and cid in usable:
            cell.source = str(entries[cid][lang]).rstrip("\n")
        elif assertions.is_test_cell(cell) and lang != "en":
            cell.source = assertions.translate_source(str(cell.source), _messages_entry(data), lang)
    if lang != "en":
        out.metadata.setdefault("npulab", {})["lang"] = lang
    return out, status


def update_entries(path, lang: str, translations: dict[str, tuple[str, str]]) -> Path:
    """Store translations ``{cell_id: (en_sha256, text)}`` in the lab's catalog (notebook order)."""
    import nbformat

    path, lang = Path(path), normalize_lang(lang)
    nb = nbformat.read(path, as_version=4)
    cpath = catalog_path(path, lang)
    data = cat.load(cpath)
    entries = dict(_cells_entry(data))
    english = {str(c.get("id")): str(c.source) for c in nb.cells}
    for cid, (sha, text) in translations.items():
        entry = {"en_sha256": sha}
        if cat.digest(english.get(str(cid), "")) == sha:  # keep the English it was made from (for diffs)
            entry["en"] = english[str(cid)].rstrip("\n") + "\n"
        entry[lang] = str(text).rstrip("\n") + "\n"
        entries[str(cid)] = entry
    order = [str(c.get("id")) for c in nb.cells]
    ordered = {k: entries[k] for k in order if k in entries}
    ordered.update({k: v for k, v in entries.items() if k not in ordered})
    return save_catalog(cpath, path.name, lang, ordered)


def update_messages(path, lang: str, translations: dict[str, str]) -> Path:
    """Store test-message translations ``{key: translated literal}`` (notebook order)."""
    import nbformat

    path, lang = Path(path), normalize_lang(lang)
    nb = nbformat.read(path, as_version=4)
    cpath = catalog_path(path, lang)
    data = cat.load(cpath)
    english = assertions.notebook_messages(nb)
    messages = _messages_entry(data)
    for key, text in translations.items():
        if str(key) not in english:
            raise ValueError(f"{path.name}: no test-cell message with key {key}")
        problem = assertions.translation_problem(english[str(key)], text)
        if problem:
            raise ValueError(f"{path.name}: message {key}: {problem}: {text!r}")
        messages[str(key)] = {"en": english[str(key)], lang: str(text).strip()}
    ordered = {k: messages[k] for k in english if k in messages}
    ordered.update({k: v for k, v in messages.items() if k not in ordered})
    return save_catalog(cpath, path.name, lang, _cells_entry(data), ordered)


def save_catalog(cpath, notebook_name: str, lang: str, cells: dict, messages: dict | None = None) -> Path:
    """Write one lab's catalog file (``messages``: the test-message table, kept if None)."""
    if messages is None:
        messages = _messages_entry(cat.load(cpath))
    header = (f"Translation catalog ({lang}) of {notebook_name}: one entry per Markdown cell id,\n"
              "and under 'messages' one per test-cell message (key = digest of the English literal).\n"
              "en_sha256 = npulab.i18n.catalog.digest(English cell source); a changed English cell\n"
              "makes its entry stale. Work list: python -m npulab.i18n status --show")
    data = {"notebook": notebook_name, "lang": lang, "cells": cells}
    if messages:
        data["messages"] = messages
    return cat.save(cpath, data, header=header)


def prune(path, lang: str) -> list[str]:
    """Remove catalog entries whose cell no longer exists; return their ids."""
    import nbformat

    path, lang = Path(path), normalize_lang(lang)
    nb = nbformat.read(path, as_version=4)
    cpath = catalog_path(path, lang)
    data = cat.load(cpath)
    status = notebook_status(nb, data, lang, name=path.name)
    if status.orphans or status.messages_orphans:
        cells = {k: v for k, v in _cells_entry(data).items() if k not in status.orphans}
        messages = {k: v for k, v in _messages_entry(data).items() if k not in status.messages_orphans}
        save_catalog(cpath, path.name, lang, cells, messages)
    return status.orphans + status.messages_orphans


def code_signature(nb) -> list[tuple]:
    """What must be identical across languages: every cell's id, type, metadata and, for
    code cells, the source (released stub messages are normalised to their exercise number,
    test-cell messages to ``<msg>``: :func:`npulab.i18n.assertions.normalized_source`; a test
    cell's ``test_sha256``, the hash of its source in its language, is left out)."""
    from npulab.i18n.messages import STUB_PATTERN

    rows: list[tuple] = []
    for cell in nb.cells:
        meta = copy.deepcopy(dict(cell.get("metadata", {})))
        if cell.cell_type == "code":
            lines = []
            for line in str(cell.source).split("\n"):
                stripped = line.strip()
                if stripped.startswith('raise NotImplementedError("') and stripped.endswith('")'):
                    match = STUB_PATTERN.match(stripped[len('raise NotImplementedError("'):])
                    if match:
                        indent = line[: len(line) - len(line.lstrip())]
                        line = f"{indent}raise NotImplementedError(<stub {match.group(1)}>)"
                lines.append(line)
            source = "\n".join(lines)
            if assertions.is_test_cell(cell):  # its hash follows its (translated) source
                source = assertions.normalized_source(source)
                meta.get("npulab", {}).pop("test_sha256", None)
            rows.append((cell.get("id"), "code", meta, source))
        else:
            rows.append((cell.get("id"), cell.cell_type, meta, None))
    return rows


def localize_test_messages(nb, source_path, lang: str | None):
    """``nb`` with its test cells' messages in ``lang`` (from the catalog beside ``source_path``).

    The autograder calls this on the notebook it runs (the student's cells with the source's
    test cells put back) so that a Korean submission's feedback speaks Korean; only message
    literals change (:mod:`npulab.i18n.assertions`), never what a test checks, and messages
    with no usable translation (hidden tests' messages included) stay English.
    """
    try:  # the language comes from the student's file: anything unusable means English
        lang = normalize_lang(lang or "en")
        messages = _messages_entry(cat.load(catalog_path(source_path, lang))) if lang != "en" else {}
    except (ValueError, TypeError, OSError):
        return nb
    if not messages:
        return nb
    out = copy.deepcopy(nb)
    for cell in out.cells:
        if assertions.is_test_cell(cell):
            cell.source = assertions.translate_source(str(cell.source), messages, lang)
    return out


class TranslationWarning(UserWarning):
    """A released notebook kept some English prose (missing or stale translations)."""


def localize_for_release(nb, path, lang: str):
    """The solution notebook ``nb`` (read from ``path``) with its prose in ``lang``.

    Called by :func:`npulab.grading.release.release` for ``--lang``.  Cells without an
    up-to-date translation keep their English and a :class:`TranslationWarning` names them.
    """
    import warnings

    path = Path(path)
    out, status = translate_notebook(nb, cat.load(catalog_path(path, lang)), lang, name=path.name)
    todo = status.stale + status.missing
    if todo:
        warnings.warn(f"{path.name}: {len(todo)} of {len(todo) + len(status.ok)} Markdown cells have no "
                      f"up-to-date '{lang}' translation and stay English "
                      f"(python -m npulab.i18n status --show {path})", TranslationWarning, stacklevel=2)
    msgs = status.messages_missing + status.messages_invalid
    if msgs:
        warnings.warn(f"{path.name}: {len(msgs)} of {len(msgs) + len(status.messages_ok)} test-cell messages "
                      f"have no usable '{lang}' translation and stay English "
                      f"(python -m npulab.i18n status --show {path})", TranslationWarning, stacklevel=2)
    return out
