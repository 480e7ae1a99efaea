"""Read SCALE-Sim topology CSV files into :class:`Gemm` / :class:`Conv2d` layers.

SCALE-Sim (v2, v3.0.0) topologies come in two formats, both with a header line and a
trailing comma on every row::

    Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,
    Conv1, 224, 224, 7, 7, 3, 64, 2,

    Layer, M, N, K,
    QKV, 512, 768, 768,

A GEMM row ``name, M, N, K`` is ``A[M, K] @ B[K, N]``.  Spaces around fields and the
trailing comma are tolerated; blank lines are skipped.  A malformed row raises
``ValueError`` naming the file, the line and the field.
"""
from __future__ import annotations

import csv
from pathlib import Path

from npulab.workloads.layers import Conv2d, Gemm, Workload

CONV_FIELDS = (
    "Layer name",
    "IFMAP Height",
    "IFMAP Width",
    "Filter Height",
    "Filter Width",
    "Channels",
    "Num Filter",
    "Strides",
)
GEMM_FIELDS = ("Layer", "M", "N", "K")


def _rows(path: Path):
    """Yield ``(line_number, fields)`` of non-blank rows, trailing empty fields dropped."""
    from npulab._io import read_text

    text = read_text(path, "topology file")      # UTF-8, size-bounded, the file named on failure
    reader = csv.reader(text.splitlines(), skipinitialspace=True)
    lineno = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            raise ValueError(f"{path} line {lineno + 1}: not CSV ({err})") from None
        lineno += 1
        fields = [f.strip() for f in row]
        while fields and fields[-1] == "":
            fields.pop()
        if fields:
            yield lineno, fields


def _detect(header: list[str]) -> str:
    """``"gemm"`` when the header is ``Layer, M, N, K``, else ``"conv"``."""
    names = [h.strip().lower() for h in header]
    return "gemm" if names[1:4] == ["m", "n", "k"] else "conv"


def _int_field(where: str, field: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < 1:
        raise ValueError(f"{where}: field '{field}' must be a positive integer; got {text!r}")
    return value


def load_topology(path, kind: str = "auto") -> list[Workload]:
    """Load a SCALE-Sim topology CSV.

    Parameters
    ----------
    path : str or Path
        The CSV file.
    kind : {"auto", "conv", "gemm"}, default "auto"
        The row format; ``"auto"`` reads it from the header (``Layer, M, N, K`` is GEMM).

    Returns
    -------
    list of Gemm or Conv2d
        One layer per row, in file order, named by the first field.

    Raises
    ------
    ValueError
        ``"<file> line <n>: field '<name>' must be a positive integer; got 'x'"`` and
        similar one-line messages for missing fields or impossible shapes.
    """
    path = Path(path)
    if kind not in ("auto", "conv", "gemm"):
        raise ValueError(f"kind must be one of ['auto', 'conv', 'gemm']; got {kind!r}")
    if not path.is_file():
        raise ValueError(f"topology file not found: {path}")
    rows = list(_rows(path))
    if not rows:
        raise ValueError(f"{path}: empty topology file (expected a header line and rows)")
    (_, header), body = rows[0], rows[1:]
    if kind == "auto":
        kind = _detect(header)
    fields = GEMM_FIELDS if kind == "gemm" else CONV_FIELDS
    layers: list[Workload] = []
    for lineno, row in body:
        where = f"{path.name} line {lineno}"
        if len(row) < len(fields):
            missing = fields[len(row)]
            raise ValueError(
                f"{where}: missing field '{missing}' (expected {len(fields)} fields: "
                f"{', '.join(fields)}; got {len(row)})"
            )
        values = [_int_field(where, f, t) for f, t in zip(fields[1:], row[1 : len(fields)])]
        try:
            layer: Gemm | Conv2d
            if kind == "gemm":
                layer = Gemm(values[0], values[1], values[2], name=row[0])
            else:
                ifmap_h, ifmap_w, filter_h, filter_w, channels, num_filters, stride = values
                layer = Conv2d(ifmap_h, ifmap_w, filter_h, filter_w, channels, num_filters,
                               stride, name=row[0])
        except ValueError as err:
            raise ValueError(f"{where}: {err}") from None
        layers.append(layer)
    if not layers:
        raise ValueError(f"{path}: no layers after the header line")
    return layers


def save_topology(layers, path) -> Path:
    """Write layers as a SCALE-Sim topology CSV (all GEMM or all conv); returns the path."""
    path = Path(path)
    layers = list(layers)
    if not layers:
        raise ValueError("save_topology needs at least one layer")
    is_gemm = isinstance(layers[0], Gemm)
    if any(isinstance(x, Gemm) != is_gemm for x in layers):
        raise ValueError("save_topology: layers must be all Gemm or all Conv2d")
    lines = [", ".join(GEMM_FIELDS if is_gemm else CONV_FIELDS) + ","]
    for i, x in enumerate(layers):
        name = x.name or f"layer{i}"
        vals: tuple[int, ...]
        if is_gemm:
            vals = (x.M, x.N, x.K)
        else:
            vals = (x.ifmap_h, x.ifmap_w, x.filter_h, x.filter_w, x.channels, x.num_filters, x.stride)
        lines.append(", ".join([name, *map(str, vals)]) + ",")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
