"""The docstring examples of npulab.pim and CrossbarConfig run and print what they show."""
import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["npulab.pim.mvm", "npulab.pim.devices", "npulab.pim.slicing",
                                    "npulab.pim.cost", "npulab.pim.layers", "npulab.hw.crossbar"])
def test_doctests(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
