"""Torch layers that run on simulated analog crossbars: ``AnalogLinear``, ``AnalogConv2d``.

Life cycle of an analog layer (as in aihwkit's inference tiles):

1. train (or load) a float model; ``convert_to_analog(model)`` swaps every ``nn.Linear`` and
   ``nn.Conv2d`` for its analog twin, keeping the weights;
2. ``program_analog(model, rng)`` writes the weights as PCM conductance pairs (programming
   noise; drift exponents drawn once);
3. ``drift_analog(model, t, rng, compensate=True)`` reads the chip ``t`` seconds later
   (drift + 1/f noise) and, optionally, measures the global drift-compensation factor;
4. ``model(x)`` in eval mode runs every layer through :func:`~npulab.pim.slicing.tiled_mvm`
   (DAC, crossbar, ADC, noise and bound management per tile; digital bias).

In training mode the layer is a float layer with **noise injection** (Gaussian weight noise
of ``train_noise * max|W|`` redrawn every forward pass; Joshi et al., Nat. Commun. 2020),
which makes the trained network robust to the analog errors above.

Where this differs from aihwkit: weights are normalised by one ``max|W|`` per layer
(aihwkit's ``weight_scaling_omega=1`` does it per tile) and the bias is added digitally.
"""
from __future__ import annotations

import copy
from typing import cast

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from npulab.hw.crossbar import CrossbarConfig
from npulab.hw.pim import IOConfig
from npulab.pim.devices import PCMNoiseModel, drift_compensation_alpha, program
from npulab.pim.slicing import tiled_mvm


class _AnalogMixin:
    """State and behaviour shared by the analog layers (weights as a 2-D [out, in] matrix)."""

    # provided by the torch layer the mixin is combined with (nn.Linear, nn.Conv2d)
    weight: torch.Tensor
    training: bool

    def _init_analog(self, io, noise_model, tile_size, train_noise, faults=(0.0, 0.0),
                     ir_drop=None):
        self.io = io if io is not None else IOConfig()
        p_off, p_on = (float(p) for p in faults)
        if not (0 <= p_off <= 1 and 0 <= p_on <= 1 and p_off + p_on <= 1):
            raise ValueError(f"{type(self).__name__}.faults must be (p_off, p_on) in [0, 1] with "
                             f"sum <= 1; got {faults!r}")
        self.faults = (p_off, p_on)
        if ir_drop is not None and not isinstance(ir_drop, CrossbarConfig):
            raise ValueError(f"{type(self).__name__}.ir_drop must be a CrossbarConfig or None; "
                             f"got {ir_drop!r}")
        self.ir_drop = ir_drop
        self._stuck = None               # (stuck_off, stuck_on) masks for (G+, G-) per device
        self.noise_model = noise_model
        self.tile_size = int(tile_size)
        self.train_noise = float(train_noise)
        self._programmed = None          # ProgrammedArray after program()
        self._w_read = None              # weights (normalised) as read at the current time
        self.alpha = 1.0                 # drift-compensation factor
        self.t_inference = 0.0
        self._rng = None                 # numpy Generator for the output noise (see seed())

    def _matrix(self) -> np.ndarray:
        return self.weight.detach().reshape(self.weight.shape[0], -1).double().cpu().numpy()

    def program(self, rng=None) -> None:
        """Write the weights as conductance pairs with programming noise (needs ``noise_model``)."""
        if self.noise_model is None:
            self._programmed = None
            self._w_read = None
            return
        gen = np.random.default_rng(rng)
        self._programmed = program(self._matrix(), self.noise_model, rng=gen)
        p_off, p_on = self.faults
        shape = (2,) + self._programmed.target.g_plus.shape
        u = gen.random(shape) if (p_off > 0 or p_on > 0) else np.ones(shape)
        self._stuck = (u < p_off, (u >= p_off) & (u < p_off + p_on))
        self._w_read = self._with_faults(self._programmed.programmed)
        self.alpha, self.t_inference = 1.0, 0.0

    def _with_faults(self, g) -> np.ndarray:
        """Weights of conductances ``g`` after forcing stuck devices to g_min / g_max."""
        off, on = self._stuck
        g_lo, g_hi = g.g_min, self.noise_model.g_max
        pair = [np.where(off[k], g_lo, np.where(on[k], g_hi, m))
                for k, m in enumerate((g.g_plus, g.g_minus))]
        return g.replace(*pair).to_weights()

    def drift(self, t_inference: float, rng=None, compensate: bool = True) -> None:
        """Read the programmed array ``t_inference`` s after programming (drift + 1/f noise)."""
        if self._programmed is None:
            raise ValueError(f"{type(self).__name__}.drift: call program() first "
                             f"(noise_model={self.noise_model!r})")
        self._w_read = self._with_faults(self._programmed.read(t_inference, rng))
        self.t_inference = float(t_inference)
        self.alpha = (drift_compensation_alpha(self._with_faults(self._programmed.programmed),
                                               self._w_read) if compensate else 1.0)

    def analog_weights(self) -> np.ndarray:
        """Weights [out, in] the crossbar holds now (float weights when not programmed)."""
        return self._w_read if self._w_read is not None else self._matrix()

    def _analog_matmul(self, x2d: torch.Tensor) -> torch.Tensor:
        """``x2d @ W.T`` on the crossbar (eval) or with weight-noise injection (train)."""
        if self.training:
            w = self.weight.reshape(self.weight.shape[0], -1)
            if self.train_noise > 0:
                w = w + self.train_noise * w.detach().abs().max() * torch.randn_like(w)
            return x2d @ w.T
        W = self.analog_weights()
        # the digital rescale is fixed when the weights are written: drift is NOT normalised away
        ref = self._programmed.target.to_weights() if self._programmed is not None else W
        w_max = max(float(np.abs(ref).max()), 1e-12)
        x = x2d.detach().cpu().numpy().astype(np.float32)
        y = tiled_mvm((W / w_max).astype(np.float32), x, self.io, self.tile_size, self.tile_size,
                      rng=self._rng, ir_drop=self.ir_drop)
        return torch.from_numpy(y * np.float32(w_max * self.alpha)).to(x2d.dtype).contiguous()

    def seed(self, rng) -> None:
        """Random source of the output noise in eval mode (``numpy`` Generator or int)."""
        self._rng = np.random.default_rng(rng)


class AnalogLinear(_AnalogMixin, nn.Linear):
    """``nn.Linear`` computed on analog crossbar tiles.

    Parameters
    ----------
    in_features, out_features : int
    bias : bool, default True
        The bias is added digitally after the ADC.
    io : IOConfig, default IOConfig()
        Periphery of every tile.
    noise_model : PCMNoiseModel or None, default PCMNoiseModel()
        Device model used by ``program()`` / ``drift()``.
    tile_size : int, default 512
        Largest tile (rows = cols), aihwkit's default.
    train_noise : float, default 0.02
        Relative weight noise injected in training mode.
    faults : (float, float), default (0.0, 0.0)
        Fractions of devices stuck at ``g_min`` (off) and at ``g_max`` (on), drawn at
        :meth:`program`.
    ir_drop : CrossbarConfig or None, default None
        When given, every tile suffers bit-line IR drop with its ``r_wire_ohm``, ``g_max`` and
        ``read_voltage_v`` (:func:`npulab.pim.slicing.ir_drop_array`).

    Examples
    --------
    >>> layer = AnalogLinear(4, 2, io=IOConfig(is_perfect=True)).eval()
    >>> x = torch.ones(1, 4)
    >>> bool(torch.allclose(layer(x), nn.functional.linear(x, layer.weight, layer.bias)))
    True
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 io: IOConfig | None = None, noise_model: PCMNoiseModel | None = PCMNoiseModel(),
                 tile_size: int = 512, train_noise: float = 0.02, faults=(0.0, 0.0),
                 ir_drop: CrossbarConfig | None = None):
        nn.Linear.__init__(self, in_features, out_features, bias=bias)
        self._init_analog(io, noise_model, tile_size, train_noise, faults, ir_drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        y = self._analog_matmul(x.reshape(-1, shape[-1]))
        y = y.reshape(*shape[:-1], self.out_features)
        return y + self.bias if self.bias is not None else y

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, t_inference={self.t_inference:g} s, alpha={self.alpha:.4g}"


class AnalogConv2d(_AnalogMixin, nn.Conv2d):
    """``nn.Conv2d`` on analog tiles: im2col (``F.unfold``), then the crossbar MVM.

    Same extra parameters as :class:`AnalogLinear`; the weight matrix is
    ``[out_channels, in_channels * kh * kw]``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 bias: bool = True, io: IOConfig | None = None,
                 noise_model: PCMNoiseModel | None = PCMNoiseModel(), tile_size: int = 512,
                 train_noise: float = 0.02, faults=(0.0, 0.0),
                 ir_drop: CrossbarConfig | None = None):
        nn.Conv2d.__init__(self, in_channels, out_channels, kernel_size, stride=stride,
                           padding=padding, bias=bias)
        self._init_analog(io, noise_model, tile_size, train_noise, faults, ir_drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        kh, kw = self.kernel_size
        ph, pw = cast(tuple[int, int], self.padding)   # numbers: convert_to_analog's layers
        out_h = (h + 2 * ph - kh) // self.stride[0] + 1
        out_w = (w + 2 * pw - kw) // self.stride[1] + 1
        if self.training:                          # differentiable im2col for noise injection
            cols = F.unfold(x, self.kernel_size, padding=(ph, pw), stride=self.stride)
            cols = cols.transpose(1, 2).reshape(-1, cols.shape[1])              # [n*L, C*kh*kw]
        else:                                      # the same im2col in numpy (faster on CPU)
            xp = np.pad(x.detach().cpu().numpy(), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
            # numpy takes a tuple axis; its stubs (2.3) say SupportsIndex only
            win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))  # type: ignore[call-overload]
            win = win[:, :, ::self.stride[0], ::self.stride[1]]           # [n, C, oh, ow, kh, kw]
            cols = torch.from_numpy(np.ascontiguousarray(
                win.transpose(0, 2, 3, 1, 4, 5)).reshape(n * out_h * out_w, -1))
        y = self._analog_matmul(cols)                                           # [n*L, out]
        y = y.reshape(n, out_h * out_w, -1).transpose(1, 2).reshape(n, -1, out_h, out_w)
        return y + self.bias.view(1, -1, 1, 1) if self.bias is not None else y


def convert_to_analog(model: nn.Module, io: IOConfig | None = None,
                      noise_model: PCMNoiseModel | None = PCMNoiseModel(), tile_size: int = 512,
                      train_noise: float = 0.02, faults=(0.0, 0.0),
                      ir_drop: CrossbarConfig | None = None) -> nn.Module:
    """A copy of ``model`` with every ``nn.Linear`` / ``nn.Conv2d`` replaced by its analog twin.

    Weights and biases are copied; the original model is not changed.  The keyword
    arguments are those of :class:`AnalogLinear`, given to every layer.  Conv layers must use
    ``groups=1``, ``dilation=1`` and zero padding.

    Examples
    --------
    >>> m = convert_to_analog(nn.Sequential(nn.Linear(3, 2), nn.ReLU()))
    >>> type(m[0]).__name__
    'AnalogLinear'
    """
    model = copy.deepcopy(model)

    def analog_twin(name: str, child: nn.Module):
        """The analog layer for ``child``, or None when it is not a Linear/Conv2d."""
        if isinstance(child, _AnalogMixin):
            return None
        new: nn.Module
        if isinstance(child, nn.Linear):
            new = AnalogLinear(child.in_features, child.out_features, child.bias is not None,
                               io, noise_model, tile_size, train_noise, faults, ir_drop)
        elif isinstance(child, nn.Conv2d):
            if child.groups != 1 or child.dilation != (1, 1) or child.padding_mode != "zeros":
                raise ValueError(f"convert_to_analog: {name} needs groups=1, dilation=1, "
                                 f"zero padding; got {child}")
            new = AnalogConv2d(child.in_channels, child.out_channels, child.kernel_size,
                               child.stride, child.padding, child.bias is not None, io,
                               noise_model, tile_size, train_noise, faults, ir_drop)
        else:
            return None
        new.load_state_dict(child.state_dict())
        return new.train(child.training)

    def swap(parent: nn.Module):
        for name, child in parent.named_children():
            new = analog_twin(name, child)
            if new is None:
                swap(child)
            else:
                setattr(parent, name, new)

    top = analog_twin("model", model)
    if top is not None:
        return top
    swap(model)
    return model


def analog_layers(model: nn.Module) -> list:
    """The analog layers of ``model``, in order."""
    return [m for m in model.modules() if isinstance(m, _AnalogMixin)]


def set_io(model: nn.Module, io: IOConfig) -> nn.Module:
    """Give every analog layer of ``model`` the periphery ``io``; returns ``model``."""
    for layer in analog_layers(model):
        layer.io = io
    return model


def program_analog(model: nn.Module, rng=None) -> nn.Module:
    """Program every analog layer (programming noise, drift exponents); returns ``model``."""
    gen = np.random.default_rng(rng)
    for layer in analog_layers(model):
        layer.program(gen)
        layer.seed(gen)
    return model


def drift_analog(model: nn.Module, t_inference: float, rng=None,
                 compensate: bool = True) -> nn.Module:
    """Read every analog layer ``t_inference`` s after programming; returns ``model``."""
    gen = np.random.default_rng(rng)
    for layer in analog_layers(model):
        layer.drift(t_inference, gen, compensate)
    return model
