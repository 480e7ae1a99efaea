"""Hardware presets: published numbers, derived peaks, one-line errors naming the field."""
import json

import pytest

from npulab.perf.presets import available_presets, load_preset, preset_from_dict


def test_bundled_presets_cover_every_registered_engine():
    from npulab.perf.engines import ENGINES

    engines = {load_preset(n).engine for n in available_presets()}
    assert {"systolic", "pim", "snn"} <= engines == set(ENGINES)
    for n in available_presets():
        assert load_preset(n).sources, f"{n} cites no source"


def test_tpuv1_peak_and_ridge_point_from_published_figures():
    """Jouppi et al., ISCA 2017: 65,536 MACs at 700 MHz = 92 TOPS; 34 GB/s."""
    p = load_preset("tpuv1-like")
    assert p.peak_ops_per_s == 2 * 256 * 256 * 700e6
    assert p.peak_ops_per_s / 1e12 == pytest.approx(92, rel=0.01)
    ridge = p.roofline.ridge_point
    assert ridge == pytest.approx(2 * 256 * 256 * 700e6 / 34e9)
    # the paper's Fig. 5 puts the ridge at ~1350 MAC-ops per weight byte (= ops / 2)
    assert ridge / 2 == pytest.approx(1350, rel=0.01)


def test_pim_peak_derived_from_crossbars():
    p = load_preset("pim-isaac")
    xb = p.config["crossbar"]
    weights = xb.rows * xb.cols // xb.cells_per_weight
    assert p.peak_ops_per_s == pytest.approx(16128 * weights * 2 / (xb.input_cycles * xb.cycle_time_s))
    assert p.weight_capacity_bytes == 16128 * weights


def test_user_preset_file_json(tmp_path):
    f = tmp_path / "mine.json"
    f.write_text(json.dumps({"name": "mine", "engine": "systolic",
                             "array": {"rows": 8, "cols": 8, "clock_hz": 5e8},
                             "memory": {"dram_bytes_per_s": 4e9}}))
    p = load_preset(f)
    assert p.peak_ops_per_s == 2 * 64 * 5e8 and p.dram_bytes_per_s == 4e9


@pytest.mark.parametrize("text, field", [
    ("engine: systolic\narray: {rows: 0, cols: 8}\n", "rows"),
    ("engine: systolic\narray: {rows: 8, cols: 8, colour: red}\n", "colour"),
    ("engine: warp-drive\n", "engine"),
    ("name: x\n", "engine"),
    ("engine: pim\ncrossbar: {rows: 128}\n", "dram_bytes_per_s"),
    ("engine: snn\ncore: {num_cores: -1}\ndram_bytes_per_s: 1.0e+9\n", "num_cores"),
    ("engine: systolic\narray: {rows: 8, cols: 8}\nmemory: {dram_bytes_per_s: 0}\n", "dram_bytes_per_s"),
    ("engine: systolic\narray: {rows: 8, cols: 8}\nenergy: {sram_pJ_per_byte: -1}\n", "sram_pJ_per_byte"),
    ("engine: systolic\narray: {rows: 8, cols: 8}\nbogus: 1\n", "bogus"),
    ("engine: snn\ncore: {}\ndram_bytes_per_s: 1.0e+9\nspike_rate: 2\n", "spike_rate"),
])
def test_bad_preset_one_line_error_naming_field(tmp_path, text, field):
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(ValueError, match=field) as err:
        load_preset(f)
    msg = str(err.value)
    assert "\n" not in msg and "bad.yaml" in msg


def test_unknown_preset_name_lists_bundled():
    with pytest.raises(ValueError, match="tpuv1-like"):
        load_preset("no-such-npu")


def test_yaml_numbers_without_dot_are_read():
    p = preset_from_dict({"engine": "systolic", "array": {"rows": 4, "cols": 4, "clock_hz": "2e9"},
                          "memory": {"dram_bytes_per_s": "1e9"}})
    assert p.peak_ops_per_s == 2 * 16 * 2e9


@pytest.mark.parametrize("key, kind", [
    ("peak_ops_per_s", "systolic"), ("dram_bytes_per_s", "systolic"),
    ("weight_capacity_bytes", "pim"), ("memory_bytes", "gpu"), ("spike_rate", "systolic")])
def test_a_preset_has_no_second_copy_of_a_hardware_number(key, kind):
    """Every hardware number is the config's: a top-level key the kind does not read is rejected."""
    base = {"systolic": {"array": {"rows": 4, "cols": 4}},
            "pim": {"crossbar": {}, "dram_bytes_per_s": 1e9},
            "gpu": {"gpu": {"peak_ops_per_s": 1e12, "dram_bytes_per_s": 1e11}}}[kind]
    rule = f"HardwarePreset.{key} is not a field of a {kind} preset"
    with pytest.raises(ValueError, match=rule) as err:
        preset_from_dict({"engine": kind, **base, key: 1.0})
    assert "\n" not in str(err.value)


def test_preset_numbers_are_read_only_views_of_the_config():
    p = load_preset("tpuv1-like")
    hw = p.config
    mine = (p.peak_ops_per_s, p.dram_bytes_per_s, p.weight_capacity_bytes, p.static_power_w,
            p.memory_bytes)
    assert mine == (hw.peak_ops_per_s, hw.dram_bytes_per_s, hw.weight_capacity_bytes,
                    hw.static_power_w(), hw.memory_bytes)
    assert p.static_power_w == 28 and hw.idle_power_w == 28      # measured (Jouppi et al., Table 2)
    with pytest.raises(AttributeError):
        p.peak_ops_per_s = 1.0
    assert load_preset("h100-sxm").memory_bytes == 80e9
    assert load_preset("pim-isaac").dram_bytes_per_s == 6.4e9
