"""Bundled models for the compiler: the digits MLP/CNN and torchvision-free ResNet-18 and
MobileNetV2 with seeded random weights.

:func:`bundled` returns ``(module, example_inputs)``; every random number comes from a
``torch.Generator`` seeded by the caller.

References
----------
K. He et al., "Deep Residual Learning for Image Recognition", CVPR 2016 (ResNet-18:
BasicBlocks [2, 2, 2, 2]).  M. Sandler et al., "MobileNetV2: Inverted Residuals and Linear
Bottlenecks", CVPR 2018 (Table 2: expansion t, channels c, repeats n, stride s).
"""

from __future__ import annotations

__all__ = ["MODELS", "bundled", "resnet18", "mobilenet_v2"]

#: Model names ``npulab compile`` and :func:`bundled` accept.
MODELS = ("digits-mlp", "digits-cnn", "resnet18", "mobilenetv2")


def _nn():
    from torch import nn

    return nn


def _randomize(model, seed: int):
    """Seeded random weights and BatchNorm statistics (so BN folding is exercised)."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
                if m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.01)
            elif isinstance(m, torch.nn.BatchNorm2d):
                c = m.num_features
                if m.weight is not None and m.bias is not None:
                    m.weight.copy_(1.0 + 0.1 * torch.randn(c, generator=gen))
                    m.bias.copy_(0.1 * torch.randn(c, generator=gen))
                if m.running_mean is not None and m.running_var is not None:
                    m.running_mean.copy_(0.1 * torch.randn(c, generator=gen))
                    m.running_var.copy_(1.0 + 0.1 * torch.rand(c, generator=gen))
    return model.eval()


def _basic_block(cin, cout, stride):
    nn = _nn()

    class BasicBlock(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU()
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.down = None
            if stride != 1 or cin != cout:
                self.down = nn.Sequential(
                    nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
                )

        def forward(self, x):
            idt = x if self.down is None else self.down(x)
            y = self.relu(self.bn1(self.conv1(x)))
            y = self.bn2(self.conv2(y))
            return self.relu(y + idt)

    return BasicBlock()


def resnet18(num_classes: int = 1000, seed: int = 0):
    """ResNet-18 (He et al. 2016) with seeded random weights, eval mode."""
    nn = _nn()
    layers = [
        nn.Conv2d(3, 64, 7, 2, 3, bias=False),
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.MaxPool2d(3, 2, 1),
    ]
    cin = 64
    for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        layers += [_basic_block(cin, cout, stride), _basic_block(cout, cout, 1)]
        cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, num_classes)]
    return _randomize(nn.Sequential(*layers), seed)


def _inverted_residual(cin, cout, stride, t):
    nn = _nn()

    class InvertedResidual(nn.Module):
        def __init__(self):
            super().__init__()
            hid = cin * t
            mods = []
            if t != 1:
                mods += [nn.Conv2d(cin, hid, 1, bias=False), nn.BatchNorm2d(hid), nn.ReLU6()]
            mods += [
                nn.Conv2d(hid, hid, 3, stride, 1, groups=hid, bias=False),
                nn.BatchNorm2d(hid),
                nn.ReLU6(),
                nn.Conv2d(hid, cout, 1, bias=False),
                nn.BatchNorm2d(cout),
            ]
            self.conv = nn.Sequential(*mods)
            self.residual = stride == 1 and cin == cout

        def forward(self, x):
            return x + self.conv(x) if self.residual else self.conv(x)

    return InvertedResidual()


def mobilenet_v2(num_classes: int = 1000, width: float = 1.0, seed: int = 0):
    """MobileNetV2 (Sandler et al. 2018, Table 2) with seeded random weights, eval mode."""
    nn = _nn()

    def ch(c):
        return max(8, int(c * width + 4) // 8 * 8)

    cin = ch(32)
    layers = [nn.Conv2d(3, cin, 3, 2, 1, bias=False), nn.BatchNorm2d(cin), nn.ReLU6()]
    for t, c, n, s in (
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ):
        for i in range(n):
            layers.append(_inverted_residual(cin, ch(c), s if i == 0 else 1, t))
            cin = ch(c)
    last = ch(1280) if width > 1.0 else 1280
    layers += [
        nn.Conv2d(cin, last, 1, bias=False),
        nn.BatchNorm2d(last),
        nn.ReLU6(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(last, num_classes),
    ]
    return _randomize(nn.Sequential(*layers), seed)


def bundled(name: str, image_size: int = 224, batch: int = 4, seed: int = 0):
    """A bundled model and calibration inputs: ``(module, (x,))``.

    Parameters
    ----------
    name : str
        One of :data:`MODELS`.
    image_size : int, default 224
        Input height and width of ResNet-18 / MobileNetV2.
    batch : int, default 4
        Calibration images for the ImageNet models (random normal, seeded); the digits
        models calibrate on the digits training set.
    seed : int, default 0

    Examples
    --------
    >>> m, (x,) = bundled("digits-mlp")
    >>> tuple(x.shape)
    (1437, 64)
    """
    import torch

    if name in ("digits-mlp", "digits-cnn"):
        from npulab.datasets import digits_model, load_digits

        x_train = load_digits()[0]
        return digits_model(name.split("-")[1]), (torch.from_numpy(x_train),)
    gen = torch.Generator().manual_seed(seed + 1)
    x = torch.randn((batch, 3, image_size, image_size), generator=gen)
    if name == "resnet18":
        return resnet18(seed=seed), (x,)
    if name == "mobilenetv2":
        return mobilenet_v2(seed=seed), (x,)
    raise ValueError(f"unknown model {name!r} (bundled: {', '.join(MODELS)})")
