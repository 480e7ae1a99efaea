"""Tracing torch modules: a hand-built ResNet-18 reproduces the bundled topology."""
import dataclasses

import pytest
import torch
from torch import nn

from npulab import datasets
from npulab.workloads import Gemm, from_torch


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.downsample = nn.Conv2d(cin, cout, 1, stride, bias=False) if stride != 1 or cin != cout else None

    def forward(self, x):
        y = self.conv2(torch.relu(self.conv1(x)))
        return torch.relu(y + (self.downsample(x) if self.downsample is not None else x))


class ResNet18(nn.Module):
    """He et al. 2016, Table 1, 18 layers (batch norm omitted: it adds no MACs)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.pool = nn.MaxPool2d(3, 2, 1)
        chans = [(64, 64, 1), (64, 128, 2), (128, 256, 2), (256, 512, 2)]
        for i, (cin, cout, s) in enumerate(chans, start=1):
            setattr(self, f"layer{i}", nn.Sequential(Block(cin, cout, s), Block(cout, cout, 1)))
        self.fc = nn.Linear(512, 1000)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv1(x)))
        for i in range(1, 5):
            x = getattr(self, f"layer{i}")(x)
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def test_traced_resnet18_matches_bundled_topology():
    traced = from_torch(ResNet18().eval(), torch.zeros(1, 3, 224, 224))
    bundled = datasets.topology("resnet18")
    assert [t.name for t in traced] == [b.name for b in bundled]
    for t, b in zip(traced[:-1], bundled[:-1]):
        # a SCALE-Sim topology has no padding column: the same layer with its border unmarked
        assert dataclasses.replace(t, padding=0) == b, t.name
    assert traced[0].padding == 3 and traced[1].padding == 1     # conv1 7x7 pad 3; 3x3 convs pad 1
    assert traced[-1] == Gemm(1, 1000, 512, name="fc")
    assert sum(t.macs for t in traced) == sum(b.macs for b in bundled)


def test_linear_on_sequence_folds_leading_dims():
    layers = from_torch(nn.Sequential(nn.Linear(16, 32)), torch.zeros(4, 10, 16))
    assert layers == [Gemm(40, 32, 16, name="0")]


def test_batched_conv_becomes_gemm():
    conv = nn.Conv2d(3, 8, 3, padding=1)
    (g,) = from_torch(conv, torch.zeros(2, 3, 8, 8))
    assert g == Gemm(M=2 * 8 * 8, N=8, K=27, name="Conv2d")


def test_grouped_conv_is_rejected_with_its_name():
    model = nn.Sequential(nn.Conv2d(8, 8, 3, groups=8))
    with pytest.raises(ValueError, match=r"^0: grouped convolution \(groups=8\)"):
        from_torch(model, torch.zeros(1, 8, 8, 8))
