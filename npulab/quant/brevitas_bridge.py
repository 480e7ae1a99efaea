"""Read brevitas quantized layers (``QuantLinear``, ``QuantConv2d``) into npulab's integers.

brevitas (Pappalardo et al., Xilinx/AMD, 2021-) trains quantized networks in torch; its
layers expose their integer weights through ``layer.quant_weight()`` (a ``QuantTensor`` with
``.int()``, ``.scale``, ``.zero_point``, ``.bit_width``, ``.signed``).  This bridge copies them
into a :class:`npulab.quant.QTensor`, and into an :class:`npulab.quant.IntegerLayer` given the
input and output scales, so a brevitas-trained model runs on npulab's integer pipeline.
"""
from __future__ import annotations

import numpy as np

from npulab.quant.integer_model import IntegerLayer
from npulab.quant.uniform import QTensor, QuantSpec


def read_brevitas_weight(layer) -> QTensor:
    """The integer weight of a brevitas ``QuantLinear``/``QuantConv2d`` as a :class:`QTensor`.

    Per-channel is inferred from the scale's shape; narrow range from the integer minimum
    brevitas reports.
    """
    if not hasattr(layer, "quant_weight"):
        raise ValueError(f"read_brevitas_weight: {type(layer).__name__} is not a brevitas quant layer")
    qw = layer.quant_weight()
    ints = qw.int().detach().cpu().numpy()
    scale = qw.scale.detach().cpu().numpy().astype(np.float32)
    zp = np.asarray(qw.zero_point.detach().cpu().numpy(), np.float32)
    bits = int(qw.bit_width)
    signed = bool(qw.signed)
    narrow = bool(getattr(layer.weight_quant, "is_narrow_range", True))
    per_channel = scale.size > 1
    spec = QuantSpec(bits, signed=signed, symmetric=not np.any(zp), narrow_range=narrow,
                     per_channel=per_channel, axis=0)
    scale = scale.reshape(scale.shape if per_channel else ())
    zp = np.broadcast_to(np.rint(zp), scale.shape).astype(np.int32)
    return QTensor(int_repr=ints.astype(spec.int_dtype), scale=scale, zero_point=zp, spec=spec)


def integer_layer_from_brevitas(layer, x_scale: float, x_zero_point: int, y_scale: float,
                                y_zero_point: int = 0, y_spec: QuantSpec | None = None,
                                relu: bool = False) -> IntegerLayer:
    """An :class:`IntegerLayer` with a brevitas layer's integer weights and float bias.

    ``x_scale``/``y_scale`` are the input and output activation scales (e.g. from brevitas
    ``QuantIdentity``/``QuantReLU`` layers' ``act_quant.scale()``).
    """
    qw = read_brevitas_weight(layer)
    y_spec = y_spec or QuantSpec(8, signed=not relu, narrow_range=False)
    bias = None if layer.bias is None else layer.bias.detach().cpu().numpy()
    if qw.int_repr.ndim == 4:
        return IntegerLayer.from_float("conv", qw.int_repr, qw.scale, bias, x_scale, x_zero_point,
                                       y_scale, y_zero_point, y_spec, relu,
                                       stride=layer.stride[0], padding=layer.padding[0])
    return IntegerLayer.from_float("linear", qw.int_repr, qw.scale, bias, x_scale, x_zero_point,
                                   y_scale, y_zero_point, y_spec, relu)
