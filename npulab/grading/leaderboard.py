"""The capstone's class leaderboard, from a grade run's output (``npulab leaderboard OUT``).

``npulab grade solutions/08_capstone.ipynb SUBMISSIONS --out OUT`` writes ``gradebook.csv``
(one row per student: points per test, ``status``) and ``capstone.json`` (for each student,
what the trusted evaluation of :mod:`npulab.perf.capstone` found for the submitted design:
``passes``, ``failed``, ``error``, ``metrics`` with ``power_w``, ``area_mm2``, ``plan_s``,
``fps``; recorded by the test ``test_my_design`` through :mod:`npulab.grading.records`).
:func:`leaderboard` joins the two:

* **ranked**: status ``ok``, full points on ``test_my_design`` (the design met every budget)
  and a finite ``power_w``, by increasing power; equal power shares a rank and the next rank
  skips ("1, 2, 2, 4"); equal power is listed in student-id order (:func:`rank_rows`, the rule
  Lab 08's Exercise 5 asks for);
* **Pareto**: among the ranked designs, those no other ranked design dominates in
  (``power_w``, ``area_mm2``, ``plan_s``), every objective minimised, ties all kept
  (:func:`npulab.metrics.pareto_front`, the one definition);
* every other student is listed after the ranked ones, unranked, with the reason.

Nothing is recomputed from the student's notebook: power, area and latency are the trusted
evaluation's, recorded during grading.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from npulab.metrics.pareto import pareto_front

__all__ = ["rank_rows", "leaderboard", "leaderboard_csv", "COLUMNS", "OBJECTIVES"]

#: Columns of the leaderboard, in order (the design test's points go before ``note``, under
#: its grade id, e.g. ``test_my_design``, as in ``gradebook.csv``).
COLUMNS = ("rank", "student", "power_w", "area_mm2", "plan_s", "fps", "pareto", "status", "note")
#: The Pareto front's objectives (all minimised).
OBJECTIVES = ("power_w", "area_mm2", "plan_s")


def _float(text) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def rank_rows(rows, full_points, points_column: str = "test_my_design") -> list[dict]:
    """Rank gradebook rows (dicts of strings) whose design passed, by increasing ``power_w``.

    A row counts when its ``status`` is ``"ok"``, its ``points_column`` equals ``full_points``
    (as numbers: ``"6"`` and ``"6.0"`` are equal) and its ``power_w`` is a finite number.

    Parameters
    ----------
    rows : iterable of dict
        As :class:`csv.DictReader` reads ``gradebook.csv`` joined with ``power_w``.
    full_points : float or str
        Points of the design test.
    points_column : str, default "test_my_design"

    Returns
    -------
    list of dict
        ``{"rank", "student", "power_w"}`` (power a float) in rank order; equal power shares a
        rank, the next rank skips; equal power in student-id order.

    Examples
    --------
    >>> rank_rows([{"student": "b", "test_my_design": "6", "status": "ok", "power_w": "0.3"},
    ...            {"student": "a", "test_my_design": "6.0", "status": "ok", "power_w": "0.3"},
    ...            {"student": "c", "test_my_design": "6", "status": "ok", "power_w": "0.2"}], 6)
    [{'rank': 1, 'student': 'c', 'power_w': 0.2}, {'rank': 2, 'student': 'a', 'power_w': 0.3}, \
{'rank': 2, 'student': 'b', 'power_w': 0.3}]
    """
    full = _float(full_points)
    entries = []
    for row in rows:
        power = _float(row.get("power_w"))
        if (
            row.get("status") == "ok"
            and _float(row.get(points_column)) == full
            and math.isfinite(power)
        ):
            entries.append((power, str(row["student"])))
    entries.sort()
    board: list[dict] = []
    for i, (power, student) in enumerate(entries):
        rank = board[-1]["rank"] if board and board[-1]["power_w"] == power else i + 1
        board.append({"rank": rank, "student": student, "power_w": power})
    return board


def _read_json(path: Path, what: str) -> dict:
    from npulab._io import parse_json, read_text

    if not path.is_file():
        raise ValueError(f"{path} not found: {what}")
    data = parse_json(read_text(path), str(path))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return data


def _why(row: dict, record, test: str, full: float) -> str:
    """Why a student is not ranked (one short phrase)."""
    if row.get("status") != "ok":
        return f"status {row.get('status') or 'missing'}"
    if not isinstance(record, dict):
        return "no evaluated design"
    if record.get("error"):
        return str(record["error"])[:200]
    if record.get("failed"):
        return "misses " + ", ".join(str(f) for f in record["failed"])
    if _float(row.get(test)) != full:
        return f"{test}: {row.get(test)} of {full:g} points"
    return "power not finite"


def leaderboard(out, *, test: str = "test_my_design") -> list[dict]:
    """The class leaderboard of a grade run: one dict per student with the :data:`COLUMNS`.

    Parameters
    ----------
    out : path-like
        The ``--out`` folder of ``npulab grade`` on Lab 08 (``gradebook.csv``,
        ``summary.json``, ``capstone.json``).
    test : str, default "test_my_design"
        The grade id of the design test (its full points come from ``summary.json``).

    Returns
    -------
    list of dict
        Ranked students first (rank order), then the others (``rank`` None) by student id,
        each with ``note`` saying why; ``test`` holds the gradebook's points of the design
        test.  Numbers are floats (None when not evaluated); ``pareto`` is True on the Pareto
        front of the ranked designs.

    Raises
    ------
    ValueError
        A file is missing or unreadable, or the gradebook has no ``test`` column.
    """
    out = Path(out)
    grade_first = "run npulab grade on Lab 08 with --out first"
    records = _read_json(
        out / "capstone.json", f"{grade_first} (the grader records each design's evaluation there)"
    )
    students = records.get("students")
    if not isinstance(students, dict):
        raise ValueError(f"{out / 'capstone.json'}: no 'students' object")
    summary = _read_json(out / "summary.json", grade_first)
    book = out / "gradebook.csv"
    if not book.is_file():
        raise ValueError(f"{book} not found: {grade_first}")
    rows = list(csv.DictReader(io.StringIO(book.read_text(encoding="utf-8"))))
    if rows and test not in rows[0]:
        raise ValueError(f"{book} has no column {test!r} (is this a Lab 08 grade run?)")
    try:
        full = float(summary["tests"][test]["points"])
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"{out / 'summary.json'} gives no points for {test!r}") from None
    metrics = {}
    for row in rows:
        record = students.get(row.get("student"))
        m = record.get("metrics") if isinstance(record, dict) else None
        metrics[row["student"]] = {
            k: _float(m.get(k)) if isinstance(m, dict) and m.get(k) is not None else None
            for k in ("power_w", "area_mm2", "plan_s", "fps")
        }
        row["power_w"] = (
            ""
            if metrics[row["student"]]["power_w"] is None
            else repr(metrics[row["student"]]["power_w"])
        )
        if not (isinstance(record, dict) and record.get("passes") is True):
            row["power_w"] = ""  # only a design the trusted evaluation passed is ranked
    ranked = rank_rows(rows, full, test)
    points = [[metrics[e["student"]][k] for k in OBJECTIVES] for e in ranked]
    front = {ranked[i]["student"] for i in pareto_front(points)} if ranked else set()
    by_id = {row["student"]: row for row in rows}
    board = [
        {
            "rank": e["rank"],
            "student": e["student"],
            **metrics[e["student"]],
            "pareto": e["student"] in front,
            "status": by_id[e["student"]].get("status", ""),
            test: by_id[e["student"]].get(test, ""),
            "note": "",
        }
        for e in ranked
    ]
    done = {e["student"] for e in ranked}
    for row in sorted(rows, key=lambda r: r["student"]):
        if row["student"] not in done:
            board.append(
                {
                    "rank": None,
                    "student": row["student"],
                    **metrics[row["student"]],
                    "pareto": False,
                    "status": row.get("status", ""),
                    test: row.get(test, ""),
                    "note": _why(row, students.get(row["student"]), test, full),
                }
            )
    return board


def leaderboard_csv(board: list[dict], test: str = "test_my_design") -> str:
    """The text of a leaderboard CSV: :data:`COLUMNS` with the design test's points (column
    ``test``) before ``note``; full-precision numbers, empty cells where there is none.

    Its rows are gradebook rows joined with the trusted ``power_w``: Lab 08's Exercise 5
    ranks them again with the same rule (:func:`rank_rows`).
    """
    from npulab.grading.feedback import csv_safe

    columns = (*COLUMNS[:-1], test, COLUMNS[-1])
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for e in board:
        cells = [
            "" if e[c] is None else ("yes" if e[c] is True else "" if e[c] is False else e[c])
            for c in columns
        ]
        writer.writerow([csv_safe(str(c)) for c in cells])
    return buf.getvalue()
