"""npulab.snn.Leaky / Synaptic against snnTorch 1.0: recorded fixtures and live hypothesis runs."""
from __future__ import annotations

import json

import numpy as np
import pytest
import snntorch as snnt
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from npulab.snn import RESETS, Leaky, Synaptic


def _snntorch_leaky(beta, thr, reset, delay, cur):
    lif = snnt.Leaky(beta=beta, threshold=thr, reset_mechanism=reset, reset_delay=delay)
    mem = lif.init_leaky()
    spk_rec, mem_rec = [], []
    with torch.no_grad():
        for x in torch.from_numpy(cur):
            spk, mem = lif(x, mem)
            spk_rec.append(spk.numpy().copy())
            mem_rec.append(mem.numpy().copy())
    return np.stack(spk_rec), np.stack(mem_rec)


def _snntorch_synaptic(alpha, beta, thr, reset, delay, cur):
    lif = snnt.Synaptic(alpha=alpha, beta=beta, threshold=thr, reset_mechanism=reset, reset_delay=delay)
    syn, mem = lif.init_synaptic()
    rec = ([], [], [])
    with torch.no_grad():
        for x in torch.from_numpy(cur):
            spk, syn, mem = lif(x, syn, mem)
            for r, v in zip(rec, (spk, syn, mem)):
                r.append(v.numpy().copy())
    return tuple(np.stack(r) for r in rec)


def test_leaky_equals_snntorch_fixtures(reference_dir):
    cases = json.loads((reference_dir / "snntorch_leaky.json").read_text())
    data = np.load(reference_dir / "snntorch_leaky.npz")
    assert {(c["reset_mechanism"], c["reset_delay"]) for c in cases} == {(r, d) for r in RESETS for d in (True, False)}
    for c in cases:
        spk, mem = Leaky(c["beta"], c["threshold"], c["reset_mechanism"], c["reset_delay"]).run(data[f"c{c['id']}_cur"])
        np.testing.assert_array_equal(spk, data[f"c{c['id']}_spk"])
        np.testing.assert_array_equal(mem, data[f"c{c['id']}_mem"])   # bit-exact float32


def test_synaptic_equals_snntorch_fixtures(reference_dir):
    cases = json.loads((reference_dir / "snntorch_synaptic.json").read_text())
    data = np.load(reference_dir / "snntorch_synaptic.npz")
    for c in cases:
        n = Synaptic(c["alpha"], c["beta"], c["threshold"], c["reset_mechanism"], c["reset_delay"])
        spk, syn, mem = n.run(data[f"c{c['id']}_cur"])
        np.testing.assert_array_equal(spk, data[f"c{c['id']}_spk"])
        np.testing.assert_array_equal(syn, data[f"c{c['id']}_syn"])
        np.testing.assert_array_equal(mem, data[f"c{c['id']}_mem"])


params = dict(
    beta=st.floats(0.0, 1.0), threshold=st.floats(0.0, 2.0), reset=st.sampled_from(RESETS),
    delay=st.booleans(), T=st.integers(1, 12), n=st.integers(1, 5), seed=st.integers(0, 2**16),
)


@settings(max_examples=40)
@given(**params)
def test_leaky_matches_snntorch_live(beta, threshold, reset, delay, T, n, seed):
    cur = np.random.default_rng(seed).uniform(-0.5, 1.5, (T, n)).astype(np.float32)
    spk, mem = Leaky(beta, threshold, reset, delay).run(cur)
    ref_spk, ref_mem = _snntorch_leaky(beta, threshold, reset, delay, cur)
    np.testing.assert_array_equal(spk, ref_spk)
    np.testing.assert_allclose(mem, ref_mem, rtol=0, atol=1e-6)


@settings(max_examples=40)
@given(alpha=st.floats(0.0, 1.0), **params)
def test_synaptic_matches_snntorch_live(alpha, beta, threshold, reset, delay, T, n, seed):
    cur = np.random.default_rng(seed).uniform(-0.5, 1.0, (T, n)).astype(np.float32)
    spk, syn, mem = Synaptic(alpha, beta, threshold, reset, delay).run(cur)
    ref = _snntorch_synaptic(alpha, beta, threshold, reset, delay, cur)
    np.testing.assert_array_equal(spk, ref[0])
    np.testing.assert_allclose(syn, ref[1], rtol=0, atol=1e-6)
    np.testing.assert_allclose(mem, ref[2], rtol=0, atol=1e-6)


def test_leaky_recurrence_and_strict_threshold():
    # U[1] = beta * U[0] + I[1]; a membrane exactly at threshold does not spike
    spk, mem = Leaky(beta=0.5, threshold=1.0).run(np.array([1.0, 0.5, 0.1], np.float32))
    assert mem[1] == mem[0] * np.float32(0.5) + np.float32(0.5)
    assert spk.tolist() == [0.0, 0.0, 0.0]


def test_reset_delay_false_resets_in_the_same_step():
    cur = np.array([1.5, 0.0], np.float32)
    _, mem_delayed = Leaky(0.9, reset_delay=True).run(cur)
    _, mem_now = Leaky(0.9, reset_delay=False).run(cur)
    assert mem_delayed[0] == np.float32(1.5) and mem_now[0] == np.float32(0.5)


def test_zero_reset_semantics_differ_between_leaky_and_synaptic():
    # Leaky zeroes the old membrane before adding the input; Synaptic zeroes the new membrane
    cur = np.array([2.0, 0.5], np.float32)
    _, mem_l = Leaky(1.0, reset="zero").run(cur)
    _, _, mem_s = Synaptic(0.0, 1.0, reset="zero").run(cur)
    assert mem_l[1] == np.float32(0.5) and mem_s[1] == np.float32(0.0)


@pytest.mark.parametrize("make, match", [
    (lambda: Leaky(beta=1.5), r"Leaky.beta must be a number in \[0, 1\]; got 1.5"),
    (lambda: Leaky(beta=0.5, threshold=-1.0), r"Leaky.threshold must be .*>= 0; got -1.0"),
    (lambda: Leaky(beta=0.5, reset="hard"), r"Leaky.reset must be one of .*; got 'hard'"),
    (lambda: Synaptic(alpha=-0.1, beta=0.5), r"Synaptic.alpha must be a number in \[0, 1\]; got -0.1"),
    (lambda: Leaky(0.5).run(np.float32(1.0)), r"time axis.*got shape \(\)"),
])
def test_bad_values_raise_one_line_errors(make, match):
    with pytest.raises(ValueError, match=match) as err:
        make()
    assert "\n" not in str(err.value)
