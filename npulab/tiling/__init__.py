"""Tiler and dataflow mapper: loop nests, per-level data movement, energy and mapping search.

* :class:`Problem`: a conv (N, K, C, P, Q, R, S) or GEMM (M, N, K) loop nest.
* :class:`Architecture`, :class:`MemoryLevel`, presets :func:`eyeriss_like`, :func:`tpu_like`
  (hardware description, in :mod:`npulab.hw.hierarchy`; ``search`` also takes an ArrayConfig).
* :class:`Mapping`: temporal factors and loop order per level, spatial factors, bypass.
* :func:`evaluate` (closed form, vectorised by :func:`evaluate_batch`) and
  :func:`reference_counts` (literal loop walk): reads/writes/fills, energy, cycles.
* :func:`dataflow_mapping` and :data:`DATAFLOWS`: weight-, output-, input-, row-stationary,
  no-local-reuse as mapping constraints.
* :func:`search`: exhaustive or random mapping search on any executor, Pareto front.
* :func:`systolic_accesses`: SRAM traffic of a systolic array (SCALE-Sim names).
* :func:`sparse_access_counts`: density-aware traffic of compressed operands (Sparseloop's
  approach), exact from tensors or modelled from :class:`npulab.sparse.Density`.
* :func:`plot_energy_breakdown`: the Eyeriss-style stacked bar.

References: Parashar et al., "Timeloop", ISPASS 2019; Mei et al., "ZigZag", IEEE TC 2021;
Chen et al., "Eyeriss", ISCA 2016; Sze et al., *Efficient Processing of DNNs*, 2020.
"""
from npulab.hw.hierarchy import PRESETS, Architecture, MemoryLevel, eyeriss_like, tpu_like
from npulab.tiling.dataflows import DATAFLOWS, Dataflow, get_dataflow
from npulab.tiling.mapper import SearchResult, dataflow_mapping, search
from npulab.tiling.mapping import Mapping
from npulab.tiling.model import Cost, access_counts, evaluate, evaluate_batch
from npulab.tiling.problem import OPERANDS, Problem
from npulab.tiling.reference import reference_counts
from npulab.tiling.sparse import SparseTraffic, sparse_access_counts
from npulab.tiling.systolic import systolic_accesses, systolic_mapping
from npulab.tiling.viz import explorer, plot_energy_breakdown

__all__ = [
    "Problem", "OPERANDS", "Architecture", "MemoryLevel", "eyeriss_like", "tpu_like", "PRESETS",
    "Mapping", "Cost", "evaluate", "evaluate_batch", "access_counts", "reference_counts",
    "Dataflow", "DATAFLOWS", "get_dataflow", "dataflow_mapping", "search", "SearchResult",
    "systolic_accesses", "systolic_mapping", "plot_energy_breakdown", "explorer",
    "sparse_access_counts", "SparseTraffic",
]
