"""The instructor's gradebook: one SQLite file, ``OUT/gradebook.sqlite``, per graded lab.

``npulab grade`` writes the autograded results and the students' written answers into it
after every student; ``npulab marks`` (and the ``npulab formgrade`` page) write the manual
marks; ``gradebook.csv`` and the feedback pages are generated from it.  It is the one place
a manual mark lives, so nothing the grader does (a late student, a resumed run, ``--force``)
ever deletes one.

Schema (``PRAGMA user_version`` = :data:`SCHEMA_VERSION`; WAL journal, so the grading page
can read while ``npulab grade`` writes)::

    info(key PRIMARY KEY, value)                 lab name, source path, feedback language
    questions(grade_id PRIMARY KEY, kind, max_points, rubric, prompt, stub, position)
        kind "auto" (a graded test cell) or "written" (a Markdown answer graded by hand);
        rubric: the source's solution cell (model answer and rubric); prompt: the Markdown
        cell above it; stub: what the released notebook shows (``YOUR ANSWER HERE``)
    submissions(student PRIMARY KEY, status, seconds, submission_sha256, sandbox, graded_at)
    results(student, grade_id, points, max_points, passed, message, status, seconds,
            submission_sha256, graded_at, PRIMARY KEY(student, grade_id))
        one row per student and autograded test (points earned, points available)
    answers(student, grade_id, answer, text_sha256, is_stub, updated_at,
            PRIMARY KEY(student, grade_id))
        the written answer as last graded; is_stub: unchanged from the released stub
    marks(student, grade_id, points, comment, grader, marked_at, text_sha256,
          PRIMARY KEY(student, grade_id))
        the current manual mark and the SHA-256 of the answer text it was given for
    mark_history(id PRIMARY KEY, student, grade_id, points, comment, grader, marked_at,
                 text_sha256)
        every mark ever set, append-only
    hidden_failures(student, grade_id, test, message, inputs, PRIMARY KEY(student, grade_id))
        instructor-only detail of a failed hidden test (never in student feedback)

State of a written answer (:meth:`Gradebook.mark_state`, one of :data:`MARK_STATES`):

* ``graded``: a mark exists for the current answer text (same hash);
* ``stale``: a mark exists but the answer changed since (a resubmission): shown with the
  old mark, counted as pending, never silently kept in the total;
* ``stub``: no mark and the answer is the released stub (or empty, or no notebook was
  handed in): 0 points, with the note "left unanswered";
* ``pending``: no mark yet.

Public functions: :func:`open_gradebook`, :func:`written_questions`, :func:`text_sha256`,
:func:`is_stub_answer`; the :class:`Gradebook` methods ``questions``, ``question``,
``set_questions``, ``record_results``, ``students``, ``written_answers``, ``answer``,
``set_mark``, ``mark``, ``marks``, ``mark_history``, ``mark_state``, ``manual_scores``,
``hidden_failures``, ``columns``, ``rows``, ``progress``, ``info``, ``set_info``.

>>> import tempfile
>>> with open_gradebook(tempfile.mkdtemp()) as book:
...     book.set_questions([Question("q1", "written", 3.0, "model answer", "Why?")])
...     book.question("q1").max_points
3.0

References
----------
SQLite, "Write-Ahead Logging", https://www.sqlite.org/wal.html;
"UPSERT", https://www.sqlite.org/lang_upsert.html.
"""

from __future__ import annotations

import datetime
import getpass
import hashlib
import math
import os
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

#: File name of the gradebook database inside OUT.
DB_NAME = "gradebook.sqlite"
#: Version of the schema below (``PRAGMA user_version``).
SCHEMA_VERSION = 1
#: States of a written answer, see the module docstring.
MARK_STATES = ("graded", "stale", "pending", "stub")
#: What the released notebook shows in an unanswered written cell (nbgrader's marker).
STUB_TEXT = "YOUR ANSWER HERE"
#: Longest comment, answer or failure text stored.  Units: characters.
MAX_TEXT = 20000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS questions (
    grade_id TEXT PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('auto', 'written')),
    max_points REAL NOT NULL, rubric TEXT NOT NULL DEFAULT '', prompt TEXT NOT NULL DEFAULT '',
    stub TEXT NOT NULL DEFAULT '', position INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS submissions (
    student TEXT PRIMARY KEY, status TEXT NOT NULL, seconds REAL NOT NULL DEFAULT 0,
    submission_sha256 TEXT NOT NULL DEFAULT '', sandbox INTEGER NOT NULL DEFAULT 1,
    graded_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    student TEXT NOT NULL, grade_id TEXT NOT NULL, points REAL NOT NULL, max_points REAL NOT NULL,
    passed INTEGER NOT NULL, message TEXT NOT NULL DEFAULT '', status TEXT NOT NULL,
    seconds REAL NOT NULL DEFAULT 0, submission_sha256 TEXT NOT NULL DEFAULT '',
    graded_at TEXT NOT NULL, PRIMARY KEY (student, grade_id));
CREATE TABLE IF NOT EXISTS answers (
    student TEXT NOT NULL, grade_id TEXT NOT NULL, answer TEXT NOT NULL, text_sha256 TEXT NOT NULL,
    is_stub INTEGER NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (student, grade_id));
CREATE TABLE IF NOT EXISTS marks (
    student TEXT NOT NULL, grade_id TEXT NOT NULL, points REAL NOT NULL,
    comment TEXT NOT NULL DEFAULT '', grader TEXT NOT NULL DEFAULT '', marked_at TEXT NOT NULL,
    text_sha256 TEXT NOT NULL, PRIMARY KEY (student, grade_id));
CREATE TABLE IF NOT EXISTS mark_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT, student TEXT NOT NULL, grade_id TEXT NOT NULL,
    points REAL NOT NULL, comment TEXT NOT NULL, grader TEXT NOT NULL, marked_at TEXT NOT NULL,
    text_sha256 TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS hidden_failures (
    student TEXT NOT NULL, grade_id TEXT NOT NULL, test TEXT NOT NULL, message TEXT NOT NULL,
    inputs TEXT NOT NULL DEFAULT '', PRIMARY KEY (student, grade_id));
"""


@dataclass(frozen=True)
class Question:
    """One graded item of the lab.

    Attributes
    ----------
    grade_id : str
        nbgrader ``grade_id`` of the test cell or written-answer cell.
    kind : {"auto", "written"}
        Autograded test cell, or written answer graded by hand.
    max_points : float
        Points available.  Units: points.
    rubric : str
        The source notebook's solution cell (model answer and rubric); "" for tests.
    prompt : str
        The question (the Markdown cell above the answer cell); "" for tests.
    stub : str
        What the released notebook shows in the answer cell.
    position : int
        Order in the notebook (columns follow it).
    """

    grade_id: str
    kind: str
    max_points: float
    rubric: str = ""
    prompt: str = ""
    stub: str = STUB_TEXT
    position: int = 0


@dataclass(frozen=True)
class Answer:
    """A student's written answer as last graded (``is_stub``: unchanged from the stub)."""

    student: str
    grade_id: str
    text: str
    text_sha256: str
    is_stub: bool
    updated_at: str


@dataclass(frozen=True)
class Mark:
    """A manual mark: ``points`` out of the question's maximum, given by ``grader`` at
    ``marked_at`` (UTC, ISO 8601) for the answer whose SHA-256 is ``text_sha256``."""

    student: str
    grade_id: str
    points: float
    comment: str
    grader: str
    marked_at: str
    text_sha256: str


@dataclass(frozen=True)
class ManualScore:
    """What a student's written answer counts for now.

    ``state`` is one of :data:`MARK_STATES`; ``points`` is what enters the total (None while
    ``pending`` or ``stale``; 0 for ``stub``); ``mark`` is the mark (also when stale).
    """

    grade_id: str
    state: str
    points: float | None
    max_points: float
    mark: Mark | None


@dataclass(frozen=True)
class HiddenFailure:
    """Instructor-only detail of a failed hidden test: which one, its real message and
    (when the grader recorded them) the inputs the student's code was called with."""

    student: str
    grade_id: str
    test: str
    message: str
    inputs: str


def text_sha256(text: str) -> str:
    """Hex SHA-256 of a written answer's text (UTF-8).

    >>> text_sha256("")[:12]
    'e3b0c44298fc'
    """
    return hashlib.sha256(str(text).encode("utf-8", "surrogatepass")).hexdigest()


def _norm(text: str) -> str:
    return " ".join(str(text).split())


def is_stub_answer(text: str, stub: str = STUB_TEXT) -> bool:
    """True when a written answer is empty or unchanged from the released stub (whitespace
    aside), so it scores 0 without a grader looking at it.

    >>> is_stub_answer("  YOUR ANSWER HERE\\n"), is_stub_answer("because ..."), is_stub_answer("")
    (True, False, True)
    """
    norm = _norm(text)
    return norm in ("", _norm(STUB_TEXT), _norm(stub))


def written_questions(src_nb) -> list[Question]:
    """Every question of a source notebook (``auto`` tests and ``written`` answers), in order.

    A written answer's ``rubric`` is the text between its solution markers (the whole cell
    when it has none), its ``prompt`` the nearest Markdown cell above it that is not an
    answer, its ``stub`` what :func:`npulab.grading.release.release_notebook` leaves there.
    """
    from npulab.grading.autograde import is_manual_cell
    from npulab.grading.markers import BEGIN_SOLUTION, END_SOLUTION, has_marker, strip_solution
    from npulab.grading.outcome import is_test_cell
    from npulab.grading.release import nbgrader_meta

    found = []
    for index, cell in enumerate(src_nb.cells):
        meta = nbgrader_meta(cell)
        points = float(meta.get("points", 0) or 0)
        if is_test_cell(cell):
            found.append(Question(str(meta.get("grade_id")), "auto", points, position=index))
        elif is_manual_cell(cell):
            src = str(cell.source)
            marked = has_marker(src, BEGIN_SOLUTION)
            rubric = src
            if marked:
                inside = [
                    ln
                    for ln in src.splitlines()
                    if ln.strip() not in (BEGIN_SOLUTION, END_SOLUTION)
                ]
                rubric = "\n".join(inside).strip()
            stub = strip_solution(src, markdown=True) if marked else STUB_TEXT
            prompt = ""
            for above in reversed(src_nb.cells[:index]):
                if above.cell_type == "markdown" and not is_manual_cell(above):
                    prompt = str(above.source)
                    break
            found.append(
                Question(str(meta.get("grade_id")), "written", points, rubric, prompt, stub, index)
            )
    return found


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "instructor"


def _fmt(x: float) -> str:
    return f"{x:g}"


_FAILURE = re.compile(r"hidden test (\d+)")


class Gradebook:
    """An open ``OUT/gradebook.sqlite`` (see the module docstring); use :func:`open_gradebook`.

    Every write is one transaction; a closed or crashed writer leaves the file consistent.
    """

    def __init__(self, path: Path, connection: sqlite3.Connection):
        self.path = path
        self._db = connection

    def __repr__(self) -> str:
        return f"Gradebook('{self.path}')"

    # ------------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Close the connection (idempotent)."""
        self._db.close()

    def __enter__(self) -> "Gradebook":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ info
    def info(self) -> dict:
        """The stored key -> value facts (``lab``, ``source``, ``lang``, ...)."""
        return dict(self._db.execute("SELECT key, value FROM info").fetchall())

    def set_info(self, **values) -> None:
        """Store facts about the lab (strings)."""
        with self._db:
            self._db.executemany(
                "INSERT INTO info(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE "
                "SET value = excluded.value",
                [(k, str(v)) for k, v in values.items()],
            )

    # ------------------------------------------------------------------ questions
    def set_questions(self, questions) -> None:
        """Insert or update the lab's questions (from :func:`written_questions`).

        A question no longer in the source stays in the database (its marks too) but is
        no longer a column of :meth:`rows`.
        """
        questions = list(questions)
        with self._db:
            self._db.execute("UPDATE questions SET position = -1")
            self._db.executemany(
                _upsert("questions", "grade_id kind max_points rubric prompt stub position", 1),
                [
                    (q.grade_id, q.kind, float(q.max_points), q.rubric, q.prompt, q.stub, i)
                    for i, q in enumerate(questions)
                ],
            )

    def questions(self, kind: str | None = None) -> list[Question]:
        """The lab's current questions in notebook order (``kind``: ``auto`` or ``written``)."""
        rows = self._db.execute(
            "SELECT grade_id, kind, max_points, rubric, prompt, stub, position "
            "FROM questions WHERE position >= 0 ORDER BY position"
        ).fetchall()
        return [Question(*r) for r in rows if kind is None or r[1] == kind]

    def question(self, grade_id: str) -> Question:
        """One current question; an unknown ``grade_id`` is a one-line ``ValueError``."""
        row = self._db.execute(
            "SELECT grade_id, kind, max_points, rubric, prompt, stub, position "
            "FROM questions WHERE grade_id = ? AND position >= 0",
            (grade_id,),
        ).fetchone()
        if row is None:
            known = ", ".join(q.grade_id for q in self.questions("written")) or "none"
            raise ValueError(f"unknown grade_id {grade_id!r}; written questions: {known}")
        return Question(*row)

    # ------------------------------------------------------------------ written by npulab grade
    def record_results(self, results, *, hidden: dict | None = None) -> None:
        """Insert or update autograded results and written answers of ``results``
        (:class:`npulab.grading.autograde.SubmissionResult`), in one transaction.

        Never touches ``marks``: a mark whose answer changed becomes ``stale`` by its hash.
        ``hidden`` maps student -> list of ``(grade_id, test, message, inputs)``: the
        instructor-only detail of failed hidden tests (replacing the student's earlier rows);
        by default it is read from each outcome's ``detail`` when present.
        """
        written = {q.grade_id: q for q in self.questions("written")}
        now = _now()
        subs, res, ans, fails, students = [], [], [], [], []
        for r in results:
            students.append((r.student,))
            sandbox = 0 if r.settings.get("sandbox", True) is False else 1
            subs.append((r.student, r.status, float(r.seconds), r.submission_sha256, sandbox, now))
            for o in r.outcomes:
                res.append(
                    (
                        r.student,
                        o.grade_id,
                        float(o.score),
                        float(o.points),
                        int(bool(o.passed)),
                        str(o.message)[:MAX_TEXT],
                        r.status,
                        float(r.seconds),
                        r.submission_sha256,
                        now,
                    )
                )
            for gid, q in written.items():
                text = str((r.manual.get(gid) or {}).get("answer", ""))[:MAX_TEXT]
                ans.append(
                    (
                        r.student,
                        gid,
                        text,
                        text_sha256(text),
                        int(is_stub_answer(text, q.stub)),
                        now,
                    )
                )
            rows = (hidden or {}).get(r.student)
            if rows is None:
                rows = [(o.grade_id, *_detail(o)) for o in r.outcomes if getattr(o, "detail", None)]
            fails += [
                (r.student, g, str(tst), str(msg)[:MAX_TEXT], str(inp)[:MAX_TEXT])
                for g, tst, msg, inp in rows
            ]
        with self._db:
            self._db.executemany(
                _upsert(
                    "submissions", "student status seconds submission_sha256 sandbox graded_at", 1
                ),
                subs,
            )
            self._db.executemany(
                _upsert(
                    "results",
                    "student grade_id points max_points passed message status seconds "
                    "submission_sha256 graded_at",
                    2,
                ),
                res,
            )
            self._db.executemany(
                _upsert(
                    "answers", "student grade_id answer text_sha256 is_stub updated_at", 2
                ).replace(  # updated_at: when the text last changed
                    "updated_at = excluded.updated_at",
                    "updated_at = CASE WHEN answers.text_sha256 = excluded.text_sha256 "
                    "THEN answers.updated_at ELSE excluded.updated_at END",
                ),
                ans,
            )
            self._db.executemany("DELETE FROM hidden_failures WHERE student = ?", students)
            self._db.executemany(
                "INSERT OR REPLACE INTO hidden_failures(student, grade_id, test, message, inputs) "
                "VALUES (?, ?, ?, ?, ?)",
                fails,
            )

    def students(self) -> list[str]:
        """Every student graded so far, sorted."""
        return [r[0] for r in self._db.execute("SELECT student FROM submissions ORDER BY student")]

    # ------------------------------------------------------------------ answers and marks
    def written_answers(self, grade_id: str) -> list[Answer]:
        """Every student's answer to one written question, sorted by student."""
        self._written(grade_id)
        rows = self._db.execute(
            "SELECT student, grade_id, answer, text_sha256, is_stub, updated_at FROM answers "
            "WHERE grade_id = ? ORDER BY student",
            (grade_id,),
        ).fetchall()
        return [Answer(s, g, a, h, bool(stub), u) for s, g, a, h, stub, u in rows]

    def answer(self, student: str, grade_id: str) -> Answer | None:
        """One student's answer to one written question (None when never graded)."""
        row = self._db.execute(
            "SELECT student, grade_id, answer, text_sha256, is_stub, updated_at FROM answers "
            "WHERE student = ? AND grade_id = ?",
            (student, grade_id),
        ).fetchone()
        return None if row is None else Answer(row[0], row[1], row[2], row[3], bool(row[4]), row[5])

    def _written(self, grade_id: str) -> Question:
        q = self.question(grade_id)
        if q.kind != "written":
            known = ", ".join(w.grade_id for w in self.questions("written")) or "none"
            raise ValueError(
                f"grade_id {grade_id!r} is an autograded test, not a written question; "
                f"written questions: {known}"
            )
        return q

    def set_mark(
        self,
        student: str,
        grade_id: str,
        points: float,
        comment: str = "",
        grader: str | None = None,
    ) -> Mark:
        """Give ``student``'s current answer to ``grade_id`` a mark (replacing any earlier
        one; every mark is also kept in ``mark_history``).

        Parameters
        ----------
        student : str
            A student already graded by ``npulab grade``.
        grade_id : str
            A written question of the lab.
        points : float
            ``0 <= points <= max_points`` of the question.  Units: points.
        comment : str, default ""
            Shown to the student on the feedback page.
        grader : str, optional
            Who gave the mark; default the login name.

        Returns
        -------
        Mark

        Raises
        ------
        ValueError
            One line naming the bad value: unknown student or grade_id, points out of range.
        """
        q = self._written(grade_id)
        try:
            value = float(points)
        except (TypeError, ValueError):
            raise ValueError(f"points must be a number; got {points!r}") from None
        if not math.isfinite(value) or not 0 <= value <= q.max_points:
            raise ValueError(
                f"points for {grade_id} must be between 0 and {_fmt(q.max_points)}; got {points!r}"
            )
        current = self.answer(student, grade_id)
        if current is None:
            raise ValueError(f"unknown student {student!r}: not graded in {self.path.parent}")
        mark = Mark(
            student,
            grade_id,
            value,
            str(comment or "")[:MAX_TEXT],
            str(grader or _who()),
            _now(),
            current.text_sha256,
        )
        with self._db:
            self._db.execute(
                _upsert("marks", _MARK_COLUMNS, 2),
                _mark_row(mark),
            )
            self._db.execute(
                "INSERT INTO mark_history(student, grade_id, points, comment, grader, marked_at, "
                "text_sha256) VALUES (?, ?, ?, ?, ?, ?, ?)",
                _mark_row(mark),
            )
        return mark

    def mark(self, student: str, grade_id: str) -> Mark | None:
        """The current mark of one answer (also a stale one), or None."""
        row = self._db.execute(
            "SELECT student, grade_id, points, comment, grader, marked_at, text_sha256 "
            "FROM marks WHERE student = ? AND grade_id = ?",
            (student, grade_id),
        ).fetchone()
        return None if row is None else Mark(*row)

    def marks(self) -> list[Mark]:
        """Every current mark (stale ones too), by student then question order."""
        rows = self._db.execute(
            "SELECT m.student, m.grade_id, m.points, m.comment, m.grader, m.marked_at, "
            "m.text_sha256 FROM marks m LEFT JOIN questions q ON q.grade_id = m.grade_id "
            "ORDER BY m.student, q.position, m.grade_id"
        ).fetchall()
        return [Mark(*r) for r in rows]

    def mark_history(self, student: str | None = None, grade_id: str | None = None) -> list[Mark]:
        """Every mark ever given (oldest first), optionally for one student and/or question."""
        rows = self._db.execute(
            "SELECT student, grade_id, points, comment, grader, marked_at, text_sha256 "
            "FROM mark_history WHERE (? IS NULL OR student = ?) "
            "AND (? IS NULL OR grade_id = ?) ORDER BY id",
            (student, student, grade_id, grade_id),
        ).fetchall()
        return [Mark(*r) for r in rows]

    def mark_state(self, student: str, grade_id: str) -> str:
        """``graded``, ``stale``, ``pending`` or ``stub`` (see the module docstring)."""
        return self._score(
            self._written(grade_id), self.answer(student, grade_id), self.mark(student, grade_id)
        ).state

    @staticmethod
    def _score(q: Question, answer: Answer | None, mark: Mark | None) -> ManualScore:
        if mark is not None:
            if answer is not None and mark.text_sha256 == answer.text_sha256:
                return ManualScore(q.grade_id, "graded", mark.points, q.max_points, mark)
            return ManualScore(q.grade_id, "stale", None, q.max_points, mark)
        if answer is None or answer.is_stub:
            return ManualScore(q.grade_id, "stub", 0.0, q.max_points, None)
        return ManualScore(q.grade_id, "pending", None, q.max_points, None)

    def manual_scores(self, student: str) -> dict[str, ManualScore]:
        """grade_id -> :class:`ManualScore` of every written question, for one student."""
        answers = {a.grade_id: a for a in self._all_answers(student)}
        marks = {m.grade_id: m for m in self.marks() if m.student == student}
        return {
            q.grade_id: self._score(q, answers.get(q.grade_id), marks.get(q.grade_id))
            for q in self.questions("written")
        }

    def _all_answers(self, student: str | None = None) -> list[Answer]:
        rows = self._db.execute(
            "SELECT student, grade_id, answer, text_sha256, is_stub, updated_at FROM answers "
            "WHERE (? IS NULL OR student = ?)",
            (student, student),
        ).fetchall()
        return [Answer(s, g, a, h, bool(stub), u) for s, g, a, h, stub, u in rows]

    def progress(self, grade_id: str) -> tuple[int, int]:
        """``(graded, total)`` answers to one written question: graded counts marks on the
        current text and unanswered stubs (0 points, nothing to grade); stale marks do not."""
        q = self._written(grade_id)
        marks = {m.student: m for m in self.marks() if m.grade_id == grade_id}
        answers = self.written_answers(grade_id)
        done = sum(
            self._score(q, a, marks.get(a.student)).state in ("graded", "stub") for a in answers
        )
        return done, len(answers)

    # ------------------------------------------------------------------ instructor detail
    def hidden_failures(self, student: str) -> list[HiddenFailure]:
        """Instructor-only: the failed hidden tests of one student (name, real message,
        inputs if recorded), in question order.  Never shown to students."""
        rows = self._db.execute(
            "SELECT h.student, h.grade_id, h.test, h.message, h.inputs FROM hidden_failures h "
            "LEFT JOIN questions q ON q.grade_id = h.grade_id WHERE h.student = ? "
            "ORDER BY q.position, h.grade_id",
            (student,),
        ).fetchall()
        return [HiddenFailure(*r) for r in rows]

    # ------------------------------------------------------------------ gradebook table
    def columns(self) -> list[str]:
        """Column names of :meth:`rows`: ``student``, one per question (tests, then written
        answers, each in notebook order), ``total``, ``max``, ``status`` and, when the lab
        has written questions, ``manual_pending``."""
        auto = [q.grade_id for q in self.questions("auto")]
        written = [q.grade_id for q in self.questions("written")]
        return [
            "student",
            *auto,
            *written,
            "total",
            "max",
            "status",
            *(["manual_pending"] if written else []),
        ]

    def rows(self) -> list[dict]:
        """One dict per student (sorted), keyed by :meth:`columns` (plus ``sandbox``: bool).

        A test column holds the points earned; a written column the mark's points (0 for an
        unanswered stub, None while pending or stale).  ``total`` sums what is graded;
        ``max`` includes the written questions; ``manual_pending`` is the points of answers
        still ungraded or stale.
        """
        auto = self.questions("auto")
        written = self.questions("written")
        earned: dict[str, dict[str, float]] = {}
        for student, gid, points in self._db.execute(
            "SELECT student, grade_id, points FROM results"
        ):
            earned.setdefault(student, {})[gid] = points
        answers: dict[tuple, Answer] = {(a.student, a.grade_id): a for a in self._all_answers()}
        marks: dict[tuple, Mark] = {(m.student, m.grade_id): m for m in self.marks()}
        top = sum(q.max_points for q in auto) + sum(q.max_points for q in written)
        out = []
        for student, status, sandbox in self._db.execute(
            "SELECT student, status, sandbox FROM submissions ORDER BY student"
        ).fetchall():
            row: dict = {"student": student}
            mine = earned.get(student, {})
            for q in auto:
                row[q.grade_id] = float(mine.get(q.grade_id, 0.0))
            pending = 0.0
            for q in written:
                score = self._score(
                    q, answers.get((student, q.grade_id)), marks.get((student, q.grade_id))
                )
                row[q.grade_id] = score.points
                pending += q.max_points if score.points is None else 0.0
            row["total"] = float(sum(v for k, v in row.items() if k != "student" and v is not None))
            row.update({"max": top, "status": status})
            if written:
                row["manual_pending"] = pending
            row["sandbox"] = bool(sandbox)
            out.append(row)
        return out


def _detail(outcome) -> tuple[str, str, str]:
    """``(test, message, inputs)`` from an outcome's instructor-only ``detail`` dict or text."""
    detail = outcome.detail
    if isinstance(detail, dict):
        return (
            str(detail.get("test", "")),
            str(detail.get("message", "")),
            str(detail.get("inputs", "")),
        )
    found = _FAILURE.search(str(outcome.message))
    return (found.group(0) if found else "hidden test", str(detail), "")


_MARK_COLUMNS = "student grade_id points comment grader marked_at text_sha256"


def _upsert(table: str, columns: str, keys: int) -> str:
    """``INSERT ... ON CONFLICT(first ``keys`` columns) DO UPDATE SET`` every other column.

    >>> _upsert("t", "a b", 1)
    'INSERT INTO t(a, b) VALUES (?, ?) ON CONFLICT(a) DO UPDATE SET b = excluded.b'
    """
    cols = columns.split()
    sets = ", ".join(f"{c} = excluded.{c}" for c in cols[keys:])
    return (
        f"INSERT INTO {table}({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
        f"ON CONFLICT({', '.join(cols[:keys])}) DO UPDATE SET {sets}"
    )


def _mark_row(mark: Mark) -> tuple:
    return (
        mark.student,
        mark.grade_id,
        mark.points,
        mark.comment,
        mark.grader,
        mark.marked_at,
        mark.text_sha256,
    )


def open_gradebook(out, *, create: bool = True) -> Gradebook:
    """Open (``create``: and make, with its tables) ``out/gradebook.sqlite``.

    Parameters
    ----------
    out : path-like
        The grading output folder (``npulab grade --out``).
    create : bool, default True
        Create the folder and the database when absent; False makes a missing gradebook a
        one-line ``ValueError`` (for ``npulab marks`` on a folder never graded).

    Returns
    -------
    Gradebook
    """
    out = Path(out)
    path = out / DB_NAME
    if not create and not path.is_file():
        raise ValueError(f"no gradebook in {out} (run npulab grade --out {out} first)")
    out.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=30.0)
    try:
        db.execute("PRAGMA busy_timeout = 30000")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise ValueError(
                f"{path} has schema version {version}; this npulab reads up to {SCHEMA_VERSION} "
                "(upgrade npulab)"
            )
        with db:
            db.executescript(_SCHEMA)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except sqlite3.DatabaseError as err:
        db.close()
        raise ValueError(f"{path} is not a usable gradebook database ({err})") from None
    except BaseException:
        db.close()
        raise
    if os.name == "posix":
        _owner_only(path)
    return Gradebook(path, db)


def _owner_only(path: Path) -> None:
    """Keep the gradebook readable by its owner only (it holds hidden-test detail)."""
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            if p.exists():
                p.chmod(0o600)
        except OSError:
            pass
