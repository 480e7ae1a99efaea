"""Analog torch layers: perfect IO equals float, conversion, drift and compensation."""
import pytest
import torch
from torch import nn

from npulab.pim import (
    AnalogConv2d,
    AnalogLinear,
    IOConfig,
    analog_layers,
    convert_to_analog,
    drift_analog,
    program_analog,
    set_io,
)


def test_perfect_analog_model_equals_float_model():
    torch.manual_seed(0)
    m = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(),
                      nn.Conv2d(4, 8, 3, stride=2, padding=1),
                      nn.Flatten(), nn.Linear(8 * 4 * 4, 5)).eval()
    a = convert_to_analog(m, io=IOConfig(is_perfect=True), noise_model=None, tile_size=16)
    assert [type(layer) for layer in analog_layers(a)] == [AnalogConv2d, AnalogConv2d, AnalogLinear]
    x = torch.randn(3, 1, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(a(x), m(x), rtol=1e-4, atol=1e-4)
    assert isinstance(m[0], nn.Conv2d)                   # original untouched


def test_default_io_close_to_float_and_training_injects_noise():
    torch.manual_seed(1)
    lin = nn.Linear(32, 8).eval()
    a = convert_to_analog(lin, noise_model=None)
    x = torch.randn(16, 32)
    with torch.no_grad():
        err = (a(x) - lin(x)).abs().max().item()
    assert 0 < err < 0.3
    a.train()
    y1, y2 = a(x), a(x)
    assert not torch.equal(y1, y2)
    y1.sum().backward()
    assert a.weight.grad is not None


def test_drift_without_compensation_shrinks_outputs_and_compensation_restores():
    torch.manual_seed(2)
    lin = nn.Linear(64, 16, bias=False).eval()
    a = convert_to_analog(nn.Sequential(lin), io=IOConfig(out_noise=0.0))
    x = torch.rand(32, 64)
    program_analog(a, 0)
    with torch.no_grad():
        y0 = a(x).abs().mean().item()
        drift_analog(a, 3.15e7, rng=1, compensate=False)
        y_raw = a(x).abs().mean().item()
        drift_analog(a, 3.15e7, rng=1, compensate=True)
        y_comp = a(x).abs().mean().item()
    assert y_raw < 0.75 * y0
    assert abs(y_comp / y0 - 1) < 0.1


def test_drift_before_program_raises():
    layer = AnalogLinear(3, 2)
    with pytest.raises(ValueError, match="program"):
        layer.drift(10.0)


def test_set_io_reaches_every_layer():
    a = convert_to_analog(nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 2)))
    set_io(a, IOConfig.from_bits(5, 6))
    assert all(layer.io.out_res == 1 / 62 for layer in analog_layers(a))


def test_stuck_at_faults_in_a_layer_hurt_and_all_off_zeroes_the_output():
    torch.manual_seed(3)
    lin = nn.Linear(32, 8, bias=False).eval()
    x = torch.rand(8, 32)
    quiet = dict(io=IOConfig(out_noise=0.0), noise_model=pim_model(0.0))
    clean = convert_to_analog(lin, **quiet)
    some = convert_to_analog(lin, faults=(0.1, 0.05), **quiet)
    dead = convert_to_analog(lin, faults=(1.0, 0.0), **quiet)
    for m in (clean, some, dead):
        m.program(0)
    with torch.no_grad():
        ref = lin(x)
        err_clean = (clean(x) - ref).abs().mean().item()
        err_some = (some(x) - ref).abs().mean().item()
        assert err_some > 5 * err_clean
        assert torch.all(dead(x) == 0)


def test_ir_drop_in_a_layer_shrinks_outputs_more_with_more_resistance():
    from npulab.hw import CrossbarConfig

    torch.manual_seed(4)
    lin = nn.Linear(128, 4, bias=False).eval()
    with torch.no_grad():
        lin.weight.abs_()                                       # all positive: currents add up
    x = torch.rand(4, 128)
    io = IOConfig(is_perfect=False, out_noise=0.0, inp_res=-1, out_res=-1)
    outs = []
    for r in (0.0, 0.5, 2.0):
        a = convert_to_analog(lin, io=io, noise_model=None, ir_drop=CrossbarConfig(r_wire_ohm=r))
        with torch.no_grad():
            outs.append(a(x).sum().item())
    with torch.no_grad():
        assert outs[0] == pytest.approx(lin(x).sum().item(), rel=1e-5)
    assert outs[2] < outs[1] < outs[0]


def pim_model(scale):
    from npulab.pim import PCMNoiseModel

    return PCMNoiseModel(prog_noise_scale=scale, read_noise_scale=scale)


def test_hardware_aware_training_with_noise_injection_lowers_the_loss():
    torch.manual_seed(5)
    x = torch.randn(64, 10)
    target = x @ torch.randn(10, 3)
    layer = AnalogLinear(10, 3, noise_model=None, train_noise=0.05).train()
    opt = torch.optim.SGD(layer.parameters(), lr=0.1)
    losses = []
    for _ in range(60):
        opt.zero_grad()
        loss = ((layer(x) - target) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]
    layer.eval()
    with torch.no_grad():
        assert ((layer(x) - target) ** 2).mean().item() < 0.2 * losses[0]
