"""The process that runs a student's cells: ``python -m npulab.grading.driver``.

It is started by :mod:`npulab.grading.engine`, inside the submission's sandbox
(:mod:`npulab.grading.sandbox`) when grading, and talks to its parent only through its
stdin and stdout pipes, one :mod:`~npulab.grading.wire` frame per message.  Requests:

``{"op": "run", "code": str, "timeout": s}``
    run one cell with IPython's ``InteractiveShell`` (magics, ``!`` commands and the
    display hook behave as in Jupyter); reply ``status`` ``ok`` / ``error`` (``ename``,
    ``evalue``) / ``timeout`` and the number of output bytes the cell wrote.
``{"op": "lookup", "names": [...]}``
    what each name in the notebook's namespace is: ``callable``, ``value`` (plain data,
    sent along), ``other`` (an object that may not cross) or ``missing``.
``{"op": "call", "name": str, "args": [...], "kwargs": {...}, "timeout": s}``
    call a notebook function with plain-data arguments; reply its plain-data result, or
    the exception it raised, or ``not_plain`` when the result may not cross.

Before it reads its first request the driver applies the limits it was given
(``--memory-mb``, ``--cpu-s``, ``--nproc``) and, when started as root with ``--uid``,
drops to that uid for good.  A cell's time limit is a ``SIGALRM`` timer here; a cell that
defeats it is ended from outside (the grader kills the sandbox).  Nothing the driver
sends is trusted by the grader: it is decoded as plain data or rejected.
"""
from __future__ import annotations

import argparse
import os
import resource
import signal
import sys

from npulab.grading import wire
from npulab.grading.forbid import RuntimeGuard


class CellTimeout(BaseException):
    """Raised in the cell by the timer (a ``BaseException``: ``except Exception`` misses it)."""


class _CountingWriter:
    """``sys.stdout`` / ``sys.stderr`` replacement: counts bytes, keeps none."""

    encoding = "utf-8"
    errors = "replace"

    def __init__(self, counter: list):
        self.counter = counter

    def write(self, text) -> int:
        text = str(text)
        self.counter[0] += len(text.encode("utf-8", "replace"))
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True


def apply_limits(memory_mb: float, cpu_s: float, nproc: int, fsize_mb: float = 256.0) -> None:
    """Set hard resource limits on this process (inherited by all it starts)."""
    def hard(which, value):
        resource.setrlimit(which, (value, value))

    if memory_mb > 0:
        hard(resource.RLIMIT_AS, int(memory_mb * 2**20))
    if cpu_s > 0:
        hard(resource.RLIMIT_CPU, int(cpu_s) + 1)
    if nproc > 0:
        hard(resource.RLIMIT_NPROC, nproc)
    hard(resource.RLIMIT_FSIZE, int(fsize_mb * 2**20))
    hard(resource.RLIMIT_CORE, 0)


def drop_privileges(uid: int) -> None:
    """Become ``uid`` (and gid ``uid``) with no supplementary groups, for good."""
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    if os.getuid() != uid or os.geteuid() != uid:  # pragma: no cover - defensive
        raise SystemExit("could not drop privileges")


def _no_new_privs() -> None:
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
    except (OSError, AttributeError):  # pragma: no cover
        pass


class Driver:
    """Runs cells and answers lookups/calls over two file descriptors."""

    def __init__(self, fd_in: int, fd_out: int):
        self.fd_in, self.fd_out = fd_in, fd_out
        self.output = [0]
        from IPython.core.interactiveshell import InteractiveShell
        from traitlets.config import Config

        config = Config()
        config.HistoryManager.enabled = False  # no sqlite file, no history thread
        self.shell = InteractiveShell.instance(config=config)
        sys.stdout = sys.stderr = _CountingWriter(self.output)
        signal.signal(signal.SIGALRM, self._alarm)
        self._armed = False
        self.guard = RuntimeGuard()  # an exercise's forbid rule, while its code runs
        os.register_at_fork(after_in_child=self._forked)

    def _forked(self) -> None:
        """A process the student's code forked never speaks for the notebook."""
        for fd in (self.fd_in, self.fd_out):
            try:
                os.close(fd)
            except OSError:
                pass
        self.fd_in = self.fd_out = -1

    def _alarm(self, signum, frame):
        if self._armed:
            self._armed = False
            raise CellTimeout("the time limit ran out")

    def _arm(self, seconds: float) -> None:
        self._armed = True
        signal.setitimer(signal.ITIMER_REAL, max(0.01, float(seconds)))

    def _disarm(self) -> None:
        self._armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)

    def reply(self, message: dict) -> None:
        """Send ``message`` (a dict of encoded plain data) to the grader as one frame.

        Parameters
        ----------
        message : dict
            The reply; :class:`~npulab.grading.wire.NotPlainData` when it cannot be sent.
        """
        wire.send(self.fd_out, message)

    def run(self, req: dict) -> dict:
        """Run one notebook cell in the IPython shell (the ``run`` request).

        Parameters
        ----------
        req : dict
            ``code`` (the cell source), ``timeout`` (seconds, default 60) and ``forbid``
            (optional: the exercise's rule, :meth:`npulab.grading.forbid.Forbid.to_wire`).

        Returns
        -------
        dict
            ``status`` (``ok``, ``error`` with ``ename``/``evalue``, or ``timeout``),
            ``output_bytes``, the bytes the cell printed, and ``forbidden`` (what the rule
            refused, see :class:`~npulab.grading.forbid.RuntimeGuard`) when it refused something.
        """
        before = self.output[0]
        rule = req.get("forbid")
        self._arm(req.get("timeout", 60))
        try:
            with self.guard.active(rule):
                result = self.shell.run_cell(str(req.get("code", "")), store_history=True, silent=False)
        except CellTimeout:
            result = None
        finally:
            self._disarm()
        error = None if result is None else (result.error_in_exec or result.error_before_exec)
        out: dict = {"output_bytes": self.output[0] - before}
        if rule and self.guard.violation:
            out["forbidden"] = dict(self.guard.violation)
        if result is None or isinstance(error, CellTimeout):
            return {**out, "status": "timeout"}
        if error is None:
            return {**out, "status": "ok"}
        return {**out, "status": "error", **_describe(error)}

    def lookup(self, req: dict) -> dict:
        """Say what each requested name is in the notebook (the ``lookup`` request).

        Parameters
        ----------
        req : dict
            ``names``: the names a test takes from the notebook.

        Returns
        -------
        dict
            ``names``: name -> ``{"kind": "callable"}``, ``{"kind": "value", "value": ...}``
            (encoded plain data), ``{"kind": "other", "type": ...}`` or ``{"kind": "missing"}``.
        """
        ns = self.shell.user_ns
        found = {}
        for name in req.get("names", []):
            name = str(name)
            if name not in ns:
                found[name] = {"kind": "missing"}
                continue
            value = ns[name]
            if callable(value) and not isinstance(value, type):
                found[name] = {"kind": "callable"}
                continue
            try:
                found[name] = {"kind": "value", "value": wire.encode(value)}
            except wire.NotPlainData as err:
                found[name] = {"kind": "other", "type": str(err)[:200]}
        return {"names": found}

    def call(self, req: dict) -> dict:
        """Call a notebook function with plain-data arguments (the ``call`` request).

        Parameters
        ----------
        req : dict
            ``name``, encoded ``args`` and ``kwargs``, ``timeout`` (seconds, default 60) and
            ``forbid`` (optional: the rule of the exercise whose test calls).

        Returns
        -------
        dict
            ``status`` ``ok`` with the encoded ``value``, ``error`` (``ename``, ``evalue``),
            ``timeout``, or ``not_plain`` (``type``) when the result may not cross; with a
            rule, ``forbidden`` when the call used what it forbids (whatever the status).
        """
        self.guard.violation = None
        answer = self._call(req)
        if req.get("forbid") and self.guard.violation:
            answer["forbidden"] = dict(self.guard.violation)
        return answer

    def _call(self, req: dict) -> dict:
        fn = self.shell.user_ns.get(str(req.get("name")))
        if fn is None or not callable(fn):
            return {"status": "error", "ename": "NameError", "evalue": f"name {req.get('name')!r} is not defined"}
        try:
            args = wire.decode(req.get("args", []))
            kwargs = wire.decode(req.get("kwargs", {"__dict__": []}))
        except wire.WireError as err:
            return {"status": "error", "ename": "TypeError", "evalue": str(err)}
        self._arm(req.get("timeout", 60))
        try:
            with self.guard.active(req.get("forbid")):
                value = fn(*args, **kwargs)
            self._disarm()
        except CellTimeout:
            return {"status": "timeout"}
        except BaseException as err:  # the student's exception, described as data
            self._disarm()
            return {"status": "error", **_describe(err)}
        finally:
            self._disarm()
        try:
            return {"status": "ok", "value": wire.encode(value)}
        except wire.NotPlainData as err:
            return {"status": "not_plain", "type": str(err)[:300]}

    def serve(self) -> None:
        """Say ``ready``, then answer requests one frame at a time until ``exit`` or a
        closed pipe."""
        handlers = {"run": self.run, "lookup": self.lookup, "call": self.call}
        import npulab

        here = os.path.dirname(os.path.realpath(npulab.__file__))
        self.reply({"status": "ready", "pid": os.getpid(), "npulab": here})
        while True:
            try:
                req = wire.recv(self.fd_in, max_frame=wire.MAX_FRAME)
            except wire.WireError:
                return
            op = req.get("op")
            if op == "exit":
                return
            try:
                answer = handlers[op](req) if op in handlers else {"status": "error", "ename": "ValueError",
                                                                    "evalue": f"unknown op {op!r}"}
            except CellTimeout:
                answer = {"status": "timeout"}
            if self.fd_out < 0:  # a forked child got here: it has nobody to answer
                os._exit(0)
            try:
                self.reply(answer)
            except wire.NotPlainData as err:
                self.reply({"status": "not_plain", "type": str(err)[:300]})
            except OSError:
                return


def _describe(error: BaseException) -> dict:
    try:
        text = str(error)
    except BaseException:  # a rigged __str__
        text = ""
    return {"ename": type(error).__name__[:100], "evalue": text[:2000]}


def main(argv=None) -> None:
    """Start a driver (``python -m npulab.grading.driver``) on the pipes it was given.

    Its standard input and output are the protocol pipes; they move to private descriptors
    and 0, 1, 2 become ``/dev/null``.  Then the resource limits apply, privileges drop
    (``--uid`` when root) and :meth:`Driver.serve` runs until the grader says ``exit``.

    Parameters
    ----------
    argv : list of str, optional
        ``--memory-mb`` (MiB), ``--cpu-s`` (CPU seconds), ``--nproc`` (processes) and
        ``--uid``; 0 or negative: no limit / no change.
    """
    parser = argparse.ArgumentParser(prog="python -m npulab.grading.driver")
    parser.add_argument("--memory-mb", type=float, default=0.0)
    parser.add_argument("--cpu-s", type=float, default=0.0)
    parser.add_argument("--nproc", type=int, default=0)
    parser.add_argument("--uid", type=int, default=-1)
    args = parser.parse_args(argv)
    # The protocol pipes move to private descriptors (not inherited by child processes);
    # 0, 1 and 2 become /dev/null, so prints and subprocesses cannot garble the protocol.
    fd_in, fd_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    apply_limits(args.memory_mb, args.cpu_s, args.nproc)
    if args.uid >= 0 and os.getuid() == 0:
        drop_privileges(args.uid)
    _no_new_privs()
    sys.argv = ["npulab-driver"]
    Driver(fd_in, fd_out).serve()
    os._exit(0)


if __name__ == "__main__":
    main()
