"""The engine contract and registry (issue 13): one signature, typed hw, an engine added in a few lines."""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import ClassVar

import pytest

from npulab._validate import positive_number
from npulab.hw import CoreConfig, CrossbarConfig, EnergyTable, PimConfig, SnnConfig, SystolicConfig
from npulab.hw.array import ArrayConfig
from npulab.metrics.report import Report
from npulab.perf import run_scorecard
from npulab.perf.engines import ENGINES, HARDWARE, register_engine
from npulab.perf.presets import load_preset, preset_from_dict
from npulab.workloads import Gemm


def test_every_registered_engine_has_the_one_signature():
    for kind, estimate in ENGINES.items():
        params = inspect.signature(estimate).parameters
        assert list(params)[:2] == ["layer", "hw"], kind
        assert params["energy"].kind is inspect.Parameter.KEYWORD_ONLY and params["energy"].default is None
        assert HARDWARE[kind].kind == kind


@pytest.mark.parametrize("kind, hw", [
    ("systolic", SystolicConfig(ArrayConfig(16, 16))), ("systolic", ArrayConfig(16, 16)),
    ("pim", PimConfig()), ("pim", CrossbarConfig()), ("snn", SnnConfig()), ("snn", CoreConfig()),
])
def test_each_engine_takes_its_typed_hw_and_an_optional_energy_table(kind, hw):
    g = Gemm(8, 32, 64)
    r = ENGINES[kind](g, hw)
    assert isinstance(r, Report) and r.engine == kind and r.latency_s > 0
    cheaper = EnergyTable(sram_pJ_per_byte=0.5, sop_pJ=1.0, adc_pJ=0.1)
    assert ENGINES[kind](g, hw, energy=cheaper).energy_pJ < r.energy_pJ


def test_presets_hold_the_typed_hw_of_their_kind():
    for name, cls in (("tpuv1-like", SystolicConfig), ("pim-isaac", PimConfig), ("loihi-like", SnnConfig)):
        p = load_preset(name)
        assert isinstance(p.config, cls) and p.config.kind == p.engine
    assert load_preset("tpuv1-like").config["array"].rows == 256      # the old mapping view


@dataclass(frozen=True)
class IdealConfig:
    """ARCHITECTURE.md's worked example: a roofline-speed engine."""

    kind: ClassVar[str] = "ideal"
    PRESET_KEYS: ClassVar[frozenset] = frozenset({"ideal"})
    peak_ops_per_s: float
    dram_bytes_per_s: float
    precision: str = "int8"
    weight_capacity_bytes: ClassVar[float] = 0.0
    memory_bytes: ClassVar[float] = 0.0

    def __post_init__(self):
        positive_number("IdealConfig", "peak_ops_per_s", self.peak_ops_per_s)
        positive_number("IdealConfig", "dram_bytes_per_s", self.dram_bytes_per_s)

    @classmethod
    def from_preset(cls, fields):
        from npulab.hw.build import build

        return build(cls, "HardwarePreset.ideal", fields.get("ideal"))

    def static_power_w(self):
        return 0.0


def ideal_estimate(layer, hw, *, energy=None):
    e = energy or EnergyTable()
    moved = layer.total_bytes(hw.precision)
    latency = max(layer.ops / hw.peak_ops_per_s, moved / hw.dram_bytes_per_s)
    return Report(name=layer.name or str(layer), engine="ideal", macs=layer.macs, latency_s=latency,
                  energy_breakdown_pJ={"compute": layer.macs * e.mac_pJ(hw.precision),
                                       "dram": moved * e.dram_pJ_per_byte})


def test_a_new_engine_plugs_in_with_one_registration(monkeypatch):
    monkeypatch.setattr("npulab.perf.engines.ENGINES", dict(ENGINES))
    monkeypatch.setattr("npulab.perf.engines.HARDWARE", dict(HARDWARE))
    register_engine("ideal", ideal_estimate, IdealConfig)
    p = preset_from_dict({"name": "ideal-1tops", "engine": "ideal",
                          "ideal": {"peak_ops_per_s": 1e12, "dram_bytes_per_s": 1e10}})
    card = run_scorecard(["resnet18"], [p, "tpuv1-like"])
    assert [r.engine for r in card.reports] == ["ideal", "systolic"]
    ideal = card.reports[0]
    assert 0.9 < ideal.utilization <= 1.0 and ideal.hardware == "ideal-1tops"
    with pytest.raises(ValueError, match="ideal.bogus is not a IdealConfig field"):
        preset_from_dict({"engine": "ideal", "ideal": {"peak_ops_per_s": 1, "dram_bytes_per_s": 1, "bogus": 2}})


def test_register_engine_rejects_bad_arguments():
    with pytest.raises(ValueError, match="kind"):
        register_engine("", ideal_estimate)
    with pytest.raises(ValueError, match="callable"):
        register_engine("x", 3)


def test_the_scorecard_reads_typed_report_times_not_details():
    """Report carries compute/memory/stall/fill times as fields; the bound follows from them."""
    from npulab.hw import MemoryConfig
    from npulab.metrics import Report, bound_of

    hw = SystolicConfig(ArrayConfig(16, 16, "ws"), MemoryConfig(dram_bytes_per_s=1e9),
                        fold_overlap=True)
    r = ENGINES["systolic"](Gemm(1, 4096, 1024), hw)          # weight streaming: DRAM stalls
    assert r.stall_s == r.details["stall_cycles"] / r.clock_hz > 0
    assert r.fill_s == r.details["pipeline_fill_cycles"] / r.clock_hz
    assert r.compute_time_s == r.ops / r.peak_ops_per_s and r.memory_time_s is None and r.bound is None
    t = Report(name="x", engine="demo", macs=10, latency_s=3.0, compute_time_s=1.0,
               memory_time_s=0.5, stall_s=2.0)
    assert t.bound == bound_of(1.0, max(0.5, 2.0)) == "memory"
    assert t.to_dict()["stall_s"] == 2.0
    with pytest.raises(ValueError, match="Report.bound must be"):
        Report(name="x", engine="demo", macs=1, latency_s=1.0, bound="io")
    with pytest.raises(ValueError, match="Report.stall_s"):
        Report(name="x", engine="demo", macs=1, latency_s=1.0, stall_s=-1.0)
    card = run_scorecard(["resnet18"], ["tpuv1-like"]).reports[0]
    assert card.bound == bound_of(card.compute_time_s, max(card.memory_time_s, card.stall_s))
    assert card.bound == card.details["bound"]
