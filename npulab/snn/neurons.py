"""Float leaky integrate-and-fire neurons in numpy, equal to snnTorch 1.0 in float32.

First-order leaky neuron (snnTorch ``snn.Leaky``), one step ``t`` (Eshraghian et al. 2023)::

    r[t]   = H(U[t-1] - U_thr)              # reset signal from the previous membrane
    U[t]   = beta * U[t-1] + I[t] - r[t] * U_thr           (reset="subtract")
    U[t]   = beta * ((1 - r[t]) * U[t-1]) + I[t]           (reset="zero")
    U[t]   = beta * U[t-1] + I[t]                          (reset="none")
    S[t]   = H(U[t] - U_thr)                # strict: a spike needs U > U_thr

Second-order (synaptic-current) neuron (snnTorch ``snn.Synaptic``)::

    I_syn[t] = alpha * I_syn[t-1] + I[t]
    U[t]     = beta * U[t-1] + I_syn[t] - r[t] * U_thr     (reset="subtract")
    U[t]     = (1 - r[t]) * (beta * U[t-1] + I_syn[t])     (reset="zero": the new
                                                           membrane is zeroed, I_syn is kept)

``H`` is the Heaviside step with ``H(0) = 0``.  With ``reset_delay=True`` (the snnTorch
default) the reset is applied one step *after* the spike, so the membrane returned at
the spike step is still above threshold.  With ``reset_delay=False`` the membrane is reset
in the same step, by ``d = S[t] - r[t]`` (snnTorch's "avoid double reset")::

    U[t] <- U[t] - d * U_thr       (subtract)        U[t] <- U[t] - d * U[t]    (zero)

Net effect: one reset in each step with a spike, none otherwise; ``d`` is -1 when the
delayed reset was already applied but the neuron does not spike now, and the threshold is
added back.  npulab does the same arithmetic (not a simplified rule), so results stay
bit-equal; the lecture note discusses it.

Every operation is done in float32 in snnTorch's order (``beta`` and ``alpha`` must lie
in [0, 1], where snnTorch's clip is a no-op), so spikes and membranes equal snnTorch's bit
for bit.

References
----------
J. K. Eshraghian et al., "Training Spiking Neural Networks Using Lessons From Deep
Learning", Proc. IEEE 111(9), 2023; snnTorch 1.0.0 ``snntorch/_neurons/leaky.py``,
``synaptic.py`` (read for the order of operations; no code copied).
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

#: Reset mechanisms, as snnTorch names them.
RESETS = ("subtract", "zero", "none")

_F32 = np.float32


def _unit_interval(owner: str, field: str, value) -> float:
    ok = (not isinstance(value, bool) and isinstance(value, numbers.Real)
          and math.isfinite(value) and 0.0 <= float(value) <= 1.0)
    if not ok:
        raise ValueError(f"{owner}.{field} must be a number in [0, 1]; got {value!r}")
    return float(value)


def _check_common(owner: str, threshold, reset, reset_delay) -> None:
    ok = (not isinstance(threshold, bool) and isinstance(threshold, numbers.Real)
          and math.isfinite(threshold) and float(threshold) >= 0)
    if not ok:
        raise ValueError(f"{owner}.threshold must be a finite number >= 0; got {threshold!r}")
    if reset not in RESETS:
        raise ValueError(f"{owner}.reset must be one of {list(RESETS)}; got {reset!r}")
    if not isinstance(reset_delay, (bool, np.bool_)):
        raise ValueError(f"{owner}.reset_delay must be True or False; got {reset_delay!r}")


def _as_current(owner: str, current) -> np.ndarray:
    x = np.asarray(current)
    if x.ndim < 1:
        raise ValueError(f"{owner}.run current must have a time axis, shape [T, ...]; got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number):
        raise ValueError(f"{owner}.run current must be numeric; got dtype {x.dtype}")
    x = x.astype(_F32, copy=False)
    bad = ~np.isfinite(x)
    if bad.any():                     # NaN would silently never spike; inf overflows the membrane
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{owner}.run current must be finite; got {x[idx]} at index {idx}")
    return x


def heaviside(x):
    """``1.0`` where ``x > 0`` else ``0.0``, float32 (a strict threshold, as snnTorch)."""
    return (x > 0).astype(_F32)


def lif_step(current, mem, beta, threshold, reset, reset_delay, fire, fire_reset=None):
    """One step of the first-order LIF neuron (snnTorch 1.0 ``Leaky``): ``(spk, mem_next)``.

    The one implementation of the recurrence, written with ``+ - *`` only so that numpy
    arrays (:class:`Leaky`) and torch tensors (:class:`npulab.snn.modules.Leaky`) share it::

        r   = fire_reset(U[t-1] - thr)                 # delayed reset from the last membrane
        U   = beta * U[t-1] + I[t] - r * thr           # "subtract"
            = beta * (1 - r) * U[t-1] + I[t]           # "zero"
            = beta * U[t-1] + I[t]                     # "none"
        spk = fire(U - thr)                            # strict U > thr
        (reset_delay=False: the new spike resets U in the same step)

    ``fire`` maps ``U - thr`` to spikes (Heaviside, or a surrogate-gradient spike in torch);
    ``fire_reset`` (default ``fire``) gives the reset signal (torch detaches it).
    Eshraghian et al., Proc. IEEE 2023, Eq. (6)-(8).
    """
    r = (fire_reset or fire)(mem - threshold)
    if reset == "subtract":
        mem = beta * mem + current - r * threshold
    elif reset == "zero":
        mem = beta * ((1 - r) * mem) + current
    else:
        mem = beta * mem + current
    spk = fire(mem - threshold)
    if not reset_delay:
        d = spk - r                                   # no double reset
        if reset == "subtract":
            mem = mem - d * threshold
        elif reset == "zero":
            mem = mem - d * mem
    return spk, mem


def synaptic_step(current, syn, mem, alpha, beta, threshold, reset, reset_delay, fire, fire_reset=None):
    """One step of the second-order LIF neuron (snnTorch 1.0 ``Synaptic``): ``(spk, syn, mem)``.

    ``I_syn = alpha * I_syn + I[t]``; ``U = beta * U + I_syn`` minus the reset (``"zero"``
    zeroes the membrane, keeps ``I_syn``); numpy and torch share it as :func:`lif_step`.
    """
    r = (fire_reset or fire)(mem - threshold)
    syn = alpha * syn + current
    mem = beta * mem + syn
    if reset == "subtract":
        mem = mem - r * threshold
    elif reset == "zero":
        mem = mem - mem * r
    spk = fire(mem - threshold)
    if not reset_delay:
        d = spk - r
        if reset == "subtract":
            mem = mem - d * threshold
        elif reset == "zero":
            mem = mem - d * mem
    return spk, syn, mem


@dataclass(frozen=True)
class Leaky:
    """First-order leaky integrate-and-fire neuron, equal to ``snntorch.Leaky`` in float32.

    Parameters
    ----------
    beta : float
        Membrane decay per step, in [0, 1] (``beta = exp(-dt / tau_mem)``).
    threshold : float, default 1.0
        Firing threshold ``U_thr`` (>= 0); a spike needs ``U > U_thr``.
    reset : {"subtract", "zero", "none"}, default "subtract"
        What a spike does to the membrane.
    reset_delay : bool, default True
        True: reset one step after the spike (snnTorch default); False: in the same step.

    Units: dimensionless (membrane and current share one arbitrary unit).

    References
    ----------
    Eshraghian et al., Proc. IEEE 2023, Eq. (6)-(8); snnTorch ``snn.Leaky``.

    Examples
    --------
    >>> spk, mem = Leaky(beta=0.5).run(np.array([0.8, 0.8, 0.8], dtype=np.float32))
    >>> spk.tolist(), [round(float(m), 4) for m in mem]
    ([0.0, 1.0, 0.0], [0.8, 1.2, 0.4])
    """

    beta: float
    threshold: float = 1.0
    reset: str = "subtract"
    reset_delay: bool = True

    def __post_init__(self):
        _unit_interval("Leaky", "beta", self.beta)
        _check_common("Leaky", self.threshold, self.reset, self.reset_delay)

    def step(self, current: np.ndarray, mem: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One timestep: ``(spk, mem_next)`` from input ``current`` and membrane ``mem``."""
        current = np.asarray(current, dtype=_F32)
        mem = np.asarray(mem, dtype=_F32)
        return lif_step(current, mem, _F32(self.beta), _F32(self.threshold), self.reset,
                        self.reset_delay, heaviside)

    def run(self, current) -> tuple[np.ndarray, np.ndarray]:
        """Run over time from a zero membrane.

        Parameters
        ----------
        current : array_like, shape [T, ...]
            Input current per step; axis 0 is time.

        Returns
        -------
        spk : ndarray, float32, shape [T, ...]
            Spikes (0.0 or 1.0).
        mem : ndarray, float32, shape [T, ...]
            Membrane after each step (after any same-step reset).
        """
        x = _as_current("Leaky", current)
        mem = np.zeros(x.shape[1:], dtype=_F32)
        spk_rec = np.empty_like(x)
        mem_rec = np.empty_like(x)
        for t in range(x.shape[0]):
            spk_rec[t], mem = self.step(x[t], mem)
            mem_rec[t] = mem
        return spk_rec, mem_rec


@dataclass(frozen=True)
class Synaptic:
    """Second-order LIF neuron with a decaying synaptic current, equal to ``snntorch.Synaptic``.

    Parameters
    ----------
    alpha : float
        Synaptic current decay per step, in [0, 1].
    beta : float
        Membrane decay per step, in [0, 1].
    threshold : float, default 1.0
        Firing threshold (>= 0); a spike needs ``U > U_thr``.
    reset : {"subtract", "zero", "none"}, default "subtract"
        What a spike does to the membrane (``"zero"`` zeroes the new membrane, keeps I_syn).
    reset_delay : bool, default True
        True: reset one step after the spike (snnTorch default); False: in the same step.

    Units: dimensionless.

    References
    ----------
    Eshraghian et al., Proc. IEEE 2023, Sec. IV; snnTorch ``snn.Synaptic``.

    Examples
    --------
    >>> spk, syn, mem = Synaptic(alpha=0.5, beta=0.5).run(np.array([1.0, 0.0], dtype=np.float32))
    >>> syn.tolist(), mem.tolist()
    ([1.0, 0.5], [1.0, 1.0])
    """

    alpha: float
    beta: float
    threshold: float = 1.0
    reset: str = "subtract"
    reset_delay: bool = True

    def __post_init__(self):
        _unit_interval("Synaptic", "alpha", self.alpha)
        _unit_interval("Synaptic", "beta", self.beta)
        _check_common("Synaptic", self.threshold, self.reset, self.reset_delay)

    def step(self, current, syn, mem):
        """One timestep: ``(spk, syn_next, mem_next)``."""
        current = np.asarray(current, dtype=_F32)
        syn = np.asarray(syn, dtype=_F32)
        mem = np.asarray(mem, dtype=_F32)
        return synaptic_step(current, syn, mem, _F32(self.alpha), _F32(self.beta), _F32(self.threshold),
                             self.reset, self.reset_delay, heaviside)

    def run(self, current):
        """Run over time from zero state.

        Parameters
        ----------
        current : array_like, shape [T, ...]
            Input current per step; axis 0 is time.

        Returns
        -------
        spk, syn, mem : ndarray, float32, shape [T, ...]
            Spikes, synaptic current and membrane after each step.
        """
        x = _as_current("Synaptic", current)
        syn = np.zeros(x.shape[1:], dtype=_F32)
        mem = np.zeros(x.shape[1:], dtype=_F32)
        spk_rec, syn_rec, mem_rec = np.empty_like(x), np.empty_like(x), np.empty_like(x)
        for t in range(x.shape[0]):
            spk_rec[t], syn, mem = self.step(x[t], syn, mem)
            syn_rec[t], mem_rec[t] = syn, mem
        return spk_rec, syn_rec, mem_rec
