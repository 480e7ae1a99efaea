"""Quantization: numbers from float to integers and narrow floats, and integer-only inference.

Read in this order (each module is short and cites its source):

* :mod:`~npulab.quant.uniform`: ``QuantSpec``, ``quantize`` -> ``QTensor`` (brevitas-exact).
* :mod:`~npulab.quant.observers`: calibration (min-max, percentile, MSE, moving average), SQNR.
* :mod:`~npulab.quant.integer`: int8 GEMM/conv with int32 accumulators, fixed-point requantization.
* :mod:`~npulab.quant.qat`: torch fake quantization with the straight-through estimator.
* :mod:`~npulab.quant.integer_model`: a fake-quant model turned into an integer-only network.
* :mod:`~npulab.quant.transformer`: integer-only RMSNorm (integer sqrt), softmax (I-BERT),
  table activations and requantized products of a transformer block.
* :mod:`~npulab.quant.minifloat`, :mod:`~npulab.quant.fp8`, :mod:`~npulab.quant.mx`,
  :mod:`~npulab.quant.groupwise`, :mod:`~npulab.quant.formats`: FP8, MX block formats,
  group-wise INT4/INT8, bytes per parameter.
* :mod:`~npulab.quant.brevitas_bridge`: read brevitas layers.

torch is imported only by ``qat`` and the bridge (loaded on first use).

Examples
--------
>>> import numpy as np
>>> from npulab.quant import QuantSpec, quantize
>>> quantize(np.array([1.0, -0.5], np.float32), QuantSpec(4)).int_repr.tolist()
[7, -3]
"""
from __future__ import annotations

from npulab.quant.formats import bytes_per_param
from npulab.quant.fp8 import fp8_decode, fp8_encode, fp8_round
from npulab.quant.groupwise import GroupQTensor, quantize_groupwise
from npulab.quant.integer import (
    accumulator_bits,
    int_conv2d,
    int_matmul,
    int_matmul_fast,
    multiply_by_quantized_multiplier,
    quantize_multiplier,
    requantize,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
)
from npulab.quant.integer_model import IntegerLayer, IntegerModel, Reshape, to_integer
from npulab.quant.mx import MXTensor, mx_fake_quantize, mx_quantize
from npulab.quant.observers import (
    MinMaxObserver,
    MovingAverageObserver,
    MSEObserver,
    PercentileObserver,
    error_metrics,
    sqnr_db,
)
from npulab.quant.transformer import (
    int_exp,
    int_lut,
    int_mul,
    int_rmsnorm,
    int_softmax,
    isqrt,
    lut_table,
    mul_params,
    softmax_params,
)
from npulab.quant.uniform import QTensor, QuantSpec, fake_quantize, minmax_scale, quantize

_LAZY = {  # torch-based parts load on first use
    "FakeQuantize": "qat", "QATLinear": "qat", "QATConv2d": "qat", "prepare_qat": "qat",
    "calibrate": "qat", "train_qat": "qat",
    "read_brevitas_weight": "brevitas_bridge", "integer_layer_from_brevitas": "brevitas_bridge",
}

__all__ = [
    "QuantSpec", "QTensor", "quantize", "fake_quantize", "minmax_scale",
    "MinMaxObserver", "PercentileObserver", "MSEObserver", "MovingAverageObserver", "sqnr_db",
    "error_metrics", "quantize_multiplier", "saturating_rounding_doubling_high_mul",
    "rounding_divide_by_pot", "multiply_by_quantized_multiplier", "requantize", "int_matmul",
    "int_matmul_fast", "int_conv2d", "accumulator_bits", "IntegerLayer", "IntegerModel", "Reshape",
    "to_integer", "fp8_encode", "fp8_decode", "fp8_round", "mx_quantize", "mx_fake_quantize",
    "MXTensor", "quantize_groupwise", "GroupQTensor", "bytes_per_param", "isqrt", "int_rmsnorm",
    "softmax_params", "int_exp", "int_softmax", "lut_table", "int_lut", "mul_params", "int_mul",
    *_LAZY,
]


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"npulab.quant.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'npulab.quant' has no attribute {name!r}")
