"""The integer core against its peers (issue 27): snnTorch's resets, NeuroBench's SOPs.

* ``reset="subtract"`` equals snnTorch 1.0.0 ``Leaky(reset_mechanism="subtract",
  reset_delay=False)`` spike for spike and membrane for membrane (no leak, integer currents),
  including membranes that stay above threshold after a reset; ``"zero"`` equals
  ``reset_mechanism="zero"``.  ``"subtract_instant"`` is conversion's reset (fires again).
* SOPs: NeuroBench 2.3.0's effective ACs and dense synaptic operations per sample, from a
  recording (``tests/fixtures/reference/neurobench_sops.*``), and ``estimate`` on a padded
  convolution equal to what the core counts on the unrolled layer.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import snntorch as snnt
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from npulab.hw import CoreConfig, SnnConfig
from npulab.snn import IntLayer, estimate, run_core
from npulab.workloads import Conv2d, Gemm


def _snntorch(reset, thr, current):
    """snnTorch Leaky (beta=1, reset_delay=False) on currents [T, n]: spikes, membranes."""
    lif = snnt.Leaky(beta=1.0, threshold=float(thr), reset_mechanism=reset, reset_delay=False)
    mem = lif.init_leaky()
    spk_rec, mem_rec = [], []
    with torch.no_grad():
        for t in range(current.shape[0]):
            spk, mem = lif(torch.tensor(current[t], dtype=torch.float32), mem)
            spk_rec.append(spk.numpy().copy())
            mem_rec.append(mem.numpy().copy())
    return np.array(spk_rec), np.array(mem_rec)


def _one_layer_core(reset, thr, current):
    """The same neurons on the core: one input per step carrying the current as a weight."""
    T, n = current.shape
    # input neuron t spikes at step t only; its weight row is that step's current
    layer = IntLayer(current.astype(np.int64), threshold=int(thr))
    res = run_core([layer], np.eye(T, dtype=np.uint8), CoreConfig(), reset=reset)
    mem = []
    for t in range(1, T + 1):                   # the membrane after each step: rerun T' = t steps
        r = run_core([layer], np.eye(T, dtype=np.uint8)[:t], CoreConfig(), reset=reset)
        mem.append(r.final_membrane[0][0])
    return res.spikes[0][:, 0, :], np.array(mem)


def test_issue_example_subtract_equals_snntorch():
    cur = np.array([[10], [0], [0], [0], [0]])
    spk, _ = _snntorch("subtract", 4, cur)
    assert spk[:, 0].tolist() == [1, 0, 0, 0, 0]
    core_spk, core_mem = _one_layer_core("subtract", 4, cur)
    assert core_spk[:, 0].tolist() == [1, 0, 0, 0, 0]
    assert core_mem[:, 0].tolist() == [6, 6, 6, 6, 6]          # left above threshold, as snnTorch
    inst, _ = _one_layer_core("subtract_instant", 4, cur)
    assert inst[:, 0].tolist() == [1, 1, 0, 0, 0]               # 10 -> 6 -> 2: conversion's reset


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**16), T=st.integers(1, 10), n=st.integers(1, 6), thr=st.integers(0, 12),
       reset=st.sampled_from(["subtract", "zero"]), big=st.booleans())
def test_core_resets_equal_snntorch(seed, T, n, thr, reset, big):
    rng = np.random.default_rng(seed)
    hi = 4 * thr + 8 if big else thr + 3                        # big: membranes stay above threshold
    cur = rng.integers(-thr - 2, hi + 1, (T, n))
    spk, mem = _snntorch(reset, thr, cur)
    core_spk, core_mem = _one_layer_core(reset, thr, cur)
    np.testing.assert_array_equal(core_spk, spk.astype(np.uint8))
    np.testing.assert_array_equal(core_mem, mem.astype(np.int64))


def test_unknown_reset_is_one_line():
    with pytest.raises(ValueError, match="subtract_instant"):
        run_core([IntLayer(np.ones((1, 1), np.int64), 1)], np.ones((1, 1)), reset="loihi")
    with pytest.raises(ValueError, match="count_zero_weights"):
        run_core([IntLayer(np.ones((1, 1), np.int64), 1)], np.ones((1, 1)), count_zero_weights="yes")


def test_sops_equal_neurobench_recording(reference_dir):
    meta = json.loads((reference_dir / "neurobench_sops.json").read_text())
    data = np.load(reference_dir / "neurobench_sops.npz")
    assert len(meta["cases"]) >= 4
    for case in meta["cases"]:
        c = case["id"]
        layers = [IntLayer(data[f"c{c}_w{k}"], threshold=case["thresholds"][k], mask=data[f"c{c}_m{k}"])
                  for k in range(case["layers"])]
        res = run_core(layers, data[f"c{c}_x"], CoreConfig())
        B = res.batch
        np.testing.assert_allclose(res.sops.sum(axis=1) / B, case["effective_acs_per_layer"], rtol=0, atol=1e-9)
        assert res.sops_per_sample == pytest.approx(case["Effective_ACs"], abs=1e-9)
        assert res.dense_sops_per_sample == case["Dense"]
        dense = run_core(layers, data[f"c{c}_x"], CoreConfig(), count_zero_weights=True)
        assert dense.total_sops >= res.total_sops                   # zero weights now count
        assert any((lay.weight == 0).any() for lay in layers)        # so the two definitions differ
    assert dense.total_sops > res.total_sops


@pytest.mark.parametrize("h,w,k,s,p", [(7, 7, 3, 1, 1), (8, 6, 3, 2, 1), (9, 9, 5, 2, 2), (6, 6, 3, 1, 0)])
def test_conv_estimate_equals_counted_sops(h, w, k, s, p):
    from npulab.snn.convert import linear_layers

    conv = torch.nn.Conv2d(2, 3, k, stride=s, padding=p, bias=False)
    with torch.no_grad():
        conv.weight.fill_(1.0)                                       # every synapse nonzero
    ((mat, _, mask),) = linear_layers(torch.nn.Sequential(conv), (2, h, w), with_masks=True)
    layer = IntLayer(np.rint(mat).astype(np.int64), threshold=10**6, mask=mask)
    T = 3
    counted = run_core([layer], np.ones((T, 2 * h * w), np.uint8)).total_sops   # rate 1: every input
    wl = Conv2d(h + 2 * p, w + 2 * p, k, k, 2, 3, stride=s, padding=p)
    rep = estimate(wl, SnnConfig(CoreConfig(), spike_rate=1.0, timesteps=T))
    assert rep.details["sops"] == counted
    assert rep.details["spikes"] == T * 2 * h * w                  # the padded border never spikes
    if p == 0:
        assert wl.connections == wl.macs


def test_gemm_estimate_unchanged_by_padding_rule():
    rep = estimate(Gemm(M=1, N=128, K=64), SnnConfig(spike_rate=0.1, timesteps=8))
    assert rep.details["sops"] == 6554
