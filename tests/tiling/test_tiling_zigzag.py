"""Cross-check with ZigZag 3.9.1 (KU Leuven): per-level access counts for a pinned mapping.

ZigZag searches mappings, but a *complete* ``temporal_ordering`` (every loop with its size,
innermost first) plus a ``spatial_mapping`` pins one; its memory allocator then fills each
memory bottom-up with as many loops as fit.  Giving every operand its own memory at each
level, sized exactly to the tiler's tile, makes ZigZag's level boundaries the tiler's (up to
irrelevant loops, which both models treat as reuse).  ZigZag reports per level and operand
four counts (rd/wr to/from the level below/above), in elements; the tiler's reads are
``rd_out_to_low + rd_out_to_high``, writes ``wr_in_by_low + wr_in_by_high``, fills
``wr_in_by_high``.

Known difference (documented): when PEs reduce partial sums spatially and each PE keeps its
own copy (``C`` unrolled over PEs that have their own output register), ZigZag skips the
first psum read only once per output word; the tiler skips it once per PE copy.
"""
from __future__ import annotations

import logging

import pytest

from npulab.tiling import OPERANDS, Architecture, Mapping, MemoryLevel, Problem, evaluate

zigzag = pytest.importorskip("zigzag")
yaml = pytest.importorskip("yaml")

_ZZ_OP = {"inputs": ("I", "I1"), "weights": ("W", "I2"), "outputs": ("O", "O")}


def _memory(size_bits, mem_ops, served):
    ports, k = [], 0
    for op in mem_ops:
        k += 2
        if op == "O":
            ports += [{"name": f"w_port_{k}", "type": "write", "bandwidth_min": 8, "bandwidth_max": 1 << 30,
                       "allocation": ["O, fh", "O, fl"]},
                      {"name": f"r_port_{k + 1}", "type": "read", "bandwidth_min": 8, "bandwidth_max": 1 << 30,
                       "allocation": ["O, tl", "O, th"]}]
        else:
            ports += [{"name": f"w_port_{k}", "type": "write", "bandwidth_min": 8, "bandwidth_max": 1 << 30,
                       "allocation": [f"{op}, fh"]},
                      {"name": f"r_port_{k + 1}", "type": "read", "bandwidth_min": 8, "bandwidth_max": 1 << 30,
                       "allocation": [f"{op}, tl"]}]
    return {"size": int(size_bits), "r_cost": 1.0, "w_cost": 1.0, "area": 0, "latency": 1,
            "auto_cost_extraction": False, "operands": mem_ops, "ports": ports, "served_dimensions": served}


def zigzag_counts(mapping: Mapping, tmp_path) -> dict:
    """Run ZigZag on the same GEMM-like layer and mapping; counts per (level, operand)."""
    from zigzag.mapping.data_movement import DataDirection as Dir
    from zigzag.mapping.data_movement import DataMoveAttr
    from zigzag.mapping.temporal_mapping import TemporalMappingType
    from zigzag.stages.evaluation.cost_model_evaluation import CostModelStage
    from zigzag.stages.main import MainStage
    from zigzag.stages.mapping.spatial_mapping_generation import SpatialMappingGeneratorStage
    from zigzag.stages.mapping.temporal_mapping_generator_stage import TemporalMappingGeneratorStage
    from zigzag.stages.parser.accelerator_parser import AcceleratorParserStage
    from zigzag.stages.parser.workload_parser import WorkloadParserStage
    from zigzag.stages.results.reduce_stages import MinimalEnergyStage
    from zigzag.stages.workload_iterator import WorkloadStage

    p, arch = mapping.problem, mapping.arch
    dim = {"M": "B", "N": "K", "K": "C"}            # GEMM (M, N, K) as ZigZag's O[b][k] += W[k][c] * I[b][c]
    memories = {}
    for i in range(len(arch.levels) - 1, 0, -1):        # innermost first; one memory per operand
        lv = arch.levels[i]
        served = [] if arch.spatial_level < i else ["D1", "D2"]
        for op in OPERANDS:
            memories[f"{lv.name}_{op}"] = _memory(8 * mapping.tile(i, op), [_ZZ_OP[op][1]], served)
    memories["dram"] = _memory(1 << 40, ["I1", "I2", "O"], ["D1", "D2"])
    acc = {"name": "npulab", "memories": memories,
           "operational_array": {"input_precision": [8, 8], "unit_energy": 0.1, "unit_area": 1,
                                 "dimensions": ["D1", "D2"], "sizes": [arch.rows, arch.cols]}}
    wl = [{"id": 0, "operator_type": "Conv", "equation": "O[b][k]+=W[k][c]*I[b][c]",
           "loop_dims": ["B", "K", "C"], "loop_sizes": [p.size["M"], p.size["N"], p.size["K"]],
           "operand_precision": {"W": 8, "I": 8, "O": 8, "O_final": 8}, "operand_source": {"I": 0, "W": 0}}]
    loops = [(dim[d], f) for level in mapping.temporal for d, f in level if f > 1]
    sm = {"D1": [f"{dim[d]}, {f}" for d, f in mapping.spatial_rows] or ["B, 1"],
          "D2": [f"{dim[d]}, {f}" for d, f in mapping.spatial_cols] or ["K, 1"]}
    mp = [{"name": "default", "spatial_mapping": sm,
           "temporal_ordering": [[d, f] for d, f in reversed(loops)],
           "memory_operand_links": {"O": "O", "W": "I2", "I": "I1"}}]
    for name, obj in (("acc", acc), ("wl", wl), ("mp", mp)):
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(obj, sort_keys=False))
    logging.disable(logging.CRITICAL)
    try:
        stages = [WorkloadParserStage, AcceleratorParserStage, WorkloadStage, MinimalEnergyStage,
                  SpatialMappingGeneratorStage, MinimalEnergyStage, TemporalMappingGeneratorStage, CostModelStage]
        cme = MainStage(stages, accelerator=str(tmp_path / "acc.yaml"), workload=str(tmp_path / "wl.yaml"),
                        mapping=str(tmp_path / "mp.yaml"), dump_folder=str(tmp_path / "out"),
                        loma_lpf_limit=6, loma_show_progress_bar=False, nb_mappings_generated=1,
                        enable_mix_spatial_mapping_generation=False,
                        access_same_data_considered_as_no_access=False,
                        temporal_mapping_type=TemporalMappingType("uneven")).run()[0][0]
    finally:
        logging.disable(logging.NOTSET)
    out = {}
    names = arch.level_names
    for op in OPERANDS:
        zz_op = next(k for k in cme.mapping.unit_mem_data_movement if str(k) == _ZZ_OP[op][0])
        for lv, move in enumerate(cme.mapping.unit_mem_data_movement[zz_op]):
            c = move.get_attribute(DataMoveAttr.DATA_ELEM_MOVE_COUNT).get
            level = names[len(names) - 1 - lv]
            out[level, op] = {"reads": c(Dir.RD_OUT_TO_LOW) + c(Dir.RD_OUT_TO_HIGH),
                              "writes": c(Dir.WR_IN_BY_LOW) + c(Dir.WR_IN_BY_HIGH),
                              "fills": c(Dir.WR_IN_BY_HIGH)}
    return out


def _arch(rows, cols, levels):
    lv = [MemoryLevel("DRAM", "dram", 100.0, 100.0)]
    if levels == 3:
        lv.append(MemoryLevel("GLB", "sram", 2.0, 2.0, 1 << 20))
    lv.append(MemoryLevel("RF", "reg", 0.5, 0.5, 1 << 20))
    return Architecture(tuple(lv), rows=rows, cols=cols, spatial_level=len(lv) - 2, mac_pJ=0.3)


CASES = [  # (M, N, K), rows x cols, levels, temporal per level (outer to inner), spatial
    ((4, 4, 4), (2, 2), 2, {"DRAM": [("M", 2), ("N", 2)], "RF": [("M", 2), ("K", 4)]},
     {"rows": {"M": 1}, "cols": {"N": 2}}),
    ((8, 4, 6), (2, 2), 2, {"DRAM": [("K", 3), ("M", 2), ("N", 2)], "RF": [("K", 2), ("M", 2)]},
     {"rows": {"M": 2}, "cols": {"N": 2}}),
    ((8, 8, 4), (2, 4), 3, {"DRAM": [("N", 2), ("M", 2)], "GLB": [("K", 2), ("M", 2)], "RF": [("K", 2), ("M", 2)]},
     {"rows": {}, "cols": {"N": 4}}),
    ((6, 4, 8), (4, 2), 3, {"DRAM": [("M", 3)], "GLB": [("K", 2), ("N", 2)], "RF": [("M", 2), ("K", 4)]},
     {"rows": {}, "cols": {"N": 2}}),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_per_level_counts_equal_zigzag(case, tmp_path):
    (M, N, K), (rows, cols), levels, temporal, spatial = CASES[case]
    spatial = {ax: {d: f for d, f in v.items() if f > 1} for ax, v in spatial.items()}
    m = Mapping.build(Problem.gemm(M, N, K), _arch(rows, cols, levels), temporal, spatial=spatial)
    ours = evaluate(m).accesses
    theirs = zigzag_counts(m, tmp_path)
    for (level, op), counts in theirs.items():
        assert ours[level][op] == counts, (level, op, m)


def test_spatial_reduction_differs_only_in_first_psum_reads(tmp_path):
    """K unrolled over 2 PE rows, each with its own psum register: every count equals ZigZag's
    except the innermost psum reads, where npulab skips the zero-start read on each of the
    2 copies of an output word (ZigZag once per word): a difference of M*N*(2-1) reads."""
    M, N, K = 4, 4, 4
    m = Mapping.build(Problem.gemm(M, N, K), _arch(2, 2, 2),
                      {"DRAM": [("N", 2), ("M", 2)], "RF": [("M", 2), ("K", 2)]},
                      spatial={"rows": {"K": 2}, "cols": {"N": 2}})
    ours = evaluate(m).accesses
    theirs = zigzag_counts(m, tmp_path)
    for (level, op), counts in theirs.items():
        if (level, op) == ("RF", "outputs"):
            assert counts["reads"] - ours[level][op]["reads"] == M * N * (2 - 1)
            assert counts["writes"] == ours[level][op]["writes"]
        else:
            assert ours[level][op] == counts, (level, op)
