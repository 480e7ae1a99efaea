"""The docstring examples of npulab.quant run and are right."""
from __future__ import annotations

import doctest
import importlib

import pytest

# modules with docstring examples (integer_model and brevitas_bridge have none yet)
MODULES = ["uniform", "observers", "integer", "minifloat", "fp8", "mx", "groupwise", "formats", "qat",
           "transformer"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(f"npulab.quant.{name}")
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"npulab.quant.{name} has no examples to run"
    assert result.failed == 0


def test_package_example_and_lazy_exports():
    import npulab.quant as q
    result = doctest.testmod(q)
    assert result.attempted > 0 and result.failed == 0
    assert callable(q.prepare_qat) and callable(q.read_brevitas_weight)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        q.nope  # noqa: B018
