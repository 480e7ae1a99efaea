"""Surrogate gradients: a Heaviside spike forward, a smooth derivative backward (torch).

The spike ``S = H(U - U_thr)`` has zero derivative almost everywhere, so backpropagation
through time (BPTT) replaces ``dS/dU`` by a smooth stand-in (Neftci, Mostafa and Zenke,
"Surrogate Gradient Learning in Spiking Neural Networks", IEEE Signal Processing Magazine
36(6), 2019).  Each factory returns a function ``f(x) -> spikes`` with ``x = U - U_thr``:

==========================  =========================================  ==============================
factory                     backward ``dS/dx``                         snnTorch name
==========================  =========================================  ==============================
``atan(alpha=2)``           ``alpha/2 / (1 + (pi/2 * alpha * x)**2)``  ``atan`` (default)
``fast_sigmoid(slope=25)``  ``1 / (slope * |x| + 1)**2``               ``fast_sigmoid``
``straight_through()``      ``1``                                      ``straight_through_estimator``
==========================  =========================================  ==============================

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


class _Heaviside(torch.autograd.Function):
    """The forward pass every surrogate shares, ``S = H(x)`` with ``H(0) = 0``.

    ``k`` is the surrogate's shape parameter (``alpha`` or ``slope``, None for the
    straight-through estimator); each subclass below defines only its backward ``dS/dx``.
    """

    @staticmethod
    def forward(ctx, x, k):
        ctx.save_for_backward(x)
        ctx.k = k
        return (x > 0).to(x.dtype)


class _ATan(_Heaviside):
    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        alpha = ctx.k
        return alpha / 2 / (1 + (math.pi / 2 * alpha * x).pow(2)) * grad_out, None


class _FastSigmoid(_Heaviside):
    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        slope = ctx.k
        return grad_out / (slope * torch.abs(x) + 1.0) ** 2, None


class _StraightThrough(_Heaviside):
    @staticmethod
    def backward(ctx, grad_out):
        return grad_out.clone(), None


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
        return _StraightThrough.apply(x, None)
    spike.__name__ = "straight_through()"
    return spike


#: Name -> factory, for configs and CLI flags.
SURROGATES = {"atan": atan, "fast_sigmoid": fast_sigmoid, "straight_through": straight_through}
