"""Session fixture: the whole adversarial class graded once, 2 workers, through the sandbox."""
from __future__ import annotations

import ctypes
import os
import socket
import sys
import tempfile
import threading

import pytest
from grading_fixtures import (
    CELL_TIMEOUT,
    NOTEBOOK_TIMEOUT,
    SOURCE,
    free_port,
    write_attacks,
    write_class,
)

# Tests never touch the real ~/.cache/npulab/grader.key.
os.environ.setdefault("NPULAB_GRADER_KEY", os.path.join(tempfile.mkdtemp(prefix="npulab-test-key-"), "grader.key"))


def become_subreaper() -> None:
    """Orphans of our descendants are re-parented to this process (so tests can see them)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def live_children() -> list[int]:
    """Pids of this process's live children (zombies are reaped first)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
    pids = []
    for task in os.listdir(f"/proc/{os.getpid()}/task"):
        try:
            text = open(f"/proc/{os.getpid()}/task/{task}/children").read()
        except OSError:
            continue
        pids += [int(p) for p in text.split()]
    return sorted(set(pids))


class Listener:
    """A TCP server on the grader's side that records every connection it gets."""

    def __init__(self, port: int):
        self.hits = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stop:
            try:
                conn, addr = self.sock.accept()
            except OSError:
                continue
            self.hits.append(addr)
            conn.close()

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()


def require_sandbox() -> None:
    """Skip sandboxed tests where bubblewrap is missing (CI sets NPULAB_REQUIRE_SANDBOX=1: fail)."""
    from npulab.grading.sandbox import isolation_problem

    problem = isolation_problem()
    if problem and os.environ.get("NPULAB_REQUIRE_SANDBOX"):
        pytest.fail(problem)
    if problem:
        pytest.skip(problem)


@pytest.fixture
def sandbox_required():
    """Use in modules that grade through the sandbox: ``pytestmark = pytest.mark.usefixtures(...)``."""
    require_sandbox()


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory):
    """The whole class graded once with 2 workers: (submissions, out, expected, run)."""
    require_sandbox()
    root = tmp_path_factory.mktemp("class")
    expected = write_class(root / "submissions")
    return root / "submissions", root / "out", expected, _graded(root)[1]


_STATE = {}


def _graded(root):
    if "run" in _STATE:
        return _STATE["run"]
    from grading_fixtures import SOURCE as src

    from npulab.grading.autograde import sha256_of
    from npulab.grading.classroom import grade_class

    become_subreaper()
    before = set(live_children())
    port = free_port()
    listener = Listener(port)
    attacks = write_attacks(root / "submissions", port)
    source_sha = sha256_of(src)
    try:
        run = grade_class(SOURCE, root / "submissions", root / "out", cell_timeout=CELL_TIMEOUT,
                          notebook_timeout=NOTEBOOK_TIMEOUT, workers=2, progress=False,
                          key_file=root / "grader.key")
    finally:
        listener.close()
    _STATE["run"] = (attacks, run, listener.hits, before, sha256_of(src) == source_sha)
    return _STATE["run"]


@pytest.fixture(scope="session")
def attack_run(graded_class):
    """(expected attacks, run, connections the listener got, children before, source unchanged)."""
    return _STATE["run"]
