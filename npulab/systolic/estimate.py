"""Closed-form cost of one layer on a systolic array: a :class:`npulab.metrics.report.Report`.

The systolic engine's side of the engine contract, ``estimate(layer, hw, *, energy=None)``
with ``hw`` a :class:`npulab.hw.SystolicConfig` (or an :class:`~npulab.hw.ArrayConfig`).

Pure arithmetic (no simulation), fast enough for every layer of a large LLM.

Model
-----
* Cycles: :func:`~npulab.systolic.folds.compute_cycles` (folds included; with
  ``hw.fold_overlap`` :func:`~npulab.systolic.folds.pipelined_cycles`, each fold's fill
  hidden under the previous fold's streaming, so a one-token WS GEMM is weight-load
  bound: ``K * N / C`` cycles); memory overlaps
  compute (double-buffered SRAM), so ``cycles = max(compute, DRAM bytes / bytes-per-cycle)``
  and the difference is reported as ``stall_cycles``.
* SRAM accesses: :func:`~npulab.systolic.folds.sram_accesses`.
* DRAM accesses: an operand is read from DRAM once if the data it reuses across folds
  fits in half its SRAM (the other half prefetches the next tile); otherwise it is
  re-read every time the array reads it (DRAM reads = SRAM reads).  Reused data: OS A
  (all of it, reused by every column fold) and a ``K x C`` slice of B; WS A; IS B.
  Outputs go to DRAM once unless WS/IS partial sums (``M x C`` or ``N x C``) overflow the
  ofmap SRAM, in which case every partial sum is written and read back.
* Energy (pJ, :class:`npulab.hw.EnergyTable`): ``compute`` = MACs x MAC energy at the
  array precision; ``reg`` = 2 operand register reads of ``bytes`` per MAC;
  ``sram`` and ``dram`` = bytes accessed x per-byte energy.
* Sparsity (issue 30, :mod:`npulab.systolic.sparse`): with ``hw.skip_pattern`` and weights
  pruned to a compatible ``layer.weight_sparsity`` the array executes the compressed
  reduction ``K' = ceil(K / M) * N`` (cycles, filter traffic), plus ``ceil(log2 M)`` metadata
  bits per stored weight, while activations are read as for ``K``.  With ``hw.zero_gating``
  the MACs with a zero operand (expected ``1 - w * a`` of those executed, ``w`` and ``a`` the
  non-zero fractions of the weights the array holds and of the activations, independent)
  spend no compute or register energy; cycles do not change.

Units: cycles, elements, bytes, pJ.
"""
from __future__ import annotations

from npulab.hw.array import ArrayConfig, MemoryConfig
from npulab.hw.energy import EnergyTable
from npulab.hw.precision import bytes_per_element
from npulab.hw.systolic import SystolicConfig
from npulab.metrics.report import Report
from npulab.systolic.folds import (
    compute_cycles,
    fold_interval,
    fold_plan,
    pipelined_cycles,
    sram_accesses,
    utilization,
)
from npulab.systolic.sparse import compressed_reduction, metadata_bits, skipping_applies
from npulab.workloads.layers import Conv2d, Gemm

__all__ = ["estimate", "dram_accesses"]


def dram_accesses(M: int, N: int, K: int, array: ArrayConfig, memory: MemoryConfig,
                  sram: dict | None = None) -> dict:
    """DRAM reads/writes (elements) of a GEMM under the reuse rule in the module docstring."""
    df, R, C = array.dataflow, array.rows, array.cols
    sram = sram or sram_accesses(M, N, K, R, C, df, scalesim_compat=False)
    b = bytes_per_element(array.precision)

    def fits(elems, kb):
        return elems * b <= kb * 1024 / 2

    reuse_a = {"os": M * K, "ws": M * K, "is": 0}[df]
    reuse_b = {"os": K * min(C, N), "ws": 0, "is": K * N}[df]
    ifmap = M * K if fits(reuse_a, memory.ifmap_sram_kb) else sram["ifmap_sram_reads"]
    filt = K * N if fits(reuse_b, memory.filter_sram_kb) else sram["filter_sram_reads"]
    partial = {"os": 0, "ws": M * min(C, N), "is": N * min(C, M)}[df]
    if fits(partial, memory.ofmap_sram_kb):
        ofw, ofr = M * N, 0
    else:
        ofw, ofr = sram["ofmap_sram_writes"], sram["ofmap_sram_reads"]
    return {"ifmap_dram_reads": ifmap, "filter_dram_reads": filt,
            "ofmap_dram_writes": ofw, "ofmap_dram_reads": ofr}


def estimate(layer, hw, *, energy: EnergyTable | None = None) -> Report:
    """Cycles, traffic and energy of a :class:`~npulab.workloads.Gemm` or
    :class:`~npulab.workloads.Conv2d` on a systolic array, in closed form.

    Parameters
    ----------
    layer : Gemm or Conv2d
        A conv is lowered with im2col (``to_gemm``; SCALE-Sim's rounded-up output size
        when ``hw.scalesim_compat``).
    hw : SystolicConfig or ArrayConfig
        The array (rows, cols, dataflow, clock, precision), its SRAM sizes (KiB) and DRAM
        bandwidth (bytes/s), and whether to count with SCALE-Sim 3.0.0's conventions.
        An ArrayConfig alone gets the default :class:`~npulab.hw.MemoryConfig`.
    energy : EnergyTable, optional
        Per-MAC and per-byte energies (pJ); default ``EnergyTable()``.

    Returns
    -------
    Report
        ``engine="systolic"``; ``energy_breakdown_pJ`` keys ``compute``, ``reg``, ``sram``,
        ``dram``; ``details`` holds the access counts, folds, compute and stall cycles,
        mapping efficiency and compute utilisation.

    Units: cycles, seconds, pJ.

    Examples
    --------
    >>> from npulab.workloads import Gemm
    >>> r = estimate(Gemm(64, 64, 64), ArrayConfig(16, 16, "os"))
    >>> r.cycles, r.details["ofmap_sram_writes"]
    (1760, 4096)
    """
    hw = SystolicConfig.of(hw)
    array, memory, scalesim_compat = hw.array, hw.memory, hw.scalesim_compat
    energy = energy or EnergyTable()
    workload = layer
    if isinstance(workload, Conv2d):
        g = workload.to_gemm(scalesim=scalesim_compat)
    elif isinstance(workload, Gemm):
        g = workload
    else:
        raise ValueError(f"estimate workload must be a Gemm or Conv2d; got {type(workload).__name__}")
    M, N, K = g.M, g.N, g.K
    R, C, df = array.rows, array.cols, array.dataflow
    # sparsity (issue 30): the reduction the array executes, and its metadata
    skip = hw.skip_pattern if skipping_applies(g.weight_sparsity, hw.skip_pattern) else ""
    Kx, meta_bits = (compressed_reduction(K, skip), metadata_bits(skip)) if skip else (K, 0)
    sram = sram_accesses(M, N, Kx, R, C, df, scalesim_compat=scalesim_compat)
    dram = dram_accesses(M, N, Kx, array, memory)
    if skip:                       # activations are still read M at a time: all K of them
        sram["ifmap_sram_reads"] = sram_accesses(M, N, K, R, C, df)["ifmap_sram_reads"]
        dram["ifmap_dram_reads"] = dram_accesses(M, N, K, array, memory)["ifmap_dram_reads"]
    K = Kx                         # from here on: what the array runs
    util = utilization(M, N, K, R, C, df, scalesim_compat=scalesim_compat)
    overlap = getattr(hw, "fold_overlap", False) and not scalesim_compat
    compute = (pipelined_cycles(M, N, K, R, C, df) if overlap
               else compute_cycles(M, N, K, R, C, df, scalesim_compat=scalesim_compat))
    b = bytes_per_element(array.precision)
    meta_sram, meta_dram = (sram["filter_sram_reads"] * meta_bits / 8,
                            dram["filter_dram_reads"] * meta_bits / 8)
    dram_bytes = b * sum(dram.values()) + meta_dram
    dram_cycles = int(-(-dram_bytes * array.clock_hz // memory.dram_bytes_per_s))
    cycles = max(compute, dram_cycles, 1)
    sram_elems = (sram["ifmap_sram_reads"] + sram["filter_sram_reads"]
                  + sram["ofmap_sram_writes"] + sram["ofmap_sram_reads"])
    macs = M * N * K               # executed MACs
    w_held = g.weight_nonzero_fraction / (Kx / g.K)         # non-zeros among the held weights
    gated = round(macs * (1 - min(1.0, w_held) * g.act_density)) if hw.zero_gating else 0
    toggled = macs - gated
    breakdown = {
        "compute": toggled * energy.mac_pJ(array.precision),
        "reg": 2 * toggled * b * energy.reg_pJ_per_byte,
        "sram": (sram_elems * b + meta_sram) * energy.sram_pJ_per_byte,
        "dram": dram_bytes * energy.dram_pJ_per_byte,
    }
    cycles = int(cycles)
    plan = fold_plan(M, N, K, R, C, df)
    # with overlapping folds, repeats of this layer hide all but one fill/drain
    fill_cycles = compute - plan.folds * fold_interval(plan) if overlap else 0
    details = {**sram, **dram, "compute_cycles": compute, "stall_cycles": cycles - compute,
               "executed_macs": macs, "gated_macs": gated, "skip_pattern": skip,
               "filter_metadata_bytes": meta_sram,
               "fold_overlap": overlap, "pipeline_fill_cycles": fill_cycles,
               "dram_bytes": dram_bytes, "dataflow": df, "rows": R, "cols": C,
               "M": M, "N": N, "K": K,
               "mapping_efficiency": util["mapping_efficiency"],
               "compute_utilization": util["compute_utilization"],
               "T": plan.T}
    return Report.from_cycles(
        name=getattr(workload, "name", "") or str(workload), engine="systolic", macs=g.macs,
        cycles=int(cycles), clock_hz=array.clock_hz, energy_breakdown_pJ=breakdown,
        utilization=min(1.0, macs / (array.pes * cycles)),
        peak_ops_per_s=array.peak_ops_per_s, details=details,
        stall_s=(cycles - compute) / array.clock_hz, fill_s=fill_cycles / array.clock_hz)
