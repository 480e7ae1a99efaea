"""Torch spiking neurons for training with surrogate gradients, and a small spiking MLP.

:class:`Leaky` and :class:`Synaptic` are ``torch.nn.Module`` twins of the numpy neurons in
:mod:`npulab.snn.neurons` (same parameters, same float32 arithmetic, same order as
snnTorch 1.0), so a network trained here runs unchanged on the numpy reference: both call
the one recurrence, :func:`npulab.snn.neurons.lif_step` / ``synaptic_step``, with a
surrogate-gradient spike here and a Heaviside there.  As in snnTorch, the reset signal is
detached from the graph (gradients flow through the membrane, not through the reset).

:func:`train_snn` trains :class:`SpikingMLP` by backpropagation through time (BPTT) on
rate-coded inputs with a cross-entropy loss on output spike counts (snnTorch tutorial 5's
``ce_count``-style loss).

References
----------
Eshraghian et al., "Training Spiking Neural Networks Using Lessons From Deep Learning",
Proc. IEEE 111(9), 2023 (BPTT, Sec. V); Neftci et al., IEEE SPM 2019 (surrogate gradients).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from npulab.snn import neurons
from npulab.snn.neurons import lif_step, synaptic_step
from npulab.snn.surrogate import atan

__all__ = ["Leaky", "Synaptic", "SpikingMLP", "train_snn", "accuracy"]


class Leaky(nn.Module):
    """Trainable first-order LIF neuron; ``forward(current, mem) -> (spk, mem)``.

    Parameters are those of :class:`npulab.snn.Leaky` plus ``surrogate`` (a function from
    :mod:`npulab.snn.surrogate`, default ``atan()``).

    Examples
    --------
    >>> lif = Leaky(beta=0.5)
    >>> spk, mem = lif(torch.tensor([1.5]), torch.zeros(1))
    >>> spk.item(), mem.item()
    (1.0, 1.5)
    """

    def __init__(self, beta, threshold=1.0, reset="subtract", reset_delay=True, surrogate=None):
        super().__init__()
        neurons.Leaky(beta, threshold, reset, reset_delay)   # validate with one message shape
        self.register_buffer("beta", torch.tensor(float(beta), dtype=torch.float32))
        self.register_buffer("threshold", torch.tensor(float(threshold), dtype=torch.float32))
        self.reset, self.reset_delay = reset, bool(reset_delay)
        self.spike = surrogate if surrogate is not None else atan()

    def forward(self, current, mem=None):
        if mem is None or mem.shape != current.shape:
            mem = torch.zeros_like(current)
        return lif_step(current, mem, self.beta.clamp(0, 1), self.threshold, self.reset,
                        self.reset_delay, self.spike, self._reset_signal)

    def _reset_signal(self, x):
        return self.spike(x).detach()                      # delayed reset, no gradient

    def extra_repr(self):
        return (f"beta={self.beta.item():.4g}, threshold={self.threshold.item():.4g}, "
                f"reset={self.reset!r}, reset_delay={self.reset_delay}")


class Synaptic(nn.Module):
    """Trainable second-order LIF neuron; ``forward(current, syn, mem) -> (spk, syn, mem)``."""

    def __init__(self, alpha, beta, threshold=1.0, reset="subtract", reset_delay=True,
                 surrogate=None):
        super().__init__()
        neurons.Synaptic(alpha, beta, threshold, reset, reset_delay)
        self.register_buffer("alpha", torch.tensor(float(alpha), dtype=torch.float32))
        self.register_buffer("beta", torch.tensor(float(beta), dtype=torch.float32))
        self.register_buffer("threshold", torch.tensor(float(threshold), dtype=torch.float32))
        self.reset, self.reset_delay = reset, bool(reset_delay)
        self.spike = surrogate if surrogate is not None else atan()

    def forward(self, current, syn=None, mem=None):
        if syn is None or syn.shape != current.shape:
            syn = torch.zeros_like(current)
        if mem is None or mem.shape != current.shape:
            mem = torch.zeros_like(current)
        return synaptic_step(current, syn, mem, self.alpha.clamp(0, 1), self.beta.clamp(0, 1),
                             self.threshold, self.reset, self.reset_delay, self.spike,
                             self._reset_signal)

    def _reset_signal(self, x):
        return self.spike(x).detach()


class SpikingMLP(nn.Module):
    """Fully connected spiking network: ``Linear -> Leaky`` per layer, stepped over time.

    Parameters
    ----------
    sizes : sequence of int, default (64, 128, 10)
        Layer widths, input first.
    beta : float, default 0.9
        Membrane decay of every neuron.
    surrogate : callable, optional
        Surrogate spike function (default ``atan()``).

    rng : int, numpy Generator or None, default None
        Seeds the initial weights through a private ``torch.Generator`` (the same
        distributions as ``nn.Linear``'s default init: Kaiming-uniform weights, uniform
        biases in ``+-1/sqrt(fan_in)``); None uses torch's global RNG, as ``nn.Linear`` does.

    ``forward(x)`` takes spikes ``x`` of shape [T, B, sizes[0]] and returns the output
    spikes and membranes, each [T, B, sizes[-1]].
    """

    def __init__(self, sizes=(64, 128, 10), beta=0.9, surrogate=None, rng=None):
        super().__init__()
        self.sizes = tuple(int(s) for s in sizes)
        pairs = list(zip(self.sizes[:-1], self.sizes[1:]))
        if rng is None:
            self.fcs = nn.ModuleList(nn.Linear(a, b) for a, b in pairs)
        else:                                   # allocate without drawing from the global RNG
            self.fcs = nn.ModuleList(nn.utils.skip_init(nn.Linear, a, b) for a, b in pairs)
        self.lifs = nn.ModuleList(Leaky(beta, surrogate=surrogate) for _ in self.fcs)
        if rng is not None:
            seed = int(np.random.default_rng(rng).integers(2**63 - 1))
            g = torch.Generator().manual_seed(seed)
            with torch.no_grad():
                for fc in self.fcs:
                    nn.init.kaiming_uniform_(fc.weight, a=5 ** 0.5, generator=g)
                    bound = 1 / fc.in_features ** 0.5
                    nn.init.uniform_(fc.bias, -bound, bound, generator=g)

    def forward(self, x, record=False):
        mems = [None] * len(self.fcs)
        out_spk, out_mem, hidden = [], [], []
        for t in range(x.shape[0]):
            s = x[t]                                           # [B, n_in]
            for i, (fc, lif) in enumerate(zip(self.fcs, self.lifs)):
                s, mems[i] = lif(fc(s), mems[i])               # [B, n_i]
                if record and i < len(self.fcs) - 1:
                    hidden.append(s)
            out_spk.append(s)
            out_mem.append(mems[-1])
        spk, mem = torch.stack(out_spk), torch.stack(out_mem)  # [T, B, n_out]
        return (spk, mem, hidden) if record else (spk, mem)


def accuracy(model: SpikingMLP, spikes: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of samples whose most-spiking output neuron is the label.

    ``spikes``: [T, N, n_in] input spikes (e.g. from :func:`npulab.snn.rate`).  Ties in
    the spike count are broken by the final membrane.
    """
    with torch.no_grad():
        spk, mem = model(torch.as_tensor(spikes, dtype=torch.float32))
        score = spk.sum(0) + 1e-3 * torch.tanh(mem[-1])
        return float((score.argmax(1).numpy() == np.asarray(labels)).mean())


def train_snn(model: SpikingMLP, x_train: np.ndarray, y_train: np.ndarray, *, timesteps: int = 10,
              epochs: int = 4, batch_size: int = 64, lr: float = 5e-3, rng=0, progress: bool = False):
    """Train ``model`` by BPTT on rate-coded ``x_train``; returns the loss per epoch.

    Parameters
    ----------
    model : SpikingMLP
    x_train : ndarray, float, shape [N, n_in], values in [0, 1]
        Spike probabilities per step (rate code, :func:`npulab.snn.rate`).
    y_train : ndarray, int, shape [N]
    timesteps : int, default 10
    epochs, batch_size : int
    lr : float, default 5e-3
        Adam learning rate.
    rng : numpy Generator, int or None, default 0
        Seeds the shuffling and the spike trains (training draws nothing from torch's global
        RNG, which is left untouched; seed the initial weights with ``SpikingMLP(rng=...)``).
    progress : bool, default False
        Show a tqdm bar over epochs.

    Returns
    -------
    list of float
        Mean cross-entropy (on output spike counts) per epoch.
    """
    from npulab.snn.encoders import rate

    gen = np.random.default_rng(rng)
    gen.integers(2**31)  # the draw that used to seed torch's global RNG: the batches stay the same
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    x_train, y_train = np.asarray(x_train, np.float32), np.asarray(y_train, np.int64)
    losses = []
    epoch_iter = range(epochs)
    if progress:
        from tqdm.auto import tqdm
        epoch_iter = tqdm(epoch_iter, desc="train SNN")
    for _ in epoch_iter:
        order = gen.permutation(len(x_train))
        total = 0.0
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            x = torch.from_numpy(rate(x_train[idx], timesteps, rng=gen))   # [T, B, n_in]
            spk, _ = model(x)
            loss = nn.functional.cross_entropy(spk.sum(0), torch.from_numpy(y_train[idx]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        losses.append(total / len(order))
    return losses
