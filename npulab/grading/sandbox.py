"""The folder a submission runs in, and the kernelspec that limits its kernel.

A submission's kernel starts in a fresh temporary folder holding

* the files the student handed in with the notebook (folder layout only);
* the lab's data files (every non-notebook file next to the source notebook, as
  ``npulab release`` copies them to ``labs/``; they replace a student's file of the same
  name): never a solution notebook;
* the student's notebook itself, under the lab's file name.

Never there: solutions, other students' work, the gradebook, the test cells the autograder
adds (those go to the kernel over its socket, see :mod:`npulab.grading.autograde`).
The folder is deleted after the run.  This is isolation against accidents and casual
cheating (a relative ``open("../solutions/..")`` finds nothing), not a security boundary:
code runs as the instructor's user, so grade untrusted code in a container or a VM.
"""
from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

#: Folders never copied into a sandbox.
SKIP_DIRS = {".ipynb_checkpoints", "__pycache__", ".git", ".venv", "node_modules"}
#: Stop copying a student's extra files past this many bytes (a guard against huge uploads).
MAX_EXTRA_BYTES = 50 * 2**20

KERNEL_NAME = "npulab-sandbox"


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
        if path.is_dir() or path.suffix == ".ipynb":
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
            if path.is_dir() or path.is_symlink() or any(p in SKIP_DIRS for p in rel.parts):
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


def write_kernelspec(folder: Path, memory_mb: float) -> Path:
    """Write a kernelspec that starts :mod:`npulab.grading.kernel` with a memory limit.

    Returns the ``kernels`` folder to give ``jupyter_client.kernelspec.KernelSpecManager``.
    """
    kernels = Path(folder) / "kernels"
    spec_dir = kernels / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        # Run kernel.py as a script (not -m): no npulab import before the kernel starts.
        "argv": [sys.executable, str(Path(__file__).with_name("kernel.py")), "--memory-mb", f"{memory_mb:g}",
                 "-f", "{connection_file}"],
        "display_name": "npulab sandbox (Python 3)",
        "language": "python",
        "metadata": {"debugger": False},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1), encoding="utf-8")
    return kernels
