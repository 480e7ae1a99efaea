"""Density models: hypergeometric occupancy and P(empty) against Monte Carlo and counting."""
import math

import numpy as np
import pytest

from npulab.sparse import Density, expected_format_bits, prune
from npulab.sparse.density import hypergeom_pmf


@pytest.mark.parametrize("size, K, S", [(16, 5, 4), (64, 20, 8), (10, 0, 3), (10, 10, 3)])
def test_hypergeom_pmf_equals_counting(size, K, S):
    pmf = hypergeom_pmf(size, K, S)
    count = [math.comb(K, k) * math.comb(size - K, S - k) / math.comb(size, S)
             for k in range(S + 1)]
    assert np.allclose(pmf, count) and math.isclose(pmf.sum(), 1.0)


@pytest.mark.parametrize("d, tile, size", [(0.3, 8, 256), (0.05, 16, 400), (0.5, 4, 64)])
def test_uniform_model_matches_monte_carlo(d, tile, size):
    model = Density.uniform(d)
    rng = np.random.default_rng(7)
    K = model.nonzeros(size)
    trials = 4000
    occ = np.empty(trials)
    for t in range(trials):
        x = np.zeros(size, bool)
        x[rng.choice(size, K, replace=False)] = True
        occ[t] = x[:tile].sum()
    half = 4 * occ.std(ddof=1) / math.sqrt(trials)          # 4-sigma confidence interval
    assert abs(occ.mean() - model.expected_occupancy(tile, size)) <= half
    p_empty = model.prob_empty(tile, size)
    emp = (occ == 0).mean()
    assert abs(emp - p_empty) <= 4 * math.sqrt(p_empty * (1 - p_empty) / trials) + 1e-12
    assert math.isclose(p_empty, model.occupancy_pmf(tile, size)[0])


def test_nm_model_exact_on_pruned_tensor_and_partial_groups():
    rng = np.random.default_rng(3)
    w = prune(rng.normal(size=(64, 32)), "2:4", axis=1)
    model = Density.parse("2:4")
    assert model.density == 0.5 and model.nonzeros(w.size) == np.count_nonzero(w)
    tiles = w.reshape(64, 4, 8)                              # tiles of 8 = two whole groups
    assert np.all((tiles != 0).sum(axis=-1) == model.expected_occupancy(8, w.size))
    # a tile covering 1 position of each group: empty with probability (C(2,1)/C(4,1))**g
    assert math.isclose(model.prob_empty(3, 96, group_extent=1), 0.5 ** 3)
    assert model.prob_empty(3, 96, group_extent=3) == 0.0


def test_parse_and_errors():
    assert Density.parse(None).kind == "dense" and Density.parse(1).kind == "dense"
    assert Density.parse(0.3) == Density.uniform(0.3)
    for bad in ("x", 1.5, "5:4", -0.2):
        with pytest.raises(ValueError):
            Density.parse(bad)
    with pytest.raises(ValueError, match="RLE"):
        expected_format_bits("rle", (4,), Density.uniform(0.5), value_bits=8)


def test_expected_bits_equal_mean_of_exact_counts():
    from npulab.sparse import compress
    rng = np.random.default_rng(11)
    model = Density.uniform(0.25)
    shape, trials = (8, 16), 2000
    total = np.zeros(2)
    for _ in range(trials):
        x = np.zeros(128, np.int8)
        x[rng.choice(128, model.nonzeros(128), replace=False)] = 1
        c = compress(x.reshape(shape), "csr", index_bits=4, pointer_bits=6)
        total += c.payload_bytes * 8, (8 + 1) * 6 + c.nnz * 4
    exp = expected_format_bits("csr", shape, model, value_bits=8, index_bits=4, pointer_bits=6)
    assert np.allclose(total / trials, exp)                  # fixed K: equal, not just close
