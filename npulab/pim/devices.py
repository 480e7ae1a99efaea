"""Weights as conductances, and what real devices do to them: PCM noise, drift, faults, IR drop.

Mapping (aihwkit's ``SinglePairConductanceConverter``): a signed weight is the difference of
a pair of devices, ``w ~ G+ - G-``; the largest ``|w|`` maps to ``g_max - g_min`` and the
other device of the pair stays at ``g_min``::

    s = (g_max - g_min) / max|W|        G+ = clip(s W, 0, g_max) + g_min
                                        G- = clip(-s W, 0, g_max) + g_min

Phase-change memory (PCM) model with aihwkit's ``PCMLikeNoiseModel`` default constants,
fitted on a million-device PCM chip (Nandakumar et al., "Phase-change memory models for
deep learning training and inference", ICECS 2019; Joshi et al., "Accurate deep neural
network inference using computational phase-change memory", Nat. Commun. 11, 2473, 2020):

* programming noise: ``G_prog = G_T + N(0, sigma_prog)``, ``sigma_prog = (c0 + c1 g + c2 g^2)
  * g_max / 25`` with ``g = G_T / g_max`` (uS), clipped at 0;
* drift: ``G(t) = G_prog ((t + t0) / t0)^-nu``, ``nu ~ |N(mu_nu(g), sigma_nu(g))|`` with
  ``mu_nu = clip(-0.0155 ln g + 0.0244, 0.049, 0.1)``, ``sigma_nu = clip(-0.0125 ln g - 0.0059,
  0.008, 0.045)``;
* 1/f read noise accumulated since programming: ``G += |G(t)| * Q_s * sqrt(ln((t + t0 + t_r) /
  (2 t_r))) * N(0, 1)``, ``Q_s = min(0.0088 / max(g_prog^0.65, 1e-3), 0.2)``;
* global drift compensation (aihwkit's ``GlobalDriftCompensation``): read the array with the
  identity right after programming and at time t; scale outputs by ``alpha = mean|y_0| /
  mean|y_t|``.

Where this differs from aihwkit: ``t_inference`` is the time since the end of programming
and a drift time of 0 returns the programmed conductances, as aihwkit; the drift exponent is
drawn once at programming (aihwkit's ``program_analog_weights``) and reused at every later
time, so an accuracy-vs-time curve follows one chip rather than fresh draws.

Stuck-at faults and the IR-drop model are npulab's own simple models (assumptions in their
docstrings).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from npulab._validate import positive_number

_ZERO_CLIP = 1e-7     # aihwkit's floor on |w| max and on g / g_max


@dataclass(frozen=True)
class Conductances:
    """A differential pair of conductance matrices and the scale that maps weights to them.

    Attributes
    ----------
    g_plus, g_minus : numpy.ndarray, shape [out, in]
        Conductances of the positive and negative device (uS).
    scale : float
        uS per weight unit, ``(g_max - g_min) / max|W|``.
    g_min : float
        Conductance of logical zero (uS).
    """

    g_plus: np.ndarray
    g_minus: np.ndarray
    scale: float
    g_min: float = 0.0

    def to_weights(self) -> np.ndarray:
        """Back to weights: ``((G+ - g_min) - (G- - g_min)) / scale``."""
        return ((self.g_plus - self.g_min) - (self.g_minus - self.g_min)) / self.scale

    def replace(self, g_plus=None, g_minus=None) -> "Conductances":
        """The same mapping with new conductance matrices."""
        return Conductances(self.g_plus if g_plus is None else g_plus,
                            self.g_minus if g_minus is None else g_minus, self.scale, self.g_min)

    def __repr__(self) -> str:
        return (f"Conductances(shape={self.g_plus.shape}, scale={self.scale:.4g} uS/unit, "
                f"G+ in [{self.g_plus.min():.3g}, {self.g_plus.max():.3g}] uS)")


def weights_to_conductances(W, g_max: float = 25.0, g_min: float = 0.0) -> Conductances:
    """Map signed weights to a differential pair of conductances (uS).

    Parameters
    ----------
    W : array_like, shape [out, in]
    g_max, g_min : float, default 25.0, 0.0
        Conductance range (uS); ``0 <= g_min < g_max``.

    Returns
    -------
    Conductances

    Units: uS.

    Examples
    --------
    >>> c = weights_to_conductances([[0.5, -1.0]], g_max=25.0)
    >>> c.g_plus, c.g_minus
    (array([[12.5,  0. ]]), array([[ 0., 25.]]))
    >>> c.to_weights()
    array([[ 0.5, -1. ]])
    """
    positive_number("weights_to_conductances", "g_max", g_max)
    positive_number("weights_to_conductances", "g_min", g_min, allow_zero=True)
    if g_min >= g_max:
        raise ValueError(f"weights_to_conductances.g_min must be < g_max; got g_min={g_min!r}, "
                         f"g_max={g_max!r}")
    W = np.asarray(W, dtype=np.float64)
    bad = ~np.isfinite(W)
    if bad.any():                     # an inf weight would make every conductance NaN
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"weights_to_conductances: W must be finite; got {W[idx]} at index {idx}")
    scale = (g_max - g_min) / max(float(np.abs(W).max(initial=0.0)), _ZERO_CLIP)
    sw = W * scale
    return Conductances(np.clip(sw, 0, g_max) + g_min, np.clip(-sw, 0, g_max) + g_min,
                        scale, g_min)


@dataclass(frozen=True)
class PCMNoiseModel:
    """aihwkit's ``PCMLikeNoiseModel`` (defaults of aihwkit 1.2.0).

    Parameters
    ----------
    g_max : float, default 25.0
        Conductance of the largest weight (uS).
    prog_coeff : tuple of float, default (0.26348, 1.965, -1.1731)
        Programming-noise polynomial in ``G_T / g_max`` (uS at ``g_max`` = 25 uS).
    prog_coeff_g_max_reference : float, default 25.0
    t_0 : float, default 20.0
        Time of the first read after programming (s), the drift reference.
    t_read : float, default 250e-9
        Read duration in the 1/f fit (s).
    prog_noise_scale, read_noise_scale, drift_scale : float, default 1.0
        Multipliers of the three effects (0 switches one off).

    Units: uS, seconds.

    Examples
    --------
    >>> m = PCMNoiseModel()
    >>> round(float(m.prog_sigma(25.0)), 5), [round(float(v), 3) for v in m.nu_stats(25.0)]
    (1.05538, [0.049, 0.008])
    """

    g_max: float = 25.0
    prog_coeff: tuple = (0.26348, 1.965, -1.1731)
    prog_coeff_g_max_reference: float = 25.0
    t_0: float = 20.0
    t_read: float = 250e-9
    prog_noise_scale: float = 1.0
    read_noise_scale: float = 1.0
    drift_scale: float = 1.0

    def __post_init__(self):
        o = "PCMNoiseModel"
        for name in ("g_max", "prog_coeff_g_max_reference", "t_0", "t_read"):
            positive_number(o, name, getattr(self, name))
        for name in ("prog_noise_scale", "read_noise_scale", "drift_scale"):
            positive_number(o, name, getattr(self, name), allow_zero=True)
        object.__setattr__(self, "prog_coeff", tuple(float(c) for c in self.prog_coeff))

    # -- deterministic statistics (what the fixture table checks) ----------------------
    def prog_sigma(self, g_target) -> np.ndarray:
        """Std of the programming noise at target conductance ``g_target`` (uS)."""
        g = np.asarray(g_target, dtype=np.float64) / self.g_max
        sigma = sum(c * g ** i for i, c in enumerate(self.prog_coeff))
        return sigma * self.g_max / self.prog_coeff_g_max_reference

    def nu_stats(self, g_target):
        """Mean and std of the drift exponent ``nu`` at ``g_target`` (before ``drift_scale``)."""
        g = np.clip(np.abs(np.asarray(g_target, dtype=np.float64) / self.g_max), _ZERO_CLIP, None)
        mu = np.clip(-0.0155 * np.log(g) + 0.0244, 0.049, 0.1)
        sigma = np.clip(-0.0125 * np.log(g) - 0.0059, 0.008, 0.045)
        return mu, sigma

    def read_sigma_rel(self, g_prog, t_inference: float) -> np.ndarray:
        """Relative std of the accumulated 1/f read noise at ``t_inference`` s after programming."""
        t = t_inference + self.t_0
        q_s = np.minimum(0.0088 / np.maximum((np.abs(np.asarray(g_prog, dtype=np.float64))
                                              / self.g_max) ** 0.65, 1e-3), 0.2)
        return q_s * math.sqrt(math.log((t + self.t_read) / (2 * self.t_read)))

    # -- sampling ----------------------------------------------------------------------
    def program(self, g_target, rng=None) -> np.ndarray:
        """Programmed conductances: ``G_T + prog_noise_scale * sigma_prog * N(0,1)``, >= 0 (uS)."""
        g = np.asarray(g_target, dtype=np.float64)
        noise = np.random.default_rng(rng).standard_normal(g.shape)
        return np.maximum(g + self.prog_noise_scale * self.prog_sigma(g) * noise, 0.0)

    def drift_coefficients(self, g_target, rng=None) -> np.ndarray:
        """Drift exponents ``nu = |mu + sigma N(0,1)| * drift_scale``, one per device."""
        mu, sigma = self.nu_stats(g_target)
        noise = np.random.default_rng(rng).standard_normal(mu.shape)
        return np.abs(mu + sigma * noise) * self.drift_scale

    def drift(self, g_prog, nu, t_inference: float, rng=None) -> np.ndarray:
        """Conductances ``t_inference`` s after programming: drift, then 1/f read noise (uS)."""
        positive_number("PCMNoiseModel.drift", "t_inference", t_inference, allow_zero=True)
        g_prog = np.asarray(g_prog, dtype=np.float64)
        if t_inference <= 0:
            return g_prog.copy()
        t = t_inference + self.t_0
        g_drift = g_prog * (t / self.t_0) ** (-np.asarray(nu))
        sigma = self.read_noise_scale * self.read_sigma_rel(g_prog, t_inference)
        noise = np.random.default_rng(rng).standard_normal(g_prog.shape)
        return np.maximum(g_drift + np.abs(g_drift) * sigma * noise, 0.0)


@dataclass(frozen=True)
class ProgrammedArray:
    """A weight matrix after programming: target and programmed conductances and drift exponents.

    Build one with :func:`program`; read it at a later time with :meth:`read`.
    """

    target: Conductances
    programmed: Conductances
    nu_plus: np.ndarray
    nu_minus: np.ndarray
    model: PCMNoiseModel

    def weights(self) -> np.ndarray:
        """Weights right after programming (programming noise only)."""
        return self.programmed.to_weights()

    def read(self, t_inference: float, rng=None) -> Conductances:
        """Conductances after ``t_inference`` seconds of drift and 1/f noise (uS)."""
        gen = np.random.default_rng(rng)
        m, p = self.model, self.programmed
        return p.replace(m.drift(p.g_plus, self.nu_plus, t_inference, gen),
                         m.drift(p.g_minus, self.nu_minus, t_inference, gen))

    def __repr__(self) -> str:
        return f"ProgrammedArray(shape={self.target.g_plus.shape}, model={self.model})"


def program(W, model: PCMNoiseModel = PCMNoiseModel(), g_min: float = 0.0,
            rng=None) -> ProgrammedArray:
    """Program ``W`` on PCM pairs: map to conductances, add programming noise, draw ``nu``.

    Examples
    --------
    >>> arr = program(np.eye(3), rng=0)
    >>> arr.target.g_plus.max(), arr.weights().shape
    (np.float64(25.0), (3, 3))
    """
    gen = np.random.default_rng(rng)
    target = weights_to_conductances(W, g_max=model.g_max, g_min=g_min)
    programmed = target.replace(model.program(target.g_plus, gen),
                                model.program(target.g_minus, gen))
    return ProgrammedArray(target, programmed, model.drift_coefficients(target.g_plus, gen),
                           model.drift_coefficients(target.g_minus, gen), model)


def drift_compensation_alpha(W_ref, W_now, readout=None) -> float:
    """Global drift compensation factor ``alpha = mean|y_ref| / mean|y_now|``.

    ``y`` is the array's answer to the identity input (one read per word line), read right
    after programming (``W_ref``) and now (``W_now``); ``readout(W, X)`` computes it (e.g. a
    :func:`~npulab.pim.mvm.analog_mvm` with its periphery); default: exact ``W X^T``.
    Each mean is floored at 1e-4 as in aihwkit.

    Examples
    --------
    >>> drift_compensation_alpha(np.ones((2, 2)), 0.5 * np.ones((2, 2)))
    2.0
    """
    W_ref, W_now = np.asarray(W_ref), np.asarray(W_now)
    eye = np.eye(W_ref.shape[1], dtype=W_ref.dtype)
    read = readout if readout is not None else (lambda W, X: X @ W.T)
    ref = max(float(np.abs(read(W_ref, eye)).mean()), 1e-4)
    now = max(float(np.abs(read(W_now, eye)).mean()), 1e-4)
    return ref / now


def stuck_at_faults(g, p_off: float = 0.0, p_on: float = 0.0, g_min: float = 0.0,
                    g_max: float = 25.0, rng=None) -> np.ndarray:
    """Stuck-at faults: each cell independently stuck at ``g_min`` (off) or ``g_max`` (on).

    A fraction ``p_off`` of cells cannot leave the high-resistance state (stuck-at-off,
    ``g_min``) and ``p_on`` the low-resistance state (stuck-at-on, ``g_max``); both are drawn
    independently per cell (no spatial correlation).

    Examples
    --------
    >>> stuck_at_faults(np.full((2, 2), 10.0), p_on=1.0)
    array([[25., 25.],
           [25., 25.]])
    """
    for name, p in (("p_off", p_off), ("p_on", p_on)):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"stuck_at_faults.{name} must be in [0, 1]; got {p!r}")
    if p_off + p_on > 1.0:
        raise ValueError(f"stuck_at_faults.p_off + p_on must be <= 1; got {p_off + p_on!r}")
    g = np.array(g, dtype=np.float64)
    u = np.random.default_rng(rng).random(g.shape)
    g[u < p_off] = g_min
    g[(u >= p_off) & (u < p_off + p_on)] = g_max
    return g


def ir_drop_currents(G, v, r_wire_ohm: float = 1.0) -> np.ndarray:
    """Bit-line currents with IR drop along the bit lines (first-order linear model).

    Assumptions: the word lines are ideal (each row sees its full voltage ``v_i``); every
    bit line runs from row 0 to row ``n-1`` and ends in a sense amplifier held at virtual
    ground after row ``n-1``; each of the ``n`` bit-line segments between a cell and the next
    (or the sense amplifier) has resistance ``r_wire_ohm``.  The ideal cell currents
    ``I_ij = G_ij v_i`` flow down the line, so segment ``k`` carries ``sum_{i<=k} I_ij`` and the
    node of row ``i`` sits at ``V_ij = r sum_{k>=i} sum_{l<=k} I_lj`` above ground; the cell
    current is then ``G_ij (v_i - V_ij)`` (one correction step: valid while ``r G n^2 << 1``).
    Rows far from the sense amplifier lose most.

    Parameters
    ----------
    G : array_like, shape [rows, cols]
        Conductances, inputs on rows (uS).
    v : array_like, shape [rows] or [batch, rows]
        Word-line voltages (V).
    r_wire_ohm : float, default 1.0

    Returns
    -------
    numpy.ndarray, shape [cols] or [batch, cols]
        Column currents (uA).

    Units: uS, V, ohm, uA.

    Examples
    --------
    >>> ideal = ir_drop_currents(np.full((4, 1), 25.0), np.full(4, 0.2), r_wire_ohm=0.0)
    >>> lossy = ir_drop_currents(np.full((4, 1), 25.0), np.full(4, 0.2), r_wire_ohm=10.0)
    >>> ideal, bool(lossy[0] < ideal[0])
    (array([20.]), True)
    """
    positive_number("ir_drop_currents", "r_wire_ohm", r_wire_ohm, allow_zero=True)
    G = np.asarray(G, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    squeeze = v.ndim == 1
    v2 = v[None, :] if squeeze else v                                          # [batch, rows]
    cell = v2[:, :, None] * G[None]                                            # uA [b, rows, cols]
    segment = np.cumsum(cell, axis=1)                      # current in the segment below row k
    node_v = r_wire_ohm * 1e-6 * np.cumsum(segment[:, ::-1], axis=1)[:, ::-1]  # V, [b, rows, cols]
    out = ((v2[:, :, None] - node_v) * G[None]).sum(axis=1)                    # uA [b, cols]
    return out[0] if squeeze else out
