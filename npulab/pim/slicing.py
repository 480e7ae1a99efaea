"""Bit slicing and tiling: how a real crossbar handles 8-bit numbers and big layers.

Real arrays hold a few bits per cell and read a few input bits at a time (ISAAC: 2-bit
cells, 1-bit DACs; Shafiee et al., ISCA 2016, Sec. 4), so an integer MVM becomes many small
analog reads combined by digital shift-and-add::

    y = sum_c sum_s 2^(c*dac_bits + s*bits_per_cell) * ADC( x_c . W_s )

with ``x_c`` the c-th ``dac_bits``-wide digit of the input and ``W_s`` the s-th
``bits_per_cell``-wide slice of the weight magnitude (positive and negative parts on
separate columns, ``w = w+ - w-``).  A layer larger than one array is cut into
``ceil(in / rows) x ceil(out / (cols / cells_per_weight))`` tiles; partial sums of the row
tiles are added digitally.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from npulab.hw.crossbar import CrossbarConfig
from npulab.hw.pim import IOConfig
from npulab.pim.mvm import analog_mvm
from npulab.quant.uniform import round_to_step


@dataclass(frozen=True)
class SlicedResult:
    """Output of :func:`bit_sliced_mvm` and what it cost in conversions.

    Attributes
    ----------
    y : numpy.ndarray, shape [batch, out], int64
    adc_conversions, dac_conversions, array_reads : int
        Counts over the whole batch (an array read = one tile, one input digit).
    row_tiles, col_tiles : int
    adc_clipped : int
        Column reads whose sum exceeded the ADC range (rounded, not exact).
    """

    y: np.ndarray
    adc_conversions: int
    dac_conversions: int
    array_reads: int
    row_tiles: int
    col_tiles: int
    adc_clipped: int

    @property
    def tiles(self) -> int:
        """Arrays needed, ``row_tiles * col_tiles``."""
        return self.row_tiles * self.col_tiles

    def __repr__(self) -> str:
        return (f"SlicedResult(y.shape={self.y.shape}, tiles={self.tiles} "
                f"({self.row_tiles}x{self.col_tiles}), adc_conversions={self.adc_conversions}, "
                f"dac_conversions={self.dac_conversions}, array_reads={self.array_reads}, "
                f"adc_clipped={self.adc_clipped})")


def tile_grid(n_in: int, n_out: int, crossbar: CrossbarConfig) -> tuple[int, int, int]:
    """``(row_tiles, col_tiles, outputs_per_tile)`` for an ``n_out x n_in`` weight matrix."""
    per_tile = crossbar.cols // crossbar.cells_per_weight
    if per_tile < 1:
        raise ValueError(f"CrossbarConfig.cols must be >= cells_per_weight "
                         f"({crossbar.cells_per_weight}); got {crossbar.cols}")
    return math.ceil(n_in / crossbar.rows), math.ceil(n_out / per_tile), per_tile


def adc(column_sum: np.ndarray, full_scale: int, adc_bits: int) -> np.ndarray:
    """An ideal ``adc_bits`` ADC over ``[0, full_scale]``: exact when ``full_scale < 2**adc_bits``.

    Otherwise the step is ``full_scale / (2**adc_bits - 1)`` and the result is rounded
    (half to even) to that step.
    """
    levels = 2 ** adc_bits - 1
    if full_scale <= levels:
        return column_sum
    return round_to_step(column_sum, full_scale / levels)


def bit_sliced_mvm(W_int, x_int, crossbar: CrossbarConfig = CrossbarConfig()) -> SlicedResult:
    """Integer ``y = W x`` on tiled crossbars with bit-serial inputs and bit-sliced weights.

    Parameters
    ----------
    W_int : array_like of int, shape [out, in]
        Signed weights, ``|w| < 2**crossbar.weight_bits``.
    x_int : array_like of int, shape [batch, in]
        Unsigned inputs (e.g. after ReLU), ``0 <= x < 2**crossbar.input_bits``.
    crossbar : CrossbarConfig, default CrossbarConfig()

    Returns
    -------
    SlicedResult
        ``y`` equals ``x_int @ W_int.T`` whenever the ADC resolves every column sum
        (``rows * (2**dac_bits - 1) * (2**bits_per_cell - 1) < 2**adc_bits``).

    Units: integers, conversions.

    References
    ----------
    Shafiee et al., "ISAAC", ISCA 2016, Sec. 4 (bit-serial inputs, weight slicing).

    Examples
    --------
    >>> xb = CrossbarConfig(rows=4, cols=8, bits_per_cell=2, weight_bits=4, input_bits=4,
    ...                     dac_bits=1, adc_bits=4)
    >>> r = bit_sliced_mvm([[3, -5, 7, 1]], [[1, 2, 3, 15]], xb)
    >>> r.y, int(np.dot([3, -5, 7, 1], [1, 2, 3, 15]))
    (array([[29]]), 29)
    """
    xb = crossbar
    W = np.asarray(W_int)
    x = np.atleast_2d(np.asarray(x_int))
    if W.ndim != 2 or x.shape[1] != W.shape[1]:
        raise ValueError(f"bit_sliced_mvm: x must be [batch, {W.shape[-1]}] to match W "
                         f"{list(W.shape)}; got shape {list(np.shape(x_int))}")
    if np.abs(W).max(initial=0) >= 2 ** xb.weight_bits:
        raise ValueError(f"bit_sliced_mvm: |W_int| must be < 2**weight_bits = "
                         f"{2 ** xb.weight_bits}; "
                         f"got max {np.abs(W).max()}")
    if x.min(initial=0) < 0 or x.max(initial=0) >= 2 ** xb.input_bits:
        raise ValueError(f"bit_sliced_mvm: x_int must be in [0, {2 ** xb.input_bits - 1}]; "
                         f"got [{x.min()}, {x.max()}]")
    W, x = W.astype(np.int64), x.astype(np.int64)
    n_out, n_in = W.shape
    row_tiles, col_tiles, _ = tile_grid(n_in, n_out, xb)
    pos, neg = np.maximum(W, 0), np.maximum(-W, 0)          # differential pair: w = w+ - w-
    cell_mask, dac_mask = 2 ** xb.bits_per_cell - 1, 2 ** xb.dac_bits - 1
    y = np.zeros((x.shape[0], n_out), dtype=np.float64)
    clipped = 0
    for r in range(row_tiles):                               # row tiles: partial sums
        rows = slice(r * xb.rows, min((r + 1) * xb.rows, n_in))
        full_scale = (rows.stop - rows.start) * dac_mask * cell_mask
        for c in range(xb.input_cycles):                     # input digits, bit-serial
            x_c = (x[:, rows] >> (c * xb.dac_bits)) & dac_mask                  # DAC [b, rows]
            for s in range(xb.slices):                       # weight slices, one column each
                shift = c * xb.dac_bits + s * xb.bits_per_cell
                for part, sign in ((pos, 1), (neg, -1)):
                    w_s = (part[:, rows] >> (s * xb.bits_per_cell)) & cell_mask  # cells [out, rows]
                    col = x_c @ w_s.T                                   # bit lines [b, out]
                    clipped += int(np.count_nonzero(col > 2 ** xb.adc_bits - 1)) \
                        if full_scale > 2 ** xb.adc_bits - 1 else 0
                    y += sign * adc(col, full_scale, xb.adc_bits) * 2.0 ** shift  # shift-and-add
    batch = x.shape[0]
    cols_per_read = xb.slices * 2                    # G+ and G- columns of every slice
    return SlicedResult(
        y=np.rint(y).astype(np.int64),
        adc_conversions=batch * row_tiles * xb.input_cycles * n_out * cols_per_read,
        dac_conversions=batch * xb.input_cycles * n_in * col_tiles,
        array_reads=batch * xb.input_cycles * row_tiles * col_tiles,
        row_tiles=row_tiles, col_tiles=col_tiles, adc_clipped=clipped)


def ir_drop_array(W_tile, crossbar: CrossbarConfig):
    """An ``array(x_q) -> z`` model of one tile with IR drop on its bit lines.

    The normalised tile ``W_tile`` [out, in] (``|w| <= 1``) is held as ``G+- = max(+-w, 0) *
    g_max`` (uS); DAC outputs ``x_q`` become ``x_q * read_voltage_v`` volts on the word lines;
    :func:`npulab.pim.devices.ir_drop_currents` gives both columns' currents and the result is
    converted back to normalised units, ``(I+ - I-) / (g_max * read_voltage_v)``.
    """
    from npulab.pim.devices import ir_drop_currents

    g_plus = np.maximum(W_tile, 0).T * crossbar.g_max                          # [in, out] uS
    g_minus = np.maximum(-W_tile, 0).T * crossbar.g_max
    v_read, r = crossbar.read_voltage_v, crossbar.r_wire_ohm

    def array(x_q):
        v = np.asarray(x_q, dtype=np.float64) * v_read                          # [rows, in] V
        i = ir_drop_currents(g_plus, v, r) - ir_drop_currents(g_minus, v, r)    # uA
        return (i / (crossbar.g_max * v_read)).astype(np.result_type(x_q, np.float32))

    return array


def tiled_mvm(W, x, io: IOConfig = IOConfig(), rows: int = 512, cols: int = 512,
              rng=None, ir_drop: CrossbarConfig | None = None) -> np.ndarray:
    """``x @ W.T`` on a grid of analog tiles of at most ``rows`` inputs x ``cols`` outputs.

    Each tile is an :func:`~npulab.pim.mvm.analog_mvm` with its own periphery (its own noise
    and bound management over its slice of the input); partial outputs of tiles that share
    outputs are summed digitally (aihwkit splits layers the same way, at
    ``max_input_size = max_output_size = 512`` by default).  With ``ir_drop`` (a
    :class:`CrossbarConfig` giving ``g_max``, ``read_voltage_v`` and ``r_wire_ohm``) each
    tile's array suffers IR drop (:func:`ir_drop_array`; ``W`` normalised, ``|w| <= 1``).

    Examples
    --------
    >>> W = np.ones((3, 5)); x = np.ones((1, 5))
    >>> tiled_mvm(W, x, IOConfig(is_perfect=True), rows=2, cols=2)
    array([[5., 5., 5.]])
    """
    W = np.asarray(W)
    x = np.asarray(x)
    if W.ndim != 2 or x.ndim != 2 or x.shape[1] != W.shape[1]:
        raise ValueError(f"tiled_mvm: x must be [batch, {W.shape[-1]}] to match W {list(W.shape)}; "
                         f"got shape {list(x.shape)}")
    gen = np.random.default_rng(rng)
    dtype = np.result_type(W.dtype, x.dtype, np.float32)
    y = np.zeros((x.shape[0], W.shape[0]), dtype=dtype)
    for i0 in range(0, W.shape[1], rows):                   # tiles along the inputs
        for o0 in range(0, W.shape[0], cols):               # tiles along the outputs
            w_tile = W[o0:o0 + cols, i0:i0 + rows]
            array = ir_drop_array(w_tile, ir_drop) if ir_drop is not None else None
            y[:, o0:o0 + cols] += analog_mvm(w_tile, x[:, i0:i0 + rows], io, gen, array=array)
    return y
