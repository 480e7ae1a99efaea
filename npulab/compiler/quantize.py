"""Post-training int8 quantization of the graph IR, and its integer-only reference.

:func:`quantize_graph` calibrates every activation on the example inputs (min-max, asymmetric
int8 ``[-128, 127]`` with a zero point, :func:`npulab.quant.minmax_scale`), quantizes weights
per output channel (symmetric narrow int8, brevitas's ``Int8WeightPerChannelFloat``,
:func:`npulab.quant.quantize`), and turns each op into its integer form:

* ``qlinear`` / ``qconv2d``: :class:`npulab.quant.IntegerLayer` (one per group for grouped
  and depthwise convs): ``y = clamp(z_y + M (W_q (x_q - z_x) + b_q))`` with the fused
  ReLU/ReLU6 in the clamp.  An average pool is a depthwise ``qconv2d`` whose weights are 1
  and whose weight scale is ``1 / (kh kw)`` (``count_include_pad``: a padded pixel is real 0).
* ``qadd``: TFLite's integer add: both inputs shifted left 20 bits, rescaled to the common
  scale ``2 max(s_a, s_b)``, summed, requantized (all with
  :func:`npulab.quant.multiply_by_quantized_multiplier`).
* ``qmaxpool``: the max of int8 values (same scale in and out; padding is ``-128``).
* ``qclamp``: a ReLU/ReLU6 not fused into a producer (same scale in and out).
* A transformer block's ops, each with its kernel in :mod:`npulab.quant.transformer`:
  ``qrmsnorm`` (:func:`~npulab.quant.int_rmsnorm` with int8 gains ``gamma_q`` and scale
  ``s_g``, requantized with ``M = s_g / (2^16 s_y)``), ``qsdpa`` (one attention head:
  ``S = q_int k_int^T`` with ``q`` and ``k`` symmetric, zero point 0; ``P =``
  :func:`~npulab.quant.int_softmax` of ``S`` at scale ``s_q s_k scale``; ``P v_int``
  requantized with ``M = s_v / (127 s_y)``), ``qlut`` (SiLU/GELU as a 256-entry table),
  ``qmul`` (:func:`~npulab.quant.int_mul`), ``slice`` and ``cat`` (same scale in and out:
  the heads a ``cat`` joins are quantized with the ``cat``'s scale).

:meth:`QuantizedGraph.forward_int` runs that integer graph with :mod:`npulab.quant` alone:
the reference the NPU simulator must equal bit for bit.

References
----------
Jacob et al., "Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-
Only Inference", CVPR 2018; TFLite ``reference_ops::Add`` (``left_shift = 20`` for int8).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from npulab.compiler.ir import Graph, Node
from npulab.compiler.passes import float_forward
from npulab.quant import (
    IntegerLayer,
    QuantSpec,
    int_lut,
    int_mul,
    int_rmsnorm,
    int_softmax,
    lut_table,
    minmax_scale,
    mul_params,
    multiply_by_quantized_multiplier,
    quantize,
    quantize_multiplier,
    requantize,
    softmax_params,
)
from npulab.quant.transformer import NORM_FRAC_BITS, SOFTMAX_OUT_MAX

__all__ = ["ACT_SPEC", "WEIGHT_SPEC", "QuantizedGraph", "quantize_graph", "add_params", "int_add"]

#: Activations: asymmetric int8 with a zero point (TFLite's int8 scheme).
ACT_SPEC = QuantSpec(8, signed=True, symmetric=False, narrow_range=False)
#: Weights: symmetric narrow int8 per output channel.
WEIGHT_SPEC = QuantSpec(8, per_channel=True)
#: TFLite's headroom shift for int8 adds.
ADD_LEFT_SHIFT = 20


def _act_params(lo: float, hi: float) -> tuple[float, int]:
    scale, zp = minmax_scale(np.array([lo, hi], np.float32), ACT_SPEC)
    return float(scale), int(zp)


def _sym_params(lo: float, hi: float) -> tuple[float, int]:
    """Symmetric int8 (zero point 0) for a value range: attention's q, k and v."""
    return max(abs(lo), abs(hi), 1e-8) / 127.0, 0


def _sdpa_int(q, k, v, at) -> np.ndarray:
    """One integer attention head: ``requant(int_softmax(q k^T) v)`` (all int64)."""
    s = np.asarray(q, np.int64) @ np.asarray(k, np.int64).T
    p = int_softmax(s, at["softmax"], 0 if at["causal"] else None)
    return requantize(p @ np.asarray(v, np.int64), at["m0"], at["shift"], at["zy"])


def add_params(sa: float, za: int, sb: float, zb: int, sy: float, zy: int, act=None) -> dict:
    """Integer parameters of ``y = a + b`` for ``(sa, za) + (sb, zb) -> (sy, zy)``.

    ``M_a = s_a / (2 max(s_a, s_b))``, ``M_b`` likewise, ``M_y = 2 max(s_a, s_b) / (2^20 s_y)``.
    """
    twice = 2.0 * max(sa, sb)
    (ma, sha), (mb, shb) = quantize_multiplier(sa / twice), quantize_multiplier(sb / twice)
    my, shy = quantize_multiplier(twice / ((1 << ADD_LEFT_SHIFT) * sy))
    hi = 127 if act != "relu6" else min(127, zy + int(round(6.0 / sy)))
    lo = max(-128, zy) if act in ("relu", "relu6") else -128
    return {
        "za": int(za),
        "zb": int(zb),
        "ma": int(ma),
        "sha": int(sha),
        "mb": int(mb),
        "shb": int(shb),
        "my": int(my),
        "shy": int(shy),
        "zy": int(zy),
        "lo": lo,
        "hi": hi,
    }


def int_add(a, b, p: dict) -> np.ndarray:
    """TFLite's int8 add with the parameters of :func:`add_params` (int32 in, int32 out)."""
    a = (np.asarray(a, np.int64) - p["za"]) << ADD_LEFT_SHIFT
    b = (np.asarray(b, np.int64) - p["zb"]) << ADD_LEFT_SHIFT
    s = multiply_by_quantized_multiplier(a, p["ma"], p["sha"]).astype(
        np.int64
    ) + multiply_by_quantized_multiplier(b, p["mb"], p["shb"])
    y = multiply_by_quantized_multiplier(s, p["my"], p["shy"]).astype(np.int64) + p["zy"]
    return np.clip(y, p["lo"], p["hi"]).astype(np.int32)


def _maxpool(x, kernel, stride, padding) -> np.ndarray:
    """Max over ``kernel`` windows of int ``x[N, C, H, W]`` (padding never wins: -2^31)."""
    x = np.pad(
        x,
        ((0, 0), (0, 0), (padding, padding), (padding, padding)),
        constant_values=np.iinfo(np.int32).min,
    )
    win = np.lib.stride_tricks.sliding_window_view(x, tuple(kernel), axis=(2, 3))  # type: ignore[call-overload]
    win = win[:, :, ::stride, ::stride]
    return win.max(axis=(-2, -1)).astype(np.int32)


@dataclass
class QuantizedGraph:
    """An integer-only graph and the scale/zero point of every value.

    Attributes
    ----------
    graph : Graph
        Integer ops (``qlinear``, ``qconv2d``, ``qadd``, ``qmaxpool``, ``qclamp``, ``reshape``).
    qparams : dict
        value name -> ``(scale, zero_point)`` of its int8 integers.
    """

    graph: Graph
    qparams: dict

    @property
    def input_name(self) -> str:
        """Name of the graph's one input value."""
        return next(iter(self.graph.inputs))

    def quantize_input(self, x) -> np.ndarray:
        """The one float op: ``x_q = clamp(round(x / s) + z, -128, 127)`` (int32 array)."""
        s, z = self.qparams[self.input_name]
        return quantize(np.asarray(x, np.float32), ACT_SPEC, s, z).int_repr.astype(np.int32)

    def dequantize_output(self, y_q, name=None) -> np.ndarray:
        """``(y_q - z) * s`` in float32 for the output value (or value ``name``)."""
        s, z = self.qparams[name or self.graph.outputs[0]]
        return ((np.asarray(y_q, np.float32) - z) * np.float32(s)).astype(np.float32)

    def forward_int(self, x_q) -> dict:
        """Every integer value (int32 arrays, torch's NCHW/NF shapes) for integer input ``x_q``."""
        vals = {self.input_name: np.asarray(x_q, np.int32)}
        for n in self.graph.nodes:
            a = [vals[i] for i in n.inputs]
            at = n.attrs
            if n.op == "qlinear":
                y = at["layers"][0](a[0])
            elif n.op == "qconv2d":
                cg = a[0].shape[1] // len(at["layers"])
                y = np.concatenate(
                    [layer(a[0][:, g * cg : (g + 1) * cg]) for g, layer in enumerate(at["layers"])],
                    axis=1,
                )
            elif n.op == "qadd":
                y = int_add(a[0], a[1], at["add"])
            elif n.op == "qmaxpool":
                y = _maxpool(a[0], at["kernel"], at["stride"], at["padding"])
            elif n.op == "qclamp":
                y = np.clip(a[0], at["lo"], at["hi"]).astype(np.int32)
            elif n.op == "reshape":
                y = a[0].reshape((a[0].shape[0],) + tuple(n.shape[1:]))
            elif n.op == "qrmsnorm":
                acc = int_rmsnorm(a[0], at["zx"], at["gamma"], at["eps_q"])
                y = requantize(acc, at["m0"], at["shift"], at["zy"])
            elif n.op == "slice":
                y = a[0][:, at["start"] : at["stop"]]
            elif n.op == "qsdpa":
                y = _sdpa_int(a[0], a[1], a[2], at)
            elif n.op == "cat":
                y = np.concatenate(a, axis=1)
            elif n.op == "qlut":
                y = int_lut(a[0], at["table"])
            elif n.op == "qmul":
                y = int_mul(a[0], a[1], at["mul"])
            else:
                raise ValueError(f"forward_int: unknown op {n.op!r} at node {n.name!r}")
            vals[n.name] = y.astype(np.int32)
        return vals

    def __call__(self, x) -> np.ndarray:
        """Dequantized float output for float input ``x`` (the integer reference)."""
        out = self.graph.outputs[0]
        return self.dequantize_output(self.forward_int(self.quantize_input(x))[out], out)


def _layer(kind, w, bias, x_qp, y_qp, act, stride=1, padding=0) -> IntegerLayer:
    wq = quantize(w, WEIGHT_SPEC)
    return _make_layer(kind, wq.int_repr, wq.scale, bias, x_qp, y_qp, act, stride, padding)


def _make_layer(kind, w_int, w_scale, bias, x_qp, y_qp, act, stride, padding) -> IntegerLayer:
    layer = IntegerLayer.from_float(
        kind,
        w_int,
        w_scale,
        bias,
        x_qp[0],
        x_qp[1],
        y_qp[0],
        y_qp[1],
        ACT_SPEC,
        act in ("relu", "relu6"),
        stride=stride,
        padding=padding,
    )
    if act == "relu6":
        hi = min(127, y_qp[1] + int(round(6.0 / y_qp[0])))
        layer = dataclasses.replace(layer, y_range=(layer.y_range[0], hi))
    return layer


def quantize_graph(graph: Graph, example_inputs) -> QuantizedGraph:
    """Calibrate on ``example_inputs`` and return the integer-only graph.

    Parameters
    ----------
    graph : Graph
        Float graph, activations already fused (:func:`~npulab.compiler.passes.fuse_activations`).
    example_inputs : tuple of one array_like
        Calibration batch: every activation's range is its min and max over this batch.

    Returns
    -------
    QuantizedGraph
    """
    x = example_inputs[0]
    x = x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x, np.float32)
    vals = float_forward(graph, x)
    rng = {k: (float(v.min()), float(v.max())) for k, v in vals.items()}
    qp = {graph_in: _act_params(*rng[graph_in]) for graph_in in graph.inputs}
    forced = _forced_params(graph, rng)
    out = Graph(inputs=dict(graph.inputs))
    for n in graph.nodes:
        at, act = n.attrs, n.attrs.get("act")
        if n.op in ("reshape", "maxpool", "slice"):
            qp[n.name] = qp[n.inputs[0]]
        elif n.op in ("relu", "relu6"):
            qp[n.name] = qp[n.inputs[0]]
        elif n.name in forced:
            qp[n.name] = forced[n.name]
        else:
            qp[n.name] = _act_params(*rng[n.name])
        xq, yq = qp[n.inputs[0]], qp[n.name]
        if n.op == "linear":
            new = Node(
                n.name,
                "qlinear",
                n.inputs,
                {"layers": [_layer("linear", at["weight"], at["bias"], xq, yq, act)], "act": act},
                n.shape,
            )
        elif n.op == "conv2d":
            wq = quantize(at["weight"], WEIGHT_SPEC)
            w_int, w_s = wq.int_repr, wq.scale.reshape(-1)
            G, kg = at["groups"], at["weight"].shape[0] // at["groups"]
            b = (
                at["bias"]
                if at["bias"] is not None
                else np.zeros(at["weight"].shape[0], np.float32)
            )
            layers = [
                _make_layer(
                    "conv",
                    w_int[g * kg : (g + 1) * kg],
                    w_s[g * kg : (g + 1) * kg],
                    b[g * kg : (g + 1) * kg],
                    xq,
                    yq,
                    act,
                    at["stride"],
                    at["padding"],
                )
                for g in range(G)
            ]
            new = Node(
                n.name,
                "qconv2d",
                n.inputs,
                {
                    "layers": layers,
                    "stride": at["stride"],
                    "padding": at["padding"],
                    "groups": G,
                    "kernel": tuple(at["weight"].shape[2:]),
                    "act": act,
                },
                n.shape,
            )
        elif n.op == "avgpool":
            C = n.shape[1]
            kh, kw = at["kernel"]
            ones = np.ones((1, 1, kh, kw), np.int8)
            layers = [
                _make_layer(
                    "conv",
                    ones,
                    np.float32(1.0) / np.float32(kh * kw),
                    None,
                    xq,
                    yq,
                    None,
                    at["stride"],
                    at["padding"],
                )
                for _ in range(C)
            ]
            new = Node(
                n.name,
                "qconv2d",
                n.inputs,
                {
                    "layers": layers,
                    "stride": at["stride"],
                    "padding": at["padding"],
                    "groups": C,
                    "kernel": (kh, kw),
                    "act": None,
                    "pool": "avg",
                },
                n.shape,
            )
        elif n.op == "add":
            (sa, za), (sb, zb) = qp[n.inputs[0]], qp[n.inputs[1]]
            new = Node(
                n.name,
                "qadd",
                n.inputs,
                {"add": add_params(sa, za, sb, zb, *yq, act), "act": act},
                n.shape,
            )
        elif n.op == "maxpool":
            new = Node(n.name, "qmaxpool", n.inputs, dict(at), n.shape)
        elif n.op in ("relu", "relu6"):
            s, z = xq
            hi = 127 if n.op == "relu" else min(127, z + int(round(6.0 / s)))
            new = Node(n.name, "qclamp", n.inputs, {"lo": max(-128, z), "hi": hi}, n.shape)
        elif n.op == "reshape":
            new = Node(n.name, "reshape", n.inputs, {}, n.shape)
        elif n.op in ("rmsnorm", "slice", "sdpa", "cat", "silu", "gelu", "mul"):
            new = _transformer_node(n, qp)
        else:
            raise ValueError(f"quantize_graph: unsupported op {n.op!r} at node {n.name!r}")
        out.add(new)
    out.outputs = list(graph.outputs)
    return QuantizedGraph(out, qp)


def _forced_params(graph: Graph, rng: dict) -> dict:
    """Scales fixed by a reader: attention's q, k, v symmetric; a ``cat``'s inputs its scale."""
    forced = {}
    for n in graph.nodes:
        if n.op == "sdpa":
            for name in n.inputs:
                src = graph.node(name) if name not in graph.inputs else None
                while src is not None and src.op == "slice":
                    name = src.inputs[0]
                    src = graph.node(name) if name not in graph.inputs else None
                if src is not None:
                    forced[name] = _sym_params(*rng[name])
        elif n.op == "cat":
            for name in n.inputs:
                forced[name] = _act_params(*rng[n.name])
    return forced


def _transformer_node(n: Node, qp: dict) -> Node:
    """The integer form of a transformer op (``rmsnorm``, ``sdpa``, ``silu``, ...)."""
    at = n.attrs
    (sx, zx), (sy, zy) = qp[n.inputs[0]], qp[n.name]
    if n.op == "rmsnorm":
        g = quantize(np.asarray(at["weight"], np.float32), QuantSpec(8))
        sg = float(np.asarray(g.scale).reshape(-1)[0])
        m0, shift = quantize_multiplier(sg / (2.0**NORM_FRAC_BITS * sy))
        eps_q = int(round(at["eps"] * 2.0**16 / (sx * sx)))
        attrs = {"gamma": g.int_repr.astype(np.int64).reshape(-1), "zx": int(zx),
                 "eps_q": eps_q, "m0": int(m0), "shift": int(shift), "zy": int(zy)}
        return Node(n.name, "qrmsnorm", n.inputs, attrs, n.shape)
    if n.op == "slice":
        return Node(n.name, "slice", n.inputs, dict(at), n.shape)
    if n.op == "sdpa":
        (sq, zq), (sk, zk), (sv, zv) = (qp[i] for i in n.inputs)
        if (zq, zk, zv) != (0, 0, 0):
            raise ValueError(f"unsupported op sdpa on a graph input at node {n.name!r} (q, k, v "
                             f"must be computed in the graph)")
        m0, shift = quantize_multiplier(sv / (SOFTMAX_OUT_MAX * sy))
        attrs = {"softmax": softmax_params(sq * sk * at["scale"]), "causal": at["causal"],
                 "m0": int(m0), "shift": int(shift), "zy": int(zy)}
        return Node(n.name, "qsdpa", n.inputs, attrs, n.shape)
    if n.op == "cat":
        bad = [i for i in n.inputs if qp[i] != qp[n.name]]
        if bad:
            raise ValueError(f"unsupported op cat at node {n.name!r} (its input {bad[0]!r} has "
                             f"another scale: only attention heads are joined)")
        return Node(n.name, "cat", n.inputs, {}, n.shape)
    if n.op in ("silu", "gelu"):
        import torch
        import torch.nn.functional as F

        def fn(v):
            t = torch.from_numpy(np.asarray(v, np.float32))
            y = F.silu(t) if n.op == "silu" else F.gelu(t, approximate=at["approximate"])
            return y.numpy()

        attrs = {"table": lut_table(fn, sx, zx, sy, zy), "fn": n.op}
        return Node(n.name, "qlut", n.inputs, attrs, n.shape)
    (sb, zb) = qp[n.inputs[1]]
    return Node(n.name, "qmul", n.inputs, {"mul": mul_params(sx, zx, sb, zb, sy, zy)}, n.shape)


def _shift_unsigned(layer: IntegerLayer, x_unsigned: bool, y_unsigned: bool) -> IntegerLayer:
    """The same layer on int8 storage: an unsigned value ``u`` is stored as ``u - 128``.

    ``W (x - z) = W ((x - 128) - (z - 128))`` and the requantized output, its zero point and
    its clamp all move by -128 together, so every real value is unchanged.
    """
    zx = layer.x_zero_point - (128 if x_unsigned else 0)
    if not y_unsigned:
        return dataclasses.replace(layer, x_zero_point=zx)
    lo, hi = layer.y_range
    return dataclasses.replace(layer, x_zero_point=zx, y_zero_point=layer.y_zero_point - 128,
                               y_range=(lo - 128, hi - 128))


def from_integer_model(model, example_input) -> QuantizedGraph:
    """The QAT path: an :class:`npulab.quant.IntegerModel` (``to_integer`` of a calibrated or
    trained ``prepare_qat`` model) as a :class:`QuantizedGraph`.

    Its layers run unchanged except that unsigned 8-bit activations are stored as int8
    (``u - 128``, zero points moved with them), so the NPU's int8 scratchpad holds them; the
    dequantized outputs equal the integer model's bit for bit.

    Parameters
    ----------
    model : IntegerModel
    example_input : array_like
        One batch of float inputs (gives every value's shape).
    """
    from npulab.quant import Reshape

    for spec in (model.input_spec,):
        if spec.bits > 8:
            raise ValueError(f"from_integer_model: the NPU computes in 8 bits; the input is "
                             f"{spec.bits}-bit")
    x = example_input.detach().cpu().numpy() if hasattr(example_input, "detach") else example_input
    x = np.asarray(x, np.float32)
    _, outs = model.forward_int(model.quantize_input(x), trace=True)
    unsigned = not model.input_spec.signed
    graph = Graph(inputs={"x": tuple(x.shape)})
    z_in = model.input_zero_point - (128 if unsigned else 0)
    qp = {"x": (float(model.input_scale), int(z_in))}
    prev = "x"
    for i, (step, y) in enumerate(zip(model.steps, outs, strict=True)):
        name = f"step{i}"
        if isinstance(step, Reshape):
            graph.add(Node(name, "reshape", (prev,), {}, tuple(y.shape)))
        else:
            if step.weight.dtype != np.int8 or max(abs(v) for v in step.y_range) > 255:
                raise ValueError(f"from_integer_model: layer {i} is not 8-bit")
            y_unsigned = step.y_range[0] >= 0 and step.y_range[1] > 127
            layer = _shift_unsigned(step, unsigned, y_unsigned)
            unsigned = y_unsigned
            attrs: dict[str, object] = {"layers": [layer], "act": "relu" if layer.relu else None}
            if step.kind == "conv":
                attrs.update(stride=step.stride, padding=step.padding, groups=1,
                             kernel=tuple(step.weight.shape[2:]))
            graph.add(Node(name, "qconv2d" if step.kind == "conv" else "qlinear", (prev,), attrs,
                           tuple(y.shape)))
        prev = name
    if unsigned:
        raise ValueError("from_integer_model: the model must end in signed logits")
    graph.outputs = [prev]
    qp[prev] = (float(model.output_scale), int(model.output_zero_point))
    return QuantizedGraph(graph, qp)
