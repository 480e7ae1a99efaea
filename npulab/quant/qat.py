"""Fake quantization in torch: quantize-dequantize with the straight-through estimator (STE).

Quantization-aware training (QAT) runs the float network with every weight and activation
replaced by its quantized value, ``x_hat = s * clamp(round(x / s), q_min, q_max)``, so training
sees the rounding error.  ``round`` has zero gradient almost everywhere; the STE (Bengio et al.,
arXiv:1308.3432, 2013; Jacob et al., CVPR 2018, section 3) pretends it is the identity in the
backward pass: ``x_hat = x + (fq(x) - x).detach()``, so ``d x_hat / d x = 1``.

* :class:`FakeQuantize`: one quantizer.  ``observer="weight"`` recomputes the max-abs scale
  from the tensor each call (brevitas's ``Int8WeightPerTensorFloat`` / ``PerChannelFloat``,
  bit-exact with :func:`npulab.quant.quantize`); ``"percentile"``, ``"minmax"`` and ``"mse"``
  are activation observers that are calibrated once (:func:`calibrate`) and then frozen.
* :class:`QATLinear`, :class:`QATConv2d`: wrap an ``nn.Linear`` / ``nn.Conv2d`` and
  fake-quantize its weight; usable in any ``nn.Module``.
* :func:`prepare_qat`: turn a float ``nn.Sequential`` (Linear/Conv2d/ReLU/Flatten/Unflatten)
  into a fake-quant model with quantizers on the input, after every ReLU and on the logits.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from npulab.quant.observers import MinMaxObserver, MSEObserver, PercentileObserver
from npulab.quant.uniform import SCALING_MIN_VAL, QuantSpec

OBSERVERS = {"percentile": PercentileObserver, "minmax": MinMaxObserver, "mse": MSEObserver}


def fake_quant_ste(x: torch.Tensor, scale: torch.Tensor, zero_point: torch.Tensor,
                   q_min: int, q_max: int) -> torch.Tensor:
    """``(clamp(round(x / s + z)) - z) * s`` forward, identity gradient backward (STE)."""
    q = torch.clamp(torch.round(x / scale + zero_point), q_min, q_max)
    x_hat = (q - zero_point) * scale
    return x + (x_hat - x).detach()


class FakeQuantize(nn.Module):
    """Quantize-dequantize a tensor with a straight-through gradient.

    Parameters
    ----------
    spec : QuantSpec
    observer : {"weight", "percentile", "minmax", "mse"}, default "weight"
        "weight": scale from max|x| on every call (no state).  The others collect statistics
        while ``calibrating`` is True (pass-through), then quantize with the frozen scale.
    """

    def __init__(self, spec: QuantSpec, observer: str = "weight"):
        super().__init__()
        if observer != "weight" and observer not in OBSERVERS:
            raise ValueError(f"FakeQuantize.observer must be one of {['weight', *OBSERVERS]}; got {observer!r}")
        self.spec, self.observer_kind = spec, observer
        self.calibrating = observer != "weight"
        self._observer = OBSERVERS[observer]() if observer != "weight" else None
        self.register_buffer("scale", torch.tensor(1.0))
        self.register_buffer("zero_point", torch.tensor(0.0))

    def weight_scale(self, w: torch.Tensor) -> torch.Tensor:
        """brevitas's max-abs scale, ``max(max|w|, 1e-10) / QuantSpec.scaling_int`` in float32
        (per channel on axis): the rule of :func:`npulab.quant.minmax_scale`."""
        a = w.detach().abs()
        if self.spec.per_channel:
            axis = self.spec.axis % w.ndim
            dims = [d for d in range(w.ndim) if d != axis]
            stat = a.amax(dim=dims, keepdim=True)
        else:
            stat = a.max()
        return torch.clamp(stat, min=SCALING_MIN_VAL) / self.spec.scaling_int

    def freeze(self):
        """End calibration: fix the scale and zero point from the observer's statistics."""
        if self._observer is not None and self.calibrating:
            s, z = self._observer.qparams(self.spec)
            self.scale = torch.tensor(float(s), dtype=torch.float32)
            self.zero_point = torch.tensor(float(z), dtype=torch.float32)
            self.calibrating = False
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q_min, q_max = self.spec.int_range
        if self.observer_kind == "weight":
            return fake_quant_ste(x, self.weight_scale(x), torch.zeros(()), q_min, q_max)
        if self.calibrating and self._observer is not None:  # (a weight quantizer returned above)
            self._observer.observe(x.detach().cpu().numpy())
            return x
        return fake_quant_ste(x, self.scale, self.zero_point, q_min, q_max)

    def extra_repr(self) -> str:
        s = self.spec
        state = "calibrating" if self.calibrating else (
            "dynamic" if self.observer_kind == "weight" else f"scale={float(self.scale):.5g}")
        return f"{'int' if s.signed else 'uint'}{s.bits}, {self.observer_kind}, {state}"


class QATLinear(nn.Module):
    """An ``nn.Linear`` whose weight is fake-quantized on every forward pass."""

    def __init__(self, linear: nn.Linear, weight_spec: QuantSpec):
        super().__init__()
        self.linear = linear
        self.weight_quant = FakeQuantize(weight_spec, "weight")

    def forward(self, x):
        return F.linear(x, self.weight_quant(self.linear.weight), self.linear.bias)


class QATConv2d(nn.Module):
    """An ``nn.Conv2d`` whose weight is fake-quantized on every forward pass."""

    def __init__(self, conv: nn.Conv2d, weight_spec: QuantSpec):
        super().__init__()
        self.conv = conv
        self.weight_quant = FakeQuantize(weight_spec, "weight")

    def forward(self, x):
        c = self.conv
        return F.conv2d(x, self.weight_quant(c.weight), c.bias, c.stride, c.padding, c.dilation, c.groups)


def prepare_qat(model: nn.Sequential, w_bits: int = 8, a_bits: int = 8, per_channel: bool = True,
                observer: str = "percentile", input_signed: bool = False) -> nn.Sequential:
    """A fake-quant copy of a float ``nn.Sequential`` (the float model is not changed).

    Quantizers: the input (``uint{a_bits}`` unless ``input_signed``), every Linear/Conv2d weight
    (``int{w_bits}``, narrow, per output channel), the output of every ReLU (``uint{a_bits}``)
    and the final logits (``int{a_bits}``).  Call :func:`calibrate` before use.

    Examples
    --------
    >>> m = prepare_qat(nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)), 4, 8)
    >>> [type(l).__name__ for l in m]
    ['FakeQuantize', 'QATLinear', 'ReLU', 'FakeQuantize', 'QATLinear', 'FakeQuantize']
    """
    import copy

    w_spec = QuantSpec(w_bits, per_channel=per_channel)
    act_u = QuantSpec(a_bits, signed=False, narrow_range=False)
    act_s = QuantSpec(a_bits, signed=True, narrow_range=False)
    layers: list[nn.Module] = [FakeQuantize(act_s if input_signed else act_u, observer)]
    for m in copy.deepcopy(model):
        if isinstance(m, nn.Linear):
            layers.append(QATLinear(m, w_spec))
        elif isinstance(m, nn.Conv2d):
            layers.append(QATConv2d(m, w_spec))
        elif isinstance(m, nn.ReLU):
            layers += [m, FakeQuantize(act_u, observer)]
        elif isinstance(m, (nn.Flatten, nn.Unflatten)):
            layers.append(m)
        else:
            raise ValueError(f"prepare_qat: unsupported layer {type(m).__name__} "
                             "(Linear, Conv2d, ReLU, Flatten, Unflatten)")
    layers.append(FakeQuantize(act_s, observer))
    return nn.Sequential(*layers)


def calibrate(model: nn.Module, x, batch_size: int = 256) -> nn.Module:
    """Run calibration data through ``model`` and freeze every activation quantizer's scale."""
    x = torch.as_tensor(np.asarray(x, np.float32))
    for q in model.modules():
        if isinstance(q, FakeQuantize) and q.observer_kind != "weight":
            q.calibrating = True
            q._observer = OBSERVERS[q.observer_kind]()
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            model(x[i:i + batch_size])
    for q in model.modules():
        if isinstance(q, FakeQuantize):
            q.freeze()
    return model


def train_qat(model: nn.Module, x, y, epochs: int = 3, lr: float = 1e-3, batch_size: int = 64,
              seed: int = 0) -> list[float]:
    """A few epochs of Adam on cross-entropy through the fake quantizers (STE); returns losses.

    ``seed`` drives the batch order through a private ``torch.Generator`` (the training step
    draws no other random numbers); torch's global RNG is left untouched.
    """
    x = torch.as_tensor(np.asarray(x, np.float32))
    y = torch.as_tensor(np.asarray(y, np.int64))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    losses = []
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=g)
        total = 0.0
        for i in range(0, len(x), batch_size):
            idx = perm[i:i + batch_size]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        losses.append(total / len(x))
    model.eval()
    return losses
