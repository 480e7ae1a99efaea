"""Metrics: the leaf every engine returns into, and the roofline bound.

* :mod:`npulab.metrics.report`: :class:`Report` (what one run cost: latency, energy
  breakdown, MACs, cycles, the time the math and the memory need), :func:`bound_of` (the
  one memory-bound rule), :func:`render_table` (the one text table), :data:`ENERGY_GROUPS`,
  :func:`format_si`;
* :mod:`npulab.metrics.roofline`: :class:`Roofline` (Williams et al., CACM 2009) and
  :func:`~npulab.metrics.roofline.roofline_report`;
* :mod:`npulab.metrics.pareto`: :func:`pareto_front` and :func:`dominates`, the one Pareto
  definition (every objective minimised, ties all kept) of the sweep, the tiler and Lab 08.

Layering: this package imports nothing from an engine, from :mod:`npulab.perf` or from an
app; it may use the inputs (:mod:`npulab.hw`) and the validation helpers.  Engines import
it; :mod:`npulab.perf` (orchestration) re-exports ``Report`` and ``Roofline`` for users.
"""
from npulab.metrics.pareto import dominates, pareto_front
from npulab.metrics.report import (
    ENERGY_GROUPS,
    Report,
    bound_of,
    format_si,
    render_table,
)
from npulab.metrics.roofline import Roofline

__all__ = ["Report", "Roofline", "ENERGY_GROUPS", "bound_of", "format_si", "render_table",
           "dominates", "pareto_front"]
