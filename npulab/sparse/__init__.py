"""Sparsity: pruning, compressed formats and statistical density models (numpy only).

A shared library at the input level, like :mod:`npulab.quant`: it imports no engine and no
``perf``; engines (systolic zero-skipping, the tiler's density-aware traffic) import it.

* :mod:`~npulab.sparse.prune`: :func:`prune` (``"N:M"``, ``"unstructured"``, ``"channel"``),
  :func:`nm_mask`, :func:`is_nm_sparse`.
* :mod:`~npulab.sparse.formats`: :func:`compress` -> :class:`Compressed` (csr, csc, coo,
  bitmap, rle; ``nbytes`` = payload + metadata; ``to_dense()``), :func:`format_bits`.
* :mod:`~npulab.sparse.density`: :class:`Density` models (uniform random: hypergeometric
  occupancy of a tile; structured N:M) and expected compressed sizes (Sparseloop's approach).

Examples
--------
>>> import numpy as np
>>> from npulab.sparse import prune, compress
>>> w = prune(np.array([[4, -1, 3, 2, 0, 5, -6, 1]], np.int8), "2:4")
>>> w.tolist()
[[4, 0, 3, 0, 0, 5, -6, 0]]
>>> c = compress(w, "bitmap"); c.nbytes, bool((c.to_dense() == w).all())
(5, True)
"""
from __future__ import annotations

from npulab.sparse.density import Density, expected_format_bits
from npulab.sparse.formats import FORMATS, Compressed, compress, format_bits
from npulab.sparse.prune import PATTERNS, is_nm_sparse, nm_mask, parse_nm, prune

__all__ = ["prune", "nm_mask", "is_nm_sparse", "parse_nm", "PATTERNS", "compress", "Compressed",
           "FORMATS", "format_bits", "Density", "expected_format_bits"]
