"""Conductance mapping, aihwkit's PCM statistics, drift compensation, faults, IR drop."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npulab.hw import CrossbarConfig
from npulab.pim import (
    PCMNoiseModel,
    drift_compensation_alpha,
    ir_drop_currents,
    program,
    stuck_at_faults,
    weights_to_conductances,
)


@pytest.fixture
def pcm(reference_dir):
    return json.loads((reference_dir / "aihwkit_pim.json").read_text())["pcm"]


def test_defaults_are_aihwkits(pcm):
    d = pcm["defaults"]
    m = PCMNoiseModel()
    assert (m.g_max, m.t_0, m.t_read) == (d["g_max"], d["t_0"], d["t_read"])
    assert list(m.prog_coeff) == d["prog_coeff"]


def test_pcm_statistics_match_fixture_table(pcm):
    t, m = pcm["table"], PCMNoiseModel()
    g = np.array(t["g_uS"])
    np.testing.assert_allclose(m.prog_sigma(g), t["sigma_prog_uS"], rtol=1e-9)
    mu, sigma = m.nu_stats(g)
    np.testing.assert_allclose(mu, t["mu_nu"], rtol=1e-7)
    np.testing.assert_allclose(sigma, t["sigma_nu"], rtol=1e-7)
    np.testing.assert_allclose(m.read_sigma_rel(g, 3600.0), t["sigma_read_rel_t3600"], rtol=1e-9)
    np.testing.assert_allclose(m.read_sigma_rel(g, 0.0), t["sigma_read_rel_t0"], rtol=1e-9)


def test_sampled_programming_noise_has_the_table_sigma(pcm):
    m, rng = PCMNoiseModel(), np.random.default_rng(3)
    for g, sigma in zip(pcm["table"]["g_uS"][2:], pcm["table"]["sigma_prog_uS"][2:]):
        draws = m.program(np.full(40000, g), rng)        # far from the clip at 0 for g >= 2.5
        assert abs(draws.std() / sigma - 1) < 0.03


def test_sampled_drift_exponents_have_the_table_mean():
    m, rng = PCMNoiseModel(), np.random.default_rng(4)
    nu = m.drift_coefficients(np.full(40000, 25.0), rng)
    assert abs(nu.mean() - 0.049) < 0.001 and abs(nu.std() - 0.008) < 0.0005


def test_drift_compensation_alpha_close_to_aihwkit_formula(pcm):
    # alpha ~ (t/t0)^mu_nu for large weights; the fixture's alpha at 1 h is 1.292
    rng = np.random.default_rng(5)
    W = rng.uniform(-1, 1, (64, 64))
    arr = program(W, PCMNoiseModel(), rng=rng)
    alpha = drift_compensation_alpha(arr.weights(), arr.read(3600.0, rng).to_weights())
    assert abs(alpha - pcm["drift_compensation"]["cpp"]["alpha"]) < 0.03


def test_drift_reduces_conductance_and_zero_time_is_identity():
    m = PCMNoiseModel(read_noise_scale=0.0)
    g = np.full(10, 20.0)
    nu = np.full(10, 0.05)
    np.testing.assert_array_equal(m.drift(g, nu, 0.0), g)
    np.testing.assert_allclose(m.drift(g, nu, 3600.0), g * (3620 / 20) ** -0.05)


@settings(max_examples=30)
@given(seed=st.integers(0, 2**31 - 1), g_max=st.floats(1.0, 100.0), frac=st.floats(0.0, 0.9))
def test_conductance_round_trip_and_range(seed, g_max, frac):
    W = np.random.default_rng(seed).normal(size=(5, 6))
    c = weights_to_conductances(W, g_max=g_max, g_min=frac * g_max)
    np.testing.assert_allclose(c.to_weights(), W, atol=1e-9 * np.abs(W).max())
    assert c.g_plus.min() >= frac * g_max - 1e-12 and c.g_plus.max() <= g_max + 1e-9
    assert np.all(np.minimum(c.g_plus, c.g_minus) == pytest.approx(frac * g_max))


def test_stuck_at_fractions():
    g = stuck_at_faults(np.full(100000, 10.0), p_off=0.1, p_on=0.05, rng=0)
    assert abs((g == 0.0).mean() - 0.1) < 0.005 and abs((g == 25.0).mean() - 0.05) < 0.005


def test_ir_drop_zero_resistance_is_ohm_and_kirchhoff_and_loss_grows():
    rng = np.random.default_rng(1)
    G, v = rng.uniform(0, 25, (16, 4)), rng.uniform(0, 0.2, 16)
    np.testing.assert_allclose(ir_drop_currents(G, v, 0.0), v @ G)
    lo, hi = ir_drop_currents(G, v, 1.0), ir_drop_currents(G, v, 5.0)
    assert np.all(hi < lo) and np.all(lo < v @ G)


def test_bad_values_name_the_field():
    with pytest.raises(ValueError,
                       match=r"g_min must be < CrossbarConfig.g_max; got g_min=30.0, g_max=25.0"):
        CrossbarConfig(g_min=30.0)
    with pytest.raises(ValueError, match="CrossbarConfig.rows"):
        CrossbarConfig(rows=0)
    with pytest.raises(ValueError, match="g_min"):
        weights_to_conductances(np.ones((2, 2)), g_max=1.0, g_min=2.0)
    with pytest.raises(ValueError, match="p_on"):
        stuck_at_faults(np.ones(3), p_on=1.5)
