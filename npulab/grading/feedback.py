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

from npulab.grading.autograde import STATUS_HELP, SubmissionResult


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


def _fmt(points: float) -> str:
    return f"{points:g}"


def gradebook_csv(results: list[SubmissionResult], grade_ids: list[str]) -> str:
    """The text of ``gradebook.csv`` (rows sorted by student id)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["student", *grade_ids, "total", "max", "status"])
    for r in sorted(results, key=lambda r: r.student):
        earned = {o.grade_id: o.score for o in r.outcomes}
        writer.writerow([r.student, *(_fmt(earned.get(g, 0.0)) for g in grade_ids),
                         _fmt(r.total), _fmt(r.max_score), r.status])
    return buf.getvalue()


def feedback_html(result: SubmissionResult, lab: str) -> str:
    """A self-contained HTML page of one student's results."""
    rows = []
    for o in result.outcomes:
        mark, colour = ("passed", "#2e7d32") if o.passed else ("failed", "#c62828")
        detail = "" if o.passed else html.escape(o.message or "the test raised an error")
        rows.append(f"<tr><td>{html.escape(o.grade_id)}</td>"
                    f"<td style='color:{colour};font-weight:bold'>{mark}</td>"
                    f"<td>{_fmt(o.score)} / {_fmt(o.points)}</td><td><code>{detail}</code></td></tr>")
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in result.notes)
    status = html.escape(result.status)
    explain = html.escape(STATUS_HELP.get(result.status, ""))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(lab)}: {html.escape(result.student)}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}}</style></head>
<body>
<h1>{html.escape(lab)}: feedback for {html.escape(result.student)}</h1>
<p><b>Score: {_fmt(result.total)} / {_fmt(result.max_score)}</b>.
Status: <b>{status}</b> ({explain}).</p>
{f"<ul>{notes}</ul>" if notes else ""}
<table><tr><th>test</th><th>result</th><th>points</th><th>message</th></tr>
{chr(10).join(rows)}
</table>
<p>A test earns its points when it runs without an error. Tests include hidden ones, so
passing the visible tests in your notebook does not guarantee full marks.</p>
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
