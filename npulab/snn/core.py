"""A fixed-point, event-driven LIF core in the style of Intel Loihi, counting every event.

Each layer ``l`` has integer weights ``W_l`` [n_in, n_out] (``|w| <= 2**(weight_bits-1) - 1``),
an optional integer bias ``b_l`` [n_out] and an integer threshold ``theta_l``.  One timestep of
one layer, given the binary input spikes ``s`` [n_in] (:class:`~npulab.hw.CoreConfig`
defines the widths and the decay)::

    I      = sum_{i : s_i = 1} W_l[i, :]             # synaptic input: one SOP per (spike, synapse)
    v      = sat(leak(v) + I + b_l)                   # one neuron update per neuron per step
    spike  = v - r * theta_l > theta_l                # strict, like snnTorch (r: below)
    v      = v - theta_l * spike                      (both subtract resets)
    v      = 0 where spike                            (reset="zero")

``leak`` rounds toward zero: ``sign(v) * ((|v| * (4096 - decay)) >> 12)`` for the 12-bit
multiplier (Loihi's ``delta_v``) or ``sign(v) * (|v| - (|v| >> decay))`` for the shifter;
``sat`` clips to the ``membrane_bits`` signed range.  The reset is applied in the same step.
Layers are updated in order within a step, so a spike crosses the whole network in one step.

Three reset mechanisms; which one equals which peer:

* ``"subtract"`` -- **snnTorch's** ``Leaky(reset_mechanism="subtract", reset_delay=False)``.
  snnTorch decides a pending reset ``r = H(U[t-1] - U_thr)`` from the *previous* membrane,
  subtracts it before the spike test and, when no spike follows, adds it back ("avoid double
  reset").  Net effect: ``U[t] = U[t-1] + I - S * U_thr`` as usual, but a membrane left above
  threshold after a reset must climb a *second* threshold to fire again (``r = 1``), so a
  neuron given 10 with threshold 4 spikes once, not twice.  Equal to snnTorch with no leak
  (``decay=0``), spike for spike and membrane for membrane (``tests/snn`` checks it live).
* ``"subtract_instant"`` (the default) -- reset by subtraction as in ANN-to-SNN conversion
  (Rueckauer et al., Front. Neurosci. 2017; Diehl et al., IJCNN 2015) and a programmable
  neuromorphic core: the spike test sees this step's membrane only (``r = 0``), so a neuron
  above threshold keeps firing one spike per step until it falls below.  Rate coding relies on
  it: the rate is ``clip(z / U_thr, 0, 1)``.
* ``"zero"`` -- reset to zero (Loihi's reset); equal to snnTorch's ``reset_mechanism="zero"``
  with ``reset_delay=False`` (after a zero reset no membrane is above threshold, so ``r = 0``).

Synaptic operations follow NeuroBench's definition by default (Yik et al., Nature Commun.
2025, "effective ACs"): one SOP per (input spike, *nonzero* outgoing synapse); the dense count
(every stored synapse, zero weights too) is ``count_zero_weights=True``.

Two engines compute exactly the same integers (``tests/snn`` proves it):

* ``engine="dense"`` -- the reference students read: every step multiplies the whole spike
  vector by ``W`` (``s @ W``), as a clocked accelerator would.
* ``engine="event"`` -- only incoming spikes trigger work: for each spike, add its weight row
  (fan-out) to the input currents.  The work, and the SOP count, scale with activity.

References
----------
M. Davies et al., "Loihi: A Neuromorphic Manycore Processor with On-Chip Learning", IEEE Micro
38(1), 2018 (CUBA LIF, 12-bit decay, 24-bit membrane); Intel Lava ``lava.proc.lif`` fixed-point
models (read for conventions only).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from npulab.hw.core import CoreConfig

__all__ = ["IntLayer", "CoreResult", "leak", "run_core", "ENGINES", "CORE_RESETS"]

#: The two engines, which must agree bit for bit.
ENGINES = ("dense", "event")
#: Reset mechanisms of the integer core (see the module docstring for which peer each equals).
CORE_RESETS = ("subtract", "subtract_instant", "zero")


@dataclass(frozen=True, eq=False)
class IntLayer:
    """One fully connected layer of integer LIF neurons.

    Parameters
    ----------
    weight : ndarray of int, shape [n_in, n_out]
        Synaptic weights (row ``i`` is input ``i``'s fan-out).
    threshold : int
        Firing threshold (>= 0); a neuron spikes when ``v > threshold``.
    bias : ndarray of int, shape [n_out], optional
        Constant current added every step.
    name : str, default ""
    mask : ndarray of bool, shape [n_in, n_out], optional
        Which synapses exist (default: all, a fully connected layer).  A convolution unrolled
        to a matrix has a sparse mask; only existing synapses count as SOPs and memory.
    """

    weight: np.ndarray
    threshold: int
    bias: np.ndarray | None = None
    name: str = ""
    mask: np.ndarray | None = None

    def __post_init__(self):
        w = np.asarray(self.weight)
        if w.ndim != 2 or not np.issubdtype(w.dtype, np.integer):
            raise ValueError(f"IntLayer.weight must be a 2-D int array [n_in, n_out]; got {w.dtype} shape {w.shape}")
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, (int, np.integer)) or self.threshold < 0:
            raise ValueError(f"IntLayer.threshold must be an int >= 0; got {self.threshold!r}")
        object.__setattr__(self, "weight", w.astype(np.int64))
        object.__setattr__(self, "threshold", int(self.threshold))
        if self.bias is not None:
            b = np.asarray(self.bias)
            if b.shape != (w.shape[1],) or not np.issubdtype(b.dtype, np.integer):
                raise ValueError(f"IntLayer.bias must be an int array of shape ({w.shape[1]},); "
                                 f"got {b.dtype} shape {b.shape}")
            object.__setattr__(self, "bias", b.astype(np.int64))
        if self.mask is not None:
            m = np.asarray(self.mask, dtype=bool)
            if m.shape != w.shape or np.any(w[~m] != 0):
                raise ValueError(f"IntLayer.mask must be a bool array of shape {w.shape} covering every "
                                 f"nonzero weight; got shape {m.shape}")
            object.__setattr__(self, "mask", m)

    @property
    def fan_out(self) -> np.ndarray:
        """Synapses leaving each input neuron, [n_in] (``n_out`` each when fully connected)."""
        if self.mask is None:
            return np.full(self.n_in, self.n_out, np.int64)
        return self.mask.sum(axis=1).astype(np.int64)

    @property
    def effective_fan_out(self) -> np.ndarray:
        """Nonzero synapses leaving each input neuron, [n_in] (NeuroBench's effective fan-out)."""
        return np.count_nonzero(self.weight, axis=1).astype(np.int64)

    @property
    def synapses(self) -> int:
        """Number of synapses (weights the core stores)."""
        return int(self.fan_out.sum())

    @property
    def n_in(self) -> int:
        """Inputs (presynaptic neurons): rows of ``weight``."""
        return self.weight.shape[0]

    @property
    def n_out(self) -> int:
        """Neurons of the layer: columns of ``weight``."""
        return self.weight.shape[1]

    def __repr__(self):
        return f"IntLayer({self.name!r}, {self.n_in}->{self.n_out}, threshold={self.threshold})"


@dataclass(frozen=True, repr=False, eq=False)
class CoreResult:
    """What a run of the integer core did.

    Attributes
    ----------
    spikes : list of ndarray of uint8, each [T, B, n_l]
        Output spikes of every layer.
    final_membrane : list of ndarray of int64, each [B, n_l]
        Membrane of every layer after the last step.
    sops : ndarray of int64, shape [L, T]
        Synaptic operations per layer and step, summed over the batch: input spike x nonzero
        fan-out (NeuroBench's effective ACs), or x every synapse with ``count_zero_weights``.
    neuron_updates : ndarray of int64, shape [L, T]
        Neuron updates per layer and step (every neuron, every step), summed over the batch.
    spike_counts : ndarray of int64, shape [L, T]
        Output spikes per layer and step, summed over the batch.
    input_spikes : int
        Spikes fed to the first layer.
    thresholds : tuple of int
        Each layer's threshold (for the read-out).
    names, fan_in, synapses : tuple
        Each layer's name, number of inputs and number of synapses.
    """

    spikes: list
    final_membrane: list
    sops: np.ndarray
    neuron_updates: np.ndarray
    spike_counts: np.ndarray
    input_spikes: int
    thresholds: tuple
    names: tuple = field(default=())
    fan_in: tuple = field(default=())
    synapses: tuple = field(default=())

    @property
    def timesteps(self) -> int:
        """Time steps T of the run."""
        return self.sops.shape[1]

    @property
    def batch(self) -> int:
        """Samples B run side by side."""
        return self.spikes[0].shape[1]

    @property
    def total_sops(self) -> int:
        """Synaptic operations over all layers, steps and samples."""
        return int(self.sops.sum())

    @property
    def sops_per_sample(self) -> float:
        """SOPs per sample, all layers and steps: NeuroBench's ``Effective_ACs`` (default count)."""
        return self.total_sops / self.batch

    @property
    def dense_sops_per_sample(self) -> int:
        """Every synapse at every step, spiking or not: NeuroBench's ``Dense`` synaptic operations."""
        return int(sum(self.synapses)) * self.timesteps

    @property
    def total_neuron_updates(self) -> int:
        """Neuron (membrane) updates over all layers, steps and samples."""
        return int(self.neuron_updates.sum())

    @property
    def total_spikes(self) -> int:
        """Spikes emitted by all layers (input spikes not included)."""
        return int(self.spike_counts.sum())

    def scores(self) -> np.ndarray:
        """Read-out of the last layer, [B, n_out]: ``count * theta + v_final``.

        For non-leaky neurons with subtractive reset this equals the total input charge.
        """
        count = self.spikes[-1].sum(axis=0).astype(np.int64)
        return count * self.thresholds[-1] + self.final_membrane[-1]

    def predict(self) -> np.ndarray:
        """Predicted class per sample, [B]."""
        return self.scores().argmax(axis=1)

    def __repr__(self):
        per_layer = ", ".join(f"{int(s):,}" for s in self.sops.sum(axis=1))
        return (f"CoreResult(T={self.timesteps}, batch={self.batch}, SOPs={self.total_sops:,} "
                f"[{per_layer}], neuron updates={self.total_neuron_updates:,}, "
                f"spikes={self.total_spikes:,} (+{self.input_spikes:,} input))")


def leak(v: np.ndarray, core: CoreConfig) -> np.ndarray:
    """Integer membrane decay of ``core``, rounding toward zero.

    Examples
    --------
    >>> leak(np.array([100, -100]), CoreConfig(decay_mode="shift", decay=2)).tolist()
    [75, -75]
    """
    if core.decay == 0:
        return v
    mag, sign = np.abs(v), np.sign(v)
    if core.decay_mode == "multiplier":
        return sign * ((mag * (4096 - core.decay)) >> 12)
    return sign * (mag - (mag >> core.decay))


def _check_inputs(layers, spikes_in, core, reset, engine):
    if reset not in CORE_RESETS:
        raise ValueError(f"run_core reset must be one of {list(CORE_RESETS)}; got {reset!r}")
    if engine not in ENGINES:
        raise ValueError(f"run_core engine must be one of {list(ENGINES)}; got {engine!r}")
    layers = list(layers)
    if not layers:
        raise ValueError("run_core layers must hold at least one IntLayer; got none")
    s = np.asarray(spikes_in)
    if s.ndim == 2:
        s = s[:, None, :]                                     # [T, 1, n_in]
    if s.ndim != 3:
        raise ValueError(f"run_core spikes_in must have shape [T, n_in] or [T, B, n_in]; got shape {s.shape}")
    if not np.all((s == 0) | (s == 1)):
        raise ValueError("run_core spikes_in must be binary (0 or 1)")
    n = s.shape[2]
    for i, layer in enumerate(layers):
        if layer.n_in != n:
            raise ValueError(f"run_core layer {i} expects {layer.n_in} inputs; got {n}")
        if np.abs(layer.weight).max(initial=0) > core.w_max:
            raise ValueError(f"run_core layer {i} has a weight beyond {core.weight_bits}-bit range "
                             f"[-{core.w_max}, {core.w_max}]; got {np.abs(layer.weight).max()}")
        n = layer.n_out
    return layers, s.astype(np.uint8)


def _update(v, current, layer, core, reset):
    """Neuron update of one layer: leak, integrate, saturate, fire, reset. Returns (spk, v)."""
    pending = v > layer.threshold                             # snnTorch's delayed reset signal r
    v = leak(v, core) + current
    if layer.bias is not None:
        v = v + layer.bias
    v = np.minimum(np.maximum(v, core.v_min), core.v_max)     # saturating membrane
    if reset == "subtract":                                   # snnTorch: fire above a 2nd threshold
        spk = np.where(pending, v - layer.threshold, v) > layer.threshold
    else:
        spk = v > layer.threshold
    if reset == "zero":
        v = np.where(spk, 0, v)
    else:
        v = np.where(spk, v - layer.threshold, v)
    return spk.astype(np.uint8), v


def run_core(layers, spikes_in, core: CoreConfig = CoreConfig(), reset: str = "subtract_instant",
             engine: str = "event", *, count_zero_weights: bool = False) -> CoreResult:
    """Run integer LIF layers on input spikes and count SOPs, neuron updates and spikes.

    Parameters
    ----------
    layers : sequence of IntLayer
        The network, input layer first.
    spikes_in : array_like of 0/1, shape [T, n_in] or [T, B, n_in]
        Input spikes per step (and sample).
    core : CoreConfig, default CoreConfig()
        Weight/membrane widths and the decay.
    reset : {"subtract_instant", "subtract", "zero"}, default "subtract_instant"
        ``"subtract"`` equals snnTorch's subtract reset (``reset_delay=False``);
        ``"subtract_instant"`` is conversion's reset by subtraction; ``"zero"`` resets to 0
        (module docstring).
    engine : {"event", "dense"}, default "event"
        Event-driven (work per spike) or dense reference (``s @ W`` every step).
    count_zero_weights : bool, default False
        False: an SOP per (input spike, nonzero synapse), NeuroBench's effective ACs.  True:
        every stored synapse counts (the dense count a core that reads zero weights pays).

    Returns
    -------
    CoreResult

    Units: SOPs, neuron updates and spikes are event counts.

    Examples
    --------
    >>> layer = IntLayer(np.array([[3], [2]]), threshold=4)
    >>> r = run_core([layer], np.array([[1, 1], [1, 0], [0, 0]]))
    >>> r.spikes[0][:, 0, 0].tolist(), r.sops[0].tolist()
    ([1, 0, 0], [2, 1, 0])
    """
    layers, s_in = _check_inputs(layers, spikes_in, core, reset, engine)
    T, B, _ = s_in.shape
    L = len(layers)
    if not isinstance(count_zero_weights, (bool, np.bool_)):
        raise ValueError(f"run_core count_zero_weights must be True or False; got {count_zero_weights!r}")
    # SOPs per input spike: nonzero synapses (NeuroBench) or every stored one
    fan_out = [lay.fan_out if count_zero_weights else lay.effective_fan_out for lay in layers]
    sops = np.zeros((L, T), np.int64)
    updates = np.zeros((L, T), np.int64)
    counts = np.zeros((L, T), np.int64)
    spikes = [np.zeros((T, B, lay.n_out), np.uint8) for lay in layers]
    finals = [np.zeros((B, lay.n_out), np.int64) for lay in layers]

    if engine == "dense":
        v = [np.zeros((B, lay.n_out), np.int64) for lay in layers]
        # float64 matmul (BLAS) is exact here: every partial sum is an integer of magnitude
        # <= n_in * 2**15 < 2**53, so it equals the int64 product s @ W.
        w64 = [lay.weight.astype(np.float64) for lay in layers]
        for t in range(T):
            s = s_in[t]                                        # [B, n_in]
            for k, lay in enumerate(layers):
                current = (s @ w64[k]).astype(np.int64)        # [B, n_out]: every synapse, every step
                sops[k, t] = int(s.sum(axis=0).astype(np.int64) @ fan_out[k])
                s, v[k] = _update(v[k], current, lay, core, reset)
                updates[k, t] = B * lay.n_out
                counts[k, t] = int(s.sum())
                spikes[k][t] = s
        finals = v
    else:
        # Event-driven, layer by layer: a layer's input spikes over all T steps are known
        # once the layer before has run (feed-forward), so its synaptic currents are one
        # product over the (step, sample) rows and only the weight rows of inputs that ever
        # spike: current = s[:, act] @ W[act].  The sum runs in float32 when every partial
        # sum is an integer below 2**24 (exact), else float64 (below 2**53, exact).  Then
        # the membranes step through time (the LIF recurrence), int32 when leak + current +
        # bias cannot leave int32, else int64.
        vmag = max(core.v_max, -core.v_min)
        small = core.decay_mode != "multiplier" or vmag * 4096 < 2**31    # the leak's product fits
        s = s_in.reshape(T * B, -1)                            # [T*B, n_in] spikes in
        for k, lay in enumerate(layers):
            bound = lay.n_in * int(np.abs(lay.weight).max(initial=0))
            ftype = np.float32 if bound < 2**24 else np.float64
            bias = 0 if lay.bias is None else int(np.abs(lay.bias).max(initial=0))
            vtype = np.int32 if small and bound + 2 * vmag + bias < 2**31 else np.int64
            per_step = s.reshape(T, B, -1).sum(axis=1, dtype=np.int64)    # [T, n_in] spikes per input
            sops[k] = per_step @ fan_out[k]
            act = np.flatnonzero(per_step.any(axis=0))                   # inputs that ever spike
            current = np.zeros((T * B, lay.n_out), vtype)
            if act.size == lay.n_in:                                     # every input spikes sometime
                current[:] = s.astype(ftype) @ lay.weight.astype(ftype)
            elif act.size:
                sa = s[:, act]
                rows = np.flatnonzero(sa.any(axis=1))                    # (step, sample) rows with events
                current[rows] = sa[rows].astype(ftype) @ lay.weight[act].astype(ftype)
            current = current.reshape(T, B, lay.n_out)
            mem = np.zeros((B, lay.n_out), vtype)
            out = spikes[k]
            for t in range(T):
                out[t], mem = _update(mem, current[t], lay, core, reset)
            updates[k] = B * lay.n_out
            counts[k] = out.reshape(T, -1).sum(axis=1)
            finals[k] = mem.astype(np.int64)
            s = out.reshape(T * B, lay.n_out)
    return CoreResult(spikes=spikes, final_membrane=finals, sops=sops, neuron_updates=updates,
                      spike_counts=counts, input_spikes=int(s_in.sum()),
                      thresholds=tuple(lay.threshold for lay in layers),
                      names=tuple(lay.name or f"layer{i}" for i, lay in enumerate(layers)),
                      fan_in=tuple(lay.n_in for lay in layers),
                      synapses=tuple(lay.synapses for lay in layers))
