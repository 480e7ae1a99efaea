"""A small printable graph IR: the form every compiler pass reads and writes.

A :class:`Graph` is a list of :class:`Node` in topological order.  Each node names its
operation, its input values (names of earlier nodes or graph inputs), its attributes
(weights, strides, quantization parameters) and the shape of the value it produces.
Shapes are PyTorch's (``[N, C, H, W]`` for images, ``[N, F]`` for features); how a value
is laid out in the NPU's DRAM is the lowering's business (:mod:`npulab.compiler.lower`).

Float ops (from :mod:`~npulab.compiler.frontend`): ``linear``, ``conv2d``, ``relu``,
``relu6``, ``add``, ``maxpool``, ``avgpool``, ``reshape``.  Integer ops (from
:mod:`~npulab.compiler.quantize`): ``qlinear``, ``qconv2d``, ``qadd``, ``qmaxpool``,
``qclamp``, ``reshape``.

Examples
--------
>>> g = Graph(inputs={"x": (1, 4)})
>>> g.add(Node("fc", "linear", ("x",), {"out_features": 2}, (1, 2)))
>>> g.outputs = ["fc"]
>>> print(g)
graph(x: [1, 4]) {
  fc: [1, 2] = linear(x) out_features=2
  return fc
}
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Node", "Graph"]


@dataclass
class Node:
    """One operation: ``name = op(*inputs, **attrs)`` producing a value of ``shape``.

    Attributes
    ----------
    name : str
        Unique value name (the torch.fx node name).
    op : str
        Operation (see the module docstring).
    inputs : tuple of str
        Names of the values it reads.
    attrs : dict
        Parameters; arrays print as their shape and dtype.
    shape : tuple of int
        Shape of the produced value (batch first).
    """

    name: str
    op: str
    inputs: tuple
    attrs: dict = field(default_factory=dict)
    shape: tuple = ()

    def __str__(self):
        def show(v):
            if isinstance(v, np.ndarray):
                return f"<{v.dtype}{list(v.shape)}>"
            if isinstance(v, (list, tuple)) and v and not isinstance(v[0], (int, float, str)):
                return f"<{len(v)} items>"
            if isinstance(v, float):
                return f"{v:.6g}"
            return str(v)

        args = ", ".join(self.inputs)
        extra = " ".join(f"{k}={show(v)}" for k, v in self.attrs.items())
        return f"{self.name}: {list(self.shape)} = {self.op}({args}){' ' + extra if extra else ''}"


@dataclass
class Graph:
    """Nodes in topological order, named inputs with shapes, and the output names."""

    inputs: dict = field(default_factory=dict)
    nodes: list = field(default_factory=list)
    outputs: list = field(default_factory=list)

    def add(self, node: Node) -> None:
        """Append ``node``; its inputs must already exist and its name must be new."""
        known = set(self.inputs) | {n.name for n in self.nodes}
        if node.name in known:
            raise ValueError(f"Graph.add: duplicate value name {node.name!r}")
        missing = [i for i in node.inputs if i not in known]
        if missing:
            raise ValueError(f"Graph.add: node {node.name!r} reads undefined value {missing[0]!r}")
        self.nodes.append(node)

    def node(self, name: str) -> Node:
        """The node producing value ``name``."""
        for n in self.nodes:
            if n.name == name:
                return n
        raise ValueError(f"Graph.node: no node named {name!r}")

    def shape(self, name: str) -> tuple:
        """Shape of a value (graph input or node output)."""
        return tuple(self.inputs[name]) if name in self.inputs else tuple(self.node(name).shape)

    def users(self, name: str) -> list:
        """Nodes that read value ``name`` (graph outputs not included)."""
        return [n for n in self.nodes if name in n.inputs]

    def __str__(self):
        head = ", ".join(f"{k}: {list(v)}" for k, v in self.inputs.items())
        body = "\n".join(f"  {n}" for n in self.nodes)
        return f"graph({head}) {{\n{body}\n  return {', '.join(self.outputs)}\n}}"

    def __repr__(self):
        return str(self)
