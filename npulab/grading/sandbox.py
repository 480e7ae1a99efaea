"""The OS sandbox a submission runs in: its work folder and the bubblewrap command.

A submission's kernel starts in a fresh temporary folder holding

* the files the student handed in with the notebook (folder layout only);
* the lab's declared student data (``metadata.npulab.student_data`` of the source notebook,
  :func:`lab_data_files`; they replace a student's file of the same name): never a
  notebook, never a translation catalog (``i18n/``), a rubric or any other instructor file;
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
#: Size of the sandbox's ``/dev/shm`` (POSIX shared memory, multiprocessing).
SHM_BYTES = 64 * 2**20
#: Memory the sandbox's writable RAM folders can hold at most (``/`` and ``/dev`` are
#: read-only).  Units: bytes.
RAM_FOLDER_BYTES = 2 * TMPFS_BYTES + SHM_BYTES
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


#: Folders whose files never enter a sandbox, even when declared (translation catalogs
#: carry every written question's model answer and rubric).
INSTRUCTOR_DIRS = {"i18n", "solutions", "source", "release", "autograded", "feedback", "gradebook"}


def declared_data(source: Path) -> list[str]:
    """The lab's declared student data: ``metadata.npulab.student_data`` of the source
    notebook (glob patterns relative to its folder), or ``[]``."""
    import json

    try:
        meta = json.loads(Path(source).read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, ValueError, AttributeError):
        return []
    found = (meta.get("npulab") or {}).get("student_data") if isinstance(meta, dict) else None
    return [str(p) for p in found] if isinstance(found, list) else []


def lab_data_files(source: Path, exclude=(), declared=None) -> list[Path]:
    """The files a submission's sandbox receives from the lab: those the source notebook
    declares (:func:`declared_data`, or ``declared``), never a notebook, a symlink, a hidden
    or cache file, anything under :data:`INSTRUCTOR_DIRS`, outside the lab's folder or under
    the ``exclude`` folders (submissions, output).  Nothing declared: nothing copied."""
    root = Path(source).resolve().parent
    exclude = [Path(e) for e in exclude if e is not None]
    files = set()
    for pattern in declared_data(source) if declared is None else declared:
        if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
            continue
        for path in root.glob(pattern):
            rel = path.relative_to(root)
            if path.is_symlink() or not path.is_file() or path.suffix.lower() == ".ipynb":
                continue
            if any(part in SKIP_DIRS or part in INSTRUCTOR_DIRS or part.startswith(".") for part in rel.parts):
                continue
            if any(_is_under(path, e) for e in exclude):
                continue
            files.add(path)
    return sorted(files)


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
        target = box / path.relative_to(Path(source).resolve().parent)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        shutil.copyfile(path, target)
    if notebook_text is not None:
        (box / lab_name).write_text(notebook_text, encoding="utf-8")
    return box



# --------------------------------------------------------------------------- seccomp
# A classic-BPF seccomp filter (Linux ``Documentation/userspace-api/seccomp_filter.rst``)
# that makes the kernel-keyring system calls fail with EPERM.  Keyrings are kernel objects
# that outlive a process and, without a user namespace (grading as root), are shared by
# every sandbox of the same uid: one submission could leave data for the next.  SysV IPC
# and POSIX message queues are already private (``--unshare-ipc``).
_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
#: Blocked calls per architecture: add_key, request_key, keyctl (asm/unistd.h).
_KEYRING_CALLS = {0xC000003E: (248, 249, 250), 0x40000003: (286, 287, 288),  # x86_64, i386
                  0xC00000B7: (217, 218, 219)}  # aarch64
_X32 = 0x40000000  # x86_64's x32 ABI: the same numbers with this bit set
_LD_W_ABS, _JEQ_K, _RET_K = 0x20, 0x15, 0x06
_RET_ALLOW, _RET_EPERM = 0x7FFF0000, 0x00050000 | 1


def seccomp_filter() -> bytes | None:
    """The compiled filter (``struct sock_filter`` array) for this machine, or None on an
    architecture it does not know (then no filter is loaded)."""
    import platform
    import struct

    arch = _AUDIT_ARCH.get(platform.machine())
    if arch is None:
        return None
    prog = [(_LD_W_ABS, 0, 0, 4)]  # seccomp_data.arch
    for audit, calls in _KEYRING_CALLS.items():
        if arch == 0xC00000B7 and audit != arch or arch == 0xC000003E and audit == 0xC00000B7:
            continue
        nrs = list(calls) + ([n | _X32 for n in calls] if audit == 0xC000003E else [])
        block = [(_LD_W_ABS, 0, 0, 0)]  # seccomp_data.nr
        block += [(_JEQ_K, len(nrs) - i, 0, n) for i, n in enumerate(nrs)]
        block += [(_RET_K, 0, 0, _RET_ALLOW), (_RET_K, 0, 0, _RET_EPERM)]
        prog += [(_JEQ_K, 0, len(block), audit)] + block
    prog.append((_RET_K, 0, 0, _RET_ALLOW))
    return b"".join(struct.pack("=HBBI", *ins) for ins in prog)


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


def bwrap_command(box: Path, command: list[str], *, env: dict, seccomp_fd: int | None = None) -> list[str]:
    """The bubblewrap command line that runs ``command`` in a sandbox around ``box``
    (``seccomp_fd``: a readable descriptor holding :func:`seccomp_filter`'s program)."""
    args = ["bwrap", "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--new-session"]
    if seccomp_fd is not None:
        args += ["--seccomp", str(seccomp_fd)]
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
    # Only the three size-limited RAM folders stay writable: bwrap's root and /dev are RAM
    # folders without a size limit, writable by the sandbox's user in a user namespace.
    args += ["--remount-ro", "/dev", "--perms", "1777", "--size", str(SHM_BYTES), "--tmpfs", "/dev/shm",
             "--remount-ro", "/"]
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


#: Without a control group, each process of a sandbox gets at least this much address
#: space; the process cap is cut so that their sum stays within the memory limit.  Units: MiB.
MIN_PROCESS_MB = 1024.0


def budget(limits, overhead: int = 0):
    """Per-process limits whose sum over the whole sandbox stays within ``limits`` when no
    control group bounds it (unprivileged grading, or cgroups not writable): ``k`` processes
    (threads count) of ``memory_mb / k`` MiB each, ``k = min(nproc, memory_mb // MIN_PROCESS_MB)``
    (at least 1).  ``RLIMIT_NPROC`` counts per user namespace (Linux >= 5.14), i.e. this
    sandbox's processes; counted more widely, fewer processes fit and the sum only shrinks.
    ``overhead`` processes of the sandbox itself (bwrap's init in a user namespace) count
    too: the process cap is ``k + overhead``.

    >>> from npulab.grading.isolation import Limits
    >>> budget(Limits(memory_mb=2048, cpu_s=60, nproc=64))
    Limits(memory_mb=1024.0, cpu_s=60, nproc=2)
    """
    from npulab.grading.isolation import Limits

    if limits.memory_mb <= 0:
        return limits
    procs = max(1, int(limits.memory_mb // MIN_PROCESS_MB))
    procs = min(procs, limits.nproc) if limits.nproc > 0 else procs
    return Limits(memory_mb=limits.memory_mb / procs, cpu_s=limits.cpu_s, nproc=procs + overhead)


def _chown_tree(folder: Path, uid: int) -> None:
    for root, _dirs, files in os.walk(folder):
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
        from npulab.grading.isolation import Launch, limit_args

        group = self._group(limits)
        # unprivileged: bwrap's init shares the sandbox's uid in its user namespace, so it counts
        overhead = 1 if os.getuid() != 0 else 0
        argv = [*argv, *limit_args(limits if group is not None and group.active else budget(limits, overhead))]
        uid = sandbox_uid()
        if uid is not None:
            argv += ["--uid", str(uid)]
            _chown_tree(workdir, uid)
        box_env = {"PATH": os.path.dirname(sys.executable) + ":/usr/local/bin:/usr/bin:/bin",
                   "HOME": "/tmp", "USER": "student", "LOGNAME": "student", "LANG": "C.UTF-8",
                   "IPYTHONDIR": "/tmp/.ipython", "MPLCONFIGDIR": "/tmp/.matplotlib", "PWD": WORKDIR}
        if os.environ.get("NPULAB_DATASETS"):
            box_env["NPULAB_DATASETS"] = os.environ["NPULAB_DATASETS"]
        program = seccomp_filter()
        fds: tuple[int, ...] = ()
        if program is not None:
            read_fd, write_fd = os.pipe()
            os.write(write_fd, program)  # a few hundred bytes: fits the pipe's buffer
            os.close(write_fd)
            fds = (read_fd,)
        launch = Launch(argv=bwrap_command(workdir, argv, env={**box_env, **env}, seccomp_fd=fds[0] if fds else None),
                        env={"PATH": os.environ.get("PATH", "")}, cwd=None, new_session=False, isolated=True,
                        pass_fds=fds)
        if group is not None:
            if group.active:
                launch.preexec = group.enter
            launch.on_release.append(group.remove)
        return launch

    @staticmethod
    def _group(limits):
        """A memory + pids control group for the whole sandbox (root only), or None."""
        if os.getuid() != 0:
            return None
        from npulab.grading.cgroups import SandboxGroup

        memory = int(limits.memory_mb * 2**20) + RAM_FOLDER_BYTES if limits.memory_mb > 0 else 2**62
        return SandboxGroup(f"npulab-{os.getpid()}-{time.monotonic_ns()}", memory, max(limits.nproc, 1) + 8)

    def cleanup(self, owner_pid: int) -> None:
        """Remove control groups of a worker killed before it removed them (root only)."""
        if os.getuid() == 0:
            from npulab.grading.cgroups import cleanup

            cleanup(owner_pid)
