"""The one execution engine of the autograder and the self-check.

A notebook runs in two processes:

* the **student side** -- a driver process (:mod:`npulab.grading.driver`, IPython's
  ``InteractiveShell``) that runs every non-test code cell (the student's cells and the
  instructor's restored locked cells), in an OS sandbox when grading
  (:mod:`npulab.grading.sandbox`);
* the **trusted side** -- this process, which runs every graded test cell (visible and
  hidden) in a fresh namespace of its own.  A name the test takes from the notebook
  (``add``, ``BASE``) is looked up in the driver: a function becomes a :class:`Proxy`
  whose calls send plain-data arguments over the pipe and get a plain-data result back
  (:mod:`npulab.grading.wire`); a plain-data value is copied; anything else is a
  :class:`NotPlainValue` that fails the test with a clear message when the test uses it.

A test passes only when its code ran to completion here.  Input or AST transformers,
patched numpy or always-equal objects on the student side change nothing, and test
source never reaches the student side.

:func:`run_notebook_cells` runs a notebook cell by cell with per-cell and per-notebook time
limits and an output budget, and records each cell's fate (``ok``, ``error``,
``timeout``, ``skipped``, ``died``) and each test's :class:`~npulab.grading.execute.TestOutcome`.
"""
from __future__ import annotations

import ast
import builtins
import contextlib
import os
import signal
import subprocess
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from npulab.grading import wire
from npulab.grading.markers import BEGIN_HIDDEN, END_HIDDEN
from npulab.grading.outcome import TestOutcome, is_test_cell
from npulab.grading.release import nbgrader_meta

if TYPE_CHECKING:
    from npulab.grading.isolation import Launch

#: Environment of every driver: one thread per library, no GUI, ``npulab.check()`` skips.
DRIVER_ENV = {"NPULAB_SELF_CHECK": "1", "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1",
              "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1",
              "PYTHONHASHSEED": "0"}
#: Longest message kept for one failing test.  Units: characters.
MAX_MESSAGE = 2000
#: Extra seconds the driver gets past a limit before it is ended from outside.
GRACE = 5.0


class DriverDied(RuntimeError):
    """The student side stopped answering (it died, hung past its limit, or broke the protocol)."""


class TestTimeout(BaseException):
    """A trusted test ran past its time limit."""

    __test__ = False


class StudentError(RuntimeError):
    """An exception raised by the student's code that is not a built-in exception type."""


class NotPlainError(TypeError):
    """A value from the notebook that may not cross into the tests (not plain data)."""


class ForbiddenCall(RuntimeError):
    """The student's code used what its exercise forbids (:mod:`npulab.grading.forbid`)."""


class ReplyTooLarge(RuntimeError):
    """The driver's reply was larger than the caller accepts; it was dropped unread.

    ``length`` is its size and ``limit`` the caller's limit (bytes).
    """

    def __init__(self, length: int, limit: int):
        super().__init__(f"a reply of {length} bytes is over the {limit} byte limit")
        self.length, self.limit = length, limit


@dataclass
class Session:
    """A running driver: start with :func:`start_driver`, end with :meth:`close`."""

    proc: subprocess.Popen
    fd_in: int
    fd_out: int
    dead: bool = False
    hung: bool = False
    sandboxed: bool = True
    group_killed: bool = False
    launch: Launch | None = None  # released on close
    output_bytes: int = 0
    log: list = field(default_factory=list)

    def request(self, message: dict, limit: float, max_frame: int = wire.MAX_FRAME) -> dict:
        """Send one request; wait up to ``limit`` seconds for its reply.

        A reply larger than ``max_frame`` bytes (but within ``wire.MAX_FRAME``) is
        dropped unread and raises :class:`ReplyTooLarge`; the driver goes on.
        """
        if self.dead:
            raise DriverDied("the notebook's process is no longer running")
        deadline = time.monotonic() + limit
        try:
            wire.send(self.fd_in, message, deadline)
            try:
                return wire.recv(self.fd_out, deadline=deadline, max_frame=max_frame)
            except wire.FrameTooLarge as err:
                if err.length > wire.MAX_FRAME:
                    raise
                wire.skip(self.fd_out, err.length, deadline)  # the pipe stays in step
                refused = ReplyTooLarge(err.length, err.limit)
        except (OSError, wire.WireError, wire.NotPlainData) as err:
            self.dead, self.hung = True, str(err) == "timed out"
            self.kill()
            raise DriverDied("it did not answer in time" if self.hung else str(err)) from None
        except BaseException:  # interrupted mid-request: the protocol is out of step
            self.dead = True
            self.kill()
            raise
        raise refused

    def kill(self) -> None:
        """End the driver: in a sandbox, everything in it (its PID namespace goes); without
        one, the driver's process group (what the notebook started, unless it left the group)."""
        if not self.sandboxed and not self.group_killed:  # a live group keeps its id: safe once
            self.group_killed = True
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        if self.proc.returncode is not None:
            return  # already reaped (its pid may belong to someone else now)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            self.proc.kill()
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=10)

    def close(self) -> None:
        """Ask the driver to exit, then make sure it is gone; close the pipes."""
        if not self.dead:
            with contextlib.suppress(OSError, wire.NotPlainData, wire.WireError):
                wire.send(self.fd_in, {"op": "exit"}, time.monotonic() + 1)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=2)
        self.dead = True
        self.kill()
        for fd in (self.fd_in, self.fd_out):
            with contextlib.suppress(OSError):
                os.close(fd)
        if self.launch is not None:
            self.launch.release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


#: Most bytes of the driver's start-up error output quoted when it does not start.
MAX_STDERR = 1500


def start_driver(cwd: Path, *, sandbox, memory_mb: float = 0.0, cpu_s: float = 0.0,
                 nproc: int = 0, env: dict | None = None, start_timeout: float = 60.0) -> Session:
    """Start a driver in ``cwd`` (the work folder) and wait for it to be ready.

    ``sandbox`` is a :class:`npulab.grading.isolation.Sandbox` (or what
    :func:`~npulab.grading.backends.get_sandbox` accepts: True for the default backend,
    False for none).  In a sandbox ``cwd`` is the student side's only writable folder;
    without one the driver is an ordinary child process (the learner's self-check, or
    ``npulab grade --no-sandbox``).  The driver imports the very ``npulab`` this process
    imported (checked: its ready message says which).  When it does not start, the
    ``RuntimeError`` quotes the end of its error output (bounded).
    """
    from npulab.grading.backends import get_sandbox
    from npulab.grading.isolation import Limits, driver_argv, package_root

    backend = get_sandbox(sandbox)
    limits = Limits(float(memory_mb), float(cpu_s), int(nproc))
    launch = backend.launch(Path(cwd), driver_argv(), {**DRIVER_ENV, **(env or {})}, limits)
    errors = tempfile.TemporaryFile()
    to_child_r, to_child_w = os.pipe()
    from_child_r, from_child_w = os.pipe()
    try:
        proc = subprocess.Popen(launch.argv, stdin=to_child_r, stdout=from_child_w, stderr=errors,
                                cwd=launch.cwd, env=launch.env, close_fds=True, pass_fds=launch.pass_fds,
                                start_new_session=launch.new_session, preexec_fn=launch.preexec)
    except OSError as err:
        for fd in (to_child_w, from_child_r):
            os.close(fd)
        launch.release()
        errors.close()
        raise RuntimeError(f"the notebook's process did not start ({err.__class__.__name__}: {err})") from None
    finally:
        for fd in (to_child_r, from_child_w, *launch.pass_fds):
            os.close(fd)
    os.set_blocking(to_child_w, False)  # a driver that stops reading cannot block the grader
    session = Session(proc, to_child_w, from_child_r, sandboxed=launch.isolated, launch=launch)
    with errors:
        try:
            hello = wire.recv(from_child_r, deadline=time.monotonic() + start_timeout)
        except wire.WireError as err:
            session.dead = True
            session.close()
            raise RuntimeError(f"the notebook's process did not start ({err}){_tail(errors)}") from None
        if hello.get("status") != "ready":
            session.close()
            raise RuntimeError(f"the notebook's process did not start{_tail(errors)}")
    expected = str(package_root() / "npulab")
    if hello.get("npulab") != expected:
        session.close()
        raise RuntimeError(f"the notebook's process imported npulab from {str(hello.get('npulab'))[:300]!r}, "
                           f"not from {expected!r} as the grader does")
    return session


def _tail(errors) -> str:
    """': <the last MAX_STDERR bytes of ``errors``, one line, printable>' or ''."""
    try:
        size = errors.seek(0, os.SEEK_END)
        errors.seek(max(0, size - MAX_STDERR))
        text = errors.read(MAX_STDERR).decode("utf-8", "replace")
    except (OSError, ValueError):
        return ""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    text = " | ".join(line for line in lines if line)
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return f": {text}" if text else ""


# --------------------------------------------------------------------------- trusted side

_EXCEPTIONS = {name: obj for name, obj in vars(builtins).items()
               if isinstance(obj, type) and issubclass(obj, Exception)}


def _raise_student_error(reply: dict, name: str):
    ename = str(reply.get("ename", "Error"))[:100]
    evalue = str(reply.get("evalue", ""))[:MAX_MESSAGE]
    exc_type = _EXCEPTIONS.get(ename)
    err: Any  # a built-in exception type chosen by name, marked as the student's below
    if exc_type is not None:
        try:
            err = exc_type(evalue) if evalue else exc_type()
        except Exception:
            err = StudentError(f"{ename}: {evalue}")
    else:
        err = StudentError(f"{ename}: {evalue}" if evalue else ename)
    err.npulab_student = True
    raise err


class Proxy:
    """Stands for a function of the notebook: calls cross the boundary as plain data."""

    def __init__(self, session: Session, name: str, deadline_of, reference=None, forbid=None):
        self._session, self._name, self._deadline_of = session, name, deadline_of
        self._reference = reference  # npulab.grading.reference.Reference, or None
        self._forbid = forbid  # (rule as plain data, callback(Violation)) of the test's exercise, or None
        self.last_call = None  # (time, args, kwargs) of the latest call: instructor-only detail

    def __call__(self, *args, **kwargs):
        self.last_call = (time.monotonic(), args, kwargs)
        try:
            message = {"op": "call", "name": self._name, "args": wire.encode(list(args)),
                       "kwargs": wire.encode(dict(kwargs))}
        except wire.NotPlainData as err:
            raise NotPlainError(f"the test passed {err} to {self._name}(); only plain data may cross") from None
        # The reference result first: its size bounds the reply this side will read.
        expected = None if self._reference is None else self._reference.expected(self._name, args, kwargs)
        max_frame = wire.MAX_FRAME if expected is None else expected.max_frame
        left = max(0.1, self._deadline_of() - time.monotonic())
        message["timeout"] = left
        if self._forbid is not None:
            message["forbid"] = self._forbid[0]
        try:
            reply = self._session.request(message, left + GRACE, max_frame=max_frame)
        except DriverDied:
            raise DriverDied(f"the notebook's process stopped during {self._name}()") from None
        except ReplyTooLarge as err:  # a ResultShapeError that says how large, in one line
            raise (expected.too_large(self._name, err.length) if expected else NotPlainError(str(err))) from None
        if self._forbid is not None and reply.get("forbidden") is not None:
            from npulab.grading.forbid import Violation

            violation = Violation.from_wire(reply.get("forbidden")) or Violation("guard", "?")
            self._forbid[1](violation)
            raise ForbiddenCall(f"{self._name}() used {violation.name}, which this exercise forbids")
        status = reply.get("status")
        if status == "ok":
            try:
                value = wire.decode(reply.get("value"))
            except (wire.WireError, TypeError, ValueError, RecursionError) as err:
                raise NotPlainError(f"{self._name}() returned data that could not be read ({err})") from None
            if expected is not None:  # shape, size and kind before any comparison
                self._reference.check(self._name, value, args, kwargs, expected)
            return value
        if status == "error":
            _raise_student_error(reply, self._name)
        if status == "timeout":
            raise TestTimeout(f"{self._name}() ran past the time limit")
        if status == "not_plain":
            raise NotPlainError(f"{self._name}() returned {str(reply.get('type', 'an object'))[:200]}; "
                                "tests accept plain data only (numbers, str, bool, None, lists, tuples, "
                                "dicts of these, numeric numpy arrays)")
        raise NotPlainError(f"{self._name}(): unexpected reply from the notebook")

    def __repr__(self) -> str:
        return f"<notebook function {self._name}>"


class NotPlainValue:
    """A notebook name whose value may not cross; any use fails the test, saying why."""

    def __init__(self, name: str, what: str):
        object.__setattr__(self, "_text", f"'{name}' in your notebook is {what[:200]}; tests accept plain "
                                          "data only (numbers, str, bool, None, lists, tuples, dicts of "
                                          "these, numeric numpy arrays)")

    def _fail(self, *args, **kwargs):
        raise NotPlainError(object.__getattribute__(self, "_text"))

    __call__ = __getattr__ = __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _fail
    __bool__ = __len__ = __iter__ = __getitem__ = __contains__ = __float__ = __int__ = __index__ = _fail
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __array__ = _fail
    __hash__ = _fail  # unhashable, saying why


def free_names(source: str, allow=()) -> list[str]:
    """Names ``source`` reads but never binds itself, builtins excluded unless in ``allow``
    (names the instructor's notebook defines itself, e.g. an exercise called ``round``).

    A notebook that redefines ``len`` or ``isinstance`` cannot change what a test's ``len``
    means: builtins come from the trusted side.

    >>> free_names("import numpy as np\\nx = add(1, 2)\\nassert x == np.int64(BASE) and len([x]) == 1")
    ['BASE', 'add']
    """
    tree = ast.parse(source)
    loaded: set[str] = set()
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                bound.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    allow = set(allow)
    return sorted(n for n in loaded - bound if n in allow or not hasattr(builtins, n))


def notebook_imports(nb, tests) -> dict:
    """name -> (module, attribute or None) for the top-level absolute imports in ``nb``'s
    code cells other than ``tests``: ``import numpy as np`` gives ``{"np": ("numpy", None)}``.

    A test that uses such a name (an older lab's ``np`` from the set-up cell) gets the
    module the INSTRUCTOR's notebook imports, imported here; the student's value is never
    used and the student cannot choose what the trusted side imports.
    """
    found: dict[str, tuple[str, str | None]] = {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or index in tests:
            continue
        try:
            body = ast.parse(cell.source).body
        except SyntaxError:
            continue
        for stmt in body:
            if isinstance(stmt, ast.Import):
                for alias in stmt.names:
                    if alias.asname:
                        found[alias.asname] = (alias.name, None)
                    else:
                        top = alias.name.split(".")[0]
                        found[top] = (top, None)
            elif isinstance(stmt, ast.ImportFrom) and stmt.level == 0 and stmt.module:
                for alias in stmt.names:
                    if alias.name != "*":
                        found[alias.asname or alias.name] = (stmt.module, alias.name)
    return found


def _resolve_import(module: str, attr):
    import importlib

    value = importlib.import_module(module)
    if attr is None:
        return value
    if hasattr(value, attr):
        return getattr(value, attr)
    return importlib.import_module(f"{module}.{attr}")


def defined_names(nb, tests) -> set[str]:
    """Top-level names bound by ``nb``'s code cells other than ``tests`` (cell indices)."""
    names = set()
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or index in tests:
            continue
        try:
            body = ast.parse(cell.source).body
        except SyntaxError:
            continue
        for stmt in body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(stmt.name)
            for node in ast.walk(stmt) if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)) else ():
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    names.add(node.id)
    return names


def hidden_lines(source: str) -> set[int]:
    """1-based line numbers inside ``### BEGIN HIDDEN TESTS`` regions (markers included)."""
    lines, inside = set(), False
    for number, line in enumerate(source.splitlines(), 1):
        text = line.strip()
        if text == BEGIN_HIDDEN:
            inside = True
        if inside:
            lines.add(number)
        if text == END_HIDDEN:
            inside = False
    return lines


def hidden_test_number(source: str, line: int) -> int:
    """Which hidden test (1-based top-level statement of the hidden regions) holds ``line``."""
    hidden = hidden_lines(source)
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return 1
    number = 0
    for stmt in body:
        if stmt.lineno in hidden:
            number += 1
            if stmt.lineno <= line <= (stmt.end_lineno or stmt.lineno):
                return number
    return max(number, 1)


def _hint(cell, number: int) -> str:
    hints = cell.get("metadata", {}).get("npulab", {}).get("hidden_hints")
    if isinstance(hints, dict):
        return str(hints.get(str(number), ""))[:500]
    if isinstance(hints, list) and 0 < number <= len(hints):
        return str(hints[number - 1])[:500]
    return ""


class _Discard:
    """A write-only text sink: what a test prints is not part of its outcome."""

    def write(self, text) -> int:
        return len(text)

    def flush(self) -> None:
        pass


@contextlib.contextmanager
def quiet():
    """Tests' prints (and warnings) go nowhere: never into ``npulab check --json`` output."""
    import warnings

    with contextlib.redirect_stdout(_Discard()), contextlib.redirect_stderr(_Discard()), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@contextlib.contextmanager
def time_limit(seconds: float):
    """Raise :class:`TestTimeout` in this (main) thread after ``seconds``; elsewhere no-op."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def on_alarm(signum, frame):
        raise TestTimeout("the test ran past its time limit")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, max(0.01, seconds))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def run_test(cell, session: Session, *, timeout: float, env: dict | None = None) -> TestOutcome:
    """Run one graded test cell here (trusted side) against the notebook in ``session``."""
    return _run_test(cell, session, timeout=timeout, env=env)[0]


def failure_message(cell, err: BaseException) -> str:
    """What the student reads about test ``cell`` failing with ``err`` (the self-check's
    words too): never test source, never hidden data."""
    return _failure_message(cell, err)


def _bound_at_top(source: str) -> set[str]:
    """Names a test cell binds (what later test cells may use, as in a notebook)."""
    bound = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
    return bound


def _run_test(cell, session: Session, *, timeout: float, env: dict | None = None, allow=(), imports=None,
              shared: dict | None = None, reference=None, forbid=None):
    """``(TestOutcome, kind)``: run one test cell; ``kind`` is ``"timeout"``, ``"died"`` or None."""
    meta = nbgrader_meta(cell)
    gid, points = str(meta.get("grade_id", "")), float(meta.get("points", 0) or 0)
    source = cell.source
    deadline = time.monotonic() + timeout

    def fail(message: str, kind=None):
        return TestOutcome(gid, points, False, message[:MAX_MESSAGE]), kind

    try:
        code = compile(source, f"<npulab test {gid}>", "exec")
        names = free_names(source, allow)
    except SyntaxError as err:
        return fail(f"SyntaxError in the test cell (line {err.lineno})")
    shared = {} if shared is None else shared
    ns = {"__name__": "__main__", "__builtins__": builtins}
    names = _bind_trusted(ns, names, shared, imports or {})
    if names:
        try:
            reply = session.request({"op": "lookup", "names": names}, timeout + GRACE)
        except DriverDied:
            return fail("not run: the notebook's process died before this test",
                        "timeout" if session.hung else "died")
        _bind_notebook(ns, names, reply, session, deadline, reference, forbid)
    try:
        with _test_env(env):
            _exec_test(code, ns, source, shared, deadline)
        return TestOutcome(gid, points, True, ""), None
    except BaseException as err:  # noqa: BLE001 - every failure is a failed test
        if isinstance(err, KeyboardInterrupt):
            raise
        kind = "timeout" if isinstance(err, TestTimeout) or session.hung else "died" if session.dead else None
        outcome, kind = fail(_failure_message(cell, err), kind)
        return _with_hidden_detail(outcome, cell, err, ns), kind


def _bind_trusted(ns: dict, names: list, shared: dict, imports: dict) -> list:
    """Put in ``ns`` what an earlier test cell defined (``shared``) and what the instructor's
    notebook imports (``imports``); return the names left for the notebook to supply."""
    left = []
    for name in names:
        if name in shared:  # defined by an earlier test cell (trusted)
            ns[name] = shared[name]
            continue
        if name in imports:
            try:
                ns[name] = _resolve_import(*imports[name])
                continue
            except Exception:  # not importable here: leave it to the notebook lookup
                pass
        left.append(name)
    return left


def _bind_notebook(ns: dict, names: list, reply: dict, session: Session, deadline: float,
                   reference=None, forbid=None) -> None:
    """Bind the notebook's answer to a lookup: a :class:`Proxy` for a function, decoded plain
    data for a value, a :class:`NotPlainValue` for anything else (missing names stay unbound)."""
    answer = reply.get("names")
    found: dict = answer if isinstance(answer, dict) else {}
    for name in names:
        info = found.get(name)
        if not isinstance(info, dict):
            continue
        kind = info.get("kind")
        if kind == "callable":
            ns[name] = Proxy(session, name, lambda: deadline, reference, forbid)
        elif kind == "value":
            try:
                ns[name] = wire.decode(info.get("value"))
            except (wire.WireError, TypeError, ValueError, RecursionError):
                ns[name] = NotPlainValue(name, "data that could not be read")
        elif kind == "other":
            ns[name] = NotPlainValue(name, str(info.get("type", "an object")))


@contextlib.contextmanager
def _test_env(env: dict | None):
    """``os.environ`` plus ``env`` while a test runs (restored after)."""
    saved = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _exec_test(code, ns: dict, source: str, shared: dict, deadline: float) -> None:
    """Run a compiled test in ``ns`` by ``deadline``; keep what it defined in ``shared``."""
    try:
        with time_limit(max(0.01, deadline - time.monotonic()) + 2 * GRACE), quiet():
            exec(code, ns)  # noqa: S102 - the instructor's test, in the trusted process
    finally:  # what this test defined stays for later tests (helpers), never student data
        for name in _bound_at_top(source):
            if name in ns and not isinstance(ns[name], (Proxy, NotPlainValue)):
                shared[name] = ns[name]


def _failure_message(cell, err: BaseException) -> str:
    """What the student reads about a failed test: never test source, never hidden data."""
    source = cell.source
    filename = f"<npulab test {nbgrader_meta(cell).get('grade_id', '')}>"
    lines = [lineno for frame, lineno in traceback.walk_tb(err.__traceback__)
             if frame.f_code.co_filename == filename]
    hidden = hidden_lines(source)
    in_hidden = [n for n in lines if n in hidden]
    line = in_hidden[0] if in_hidden else (lines[-1] if lines else None)
    if isinstance(err, TestTimeout):
        text = f"CellTimeoutError: {err}"
    elif isinstance(err, DriverDied):
        text = f"not run: {err}"
    else:
        try:
            value = str(err)
        except Exception:
            value = ""
        text = f"{type(err).__name__}: {value}" if value else type(err).__name__
    if line is not None and line in hidden:
        number = hidden_test_number(source, line)
        hint = _hint(cell, number)
        if getattr(err, "npulab_student", False):
            why = f" (your code raised {type(err).__name__})"
        elif isinstance(err, TestTimeout):
            why = " (it ran past its time limit)"
        elif isinstance(err, NotPlainError):
            why = " (your code gave something other than plain data)"
        elif type(err).__name__ == "ResultShapeError":
            why = " (your result does not have the expected shape or type)"
        elif isinstance(err, DriverDied):
            why = " (your notebook's process stopped)"
        else:
            why = ""
        return f"hidden test {number} failed{why}" + (f": {hint}" if hint else "")
    return text[:MAX_MESSAGE]


#: Longest input list or failure text kept in a hidden failure's detail.  Units: characters.
MAX_DETAIL = 2000


def _with_hidden_detail(outcome: TestOutcome, cell, err: BaseException, ns: dict) -> TestOutcome:
    """``outcome`` with the instructor-only ``detail`` of a failed HIDDEN test: which one,
    the real error and failing line, and the latest call the test made to the notebook
    (the inputs).  Stored in the gradebook database; never shown to students."""
    import dataclasses

    source = cell.source
    filename = f"<npulab test {nbgrader_meta(cell).get('grade_id', '')}>"
    lines = [n for frame, n in traceback.walk_tb(err.__traceback__) if frame.f_code.co_filename == filename]
    hidden = [n for n in lines if n in hidden_lines(source)]
    if not hidden:
        return outcome
    try:
        text = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
    except Exception:  # noqa: BLE001 - a broken __str__ still leaves the class name
        text = type(err).__name__
    at = source.splitlines()[hidden[0] - 1].strip() if hidden[0] <= len(source.splitlines()) else ""
    calls = [(v.last_call, k) for k, v in ns.items() if isinstance(v, Proxy) and v.last_call]
    inputs = ""
    if calls:
        (_, args, kwargs), name = max(calls, key=lambda c: c[0][0])
        shown_args = [_short_repr(a) for a in args] + [f"{k}={_short_repr(v)}" for k, v in kwargs.items()]
        inputs = f"{name}({', '.join(shown_args)})"[:MAX_DETAIL]
    detail = {"test": f"hidden test {hidden_test_number(source, hidden[0])}",
              "message": f"{text} (at: {at})"[:MAX_DETAIL], "inputs": inputs}
    return dataclasses.replace(outcome, detail=detail)


def _short_repr(value) -> str:
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - the instructor's own test data; never fail over a repr
        text = f"<{type(value).__name__}>"
    return text if len(text) <= 300 else text[:297] + "..."


# --------------------------------------------------------------------------- notebook run

@dataclass
class NotebookRun:
    """What :func:`run_notebook_cells` found."""

    fate: dict = field(default_factory=dict)
    outcomes: dict = field(default_factory=dict)  # cell index -> TestOutcome
    problems: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    errors: dict = field(default_factory=dict)  # cell index -> "Ename: value" of non-test cells
    forbidden: set = field(default_factory=set)  # test cell indices zeroed by a forbid rule
    plan: Any = field(default=None, repr=False)  # the ForbidPlan of the run (what the answers used)


def cell_name(cell, index: int) -> str:
    """How feedback names a cell: its grade_id, else its position and first line."""
    gid = nbgrader_meta(cell).get("grade_id")
    if gid:
        return f"cell '{gid}'"
    first = (cell.source.strip().splitlines() or [""])[0][:40]
    return f"cell {index + 1} ({first!r})"


def _not_run(cell, why: str) -> TestOutcome:
    meta = nbgrader_meta(cell)
    return TestOutcome(str(meta.get("grade_id", "")), float(meta.get("points", 0) or 0), False, f"not run: {why}")


def run_notebook_cells(nb, session: Session, *, tests=None, cell_timeout: float = 60.0,
                       notebook_timeout: float = 600.0, max_output_bytes: int = 2 * 2**20,
                       test_env: dict | None = None, allow_from=None, test_cwd=None,
                       reference=None, on_cell=None, forbid=None, lang=None,
                       after: NotebookRun | None = None) -> NotebookRun:
    """Run ``nb``'s code cells in order: test cells here, the others in ``session``.

    ``tests`` is the set of cell indices that are graded tests (default: every
    :func:`~npulab.grading.execute.is_test_cell`).  A builtin name a test uses is looked up
    in the notebook only if ``allow_from`` (the instructor's notebook; default ``nb``) binds
    it outside its tests.  Tests run with ``test_cwd`` as the current folder (the
    instructor's lab folder when grading: a test reads the lab's data files from there, never
    the student's copies).  ``reference`` (a :class:`npulab.grading.reference.Reference`)
    gives the instructor's function for a name: a student's result is checked against its
    result's structure before the test sees it.  ``on_cell(index, cell)``, when given, is
    called after each non-empty code cell (a progress bar).  ``forbid`` (a
    :class:`npulab.grading.forbid.ForbidPlan`; default: the rules in ``nb``'s own solution
    cells) says what each exercise may not use: an answer that uses it (the static check before
    its cell runs, or the run-time guard while its cell or its tests run) fails every test of
    its exercise with one line in ``lang`` naming what it used.  ``after``: a run of the same
    notebook that just ended in this ``session``; only the test cells run again (the student's
    cells are not re-run: their state is the one ``after`` left), and what the answers used
    (``after.plan``) carries over.  Returns a :class:`NotebookRun`.
    """
    from npulab.grading.forbid import plan_of

    tests = {i for i, c in enumerate(nb.cells) if is_test_cell(c)} if tests is None else set(tests)
    plan = after.plan if after is not None and after.plan is not None else \
        (plan_of(nb) if forbid is None else forbid).fresh()
    run = NotebookRun(plan=plan)
    instructor, their_tests = (nb, tests) if allow_from is None else (allow_from, set())
    context = {"allow": defined_names(instructor, their_tests), "imports": notebook_imports(instructor, their_tests),
               "shared": {}, "env": test_env, "reference": reference}  # shared: what test cells define
    deadline = time.monotonic() + notebook_timeout
    for index, cell in enumerate(nb.cells):
        is_test = index in tests
        if cell.cell_type != "code" or (not cell.source.strip() and not is_test) or \
                (after is not None and not is_test):
            continue
        if session.dead:
            if is_test:
                run.outcomes[index] = _not_run(cell, "the notebook's process died before this test")
            continue
        left = deadline - time.monotonic()
        if left <= 0:
            _past_deadline(run, index, cell, is_test, notebook_timeout)
        elif is_test:
            with contextlib.chdir(test_cwd) if test_cwd else contextlib.nullcontext():
                _test_cell(run, index, cell, session, min(cell_timeout, left),
                           {**context, "forbid": _test_rule(plan, cell)})
        else:
            _student_cell(run, index, cell, session, min(cell_timeout, left), _answer_rule(plan, nb, index, tests))
        if on_cell is not None:
            on_cell(index, cell)
    _apply_forbid(run, nb, tests, plan, lang)
    if session.output_bytes > max_output_bytes:
        run.problems.append("output_limit")
        run.notes.append(f"the notebook printed {session.output_bytes // 1024} KiB; output beyond "
                         f"{max_output_bytes // 1024} KiB is not kept")
    for index, cell in enumerate(nb.cells):  # tests never reached (the notebook ended early)
        if index in tests and index not in run.outcomes:
            run.outcomes[index] = _not_run(cell, "the notebook's process died before this test")
    return run


def _answer_rule(plan, nb, index: int, tests) -> tuple | None:
    """``(rule as plain data, callback)`` for an answer cell with a forbid rule (None otherwise);
    the static check runs here, before the cell does."""
    from npulab.grading.forbid import check_notebook

    gid = nbgrader_meta(nb.cells[index]).get("grade_id")
    if gid is None or str(gid) not in plan.answers:
        return None
    gid = str(gid)
    rule = plan.answers[gid][1]
    plan.record(gid, check_notebook(nb, index, rule, skip=tests))
    return rule.to_wire(), lambda violation: plan.record(gid, violation)


def _test_rule(plan, cell) -> tuple | None:
    """``(rule as plain data, callback)`` for a test of an exercise with a forbid rule."""
    found = plan.rule_of_test(str(nbgrader_meta(cell).get("grade_id")))
    if found is None:
        return None
    gid, rule = found
    return rule.to_wire(), lambda violation: plan.record(gid, violation)


def _apply_forbid(run: NotebookRun, nb, tests, plan, lang) -> None:
    """Every test of an exercise whose answer broke its rule fails, saying what it used."""
    for index in sorted(tests):
        gid = str(nbgrader_meta(nb.cells[index]).get("grade_id"))
        answer = plan.tests.get(gid)
        if answer is None or answer not in plan.violations or index not in run.outcomes:
            continue
        old = run.outcomes[index]
        run.outcomes[index] = TestOutcome(old.grade_id, old.points, False, plan.message(answer, lang)[:MAX_MESSAGE])
        run.forbidden.add(index)


def _past_deadline(run: NotebookRun, index: int, cell, is_test: bool, notebook_timeout: float) -> None:
    """Record a cell skipped because the notebook ran out of time (one note for all)."""
    if "skipped" not in run.fate.values():
        run.notes.append(f"the notebook ran past its {notebook_timeout:g} s limit before "
                         f"{cell_name(cell, index)}; later cells did not run")
        run.problems.append("timeout")
    run.fate[index] = "skipped"
    if is_test:
        run.outcomes[index] = _not_run(cell, "the notebook ran past its time limit before this test")


def _test_cell(run: NotebookRun, index: int, cell, session: Session, limit: float, context: dict) -> None:
    """Run one graded test cell here and record its outcome and fate."""
    outcome, kind = _run_test(cell, session, timeout=limit, **context)
    run.outcomes[index] = outcome
    run.fate[index] = "ok" if outcome.passed else "error"
    if kind == "timeout":
        run.fate[index] = "timeout"
        run.problems.append("timeout")
        run.notes.append(f"{cell_name(cell, index)} ran past its time limit ({limit:g} s) and was stopped")
    elif kind == "died":
        run.fate[index] = "died"
        run.problems.append("kernel_died")
        run.notes.append(f"the notebook's process died while {cell_name(cell, index)} ran")


def _student_cell(run: NotebookRun, index: int, cell, session: Session, limit: float, forbid=None) -> None:
    """Run one non-test cell in the driver and record its fate (and error, if any); ``forbid``
    is ``(rule, callback)`` for an answer cell whose exercise has a forbid rule."""
    request = {"op": "run", "code": cell.source, "timeout": limit}
    if forbid is not None:
        request["forbid"] = forbid[0]
    try:
        reply = session.request(request, limit + GRACE)
    except DriverDied:
        if session.hung:  # it did not answer in time
            run.fate[index] = "timeout"
            run.problems.append("timeout")
            run.notes.append(f"{cell_name(cell, index)} ran past its time limit ({limit:g} s) and did not "
                             "stop when interrupted; the notebook was ended there")
        else:
            run.fate[index] = "died"
            run.problems.append("kernel_died")
            run.notes.append(f"the notebook's process died while running {cell_name(cell, index)}; "
                             "later cells did not run")
        return
    session.output_bytes += max(0, int(reply.get("output_bytes", 0) or 0))
    if forbid is not None and reply.get("forbidden") is not None:
        from npulab.grading.forbid import Violation

        forbid[1](Violation.from_wire(reply.get("forbidden")) or Violation("guard", "?"))
    status = reply.get("status")
    if status == "ok":
        run.fate[index] = "ok"
    elif status == "timeout":
        run.fate[index] = "timeout"
        run.problems.append("timeout")
        run.notes.append(f"{cell_name(cell, index)} ran past its time limit ({limit:g} s a cell, or what "
                         "was left of the notebook's) and was interrupted")
    else:
        run.fate[index] = "error"
        ename = str(reply.get("ename", "Error"))[:100]
        evalue = str(reply.get("evalue", ""))[:300]
        run.errors[index] = f"{ename}: {evalue}" if evalue else ename
        if ename.endswith("MemoryError"):
            run.problems.append("memory")
            run.notes.append(f"{cell_name(cell, index)} ran out of memory ({ename})")
        elif ename == "SystemExit":
            run.notes.append(f"{cell_name(cell, index)} called sys.exit(); the notebook went on")
        elif ename in ("SyntaxError", "IndentationError", "TabError"):
            # Said, or every later test fails with a NameError that hides the cause.
            run.notes.append(f"{cell_name(cell, index)} is not valid Python ({ename}: {evalue[:160]}); "
                             "nothing in it ran, so the names it defines do not exist")
