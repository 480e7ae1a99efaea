"""Fake quantization with the STE, QAT on digits, and the brevitas bridge."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from torch import nn

from npulab.quant import (
    FakeQuantize,
    IntegerLayer,
    QATConv2d,
    QATLinear,
    QuantSpec,
    calibrate,
    fake_quantize,
    integer_layer_from_brevitas,
    prepare_qat,
    quantize,
    read_brevitas_weight,
    to_integer,
    train_qat,
)

brevitas_nn = pytest.importorskip("brevitas.nn")
from brevitas.quant import Int8WeightPerChannelFloat, Int8WeightPerTensorFloat  # noqa: E402


@settings(max_examples=25)
@given(w=arrays(np.float32, st.tuples(st.integers(1, 5), st.integers(1, 7)),
                elements=st.floats(-3, 3, width=32)),
       bits=st.integers(2, 8), per_channel=st.booleans())
def test_torch_weight_fake_quant_equals_numpy_quantize(w, bits, per_channel):
    spec = QuantSpec(bits, per_channel=per_channel)
    fq = FakeQuantize(spec, "weight")(torch.from_numpy(w)).detach().numpy()
    np.testing.assert_array_equal(fq, quantize(w, spec).dequantize())


@settings(max_examples=25)
@given(x=arrays(np.float32, st.tuples(st.integers(1, 4), st.integers(2, 9)),
                elements=st.floats(-3, 3, width=32)),
       bits=st.integers(2, 8), signed=st.booleans(), symmetric=st.booleans(),
       observer=st.sampled_from(["minmax", "percentile", "mse"]))
def test_torch_activation_fake_quant_equals_numpy_fake_quantize(x, bits, signed, symmetric, observer):
    # a calibrated activation quantizer (scale and zero point frozen) is the torch twin of
    # numpy fake_quantize with the same scale and zero point; to_integer relies on this
    if observer != "minmax" and not symmetric:
        symmetric = True                      # percentile and MSE give symmetric ranges only
    spec = QuantSpec(bits, signed=signed, symmetric=symmetric, narrow_range=False)
    fq = FakeQuantize(spec, observer)
    fq(torch.from_numpy(x))                   # calibrate
    fq.freeze()
    got = fq(torch.from_numpy(x)).detach().numpy()
    want = fake_quantize(x, spec, fq.scale.numpy(), int(fq.zero_point))
    np.testing.assert_array_equal(got, want)


def test_ste_passes_gradient_straight_through():
    x = torch.linspace(-2, 2, 11, requires_grad=True)
    y = FakeQuantize(QuantSpec(3), "weight")(x)
    assert len(torch.unique(y.detach())) <= 7, "3-bit narrow: at most 7 levels"
    y.sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))


def test_activation_quantizer_calibrates_then_freezes():
    fq = FakeQuantize(QuantSpec(8, signed=False, narrow_range=False), "minmax")
    x = torch.tensor([0.0, 0.5, 2.55])
    assert torch.equal(fq(x), x), "pass-through while calibrating"
    fq.freeze()
    assert float(fq.scale) == pytest.approx(0.01) and not fq.calibrating
    assert torch.allclose(fq(torch.tensor([0.014, 3.0])), torch.tensor([0.01, 2.55]))
    with pytest.raises(ValueError, match="observer must be one of"):
        FakeQuantize(QuantSpec(8), "max")


def test_qat_wrappers_work_in_any_module():
    torch.manual_seed(0)
    net = nn.Sequential(QATConv2d(nn.Conv2d(1, 2, 3, padding=1), QuantSpec(4, per_channel=True)),
                        nn.Flatten(), QATLinear(nn.Linear(32, 3), QuantSpec(4)))
    out = net(torch.randn(2, 1, 4, 4))
    out.sum().backward()
    assert out.shape == (2, 3) and net[0].conv.weight.grad is not None
    with pytest.raises(ValueError, match="unsupported layer Tanh"):
        prepare_qat(nn.Sequential(nn.Linear(2, 2), nn.Tanh()))


def test_qat_recovers_low_bit_accuracy_on_digits():
    from npulab import datasets
    x_tr, y_tr, x_te, y_te = datasets.load_digits()
    float_model = datasets.digits_model("mlp")
    qat = calibrate(prepare_qat(float_model, w_bits=2, a_bits=8), x_tr)
    before = to_integer(qat).accuracy(x_te, y_te)  # ternary weights after PTQ: about 78%
    losses = train_qat(qat, x_tr, y_tr, epochs=3, lr=1e-3, seed=0)
    after = to_integer(qat).accuracy(x_te, y_te)
    assert losses[-1] < losses[0]
    assert after > before + 0.1 and after > 0.9, (before, after)
    assert float_model[0].weight.grad is None, "prepare_qat trains a copy"


@pytest.mark.parametrize("quant,per_channel", [(Int8WeightPerTensorFloat, False), (Int8WeightPerChannelFloat, True)])
@pytest.mark.parametrize("bits", [4, 8])
def test_brevitas_bridge_reads_ints_and_scales(quant, per_channel, bits):
    torch.manual_seed(bits)
    layer = brevitas_nn.QuantLinear(12, 5, bias=True, weight_quant=quant, weight_bit_width=bits)
    qt = read_brevitas_weight(layer)
    ref = quantize(layer.weight.detach().numpy(), QuantSpec(bits, per_channel=per_channel))
    np.testing.assert_array_equal(qt.int_repr, ref.int_repr)
    np.testing.assert_array_equal(qt.scale, ref.scale)
    assert qt.spec.per_channel == per_channel and qt.spec.bits == bits
    # the brevitas layer runs on npulab's integer pipeline
    x = np.random.default_rng(0).uniform(0, 1, (7, 12)).astype(np.float32)
    x_spec = QuantSpec(8, signed=False, narrow_range=False)
    xq = quantize(x, x_spec, np.float32(1 / 255))
    il = integer_layer_from_brevitas(layer, 1 / 255, 0, y_scale=0.02)
    assert isinstance(il, IntegerLayer)
    with torch.no_grad():
        real = layer(torch.from_numpy(xq.dequantize())).numpy()
    want = np.clip(np.rint(real / 0.02), -128, 127)
    assert np.abs(il(xq.int_repr) - want).max() <= 1


def test_brevitas_conv_bridge():
    torch.manual_seed(0)
    conv = brevitas_nn.QuantConv2d(2, 3, 3, stride=2, padding=1, weight_quant=Int8WeightPerChannelFloat)
    qt = read_brevitas_weight(conv)
    assert qt.scale.shape == (3, 1, 1, 1)
    il = integer_layer_from_brevitas(conv, 1 / 255, 0, 0.05, relu=True)
    assert il.kind == "conv" and il.stride == 2 and il.padding == 1
    x = np.random.default_rng(1).integers(0, 256, (1, 2, 6, 6), dtype=np.uint8)
    y = il(x)
    assert y.shape == (1, 3, 3, 3) and y.min() >= 0 and y.max() <= 255
    with pytest.raises(ValueError, match="not a brevitas quant layer"):
        read_brevitas_weight(nn.Linear(2, 2))
