"""What sparsity buys the PIM and SNN engines (issue 30), and the workload attributes."""
import pytest

from npulab import pim, snn
from npulab.hw import CrossbarConfig, SnnConfig
from npulab.workloads import Conv2d, Gemm


def test_snn_pruned_synapses_cut_sops_proportionally():
    hw = SnnConfig(spike_rate=0.2, timesteps=4)
    dense = snn.estimate(Gemm(2, 64, 128), hw)
    sparse = snn.estimate(Gemm(2, 64, 128, weight_sparsity="1:4"), hw)
    assert sparse.details["sops"] == round(dense.details["sops"] / 4)
    assert sparse.details["sops_saved_by_pruning"] == dense.details["sops"] - sparse.details["sops"]
    assert sparse.energy_breakdown_pJ["neuron"] == dense.energy_breakdown_pJ["neuron"]
    assert sparse.energy_pJ < dense.energy_pJ


def test_pim_reports_zero_input_saving_and_zero_cells():
    xb = CrossbarConfig()
    r = pim.estimate(Gemm(4, 128, 128, act_density=0.25, weight_density=0.5), xb)
    d = pim.estimate(Gemm(4, 128, 128), xb)
    assert r.energy_pJ == d.energy_pJ                       # reported, not applied
    assert r.details["zero_input_saving_pJ"] == pytest.approx(
        0.75 * (d.energy_breakdown_pJ["dac"] + d.energy_breakdown_pJ["array"]))
    assert r.details["cells_holding_zero_weights"] == 128 * 128 * xb.cells_per_weight // 2
    assert d.details["zero_input_saving_pJ"] == 0


def test_workload_sparsity_attributes():
    c = Conv2d(10, 10, 3, 3, 8, 16, weight_sparsity="2:4", act_density=0.5)
    g = c.to_gemm()
    assert (g.weight_sparsity, g.act_density, g.weight_nonzero_fraction) == ("2:4", 0.5, 0.5)
    assert "weights 2:4" in str(g) and g.is_sparse and not Gemm(1, 1, 1).is_sparse
    assert repr(Gemm(1, 2, 3)) == "Gemm(M=1, N=2, K=3, name='')"
    for kw, word in [({"weight_density": 0.0}, "weight_density"),
                     ({"act_density": 2}, "act_density"),
                     ({"weight_sparsity": "4:2"}, "'4:2'"),
                     ({"weight_sparsity": "2:4", "weight_density": 0.3}, "N:M fixes")]:
        with pytest.raises(ValueError, match=word):
            Gemm(1, 1, 1, **kw)


def test_snn_core_counts_only_the_synapses_pruning_leaves():
    import numpy as np

    from npulab.snn import IntLayer, run_core
    from npulab.sparse import prune

    rng = np.random.default_rng(5)
    w = rng.integers(-8, 9, (16, 6))
    w[w == 0] = 1                                          # dense: every synapse non-zero
    w24 = prune(w, "2:4", axis=0)                          # groups of 4 inputs per output neuron
    spikes = (rng.random((5, 16)) < 0.4).astype(np.uint8)
    dense = run_core([IntLayer(w, threshold=10)], spikes)
    sparse = run_core([IntLayer(w24, threshold=10, mask=w24 != 0)], spikes)
    assert IntLayer(w24, threshold=10, mask=w24 != 0).synapses == w.size // 2
    assert np.array_equal(sparse.sops[0], spikes.astype(np.int64) @ (w24 != 0).sum(axis=1))
    assert sparse.total_sops < dense.total_sops
