"""``npulab marks OUT ...``: manual marks of written answers, kept in ``OUT/gradebook.sqlite``.

::

    npulab marks OUT                                   progress per written question
    npulab marks OUT --student S --grade-id G --points P [--comment TEXT] [--grader NAME]
    npulab marks OUT --import marks.csv                columns student,grade_id,points,comment
    npulab marks OUT --export marks.csv                every answer: its mark, grader, time, state
    npulab marks OUT --failures S                      S's failed hidden tests (instructor only)

Points are checked against the question's maximum (exit 2, one line; an import is checked
whole before any mark is stored).  After a change ``gradebook.csv`` and the feedback pages
are written again (:func:`npulab.grading.classroom.refresh_outputs`).  An exported file is
also a sheet to fill in: rows with an empty ``points`` cell are skipped on import.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

#: Columns of ``--export`` (``--import`` needs the first three, reads ``comment`` when present
#: and ignores the rest).
EXPORT_COLUMNS = ("student", "grade_id", "points", "comment", "grader", "marked_at", "state")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def run(args) -> int:
    from npulab.grading.gradebook_db import open_gradebook

    out = Path(args.out)
    actions = [
        bool(args.points is not None or args.student and args.grade_id),
        bool(args.import_file),
        bool(args.export_file),
        bool(args.failures),
    ]
    if sum(actions) > 1:
        raise ValueError(
            "give one of --points (with --student, --grade-id), --import, --export, --failures"
        )
    with open_gradebook(out, create=False) as book:
        if args.failures:
            return _failures(book, args.failures, args.json)
        if args.export_file:
            n = export_marks(book, args.export_file)
            print(f"{n} answer(s) written to {args.export_file}")
            return 0
        if args.import_file:
            changed = import_marks(book, args.import_file, grader=args.grader)
        elif actions[0]:
            if args.student is None or args.grade_id is None or args.points is None:
                raise ValueError("--student, --grade-id and --points go together")
            book.set_mark(
                args.student, args.grade_id, args.points, args.comment or "", grader=args.grader
            )
            changed = 1
        else:
            return _progress(book, args.json)
    from npulab.grading.classroom import refresh_outputs
    from npulab.grading.feedback import shown

    pages, bad = refresh_outputs(out, key_file=args.key_file)
    csv_path = out / "gradebook.csv"
    print(f"{changed} mark(s) stored; {csv_path} and {pages} feedback page(s) written again")
    if bad:
        print(
            "feedback NOT rewritten (stored result did not verify; regrade them): "
            + ", ".join(shown(b, 60) for b in bad)
        )
    return 0


def _progress(book, as_json: bool) -> int:
    rows = []
    for q in book.questions("written"):
        states = [book.mark_state(a.student, q.grade_id) for a in book.written_answers(q.grade_id)]
        done, total = book.progress(q.grade_id)
        rows.append(
            {
                "grade_id": q.grade_id,
                "max_points": q.max_points,
                "graded": done,
                "total": total,
                "stale": states.count("stale"),
                "unanswered": states.count("stub"),
            }
        )
    if as_json:
        from npulab.cli import print_json

        print_json({"questions": rows})
        return 0
    if not rows:
        print("this lab has no written questions")
    for r in rows:
        print(
            f"{r['grade_id']} ({r['max_points']:g} points): {r['graded']} of {r['total']} graded "
            f"({r['unanswered']} left unanswered, {r['stale']} stale)"
        )
    return 0


def _failures(book, student: str, as_json: bool) -> int:
    from npulab.grading.feedback import shown

    if student not in book.students():
        raise ValueError(f"unknown student {student!r}: not graded in {book.path.parent}")
    found = book.hidden_failures(student)
    if as_json:
        from npulab.cli import print_json

        print_json(
            {
                "student": student,
                "failures": [
                    {
                        "grade_id": f.grade_id,
                        "test": f.test,
                        "message": f.message,
                        "inputs": f.inputs,
                    }
                    for f in found
                ],
            }
        )
        return 0
    if not found:
        print(f"{shown(student, 60)}: no hidden test failed (or none was recorded)")
    for f in found:
        print(f"{f.grade_id}: {f.test}\n  message: {f.message}")
        if f.inputs:
            print(f"  inputs:  {f.inputs}")
    return 0


def export_marks(book, path) -> int:
    """Write every written answer's row (its mark when it has one) to ``path``; return the
    number of rows.  Text cells are escaped against spreadsheet formulas."""
    from npulab.grading.feedback import csv_safe, write_atomic

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    n = 0
    for q in book.questions("written"):
        for a in book.written_answers(q.grade_id):
            mark = book.mark(a.student, q.grade_id)
            state = book.mark_state(a.student, q.grade_id)
            cells = [
                a.student,
                q.grade_id,
                "" if mark is None else f"{mark.points:g}",
                "" if mark is None else mark.comment,
                "" if mark is None else mark.grader,
                "" if mark is None else mark.marked_at,
                state,
            ]
            writer.writerow([csv_safe(c) for c in cells])
            n += 1
    write_atomic(path, buf.getvalue())
    return n


def _unescape(text: str) -> str:
    """Undo :func:`npulab.grading.feedback.csv_safe` (a ``'`` before a formula character)."""
    return text[1:] if text.startswith("'") and text[1:].startswith(_FORMULA) else text


def import_marks(book, path, *, grader=None) -> int:
    """Store the marks of a CSV file (columns ``student,grade_id,points``, optional
    ``comment``; others are ignored, so an ``--export`` file can be imported back); every row
    is checked before any is stored (one-line ``ValueError`` naming the line).  Rows with an
    empty ``points`` cell, and rows equal to the current mark, are skipped.  ``grader``
    (default: the login name) is recorded for every mark stored.  Returns the number stored.
    """
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text))
    missing = {"student", "grade_id", "points"} - set(reader.fieldnames or ())
    if missing:
        raise ValueError(
            f"{path}: missing column(s) {', '.join(sorted(missing))} "
            "(need student,grade_id,points[,comment])"
        )
    todo = [
        mark
        for line, row in enumerate(reader, start=2)
        if (mark := _checked_row(book, row, f"{path} line {line}")) is not None
    ]
    for student, gid, points, comment in todo:
        book.set_mark(student, gid, points, comment, grader=grader)
    return len(todo)


def _checked_row(book, row: dict, where: str):
    """``(student, grade_id, points, comment)`` of one CSV row, None to skip it (no points,
    or the same as the current mark); a bad row is a one-line ``ValueError`` naming ``where``."""
    import math

    student, gid = _unescape(row.get("student") or ""), (row.get("grade_id") or "").strip()
    raw = (row.get("points") or "").strip()
    if not raw:
        return None
    try:
        points = float(raw)
    except ValueError:
        raise ValueError(f"{where}: points must be a number; got {raw!r}") from None
    try:
        q = book.question(gid)
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None
    if q.kind != "written":
        raise ValueError(f"{where}: grade_id {gid!r} is an autograded test, not a written question")
    if not math.isfinite(points) or not 0 <= points <= q.max_points:
        raise ValueError(
            f"{where}: points for {gid} must be between 0 and {q.max_points:g}; got {raw}"
        )
    if book.answer(student, gid) is None:
        raise ValueError(f"{where}: unknown student {student!r}")
    comment = _unescape(row.get("comment") or "")
    current = book.mark(student, gid)
    same = current is not None and (current.points, current.comment) == (points, comment)
    return (
        None
        if same and book.mark_state(student, gid) == "graded"
        else (student, gid, points, comment)
    )


def add_parser(sub) -> None:
    from npulab.cli import add_json_flag
    from npulab.i18n.messages import help_lang, t

    h = help_lang()
    p = sub.add_parser(
        "marks", help=t("cli_marks_help", h), description=t("cli_marks_description", h)
    )
    p.add_argument("out", help=t("cli_marks_out", h))
    p.add_argument("--student", metavar="S", help=t("cli_marks_student", h))
    p.add_argument("--grade-id", metavar="G", help=t("cli_marks_grade_id", h))
    p.add_argument("--points", type=float, metavar="P", help=t("cli_marks_points", h))
    p.add_argument("--comment", metavar="TEXT", help=t("cli_marks_comment", h))
    p.add_argument("--grader", metavar="NAME", help=t("cli_marks_grader", h))
    p.add_argument("--import", dest="import_file", metavar="CSV", help=t("cli_marks_import", h))
    p.add_argument("--export", dest="export_file", metavar="CSV", help=t("cli_marks_export", h))
    p.add_argument("--failures", metavar="S", help=t("cli_marks_failures", h))
    p.add_argument("--key-file", default=None, help=t("cli_marks_key_file", h))
    add_json_flag(p)
    p.set_defaults(func=run)
