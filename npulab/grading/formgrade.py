"""The grading page: ``npulab formgrade OUT`` serves a local web app to mark written answers.

One page per written question (a Markdown cell of the source notebook with nbgrader
``solution`` and ``grade`` true): the question and its rubric from the source notebook,
then every student's answer (Markdown and maths rendered, :mod:`npulab.grading.richtext`)
with a points field and a comment field.  Each change is saved to OUT's gradebook database
as the grader types (the mark carries the grader's name, the time and the hash of the text
it was given for, so a later change of the answer flags it stale).  Keys: ``j``/``k`` or
the down/up arrows move between answers, ``Enter`` saves and moves on (``Shift+Enter``: a
new line in a comment), ``Esc`` leaves a field.  ``--anonymous`` shows stable pseudonyms
instead of student ids.  A second view lists a student's hidden-test failures with their
message and inputs, for the instructor only (feedback pages never show them).

Security, as Jupyter's server does it: the app listens on 127.0.0.1 only; the URL printed on
start carries a random token (``?token=...``); a request without it (or the cookie the first
visit sets) gets 403; a request whose ``Host`` is not the loopback address gets 403 (DNS
rebinding); every POST must carry the token in the ``X-Npulab-Token`` header or the ``token``
form field (CSRF); students' text is escaped, and a Content-Security-Policy allows no inline
script and nothing from elsewhere.

The app is Flask (:func:`create_app`); :func:`make_server` runs it in Werkzeug's threaded server.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from npulab.i18n.messages import t

__all__ = ["pseudonym", "pseudonym_key", "create_app", "make_server", "TOKEN_HEADER"]

#: The header every POST carries the token in (the page's script sets it).
TOKEN_HEADER = "X-Npulab-Token"
#: The cookie the first visit with ``?token=`` sets, so links need no token; its name ends in
#: a hash of the token, since cookies are per host, not per port (two pages, two labs).
_COOKIE = "npulab_formgrade_{}"
#: The file in OUT holding the salt of the anonymous pseudonyms (created 0600).
SALT_FILE = ".formgrade-salt"
_ASSETS = Path(__file__).resolve().parent / "formgrade_assets"
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def pseudonym(student: str, salt: bytes) -> str:
    """A stable pseudonym for ``student``: ``anon-`` and 8 hex digits of HMAC-SHA256(salt, id).

    The same salt (kept in ``OUT/.formgrade-salt``) gives the same pseudonym in every session,
    so a grader can come back to "anon-1f3a9c2e"; without the salt the id can't be guessed
    from it.

    >>> pseudonym("ada", b"k") == pseudonym("ada", b"k") != pseudonym("bob", b"k")
    True
    """
    return (
        "anon-"
        + hmac.new(salt, student.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:8]
    )


def pseudonym_key(out) -> bytes:
    """The salt of the pseudonyms of one graded class, created on first use.

    Parameters
    ----------
    out : str or Path
        The output folder of ``npulab grade``; the salt lives in ``OUT/.formgrade-salt``
        (16 random bytes as hex, file mode 0600).

    Returns
    -------
    bytes
        The salt for :func:`pseudonym`.
    """
    path = Path(out) / SALT_FILE
    try:
        return bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError):
        pass
    salt = secrets.token_bytes(16)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(salt.hex() + "\n")
    return salt


@dataclass
class _Entry:
    """One answer as the page shows it."""

    key: str  # what the page, its URLs and its POSTs call the student (id or pseudonym)
    student: str
    text: str
    state: str  # "graded", "stale", "pending", "stub"
    points: float | None
    comment: str
    grader: str
    time: str


class _View:
    """What the page reads from the gradebook database, one connection per request."""

    def __init__(self, db, *, anonymous: bool, salt: bytes):
        self.db = db
        self.anonymous = anonymous
        self.salt = salt

    def key(self, student: str) -> str:
        return pseudonym(student, self.salt) if self.anonymous else student

    def questions(self) -> dict[str, Any]:
        return {q.grade_id: q for q in self.db.questions("written")}

    def students(self) -> dict[str, str]:
        """key -> student id, sorted by key (pseudonyms sort by themselves, not by name)."""
        return dict(sorted((self.key(s), s) for s in self.db.students()))

    def student_of(self, key: str) -> str:
        return self.students()[key]

    def entries(self, grade_id: str) -> list[_Entry]:
        rows = []
        for a in self.db.written_answers(grade_id):
            mark = self.db.mark(a.student, grade_id)
            rows.append(
                _Entry(
                    key=self.key(a.student),
                    student=a.student,
                    text=str(a.text or ""),
                    state=str(self.db.mark_state(a.student, grade_id)),
                    points=None if mark is None else float(mark.points),
                    comment="" if mark is None else str(mark.comment or ""),
                    grader="" if mark is None else str(mark.grader or ""),
                    time="" if mark is None else str(mark.marked_at or ""),
                )
            )
        return sorted(rows, key=lambda e: e.key)


def _open_default(out: Path):
    from npulab.grading.gradebook_db import open_gradebook

    return open_gradebook(out, create=False)


def create_app(
    out,
    *,
    token: str,
    anonymous: bool = False,
    grader: str = "instructor",
    lang: str = "en",
    open_db=None,
):
    """The grading page of one graded class, as a Flask app.

    Parameters
    ----------
    out : str or Path
        The output folder of ``npulab grade`` (its gradebook database, ``gradebook.sqlite``).
    token : str
        The secret every request must carry (``?token=`` once, then a cookie; POSTs in the
        ``X-Npulab-Token`` header or a ``token`` form field); at least 16 characters.
    anonymous : bool, default False
        Show pseudonyms (:func:`pseudonym`) instead of student ids, in pages and URLs.
    grader : str, default "instructor"
        The name recorded with every mark.
    lang : {"en", "ko"}, default "en"
        Language of the page.
    open_db : callable, optional
        Returns an open gradebook (a context manager); called once per request, so each
        server thread has its own SQLite connection.  Default:
        ``npulab.grading.gradebook_db.open_gradebook(out, create=False)``.

    Returns
    -------
    flask.Flask

    Raises
    ------
    ValueError
        A short token, or ``out`` without a gradebook database (one line).
    """
    from flask import (
        Flask,
        Response,
        abort,
        g,
        jsonify,
        redirect,
        render_template,
        request,
        url_for,
    )
    from markupsafe import Markup

    from npulab.grading.richtext import render_markdown

    out = Path(out)
    if not isinstance(token, str) or len(token) < 16:
        raise ValueError("create_app: token must be a random string of >= 16 characters")
    open_db = open_db or (lambda: _open_default(out))
    with open_db() as db:  # fail now, with one line, on a folder that was never graded
        lab = str(db.info().get("lab") or out.name)
    salt = pseudonym_key(out) if anonymous else b""
    app = Flask(
        "npulab.grading.formgrade",
        template_folder=str(_ASSETS / "templates"),
        static_folder=str(_ASSETS / "static"),
        static_url_path="/static",
    )
    # NPULAB_MARKS_SAVED: marks saved since the start (the CLI rewrites gradebook.csv on exit)
    app.config.update(MAX_CONTENT_LENGTH=64 * 1024, NPULAB_MARKS_SAVED=0)
    saved_lock = threading.Lock()

    cookie = _COOKIE.format(hashlib.sha256(token.encode()).hexdigest()[:12])

    def tr(msg_id: str, **kw) -> str:
        return t(f"fg_{msg_id}", lang, **kw)

    def good_token(given) -> bool:
        return isinstance(given, str) and hmac.compare_digest(given.encode(), token.encode())

    def view() -> _View:
        if "view" not in g:
            g.view = _View(open_db(), anonymous=anonymous, salt=salt)
        return g.view

    @app.teardown_appcontext
    def close(_exc):
        v = g.pop("view", None)
        if v is not None:
            v.db.close()

    @app.before_request
    def guard():
        host = (request.host or "").rsplit(":", 1)[0].strip("[]")
        if host not in ("127.0.0.1", "localhost", "::1"):
            abort(403)  # DNS rebinding: a page elsewhere naming this port under its own host
        if request.method == "POST":
            if not (
                good_token(request.headers.get(TOKEN_HEADER))
                or good_token(request.form.get("token"))
            ):
                abort(403)
        elif not (good_token(request.args.get("token")) or good_token(request.cookies.get(cookie))):
            abort(403)
        return None

    @app.after_request
    def headers(resp: Response) -> Response:
        if request.method == "GET" and good_token(request.args.get("token")):
            resp.set_cookie(cookie, token, httponly=True, samesite="Strict", path="/")
        resp.headers["Content-Security-Policy"] = _CSP
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        resp.headers["Cache-Control"] = "no-store"
        return resp

    @app.context_processor
    def helpers():
        return {
            "tr": tr,
            "lang": lang,
            "lab": lab,
            "token": token,
            "anonymous": anonymous,
            "md": lambda text: Markup(render_markdown(text)),
        }

    @app.get("/favicon.ico")
    def favicon():
        return Response(status=204)

    @app.get("/")
    def index():
        rows = [(q, *view().db.progress(q.grade_id)) for q in view().questions().values()]
        failed = {
            key: len(view().db.hidden_failures(sid)) for key, sid in view().students().items()
        }
        return render_template("index.html", rows=rows, students=failed)

    @app.get("/q/<grade_id>")
    def question(grade_id: str):
        q = view().questions().get(grade_id)
        if q is None:
            abort(404)
        graded, total = view().db.progress(grade_id)
        return render_template(
            "question.html",
            q=q,
            entries=view().entries(grade_id),
            graded=graded,
            total=total,
            save_url=url_for("save"),
        )

    @app.post("/mark")
    def save():
        form = request.form
        gid = str(form.get("grade_id", ""))
        key = str(form.get("key", ""))
        wants_json = "application/json" in request.headers.get("Accept", "")
        try:
            q = view().questions().get(gid)
            if q is None:
                raise ValueError(tr("no_question", grade_id=gid[:80]))
            try:
                student = view().student_of(key)
            except KeyError:
                raise ValueError(tr("no_student", key=key[:80])) from None
            points = _points(form.get("points", ""), float(q.max_points), tr)
            view().db.set_mark(
                student, gid, points, comment=str(form.get("comment", "")), grader=grader
            )
            with saved_lock:
                app.config["NPULAB_MARKS_SAVED"] += 1
        except ValueError as err:
            if wants_json:
                return jsonify(error=str(err).splitlines()[0]), 400
            abort(400, str(err).splitlines()[0])
        if not wants_json:
            return redirect(url_for("question", grade_id=gid) + f"#a-{key}")
        entry = next(e for e in view().entries(gid) if e.student == student)
        done, total = view().db.progress(gid)
        return jsonify(
            state=entry.state,
            points=entry.points,
            comment=entry.comment,
            grader=entry.grader,
            time=entry.time,
            graded=done,
            total=total,
            progress=tr("progress", graded=done, total=total),
        )

    @app.get("/students/<key>")
    def student(key: str):
        try:
            sid = view().student_of(key)
        except KeyError:
            abort(404)
        failures = [
            {
                "test": str(f.grade_id),
                "name": str(f.test),
                "message": str(f.message),
                "inputs": str(f.inputs),
            }
            for f in view().db.hidden_failures(sid)
        ]
        return render_template("student.html", name=key, failures=failures)

    return app


def _points(raw, maximum: float, tr) -> float:
    """The points typed in the page, checked against ``0..maximum`` (one-line ``ValueError``)."""
    import math

    try:
        value = float(str(raw).strip().replace(",", "."))
    except ValueError:
        raise ValueError(tr("bad_points", points=str(raw)[:20], max=f"{maximum:g}")) from None
    if not math.isfinite(value) or not 0 <= value <= maximum:
        raise ValueError(tr("bad_points", points=str(raw)[:20], max=f"{maximum:g}"))
    return value


def make_server(app, port: int = 0):
    """A threaded Werkzeug server for ``app`` on 127.0.0.1, never another interface.

    Parameters
    ----------
    app : flask.Flask
        The app of :func:`create_app`.
    port : int, default 0
        TCP port; 0 picks a free one.

    Returns
    -------
    werkzeug.serving.BaseWSGIServer
        ``server.server_port`` is the port, ``server.serve_forever()`` runs it and
        ``server.shutdown()`` (from another thread) stops it.
    """
    from werkzeug.serving import make_server as _make

    return _make("127.0.0.1", int(port), app, threaded=True)
