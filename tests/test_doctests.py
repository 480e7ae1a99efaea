"""The Examples in the foundation modules' docstrings run and print what they claim."""
import doctest
import importlib

import pytest

MODULES = [
    "npulab",
    "npulab.i18n.assertions",
    "npulab.i18n.lectures",
    "npulab.workloads.layers",
    "npulab.hw.array",
    "npulab.hw.energy",
    "npulab.hw.precision",
    "npulab.hw.systolic",
    "npulab.hw.pim",
    "npulab.hw.snn",
    "npulab.hw.hierarchy",
    "npulab.hw.area",
    "npulab.hw.protocol",
    "npulab.hw.gpu",
    "npulab.hw.interconnect",
    "npulab.metrics.report",
    "npulab.metrics.roofline",
    "npulab.grading.markers",
    "npulab.grading.forbid",
    "npulab.grading.gradebook_db",
    "npulab.grading.course",
    "npulab.datasets",
    "npulab.systolic.folds",
    "npulab.systolic.emulator",
    "npulab.systolic.reference",
    "npulab.systolic.estimate",
    "npulab.systolic.scalesim_config",
    "npulab.compiler",
    "npulab.compiler.ir",
    "npulab.compiler.frontend",
    "npulab.compiler.passes",
    "npulab.compiler.isa",
    "npulab.compiler.asm",
    "npulab.compiler.machine",
    "npulab.compiler.lower",
    "npulab.compiler.sim",
    "npulab.compiler.models",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no docstring Example to run"
    assert result.failed == 0, f"{result.failed} of {result.attempted} doctest examples failed in {name}"
