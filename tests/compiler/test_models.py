"""Whole models compile and run bit-exactly; unsupported ops fail with one line."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from npulab.compiler import compile_model
from npulab.compiler.frontend import capture
from npulab.compiler.models import bundled
from npulab.datasets import load_digits


def _x(shape, seed=0):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name", ["digits-mlp", "digits-cnn"])
@pytest.mark.parametrize("hw", ["tpuv1-like", "edge-npu-int8"])
def test_digits_models_run_bit_exact_and_keep_the_float_top1(name, hw):
    model, example = bundled(name)
    prog = compile_model(model, example, hw=hw)
    x = torch.from_numpy(load_digits()[2])  # the 360 test images
    y = prog.run(x)
    assert torch.equal(y, prog.reference(x))
    agree = (y.argmax(1) == model(x).argmax(1)).float().mean().item()
    assert agree >= 0.99


@pytest.mark.parametrize("name, hw", [("resnet18", "tpuv1-like"), ("mobilenetv2", "edge-npu-int8")])
def test_imagenet_models_run_bit_exact(name, hw):
    model, (x,) = bundled(name, image_size=32, batch=2)
    prog = compile_model(model, (x,), hw=hw)
    assert torch.equal(prog.run(x), prog.reference(x))
    ops = {layer["op"] for layer in prog.stats["layers"]}
    assert {"qconv2d", "qlinear", "qadd"} <= ops
    # depthwise convs and the global average pool run on the vector ALU
    assert prog.stats["opcodes"].get("VMAC", 0) > 0


class Odd(nn.Module):
    """Odd shapes, strides, padding, groups, a residual, pools and a lone ReLU6."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 12, 5, stride=3, padding=2)
        self.dw = nn.Conv2d(12, 12, 3, padding=1, groups=12)
        self.bn = nn.BatchNorm2d(12)
        self.grp = nn.Conv2d(12, 9, 3, padding=1, groups=3)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.avg = nn.AvgPool2d(2, stride=1)
        self.fc = nn.Linear(9 * 2 * 3, 7)

    def forward(self, x):
        y = self.stem(x)
        y = torch.relu(y + self.bn(self.dw(y)))
        y = nn.functional.relu6(self.pool(self.grp(y)))
        y = self.avg(y)
        return self.fc(torch.flatten(y, 1))


@pytest.mark.parametrize("hw", ["tpuv1-like", "edge-npu-int8"])
def test_held_out_model_with_odd_shapes_runs_bit_exact(hw):
    torch.manual_seed(3)
    model = Odd().eval()
    with torch.no_grad():
        model.bn.running_var.uniform_(0.5, 2.0)
        model.bn.running_mean.uniform_(-0.5, 0.5)
    x = _x((3, 3, 17, 23), 1)
    prog = compile_model(model, (x,), hw=hw, batch=3)
    assert torch.equal(prog.run(x), prog.reference(x))
    ops = [n.op for n in prog.qgraph.graph.nodes]
    assert ops.count("qconv2d") == 4 and "qmaxpool" in ops and "qclamp" in ops and "qadd" in ops
    # the quantized model follows the float one
    assert torch.allclose(prog.run(x), model(x), atol=0.15 * model(x).abs().max().item())


def test_a_graph_output_that_is_an_image_comes_back_in_nchw():
    model = nn.Sequential(nn.Conv2d(2, 5, 3, padding=1), nn.ReLU())
    x = _x((2, 2, 6, 7))
    prog = compile_model(model, (x,), hw="edge-npu-int8")
    y = prog.run(x)
    assert y.shape == (2, 5, 6, 7) and torch.equal(y, prog.reference(x))


@pytest.mark.parametrize("module, op", [(nn.Sigmoid(), "Sigmoid"), (nn.Tanh(), "Tanh")])
def test_an_unsupported_op_is_one_line_naming_op_and_node(module, op):
    model = nn.Sequential(nn.Linear(4, 4), module)
    with pytest.raises(ValueError) as err:
        compile_model(model, (_x((2, 4)),))
    msg = str(err.value)
    assert msg.startswith(f"unsupported op {op} at node '_1'") and "\n" not in msg


def test_capture_prints_a_readable_graph():
    g = capture(nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten()), (_x((1, 1, 4, 4)),))
    text = str(g)
    assert "conv2d(input_1)" in text and "stride=1 padding=0 groups=1" in text
    assert "reshape(_0)" in text and text.strip().endswith("}")


def test_example_inputs_must_be_a_tuple_of_one_tensor():
    with pytest.raises(ValueError, match=r"example_inputs must be a tuple of one tensor"):
        compile_model(nn.Linear(2, 2), _x((1, 2)))


def test_a_non_systolic_preset_is_refused():
    with pytest.raises(ValueError, match="is a pim preset"):
        compile_model(nn.Linear(2, 2), (_x((1, 2)),), hw="pim-isaac")


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_the_qat_path_runs_npulab_quant_integer_model_bit_exactly(kind):
    import numpy as np

    from npulab import quant
    from npulab.datasets import digits_model

    x_train, _, x_test, _ = load_digits()
    qat = quant.calibrate(quant.prepare_qat(digits_model(kind), w_bits=8, a_bits=8), x_train[:300])
    im = quant.to_integer(qat)
    x = torch.from_numpy(x_test[:64])
    for module in (qat, im):
        prog = compile_model(module, (x,), hw="edge-npu-int8")
        y = prog.run(x)
        logits = im(x_test[:64]).astype(np.float32)
        want = (logits - im.output_zero_point) * np.float32(im.output_scale)
        assert torch.equal(y, torch.from_numpy(want.astype(np.float32)))
        assert torch.equal(y, prog.reference(x))


def test_flattened_images_keep_their_column_order_through_add_and_relu():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Conv2d(2, 3, 3), nn.Conv2d(2, 3, 3)
            self.fc = nn.Linear(3 * 4 * 5, 4)

        def forward(self, x):
            a = torch.flatten(self.a(x), 1)
            b = self.b(x).view(x.size(0), -1)
            return self.fc(torch.relu(a + b))

    torch.manual_seed(0)
    x = _x((3, 2, 6, 7), 5)
    prog = compile_model(Net().eval(), (x,), hw="edge-npu-int8")
    assert torch.equal(prog.run(x), prog.reference(x))


def test_values_the_npu_cannot_hold_are_one_line_errors():
    with pytest.raises(ValueError, match=r"^unsupported op Linear on a 4-D input at node '_0'"):
        compile_model(nn.Sequential(nn.Linear(7, 5)), (_x((2, 3, 4, 7)),))
    with pytest.raises(ValueError, match=r"^unsupported input shape \(2, 5, 7\) at node"):
        compile_model(nn.Sequential(nn.ReLU()), (_x((2, 5, 7)),))
    with pytest.raises(ValueError, match=r"^unsupported op cat at node 'cat'"):
        compile_model(Cat(), (_x((2, 3)),))


class Cat(nn.Module):
    def forward(self, x):
        return torch.cat([x, x], 1)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_same_and_valid_padding_strings():
    model = nn.Sequential(
        nn.Conv2d(2, 3, 3, padding="same"), nn.ReLU(), nn.Conv2d(3, 2, 3, padding="valid")
    )
    x = _x((2, 2, 7, 6), 3)
    prog = compile_model(model, (x,), hw="edge-npu-int8")
    assert prog.run(x).shape == (2, 2, 5, 4) and torch.equal(prog.run(x), prog.reference(x))
    with pytest.raises(ValueError, match="padding='same' with kernel"):
        compile_model(nn.Sequential(nn.Conv2d(2, 3, 2, padding="same")), (x,))
