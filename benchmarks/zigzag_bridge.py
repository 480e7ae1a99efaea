"""npulab <-> ZigZag 3.9.1 (KU Leuven; Mei et al., IEEE TC 2021): one translation of a problem,
an architecture and a mapping into ZigZag's YAML inputs, for the cross-check test
(``tests/tiling/test_tiling_zigzag.py``) and ``benchmarks/tiling_mapper.py``.

Not a benchmark itself (``make bench`` runs it as a no-op).  ZigZag names: a conv is
``O[b][k][oy][ox] += W[k][c][fy][fx] * I[b][c][iy][ix]`` and a GEMM (M, N, K) is
``O[b][k] += W[k][c] * I[b][c]``; memory operands I1 (inputs), I2 (weights), O (outputs).

* :func:`search` runs ZigZag's LOMA temporal search on the architecture's own memories (an
  operand-split capacity becomes one memory per operand, a shared one a single memory).
* :func:`pinned` evaluates one npulab :class:`~npulab.tiling.Mapping` in ZigZag's model: a
  complete ``temporal_ordering`` plus ``spatial_mapping`` pins the loops, and one memory per
  operand and level sized exactly to the npulab tile pins the level boundaries (ZigZag's
  allocator fills each memory bottom-up with as many loops as fit).  Per-word energies are the
  architecture's, so ``cme.energy_total`` is ZigZag's energy of npulab's mapping.
* :func:`to_npulab` turns a ZigZag result back into an npulab mapping (same loop nest and
  spatial unrolling; npulab has one level boundary for all operands, ZigZag one per operand).
"""
from __future__ import annotations

import logging
from pathlib import Path

#: npulab dim -> ZigZag loop dim, per problem kind.
DIMS = {"conv": {"N": "B", "K": "K", "C": "C", "P": "OY", "Q": "OX", "R": "FY", "S": "FX"},
        "gemm": {"M": "B", "N": "K", "K": "C"}}
#: npulab operand -> (ZigZag layer operand, memory operand).
OPERANDS = {"inputs": ("I", "I1"), "weights": ("W", "I2"), "outputs": ("O", "O")}


def memory(words: int, mem_ops, served, read_pJ: float, write_pJ: float, bits: int = 8) -> dict:
    """One ZigZag memory of ``words`` words; ports one word wide, so one access = one word."""
    ports, k = [], 0
    for op in mem_ops:
        k += 2
        w = ["O, fh", "O, fl"] if op == "O" else [f"{op}, fh"]
        r = ["O, tl", "O, th"] if op == "O" else [f"{op}, tl"]
        ports += [{"name": f"w_port_{k}", "type": "write", "bandwidth_min": bits, "bandwidth_max": bits,
                   "allocation": w},
                  {"name": f"r_port_{k + 1}", "type": "read", "bandwidth_min": bits, "bandwidth_max": bits,
                   "allocation": r}]
    return {"size": int(bits * words), "r_cost": float(read_pJ), "w_cost": float(write_pJ), "area": 0,
            "latency": 1, "auto_cost_extraction": False, "operands": list(mem_ops), "ports": ports,
            "served_dimensions": list(served)}


def _bits(arch) -> int:
    return max(1, round(8 * arch.word_bytes))


def workload(problem) -> list:
    """ZigZag's workload (one layer) for an npulab :class:`~npulab.tiling.Problem`."""
    b = 8
    prec = {"W": b, "I": b, "O": b, "O_final": b}
    if problem.kind == "gemm":
        return [{"id": 0, "name": problem.name or "gemm", "operator_type": "Conv",
                 "equation": "O[b][k]+=W[k][c]*I[b][c]", "loop_dims": ["B", "K", "C"],
                 "loop_sizes": [problem.size[d] for d in ("M", "N", "K")],
                 "operand_precision": prec, "operand_source": {"I": 0, "W": 0}}]
    (sh, sw), (dh, dw) = problem.stride, problem.dilation
    dims = DIMS["conv"]
    return [{"id": 0, "name": problem.name or "conv", "operator_type": "Conv",
             "equation": "O[b][k][oy][ox]+=W[k][c][fy][fx]*I[b][c][iy][ix]",
             "dimension_relations": [f"ix={sw}*ox+{dw}*fx", f"iy={sh}*oy+{dh}*fy"],
             "loop_dims": [dims[d] for d in problem.dims], "loop_sizes": list(problem.sizes),
             "operand_precision": prec, "operand_source": {"I": 0, "W": 0}}]


def _served(arch, i):
    return [] if arch.spatial_level < i else ["D1", "D2"]


def accelerator(arch, tiles=None) -> dict:
    """ZigZag's accelerator for ``arch``.

    ``tiles`` (``{(level index, operand): words}``, the operands a level holds) gives every
    operand its own memory of exactly that size at each level (the pinned form); without it
    the architecture's capacities are used (an unbounded level gets 2^40 words).
    """
    bits = _bits(arch)
    mems = {}
    for i in range(len(arch.levels) - 1, 0, -1):                  # innermost first
        lv = arch.levels[i]
        if tiles is not None:
            for op in (o for o in OPERANDS if (i, o) in tiles):
                mems[f"{lv.name}_{op}"] = memory(tiles[i, op], [OPERANDS[op][1]], _served(arch, i),
                                                 lv.read_pJ, lv.write_pJ, bits)
        elif lv.capacity is None or lv.shared:
            mems[lv.name] = memory(lv.capacity or 1 << 40, [OPERANDS[o][1] for o in OPERANDS],
                                   _served(arch, i), lv.read_pJ, lv.write_pJ, bits)
        else:
            for op in OPERANDS:
                if lv.capacity_of(op):
                    mems[f"{lv.name}_{op}"] = memory(lv.capacity_of(op), [OPERANDS[op][1]],
                                                     _served(arch, i), lv.read_pJ, lv.write_pJ, bits)
    top = arch.levels[0]
    mems[top.name] = memory(1 << 40, ["I1", "I2", "O"], ["D1", "D2"], top.read_pJ, top.write_pJ, bits)
    return {"name": "npulab", "memories": mems,
            "operational_array": {"input_precision": [bits, bits], "unit_energy": arch.mac_pJ, "unit_area": 1,
                                  "dimensions": ["D1", "D2"], "sizes": [arch.rows, arch.cols]}}


def spatial_mapping(kind, rows, cols) -> dict:
    """``{"D1": [...], "D2": [...]}`` from npulab ``(dim, factor)`` pairs on rows and cols."""
    d = DIMS[kind]
    return {"D1": [f"{d[x]}, {f}" for x, f in rows if f > 1] or ["B, 1"],
            "D2": [f"{d[x]}, {f}" for x, f in cols if f > 1] or ["K, 1"]}


def _run(problem, acc, mp, tmp, same_data_no_access, lpf_limit=6):
    """Run ZigZag's stages on the YAML inputs; the minimal-energy cost model evaluation."""
    import yaml
    from zigzag.mapping.temporal_mapping import TemporalMappingType
    from zigzag.stages.evaluation.cost_model_evaluation import CostModelStage
    from zigzag.stages.main import MainStage
    from zigzag.stages.mapping.spatial_mapping_generation import SpatialMappingGeneratorStage
    from zigzag.stages.mapping.temporal_mapping_generator_stage import TemporalMappingGeneratorStage
    from zigzag.stages.parser.accelerator_parser import AcceleratorParserStage
    from zigzag.stages.parser.workload_parser import WorkloadParserStage
    from zigzag.stages.results.reduce_stages import MinimalEnergyStage
    from zigzag.stages.workload_iterator import WorkloadStage

    tmp = Path(tmp)
    tmp.mkdir(parents=True, exist_ok=True)
    for name, obj in (("acc", acc), ("wl", workload(problem)), ("mp", mp)):
        (tmp / f"{name}.yaml").write_text(yaml.safe_dump(obj, sort_keys=False))
    logging.disable(logging.CRITICAL)
    try:
        stages = [WorkloadParserStage, AcceleratorParserStage, WorkloadStage, MinimalEnergyStage,
                  SpatialMappingGeneratorStage, MinimalEnergyStage, TemporalMappingGeneratorStage, CostModelStage]
        return MainStage(stages, accelerator=str(tmp / "acc.yaml"), workload=str(tmp / "wl.yaml"),
                         mapping=str(tmp / "mp.yaml"), dump_folder=str(tmp / "out"),
                         loma_lpf_limit=lpf_limit, loma_show_progress_bar=False, nb_mappings_generated=1,
                         enable_mix_spatial_mapping_generation=False,
                         access_same_data_considered_as_no_access=same_data_no_access,
                         temporal_mapping_type=TemporalMappingType("uneven")).run()[0][0]
    finally:
        logging.disable(logging.NOTSET)


_LINKS = {"O": "O", "W": "I2", "I": "I1"}


def search(problem, arch, rows, cols, tmp, same_data_no_access=True, lpf_limit=6):
    """ZigZag's LOMA search (minimal energy) with the spatial unrolling ``rows`` x ``cols``
    (npulab ``(dim, factor)`` pairs) on ``arch``'s memories; the best cost model evaluation.
    ``same_data_no_access=True`` is ZigZag's API default."""
    mp = [{"name": "default", "spatial_mapping": spatial_mapping(problem.kind, rows, cols),
           "memory_operand_links": _LINKS}]
    return _run(problem, accelerator(arch), mp, tmp, same_data_no_access, lpf_limit)


def pinned(mapping, tmp, same_data_no_access=False):
    """ZigZag's cost model evaluation of one npulab mapping (loops, spatial unrolling and level
    boundaries pinned; see the module docstring)."""
    p, arch = mapping.problem, mapping.arch
    tiles = {(i, op): mapping.tile(i, op) for i in range(1, len(arch.levels)) for op in OPERANDS
             if op not in mapping.bypass[i]}
    d = DIMS[p.kind]
    loops = [(d[x], f) for level in mapping.temporal for x, f in level if f > 1]
    mp = [{"name": "default", "spatial_mapping": spatial_mapping(p.kind, mapping.spatial_rows, mapping.spatial_cols),
           "temporal_ordering": [[x, f] for x, f in reversed(loops)],
           "memory_operand_links": _LINKS}]
    return _run(p, accelerator(arch, tiles), mp, tmp, same_data_no_access)


def nest(cme, problem):
    """ZigZag result -> (loop nest outer to inner as npulab ``(dim, factor)``, per-operand level
    boundaries ``{operand: [loops above level i for each level]}``, spatial ``{"rows", "cols"}``)."""
    back = {z: n for n, z in DIMS[problem.kind].items()}
    tm = cme.temporal_mapping.mapping_dic_origin     # {layer op: per level inner first, loops inner first}
    per_op = {}
    for op, (zop, _) in OPERANDS.items():
        levels = next(v for k, v in tm.items() if str(k) == zop)
        per_op[op] = [[(back[str(x)], int(round(f))) for x, f in reversed(lv)] for lv in reversed(levels)]
    order = [lp for lv in per_op["inputs"] for lp in lv]
    cuts = {op: [sum(len(lv) for lv in v[:i]) for i in range(len(v))] for op, v in per_op.items()}
    spatial = {"rows": {}, "cols": {}}
    for oa_dim, unroll in cme.layer.spatial_mapping.items():
        axis = "rows" if str(oa_dim) == "D1" else "cols"
        for x, f in unroll.items():
            if int(f) > 1:
                spatial[axis][back[str(x)]] = spatial[axis].get(back[str(x)], 1) * int(f)
    return order, cuts, spatial


def merge(loops) -> list:
    """Adjacent loops over the same dim as one (ZigZag splits factors into primes); drops 1s."""
    out = []
    for x, f in loops:
        if f == 1:
            continue
        if out and out[-1][0] == x:
            out[-1] = (x, out[-1][1] * f)
        else:
            out.append((x, f))
    return out


def to_npulab(cme, problem, arch):
    """ZigZag's best mapping in npulab's terms: ``(mapping, exact)``.

    ZigZag places level boundaries per operand; an npulab mapping has one per level.  Keeping
    ZigZag's loop nest and spatial unrolling, every placement of npulab's boundaries whose tiles
    fit ``arch`` is a candidate; the lowest-energy one is returned.  ``exact`` says it moves
    each operand's boundary only across loops irrelevant to that operand (the same accesses in
    both models' reasoning); ``(None, False)`` when no placement fits.
    """
    from itertools import combinations_with_replacement

    from npulab.tiling import Mapping

    order, cuts, spatial = nest(cme, problem)
    L = len(arch.levels)
    if any(len(c) != L for c in cuts.values()):
        return None, False
    best, best_exact, best_e = None, False, float("inf")
    for inner in combinations_with_replacement(range(len(order) + 1), L - 1):
        bounds = (0, *inner, len(order))
        temporal = {arch.levels[i].name: merge(order[bounds[i]:bounds[i + 1]]) for i in range(L)}
        try:
            m = Mapping.build(problem, arch, temporal, spatial=spatial)
        except ValueError:
            continue
        exact = all(x not in problem.relevant(op) for op, c in cuts.items() for i in range(1, L)
                    for x, _ in order[min(c[i], bounds[i]):max(c[i], bounds[i])])
        e = m.evaluate().energy_pJ
        if (exact, -e) > (best_exact, -best_e):
            best, best_exact, best_e = m, exact, e
    return best, best_exact
