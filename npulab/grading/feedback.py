"""Per-student feedback pages and the gradebook files, written atomically.

``feedback/<student>.html`` lists each graded test: passed, or the error it raised (for an
``assert`` the message the author wrote), and the points.  Test code is never shown, so
hidden tests stay hidden.  ``gradebook.csv`` has one row a student: ``student``, one column
per ``grade_id`` (points earned), ``total``, ``max``, ``status``.
"""
from __future__ import annotations

import csv
import html
import io
import json
import os
import statistics
import tempfile
from collections import Counter
from pathlib import Path

from npulab.grading.autograde import SubmissionResult
from npulab.i18n.messages import MESSAGES, resolve_lang, t


def write_atomic(path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and ``os.replace``.

    A reader (or a crash) sees either the old file or the new one, never half of one.

    >>> import tempfile, pathlib
    >>> write_atomic(pathlib.Path(tempfile.mkdtemp()) / "f.txt", "hi").read_text()
    'hi'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def shown(text, limit: int = 80) -> str:
    r"""``text`` safe to print on a terminal: control characters (escape sequences, carriage
    returns, bidi overrides) and undecodable bytes as ``\xNN``/``\uNNNN``, cut to ``limit``
    characters with ``...``.  Student ids and file names go through this before any print.

    >>> print(shown("ada\x1b[2K\rbob"))
    ada\x1b[2K\rbob
    """
    out = []
    for ch in str(text):
        if ch.isprintable() and not 0xD800 <= ord(ch) <= 0xDFFF:
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape", "backslashreplace").decode("ascii")
                       if ord(ch) < 0xD800 or ord(ch) > 0xDFFF else f"\\x{ord(ch) - 0xDC00:02x}")
    text = "".join(out)
    return text if len(text) <= limit else text[: max(0, limit - 3)] + "..."


def _fmt(points: float) -> str:
    return f"{points:g}"


#: Characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Longest message shown for one failing test.  Units: characters.
MAX_FEEDBACK = 2000


def csv_safe(text) -> str:
    """``text`` for a CSV cell: a leading ``= + - @`` (or tab/CR) is escaped with ``'``.

    >>> csv_safe("=1+2+cmd|' /C calc'!A0"), csv_safe("ada")
    ("'=1+2+cmd|' /C calc'!A0", 'ada')
    """
    text = str(text)
    return "'" + text if text.startswith(_FORMULA_START) else text


def gradebook_csv(results: list[SubmissionResult], grade_ids: list[str], *, sandbox: bool = True,
                  manual: bool = False) -> str:
    """The text of ``gradebook.csv`` (rows sorted by student id).

    Columns: ``student``, one per ``grade_id``, ``total``, ``max``, ``status``; then
    ``manual_pending`` (points of written answers left for manual grading) when the lab
    has any, and ``sandbox`` (``off``) when graded with ``--no-sandbox``.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    header = ["student", *grade_ids, "total", "max", "status"]
    header += ["manual_pending"] if manual else []
    header += ["sandbox"] if not sandbox else []
    writer.writerow([csv_safe(h) for h in header])
    for r in sorted(results, key=lambda r: r.student):
        earned = {o.grade_id: o.score for o in r.outcomes}
        row = [r.student, *(_fmt(earned.get(g, 0.0)) for g in grade_ids), _fmt(r.total), _fmt(r.max_score),
               r.status]
        row += [_fmt(r.manual_pending)] if manual else []
        row += ["off"] if not sandbox else []
        writer.writerow([csv_safe(c) for c in row])
    return buf.getvalue()


def gradebook_rows_csv(columns: list[str], rows: list[dict], *, sandbox: bool = True) -> str:
    """The text of ``gradebook.csv`` from the gradebook database
    (:meth:`npulab.grading.gradebook_db.Gradebook.columns` and ``rows``).

    Like :func:`gradebook_csv` plus one column per written question (the mark; empty while
    not graded yet or stale; 0 when left unanswered), ``total`` and ``max`` including them,
    and ``manual_pending`` counting only answers still ungraded or stale.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    header = list(columns) + (["sandbox"] if not sandbox else [])
    writer.writerow([csv_safe(h) for h in header])
    for row in rows:
        cells = [row[c] for c in columns]
        line = [c if isinstance(c, str) else "" if c is None else _fmt(float(c)) for c in cells]
        line += ["off"] if not sandbox else []
        writer.writerow([csv_safe(c) for c in line])
    return buf.getvalue()


def _short(text: str, lang: str = "en") -> str:
    text = str(text)
    return text if len(text) <= MAX_FEEDBACK else text[:MAX_FEEDBACK] + t("fb_cut", lang)


def feedback_html(result: SubmissionResult, lab: str, lang: str | None = None, *,
                  manual: dict | None = None) -> str:
    """A self-contained HTML page of one student's results (a few KB a failing test at most).

    ``lang`` (``en``/``ko``; default from ``LANG``) picks the page's language
    (:mod:`npulab.i18n.messages`); test messages are shown as the tests wrote them.
    ``manual`` (grade_id -> :class:`npulab.grading.gradebook_db.ManualScore`, from the
    gradebook database) adds each written answer's mark and comment, or says it is not
    graded yet, stale (changed since marked) or left unanswered; the score then includes
    the marks.  Without it the written answers are listed as pending.  An outcome's
    instructor-only ``detail`` is never shown.
    """
    lang = resolve_lang(lang)
    if manual is not None and result.manual:
        return _page(result, lab, lang, *_written_section(result, manual, lang))
    return _page(result, lab, lang, *_pending_section(result, lang))


def _pending_section(result: SubmissionResult, lang: str) -> tuple[str, str, str]:
    """``(score line, written-answers HTML, extra)`` without marks: everything is pending."""
    score = t("fb_score", lang, total=_fmt(result.total), max_score=_fmt(result.max_score))
    if not result.manual:
        return score, "", ""
    items = "".join(
        f"<h3>{html.escape(t('fb_manual_item', lang, gid=gid, points=_fmt(float(m.get('points', 0)))))}</h3>"
        f"<pre style='white-space:pre-wrap'>{html.escape(str(m.get('answer', '')))}</pre>"
        for gid, m in result.manual.items())
    return (score, f"<h2>{html.escape(t('fb_manual_heading', lang))}</h2>{items}",
            t("fb_manual_extra", lang, points=_fmt(result.manual_pending)))


def _written_section(result: SubmissionResult, manual: dict, lang: str) -> tuple[str, str, str]:
    """``(score line, written-answers HTML, extra)`` with the gradebook's marks."""
    items, earned, top, waiting = [], 0.0, 0.0, 0.0
    for gid, score in manual.items():
        top += score.max_points
        kw = {"gid": gid, "max_points": _fmt(score.max_points)}
        if score.state == "graded":
            head = t("fb_written_graded", lang, points=_fmt(score.points), **kw)
            earned += score.points
        elif score.state == "stub":
            head = t("fb_written_stub", lang, **kw)
        else:
            head = t("fb_written_stale" if score.state == "stale" else "fb_written_pending", lang, **kw)
            waiting += score.max_points
        answer = str((result.manual.get(gid) or {}).get("answer", ""))
        comment = ""
        if score.state == "graded" and score.mark is not None and score.mark.comment:
            comment = (f"<p><b>{html.escape(t('fb_written_comment', lang, comment=''))}</b>"
                       f"{html.escape(_short(score.mark.comment, lang))}</p>")
        items.append(f"<h3>{html.escape(head)}</h3><pre style='white-space:pre-wrap'>{html.escape(answer)}</pre>"
                     f"{comment}")
    total, most = result.total + earned, result.max_score + top
    line = t("fb_score", lang, total=_fmt(total), max_score=_fmt(most))
    extra = t("fb_written_to_grade", lang, points=_fmt(waiting)) if waiting else ""
    return line, f"<h2>{html.escape(t('fb_written_heading', lang))}</h2>{''.join(items)}", extra


def _page(result: SubmissionResult, lab: str, lang: str, score: str, manual: str, extra: str) -> str:
    rows = []
    for o in result.outcomes:
        mark, colour = (t("fb_passed", lang), "#2e7d32") if o.passed else (t("fb_failed", lang), "#c62828")
        detail = "" if o.passed else html.escape(_short(o.message or t("fb_test_error", lang), lang))
        rows.append(f"<tr><td>{html.escape(o.grade_id)}</td>"
                    f"<td style='color:{colour};font-weight:bold'>{mark}</td>"
                    f"<td>{_fmt(o.score)} / {_fmt(o.points)}</td><td><code>{detail}</code></td></tr>")
    notes = "".join(f"<li>{html.escape(_short(n, lang))}</li>" for n in result.notes[:20])
    status = html.escape(result.status)
    explain = html.escape(t(f"status_{result.status}", lang) if f"status_{result.status}" in MESSAGES else "")
    return f"""<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{html.escape(lab)}: {html.escape(result.student)}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}}</style></head>
<body>
<h1>{html.escape(t("fb_title", lang, lab=lab, student=result.student))}</h1>
<p><b>{html.escape(score)}</b>{html.escape(extra)}.
{t("fb_status", lang, status=status, explain=explain)}</p>
{f"<ul>{notes}</ul>" if notes else ""}
<table><tr><th>{t("fb_head_test", lang)}</th><th>{t("fb_head_result", lang)}</th><th>{
    t("fb_head_points", lang)}</th><th>{t("fb_head_message", lang)}</th></tr>
{chr(10).join(rows)}
</table>
{manual}
<p>{t("fb_footer", lang)}</p>
</body></html>
"""


def summary_dict(results: list[SubmissionResult], grade_ids: list[str], points: dict[str, float],
                 **extra) -> dict:
    """Class statistics for ``summary.json``: status counts, per-test pass rates, totals."""
    totals = sorted(r.total for r in results)
    n = len(results)
    statuses = Counter(r.status for r in results)
    tests = {}
    for g in grade_ids:
        passed = sum(1 for r in results for o in r.outcomes if o.grade_id == g and o.passed)
        tests[g] = {"points": points[g], "passed": passed, "pass_rate": passed / n if n else 0.0}
    return {
        **extra,
        "students": n,
        "max": sum(points.values()),
        "mean_total": sum(totals) / n if n else 0.0,
        "median_total": statistics.median(totals) if n else 0.0,
        "statuses": dict(sorted(statuses.items())),
        "tests": tests,
        "grading_seconds": sum(r.seconds for r in results),
    }


def dumps(obj) -> str:
    """JSON text with a trailing newline."""
    return json.dumps(obj, indent=2) + "\n"
