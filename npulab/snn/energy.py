"""Energy and latency of spiking layers: synaptic operations and neuron updates -> Report.

The SNN engine's side of the engine contract, ``estimate(layer, hw, *, energy=None)`` with
``hw`` a :class:`npulab.hw.SnnConfig` (core, spike rate, timesteps) or a
:class:`~npulab.hw.CoreConfig` (default activity: rate 0.1, 8 steps).

An SNN's dynamic energy is counted in events (Davies et al. 2018; Sorbaro et al. 2020)::

    E = N_SOP * e_SOP + N_update * e_update

* ``N_SOP``: synaptic operations, one per (input spike, outgoing synapse): an input spike
  into a layer of fan-out ``f`` costs ``f`` SOPs.  For a dense layer whose inputs fire with
  probability ``r`` per step, ``N_SOP = r * MACs * T`` (each MAC of the ANN becomes an SOP
  only when its input spikes).  A convolution's padded border never spikes, so a conv counts
  its real connections (``Conv2d.connections``, the MACs less those on padding): the
  expectation of what :func:`npulab.snn.run_core` counts on the unrolled layer at rate ``r``
  with nonzero weights (NeuroBench's effective synaptic operations).
* ``N_update``: neuron updates, one per neuron per timestep (a clocked core updates every
  neuron each step, spiking or not).

Defaults come from :class:`npulab.hw.EnergyTable`: ``sop_pJ = 23.6`` is Loihi's minimum
energy per synaptic spike op and ``neuron_update_pJ = 52`` its *inactive* neuron update;
an active update is 81 pJ (Davies et al., IEEE Micro 2018, Table 2: pre-silicon
simulation at 0.75 V).  Synaptic memory reads are inside the SOP figure; weights stay on
chip, so no SRAM/DRAM terms are added.

Sparsity (issue 30): a pruned weight is a synapse the core does not store (Loihi keeps
sparse synapse lists), so an input spike fans out only over the non-zero weights:
``N_SOP = r * MACs * T * w`` and the synapse memory holds ``w`` of the weights (``w`` =
``layer.weight_nonzero_fraction``).  Activation sparsity is the spike rate itself.

Latency: a layer occupies ``core.cores_for(neurons, synapses)`` cores working in parallel;
each step a core does its share of SOPs and neuron updates serially, and layers (on their
own cores) run concurrently with a barrier at the end of each step.

References
----------
M. Davies et al., IEEE Micro 38(1), 2018, Table 2; M. Sorbaro, Q. Liu, M. Bortone, S. Sheik,
"Optimizing the Energy Consumption of Spiking Neural Networks for Neuromorphic
Applications", Front. Neurosci. 14:662, 2020.
"""
from __future__ import annotations

import math

from npulab.hw.core import CoreConfig
from npulab.hw.energy import EnergyTable
from npulab.hw.snn import SnnConfig
from npulab.metrics.report import Report
from npulab.workloads.layers import Conv2d, Gemm

__all__ = ["estimate", "report"]


def _layer_cycles(sops: float, neurons: int, cores: int, core: CoreConfig) -> int:
    """Cycles of one layer in one step on ``cores`` parallel cores."""
    return (math.ceil(sops / cores) * core.sop_cycles
            + math.ceil(neurons / cores) * core.neuron_update_cycles)


def _multiplex(cores_used: int, core: CoreConfig) -> int:
    """Time-multiplexing factor when a network needs more cores than the chip has."""
    return max(1, math.ceil(cores_used / core.num_cores))


def estimate(layer, hw, *, energy: EnergyTable | None = None) -> Report:
    """Energy and latency of a ``Gemm`` or ``Conv2d`` run as one spiking layer.

    Parameters
    ----------
    layer : npulab.workloads.Gemm or Conv2d
        ``Gemm(M, N, K)``: ``M`` positions of ``K`` input neurons feeding ``N`` output
        neurons.  ``Conv2d``: input neurons are ifmap pixels x channels, output neurons are
        ofmap pixels x filters.
    hw : SnnConfig or CoreConfig
        The core, the probability that an input neuron spikes in a step (``spike_rate``, in
        [0, 1]) and the number of ``timesteps``; a CoreConfig alone runs at rate 0.1 for 8 steps.
    energy : EnergyTable, optional
        SOP and neuron-update energies; default ``EnergyTable()``.

    Returns
    -------
    npulab.perf.Report
        ``engine="snn"``, ``macs`` = SOP count, energy keys ``"sop"`` and ``"neuron"``;
        ``details`` holds ``sops``, ``neuron_updates``, ``spikes`` (input spikes),
        ``timesteps``, ``spike_rate``, ``cores``.

    Units: pJ, seconds, cycles, events.

    Examples
    --------
    >>> r = estimate(Gemm(M=1, N=128, K=64), SnnConfig(spike_rate=0.1, timesteps=8))
    >>> r.details["sops"], r.details["neuron_updates"], round(r.energy_breakdown_pJ["sop"], 1)
    (6554, 1024, 154674.4)
    """
    hw = SnnConfig.of(hw)
    core, spike_rate, timesteps = hw.core, hw.spike_rate, hw.timesteps
    energy = energy or EnergyTable()
    workload = layer
    if isinstance(workload, Gemm):
        inputs, neurons = workload.M * workload.K, workload.M * workload.N
        synapses = workload.K * workload.N                       # one weight matrix, shared over M
        connections = workload.macs
    elif isinstance(workload, Conv2d):
        pad = workload.padding                                   # the border never spikes
        inputs = (workload.ifmap_h - 2 * pad) * (workload.ifmap_w - 2 * pad) * workload.channels
        neurons = workload.out_h * workload.out_w * workload.num_filters
        synapses = workload.filter_h * workload.filter_w * workload.channels * workload.num_filters
        connections = workload.connections
    else:
        raise ValueError(f"estimate workload must be a Gemm or Conv2d; got {type(workload).__name__}")
    w = workload.weight_nonzero_fraction                        # pruned synapses are not stored
    synapses = math.ceil(synapses * w)
    sops_per_step = spike_rate * connections * w
    sops = int(round(sops_per_step * timesteps))
    updates = neurons * timesteps
    spikes = int(round(spike_rate * inputs * timesteps))
    cores = core.cores_for(neurons, synapses)
    cycles = timesteps * _layer_cycles(sops_per_step, neurons, min(cores, core.num_cores), core)
    cycles *= _multiplex(cores, core)
    return Report.from_cycles(
        name=getattr(workload, "name", "") or "snn_layer", engine="snn", macs=sops,
        cycles=max(int(cycles), 1), clock_hz=core.clock_hz,
        energy_breakdown_pJ={"sop": sops * energy.sop_pJ, "neuron": updates * energy.neuron_update_pJ},
        peak_ops_per_s=2.0 * min(cores, core.num_cores) * core.clock_hz / core.sop_cycles,
        details={"sops": sops, "neuron_updates": updates, "spikes": spikes, "timesteps": timesteps,
                 "spike_rate": float(spike_rate), "cores": cores, "weight_density": w,
                 "sops_saved_by_pruning": round(spike_rate * workload.macs * timesteps) - sops},
    )


def report(result, core: CoreConfig = CoreConfig(), energy: EnergyTable = EnergyTable(), *,
           name: str = "snn", accuracy: float | None = None,
           accuracy_target: float | None = None) -> Report:
    """Turn a counted :class:`~npulab.snn.CoreResult` into a :class:`~npulab.perf.Report`.

    Energy and latency use the counted events (not an assumed rate); ``inferences`` is the
    batch size, so ``energy_per_inference_j`` is per sample.  ``details`` holds the totals
    ``sops``, ``neuron_updates``, ``spikes`` (input plus emitted) and per-layer lists
    ``sops_per_layer``, ``neuron_updates_per_layer``, ``spikes_per_layer``.
    """
    n_layers = result.sops.shape[0]
    neurons = [result.spikes[k].shape[2] for k in range(n_layers)]
    cores = [core.cores_for(neurons[k], result.synapses[k]) for k in range(n_layers)]
    needed = sum(cores)
    cores = [min(c, core.num_cores) for c in cores]
    B = result.batch
    cycles = 0
    for t in range(result.timesteps):
        # per sample, layers run concurrently on their own cores; samples run one after another
        cycles += max(_layer_cycles(result.sops[k, t] / B, neurons[k], cores[k], core)
                      for k in range(n_layers)) * B
    cycles *= _multiplex(needed, core)
    sops, updates = result.total_sops, result.total_neuron_updates
    return Report.from_cycles(
        name=name, engine="snn", macs=sops, cycles=max(int(cycles), 1), clock_hz=core.clock_hz,
        energy_breakdown_pJ={"sop": sops * energy.sop_pJ, "neuron": updates * energy.neuron_update_pJ},
        accuracy=accuracy, accuracy_target=accuracy_target, inferences=B,
        details={"sops": sops, "neuron_updates": updates,
                 "spikes": result.input_spikes + result.total_spikes,
                 "sops_per_layer": [int(x) for x in result.sops.sum(1)],
                 "neuron_updates_per_layer": [int(x) for x in result.neuron_updates.sum(1)],
                 "spikes_per_layer": [int(x) for x in result.spike_counts.sum(1)],
                 "input_spikes": result.input_spikes, "timesteps": result.timesteps,
                 "layers": list(result.names), "cores": cores},
    )
