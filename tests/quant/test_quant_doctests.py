"""The docstring examples of npulab.quant run and are right."""
from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["uniform", "observers", "integer", "minifloat", "fp8", "mx", "groupwise", "formats", "qat",
           "integer_model", "brevitas_bridge"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(f"npulab.quant.{name}")
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_package_example_and_lazy_exports():
    import npulab.quant as q
    assert doctest.testmod(q).failed == 0
    assert callable(q.prepare_qat) and callable(q.read_brevitas_weight)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        q.nope  # noqa: B018
