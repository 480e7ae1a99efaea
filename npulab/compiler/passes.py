"""Graph passes on the float IR, one transformation each.

* :func:`fuse_activations`: a ReLU/ReLU6 whose only input is a conv, linear or add (read by
  nothing else) becomes that node's ``act`` attribute, so quantization folds it into the
  output clamp and the lowering applies it in the same pass over the accumulator.
* :func:`float_forward`: run the float graph (torch ops) and return every value; used to
  calibrate the quantizer and as the float oracle.
"""

from __future__ import annotations

import numpy as np

from npulab.compiler.ir import Graph, Node

__all__ = ["fuse_activations", "float_forward"]

_FUSABLE = ("linear", "conv2d", "add")


def fuse_activations(graph: Graph) -> Graph:
    """Fold each ReLU/ReLU6 into the conv/linear/add that produces its only input.

    Returns a new graph; later readers of the activation read the fused node instead.

    Examples
    --------
    >>> g = Graph(inputs={"x": (1, 4)})
    >>> w = {"weight": np.ones((2, 4), np.float32), "bias": None}
    >>> g.add(Node("fc", "linear", ("x",), w, (1, 2)))
    >>> g.add(Node("r", "relu", ("fc",), {}, (1, 2))); g.outputs = ["r"]
    >>> h = fuse_activations(g)
    >>> [(n.name, n.op, n.attrs["act"]) for n in h.nodes], h.outputs
    ([('fc', 'linear', 'relu')], ['fc'])
    """
    out = Graph(inputs=dict(graph.inputs))
    rename: dict[str, str] = {}
    produced: dict[str, Node] = {}
    for node in graph.nodes:
        ins = tuple(rename.get(i, i) for i in node.inputs)
        src = produced.get(ins[0]) if ins else None
        if (
            node.op in ("relu", "relu6")
            and src is not None
            and src.op in _FUSABLE
            and src.attrs.get("act") is None
            and len(graph.users(node.inputs[0])) == 1
            and node.inputs[0] not in graph.outputs
        ):
            src.attrs["act"] = node.op
            rename[node.name] = src.name
            continue
        attrs = dict(node.attrs)
        if node.op in _FUSABLE:
            attrs.setdefault("act", None)
        new = Node(node.name, node.op, ins, attrs, tuple(node.shape))
        out.add(new)
        produced[new.name] = new
    out.outputs = [rename.get(o, o) for o in graph.outputs]
    return out


def float_forward(graph: Graph, x) -> dict:
    """Every value of the float graph for input ``x`` (torch ops, float32).

    Returns
    -------
    dict
        value name -> torch.Tensor (inputs included).
    """
    import torch
    import torch.nn.functional as F

    (name,) = graph.inputs
    vals = {name: torch.as_tensor(np.asarray(x, np.float32))}
    for n in graph.nodes:
        a = [vals[i] for i in n.inputs]
        at = n.attrs
        if n.op == "linear":
            b = None if at["bias"] is None else torch.from_numpy(at["bias"])
            y = F.linear(a[0], torch.from_numpy(at["weight"]), b)
        elif n.op == "conv2d":
            b = None if at["bias"] is None else torch.from_numpy(at["bias"])
            y = F.conv2d(
                a[0],
                torch.from_numpy(at["weight"]),
                b,
                at["stride"],
                at["padding"],
                1,
                at["groups"],
            )
        elif n.op == "add":
            y = a[0] + a[1]
        elif n.op == "relu":
            y = torch.relu(a[0])
        elif n.op == "relu6":
            y = torch.clamp(a[0], 0.0, 6.0)
        elif n.op == "maxpool":
            y = F.max_pool2d(a[0], at["kernel"], at["stride"], at["padding"])
        elif n.op == "avgpool":
            y = F.avg_pool2d(a[0], at["kernel"], at["stride"], at["padding"])
        elif n.op == "reshape":
            y = a[0].reshape((a[0].shape[0],) + tuple(n.shape[1:]))
        elif n.op == "rmsnorm":
            ms = a[0].pow(2).mean(dim=-1, keepdim=True)
            y = a[0] * torch.rsqrt(ms + at["eps"]) * torch.from_numpy(at["weight"])
        elif n.op == "slice":
            y = a[0][:, at["start"] : at["stop"]]
        elif n.op == "sdpa":
            s = (a[0] @ a[1].T) * at["scale"]
            if at["causal"]:
                keep = torch.ones(s.shape, dtype=torch.bool).tril()
                s = s.masked_fill(~keep, float("-inf"))
            y = torch.softmax(s, dim=-1) @ a[2]
        elif n.op == "cat":
            y = torch.cat(a, dim=1)
        elif n.op == "silu":
            y = F.silu(a[0])
        elif n.op == "gelu":
            y = F.gelu(a[0], approximate=at["approximate"])
        elif n.op == "mul":
            y = a[0] * a[1]
        else:
            raise ValueError(f"float_forward: unknown op {n.op!r} at node {n.name!r}")
        act = at.get("act")
        if act == "relu":
            y = torch.relu(y)
        elif act == "relu6":
            y = torch.clamp(y, 0.0, 6.0)
        vals[n.name] = y
    return vals
