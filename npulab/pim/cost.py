"""Energy and latency of a layer on weight-stationary crossbars, as a :class:`npulab.metrics.report.Report`.

The PIM engine's side of the engine contract, ``estimate(layer, hw, *, energy=None)`` with
``hw`` a :class:`npulab.hw.PimConfig` (or a :class:`~npulab.hw.CrossbarConfig`).

Counting model (ISAAC-style; Shafiee et al., ISCA 2016), for ``Gemm(M, N, K)``: the weights
``B[K, N]`` stay programmed on the arrays, ``K`` on word lines (rows) and ``N`` outputs on bit
lines, each weight on ``cells_per_weight`` columns (bit slices x differential pair).  Each of
the ``M`` input vectors is applied in ``input_cycles = ceil(input_bits / dac_bits)`` digits:

==============  ===========================================================================
quantity        count
==============  ===========================================================================
tiles           ``ceil(K / rows) * ceil(N / (cols // cells_per_weight))``
DAC             ``M * input_cycles * K * col_tiles`` (every tile drives its rows)
cell reads      ``M * input_cycles * K * N * cells_per_weight``
ADC             ``M * input_cycles * N * cells_per_weight * row_tiles``
shift-and-add   one per ADC conversion + ``M * N * (row_tiles - 1)`` partial-sum adds
SRAM            inputs read once per column tile, outputs written once (``input_bits`` wide)
==============  ===========================================================================

Energies: ``EnergyTable.dac_pJ``, ``adc_pJ``, ``crossbar_cell_pJ`` (ISAAC Table 6, see
``npulab.hw.energy``), ``CrossbarConfig.shift_add_pJ`` (a 32-bit add, Horowitz ISSCC 2014)
and ``EnergyTable.sram_pJ_per_byte``.  Latency: all tiles hold their weights and work in
parallel; one digit takes ``CrossbarConfig.cycle_time_s`` (the array read and the
conversions of the columns that share an ADC, pipelined); vectors follow one another:
``latency = M * input_cycles * cycle_time_s``; a chip of ``PimConfig.num_arrays`` arrays
that holds fewer than the layer's tiles runs it in ``rounds = ceil(tiles / num_arrays)``
(latency times ``rounds``; ``num_arrays=None`` assumes every tile is present).  Not
modelled: weight programming time and energy, DRAM traffic, peripheral leakage, interconnect.

Sparsity (issue 30) is reported, not applied: pruned weights still occupy their cells (a
crossbar row or column is freed only by structured pruning of whole input or output
channels), and a zero input digit need not drive its word line, so ``details`` gives
``zero_input_saving_pJ = (1 - layer.act_density) * (DAC + array energy)`` (what skipping
zero inputs would save) and ``cells_holding_zero_weights``.
"""
from __future__ import annotations

import math

from npulab.hw.crossbar import CrossbarConfig
from npulab.hw.energy import EnergyTable
from npulab.hw.pim import PimConfig
from npulab.metrics.report import Report
from npulab.pim.slicing import tile_grid
from npulab.workloads.layers import Conv2d, Gemm


def estimate(layer, hw, *, energy: EnergyTable | None = None) -> Report:
    """Energy and latency of one ``Gemm`` or ``Conv2d`` on analog crossbars.

    Parameters
    ----------
    layer : Gemm or Conv2d
        ``A[M, K] @ B[K, N]``; a convolution is lowered by im2col (``Conv2d.to_gemm()``).
    hw : PimConfig or CrossbarConfig
        The crossbar design and the number of arrays (a CrossbarConfig alone: every tile present).
    energy : EnergyTable, optional
        Converter, cell and SRAM energies; default ``EnergyTable()``.

    Returns
    -------
    npulab.perf.Report
        ``engine="pim"``; energy keys ``"dac"``, ``"adc"``, ``"array"``, ``"digital"``,
        ``"sram"``; ``details`` holds tiles, conversions, cell reads and cycles.

    Units: pJ, seconds.

    References
    ----------
    Shafiee et al., "ISAAC", ISCA 2016, Table 6; Horowitz, ISSCC 2014.

    Examples
    --------
    >>> r = estimate(Gemm(M=1, N=128, K=128), CrossbarConfig())
    >>> r.details["tiles"], r.details["adc_conversions"], sorted(r.energy_breakdown_pJ)
    (8, 8192, ['adc', 'array', 'dac', 'digital', 'sram'])
    """
    workload = layer
    if isinstance(hw, CrossbarConfig):
        hw = PimConfig(hw)
    if not isinstance(hw, PimConfig):
        raise ValueError(f"estimate: hw must be a PimConfig or CrossbarConfig; got {type(hw).__name__}")
    energy = energy or EnergyTable()
    if isinstance(workload, Conv2d):
        gemm = workload.to_gemm()
    elif isinstance(workload, Gemm):
        gemm = workload
    else:
        raise ValueError(f"estimate: workload must be a Gemm or Conv2d; "
                         f"got {type(workload).__name__}")
    xb = hw.crossbar
    M, N, K = gemm.M, gemm.N, gemm.K
    row_tiles, col_tiles, per_tile = tile_grid(K, N, xb)
    cycles = xb.input_cycles
    cpw = xb.cells_per_weight
    dac = M * cycles * K * col_tiles
    cells = M * cycles * K * N * cpw
    adc = M * cycles * N * cpw * row_tiles
    adds = adc + M * N * (row_tiles - 1)
    word_bytes = math.ceil(xb.input_bits / 8)
    sram_bytes = M * K * word_bytes * col_tiles + M * N * word_bytes
    breakdown = {
        "dac": dac * energy.dac_pJ,
        "adc": adc * energy.adc_pJ,
        "array": cells * energy.crossbar_cell_pJ,
        "digital": adds * xb.shift_add_pJ,
        "sram": sram_bytes * energy.sram_pJ_per_byte,
    }
    tiles = row_tiles * col_tiles
    reads = M * cycles
    rounds = 1 if hw.num_arrays is None else -(-tiles // hw.num_arrays)
    latency = reads * xb.cycle_time_s * rounds
    peak_macs = tiles * xb.rows * per_tile / (cycles * xb.cycle_time_s)
    return Report(
        name=getattr(workload, "name", "") or str(gemm),
        engine="pim",
        macs=gemm.macs,
        latency_s=latency,
        energy_breakdown_pJ=breakdown,
        utilization=(K * N) / (tiles * xb.rows * per_tile),
        peak_ops_per_s=2 * peak_macs,
        details={
            "tiles": tiles, "row_tiles": row_tiles, "col_tiles": col_tiles,
            "outputs_per_tile": per_tile, "cells_per_weight": cpw, "input_cycles": cycles,
            "dac_conversions": dac, "adc_conversions": adc, "cell_reads": cells,
            "shift_adds": adds, "array_reads": reads * tiles, "sram_bytes": sram_bytes,
            "cycle_time_s": xb.cycle_time_s, "crossbar": f"{xb.rows}x{xb.cols}",
            "zero_input_saving_pJ": ((1 - gemm.act_density)
                                     * (breakdown["dac"] + breakdown["array"])),
            "cells_holding_zero_weights": round(K * N * cpw * (1 - gemm.weight_nonzero_fraction)),
        },
    )
