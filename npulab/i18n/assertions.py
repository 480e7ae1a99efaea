"""Test-cell messages in the student's language: assertion messages through the lab catalog.

A Korean student reads the prose of ``labs/ko/`` in Korean (:mod:`npulab.i18n.notebooks`);
this module does the same for the *messages* of the test cells: the message of every
``assert cond, "..."``, the text of every ``raise Error("...")`` and the string arguments of
helper functions a test cell defines for itself (``def _check(got, want, what): ...``).

How.  The lab catalog (``solutions/i18n/ko/NN_name.yaml``) holds, beside its ``cells``, a
``messages`` table keyed by the digest of each message literal's English *source text*::

    messages:
      4be1c2d0a9e3f1aa:
        en: f"Exercise 3: expected {want}, got {got}"
        ko: f"연습문제 3: 기대값 {want}, 실제 값 {got}"

``en`` and ``ko`` are Python string literals (plain or f-string) as they appear in the cell.
At release (``npulab release --lang ko``, via :func:`npulab.i18n.notebooks.translate_notebook`)
each English literal of a test cell is replaced by its Korean literal, before the release
computes the test cells' SHA-256.  Hence:

* ``labs/ko/test_hashes.json`` records the Korean test cells, exactly what ``npulab check``
  runs in ``labs/ko/`` (no modified-test false alarm);
* only string literals change: a Korean literal must be a string literal of the same kind
  whose ``{...}`` fields are the English ones, expression for expression
  (:func:`translation_problem`), so the test's logic, its asserted conditions and the
  values it shows are the English test's;
* the autograder grades from the instructor's English source, taking every test cell
  (hidden ones included) by grade id, so a Korean submission grades exactly like an
  English one (its test cells are replaced, not trusted).

A message without a translation (or with an invalid one) stays English and is listed by
``python -m npulab.i18n status`` as a *message* to translate.  The key is the digest of the
English literal, so an edited English message is a new key (to translate) and its old entry
an orphan (``prune`` removes it).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import TYPE_CHECKING

from npulab.i18n import catalog as cat

if TYPE_CHECKING:  # annotations only (not a public name of this module)
    from collections.abc import Iterator

_HIDDEN = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")


@dataclass(frozen=True)
class Literal:
    """One message literal of a test cell: ``source[start:end] == text`` (character offsets)."""

    start: int
    end: int
    text: str

    @property
    def key(self) -> str:
        """Catalog key: the digest of the literal's English source text."""
        return cat.digest(self.text)


def is_test_cell(cell) -> bool:
    """A graded test cell (nbgrader ``grade`` and not ``solution``), English or released."""
    meta = dict(cell.get("metadata", {}).get("nbgrader", {}))
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def _is_text(node) -> bool:
    if isinstance(node, ast.JoinedStr):
        return True
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _direct_messages(tree: ast.AST) -> Iterator[ast.expr]:
    """Message expressions: each ``assert``'s ``msg`` and the arguments of each ``raise E(...)``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert) and node.msg is not None:
            yield node.msg
        elif isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            yield from node.exc.args


def _message_params(tree: ast.AST) -> dict[str, tuple[list[str], set[str]]]:
    """Helpers the cell defines: ``{name: (positional parameters, those shown in a message)}``."""
    helpers = {}
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            params = [a.arg for a in fn.args.posonlyargs + fn.args.args]
            names = {n.id for m in _direct_messages(fn) for n in ast.walk(m)
                     if isinstance(n, ast.Name)}
            shown = names & (set(params) | {a.arg for a in fn.args.kwonlyargs})
            if shown:
                helpers[fn.name] = (params, shown)
    return helpers


def _message_nodes(tree: ast.AST) -> Iterator[ast.expr]:
    """The string-literal nodes a student reads when a test fails.

    An assertion's message, a raised error's arguments, and a literal passed to a helper the
    cell defines *for a parameter that the helper shows in a message* (its label); literals
    a helper uses as data (``_ref(cfg, "decode")``) are never touched.
    """
    yield from (m for m in _direct_messages(tree) if _is_text(m))
    helpers = _message_params(tree)
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        if node.func.id in helpers:
            params, shown = helpers[node.func.id]
            for i, arg in enumerate(node.args):
                if i < len(params) and params[i] in shown and _is_text(arg):
                    yield arg
            yield from (k.value for k in node.keywords if k.arg in shown and _is_text(k.value))


def _line_starts(source: str) -> list[int]:
    starts, pos = [0], 0
    for line in source.splitlines(keepends=True):
        pos += len(line)
        starts.append(pos)
    return starts


def message_literals(source: str) -> list[Literal]:
    """Every message literal of a test cell's source, in source order.

    Literals inside a hidden-test region are skipped (students never see them); a source that
    does not parse has none.

    >>> [m.text for m in message_literals('assert x == 1, "x must be 1"\\nassert y, y')]
    ['"x must be 1"']
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    lines = source.splitlines(keepends=True)
    starts = _line_starts(source)
    hidden, inside = set(), False
    for number, line in enumerate(lines, 1):
        if line.strip() == _HIDDEN[0]:
            inside = True
        if inside:
            hidden.add(number)
        if line.strip() == _HIDDEN[1]:
            inside = False

    def offset(lineno: int, col: int) -> int:  # ast columns count UTF-8 bytes
        return starts[lineno - 1] + len(lines[lineno - 1].encode("utf-8")[:col].decode("utf-8"))

    found = {}
    for node in _message_nodes(tree):
        if node.lineno in hidden or node.end_lineno is None or node.end_col_offset is None:
            continue
        start = offset(node.lineno, node.col_offset)
        end = offset(node.end_lineno, node.end_col_offset)
        found[start] = Literal(start, end, source[start:end])
    return [found[k] for k in sorted(found)]


def notebook_messages(nb) -> dict[str, str]:
    """``{key: English literal}`` of every test cell's messages, in notebook order."""
    out: dict[str, str] = {}
    for cell in nb.cells:
        if is_test_cell(cell):
            for lit in message_literals(str(cell.source)):
                out.setdefault(lit.key, lit.text)
    return out


def _fields(node) -> list[str] | None:
    """The ``{...}`` fields of a string-literal expression (None if it is not one)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return []
    if isinstance(node, ast.JoinedStr):
        return sorted(ast.dump(v) for v in node.values if isinstance(v, ast.FormattedValue))
    return None


def translation_problem(en: str, translated: str) -> str | None:
    """Why ``translated`` cannot replace the literal ``en`` (None when it can).

    It must be one string literal (plain or f-string) whose ``{...}`` fields are exactly the
    English ones (same expressions, conversions and format specs, any order).

    >>> translation_problem('f"got {x}"', 'f"실제 값 {x}"') is None
    True
    >>> translation_problem('f"got {x}"', '"실제 값"')
    'the {...} fields differ from the English literal'
    """
    try:
        # parenthesised: a literal split over lines ("..." newline "...") is one expression
        want = _fields(ast.parse(f"({en.strip()})", mode="eval").body)
        node = ast.parse(f"({str(translated).strip()})", mode="eval").body
    except SyntaxError:
        return "not a Python string literal"
    got = _fields(node)
    if got is None or want is None:
        return "not a Python string literal"
    if got != want:
        return "the {...} fields differ from the English literal"
    return None


def entry_state(entry, en: str, lang: str) -> str:
    """``"ok"``, ``"invalid"`` (not a usable literal) or ``"missing"`` for one message."""
    text = entry.get(lang) if isinstance(entry, dict) else None
    if not isinstance(text, str) or not text.strip():
        return "missing"
    return "invalid" if translation_problem(en, text) else "ok"


def translate_source(source: str, entries: dict, lang: str) -> str:
    """``source`` with each message literal that has a usable ``lang`` entry replaced."""
    out = str(source)
    for lit in reversed(message_literals(out)):
        entry = entries.get(lit.key)
        if isinstance(entry, dict) and entry_state(entry, lit.text, lang) == "ok":
            out = out[: lit.start] + " ".join(str(entry[lang]).split("\n")).strip() + out[lit.end:]
    return out


def normalized_source(source: str) -> str:
    """``source`` with every message literal replaced by ``<msg>`` (for comparing languages)."""
    out = str(source)
    for lit in reversed(message_literals(out)):
        out = out[: lit.start] + "<msg>" + out[lit.end:]
    return out
