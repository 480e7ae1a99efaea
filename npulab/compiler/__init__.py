"""The NPU software stack: compile a PyTorch model to a program for the simulated NPU.

Read in this order (each module is one pass or one part of the machine):

* :mod:`~npulab.compiler.ir`: the printable graph IR.
* :mod:`~npulab.compiler.frontend`: ``torch.fx`` capture into the IR.
* :mod:`~npulab.compiler.passes`: activation fusion, the float interpreter.
* :mod:`~npulab.compiler.quantize`: post-training int8 quantization and the integer-only
  reference (:mod:`npulab.quant`).
* :mod:`~npulab.compiler.isa`, :mod:`~npulab.compiler.asm`: the instruction set, its binary
  encoding and its assembly text.
* :mod:`~npulab.compiler.machine`, :mod:`~npulab.compiler.lower`: tiling, loop order,
  double buffering, fusion; dependency tokens.
* :mod:`~npulab.compiler.sim`: the functional + timed simulator, deadlock detection, trace.
* :mod:`~npulab.compiler.program`: :class:`Program` (run / reference / stats / asm / binary).

This package is orchestration (like :mod:`npulab.perf`): it imports the inputs, ``quant``,
``tiling``-free helpers and ``systolic``; no engine imports it.

Examples
--------
>>> import torch
>>> from npulab.compiler import compile_model
>>> model = torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.ReLU(), torch.nn.Linear(4, 3))
>>> x = torch.randn(16, 8, generator=torch.Generator().manual_seed(0))
>>> prog = compile_model(model, example_inputs=(x,), hw="edge-npu-int8")
>>> bool(torch.equal(prog.run(x), prog.reference(x)))
True
"""

from __future__ import annotations

from npulab.compiler.program import Program

__all__ = ["compile_model", "Program", "load_hardware"]


def load_hardware(hw):
    """``(SystolicConfig, name)`` from a preset name or file, a HardwarePreset, or a config."""
    from npulab.hw import ArrayConfig, SystolicConfig

    if isinstance(hw, (SystolicConfig, ArrayConfig)):
        return SystolicConfig.of(hw), "custom"
    from npulab.perf.presets import load_preset

    preset = load_preset(hw)
    if preset.engine != "systolic":
        raise ValueError(
            f"compile_model: hw {preset.name!r} is a {preset.engine} preset; the "
            f"compiler targets systolic presets"
        )
    return preset.config, preset.name


def _qat_graph(module, example_inputs):
    """The QAT path: an IntegerModel, or a calibrated ``prepare_qat`` model (None otherwise)."""
    from npulab.compiler.quantize import from_integer_model
    from npulab.quant import IntegerModel, to_integer

    if not isinstance(module, IntegerModel):
        from torch import nn

        from npulab.quant.qat import FakeQuantize

        qat = isinstance(module, nn.Sequential) and len(module) > 0
        if not (qat and isinstance(module[0], FakeQuantize)):
            return None
        module = to_integer(module)
    return from_integer_model(module, example_inputs[0])


def compile_model(module, example_inputs, hw="tpuv1-like", batch: int = 1) -> Program:
    """Capture, quantize, lower and schedule ``module`` for the NPU ``hw``.

    Parameters
    ----------
    module : torch.nn.Module or IntegerModel
        A float model (post-training quantized here), or the QAT path: a calibrated/trained
        :func:`npulab.quant.prepare_qat` model or its :func:`npulab.quant.to_integer`, whose
        integer layers are compiled as they are.
    example_inputs : tuple of one torch.Tensor
        Calibration inputs (batch first); their ranges set every activation's int8 scale.
    hw : str, HardwarePreset, SystolicConfig or ArrayConfig, default "tpuv1-like"
        A systolic hardware preset (``npulab info`` lists them) or file.
    batch : int, default 1
        The batch the program's :meth:`~Program.asm`, :meth:`~Program.binary` and
        :attr:`~Program.stats` describe (``run`` takes any batch).

    Returns
    -------
    Program

    Raises
    ------
    ValueError
        One line naming an unsupported op and its node, or a bad argument.
    """
    from npulab.compiler.frontend import capture
    from npulab.compiler.machine import machine_for
    from npulab.compiler.passes import fuse_activations
    from npulab.compiler.quantize import quantize_graph

    if not isinstance(example_inputs, (tuple, list)) or len(example_inputs) != 1:
        raise ValueError("compile_model: example_inputs must be a tuple of one tensor, e.g. (x,)")
    config, name = load_hardware(hw)
    mach = machine_for(config, name)
    qgraph = _qat_graph(module, example_inputs)
    if qgraph is None:
        graph = fuse_activations(capture(module, tuple(example_inputs)))
        if len(graph.outputs) != 1:
            raise ValueError(
                f"compile_model: the model must return one tensor; got {len(graph.outputs)}"
            )
        qgraph = quantize_graph(graph, tuple(example_inputs))
    prog = Program(qgraph, mach, config, batch)
    prog.lowered()  # lower now: unsupported layouts fail at compile time
    return prog
