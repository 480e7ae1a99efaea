"""Hardware configs reject bad values by name; Report and Roofline derive the right metrics."""
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from npulab.hw import ArrayConfig, EnergyTable, MemoryConfig
from npulab.perf import Report, Roofline, format_si


@pytest.mark.parametrize("cls, kwargs, message", [
    (ArrayConfig, dict(rows=0, cols=4), "ArrayConfig.rows must be an int >= 1; got 0"),
    (ArrayConfig, dict(rows=4, cols=4, dataflow="rs"),
     "ArrayConfig.dataflow must be one of ['is', 'os', 'ws']; got 'rs'"),
    (ArrayConfig, dict(rows=4, cols=4, clock_hz=-1), "ArrayConfig.clock_hz must be a finite number > 0; got -1"),
    (MemoryConfig, dict(ifmap_sram_kb=0), "MemoryConfig.ifmap_sram_kb must be an int >= 1; got 0"),
    (MemoryConfig, dict(dram_bytes_per_s=float("nan")),
     "MemoryConfig.dram_bytes_per_s must be a finite number > 0; got nan"),
    (EnergyTable, dict(sram_pJ_per_byte=0), "EnergyTable.sram_pJ_per_byte must be a finite number > 0; got 0"),
])
def test_bad_config_names_field_and_value(cls, kwargs, message):
    with pytest.raises(ValueError) as err:
        cls(**kwargs)
    assert str(err.value) == message


def test_dataflow_is_case_insensitive_and_configs_are_frozen():
    a = ArrayConfig(8, 8, dataflow="WS")
    assert a.dataflow == "ws"
    with pytest.raises(AttributeError):
        a.rows = 4


def test_energy_defaults_follow_horowitz():
    e = EnergyTable()
    assert e.mac_pJ("int8") == pytest.approx(0.2 + 0.1)
    assert e.mac_pJ("fp32") == pytest.approx(3.7 + 0.9)
    assert e.sram_pJ_per_byte == pytest.approx(20 / 8)
    assert e.dram_pJ_per_byte == pytest.approx(1300 / 8)
    with pytest.raises(ValueError, match="got 'int3'"):
        e.mac_pJ("int3")


def test_report_derived_metrics():
    r = Report.from_cycles(name="g", engine="test", macs=1000, cycles=500, clock_hz=1e9,
                           energy_breakdown_pJ={"mac": 300.0, "sram": 700.0}, inferences=2)
    assert r.latency_s == pytest.approx(5e-7)
    assert r.energy_j == pytest.approx(1e-9)
    assert r.throughput_ops_per_s == pytest.approx(2000 / 5e-7)
    assert r.power_w == pytest.approx(1e-9 / 5e-7)
    assert r.tops_per_w == pytest.approx(2000 / 1e-9 / 1e12)
    assert r.energy_per_inference_j == pytest.approx(0.5e-9)
    d = json.loads(json.dumps(r.to_dict()))
    assert d["tops_per_w"] == pytest.approx(2.0) and d["latency_s"] == pytest.approx(5e-7)
    assert "TOPS/W" in str(r) and "<table>" in r._repr_html_()


def test_report_validity_and_errors():
    ok = Report(name="x", engine="e", macs=1, latency_s=1.0, accuracy=0.98, accuracy_target=0.97)
    assert ok.valid is True and ok.tops_per_w is None
    with pytest.raises(ValueError, match="Report.latency_s must be a finite number > 0; got 0"):
        Report(name="x", engine="e", macs=1, latency_s=0)
    with pytest.raises(ValueError, match=r"Report.accuracy must be in \[0, 1\]; got 97"):
        Report(name="x", engine="e", macs=1, latency_s=1, accuracy=97)
    with pytest.raises(ValueError, match=r"energy_breakdown_pJ\['dram'\]"):
        Report(name="x", engine="e", macs=1, latency_s=1, energy_breakdown_pJ={"dram": -1})


@given(st.floats(1e6, 1e16), st.floats(1e6, 1e13), st.floats(1e-3, 1e4))
def test_roofline_is_min_of_two_roofs(peak, bw, intensity):
    r = Roofline(peak, bw)
    assert r.attainable(intensity) == pytest.approx(min(peak, intensity * bw))
    assert r.is_memory_bound(intensity) == (intensity * bw < peak) or intensity == pytest.approx(r.ridge_point)
    assert r.attainable(r.ridge_point) == pytest.approx(peak)


def test_roofline_vectorised_and_tpu_numbers():
    # Jouppi et al., ISCA 2017: 256x256 MACs at 700 MHz = 92 TOPS; 34 GB/s.
    tpu = Roofline(ArrayConfig(256, 256, clock_hz=700e6).peak_ops_per_s, 34e9)
    assert tpu.peak_ops_per_s / 1e12 == pytest.approx(91.75, rel=1e-3)
    assert tpu.ridge_point == pytest.approx(2698.8, rel=1e-3)
    assert np.allclose(tpu.attainable(np.array([1.0, 1e4])), [34e9, tpu.peak_ops_per_s])


def test_format_si():
    assert format_si(0.00123, "s") == "1.23 ms"
    assert format_si(92e12, "OP/s") == "92 TOP/s"
    assert format_si(None, "W") == "-"
