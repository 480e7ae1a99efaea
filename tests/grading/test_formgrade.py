"""The grading page (``npulab formgrade``): access control, escaping, marks, anonymity.

These tests drive the Flask app through its test client over a gradebook database filled
directly (``record_results``, as ``npulab grade`` does); the browser test
(``test_formgrade_browser.py``) grades a class and drives the page in Chromium.
"""

from __future__ import annotations

import json
import re

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npulab.grading import authoring as A
from npulab.grading.formgrade import TOKEN_HEADER, create_app, pseudonym
from npulab.grading.richtext import render_markdown

TOKEN = "t0ken-" + "x" * 26
HOSTILE = (
    "<script>alert('pwned')</script> and <img src=x onerror=alert(1)> "
    "[click](javascript:alert(2)) ![t](http://example.invalid/track.png)"
)


def _record(out, answers, failures=None):
    """Store ``answers`` (grade_id -> student -> text) as ``npulab grade`` does."""
    from npulab.grading.autograde import SubmissionResult
    from npulab.grading.gradebook_db import open_gradebook

    students = sorted({s for by in answers.values() for s in by})
    results = [
        SubmissionResult(
            student=s,
            status="ok",
            outcomes=(),
            manual={
                gid: {"points": 2.0, "answer": by[s]} for gid, by in answers.items() if s in by
            },
        )
        for s in students
    ]
    with open_gradebook(out) as book:
        book.record_results(results, hidden=failures or {})


def _class(tmp_path, answers=None, failures=None):
    from npulab.grading.gradebook_db import open_gradebook, written_questions

    cells = [
        A.markdown("# Lab", grade_id="intro"),
        A.markdown("**Q1.** Why is $x^2 \\ge 0$?", grade_id="q1_prompt"),
        A.written("w1", 2, "Squares are non-negative.", "1 point: sign; 1 point: $x \\cdot x$."),
        A.markdown("**Q2.** And why not?", grade_id="q2_prompt"),
        A.written("w2", 3, "Because.", "3 points: any reason."),
    ]
    nb = A.notebook(cells)
    nbformat.write(nb, tmp_path / "lab.ipynb")
    out = tmp_path / "out"
    with open_gradebook(out) as book:
        book.set_info(lab="lab", source=str(tmp_path / "lab.ipynb"))
        book.set_questions(written_questions(nb))
    _record(
        out,
        answers
        or {
            "w1": {"ada": "It is **squared**: $x^2 = x \\cdot x$.", "bob": HOSTILE},
            "w2": {"ada": "x", "bob": "y"},
        },
        failures,
    )
    return out


def _marks(out):
    from npulab.grading.gradebook_db import open_gradebook

    with open_gradebook(out) as book:
        return {(m.student, m.grade_id): m for m in book.marks()}


@pytest.fixture
def page(tmp_path):
    out = _class(
        tmp_path,
        failures={
            "bob": [
                (
                    "test_mul",
                    "hidden test 1",
                    "AssertionError: <b>mul(10, 0.5)</b>",
                    "mul(a=10, b=0.5)",
                )
            ]
        },
    )
    app = create_app(out, token=TOKEN, grader="tester")
    return app.test_client(), out


def _post(client, **form):
    return client.post(
        "/mark", data=form, headers={TOKEN_HEADER: TOKEN, "Accept": "application/json"}
    )


def test_requests_without_the_token_are_refused(page):
    client, _ = page
    assert client.get("/").status_code == 403
    assert client.get("/q/w1").status_code == 403
    assert client.get("/?token=wrong").status_code == 403
    assert client.get("/static/formgrade.js").status_code == 403


def test_token_in_url_sets_a_cookie_for_the_next_pages(page):
    client, _ = page
    first = client.get(f"/?token={TOKEN}")
    assert first.status_code == 200 and "w1" in first.text
    assert (
        "HttpOnly" in first.headers["Set-Cookie"]
        and "SameSite=Strict" in first.headers["Set-Cookie"]
    )
    assert client.get("/q/w1").status_code == 200  # the cookie now
    assert "script-src 'self'" in first.headers["Content-Security-Policy"]


def test_two_pages_on_one_host_keep_their_own_cookies(tmp_path):
    """Cookies are per host, not per port: a second lab's page must not log the first out."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    other = "another-token-" + "y" * 20
    one = create_app(_class(tmp_path / "a"), token=TOKEN).test_client()
    two = create_app(_class(tmp_path / "b"), token=other).test_client()
    name_one = one.get(f"/?token={TOKEN}").headers["Set-Cookie"].split("=")[0]
    name_two = two.get(f"/?token={other}").headers["Set-Cookie"].split("=")[0]
    assert name_one != name_two and name_one.startswith("npulab_formgrade_")
    two.set_cookie(name_one, TOKEN)  # the first page's cookie is no key to the second
    two.delete_cookie(name_two)
    assert two.get("/").status_code == 403


def test_post_needs_the_token_in_header_or_form_not_the_cookie(page):
    client, out = page
    client.get(f"/?token={TOKEN}")  # the cookie alone is what a cross-site form would send
    assert (
        client.post("/mark", data={"key": "ada", "grade_id": "w1", "points": "1"}).status_code
        == 403
    )
    assert _marks(out) == {}
    ok = client.post("/mark", data={"key": "ada", "grade_id": "w1", "points": "1", "token": TOKEN})
    assert ok.status_code == 302 and _marks(out)[("ada", "w1")].points == 1.0


def test_other_host_headers_are_refused(page):
    client, _ = page
    assert client.get(f"/?token={TOKEN}", headers={"Host": "evil.example:8000"}).status_code == 403


def test_hostile_answer_is_escaped_and_never_runs(page):
    client, _ = page
    html = client.get(f"/q/w1?token={TOKEN}").text
    assert "&lt;script&gt;alert('pwned')&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert re.findall(r"<script[^>]*>", html) == [
        '<script src="/static/formgrade.js"></script>'[:-9]
    ]
    bob = html[html.index('data-key="bob"') :]
    bob = bob[: bob.index("</article>")]
    assert (
        "<img" not in bob
        and "<a " not in bob
        and "href=" not in bob
        and "src=" not in bob.replace("src=x", "")
    )
    assert (
        'title="http://example.invalid/track.png">[t]</span>' in html
    )  # an image is shown as text


def test_markdown_and_maths_are_rendered(page):
    client, _ = page
    html = client.get(f"/q/w1?token={TOKEN}").text
    assert "<strong>squared</strong>" in html
    assert html.count("<math") >= 3  # the answer, the prompt and the rubric
    assert "Squares are non-negative." in html  # the rubric from the source notebook


def test_marks_are_saved_with_grader_and_progress(page):
    client, out = page
    assert "0 of 2 graded" in client.get(f"/q/w1?token={TOKEN}").text
    reply = _post(client, key="ada", grade_id="w1", points="1.5", comment="good <b>start</b>")
    assert reply.status_code == 200, reply.text
    data = reply.get_json()
    assert data["state"] == "graded" and data["progress"] == "1 of 2 graded"
    assert _marks(out)[("ada", "w1")].grader == "tester"
    html = client.get("/q/w1").text
    assert (
        'value="1.5"' in html
        and "good &lt;b&gt;start&lt;/b&gt;" in html
        and "1 of 2 graded" in html
    )


@pytest.mark.parametrize("points", ["3", "-1", "nan", "inf", "two", ""])
def test_points_outside_the_question_are_refused(page, points):
    client, out = page
    reply = _post(client, key="ada", grade_id="w1", points=points)
    assert reply.status_code == 400
    assert "points must be a number from 0 to 2" in reply.get_json()["error"]
    assert _marks(out) == {}


def test_unknown_question_or_student(page):
    client, _ = page
    assert _post(client, key="zed", grade_id="w1", points="1").status_code == 400
    assert _post(client, key="ada", grade_id="nope", points="1").status_code == 400
    assert client.get(f"/q/nope?token={TOKEN}").status_code == 404


def test_stale_mark_is_shown_as_stale(page):
    client, out = page
    assert _post(client, key="ada", grade_id="w1", points="2").status_code == 200
    _record(
        out,
        {
            "w1": {"ada": "I changed my answer after the mark.", "bob": HOSTILE},
            "w2": {"ada": "x", "bob": "y"},
        },
    )
    html = client.get(f"/q/w1?token={TOKEN}").text
    assert re.search(r'data-key="ada" data-state="stale"', html)
    assert "stale: the answer changed after it was marked" in html
    assert "0 of 2 graded" in html  # a stale mark is not counted as graded


def test_anonymous_mode_hides_names_with_stable_pseudonyms(tmp_path):
    out = _class(tmp_path)
    pages = []
    for _ in range(2):  # two sessions on the same OUT: the same pseudonyms
        client = create_app(out, token=TOKEN, anonymous=True).test_client()
        pages.append(client.get(f"/q/w1?token={TOKEN}").text + client.get("/").text)
    assert pages[0] == pages[1]
    assert "ada" not in pages[0] and "bob" not in pages[0]
    names = sorted(set(re.findall(r"anon-[0-9a-f]{8}", pages[0])))
    assert len(names) == 2
    assert (out / ".formgrade-salt").stat().st_mode & 0o077 == 0
    # marks go to the right student through the pseudonym
    salt = bytes.fromhex((out / ".formgrade-salt").read_text().strip())
    reply = client.post(
        "/mark",
        data={"key": pseudonym("bob", salt), "grade_id": "w1", "points": "2"},
        headers={TOKEN_HEADER: TOKEN, "Accept": "application/json"},
    )
    assert reply.status_code == 200 and ("bob", "w1") in _marks(out)
    assert client.get("/students/ada").status_code == 404  # real ids don't open anything


def test_hidden_failures_view_shows_message_and_inputs_escaped(page):
    client, _ = page
    html = client.get(f"/students/bob?token={TOKEN}").text
    assert "test_mul" in html and "hidden test 1" in html
    assert "&lt;b&gt;mul(10, 0.5)&lt;/b&gt;" in html and "mul(a=10, b=0.5)" in html
    assert "No hidden test failed." in client.get("/students/ada").text
    index = client.get("/").text
    assert "(1 hidden failed)" in index and "(0 hidden failed)" in index


def test_korean_page(tmp_path):
    out = _class(tmp_path)
    client = create_app(out, token=TOKEN, lang="ko").test_client()
    assert "2개 중 0개 채점됨" in client.get(f"/q/w1?token={TOKEN}").text


def test_short_token_is_refused(tmp_path):
    out = _class(tmp_path)
    with pytest.raises(ValueError, match="token"):
        create_app(out, token="short")


def test_cli_missing_out_exits_2_with_one_line(tmp_path, capsys):
    from npulab.cli import main

    assert main(["formgrade", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("npulab formgrade: error: output folder not found")


def test_cli_out_without_gradebook_exits_2(tmp_path, capsys):
    from npulab.cli import main

    assert main(["formgrade", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no gradebook in" in err[0]
    assert not (tmp_path / "gradebook.sqlite").exists()


# --------------------------------------------------------------------------- rich text
_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9]*)([^>]*)>")


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("<>\"'=/ $\\{}[]()!*_`ascriptonerlhfjv:x^2\n")), max_size=120
    )
)
def test_rendered_markdown_never_carries_script_or_handlers(text):
    out = render_markdown(text)
    for tag, attrs in _TAG.findall(out):
        assert tag.lower() not in ("script", "iframe", "object", "embed", "img", "a", "style"), out
        assert not re.search(r"\son[a-z]+\s*=", attrs, re.I), out
        assert "javascript:" not in attrs.lower(), out


def test_hostile_maths_falls_back_to_code():
    out = render_markdown(r"$\href{javascript:alert(1)}{x}$ and $" + "{" * 3000 + "$")
    assert "<math" not in out.split("and")[0] and "href=" not in out


def test_cli_serves_on_loopback_with_a_token_and_reports_on_ctrl_c(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import urllib.error
    import urllib.parse
    import urllib.request

    out = _class(tmp_path)
    # a HOME of its own: no grader key at the default place (other tests make one there)
    env = {**os.environ, "HOME": str(tmp_path / "home")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "npulab", "formgrade", str(out), "--grader", "cli"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/\?token=[-\w]+", line).group(0)
        base, token = url.split("/?token=")
        assert len(token) >= 32
        with urllib.request.urlopen(url, timeout=10) as reply:
            assert reply.status == 200 and "w1" in reply.read().decode()
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(base + "/", timeout=10)
        assert err.value.code == 403
        data = urllib.parse.urlencode({"key": "ada", "grade_id": "w1", "points": "2"}).encode()
        post = urllib.request.Request(
            base + "/mark", data=data, headers={TOKEN_HEADER: token, "Accept": "application/json"}
        )
        with urllib.request.urlopen(post, timeout=10) as reply:
            assert json.loads(reply.read())["progress"] == "1 of 2 graded"
    finally:
        proc.send_signal(signal.SIGINT)
        _, err_text = proc.communicate(timeout=20)
    assert proc.returncode == 0, err_text
    assert _marks(out)[("ada", "w1")].grader == "cli"
    # no usable grader key here (none given, none in this HOME): the marks are kept and the
    # command says the pages were not rewritten and what to do
    assert ("gradebook.csv and the feedback were not written again" in err_text
            or "NOT rewritten: their stored result did not verify" in err_text), err_text
    assert "Traceback" not in err_text


def test_the_wheel_ships_the_page_templates_and_script():
    """Every file of formgrade_assets/ matches a package-data pattern of pyproject.toml."""
    import fnmatch
    import tomllib
    from pathlib import Path

    import npulab

    root = Path(npulab.__file__).resolve().parent
    pyproject = tomllib.loads((root.parent / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["npulab"]
    assets = [
        p.relative_to(root).as_posix()
        for p in (root / "grading" / "formgrade_assets").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    ]
    assert len(assets) >= 6
    for rel in assets:
        assert any(fnmatch.fnmatch(rel, pat) for pat in patterns), rel


@pytest.mark.parametrize("name", ["npulab.grading.richtext", "npulab.grading.formgrade"])
def test_docstring_examples(name):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
