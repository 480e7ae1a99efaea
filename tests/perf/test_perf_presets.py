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


def test_every_uncalibrated_gpu_preset_says_datasheet_not_calibrated_and_cites_its_peaks():
    """Issue 28 item 4: a datasheet preset says so in its one line and cites its peaks."""
    datasheet = [p for p in map(load_preset, available_presets())
                 if p.engine == "gpu" and not p.config.calibrated]
    assert {"a100-sxm", "h200-sxm", "furiosa-rngd", "rebellions-atom",
            "deepx-dx-m1"} <= {p.name for p in datasheet}
    for p in datasheet:
        text = p.description.lower()
        assert "datasheet" in text and "not calibrated" in text, p.name
        assert p.sources.get("peaks"), f"{p.name} cites no source for its peaks"
        if p.interconnect:
            assert p.interconnect in p.sources.get("interconnect", ""), p.name


#: Each domestic (Korean) preset's numbers and the words its ``sources`` quote them with: the
#: file's number and its citation cannot drift apart.
KOREAN = {
    "furiosa-rngd": {"peak_ops_per_s": (256e12, "256 TFLOPS BF16"),
                     "dram_bytes_per_s": (1.5e12, "1.5 TB/s"),
                     "memory_bytes": (48e9, "48 GB HBM3"), "power_w": (180.0, "180 W TDP")},
    "rebellions-atom": {"peak_ops_per_s": (32e12, "32 TFLOPS FP16"),
                        "dram_bytes_per_s": (256e9, "256 GB/s GDDR6"),
                        "memory_bytes": (16e9, "16 GB GDDR6"), "power_w": (130.0, "60-130 W")},
    "deepx-dx-m1": {"peak_ops_per_s": (25e12, "25 TOPS"),
                    "dram_bytes_per_s": (25.6e9, "assumption 25.6 GB/s"),
                    "memory_bytes": (4e9, "4 GB LPDDR5"), "power_w": (5.0, "2-5 W")},
}


@pytest.mark.parametrize("name", sorted(KOREAN))
def test_korean_presets_quote_every_number_group_in_their_sources(name):
    p = load_preset(name)
    cited = " ".join(p.sources.values())
    for field_name, (value, quoted) in KOREAN[name].items():
        assert getattr(p.config, field_name) == value, (name, field_name)
        assert quoted in cited, (name, field_name, quoted)
    assert {"peaks", "memory", "not_published", "interconnect"} <= set(p.sources)
    # what the vendor does not publish is left at the ideal roofline, never a guessed fraction
    assert p.config.gemm_efficiency == p.config.bandwidth_efficiency == 1.0


def test_korean_presets_interconnects_and_phases():
    """ATOM is a PCIe Gen5 x16 card, DX-M1 an M.2 module on PCIe Gen3 x4; ATOM decodes a 1B LLM
    at its GDDR6 roofline, and DX-M1 runs a CNN."""
    from npulab.hw.interconnect import LINKS
    from npulab.perf.scoring import score
    from npulab.workloads.llm import from_config

    atom, m1 = load_preset("rebellions-atom"), load_preset("deepx-dx-m1")
    assert atom.interconnect == "pcie5-x16" and m1.interconnect == "pcie3-x4"
    assert {atom.interconnect, m1.interconnect} <= set(LINKS)
    phase = from_config("llama-3.2-1b").decode(1024, 1, weight_format="fp16", kv_format="fp16")
    r = score(phase, atom)
    assert r.bound == "memory"
    assert r.latency_s >= phase.weight_bytes / 256e9
    cnn = score("resnet18", m1)
    assert cnn.latency_s > 0 and cnn.energy_pJ > 0 and cnn.peak_ops_per_s == 25e12
