"""Course totals over several graded labs, in the layouts spreadsheets and LMSs import.

``npulab gradebook OUT_LAB00 OUT_LAB01 ... --weights weights.yaml --export csv|canvas|moodle
FILE`` reads each lab's ``OUT/gradebook.sqlite`` (:mod:`npulab.grading.gradebook_db`: the
autograded points plus the manual marks) and writes one row per student: each lab's
percentage and the weighted total

.. math::

    \\text{total} = \\frac{\\sum_i w_i\\, p_i}{\\sum_i w_i},\\qquad
    p_i = 100 \\cdot \\frac{\\text{points}_i}{\\text{max}_i}

(a lab a student did not hand in counts 0; written answers still ungraded or stale count 0
and are reported as ``pending_points`` in the ``csv`` layout and on stderr).

``weights.yaml`` maps each lab (the source notebook's stem, e.g. ``00_orientation``) to a
weight, or to a mapping with ``weight`` and optionally ``title`` (the column name),
``canvas_id`` (the Canvas assignment id) and ``moodle_item`` (the Moodle grade item name)::

    00_orientation: 1
    01_quantization: {weight: 2, title: "Lab 01 Quantization", canvas_id: 120034}

Every lab given on the command line needs a weight; an unknown lab, a negative or
non-number weight, or weights summing to 0 is a one-line ``ValueError``.  Without a file
every lab weighs 1.  An optional roster CSV (``student`` plus any of ``name``,
``canvas_id``, ``sis_user_id``, ``sis_login_id``, ``section``, ``email``, ``idnumber``)
fills the LMS identity columns; without it the npulab student id is used where the LMS
matches on an id.

Layouts (:data:`LAYOUTS`):

``csv``
    ``student``, one column per lab (percent), ``total``, ``pending_points``.
``canvas``
    Canvas's gradebook import layout: ``Student``, ``ID``, ``SIS User ID``,
    ``SIS Login ID``, ``Section``, then one column per assignment titled
    ``Name (assignment id)`` (without an id Canvas creates a new assignment), and a second
    row ``Points Possible`` as in Canvas's own export; scores are points out of 100.
``moodle``
    Moodle's "Import grades from CSV" layout: identity columns ``ID number`` and
    ``Email address`` (mapped in Moodle's import form under "Identify user by": "ID number"
    -> ``useridnumber`` or "Email address" -> ``useremail``), then one column per grade
    item (each lab and ``npulab total``), mapped to grade items in the same form.

References
----------
Instructure, "How do I import grades in the Gradebook?", Canvas Instructor Guide,
https://community.canvaslms.com/t5/Instructor-Guide/How-do-I-import-grades-in-the-Gradebook/ta-p/807;
The Ohio State University, "Import a CSV file into Carmen Grades" (the required columns
Student / ID / SIS User ID, SIS Login ID, Section, assignment),
https://teaching.resources.osu.edu/toolsets/carmencanvas/guides/calculating-final-grades/import-csv-file-carmen-grades;
Moodle, "Grade import" (CSV import, "Map from" / "Map to": Email address -> useremail,
ID number -> useridnumber), https://docs.moodle.org/en/Grade_import.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

#: Export layouts of :func:`export_table`.
LAYOUTS = ("csv", "canvas", "moodle")
#: Columns a roster CSV may have besides ``student``.
ROSTER_COLUMNS = (
    "name",
    "canvas_id",
    "sis_user_id",
    "sis_login_id",
    "section",
    "email",
    "idnumber",
)
_LAB_KEYS = {"weight", "title", "canvas_id", "moodle_item"}


@dataclass(frozen=True)
class LabSpec:
    """One lab of the course total: its ``name`` (source stem), ``weight`` (>= 0) and how the
    LMS layouts title its column."""

    name: str
    weight: float
    title: str
    canvas_id: str = ""
    moodle_item: str = ""


@dataclass(frozen=True)
class CourseRow:
    """One student's course line: ``percent`` (lab -> 0..100), the weighted ``total``
    (0..100) and ``pending_points`` (written answers not graded yet, counted 0)."""

    student: str
    percent: dict
    total: float
    pending_points: float


def lab_scores(out) -> tuple[str, dict]:
    """``(lab name, {student: (points, max, pending_points)})`` from ``out/gradebook.sqlite``."""
    from npulab.grading.gradebook_db import open_gradebook

    with open_gradebook(out, create=False) as book:
        name = book.info().get("lab") or Path(out).name
        rows = {
            r["student"]: (float(r["total"]), float(r["max"]), float(r.get("manual_pending", 0.0)))
            for r in book.rows()
        }
    return name, rows


def read_weights(path, labs) -> dict[str, LabSpec]:
    """Validated lab specs from a ``weights.yaml`` (None: every lab weighs 1).

    ``labs`` are the lab names found in the output folders, in order.  One-line
    ``ValueError`` for an unknown lab, a lab without a weight, a bad weight or key.
    """
    labs = list(labs)
    if path is None:
        return {lab: LabSpec(lab, 1.0, lab) for lab in labs}
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ValueError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: must map lab names to weights; got {type(data).__name__}")
    specs = {}
    for lab, value in data.items():
        lab = str(lab)
        if lab not in labs:
            raise ValueError(f"{path}: unknown lab {lab!r}; labs given: {', '.join(labs)}")
        fields = value if isinstance(value, dict) else {"weight": value}
        extra = set(fields) - _LAB_KEYS
        if extra:
            raise ValueError(
                f"{path}: lab {lab!r} has unknown key(s) {', '.join(sorted(map(str, extra)))}; "
                f"allowed: {', '.join(sorted(_LAB_KEYS))}"
            )
        weight = fields.get("weight")
        if (
            isinstance(weight, bool)
            or not isinstance(weight, (int, float))
            or not math.isfinite(weight)
            or weight < 0
        ):
            raise ValueError(f"{path}: weight of lab {lab!r} must be a number >= 0; got {weight!r}")
        specs[lab] = LabSpec(
            lab,
            float(weight),
            str(fields.get("title") or lab),
            str(fields.get("canvas_id") or ""),
            str(fields.get("moodle_item") or ""),
        )
    missing = [lab for lab in labs if lab not in specs]
    if missing:
        raise ValueError(f"{path}: no weight for lab(s) {', '.join(missing)}")
    if sum(s.weight for s in specs.values()) <= 0:
        raise ValueError(f"{path}: the weights sum to 0")
    return {lab: specs[lab] for lab in labs}


def course_rows(outs, weights=None) -> tuple[list[LabSpec], list[CourseRow]]:
    """Every student of every lab in ``outs`` with per-lab percentages and the weighted total.

    Parameters
    ----------
    outs : sequence of path-like
        Output folders of ``npulab grade``, one per lab.
    weights : path-like, optional
        ``weights.yaml`` (see the module docstring); default: every lab weighs 1.

    Returns
    -------
    (list of LabSpec, list of CourseRow)
        The labs in the order given, and one row per student (sorted).
    """
    scores = {}
    for out in outs:
        name, rows = lab_scores(out)
        if name in scores:
            raise ValueError(f"lab {name!r} is given twice ({out})")
        scores[name] = rows
    if not scores:
        raise ValueError("give at least one output folder of npulab grade")
    specs = read_weights(weights, scores)
    students = sorted({s for rows in scores.values() for s in rows})
    total_weight = sum(s.weight for s in specs.values())
    out_rows = []
    for student in students:
        percent, pending = {}, 0.0
        for lab, rows in scores.items():
            points, top, waiting = rows.get(student, (0.0, 0.0, 0.0))
            percent[lab] = 100.0 * points / top if top > 0 else 0.0
            pending += waiting
        total = sum(specs[lab].weight * p for lab, p in percent.items()) / total_weight
        out_rows.append(CourseRow(student, percent, total, pending))
    return list(specs.values()), out_rows


def read_roster(path) -> dict[str, dict]:
    """student -> identity fields from a roster CSV (see the module docstring)."""
    if path is None:
        return {}
    reader = csv.DictReader(io.StringIO(Path(path).read_text(encoding="utf-8-sig")))
    if "student" not in (reader.fieldnames or ()):
        raise ValueError(
            f"{path}: needs a 'student' column (and any of {', '.join(ROSTER_COLUMNS)})"
        )
    return {
        row["student"]: {k: (row.get(k) or "").strip() for k in ROSTER_COLUMNS} for row in reader
    }


def _pct(x: float) -> str:
    return f"{x:.2f}"


def export_table(
    specs: list[LabSpec], rows: list[CourseRow], layout: str, roster: dict | None = None
) -> str:
    """The text of the course file in ``layout`` (one of :data:`LAYOUTS`; module docstring).

    >>> spec = [LabSpec("00_orientation", 1.0, "Lab 00")]
    >>> row = CourseRow("ada", {"00_orientation": 80.0}, 80.0, 0.0)
    >>> print(export_table(spec, [row], "csv"), end="")
    student,Lab 00,total,pending_points
    ada,80.00,80.00,0
    """
    from npulab.grading.feedback import csv_safe

    if layout not in LAYOUTS:
        raise ValueError(f"unknown export layout {layout!r}; choose one of: {', '.join(LAYOUTS)}")
    roster = roster or {}
    buf = io.StringIO()
    plain = csv.writer(buf, lineterminator="\n")

    def emit(row) -> None:  # every cell escaped against spreadsheet formulas (ids, titles)
        plain.writerow([csv_safe(c) for c in row])

    def who(student, key, default=""):
        return (roster.get(student) or {}).get(key) or default

    if layout == "csv":
        emit(["student", *(s.title for s in specs), "total", "pending_points"])
        for r in rows:
            emit(
                [
                    r.student,
                    *(_pct(r.percent[s.name]) for s in specs),
                    _pct(r.total),
                    f"{r.pending_points:g}",
                ]
            )
    elif layout == "canvas":
        titles = [f"{s.title} ({s.canvas_id})" if s.canvas_id else s.title for s in specs]
        emit(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *titles, "npulab total"])
        emit(["Points Possible", "", "", "", "", *(["100.00"] * len(specs)), "100.00"])
        for r in rows:
            emit(
                [
                    who(r.student, "name", r.student),
                    who(r.student, "canvas_id"),
                    who(r.student, "sis_user_id", r.student),
                    who(r.student, "sis_login_id", r.student),
                    who(r.student, "section"),
                    *(_pct(r.percent[s.name]) for s in specs),
                    _pct(r.total),
                ]
            )
    else:
        items = [s.moodle_item or s.title for s in specs]
        emit(["ID number", "Email address", *items, "npulab total"])
        for r in rows:
            emit(
                [
                    who(r.student, "idnumber", r.student),
                    who(r.student, "email"),
                    *(_pct(r.percent[s.name]) for s in specs),
                    _pct(r.total),
                ]
            )
    return buf.getvalue()
