"""SCALE-Sim topology CSVs: the bundled ResNet-18, tolerant parsing, one-line errors."""
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from npulab import datasets
from npulab.workloads import Conv2d, Gemm, load_topology
from npulab.workloads.topology import save_topology


def test_bundled_resnet18_matches_published_macs():
    layers = datasets.topology("resnet18")
    assert len(layers) == 21
    assert layers[0] == Conv2d(230, 230, 7, 7, 3, 64, 2, name="conv1")
    assert layers[0].out_h == 112
    # He et al. 2016, Table 1: 1.8e9 multiply-adds for ResNet-18.
    assert sum(x.macs for x in layers) == 1_814_073_344


def test_tolerates_spaces_trailing_commas_and_blank_lines(tmp_path: Path):
    f = tmp_path / "t.csv"
    f.write_text(
        "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
        "  Conv1 ,  224,224 , 7, 7, 3, 64, 2,,\n\n"
        "Conv2,56,56,3,3,64,64,1\n"
    )
    layers = load_topology(f)
    assert layers == [Conv2d(224, 224, 7, 7, 3, 64, 2, name="Conv1"), Conv2d(56, 56, 3, 3, 64, 64, 1, name="Conv2")]


def test_gemm_format_is_detected(tmp_path: Path):
    f = tmp_path / "g.csv"
    f.write_text("Layer, M, N, K,\nQKV, 512, 2304, 768,\n")
    assert load_topology(f) == [Gemm(512, 2304, 768, name="QKV")]


@pytest.mark.parametrize("row, message", [
    ("Conv1, 224, 224, 7, 7, 3, x, 2,", "t.csv line 2: field 'Num Filter' must be a positive integer; got 'x'"),
    ("Conv1, 224, 224, 7, 7, 3, 64,", "t.csv line 2: missing field 'Strides'"),
    ("Conv1, 224, 0, 7, 7, 3, 64, 2,", "t.csv line 2: field 'IFMAP Width' must be a positive integer; got '0'"),
    ("Conv1, 4, 4, 7, 7, 3, 64, 2,", "t.csv line 2: Conv2d.filter_h must be <= ifmap_h (4); got 7"),
])
def test_malformed_row_names_file_line_and_field(tmp_path: Path, row, message):
    f = tmp_path / "t.csv"
    f.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
                 "Num Filter, Strides,\n" + row + "\n")
    with pytest.raises(ValueError) as err:
        load_topology(f)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_missing_and_empty_files(tmp_path: Path):
    with pytest.raises(ValueError, match="topology file not found"):
        load_topology(tmp_path / "nope.csv")
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(ValueError, match="empty topology file"):
        load_topology(tmp_path / "e.csv")


@given(st.lists(st.tuples(st.integers(1, 999), st.integers(1, 999), st.integers(1, 999)), min_size=1, max_size=6))
def test_gemm_topology_round_trips(tmp_path_factory, shapes):
    layers = [Gemm(m, n, k, name=f"g{i}") for i, (m, n, k) in enumerate(shapes)]
    path = save_topology(layers, tmp_path_factory.mktemp("rt") / "g.csv")
    assert load_topology(path) == layers
