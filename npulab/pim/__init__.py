"""Processing in memory: analog crossbar MVM, devices, bit slicing, tiled torch layers, cost.

* :mod:`npulab.pim.mvm`: :func:`analog_mvm` (the periphery it runs, :class:`IOConfig`, is
  hardware description: :mod:`npulab.hw.pim`) (aihwkit's forward pass:
  DAC/ADC, noise and bound management, output noise) and its row-by-row reference.
* :mod:`npulab.pim.devices`: weights -> conductance pairs (uS), :class:`PCMNoiseModel`
  (programming noise, drift, 1/f read noise), drift compensation, stuck-at faults, IR drop.
* :mod:`npulab.pim.slicing`: bit-serial inputs, bit-sliced weights, tiling over arrays.
* :mod:`npulab.pim.layers` (torch, loaded on first use): ``AnalogLinear``, ``AnalogConv2d``,
  ``convert_to_analog``, ``program_analog``, ``drift_analog``, ``set_io``.
* :mod:`npulab.pim.cost`: :func:`estimate` -> :class:`npulab.perf.Report` (engine "pim").
* :mod:`npulab.pim.plots` (matplotlib, loaded on first use): heat maps, accuracy curves,
  an ipywidgets explorer.
"""
from npulab.hw.pim import IOConfig, PimConfig
from npulab.pim.cost import estimate
from npulab.pim.devices import (
    Conductances,
    PCMNoiseModel,
    ProgrammedArray,
    drift_compensation_alpha,
    ir_drop_currents,
    program,
    stuck_at_faults,
    weights_to_conductances,
)
from npulab.pim.mvm import analog_mvm, analog_mvm_reference
from npulab.pim.slicing import (
    SlicedResult,
    adc,
    bit_sliced_mvm,
    ir_drop_array,
    tile_grid,
    tiled_mvm,
)

_LAZY = {
    "AnalogLinear": "layers", "AnalogConv2d": "layers", "convert_to_analog": "layers",
    "program_analog": "layers", "drift_analog": "layers", "set_io": "layers",
    "analog_layers": "layers",
    "draw_crossbar": "plots", "plot_conductances": "plots", "plot_accuracy": "plots",
    "explorer": "plots",
}

__all__ = ["IOConfig", "PimConfig", "analog_mvm", "analog_mvm_reference", "Conductances",
           "PCMNoiseModel", "ProgrammedArray", "weights_to_conductances", "program",
           "drift_compensation_alpha", "stuck_at_faults", "ir_drop_currents", "SlicedResult",
           "ir_drop_array",
           "adc", "bit_sliced_mvm", "tile_grid", "tiled_mvm", "estimate", *_LAZY]


def __getattr__(name):
    if name in ("layers", "plots"):                 # submodules that import torch / matplotlib
        import importlib

        return importlib.import_module(f"npulab.pim.{name}")
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"npulab.pim.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'npulab.pim' has no attribute {name!r}")
