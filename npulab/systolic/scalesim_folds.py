"""Fold-level closed form of SCALE-Sim 3.0.0's CALC memory model (the fast path).

:mod:`npulab.systolic.scalesim_model` is the readable reference: it builds the operand
matrices, lays every fold out as a demand matrix and plays the requests through the
buffers.  This module computes the same numbers from the *shape* of each fold instead:

* the valid requests of one operand in one fold form a rectangle of ``h x w`` entries
  that starts at row ``a`` of the (unskewed) fold block; the skew delays column ``c`` by
  ``c`` rows, so the requests per demand row are a trapezoid whose running sum is a
  closed form (:class:`FoldShape`, ``cum``), and "in which row is the ``p``-th request"
  is its inverse (a bisection on ``cum``);
* the ofmap buffer (:func:`npulab.systolic.scalesim_model.write_buffer`, the reference's
  own, walking a closed-form profile) jumps from event to event (a drain starts, the
  buffer fills) with those running sums, so it costs O(folds + drains), not O(rows);
* the array's stalls are a short list of ``(row, cycles)``, from which any row's cycle
  follows by bisection (:class:`RowClock`);
* the ifmap/filter buffers (:func:`read_buffer`) use the fold-block rule of
  :func:`npulab.systolic.scalesim_model.read_buffer_blocks` with rectangle lengths, or
  the one-prefetch rule when the operand never refills.

Conv ifmaps whose windows overlap (an address requested again later) and that refill the
buffer, and conv ifmaps whose rounded-up output rows read nothing, need the request
stream: for those the ifmap buffer falls back to the reference model (the compute and
ofmap parts stay fold-level).  ``tests/systolic/test_systolic_fast_model.py`` proves the
two paths equal on random GEMMs, convs, depthwise layers and odd arrays.

Units: cycles, words.
"""
from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass

import numpy as np

from npulab.systolic import scalesim_model as ref

__all__ = ["FoldShape", "fold_shapes", "read_buffer", "RowClock", "simulate_layer_folds",
           "simulate_layer"]


@dataclass(frozen=True)
class FoldShape:
    """Valid requests of one operand in one fold: block rows ``a .. a+h-1``, columns
    ``0 .. w-1``; with ``skew`` column ``c`` is delayed by ``c`` rows."""

    a: int
    h: int
    w: int
    skew: bool

    def cum(self, t: int) -> int:
        """Requests in the fold's demand rows ``< t``: ``sum_c clip(t - a - c, 0, h)``."""
        x, h, w = t - self.a, self.h, self.w
        if x <= 0:
            return 0
        if not self.skew:
            return w * min(x, h)
        if x >= h + w - 1:
            return h * w
        full = max(0, min(w, x - h + 1))                 # columns already done: h each
        lo, hi = max(0, x - h + 1), min(w - 1, x - 1)     # columns under way: x - c each
        n = hi - lo + 1
        return full * h + (n * x - (lo + hi) * n // 2 if n > 0 else 0)

    @property
    def first_row(self) -> int:
        """First demand row holding a request of this fold (``a``)."""
        return self.a

    @property
    def last_row(self) -> int:
        """Last demand row holding a request: ``a + h - 1``, plus ``w - 1`` with ``skew``."""
        return self.a + self.h - 1 + (self.w - 1 if self.skew else 0)

    @property
    def total(self) -> int:
        """Valid requests of the fold: ``h * w``."""
        return self.h * self.w

    def reach(self, q: int) -> int:
        """Smallest ``t`` with ``cum(t) >= q`` (``1 <= q <= total``): the inverse of the
        trapezoid ``1, 2, .., m, m, .., m, .., 2, 1`` (``m = min(h, w)``) in closed form."""
        h, w = self.h, self.w
        if not self.skew:
            return self.a + -(-q // w)
        m, big = min(h, w), max(h, w)
        ramp = m * (m + 1) // 2
        if q <= ramp:                                     # x(x+1)/2 >= q
            x = (math.isqrt(8 * q + 1) - 1) // 2
            x += x * (x + 1) // 2 < q
        elif q <= ramp + (big - m) * m:
            x = m + -(-(q - ramp) // m)
        else:                                             # h*w - d(d+1)/2 >= q, d = h+w-1-x
            r = h * w - q
            d = (math.isqrt(8 * r + 1) - 1) // 2
            x = h + w - 1 - d
        return self.a + x

    def row_of(self, p: int) -> int:
        """Demand row of the fold's ``p``-th request (0-based, row-major order)."""
        return self.reach(p + 1) - 1


def fold_shapes(P: int, W: int, N: int, R: int, C: int, df: str):
    """Rows per fold, fold count and, per operand, ``fold -> (block id, FoldShape)``.

    ``P x W`` ifmap operand, ``N`` filters, ``R x C`` array.  Fold ``f = fc * Fr + fr``
    (column folds outer).  Mirrors :func:`npulab.systolic.scalesim_model.fold_layout`
    for operand matrices without empty (-1) entries.
    """
    if df == "os":
        T, Fr, Fc = W, -(-P // R), -(-N // C)
        rows = R + C + T - 2

        def used_r(fr):
            return min(R, P - fr * R)

        def used_c(fc):
            return min(C, N - fc * C)

        def ifmap(f):
            return f % Fr, FoldShape(0, T, used_r(f % Fr), True)

        def filt(f):
            return f // Fr, FoldShape(0, T, used_c(f // Fr), True)

        def ofmap(f):
            h = used_r(f % Fr)
            return f, FoldShape(T - 1 + R - h, h, used_c(f // Fr), True)
    else:
        T = P if df == "ws" else N
        Fr, Fc = -(-W // R), -(-(N if df == "ws" else P) // C)
        rows = 2 * R + C + T - 2

        def used_r(fr):
            return min(R, W - fr * R)

        def used_c(fc):
            return min(C, (N if df == "ws" else P) - fc * C)

        def stationary(f):                                # WS filter / IS ifmap: flipped, unskewed
            h = used_r(f % Fr)
            return f, FoldShape(R - h, h, used_c(f // Fr), False)

        def streamed(f):                                  # WS ifmap / IS filter
            return f % Fr, FoldShape(R, T, used_r(f % Fr), True)

        def ofmap(f):
            return f // Fr, FoldShape(2 * R - 1, T, used_c(f // Fr), True)

        ifmap, filt = (streamed, stationary) if df == "ws" else (stationary, streamed)
    return rows, Fr * Fc, ifmap, filt, ofmap


class _Profile:
    """Requests per demand row of one operand, all folds: running sums in closed form."""

    def __init__(self, shape_of, folds: int, rows: int):
        self.shape_of, self.folds, self.P = shape_of, folds, rows
        self.nrows = folds * rows
        self._shapes: dict[int, FoldShape] = {}
        tot = np.fromiter((self.shape(f).total for f in range(folds)), np.int64, folds)
        self.before = np.concatenate([[0], np.cumsum(tot)])   # requests before fold f

    def shape(self, f):
        s = self._shapes.get(f)
        if s is None:
            s = self._shapes[f] = self.shape_of(f)[1]
        return s

    def cum(self, i: int) -> int:
        """Requests in global rows ``< i``."""
        if i >= self.nrows:
            return int(self.before[-1])
        f, t = divmod(i, self.P)
        return int(self.before[f]) + self.shape(f).cum(t)

    def count(self, i: int) -> int:
        return self.cum(i + 1) - self.cum(i)

    def find(self, target: int) -> int:
        """Smallest row ``i`` in ``[0, nrows]`` with ``cum(i) >= target`` (``nrows + 1`` if none)."""
        if target <= 0:
            return 0
        if target > self.before[-1]:
            return self.nrows + 1
        f = int(np.searchsorted(self.before, target, side="left")) - 1   # before[f] < target
        return f * self.P + self.shape(f).reach(target - int(self.before[f]))


class RowClock:
    """Cycle of every demand row from the array's stall events ``[(row, cycles)]``."""

    def __init__(self, events):
        self.rows = [r for r, _ in events]
        self.cum = list(np.cumsum([s for _, s in events], dtype=np.int64).tolist())

    def _stall(self, k):
        return self.cum[k - 1] if k else 0

    def start(self, i: int) -> int:
        """Cycle row ``i`` is issued (stalls of earlier rows)."""
        return i + self._stall(bisect_right(self.rows, i - 1))

    def out(self, i: int) -> int:
        """Cycle row ``i`` is done (its own stall included)."""
        return i + self._stall(bisect_right(self.rows, i))

    def array(self, nrows: int) -> np.ndarray:
        """:meth:`start` of every row (for the reference fall-back)."""
        own = np.zeros(nrows, dtype=np.int64)
        for r, s in zip(self.rows, np.diff([0] + self.cum)):
            own[r] = s
        return np.arange(nrows) + np.concatenate([[0], np.cumsum(own)[:-1]])


def read_buffer(prof: _Profile, block_of, clock: RowClock, total_words: int, bw: int = 10):
    """:func:`npulab.systolic.scalesim_model.read_buffer_blocks` on fold shapes: DRAM
    reads and DRAM start/stop cycles of a buffer whose fold blocks are disjoint and
    repeat-free (the walk is :func:`~npulab.systolic.scalesim_model.block_refills`).
    O(folds + refills)."""
    cap = 50 * (total_words // 100)
    blocks = ((b, shape.total) for b, shape in map(block_of, range(prof.folds)))
    total, last_fill = ref.block_refills(blocks, cap)
    if last_fill is None:
        return ref.read_buffer_single(total, total_words, bw)
    first_row = prof.shape(0).first_row
    start0 = (clock.start(first_row) - 2) - math.ceil(cap / bw) + 1
    k, p = last_fill
    return total, start0 + 1, clock.start(k * prof.P + prof.shape(k).row_of(p)) + 1


def _covered(n_out: int, stride: int, size: int, extent: int) -> int:
    """Positions of ``[0, extent)`` that some window ``[o*stride, o*stride+size)`` covers."""
    if stride <= size:
        return min(extent, (n_out - 1) * stride + size)
    return sum(max(0, min(size, extent - o * stride)) for o in range(n_out))


def _valid_span(n_out: int, stride: int, size: int, extent: int) -> int:
    """``sum_o #{k < size: o*stride + k < extent}`` (window positions that exist)."""
    return sum(max(0, min(size, extent - o * stride)) for o in range(n_out)) \
        if (n_out - 1) * stride + size > extent else n_out * size


def simulate_layer_folds(layer, config) -> dict:
    """:func:`npulab.systolic.scalesim_folds.simulate_layer` (CALC) at fold level.

    Same result dict; O(folds + drains + refills) for GEMMs, conv filters and ifmaps that
    never refill; see the module docstring for the cases that fall back to the reference.
    """
    R, C, df = config.rows, config.cols, config.dataflow
    H, Wd, Fh, Fw, Ch, N, S, E, Fo = ref.conv_params(layer)
    P, W = E * Fo, Fh * Fw * Ch
    rows, folds, ifmap_of, filt_of, ofmap_of = fold_shapes(P, W, N, R, C, df)
    oprof = _Profile(ofmap_of, folds, rows)
    events, stall, ofw, of_start, of_stop = ref.write_buffer(oprof, config.ofmap_sram_kb * 1024,
                                                             C)
    clock = RowClock(events)
    res = {}
    valid = _valid_span(E, S, Fh, H) * _valid_span(Fo, S, Fw, Wd) * Ch
    distinct_i = _covered(E, S, Fh, H) * _covered(Fo, S, Fw, Wd) * Ch
    for name, shape_of, distinct, kb, rect in (
            ("ifmap", ifmap_of, distinct_i, config.ifmap_sram_kb, valid == P * W),
            ("filter", filt_of, W * N, config.filter_sram_kb, True)):
        words = kb * 1024
        repeat_free = name == "filter" or valid == distinct_i
        if rect and (repeat_free or distinct < 50 * (words // 100)):
            prof = _Profile(shape_of, folds, rows)
            first = prof.shape(0).first_row
            last = (folds - 1) * rows + prof.shape(folds - 1).last_row
            res[f"{name}_sram_start"] = clock.start(first) + 1
            res[f"{name}_sram_stop"] = clock.start(last) + 1
            if distinct < 50 * (words // 100):
                out = ref.read_buffer_single(distinct, words)
            else:
                out = read_buffer(prof, shape_of, clock, words)
        elif df == "os" and (os_if := _os_ifmap(H, Wd, Fh, Fw, Ch, S, E, Fo, R, folds, rows, clock,
                                                  words, res)) is not None:
            out = os_if
        else:                                   # the reference model on the request stream
            out = _ifmap_reference(ref, layer, R, C, df, clock.array(folds * rows), words, res)
        res[f"{name}_dram_reads"], res[f"{name}_dram_start"], res[f"{name}_dram_stop"] = out
    first = oprof.shape(0).first_row
    last = (folds - 1) * rows + oprof.shape(folds - 1).last_row
    res["ofmap_sram_start"], res["ofmap_sram_stop"] = clock.out(first), clock.out(last)
    res["ofmap_dram_start"], res["ofmap_dram_stop"], res["ofmap_dram_writes"] = of_start, of_stop, ofw
    return ref.finish_report(res, P, N, W, R, C, df, total=folds * rows - 1 + stall, stall=stall)


class OsConvIfmap:
    """First and last request of every ifmap word of an OS conv, in stream order.

    OS visits the pixel blocks ``b = 0 .. Fr-1`` once per column fold (a *pass*); in
    block ``b`` pixel ``c`` (``pix = b*R + c``) requests window entry ``j`` in demand row
    ``t = j + c`` (the skew), rows in order and columns in order within a row.  A request
    is keyed ``(b, t, c)`` (in stream order).  Word ``(y, x, ch)`` is requested by the
    pixels whose window covers *position* ``(y, x)`` (its candidates, one per tap), at
    ``t = t0 + ch`` with ``t0 = tap * Ch + c``: the channel shifts every candidate of a
    position equally, so per position the words (channels) requested at keys ``<= x``
    by one candidate are ``clip(t_x - t0 + [c <= c_x], 0, Ch)``; sums of these count the
    words first (last) requested up to a key in closed form.
    """

    def __init__(self, H, Wd, Fh, Fw, Ch, S, E, Fo, R):
        self.Ch, self.R = Ch, R
        P = E * Fo
        self.blocks = -(-P // R)
        pix = np.arange(P)
        orow, ocol = np.divmod(pix, Fo)
        frow, fcol = np.divmod(np.arange(Fh * Fw), Fw)
        y = orow[:, None] * S + frow[None, :]                     # [P, taps]
        x = ocol[:, None] * S + fcol[None, :]
        ok = (y < H) & (x < Wd)
        b = np.broadcast_to((pix // R)[:, None], ok.shape)[ok]
        c = np.broadcast_to((pix % R)[:, None], ok.shape)[ok]
        t0 = (np.broadcast_to(np.arange(Fh * Fw)[None, :], ok.shape)[ok]) * Ch + c
        self.TT = TT = Fh * Fw * Ch + R
        self.BK = TT * R                                          # keys per block
        self._key = key = (b * TT + t0) * R + c                   # one per (pixel, tap)
        self._sid = sid = (y * Wd + x)[ok]
        first = np.full(H * Wd, np.iinfo(np.int64).max, dtype=np.int64)
        last = np.full(H * Wd, -1, dtype=np.int64)
        np.minimum.at(first, sid, key)
        np.maximum.at(last, sid, key)
        hit = last >= 0
        self._hit = hit
        self.distinct = int(hit.sum()) * Ch
        self.first = self._split(np.sort(first[hit]))
        self.last = self._split(np.sort(last[hit]))
        self.bF, self.bL = first[hit] // self.BK, last[hit] // self.BK
        self.span = int((self.bL - self.bF).max())
        # smallest first block among positions whose last block is >= b (suffix minimum)
        mins = np.full(self.blocks + 1, self.blocks, dtype=np.int64)
        np.minimum.at(mins, self.bL, self.bF)
        self.min_first_from = np.minimum.accumulate(mins[::-1])[::-1]
        # last valid demand row of every block: max over its pixels of c + last window entry
        fr_n, fc_n = np.minimum(Fh, H - orow * S), np.minimum(Fw, Wd - ocol * S)
        jmax = np.where((fr_n > 0) & (fc_n > 0), ((fr_n - 1) * Fw + fc_n - 1) * Ch + Ch - 1 + pix % R, -1)
        self.last_row = np.full(self.blocks, -1, dtype=np.int64)
        np.maximum.at(self.last_row, pix // R, jmax)
        self._cand = None
        self._tables = {}

    def _split(self, keys):
        """Sorted keys -> (block starts, t0, c, words before each block, prefix sums of t0)."""
        b, rest = np.divmod(keys, self.BK)
        t0, c = np.divmod(rest, self.R)
        starts = np.searchsorted(b, np.arange(self.blocks + 1))
        return starts, t0, c, starts * self.Ch, np.concatenate([[0], np.cumsum(t0)])

    def _h_table(self, which, b) -> np.ndarray:
        """``h(u) = sum_i clip(u - t0_i, 0, Ch)`` over the positions of block ``b``, for every
        ``u`` in ``[0, TT]`` (non-decreasing; from prefix sums of the sorted ``t0``)."""
        key = (id(which), b)
        table = self._tables.get(key)
        if table is None:
            starts, t0, _, _, cs = which
            lo, hi = int(starts[b]), int(starts[b + 1])
            t0b, csb = t0[lo:hi], cs[lo:hi + 1] - cs[lo]
            u = np.arange(self.TT + 1, dtype=np.int64)
            k1 = t0b.searchsorted(u)                                  # t0 < u
            k2 = t0b.searchsorted(u - self.Ch)                        # t0 + Ch < u
            table = self._tables[key] = (k1 * u - csb[k1]) - (k2 * (u - self.Ch) - csb[k2])
        return table

    def _h(self, which, b, u) -> int:
        """``sum_i clip(u - t0_i, 0, Ch)`` over the positions of block ``b`` (t0 sorted)."""
        return int(self._h_table(which, b)[min(max(u, 0), self.TT)])

    def _row_part(self, which, b, t):
        """``c0`` of the positions of block ``b`` with ``0 <= t - t0 < Ch`` (row ``t`` adds one)."""
        starts, t0, c0 = which[0], which[1], which[2]
        lo, hi = int(starts[b]), int(starts[b + 1])
        i = lo + int(t0[lo:hi].searchsorted(t - self.Ch + 1))
        j = lo + int(t0[lo:hi].searchsorted(t, side="right"))
        return c0[i:j]

    def count(self, which, b, t, c) -> int:
        """Words whose first (``which = self.first``) or last request is at key <= (b, t, c):
        ``sum_i clip(t - t0_i + [c_i <= c], 0, Ch)`` over the positions of block ``b``."""
        return int(which[3][b]) + self._h(which, b, t) + int((self._row_part(which, b, t) <= c).sum())

    def reach(self, q):
        """Smallest key ``(b, t, c)`` with ``count(first, key) >= q`` (``1 <= q <= distinct``)."""
        which = self.first
        b = int(np.searchsorted(which[3], q, side="left")) - 1
        q -= int(which[3][b])
        table = self._h_table(which, b)                  # smallest t with h(t + 1) >= q
        lo = int(table[1:].searchsorted(q))
        need = q - int(table[lo])
        return b, lo, int(np.sort(self._row_part(which, b, lo))[need - 1])

    # ---- exact count of the words requested in (f, p]: for when the closed form is not proven
    def _candidates(self):
        """Every position's candidate keys, ascending, padded with a huge key: [positions, taps]."""
        if self._cand is None:
            keep = self._hit[self._sid]
            order = np.lexsort((self._key, self._sid))
            sid, key = self._sid[order], self._key[order]
            grp = np.cumsum(np.r_[True, sid[1:] != sid[:-1]]) - 1
            rank = np.arange(len(sid)) - np.searchsorted(sid, sid)
            cand = np.full((grp[-1] + 1, rank.max() + 1), np.iinfo(np.int64).max // 4, dtype=np.int64)
            cand[grp, rank] = key
            assert keep.all() and len(cand) == len(self.bF)
            self._cand = cand
        return self._cand

    def _parts(self, gkey):
        """Global candidate keys -> (block, t0, c) arrays (for :meth:`_n_le`)."""
        gb, rest = np.divmod(gkey, self.BK)
        return (gb,) + np.divmod(rest, self.R)

    def _n_le(self, parts, g, t, c):
        """Channels requested at or before global key (g, t, c) by candidates ``parts``."""
        gb, t0, c0 = parts
        eq = np.minimum(np.maximum(t - t0 + (c0 <= c), 0), self.Ch)
        return np.where(gb < g, self.Ch, np.where(gb > g, 0, eq))

    def _gkey(self, pas, b, t, c):
        return ((pas * self.blocks + b) * self.TT + t) * self.R + c

    def _exact_fill(self, f, cross, cap):
        """Smallest key ``p`` with ``cap`` words requested in ``(f, p]`` (``f`` = (pass, block,
        t, c)), from exact counts.  ``F(p)`` = the closed form (an upper bound of the count;
        ``X = F - count`` = words it counts wrongly).  Same pass: ``X`` shrinks as ``p``
        grows, so ``p`` lies between ``reach(cap + done)`` and ``reach(cap + done + X)``
        (bisection).  Next pass: ``X`` grows with ``p`` and the count rises only where
        ``F`` does, so ``p = reach(base + X(p))`` is iterated to its fixed point."""
        pas, fb, ft, fc = f
        Fr, BK, R = self.blocks, self.BK, self.R
        cand = self._candidates()
        touch = (self.bF <= fb) & (self.bL >= fb)
        tc = cand[touch]
        big = tc >= np.iinfo(np.int64).max // 8
        # descending keys (next pass first; each row of tc ascends, pads last): the channel
        # intervals then ascend, as the union below needs; pads give empty intervals anywhere
        this = np.where(big, tc, tc + pas * Fr * BK)[:, ::-1]
        both = self._parts(np.concatenate([np.where(big, tc, tc + (pas + 1) * Fr * BK)[:, ::-1], this],
                                          axis=1) if cross else this)   # same pass: its candidates only
        g_f = pas * Fr + fb
        lo_f = self._n_le(both, g_f, ft, fc)
        after = int((self.bF > fb).sum()) * self.Ch
        tail = self._parts(cand[self.bL >= fb][:, 0])             # first key of positions ending late
        first_end_fb = self.count(self.first, fb, self.TT - 1, R - 1)

        def words(e):
            g, rest = divmod(e, BK)
            t, c = divmod(rest, R)
            hi = self._n_le(both, g, t, c)
            lo = np.minimum(lo_f, hi)
            prev = np.zeros_like(hi)
            np.maximum.accumulate(hi[:, :-1], axis=1, out=prev[:, 1:])    # largest end so far
            exact = int(np.maximum(0, hi - np.maximum(lo, prev)).sum())
            b = g % Fr
            if g // Fr == pas:
                return exact + max(0, self.count(self.first, b, t, c) - first_end_fb)
            late = int(self._n_le(tail, b, t, c).sum())
            return exact + after + self.count(self.first, b, t, c) - late

        done = self.count(self.last, fb, ft, fc)
        if cross:
            base, x = cap - (self.distinct - done), 0
            while True:
                b, t, c = self.reach(base + x)
                e = self._gkey(pas + 1, b, t, c)
                x_new = (self.distinct - done) + self.count(self.first, b, t, c) - words(e)
                if x_new == x:
                    return pas + 1, b, t, c
                x = x_new
        # F >= count, so reach(cap + done) is a lower bound, as is the key after f
        lo_g = max(self._gkey(pas, *self.reach(cap + done)), self._gkey(pas, fb, ft, fc) + 1)
        g, rest = divmod(lo_g, BK)
        b, t, c = g % Fr, rest // R, rest % R
        x = self.count(self.first, b, t, c) - done - words(lo_g)
        if x == 0:
            return pas, b, t, c
        hi_g = (self._gkey(pas, *self.reach(cap + done + x)) if cap + done + x <= self.distinct
                else (pas + 1) * Fr * BK - 1)
        hi_g = max(hi_g, lo_g)
        while lo_g < hi_g:
            mid = (lo_g + hi_g) // 2
            if words(mid) >= cap:
                hi_g = mid
            else:
                lo_g = mid + 1
        g, rest = divmod(lo_g, BK)
        return g // Fr, g % Fr, rest // R, rest % R

    def fills(self, passes, cap):
        """The buffer's refills over ``passes`` passes: ``(DRAM reads, (pass, block, row, col) of
        the last refill)``.

        Between refills ``f`` and ``p`` the new words are those requested in ``(f, p]``.
        Closed form: ``first(p) - last(f)`` when no word skips that interval (``p`` more than
        ``span`` blocks after ``f``); across a pass boundary ``(D - last(f)) + first(p)`` when
        no word of the end of one pass is among the first of the next.  Otherwise (small
        images) :meth:`_exact_fill` bisects on exact counts between these bounds.
        """
        D = self.distinct
        n, f = 0, None
        while True:
            if f is None:
                pas, (b, t, c) = 0, self.reach(cap)
            else:
                pas, fb, ft, fc = f
                done = self.count(self.last, fb, ft, fc)
                if cap + done <= D:                              # refill within this pass
                    b, t, c = self.reach(cap + done)
                    if b <= fb + self.span:
                        pas, b, t, c = self._exact_fill(f, False, cap)
                elif pas + 1 == passes:
                    return n * cap + D - done, f
                else:
                    b, t, c = self.reach(cap - (D - done))
                    if self.min_first_from[fb] <= b:
                        pas, b, t, c = self._exact_fill(f, True, cap)
                    else:
                        pas += 1
            n += 1
            f = (pas, b, t, c)


def _os_ifmap(H, Wd, Fh, Fw, Ch, S, E, Fo, R, folds, rows, clock, words, res):
    """OS conv ifmap (windows overlap or rounded-up outputs): SRAM and DRAM columns from
    :class:`OsConvIfmap`; None where its closed form is not proven."""
    cap = 50 * (words // 100)
    geo = OsConvIfmap(H, Wd, Fh, Fw, Ch, S, E, Fo, R)
    if geo.distinct < cap:
        out = ref.read_buffer_single(geo.distinct, words)
    else:
        total, (pas, b, t, _) = geo.fills(folds // geo.blocks, cap)
        start = (clock.start(0) - 2) - math.ceil(cap / 10) + 1 + 1
        out = total, start, clock.start((pas * geo.blocks + b) * rows + t) + 1
    if geo.last_row[-1] < 0:                   # the last block reads nothing: use the stream
        return None
    res["ifmap_sram_start"] = clock.start(0) + 1
    res["ifmap_sram_stop"] = clock.start((folds - 1) * rows + int(geo.last_row[-1])) + 1
    return out


def _ifmap_reference(ref, layer, R, C, df, row_cycle, words, res):
    """Ifmap SRAM start/stop and DRAM columns by the reference model (request stream)."""
    ifmap, filt, ofmap = ref.operand_matrices(layer)
    lay = ref.fold_layout(ifmap, filt, ofmap, R, C, df)[0]
    counts = ref.row_counts(*lay)
    valid_rows = np.flatnonzero(counts)
    res["ifmap_sram_start"] = int(row_cycle[valid_rows[0]]) + 1
    res["ifmap_sram_stop"] = int(row_cycle[valid_rows[-1]]) + 1
    seen = np.zeros(int(ifmap.max()) + 1, dtype=bool)
    seen[ifmap[ifmap != -1]] = True
    distinct = int(seen.sum())
    blocks_total = sum(int((blk != -1).sum()) for blk in lay[0])
    if distinct < 50 * (words // 100):
        return ref.read_buffer_single(distinct, words)
    if blocks_total == distinct:
        return ref.read_buffer_blocks(lay, row_cycle, words)
    stream, row_of = ref.request_stream(*lay)
    return ref.read_buffer(stream, row_of, row_cycle, words)


def simulate_layer(layer, config, max_elements: int = ref.MAX_ELEMENTS) -> dict:
    """One layer's SCALE-Sim 3.0.0 report numbers (CALC or USER bandwidth mode).

    Parameters
    ----------
    layer : Gemm or Conv2d
    config : ScaleSimConfig
    max_elements : int, default :data:`~npulab.systolic.scalesim_model.MAX_ELEMENTS`
        Refuse (``ValueError``) a layer whose model would need more array elements
        (:func:`~npulab.systolic.scalesim_model.work_elements`), before allocating anything.

    Returns
    -------
    dict
        Keys :data:`npulab.systolic.scalesim_reports.KEYS` (``compute_util_pct`` is also
        given rounded to 2 decimals).

    Units: cycles, words, words/cycle, percent.
    """
    ref.check_size(layer, config, max_elements)
    if config.bandwidth_mode == "USER":
        return ref.simulate_user(layer, config)
    return simulate_layer_folds(layer, config)
