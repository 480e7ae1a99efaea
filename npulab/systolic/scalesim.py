"""SCALE-Sim 3.0.0-compatible layer reports (``InterfaceBandwidth: CALC`` and ``USER``).

SCALE-Sim (Samajdar et al., ISPASS 2020; ``scalesim`` 3.0.0 on PyPI) simulates a layer on
a systolic array with double-buffered SRAMs and writes COMPUTE, BANDWIDTH and
DETAILED_ACCESS reports; npulab reproduces every column of them.  One job per module:

* :mod:`npulab.systolic.scalesim_config`: read the ``.cfg`` file (:func:`read_config`,
  :class:`ScaleSimConfig`) and expand depthwise layers (:func:`expand_depthwise`);
* :mod:`npulab.systolic.scalesim_model`: the operand/demand matrices and the memory
  model, :func:`simulate_layer` (the SCALE-Sim conventions reproduced are listed there);
* :mod:`npulab.systolic.scalesim_reports`: the CSV files (:func:`write_reports`,
  :func:`read_report`, the column lists and :data:`KEYS`).

This module gathers their names (``npulab scalesim`` and the tests import them from here).

Units: cycles, words (elements; 1 byte each in SCALE-Sim).
"""
from npulab.systolic.scalesim_config import (
    ScaleSimConfig,
    expand_depthwise,
    read_config,
    write_config,
)
from npulab.systolic.scalesim_folds import simulate_layer
from npulab.systolic.scalesim_model import demand_matrices, operand_matrices
from npulab.systolic.scalesim_reports import (
    BANDWIDTH_COLUMNS,
    COMPUTE_COLUMNS,
    DETAILED_COLUMNS,
    KEYS,
    read_report,
    write_reports,
)

__all__ = ["ScaleSimConfig", "read_config", "write_config", "operand_matrices", "simulate_layer",
           "COMPUTE_COLUMNS", "BANDWIDTH_COLUMNS", "DETAILED_COLUMNS", "write_reports",
           "expand_depthwise", "read_report", "demand_matrices", "KEYS"]
