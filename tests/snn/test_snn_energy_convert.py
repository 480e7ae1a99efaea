"""SNN energy Report, encoders, and ANN-to-SNN conversion of the bundled digits MLP."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npulab.datasets import digits_model, load_digits
from npulab.hw import CoreConfig, EnergyTable, SnnConfig
from npulab.snn import (
    IntLayer,
    convert,
    delta,
    estimate,
    latency,
    linear_layers,
    rate,
    report,
    run_core,
)
from npulab.workloads import Conv2d, Gemm


def test_estimate_gemm_counts_and_energy():
    r = estimate(Gemm(M=2, N=100, K=50), SnnConfig(spike_rate=0.2, timesteps=10))
    assert r.engine == "snn"
    assert r.details["sops"] == r.macs == round(0.2 * 2 * 100 * 50 * 10)
    assert r.details["neuron_updates"] == 2 * 100 * 10
    assert r.details["spikes"] == round(0.2 * 2 * 50 * 10)
    e = EnergyTable()
    assert r.energy_breakdown_pJ == {"sop": 20000 * e.sop_pJ, "neuron": 2000 * e.neuron_update_pJ}
    # one core: per step 2000 SOPs + 200 updates at 1 cycle each
    assert r.cycles == 10 * (2000 + 200) and r.latency_s == pytest.approx(22000 / 1e9)


def test_estimate_conv_sops_scale_with_rate_and_split_over_cores():
    conv = Conv2d(16, 16, 3, 3, 8, 32)
    lo, hi = estimate(conv, SnnConfig(spike_rate=0.05)), estimate(conv, SnnConfig(spike_rate=0.10))
    assert hi.details["sops"] == pytest.approx(2 * lo.details["sops"], abs=1)
    assert lo.details["neuron_updates"] == 14 * 14 * 32 * 8
    small = CoreConfig(neurons_per_core=128)
    assert estimate(conv, small).details["cores"] == -(-14 * 14 * 32 // 128)
    assert estimate(conv, small).latency_s < estimate(conv, CoreConfig()).latency_s
    assert estimate(conv, small) == estimate(conv, SnnConfig(small, 0.1, 8))  # a core: default activity


@pytest.mark.parametrize("kwargs, match", [
    (dict(spike_rate=1.5), r"spike_rate must be a number in \[0, 1\]; got 1.5"),
    (dict(timesteps=0), r"timesteps must be an int >= 1; got 0"),
])
def test_estimate_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        estimate(Gemm(4, 4, 4), SnnConfig(**kwargs))
    with pytest.raises(ValueError, match="must be a Gemm or Conv2d; got str"):
        estimate("fc", SnnConfig())


def test_rate_code_statistics_and_determinism():
    x = np.array([0.0, 0.1, 0.5, 1.0], np.float32)
    s = rate(x, 4000, rng=0)
    assert s.shape == (4000, 4) and s.dtype == np.float32
    np.testing.assert_allclose(s.mean(0), x, atol=0.02)
    np.testing.assert_array_equal(s, rate(x, 4000, rng=0))
    with pytest.raises(ValueError, match=r"rate input must be in \[0, 1\]"):
        rate(np.array([1.5]), 3)


@settings(max_examples=30)
@given(x=st.lists(st.floats(0, 1), min_size=1, max_size=10), T=st.integers(2, 20))
def test_latency_code_one_spike_earlier_for_larger_values(x, T):
    x = np.array(x, np.float32)
    s = latency(x, T)
    assert (s.sum(0) == 1).all()
    t = s.argmax(0)
    order = np.argsort(-x, kind="stable")
    assert (np.diff(t[order]) >= 0).all()


def test_delta_code_marks_changes():
    sig = np.array([0.0, 0.5, 0.55, 0.1, 0.1], np.float32)
    assert delta(sig, 0.2).tolist() == [0, 1, 0, -1, 0]
    assert delta(sig, 0.2, off_spike=False).tolist() == [0, 1, 0, 0, 0]


def test_converted_digits_mlp_is_accurate_and_report_counts_events():
    x_train, _, x_test, y_test = load_digits()
    layers = convert(digits_model("mlp"), x_train)
    assert [(lay.n_in, lay.n_out) for lay in layers] == [(64, 128), (128, 10)]
    assert all(np.abs(lay.weight).max() == 127 for lay in layers)
    res = run_core(layers, rate(x_test[:120], 16, rng=0))
    acc = float((res.predict() == y_test[:120]).mean())
    assert acc >= 0.93
    rep = report(res, name="digits", accuracy=acc)
    assert rep.engine == "snn" and rep.inferences == 120 and rep.macs == res.total_sops
    # NeuroBench's count: each input spike x its nonzero weights; the dense count: x 128
    s0 = rate(x_test[:120], 16, rng=0).sum(axis=(0, 1))
    assert rep.details["sops_per_layer"][0] == int(s0 @ np.count_nonzero(layers[0].weight, axis=1))
    dense = run_core(layers, rate(x_test[:120], 16, rng=0), count_zero_weights=True)
    assert dense.sops[0].sum() == res.input_spikes * 128 > rep.details["sops_per_layer"][0]
    assert rep.energy_breakdown_pJ["sop"] == pytest.approx(res.total_sops * 23.6)
    # more timesteps -> more SOPs per inference
    res8 = run_core(layers, rate(x_test[:120], 8, rng=0))
    assert res8.total_sops < res.total_sops


def test_unrolled_conv_matrices_reproduce_the_torch_cnn():
    import torch

    model = digits_model("cnn")
    x = load_digits()[2][:16]
    a = x.astype(np.float64)
    entries = linear_layers(model, with_masks=True)
    for i, (W, b, mask) in enumerate(entries):
        assert not np.any(W[~mask])                      # only existing synapses carry weight
        a = a @ W + b
        if i < len(entries) - 1:
            a = np.maximum(a, 0)
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).double().numpy()
    np.testing.assert_allclose(a, ref, rtol=1e-5, atol=1e-5)
    assert entries[0][2].sum(axis=1).max() == 9 * 16     # a pixel feeds <= 3x3 positions x 16 filters


def test_converted_cnn_counts_only_existing_synapses():
    x_train, _, x_test, y_test = load_digits()
    layers = convert(digits_model("cnn"), x_train)
    assert [lay.name for lay in layers] == ["conv1", "conv2", "fc3"] and layers[0].mask is not None
    spikes = rate(x_test[:60], 12, rng=0)
    res = run_core(layers, spikes)
    assert res.sops[0].sum() == int((spikes.sum(axis=1) @ layers[0].fan_out).sum())
    assert res.sops[0].sum() < spikes.sum() * layers[0].n_out          # fewer than fully connected
    assert float((res.predict() == y_test[:60]).mean()) >= 0.9
    dense = run_core(layers, spikes, engine="dense")
    np.testing.assert_array_equal(dense.sops, res.sops)
    np.testing.assert_array_equal(dense.spikes[1], res.spikes[1])


def test_intlayer_mask_must_cover_nonzero_weights():
    with pytest.raises(ValueError, match="IntLayer.mask must be a bool array"):
        IntLayer(np.array([[1, 2]]), 1, mask=np.array([[True, False]]))
