"""The grading page in a real browser: Debian's Chromium, headless, driven by Selenium.

Grade a class of the tiny lab (with two written questions added), start ``npulab formgrade``'s
app on a free port in a thread, open the page, grade two answers with the keyboard, reload:
the marks persist, a student's ``<script>`` never ran, and ``gradebook.csv`` (regenerated from
the database) shows the marks.

Needs the apt packages ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them).  Without
them the test is skipped, unless ``NPULAB_REQUIRE_BROWSER`` is set (CI sets it): then it fails.
"""

from __future__ import annotations

import csv
import os
import shutil
import threading

import nbformat
import pytest
from grading_fixtures import SOURCE, student_notebook

from npulab.grading import authoring as A

TOKEN = "browser-test-token-" + "0123456789abcdef"
XSS = (
    '<script>window.__pwned = 1</script> <img src=x onerror="window.__pwned = 2"> '
    "and **bold** with $a^2 + b^2$"
)
ANSWERS = {  # student -> (w1, w2)
    "ada": ("Rounding to *nearest even* keeps the mean error at $0$.", "Because the array is 4x4."),
    "bob": (XSS, "YOUR ANSWER HERE"),
    "cyd": ("It overflows at $2^{31}$.", "Tiles of 8."),
}


def _browser_paths():
    browser = next(
        (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
    )
    driver = shutil.which("chromedriver")
    if browser and driver:
        return browser, driver
    problem = "Chromium and chromedriver not found (apt-get install chromium chromium-driver)"
    if os.environ.get("NPULAB_REQUIRE_BROWSER"):
        pytest.fail(problem)
    pytest.skip(problem)


def _lab_with_written(folder):
    """The tiny lab plus two written questions (2 and 3 points); returns the source path."""
    nb = nbformat.read(SOURCE, as_version=4)
    extra = [
        A.markdown("**Question 1.** Why round half to even?", grade_id="w1_prompt"),
        A.written(
            "w1",
            2,
            "It has no bias: ties go up as often as down.",
            "1 point: no bias; 1 point: ties split evenly.",
        ),
        A.markdown("**Question 2.** Why does $K=1$ matter?", grade_id="w2_prompt"),
        A.written("w2", 3, "A degenerate shape.", "3 points: names the edge case."),
    ]
    nb.cells[-1:-1] = extra  # before the self-check cell
    folder.mkdir(parents=True)
    shutil.copyfile(SOURCE.parent / "data.txt", folder / "data.txt")
    nbformat.write(nb, folder / "tiny.ipynb")
    return folder / "tiny.ipynb"


def _submissions(source, folder):
    from npulab.grading import release_notebook

    folder.mkdir()
    for student, (w1, w2) in ANSWERS.items():
        nb = student_notebook("def add(a, b):\n    return a + b", None)
        released = release_notebook(nbformat.read(source, as_version=4))
        by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in released.cells}
        nb.cells[-1:-1] = [by_id[g] for g in ("w1_prompt", "w1", "w2_prompt", "w2")]
        for cell in nb.cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if gid in ("w1", "w2"):
                cell.source = w1 if gid == "w1" else w2
        nbformat.write(nb, folder / f"{student}.ipynb")


@pytest.fixture
def served(tmp_path):
    """(base URL with token, OUT) of a graded class whose page runs in a thread."""
    from npulab.grading.classroom import grade_class
    from npulab.grading.formgrade import create_app, make_server

    source = _lab_with_written(tmp_path / "source")
    _submissions(source, tmp_path / "subs")
    out = tmp_path / "out"
    grade_class(
        source,
        tmp_path / "subs",
        out,
        cell_timeout=8.0,
        notebook_timeout=30.0,
        workers=1,
        progress=False,
        sandbox=False,
        key_file=tmp_path / "grader.key",
    )
    server = make_server(create_app(out, token=TOKEN, grader="selenium"), 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", out
    finally:
        server.shutdown()
        thread.join(10)


@pytest.fixture
def browser():
    chromium, chromedriver = _browser_paths()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
        "--no-first-run",
        "--disable-extensions",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _card(driver, key):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, f'article.answer[data-key="{key}"]')


def _wait_state(driver, key, state, timeout=15):
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(
        lambda d: _card(d, key).get_attribute("data-state") == state, f"{key} never reached {state}"
    )


def _wait_current(driver, key, timeout=15):
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(
        lambda d: (
            "current" in (_card(d, key).get_attribute("class") or "").split()
            and d.switch_to.active_element.get_attribute("class") == "points"
        ),
        f"{key} never became the current answer",
    )


def test_grade_two_answers_in_chromium_and_they_persist(served, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    base, out = served
    browser.get(f"{base}/?token={TOKEN}")
    assert "0 of 3 graded" in browser.find_element(By.CSS_SELECTOR, "td.progress").text
    browser.find_element(By.LINK_TEXT, "w1").click()  # the cookie carries the token from here on
    assert browser.find_element(By.ID, "progress").text == "0 of 3 graded"
    # bob's <script> and onerror never ran; his Markdown and maths did render
    assert browser.execute_script("return window.__pwned === undefined")
    bob = _card(browser, "bob")
    assert "<script>window.__pwned = 1</script>" in bob.find_element(By.CSS_SELECTOR, ".text").text
    assert bob.find_elements(By.CSS_SELECTOR, ".text strong") and bob.find_elements(
        By.CSS_SELECTOR, ".text math"
    )
    # the rubric from the source notebook is beside the answers
    assert "ties split evenly" in browser.find_element(By.CSS_SELECTOR, "aside.rubric").text

    # ada: points, Tab to the comment, type, Enter saves and moves on to bob
    points = _card(browser, "ada").find_element(By.CSS_SELECTOR, "input.points")
    points.click()
    points.send_keys("1.5", Keys.TAB, "Right idea; say why ties matter.", Keys.ENTER)
    _wait_state(browser, "ada", "graded")
    _wait_current(browser, "bob")  # Enter moved on (after its save, which may follow an autosave)
    # bob (the focus is in his points field now): 0 and Enter
    browser.switch_to.active_element.send_keys("0", Keys.ENTER)
    _wait_state(browser, "bob", "graded")
    assert browser.find_element(By.ID, "progress").text == "2 of 3 graded"
    # j / k move between answers once out of a field
    _wait_current(browser, "cyd")
    browser.switch_to.active_element.send_keys(Keys.ESCAPE)
    browser.switch_to.active_element.send_keys("k")
    _wait_current(browser, "bob")
    # a mark above the question's maximum is refused with a message, and not saved
    cyd = _card(browser, "cyd").find_element(By.CSS_SELECTOR, "input.points")
    cyd.click()
    cyd.send_keys("7", Keys.ENTER)
    _wait_state(browser, "cyd", "error")
    assert "from 0 to 2" in _card(browser, "cyd").find_element(By.CSS_SELECTOR, ".status").text

    browser.refresh()
    assert (
        _card(browser, "ada").find_element(By.CSS_SELECTOR, "input.points").get_attribute("value")
        == "1.5"
    )
    assert (
        _card(browser, "ada").find_element(By.CSS_SELECTOR, "textarea").get_attribute("value")
        == "Right idea; say why ties matter."
    )
    assert (
        _card(browser, "bob").find_element(By.CSS_SELECTOR, "input.points").get_attribute("value")
        == "0"
    )
    assert _card(browser, "cyd").get_attribute("data-state") == "pending"
    assert browser.find_element(By.ID, "progress").text == "2 of 3 graded"

    from npulab.grading.gradebook_db import open_gradebook

    with open_gradebook(out, create=False) as book:
        marks = {(m.student, m.grade_id): m for m in book.marks()}
    assert marks[("ada", "w1")].points == 1.5 and marks[("ada", "w1")].grader == "selenium"
    assert marks[("bob", "w1")].points == 0.0
    _regenerate(out, out.parent / "grader.key")
    rows = {r["student"]: r for r in csv.DictReader((out / "gradebook.csv").open(encoding="utf-8"))}
    assert float(rows["ada"]["w1"]) == 1.5 and float(rows["bob"]["w1"]) == 0.0
    assert rows["cyd"]["w1"] == ""  # still to grade
    feedback = (out / "feedback" / "ada.html").read_text(encoding="utf-8")
    assert "Right idea; say why ties matter." in feedback and "1.5" in feedback


def _regenerate(out, key_file):
    """Branch gradebook's hook: gradebook.csv and the feedback pages from the database."""
    from npulab.grading.classroom import refresh_outputs

    refresh_outputs(out, key_file=key_file)
