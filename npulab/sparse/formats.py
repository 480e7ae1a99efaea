"""Compressed tensor formats: CSR, CSC, COO, bitmap, run-length; exact round trips, byte counts.

Each format is a *fibertree* (Sze et al., *Efficient Processing of DNNs*, 2020, Ch. 8;
MIT 6.5930 / Sparseloop, Wu et al., MICRO 2022): a tensor is a tree of ranks, and each rank
has a format: ``U`` uncompressed (every coordinate present, an offset array ``ptr`` into the
next rank), ``C`` coordinate-compressed (only non-empty coordinates, each stored as an index),
``B`` bitmap (one presence bit per coordinate), ``R`` run-length (the zeros skipped before each
stored element).  The payload is the non-zero values.

Byte count of a tensor of ``S`` elements with ``nnz`` non-zeros (``v`` value bits, default the
dtype's width; ``i`` index bits, ``p`` pointer bits, ``r`` run bits are parameters):

========  ====================  ======================================  ====================
format    ranks (outer->inner)  metadata bits                           payload bits
========  ====================  ======================================  ====================
csr       U(rows) C(cols)       ``(rows + 1) * p + nnz * i``            ``nnz * v``
csc       U(cols) C(rows)       ``(cols + 1) * p + nnz * i``            ``nnz * v``
coo       C(all dims, flat)     ``nnz * ndim * i``                      ``nnz * v``
bitmap    B(all, flat)          ``S``                                   ``nnz * v``
rle       R(all, flat)          ``E * r``                               ``E * v``
========  ====================  ======================================  ====================

``E = nnz + fillers``: a run of zeros longer than ``2**r - 1`` is cut by storing an explicit
zero (a *filler*, as EIE does with its 4-bit relative index: Han et al., ISCA 2016, Sec. III),
one filler per ``2**r`` zeros skipped; zeros after the last non-zero are implied by the shape.
``nbytes = ceil(payload bits / 8) + ceil(metadata bits / 8)``.

A value is stored when it is not equal to 0 (so ``-0.0`` comes back as ``0.0``; NaN is stored).
All paths are vectorised numpy (no Python loop over elements).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["compress", "Compressed", "FORMATS", "format_bits"]

#: Formats and their fibertree ranks (outer to inner).
FORMATS = {"csr": "U(rows) C(cols)", "csc": "U(cols) C(rows)", "coo": "C(flat coordinates)",
           "bitmap": "B(flat)", "rle": "R(flat)"}


def _bits(owner: str, name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= 64:
        raise ValueError(f"{owner} {name} must be an int in [1, 64]; got {value!r}")
    return int(value)


def format_bits(fmt: str, shape, nnz: float, *, value_bits: int, index_bits: int = 32,
                pointer_bits: int = 32, run_bits: int = 4, entries: int | None = None) -> tuple:
    """``(payload bits, metadata bits)`` of a tensor in ``fmt`` (the table above).

    ``entries`` is the number of stored RLE entries (``nnz`` plus fillers); the other formats
    ignore it.  Also used by :mod:`npulab.sparse.density` with expected counts (floats).

    >>> format_bits("csr", (4, 8), 6, value_bits=8, index_bits=3, pointer_bits=4)
    (48, 38)
    """
    shape = tuple(shape)
    size = math.prod(shape)
    if fmt in ("csr", "csc"):
        outer = shape[0] if fmt == "csr" else shape[1]
        return nnz * value_bits, (outer + 1) * pointer_bits + nnz * index_bits
    if fmt == "coo":
        return nnz * value_bits, nnz * len(shape) * index_bits
    if fmt == "bitmap":
        return nnz * value_bits, size
    if fmt == "rle":
        e = nnz if entries is None else entries
        return e * value_bits, e * run_bits
    raise ValueError(f"compress format must be one of {sorted(FORMATS)}; got {fmt!r}")


@dataclass(frozen=True, repr=False)
class Compressed:
    """A tensor in a compressed format (build it with :func:`compress`).

    Attributes
    ----------
    format : str
        ``"csr"``, ``"csc"``, ``"coo"``, ``"bitmap"`` or ``"rle"``.
    shape : tuple of int
    dtype : numpy.dtype
    values : ndarray, shape (entries,)
        The payload: the non-zeros in the format's order (RLE: fillers included).
    metadata : dict of str to ndarray
        csr ``ptr`` (rows + 1), ``idx`` (nnz column indices); csc the same by column; coo
        ``coords`` (nnz, ndim); bitmap ``bits`` (packed bytes, ``numpy.packbits`` order); rle
        ``runs`` (entries).
    value_bits, index_bits, pointer_bits, run_bits : int
        Widths the byte count uses.

    Units: bits, bytes.
    """

    format: str
    shape: tuple
    dtype: np.dtype
    values: np.ndarray
    metadata: dict
    value_bits: int
    index_bits: int
    pointer_bits: int
    run_bits: int

    @property
    def nnz(self) -> int:
        """Non-zeros stored (RLE fillers excluded)."""
        if self.format == "rle":
            return int(np.count_nonzero(self.values))
        return int(self.values.size)

    @property
    def ranks(self) -> str:
        """The fibertree view: each rank's format, outer to inner."""
        return FORMATS[self.format]

    def _bits(self) -> tuple:
        return format_bits(self.format, self.shape, int(self.values.size),
                           value_bits=self.value_bits, index_bits=self.index_bits,
                           pointer_bits=self.pointer_bits, run_bits=self.run_bits,
                           entries=int(self.values.size))

    @property
    def payload_bytes(self) -> int:
        """``ceil(payload bits / 8)``."""
        return -(-self._bits()[0] // 8)

    @property
    def metadata_bytes(self) -> int:
        """``ceil(metadata bits / 8)``."""
        return -(-self._bits()[1] // 8)

    @property
    def nbytes(self) -> int:
        """Payload + metadata bytes (the module table)."""
        return self.payload_bytes + self.metadata_bytes

    @property
    def dense_nbytes(self) -> int:
        """Bytes of the dense tensor at ``value_bits`` per element."""
        return -(-math.prod(self.shape) * self.value_bits // 8)

    def to_dense(self) -> np.ndarray:
        """The dense tensor again (exact)."""
        out = np.zeros(math.prod(self.shape), self.dtype)
        md = self.metadata
        if self.format in ("csr", "csc"):
            outer, inner = self.shape if self.format == "csr" else self.shape[::-1]
            row0 = np.arange(0, outer * inner, inner, dtype=np.int64)   # flat start of each row
            starts = np.repeat(row0, np.diff(md["ptr"]))
            if self.format == "csr":
                out[starts + md["idx"]] = self.values
            else:                                                   # fill the transpose
                out = out.reshape(self.shape[::-1]).ravel()
                out[starts + md["idx"]] = self.values
                return out.reshape(self.shape[::-1]).T.copy()
        elif self.format == "coo":
            if self.values.size:
                out[np.ravel_multi_index(tuple(md["coords"].T), self.shape)] = self.values
        elif self.format == "bitmap":
            out[np.flatnonzero(np.unpackbits(md["bits"], count=out.size).view(bool))] = self.values
        else:
            out[np.cumsum(md["runs"].astype(np.int64) + 1) - 1] = self.values
        return out.reshape(self.shape)

    def __repr__(self) -> str:
        return (f"Compressed({self.format!r} [{self.ranks}], shape={self.shape}, nnz={self.nnz}, "
                f"nbytes={self.nbytes} = payload {self.payload_bytes} + metadata "
                f"{self.metadata_bytes}, dense {self.dense_nbytes})")


def _fits(name: str, largest: int, bits: int) -> None:
    if largest >= 2 ** bits:
        raise ValueError(f"compress {name}={bits} cannot hold {largest}; use at least "
                         f"{int(largest).bit_length()} bits")


def compress(x, fmt: str, *, value_bits: int | None = None, index_bits: int = 32,
             pointer_bits: int = 32, run_bits: int = 4) -> Compressed:
    """Compress ``x`` into ``fmt``; ``c.to_dense()`` gives ``x`` back exactly.

    Parameters
    ----------
    x : array_like
        Integer, float or bool tensor; ``csr``/``csc`` need 2-D, the others any ``ndim >= 1``.
    fmt : {"csr", "csc", "coo", "bitmap", "rle"}
    value_bits : int, optional
        Width of a stored value; default the dtype's (``8 * itemsize``).
    index_bits : int, default 32
        Width of a coordinate (csr/csc inner index, each coo coordinate).
    pointer_bits : int, default 32
        Width of a csr/csc offset.
    run_bits : int, default 4
        Width of an RLE run (EIE uses 4).

    Returns
    -------
    Compressed
        ``nbytes`` = payload + metadata (module table), ``to_dense()``.

    Units: bits, bytes.

    Examples
    --------
    >>> x = np.array([[0, 5, 0, 0], [0, 0, 0, 7]], np.int8)
    >>> c = compress(x, "csr", index_bits=2, pointer_bits=2)
    >>> c.metadata["ptr"].tolist(), c.metadata["idx"].tolist(), c.nbytes   # 2 + ceil(10/8)
    ([0, 1, 2], [1, 3], 4)
    >>> bool((c.to_dense() == x).all())
    True
    """
    x = np.asarray(x)
    if fmt not in FORMATS:
        raise ValueError(f"compress format must be one of {sorted(FORMATS)}; got {fmt!r}")
    if x.ndim == 0 or x.size == 0:
        raise ValueError(f"compress needs a non-empty array with ndim >= 1; got shape {x.shape}")
    if x.dtype.kind not in "biuf":
        raise ValueError(f"compress needs bool, integer or float values; got dtype {x.dtype}")
    if fmt in ("csr", "csc") and x.ndim != 2:
        raise ValueError(f"compress {fmt!r} needs a 2-D array; got shape {x.shape}")
    v = _bits("compress", "value_bits", 8 * x.dtype.itemsize if value_bits is None else value_bits)
    i, p, r = (_bits("compress", n, b) for n, b in
               (("index_bits", index_bits), ("pointer_bits", pointer_bits), ("run_bits", run_bits)))
    # csc is the csr of the transpose: walk x.T in C order
    flat = np.ascontiguousarray(x.T).ravel() if fmt == "csc" else x.ravel()
    mask = flat != 0
    pos = np.flatnonzero(mask)                                  # [nnz] positions in walk order
    common = dict(format=fmt, shape=tuple(x.shape), dtype=x.dtype, value_bits=v, index_bits=i,
                  pointer_bits=p, run_bits=r)
    if fmt in ("csr", "csc"):
        outer, inner = x.shape if fmt == "csr" else x.shape[::-1]
        # positions are sorted: row r's non-zeros start where its first position would go
        ptr = np.searchsorted(pos, np.arange(0, (outer + 1) * inner, inner, dtype=np.int64))
        _fits("index_bits", inner - 1, i)
        _fits("pointer_bits", int(ptr[-1]), p)
        # column = position - start of its row (cheaper than pos % inner)
        idx = pos - np.repeat(np.arange(0, outer * inner, inner, dtype=np.int64), np.diff(ptr))
        return Compressed(values=flat[pos], metadata={"ptr": ptr, "idx": idx}, **common)
    if fmt == "coo":
        _fits("index_bits", max(x.shape) - 1, i)
        coords = np.stack(np.unravel_index(pos, x.shape), axis=1)   # [nnz, ndim], C order
        return Compressed(values=flat[pos], metadata={"coords": coords}, **common)
    if fmt == "bitmap":
        return Compressed(values=flat[pos], metadata={"bits": np.packbits(mask)}, **common)
    gaps = np.diff(pos, prepend=-1) - 1                         # zeros before each non-zero
    span = 2 ** r                               # a filler covers 2**r - 1 zeros and itself
    fillers = gaps // span
    counts = fillers + 1
    last = np.cumsum(counts) - 1                                # where each non-zero's entry goes
    runs = np.full(int(counts.sum()), span - 1, np.int64)
    vals = np.zeros(runs.size, x.dtype)
    runs[last] = gaps % span
    vals[last] = flat[pos]
    return Compressed(values=vals, metadata={"runs": runs}, **common)
