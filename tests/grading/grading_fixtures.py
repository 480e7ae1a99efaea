"""Fixtures for the autograder tests: a tiny lab and a class of adversarial submissions.

Every submission is the released stub of ``fixtures/tiny/tiny.ipynb`` with the student's
code written into the two solution cells (``add`` and ``mul``), plus the mischief its name
says.  ``CASES`` gives the points and status each must get.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

from npulab.grading import release_notebook
from npulab.grading.execute import is_test_cell

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SOURCE = FIXTURES / "tiny" / "tiny.ipynb"
CELL_TIMEOUT = 5.0
NOTEBOOK_TIMEOUT = 12.0

ADD = "def add(a, b):\n    return a + b"
MUL = "def mul(a, b):\n    return a * b"

#: student -> (add cell, mul cell, expected total, expected status)
CASES = {
    "correct": (ADD, MUL, 5, "ok"),
    "stub": (None, None, 0, "ok"),
    "wrong": ("def add(a, b):\n    return a - b", MUL, 3, "ok"),
    "hidden_only_wrong": (ADD, "def mul(a, b):\n    return a * b if isinstance(b, int) else 0", 2, "ok"),
    "hang": (ADD, "while True:\n    pass", 2, "timeout"),
    "hang_ignores_interrupt": (ADD, "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass",
                               2, "timeout"),
    "sys_exit": (ADD, "import sys\nsys.exit(3)", 2, "ok"),
    "os_exit": (ADD, "import os\nos._exit(1)", 2, "kernel_died"),
    "memory_hog": (ADD, "blob = bytearray(64 * 2**30)\n" + MUL, 2, "memory"),
    "chatty": (ADD + "\nfor _ in range(130):\n    print('x' * 20000)", MUL, 5, "output_limit"),
    # Looks around the sandbox and the kernel's history for solutions and hidden tests.
    "snoop": ("import os\nassert sorted(os.listdir('.')) == ['data.txt', 'notes.txt', 'tiny.ipynb'], os.listdir('.')\n"
              "assert 'BEGIN ' + 'HIDDEN' not in open('tiny.ipynb').read()\n" + ADD,
              "assert not any('BEGIN ' + 'HIDDEN' in str(s) for s in In), 'hidden tests leaked into In'\n" + MUL,
              5, "ok"),
}


def student_notebook(add: str | None, mul: str | None):
    """The released stub with the student's code in the ``add`` and ``mul`` cells."""
    nb = release_notebook(nbformat.read(SOURCE, as_version=4))
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid == "add" and add is not None:
            cell.source = add
        if gid == "mul" and mul is not None:
            cell.source = mul
    return nb


def tampered_notebooks():
    """Submissions that attack the test cells; student -> (notebook, total)."""
    out = {}
    # Edits the mul test to `pass`, gives it 100 points, and adds its own 50-point "test".
    nb = student_notebook(ADD, "def mul(a, b):\n    return 0")
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_mul":
            cell.source = "pass"
            cell.metadata["nbgrader"]["points"] = 100
    fake = nbformat.v4.new_code_cell("pass")
    fake.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "points": 50,
                                 "grade_id": "my_bonus", "schema_version": 3, "task": False}
    nb.cells.append(fake)
    out["tamper_tests"] = (nb, 2)
    # Deletes every test cell and the locked set-up cell, and moves mul above add.
    nb = student_notebook(ADD, MUL)
    keep = [c for c in nb.cells if not is_test_cell(c)
            and c.metadata.get("nbgrader", {}).get("grade_id") != "setup"]
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in keep]
    i, j = ids.index("add"), ids.index("mul")
    keep[i], keep[j] = keep[j], keep[i]
    nb.cells = keep
    out["delete_tests"] = (nb, 5)
    # Strips the nbgrader metadata from every cell (a common copy-paste accident).
    nb = student_notebook(ADD, MUL)
    for cell in nb.cells:
        cell.metadata.pop("nbgrader", None)
    out["lost_metadata"] = (nb, 5)
    return out


def write_class(folder: Path) -> dict[str, tuple[float, str]]:
    """Write every case into ``folder`` (mixing both layouts); return the expected grades."""
    folder.mkdir(parents=True, exist_ok=True)
    expected = {}
    for index, (student, (add, mul, total, status)) in enumerate(CASES.items()):
        nb = student_notebook(add, mul)
        if index % 2:  # SUBMISSIONS/<student>.ipynb
            nbformat.write(nb, folder / f"{student}.ipynb")
        else:  # SUBMISSIONS/<student>/tiny.ipynb, with a file of the student's own
            (folder / student).mkdir()
            nbformat.write(nb, folder / student / "tiny.ipynb")
            (folder / student / "notes.txt").write_text("my notes\n")
            if student == "snoop":  # a forged copy of the lab's data file must not win
                (folder / student / "data.txt").write_text("999\n")
        expected[student] = (total, status)
    for student, (nb, total) in tampered_notebooks().items():
        nbformat.write(nb, folder / f"{student}.ipynb")
        expected[student] = (total, "ok")
    shutil.copyfile(FIXTURES / "invalid.ipynb", folder / "broken.ipynb")
    expected["broken"] = (0, "invalid_notebook")
    return expected
