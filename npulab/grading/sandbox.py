"""The OS sandbox a submission runs in: its work folder and the bubblewrap command.

A submission's kernel starts in a fresh temporary folder holding

* the files the student handed in with the notebook (folder layout only);
* the lab's data files (every non-notebook file next to the source notebook, as
  ``npulab release`` copies them to ``labs/``; they replace a student's file of the same
  name): never a solution notebook;
* the student's notebook itself, under the lab's file name.

Never there: solutions, other students' work, the gradebook, the test cells (they run in
the grader's trusted process, see :mod:`npulab.grading.engine`).
The folder is deleted after the run.

:func:`bwrap_command` wraps the driver (:mod:`npulab.grading.driver`) in bubblewrap
(``bwrap``, https://github.com/containers/bubblewrap), which builds the sandbox from Linux
namespaces:

* new network namespace: only a loopback device, nothing outside is reachable;
* new PID namespace with bwrap as its init and ``--die-with-parent``: when the grader's
  worker ends the sandbox, every process in it (daemons, ``setsid`` children, a fork
  bomb) is killed by the kernel; new IPC and UTS namespaces; ``--new-session``;
* new mount namespace: the system (``/usr``, ``/etc``), the Python installation, the
  virtual environment and the ``npulab`` package (and its ``datasets``) read-only; a
  private ``/tmp``; ``/lab``, a size-limited RAM folder holding the work folder's files
  read-only (new files can be written next to them; nothing reaches the host's disk);
  nothing else of the host (no home folder, no solutions, no classmates, no gradebook,
  no grader key);
* as root, the driver drops to a uid of its own (one per worker process, so
  ``RLIMIT_NPROC`` caps this submission only), after setting its memory, CPU-time and
  process limits, and the whole sandbox sits in a memory + pids control group
  (:mod:`npulab.grading.cgroups`, where writable); as an ordinary user, bwrap's user
  namespace maps the sandbox to the grader's uid (unprivileged user namespaces must be
  enabled).

Why bubblewrap rather than util-linux ``unshare``: one declarative command sets up every
namespace, the read-only bind mounts and the private ``/tmp`` (``unshare`` would need a
hand-written mount script run as root inside the namespace), it works both as root and
unprivileged, and ``--die-with-parent`` ties the sandbox's life to the worker's.
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from npulab.grading.isolation import Launch

#: Folders never copied into a sandbox.
SKIP_DIRS = {".ipynb_checkpoints", "__pycache__", ".git", ".venv", "node_modules"}
#: Stop copying a student's extra files past this many bytes (a guard against huge uploads).
MAX_EXTRA_BYTES = 50 * 2**20

#: Where the work folder appears inside the sandbox.
WORKDIR = "/lab"
#: Size of the sandbox's ``/tmp`` and ``/lab`` (RAM folders: a student cannot fill the disk).
TMPFS_BYTES = 256 * 2**20
#: First uid of the sandbox uids used when grading as root (uid = base + worker pid).
UID_BASE = 200000
#: The one-line fix printed when no sandbox can be made.
FIX = ("no OS sandbox: install bubblewrap (apt-get install -y bubblewrap) and, when not root, "
       "enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1), "
       "or pass --no-sandbox to grade without isolation")


def _is_under(path: Path, folder: Path | None) -> bool:
    if folder is None:
        return False
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def lab_data_files(source: Path, exclude=()) -> list[Path]:
    """Non-notebook files next to ``source`` (recursively), skipping caches, hidden folders
    and anything under the ``exclude`` folders (submissions, output)."""
    root = source.parent
    exclude = [Path(e) for e in exclude if e is not None]
    files = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_symlink() or path.is_dir() or path.suffix.lower() == ".ipynb":
            continue
        if any(part in SKIP_DIRS or part.startswith(".") for part in rel.parts):
            continue
        if any(_is_under(path, e) for e in exclude):
            continue
        files.append(path)
    return files


def make_sandbox(source: Path, notebook_text: str | None, lab_name: str, *,
                 extra_dir: Path | None = None, exclude=(), tmp_root=None) -> Path:
    """Create a temporary lab folder for one submission and return its path.

    ``notebook_text`` is the submission's raw text (written as ``lab_name``); ``extra_dir``
    is the student's own folder whose other files are copied too; ``tmp_root`` is where
    the temporary folder is made (default: the system's temporary folder).
    """
    box = Path(tempfile.mkdtemp(prefix="npulab-sandbox-", dir=tmp_root))
    if extra_dir is not None:  # first, so the lab's own data files win over a student's copy
        budget = MAX_EXTRA_BYTES
        for path in sorted(extra_dir.rglob("*")):
            rel = path.relative_to(extra_dir)
            if path.is_symlink() or path.is_dir() or not path.is_file() or any(p in SKIP_DIRS for p in rel.parts):
                continue
            size = path.stat().st_size
            if size > budget:
                continue
            budget -= size
            (box / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, box / rel)
    for path in lab_data_files(source, exclude):
        target = box / path.relative_to(source.parent)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        shutil.copyfile(path, target)
    if notebook_text is not None:
        (box / lab_name).write_text(notebook_text, encoding="utf-8")
    return box



def _ancestors(path: str) -> list[str]:
    parts = Path(path).parts[1:]
    return ["/" + "/".join(parts[:i]) for i in range(1, len(parts))]


def readonly_paths() -> list[str]:
    """Host paths the sandbox sees read-only: the system, Python, the venv, npulab."""
    package = Path(__file__).resolve().parent.parent  # npulab/ (this file is npulab/grading/sandbox.py)
    paths = ["/usr", "/etc", str(Path(sys.base_prefix).resolve()), str(Path(sys.prefix).resolve()),
             sys.prefix, str(Path(sys.executable).resolve().parent), str(package)]
    data = package.parent / "datasets"
    if data.is_dir():
        paths.append(str(data))
    for extra in ("/opt/conda",):  # interpreters that live outside /usr
        if sys.base_prefix.startswith(extra):
            paths.append(extra)
    out = []
    for p in paths:
        if p not in out and os.path.exists(p):
            out.append(p)
    return out


def exposed(path) -> str | None:
    """The read-only sandbox path that would show ``path`` to students, or None."""
    target = Path(path).resolve()
    for root in readonly_paths():
        if root in ("/usr", "/etc"):
            continue
        if _is_under(target, Path(root)):
            return root
    return None


def bwrap_command(box: Path, command: list[str], *, env: dict) -> list[str]:
    """The bubblewrap command line that runs ``command`` in a sandbox around ``box``."""
    args = ["bwrap", "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--new-session"]
    if os.getuid() != 0:
        args.append("--unshare-user")  # unprivileged: a user namespace maps us in
    else:
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]  # the driver drops them itself
    # The private /tmp comes first, so a venv or checkout that lives under /tmp (a CI clone)
    # is bound on top of it below instead of being hidden by it.
    args += ["--dev", "/dev", "--proc", "/proc", "--perms", "1777", "--size", str(TMPFS_BYTES),
             "--tmpfs", "/tmp"]
    made = {"/tmp"}
    for top in ("/bin", "/lib", "/lib64", "/sbin"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
            made.add(top)
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    for path in readonly_paths():
        for parent in _ancestors(path):
            if parent not in made and parent not in ("/usr", "/etc"):
                args += ["--perms", "0755", "--dir", parent]
                made.add(parent)
        args += ["--ro-bind", path, path]
    args += ["--perms", "1777", "--size", str(TMPFS_BYTES), "--tmpfs", WORKDIR]
    for entry in sorted(Path(box).iterdir()):  # the submission's files, read-only, in a RAM folder
        args += ["--ro-bind", str(entry), f"{WORKDIR}/{entry.name}"]
    args += ["--chdir", WORKDIR, "--clearenv"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    return args + ["--", *command]


@functools.lru_cache(maxsize=1)
def isolation_problem() -> str | None:
    """None when a sandbox can be made here; else the one-line fix (:data:`FIX`)."""
    if not sys.platform.startswith("linux") or shutil.which("bwrap") is None:
        return FIX
    box = Path(tempfile.mkdtemp(prefix="npulab-probe-"))
    try:
        cmd = bwrap_command(box, [sys.executable, "-c", "pass"], env={"PATH": "/usr/bin:/bin"})
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return FIX
    finally:
        shutil.rmtree(box, ignore_errors=True)
    return None if proc.returncode == 0 else FIX


def sandbox_uid() -> int | None:
    """The uid a sandbox started by this process runs as (root only; else None)."""
    return UID_BASE + os.getpid() if os.getuid() == 0 else None


def _chown_tree(folder: Path, uid: int) -> None:
    for root, dirs, files in os.walk(folder):
        os.chown(root, uid, uid)
        for name in files:
            os.chown(os.path.join(root, name), uid, uid, follow_symlinks=False)


class Bubblewrap:
    """The bubblewrap backend of :class:`npulab.grading.isolation.Sandbox` (module docstring)."""

    name = "bubblewrap"

    def problem(self) -> str | None:
        """None when bwrap can build a sandbox here; else :data:`FIX`."""
        return isolation_problem()

    def launch(self, workdir: Path, argv: list, env: dict, limits) -> Launch:
        """The bwrap command around ``workdir``; as root, a uid of its own and a control group."""
        from npulab.grading.isolation import Launch

        argv = list(argv)
        uid = sandbox_uid()
        if uid is not None:
            argv += ["--uid", str(uid)]
            _chown_tree(workdir, uid)
        box_env = {"PATH": os.path.dirname(sys.executable) + ":/usr/local/bin:/usr/bin:/bin",
                   "HOME": "/tmp", "USER": "student", "LOGNAME": "student", "LANG": "C.UTF-8",
                   "IPYTHONDIR": "/tmp/.ipython", "MPLCONFIGDIR": "/tmp/.matplotlib", "PWD": WORKDIR}
        if os.environ.get("NPULAB_DATASETS"):
            box_env["NPULAB_DATASETS"] = os.environ["NPULAB_DATASETS"]
        launch = Launch(argv=bwrap_command(workdir, argv, env={**box_env, **env}),
                        env={"PATH": os.environ.get("PATH", "")}, cwd=None, new_session=False, isolated=True)
        if os.getuid() == 0:
            from npulab.grading.cgroups import SandboxGroup

            memory = int(limits.memory_mb * 2**20) + 2 * TMPFS_BYTES if limits.memory_mb > 0 else 2**62
            group = SandboxGroup(f"npulab-{os.getpid()}-{time.monotonic_ns()}", memory, max(limits.nproc, 1) + 8)
            if group.active:
                launch.preexec = group.enter
            launch.on_release.append(group.remove)
        return launch

    def cleanup(self, owner_pid: int) -> None:
        """Remove control groups of a worker killed before it removed them (root only)."""
        if os.getuid() == 0:
            from npulab.grading.cgroups import cleanup

            cleanup(owner_pid)
