"""Lowering of random GEMMs and convs, the simulator's MATMUL and timing, deadlock detection."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from npulab.compiler import compile_model
from npulab.compiler.isa import Instr
from npulab.compiler.lower import gemm_tiles
from npulab.compiler.machine import machine_for
from npulab.compiler.sim import (
    DeadlockError,
    _token_moves,
    instruction_cycles,
    matmul_tile,
    simulate,
)
from npulab.hw import ArrayConfig, MemoryConfig, SystolicConfig
from npulab.systolic import compute_cycles, emulate


def tiny(rows=4, cols=4, dataflow="ws", kb=1):
    """A small NPU (1 KiB buffers) so that every layer needs many tiles."""
    return SystolicConfig(ArrayConfig(rows, cols, dataflow), MemoryConfig(kb, kb, kb, 4e9))


def _x(shape, seed):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def _tokens_balance(prog):
    counts = np.zeros(4, int)
    for ins in prog:
        q = {"load": 0, "compute": 1, "store": 2}[ins.queue]
        pops, pushes = _token_moves(q, ins.deps)
        for t in pops:
            counts[t] -= 1
        for t in pushes:
            counts[t] += 1
    return counts


@settings(max_examples=12)
@given(
    M=st.integers(1, 40),
    K=st.integers(1, 70),
    N=st.integers(1, 20),
    df=st.sampled_from(["ws", "os"]),
    relu=st.booleans(),
    seed=st.integers(0, 99),
)
def test_random_linear_layers_run_bit_exact_on_a_tiny_npu(M, K, N, df, relu, seed):
    layers = [torch.nn.Linear(K, N)] + ([torch.nn.ReLU()] if relu else [])
    torch.manual_seed(seed)
    model = torch.nn.Sequential(*layers)
    x = _x((M, K), seed)
    prog = compile_model(model, (x,), hw=tiny(dataflow=df), batch=M)
    assert torch.equal(prog.run(x), prog.reference(x))
    assert (_tokens_balance(prog.instructions) == 0).all()  # every token pushed is popped
    st_ = prog.stats
    assert st_["macs"] == M * N * K
    layer = st_["layers"][0]
    assert layer["compute_cycles"] == layer["systolic_tile_cycles"]


@settings(max_examples=25)
@given(
    M=st.integers(1, 5000),
    N=st.integers(1, 600),
    K=st.integers(1, 5000),
    rows=st.integers(2, 64),
    cols=st.integers(2, 64),
    df=st.sampled_from(["ws", "os"]),
    kb=st.integers(1, 64),
)
def test_tiles_fit_the_array_scratchpad_and_accumulator(M, N, K, rows, cols, df, kb):
    try:
        mach = machine_for(tiny(rows, cols, df, kb))
        t = gemm_tiles(M, N, K, mach)
    except ValueError as err:
        assert "too small" in str(err) or "cannot hold a tile" in str(err)
        return
    assert 1 <= t["TN"] <= min(N, cols) and 1 <= t["TM"] <= M and 1 <= t["TK"] <= K
    assert t["TK"] <= (rows if df == "ws" else mach.width)
    if df == "os":
        assert t["TM"] <= rows
    assert t["TM"] + 2 <= mach.acc_rows
    assert t["spad_rows_used"] <= mach.spad_rows


@settings(max_examples=20)
@given(
    m=st.integers(1, 9),
    k=st.integers(1, 9),
    n=st.integers(1, 9),
    df=st.sampled_from(["ws", "os"]),
    seed=st.integers(0, 2**16),
)
def test_matmul_tile_equals_the_value_moving_emulator(m, k, n, df, seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(-128, 128, (m, k))
    b = rng.integers(-128, 128, (k, n))
    em = emulate(a, b, rows=4, cols=4, dataflow=df)
    assert np.array_equal(matmul_tile(a, b), em.output)
    mach = machine_for(tiny(4, 4, df))
    assert instruction_cycles(Instr("MATMUL", (0, 0, 0, m, k, n, 1, df == "os")), mach) == em.cycles


def test_a_missing_token_is_reported_as_a_deadlock_naming_queue_and_instruction():
    model = torch.nn.Sequential(torch.nn.Linear(8, 4))
    x = _x((6, 8), 0)
    prog = compile_model(model, (x,), hw=tiny(), batch=6)
    low = prog.lowered()
    broken = [
        Instr(i.op, i.args, i.deps & ~8) if i.op == "LOAD" and i.args[0] == 0 else i
        for i in low.program
    ]  # loads never tell compute that data arrived
    with pytest.raises(
        DeadlockError,
        match=r"deadlock: compute queue waits at instruction \d+ "
        r"\(MATMUL .*\) for a l2c token \(load queue done",
    ):
        simulate(broken, prog.machine, low.dram_init)


def test_double_buffering_overlaps_loads_with_compute():
    model = torch.nn.Sequential(torch.nn.Linear(64, 64))
    x = _x((64, 64), 1)
    prog = compile_model(model, (x,), hw=tiny(dataflow="os"), batch=64)
    low = prog.lowered()
    res = simulate(low.program, prog.machine, low.dram_init, functional=False)
    loads = res.queue == 0
    comp = np.array([i.op == "MATMUL" for i in low.program])
    # some load runs while a MATMUL runs: the intervals intersect
    overlap = any(
        (res.start[loads] < e).any()
        and (res.end[loads] > s).any()
        and ((res.start[loads] < e) & (res.end[loads] > s)).any()
        for s, e in zip(res.start[comp], res.end[comp], strict=False)
    )
    assert overlap
    serial = int((res.end - res.start).sum())
    assert res.cycles < serial


def test_compute_cycles_agree_with_the_systolic_estimate_for_the_same_tiles():
    from npulab.compiler.models import bundled

    model, (x,) = bundled("digits-cnn")
    prog = compile_model(model, (x[:8],), hw="edge-npu-int8")
    for layer in prog.stats["layers"]:
        assert layer["compute_cycles"] == layer["systolic_tile_cycles"] > 0
        assert layer["span_cycles"] >= layer["compute_cycles"]
        assert layer["overhead_cycles"] == (
            layer["span_cycles"] - layer["compute_cycles"] - layer["alu_cycles"]
        )
    m, n, k = 16, 16, 9
    assert compute_cycles(m, n, k, 16, 32, "os") == instruction_cycles(
        Instr("MATMUL", (0, 0, 0, m, k, n, 1, 1)), prog.machine
    )


def test_trace_plot_is_written(tmp_path):
    model = torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.ReLU())
    prog = compile_model(model, (_x((4, 8), 2),), hw=tiny())
    out = tmp_path / "out" / "trace.png"
    ax = prog.trace(out)
    assert out.stat().st_size > 1000
    assert [t.get_text() for t in ax.get_yticklabels()] == ["load", "compute", "store"]


@settings(max_examples=10)
@given(
    C=st.integers(1, 6),
    mult=st.integers(1, 3),
    H=st.integers(3, 9),
    W=st.integers(3, 9),
    R=st.integers(1, 3),
    S=st.integers(1, 3),
    stride=st.integers(1, 3),
    pad=st.integers(0, 2),
    depthwise=st.booleans(),
    residual=st.booleans(),
    df=st.sampled_from(["ws", "os"]),
    seed=st.integers(0, 99),
)
def test_random_conv_blocks_run_bit_exact_on_a_tiny_npu(
    C, mult, H, W, R, S, stride, pad, depthwise, residual, df, seed
):
    G = C if depthwise else 1
    K = C * mult if depthwise else mult + 1
    pad = min(pad, R // 2, S // 2) if (R, S) != (1, 1) else 0

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(C, K, (R, S), stride=stride, padding=pad, groups=G)
            self.proj = torch.nn.Conv2d(K, K, 1)

        def forward(self, x):
            y = torch.relu(self.conv(x))
            return y + self.proj(y) if residual else self.proj(y)

    torch.manual_seed(seed)
    x = _x((2, C, H + R, W + S), seed)
    prog = compile_model(Block().eval(), (x,), hw=tiny(dataflow=df), batch=2)
    assert torch.equal(prog.run(x), prog.reference(x))


def test_without_buffer_free_tokens_loads_overwrite_live_tiles():
    """Drop the c2l pops: the load queue races ahead and the values come out wrong."""
    model = torch.nn.Sequential(torch.nn.Linear(64, 16))
    x = _x((40, 64), 4)
    prog = compile_model(model, (x,), hw=tiny(), batch=40)
    low = prog.lowered()
    dram = low.dram_init.copy()
    inp = low.buffers[prog.qgraph.input_name]
    dram[inp.addr : inp.addr + x.numel()] = prog.qgraph.quantize_input(x.numpy()).reshape(-1)
    good = simulate(low.program, prog.machine, dram)
    racy = [Instr(i.op, i.args, i.deps & ~2) if i.queue == "load" else i for i in low.program]
    bad = simulate(racy, prog.machine, dram)
    out = low.buffers[low.output_value]
    sl = slice(out.addr, out.addr + out.rows * out.cols)
    assert np.array_equal(
        good.dram[sl], prog.run_int(prog.qgraph.quantize_input(x.numpy())).ravel()
    )
    assert not np.array_equal(good.dram[sl], bad.dram[sl])


def test_a_matmul_larger_than_the_array_is_refused():
    mach = machine_for(tiny(4, 4, "ws"))
    prog = [Instr("MATMUL", (0, 0, 0, 2, 5, 4, 1, 0))]  # ws: k = 5 > 4 array rows
    with pytest.raises(ValueError, match=r"instruction 0 \(MATMUL .*\) does not fit the 4x4 array"):
        simulate(prog, mach, np.zeros(1, np.int32))
    ok = [Instr("MATMUL", (0, 0, 0, 4, 4, 4, 1, 1))]  # os: m = 4 <= 4 rows
    assert simulate(ok, mach, np.zeros(1, np.int32)).cycles == compute_cycles(4, 4, 4, 4, 4, "os")


@pytest.mark.parametrize("M, K, N, order", [(8, 40, 64, "mn"), (300, 8, 4, "nm"),
                                            (200, 300, 8, "stream")])
def test_the_loop_order_with_fewest_dram_bytes_is_chosen_and_measured(M, K, N, order):
    model = torch.nn.Sequential(torch.nn.Linear(K, N))
    x = _x((M, K), 7)
    prog = compile_model(model, (x,), hw=tiny(), batch=M)
    assert torch.equal(prog.run(x), prog.reference(x))
    low = prog.lowered()
    info = low.layers[0]
    assert info["order"] == order
    # the closed forms of the three plans (gemm_tiles' docstring), for the tiles chosen
    tm = info["TM"]
    n_tiles, m_tiles = -(-N // info["TN"]), -(-M // tm)
    closed = {"nm": M * K * n_tiles + K * N, "mn": M * K + K * N * m_tiles,
              "stream": M * K * n_tiles + K * N * m_tiles}
    assert info["dram_bytes"] == closed[order]
    # what the simulator's loads into the scratchpad moved equals the plan's DRAM bytes
    spad_loads = sum(i.field("rows") * i.field("cols") for i in low.program
                     if i.op == "LOAD" and i.field("mem") == 0)
    assert spad_loads == info["dram_bytes"]


def test_the_lowering_table_equals_decoding_the_instructions():
    from npulab.compiler.models import bundled
    from npulab.compiler.sim import decode_table

    model, (x,) = bundled("digits-cnn")
    low = compile_model(model, (x[:4],), hw="edge-npu-int8").lowered()
    for got, want in zip(low.table, decode_table(low.program), strict=True):
        assert np.array_equal(got, want)


@pytest.mark.parametrize("name, hw", [("digits-cnn", "edge-npu-int8"),
                                      ("digits-mlp", "tpuv1-like")])
def test_timing_only_and_functional_runs_give_the_same_times(name, hw):
    from npulab.compiler.models import bundled

    model, (x,) = bundled(name)
    prog = compile_model(model, (x[:3],), hw=hw, batch=3)
    low = prog.lowered()
    fast = simulate(low.program, prog.machine, low.dram_init, functional=False)
    full = simulate(low.program, prog.machine, low.dram_init, functional=True)
    assert np.array_equal(fast.start, full.start) and np.array_equal(fast.end, full.end)
    # stores listed first (each queue keeps its order): the program-order pass cannot run, the
    # queue-by-queue scheduler takes over and gives every instruction the same times
    order = sorted(range(len(low.program)), key=lambda i: (low.program[i].queue != "store", i))
    moved = simulate([low.program[i] for i in order], prog.machine, low.dram_init,
                     functional=False)
    assert np.array_equal(moved.end, fast.end[order])
