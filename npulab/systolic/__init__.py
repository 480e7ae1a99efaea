"""Systolic-array engine: a moving-values emulator, a closed-form model, SCALE-Sim reports.

* :func:`emulate` (:mod:`.emulator`): cycle-level OS/WS/IS emulation that moves real
  int8/float values through PE registers; :func:`emulate_reference` (:mod:`.reference`)
  is the readable per-PE version the tests prove identical.
* :func:`fold_plan`, :func:`compute_cycles`, :func:`utilization`, :func:`sram_accesses`
  (:mod:`.folds`): the closed form, proven equal to the emulator on random shapes.
* :func:`estimate` (:mod:`.estimate`): a :class:`npulab.perf.Report` for a Gemm or Conv2d
  (cycles, accesses, energy), pure arithmetic.
* :func:`simulate_layer` (:mod:`.scalesim`: config in :mod:`.scalesim_config`, model in
  :mod:`.scalesim_model`, CSV files in :mod:`.scalesim_reports`) and ``npulab scalesim``:
  SCALE-Sim 3.0.0's three reports, every column equal in ``InterfaceBandwidth: CALC`` and
  ``USER`` modes.

``scalesim_compat`` switches between SCALE-Sim's conventions (True) and what the
emulator measures (False).  Differences (``R x C`` array, ``T`` streamed length, ``F``
folds, ``Fr`` reduction folds):

===========================  ========================  ========================  =======================================
quantity                     npulab (emulator)         SCALE-Sim 3.0.0           why
===========================  ========================  ========================  =======================================
OS cycles per fold           ``2R + C + T - 2``        ``R + C + T - 2``         the R results must shift out of the
                                                                                 array (SCALE-Sim paper Eq. 1 has the
                                                                                 2R; its code omits the drain)
reported total cycles        ``F * fold``              ``F * fold - 1``          SCALE-Sim reports the index of the last
                                                                                 cycle
OS ofmap SRAM writes         ``M * N``                 ``M*N + F*(R + C)``       SCALE-Sim adds the padded fold's height
                                                                                 and width to its write counter per fold
WS/IS ofmap SRAM reads       ``M*N*(Fr - 1)``          not counted               accumulating partial sums across
                                                                                 reduction folds is a read-modify-write
WS/IS compute util per fold  MACs / (R*C*fold cycles)  uses ``2R + 2C + T - 3``  SCALE-Sim divides by demand-matrix
                                                                                 height + width - 1
conv output size             ``floor((H-Fh)/S) + 1``   ``ceil((H-Fh+S)/S)``      SCALE-Sim rounds up; the extra windows
                                                                                 read no data (``-1`` addresses)
DRAM traffic                 reuse rule (`estimate`)   set-based buffer model    npulab's closed form is an analytic
                                                                                 model; the SCALE-Sim model is
                                                                                 reproduced exactly in :mod:`.scalesim`
===========================  ========================  ========================  =======================================

* :func:`emulate_sparse` (:mod:`.sparse`): zero-gating and N:M zero-skipping on a WS array,
  moving values; :func:`skipping_cycles` its closed form (``SystolicConfig.zero_gating``,
  ``skip_pattern`` in :func:`estimate`).

Not reproduced: SCALE-Sim's sparsity, custom layouts and Ramulator traces.

References
----------
H. T. Kung, "Why systolic architectures?", IEEE Computer, 1982.
A. Samajdar et al., "A systematic methodology for characterizing scalability of DNN
accelerators using SCALE-Sim", ISPASS 2020.  N. P. Jouppi et al., "In-datacenter
performance analysis of a tensor processing unit", ISCA 2017.
"""
from npulab.systolic.emulator import EmulationResult, emulate, emulate_reference
from npulab.systolic.estimate import dram_accesses, estimate
from npulab.systolic.folds import (
                                   FoldPlan,
                                   compute_cycles,
                                   fold_cycles,
                                   fold_plan,
                                   sram_accesses,
                                   utilization,
)
from npulab.systolic.scalesim import (
                                   ScaleSimConfig,
                                   read_config,
                                   simulate_layer,
                                   write_config,
                                   write_reports,
)
from npulab.systolic.sparse import SparseEmulation, emulate_sparse, skipping_cycles

__all__ = ["emulate", "emulate_reference", "EmulationResult", "estimate", "dram_accesses",
           "sram_accesses", "compute_cycles", "fold_cycles", "fold_plan", "FoldPlan", "utilization",
           "simulate_layer", "ScaleSimConfig", "read_config", "write_config", "write_reports",
           "emulate_sparse", "SparseEmulation", "skipping_cycles"]
