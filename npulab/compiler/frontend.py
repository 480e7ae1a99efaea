"""Front end: capture a ``torch.nn.Module`` with ``torch.fx`` into the graph IR.

:func:`capture` traces the module symbolically (``torch.fx.symbolic_trace``), runs the
example inputs through it to learn every value's shape (``ShapeProp``), and maps each
fx node to one IR op.  BatchNorm that follows a convolution is folded into its weights
and bias (``w' = w g / sqrt(v + eps)``, ``b' = (b - m) g / sqrt(v + eps) + beta``);
Identity and Dropout (eval mode) disappear.  Any other op raises a one-line
``ValueError`` naming the op and the node.

Supported: ``nn.Linear``, ``nn.Conv2d`` (stride, padding, groups incl. depthwise;
square stride and padding, no dilation), ``nn.BatchNorm2d`` after a conv, ReLU and
ReLU6 (module, functional or method), ``nn.MaxPool2d``, ``nn.AvgPool2d``,
``nn.AdaptiveAvgPool2d`` to 1x1, ``+``/``torch.add`` of two tensors, flatten / view /
reshape / ``nn.Flatten`` / ``nn.Unflatten``.  For a transformer block on ``[tokens, features]``
values: ``nn.RMSNorm`` (over the last axis), column slices ``x[:, a:b]`` (attention heads),
``F.scaled_dot_product_attention`` of 2-D ``q, k, v`` (one head; ``is_causal``, ``scale``),
``torch.cat(..., dim=1)``, SiLU and GELU (module or functional) and the product ``a * b`` of
two tensors (a gated MLP).

References
----------
J. Reed et al., "torch.fx: Practical Program Capture and Transformation for Deep
Learning in Python", MLSys 2022.
"""

from __future__ import annotations

import operator

import numpy as np

from npulab.compiler.ir import Graph, Node

__all__ = ["capture", "SUPPORTED"]

#: What the front end accepts (for error messages and the docs).
SUPPORTED = (
    "Linear",
    "Conv2d",
    "BatchNorm2d (after a conv)",
    "ReLU",
    "ReLU6",
    "MaxPool2d",
    "AvgPool2d",
    "AdaptiveAvgPool2d(1)",
    "add",
    "flatten/view/reshape",
    "Flatten",
    "Unflatten",
    "Identity",
    "Dropout",
    "RMSNorm",
    "column slice x[:, a:b]",
    "scaled_dot_product_attention",
    "cat(dim=1)",
    "SiLU",
    "GELU",
    "mul of two tensors",
)


def _np(t):
    return None if t is None else t.detach().cpu().numpy().astype(np.float32)


def _one(v, what, node):
    """A square stride/padding as one int."""
    if isinstance(v, str):
        raise ValueError(f"unsupported {what}={v!r} at node {node!r} (give an int)")
    v = tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    if v[0] != v[1]:
        raise ValueError(f"unsupported non-square {what} {v} at node {node!r}")
    return int(v[0])


def _conv_padding(mod, name):
    """A conv's padding as one int; ``"valid"`` is 0, ``"same"`` (stride 1) half the odd kernel."""
    if mod.padding == "valid":
        return 0
    if mod.padding == "same":
        kh, kw = _pair(mod.kernel_size)
        if kh != kw or kh % 2 == 0:
            raise ValueError(f"unsupported padding='same' with kernel {mod.kernel_size} at node "
                             f"{name!r} (needs a square odd kernel)")
        return kh // 2
    return _one(mod.padding, "padding", name)


def _pair(v):
    return tuple(int(a) for a in v) if isinstance(v, (tuple, list)) else (int(v), int(v))


def _module_node(name, mod, args, shape, graph, nn):
    """IR op and attributes for a ``call_module`` node (None means: pass the input through)."""
    if isinstance(mod, nn.Linear):
        if len(graph.shape(args[0])) != 2:
            raise ValueError(f"unsupported op Linear on a {len(graph.shape(args[0]))}-D input at "
                             f"node {name!r} (the NPU's linear layers take [N, features])")
        return "linear", {"weight": _np(mod.weight), "bias": _np(mod.bias)}
    if isinstance(mod, nn.Conv2d):
        if _pair(mod.dilation) != (1, 1) or mod.padding_mode != "zeros":
            raise ValueError(f"unsupported op Conv2d with dilation/padding_mode at node {name!r}")
        return "conv2d", {
            "weight": _np(mod.weight),
            "bias": _np(mod.bias),
            "stride": _one(mod.stride, "stride", name),
            "padding": _conv_padding(mod, name),
            "groups": int(mod.groups),
        }
    if isinstance(mod, nn.BatchNorm2d):
        prev = graph.node(args[0]) if args[0] in {n.name for n in graph.nodes} else None
        if prev is None or prev.op != "conv2d" or len(graph.users(prev.name)) != 0:
            raise ValueError(
                f"unsupported op BatchNorm2d not directly after a conv at node {name!r}"
            )
        g = mod.weight.detach().double().numpy() if mod.affine else np.ones(mod.num_features)
        beta = mod.bias.detach().double().numpy() if mod.affine else np.zeros(mod.num_features)
        mean = mod.running_mean.double().numpy()
        inv = g / np.sqrt(mod.running_var.double().numpy() + mod.eps)
        w = prev.attrs["weight"].astype(np.float64) * inv[:, None, None, None]
        b = prev.attrs["bias"] if prev.attrs["bias"] is not None else np.zeros(len(mean))
        prev.attrs["weight"] = w.astype(np.float32)
        prev.attrs["bias"] = ((b - mean) * inv + beta).astype(np.float32)
        return "fold", {}
    if isinstance(mod, nn.ReLU):
        return "relu", {}
    if isinstance(mod, nn.ReLU6):
        return "relu6", {}
    if isinstance(mod, nn.Hardtanh) and (mod.min_val, mod.max_val) == (0.0, 6.0):
        return "relu6", {}
    if isinstance(mod, nn.MaxPool2d):
        if mod.ceil_mode or _pair(mod.dilation) != (1, 1):
            raise ValueError(f"unsupported op MaxPool2d with ceil_mode/dilation at node {name!r}")
        return "maxpool", {
            "kernel": _pair(mod.kernel_size),
            "stride": _one(mod.stride or mod.kernel_size, "stride", name),
            "padding": _one(mod.padding, "padding", name),
        }
    if isinstance(mod, nn.AvgPool2d):
        if mod.ceil_mode or not mod.count_include_pad or mod.divisor_override:
            raise ValueError(
                f"unsupported op AvgPool2d with ceil_mode/count_include_pad=False at node {name!r}"
            )
        return "avgpool", {
            "kernel": _pair(mod.kernel_size),
            "stride": _one(mod.stride or mod.kernel_size, "stride", name),
            "padding": _one(mod.padding, "padding", name),
        }
    if isinstance(mod, nn.AdaptiveAvgPool2d):
        if _pair(mod.output_size) != (1, 1):
            raise ValueError(
                f"unsupported op AdaptiveAvgPool2d to {mod.output_size} at node {name!r} (only 1x1)"
            )
        h, w = graph.shape(args[0])[2:]
        return "avgpool", {"kernel": (h, w), "stride": 1, "padding": 0}
    if type(mod).__name__ == "RMSNorm" and hasattr(mod, "normalized_shape"):
        shape_n = tuple(mod.normalized_shape)
        if len(shape_n) != 1 or len(graph.shape(args[0])) != 2:
            raise ValueError(f"unsupported op RMSNorm over {list(shape_n)} at node {name!r} "
                             f"(the NPU normalises the last axis of [tokens, features])")
        n = shape_n[0]
        w = _np(mod.weight) if mod.weight is not None else np.ones(n, np.float32)
        eps = mod.eps if mod.eps is not None else float(np.finfo(np.float32).eps)
        return "rmsnorm", {"weight": w, "eps": float(eps)}
    if isinstance(mod, nn.SiLU):
        return "silu", {}
    if isinstance(mod, nn.GELU):
        return "gelu", {"approximate": mod.approximate}
    if isinstance(mod, (nn.Flatten, nn.Unflatten)):
        return "reshape", {}
    if isinstance(mod, (nn.Identity, nn.Dropout)):
        return None, {}
    raise ValueError(
        f"unsupported op {type(mod).__name__} at node {name!r} (supported: {', '.join(SUPPORTED)})"
    )


def _function_node(name, target, args, kwargs, F, torch):
    """IR op for a ``call_function`` / ``call_method`` node."""
    tname = getattr(target, "__name__", str(target))
    if target in (operator.add, operator.iadd, torch.add, "add", "add_"):
        if len([a for a in args if isinstance(a, str)]) == 2 and len(args) == 2 and not kwargs:
            return "add", {}
        raise ValueError(f"unsupported op add of a tensor and a constant at node {name!r}")
    if target is operator.getitem:
        idx = args[1] if len(args) > 1 else None
        ok = (isinstance(idx, tuple) and len(idx) == 2 and idx[0] == slice(None)
              and isinstance(idx[1], slice) and idx[1].step in (None, 1))
        if not ok:
            raise ValueError(f"unsupported op getitem {idx!r} at node {name!r} (only column "
                             f"slices x[:, a:b])")
        return "slice", {"start": idx[1].start, "stop": idx[1].stop}
    if target is F.scaled_dot_product_attention:
        bad = set(kwargs) - {"is_causal", "scale"}
        if bad or len(args) != 3 or kwargs.get("scale") is not None and kwargs["scale"] <= 0:
            raise ValueError(f"unsupported op scaled_dot_product_attention with {sorted(bad)} "
                             f"at node {name!r} (q, k, v, is_causal, scale only)")
        return "sdpa", {"causal": bool(kwargs.get("is_causal", False)),
                        "scale": kwargs.get("scale")}
    if target is torch.cat:
        dim = kwargs.get("dim", args[1] if len(args) > 1 else 0)
        if dim not in (1, -1):
            raise ValueError(f"unsupported op cat along dim {dim} at node {name!r} (only dim=1)")
        return "cat", {}
    if target in (F.silu, "silu"):
        return "silu", {}
    if target is F.gelu:
        return "gelu", {"approximate": kwargs.get("approximate", "none")}
    if target in (operator.mul, torch.mul, "mul"):
        if len([a for a in args if isinstance(a, str)]) == 2 and len(args) == 2 and not kwargs:
            return "mul", {}
        raise ValueError(f"unsupported op mul of a tensor and a constant at node {name!r}")
    if target in (F.relu, torch.relu, "relu", "relu_"):
        return "relu", {}
    if target is F.relu6:
        return "relu6", {}
    if target in (torch.flatten, "flatten", "view", "reshape"):
        return "reshape", {}
    if target in (F.dropout, "contiguous") or tname == "dropout":
        return None, {}
    raise ValueError(f"unsupported op {tname} at node {name!r} (supported: {', '.join(SUPPORTED)})")


def capture(module, example_inputs) -> Graph:
    """Trace ``module`` into a :class:`~npulab.compiler.ir.Graph` with shapes.

    Parameters
    ----------
    module : torch.nn.Module
        Put in eval mode by this call (BatchNorm uses its running statistics).
    example_inputs : tuple of torch.Tensor
        One input tensor (batch first); its shape fixes every value's shape in the graph.

    Returns
    -------
    Graph
        Float ops with float32 numpy weights.

    Raises
    ------
    ValueError
        One line naming the unsupported op and the fx node, e.g.
        ``unsupported op Sigmoid at node 'act'``.

    Examples
    --------
    >>> import torch
    >>> model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())
    >>> g = capture(model, (torch.zeros(2, 4),))
    >>> [n.op for n in g.nodes], g.outputs
    (['linear', 'relu'], ['_1'])
    """
    import torch
    import torch.fx
    import torch.nn.functional as F
    from torch import nn
    from torch.fx.passes.shape_prop import ShapeProp

    if not isinstance(module, nn.Module):
        raise ValueError(f"capture: module must be a torch.nn.Module; got {type(module).__name__}")
    if not isinstance(example_inputs, (tuple, list)) or len(example_inputs) != 1:
        raise ValueError("capture: example_inputs must be a tuple of one tensor")
    module.eval()
    try:
        gm = torch.fx.symbolic_trace(module)
    except Exception as err:  # fx raises many kinds (TraceError, TypeError) on dynamic code
        raise ValueError(
            f"capture: torch.fx cannot trace {type(module).__name__}: {str(err).splitlines()[0]}"
        ) from None
    with torch.no_grad():
        ShapeProp(gm).propagate(*example_inputs)
    graph = Graph()
    alias: dict[str, str | None] = {}
    mods = dict(gm.named_modules())
    for fxn in gm.graph.nodes:
        meta = fxn.meta.get("tensor_meta")
        shape = tuple(meta.shape) if meta is not None and hasattr(meta, "shape") else None
        if fxn.op == "placeholder":
            if shape is None or len(shape) not in (2, 4):
                raise ValueError(f"unsupported input shape {shape} at node {fxn.name!r} (the NPU "
                                 f"takes [N, F] or [N, C, H, W])")
            graph.inputs[fxn.name] = shape
            continue
        if fxn.op == "output":
            outs = fxn.args[0]
            outs = outs if isinstance(outs, (tuple, list)) else (outs,)
            graph.outputs = [alias.get(o.name, o.name) for o in outs]
            continue
        args = tuple(
            alias.get(a.name, a.name) if isinstance(a, torch.fx.Node) else a for a in fxn.args
        )
        if fxn.target is torch.cat and args and isinstance(args[0], (list, tuple)):
            parts = tuple(alias.get(a.name, a.name) for a in args[0])
            args = (parts,) + args[1:]
        if fxn.op == "call_method" and fxn.target in ("size", "dim"):
            alias[fxn.name] = None  # a Python number, read only by reshapes
            continue
        if fxn.op == "get_attr":
            raise ValueError(f"unsupported op get_attr {fxn.target} at node {fxn.name!r}")
        if fxn.op == "call_module":
            op, attrs = _module_node(fxn.name, mods[fxn.target], args, shape, graph, nn)
        else:
            op, attrs = _function_node(fxn.name, fxn.target, args, fxn.kwargs, F, torch)
        tensors = tuple(a for a in args if isinstance(a, str))
        if op == "cat":
            joined = args[0]
            tensors = tuple(joined) if isinstance(joined, tuple) else ()
        if op == "slice":
            width = graph.shape(tensors[0])[1]
            start, stop, _ = slice(attrs["start"], attrs["stop"]).indices(width)
            attrs = {"start": start, "stop": stop}
        if op == "sdpa" and attrs["scale"] is None:
            attrs["scale"] = 1.0 / float(np.sqrt(graph.shape(tensors[0])[1]))
        if op is None:
            alias[fxn.name] = tensors[0]
            continue
        if op == "fold":  # BatchNorm folded into the conv before it: the conv takes its name
            alias[fxn.name] = tensors[0]
            continue
        if op == "reshape":
            tensors = tensors[:1]
        if shape is None:
            raise ValueError(f"unsupported op {fxn.target} at node {fxn.name!r} (no tensor output)")
        if len(shape) not in (2, 4):
            raise ValueError(f"unsupported {len(shape)}-D value from op {op} at node {fxn.name!r} "
                             f"(the NPU holds [N, F] and [N, C, H, W] values)")
        graph.add(Node(fxn.name, op, tensors, attrs, shape))
    return graph
