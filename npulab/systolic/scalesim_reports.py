"""SCALE-Sim 3.0.0's report files: COMPUTE, BANDWIDTH and DETAILED_ACCESS CSVs.

:func:`write_reports` writes the :func:`npulab.systolic.scalesim_folds.simulate_layer`
results of a run with SCALE-Sim's column names, order and formatting; :func:`read_report`
reads such a file (SCALE-Sim's own or npulab's) back.  :data:`KEYS` names the result
entries in column order.

References
----------
A. Samajdar et al., "A systematic methodology for characterizing scalability of DNN
accelerators using SCALE-Sim", ISPASS 2020 (``scalesim`` 3.0.0 on PyPI).
"""
from __future__ import annotations

import csv
import os

__all__ = ["COMPUTE_COLUMNS", "BANDWIDTH_COLUMNS", "DETAILED_COLUMNS", "KEYS", "write_reports", "read_report"]

COMPUTE_COLUMNS = ["LayerID", "Total Cycles (incl. prefetch)", "Total Cycles", "Stall Cycles",
                   "Overall Util %", "Mapping Efficiency %", "Compute Util %"]
BANDWIDTH_COLUMNS = ["LayerID", "Avg IFMAP SRAM BW", "Avg FILTER SRAM BW", "Avg OFMAP SRAM BW",
                     "Avg IFMAP DRAM BW", "Avg FILTER DRAM BW", "Avg OFMAP DRAM BW"]
DETAILED_COLUMNS = ["LayerID",
                    "SRAM IFMAP Start Cycle", "SRAM IFMAP Stop Cycle", "SRAM IFMAP Reads",
                    "SRAM Filter Start Cycle", "SRAM Filter Stop Cycle", "SRAM Filter Reads",
                    "SRAM OFMAP Start Cycle", "SRAM OFMAP Stop Cycle", "SRAM OFMAP Writes",
                    "DRAM IFMAP Start Cycle", "DRAM IFMAP Stop Cycle", "DRAM IFMAP Reads",
                    "DRAM Filter Start Cycle", "DRAM Filter Stop Cycle", "DRAM Filter Reads",
                    "DRAM OFMAP Start Cycle", "DRAM OFMAP Stop Cycle", "DRAM OFMAP Writes"]
#: Keys of :func:`simulate_layer`'s result, in report order (the fixture's names).
KEYS = ["total_cycles", "compute_cycles", "stall_cycles", "overall_util_pct", "mapping_eff_pct",
        "compute_util_pct_full",
        "avg_ifmap_sram_bw", "avg_filter_sram_bw", "avg_ofmap_sram_bw",
        "avg_ifmap_dram_bw", "avg_filter_dram_bw", "avg_ofmap_dram_bw",
        "ifmap_sram_start", "ifmap_sram_stop", "ifmap_sram_reads",
        "filter_sram_start", "filter_sram_stop", "filter_sram_reads",
        "ofmap_sram_start", "ofmap_sram_stop", "ofmap_sram_writes",
        "ifmap_dram_start", "ifmap_dram_stop", "ifmap_dram_reads",
        "filter_dram_start", "filter_dram_stop", "filter_dram_reads",
        "ofmap_dram_start", "ofmap_dram_stop", "ofmap_dram_writes"]


def write_reports(results, outdir, run_name) -> str:
    """Write COMPUTE_REPORT.csv, BANDWIDTH_REPORT.csv, DETAILED_ACCESS_REPORT.csv.

    ``results`` is a list of :func:`simulate_layer` dicts, one per layer.  Columns and
    their order are SCALE-Sim 3.0.0's (each line ends with a comma, as its files do).
    Returns the report directory ``outdir/run_name``.
    """
    path = os.path.join(os.fspath(outdir), run_name)
    os.makedirs(path, exist_ok=True)
    groups = (("COMPUTE_REPORT.csv", COMPUTE_COLUMNS, KEYS[0:6]),
              ("BANDWIDTH_REPORT.csv", BANDWIDTH_COLUMNS, KEYS[6:12]),
              ("DETAILED_ACCESS_REPORT.csv", DETAILED_COLUMNS, KEYS[12:]))
    for fname, cols, keys in groups:
        with open(os.path.join(path, fname), "w", newline="") as f:
            f.write(", ".join(cols) + ",\n")
            for lid, r in enumerate(results):
                f.write(", ".join([str(lid)] + [str(r[k]) for k in keys]) + ",\n")
    return path


def read_report(path) -> list[dict]:
    """Read one SCALE-Sim (or npulab) report CSV into a list of ``{column: float}``."""
    with open(path, newline="") as f:
        rows = [[c.strip() for c in r] for r in csv.reader(f)]
    head = [c for c in rows[0] if c]
    return [{h: float(v) for h, v in zip(head, r) if v != ""} for r in rows[1:] if any(r)]
