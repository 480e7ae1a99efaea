"""Statistical density models: how many non-zeros a tile of a sparse tensor holds.

Sparseloop (Wu et al., "Sparseloop: an analytical approach to sparse tensor accelerator
modeling", MICRO 2022, Sec. IV-B) describes a tensor's sparsity by a *density model* and derives
every tile's occupancy from it instead of from the data:

* ``uniform``: ``K = floor(d * size + 1/2)`` non-zeros placed uniformly at random among the
  ``size`` positions.  The occupancy of a tile of ``S`` positions is hypergeometric::

      P(occ = k) = C(K, k) C(size - K, S - k) / C(size, S),   E[occ] = S * K / size,
      P(empty)   = C(size - K, S) / C(size, S) = prod_{j<S} (size - K - j) / (size - j)

* ``N:M`` (structured): each aligned group of ``M`` along the grouped axis holds exactly ``N``
  non-zeros; a tile covering ``a`` positions of a group (positions chosen uniformly, the model's
  assumption) holds a hypergeometric ``(M, N, a)`` count of them, so ``E[occ] = S * N / M`` and a
  tile spanning whole groups holds exactly that.  ``P(empty)`` of a tile spanning ``e < M``
  positions of each of ``g`` groups is ``(C(M - N, e) / C(M, e)) ** g``; 0 once ``e > M - N``.
* ``dense``: every position is non-zero.

The expected compressed size of a tile is linear in its occupancy for every format of
:mod:`npulab.sparse.formats` except RLE's fillers, so :func:`expected_format_bits` is
``format_bits`` at ``E[occ]`` (RLE: fillers not modelled, ``ValueError``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from npulab.sparse.formats import format_bits
from npulab.sparse.prune import parse_nm

__all__ = ["Density", "expected_format_bits", "hypergeom_pmf"]


def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def hypergeom_pmf(population: int, successes: int, draws: int) -> np.ndarray:
    """``P(k)`` for ``k = 0..draws`` of drawing ``draws`` of ``population`` without
    replacement when ``successes`` of them are non-zero.

    >>> hypergeom_pmf(4, 2, 2).round(4).tolist()
    [0.1667, 0.6667, 0.1667]
    """
    k = np.arange(draws + 1)
    ok = (k <= successes) & (draws - k <= population - successes)
    out = np.zeros(draws + 1)
    lc = _log_comb(population, draws)
    for j in k[ok]:
        out[j] = math.exp(_log_comb(successes, int(j))
                          + _log_comb(population - successes, draws - int(j)) - lc)
    return out


@dataclass(frozen=True)
class Density:
    """A tensor's density model (``uniform``, ``nm`` or ``dense``).

    Build it with :meth:`uniform`, :meth:`nm`, :meth:`dense` or :meth:`parse`
    (``"2:4"``, ``0.3``, ``None``).

    Attributes
    ----------
    kind : str
    density : float
        Fraction of non-zero positions (``N / M`` for ``nm``, 1 for ``dense``).
    n, m : int
        The N:M pattern (0 for the other kinds).

    Examples
    --------
    >>> d = Density.uniform(0.5)
    >>> d.expected_occupancy(8, 64), round(d.prob_empty(8, 64), 5)
    (4.0, 0.00238)
    >>> Density.parse("2:4").expected_occupancy(8, 64)
    4.0
    """

    kind: str
    density: float
    n: int = 0
    m: int = 0

    def __post_init__(self):
        if self.kind not in ("uniform", "nm", "dense"):
            raise ValueError(f"Density.kind must be one of ['dense', 'nm', 'uniform']; "
                             f"got {self.kind!r}")
        if not (isinstance(self.density, (int, float)) and 0 <= self.density <= 1):
            raise ValueError(f"Density.density must be a number in [0, 1]; got {self.density!r}")

    @classmethod
    def uniform(cls, density: float) -> "Density":
        """Uniform random non-zeros at ``density``."""
        if isinstance(density, bool) or not isinstance(density, (int, float)) \
                or not math.isfinite(density) or not 0 <= density <= 1:
            raise ValueError(f"Density.density must be a number in [0, 1]; got {density!r}")
        return cls("uniform", float(density))

    @classmethod
    def nm(cls, pattern: str) -> "Density":
        """Structured ``"N:M"``."""
        n, m = parse_nm(pattern)
        return cls("nm", n / m, n, m)

    @classmethod
    def dense(cls) -> "Density":
        """Every element non-zero (density 1.0, kind ``"dense"``)."""
        return cls("dense", 1.0)

    @classmethod
    def parse(cls, spec) -> "Density":
        """``None`` or ``1`` -> dense, ``"N:M"`` -> nm, a number in [0, 1] -> uniform."""
        if spec is None:
            return cls.dense()
        if isinstance(spec, Density):
            return spec
        if isinstance(spec, str) and ":" in spec:
            return cls.nm(spec)
        try:
            value = float(spec)
        except (TypeError, ValueError):
            raise ValueError(f"density must be 'N:M' or a number in [0, 1]; got {spec!r}") from None
        return cls.dense() if value == 1 else cls.uniform(value)

    def nonzeros(self, size: int) -> int:
        """Non-zeros of a tensor of ``size`` positions (uniform: ``floor(d * size + 1/2)``)."""
        if self.kind == "dense":
            return size
        if self.kind == "nm":
            return size * self.n // self.m
        return math.floor(self.density * size + 0.5)

    def expected_occupancy(self, tile: int, size: int) -> float:
        """``E[occ]`` of a tile of ``tile`` positions in a tensor of ``size``."""
        if self.kind == "nm":
            return tile * self.n / self.m
        return tile * self.nonzeros(size) / size

    def occupancy_pmf(self, tile: int, size: int) -> np.ndarray:
        """``P(occ = k)``, ``k = 0..tile`` (uniform: hypergeometric; nm: whole groups)."""
        if self.kind == "dense":
            out = np.zeros(tile + 1)
            out[tile] = 1.0
            return out
        if self.kind == "nm":
            if tile % self.m:
                raise ValueError(f"Density.occupancy_pmf of an N:M tensor needs a tile of whole "
                                 f"groups (a multiple of {self.m}); got {tile}")
            out = np.zeros(tile + 1)
            out[tile * self.n // self.m] = 1.0
            return out
        return hypergeom_pmf(size, self.nonzeros(size), tile)

    def prob_empty(self, tile: int, size: int, group_extent: int | None = None) -> float:
        """Probability that a tile holds no non-zero.

        ``group_extent`` (``nm`` only): positions of each group the tile covers (default: whole
        groups, ``m``); the tile spans ``tile / group_extent`` groups.
        """
        if self.kind == "dense":
            return 0.0 if tile else 1.0
        if self.kind == "nm":
            e = self.m if group_extent is None else min(group_extent, self.m)
            if e > self.m - self.n:
                return 0.0
            per_group = math.exp(_log_comb(self.m - self.n, e) - _log_comb(self.m, e))
            return per_group ** (tile // e)
        K = self.nonzeros(size)
        if tile > size - K:
            return 0.0
        return math.exp(_log_comb(size - K, tile) - _log_comb(size, tile))


def expected_format_bits(fmt: str, shape, density: Density, tensor_size: int | None = None, *,
                         value_bits: int, **widths) -> tuple:
    """Expected ``(payload bits, metadata bits)`` of a tile of ``shape`` in ``fmt``.

    ``tensor_size`` is the whole tensor's size (uniform model; default the tile's own).
    Exact in expectation: every format but RLE is linear in the occupancy.

    >>> expected_format_bits("bitmap", (4, 4), Density.uniform(0.25), value_bits=8)
    (32.0, 16)
    """
    if fmt == "rle":
        raise ValueError("expected_format_bits does not model RLE fillers; use 'csr', 'csc', "
                         "'coo' or 'bitmap'")
    size = math.prod(shape)
    occ = density.expected_occupancy(size, tensor_size or size)
    return format_bits(fmt, shape, occ, value_bits=value_bits, **widths)
