"""Lab 08's capstone: the design schema refuses every way to set a technology number, the
trusted evaluation gives the recorded numbers, and every held-out gaming attempt fails."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from npulab.perf import capstone
from npulab.perf.capstone import (
    BUDGETS,
    assess_design,
    bundled_parts,
    check_budgets,
    evaluate_design,
    validate_design,
)


def systolic(rows, cols, kb, dataflow="os", precision="int8", bw=12.8e9):
    return {
        "engine": "systolic",
        "array": {
            "rows": rows,
            "cols": cols,
            "dataflow": dataflow,
            "clock_hz": 1e9,
            "precision": precision,
        },
        "memory": {
            "ifmap_sram_kb": kb,
            "filter_sram_kb": kb,
            "ofmap_sram_kb": kb,
            "dram_bytes_per_s": bw,
        },
    }


#: The lab's solution: an int4 16x16 perception engine and an int8 16x32 planner engine.
GOOD = {"perception": systolic(16, 16, 32, precision="int4"), "planner": systolic(16, 32, 64)}
#: Recorded from the trusted evaluation (45 nm energy table, TPUv1 area, 0.02 W/mm^2 leakage).
GOOD_METRICS = {
    "fps": 674.7337837856074,
    "plan_s": 0.479201867,
    "power_w": 0.30215785290360003,
    "area_mm2": 1.9006640625,
    "bandwidth": 25.6e9,
    "valid": True,
}


def test_the_solution_design_gives_the_recorded_numbers_and_passes():
    m = evaluate_design(GOOD).to_dict()
    for key, want in GOOD_METRICS.items():
        assert m[key] == pytest.approx(want, rel=1e-9) if key != "valid" else m[key] is want
    a = assess_design(GOOD)
    assert a.passes and a.failed == () and a.error == ""


def test_defaults_of_optional_knobs_are_the_engines_defaults():
    bare = {
        "perception": {
            **GOOD["perception"],
            "array": {"rows": 16, "cols": 16, "precision": "int4"},
        },
        "planner": GOOD["planner"],
    }
    full = validate_design(bare)["perception"]["array"]
    assert full == {"rows": 16, "cols": 16, "dataflow": "os", "clock_hz": 1e9, "precision": "int4"}
    assert evaluate_design(bare) == evaluate_design(GOOD)


def test_power_comes_from_the_knobs_only_the_issue_s_energy_table_attack_is_refused():
    attack = copy.deepcopy(GOOD)
    attack["planner"]["energy"] = {"dram_pJ_per_byte": 0.01}  # 0.320 W -> 0.042 W before issue 24
    with pytest.raises(ValueError, match=r"design\['planner'\] may not set 'energy'"):
        validate_design(attack)
    a = assess_design(attack)
    assert not a.passes and a.metrics is None and "energy" in a.error


def _set(design, path, value):
    d = copy.deepcopy(design)
    node = d
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return d


ATTACKS = {
    "energy table in a part": (
        ("perception", "energy"),
        {"mac_int8_pJ": 0.0},
        "may not set 'energy'",
    ),
    "static power override": (("planner", "static_power_w"), 0.0, "may not set 'static_power_w'"),
    "weights claimed on chip": (
        ("planner", "weight_capacity_bytes"),
        2e8,
        "may not set 'weight_capacity_bytes'",
    ),
    "calibration data": (
        ("planner", "calibration"),
        {"gemm": [[1, 2]]},
        "may not set 'calibration'",
    ),
    "spike rate as a knob": (("perception", "spike_rate"), 0.001, "may not set 'spike_rate'"),
    "technology constant at the top": (
        ("energy",),
        {"dram_pJ_per_byte": 0.01},
        "design may not set 'energy'",
    ),
    "unknown knob": (("planner", "array", "voltage"), 0.5, "unknown key 'voltage'"),
    "NaN clock": (
        ("planner", "array", "clock_hz"),
        math.nan,
        "clock_hz'\\] must be a finite number",
    ),
    "inf clock": (
        ("planner", "array", "clock_hz"),
        math.inf,
        "clock_hz'\\] must be a finite number",
    ),
    "overclocked": (("planner", "array", "clock_hz"), 5e9, "in \\[1e\\+08, 1e\\+09\\]"),
    "huge int": (
        ("planner", "array", "rows"),
        10**5000,
        "rows'\\] must be an int in \\[1, 256\\]; got an int of",
    ),
    "negative SRAM": (
        ("planner", "memory", "ifmap_sram_kb"),
        -64,
        "must be an int in \\[1, 1024\\]",
    ),
    "string where a number belongs": (("planner", "array", "cols"), "32", "must be an int"),
    "float where an int belongs": (("planner", "array", "cols"), 32.0, "must be an int"),
    "bool where an int belongs": (("planner", "array", "cols"), True, "must be an int"),
    "nested object where a scalar belongs": (
        ("planner", "array", "rows"),
        {"value": 16},
        "got a dict",
    ),
    "list where a scalar belongs": (
        ("planner", "memory", "dram_bytes_per_s"),
        [12.8e9],
        "got a list",
    ),
    "DRAM not on the list": (
        ("planner", "memory", "dram_bytes_per_s"),
        1e12,
        "dram_bytes_per_s'\\] must be one of",
    ),
    "unknown precision": (
        ("planner", "array", "precision"),
        "int2",
        "precision'\\] must be one of",
    ),
    "int16 has no MAC energy": (
        ("planner", "array", "precision"),
        "int16",
        "precision'\\] must be one of",
    ),
    "unknown engine": (("planner", "engine"), "gpu", "engine'\\] must be one of"),
    "missing SRAM (free SRAM before)": (
        ("planner", "memory"),
        {"dram_bytes_per_s": 12.8e9},
        "missing 'ifmap_sram_kb'",
    ),
    "planner neither shared nor a part": (
        ("planner",),
        "Shared",
        "must be a dict \\(one engine\\) or 'shared'",
    ),
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_held_out_gaming_attempts_fail_with_one_line_naming_the_key(name):
    path, value, message = ATTACKS[name]
    bad = _set(GOOD, path, value)
    with pytest.raises(ValueError, match=message) as err:
        validate_design(bad)
    assert "\n" not in str(err.value)
    a = assess_design(bad)
    assert not a.passes and a.error and a.metrics is None


def test_containers_must_be_plain_dicts_read_once():
    class Sneaky(dict):  # answers one thing to the validator, another to the evaluation
        reads = 0

        def __getitem__(self, key):
            Sneaky.reads += 1
            return 1 if key == "rows" and Sneaky.reads > 2 else super().__getitem__(key)

    bad = copy.deepcopy(GOOD)
    bad["planner"]["array"] = Sneaky(bad["planner"]["array"])
    with pytest.raises(
        ValueError, match=r"design\['planner'\]\['array'\] must be a dict; got a Sneaky"
    ):
        validate_design(bad)

    class Keys(dict):
        def keys(self):
            return ["perception", "planner"]

    with pytest.raises(ValueError, match="design must be a dict; got a Keys"):
        validate_design(Keys(energy=1, **GOOD))

    class Int(int):  # a number whose value changes between reads
        n = 0

        def __int__(self):
            Int.n += 1
            return 16 if Int.n == 1 else 1

    with pytest.raises(ValueError, match="rows'\\] must be an int"):
        validate_design(_set(GOOD, ("planner", "array", "rows"), Int(16)))
    with pytest.raises(ValueError, match="has a key that is not a string"):
        validate_design({**GOOD, 3: "x"})


def test_the_validated_design_is_a_fresh_copy_of_plain_values():
    source = copy.deepcopy(GOOD)
    source["planner"]["array"]["rows"] = np.int64(16)
    canon = validate_design(source)
    assert type(canon["planner"]["array"]["rows"]) is int
    source["planner"]["array"]["rows"] = 1  # changing the student's dict afterwards changes nothing
    assert canon["planner"]["array"]["rows"] == 16


def test_a_bundled_preset_copied_knob_for_knob_is_not_a_design():
    parts = bundled_parts()
    assert {"edge-npu-int8", "pim-isaac", "loihi-like"} <= set(parts)
    with pytest.raises(ValueError, match="is the bundled preset 'edge-npu-int8' knob for knob"):
        validate_design(
            {"perception": systolic(8, 8, 32, precision="int4"), "planner": parts["edge-npu-int8"]}
        )
    edge = copy.deepcopy(parts["edge-npu-int8"])
    edge["memory"]["ifmap_sram_kb"] = 64  # a knob changed: a design (the report defends it)
    validate_design({"perception": edge, "planner": "shared"})


def test_no_bundled_preset_meets_the_budgets():
    for name, part in bundled_parts().items():
        try:
            canon = validate_design({"perception": {**part}, "planner": "shared"})
        except ValueError as err:  # a copy, or out of the schema's range (tpuv1: 24 MiB SRAM)
            assert "knob for knob" in str(err) or "must be" in str(err)
            canon = {"perception": part, "planner": "shared"}
        if part["engine"] == "systolic" and part["memory"]["ifmap_sram_kb"] > 1024:
            assert capstone.part_area_mm2(part) > 50 * BUDGETS["area_mm2"], name  # a datacentre die
            continue
        failed = check_budgets(capstone._evaluate(canon))
        assert failed, f"the bundled preset {name} meets every budget: a copy would pass"


def test_the_budget_check_order_ties_and_nan():
    ok = dict(GOOD_METRICS)
    assert check_budgets(ok) == []
    assert check_budgets({**ok, "fps": 30.0, "plan_s": 0.5, "power_w": 0.33, "area_mm2": 2.0}) == []
    assert check_budgets({**ok, "power_w": math.inf, "area_mm2": 3.0}) == ["power_w", "area_mm2"]
    assert check_budgets({**ok, "fps": math.nan, "valid": False}) == ["fps", "valid"]
    assert check_budgets({**ok, "valid": False}, {**BUDGETS, "valid": False}) == []


def test_assessment_record_is_plain_json():
    import json

    busy = {"perception": systolic(2, 2, 8), "planner": "shared"}  # busy > 100%: power inf
    a = assess_design(busy)
    d = a.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["metrics"]["power_w"] is None and "power_w" in d["failed"] and d["passes"] is False
