"""Translate lecture notes block by block: ``course/lectures/NN.md`` -> ``course/lectures/ko/NN.md``.

A lecture note is split into *blocks*: runs of non-blank lines (a fenced code block or a
``$$`` display equation is kept whole even across blank lines).  The catalog
``course/lectures/i18n/<lang>/NN.yaml`` maps each prose block's English digest
(:func:`npulab.i18n.catalog.digest`) to its translation::

    lecture: 03_systolic.md
    lang: ko
    blocks:
      3f1c0a9be2d45e71:
        ko: |
          ## 1. 왜 시스톨릭인가
          ...

Keying by the English text's digest means an edit to one English paragraph makes exactly
that block untranslated, and nothing else moves.  Blocks with nothing to translate (code
fences, display equations, rules) are copied as they are and have no entry, unless they
carry English a reader reads (issue 29): a code fence with an English ``#`` comment, or a
display equation with English words in ``\text{...}`` outside a subscript.  Those are
translated too, and their translation must keep the code (the lines without their comments)
or the mathematics (the equation without its ``\text{...}`` contents) exactly:
:func:`same_code`.  The catalog
keeps blocks in document order, so :func:`lecture_status` can align an untranslated block
with the entry it replaced (a *stale* block; its old translation is the starting point).

The Korean note is generated (:func:`build_lecture`) and a test checks that the file on
disk equals a fresh build, so the two languages never drift apart silently.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

from npulab.i18n import catalog as cat
from npulab.i18n.messages import normalize_lang

#: Folder (beside the English notes) holding the catalogs, one sub-folder a language.
CATALOG_DIR = "i18n"
_FENCE = re.compile(r"^\s*(```|~~~)")
_RULE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")
#: A ``#`` comment in a code fence with an English word, or English words in ``\text{...}``.
_COMMENT = re.compile(r"(?:^|\s)#\s*[^\n]*?\b[a-z]{3,}\b")
_TEXT = re.compile(r"\\text\{([^{}]*)\}")


@dataclass(frozen=True)
class Block:
    """One block of a Markdown document: its lines, and whether it is prose to translate."""

    lines: tuple
    prose: bool

    @property
    def text(self) -> str:
        """The block's lines joined, as in the lecture."""
        return "\n".join(self.lines)

    @property
    def key(self) -> str:
        """The catalog key: the digest of :attr:`text` (an edited block gets a new key)."""
        return cat.digest(self.text)


def _is_prose(lines: list[str]) -> bool:
    text = "\n".join(lines).strip()
    if not re.search(r"[A-Za-z가-힣]", text):
        return False
    if _FENCE.match(lines[0]) and _FENCE.match(lines[-1]) and len(lines) > 1:
        # a whole fenced code block: translated only for its English comments
        return any(_COMMENT.search(line) for line in lines[1:-1])
    if text.startswith("$$") and text.endswith("$$") and text.count("$$") == 2:
        # a display equation: translated only for English words in \text{...} (not subscripts)
        # (an under/overbrace's label is prose, not a subscript)
        return any(re.search(r"[a-z]{3,}", m.group(1)) for m in _TEXT.finditer(text)
                   if not re.search(r"_\{?\s*$", text[: m.start()])
                   or re.search(r"\\(under|over)brace\{[^{}]*\}[_^]\{?\s*$", text[: m.start()]))
    if len(lines) == 1 and _RULE.match(lines[0]):
        return False
    return not text.startswith("<!--")


def _code_part(text: str) -> str:
    r"""A block without what a translator may change (comments, ``\text{...}`` contents)."""
    lines = text.split("\n")
    if len(lines) > 1 and _FENCE.match(lines[0]):
        return "\n".join(re.sub(r"(^|\s)#.*$", r"\1#", line).rstrip() for line in lines)
    return _TEXT.sub(r"\\text{}", text)


def same_code(english: str, translated: str) -> bool:
    r"""Whether a translated code fence or display equation keeps the English code/maths.

    Prose blocks (neither a fence nor a ``$$`` equation) always pass.

    >>> same_code("```\nx = 1  # one\n```", "```\nx = 1  # 하나\n```")
    True
    >>> same_code("$$a = b \\text{ bytes}$$", "$$a = 2b \\text{ 바이트}$$")
    False
    """
    text = english.strip()
    if not (_FENCE.match(text) or (text.startswith("$$") and text.endswith("$$"))):
        return True
    return _code_part(english.strip()) == _code_part(str(translated).strip())


def split_blocks(text: str) -> list:
    """Split Markdown into a list of :class:`Block` and blank lines (``str``, one a line).

    ``"\\n".join`` of every block's lines and every blank line gives ``text`` back.

    >>> parts = split_blocks("# T\\n\\nOne\\ntwo.\\n\\n```\\na\\n\\nb\\n```\\n")
    >>> [(p.text, p.prose) if isinstance(p, Block) else p for p in parts]
    [('# T', True), '', ('One\\ntwo.', True), '', ('```\\na\\n\\nb\\n```', False), '']
    """
    parts: list = []
    current: list[str] = []
    in_fence = in_math = False

    def flush():
        if current:
            parts.append(Block(tuple(current), _is_prose(current)))
            current.clear()

    for line in text.split("\n"):
        if not line.strip() and not in_fence and not in_math:
            flush()
            parts.append(line)
            continue
        current.append(line)
        if _FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence and line.count("$$") % 2 == 1:
            in_math = not in_math
    flush()
    return parts


def join_parts(parts, translate=lambda block: None) -> str:
    """Rebuild the document; ``translate(block)`` returns a block's new text or None to keep it."""
    out = []
    for part in parts:
        if not isinstance(part, Block):
            out.append(part)
            continue
        new = translate(part) if part.prose else None
        out.append(part.text if new is None else str(new).rstrip("\n"))
    return "\n".join(out)


def catalog_path(lecture, lang: str) -> Path:
    """``course/lectures/03_systolic.md`` -> ``course/lectures/i18n/ko/03_systolic.yaml``."""
    lecture = Path(lecture)
    return lecture.parent / CATALOG_DIR / normalize_lang(lang) / f"{lecture.stem}.yaml"


def output_path(lecture, lang: str) -> Path:
    """``course/lectures/03_systolic.md`` -> ``course/lectures/ko/03_systolic.md``."""
    lecture = Path(lecture)
    return lecture.parent / normalize_lang(lang) / lecture.name


def _blocks_entry(data: dict) -> dict:
    blocks = data.get("blocks") or {}
    if not isinstance(blocks, dict):
        raise ValueError("translation catalog: 'blocks' must be a mapping of digest -> entry")
    return {str(k): v for k, v in blocks.items()}


def _text(entry, lang):
    text = entry.get(lang) if isinstance(entry, dict) else None
    return str(text) if text is not None and str(text).strip() else None


@dataclass
class LectureStatus:
    """Translation state of one lecture: block keys per state (document order).

    ``stale`` maps a block's key to the catalog key of the translation it replaced.
    """

    lecture: str
    lang: str
    ok: list = field(default_factory=list)
    stale: dict = field(default_factory=dict)
    missing: list = field(default_factory=list)
    orphans: list = field(default_factory=list)
    blocks: dict = field(default_factory=dict)  # key -> English text of every prose block

    @property
    def complete(self) -> bool:
        """True when no block is stale or missing."""
        return not self.stale and not self.missing


def lecture_status(text: str, data: dict, lang: str, *, name: str = "lecture") -> LectureStatus:
    """Compare a lecture's prose blocks with a loaded catalog."""
    lang = normalize_lang(lang)
    entries = _blocks_entry(data)
    prose = [p for p in split_blocks(text) if isinstance(p, Block) and p.prose]
    status = LectureStatus(lecture=name, lang=lang, blocks={p.key: p.text for p in prose})
    keys = [p.key for p in prose]
    present = {k for k in keys if _text(entries.get(k), lang) is not None}
    status.ok = [k for k in keys if k in present]
    status.orphans = [k for k in entries if k not in status.blocks]
    # Align the untranslated blocks with the orphaned entries (both in document order).
    old = [k for k in entries if k in status.orphans or k in present]
    matcher = difflib.SequenceMatcher(None, old, keys, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        olds = [k for k in old[i1:i2] if k in status.orphans]
        for j, new in enumerate(keys[j1:j2]):
            if new in present:
                continue
            if j < len(olds):
                status.stale[new] = olds[j]
            elif new not in status.missing:
                status.missing.append(new)
    return status


def build_lecture(text: str, data: dict, lang: str, *, source_name: str = "lecture.md") -> tuple[str, LectureStatus]:
    """The translated lecture (untranslated blocks stay English) and its status."""
    lang = normalize_lang(lang)
    entries = _blocks_entry(data)
    status = lecture_status(text, data, lang, name=source_name)
    body = join_parts(split_blocks(text), lambda block: _text(entries.get(block.key), lang))
    stem = Path(source_name).stem
    note = (f"<!-- Generated from ../{source_name} and ../{CATALOG_DIR}/{lang}/{stem}.yaml by "
            f"`python -m npulab.i18n build`: edit the catalog, not this file. -->\n")
    return note + body, status


def build_file(path, lang: str, *, write: bool = True) -> tuple[Path, str, LectureStatus]:
    """Build ``output_path(path, lang)`` from the English note and its catalog."""
    path = Path(path)
    text, status = build_lecture(path.read_text(encoding="utf-8"), cat.load(catalog_path(path, lang)), lang,
                                 source_name=path.name)
    out = output_path(path, lang)
    if write:
        out.parent.mkdir(parents=True, exist_ok=True)
        if not out.exists() or out.read_text(encoding="utf-8") != text:
            out.write_text(text, encoding="utf-8")
    return out, text, status


def save_catalog(cpath, lecture_name: str, lang: str, blocks: dict) -> Path:
    """Write a lecture's catalog of ``blocks`` (key -> translations) to ``cpath``; return it."""
    header = (f"Translation catalog ({lang}) of {lecture_name}: one entry per prose block, keyed by\n"
              "npulab.i18n.catalog.digest(English block). An edited English block loses its entry.\n"
              "Work list: python -m npulab.i18n status --show")
    return cat.save(cpath, {"lecture": lecture_name, "lang": lang, "blocks": blocks}, header=header)


def update_entries(path, lang: str, translations: dict[str, str], *, prune: bool = True) -> Path:
    """Store translations ``{block_key: text}``; entries are kept in document order.

    With ``prune``, orphaned entries (English gone) whose position a new translation took
    are dropped.
    """
    path, lang = Path(path), normalize_lang(lang)
    cpath = catalog_path(path, lang)
    data = cat.load(cpath)
    entries = _blocks_entry(data)
    english = path.read_text(encoding="utf-8")
    status = lecture_status(english, data, lang, name=path.name)
    for key, text in translations.items():
        if key not in status.blocks:
            raise ValueError(f"{path.name}: no English block with digest {key} (the English changed?)")
        entries[key] = {lang: str(text).rstrip("\n") + "\n"}
    replaced = {status.stale[k] for k in translations if k in status.stale} if prune else set()
    order = list(status.blocks)
    ordered = {k: entries[k] for k in order if k in entries}
    ordered.update({k: v for k, v in entries.items() if k not in ordered and k not in replaced})
    return save_catalog(cpath, path.name, lang, ordered)


def prune(path, lang: str) -> list[str]:
    """Remove entries whose English block no longer exists; return their keys."""
    path, lang = Path(path), normalize_lang(lang)
    cpath = catalog_path(path, lang)
    data = cat.load(cpath)
    status = lecture_status(path.read_text(encoding="utf-8"), data, lang, name=path.name)
    if status.orphans:
        entries = {k: v for k, v in _blocks_entry(data).items() if k not in status.orphans}
        save_catalog(cpath, path.name, lang, entries)
    return status.orphans
