"""Reference cost model: walk every iteration of the loop nest and count data movement.

This is the model a student reads.  It runs one MAC per step of the full nest and, at each
step, asks every memory level which tile of each operand it must hold.  When that changes,
data moves:

* inputs / weights: the new tile is *filled* from the nearest parent level that holds the
  operand; PEs that receive the same tile at the same step share one parent read
  (multicast);
* outputs: the old tile is *drained* (its partial sums read out and written to the parent;
  PEs holding the same output tile at the same step are reduced into one write); if the new
  tile was visited before, its partial sums are read back from the parent (a *refill*,
  delivered once per reduction group);
* every MAC reads one word of each input operand and writes one partial sum at the
  innermost level holding it, reading it first unless the word starts from zero (first
  update since a tile was loaded without a refill); all merged across PEs that touch the
  same word in the same step.

A tile is identified by the loop indices above the level on the dims relevant to the
operand (no sliding-window reuse between different input tiles).  Counting is therefore
exact and slow: use it for small shapes; :mod:`npulab.tiling.model` gives the same numbers in
closed form (the tests prove it).

Units: words.
"""
from __future__ import annotations

import itertools

from npulab.tiling.problem import OPERANDS


def _nest(mapping):
    """All loops outer to inner as ``(dim, factor, level, is_spatial)``, plus each loop's
    stride in its dim (product of the same dim's factors inside it)."""
    arch = mapping.arch
    loops = []
    for i, level_loops in enumerate(mapping.temporal):
        order = [d for d, _ in level_loops] + [d for d in mapping.problem.dims
                                               if d not in dict(level_loops)]
        fac = dict(level_loops)
        loops += [(d, fac.get(d, 1), i, False) for d in order]
        if i == arch.spatial_level:
            loops += [(d, f, i, True) for d, f in mapping.spatial_rows + mapping.spatial_cols]
    return loops


def reference_counts(mapping) -> dict:
    """Reads, writes and fills per level and operand by walking every MAC of the nest.

    Parameters
    ----------
    mapping : Mapping

    Returns
    -------
    dict
        ``{level name: {operand: {"reads": int, "writes": int, "fills": int}}}``.

    Units: words.
    """
    arch, problem = mapping.arch, mapping.problem
    L = len(arch.levels)
    loops = _nest(mapping)
    temporal_pos = [k for k, lp in enumerate(loops) if not lp[3]]
    spatial_pos = [k for k, lp in enumerate(loops) if lp[3]]
    count = {lv: {op: {"reads": 0, "writes": 0, "fills": 0} for op in OPERANDS} for lv in arch.level_names}
    names = arch.level_names
    held = {op: [i for i in range(L) if op not in mapping.bypass[i]] for op in OPERANDS}
    tile_words = {(i, op): mapping.tile(i, op) for i in range(L) for op in OPERANDS}
    current: dict = {}    # (level, operand, instance) -> tile id held now
    first_visit: dict = {}  # (level, tile id) -> time an output tile was first visited
    zero_start = {}       # output instance -> True if its current tile started from zero
    touched: dict = {}    # output instance -> words updated since its tile was loaded
    events: set = set()   # (kind, level, time, tile id): one parent transfer per distinct event

    # loop positions above each level (the array's loops count if it sits above the level)
    positions_above = {i: [k for k, lp in enumerate(loops) if lp[2] < i] for i in range(L)}

    def tile_id(i, op, idx):
        rel = problem.relevant(op)
        return tuple(idx[k] for k in positions_above[i] if loops[k][0] in rel)

    def instance(i, idx):
        return tuple(idx[k] for k in spatial_pos) if arch.spatial_level < i else ()

    def time(i, idx):
        return tuple(idx[k] for k in positions_above[i] if not loops[k][3])

    def parent(op, i):
        h = held[op]
        return h[h.index(i) - 1] if h.index(i) > 0 else None

    def drain(i, op, t, when, idx):
        count[names[i]][op]["reads"] += tile_words[i, op]
        event = ("drain", op, i, when, t, instance(parent(op, i), idx))
        if event not in events:                             # reduced across PEs
            events.add(event)
            count[names[parent(op, i)]][op]["writes"] += tile_words[i, op]

    for tidx in itertools.product(*(range(loops[k][1]) for k in temporal_pos)):
        for sidx in itertools.product(*(range(loops[k][1]) for k in spatial_pos)):
            idx = [0] * len(loops)
            for k, v in zip(temporal_pos, tidx):
                idx[k] = v
            for k, v in zip(spatial_pos, sidx):
                idx[k] = v
            for op in OPERANDS:
                for i in held[op][1:]:                      # DRAM always holds everything
                    key, t, when = (i, op, instance(i, idx)), tile_id(i, op, idx), time(i, idx)
                    if current.get(key) == t:
                        continue
                    p = names[parent(op, i)]
                    if op != "outputs":
                        count[names[i]][op]["fills"] += tile_words[i, op]
                        count[names[i]][op]["writes"] += tile_words[i, op]
                        event: tuple = ("fill", op, i, when, t, instance(parent(op, i), idx))
                        if event not in events:             # multicast
                            events.add(event)
                            count[p][op]["reads"] += tile_words[i, op]
                    else:
                        if key in current:
                            drain(i, op, current[key], when, idx)
                        revisit = first_visit.setdefault((i, t), when) != when
                        refilled = revisit and ("refill", op, i, when, t) not in events
                        if refilled:
                            events.add(("refill", op, i, when, t))   # once per reduction group
                            count[names[i]][op]["fills"] += tile_words[i, op]
                            count[names[i]][op]["writes"] += tile_words[i, op]
                            count[p][op]["reads"] += tile_words[i, op]
                        zero_start[key] = not refilled
                        touched[key] = set()
                    current[key] = t
            # the MAC itself: one word of each operand at the innermost level holding it
            step = tuple(tidx)
            coord: dict[str, int] = {}
            for (d, f, _lv, _sp), v in zip(loops, idx):
                coord[d] = coord.get(d, 0) * f + v
            for op in OPERANDS:
                b = held[op][-1]
                word = tuple(coord[d] for d in problem.relevant(op))
                event = ("mac", op, step, word, instance(b, idx))
                if event in events:                         # multicast / spatial reduction
                    continue
                events.add(event)
                if op != "outputs":
                    count[names[b]][op]["reads"] += 1
                    continue
                key = (b, op, instance(b, idx))
                fresh = zero_start.get(key, True) and word not in touched.setdefault(key, set())
                touched[key].add(word)
                if not fresh:                               # a zero psum needs no read
                    count[names[b]][op]["reads"] += 1
                count[names[b]][op]["writes"] += 1
    for (i, op, inst), t in sorted(current.items(), key=str):   # final write-back of outputs
        if op == "outputs":
            drain(i, op, t, "end", _spatial_index(loops, spatial_pos, inst, arch.spatial_level < i))
    return count


def _spatial_index(loops, spatial_pos, inst, has):
    """A full index vector whose spatial entries are ``inst`` (for the final drains)."""
    idx = [0] * len(loops)
    if has:
        for k, v in zip(spatial_pos, inst):
            idx[k] = v
    return idx
