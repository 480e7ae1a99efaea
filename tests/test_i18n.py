"""Issue 19: Korean labs, lecture notes and messages from the English source.

* every prose cell of every lab and every prose block of every lecture has an up-to-date
  translation (a changed English text makes its translation stale, and this fails);
* Korean labs grade like the English ones: code cells, ids, metadata and tests identical;
* ``labs/ko/`` and ``course/lectures/ko/`` equal a fresh build (no hand edits, no drift);
* every test-cell message a student reads (assertion messages, raised errors) has a Korean
  translation, and a Korean release's test hashes are those of its Korean test cells (issue 24);
* the mechanism itself (stale detection, block splitting, release --lang, messages).
"""
from __future__ import annotations

import filecmp
import json
from pathlib import Path

import nbformat
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from npulab.grading.release import release, release_notebook
from npulab.i18n import assertions, lectures, notebooks
from npulab.i18n import catalog as cat
from npulab.i18n.messages import (
    LANGS,
    MESSAGES,
    argv_lang,
    env_lang,
    normalize_lang,
    placeholders,
    resolve_lang,
    stub_lang,
    t,
)

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
LECTURES = sorted((ROOT / "course" / "lectures").glob("*.md"))
LANG = "ko"


def _ids(paths):
    return [p.stem for p in paths]


# --------------------------------------------------------------------------- the course content


@pytest.mark.parametrize("path", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_every_lab_prose_cell_has_an_up_to_date_translation(path):
    nb = nbformat.read(path, as_version=4)
    status = notebooks.notebook_status(nb, cat.load(notebooks.catalog_path(path, LANG)), LANG, name=path.name)
    assert not status.stale, (f"{path.name}: English changed after translation (stale) in cells {status.stale}; "
                              f"see python -m npulab.i18n status --show {path.relative_to(ROOT)}")
    assert not status.missing, (f"{path.name}: no '{LANG}' translation for cells {status.missing}; "
                                f"see python -m npulab.i18n status --show {path.relative_to(ROOT)}")


@pytest.mark.parametrize("path", LECTURES, ids=_ids(LECTURES))
def test_every_lecture_block_has_an_up_to_date_translation(path):
    status = lectures.lecture_status(path.read_text(encoding="utf-8"),
                                     cat.load(lectures.catalog_path(path, LANG)), LANG, name=path.name)
    todo = list(status.stale) + status.missing
    assert not todo, (f"{path.name}: {len(status.stale)} stale and {len(status.missing)} missing '{LANG}' blocks; "
                      f"see python -m npulab.i18n status --show {path.relative_to(ROOT)}")


@pytest.mark.parametrize("path", LECTURES, ids=_ids(LECTURES))
def test_translated_code_and_equations_keep_their_code(path):
    """A code fence with English comments or an equation with English words is translated
    (issue 29), but only its comments and its \\text{...}: the code and the maths stay."""
    data = cat.load(lectures.catalog_path(path, LANG))
    entries = data.get("blocks") or {}
    parts = lectures.split_blocks(path.read_text(encoding="utf-8"))
    for block in (p for p in parts if isinstance(p, lectures.Block) and p.prose):
        ko = (entries.get(block.key) or {}).get(LANG)
        if ko:
            assert lectures.same_code(block.text, ko), f"{path.name} [{block.key}]: code or maths changed"


def test_code_comments_and_equation_words_are_prose_but_identifiers_are_not():
    def prose(text):
        return [p.prose for p in lectures.split_blocks(text) if isinstance(p, lectures.Block)]

    assert prose("```python\nx = 1  # one apple\n```") == [True]
    assert prose("```python\nx = 1\n```") == [False]
    assert prose("$$\\text{cycles} = F$$") == [True]
    assert prose("$$t_\\text{kernel} = \\text{MACs}_{\\text{conv}}$$") == [False]
    assert prose("$$P = \\underbrace{2d}_{\\text{norms}}$$") == [True]
    assert not lectures.same_code("```\nx = 1  # one\n```", "```\nx = 2  # 하나\n```")


@pytest.mark.parametrize("path", LECTURES, ids=_ids(LECTURES))
def test_korean_lecture_note_is_a_fresh_build(path):
    out, text, _ = lectures.build_file(path, LANG, write=False)
    assert out.exists(), f"{out.relative_to(ROOT)} is missing: run python -m npulab.i18n build"
    assert out.read_text(encoding="utf-8") == text, (
        f"{out.relative_to(ROOT)} differs from the English note + catalog: run python -m npulab.i18n build "
        "(edit the catalog, not the generated file)")


@pytest.mark.parametrize("path", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_korean_release_has_the_english_code_tests_and_metadata(path):
    nb = nbformat.read(path, as_version=4)
    english = release_notebook(nb, name=path.name)
    korean_src, _ = notebooks.translate_notebook(nb, cat.load(notebooks.catalog_path(path, LANG)), LANG)
    korean = release_notebook(korean_src, name=path.name, lang=LANG)
    assert notebooks.code_signature(korean) == notebooks.code_signature(english)
    # the raw sources too: only stub messages and test messages may differ, only in their wording
    for e, k in zip(english.cells, korean.cells):
        if e.cell_type == "code" and "NotImplementedError(" not in e.source:
            assert (assertions.normalized_source(e.source) == assertions.normalized_source(k.source)
                    if assertions.is_test_cell(e) else e.source == k.source), (
                f"{path.name} cell {e.get('id')}: code differs")
    assert korean.metadata["npulab"]["lang"] == LANG


@pytest.mark.parametrize("path", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_every_test_message_of_every_lab_has_a_korean_translation(path):
    nb = nbformat.read(path, as_version=4)
    status = notebooks.notebook_status(nb, cat.load(notebooks.catalog_path(path, LANG)), LANG, name=path.name)
    todo = status.messages_missing + status.messages_invalid
    assert not todo, (f"{path.name}: {len(status.messages_missing)} test messages without a '{LANG}' "
                      f"translation and {len(status.messages_invalid)} invalid; see "
                      f"python -m npulab.i18n status --show {path.relative_to(ROOT)}")
    assert not status.messages_orphans, f"{path.name}: orphaned messages (python -m npulab.i18n prune)"


def test_korean_labs_test_cells_are_korean_and_their_hashes_are_what_check_runs():
    from npulab.grading.release import read_manifest, source_sha256

    path = ROOT / "labs" / LANG / "00_orientation.ipynb"
    nb = nbformat.read(path, as_version=4)
    manifest = read_manifest(path)
    tests = [c for c in nb.cells if assertions.is_test_cell(c)]
    assert tests and manifest
    for cell in tests:
        gid = cell.metadata["nbgrader"]["grade_id"]
        assert manifest[gid] == source_sha256(cell.source) == cell.metadata["npulab"]["test_sha256"]
    assert any("실제 값" in c.source for c in tests), "the Korean lab's test messages should be Korean"


def test_korean_labs_are_a_fresh_release(tmp_path):
    """Drift check of labs/ko/ (like the English one in test_grading.py)."""
    release(ROOT / "solutions", tmp_path / LANG, lang=LANG)
    ko = ROOT / "labs" / LANG
    assert ko.is_dir(), "labs/ko/ is missing: run make release"
    cmp = filecmp.dircmp(tmp_path / LANG, ko, ignore=[".ipynb_checkpoints", "__pycache__"])
    assert not cmp.left_only, f"missing from labs/ko/ (run make release): {cmp.left_only}"
    assert not cmp.right_only, f"in labs/ko/ but not released from solutions/: {cmp.right_only}"
    _, mismatch, errors = filecmp.cmpfiles(tmp_path / LANG, ko, cmp.common_files, shallow=False)
    assert not mismatch and not errors, f"labs/ko/ differs from a fresh release (run make release): {mismatch}"


def test_catalogs_have_no_entries_for_units_that_are_gone():
    for path in SOLUTIONS:
        nb = nbformat.read(path, as_version=4)
        status = notebooks.notebook_status(nb, cat.load(notebooks.catalog_path(path, LANG)), LANG)
        assert not status.orphans, f"{path.name}: orphaned entries {status.orphans} (python -m npulab.i18n prune)"


# --------------------------------------------------------------------------- the mechanism


def _nb(cells):
    nb = nbformat.v4.new_notebook()
    for kind, cid, src, meta in cells:
        cell = (nbformat.v4.new_markdown_cell if kind == "md" else nbformat.v4.new_code_cell)(src)
        cell.id, cell.metadata = cid, meta
        nb.cells.append(cell)
    return nb


def _sol_meta(gid, *, solution=False, grade=False, points=0):
    return {"nbgrader": {"grade_id": gid, "solution": solution, "grade": grade, "locked": not solution,
                         "points": points, "schema_version": 3, "task": False}}


TOY = [
    ("md", "intro", "# Lab\n\nCount the folds.", _sol_meta("intro")),
    ("code", "folds", "def folds(n, r):\n    ### BEGIN SOLUTION\n    return -(-n // r)\n    ### END SOLUTION",
     _sol_meta("folds", solution=True)),
    ("code", "test-folds", "assert folds(5, 2) == 3, 'round up'", _sol_meta("test_folds", grade=True, points=2)),
    ("md", "why-q", "Predict, then explain.", _sol_meta("why_q")),
    ("md", "why", "### BEGIN SOLUTION\nBecause.\n### END SOLUTION", _sol_meta("why", solution=True, grade=True,
                                                                              points=1)),
]
TOY_KO = {
    "intro": "# 실습\n\n폴드 수를 센다.",
    "why-q": "예측한 뒤 설명하라.",
    "why": "### BEGIN SOLUTION\n그 이유는 다음과 같다.\n### END SOLUTION",
}


def _toy_catalog(nb, texts=TOY_KO):
    by_id = {c.id: c for c in nb.cells}
    return {"cells": {cid: {"en_sha256": cat.digest(by_id[cid].source), LANG: text} for cid, text in texts.items()}}


def test_translated_notebook_changes_only_markdown_and_tags_its_language():
    nb = _nb(TOY)
    out, status = notebooks.translate_notebook(nb, _toy_catalog(nb), LANG)
    assert status.complete and status.ok == ["intro", "why-q", "why"]
    assert [c.source for c in out.cells if c.cell_type == "markdown"] == list(TOY_KO.values())
    assert [c.source for c in out.cells if c.cell_type == "code"] == [c.source for c in nb.cells
                                                                       if c.cell_type == "code"]
    assert out.metadata["npulab"]["lang"] == LANG and "npulab" not in nb.metadata


def test_an_edited_english_cell_makes_only_its_translation_stale_and_keeps_english():
    nb = _nb(TOY)
    data = _toy_catalog(nb)
    nb.cells[0].source = "# Lab\n\nCount the folds of a 4x4 array."
    out, status = notebooks.translate_notebook(nb, data, LANG)
    assert status.stale == ["intro"] and status.ok == ["why-q", "why"] and not status.missing
    assert out.cells[0].source == nb.cells[0].source  # stale: English kept, never an outdated translation


def test_a_cell_without_translation_is_missing_and_an_unknown_id_is_orphaned():
    nb = _nb(TOY)
    data = _toy_catalog(nb, {"intro": TOY_KO["intro"], "why": TOY_KO["why"]})
    data["cells"]["gone"] = {"en_sha256": "0" * 16, LANG: "옛 셀"}
    status = notebooks.notebook_status(nb, data, LANG)
    assert status.missing == ["why-q"] and status.orphans == ["gone"]


def test_a_translation_that_drops_a_solution_marker_is_not_used():
    nb = _nb(TOY)
    data = _toy_catalog(nb, {**TOY_KO, "why": "그 이유는 다음과 같다."})
    status = notebooks.notebook_status(nb, data, LANG)
    assert status.stale == ["why"]


def test_release_in_korean_has_korean_stubs_and_identical_tests():
    nb = _nb(TOY)
    ko_src, _ = notebooks.translate_notebook(nb, _toy_catalog(nb), LANG)
    en, ko = release_notebook(nb), release_notebook(ko_src, lang=LANG)
    assert 'raise NotImplementedError("Exercise 1: implement folds(...)")' in en.cells[1].source
    assert 'raise NotImplementedError("연습문제 1: folds(...) 함수를 구현하세요")' in ko.cells[1].source
    assert ko.cells[2].source == en.cells[2].source
    assert ko.cells[2].metadata == en.cells[2].metadata  # same test_sha256, grade id, points
    assert ko.cells[4].source == en.cells[4].source == "YOUR ANSWER HERE"
    assert "그 이유" not in json.dumps(ko)  # the model answer is stripped in Korean too
    assert notebooks.code_signature(ko) == notebooks.code_signature(en)


HELPER_CELL = '''\
def _same(got, want, what, kind="close"):
    assert got == want, f"{what}: got {got}, expected {want}"
_same(f(1), _ref("decode", 1), "decode batch 1")
_same(f(2), 2, what="two", kind="exact")
assert f(3) == 3, "three"
### BEGIN HIDDEN TESTS
assert f(4) == 4, "hidden four"
### END HIDDEN TESTS
if f(5) != 5:
    raise AssertionError(f"five, not {f(5)}")
'''


def test_message_literals_are_messages_and_labels_never_data():
    found = [lit.text for lit in assertions.message_literals(HELPER_CELL)]
    # not "decode" (data for _ref), not "exact" (never shown), not the hidden test's message
    assert found == ['f"{what}: got {got}, expected {want}"', '"decode batch 1"', '"two"', '"three"',
                     'f"five, not {f(5)}"']
    for lit in assertions.message_literals(HELPER_CELL):
        assert HELPER_CELL[lit.start:lit.end] == lit.text


def test_message_offsets_count_characters_not_utf8_bytes():
    src = 'x = "±"; assert x, "sign ± is kept"'
    (lit,) = assertions.message_literals(src)
    assert src[lit.start:lit.end] == lit.text == '"sign ± is kept"'


@pytest.mark.parametrize("en, ko, ok", [
    ('"three"', '"셋"', True),
    ('f"five, not {f(5)}"', 'f"다섯이어야 한다. 실제 값 {f(5)}"', True),
    ('f"{a} vs {b!r:.3}"', 'f"{b!r:.3} 대 {a}"', True),     # fields may move
    ('f"{a} vs {b}"', 'f"{a} 대 {c}"', False),               # a changed expression
    ('f"got {x}"', '"실제 값"', False),                      # a dropped field
    ('"three"', '"셋" + str(x)', False),                     # not a literal: could run code
    ('"three"', '"셋', False),
    ('f"tile {t} "\n        f"({n} here)"', 'f"타일 {t} (여기서는 {n}개)"', True),  # a literal split over lines
    ('"three"', '"셋"), ("넷"', False),                    # the parentheses do not let a tuple in
])
def test_a_translation_must_be_a_literal_with_the_english_fields(en, ko, ok):
    assert (assertions.translation_problem(en, ko) is None) is ok


def _toy_with_messages():
    nb = _nb(TOY)
    data = _toy_catalog(nb)
    (lit,) = assertions.message_literals(nb.cells[2].source)
    data["messages"] = {lit.key: {"en": lit.text, LANG: "'올림하라'"}}
    return nb, data


def test_korean_release_translates_test_messages_and_keeps_the_test():
    nb, data = _toy_with_messages()
    status = notebooks.notebook_status(nb, data, LANG)
    assert status.messages_complete and len(status.messages_ok) == 1
    ko_src, _ = notebooks.translate_notebook(nb, data, LANG)
    en, ko = release_notebook(nb), release_notebook(ko_src, lang=LANG)
    assert ko.cells[2].source == "assert folds(5, 2) == 3, '올림하라'"
    assert ko.cells[2].metadata["npulab"]["test_sha256"] != en.cells[2].metadata["npulab"]["test_sha256"]
    assert notebooks.code_signature(ko) == notebooks.code_signature(en)
    # an invalid translation is not used (the English stays) and is reported
    data["messages"][status.messages_ok[0]][LANG] = "'올림' + folds(1, 1)"
    status = notebooks.notebook_status(nb, data, LANG)
    assert status.messages_invalid and not status.messages_complete
    assert notebooks.translate_notebook(nb, data, LANG)[0].cells[2].source == nb.cells[2].source


def test_korean_submission_grades_like_the_english_one_and_check_trusts_its_tests(tmp_path):
    from npulab.grading.autograde import grade_submission
    from npulab.grading.selfcheck import check

    nb, data = _toy_with_messages()
    src = tmp_path / "solutions"
    src.mkdir()
    nbformat.write(nb, src / "00_toy.ipynb")
    notebooks.save_catalog(notebooks.catalog_path(src / "00_toy.ipynb", LANG), "00_toy.ipynb", LANG,
                           data["cells"], data["messages"])
    release(src, tmp_path / "labs" / LANG, lang=LANG)
    student = tmp_path / "labs" / LANG / "00_toy.ipynb"
    sub = nbformat.read(student, as_version=4)
    assert "'올림하라'" in sub.cells[2].source
    sub.cells[1].source = "def folds(n, r):\n    return n // r"  # a wrong answer, in the Korean lab
    nbformat.write(sub, student)
    result = check(student, timeout=60)
    assert not result.modified and not result.all_passed
    assert "올림하라" in result.outcomes[0].message
    graded = grade_submission(src / "00_toy.ipynb", student, sandbox=False, cell_timeout=30,
                              notebook_timeout=60)
    assert graded.total == 0 and graded.max_score == 2
    assert "올림하라" in graded.outcomes[0].message  # the feedback speaks the submission's language
    sub.metadata["npulab"]["lang"] = "xx"  # a language the grader does not know: English, still graded
    nbformat.write(sub, student)
    graded = grade_submission(src / "00_toy.ipynb", student, sandbox=False, cell_timeout=30,
                              notebook_timeout=60)
    assert graded.total == 0 and "round up" in graded.outcomes[0].message
    sub.metadata["npulab"]["lang"] = LANG
    sub.cells[1].source = "def folds(n, r):\n    return -(-n // r)"
    nbformat.write(sub, student)
    assert check(student, timeout=60).all_passed
    graded = grade_submission(src / "00_toy.ipynb", student, sandbox=False, cell_timeout=30,
                              notebook_timeout=60)
    assert graded.total == graded.max_score == 2


def test_status_lists_untranslated_test_messages(tmp_path, capsys):
    from npulab.i18n.__main__ import main

    nb, data = _toy_with_messages()
    (tmp_path / "solutions").mkdir()
    path = tmp_path / "solutions" / "00_toy.ipynb"
    nbformat.write(nb, path)
    notebooks.save_catalog(notebooks.catalog_path(path, LANG), path.name, LANG, data["cells"], {})
    assert main(["status", "--show", str(path)]) == 1
    out = capsys.readouterr().out
    assert "0/1   test messages translated, 1 missing" in out and "INCOMPLETE" in out
    assert "--- test message missing:" in out and "'round up'" in out
    assert main(["export", str(path)]) == 0
    items = yaml.safe_load(capsys.readouterr().out)
    items[0][LANG] = "'올림하라'"
    work = tmp_path / "w.yaml"
    work.write_text(yaml.safe_dump(items, allow_unicode=True), encoding="utf-8")
    assert main(["import", str(work)]) == 0
    assert main(["status", str(path)]) == 0
    assert "1/1   test messages translated" in capsys.readouterr().out
    items[0][LANG] = "'올림' + x"
    work.write_text(yaml.safe_dump(items, allow_unicode=True), encoding="utf-8")
    assert main(["import", str(work)]) == 2  # an invalid literal is refused with one line


def test_code_signature_catches_a_changed_code_cell():
    nb = _nb(TOY)
    other = _nb(TOY)
    other.cells[2].source += "  # edited"
    assert notebooks.code_signature(release_notebook(nb)) != notebooks.code_signature(release_notebook(other))


def test_cli_release_lang_ko_writes_dst_ko_without_catalogs(tmp_path):
    from npulab.cli import main

    src = tmp_path / "solutions"
    src.mkdir()
    nb = _nb(TOY)
    nbformat.write(nb, src / "00_toy.ipynb")
    notebooks.save_catalog(notebooks.catalog_path(src / "00_toy.ipynb", LANG), "00_toy.ipynb", LANG,
                           _toy_catalog(nb)["cells"])
    assert main(["release", str(src), str(tmp_path / "labs"), "--lang", "ko"]) == 0
    written = nbformat.read(tmp_path / "labs" / "ko" / "00_toy.ipynb", as_version=4)
    assert written.cells[0].source == TOY_KO["intro"]
    assert not (tmp_path / "labs" / "ko" / "i18n").exists(), "catalogs (model answers) must not be released"
    assert main(["release", str(src), str(tmp_path / "labs")]) == 0
    assert not (tmp_path / "labs" / "i18n").exists()


def test_cli_release_warns_on_untranslated_cells(tmp_path, capsys):
    from npulab.cli import main

    src = tmp_path / "solutions"
    src.mkdir()
    nbformat.write(_nb(TOY), src / "00_toy.ipynb")
    assert main(["release", str(src), str(tmp_path / "labs"), "--lang", "ko"]) == 0
    err = capsys.readouterr().err
    assert "00_toy.ipynb: 3 of 3 Markdown cells" in err and "stay English" in err


def test_catalog_round_trips_korean_multiline_text(tmp_path):
    data = {"cells": {"a": {"en_sha256": "ab" * 8, "ko": "첫 줄\n  $x_i$ 둘째 줄: `code`\n"}, "b": {"ko": "한 줄"}}}
    path = cat.save(tmp_path / "c.yaml", data, header="note")
    assert cat.load(path) == data
    assert "첫 줄" in path.read_text(encoding="utf-8")  # Korean as is, not escaped


LECTURE = """# Lecture 9 — Toy

*Week 9*

## 1. Idea

One paragraph
over two lines.

```python
x = 1

y = 2
```

$$
a = b

c = d
$$

---

| a | b |
|---|---|
| 1 | 2 |
"""


def test_lecture_split_keeps_code_and_math_whole_and_round_trips():
    parts = lectures.split_blocks(LECTURE)
    assert lectures.join_parts(parts) == LECTURE
    blocks = [p for p in parts if isinstance(p, lectures.Block)]
    assert [b.prose for b in blocks] == [True, True, True, True, False, False, False, True]
    assert blocks[4].text.count("\n") == 4 and blocks[5].text.startswith("$$")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["", "Text", "```", "$$", "x = 1", "$$ a $$", "  ", "---", "# H"]), max_size=30))
def test_lecture_split_round_trips_any_document(lines):
    text = "\n".join(lines)
    assert lectures.join_parts(lectures.split_blocks(text)) == text


def _lecture_catalog(text, translate):
    return {"blocks": {p.key: {LANG: translate(p.text)} for p in lectures.split_blocks(text)
                       if isinstance(p, lectures.Block) and p.prose}}


def test_editing_one_english_paragraph_makes_only_that_block_stale():
    data = _lecture_catalog(LECTURE, lambda s: "KO:" + s)
    built, status = lectures.build_lecture(LECTURE, data, LANG)
    assert status.complete and "KO:One paragraph" in built and "x = 1\n\ny = 2" in built
    edited = LECTURE.replace("over two lines.", "over two short lines.")
    status = lectures.lecture_status(edited, data, LANG)
    old_key = cat.digest("One paragraph\nover two lines.")
    new_key = cat.digest("One paragraph\nover two short lines.")
    assert status.stale == {new_key: old_key} and not status.missing and len(status.ok) == 4
    built, _ = lectures.build_lecture(edited, data, LANG)
    assert "\nOne paragraph\nover two short lines.\n" in built  # English until re-translated
    assert "KO:## 1. Idea" in built


def test_a_new_english_paragraph_is_missing_not_stale():
    data = _lecture_catalog(LECTURE, lambda s: "KO:" + s)
    edited = LECTURE.replace("*Week 9*\n", "*Week 9*\n\nA new paragraph.\n")
    status = lectures.lecture_status(edited, data, LANG)
    assert status.missing == [cat.digest("A new paragraph.")] and not status.stale


def test_status_tool_lists_work_and_import_stores_it(tmp_path, capsys):
    from npulab.i18n.__main__ import main

    lec = tmp_path / "course" / "lectures" / "09_toy.md"
    lec.parent.mkdir(parents=True)
    lec.write_text(LECTURE, encoding="utf-8")
    assert main(["status", "--root", str(tmp_path)]) == 1
    assert "0/5   blocks up to date, 0 stale, 5 missing" in capsys.readouterr().out
    assert main(["export", "--root", str(tmp_path)]) == 0
    import yaml

    items = yaml.safe_load(capsys.readouterr().out)
    assert [it["state"] for it in items] == ["missing"] * 5
    for it in items:
        it[LANG] = "번역: " + it["en"]
    work = tmp_path / "work.yaml"
    work.write_text(cat.dumps(items), encoding="utf-8")
    assert main(["import", str(work)]) == 0
    assert main(["status", "--root", str(tmp_path)]) == 0
    assert main(["build", "--root", str(tmp_path)]) == 0
    out = (tmp_path / "course" / "lectures" / "ko" / "09_toy.md").read_text(encoding="utf-8")
    assert "번역: ## 1. Idea" in out and "x = 1\n\ny = 2" in out and out.startswith("<!-- Generated")


# --------------------------------------------------------------------------- messages


def test_every_message_exists_in_every_language_with_the_same_placeholders():
    for msg_id, table in MESSAGES.items():
        assert set(table) == set(LANGS), f"{msg_id}: languages {sorted(table)}"
        assert placeholders(table["ko"]) == placeholders(table["en"]), msg_id


@pytest.mark.parametrize("environ, expected", [
    ({"LANG": "ko_KR.UTF-8"}, "ko"), ({"LANG": "en_US.UTF-8"}, "en"), ({}, None),
    ({"LC_ALL": "C", "LANG": "ko_KR.UTF-8"}, "en"), ({"LANGUAGE": "fr:ko"}, "ko"),
    ({"NPULAB_LANG": "ko", "LANG": "en_US.UTF-8"}, "ko"), ({"LANG": "de_DE.UTF-8"}, "en"),
])
def test_language_from_environment(environ, expected):
    assert env_lang(environ) == expected


def test_language_precedence_explicit_then_notebook_then_environment():
    env = {"LANG": "ko_KR.UTF-8"}
    assert resolve_lang("en", notebook_lang="ko", environ=env) == "en"
    assert resolve_lang(None, notebook_lang="ko", environ={"LANG": "en_US.UTF-8"}) == "ko"
    assert resolve_lang(None, environ=env) == "ko"
    assert resolve_lang(None, notebook_lang="xx", environ={}) == "en"
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        normalize_lang("fr")


def test_help_language_from_argv_and_stub_language():
    assert argv_lang(["grade", "--lang", "ko"]) == "ko" and argv_lang(["grade"]) is None
    assert stub_lang(t("stub", "ko", n=2, what="f(...)")) == "ko"
    assert stub_lang(t("stub", "en", n=2, what="f(...)")) == "en"


def test_labkit_skip_notice_follows_the_stub_language(capsys):
    from npulab.labkit import exercise

    with exercise(1):
        raise NotImplementedError(t("stub", "ko", n=4, what="f(...)"))
    with exercise(1):
        raise NotImplementedError(t("stub", "en", n=5, what="f(...)"))
    assert capsys.readouterr().out.splitlines() == ["건너뜀: 아직 풀지 않은 연습문제 4",
                                                    "skipped: Exercise 5 is not done yet"]


@pytest.mark.parametrize("name", ["npulab.i18n.messages", "npulab.i18n.catalog", "npulab.i18n.lectures"])
def test_i18n_docstring_examples(name):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


_NO_CLOSE = __import__("re").compile(r"(?<=[)\].,:;!?`$%>~\-])(?<![*_])(\*+)(?=[가-힣])")


def test_korean_emphasis_can_close_before_a_particle():
    """CommonMark: ``**NPU(...)**는`` does not render bold (a ``**`` after punctuation and before a
    letter cannot close); write ``**NPU**(...)는`` instead."""
    bad = []
    for cpath in sorted((ROOT / "solutions" / "i18n" / LANG).glob("*.yaml")) + sorted(
            (ROOT / "course" / "lectures" / "i18n" / LANG).glob("*.yaml")):
        for i, line in enumerate(cpath.read_text(encoding="utf-8").splitlines(), 1):
            bad += [f"{cpath.name}:{i}: {line.strip()[:80]}" for _ in _NO_CLOSE.finditer(line)]
    assert not bad, "emphasis that cannot close:\n" + "\n".join(bad)


def test_status_shows_what_changed_in_a_stale_cells_english(tmp_path, capsys):
    from npulab.i18n.__main__ import main, work_items

    path = tmp_path / "solutions" / "00_toy.ipynb"
    path.parent.mkdir()
    nb = _nb(TOY)
    nbformat.write(nb, path)
    notebooks.update_entries(path, LANG, {cid: (cat.digest(c.source), TOY_KO[cid]) for cid, c in
                                          ((c.id, c) for c in nb.cells) if cid in TOY_KO})
    notebooks.update_messages(path, LANG, {k: "'올림하라'" for k in assertions.notebook_messages(nb)})
    assert main(["status", str(path)]) == 0
    nb.cells[0].source = "# Lab\n\nCount the folds twice."
    nbformat.write(nb, path)
    _, items = work_items(path, LANG)
    assert [it["key"] for it in items] == ["intro"] and items[0]["state"] == "stale"
    assert "-Count the folds." in items[0]["en_diff"] and "+Count the folds twice." in items[0]["en_diff"]
    assert items[0][LANG] == TOY_KO["intro"] + "\n"  # the old translation is the starting point
    assert main(["status", "--show", str(path)]) == 1
    assert "what changed in the English" in capsys.readouterr().out


# --------------------------------------------------------------------------- messages wired into grading


def test_self_check_speaks_the_notebooks_language(tmp_path, monkeypatch):
    from npulab.grading.selfcheck import check

    for var in ("NPULAB_LANG", "LC_ALL", "LC_MESSAGES", "LANGUAGE", "NPULAB_SELF_CHECK", "NBGRADER_EXECUTION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    nb = _nb([TOY[0]])
    nb.metadata["npulab"] = {"lang": "ko"}
    nbformat.write(nb, tmp_path / "00_toy.ipynb")
    result = check(tmp_path / "00_toy.ipynb")  # no test cells: answers before starting a kernel
    assert result.lang == "ko" and "자가 점검" in str(result) and "테스트를 찾지 못했습니다" in str(result)
    assert "Self-check of" in str(check(tmp_path / "00_toy.ipynb", lang="en"))


def test_check_result_report_in_korean():
    from npulab.grading.execute import TestOutcome
    from npulab.grading.selfcheck import CheckResult

    outcomes = (TestOutcome("test_a", 2.0, True, ""), TestOutcome("test_b", 3.0, False, "AssertionError: round up"))
    ko = str(CheckResult(notebook="03.ipynb", outcomes=outcomes, lang="ko"))
    assert "03.ipynb 자가 점검: 공개 테스트 2/5점" in ko and "[통과] test_a" in ko and "[실패] test_b" in ko
    assert "처음 실패한 테스트부터" in ko
    en = str(CheckResult(notebook="03.ipynb", outcomes=outcomes))
    assert "Self-check of 03.ipynb: 2/5 points on visible tests" in en and "[PASS] test_a" in en


def test_feedback_page_in_korean():
    from npulab.grading.autograde import SubmissionResult
    from npulab.grading.execute import TestOutcome
    from npulab.grading.feedback import feedback_html

    result = SubmissionResult(student="ada", outcomes=(TestOutcome("test_a", 2.0, True, ""),), status="ok")
    page = feedback_html(result, "03_systolic", lang="ko")
    assert '<html lang="ko">' in page and "ada 학생 피드백" in page and "정상 채점됨" in page and "통과" in page
    assert "feedback for ada" in feedback_html(result, "03_systolic", lang="en")


@pytest.mark.parametrize("command", ["check", "grade"])
def test_cli_help_follows_lang(command, monkeypatch, capsys):
    from npulab.cli import main

    for var in ("NPULAB_LANG", "LC_ALL", "LC_MESSAGES", "LANGUAGE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "ko_KR.UTF-8")
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert ("자가 점검" if command == "check" else "채점") in capsys.readouterr().out
    monkeypatch.setenv("LANG", "C.UTF-8")
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert "self-check" in capsys.readouterr().out or command == "grade"
