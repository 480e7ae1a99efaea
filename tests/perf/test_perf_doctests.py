"""The doctest examples in the scorecard modules run and pass."""
import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["npulab.metrics.report", "npulab.metrics.roofline", "npulab.perf.presets",
                                    "npulab.perf.scorecard", "npulab.hw.area", "npulab.workloads.llm",
                                    "npulab.perf.parallel"])
def test_doctests(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0 and result.attempted > 0
