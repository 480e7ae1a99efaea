"""Grade a class on a Dask cluster: ``npulab grade SOURCE SUBS --out OUT --dask tcp://HOST:8786``.

The coordinator (the machine running ``npulab grade``) keeps every decision and every file:
it finds the submissions, decides what to reuse, and writes OUT (results, feedback,
gradebook, summary) exactly as a local run does (:mod:`npulab.grading.classroom`).  Only the
grading of one submission moves: a Dask task (:func:`grade_remote`) on a worker runs the same
engine as a local run -- :func:`npulab.grading.worker.run_worker`, so a forked trusted
worker per submission whose student side runs in the OS sandbox of that machine.

What crosses the network:

* to the workers: the lab once (the source notebook and the data files it declares,
  :func:`lab_payload`, scattered to every worker) and per task the student's notebook and the
  other files of their folder (:func:`submission_payload`), as bytes: workers need no shared
  file system;
* back: the result as JSON text signed with an HMAC key derived for that one task
  (:func:`task_key`: the grader's key, a random run nonce, the student id and the
  submission's SHA-256).  Results from workers are untrusted until verified
  (:func:`verify_remote`): the MAC, the student, the submission and source hashes, the test
  ids and points (from the coordinator's own source).  A result that fails is recorded as a
  ``grader_error`` (graded again on the next run), never stored as a grade.

Before any task runs, :func:`connect` asks every worker for its npulab (a SHA-256 of the
package's source files: the same engine, the same tests' helpers) and, unless
``--no-sandbox``, whether it can make the sandbox
(:meth:`npulab.grading.isolation.Sandbox.problem`): a worker without bubblewrap stops the run
with one line naming it, as a local run without it does.

Dask's own messages are pickles: run the scheduler and workers on machines you trust, and
use Dask's TLS (``tls://`` addresses, ``distributed.comm.tls`` settings) between machines
you do not control.  Student code never runs outside a worker's sandbox.

References
----------
Dask.distributed, "Command line interface" (``dask scheduler``, ``dask worker``):
https://distributed.dask.org/en/stable/quickstart.html
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

#: Longest JSON text accepted from a worker.  Units: bytes (characters).
MAX_RESULT_TEXT = 64 * 2**20
#: Seconds to wait for the scheduler to answer.
CONNECT_TIMEOUT = 20.0


def engine_fingerprint() -> str:
    """SHA-256 over the source of every npulab module (path and bytes), with the version.

    Two machines with the same fingerprint grade with the same engine and the same library
    the tests call.
    """
    import npulab

    root = Path(npulab.__file__).resolve().parent
    digest = hashlib.sha256(f"npulab {npulab.__version__}\n".encode())
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def worker_info(sandbox) -> dict:
    """What the coordinator checks on every worker before grading (runs ON the worker)."""
    import platform

    import npulab
    from npulab.grading.backends import get_sandbox

    problem = get_sandbox(sandbox).problem() if sandbox else None
    return {
        "fingerprint": engine_fingerprint(),
        "version": npulab.__version__,
        "sandbox_problem": problem,
        "python": platform.python_version(),
        "host": platform.node(),
    }


def lab_payload(source, exclude=()) -> dict:
    """The lab as bytes: ``{"name", "notebook", "files": {relative path: bytes}}``.

    ``files`` are the data files the source declares (:func:`npulab.grading.sandbox.lab_data_files`,
    never a notebook, never under ``exclude``).
    """
    from npulab.grading.sandbox import lab_data_files

    source = Path(source)
    root = source.resolve().parent
    files = {str(p.relative_to(root)): p.read_bytes() for p in lab_data_files(source, exclude)}
    return {"name": source.name, "notebook": source.read_bytes(), "files": files}


def submission_payload(path: Path, folder: Path | None) -> dict:
    """One submission as bytes: its notebook and the files of the student's folder that a
    local run copies into the sandbox (:func:`npulab.grading.sandbox.make_sandbox`'s rules:
    regular files only, no symlink, no cache folder, at most ``MAX_EXTRA_BYTES``)."""
    from npulab.grading.sandbox import MAX_EXTRA_BYTES, SKIP_DIRS

    extra: dict[str, bytes] = {}
    if folder is not None:
        budget = MAX_EXTRA_BYTES
        for item in sorted(folder.rglob("*")):
            rel = item.relative_to(folder)
            if (
                item.is_symlink()
                or item.is_dir()
                or not item.is_file()
                or any(p in SKIP_DIRS for p in rel.parts)
            ):
                continue
            size = item.stat().st_size
            if size > budget:
                continue
            budget -= size
            extra[rel.as_posix()] = item.read_bytes()
    return {
        "name": path.name,
        "notebook": path.read_bytes(),
        "folder": folder is not None,
        "extra": extra,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
    }


def task_key(key: bytes, nonce: str, student: str, submission_sha256: str) -> bytes:
    """The HMAC key of one task: only that student's result, in this run, verifies with it.

    >>> len(task_key(b"k" * 32, "n", "ada", "0" * 64))
    32
    """
    message = f"npulab-dask\0{nonce}\0{student}\0{submission_sha256}".encode(
        "utf-8", "surrogateescape"
    )
    return hmac.new(key, message, hashlib.sha256).digest()


def _write_tree(root: Path, files: dict) -> None:
    for rel, data in files.items():
        target = root / rel
        if Path(rel).is_absolute() or ".." in Path(rel).parts:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def lab_folder_name(lab: dict) -> str:
    """The name of the folder a worker machine keeps ``lab`` in (named by its content)."""
    digest = hashlib.sha256(lab["notebook"])
    for rel in sorted(lab["files"]):
        digest.update(rel.encode() + b"\0" + lab["files"][rel])
    return f"npulab-dask-lab-{digest.hexdigest()[:24]}"


def remove_lab_folder(name: str) -> None:
    """Delete a worker machine's copy of a lab at the end of a run (runs ON the worker)."""
    if name.startswith("npulab-dask-lab-") and "/" not in name:
        shutil.rmtree(Path(tempfile.gettempdir()) / name, ignore_errors=True)


def _lab_dir(lab: dict) -> Path:
    """The lab written once per worker machine, in a folder named by its content (so the
    instructor's reference results are built once per worker process, not per task)."""
    folder = Path(tempfile.gettempdir()) / lab_folder_name(lab)
    if not (folder / lab["name"]).is_file():
        staging = Path(tempfile.mkdtemp(prefix="npulab-dask-staging-"))
        _write_tree(staging, lab["files"])
        (staging / lab["name"]).write_bytes(lab["notebook"])
        try:
            staging.rename(folder)
        except OSError:  # another task on this machine wrote it first
            shutil.rmtree(staging, ignore_errors=True)
    return folder


def grade_remote(lab: dict, sub: dict, job: dict, key: bytes) -> str:
    """Grade one submission ON a Dask worker; return its signed result as JSON text.

    ``lab`` is :func:`lab_payload`, ``sub`` :func:`submission_payload`, ``job`` the
    :func:`~npulab.grading.autograde.grade_submission` settings of the run, ``key`` the
    task's :func:`task_key`.  The grading is :func:`npulab.grading.worker.run_worker`, as in
    a local run (a forked trusted worker, the student side in the sandbox).
    """
    from npulab.grading import signing
    from npulab.grading.worker import run_worker

    folder = _lab_dir(lab)
    work = Path(tempfile.mkdtemp(prefix="npulab-dask-job-"))
    try:
        student_dir = work / "student"
        student_dir.mkdir()
        _write_tree(student_dir, sub["extra"])
        submission = student_dir / Path(sub["name"]).name
        submission.write_bytes(sub["notebook"])
        result = run_worker(
            {
                **job,
                "source": str(folder / lab["name"]),
                "submission": str(submission),
                "extra_dir": str(student_dir) if sub["folder"] else None,
                "exclude": [],
            }
        )
        return json.dumps(signing.sign(result.to_dict(), key))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def verify_remote(
    text, key: bytes, *, student: str, submission_sha256: str, source_sha256: str, points: dict
):
    """The :class:`~npulab.grading.autograde.SubmissionResult` in a worker's ``text`` when it
    verifies, else ``(None, reason)``.  Returns ``(result, "")`` on success.

    Checked: JSON within :data:`MAX_RESULT_TEXT`, the task's MAC, a well-formed result, the
    student id, the submission's and the source's SHA-256, a known status, and the test ids
    and points equal to the source's (``points``: grade_id -> points, in source order).
    """
    from npulab.grading import signing
    from npulab.grading.autograde import STATUSES, SubmissionResult

    if not isinstance(text, str) or len(text) > MAX_RESULT_TEXT:
        return None, "not a result"
    try:
        data = signing.verify(json.loads(text), key)
    except (ValueError, RecursionError):
        return None, "not JSON"
    if data is None:
        return None, "its signature did not verify"
    try:
        result = SubmissionResult.from_dict(data)
    except (TypeError, ValueError, KeyError):
        return None, "a malformed result"
    if result.student != student:
        return None, "a result for another student"
    if result.submission_sha256 != submission_sha256 or result.source_sha256 != source_sha256:
        return None, "a result for another notebook"
    if result.status not in STATUSES:
        return None, "an unknown status"
    if [(o.grade_id, float(o.points)) for o in result.outcomes] != [
        (g, float(p)) for g, p in points.items()
    ]:
        return None, "tests or points that are not the source's"
    if not all(isinstance(o.passed, bool) and isinstance(o.message, str) for o in result.outcomes):
        return None, "a malformed result"
    return result, ""


class DaskGrader:
    """A connection to a Dask cluster that grades one lab's submissions (see module doc).

    Parameters
    ----------
    address : str
        The scheduler, e.g. ``tcp://10.0.0.5:8786``.
    source : path-like
        The instructor's notebook.
    exclude : iterable of path-like
        Folders whose files never go to the workers as lab data (submissions, OUT).
    key : bytes
        The grader's HMAC key (never sent: each task gets its :func:`task_key`).
    sandbox : bool
        Whether the workers must sandbox the student side (they are checked for it).
    points : dict
        grade_id -> points of the source's tests, in order.
    """

    def __init__(self, address: str, *, source, exclude, key: bytes, sandbox: bool, points: dict):
        self.address = str(address)
        self.client = connect(self.address, sandbox=sandbox)
        self._key, self._points = key, dict(points)
        self._nonce = secrets.token_hex(16)
        self._source_sha = hashlib.sha256(Path(source).read_bytes()).hexdigest()
        try:  # one future for the whole lab (a dict alone would be scattered key by key)
            payload = lab_payload(source, exclude)
            self._lab_folder = lab_folder_name(payload)
            self._lab = self.client.scatter([payload], broadcast=True)[0]
        except BaseException:
            self.client.close()
            raise
        self._futures: set = set()

    @property
    def slots(self) -> int:
        """Tasks the cluster runs at once (the sum of its workers' threads)."""
        return max(1, sum(self.client.nthreads().values()))

    def grade(self, job: dict, *, path: Path, folder: Path | None, student: str, tests):
        """Grade one submission on the cluster; a verified result or a ``grader_error``."""
        from npulab.grading.autograde import SubmissionResult, not_graded

        sub = submission_payload(path, folder)
        key = task_key(self._key, self._nonce, student, sub["sha256"])
        future = self.client.submit(
            grade_remote,
            self._lab,
            sub,
            job,
            key,
            pure=False,
            key=f"npulab-grade-{secrets.token_hex(8)}",
        )
        self._futures.add(future)
        try:
            text = future.result()
            reason = ""
        except Exception as err:  # noqa: BLE001 - a lost worker, a cancelled task: not this student's fault
            text, reason = (
                None,
                f"the Dask task failed ({err.__class__.__name__}: {str(err)[:200]})",
            )
        finally:
            self._futures.discard(future)
        result = None
        if text is not None:
            result, why = verify_remote(
                text,
                key,
                student=student,
                submission_sha256=sub["sha256"],
                source_sha256=self._source_sha,
                points=self._points,
            )
            reason = reason or (
                f"the result from the Dask worker was rejected: {why}" if result is None else ""
            )
        if result is not None:
            return result
        return SubmissionResult(
            student=student,
            status="grader_error",
            outcomes=not_graded(tests, "the grading worker stopped"),
            notes=(reason,),
            submission_sha256=sub["sha256"],
            source_sha256=self._source_sha,
            settings={k: float(job[k]) for k in ("cell_timeout", "notebook_timeout", "memory_mb")},
        )

    def stop(self) -> None:
        """Cancel every task still queued or running (Ctrl-C)."""
        if self._futures:
            self.client.cancel(list(self._futures), force=True)

    def close(self) -> None:
        """Cancel what is left, remove the workers' copies of the lab, and disconnect (never
        raises: the coordinator writes OUT after this, whatever happened)."""
        try:
            self.stop()
            self.client.run(remove_lab_folder, self._lab_folder)
        except Exception:  # noqa: BLE001 - a worker gone already: nothing left to clean there
            pass
        try:
            self.client.close()
        except Exception:  # noqa: BLE001 - the scheduler is gone: nothing to close
            pass


def connect(address: str, *, sandbox: bool):
    """A ``distributed.Client`` on ``address`` whose every worker runs this npulab and (when
    ``sandbox``) can make the sandbox; a one-line ``ValueError`` otherwise."""
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - distributed is a dependency
        raise ValueError(
            "--dask needs dask.distributed (pip install 'dask[distributed]')"
        ) from None
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as err:
        raise ValueError(
            f"cannot reach the Dask scheduler at {address} ({err.__class__.__name__}: "
            f"{str(err).splitlines()[0][:200] if str(err) else ''})"
        ) from None
    try:
        infos = client.run(worker_info, bool(sandbox))
        if not infos:
            raise ValueError(
                f"no Dask workers are connected to {address}; start some with "
                f"`dask worker {address}`"
            )
        mine = engine_fingerprint()
        for worker, info in sorted(infos.items()):
            if info.get("fingerprint") != mine:
                raise ValueError(
                    f"Dask worker {worker} ({info.get('host')}) runs a different npulab "
                    f"({info.get('version')}, Python {info.get('python')}); install the same "
                    f"npulab as this machine (Python {sys.version.split()[0]}) on every worker"
                )
            if sandbox and info.get("sandbox_problem"):
                raise ValueError(
                    f"Dask worker {worker} ({info.get('host')}): {info['sandbox_problem']}"
                )
    except BaseException:
        client.close()
        raise
    return client
