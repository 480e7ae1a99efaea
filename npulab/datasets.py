"""Loaders for the small datasets shipped in the repository's ``datasets/`` folder.

The folder is found next to the package (an editable install, the normal set-up) or
wherever the ``NPULAB_DATASETS`` environment variable points.  ``datasets/README.md``
cites the source of every file.
"""
from __future__ import annotations

import os
from pathlib import Path

DATASETS_DIR = Path(os.environ.get("NPULAB_DATASETS", Path(__file__).resolve().parent.parent / "datasets"))


def path(name: str) -> Path:
    """Absolute path of a bundled file, e.g. ``path("topologies/resnet18.csv")``."""
    p = DATASETS_DIR / name
    if not p.exists():
        raise ValueError(f"no bundled dataset {name!r} in {DATASETS_DIR} (see npulab info)")
    return p


def available() -> list[str]:
    """Every bundled data file, relative to :data:`DATASETS_DIR` (sorted)."""
    if not DATASETS_DIR.is_dir():
        return []
    return sorted(
        str(p.relative_to(DATASETS_DIR))
        for p in DATASETS_DIR.rglob("*")
        if p.is_file() and p.name != "README.md" and not p.name.startswith(".")
    )


def topology(name: str = "resnet18"):
    """A bundled SCALE-Sim topology by name (``"resnet18"``) as a list of layers."""
    from npulab.workloads import load_topology

    return load_topology(path(f"topologies/{name}.csv"))
