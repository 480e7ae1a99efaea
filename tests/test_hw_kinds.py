"""npulab.hw after issue 13: one precision table, typed per-engine configs, the tiler's hierarchy."""
from __future__ import annotations

import pytest

from npulab.hw import (
    PRECISIONS,
    Architecture,
    ArrayConfig,
    CoreConfig,
    CrossbarConfig,
    EnergyTable,
    IOConfig,
    MemoryConfig,
    PimConfig,
    SnnConfig,
    SystolicConfig,
    get_precision,
    tpu_like,
)
from npulab.hw.precision import bytes_per_element, precision_for_bits
from npulab.workloads.layers import PRECISION_BYTES


def test_one_precision_table_serves_workloads_energy_and_the_tiler():
    assert PRECISION_BYTES == {n: p.bits / 8 for n, p in PRECISIONS.items()}
    e = EnergyTable()
    assert e.mac_pJ("bf16") == e.mac_fp16_pJ and e.mac_pJ("int4") == e.mac_int8_pJ
    assert tpu_like(4, 4, precision="fp16").word_bytes == 2.0
    assert tpu_like(4, 4, precision="fp16").mac_pJ == e.mac_fp16_pJ
    for bad in ("int7", "float8", "INT8"):
        with pytest.raises(ValueError, match="precision must be one of"):
            get_precision(bad)
        with pytest.raises(ValueError, match="precision"):
            bytes_per_element(bad)
        with pytest.raises(ValueError, match="precision"):
            tpu_like(4, 4, precision=bad)            # no silent fallback to int8
        with pytest.raises(ValueError, match="precision"):
            ArrayConfig(4, 4, precision=bad)
    with pytest.raises(ValueError, match="mac_pJ precision must be one of"):
        tpu_like(4, 4, precision="int16")            # known, but no cited MAC energy
    assert [precision_for_bits(b) for b in (2, 4, 8, 9, 16)] == ["int8", "int4", "int8", "int16", "int16"]


def test_typed_configs_validate_and_derive_preset_numbers():
    hw = SystolicConfig(ArrayConfig(8, 8, clock_hz=5e8), MemoryConfig(dram_bytes_per_s=4e9))
    assert (hw.peak_ops_per_s, hw.dram_bytes_per_s, hw.precision) == (2 * 64 * 5e8, 4e9, "int8")
    assert SystolicConfig.of(ArrayConfig(8, 8)) == SystolicConfig(ArrayConfig(8, 8))
    with pytest.raises(ValueError, match="SystolicConfig.array must be an ArrayConfig"):
        SystolicConfig("8x8")
    p = PimConfig(CrossbarConfig(), num_arrays=4)
    assert p.weights_per_array == 128 * 128 // 8 and p.weight_capacity_bytes == 4 * 2048
    with pytest.raises(ValueError, match="PimConfig.num_arrays must be an int >= 1; got 0"):
        PimConfig(num_arrays=0)
    s = SnnConfig(CoreConfig(num_cores=2), spike_rate=0.5, timesteps=3)
    assert s.peak_ops_per_s == 2 * 2 * 1e9 and s.precision == "int8"
    with pytest.raises(ValueError, match=r"SnnConfig.spike_rate must be a number in \[0, 1\]"):
        SnnConfig(spike_rate=1.5)
    with pytest.raises(ValueError, match="SnnConfig.timesteps must be an int >= 1"):
        SnnConfig(timesteps=0)
    with pytest.raises(ValueError, match="IOConfig.out_noise must be >= 0"):
        IOConfig(out_noise=-1.0)                  # the periphery is hardware description too


def test_the_tiler_maps_an_array_config():
    from npulab.tiling import Problem, search

    arch = Architecture.from_array(ArrayConfig(4, 4, precision="fp16", clock_hz=5e8), MemoryConfig(1, 1, 2))
    assert (arch.rows, arch.cols, arch.clock_hz, arch.word_bytes) == (4, 4, 5e8, 2.0)
    assert arch.levels[1].capacity == 4 * 1024 // 2
    assert arch == tpu_like(4, 4, sram_kb=4, precision="fp16", clock_hz=5e8)
    a = search(Problem.gemm(8, 8, 8), ArrayConfig(4, 4), executor="inline", progress=False)
    b = search(Problem.gemm(8, 8, 8), tpu_like(4, 4), executor="inline", progress=False)
    assert a.cost.energy_pJ == b.cost.energy_pJ and a.cost.cycles == b.cost.cycles


def test_scalesim_config_reads_into_hw_types():
    from npulab.systolic import ScaleSimConfig

    cfg = ScaleSimConfig("t", rows=16, cols=8, ifmap_sram_kb=32, filter_sram_kb=16, ofmap_sram_kb=8,
                         dataflow="is")
    hw = cfg.hardware
    assert hw == SystolicConfig(ArrayConfig(16, 8, "is"), MemoryConfig(32, 16, 8), scalesim_compat=True)
    assert ScaleSimConfig.from_hardware(hw, run_name="t") == cfg
