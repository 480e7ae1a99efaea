"""Performance results: one :class:`Report` type every engine returns.

A Report holds what was measured or modelled (MACs, cycles, latency, an energy breakdown,
utilisation, accuracy) and derives the scorecard metrics from them:

* throughput ``ops / latency`` (a MAC is 2 ops), TOPS;
* energy in J and average power ``energy / latency`` (W);
* TOPS/W, which is ``ops / energy`` (operations per joule, divided by 1e12).

:class:`Roofline` bounds any of them by peak compute and memory bandwidth.
"""
from npulab.perf.report import Report, format_si
from npulab.perf.roofline import Roofline

__all__ = ["Report", "Roofline", "format_si"]
