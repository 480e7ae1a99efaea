"""The SCALE-Sim memory model's fast paths equal word-by-word versions of the same rules."""
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from npulab.systolic.scalesim import demand_matrices, operand_matrices
from npulab.systolic.scalesim_model import (
    CountsProfile,
    fold_layout,
    read_buffer,
    read_buffer_blocks,
    request_stream,
    row_cycles,
    write_buffer,
)
from npulab.workloads import Conv2d, Gemm


def write_buffer_word_by_word(counts, total, bw):
    """The ofmap buffer rules applied to one word at a time (slow, obviously literal)."""
    active = math.ceil(total * 0.5)
    half = total - active
    per_drain = math.ceil(half / bw)
    free, lines, open_words, start_line = total, [], 0, 0
    writes, cycles = 0, []
    drain_end, stall, out = 0, 0, []

    def drain(c):
        nonlocal start_line, writes, free
        end = min(start_line + per_drain, len(lines))
        n = end - start_line
        words = n * bw - (bw - lines[end - 1])
        writes += words
        free += words
        start_line = end
        cycles.extend(range(c, c + n))
        return c + n - 1

    for i, k in enumerate(counts):
        cur = i + stall
        off = 0
        for _ in range(k):
            free -= 1
            open_words += 1
            if open_words == bw:
                lines.append(bw)
                open_words = 0
            if cur < drain_end:
                if free <= 0:
                    off += drain_end - cur
                    cur = drain_end
            elif free < active:
                if open_words:
                    lines.append(open_words)
                    open_words = 0
                drain_end = drain(cur)
        stall += off
        out.append(cur)
    if open_words:
        lines.append(open_words)
    c = out[-1]
    while start_line < len(lines):
        c = drain(c) + 1
    return np.array(out), stall, writes, min(cycles), max(cycles)


@settings(max_examples=40)
@given(counts=st.lists(st.integers(0, 9), min_size=1, max_size=400),
       total=st.integers(8, 120), bw=st.integers(1, 9))
def test_write_buffer_event_skipping_equals_word_by_word(counts, total, bw):
    counts[-1] = max(counts[-1], 1) if sum(counts) == 0 else counts[-1]
    events, *rest = write_buffer(CountsProfile(counts), total, bw)
    ref = write_buffer_word_by_word(counts, total, bw)
    np.testing.assert_array_equal(row_cycles(events, len(counts)), ref[0])
    assert tuple(rest) == ref[1:]


@settings(max_examples=30)
@given(M=st.integers(1, 50), N=st.integers(1, 50), K=st.integers(1, 50), R=st.integers(1, 8),
       C=st.integers(1, 8), df=st.sampled_from(["os", "ws", "is"]), shift=st.integers(0, 5))
def test_block_read_buffer_equals_request_stream(M, N, K, R, C, df, shift):
    ifmap, filt, ofmap = operand_matrices(Gemm(M, N, K))
    for lay in fold_layout(ifmap, filt, ofmap, R, C, df)[:2]:
        rows = len(lay[1]) * lay[5]
        row_cycle = np.arange(rows) + shift
        addr, row = request_stream(*lay)
        assert read_buffer(addr, row, row_cycle, 1024) == read_buffer_blocks(lay, row_cycle, 1024)


def test_fold_layout_rebuilds_scalesim_demand_shapes():
    ifmap, filt, ofmap = operand_matrices(Conv2d(7, 7, 3, 3, 2, 5, stride=2))
    assert ifmap.shape == (3 * 3, 18) and (ifmap == -1).sum() == 0
    ifmap, filt, ofmap = operand_matrices(Conv2d(8, 8, 3, 3, 2, 5, stride=2))
    assert ifmap.shape == (4 * 4, 18) and (ifmap == -1).sum() > 0   # rounded-up output rows read nothing
    di, dfl, do = demand_matrices(ifmap, filt, ofmap, 4, 4, "ws")
    folds = math.ceil(18 / 4) * math.ceil(5 / 4)
    assert di.shape[0] == dfl.shape[0] == do.shape[0] == folds * (2 * 4 + 4 + 16 - 2)
    assert (do != -1).sum() == 16 * 5 * math.ceil(18 / 4)       # every partial sum is written
