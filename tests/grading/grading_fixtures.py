"""Fixtures for the autograder tests: a tiny lab and a class of adversarial submissions.

Every submission is the released stub of ``fixtures/tiny/tiny.ipynb`` with the student's
code written into the two solution cells (``add`` and ``mul``), plus the mischief its name
says.  ``CASES`` gives the points and status each must get.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import nbformat

from npulab.grading import release_notebook
from npulab.grading.execute import is_test_cell

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SOURCE = FIXTURES / "tiny" / "tiny.ipynb"
CELL_TIMEOUT = 8.0
NOTEBOOK_TIMEOUT = 20.0

ADD = "def add(a, b):\n    return a + b"
MUL = "def mul(a, b):\n    return a * b"

#: student -> (add cell, mul cell, expected total, expected status)
CASES = {
    "correct": (ADD, MUL, 5, "ok"),
    "stub": (None, None, 0, "ok"),
    "wrong": ("def add(a, b):\n    return a - b", MUL, 3, "ok"),
    "hidden_only_wrong": (ADD, "def mul(a, b):\n    return a * b if isinstance(b, int) else 0", 2, "ok"),
    "hang": (ADD, "while True:\n    pass", 2, "timeout"),
    "hang_ignores_interrupt": (ADD, "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                                    "while True:\n    pass",
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


# --------------------------------------------------------------------------- attacks
#: What every sandbox legitimately sees read-only (the venv and the npulab checkout); a CI clone
#: under /tmp shows them inside the private /tmp too, and they are nobody's submission.  Probes
#: that hunt for leaked files ignore them.
SHARED_PRELUDE = ("import sys, pathlib, npulab\n"
                  "SHARED = (sys.prefix + '/', str(pathlib.Path(npulab.__file__).resolve().parent.parent) + '/')\n")


#: A submission that earns points only if its attack succeeds ("reward on escape"): the
#: probe runs first; if it raised nothing, ``add`` is defined correctly (2 points).  With
#: a working sandbox every such submission gets 0.
def reward(probe: str) -> str:
    body = "\n".join("    " + line for line in probe.strip().splitlines())
    return ("import os, sys, glob, socket, signal, subprocess\n" + SHARED_PRELUDE + "escaped = False\ntry:\n" + body +
            "\n    escaped = True\nexcept BaseException:\n    pass\nif escaped:\n"
            "    def add(a, b):\n        return a + b\n")


STUB_MUL = None  # keep the released stub in the mul cell

#: probes that must all fail inside the sandbox; ``{port}`` is the grader-side TCP server.
ESCAPES = {
    "read_source": "hits = [p for d in ('/*', '/*/*', '/*/*/*', '/*/*/*/*', '/tmp/**')\n"
                   "        for p in glob.glob(d + '.ipynb')\n"
                   "        if not p.startswith(('/lab', '/proc') + SHARED)\n"
                   "        and 'BEGIN ' + 'HIDDEN' in open(p, errors='ignore').read()]\n"
                   "assert hits or 'BEGIN ' + 'HIDDEN' in open('{source}').read()",
    "proc_cmdline": "text = b''.join(open(f'/proc/{p}/cmdline', 'rb').read()\n"
                    "               for p in os.listdir('/proc') if p.isdigit())\n"
                    "text += open(f'/proc/{os.getppid()}/environ', 'rb').read()\n"
                    "assert b'tiny/tiny.ipynb' in text or b'solutions' in text or b'NPULAB_COURSE_SEED' in text",
    "read_key": "open(os.path.expanduser('~/.cache/npulab/grader.key'), 'rb').read()\n"
                "open('/root/.cache/npulab/grader.key', 'rb').read()",
    "read_home": "assert os.listdir('/root/.cache') or os.listdir('/home')",
    "network_local": "socket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'POST /leak')",
    "network_outbound": "socket.create_connection(('1.1.1.1', 53), timeout=2)",
    "write_system": "open('/usr/npulab-pwned', 'w').write('x')",
    "write_package": "import npulab\nopen(os.path.join(os.path.dirname(npulab.__file__), 'pwned.py'), 'w').write('x')",
    "classmates_tmp": "assert [p for p in glob.glob('/tmp/**/*.json', recursive=True)\n"
                      "        + glob.glob('/tmp/**/*.ipynb', recursive=True)\n"
                      "        if not p.startswith(SHARED)]",
    "classmates_dirs": "assert [p for p in glob.glob('/*/*/*.ipynb') + glob.glob('/*/*.ipynb')\n"
                       "        if not p.startswith('/lab')]",
    "grader_uid": "assert os.getuid() == 0 or os.geteuid() == 0",
    "setuid_back": "os.setuid(0)",
    "raise_limits": "import resource\nresource.setrlimit(resource.RLIMIT_NPROC, (10**6, 10**6))",
    # a kernel keyring entry outlives the sandbox (issue 23 #4): the seccomp filter refuses it
    "keyring": "import ctypes\nnr = {'x86_64': 248, 'aarch64': 217}[os.uname().machine]\n"
               "assert ctypes.CDLL(None).syscall(nr, b'user', b'npulab-class', b'x', 1, ctypes.c_int(-4)) > 0",
    # unbounded RAM folders (issue 23 #5): / and /dev are read-only, /dev/shm holds 64 MiB
    "write_root_ramfs": "open('/npulab-junk', 'w').write('x')",
    "fill_shm": "with open('/dev/shm/junk', 'wb') as fh:\n    for _ in range(100):\n        fh.write(b'x' * 2**20)",
    # the lab folder's translation catalogs and instructor notes (issue 23 #2): never copied
    "read_rubric": "assert [p for p in glob.glob('/lab/**', recursive=True) + glob.glob('/tmp/**', recursive=True)\n"
                   "        if os.path.isfile(p) and 'RUBRIC-' + 'SECRET' in open(p, errors='ignore').read()]",
    "signal_grader": "os.kill(os.getppid(), signal.SIGSTOP)\nos.kill(-1, signal.SIGSTOP)\nassert os.getppid() > 1",
}

PICKLE = ("import os, pickle\npayload = pickle.dumps({'total': 999})\n"
          "for fd in range(3, 64):\n    try:\n        os.write(fd, len(payload).to_bytes(8, 'big') + payload)\n"
          "    except OSError:\n        pass")

#: student -> (add cell, mul cell, allowed totals, allowed statuses)
ATTACKS = {
    **{f"escape_{name}": (reward(probe), STUB_MUL, {0}, {"ok"}) for name, probe in ESCAPES.items()},
    "input_transformer": ("get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])", STUB_MUL,
                          {0}, {"ok"}),
    "ast_strip_asserts": ("import ast\nclass NoAsserts(ast.NodeTransformer):\n    def visit_Assert(self, node):\n"
                          "        return ast.Pass()\nget_ipython().ast_transformers.append(NoAsserts())", STUB_MUL,
                          {0}, {"ok"}),
    "always_equal": ("import numpy as np\nclass Eq:\n    __eq__ = lambda self, other: True\n"
                     "    __ne__ = lambda self, other: False\n    __hash__ = lambda self: 0\n"
                     "np.array_equal = lambda *a, **k: True\nnp.testing.assert_allclose = lambda *a, **k: None\n"
                     "def add(a, b):\n    return Eq()", "class Eq:\n    __eq__ = lambda self, other: True\n"
                     "def mul(a, b):\n    return Eq()", {0}, {"ok"}),
    "int_subclass": ("class Int(int):\n    __eq__ = lambda self, other: True\ndef add(a, b):\n    return Int(0)",
                     STUB_MUL, {0}, {"ok"}),
    "returns_function": ("def add(a, b):\n    return lambda: a + b", "def mul(a, b):\n    return (x for x in [a * b])",
                         {0}, {"ok"}),
    "returns_object_array": ("import numpy as np\ndef add(a, b):\n    return np.array([a + b, 'x'], dtype=object)",
                             STUB_MUL, {0}, {"ok"}),
    "deep_nesting": ("def add(a, b):\n    x = a + b\n    for _ in range(500):\n        x = [x]\n    return x", STUB_MUL,
                     {0}, {"ok"}),
    "huge_result": ("import numpy as np\ndef add(a, b):\n    return np.zeros(20_000_000)", STUB_MUL, {0}, {"ok"}),
    "huge_error": ("def add(a, b):\n    raise ValueError('x' * 20_000_000)", STUB_MUL, {0}, {"ok"}),
    "leak_inputs": ("def add(a, b):\n    raise ValueError(f'LEAK{(a, b)}')",
                    "def mul(a, b):\n    raise ValueError(f'LEAK{(a, b)}')",
                    {0}, {"ok"}),
    # a result of another shape that a broadcasting comparison accepts (issue 23 #1):
    # np.array([3]) == 3 is array([True]), which an assert takes as true
    "shape_extra_axis": ("import numpy as np\ndef add(a, b):\n    return np.array([a + b])",
                         "import numpy as np\ndef mul(a, b):\n    return np.full((1, 1), a * b)", {0}, {"ok"}),
    "forged_pickle": (PICKLE, STUB_MUL, {0}, {"ok", "kernel_died"}),
    "close_pipes": (ADD, "import os\nfor fd in range(3, 30):\n    try:\n        os.close(fd)\n    except OSError:\n"
                    "        pass", {2}, {"kernel_died", "ok"}),
    "fork_bomb": (ADD, "import os\nfor _ in range(2000):\n    try:\n        os.fork()\n    except OSError:\n"
                  "        pass", {2}, {"ok", "timeout", "kernel_died", "memory"}),
    "daemons": (ADD, "import subprocess, os, sys\nsubprocess.Popen(['sleep', '120'])\n"
                "subprocess.Popen([sys.executable, '-c', 'import time\\nwhile True: time.sleep(0.5)'], "
                "start_new_session=True)\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
                "        import time\n        time.sleep(300)\n    os._exit(0)\n" + MUL,
                # unprivileged, the memory budget leaves one extra process: the Popens fail
                {5} if os.getuid() == 0 else {2, 5}, {"ok"}),
    "ignore_alarm": (ADD, "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
                     "signal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass", {2}, {"timeout"}),
    "slow_function": (ADD, "def mul(a, b):\n    while True:\n        pass", {2}, {"timeout", "ok"}),
    "ipython_exit": (ADD, "get_ipython().ask_exit()\nexit()\n" + MUL, {2, 5}, {"ok"}),
    "slow_but_correct": ("import time\ntime.sleep(0.5)\n" + ADD, MUL, {5}, {"ok"}),
    "overwrite_own_notebook": (ADD + "\nopen('tiny.ipynb', 'w').write('{}')", MUL, {5}, {"ok"}),
    # tries to fill the disk through its work folder: it is a size-limited RAM folder
    "fill_disk": (ADD, "import os\nwritten = 0\nblock = b'x' * 2**20\ntry:\n    for i in range(400):\n"
                  "        with open(f'junk{i}.bin', 'wb') as fh:\n            fh.write(block)\n"
                  "        written += 1\nexcept OSError:\n    pass\nif written >= 400:\n" + "\n".join(
                      "    " + line for line in MUL.splitlines()), {2}, {"ok"}),
    # many processes, each under the per-process memory cap, together far over it (as root the
    # sandbox's memory cgroup stops them; the run must finish and the class go on)
    "fork_and_allocate": (ADD, "import os, time\npids = []\nfor _ in range(8):\n    pid = os.fork()\n"
                          "    if pid == 0:\n        try:\n            b = bytearray(600 * 2**20)\n"
                          "            b[::4096] = b'x' * len(b[::4096])\n            time.sleep(2)\n"
                          "        finally:\n            os._exit(0)\n    pids.append(pid)\n"
                          "for pid in pids:\n    os.waitpid(pid, 0)", {2}, {"ok", "kernel_died", "memory", "timeout"}),
    # ignores the timer while a TEST calls it: the grader's own deadline ends the sandbox
    "stuck_in_call": (ADD, "def mul(a, b):\n    import signal, time\n"
                      "    signal.signal(signal.SIGALRM, signal.SIG_IGN)\n    while True:\n        time.sleep(1)",
                      {2}, {"timeout"}),
}


#: Honest submissions with hostile ids: 240 bytes, terminal escape sequences, bidi override.
ODD_IDS = ("l" * 240, "evil\x1b[2J\x1b[Hfake 5 of 5 ok\r", "rtl\u202etxt.exe")
#: The id of the submission whose file name is not UTF-8 (``bad\xff\xfeid.ipynb``).
BAD_UTF8_ID = "bad\\xff\\xfeid"


#: Records every input its functions get and replays them through every feedback channel it
#: has: exception texts, exception class names, a MemoryError-like class raised by a cell of
#: its own after the tests, and a cell that prints them (issue 23 #3).  Inputs are written
#: ``S<a>x<b>`` (``-`` as ``m``, ``.`` as ``p``); the hidden ones start with ``S10x``.
REPLAY_ADD = (
    "SEEN = []\n"
    "def _code(a, b):\n"
    "    return ('S%sx%s' % (a, b)).replace('-', 'm').replace('.', 'p')\n"
    "def add(a, b):\n"
    "    SEEN.append(_code(a, b))\n"
    "    raise ValueError('/'.join(SEEN))\n")
REPLAY_MUL = (
    "def mul(a, b):\n"
    "    SEEN.append(_code(a, b))\n"
    "    raise type('E_' + '_'.join(SEEN), (Exception,), {})('/'.join(SEEN))\n")
REPLAY_TAIL = ("print('/'.join(SEEN))\n"
               "raise type('Replay' + ''.join(SEEN) + 'MemoryError', (Exception,), {})('/'.join(SEEN))")


def replay_notebook():
    """The record-and-replay submission (:data:`REPLAY_ADD`)."""
    nb = student_notebook(REPLAY_ADD, REPLAY_MUL)
    nb.cells.append(nbformat.v4.new_code_cell(REPLAY_TAIL))
    return nb


def free_port() -> int:
    """A TCP port that a test server can listen on (on the grader's side)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_attacks(folder: Path, port: int) -> dict[str, tuple[set, set]]:
    """Write every :data:`ATTACKS` submission plus the odd files and layouts; return
    student -> (allowed totals, allowed statuses)."""
    expected = {}
    for student, (add, mul, totals, statuses) in ATTACKS.items():
        nb = student_notebook(add.replace("{port}", str(port)).replace("{source}", str(SOURCE)), mul)
        nbformat.write(nb, folder / f"{student}.ipynb")
        expected[student] = (totals, statuses)
    nbformat.write(replay_notebook(), folder / "replay_hidden_inputs.ipynb")
    expected["replay_hidden_inputs"] = ({0}, {"ok", "memory"})
    correct = student_notebook(ADD, MUL)
    # Odd names and layouts of honest submissions.
    nbformat.write(correct, folder / "UPPER.IPYNB")
    nbformat.write(correct, folder / ".dotty.ipynb")
    nbformat.write(correct, folder / "=1+2+cmd|' -C calc'!A0.ipynb")
    (folder / "nbg" / "lab").mkdir(parents=True)
    nbformat.write(correct, folder / "nbg" / "lab" / "tiny.ipynb")  # nbgrader <student>/<assignment>/
    (folder / "lms").mkdir()
    nbformat.write(correct, folder / "lms" / "tiny (1).ipynb")  # an LMS that renamed the file
    old = json.loads(nbformat.writes(student_notebook(ADD, MUL)))  # nbformat 4.4: no cell ids
    old["nbformat_minor"] = 4
    for cell in old["cells"]:
        cell.pop("id", None)
    (folder / "old_format.ipynb").write_text(json.dumps(old))
    (folder / "nothing").mkdir()
    (folder / "nothing" / "readme.txt").write_text("sorry\n")
    # Student ids of any length and bytes (issue 23 #6, #7): graded, stored under a bounded key.
    for name in ODD_IDS:
        nbformat.write(correct, folder / f"{name}.ipynb")
    bad_utf8 = os.path.join(os.fsencode(folder), b"bad\xff\xfeid.ipynb")
    with open(bad_utf8, "w", encoding="utf-8") as fh:
        fh.write(nbformat.writes(correct))
    for name in ("UPPER", ".dotty", "=1+2+cmd|' -C calc'!A0", "nbg", "lms", "old_format", *ODD_IDS, BAD_UTF8_ID):
        expected[name] = ({5}, {"ok"})
    expected["nothing"] = ({0}, {"missing"})
    # Entries that must be skipped, each with its reason.
    (folder / "evil_link.ipynb").symlink_to(SOURCE)
    (folder / "zero.ipynb").symlink_to("/dev/zero")
    (folder / "readme.md").write_text("not a notebook\n")
    nbformat.write(student_notebook(None, None), folder / "correct.ipynb")  # duplicate of the folder
    return expected
