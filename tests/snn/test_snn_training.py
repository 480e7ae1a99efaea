"""Torch neurons and surrogate gradients against snnTorch; a short deterministic BPTT run."""
from __future__ import annotations

import numpy as np
import pytest
import snntorch as snnt
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from snntorch import surrogate as snn_surrogate

from npulab.datasets import load_digits
from npulab.snn import RESETS, Leaky, Synaptic, modules, rate, surrogate

PAIRS = [
    (surrogate.atan(), snn_surrogate.atan()),
    (surrogate.atan(alpha=3.0), snn_surrogate.atan(alpha=3.0)),
    (surrogate.fast_sigmoid(), snn_surrogate.fast_sigmoid()),
    (surrogate.fast_sigmoid(slope=5.0), snn_surrogate.fast_sigmoid(slope=5.0)),
    (surrogate.straight_through(), snn_surrogate.straight_through_estimator()),
]


@settings(max_examples=25)
@given(seed=st.integers(0, 2**16), which=st.integers(0, len(PAIRS) - 1))
def test_surrogate_gradients_equal_snntorch(seed, which):
    ours, theirs = PAIRS[which]
    x0 = torch.from_numpy(np.random.default_rng(seed).normal(0, 0.5, 20).astype(np.float32))
    g = torch.from_numpy(np.random.default_rng(seed + 1).normal(0, 1, 20).astype(np.float32))
    xa, xb = x0.clone().requires_grad_(), x0.clone().requires_grad_()
    ya, yb = ours(xa), theirs(xb)
    (ya * g).sum().backward()
    (yb * g).sum().backward()
    assert torch.equal(ya, yb)
    assert torch.equal(xa.grad, xb.grad)


@settings(max_examples=20)
@given(beta=st.floats(0.05, 1.0), thr=st.floats(0.2, 1.5), reset=st.sampled_from(RESETS),
       delay=st.booleans(), seed=st.integers(0, 2**16))
def test_torch_leaky_forward_and_bptt_gradient_equal_snntorch(beta, thr, reset, delay, seed):
    cur0 = torch.from_numpy(np.random.default_rng(seed).uniform(-0.5, 1.5, (6, 4)).astype(np.float32))
    ours = modules.Leaky(beta, thr, reset, delay)
    theirs = snnt.Leaky(beta=beta, threshold=thr, reset_mechanism=reset, reset_delay=delay)
    outs = []
    for neuron in (ours, theirs):
        cur = cur0.clone().requires_grad_()
        mem, loss, spks = None, 0.0, []
        for t in range(cur.shape[0]):
            spk, mem = neuron(cur[t], mem) if mem is not None else neuron(cur[t])
            loss = loss + (spk * (t + 1)).sum() + 0.1 * mem.sum()
            spks.append(spk.detach())
        loss.backward()
        outs.append((torch.stack(spks), mem.detach(), cur.grad))
    assert torch.equal(outs[0][0], outs[1][0])
    torch.testing.assert_close(outs[0][1], outs[1][1], rtol=0, atol=1e-6)
    torch.testing.assert_close(outs[0][2], outs[1][2], rtol=1e-5, atol=1e-6)
    # and the numpy reference gives the same spikes
    spk_np, _ = Leaky(beta, thr, reset, delay).run(cur0.numpy())
    np.testing.assert_array_equal(spk_np, outs[0][0].numpy())


def test_torch_synaptic_equals_numpy_reference():
    cur = np.random.default_rng(3).uniform(-0.5, 1.0, (15, 6)).astype(np.float32)
    for reset in RESETS:
        for delay in (True, False):
            n = modules.Synaptic(0.7, 0.8, 0.9, reset, delay)
            syn = mem = None
            rec = []
            with torch.no_grad():
                for x in torch.from_numpy(cur):
                    spk, syn, mem = n(x, syn, mem)
                    rec.append((spk.numpy(), syn.numpy(), mem.numpy()))
            ref = Synaptic(0.7, 0.8, 0.9, reset, delay).run(cur)
            for k in range(3):
                np.testing.assert_array_equal(np.stack([r[k] for r in rec]), ref[k])


def test_short_bptt_run_reaches_90_percent_on_digits():
    torch.manual_seed(0)
    x_train, y_train, x_test, y_test = load_digits()
    model = modules.SpikingMLP((64, 128, 10), beta=0.9)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)                 # small tensors: one thread is fastest and repeatable
    try:
        losses = modules.train_snn(model, x_train, y_train, timesteps=8, epochs=3, rng=0)
    finally:
        torch.set_num_threads(threads)
    assert losses[-1] < losses[0]
    acc = modules.accuracy(model, rate(x_test, 8, rng=1), y_test)
    assert acc >= 0.90


def test_torch_leaky_rejects_bad_beta():
    with pytest.raises(ValueError, match="Leaky.beta must be a number in"):
        modules.Leaky(beta=2.0)


@settings(max_examples=30)
@given(beta=st.floats(0.0, 1.0), thr=st.floats(0.0, 1.5), reset=st.sampled_from(RESETS),
       delay=st.booleans(), seed=st.integers(0, 2**16))
def test_torch_and_numpy_leaky_share_one_recurrence(beta, thr, reset, delay, seed):
    """Issue 13: one LIF step (npulab.snn.neurons.lif_step) under both; spikes and membranes equal."""
    cur = np.random.default_rng(seed).uniform(-0.5, 1.5, (12, 5)).astype(np.float32)
    spk_np, mem_np = Leaky(beta, thr, reset, delay).run(cur)
    lif, mem, spks, mems = modules.Leaky(beta, thr, reset, delay), None, [], []
    with torch.no_grad():
        for x in torch.from_numpy(cur):
            spk, mem = lif(x, mem)
            spks.append(spk.numpy())
            mems.append(mem.numpy())
    np.testing.assert_array_equal(np.stack(spks), spk_np)
    np.testing.assert_array_equal(np.stack(mems), mem_np)


def test_seeded_model_and_training_leave_torch_global_rng_alone():
    state = torch.get_rng_state()
    a = modules.SpikingMLP((8, 6, 3), rng=5)
    b = modules.SpikingMLP((8, 6, 3), rng=5)
    c = modules.SpikingMLP((8, 6, 3), rng=6)
    assert torch.equal(torch.get_rng_state(), state)          # no global RNG draw or reseed
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.fcs[0].weight, c.fcs[0].weight)
    bound = 1 / 8 ** 0.5                                     # nn.Linear's default init ranges
    assert a.fcs[0].weight.abs().max() <= bound and a.fcs[0].bias.abs().max() <= bound
    x = np.random.default_rng(0).random((20, 8), dtype=np.float32)
    y = np.arange(20) % 3
    la = modules.train_snn(a, x, y, timesteps=3, epochs=2, batch_size=8, rng=1)
    lb = modules.train_snn(b, x, y, timesteps=3, epochs=2, batch_size=8, rng=1)
    assert la == lb and torch.equal(torch.get_rng_state(), state)
