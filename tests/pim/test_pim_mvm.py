"""analog_mvm against aihwkit 1.2.0's recorded tiles, and its own properties."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npulab.pim import IOConfig, analog_mvm, analog_mvm_reference


def _cases(reference_dir):
    meta = json.loads((reference_dir / "aihwkit_pim.json").read_text())
    arrays = np.load(reference_dir / "aihwkit_pim.npz")
    return meta, arrays


def _io(case, **over):
    io = dict(case["io"])
    io["noise_management"] = io["noise_management"].lower()
    io["bound_management"] = io["bound_management"].lower()
    io.update(over)
    return IOConfig(**io)


@pytest.mark.parametrize("backend,scope", [("cpp", "row"), ("torch", "batch")])
def test_noise_free_cases_match_aihwkit_tiles(reference_dir, backend, scope):
    meta, z = _cases(reference_dir)
    checked = 0
    for case in meta["cases"]:
        n = case["name"]
        W, x = z[f"{n}__W"], z[f"{n}__x"]
        if case["kind"] == "outnoise":
            io, want = _io(case, out_noise=0.0, bm_scope=scope), z[f"{n}__y_noisefree_{backend}"]
        else:
            io, want = _io(case, bm_scope=scope), z[f"{n}__y_{backend}"]
        got = analog_mvm(W, x, io)
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=0, err_msg=n)
        np.testing.assert_allclose(analog_mvm_reference(W, x, io), got, atol=1e-5, err_msg=n)
        checked += 1
    assert checked == 12


def test_bound_management_row_vs_batch_differ_as_recorded(reference_dir):
    meta, z = _cases(reference_dir)
    case = next(c for c in meta["cases"] if c["name"] == "b4_abs_max_bm_iterative")
    n = case["name"]
    row = analog_mvm(z[f"{n}__W"], z[f"{n}__x"], _io(case))
    batch = analog_mvm(z[f"{n}__W"], z[f"{n}__x"], _io(case, bm_scope="batch"))
    assert case["bm_factor_rowwise"] != case["bm_factor_batch"]
    assert np.abs(row - batch).max() > 0.1           # a small row suffers from the batch rule


@pytest.mark.parametrize("backend,scope", [("cpp", "row"), ("torch", "batch")])
@pytest.mark.parametrize("name", ["c1_default_io_out_noise", "c2_no_nm_out_noise",
                                  "c3_abs_max_out_noise_no_quant"])
def test_output_noise_statistics_match_aihwkit(reference_dir, name, backend, scope):
    meta, z = _cases(reference_dir)
    case = next(c for c in meta["cases"] if c["name"] == name)
    W, x = z[f"{name}__W"], z[f"{name}__x"]
    io = _io(case, bm_scope=scope)
    clean = analog_mvm(W, x, _io(case, out_noise=0.0, bm_scope=scope))
    rng = np.random.default_rng(7)
    draws = np.stack([analog_mvm(W, x, io, rng) for _ in range(meta["n_repeat"])])
    std = (draws - clean).std(axis=(0, 2))                                     # per input row
    want = np.array(case["stats"][backend]["residual_std_per_row"])
    np.testing.assert_allclose(std, want, rtol=0.05)


def test_is_perfect_is_the_float_product():
    rng = np.random.default_rng(0)
    W, x = rng.normal(size=(5, 7)), rng.normal(size=(3, 7))
    np.testing.assert_allclose(analog_mvm(W, x, IOConfig(is_perfect=True, out_scale=2.0)),
                               2.0 * x @ W.T, rtol=1e-12)


@settings(max_examples=30)
@given(out_dim=st.integers(1, 12), in_dim=st.integers(1, 24), batch=st.integers(1, 5),
       seed=st.integers(0, 2**31 - 1), scale=st.floats(0.01, 50.0))
def test_fine_resolution_without_noise_converges_to_matmul(out_dim, in_dim, batch, seed, scale):
    rng = np.random.default_rng(seed)
    W = rng.uniform(-1, 1, (out_dim, in_dim))
    x = scale * rng.normal(size=(batch, in_dim))
    exact = x @ W.T
    errors = []
    for steps in (2**6, 2**10, 2**14):
        io = IOConfig(inp_res=steps, out_res=steps, out_bound=2.0 * in_dim, out_noise=0.0)
        errors.append(np.abs(analog_mvm(W, x, io) - exact).max())
    tol = np.abs(x).max() * in_dim * 8 / 2**14
    assert errors[-1] <= tol
    assert errors[-1] <= errors[0] + 1e-12


@settings(max_examples=60)
@given(seed=st.integers(0, 2**31 - 1), bound=st.floats(0.1, 8.0),
       scope=st.sampled_from(["row", "batch"]), nm=st.sampled_from(["abs_max", "none"]),
       bm=st.sampled_from(["iterative", "none"]), nm_thres=st.sampled_from([0.0, 0.5]),
       max_bm_factor=st.sampled_from([1000, 2]), out_scale=st.sampled_from([1.0, 2.5]),
       zero_row=st.booleans())
def test_fast_path_equals_reference(seed, bound, scope, nm, bm, nm_thres, max_bm_factor,
                                    out_scale, zero_row):
    """Every periphery option of the vectorised path against the row-by-row reference."""
    rng = np.random.default_rng(seed)
    W = rng.uniform(-1, 1, (6, 10))
    x = rng.normal(size=(4, 10)) * rng.uniform(0.1, 3, (4, 1))
    if zero_row:
        x[1] = 0.0                          # all-zero row: skipped (row) or scale 1 (batch)
    io = IOConfig(out_bound=bound, out_noise=0.0, bm_scope=scope, noise_management=nm,
                  bound_management=bm, nm_thres=nm_thres, max_bm_factor=max_bm_factor,
                  out_scale=out_scale)
    np.testing.assert_allclose(analog_mvm(W, x, io), analog_mvm_reference(W, x, io), atol=1e-9)


def test_output_within_bound_times_rescale_and_zero_input_gives_zero():
    W = np.ones((3, 4))
    y = analog_mvm(W, np.zeros((2, 4)), IOConfig())
    assert np.all(y == 0)
    y = analog_mvm(W, np.ones((1, 4)), IOConfig(out_bound=2.0, bound_management="none",
                                                out_noise=0.0))
    assert np.all(y == 2.0)                            # ADC clips at out_bound


@pytest.mark.parametrize("kwargs,field", [
    (dict(inp_res=0.0), "inp_res"), (dict(out_res=0), "out_res"),
    (dict(out_bound=0.0), "out_bound"), (dict(inp_bound=0.0), "inp_bound"),
    (dict(noise_management="max"), "noise_management"), (dict(out_noise=-1.0), "out_noise"),
    (dict(max_bm_factor=0), "max_bm_factor"),
])
def test_bad_io_values_raise_one_line_naming_field(kwargs, field):
    with pytest.raises(ValueError, match=rf"IOConfig\.{field}") as err:
        IOConfig(**kwargs)
    assert "\n" not in str(err.value)


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match=r"x must be \[batch, 4\].*got shape \(2, 3\)"):
        analog_mvm(np.ones((2, 4)), np.ones((2, 3)))


def test_strings_are_case_insensitive_and_from_bits():
    io = IOConfig(noise_management="ABS_MAX", bound_management="None")
    assert (io.noise_management, io.bound_management) == ("abs_max", "none")
    assert IOConfig.from_bits(7, 9) == IOConfig()


def test_array_hook_replaces_the_ideal_product():
    rng = np.random.default_rng(9)
    W, x = rng.uniform(-1, 1, (5, 8)), rng.normal(size=(3, 8))
    io = IOConfig(out_noise=0.0)
    same = analog_mvm(W, x, io, array=lambda xq: xq @ W.T)
    np.testing.assert_array_equal(same, analog_mvm(W, x, io))
    half = analog_mvm(W, x, IOConfig(out_noise=0.0, out_res=-1, inp_res=-1),
                      array=lambda xq: 0.5 * (xq @ W.T))
    np.testing.assert_allclose(half, 0.5 * x @ W.T, rtol=1e-6)
    np.testing.assert_allclose(analog_mvm_reference(W, x, io, array=lambda xq: xq @ W.T), same)
