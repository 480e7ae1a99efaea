"""Issue 29: the Korean course text uses one term per concept (course/glossary.md).

A reviewer found ~25 terminology slips in the Korean notes and syllabus (서비스 for serving, 동료
도구 for peer tools, 한계 for bound, 사영, 발자국, 묶인 임베딩, 강의자 beside 교수자, 숨김 beside
비공개 테스트, ...).  This check fails on the banned variants in every Korean course text a student
reads: the lecture catalogs (the source of ``course/lectures/ko/``), the generated notes, the
Korean syllabus and the Korean quizzes.  Each rule is a regular expression scoped so that
legitimate uses pass (서비스 시간 is queueing's "service time"; 한계 alone may mean "limit").

The labs' catalogs (``solutions/i18n/ko``, the source of ``labs/ko/``: prose cells and
test-cell messages) and the Korean CLI messages (``npulab/i18n/messages.py``) are scanned by
the same rules.

Issue 24 adds the register (``course/glossary.md``, "Korean translation notes"): course text
is 한다체 with 하라 instructions, so a 합니다/하세요/하시오 ending or a note-style 할 것 in a
catalog, a generated note, the syllabus or a quiz fails.  Program output (the message table)
is 합니다체 by design and is exempt; so is text in backticks (a quoted stub message).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COURSE = ROOT / "course"

#: (banned pattern, the term to use, why).  Patterns are matched on Korean text only.
BANNED = [
    (r"동료\s*(도구|시뮬레이터)", "유사 도구 / 유사 시뮬레이터", "peer tools are not colleagues"),
    (r"서비스(?!\s*시간|율)", "서빙", "serving (서비스 시간 = queueing's service time is allowed)"),
    (r"(메모리|연산|대역폭)\s*한계", "메모리 바운드 / 연산 바운드", "compute-/memory-bound is 바운드"),
    (r"(출력\s*)?한계\s*관리|출력\s*한계", "바운드 관리 / 출력 바운드", "aihwkit's bound management"),
    (r"\|\s*한계\s*\|", "| 바운드 |", "the bound column of a roofline table"),
    (r"좁은\s*(산술|정밀도)", "낮은 정밀도 산술", "narrow arithmetic"),
    (r"잘림|잘린|잘렸|잘라\s*내|자르기", "클리핑", "clipping has one name (잘라 = cut into pieces is fine)"),
    (r"사영", "투영", "projection"),
    (r"발자국", "점유량", "footprint"),
    (r"묶인\s*임베딩", "공유(tied) 임베딩", "tied embeddings"),
    (r"강의자", "교수자", "instructor has one name"),
    (r"숨김\s*테스트", "비공개 테스트", "hidden tests have one name"),
    (r"지각\s*사용일", "지각 허용일", "late days"),
    (r"\d+\s*개의?\s*부호(?!\s*(있|없))|(발화율|지연|델타)\s*부호(?!화|기)|(없는|비트)\s+부호(는|가|를|에서|의)"
     r"|부호\s*배열", "코드", "a code is 코드; 부호 is the sign"),
    (r"부호기", "인코더", "an encoder is 인코더 (부호 is the sign)"),
    (r"사건", "이벤트", "a spike event is 이벤트 (Lab 06, Lecture 6)"),
    (r"16개\s*블록에", "원소 16개짜리 블록", "NVFP4's blocks have 16 elements"),
]


MESSAGES = "npulab/i18n/messages.py"


def _korean_texts():
    """(label, text) for every Korean course text a student reads."""
    for path in sorted((COURSE / "lectures" / "i18n" / "ko").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for key, entry in (data.get("blocks") or {}).items():
            yield f"{path.relative_to(ROOT)}:{key}", entry.get("ko") or ""
    for path in sorted((ROOT / "solutions" / "i18n" / "ko").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for key, entry in (data.get("cells") or {}).items():
            yield f"{path.relative_to(ROOT)}:{key}", entry.get("ko") or ""
        for key, entry in (data.get("messages") or {}).items():
            yield f"{path.relative_to(ROOT)}:messages:{key}", entry.get("ko") or ""
    yield MESSAGES, (ROOT / MESSAGES).read_text(encoding="utf-8")
    paths = sorted((COURSE / "lectures" / "ko").glob("*.md"))
    paths += [COURSE / "syllabus.ko.md"] + sorted((COURSE / "quizzes").glob("*.ko.md"))
    for path in paths:
        yield str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")


TEXTS = list(_korean_texts())

def _hits(text: str) -> list[str]:
    found = []
    for pattern, use, why in BANNED:
        for m in re.finditer(pattern, text):
            line = text[: m.start()].count("\n") + 1
            found.append(f"line {line}: {m.group(0)!r} -> use {use} ({why})")
    return found


def test_the_check_scans_the_course():
    labels = [label for label, _ in TEXTS]
    assert any("i18n/ko/07_scorecard_llm.yaml" in x for x in labels)
    assert any(x.endswith("syllabus.ko.md") for x in labels)
    assert any("solutions/i18n/ko/06_snn.yaml" in x for x in labels) and "npulab/i18n/messages.py" in labels
    assert any(":messages:" in x for x in labels), "the labs' test messages are scanned too"
    assert len(TEXTS) > 300


@pytest.mark.parametrize("text, n", [
    ("LLM 서비스의 비용", 1), ("고정 서비스 시간 $S$", 0), ("서비스율 $\\mu$", 0),
    ("메모리 한계인 층", 1), ("메모리 바운드인 층", 0), ("한계 관리", 1), ("속도의 상한", 0),
    ("동료 도구와의 차이", 1), ("유사 도구와의 차이", 0), ("256개 부호 전부", 1),
    ("부호 있는 가중치", 0), ("스파이크 부호화", 0), ("발화율 부호(rate code)", 1),
    ("강의자용 노트", 1), ("교수자용 노트", 0), ("숨김 테스트", 1), ("비공개 테스트", 0),
    ("256개의 부호를 쓴다", 1), ("부호 없는 부호에서", 1), ("부호 있는 $b$비트 부호는", 1),
    ("`np.uint8` 부호 배열", 1), ("부호 없는 코드에서", 0), ("부호 비트를 켠다", 0),
    ("델타 부호기", 1), ("델타 인코더", 0), ("사건을 센다", 1), ("이벤트를 센다", 0),
    ("큰 출력은 잘린다", 1), ("행이 잘렸고", 1), ("(자르기 전에)", 1), ("프롬프트를 조각으로 잘라", 0),
])
def test_rules_flag_banned_variants_and_spare_legitimate_uses(text, n):
    assert len(_hits(text)) == n, _hits(text)


#: Endings course text never uses (glossary: 한다체 explanations, 하라 instructions):
#: 하세요, 하십시오, 하시오, polite questions (…까요? …나요?), a note-style "…을 것." and any
#: 합니다-style ending (a syllable with the final consonant ㅂ before 니다: 합니다, 됩니다,
#: 입니다, 있습니다; not 아니다).
POLITE = re.compile(r"[가-힣]*(세요|십시오|시오|까요|나요|가요|죠)(?![가-힣])"
                    r"|[가-힣]+[을를]\s*것(?=[.)])"
                    r"|([가-힣])니다(?![가-힣])")


def _polite(match) -> bool:
    if match.group(2) is None:
        return True
    syllable = ord(match.group(2)) - 0xAC00
    return syllable % 28 == 17  # final consonant ㅂ (합, 됩, 입, 습)


def _register_hits(text: str) -> list[str]:
    """Polite or note-style endings outside backticks (a quoted stub message is program output)."""
    text = re.sub(r"`[^`\n]*`", "``", text)
    found = []
    for m in POLITE.finditer(text):
        if _polite(m):
            line = text[: m.start()].count("\n") + 1
            found.append(f"line {line}: {m.group(0)!r}")
    return found


@pytest.mark.parametrize("label, text", TEXTS, ids=[label for label, _ in TEXTS])
def test_korean_course_text_uses_the_glossary_terms(label, text):
    hits = _hits(text)
    assert not hits, f"{label}: " + "; ".join(hits)


@pytest.mark.parametrize("text, n", [
    ("연습문제 1을 구현하세요.", 1), ("자가 점검을 실행합니다.", 1), ("값은 정수입니다(예: 3).", 1),
    ("테스트 메시지를 잘 읽을 것).", 1), ("다음을 구하시오.", 1), ("`npulab check`를 실행하라.", 0),
    ("폴드 하나는 네 사이클이 걸린다.", 0),
    ("스텁 `연습문제 3: f(...) 함수를 구현하세요`를 바꾼다.", 0),
    ("1.5 > 1.0이므로 한 번 발화한다. 실제 값 {x}", 0), ("그렇게 할 것이다.", 0),
    ("몇 사이클이 걸릴까요?", 1), ("몇 사이클이 걸릴까?", 0), ("몇 번 드나요?", 1),
])
def test_register_rule_flags_polite_and_note_style_endings(text, n):
    assert len(_register_hits(text)) == n, _register_hits(text)


@pytest.mark.parametrize("label, text", [(lb, tx) for lb, tx in TEXTS if lb != MESSAGES],
                         ids=[lb for lb, _ in TEXTS if lb != MESSAGES])
def test_korean_course_text_keeps_one_register(label, text):
    hits = _register_hits(text)
    assert not hits, (f"{label}: 합니다/하세요/할 것 in course text (glossary: 한다체, 하라): "
                      + "; ".join(hits))


def test_glossary_has_the_issue_29_entries():
    glossary = (COURSE / "glossary.md").read_text(encoding="utf-8")
    for en, ko in [("Serving (LLM)", "서빙"), ("Continuous batching", "연속 배칭"), ("Goodput", "굿풋"),
                   ("Critical batch", "임계 배치"), ("Duty cycle", "듀티 사이클"),
                   ("Leakage (static) power", "누설 전력"), ("Pareto front", "파레토 프런트"),
                   ("Bound (compute-, memory-)", "바운드"), ("Footprint (memory)", "점유량"),
                   ("Code (codeword)", "코드"), ("Sign", "부호"), ("Event (spike event)", "이벤트"),
                   ("Encoder (spike, delta)", "인코더")]:
        row = next((r for r in glossary.splitlines() if r.startswith(f"| {en} |")), None)
        assert row is not None, f"glossary has no row for {en!r}"
        assert ko in row.split("|")[2], f"glossary row {en!r} should give {ko!r}"
    assert "## Korean translation notes: register and terms" in glossary
