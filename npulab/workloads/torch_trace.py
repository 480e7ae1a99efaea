"""Build a workload list from a ``torch.nn.Module`` by running it once.

Forward hooks on every ``nn.Linear`` and ``nn.Conv2d`` record the shapes they actually see,
so control flow, reshapes and batch size are whatever the real forward pass does.

* ``nn.Linear`` on input ``[..., in]`` -> ``Gemm(M = prod(...), N = out, K = in)``.
* ``nn.Conv2d`` on ``[B, C, H, W]`` -> ``Conv2d`` with the padding added to ``H`` and ``W``
  (SCALE-Sim's convention); with a batch ``B > 1`` the layer is returned as its im2col
  GEMM with the batch folded into ``M``.
"""
from __future__ import annotations

from npulab.workloads.layers import Conv2d, Gemm


def _pair(v, what: str, name: str) -> int:
    if isinstance(v, tuple):
        if len(set(v)) != 1:
            raise ValueError(f"{name}: non-square {what} {v} is not supported")
        v = v[0]
    return int(v)


def from_torch(module, example_input) -> list:
    """Trace ``module(example_input)`` and return its Linear/Conv2d layers in call order.

    Parameters
    ----------
    module : torch.nn.Module
        The model (put it in ``eval()`` mode first if it has dropout or batch norm).
    example_input : torch.Tensor or tuple of tensors
        One input batch; shapes, not values, matter.

    Returns
    -------
    list of Gemm or Conv2d
        Named by the module's qualified name (``"layer1.0.conv1"``).  A conv layer run on a
        batch of ``B > 1`` images is returned as its im2col :class:`Gemm` with ``M = B * E * F``.

    Raises
    ------
    ValueError
        For grouped/depthwise or dilated convolutions and non-square kernels/strides, which a
        single SCALE-Sim topology row cannot describe.
    """
    import torch
    from torch import nn

    layers: list = []
    handles = []

    def hook_for(name):
        def hook(mod, args, _out):
            x = args[0]
            if isinstance(mod, nn.Linear):
                m = int(x.numel() // x.shape[-1])
                layers.append(Gemm(M=m, N=mod.out_features, K=mod.in_features, name=name))
                return
            if mod.groups != 1:
                raise ValueError(f"{name}: grouped convolution (groups={mod.groups}) is not supported")
            if _pair(mod.dilation, "dilation", name) != 1:
                raise ValueError(f"{name}: dilated convolution is not supported")
            if not isinstance(mod.padding, tuple):
                raise ValueError(f"{name}: padding={mod.padding!r} is not supported; use integers")
            pad = _pair(mod.padding, "padding", name)
            kh, kw = mod.kernel_size
            batch, channels, h, w = (int(s) for s in x.shape) if x.dim() == 4 else (1, *map(int, x.shape))
            conv = Conv2d(
                ifmap_h=h + 2 * pad,
                ifmap_w=w + 2 * pad,
                filter_h=kh,
                filter_w=kw,
                channels=channels,
                num_filters=mod.out_channels,
                stride=_pair(mod.stride, "stride", name),
                name=name,
                padding=pad,
            )
            if batch == 1:
                layers.append(conv)
            else:
                g = conv.to_gemm()
                layers.append(Gemm(M=batch * g.M, N=g.N, K=g.K, name=name))

        return hook

    for name, mod in module.named_modules():
        if isinstance(mod, (nn.Linear, nn.Conv2d)):
            handles.append(mod.register_forward_hook(hook_for(name or type(mod).__name__)))
    try:
        with torch.no_grad():
            if isinstance(example_input, tuple):
                module(*example_input)
            else:
                module(example_input)
    finally:
        for h in handles:
            h.remove()
    return layers
