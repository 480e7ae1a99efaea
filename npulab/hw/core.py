"""Neuromorphic core configuration: a Loihi-style fixed-point LIF core.

A neuromorphic chip is a mesh of small cores; each core holds the state of up to
``neurons_per_core`` neurons and the synaptic weights that feed them, and does work only
when a spike arrives (one synaptic operation, SOP, per weight it adds) plus one neuron
update per neuron per timestep.

Defaults follow Intel Loihi (Davies et al., "Loihi: A Neuromorphic Manycore Processor
with On-Chip Learning", IEEE Micro 38(1), 2018): 128 cores of 1024 neural compartments,
synaptic weights of up to 9 bits (8 used here), a 24-bit membrane voltage, and a 12-bit
decay constant ``delta`` applied as ``v <- v * (4096 - delta) / 4096``.  The clock and the
cycles per SOP / neuron update are npulab's modelling assumptions (Loihi is asynchronous),
chosen so that one core does one SOP or one neuron update per cycle.
"""
from __future__ import annotations

from dataclasses import dataclass

from npulab._validate import int_in_range, one_of, positive_int, positive_number

#: How the membrane decays each timestep: a 12-bit multiplier (Loihi) or a right shift.
DECAY_MODES = ("multiplier", "shift")


@dataclass(frozen=True)
class CoreConfig:
    """One fixed-point leaky integrate-and-fire (LIF) neuromorphic core, and how many there are.

    Parameters
    ----------
    neurons_per_core : int, default 1024
        Neurons (compartments) one core holds (Loihi: 1024).
    num_cores : int, default 128
        Cores on the chip (Loihi: 128).  Layers bigger than the chip are time-multiplexed.
    weight_bits : int, default 8
        Signed synaptic weight width, 1..16 bits (Loihi: up to 9).
    membrane_bits : int, default 24
        Signed membrane width, 2..32 bits; the membrane saturates at
        ``[-2**(b-1), 2**(b-1) - 1]`` (Loihi: 24-bit voltage).
    decay_mode : {"multiplier", "shift"}, default "multiplier"
        ``"multiplier"``: ``v <- v * (4096 - decay) / 4096`` with a 12-bit ``decay`` in
        [0, 4096] (Loihi's ``delta_v``).  ``"shift"``: ``v <- v - (v >> decay)`` with
        ``decay`` in [0, 31] (a cheaper shifter; 0 means full decay, i.e. no memory).
        Both round toward zero, so a leak never changes the sign of ``v``.
    decay : int, default 0
        The decay constant of ``decay_mode`` (0 = no leak: an integrate-and-fire neuron).
    synapse_memory_kb : float, default 128
        Synaptic weight memory per core in KiB (Loihi: 16 MB over 128 cores).
    clock_hz : float, default 1e9
        Core clock (Hz); converts cycles to seconds.
    sop_cycles, neuron_update_cycles : int, default 1
        Cycles one core spends per SOP and per neuron update (modelling assumption).

    Units: bits, KiB, Hz, cycles.

    References
    ----------
    M. Davies et al., "Loihi: A Neuromorphic Manycore Processor with On-Chip Learning",
    IEEE Micro 38(1):82-99, 2018.

    Examples
    --------
    >>> c = CoreConfig(decay_mode="shift", decay=4)
    >>> c.beta, c.v_max
    (0.9375, 8388607)
    """

    neurons_per_core: int = 1024
    num_cores: int = 128
    weight_bits: int = 8
    membrane_bits: int = 24
    decay_mode: str = "multiplier"
    decay: int = 0
    synapse_memory_kb: float = 128.0
    clock_hz: float = 1e9
    sop_cycles: int = 1
    neuron_update_cycles: int = 1

    def __post_init__(self):
        o = "CoreConfig"
        positive_int(o, "neurons_per_core", self.neurons_per_core)
        positive_int(o, "num_cores", self.num_cores)
        int_in_range(o, "weight_bits", self.weight_bits, 1, 16)
        int_in_range(o, "membrane_bits", self.membrane_bits, 2, 32)
        one_of(o, "decay_mode", self.decay_mode, DECAY_MODES)
        int_in_range(o, "decay", self.decay, 0, 4096 if self.decay_mode == "multiplier" else 31)
        positive_number(o, "synapse_memory_kb", self.synapse_memory_kb)
        positive_number(o, "clock_hz", self.clock_hz)
        positive_int(o, "sop_cycles", self.sop_cycles)
        positive_int(o, "neuron_update_cycles", self.neuron_update_cycles)

    @property
    def beta(self) -> float:
        """The membrane decay factor the integer decay approximates (1.0 = no leak)."""
        if self.decay_mode == "multiplier":
            return (4096 - self.decay) / 4096
        return 1.0 - 2.0 ** -self.decay

    @property
    def w_max(self) -> int:
        """Largest weight, ``2**(weight_bits-1) - 1`` (weights are symmetric in [-w_max, w_max])."""
        return 2 ** (self.weight_bits - 1) - 1

    @property
    def v_max(self) -> int:
        """Largest membrane value, ``2**(membrane_bits-1) - 1``."""
        return 2 ** (self.membrane_bits - 1) - 1

    @property
    def v_min(self) -> int:
        """Smallest membrane value, ``-2**(membrane_bits-1)``."""
        return -(2 ** (self.membrane_bits - 1))

    @property
    def synapses_per_core(self) -> int:
        """Weights one core's synaptic memory holds at ``weight_bits`` each."""
        return int(self.synapse_memory_kb * 1024 * 8) // self.weight_bits

    def cores_for(self, neurons: int, synapses: int) -> int:
        """Cores a layer of ``neurons`` neurons and ``synapses`` weights needs (>= 1)."""
        by_neurons = -(-int(neurons) // self.neurons_per_core)
        by_synapses = -(-int(synapses) // self.synapses_per_core)
        return max(1, by_neurons, by_synapses)
