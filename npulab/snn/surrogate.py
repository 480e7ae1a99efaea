"""Surrogate gradients: a Heaviside spike forward, a smooth derivative backward (torch).

The spike ``S = H(U - U_thr)`` has zero derivative almost everywhere, so backpropagation
through time (BPTT) replaces ``dS/dU`` by a smooth stand-in (Neftci, Mostafa and Zenke,
"Surrogate Gradient Learning in Spiking Neural Networks", IEEE Signal Processing Magazine
36(6), 2019).  Each factory returns a function ``f(x) -> spikes`` with ``x = U - U_thr``:

=========================  =========================================  ==============
factory                    backward ``dS/dx``                         snnTorch name
=========================  =========================================  ==============
``atan(alpha=2)``          ``alpha/2 / (1 + (pi/2 * alpha * x)**2)``  ``atan`` (default)
``fast_sigmoid(slope=25)`` ``1 / (slope * |x| + 1)**2``               ``fast_sigmoid``
``straight_through()``     ``1``                                      ``straight_through_estimator``
=========================  =========================================  ==============

The arithmetic follows snnTorch 1.0's order so gradients agree to the last bit.

References
----------
W. Fang et al., ICCV 2021 (arctan surrogate); F. Zenke and S. Ganguli, Neural Computation
30(6), 2018 (SuperSpike, fast sigmoid); Y. Bengio et al., arXiv:1308.3432 (straight-through).
"""
from __future__ import annotations

import math

import torch

__all__ = ["atan", "fast_sigmoid", "straight_through", "SURROGATES"]


class _ATan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, alpha):
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        a = ctx.alpha
        return a / 2 / (1 + (math.pi / 2 * a * x).pow(2)) * grad_out, None


class _FastSigmoid(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, slope):
        ctx.save_for_backward(x)
        ctx.slope = slope
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out / (ctx.slope * torch.abs(x) + 1.0) ** 2, None


class _StraightThrough(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out.clone()


def atan(alpha: float = 2.0):
    """Arctan surrogate (snnTorch's default): ``dS/dx = alpha/2 / (1 + (pi/2*alpha*x)^2)``.

    Examples
    --------
    >>> x = torch.tensor([0.0, 0.5], requires_grad=True)
    >>> atan()(x).sum().backward(); x.grad
    tensor([1.0000, 0.2884])
    """
    def spike(x):
        return _ATan.apply(x, alpha)
    spike.__name__ = f"atan(alpha={alpha})"
    return spike


def fast_sigmoid(slope: float = 25.0):
    """Fast-sigmoid surrogate (SuperSpike): ``dS/dx = 1 / (slope*|x| + 1)^2``."""
    def spike(x):
        return _FastSigmoid.apply(x, slope)
    spike.__name__ = f"fast_sigmoid(slope={slope})"
    return spike


def straight_through():
    """Straight-through estimator: ``dS/dx = 1``."""
    def spike(x):
        return _StraightThrough.apply(x)
    spike.__name__ = "straight_through()"
    return spike


#: Name -> factory, for configs and CLI flags.
SURROGATES = {"atan": atan, "fast_sigmoid": fast_sigmoid, "straight_through": straight_through}
