"""Sparsity as a workload attribute of the scorecard (issue 30): prune, compress, measure.

``npulab scorecard --weight-sparsity 2:4`` (or ``--weight-density 0.3``, ``--act-density 0.5``)
turns every job into its sparse version before it is scored:

* every layer gets the attributes (:class:`npulab.workloads.Gemm` ``weight_sparsity``,
  ``weight_density``, ``act_density``), so each engine applies what its hardware exploits
  (systolic ``zero_gating`` / ``skip_pattern``, SNN pruned synapses, PIM reports);
* the weights are stored compressed (:mod:`npulab.sparse.formats`): N:M as the kept values plus
  ``ceil(log2 M)`` index bits each, unstructured as a bitmap (1 bit per weight) plus the
  non-zero values, so ``weight_bytes`` (DRAM streaming, on-chip residency) shrinks;
* ``digits-cnn`` measures the accuracy of the pruned model (every weight matrix pruned with
  :func:`npulab.sparse.prune` along its input axis, then quantised as the dense job is; no
  fine-tuning, so the drop is the one magnitude pruning alone causes).

All layers of a job are pruned the same way (an LLM's attention-score GEMMs too, whose
"weights" are activations: an approximation).  The job's name records the attributes.
"""
from __future__ import annotations

import dataclasses
import math

from npulab.sparse.prune import parse_nm, prune

__all__ = ["apply_sparsity", "pruned_digits_accuracy", "sparsity_label"]


def sparsity_label(weight_sparsity: str = "", weight_density: float = 1.0,
                   act_density: float = 1.0) -> str:
    """``" [w 2:4, a 0.5]"`` (empty when dense)."""
    parts = []
    if weight_sparsity or weight_density != 1:
        parts.append(f"w {weight_sparsity or format(weight_density, 'g')}")
    if act_density != 1:
        parts.append(f"a {act_density:g}")
    return f" [{', '.join(parts)}]" if parts else ""


def _compressed_fraction(weight_sparsity: str, weight_density: float, bits: float) -> float:
    """Bytes of the compressed weights per dense byte (``bits`` per dense weight)."""
    if weight_sparsity:
        n, m = parse_nm(weight_sparsity)
        return n / m * (1 + math.ceil(math.log2(m)) / bits) if m > 1 else 1.0
    if weight_density == 1:
        return 1.0
    return weight_density + 1 / bits                     # bitmap: 1 bit per weight


def pruned_digits_accuracy(weight_bits: int, weight_sparsity: str = "",
                           weight_density: float = 1.0) -> float:
    """Test accuracy of the bundled digits CNN with pruned, then quantised weights."""
    import copy

    import numpy as np
    import torch

    from npulab import datasets
    from npulab.quant import QuantSpec, fake_quantize

    _, _, x_test, y_test = datasets.load_digits()
    model = copy.deepcopy(datasets.digits_model("cnn", pretrained=True))
    spec = QuantSpec(weight_bits) if weight_bits <= 16 else None
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() < 2:
                continue
            w = p.numpy()
            if weight_sparsity:
                w = prune(w, weight_sparsity)
            elif weight_density != 1:
                w = prune(w, "unstructured", density=weight_density)
            if spec is not None:
                w = fake_quantize(w, spec)
            p.copy_(torch.from_numpy(np.ascontiguousarray(w, dtype=np.float32)))
        x = torch.as_tensor(x_test, dtype=torch.float32)
        return float((model(x).argmax(1).numpy() == y_test).mean())


def apply_sparsity(job, *, weight_sparsity: str = "", weight_density: float = 1.0,
                   act_density: float = 1.0, precision: str = "int8"):
    """The sparse version of a :class:`npulab.perf.scoring.Job` (see the module docstring).

    ``ValueError`` (one line) for a bad pattern or density, as the layers check them.
    """
    from npulab.hw.precision import bytes_per_element
    from npulab.perf.scoring import DIGITS_CNN

    attrs = {"weight_sparsity": weight_sparsity or "", "weight_density": weight_density,
             "act_density": act_density}
    if not sparsity_label(weight_sparsity or "", weight_density, act_density):  # dense: no-op
        return job
    layers = tuple((dataclasses.replace(layer, **attrs), n) for layer, n in job.layers)
    bits = 8 * bytes_per_element(precision)
    accuracy = job.accuracy
    if job.name == DIGITS_CNN and job.accuracy is not None:
        accuracy = pruned_digits_accuracy(int(bits), weight_sparsity or "", weight_density)
    return dataclasses.replace(
        job, name=job.name + sparsity_label(weight_sparsity, weight_density, act_density),
        layers=layers, accuracy=accuracy,
        weight_bytes=job.weight_bytes * _compressed_fraction(weight_sparsity, weight_density, bits))
