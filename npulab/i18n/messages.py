"""Student-facing messages in English and Korean: one table, one lookup, ``t(msg_id, lang, **kw)``.

Why a table module and not gettext ``.po``/``.mo`` files: the course has two languages and
about fifty messages; a Python table keeps each English string beside its Korean one (a
reviewer reads both in one place), needs no compiled ``.mo`` build step (the standard library
has no ``msgfmt``), and lets a test check that every message exists in every language with
the same ``{placeholders}``.  Code never holds student-facing text itself: it calls
:func:`t` with a message id.

Language choice (:func:`resolve_lang`): an explicit ``lang`` (``--lang ko``) first, then the
notebook's own language (Korean labs carry ``metadata.npulab.lang = "ko"``), then the
environment (``NPULAB_LANG``, then ``LC_ALL``, ``LC_MESSAGES``, ``LANG``, ``LANGUAGE`` as
POSIX locales: ``ko_KR.UTF-8`` means Korean), else English.

>>> t("stub", "ko", n=3, what="num_folds(...)")
'연습문제 3: num_folds(...) 함수를 구현하세요'
>>> t("stub", "en", n=3, what="num_folds(...)")
'Exercise 3: implement num_folds(...)'
"""
from __future__ import annotations

import os
import re
import string
import sys

#: Languages with a full catalog; the first is the source language.
LANGS = ("en", "ko")
#: Environment variables read for the language, highest priority first.
LANG_ENV = ("NPULAB_LANG", "LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE")

#: message id -> {language: text}.  Placeholders use ``str.format`` names.
MESSAGES: dict[str, dict[str, str]] = {
    # --- released stubs and lab helpers (npulab.grading.release, npulab.labkit) -----------------
    "stub": {
        "en": "Exercise {n}: implement {what}",
        "ko": "연습문제 {n}: {what} 함수를 구현하세요",
    },
    "stub_cell": {
        "en": "Exercise {n}: implement this cell",
        "ko": "연습문제 {n}: 이 셀을 완성하세요",
    },
    "skipped": {
        "en": "skipped: Exercise {n} is not done yet",
        "ko": "건너뜀: 아직 풀지 않은 연습문제 {n}",
    },
    "answer_here": {
        "en": "YOUR ANSWER HERE",
        "ko": "YOUR ANSWER HERE",  # kept: nbgrader and the gradebook look for this marker
    },
    # --- self-check (npulab check, npulab.check) -------------------------------------------------
    "check_header": {
        "en": "Self-check of {notebook}: {score}/{max_score} points on visible tests",
        "ko": "{notebook} 자가 점검: 공개 테스트 {score}/{max_score}점",
    },
    "check_no_tests": {
        "en": "Self-check of {notebook}: no tests found (no graded test cells). Did you delete or "
              "change the lab's test cells? Start again from the released lab.",
        "ko": "{notebook} 자가 점검: 테스트를 찾지 못했습니다(채점 테스트 셀이 없음). 실습의 테스트 셀을 "
              "지우거나 바꾸지 않았는지 확인하고, 배포된 실습 파일에서 다시 시작하세요.",
    },
    "check_no_tests_note": {"en": "no tests found", "ko": "테스트를 찾지 못함"},
    "mark_pass": {"en": "PASS", "ko": "통과"},
    "mark_todo": {"en": "TODO", "ko": "미완"},
    "mark_fail": {"en": "FAIL", "ko": "실패"},
    "check_points": {"en": "{points}/{points} pts", "ko": "{points}/{points}점"},
    "check_todo": {
        "en": "not attempted yet (the stub still raises NotImplementedError)",
        "ko": "아직 풀지 않음(스텁이 여전히 NotImplementedError를 발생시킵니다)",
    },
    "check_note": {"en": "Note: {note}", "ko": "참고: {note}"},
    "check_all_passed": {
        "en": "All visible tests pass. Hidden tests are run by your instructor's autograder.",
        "ko": "공개 테스트를 모두 통과했습니다. 비공개 테스트는 교수자의 자동 채점기가 실행합니다.",
    },
    "check_fix_first": {
        "en": "Fix the first failing test, save (Ctrl-S), and run the check again.",
        "ko": "처음 실패한 테스트부터 고치고, 저장(Ctrl-S)한 뒤 다시 점검하세요.",
    },
    "check_test_restored": {
        "en": "test cell '{gid}' was modified; the released test ran instead",
        "ko": "테스트 셀 '{gid}'이(가) 수정되어 배포된 원래 테스트를 대신 실행했습니다",
    },
    "check_test_modified": {
        "en": "test cell '{gid}' was modified (it no longer matches the released test); it does not "
              "count: copy it back from the released lab",
        "ko": "테스트 셀 '{gid}'이(가) 수정되어 배포된 테스트와 일치하지 않으므로 점수에 반영되지 않습니다. "
              "배포된 실습 파일에서 원래 셀을 다시 복사하세요",
    },
    "check_not_run_modified": {
        "en": "not run: this test cell was modified after release",
        "ko": "실행하지 않음: 배포 후 이 테스트 셀이 수정되었습니다",
    },
    "check_crash_note": {
        "en": "{cell} raised {error}; tests after it may fail because of it",
        "ko": "{cell}에서 {error} 오류가 발생했습니다. 그 뒤의 테스트는 이 때문에 실패할 수 있습니다",
    },
    "check_advisory": {
        "en": "This self-check is advisory: your grade comes from the instructor's autograder, which "
              "runs its own copy of the tests, hidden tests included.",
        "ko": "이 자가 점검은 참고용입니다. 성적은 교수자의 자동 채점기가 정하며, 채점기는 비공개 테스트를 "
              "포함한 자신의 테스트 사본을 실행합니다.",
    },
    "check_no_manifest": {
        "en": "no test_hashes.json from the release next to the notebook: test cells were checked "
              "against the hashes stored in the notebook itself",
        "ko": "노트북 옆에 배포본의 test_hashes.json이 없어 노트북 안에 저장된 해시로 테스트 셀을 "
              "확인했습니다",
    },
    "check_skipped": {
        "en": "(self-check: skipped inside a self-check run)",
        "ko": "(자가 점검: 자가 점검 실행 중에는 건너뜀)",
    },
    # --- autograder feedback pages (npulab grade) -------------------------------------------------
    "fb_title": {"en": "{lab}: feedback for {student}", "ko": "{lab}: {student} 학생 피드백"},
    "fb_score": {"en": "Score: {total} / {max_score}", "ko": "점수: {total} / {max_score}"},
    "fb_manual_extra": {
        "en": " (plus {points} points of written answers, graded by hand)",
        "ko": " (서술형 답안 {points}점은 별도로 수동 채점)",
    },
    "fb_status": {"en": "Status: <b>{status}</b> ({explain}).", "ko": "상태: <b>{status}</b> ({explain})."},
    "fb_head_test": {"en": "test", "ko": "테스트"},
    "fb_head_result": {"en": "result", "ko": "결과"},
    "fb_head_points": {"en": "points", "ko": "점수"},
    "fb_head_message": {"en": "message", "ko": "메시지"},
    "fb_passed": {"en": "passed", "ko": "통과"},
    "fb_failed": {"en": "failed", "ko": "실패"},
    "fb_test_error": {"en": "the test raised an error", "ko": "테스트에서 오류가 발생했습니다"},
    "fb_cut": {"en": " ... (cut)", "ko": " ... (이하 생략)"},
    "fb_manual_heading": {
        "en": "Written answers (manual grading pending)",
        "ko": "서술형 답안 (수동 채점 대기 중)",
    },
    "fb_manual_item": {
        "en": "{gid} ({points} points, graded by hand)",
        "ko": "{gid} ({points}점, 수동 채점)",
    },
    "fb_footer": {
        "en": "A test earns its points when it runs to completion. Tests include hidden ones, so "
              "passing the visible tests in your notebook does not guarantee full marks.",
        "ko": "테스트는 끝까지 오류 없이 실행되어야 점수를 얻습니다. 채점에는 비공개 테스트도 포함되므로 "
              "노트북의 공개 테스트를 모두 통과해도 만점이 보장되지는 않습니다.",
    },
    "status_ok": {"en": "graded normally", "ko": "정상 채점됨"},
    "status_invalid_notebook": {
        "en": "the file is not a readable Jupyter notebook (bad JSON or format)",
        "ko": "읽을 수 있는 Jupyter 노트북 파일이 아님(JSON 또는 형식 오류)",
    },
    "status_missing": {
        "en": "no notebook for this lab was found in the student's folder",
        "ko": "학생 폴더에서 이 실습의 노트북을 찾지 못함",
    },
    "status_grader_error": {
        "en": "the autograder could not run this notebook (see the feedback)",
        "ko": "자동 채점기가 이 노트북을 실행하지 못함(피드백 참조)",
    },
    "status_kernel_died": {
        "en": "the Python kernel died (os._exit, exit(), a crash): later tests did not run",
        "ko": "Python 커널이 종료됨(os._exit, exit(), 비정상 종료): 이후 테스트는 실행되지 않음",
    },
    "status_memory": {
        "en": "a cell ran out of memory (the per-kernel memory limit)",
        "ko": "셀이 메모리 한도(커널당 메모리 제한)를 넘음",
    },
    "status_timeout": {
        "en": "a cell or the whole notebook ran past its time limit",
        "ko": "셀 또는 노트북 전체가 시간 제한을 넘음",
    },
    "status_output_limit": {
        "en": "the notebook printed too much; extra output was dropped",
        "ko": "노트북 출력이 너무 많아 초과분을 버림",
    },
    # --- CLI help of npulab check / npulab grade -------------------------------------------------
    "cli_lang": {
        "en": "language of messages: en or ko (default: the notebook's language, else LANG)",
        "ko": "메시지 언어: en 또는 ko (기본값: 노트북의 언어, 없으면 LANG 환경 변수)",
    },
    "cli_check_help": {
        "en": "self-check a lab notebook on its visible tests",
        "ko": "실습 노트북을 공개 테스트로 자가 점검",
    },
    "cli_check_notebook": {"en": "the saved lab notebook (.ipynb)", "ko": "저장한 실습 노트북 (.ipynb)"},
    "cli_check_timeout": {
        "en": "seconds per cell; a slower cell is interrupted (default 300)",
        "ko": "셀당 제한 시간(초); 이보다 오래 걸리는 셀은 중단 (기본값 300)",
    },
    "cli_grade_help": {
        "en": "autograde every submission of one lab (gradebook, feedback)",
        "ko": "한 실습의 제출물을 모두 자동 채점 (성적표, 피드백)",
    },
    "cli_grade_description": {
        "en": "Grade SUBMISSIONS_DIR/<student>/<lab>.ipynb or SUBMISSIONS_DIR/<student>.ipynb against "
              "the test cells (hidden ones included) of SOURCE: student cells in an OS sandbox per "
              "submission, tests in the trusted grader process.",
        "ko": "SUBMISSIONS_DIR/<student>/<lab>.ipynb 또는 SUBMISSIONS_DIR/<student>.ipynb를 SOURCE의 "
              "테스트 셀(비공개 테스트 포함)로 채점한다. 학생 셀은 제출물마다 OS 샌드박스에서, 테스트는 "
              "신뢰할 수 있는 채점 프로세스에서 실행한다. 한국어 제출물도 같은 영문 SOURCE로 채점한다.",
    },
    "cli_grade_source": {
        "en": "the instructor's notebook, e.g. solutions/00_orientation.ipynb",
        "ko": "교수자용 노트북, 예: solutions/00_orientation.ipynb",
    },
    "cli_grade_submissions": {
        "en": "folder with one notebook or folder per student",
        "ko": "학생마다 노트북 하나 또는 폴더 하나가 들어 있는 폴더",
    },
    "cli_grade_out": {
        "en": "output folder (gradebook.csv, feedback/, summary.json)",
        "ko": "출력 폴더 (gradebook.csv, feedback/, summary.json)",
    },
    "cli_grade_timeout": {
        "en": "seconds allowed per cell (default 60)",
        "ko": "셀당 허용 시간(초) (기본값 60)",
    },
    "cli_grade_notebook_timeout": {
        "en": "seconds allowed per notebook (default 10 x --timeout)",
        "ko": "노트북당 허용 시간(초) (기본값 10 x --timeout)",
    },
    "cli_grade_workers": {
        "en": "submissions graded in parallel (default 1)",
        "ko": "동시에 채점할 제출물 수 (기본값 1)",
    },
    "cli_grade_force": {
        "en": "re-grade students already graded in OUT_DIR",
        "ko": "OUT_DIR에 이미 채점된 학생도 다시 채점",
    },
    "cli_grade_memory": {
        "en": "memory limit per submission in MiB (default 2048; at least 256)",
        "ko": "제출물당 메모리 한도(MiB) (기본값 2048, 최소 256)",
    },
    "cli_grade_student": {
        "en": "grade only this student (repeatable); re-grades them even if already graded",
        "ko": "이 학생만 채점(반복 지정 가능); 이미 채점되었어도 다시 채점",
    },
    "cli_grade_no_progress": {"en": "no progress bar", "ko": "진행 표시줄을 표시하지 않음"},
    "cli_grade_no_sandbox": {
        "en": "grade without the OS sandbox (bubblewrap); only for trusted code; summary.json and "
              "the gradebook say so",
        "ko": "OS 샌드박스(bubblewrap) 없이 채점; 신뢰할 수 있는 코드에만 사용; summary.json과 성적표에 "
              "그 사실이 기록됨",
    },
    "cli_grade_seed": {
        "en": "course seed for hidden-test variants (NPULAB_COURSE_SEED in the trusted test process)",
        "ko": "비공개 테스트 변형을 위한 강좌 시드 (신뢰 테스트 프로세스의 NPULAB_COURSE_SEED)",
    },
    "cli_grade_key_file": {
        "en": "HMAC key for stored results (default ~/.cache/npulab/grader.key, created 0600)",
        "ko": "저장된 결과의 HMAC 키 (기본값 ~/.cache/npulab/grader.key, 권한 0600으로 생성)",
    },
    "cli_grade_lang": {
        "en": "language of the feedback pages: en or ko (default: each submission's language, else LANG)",
        "ko": "피드백 페이지 언어: en 또는 ko (기본값: 각 제출물의 언어, 없으면 LANG 환경 변수)",
    },
    # --- forbid ---
    "forbid_call": {
        "en": "Exercise {exercise} may not call {name}",
        "ko": "연습문제 {exercise}에서는 {name}을(를) 호출할 수 없습니다",
    },
    "forbid_import": {
        "en": "Exercise {exercise} may not import {name}",
        "ko": "연습문제 {exercise}에서는 {name}을(를) 가져올(import) 수 없습니다",
    },
    "forbid_operator": {
        "en": "Exercise {exercise} may not use the {name} operator",
        "ko": "연습문제 {exercise}에서는 {name} 연산자를 쓸 수 없습니다",
    },
    "forbid_dynamic": {
        "en": "Exercise {exercise} may not use {name} (it can hide a forbidden call)",
        "ko": "연습문제 {exercise}에서는 {name}을(를) 쓸 수 없습니다 (금지된 호출을 숨길 수 있음)",
    },
    "forbid_guard": {
        "en": "Exercise {exercise} switched off the check of forbidden calls ({name})",
        "ko": "연습문제 {exercise}의 코드가 금지된 호출 검사를 껐습니다 ({name})",
    },
}


def normalize_lang(lang) -> str:
    """``"ko"``, ``"ko_KR.UTF-8"`` or ``"ko-KR"`` -> ``"ko"``; a language not in :data:`LANGS` raises.

    >>> normalize_lang("ko_KR.UTF-8"), normalize_lang("EN")
    ('ko', 'en')
    """
    code = re.split(r"[_.@-]", str(lang).strip(), maxsplit=1)[0].lower()
    if code not in LANGS:
        raise ValueError(f"unknown language {lang!r}; choose one of: {', '.join(LANGS)}")
    return code


def env_lang(environ=None) -> str | None:
    """The language the environment asks for (``ko``/``en``), or None when it names none we have.

    The first of :data:`LANG_ENV` that is set decides (``C``/``POSIX`` mean English);
    ``LANGUAGE`` may hold a ``:``-separated list.

    >>> env_lang({"LANG": "ko_KR.UTF-8"}), env_lang({"LC_ALL": "C.UTF-8", "LANG": "ko_KR.UTF-8"})
    ('ko', 'en')
    """
    environ = os.environ if environ is None else environ
    for name in LANG_ENV:
        value = (environ.get(name) or "").strip()
        if not value:
            continue
        for item in value.split(":"):
            code = re.split(r"[_.@-]", item, maxsplit=1)[0].lower()
            if code in LANGS:
                return code
            if code in ("c", "posix"):
                return "en"
        return None if name == "NPULAB_LANG" else "en"
    return None


def resolve_lang(lang=None, *, notebook_lang=None, environ=None) -> str:
    """The language to speak: explicit ``lang``, else the notebook's, else the environment's, else ``en``.

    >>> resolve_lang("ko"), resolve_lang(None, notebook_lang="ko", environ={"LANG": "en_US.UTF-8"})
    ('ko', 'ko')
    >>> resolve_lang(None, environ={"LANG": "ko_KR.UTF-8"}), resolve_lang(None, environ={})
    ('ko', 'en')
    """
    if lang:
        return normalize_lang(lang)
    if notebook_lang:
        try:
            return normalize_lang(notebook_lang)
        except ValueError:
            pass  # a notebook tagged with a language we do not have speaks English
    return env_lang(environ) or LANGS[0]


def argv_lang(argv=None) -> str | None:
    """The value of ``--lang`` in a command line (``sys.argv`` by default), or None.

    Used to build ``--help`` text in the requested language before argparse has run.

    >>> argv_lang(["check", "--lang", "ko", "-h"]), argv_lang(["check", "--lang=en"]), argv_lang([])
    ('ko', 'en', None)
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    for i, arg in enumerate(argv):
        if arg == "--lang" and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith("--lang="):
            value = arg.split("=", 1)[1]
        else:
            continue
        try:
            return normalize_lang(value)
        except ValueError:
            return None  # argparse reports the bad value itself
    return None


def help_lang(argv=None) -> str:
    """Language of CLI help text: ``--lang`` on the command line, else the environment, else English."""
    return argv_lang(argv) or env_lang() or LANGS[0]


def t(msg_id: str, lang=None, /, **kw) -> str:
    """The message ``msg_id`` in ``lang`` (resolved by :func:`resolve_lang`), formatted with ``kw``.

    An unknown ``msg_id`` raises ``KeyError`` (a programming error, caught by the tests).

    >>> t("fb_passed", "ko"), t("check_header", "en", notebook="00.ipynb", score=3, max_score=5)
    ('통과', 'Self-check of 00.ipynb: 3/5 points on visible tests')
    """
    table = MESSAGES[msg_id]
    text = table.get(resolve_lang(lang)) or table[LANGS[0]]
    return text.format(**kw) if kw else text


def placeholders(text: str) -> set[str]:
    """The ``{name}`` fields of a format string (for the catalog's consistency test)."""
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


#: A released stub's message in any language, e.g. ``Exercise 3: implement f(...)`` or
#: ``연습문제 3: f(...) 함수를 구현하세요``; group 1 is the exercise number.
STUB_PATTERN = re.compile(r"\s*(?:Exercise|연습문제)\s+(\d+)\b")


def stub_lang(message: str) -> str:
    """Language of a stub's ``NotImplementedError`` message (``ko`` for ``연습문제 N: ...``)."""
    return "ko" if str(message).lstrip().startswith("연습") else "en"
