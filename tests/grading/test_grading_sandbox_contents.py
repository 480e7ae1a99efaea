"""What a submission's sandbox holds (issue 23 #2): the student's notebook and the lab's
declared student data, nothing from ``solutions/``, its translation catalogs or rubrics.

The student side walks every file it can see (outside the system folders and the read-only
Python environment) and looks for the rubric text of every written question of every lab, in
English and in each translation.  None may be found.  What a sandbox holds outside its work
folder (``/lab``) is the same for every lab (the same mounts; only the work folder is the
lab's), so that part is walked once; each lab's own work folder is walked per lab."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import require_sandbox

from npulab.grading import wire
from npulab.grading.engine import start_driver
from npulab.grading.release import release_notebook
from npulab.grading.sandbox import lab_data_files, make_sandbox

ROOT = Path(__file__).resolve().parents[2]
LABS = sorted((ROOT / "solutions").glob("*.ipynb"))
_RUBRIC = re.compile(r"\*\*(Rubric|루브릭)[^*]*\*\*:?\s*(.{30,60})")


def rubric_strings() -> list[str]:
    """A distinctive piece of every rubric line in the solutions and their catalogs."""
    found = set()
    for path in [*LABS, *sorted((ROOT / "solutions" / "i18n").rglob("*.yaml"))]:
        for match in _RUBRIC.finditer(path.read_text(encoding="utf-8")):
            text = match.group(2).split("\\n")[0].strip()
            if len(text) >= 20:
                found.add(text[:40])
    return sorted(found)


PROBE = """
import os, sys
NEEDLES = [bytes.fromhex(h) for h in {needles!r}]
SKIP = ('/proc', '/sys', '/dev', '/usr', '/etc', '/bin', '/lib', '/sbin', {prefix!r})
SKIP += {skip!r}
hits, seen = [], 0
for root, dirs, files in os.walk({top!r}):
    dirs[:] = [d for d in dirs if not os.path.join(root, d).startswith(SKIP)]
    for name in files:
        path = os.path.join(root, name)
        try:
            if os.path.islink(path) or os.path.getsize(path) > 8 * 2**20:
                continue
            data = open(path, 'rb').read()
        except OSError:
            continue
        seen += 1
        hits += [(path, i) for i, n in enumerate(NEEDLES) if n in data]
"""


def test_there_are_rubrics_to_look_for():
    needles = rubric_strings()
    assert len(LABS) >= 9 and len(needles) >= 2 * len(LABS), needles


def _walk(source, tmp_path, *, top: str, skip: tuple):
    """Start the sandbox of ``source`` and walk ``top`` in it (minus ``skip``) for every
    rubric needle and the released introduction's first line: ``(needles, hits, seen)``."""
    require_sandbox()
    assert lab_data_files(source) == []  # no lab declares data today: the notebook alone goes in
    student_nb = release_notebook(nbformat.read(source, as_version=4), name=source.name)
    released = nbformat.writes(student_nb)
    box = make_sandbox(source, released, source.name, tmp_root=tmp_path)
    assert sorted(p.name for p in box.iterdir()) == [source.name]
    needles = rubric_strings()
    # the released introduction's first line: finding it proves the walk reads /lab
    control = next(c.source for c in student_nb.cells if c.cell_type == "markdown").splitlines()[0][
        :30
    ]
    probe = PROBE.format(needles=[n.encode().hex() for n in [*needles, control]], prefix=sys.prefix,
                         top=top, skip=skip)
    with start_driver(box, sandbox=True, memory_mb=2048, nproc=64) as session:
        reply = session.request({"op": "run", "code": probe, "timeout": 120}, 150)
        assert reply["status"] == "ok", reply
        found = session.request({"op": "lookup", "names": ["hits", "seen"]}, 30)["names"]
    return needles, wire.decode(found["hits"]["value"]), found["seen"]["value"]


def test_nothing_outside_the_work_folder_holds_a_rubric(tmp_path):
    """Everything a sandbox shows outside ``/lab`` (the package, the temporary folder, ...):
    the same for every lab, walked once."""
    needles, hits, seen = _walk(LABS[0], tmp_path, top="/", skip=("/lab",))
    assert [(path, needles[i]) for path, i in hits if i < len(needles)] == []
    assert seen > 50  # it walked the package


@pytest.mark.parametrize("source", LABS, ids=[p.stem for p in LABS])
def test_no_rubric_of_any_lab_is_reachable_from_student_code(source, tmp_path):
    """Each lab's work folder holds its released notebook and no rubric of any lab."""
    needles, hits, seen = _walk(source, tmp_path, top="/lab", skip=())
    leaks = [(path, needles[i]) for path, i in hits if i < len(needles)]
    assert leaks == [], leaks
    assert (f"/lab/{source.name}", len(needles)) in hits, hits
    assert seen >= 1
