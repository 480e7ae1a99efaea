"""Collective costs equal the alpha-beta formulas (Thakur, Rabenseifner & Gropp 2005)."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npulab.hw.interconnect import (
    LINKS,
    Link,
    all_gather_time,
    all_reduce_time,
    all_to_all_time,
    bus_bandwidth,
    collective_time,
    reduce_scatter_time,
)

sizes = st.floats(min_value=0, max_value=1e12, allow_nan=False)
counts = st.integers(min_value=1, max_value=512)
bws = st.floats(min_value=1e6, max_value=1e13)
lats = st.floats(min_value=0, max_value=1e-3)


@settings(max_examples=200, deadline=None)
@given(S=sizes, n=counts, B=bws, a=lats)
def test_ring_collectives_match_alpha_beta(S, n, B, a):
    link = Link("x", B, a)
    b = 1 / B
    assert all_reduce_time(S, n, link) == pytest.approx(
        2 * (n - 1) * a + 2 * (n - 1) / n * S * b, rel=1e-12, abs=1e-300
    )
    for f in (all_gather_time, reduce_scatter_time, all_to_all_time):
        assert f(S, n, link) == pytest.approx(
            (n - 1) * a + (n - 1) / n * S * b, rel=1e-12, abs=1e-300
        )


@settings(max_examples=200, deadline=None)
@given(S=sizes, n=counts, B=bws, a=lats)
def test_tree_collectives_match_alpha_beta(S, n, B, a):
    link = Link("x", B, a)
    b, k = 1 / B, (math.ceil(math.log2(n)) if n > 1 else 0)
    frac = (n - 1) / n
    assert all_reduce_time(S, n, link, "tree") == pytest.approx(
        2 * k * a + 2 * frac * S * b, rel=1e-12, abs=1e-300
    )
    assert all_gather_time(S, n, link, "tree") == pytest.approx(
        k * a + frac * S * b, rel=1e-12, abs=1e-300
    )
    assert all_to_all_time(S, n, link, "tree") == pytest.approx(
        k * a + k / 2 * S * b, rel=1e-12, abs=1e-300
    )


@settings(max_examples=100, deadline=None)
@given(S=st.floats(min_value=1, max_value=1e12), n=st.integers(min_value=2, max_value=512), B=bws)
def test_ring_all_reduce_bus_bandwidth_is_the_link_bandwidth(S, n, B):
    """NCCL's busbw = S/t * 2(n-1)/n equals the link bandwidth for the ring with alpha = 0."""
    link = Link("x", B, 0.0)
    assert bus_bandwidth(S, n, all_reduce_time(S, n, link)) == pytest.approx(B, rel=1e-9)


def test_one_device_costs_nothing_and_tree_beats_ring_on_latency():
    link = LINKS["nvlink4"]
    assert all_reduce_time(1e9, 1, link) == 0.0
    lat = Link("lat", 100e9, 10e-6)
    assert all_reduce_time(1e3, 64, lat, "tree") < all_reduce_time(1e3, 64, lat, "ring")


def test_mesh2d_all_reduce_is_the_hierarchical_ring():
    link = Link("m", 100e9, 1e-6, "mesh2d", mesh_rows=4)
    S, r, c, a, b = 1e8, 4, 4, 1e-6, 1 / 100e9
    want = 2 * (r - 1) * (a + S * b / r) + 2 * (c - 1) * (a + S * b / (r * c))
    assert all_reduce_time(S, 16, link) == pytest.approx(want)


def test_bad_inputs_fail_in_one_line():
    with pytest.raises(ValueError, match="bandwidth_bytes_per_s"):
        Link("x", 0.0)
    with pytest.raises(ValueError, match="topology"):
        Link("x", 1e9, topology="torus")
    with pytest.raises(ValueError, match="ring algorithm only"):
        all_reduce_time(1e6, 8, Link("r", 1e9, topology="ring"), "tree")
    with pytest.raises(ValueError, match="collective must be"):
        collective_time("broadcast", 1e6, 8, LINKS["nvlink4"])
    with pytest.raises(ValueError, match="unknown link"):
        all_reduce_time(1e6, 8, "nvlink9")
    with pytest.raises(ValueError, match="collective.n"):
        all_reduce_time(1e6, 0, "nvlink4")
