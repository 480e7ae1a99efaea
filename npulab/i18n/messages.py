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
        "en": "Fix the first failing test ({test}), save (Ctrl-S), and run the check again.",
        "ko": "처음 실패한 테스트부터({test}) 고치고, 저장(Ctrl-S)한 뒤 다시 점검하세요.",
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
    # --- selfdask ---
    "check_exercise": {"en": "Exercise {n}: {name} — {gid}", "ko": "연습문제 {n}: {name} — {gid}"},
    "check_question": {"en": "Question {n}: {gid}", "ko": "서술형 문제 {n}: {gid}"},
    "mark_written": {"en": "WRITTEN", "ko": "서술형"},
    "check_written": {
        "en": "{points} pts, graded by your instructor",
        "ko": "{points}점, 교수자가 채점합니다",
    },
    "check_written_blank": {
        "en": "{points} pts, graded by your instructor — not answered yet (still YOUR ANSWER HERE in the "
              "saved file)",
        "ko": "{points}점, 교수자가 채점합니다 — 아직 답하지 않음(저장된 파일에 YOUR ANSWER HERE가 그대로 "
              "있음)",
    },
    "check_header_written": {
        "en": "; {points} more points of written answers are graded by your instructor",
        "ko": "; 서술형 답안 {points}점은 교수자가 따로 채점합니다",
    },
    "check_not_run_yet": {
        "en": "not run in this kernel yet ({error}): run the exercise's cell, then check again",
        "ko": "이 커널에서 아직 실행하지 않음({error}): 연습문제 셀을 실행한 뒤 다시 점검하세요",
    },
    "check_fix_first_kernel": {
        "en": "Fix the first failing test ({test}), run its cell again, and run the check again.",
        "ko": "처음 실패한 테스트부터({test}) 고치고, 그 셀을 다시 실행한 뒤 다시 점검하세요.",
    },
    "check_finish_todo": {
        "en": "No test failed; finish the exercises marked TODO and run the check again.",
        "ko": "실패한 테스트는 없습니다. 미완으로 표시된 연습문제를 마친 뒤 다시 점검하세요.",
    },
    "check_checked_kernel": {
        "en": "Checked: the answers in this kernel (the cells you ran, saved or not) against the released "
              "tests of {path}; written answers as saved at {saved}.",
        "ko": "점검 대상: 이 커널의 답(저장 여부와 관계없이 실행한 셀)을 {path}의 배포된 테스트로 점검했습니다. "
              "서술형 답안은 {saved}에 저장된 내용 기준입니다.",
    },
    "check_checked_file": {
        "en": "Checked: the saved file {path} (saved {saved}), run top to bottom in a fresh process; "
              "unsaved changes are not included.",
        "ko": "점검 대상: 저장된 파일 {path}({saved} 저장)을 새 프로세스에서 처음부터 끝까지 실행했습니다. "
              "저장하지 않은 변경은 포함되지 않습니다.",
    },
    "check_progress": {"en": "self-check", "ko": "자가 점검"},
    "cli_grade_dask": {
        "en": "grade on an existing Dask cluster (scheduler address, e.g. tcp://10.0.0.5:8786): each "
              "submission in a worker's sandbox, results signed and gathered into OUT",
        "ko": "기존 Dask 클러스터에서 채점(스케줄러 주소, 예: tcp://10.0.0.5:8786): 각 제출물을 워커의 "
              "샌드박스에서 채점하고, 서명된 결과를 OUT에 모음",
    },
    # --- gradebook ---
    "fb_written_heading": {"en": "Written answers", "ko": "서술형 답안"},
    "fb_written_graded": {
        "en": "{gid}: {points} / {max_points} points, graded by your instructor",
        "ko": "{gid}: {points} / {max_points}점, 교수자 채점",
    },
    "fb_written_pending": {
        "en": "{gid} ({max_points} points): not graded yet",
        "ko": "{gid} ({max_points}점): 아직 채점되지 않음",
    },
    "fb_written_stale": {
        "en": "{gid} ({max_points} points): your answer changed after it was marked; it will be marked again",
        "ko": "{gid} ({max_points}점): 채점한 뒤 답안이 바뀌어 다시 채점할 예정",
    },
    "fb_written_stub": {
        "en": "{gid}: 0 / {max_points} points, left unanswered",
        "ko": "{gid}: 0 / {max_points}점, 답하지 않음",
    },
    "fb_written_comment": {"en": "Comment: {comment}", "ko": "의견: {comment}"},
    "fb_written_to_grade": {
        "en": " ({points} points of written answers still to be graded)",
        "ko": " (서술형 답안 {points}점은 아직 채점 전)",
    },
    "grade_stopped": {
        "en": "npulab grade: stopped; the gradebook of what is finished is in {out} (run the same "
              "command again to resume)",
        "ko": "npulab grade: 중단됨; 끝난 채점 결과는 {out}에 있음 (같은 명령을 다시 실행하면 이어서 채점)",
    },
    "grade_stopped_force": {
        "en": "npulab grade: stopped; the gradebook of what is finished is in {out} (to resume, run the "
              "same command again WITHOUT --force: with --force every student is graded again)",
        "ko": "npulab grade: 중단됨; 끝난 채점 결과는 {out}에 있음 (이어서 채점하려면 --force 없이 같은 "
              "명령을 다시 실행; --force를 붙이면 모든 학생을 처음부터 다시 채점)",
    },
    "grade_written_pending": {
        "en": "written answers: {pending} still to grade (npulab marks {out} --help)",
        "ko": "서술형 답안: 채점할 답안 {pending}개 남음 (npulab marks {out} --help)",
    },
    "cli_marks_help": {
        "en": "enter, import, export or list manual marks of written answers",
        "ko": "서술형 답안의 수동 점수를 입력, 가져오기, 내보내기 또는 조회",
    },
    "cli_marks_description": {
        "en": "Manual marks live in OUT/gradebook.sqlite; no npulab grade run deletes one. After a change "
              "gradebook.csv and the feedback pages are written again. A mark whose answer changed since "
              "is stale: shown, counted as pending.",
        "ko": "수동 점수는 OUT/gradebook.sqlite에 저장되며 npulab grade를 다시 실행해도 지워지지 않는다. "
              "점수를 바꾸면 gradebook.csv와 피드백 페이지를 다시 쓴다. 채점 뒤 답안이 바뀐 점수는 "
              "stale로 표시되고 채점 대기로 센다.",
    },
    "cli_marks_out": {
        "en": "the output folder of npulab grade",
        "ko": "npulab grade의 출력 폴더",
    },
    "cli_marks_student": {"en": "student id", "ko": "학생 ID"},
    "cli_marks_grade_id": {"en": "grade_id of the written question", "ko": "서술형 문항의 grade_id"},
    "cli_marks_points": {
        "en": "points, 0 to the question's maximum",
        "ko": "점수 (0부터 문항 만점까지)",
    },
    "cli_marks_comment": {"en": "comment shown to the student", "ko": "학생에게 보이는 의견"},
    "cli_marks_grader": {
        "en": "who gives the mark (default: your login name)",
        "ko": "채점자 이름 (기본값: 로그인 이름)",
    },
    "cli_marks_import": {
        "en": "read marks from a CSV file (columns student,grade_id,points,comment)",
        "ko": "CSV 파일에서 점수 읽기 (열: student,grade_id,points,comment)",
    },
    "cli_marks_export": {
        "en": "write every mark to a CSV file (student,grade_id,points,comment,grader,marked_at,state)",
        "ko": "모든 점수를 CSV 파일로 쓰기 (student,grade_id,points,comment,grader,marked_at,state)",
    },
    "cli_marks_failures": {
        "en": "show one student's failed hidden tests (message and inputs; instructor only)",
        "ko": "한 학생의 실패한 비공개 테스트 보기 (메시지와 입력; 교수자 전용)",
    },
    "cli_marks_key_file": {
        "en": "HMAC key of the stored results, as given to npulab grade",
        "ko": "저장된 결과의 HMAC 키 (npulab grade에 준 것과 같게)",
    },
    "cli_gradebook_help": {
        "en": "course totals over several graded labs, exported for a spreadsheet, Canvas or Moodle",
        "ko": "여러 실습의 채점 결과를 합친 강좌 성적 (스프레드시트, Canvas, Moodle 형식으로 내보내기)",
    },
    "cli_gradebook_outs": {
        "en": "output folders of npulab grade, one per lab",
        "ko": "npulab grade의 출력 폴더 (실습마다 하나)",
    },
    "cli_gradebook_weights": {
        "en": "YAML file: lab name -> weight (default: every lab weighs 1)",
        "ko": "YAML 파일: 실습 이름 -> 가중치 (기본값: 모든 실습 가중치 1)",
    },
    "cli_gradebook_export": {
        "en": "write FILE in LAYOUT ({layouts})",
        "ko": "FILE을 LAYOUT 형식({layouts})으로 쓰기",
    },
    "cli_gradebook_roster": {
        "en": "CSV: student plus any of name, canvas_id, sis_user_id, sis_login_id, section, email, idnumber",
        "ko": "CSV: student 열과 name, canvas_id, sis_user_id, sis_login_id, section, email, idnumber 중 필요한 열",
    },
    # --- formgrade --- (npulab formgrade: the grading page, npulab.grading.formgrade)
    "cli_formgrade_help": {
        "en": "grade the written answers of a graded class in the browser (local web page)",
        "ko": "채점된 수업의 서술형 답안을 브라우저에서 채점 (로컬 웹 페이지)",
    },
    "cli_formgrade_description": {
        "en": "Serve the grading page of OUT on 127.0.0.1: each written question with every "
              "student's answer beside the rubric, points and comment saved to OUT's gradebook "
              "database as you type. Open the printed URL (it carries a secret token); Ctrl-C "
              "stops the server.",
        "ko": "OUT의 채점 페이지를 127.0.0.1에서 제공한다. 서술형 문항마다 모든 학생의 답안을 채점 기준 옆에 "
              "보여 주고, 입력한 점수와 의견은 즉시 OUT의 성적 데이터베이스에 저장된다. 출력된 URL(비밀 토큰 포함)을 "
              "여세요. Ctrl-C로 서버를 멈춘다.",
    },
    "cli_formgrade_out": {
        "en": "output folder of `npulab grade` (its gradebook database, gradebook.sqlite)",
        "ko": "`npulab grade`의 출력 폴더 (성적 데이터베이스 gradebook.sqlite가 있는 곳)",
    },
    "cli_formgrade_port": {
        "en": "port on 127.0.0.1 (default 0: a free port)",
        "ko": "127.0.0.1의 포트 (기본값 0: 비어 있는 포트)",
    },
    "cli_formgrade_anonymous": {
        "en": "hide student ids: show stable pseudonyms (anon-xxxxxxxx) instead",
        "ko": "학생 ID를 숨기고 고정된 가명(anon-xxxxxxxx)으로 표시",
    },
    "cli_formgrade_grader": {
        "en": "grader name stored with each mark (default: your login name)",
        "ko": "각 점수와 함께 저장할 채점자 이름 (기본값: 로그인 이름)",
    },
    "cli_formgrade_lang": {
        "en": "language of the page: en or ko (default: LANG)",
        "ko": "페이지 언어: en 또는 ko (기본값: LANG 환경 변수)",
    },
    "cli_formgrade_key_file": {
        "en": "HMAC key of the stored results, as given to npulab grade (to rewrite gradebook.csv "
              "and the feedback pages on exit)",
        "ko": "npulab grade에 준 저장 결과의 HMAC 키 (종료할 때 gradebook.csv와 피드백 페이지를 "
              "다시 쓰는 데 사용)",
    },
    "fg_refreshed": {
        "en": "{saved} mark(s) saved; {csv} and {pages} feedback page(s) written again",
        "ko": "점수 {saved}개 저장, {csv}와 피드백 페이지 {pages}개를 다시 썼습니다",
    },
    "fg_not_refreshed": {
        "en": "marks are saved in {out}/gradebook.sqlite, but gradebook.csv and the feedback were "
              "not written again ({error}); start formgrade with --key-file as given to npulab "
              "grade, then stop it",
        "ko": "점수는 {out}/gradebook.sqlite에 저장되었지만 gradebook.csv와 피드백은 다시 쓰지 "
              "못했습니다 ({error}). npulab grade에 준 --key-file로 formgrade를 다시 시작한 뒤 "
              "멈추세요",
    },
    "fg_refresh_bad": {
        "en": "{n} feedback page(s) NOT rewritten: their stored result did not verify "
              "(regrade them)",
        "ko": "피드백 페이지 {n}개는 다시 쓰지 않았습니다: 저장된 결과의 서명이 맞지 않음 (재채점 필요)",
    },
    "fg_no_out": {
        "en": "output folder not found: {out}",
        "ko": "출력 폴더를 찾을 수 없습니다: {out}",
    },
    "fg_bad_port": {
        "en": "--port must be 0..65535; got {port}",
        "ko": "--port는 0..65535 사이여야 합니다. 입력값: {port}",
    },
    "fg_serving": {
        "en": "grading page (open in your browser; the token is a password): {url}\n"
              "Ctrl-C stops it.",
        "ko": "채점 페이지 (브라우저에서 여세요. 토큰은 비밀번호와 같습니다): {url}\nCtrl-C로 멈춥니다.",
    },
    "fg_serving_anonymous": {
        "en": "anonymous mode: students are shown by pseudonym",
        "ko": "익명 모드: 학생을 가명으로 표시합니다",
    },
    "fg_stopped": {"en": "grading page stopped", "ko": "채점 페이지를 멈췄습니다"},
    "fg_title": {"en": "Grading {lab}", "ko": "{lab} 채점"},
    "fg_anonymous": {"en": "anonymous", "ko": "익명"},
    "fg_questions": {"en": "Written questions", "ko": "서술형 문항"},
    "fg_no_written": {
        "en": "This lab has no written questions.",
        "ko": "이 실습에는 서술형 문항이 없습니다.",
    },
    "fg_question": {"en": "Question", "ko": "문항"},
    "fg_points_head": {"en": "Points", "ko": "배점"},
    "fg_progress_head": {"en": "Progress", "ko": "진행"},
    "fg_progress": {"en": "{graded} of {total} graded", "ko": "{total}개 중 {graded}개 채점됨"},
    "fg_students_head": {"en": "Hidden-test failures by student", "ko": "학생별 비공개 테스트 실패"},
    "fg_students_note": {
        "en": "For the instructor only: the failure message and inputs of each hidden test a "
              "student failed (feedback pages never show them).",
        "ko": "교수자 전용: 학생이 실패한 비공개 테스트마다 실패 메시지와 입력값 (피드백 페이지에는 "
              "표시되지 않습니다).",
    },
    "fg_worth": {"en": "{points} points", "ko": "{points}점"},
    "fg_keys": {
        "en": "Keys: j / k or the down / up arrows: next / previous answer; Enter: save and go "
              "to the next answer (Shift+Enter: new line in a comment); Esc: leave a field. Every "
              "change is saved as you type.",
        "ko": "단축키: j / k 또는 아래 / 위 화살표: 다음 / 이전 답안, Enter: 저장하고 다음 답안으로 "
              "(Shift+Enter: 의견 칸 줄바꿈), Esc: 입력란에서 나가기. 입력하는 대로 저장됩니다.",
    },
    "fg_state_pending": {"en": "not graded", "ko": "미채점"},
    "fg_state_graded": {"en": "graded", "ko": "채점됨"},
    "fg_state_stale": {
        "en": "stale: the answer changed after it was marked",
        "ko": "stale: 채점한 뒤 답안이 바뀜",
    },
    "fg_state_stub": {
        "en": "left unanswered: 0 points automatically",
        "ko": "답안 없음: 자동으로 0점",
    },
    "fg_empty": {"en": "(no answer)", "ko": "(답안 없음)"},
    "fg_points_label": {"en": "Points", "ko": "점수"},
    "fg_comment_label": {"en": "Comment", "ko": "의견"},
    "fg_save": {"en": "Save", "ko": "저장"},
    "fg_saving": {"en": "saving...", "ko": "저장 중..."},
    "fg_need_points": {
        "en": "type the points to save this comment",
        "ko": "이 의견을 저장하려면 점수를 입력하세요",
    },
    "fg_saved": {"en": "saved", "ko": "저장됨"},
    "fg_marked_by": {"en": "marked by {grader} at {time}", "ko": "{grader} 채점 ({time})"},
    "fg_rubric": {"en": "Model answer and rubric", "ko": "모범 답안과 채점 기준"},
    "fg_failures_head": {"en": "Hidden-test failures of {name}", "ko": "{name}의 비공개 테스트 실패"},
    "fg_failures_note": {
        "en": "Instructor only: never show this page to students (it reveals hidden tests' "
              "inputs).",
        "ko": "교수자 전용: 이 페이지를 학생에게 보여 주지 마세요 (비공개 테스트의 입력값이 드러납니다).",
    },
    "fg_n_failed": {"en": "({n} hidden failed)", "ko": "(비공개 {n}개 실패)"},
    "fg_no_failures": {"en": "No hidden test failed.", "ko": "실패한 비공개 테스트가 없습니다."},
    "fg_message": {"en": "Message", "ko": "메시지"},
    "fg_inputs": {"en": "Inputs", "ko": "입력값"},
    "fg_no_inputs": {"en": "(not recorded)", "ko": "(기록되지 않음)"},
    "fg_no_question": {"en": "no written question {grade_id}", "ko": "서술형 문항 {grade_id}이(가) 없습니다"},
    "fg_no_student": {"en": "no student {key}", "ko": "학생 {key}이(가) 없습니다"},
    "fg_bad_points": {
        "en": "points must be a number from 0 to {max}; got {points}",
        "ko": "점수는 0부터 {max}까지의 숫자여야 합니다. 입력값: {points}",
    },
    # --- capstone ---
    "cli_leaderboard_help": {
        "en": "the Lab 08 class leaderboard from a grade run (power, area, latency, Pareto front)",
        "ko": "채점 결과로 만든 Lab 08 반 순위표 (전력, 면적, 지연 시간, 파레토 프론트)",
    },
    "cli_leaderboard_description": {
        "en": "Rank the designs that met every budget by the average power the trusted evaluation "
              "recorded during grading (OUT/capstone.json, joined with OUT/gradebook.csv); mark the "
              "Pareto front in power, area and plan latency; list the other students with the reason.",
        "ko": "채점 중 신뢰 평가가 기록한 평균 전력(OUT/capstone.json, OUT/gradebook.csv와 결합)으로 모든 "
              "예산을 만족한 설계의 순위를 매기고, 전력·면적·계획 지연 시간의 파레토 프론트를 표시하며, "
              "나머지 학생은 그 이유와 함께 나열합니다.",
    },
    "cli_leaderboard_out": {
        "en": "the --out folder of 'npulab grade' on Lab 08",
        "ko": "Lab 08에 대해 실행한 'npulab grade'의 --out 폴더",
    },
    "cli_leaderboard_csv": {
        "en": "also write the leaderboard to this CSV file",
        "ko": "순위표를 이 CSV 파일에도 저장",
    },
    "cli_leaderboard_test": {
        "en": "grade id of the design test (default test_my_design)",
        "ko": "설계 테스트의 grade id (기본값 test_my_design)",
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
