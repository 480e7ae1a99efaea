"""Integer core: event-driven engine == dense reference; counts, decay, saturation, config."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npulab.hw import CoreConfig
from npulab.snn import IntLayer, leak, run_core


def _net(rng, sizes, wmax, bias=True):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        w = rng.integers(-wmax, wmax + 1, (a, b))
        mask = rng.random((a, b)) < 0.7 if i % 2 else None     # some layers sparsely connected
        if mask is not None:
            w = np.where(mask, w, 0)
        layers.append(IntLayer(w, threshold=int(rng.integers(0, 3 * wmax)),
                               bias=rng.integers(-3, 4, b) if bias else None, name=f"l{i}", mask=mask))
    return layers


@settings(max_examples=30)
@given(seed=st.integers(0, 2**16), T=st.integers(1, 8), B=st.integers(1, 3),
       sizes=st.lists(st.integers(1, 12), min_size=2, max_size=4), p=st.floats(0.0, 1.0),
       mode=st.sampled_from(["multiplier", "shift"]), reset=st.sampled_from(["subtract", "subtract_instant", "zero"]),
       bits=st.integers(4, 12))
def test_event_driven_engine_equals_dense_reference(seed, T, B, sizes, p, mode, reset, bits):
    rng = np.random.default_rng(seed)
    core = CoreConfig(decay_mode=mode, decay=int(rng.integers(0, 4097 if mode == "multiplier" else 32)),
                      membrane_bits=bits, weight_bits=6)
    layers = _net(rng, sizes, core.w_max)
    spikes = (rng.random((T, B, sizes[0])) < p).astype(np.uint8)
    ev = run_core(layers, spikes, core, reset, engine="event")
    de = run_core(layers, spikes, core, reset, engine="dense")
    for a, b in zip(ev.spikes, de.spikes):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(ev.final_membrane, de.final_membrane):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ev.sops, de.sops)
    np.testing.assert_array_equal(ev.neuron_updates, de.neuron_updates)
    np.testing.assert_array_equal(ev.spike_counts, de.spike_counts)
    # SOPs = sum over input spikes of their fan-out, layer by layer
    prev = spikes
    for k, lay in enumerate(layers):
        np.testing.assert_array_equal(ev.sops[k], prev.sum(axis=1) @ np.count_nonzero(lay.weight, axis=1))
        prev = ev.spikes[k]
    assert all((m >= core.v_min).all() and (m <= core.v_max).all() for m in ev.final_membrane)


def test_hand_computed_two_steps():
    # v1 = 3 + 2 = 5 > 4 -> spike, v = 1; v2 = 1 + 3 = 4, not > 4 -> no spike (strict)
    layer = IntLayer(np.array([[3], [2]]), threshold=4)
    r = run_core([layer], np.array([[1, 1], [1, 0]]))
    assert r.spikes[0][:, 0, 0].tolist() == [1, 0]
    assert r.final_membrane[0].tolist() == [[4]]
    assert r.sops.tolist() == [[2, 1]] and r.neuron_updates.tolist() == [[1, 1]]


def test_membrane_saturates_at_its_width():
    core = CoreConfig(membrane_bits=8, weight_bits=8)
    layer = IntLayer(np.full((4, 1), 127), threshold=1000)   # never fires; v would reach 4*127*3
    r = run_core([layer], np.ones((3, 4), np.uint8), core)
    assert r.final_membrane[0].item() == 127


def test_leak_rounds_toward_zero_for_both_modes():
    v = np.array([1000, -1000, 7, -7, 0])
    assert leak(v, CoreConfig(decay=410)).tolist() == [899, -899, 6, -6, 0]   # x*(4096-410)>>12
    assert leak(v, CoreConfig(decay_mode="shift", decay=3)).tolist() == [875, -875, 7, -7, 0]
    assert leak(v, CoreConfig(decay=0)).tolist() == v.tolist()


def test_zero_reset_clears_membrane():
    layer = IntLayer(np.array([[10]]), threshold=4)
    r = run_core([layer], np.array([[1]]), reset="zero")
    assert r.final_membrane[0].item() == 0 and r.spikes[0].item() == 1


def test_event_engine_does_no_work_without_spikes():
    layer = IntLayer(np.ones((5, 3), np.int64), threshold=1)
    r = run_core([layer], np.zeros((4, 5), np.uint8))
    assert r.total_sops == 0 and r.total_neuron_updates == 12 and r.total_spikes == 0


@pytest.mark.parametrize("kwargs, match", [
    (dict(neurons_per_core=0), r"CoreConfig.neurons_per_core must be an int >= 1; got 0"),
    (dict(weight_bits=20), r"CoreConfig.weight_bits must be an int in \[1, 16\]; got 20"),
    (dict(decay=5000), r"CoreConfig.decay must be an int in \[0, 4096\]; got 5000"),
    (dict(decay_mode="shift", decay=40), r"CoreConfig.decay must be an int in \[0, 31\]; got 40"),
    (dict(decay_mode="exp"), r"CoreConfig.decay_mode must be one of .*; got 'exp'"),
    (dict(clock_hz=0), r"CoreConfig.clock_hz must be a finite number > 0; got 0"),
])
def test_core_config_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CoreConfig(**kwargs)


def test_run_core_rejects_bad_inputs():
    layer = IntLayer(np.ones((2, 2), np.int64), threshold=1)
    with pytest.raises(ValueError, match="engine must be one of"):
        run_core([layer], np.zeros((1, 2)), engine="gpu")
    with pytest.raises(ValueError, match="reset must be one of"):
        run_core([layer], np.zeros((1, 2)), reset="none")
    with pytest.raises(ValueError, match="layer 0 expects 2 inputs; got 3"):
        run_core([layer], np.zeros((1, 3)))
    with pytest.raises(ValueError, match="weight beyond 2-bit"):
        run_core([IntLayer(np.full((2, 2), 5), 1)], np.zeros((1, 2)), CoreConfig(weight_bits=2))
    with pytest.raises(ValueError, match="binary"):
        run_core([layer], np.full((1, 2), 2))
    with pytest.raises(ValueError, match="IntLayer.threshold must be an int >= 0; got -1"):
        IntLayer(np.ones((2, 2), np.int64), threshold=-1)
