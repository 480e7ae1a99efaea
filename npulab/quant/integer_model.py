"""Integer-only networks: a calibrated fake-quant model turned into int8 layers.

:func:`to_integer` reads a model built by :func:`npulab.quant.prepare_qat` (and calibrated or
trained) and returns an :class:`IntegerModel` whose layers use only integer arithmetic
(:mod:`npulab.quant.integer`): int8 weights, int32 bias and accumulators, a fixed-point
multiplier and shift per output channel, ReLU folded into the output clamp.  The only float
operation is quantizing the input image once, as TFLite's ``QUANTIZE`` op does.

The integer model and the fake-quant model agree except where (a) the int32 bias
``round(b / (s_w s_x))`` or (b) the 31-bit multiplier rounds differently from float32 math; both
move a value by at most one integer step, rarely.  The tests check the accuracies agree within
0.5% on the digits test set.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from npulab.quant.integer import int_conv2d, int_matmul_fast, quantize_multiplier, requantize
from npulab.quant.uniform import QuantSpec, quantize


@dataclass(frozen=True, repr=False)
class IntegerLayer:
    """One Linear or Conv2d layer in integers: ``y_q = clamp(z_y + M (W_q (x_q - z_x) + b_q))``.

    Attributes
    ----------
    kind : {"linear", "conv"}
    weight : ndarray of int8, shape (out, in) or (out, C, R, S)
    bias : ndarray of int32, shape (out,)
    x_zero_point : int
    multiplier, shift : ndarray of int32, shape (out,)
        Fixed-point ``M = s_w s_x / s_y`` per output channel (:func:`quantize_multiplier`).
    y_zero_point : int
    y_range : (int, int)
        Output clamp (e.g. (0, 255) for uint8 after a ReLU).
    relu : bool
    stride, padding : int
        Conv only.
    real_multiplier : ndarray of float64, shape (out,)
        ``M`` before fixed-point conversion (for reading, not used in arithmetic).
    """

    kind: str
    weight: np.ndarray
    bias: np.ndarray
    x_zero_point: int
    multiplier: np.ndarray
    shift: np.ndarray
    y_zero_point: int
    y_range: tuple
    relu: bool
    stride: int = 1
    padding: int = 0
    real_multiplier: np.ndarray | None = field(default=None)

    @classmethod
    def from_float(cls, kind, weight_q: np.ndarray, weight_scale, bias, x_scale, x_zero_point,
                   y_scale, y_zero_point, y_spec: QuantSpec, relu: bool, stride=1, padding=0):
        """Build a layer from integer weights and the real scales around it.

        ``b_q = round(b / (s_w s_x))`` (half to even), ``M = s_w s_x / s_y``.
        """
        out = weight_q.shape[0]
        s_w = np.broadcast_to(np.asarray(weight_scale, np.float64).reshape(-1), (out,))
        acc_scale = s_w * float(x_scale)
        b = np.zeros(out) if bias is None else np.asarray(bias, np.float64)
        bias_q = np.clip(np.rint(b / acc_scale), -(2**31), 2**31 - 1).astype(np.int32)
        real = acc_scale / float(y_scale)
        m0, shift = quantize_multiplier(real)
        return cls(kind, np.asarray(weight_q, np.int8), bias_q, int(x_zero_point), m0, shift,
                   int(y_zero_point), tuple(int(v) for v in y_spec.int_range), bool(relu),
                   int(stride), int(padding), real)

    def accumulate(self, x_q: np.ndarray) -> np.ndarray:
        """int32 accumulators ``W_q (x_q - z_x) + b_q``: shape (N, out) or (N, out, E, F)."""
        if self.kind == "linear":
            acc = int_matmul_fast(x_q.astype(np.int32) - self.x_zero_point, self.weight.T.astype(np.int32))
            return acc + self.bias
        acc = int_conv2d(x_q, self.weight, self.stride, self.padding, self.x_zero_point)
        return acc + self.bias[:, None, None]

    def __call__(self, x_q: np.ndarray) -> np.ndarray:
        acc = self.accumulate(x_q)
        chan = (slice(None),) + (None,) * (acc.ndim - 2)  # per-channel params along axis 1
        q_min, q_max = self.y_range
        return requantize(acc, self.multiplier[chan], self.shift[chan], self.y_zero_point,
                          q_min, q_max, self.relu)

    def __repr__(self):
        extra = f", stride={self.stride}, padding={self.padding}" if self.kind == "conv" else ""
        return (f"IntegerLayer({self.kind}, weight={self.weight.shape}, relu={self.relu}, "
                f"out={self.y_range}{extra}, shift={int(self.shift.min())}..{int(self.shift.max())})")


@dataclass(frozen=True, repr=False)
class Reshape:
    """A reshape between layers (Flatten / Unflatten); ``shape`` excludes the batch dim."""

    shape: tuple

    def __call__(self, x_q):
        return x_q.reshape((x_q.shape[0],) + tuple(self.shape))

    def __repr__(self):
        return f"Reshape{self.shape}"


@dataclass(frozen=True, repr=False)
class IntegerModel:
    """An integer-only network: quantize the input once, then integer layers only.

    Attributes
    ----------
    steps : tuple of IntegerLayer / Reshape
    input_scale : float
    input_zero_point : int
    input_spec : QuantSpec
    output_scale : float
        Real value of one step of the output (logit) integers.
    output_zero_point : int
    """

    steps: tuple
    input_scale: float
    input_zero_point: int
    input_spec: QuantSpec
    output_scale: float
    output_zero_point: int

    def quantize_input(self, x) -> np.ndarray:
        """The one float operation: ``x_q = clamp(round(x / s) + z)``."""
        return quantize(x, self.input_spec, self.input_scale, self.input_zero_point).int_repr

    def forward_int(self, x_q: np.ndarray, trace: bool = False):
        """Run the integer layers; with ``trace=True`` also return every step's output."""
        outs = []
        for step in self.steps:
            x_q = step(x_q)
            outs.append(x_q)
        return (x_q, outs) if trace else x_q

    def __call__(self, x) -> np.ndarray:
        """Integer logits for float inputs ``x`` (int32 array, shape (N, classes))."""
        return self.forward_int(self.quantize_input(x))

    def predict(self, x) -> np.ndarray:
        """Class labels: argmax of the integer logits."""
        return np.argmax(self(x), axis=1)

    def accuracy(self, x, y) -> float:
        """Fraction of ``x``'s rows whose predicted class equals ``y`` (0..1)."""
        return float(np.mean(self.predict(x) == np.asarray(y)))

    def __repr__(self):
        body = "\n".join(f"  {s!r}" for s in self.steps)
        return f"IntegerModel(input scale={self.input_scale:.4g}, zero_point={self.input_zero_point}\n{body}\n)"


def to_integer(qat_model) -> IntegerModel:
    """Convert a calibrated :func:`prepare_qat` model into an :class:`IntegerModel`.

    The model must be ``FakeQuantize, (QATLinear|QATConv2d [, ReLU], FakeQuantize |
    Flatten | Unflatten)*``, which is what :func:`prepare_qat` builds.
    """
    from torch import nn

    from npulab.quant.qat import FakeQuantize, QATConv2d, QATLinear

    mods = list(qat_model)
    if not isinstance(mods[0], FakeQuantize) or mods[0].calibrating:
        raise ValueError("to_integer: the model must start with a calibrated FakeQuantize (run calibrate first)")
    x_scale, x_zp = float(mods[0].scale), int(mods[0].zero_point)
    first = (x_scale, x_zp, mods[0].spec)
    steps, i = [], 1
    while i < len(mods):
        m = mods[i]
        if isinstance(m, (QATLinear, QATConv2d)):
            layer = m.linear if isinstance(m, QATLinear) else m.conv
            relu = i + 1 < len(mods) and isinstance(mods[i + 1], nn.ReLU)
            j = i + 2 if relu else i + 1
            fq = mods[j] if j < len(mods) else None
            if not isinstance(fq, FakeQuantize) or fq.calibrating:
                raise ValueError(f"to_integer: layer {i} must be followed by a calibrated FakeQuantize")
            w = layer.weight.detach().cpu().numpy()
            wq = quantize(w, m.weight_quant.spec)
            bias = None if layer.bias is None else layer.bias.detach().cpu().numpy()
            kw: dict[str, int] = {}
            if isinstance(m, QATConv2d):
                kw = dict(stride=int(m.conv.stride[0]), padding=int(m.conv.padding[0]))
            steps.append(IntegerLayer.from_float(
                "linear" if isinstance(m, QATLinear) else "conv", wq.int_repr, wq.scale, bias, x_scale, x_zp,
                float(fq.scale), int(fq.zero_point), fq.spec, relu, **kw))
            x_scale, x_zp = float(fq.scale), int(fq.zero_point)
            i = j + 1
        elif isinstance(m, nn.Flatten):
            steps.append(Reshape((-1,)))
            i += 1
        elif isinstance(m, nn.Unflatten):
            steps.append(Reshape(tuple(m.unflattened_size)))
            i += 1
        else:
            raise ValueError(f"to_integer: unexpected {type(m).__name__} at position {i}")
    return IntegerModel(tuple(steps), first[0], first[1], first[2], x_scale, x_zp)
