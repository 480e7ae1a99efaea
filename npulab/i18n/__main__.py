"""``python -m npulab.i18n``: the translator's work list and tools.

Commands (``--lang ko`` is the default; targets default to every ``solutions/*.ipynb`` and
``course/lectures/*.md`` under ``--root``, the current folder):

``status [--show] [TARGET ...]``
    Per lab/lecture: how many prose units are up to date, stale (English changed after
    translation) or missing; per lab also how many test-cell messages (assertion messages,
    raised errors: :mod:`npulab.i18n.assertions`) are translated, missing or invalid.
    ``--show`` prints the English of each unit to (re)translate and, for a stale one, its old
    translation.  Exit code 1 when anything is incomplete.
``export [TARGET ...] > work.yaml``
    The same work list as a YAML file to fill in (``ko:`` of each item, pre-filled with the
    old translation of a stale unit).
``import work.yaml``
    Store the filled-in items in the catalogs (items with an empty ``ko:`` are skipped).
``build``
    Regenerate ``course/lectures/<lang>/*.md`` from the English notes and their catalogs.
``prune``
    Drop catalog entries whose English unit no longer exists.
"""
from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

import yaml

from npulab.i18n import assertions, lectures, notebooks
from npulab.i18n import catalog as cat
from npulab.i18n.messages import normalize_lang


def default_targets(root) -> list[Path]:
    """Every solution notebook and English lecture note under ``root``."""
    root = Path(root)
    return sorted((root / "solutions").glob("*.ipynb")) + sorted((root / "course" / "lectures").glob("*.md"))


def _targets(args) -> list[Path]:
    paths = [Path(p) for p in args.targets] if args.targets else default_targets(args.root)
    for p in paths:
        if not p.is_file() or p.suffix not in (".ipynb", ".md"):
            raise ValueError(f"not a notebook (.ipynb) or lecture note (.md): {p}")
    return paths


def work_items(path: Path, lang: str) -> tuple[object, list[dict]]:
    """(status, items) of one target; an item is one unit to (re)translate."""
    items = []
    if path.suffix == ".ipynb":
        import nbformat

        nb = nbformat.read(path, as_version=4)
        data = cat.load(notebooks.catalog_path(path, lang))
        status = notebooks.notebook_status(nb, data, lang, name=path.name)
        entries = data.get("cells") or {}
        by_id = {str(c.get("id")): c for c in nb.cells}
        for cid in status.stale + status.missing:
            cell = by_id[cid]
            entry = entries.get(cid) or {}
            old = entry.get(lang) if cid in status.stale else None
            item = {"file": str(path), "key": cid, "state": "stale" if old else "missing",
                    "en_sha256": cat.digest(cell.source), "en": str(cell.source), lang: str(old or "")}
            if old and isinstance(entry.get("en"), str):  # what changed in the English since translation
                item["en_diff"] = "\n".join(difflib.unified_diff(
                    entry["en"].rstrip("\n").splitlines(), str(cell.source).splitlines(),
                    "English translated", "English now", lineterm="", n=1))
            items.append(item)
        items.sort(key=lambda it: list(by_id).index(it["key"]))
        english = assertions.notebook_messages(nb)
        messages = data.get("messages") or {}
        for key in status.messages_missing + status.messages_invalid:
            old = (messages.get(key) or {}).get(lang) if key in status.messages_invalid else None
            item = {"file": str(path), "kind": "message", "key": key,
                    "state": "invalid" if old else "missing", "en_sha256": key, "en": english[key],
                    lang: str(old or "")}
            if old:
                item["problem"] = assertions.translation_problem(english[key], old)
            items.append(item)
        return status, items
    data = cat.load(lectures.catalog_path(path, lang))
    lstatus = lectures.lecture_status(path.read_text(encoding="utf-8"), data, lang, name=path.name)
    entries = data.get("blocks") or {}
    for key, text in lstatus.blocks.items():
        if key in lstatus.stale:
            old = (entries.get(lstatus.stale[key]) or {}).get(lang, "")
            items.append({"file": str(path), "key": key, "state": "stale", "en_sha256": key, "en": text,
                          lang: str(old)})
        elif key in lstatus.missing:
            items.append({"file": str(path), "key": key, "state": "missing", "en_sha256": key, "en": text,
                          lang: ""})
    return lstatus, items


def _counts(status) -> tuple[int, int, int, int]:
    stale = len(status.stale)
    return len(status.ok), stale, len(status.missing), len(status.orphans)


def cmd_status(args) -> int:
    lang = normalize_lang(args.lang)
    incomplete = 0
    for path in _targets(args):
        status, items = work_items(path, lang)
        ok, stale, missing, orphans = _counts(status)
        unit = "cells" if path.suffix == ".ipynb" else "blocks"
        total = ok + stale + missing
        flag = "complete" if not stale and not missing else "INCOMPLETE"
        extra = f", {orphans} orphaned" if orphans else ""
        msgs = ""
        if isinstance(status, notebooks.NotebookStatus):
            m_ok, m_missing = len(status.messages_ok), len(status.messages_missing)
            m_invalid = len(status.messages_invalid)
            m_todo = m_missing + m_invalid
            incomplete += m_todo
            flag = "complete" if not stale and not missing and not m_todo else "INCOMPLETE"
            msgs = (f"\n{'':<44} {lang}  {m_ok:>3}/{m_ok + m_todo:<3} test messages translated, "
                    f"{m_missing} missing" + (f", {m_invalid} invalid" if m_invalid else "")
                    + (f", {len(status.messages_orphans)} orphaned" if status.messages_orphans else ""))
        print(f"{str(path):<44} {lang}  {ok:>3}/{total:<3} {unit} up to date, {stale} stale, "
              f"{missing} missing{extra}  {flag}{msgs}")
        incomplete += stale + missing
        if args.show:
            for item in items:
                kind = "test message " if item.get("kind") == "message" else ""
                print(f"\n--- {kind}{item['state']}: {item['file']} [{item['key']}] "
                      f"en_sha256={item['en_sha256']}")
                if item.get("problem"):
                    print(f"--- problem: {item['problem']}")
                print(item["en"])
                if item.get("en_diff"):
                    print("--- what changed in the English since it was translated:")
                    print(item["en_diff"])
                if item[lang]:
                    print(f"--- old {lang}:")
                    print(item[lang])
            if items:
                print()
    return 1 if incomplete else 0


def cmd_export(args) -> int:
    lang = normalize_lang(args.lang)
    items = []
    for path in _targets(args):
        items += work_items(path, lang)[1]
    sys.stdout.write(cat.dumps(items) if items else "[]\n")
    return 0


def cmd_import(args) -> int:
    work = Path(args.work)
    try:
        items = yaml.safe_load(work.read_text(encoding="utf-8")) or []
    except yaml.YAMLError as err:
        raise ValueError(f"{work}: not readable YAML ({err})") from None
    if not isinstance(items, list):
        raise ValueError(f"{work}: expected a list of work items (from `python -m npulab.i18n export`)")
    lang = normalize_lang(args.lang)
    per_file: dict[str, dict] = {}
    per_file_messages: dict[str, dict] = {}
    for item in items:
        text = item.get(lang)
        if not isinstance(text, str) or not text.strip():
            continue
        if item.get("kind") == "message":
            per_file_messages.setdefault(item["file"], {})[str(item["key"])] = text
            continue
        per_file.setdefault(item["file"], {})[str(item["key"])] = (str(item["en_sha256"]), text)
    for file, messages in per_file_messages.items():
        notebooks.update_messages(Path(file), lang, messages)
        print(f"{file}: {len(messages)} test message translation(s) stored")
    for file, translations in per_file.items():
        path = Path(file)
        if path.suffix == ".ipynb":
            notebooks.update_entries(path, lang, translations)
        else:
            lectures.update_entries(path, lang, {k: text for k, (_, text) in translations.items()})
        print(f"{file}: {len(translations)} translation(s) stored")
    return 0


def cmd_build(args) -> int:
    lang = normalize_lang(args.lang)
    for path in _targets(args):
        if path.suffix == ".md":
            out, _, status = lectures.build_file(path, lang)
            todo = len(status.stale) + len(status.missing)
            print(f"wrote {out}" + (f" ({todo} block(s) still English)" if todo else ""))
    return 0


def cmd_prune(args) -> int:
    lang = normalize_lang(args.lang)
    for path in _targets(args):
        gone = (notebooks.prune if path.suffix == ".ipynb" else lectures.prune)(path, lang)
        if gone:
            print(f"{path}: removed {len(gone)} orphaned entr{'y' if len(gone) == 1 else 'ies'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m npulab.i18n", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func, help_ in (("status", cmd_status, "what is missing or stale"),
                              ("export", cmd_export, "work list as YAML to fill in"),
                              ("import", cmd_import, "store a filled-in work list"),
                              ("build", cmd_build, "regenerate translated lecture notes"),
                              ("prune", cmd_prune, "drop entries whose English is gone")):
        p = sub.add_parser(name, help=help_)
        p.add_argument("--lang", default="ko", help="target language (default ko)")
        p.add_argument("--root", default=".", help="repository root (default: current folder)")
        if name == "import":
            p.add_argument("work", help="a work list written by `export` with translations filled in")
            p.set_defaults(targets=[])
        else:
            p.add_argument("targets", nargs="*", help="notebooks (.ipynb) or lecture notes (.md)")
        if name == "status":
            p.add_argument("--show", action="store_true", help="print the English of each unit to translate")
        p.set_defaults(func=func)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError) as err:
        print(f"python -m npulab.i18n {args.command}: error: {str(err).splitlines()[0]}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
