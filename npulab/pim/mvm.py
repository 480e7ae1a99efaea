"""The analog matrix-vector multiply (MVM) with DAC/ADC periphery, as IBM aihwkit does it.

A crossbar computes ``y = W x`` in one step: the input vector ``x`` becomes voltages on the
word lines (DAC), each cell passes a current ``G_ij * V_j`` (Ohm's law) and each bit line
sums its currents (Kirchhoff's current law); an ADC digitises the column current.  The
periphery decides the numbers (aihwkit's forward ``IOParameters``; Gokmen, Rasch & Haensch,
"The marriage of training and inference for scaled deep learning analog hardware",
IEDM 2019; Rasch et al., "A flexible and fast PyTorch toolkit for simulating training and
inference on analog crossbar arrays", AICAS 2021):

1. **Noise management** ``"abs_max"``: divide each input row by ``s_nm = max_j |x_j|``
   (capped at ``nm_thres`` when > 0) so the DAC range ``[-inp_bound, inp_bound]`` is used.
2. **DAC**: ``x_q = clip(rint(x / dx) * dx, -inp_bound, inp_bound)`` with step
   ``dx = inp_res * 2 * inp_bound`` (a resolution > 1 counts steps: ``inp_res = 1 / res``);
   ``rint`` rounds half to even.
3. **Array**: ``z = W x_q`` (+ ``out_noise * N(0, 1)``, additive Gaussian noise at the ADC
   input, in the normalised output units).
4. **ADC**: ``y_q = clip(rint(z / dy) * dy, -out_bound, out_bound)``,
   ``dy = out_res * 2 * out_bound``.
5. **Bound management** ``"iterative"``: if any output of the row hit the bound, repeat with
   the input scaled down by 2, 4, 8, ... until nothing clips, the reduction exceeds
   ``max_bm_factor`` or it exceeds ``max_bm_res / dx`` (the input would be too coarse).
6. **Rescale** digitally: ``y = y_q * s_nm * reduction * out_scale``.

Differences from aihwkit (options give its behaviour where they differ)
------------------------------------------------------------------------
* aihwkit's C++ tile (``InferenceRPUConfig``) runs bound management per input row; its torch
  tile (``TorchInferenceRPUConfig``) per batch: when any row clips, all rows rerun at the
  next reduction, so a row next to a large one gets a coarser input.  ``IOConfig.bm_scope``
  picks ``"row"`` (default, the C++ tile) or ``"batch"`` (the torch tile).
* A resolution of exactly 0, or an output resolution with no output bound, is a
  ``ValueError`` here; aihwkit silently turns the quantisation off.  Use a negative
  resolution (``-1``) for "no quantisation" and ``out_bound <= 0`` for "no ADC clipping",
  as in aihwkit.
* Only the forward pass and the noise/bound-management types above are modelled (no
  ``AbsMaxNPSum``, ``Shift``, S-shaped output non-linearity or voltage offsets).
* Arithmetic is float32 for float32 inputs (the C++ tile's ``T = float``), float64 otherwise.
"""
from __future__ import annotations

import math

import numpy as np

# The periphery's configuration is hardware description: it lives in npulab.hw.pim (issue 13).
from npulab.hw.pim import BM_SCOPES, BOUND_MANAGEMENT, NOISE_MANAGEMENT, IOConfig, converter_step  # noqa: F401
from npulab.quant.uniform import round_to_step

# ---------------------------------------------------------------------------------------
# helpers shared by the reference and the fast path


def _bound(b: float) -> float:
    return b if b > 0 else math.inf


def _check(W, x):
    W = np.asarray(W)
    x = np.asarray(x)
    if W.ndim != 2:
        raise ValueError(f"analog_mvm: W must be 2-D [out, in]; got shape {W.shape}")
    squeeze = x.ndim == 1
    x2 = x[None, :] if squeeze else x
    if x2.ndim != 2 or x2.shape[1] != W.shape[1]:
        raise ValueError(f"analog_mvm: x must be [batch, {W.shape[1]}] to match W "
                         f"[{W.shape[0]}, {W.shape[1]}]; got shape {x.shape}")
    for name, a in (("W", W), ("x", x2)):
        if not np.issubdtype(a.dtype, np.number) or np.iscomplexobj(a):
            raise ValueError(f"analog_mvm: {name} must be real numbers; got dtype {a.dtype}")
        bad = ~np.isfinite(a)
        if bad.any():                 # inf/NaN become finite garbage after the converters' clipping
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"analog_mvm: {name} must be finite; got {a[idx]} at index {idx}")
    dtype = np.result_type(W.dtype, x2.dtype, np.float32)
    return W.astype(dtype, copy=False), x2.astype(dtype, copy=False), squeeze, dtype


def _nm_scale(x: np.ndarray, io: IOConfig) -> np.ndarray:
    """Per-row noise-management scale ``s_nm`` [batch] (ones when off)."""
    if io.noise_management == "none":
        return np.ones(x.shape[0], dtype=x.dtype)
    s = np.abs(x).max(axis=1)
    if io.nm_thres > 0:
        s = np.minimum(s, x.dtype.type(io.nm_thres))
    return s


def _bm_done(reduction: float, io: IOConfig, dx: float) -> bool:
    """aihwkit's stop rule: reduction > ``max_bm_factor`` or ``reduction * dx > max_bm_res``."""
    return int(reduction) > io.max_bm_factor or (dx > 0 and reduction > io.max_bm_res / dx)


def _setup(W, x, io: IOConfig):
    """What both paths need before the first pass: checked arrays, steps, bounds, ``s_nm``."""
    W, x, squeeze, dt = _check(W, x)
    dx, dy = converter_step(io.inp_res, io.inp_bound, dt), converter_step(io.out_res, io.out_bound, dt)
    nm_on, bm_on = io.noise_management != "none", io.bound_management != "none"
    s_nm = None if io.is_perfect else _nm_scale(x, io)                        # [batch]
    return (W, x, squeeze, dt, dx, dy, _bound(io.inp_bound), _bound(io.out_bound),
            nm_on, bm_on, s_nm)


# ---------------------------------------------------------------------------------------
# reference path: one input row at a time, as the C++ tile does


def analog_mvm_reference(W, x, io: IOConfig = IOConfig(), rng=None, array=None) -> np.ndarray:
    """Row-by-row analog MVM: the readable version of :func:`analog_mvm` (same arguments)."""
    W, x, squeeze, dt, dx, dy, in_bound, out_bound, nm_on, bm_on, s_nm = _setup(W, x, io)
    t = dt.type
    gen = np.random.default_rng(rng)                # returns a Generator unchanged
    if io.is_perfect:
        y = (x @ W.T) * t(io.out_scale)
        return y[0] if squeeze else y

    def one_pass(b: int, reduction):
        """DAC -> array -> ADC for input row ``b`` at one bound-management reduction."""
        scale = t(1)
        if nm_on and s_nm[b] > 0:
            scale = scale / s_nm[b]
        if bm_on:
            scale = scale / reduction
        x_q = np.clip(round_to_step(x[b] * scale, dx), -in_bound, in_bound)         # DAC [in]
        z = W @ x_q if array is None else array(x_q[None, :])[0]               # array [out]
        if io.out_noise > 0:
            z = z + t(io.out_noise) * gen.standard_normal(z.shape, dtype=dt)
        z = round_to_step(z, dy)                                                     # ADC
        clipped = bool(np.any(np.abs(z) > out_bound))
        return np.clip(z, -out_bound, out_bound) * (t(io.out_scale) / scale), clipped

    y = np.zeros((x.shape[0], W.shape[0]), dtype=dt)
    if io.bm_scope == "row":                        # C++ tile: each row finds its reduction
        for b in range(x.shape[0]):
            if nm_on and s_nm[b] <= 0:                      # all-zero input: output is zero
                continue
            reduction = t(1)
            y[b], clipped = one_pass(b, reduction)
            while bm_on and clipped and not _bm_done(reduction, io, dx):
                reduction = reduction * t(2)
                y[b], clipped = one_pass(b, reduction)
    else:                                           # torch tile: one reduction for the batch
        reduction = t(1)
        while True:
            rows = [one_pass(b, reduction) for b in range(x.shape[0])]
            y[:] = [r[0] for r in rows]
            if not (bm_on and any(r[1] for r in rows)) or _bm_done(reduction, io, dx):
                break
            reduction = reduction * t(2)
    return y[0] if squeeze else y


# ---------------------------------------------------------------------------------------
# fast path: all rows at once; only the rows that still clip rerun


def analog_mvm(W, x, io: IOConfig = IOConfig(), rng=None, array=None) -> np.ndarray:
    """Analog matrix-vector product ``y = W x`` through DAC, crossbar and ADC (aihwkit forward).

    Parameters
    ----------
    W : array_like, shape [out, in]
        Weights as stored on the crossbar (normalised units; ``|W| <= 1`` is typical).
    x : array_like, shape [batch, in] or [in]
        Inputs (one vector per row).
    io : IOConfig, default IOConfig()
        Periphery: DAC/ADC resolution and bounds, noise and bound management, output noise.
    rng : numpy.random.Generator | int | None
        Source of the output noise.
    array : callable, optional
        ``array(x_q) -> z`` for DAC outputs ``x_q`` [rows, in]: a physical model of the array
        (e.g. IR drop, see :func:`npulab.pim.slicing.tiled_mvm`); default ideal ``x_q @ W.T``.

    Returns
    -------
    numpy.ndarray, shape [batch, out] (or [out] for a 1-D ``x``)
        ``x @ W.T`` as the analog tile computes it.

    Units: normalised (see :class:`IOConfig`).

    References
    ----------
    IBM aihwkit 1.2.0, ``ForwardBackwardPassIOManaged::forwardVector`` (C++ tile) and
    ``AnalogMVM.matmul`` (torch tile); Gokmen et al., IEDM 2019.

    Examples
    --------
    >>> W = np.array([[0.5, -0.25], [1.0, 0.0]])
    >>> analog_mvm(W, [[1.0, 1.0]], IOConfig(out_noise=0.0)).round(4)   # ADC step 24/510
    array([[0.2353, 0.9882]])
    """
    W, x, squeeze, dt, dx, dy, in_bound, out_bound, nm_on, bm_on, s_nm = _setup(W, x, io)
    t = dt.type
    gen = np.random.default_rng(rng)                # returns a Generator unchanged
    if io.is_perfect:
        y = (x @ W.T) * t(io.out_scale)
        return y[0] if squeeze else y
    if nm_on and io.bm_scope == "batch":
        s_nm = np.where(s_nm <= 0, t(1), s_nm)             # torch tile: zero rows -> scale 1
    y = np.zeros((x.shape[0], W.shape[0]), dtype=dt)
    todo = np.flatnonzero(s_nm > 0) if nm_on else np.arange(x.shape[0])         # rows to run
    reduction = t(1)
    while todo.size:
        scale = np.ones(todo.size, dtype=dt)
        if nm_on:
            scale = scale / s_nm[todo]
        if bm_on:
            scale = scale / reduction
        x_q = np.clip(round_to_step(x[todo] * scale[:, None], dx), -in_bound, in_bound)
        z = x_q @ W.T if array is None else array(x_q)                          # [rows, out]
        if io.out_noise > 0:
            z = z + t(io.out_noise) * gen.standard_normal(z.shape, dtype=dt)
        z = round_to_step(z, dy)
        clipped = np.any(np.abs(z) > out_bound, axis=1)                          # [rows]
        z = np.clip(z, -out_bound, out_bound)
        if io.bm_scope == "batch":
            clipped[:] = clipped.any()
        if not bm_on or _bm_done(reduction, io, dx):
            clipped[:] = False
        done = ~clipped
        y[todo[done]] = z[done] * (t(io.out_scale) / scale[done])[:, None]
        todo = todo[clipped]
        reduction = reduction * t(2)
    return y[0] if squeeze else y
