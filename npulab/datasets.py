"""Loaders for the small datasets shipped in the repository's ``datasets/`` folder.

The folder is found next to the package (an editable install, the normal set-up) or
wherever the ``NPULAB_DATASETS`` environment variable points.  ``datasets/README.md``
cites the source of every file.
"""
from __future__ import annotations

import os
from pathlib import Path

#: The bundled data folder (``datasets/`` of the checkout; ``NPULAB_DATASETS`` overrides it).
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


def load_digits():
    """The UCI handwritten digits (8x8, 1797 images) with npulab's fixed train/test split.

    Returns
    -------
    x_train : ndarray, float32, shape (1437, 64)
        Pixels scaled to [0, 1] (the raw counts 0..16 divided by 16), row-major 8x8.
    y_train : ndarray, int64, shape (1437,)
    x_test : ndarray, float32, shape (360, 64)
    y_test : ndarray, int64, shape (360,)

    References
    ----------
    Alpaydin and Kaynak, "Optical Recognition of Handwritten Digits", UCI Machine Learning
    Repository, 1998 (CC BY 4.0); the 1797-image copy distributed with scikit-learn.

    Examples
    --------
    >>> x_train, y_train, x_test, y_test = load_digits()
    >>> x_train.shape, x_test.shape, float(x_train.max())
    ((1437, 64), (360, 64), 1.0)
    """
    import numpy as np

    with np.load(path("digits.npz")) as f:
        x = f["images"].reshape(-1, 64).astype(np.float32) / 16.0  # (1797, 64)
        y = f["labels"].astype(np.int64)
        train, test = f["train_idx"].astype(np.int64), f["test_idx"].astype(np.int64)
    return x[train], y[train], x[test], y[test]


#: The bundled trained digits models and their architectures (see digits_model).
DIGITS_MODELS = ("mlp", "cnn")


def digits_architecture(kind: str = "mlp"):
    """An untrained digits model: ``"mlp"`` (64-128-10, ReLU) or ``"cnn"`` (input [N, 1, 8, 8]).

    mlp: Linear(64, 128) - ReLU - Linear(128, 10).
    cnn: Conv2d(1, 16, 3, padding=1) - ReLU - Conv2d(16, 32, 3, stride=2, padding=1) - ReLU -
    Flatten - Linear(512, 10).
    """
    from torch import nn

    if kind == "mlp":
        return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    if kind == "cnn":
        return nn.Sequential(
            nn.Unflatten(1, (1, 8, 8)),  # accepts [N, 64] as well as [N, 1, 8, 8] after flatten
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
            nn.Flatten(), nn.Linear(512, 10),
        )
    raise ValueError(f"digits model kind must be one of {list(DIGITS_MODELS)}; got {kind!r}")


def digits_model(kind: str = "mlp", pretrained: bool = True):
    """A digits classifier as a float ``torch.nn.Module`` in eval mode.

    With ``pretrained=True`` the weights come from ``datasets/models/digits_<kind>.npz``,
    trained by ``datasets/models/train_digits.py`` (deterministic; see its docstring).
    Both models take ``[N, 64]`` inputs in [0, 1] (as :func:`load_digits` returns them).

    Examples
    --------
    >>> import torch
    >>> model = digits_model("mlp")
    >>> x_train, y_train, x_test, y_test = load_digits()
    >>> acc = (model(torch.from_numpy(x_test)).argmax(1).numpy() == y_test).mean()
    >>> bool(acc > 0.95)
    True
    """
    import numpy as np
    import torch

    model = digits_architecture(kind)
    if pretrained:
        with np.load(path(f"models/digits_{kind}.npz")) as f:
            state = {k: torch.from_numpy(f[k]) for k in f.files}
        model.load_state_dict(state)
    return model.eval()


def topology(name: str = "resnet18"):
    """A bundled SCALE-Sim topology by name (``"resnet18"``) as a list of layers."""
    from npulab.workloads import load_topology

    return load_topology(path(f"topologies/{name}.csv"))


#: Where a bundled workload of each kind lives (``resolve_workload``).
WORKLOAD_FOLDERS = {"topology": ("topologies", ".csv"), "llm": ("llm", ".json")}


def resolve_workload(spec, kinds=("topology", "llm")) -> Path | None:
    """The file a workload name or path stands for: the one way npulab resolves them.

    An existing file is returned as given; otherwise a bundled SCALE-Sim topology
    (``topologies/<spec>.csv``) or LLM config (``llm/<spec>.json``), in the order of
    ``kinds``; None when there is neither.

    >>> resolve_workload("resnet18").name, resolve_workload("llama-3.1-8b").suffix
    ('resnet18.csv', '.json')
    >>> resolve_workload("no-such-net") is None
    True
    """
    p = Path(str(spec))
    if p.exists():
        return p
    bundled = set(available())
    for kind in kinds:
        folder, suffix = WORKLOAD_FOLDERS[kind]
        name = f"{folder}/{spec}{suffix}"
        if name in bundled:
            return path(name)
    return None
