"""Spike encoders: turn values in [0, 1] (or a signal over time) into spike trains.

* :func:`rate` -- each step spikes with probability ``x`` (Bernoulli; the discrete-time
  Poisson process), so the spike count over ``T`` steps estimates ``x * T``.
* :func:`latency` -- one spike per input, earlier for larger values (time-to-first-spike).
* :func:`delta` -- spike when a signal changes by more than a threshold (like an event
  camera): +1 for an increase, -1 for a decrease.

All return float32 arrays with time as axis 0 and take ``rng`` where they are random.

References
----------
Eshraghian et al., Proc. IEEE 2023, Sec. III (rate, latency and delta codes); snnTorch
``spikegen.rate``, ``spikegen.latency`` (linear), ``spikegen.delta``.
"""
from __future__ import annotations

import numpy as np

__all__ = ["rate", "latency", "delta"]


#: Most elements (timesteps x inputs) one spike train may hold (float32: 400 MB).
MAX_SPIKE_ELEMENTS = 10**8


def _steps(name: str, timesteps, size: int = 1) -> int:
    if isinstance(timesteps, bool) or not isinstance(timesteps, (int, np.integer)) or timesteps < 1:
        raise ValueError(f"{name} timesteps must be an int >= 1; got {timesteps!r}")
    if int(timesteps) * max(int(size), 1) > MAX_SPIKE_ELEMENTS:
        raise ValueError(f"{name} timesteps x inputs = {int(timesteps) * max(int(size), 1):.3g} is over the "
                         f"limit of {MAX_SPIKE_ELEMENTS:.0e} elements; got timesteps={timesteps!r}")
    return int(timesteps)


def _unit(name: str, x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.size and (not np.all(np.isfinite(x)) or x.min() < 0 or x.max() > 1):
        raise ValueError(f"{name} input must be in [0, 1]; got values in [{x.min()}, {x.max()}]")
    return x


def rate(x, timesteps: int, rng=None) -> np.ndarray:
    """Rate (Bernoulli) code: ``S[t, i] = 1`` with probability ``x[i]``, independently per step.

    Parameters
    ----------
    x : array_like, shape [...], values in [0, 1]
        Firing probability per step (e.g. pixel intensity).
    timesteps : int
        Number of steps ``T``.
    rng : numpy.random.Generator, int or None
        Random source (an int seeds ``default_rng``).

    Returns
    -------
    ndarray, float32, shape [T, ...]

    Examples
    --------
    >>> s = rate(np.array([0.0, 0.5, 1.0]), timesteps=1000, rng=0)
    >>> s.mean(axis=0).round(1).tolist()
    [0.0, 0.5, 1.0]
    """
    x = _unit("rate", x)
    T = _steps("rate", timesteps, x.size)
    gen = np.random.default_rng(rng)
    return (gen.random((T, *x.shape), dtype=np.float32) < x).astype(np.float32)


def latency(x, timesteps: int, normalize: bool = True) -> np.ndarray:
    """Latency (time-to-first-spike) code: one spike at ``t_i = round((1 - x_i) * (T - 1))``.

    Larger values fire earlier; ``x = 0`` fires at the last step when ``normalize`` is True
    (snnTorch's ``linear=True, normalize=True`` convention), and never when it is False.

    Parameters
    ----------
    x : array_like, shape [...], values in [0, 1]
    timesteps : int
    normalize : bool, default True
        Spread spike times over all ``T`` steps; if False, inputs equal to 0 stay silent.

    Returns
    -------
    ndarray, float32, shape [T, ...]
        Exactly one spike per input (zero for silent inputs).

    Examples
    --------
    >>> latency(np.array([1.0, 0.5, 0.0]), timesteps=5).argmax(0).tolist()
    [0, 2, 4]
    """
    x = _unit("latency", x)
    T = _steps("latency", timesteps, x.size)
    t_fire = np.rint((1.0 - x) * (T - 1)).astype(np.int64)        # [...]
    out = (np.arange(T).reshape((T,) + (1,) * x.ndim) == t_fire).astype(np.float32)
    if not normalize:
        out[:, x == 0] = 0.0
    return out


def delta(signal, threshold: float = 0.1, off_spike: bool = True) -> np.ndarray:
    """Delta (change) code: spike where the signal moved by more than ``threshold`` since last step.

    ``S[t] = +1`` if ``x[t] - x[t-1] >= threshold``, ``-1`` if ``x[t-1] - x[t] >= threshold``
    (when ``off_spike``), else 0; ``x[-1]`` is taken as 0.

    Parameters
    ----------
    signal : array_like, shape [T, ...]
        A signal over time (axis 0).
    threshold : float, default 0.1
        Change needed for a spike (> 0).
    off_spike : bool, default True
        Emit -1 spikes for decreases.

    Returns
    -------
    ndarray, float32, shape [T, ...]

    Examples
    --------
    >>> delta(np.array([0.0, 0.5, 0.55, 0.1]), threshold=0.2).tolist()
    [0.0, 1.0, 0.0, -1.0]
    """
    x = np.asarray(signal, dtype=np.float32)
    if x.ndim < 1:
        raise ValueError(f"delta signal must have a time axis, shape [T, ...]; got shape {x.shape}")
    if not (np.isfinite(threshold) and threshold > 0):
        raise ValueError(f"delta threshold must be a finite number > 0; got {threshold!r}")
    diff = np.diff(x, axis=0, prepend=np.zeros_like(x[:1]))
    out = (diff >= threshold).astype(np.float32)
    if off_spike:
        out -= (diff <= -threshold).astype(np.float32)
    return out
