"""The one Pareto definition of npulab: minimise every objective, keep every tie.

A point ``a`` **dominates** ``b`` when it is no worse in every objective and strictly better in
at least one (all objectives are minimised; negate one to maximise it).  The **Pareto front**
of a set of points is the set of points that no other point dominates.

Duplicates are all kept.  Two equal points do not dominate each other, so by the definition
both are on the front when neither is dominated; keeping one of them would need a tie-break
rule (first index? lowest student id?) that the definition does not give, would make the
front depend on the order of the input, and on a leaderboard would mark one of two students
with identical designs and not the other.  A caller that wants one representative per
distinct point (the tiler's mapping search) picks it *after* the front is found.

``inf`` is worse than every finite value (a design that cannot keep up has power ``inf``);
``NaN`` has no order and is a ``ValueError``.

This module is used by Lab 08 (the capstone's Pareto plot and leaderboard,
:mod:`npulab.perf.capstone`), by :func:`npulab.perf.sweep.pareto_front` and by the tiler's
search (:func:`npulab.tiling.search`).

Reference: K. Deb, *Multi-Objective Optimization Using Evolutionary Algorithms*, Wiley 2001,
Sec. 2.4 (domination, the non-dominated set).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

__all__ = ["dominates", "pareto_front"]


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """True when ``a`` is no worse than ``b`` in every objective and better in one (minimised).

    >>> dominates([1, 2], [1, 3]), dominates([1, 3], [1, 3]), dominates([0, 4], [1, 3])
    (True, False, False)
    """
    if len(a) != len(b):
        raise ValueError(
            f"dominates: points must have the same number of objectives; got {len(a)} and {len(b)}"
        )
    return all(x <= y for x, y in zip(a, b, strict=True)) and any(
        x < y for x, y in zip(a, b, strict=True)
    )


def _as_array(points) -> np.ndarray:
    """``points`` as an ``(n, k)`` float array; one-line ``ValueError`` when it is not one."""
    try:
        arr = np.asarray(points, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(
            "pareto_front: points must be a list of equal-length lists of numbers"
        ) from None
    if arr.size == 0:
        return arr.reshape(0, 0)
    if arr.ndim != 2 or arr.shape[1] < 1:
        raise ValueError(
            f"pareto_front: points must be an (n, k) table of numbers; got shape {arr.shape}"
        )
    bad = np.argwhere(np.isnan(arr))
    if len(bad):
        i, j = (int(v) for v in bad[0])
        raise ValueError(f"pareto_front: point {i} has NaN in objective {j}; NaN has no order")
    return arr


def _front_pairwise(arr: np.ndarray) -> list[int]:
    """The reference: every point checked against every other point, ``O(n^2 k)``."""
    rows = [tuple(float(v) for v in row) for row in arr]
    return [
        i
        for i, p in enumerate(rows)
        if not any(dominates(q, p) for j, q in enumerate(rows) if j != i)
    ]


def _front_sweep(arr: np.ndarray) -> list[int]:
    """Two objectives in ``O(n log n)``: by rising ``x`` (then ``y``), a point is on the front
    when its ``y`` is below every ``y`` seen at a smaller ``x`` or equals the last front point."""
    order = np.lexsort((arr[:, 1], arr[:, 0]))
    front: list[int] = []
    best_y = math.inf
    last = None
    for k in order:
        x, y = float(arr[k, 0]), float(arr[k, 1])
        if last is None or y < best_y or (x, y) == last:  # the first point is never dominated
            front.append(int(k))
            best_y, last = y, (x, y)
    return sorted(front)


def pareto_front(points, *, method: str = "auto") -> list[int]:
    """Indices (ascending) of the points no other point dominates; every objective minimised.

    Parameters
    ----------
    points : sequence of sequences of float, shape (n, k)
        One row per point, one column per objective (e.g. ``[power_w, plan_s]``).  ``inf``
        is allowed (worse than any finite value); ``NaN`` is a ``ValueError``.
    method : {"auto", "pairwise", "sweep"}, default "auto"
        ``"pairwise"`` checks every pair (the readable reference, any ``k``); ``"sweep"``
        sorts once (``k == 2`` only); ``"auto"`` picks the sweep for two objectives.  Both
        give the same indices (tested).

    Returns
    -------
    list of int
        Sorted indices into ``points``.  Equal points are all kept (see the module
        docstring for why).

    Examples
    --------
    >>> pareto_front([[1, 5], [2, 3], [3, 4], [4, 1], [2, 3]])
    [0, 1, 3, 4]
    >>> pareto_front([[0.3, 1.0, 2.0], [0.2, 1.0, 2.0], [0.2, 0.9, 9.0]])
    [1, 2]
    """
    arr = _as_array(points)
    if arr.shape[0] == 0:
        return []
    if method not in ("auto", "pairwise", "sweep"):
        raise ValueError(
            f"pareto_front: method must be 'auto', 'pairwise' or 'sweep'; got {method!r}"
        )
    if method == "sweep" and arr.shape[1] != 2:
        raise ValueError(f"pareto_front: method 'sweep' needs 2 objectives; got {arr.shape[1]}")
    if method == "sweep" or (method == "auto" and arr.shape[1] == 2):
        return _front_sweep(arr)
    return _front_pairwise(arr)
