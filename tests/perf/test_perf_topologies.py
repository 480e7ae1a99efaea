"""Bundled edge topologies match their published MAC and parameter counts."""
import pytest

from npulab import datasets
from npulab.perf import score


@pytest.mark.parametrize("name, gmacs, mparams", [
    ("resnet18", 1.8, 11.7),      # He et al. 2016: 1.8 GFLOPs (multiply-adds); 11.7 M params
    ("mobilenetv2", 0.300, 3.4),  # Sandler et al. 2018, Table 2 / Table 3: 300 M MAdds, 3.4 M params
    ("vit-tiny", 1.26, None),     # DeiT-Ti: 1.3 G FLOPs as multiply-adds (Touvron et al. 2021)
])
def test_topology_macs_match_published(name, gmacs, mparams):
    layers = datasets.topology(name)
    macs = sum(layer.macs for layer in layers)
    assert macs / 1e9 == pytest.approx(gmacs, rel=0.04)
    if mparams is not None:
        weights = sum(layer.operand_elements()["filter"] for layer in layers)
        assert weights / 1e6 == pytest.approx(mparams, rel=0.03)


def test_depthwise_rows_have_one_channel_per_filter():
    dw = [layer for layer in datasets.topology("mobilenetv2") if "depthwise" in layer.name]
    assert len(dw) == 17 and all(layer.channels == 1 and layer.filter_h == 3 for layer in dw)


def test_digits_cnn_is_scored_with_accuracy_and_validity():
    r = score("digits-cnn", "edge-npu-int8")
    assert 0.9 < r.accuracy <= 1 and r.valid is True
    assert r.accuracy_target == pytest.approx(0.99 * r.accuracy, rel=0.02)
