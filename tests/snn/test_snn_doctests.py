"""The docstring examples of npulab.snn run and print what they claim."""
from __future__ import annotations

import doctest
import importlib

import pytest

# modules with docstring examples (plots draws figures and has none)
MODULES = ["neurons", "encoders", "core", "energy", "convert", "surrogate", "modules"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(f"npulab.snn.{name}")
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"npulab.snn.{name} has no examples to run"
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in npulab.snn.{name}"
