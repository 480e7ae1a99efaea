"""Workloads: the layer shapes an NPU runs, and where they come from.

* :class:`Gemm` and :class:`Conv2d`: one layer each (MACs, bytes, arithmetic intensity).
* :func:`load_topology`: a SCALE-Sim topology CSV (conv or GEMM format) as a list of layers.
* :func:`from_torch`: the Linear and Conv2d layers a ``torch.nn.Module`` runs on one input.
"""
from npulab.workloads.layers import Conv2d, Gemm, Workload
from npulab.workloads.topology import load_topology

__all__ = ["Gemm", "Conv2d", "Workload", "load_topology", "from_torch"]


def from_torch(module, example_input):
    """Trace ``module`` on ``example_input``; see :func:`npulab.workloads.torch_trace.from_torch`."""
    from npulab.workloads.torch_trace import from_torch as _from_torch

    return _from_torch(module, example_input)
