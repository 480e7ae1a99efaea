"""SCALE-Sim 3.0.0's memory and compute model: one layer in, its report numbers out.

SCALE-Sim (Samajdar et al., ISPASS 2020; ``scalesim`` 3.0.0 on PyPI) turns a layer into
three *operand matrices* (im2col addresses of ifmap, filter, ofmap), cuts them into folds,
lays each fold out cycle by cycle as a skewed *demand matrix* (one row per cycle, one
column per array edge port, ``-1`` = no request), and plays the demand rows through a
double-buffered memory model.  This module re-derives those conventions (written from
reading its documentation and source, no code copied) so that every column of its
COMPUTE, BANDWIDTH and DETAILED_ACCESS reports comes out identical.

Conventions reproduced (``R x C`` array, ``T`` streamed length, ``F`` folds):

* fold order: column folds outer, row folds inner; every fold has ``R + C + T - 2`` (OS)
  or ``2R + C + T - 2`` (WS, IS) demand rows; "Total Cycles" is the index of the last
  row plus stalls (i.e. ``rows - 1 + stalls``); SRAM start/stop cycles of ifmap and
  filter include a 1-cycle hit latency;
* OS counts ``R + C`` extra ofmap SRAM writes per fold; WS/IS write every partial sum;
* ifmap/filter buffers (CALC mode): the SRAM is split into 100 *sets* of
  ``floor(bytes / 100)`` words; a request that misses the words fetched since the last
  refill is new; after ``50 sets`` of new words the buffer refills (forgets).  DRAM reads
  = new words; the first refill is prefetched at 10 words/cycle before the first request
  (ending one cycle before it minus the 1-cycle DRAM latency); later refills are spread
  over the interval between refills;
* ofmap buffer: words fill lines of ``C`` words; once more than half the SRAM is full, the
  open line is closed and ``ceil(half / C)`` lines drain to DRAM, one line per cycle;
  when the SRAM is full during a drain the array stalls until the drain ends.  A drain
  counts every slot of its lines except the empty slots of its last line (so a partial
  line in the middle counts ``C``: the source of SCALE-Sim's few extra DRAM writes);
* "Total Cycles (incl. prefetch)" = last ofmap DRAM write cycle - first DRAM read cycle.

``InterfaceBandwidth: USER`` (fixed DRAM bandwidths: ``Bandwidth`` words/cycle for the
ofmap, ``[layout] Ifmap/FilterSRAMBankBandwidth`` for the inputs): the inputs are fetched
in SCALE-Sim's *prefetch order* (fold blocks stacked, flattened along anti-diagonals for
the skewed operands) in lines of ``ceil(words / 100)``; a request that misses the active
half slides the window by one prefetch buffer and waits for ``ceil(half / bw)`` DRAM
rows, and the array stalls by the largest of the three buffers' waits (SCALE-Sim adds a
positive wait twice and a negative one once; reproduced).  This path runs row by row and
is meant for small layers and teaching.

Two paths, one set of numbers: :func:`simulate_layer_reference` is the address-set model
written out above (read it first); :func:`npulab.systolic.scalesim_folds.simulate_layer`
(the public entry, re-exported by :mod:`npulab.systolic.scalesim`) runs CALC mode through
:func:`~npulab.systolic.scalesim_folds.simulate_layer_folds`, a fold-level closed form of the same rules (time
linear in the fold count, >= 1000x faster than SCALE-Sim 3.0.0 on
``benchmarks/systolic_vs_scalesim.py``), proven equal to the reference by
``tests/systolic/test_systolic_fast_model.py``.  :func:`check_size` refuses a layer whose
model would need more than ``max_elements`` array elements before anything is allocated.

Not modelled: sparsity, custom layouts, bank conflicts of custom layouts, Ramulator traces.

Reading the ``.cfg`` file is :mod:`npulab.systolic.scalesim_config`; writing the CSV
reports is :mod:`npulab.systolic.scalesim_reports`; :mod:`npulab.systolic.scalesim`
gathers the three.

Units: cycles, words (elements; 1 byte each in SCALE-Sim).
"""
from __future__ import annotations

import math

import numpy as np

from npulab.systolic.folds import sram_accesses, utilization
from npulab.systolic.scalesim_config import ScaleSimConfig

__all__ = ["operand_matrices", "demand_matrices", "simulate_layer_reference", "conv_params",
           "fold_layout", "request_stream", "row_counts", "CountsProfile", "write_buffer",
           "row_cycles", "read_buffer", "block_refills", "read_buffer_blocks",
           "read_buffer_single", "finish_report", "simulate_user", "MAX_ELEMENTS",
           "work_elements", "check_size"]


# --------------------------------------------------------------------------------------
# Operand matrices (im2col addresses) and demand matrices
# --------------------------------------------------------------------------------------
def operand_matrices(layer):
    """Ifmap ``[P, W]``, filter ``[W, N]`` and ofmap ``[P, N]`` address matrices (-1 = none).

    ``P`` = output pixels (SCALE-Sim rounds the output size up), ``W`` = window
    ``Fh*Fw*C``.  A GEMM ``A[M,K] @ B[K,N]`` is the conv ``H=M, W=K, Fh=1, Fw=K, C=1``.
    Addresses: ifmap ``(row*W + col)*C + ch`` (HWC), filter ``n*Fh*Fw*C + k``, ofmap
    ``p*N + n`` (offsets left out: each buffer sees only its own operand).
    """
    H, Wd, Fh, Fw, C, N, S, E, Fo = conv_params(layer)
    P, win = E * Fo, Fh * Fw * C
    i = np.arange(P)[:, None]
    j = np.arange(win)[None, :]
    orow, ocol = np.divmod(i, Fo)
    r0, c0 = orow * S, ocol * S
    frow, rest = np.divmod(j, Fw * C)
    fcol, ch = np.divmod(rest, C)
    valid = (frow + r0 < H) & (fcol + c0 < Wd)
    ifmap = np.where(valid, ((r0 + frow) * Wd + (c0 + fcol)) * C + ch, -1).astype(np.int64)
    filt = (np.arange(N)[None, :] * win + np.arange(win)[:, None]).astype(np.int64)
    ofmap = (np.arange(P)[:, None] * N + np.arange(N)[None, :]).astype(np.int64)
    return ifmap, filt, ofmap


def conv_params(layer):
    """``(H, W, Fh, Fw, C, N, S, E, Fo)`` of a layer as SCALE-Sim sees it: ifmap ``H x W x C``,
    ``N`` filters of ``Fh x Fw``, stride ``S``, output ``E x Fo`` (rounded up).  A GEMM
    ``A[M,K] @ B[K,N]`` is the conv ``H=M, W=K, Fh=1, Fw=K, C=1``."""
    from npulab.workloads import Conv2d, Gemm

    if isinstance(layer, Gemm):
        H, Wd, Fh, Fw, C, N, S = layer.M, layer.K, 1, layer.K, 1, layer.N, 1
    elif isinstance(layer, Conv2d):
        H, Wd, Fh, Fw, C, N, S = (layer.ifmap_h, layer.ifmap_w, layer.filter_h, layer.filter_w,
                                  layer.channels, layer.num_filters, layer.stride)
    else:
        raise ValueError(f"simulate_layer needs a Gemm or Conv2d; got {type(layer).__name__}")
    return H, Wd, Fh, Fw, C, N, S, -(-(H - Fh + S) // S), -(-(Wd - Fw + S) // S)


def _skew(U):
    """Delay column c by c rows: ``out[r + c, c] = U[r, c]`` (the systolic wavefront)."""
    h, w = U.shape
    out = np.full((h + w - 1, w), -1, dtype=U.dtype)
    out[np.arange(h)[:, None] + np.arange(w)[None, :], np.arange(w)[None, :]] = U
    return out


def _pad(U, h, w):
    out = np.full((h, w), -1, dtype=np.int64)
    out[:U.shape[0], :U.shape[1]] = U
    return out


def demand_matrices(ifmap, filt, ofmap, R, C, df):
    """Demand matrices of the three operands, all folds stacked (rows = cycles).

    The readable definition of SCALE-Sim's layout (used by tests and for small layers);
    :func:`simulate_layer` uses :func:`fold_layout`, the same matrices fold by fold
    without materialising repeats.
    """
    out = []
    for blocks, sel, pre, flip, skew, P in fold_layout(ifmap, filt, ofmap, R, C, df):
        out.append(np.vstack([_demand_of_block(blocks[b], pre, flip, skew, P) for b in sel]))
    return tuple(out)


def _demand_of_block(U, pre, flip, skew, P):
    """One fold: ``pre`` empty rows, the block (flipped upside down if ``flip``), empty
    rows up to ``P`` rows in all, then the skew if ``skew``."""
    h, w = U.shape
    V = np.full((P - (w - 1 if skew else 0), w), -1, dtype=U.dtype)
    V[pre:pre + h] = U[::-1] if flip else U
    return _skew(V) if skew else V


def _blocks(mat, size_r, size_c, nr, nc):
    """Cut ``mat`` (padded with -1) into ``nr x nc`` blocks of ``size_r x size_c``: [nr, nc, r, c]."""
    pad = np.full((nr * size_r, nc * size_c), -1, dtype=np.int64)
    pad[:mat.shape[0], :mat.shape[1]] = mat
    return pad.reshape(nr, size_r, nc, size_c).transpose(0, 2, 1, 3)


def fold_layout(ifmap, filt, ofmap, R, C, df):
    """For each operand: (unique blocks, block index of every fold, prefix rows, flip, skew,
    rows per fold).  Folds run column folds outer, row folds inner (``f = fc * Fr + fr``)."""
    P, W = ifmap.shape
    N = filt.shape[1]
    if df == "os":
        T, Fr, Fc = W, -(-P // R), -(-N // C)
        rows = R + C + T - 2
        f = np.arange(Fr * Fc)
        ib = _blocks(ifmap, R, W, Fr, 1)[:, 0].transpose(0, 2, 1)        # [Fr, T, R]
        fb = _blocks(filt, W, C, 1, Fc)[0]                                # [Fc, T, C]
        ob = _blocks(ofmap, R, C, Fr, Fc).transpose(1, 0, 2, 3).reshape(Fr * Fc, R, C)
        return [(ib, f % Fr, 0, False, True, rows), (fb, f // Fr, 0, False, True, rows),
                (ob, f, T - 1, True, True, rows)]
    if df == "ws":
        T, Fr, Fc = P, -(-W // R), -(-N // C)
        rows = 2 * R + C + T - 2
        f = np.arange(Fr * Fc)
        ib = _blocks(ifmap, P, R, 1, Fr)[0]                               # [Fr, T, R]
        fb = _blocks(filt, R, C, Fr, Fc).transpose(1, 0, 2, 3).reshape(Fr * Fc, R, C)
        ob = _blocks(ofmap, P, C, 1, Fc)[0]                               # [Fc, T, C]
        return [(ib, f % Fr, R, False, True, rows), (fb, f, 0, True, False, rows),
                (ob, f // Fr, 2 * R - 1, False, True, rows)]
    T, Fr, Fc = N, -(-W // R), -(-P // C)
    rows = 2 * R + C + T - 2
    f = np.arange(Fr * Fc)
    ib = _blocks(ifmap.T, R, C, Fr, Fc).transpose(1, 0, 2, 3).reshape(Fr * Fc, R, C)
    fb = _blocks(filt.T, N, R, 1, Fr)[0]                                  # [Fr, T, R]
    ob = _blocks(ofmap.T, N, C, 1, Fc)[0]                                 # [Fc, T, C]
    return [(ib, f, 0, True, False, rows), (fb, f % Fr, R, False, True, rows),
            (ob, f // Fr, 2 * R - 1, False, True, rows)]


def request_stream(blocks, sel, pre, flip, skew, P):
    """Valid requests of an operand in demand order: (addresses, demand row of each)."""
    vals, rws = [], []
    for b in range(len(blocks)):
        D = _demand_of_block(blocks[b], pre, flip, skew, P)
        r, c = np.nonzero(D != -1)
        vals.append(D[r, c])
        rws.append(r)
    lens = np.array([len(v) for v in vals])
    take = lens[sel]
    starts = np.concatenate([[0], np.cumsum(take)[:-1]])
    total = int(take.sum())
    addr = np.empty(total, dtype=np.int64)
    row = np.empty(total, dtype=np.int64)
    for k, b in enumerate(sel):
        s = starts[k]
        addr[s:s + take[k]] = vals[b]
        row[s:s + take[k]] = rws[b] + k * P
    return addr, row


def row_counts(blocks, sel, pre, flip, skew, P):
    """Valid requests per demand row, all folds: shape [folds * P]."""
    per_block = np.stack([(_demand_of_block(blocks[b], pre, flip, skew, P) != -1).sum(axis=1)
                          for b in range(len(blocks))])
    return per_block[sel].reshape(-1)


# --------------------------------------------------------------------------------------
# Memory model
# --------------------------------------------------------------------------------------
class CountsProfile:
    """Words per demand row as an array, seen through the profile interface
    :func:`write_buffer` walks (``nrows``, ``count(i)``, ``cum(i)``, ``find(target)``);
    :mod:`npulab.systolic.scalesim_folds` gives the same interface in closed form."""

    def __init__(self, counts):
        self.counts = np.asarray(counts, dtype=np.int64)
        self.nrows = len(self.counts)
        self._cc = np.concatenate([[0], np.cumsum(self.counts)])   # words before row i

    def count(self, i: int) -> int:
        """Words requested in demand row ``i``."""
        return int(self.counts[i])

    def cum(self, i: int) -> int:
        """Words in rows ``< i``."""
        return int(self._cc[min(i, self.nrows)])

    def find(self, target: int) -> int:
        """Smallest row ``i`` in ``[0, nrows]`` with ``cum(i) >= target`` (``nrows + 1``
        if none)."""
        return int(np.searchsorted(self._cc, target, side="left"))


def write_buffer(profile, total_words, bw):
    """Ofmap double buffer over a demand-row profile (``profile.count(i)`` words written in
    row ``i``; :class:`CountsProfile` or a closed-form profile).

    Returns ``(stall events [(row, cycles)], total stalls, DRAM writes, first and last DRAM
    write cycle)``.  Rows without an event are skipped in one step.
    """
    active = math.ceil(total_words * 0.5)
    half = total_words - active
    lines_per_drain = math.ceil(half / bw)
    st = {"free": total_words, "open": 0, "lines": 0, "start_line": 0, "writes": 0,
          "first": None, "last": None}
    partial = {}                                       # closed short line -> its words

    def store(n):
        st["free"] -= n
        st["open"] += n
        full = st["open"] // bw
        st["lines"] += full
        st["open"] -= full * bw

    def close_line():
        if st["open"]:
            partial[st["lines"]] = st["open"]
            st["lines"] += 1
            st["open"] = 0

    def drain(start):
        end_line = min(st["start_line"] + lines_per_drain, st["lines"])
        n = end_line - st["start_line"]
        if n <= 0:
            return start
        words = n * bw - (bw - partial.get(end_line - 1, bw))
        st["writes"] += words
        st["free"] += words
        st["start_line"] = end_line
        st["first"] = start if st["first"] is None else min(st["first"], start)
        st["last"] = start + n - 1 if st["last"] is None else max(st["last"], start + n - 1)
        return start + n - 1

    def row_detail(i, stall, drain_end):
        """Word-by-word rules of one row (where a drain starts or the array stalls)."""
        cur, off, rem = i + stall, 0, profile.count(i)
        while rem:
            if cur < drain_end:
                n = min(rem, max(st["free"], 1))
                store(n)
                rem -= n
                if st["free"] <= 0:                    # buffer full: wait for the drain
                    off += drain_end - cur
                    cur = drain_end
            else:
                n = min(rem, max(st["free"] - active + 1, 1))
                store(n)
                rem -= n
                if st["free"] < active:                # more than half full: drain
                    close_line()
                    drain_end = drain(cur)
        return off, drain_end

    nrows, events = profile.nrows, []
    stall, drain_end, i = 0, 0, 0
    while i < nrows:
        # rows i..j-1 hold no event: skip them in one step (words just accumulate)
        if i + stall < drain_end:
            j1 = min(nrows, drain_end - stall)           # first row starting after the drain
            need = max(st["free"], 1)                    # words until the buffer is full
        else:
            j1 = nrows
            need = max(st["free"] - active + 1, 1)       # words until a drain starts
        ci = profile.cum(i)
        j = min(j1, profile.find(ci + need) - 1)
        if j > i:
            store(profile.cum(j) - ci)
            i = j
            continue
        off, drain_end = row_detail(i, stall, drain_end)   # the event happens in row i
        if off:
            events.append((i, off))
        stall += off
        i += 1
    close_line()
    cycle = nrows - 1 + stall
    while st["start_line"] < st["lines"]:
        cycle = drain(cycle) + 1
    return events, stall, st["writes"], st["first"], st["last"]


def row_cycles(events, nrows: int) -> np.ndarray:
    """Cycle each demand row is done, from the stall events of :func:`write_buffer`."""
    own = np.zeros(nrows, dtype=np.int64)                # stall added by row i
    for row, off in events:
        own[row] = off
    return np.arange(nrows) + np.cumsum(own)


def read_buffer(stream, row_of, row_cycle, total_words, bw=10):
    """Ifmap/filter buffer in CALC mode: DRAM reads and DRAM start/stop cycles."""
    per_set = total_words // 100
    cap = 50 * per_set
    n = len(stream)
    order = np.argsort(stream, kind="stable")
    srt = stream[order]
    prev = np.full(n, -1, dtype=np.int64)
    same = srt[1:] == srt[:-1]
    prev[order[1:][same]] = order[:-1][same]
    fills, s, new_total = [], 0, 0
    while s < n:
        w = 2 * cap
        while True:
            e = min(n, s + w)
            cs = np.cumsum(prev[s:e] < s)
            if cs[-1] >= cap:
                p = s + int(np.searchsorted(cs, cap))
                fills.append(p)
                new_total += cap
                s = p + 1
                break
            if e == n:
                new_total += int(cs[-1])
                s = n
                break
            w *= 4
    first_cycle = int(row_cycle[row_of[0]])
    if not fills:
        return read_buffer_single(new_total, total_words, bw)
    end0 = first_cycle - 2
    start0 = end0 - math.ceil(cap / bw) + 1
    return new_total, start0 + 1, int(row_cycle[row_of[fills[-1]]]) + 1


def block_refills(blocks, cap: int):
    """Walk a stream made of fold blocks, each ``(block id, length)``, through a read buffer
    of ``cap`` words that refills when full; the blocks are pairwise disjoint and
    repeat-free (every GEMM).  O(folds + refills) instead of O(requests).

    A request is new iff its previous occurrence (same place in the previous visit of
    the same block) is before the refill point ``s``; so the new requests of a fold are a
    prefix of it (or all of it), and a refill inside a fold makes the rest of it new.

    Returns ``(new words, (fold, local index) of the last refill or None)``.
    """
    last_visit: dict[object, int] = {}   # block id -> g at its last visit
    g, s, count, total, last_fill = 0, 0, 0, 0, None
    for k, (b, L) in enumerate(blocks):
        x = 0                                  # next local position to look at
        while x < L:
            if s > g or b not in last_visit:   # refill inside this fold, or first visit
                e = L
            else:
                e = min(L, max(0, s - last_visit[b]))
            n_new = max(0, e - x)
            if count + n_new >= cap and n_new > 0:
                p = x + (cap - count) - 1      # local index of the request that fills
                last_fill = (k, p)
                total += cap
                count = 0
                s = g + p + 1
                x = p + 1
                continue
            count += n_new
            x = L
        last_visit[b] = g
        g += L
    return total + count, last_fill


def read_buffer_blocks(layout, row_cycle, total_words, bw=10):
    """:func:`read_buffer` for streams made of fold blocks (:func:`block_refills`)."""
    blocks, sel, pre, flip, skew, P = layout
    rows_in = []
    for b in range(len(blocks)):
        D = _demand_of_block(blocks[b], pre, flip, skew, P)
        rows_in.append(np.nonzero(D != -1)[0])
    cap = 50 * (total_words // 100)
    total, last_fill = block_refills(((b, len(rows_in[b])) for b in sel), cap)
    first_row = int(rows_in[sel[0]][0])
    if last_fill is None:
        return read_buffer_single(total, total_words, bw)
    k, p = last_fill
    start0 = (int(row_cycle[first_row]) - 2) - math.ceil(cap / bw) + 1
    return total, start0 + 1, int(row_cycle[k * P + int(rows_in[sel[k]][p])]) + 1


def read_buffer_single(distinct, total_words, bw=10):
    """No refill: all ``distinct`` words are prefetched at ``bw`` words/cycle, ending at -1."""
    per_set = total_words // 100
    sets = -(-distinct // per_set)
    return distinct, -math.ceil(sets * per_set / bw), -1


# --------------------------------------------------------------------------------------
# CALC bandwidth mode (the fast path) and the summary both modes share
# --------------------------------------------------------------------------------------
#: Default bound on the array elements one layer may need (``npulab scalesim --max-elements``).
MAX_ELEMENTS = 50_000_000


def work_elements(layer, config: ScaleSimConfig) -> int:
    """Array elements (int64) :func:`simulate_layer` allocates for ``layer``, estimated
    before anything is built: O(folds) for the fold-level path, the operand and demand
    matrices where the reference model is needed (USER mode, non-OS conv ifmaps that the
    closed form does not cover)."""
    H, Wd, Fh, Fw, C, N, S, E, Fo = conv_params(layer)
    P, W, R, Cc = E * Fo, Fh * Fw * C, config.rows, config.cols
    df = config.dataflow
    Sr, Sc, T = {"os": (P, N, W), "ws": (W, N, P), "is": (W, P, N)}[df]
    folds = -(-Sr // R) * -(-Sc // Cc)
    per_fold = (R + Cc + T - 2) if df == "os" else (2 * R + Cc + T - 2)
    est = 16 * folds + 4 * P * Fh * Fw
    reference = config.bandwidth_mode == "USER" or (
        df != "os" and (Fh > S or Fw > S or (E - 1) * S + Fh > H or (Fo - 1) * S + Fw > Wd))
    if reference:
        est += 4 * P * W + 2 * W * N + 2 * P * N + 3 * folds * per_fold * max(R, Cc)
    return est


def check_size(layer, config: ScaleSimConfig, max_elements: int = MAX_ELEMENTS) -> None:
    """Raise a one-line ``ValueError`` when ``layer`` needs more than ``max_elements``."""
    H, Wd, Fh, Fw, C, N, S, E, Fo = conv_params(layer)
    if config.dataflow == "os" and config.rows == config.cols == E * Fo == N == Fh * Fw * C == 1:
        raise ValueError(f"layer {layer.name or layer!r}: a 1x1x1 product on a 1x1 OS array takes 0 cycles "
                         f"in SCALE-Sim's count, so its utilisation and bandwidths are undefined")
    need = work_elements(layer, config)
    if need > max_elements:
        raise ValueError(f"layer {layer.name or layer!r} on a {config.rows}x{config.cols} "
                         f"{config.dataflow.upper()} array needs ~{need:.3g} array elements, over the "
                         f"limit of {max_elements:.3g} (npulab scalesim --max-elements raises it)")


def simulate_layer_reference(layer, config: ScaleSimConfig) -> dict:
    """:func:`simulate_layer` by the address-set model: operand matrices, every fold's
    demand rows, the buffers played request by request (CALC; USER as in
    :func:`simulate_layer`).  The readable definition the fold-level path is tested against.
    """
    if config.bandwidth_mode == "USER":
        return simulate_user(layer, config)
    R, C, df = config.rows, config.cols, config.dataflow
    ifmap, filt, ofmap = operand_matrices(layer)
    P, W = ifmap.shape
    N = filt.shape[1]
    lay_i, lay_f, lay_o = fold_layout(ifmap, filt, ofmap, R, C, df)
    wcount = row_counts(*lay_o)
    rows = len(wcount)
    events, stall, ofw, of_start, of_stop = write_buffer(CountsProfile(wcount),
                                                         config.ofmap_sram_kb * 1024, C)
    out_cycles = row_cycles(events, len(wcount))
    # stall accumulated before row i = (out cycle of row i-1) - (i-1), 0 for row 0
    sb = np.concatenate([[0], out_cycles[:-1] - np.arange(rows - 1)])
    row_cycle = np.arange(rows) + sb
    res = {}
    for name, lay, mat, kb in (("ifmap", lay_i, ifmap, config.ifmap_sram_kb),
                               ("filter", lay_f, filt, config.filter_sram_kb)):
        counts = row_counts(*lay)
        valid_rows = np.flatnonzero(counts)
        first, last = int(valid_rows[0]), int(valid_rows[-1])
        res[f"{name}_sram_start"] = int(row_cycle[first]) + 1
        res[f"{name}_sram_stop"] = int(row_cycle[last]) + 1
        words = kb * 1024
        seen = np.zeros(int(mat.max()) + 1, dtype=bool)
        seen[mat[mat != -1]] = True
        distinct = int(seen.sum())
        blocks_total = sum(int((blk != -1).sum()) for blk in lay[0])
        if distinct < 50 * (words // 100):     # never refills: one prefetch before the start
            reads, start, stop = read_buffer_single(distinct, words)
        elif blocks_total == distinct:         # fold blocks disjoint, no repeats inside one
            reads, start, stop = read_buffer_blocks(lay, row_cycle, words)
        else:
            stream, row_of = request_stream(*lay)
            reads, start, stop = read_buffer(stream, row_of, row_cycle, words)
        res[f"{name}_dram_reads"], res[f"{name}_dram_start"], res[f"{name}_dram_stop"] = reads, start, stop
    ofrows = np.flatnonzero(wcount)
    res["ofmap_sram_start"], res["ofmap_sram_stop"] = int(out_cycles[ofrows[0]]), int(out_cycles[ofrows[-1]])
    res["ofmap_dram_start"], res["ofmap_dram_stop"], res["ofmap_dram_writes"] = of_start, of_stop, ofw
    return finish_report(res, P, N, W, R, C, df, total=int(out_cycles[-1]), stall=stall)


def finish_report(res, P, N, W, R, C, df, total, stall):
    """Complete ``res`` (the buffers' start/stop cycles and DRAM counts, either mode) with
    what both bandwidth modes derive the same way: SRAM accesses and utilisation (closed
    form, SCALE-Sim conventions), cycle totals, average bandwidths.

    ``P x W`` ifmap operand matrix, ``N`` filters, ``R x C`` array; ``total`` = cycle of
    the last demand row, ``stall`` = the array's stall cycles.  Returns ``res``.
    """
    sram = sram_accesses(P, N, W, R, C, df, scalesim_compat=True)
    util = utilization(P, N, W, R, C, df, scalesim_compat=True)
    res.update(ifmap_sram_reads=sram["ifmap_sram_reads"], filter_sram_reads=sram["filter_sram_reads"],
               ofmap_sram_writes=sram["ofmap_sram_writes"], compute_cycles=total, stall_cycles=int(stall))
    res["total_cycles"] = int(res["ofmap_dram_stop"] - min(res["ifmap_dram_start"], res["filter_dram_start"]))
    res["overall_util_pct"] = P * N * W * 100 / (total * R * C)
    res["mapping_eff_pct"] = util["mapping_efficiency"] * 100
    res["compute_util_pct_full"] = util["compute_utilization"] * 100
    res["compute_util_pct"] = round(res["compute_util_pct_full"], 2)
    for name, key in (("ifmap", "ifmap_sram_reads"), ("filter", "filter_sram_reads"), ("ofmap", "ofmap_sram_writes")):
        res[f"avg_{name}_sram_bw"] = res[key] / total
    for name, key in (("ifmap", "ifmap_dram_reads"), ("filter", "filter_dram_reads"), ("ofmap", "ofmap_dram_writes")):
        res[f"avg_{name}_dram_bw"] = res[key] / (res[f"{name}_dram_stop"] - res[f"{name}_dram_start"] + 1)
    return res


# --------------------------------------------------------------------------------------
# USER bandwidth mode: fixed DRAM bandwidths, prefetch in the order of a prefetch matrix
# --------------------------------------------------------------------------------------
def _diagonal_order(mat):
    """Flatten ``mat`` along anti-diagonals ``r + c = d`` (d ascending, r descending)."""
    r, c = np.indices(mat.shape)
    order = np.lexsort((-r.ravel(), (r + c).ravel()))
    return mat.ravel()[order]


def _prefetch_orders(ifmap, filt, R, C, df):
    """The order in which SCALE-Sim fetches ifmap and filter words from DRAM (USER mode)."""
    P, W = ifmap.shape
    N = filt.shape[1]
    if df == "os":
        ipf = np.vstack([_pad(ifmap[k:k + R].T, W, R) for k in range(0, P, R)])
        fpf = np.vstack([_pad(filt[:, k:k + C], W, C) for k in range(0, N, C)])
        return _diagonal_order(ipf), _diagonal_order(fpf)
    if df == "ws":
        ipf = np.vstack([_pad(ifmap[:, k:k + R], P, R) for k in range(0, W, R)])
        fpf = np.vstack([_pad(filt[:, k:k + C], W, C) for k in range(0, N, C)])
        return _diagonal_order(ipf), fpf.ravel()
    ipf = np.vstack([_pad(ifmap.T[:, k:k + C], W, C) for k in range(0, P, C)])
    fpf = np.vstack([_pad(filt[k:k + R].T, N, R) for k in range(0, W, R)])
    return ipf.ravel(), _diagonal_order(fpf)


class _UserReadBuffer:
    """A double-buffered read SRAM fed at ``bw`` words/cycle in prefetch order (USER mode).

    The prefetch order is cut into *lines* of ``ceil(words / 100)`` requests; half the
    lines' worth of SRAM is the active buffer.  A request that misses the active lines
    slides the window by one prefetch buffer and fetches ``ceil(half / bw)`` more DRAM rows;
    the array waits for it (SCALE-Sim adds a positive wait twice and a negative one once).
    """

    def __init__(self, order, total_words, bw):
        self.bw = bw
        self.active_size = math.ceil(total_words * 0.5)
        self.prefetch_size = total_words - self.active_size
        per_line = math.ceil(total_words / 100)
        valid = order[order != -1]
        self.fetch_rows = math.ceil(len(order) / bw)
        self.num_lines = len(valid) // per_line + 1
        self.lines_of = {}
        for k, a in enumerate(valid.tolist()):
            self.lines_of.setdefault(a, []).append(k // per_line)
        self.n_active = min(math.ceil(self.active_size / per_line), self.num_lines)
        self.n_prefetch = min(math.ceil(self.prefetch_size / per_line), self.num_lines - self.n_active)
        self.started = False
        self.accesses = 0

    def _hit(self, addr):
        s, e = self.window
        for line in self.lines_of[addr]:
            if (s <= line < e) if s < e else (line >= s or line < e):
                return True
        return False

    def _start(self, cycle):
        n = min(math.ceil(self.active_size / self.bw), self.fetch_rows)
        self.accesses += n * self.bw
        self.dram_first = cycle - n
        self.last = cycle - 1
        self.window = (0, self.n_active)
        self.started = True

    def _prefetch(self):
        s = (self.window[0] + self.n_prefetch) % self.num_lines
        self.window = (s, (s + self.n_active) % self.num_lines)
        n = math.ceil(self.prefetch_size / self.bw)
        self.accesses += n * self.bw
        self.last = self.last + n + 1

    def row(self, cycle, addrs):
        """Serve one demand row; returns the cycle its data is ready (hit latency 1)."""
        if not self.started:
            self._start(cycle)
        offset = 1
        for a in addrs:
            while not self._hit(a):
                self._prefetch()
                wait = self.last - (cycle + offset)
                offset += wait
                if wait > 0:
                    offset += wait
        return cycle + offset


class _RowWriteBuffer:
    """The ofmap buffer of :func:`write_buffer`, served one demand row at a time."""

    def __init__(self, total_words, bw):
        self.bw, self.total = bw, total_words
        self.active = math.ceil(total_words * 0.5)
        self.per_drain = math.ceil((total_words - self.active) / bw)
        self.free, self.open, self.lines, self.start_line = total_words, 0, 0, 0
        self.partial, self.writes, self.first, self.last_cycle = {}, 0, None, None
        self.drain_end = 0

    def _store(self, n):
        self.free -= n
        self.open += n
        full = self.open // self.bw
        self.lines += full
        self.open -= full * self.bw

    def _close(self):
        if self.open:
            self.partial[self.lines] = self.open
            self.lines += 1
            self.open = 0

    def _drain(self, start):
        end = min(self.start_line + self.per_drain, self.lines)
        n = end - self.start_line
        if n <= 0:
            return start
        words = n * self.bw - (self.bw - self.partial.get(end - 1, self.bw))
        self.writes += words
        self.free += words
        self.start_line = end
        self.first = start if self.first is None else min(self.first, start)
        self.last_cycle = start + n - 1 if self.last_cycle is None else max(self.last_cycle, start + n - 1)
        return start + n - 1

    def row(self, cycle, count):
        cur, rem = cycle, int(count)
        while rem:
            if cur < self.drain_end:
                n = min(rem, max(self.free, 1))
                self._store(n)
                rem -= n
                if self.free <= 0:
                    cur = self.drain_end
            else:
                n = min(rem, max(self.free - self.active + 1, 1))
                self._store(n)
                rem -= n
                if self.free < self.active:
                    self._close()
                    self.drain_end = self._drain(cur)
        return cur

    def finish(self, cycle):
        self._close()
        while self.start_line < self.lines:
            cycle = self._drain(cycle) + 1


def simulate_user(layer, config):
    """:func:`simulate_layer` for ``InterfaceBandwidth: USER`` (row by row; small layers)."""
    R, C, df = config.rows, config.cols, config.dataflow
    ifmap, filt, ofmap = operand_matrices(layer)
    P, W = ifmap.shape
    N = filt.shape[1]
    di, dfl, do = demand_matrices(ifmap, filt, ofmap, R, C, df)
    iorder, forder = _prefetch_orders(ifmap, filt, R, C, df)
    ibuf = _UserReadBuffer(iorder, config.ifmap_sram_kb * 1024, config.ifmap_sram_bank_bandwidth)
    fbuf = _UserReadBuffer(forder, config.filter_sram_kb * 1024, config.filter_sram_bank_bandwidth)
    obuf = _RowWriteBuffer(config.ofmap_sram_kb * 1024, config.bandwidth)
    wcount = (do != -1).sum(axis=1)
    rows = do.shape[0]
    i_out, f_out, o_out = (np.empty(rows, np.int64) for _ in range(3))
    stall = 0
    for i in range(rows):
        cyc = i + stall
        i_out[i] = ibuf.row(cyc, di[i][di[i] != -1].tolist())
        f_out[i] = fbuf.row(cyc, dfl[i][dfl[i] != -1].tolist())
        o_out[i] = obuf.row(cyc, wcount[i])
        stall += int(max(i_out[i] - cyc - 1, f_out[i] - cyc - 1, o_out[i] - cyc))
    obuf.finish(int(o_out[-1]))
    res = {}
    for name, D, out, buf in (("ifmap", di, i_out, ibuf), ("filter", dfl, f_out, fbuf)):
        vr = np.flatnonzero((D != -1).any(axis=1))
        res[f"{name}_sram_start"], res[f"{name}_sram_stop"] = int(out[vr[0]]), int(out[vr[-1]])
        res[f"{name}_dram_reads"] = buf.accesses
        res[f"{name}_dram_start"], res[f"{name}_dram_stop"] = buf.dram_first, buf.last
    vr = np.flatnonzero(wcount)
    res["ofmap_sram_start"], res["ofmap_sram_stop"] = int(o_out[vr[0]]), int(o_out[vr[-1]])
    res["ofmap_dram_start"], res["ofmap_dram_stop"] = obuf.first, obuf.last_cycle
    res["ofmap_dram_writes"] = obuf.writes
    return finish_report(res, P, N, W, R, C, df, total=int(o_out.max()), stall=stall)
