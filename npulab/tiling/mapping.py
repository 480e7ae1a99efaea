"""A mapping: how a problem's loop nest is split across the levels and the PE array.

For every memory level (outermost first) a list of *temporal* loops ``(dim, factor)`` in
loop order (outer to inner); *spatial* factors unrolled over the PE array's rows and cols
just below ``arch.spatial_level``; and optionally a set of operands each level *bypasses*
(does not store).  For every dim the factors over all levels and the array multiply to the
dim's size (perfect factorisation, as in Timeloop's default and the Eyeriss papers).

The tile a level holds covers the loops of that level and of every level inside it (plus
the spatial loops if the array is below it); ``print(mapping)`` shows the nest::

    DRAM  for K2 in [0:4)
    GLB     for P1 in [0:7)
              par-for Cr in [0:3)  (rows)
    RF          for S0 in [0:3)
                  MAC

(loop ``X2`` runs at level DRAM, ``X0`` in the PE; ``Xr``/``Xc`` are unrolled on rows/cols).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from npulab.tiling.problem import OPERANDS

if TYPE_CHECKING:  # annotations only
    from npulab.hw.hierarchy import Architecture
    from npulab.tiling.problem import Problem


@dataclass(frozen=True)
class Mapping:
    """Temporal factors and loop order per level, spatial factors, and bypass.

    Use :meth:`build` to make one from dicts; construction validates everything and raises
    ``ValueError`` naming the level and operand when factors do not multiply to a dim's size
    or a tile does not fit.

    Parameters
    ----------
    problem : Problem
    arch : Architecture
    temporal : tuple of tuple of (str, int)
        One entry per level of ``arch.levels``: its loops, outer to inner.
    spatial_rows, spatial_cols : tuple of (str, int)
        Dims unrolled over the array rows / cols (their product must fit).
    bypass : tuple of frozenset
        Per level, the operands it does not store (DRAM stores everything).
    """

    problem: Problem
    arch: Architecture
    temporal: tuple
    spatial_rows: tuple = ()
    spatial_cols: tuple = ()
    bypass: tuple = ()

    @classmethod
    def build(cls, problem, arch, temporal, spatial=None, bypass=None) -> "Mapping":
        """Make a mapping from dicts.

        Parameters
        ----------
        temporal : dict
            ``{level name: [(dim, factor), ...]}`` outer to inner, or ``{level: {dim: factor}}``;
            levels left out have no loops.
        spatial : dict, optional
            ``{"rows": {dim: factor}, "cols": {dim: factor}}``.
        bypass : dict, optional
            ``{level name: ["inputs", ...]}``.

        Examples
        --------
        >>> from npulab.tiling import Problem, tpu_like
        >>> m = Mapping.build(Problem.gemm(4, 4, 8), tpu_like(rows=4, cols=4),
        ...                   {"REG": [("K", 8)]}, spatial={"rows": {"M": 4}, "cols": {"N": 4}},
        ...                   bypass={"REG": ["inputs", "weights"]})
        >>> print(m)
        DRAM
        SRAM  par-for Mr in [0:4)  (rows)
                par-for Nc in [0:4)  (cols)
        REG       for K0 in [0:8)
                    MAC
        (REG bypasses inputs, weights)
        """
        from npulab.hw.hierarchy import as_architecture

        arch = as_architecture(arch)
        names = arch.level_names
        for lv in temporal:
            arch.level_index(lv)
        for lv in (bypass or {}):
            arch.level_index(lv)
        temp = []
        for lv in names:
            loops = temporal.get(lv, ())
            loops = tuple(loops.items()) if isinstance(loops, dict) else tuple(tuple(x) for x in loops)
            temp.append(loops)
        spatial = spatial or {}
        for axis in spatial:
            if axis not in ("rows", "cols"):
                raise ValueError(f"Mapping spatial axis must be 'rows' or 'cols'; got {axis!r}")
        rows = tuple(dict(spatial.get("rows", {})).items())
        cols = tuple(dict(spatial.get("cols", {})).items())
        byp = tuple(frozenset((bypass or {}).get(lv, ())) for lv in names)
        return cls(problem, arch, tuple(temp), rows, cols, byp)

    def __post_init__(self):
        p, a = self.problem, self.arch
        L = len(a.levels)
        if len(self.temporal) != L:
            raise ValueError(f"Mapping.temporal must have one entry per level ({L}); "
                             f"got {len(self.temporal)}")
        if not self.bypass:
            object.__setattr__(self, "bypass", tuple(frozenset() for _ in range(L)))
        object.__setattr__(self, "bypass", tuple(frozenset(b) for b in self.bypass))
        for i, (lv, loops) in enumerate(zip(a.levels, self.temporal)):
            seen = set()
            for d, f in loops:
                self._check_loop(f"level {lv.name!r}", d, f)
                if d in seen:
                    raise ValueError(f"Mapping level {lv.name!r} has two loops over dim {d!r}")
                seen.add(d)
            for op in self.bypass[i]:
                if op not in OPERANDS:
                    raise ValueError(f"Mapping level {lv.name!r} bypass must name operands "
                                     f"{list(OPERANDS)}; got {op!r}")
        if self.bypass[0]:
            raise ValueError(f"Mapping level {a.levels[0].name!r} (the backing store) cannot "
                             f"bypass {sorted(self.bypass[0])}")
        for axis, loops, limit, allowed in (("rows", self.spatial_rows, a.rows, a.row_dims),
                                            ("cols", self.spatial_cols, a.cols, a.col_dims)):
            prod = 1
            for d, f in loops:
                self._check_loop(f"spatial {axis}", d, f)
                if allowed is not None and f > 1 and d not in allowed:
                    raise ValueError(f"Mapping spatial {axis}: the array cannot unroll dim {d!r} "
                                     f"on its {axis} (allowed: {list(allowed)})")
                prod *= f
            if prod > limit:
                raise ValueError(f"Mapping spatial {axis} factors multiply to {prod}, more than "
                                 f"the array's {limit} {axis}")
        fac = self.factors()
        for j, d in enumerate(p.dims):
            got = int(np.prod(fac[:, j]))
            if got != p.size[d]:
                parts = " x ".join(f"{n} {int(x)}" for n, x in
                                   zip(list(a.level_names) + ["rows", "cols"], fac[:, j]))
                raise ValueError(f"Mapping factors of dim {d!r} multiply to {got}, not its size "
                                 f"{p.size[d]} ({parts})")
        self._check_capacity()

    def _check_loop(self, where, d, f):
        if d not in self.problem.dims:
            raise ValueError(f"Mapping {where}: unknown dim {d!r}; dims are {list(self.problem.dims)}")
        if isinstance(f, bool) or not isinstance(f, (int, np.integer)) or f < 1:
            raise ValueError(f"Mapping {where}: factor of {d!r} must be an int >= 1; got {f!r}")

    def _check_capacity(self):
        for i, lv in enumerate(self.arch.levels):
            if lv.capacity is None:
                continue
            held = [op for op in OPERANDS if op not in self.bypass[i]]
            if lv.shared:
                words = {op: self.tile(i, op) for op in held}
                if sum(words.values()) > lv.capacity:
                    detail = " + ".join(f"{op} {w}" for op, w in words.items())
                    raise ValueError(f"Mapping level {lv.name!r}: tiles ({detail}) = "
                                     f"{sum(words.values())} words exceed its capacity of "
                                     f"{lv.capacity} words")
            else:
                for op in held:
                    cap, w = lv.capacity_of(op), self.tile(i, op)
                    if w > cap:
                        raise ValueError(f"Mapping level {lv.name!r} operand {op!r}: tile of {w} "
                                         f"words exceeds its capacity of {cap} words"
                                         + (" (bypass it instead)" if cap == 0 else ""))

    # -- views -----------------------------------------------------------------------------
    def factors(self) -> np.ndarray:
        """Factor table ``[levels + 2, dims]``: temporal per level, then spatial rows, cols."""
        p, L = self.problem, len(self.arch.levels)
        fac = np.ones((L + 2, len(p.dims)), dtype=np.int64)
        idx = {d: j for j, d in enumerate(p.dims)}
        for i, loops in enumerate(self.temporal):
            for d, f in loops:
                fac[i, idx[d]] = f
        for d, f in self.spatial_rows:
            fac[L, idx[d]] *= f
        for d, f in self.spatial_cols:
            fac[L + 1, idx[d]] *= f
        return fac

    def orders(self) -> np.ndarray:
        """Loop order ``[levels, dims]`` (dim indices outer to inner; unlisted dims last)."""
        p = self.problem
        idx = {d: j for j, d in enumerate(p.dims)}
        out = []
        for loops in self.temporal:
            listed = [idx[d] for d, _ in loops]
            out.append(listed + [j for j in range(len(p.dims)) if j not in listed])
        return np.array(out, dtype=np.int64)

    def extent(self, level) -> dict:
        """Per-dim extent of the tile held at ``level`` (loops at and inside it)."""
        i = self.arch.level_index(level)
        fac = self.factors()
        cov = np.prod(fac[i:len(self.arch.levels)], axis=0)
        if self.arch.spatial_level >= i:
            cov = cov * fac[-2] * fac[-1]
        return {d: int(c) for d, c in zip(self.problem.dims, cov)}

    def tile(self, level, operand: str) -> int:
        """Words of ``operand`` in one instance of ``level``'s tile.  Units: words."""
        return self.problem.footprint(operand, self.extent(level))

    def evaluate(self):
        """Cost of this mapping by the closed-form model (:func:`npulab.tiling.evaluate`)."""
        from npulab.tiling.model import evaluate

        return evaluate(self)

    def __str__(self) -> str:
        a = self.arch
        tags = list(a.level_names)
        width = max(len(t) for t in tags) + 2
        lines, depth = [], 0
        for i, (_lv, loops) in enumerate(zip(a.levels, self.temporal)):
            tag = tags[i]
            body = [(f"for {d}{len(a.levels) - 1 - i} in [0:{f})", "") for d, f in loops if f > 1]
            if i == a.spatial_level:
                body += [(f"par-for {d}r in [0:{f})", "  (rows)") for d, f in self.spatial_rows if f > 1]
                body += [(f"par-for {d}c in [0:{f})", "  (cols)") for d, f in self.spatial_cols if f > 1]
            if not body:
                lines.append(tag)
            for k, (text, note) in enumerate(body):
                head = tag if k == 0 else ""
                lines.append(f"{head:<{width}}" + "  " * depth + text + note)
                depth += 1
        lines.append(" " * width + "  " * depth + "MAC")
        lines += [f"({lv.name} bypasses {', '.join(sorted(b))})" for lv, b in zip(a.levels, self.bypass) if b]
        return "\n".join(line.rstrip() if line.strip() else line for line in lines)

    def __repr__(self) -> str:
        return f"Mapping({self.problem}, {self.arch.name})\n{self}"
