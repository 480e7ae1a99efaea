"""ANN-to-SNN conversion with data-based threshold balancing, onto the integer core.

Works for ``Linear``/``ReLU`` MLPs and, by unrolling each convolution into the sparse matrix
it applies (a mask marks the synapses that exist), for small ReLU CNNs such as the bundled
digits CNN.

A ReLU network's activation ``a = max(0, W x + b)`` is approximated by the firing rate of
a non-leaky integrate-and-fire neuron with reset by subtraction (Rueckauer et al. 2017,
Eq. 2-3): over ``T`` steps its spike count times the threshold tracks the integrated input.
Rates cannot exceed one spike per step, so each layer is rescaled by its largest typical
activation ``lambda_l`` (the ``percentile`` of ReLU outputs on calibration data):

    W'_l = W_l * lambda_{l-1} / lambda_l,     b'_l = b_l / lambda_l,     threshold 1

(Diehl et al. 2015 "data-based normalization"; the percentile instead of the maximum is
Rueckauer et al.'s robust variant).  The input is rate-coded (``lambda_0 = 1`` for inputs in
[0, 1]).  Finally the normalised weights are quantized for the core: ``scale_l = w_max /
max|W'_l|``, ``W_int = round(W' * scale_l)``, ``b_int = round(b' * scale_l)`` and
``threshold_int = round(scale_l)``; with binary spikes this keeps the ratios exactly.

References
----------
P. U. Diehl et al., "Fast-classifying, high-accuracy spiking deep networks through weight
and threshold balancing", IJCNN 2015; B. Rueckauer et al., "Conversion of Continuous-Valued
Deep Networks to Efficient Event-Driven Networks for Image Classification", Front. Neurosci.
11:682, 2017.
"""
from __future__ import annotations

import numpy as np

from npulab.hw.core import CoreConfig
from npulab.quant.uniform import scale_to_int
from npulab.snn.core import IntLayer

__all__ = ["linear_layers", "balance", "convert"]


def _conv_matrix(conv, in_shape):
    """A ``Conv2d`` on inputs of shape (C, H, W) as a matrix [C*H*W, F*OH*OW], bias and mask."""
    import torch

    n_in = int(np.prod(in_shape))
    with torch.no_grad():
        basis = torch.eye(n_in, dtype=torch.float64).reshape(n_in, *in_shape)
        w = conv.weight.detach().double()
        cols = torch.nn.functional.conv2d(basis, w, None, conv.stride, conv.padding,
                                          conv.dilation, conv.groups)        # [n_in, F, OH, OW]
        mask = torch.nn.functional.conv2d(basis, torch.ones_like(w), None, conv.stride,
                                          conv.padding, conv.dilation, conv.groups) != 0
    out_shape = tuple(cols.shape[1:])
    b = conv.bias.detach().double() if conv.bias is not None else torch.zeros(out_shape[0], dtype=torch.float64)
    bias = b[:, None, None].expand(out_shape).reshape(-1)
    return (cols.reshape(n_in, -1).numpy(), bias.numpy(), mask.reshape(n_in, -1).numpy()), out_shape


def linear_layers(model, input_shape=None, with_masks: bool = False):
    """The layers of a ReLU torch model as matrices: ``(W [n_in, n_out], b [n_out])`` each.

    ``Linear`` layers are used as they are; a ``Conv2d`` is unrolled into the (sparse) matrix
    that maps its flattened input to its flattened output (``input_shape`` (C, H, W) is needed
    unless an ``Unflatten`` gives it).  ``ReLU``/``Flatten``/``Unflatten`` carry no weights.
    Every weighted layer but the last must be followed by a ReLU.  With ``with_masks`` each
    entry is ``(W, b, mask)``, ``mask`` marking the synapses that exist.
    """
    from torch import nn

    shape = tuple(input_shape) if input_shape is not None else None
    layers = []
    for m in model.modules():
        if isinstance(m, (nn.Sequential, nn.ReLU, nn.Identity)):
            continue
        if isinstance(m, nn.Unflatten):
            shape = tuple(m.unflattened_size)
        elif isinstance(m, nn.Flatten):
            shape = (int(np.prod(shape)),) if shape is not None else None
        elif isinstance(m, nn.Linear):
            b = m.bias.detach().double().numpy() if m.bias is not None else np.zeros(m.out_features)
            W = m.weight.detach().double().numpy().T
            layers.append((W, b, np.ones(W.shape, bool)))
            shape = (m.out_features,)
        elif isinstance(m, nn.Conv2d):
            if shape is None or len(shape) != 3:
                raise ValueError(f"convert needs input_shape (C, H, W) before a Conv2d; got {shape!r}")
            entry, shape = _conv_matrix(m, shape)
            layers.append(entry)
        else:
            raise ValueError(f"convert supports Linear, Conv2d, ReLU and Flatten layers; got {type(m).__name__}")
    if not layers:
        raise ValueError("convert needs a model with at least one Linear or Conv2d layer; got none")
    return layers if with_masks else [(W, b) for W, b, _ in layers]


def balance(layers, x_calib: np.ndarray, percentile: float = 99.9):
    """Threshold balancing: the normalised ``(W', b')`` per layer and each layer's ``lambda``.

    Parameters
    ----------
    layers : list of (W [n_in, n_out], b [n_out])
    x_calib : ndarray, shape [N, n_in]
        Calibration inputs (training data), in [0, 1].
    percentile : float, default 99.9
        Percentile of the positive activations used as ``lambda_l`` (100 = the maximum).

    Returns
    -------
    norm : list of (W', b')
    lambdas : list of float
    """
    if not 0 < percentile <= 100:
        raise ValueError(f"balance percentile must be in (0, 100]; got {percentile!r}")
    a = np.asarray(x_calib, np.float64)
    prev, norm, lambdas = 1.0, [], []
    for W, b in layers:
        a = np.maximum(a @ W + b, 0.0)                          # ReLU activations [N, n_out]
        pos = a[a > 0]
        lam = float(np.percentile(pos, percentile)) if pos.size else 1.0
        norm.append((W * prev / lam, b / lam))
        lambdas.append(lam)
        prev = lam
    return norm, lambdas


def convert(model, x_calib: np.ndarray, core: CoreConfig = CoreConfig(),
            percentile: float = 99.9, input_shape=None) -> list[IntLayer]:
    """Convert a trained ReLU MLP to integer LIF layers for :func:`npulab.snn.run_core`.

    Parameters
    ----------
    model : torch.nn.Module
        ``Linear``/``Conv2d``/``ReLU`` network, e.g. ``npulab.datasets.digits_model("mlp")``
        or ``("cnn")`` (convolutions are unrolled to sparse matrices; see :func:`linear_layers`).
    x_calib : ndarray, shape [N, n_in], values in [0, 1]
        Calibration data for threshold balancing.
    core : CoreConfig, default CoreConfig()
        Its ``weight_bits`` sets the weight range.
    percentile : float, default 99.9
    input_shape : tuple, optional
        (C, H, W) of the input, for a model that starts with a ``Conv2d``.

    Returns
    -------
    list of IntLayer
        Run with ``reset="subtract_instant"`` (the default) on a core without leak (``decay=0``).

    Examples
    --------
    >>> from npulab.datasets import digits_model, load_digits
    >>> x_train, *_ = load_digits()
    >>> layers = convert(digits_model("mlp"), x_train)
    >>> [(l.n_in, l.n_out) for l in layers]
    [(64, 128), (128, 10)]
    """
    entries = linear_layers(model, input_shape, with_masks=True)
    norm, _ = balance([(W, b) for W, b, _ in entries], x_calib, percentile)
    out = []
    for i, ((W, b), (_, _, mask)) in enumerate(zip(norm, entries)):
        weight, scale = scale_to_int(W, core.w_max)
        full = bool(mask.all())
        out.append(IntLayer(weight=weight,
                            threshold=max(int(np.rint(scale)), 0),
                            bias=np.rint(b * scale).astype(np.int64),
                            name=f"{'fc' if full else 'conv'}{i + 1}", mask=None if full else mask))
    return out
