"""Calibration: observers that watch data and choose a scale; error metrics (SQNR).

An observer sees one or more batches (``observe``) and then proposes quantization parameters
(``qparams(spec) -> (scale, zero_point)``) to pass to :func:`npulab.quant.quantize`.

* :class:`MinMaxObserver`: the running min and max (brevitas's weight statistics).
* :class:`PercentileObserver`: the 99.999th percentile of ``|x|`` per batch, averaged over
  batches, divided by ``2^(b-1)`` (signed) or ``2^b - 1`` (unsigned): brevitas's
  ``Int8ActPerTensorFloat`` / ``Uint8ActPerTensorFloat`` calibration.  The percentile is the
  ``k``-th smallest ``|x|`` with ``k = floor(0.01 * q * n + 0.5)`` (brevitas ``AbsPercentile``).
  Batch statistics are combined as brevitas does, an exponential moving average with momentum
  0.1 started from the first batch (``momentum=None`` gives a plain mean over batches instead).
* :class:`MSEObserver`: the clipping range that minimises the mean squared quantization error,
  found by a grid search over fractions of ``max|x|`` (Banner et al., NeurIPS 2019 motivate it).
* :class:`MovingAverageObserver`: exponential moving average of per-batch min/max (TensorFlow's
  QAT default; Jacob et al., CVPR 2018, section 3).

Note the signed activation convention: brevitas's ``Int8ActPerTensorFloat`` is *not* narrow, so
its scale is the statistic over 128 (= ``-q_min``), while weights use 127 (= ``q_max``).
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from npulab.quant.uniform import SCALING_MIN_VAL, QuantSpec, check_finite, minmax_scale, quantize


def sqnr_db(x, x_hat) -> float:
    """Signal-to-quantization-noise ratio ``10 log10(sum x^2 / sum (x - x_hat)^2)`` in dB.

    Uniform b-bit quantization of a full-scale uniform signal gives about ``6.02 b`` dB
    (each bit halves the step, quartering the noise power); inf if the error is zero.
    """
    x, x_hat = np.asarray(x, np.float64), np.asarray(x_hat, np.float64)
    noise = np.sum((x - x_hat) ** 2)
    return float("inf") if noise == 0 else float(10 * np.log10(np.sum(x**2) / noise))


def error_metrics(x, x_hat) -> dict:
    """Mean squared error, max absolute error, mean absolute error and SQNR (dB)."""
    x, x_hat = np.asarray(x, np.float64), np.asarray(x_hat, np.float64)
    e = x - x_hat
    return {"mse": float(np.mean(e**2)), "max_abs": float(np.max(np.abs(e))),
            "mean_abs": float(np.mean(np.abs(e))), "sqnr_db": sqnr_db(x, x_hat)}


def abs_percentile(x, q: float = 99.999) -> np.float32:
    """brevitas's ``AbsPercentile``: the k-th smallest ``|x|``, ``k = floor(0.01 q n + 0.5)``."""
    a = np.abs(np.asarray(x, np.float32)).ravel()
    k = max(int(math.floor(0.01 * q * a.size + 0.5)), 1)
    return np.float32(np.partition(a, k - 1)[k - 1])


class _Observer:
    """Shared validation; subclasses implement ``observe`` and ``qparams``."""

    def observe(self, x):
        x = np.asarray(x, np.float32)
        check_finite(x, f"{type(self).__name__}.observe: x")
        self._update(x)
        return self

    def __repr__(self):
        state = {k: (round(float(v), 6) if v is not None else None) for k, v in vars(self).items()
                 if not k.startswith("_") and not isinstance(v, (list, tuple))}
        return f"{type(self).__name__}({state})"


class MinMaxObserver(_Observer):
    """Running min and max over all batches; symmetric specs use ``max(|min|, |max|)``.

    Examples
    --------
    >>> obs = MinMaxObserver().observe([-1.0, 0.5]).observe([2.0])
    >>> bool(obs.qparams(QuantSpec(8))[0] == np.float32(2.0) / np.float32(127))
    True
    """

    def __init__(self):
        self.min_val = None
        self.max_val = None

    def _update(self, x):
        lo, hi = float(x.min()), float(x.max())
        self.min_val = lo if self.min_val is None else min(self.min_val, lo)
        self.max_val = hi if self.max_val is None else max(self.max_val, hi)

    def qparams(self, spec: QuantSpec):
        """Scale and zero point for ``spec`` from what was observed (at least one batch)."""
        if self.min_val is None:
            raise ValueError("MinMaxObserver.qparams: observe at least one batch first")
        return _range_qparams(self.min_val, self.max_val, spec)


def _range_qparams(lo: float, hi: float, spec: QuantSpec):
    """Scale and zero point covering [lo, hi] (always including 0): :func:`minmax_scale` of the
    two-point tensor ``[lo, hi]``, so observers and ``quantize`` share one rule."""
    scale, zero_point = minmax_scale(np.array([lo, hi], np.float32), replace(spec, per_channel=False))
    return scale[()], zero_point[()]  # 0-d arrays -> np.float32, np.int32


class MovingAverageObserver(MinMaxObserver):
    """Exponential moving average of per-batch min and max: ``m <- (1 - c) m + c m_batch``."""

    def __init__(self, momentum: float = 0.1):
        if not 0 < momentum <= 1:
            raise ValueError(f"MovingAverageObserver.momentum must be in (0, 1]; got {momentum!r}")
        super().__init__()
        self.momentum = momentum

    def _update(self, x):
        lo, hi, c = float(x.min()), float(x.max()), self.momentum
        if self.min_val is None:
            self.min_val, self.max_val = lo, hi
        else:
            self.min_val = (1 - c) * self.min_val + c * lo
            self.max_val = (1 - c) * self.max_val + c * hi


class PercentileObserver(_Observer):
    """brevitas's activation calibration: mean over batches of the 99.999th percentile of ``|x|``.

    ``scale = stat / 128`` for signed 8-bit (``Int8ActPerTensorFloat``), ``stat / 255`` for
    unsigned (``Uint8ActPerTensorFloat``).

    Parameters
    ----------
    q : float, default 99.999
        Percentile of ``|x|`` (brevitas's ``high_percentile_q``).
    momentum : float or None, default 0.1
        Exponential moving average ``stat <- (1 - m) stat + m s`` in float32 (brevitas's
        ``DEFAULT_MOMENTUM``); None: the plain mean of the batch statistics.
    """

    def __init__(self, q: float = 99.999, momentum: float | None = 0.1):
        if not 0 < q <= 100:
            raise ValueError(f"PercentileObserver.q must be in (0, 100]; got {q!r}")
        self.q, self.momentum = q, momentum
        self.stat = None
        self.batches = 0

    def _update(self, x):
        s = np.maximum(abs_percentile(x, self.q), np.float32(SCALING_MIN_VAL))  # float32
        n = self.batches
        if n == 0:
            self.stat = s
        elif self.momentum is None:
            self.stat = np.float32(self.stat * np.float32(n / (n + 1)) + s / np.float32(n + 1))
        else:
            m = self.momentum
            self.stat = np.float32(self.stat * np.float32(1 - m) + np.float32(m) * s)
        self.batches = n + 1

    def qparams(self, spec: QuantSpec):
        """Scale and zero point for ``spec`` from what was observed (at least one batch)."""
        if self.stat is None:
            raise ValueError("PercentileObserver.qparams: observe at least one batch first")
        return np.float32(np.float32(self.stat) / np.float32(spec.scaling_int)), np.int32(0)


class MSEObserver(_Observer):
    """Choose the symmetric clipping range ``alpha * max|x|`` that minimises the MSE.

    Keeps the observed data (calibration sets are small) and searches ``alpha`` on a grid of
    ``grid`` points in ``[0.01, 1]``.
    """

    def __init__(self, grid: int = 100):
        self.grid = grid
        self._data: list[np.ndarray] = []

    def _update(self, x):
        self._data.append(x.ravel())

    def qparams(self, spec: QuantSpec):
        """Scale and zero point for ``spec`` from what was observed (at least one batch)."""
        if not self._data:
            raise ValueError("MSEObserver.qparams: observe at least one batch first")
        x = np.concatenate(self._data)
        amax = float(np.abs(x).max()) if spec.signed else float(max(x.max(), 0.0))
        q_max = spec.int_range[1]
        best, best_err = None, np.inf
        for alpha in np.linspace(0.01, 1.0, self.grid):
            s = np.float32(max(alpha * amax, SCALING_MIN_VAL) / q_max)
            err = np.mean((quantize(x, spec, s).dequantize() - x) ** 2)
            if err < best_err:
                best, best_err = s, err
        return np.float32(best), np.int32(0)
