"""Bundled models for the compiler: the digits MLP/CNN, torchvision-free ResNet-18 and
MobileNetV2, and one decoder layer of SmolLM-135M, with seeded random weights.

:func:`bundled` returns ``(module, example_inputs)``; every random number comes from a
``torch.Generator`` seeded by the caller.

References
----------
K. He et al., "Deep Residual Learning for Image Recognition", CVPR 2016 (ResNet-18:
BasicBlocks [2, 2, 2, 2]).  M. Sandler et al., "MobileNetV2: Inverted Residuals and Linear
Bottlenecks", CVPR 2018 (Table 2: expansion t, channels c, repeats n, stride s).
HuggingFaceTB/SmolLM-135M ``config.json`` (a Llama-architecture model: hidden size 576,
intermediate size 1536, 9 attention heads of 64, 3 key/value heads, SiLU-gated MLP, RMSNorm
with eps 1e-5, 30 such layers).
"""

from __future__ import annotations

__all__ = ["MODELS", "SMOLLM_135M", "bundled", "resnet18", "mobilenet_v2", "decoder_layer"]

#: Model names ``npulab compile`` and :func:`bundled` accept.
MODELS = ("digits-mlp", "digits-cnn", "resnet18", "mobilenetv2", "smollm-135m-layer")

#: Shape of one SmolLM-135M decoder layer (HuggingFaceTB/SmolLM-135M config.json).
SMOLLM_135M = {"hidden": 576, "heads": 9, "kv_heads": 3, "head_dim": 64, "intermediate": 1536,
               "rms_norm_eps": 1e-5}


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


def decoder_layer(hidden=576, heads=9, kv_heads=3, head_dim=64, intermediate=1536,
                  rms_norm_eps=1e-5, seed: int = 0):
    """One Llama-style decoder layer on ``[tokens, hidden]`` (one sequence, rows = tokens).

    ``x + o(attn(norm1(x)))`` with grouped-query causal attention (``heads`` query heads share
    ``kv_heads`` key/value heads), then ``+ down(silu(gate(norm2(x))) * up(norm2(x)))``;
    RMSNorm gains ``1 + 0.1 N(0, 1)``, Linear weights He-normal, no biases (as in Llama).
    Rotary position embeddings are left out (the NPU has no op for them yet).

    Examples
    --------
    >>> import torch
    >>> layer = decoder_layer(hidden=32, heads=4, kv_heads=2, head_dim=8, intermediate=48)
    >>> tuple(layer(torch.zeros(5, 32)).shape)
    (5, 32)
    """
    import torch
    import torch.nn.functional as F
    from torch import nn

    if heads % kv_heads:
        raise ValueError(f"decoder_layer: heads ({heads}) must be a multiple of kv_heads "
                         f"({kv_heads})")

    class DecoderLayer(nn.Module):
        def __init__(self):
            super().__init__()
            self.input_layernorm = nn.RMSNorm(hidden, eps=rms_norm_eps)
            self.q_proj = nn.Linear(hidden, heads * head_dim, bias=False)
            self.k_proj = nn.Linear(hidden, kv_heads * head_dim, bias=False)
            self.v_proj = nn.Linear(hidden, kv_heads * head_dim, bias=False)
            self.o_proj = nn.Linear(heads * head_dim, hidden, bias=False)
            self.post_attention_layernorm = nn.RMSNorm(hidden, eps=rms_norm_eps)
            self.gate_proj = nn.Linear(hidden, intermediate, bias=False)
            self.up_proj = nn.Linear(hidden, intermediate, bias=False)
            self.down_proj = nn.Linear(intermediate, hidden, bias=False)

        def forward(self, x):
            h = self.input_layernorm(x)
            q, k, v = self.q_proj(h), self.k_proj(h), self.v_proj(h)
            outs = []
            for i in range(heads):
                j = i // (heads // kv_heads)
                qs, ks = slice(i * head_dim, (i + 1) * head_dim), slice(j * head_dim,
                                                                        (j + 1) * head_dim)
                outs.append(F.scaled_dot_product_attention(q[:, qs], k[:, ks], v[:, ks],
                                                           is_causal=True))
            x = x + self.o_proj(torch.cat(outs, dim=1))
            h = self.post_attention_layernorm(x)
            return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))

    model = _randomize(DecoderLayer(), seed)
    gen = torch.Generator().manual_seed(seed + 2)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.RMSNorm):
                m.weight.copy_(1.0 + 0.1 * torch.randn(m.weight.shape, generator=gen))
    return model


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
    if name == "smollm-135m-layer":  # 16 tokens, whatever batch and image_size say
        tokens = torch.randn((16, int(SMOLLM_135M["hidden"])), generator=gen)
        return decoder_layer(**SMOLLM_135M, seed=seed), (tokens,)
    x = torch.randn((batch, 3, image_size, image_size), generator=gen)
    if name == "resnet18":
        return resnet18(seed=seed), (x,)
    if name == "mobilenetv2":
        return mobilenet_v2(seed=seed), (x,)

    raise ValueError(f"unknown model {name!r} (bundled: {', '.join(MODELS)})")
