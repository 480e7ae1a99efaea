"""Lab 08's capstone: the design schema, the trusted evaluation and the budgets.

A student's design is **data that names design knobs**, nothing else.  Power, area and
latency come only from :func:`evaluate_design`, which builds each engine from the knobs with
npulab's technology constants (:mod:`npulab.hw.area`, the default
:class:`~npulab.hw.EnergyTable`, the engines' config defaults) and scores it with the
scorecard.  A design cannot carry an energy table, calibration data, a static power, a weight
capacity or any other technology number: :func:`validate_design` rejects every key that is
not a knob, with one line naming it.

The design schema
-----------------
``{"perception": PART, "planner": "shared" | PART}`` (exactly these two keys; ``"shared"``:
the perception engine also runs the planner).  A ``PART`` is one of:

========  =================================================================================
engine    knobs (type, range; default when the key may be left out)
========  =================================================================================
systolic  ``{"engine": "systolic", "array": {...}, "memory": {...}}``
          ``array.rows``, ``array.cols``: int in [1, 256] (required);
          ``array.dataflow``: ``"os"``, ``"ws"`` or ``"is"`` (default ``"os"``);
          ``array.clock_hz``: number in [1e8, 1e9] Hz (default 1e9; above 1 GHz the 45 nm
          energy table's nominal voltage no longer holds);
          ``array.precision``: ``"int4"``, ``"int8"``, ``"fp16"`` or ``"bf16"`` (default
          ``"int8"``; int16 has no cited MAC energy);
          ``memory.ifmap_sram_kb``, ``memory.filter_sram_kb``, ``memory.ofmap_sram_kb``: int
          in [1, 1024] KiB (required: the area model charges every KiB the engine uses);
          ``memory.dram_bytes_per_s``: one of :data:`DRAM_OPTIONS` (required)
pim       ``{"engine": "pim", "num_arrays": int in [1, 65536], "dram_bytes_per_s": ...}``:
          ISAAC's 128x128 crossbar (the :class:`~npulab.hw.CrossbarConfig` defaults), the
          number of crossbars is the knob
snn       ``{"engine": "snn", "core": {"num_cores": int in [1, 1024]}, "dram_bytes_per_s":
          ...}``: Loihi's core (:class:`~npulab.hw.CoreConfig` defaults), spike rate 0.1 and
          8 timesteps fixed (the digits validity check does not model rate-coding loss, so
          they are not knobs)
========  =================================================================================

Numbers are ``int`` or ``float`` (numpy scalars accepted); ``bool``, ``NaN``, ``inf``,
strings where a number belongs, nested objects where a scalar belongs, unknown keys and
containers other than plain ``dict`` (a subclass could answer differently on each read) are
a one-line ``ValueError``.  The validated design is a fresh copy of plain values, read once:
what is evaluated is exactly what is returned.

A copy of a bundled preset is not a design: a part equal knob for knob to a bundled preset
(``datasets/hw/*.yaml``) projected onto the knobs is rejected, and the budgets are set so that
no bundled preset passes them (tested).  A preset changed in a knob (e.g. the edge NPU with
less SRAM) is a design: the student made that trade-off and defends it in the report.

Units: s, W, mm^2, bytes/s, Hz.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from npulab.hw.area import (
    CORE_MM2_LOIHI,
    EDGE_STATIC_W_PER_MM2,
    PE_MM2_INT8,
    PE_SCALE,
    SRAM_MM2_PER_KB,
    XBAR_MM2_ISAAC,
)

__all__ = [
    "BUDGETS",
    "DRAM_OPTIONS",
    "PRECISIONS",
    "SMOLLM_135M",
    "FPS",
    "PLAN_EVERY_S",
    "PROMPT",
    "PLAN_TOKENS",
    "DesignMetrics",
    "Assessment",
    "validate_design",
    "part_area_mm2",
    "evaluate_design",
    "check_budgets",
    "assess_design",
    "bundled_parts",
]

#: Camera frames per second the perception network must keep up with.
FPS = 30.0
#: The planner runs once every this many seconds.  Units: s.
PLAN_EVERY_S = 5.0
#: Prompt tokens (prefill) and generated tokens (decode steps) of one plan.
PROMPT, PLAN_TOKENS = 256, 32
#: SmolLM-135M (Hugging Face, 2024), the planner: Llama-style, 30 layers, width 576, GQA 9/3.
SMOLLM_135M = {
    "hidden_size": 576,
    "intermediate_size": 1536,
    "num_hidden_layers": 30,
    "num_attention_heads": 9,
    "num_key_value_heads": 3,
    "head_dim": 64,
    "vocab_size": 49152,
    "tie_word_embeddings": True,
    "name": "smollm-135m",
}
#: The brief's budgets: fps >= 30, plan <= 0.5 s, power <= 0.33 W, area <= 2 mm^2, DRAM
#: bandwidth <= 25.6 GB/s (two LPDDR4-3200 x32 channels), valid accuracy.
BUDGETS = {
    "fps": 30.0,
    "plan_s": 0.5,
    "power_w": 0.33,
    "area_mm2": 2.0,
    "bandwidth": 25.6e9,
    "valid": True,
}
#: Allowed DRAM interfaces (bytes/s): LPDDR4-3200 x16, x32, two x32 channels
#: (3200 MT/s x 2, 4 or 8 bytes; JEDEC JESD209-4).
DRAM_OPTIONS = {6.4e9: "LPDDR4-3200 x16", 12.8e9: "LPDDR4-3200 x32", 25.6e9: "2 x LPDDR4-3200 x32"}
#: Precisions a systolic part may compute in.
PRECISIONS = ("int4", "int8", "fp16", "bf16")
_DATAFLOWS = ("os", "ws", "is")
#: Keys that set technology numbers (answered with a message saying why they are refused).
_TECHNOLOGY_KEYS = frozenset(
    {
        "energy",
        "static_power_w",
        "idle_power_w",
        "weight_capacity_bytes",
        "calibration",
        "measured",
        "sources",
        "name",
        "description",
        "fold_overlap",
        "zero_gating",
        "skip_pattern",
        "scalesim_compat",
        "interconnect",
        "spike_rate",
        "timesteps",
        "crossbar",
        "gpu",
    }
)


# --------------------------------------------------------------------------- validation


def _show(value) -> str:
    """A short, safe description of ``value`` for an error message (never runs its code)."""
    if (
        value is None
        or type(value) in (bool, int, float, str)
        or isinstance(value, (np.integer, np.floating))
    ):
        try:
            text = repr(value)
        except ValueError:  # an int with more digits than Python prints
            text = f"an int of {int(value).bit_length()} bits"
        return text if len(text) <= 60 else text[:57] + "..."
    return f"a {type(value).__name__}"


def _where(path: tuple) -> str:
    return "design" + "".join(f"[{p!r}]" for p in path)


def _plain_dict(value, path: tuple, required: tuple, optional: tuple = ()) -> dict:
    """``value`` if it is a plain ``dict`` of string keys, all known, every required one present."""
    if type(value) is not dict:
        raise ValueError(f"{_where(path)} must be a dict; got {_show(value)}")
    allowed = (*required, *optional)
    for key in value:
        if type(key) is not str:
            raise ValueError(f"{_where(path)} has a key that is not a string: {_show(key)}")
        if key in allowed:
            continue
        if key in _TECHNOLOGY_KEYS:
            raise ValueError(
                f"{_where(path)} may not set {key!r}: power, area and latency come only from "
                f"npulab's technology constants (knobs here: {', '.join(allowed)})"
            )
        raise ValueError(
            f"{_where(path)} has an unknown key {key!r} (knobs here: {', '.join(allowed)})"
        )
    for key in required:
        if key not in value:
            raise ValueError(
                f"{_where(path)} is missing {key!r} (knobs here: {', '.join(allowed)})"
            )
    return value


def _int(value, path: tuple, lo: int, hi: int) -> int:
    if not (type(value) is int or isinstance(value, np.integer)) or not lo <= int(value) <= hi:
        raise ValueError(f"{_where(path)} must be an int in [{lo}, {hi}]; got {_show(value)}")
    return int(value)


def _number(value, path: tuple, lo: float, hi: float) -> float:
    ok = type(value) in (int, float) or isinstance(value, (np.integer, np.floating))
    number = float(value) if ok else math.nan
    if not (math.isfinite(number) and lo <= number <= hi):
        raise ValueError(
            f"{_where(path)} must be a finite number in [{lo:g}, {hi:g}]; got {_show(value)}"
        )
    return number


def _choice(value, path: tuple, allowed) -> str:
    if type(value) is not str or value not in allowed:
        raise ValueError(
            f"{_where(path)} must be one of {', '.join(map(repr, allowed))}; got {_show(value)}"
        )
    return str(value)


def _dram(value, path: tuple) -> float:
    ok = type(value) in (int, float) or isinstance(value, (np.integer, np.floating))
    number = float(value) if ok else math.nan
    if number not in DRAM_OPTIONS:
        options = ", ".join(f"{v:g} ({name})" for v, name in DRAM_OPTIONS.items())
        raise ValueError(f"{_where(path)} must be one of {options}; got {_show(value)}")
    return number


def _part(value, path: tuple) -> dict:
    """One engine of a design, validated and copied into plain values (see the module docstring)."""
    if type(value) is not dict:
        raise ValueError(
            f"{_where(path)} must be a dict (one engine) or 'shared'; got {_show(value)}"
        )
    engine = value.get("engine")
    engine = _choice(engine, (*path, "engine"), ("systolic", "pim", "snn"))
    if engine == "systolic":
        _plain_dict(value, path, ("engine", "array", "memory"))
        a = _plain_dict(
            value["array"],
            (*path, "array"),
            ("rows", "cols"),
            ("dataflow", "clock_hz", "precision"),
        )
        m = _plain_dict(
            value["memory"],
            (*path, "memory"),
            ("ifmap_sram_kb", "filter_sram_kb", "ofmap_sram_kb", "dram_bytes_per_s"),
        )
        ap, mp = (*path, "array"), (*path, "memory")
        return {
            "engine": "systolic",
            "array": {
                "rows": _int(a["rows"], (*ap, "rows"), 1, 256),
                "cols": _int(a["cols"], (*ap, "cols"), 1, 256),
                "dataflow": _choice(a.get("dataflow", "os"), (*ap, "dataflow"), _DATAFLOWS),
                "clock_hz": _number(a.get("clock_hz", 1e9), (*ap, "clock_hz"), 1e8, 1e9),
                "precision": _choice(a.get("precision", "int8"), (*ap, "precision"), PRECISIONS),
            },
            "memory": {
                **{
                    k: _int(m[k], (*mp, k), 1, 1024)
                    for k in ("ifmap_sram_kb", "filter_sram_kb", "ofmap_sram_kb")
                },
                "dram_bytes_per_s": _dram(m["dram_bytes_per_s"], (*mp, "dram_bytes_per_s")),
            },
        }
    if engine == "pim":
        _plain_dict(value, path, ("engine", "num_arrays", "dram_bytes_per_s"))
        return {
            "engine": "pim",
            "num_arrays": _int(value["num_arrays"], (*path, "num_arrays"), 1, 65536),
            "dram_bytes_per_s": _dram(value["dram_bytes_per_s"], (*path, "dram_bytes_per_s")),
        }
    _plain_dict(value, path, ("engine", "core", "dram_bytes_per_s"))
    core = _plain_dict(value["core"], (*path, "core"), ("num_cores",))
    return {
        "engine": "snn",
        "core": {"num_cores": _int(core["num_cores"], (*path, "core", "num_cores"), 1, 1024)},
        "dram_bytes_per_s": _dram(value["dram_bytes_per_s"], (*path, "dram_bytes_per_s")),
    }


def bundled_parts() -> dict[str, dict]:
    """Every bundled preset a design part could copy, projected onto the knobs: name -> part.

    Presets of another engine kind (GPUs) are left out.  A knob a preset does not set takes
    the schema's default (the engines' own defaults).
    """
    from pathlib import Path

    from npulab import datasets
    from npulab.perf.presets import available_presets, parse_numbers, read_data_file

    parts: dict[str, dict[str, Any]] = {}
    for name in available_presets():
        path = next(
            (
                datasets.DATASETS_DIR / "hw" / f"{name}{ext}"
                for ext in (".yaml", ".yml", ".json")
                if (datasets.DATASETS_DIR / "hw" / f"{name}{ext}").exists()
            ),
            None,
        )
        d = parse_numbers(read_data_file(Path(str(path)))) if path is not None else {}
        engine = d.get("engine")
        if engine == "systolic":
            a, m = d.get("array", {}), d.get("memory", {})
            parts[name] = {
                "engine": "systolic",
                "array": {
                    "rows": int(a["rows"]),
                    "cols": int(a["cols"]),
                    "dataflow": a.get("dataflow", "os"),
                    "clock_hz": float(a.get("clock_hz", 1e9)),
                    "precision": a.get("precision", "int8"),
                },
                "memory": {
                    "ifmap_sram_kb": int(m.get("ifmap_sram_kb", 64)),
                    "filter_sram_kb": int(m.get("filter_sram_kb", 64)),
                    "ofmap_sram_kb": int(m.get("ofmap_sram_kb", 64)),
                    "dram_bytes_per_s": float(m.get("dram_bytes_per_s", 16e9)),
                },
            }
        elif engine == "pim":
            parts[name] = {
                "engine": "pim",
                "num_arrays": int(d.get("num_arrays") or 1),
                "dram_bytes_per_s": float(d.get("dram_bytes_per_s", 6.4e9)),
            }
        elif engine == "snn":
            parts[name] = {
                "engine": "snn",
                "core": {"num_cores": int(d.get("core", {}).get("num_cores", 128))},
                "dram_bytes_per_s": float(d.get("dram_bytes_per_s", 12.8e9)),
            }
    return parts


def validate_design(design) -> dict:
    """Check a capstone design against the schema; return a fresh copy of plain values.

    Parameters
    ----------
    design : dict
        ``{"perception": PART, "planner": "shared" | PART}``; the knobs of a ``PART`` and their
        ranges are in the module docstring (:mod:`npulab.perf.capstone`).

    Returns
    -------
    dict
        The design with every default filled in, numbers as ``int``/``float``: the only thing
        :func:`evaluate_design` reads.

    Raises
    ------
    ValueError
        One line naming the bad key and value: an unknown key, a technology number (energy
        table, static power, weight capacity, calibration ...), a value of the wrong type, out
        of range or not finite, a container that is not a plain ``dict``, or a part that is a
        bundled preset copied knob for knob.

    Examples
    --------
    >>> part = {"engine": "pim", "num_arrays": 256, "dram_bytes_per_s": 12.8e9}
    >>> validate_design({"perception": part, "planner": "shared"})["planner"]
    'shared'
    >>> cheat = {**part, "energy": {"dram_pJ_per_byte": 0.01}}
    >>> validate_design({"perception": cheat, "planner": "shared"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: design['perception'] may not set 'energy': power, area and latency come only ...
    """
    _plain_dict(design, (), ("perception", "planner"))
    perception = _part(design["perception"], ("perception",))
    planner_in = design["planner"]
    planner: Any = (
        "shared"
        if type(planner_in) is str and planner_in == "shared"
        else _part(planner_in, ("planner",))
    )
    out = {"perception": perception, "planner": planner}
    bundled = bundled_parts()
    for role in ("perception", "planner"):
        for name, part in bundled.items():
            if out[role] == part:
                raise ValueError(
                    f"design[{role!r}] is the bundled preset {name!r} knob for knob; a design must "
                    "differ from every bundled preset"
                )
    return out


# --------------------------------------------------------------------------- evaluation


def part_area_mm2(part: dict) -> float:
    """Die area of one validated part (mm^2): PEs and SRAM from TPUv1's floor plan, an ISAAC
    crossbar or a Loihi core each (:mod:`npulab.hw.area`).

    >>> round(part_area_mm2({"engine": "pim", "num_arrays": 1000, "dram_bytes_per_s": 6.4e9}), 2)
    5.3
    """
    if part["engine"] == "systolic":
        a, m = part["array"], part["memory"]
        kb = m["ifmap_sram_kb"] + m["filter_sram_kb"] + m["ofmap_sram_kb"]
        return a["rows"] * a["cols"] * PE_MM2_INT8 * PE_SCALE[a["precision"]] + kb * SRAM_MM2_PER_KB
    if part["engine"] == "pim":
        return part["num_arrays"] * XBAR_MM2_ISAAC
    return part["core"]["num_cores"] * CORE_MM2_LOIHI


@dataclass(frozen=True)
class DesignMetrics:
    """What the trusted evaluation found for one design.

    Attributes
    ----------
    fps : float
        MobileNetV2 frames per second on the perception engine.  Units: 1/s.
    plan_s : float
        One plan: prefill of :data:`PROMPT` tokens + :data:`PLAN_TOKENS` decode steps.  Units: s.
    power_w : float
        Average power of the die (both tasks at their rates, idle leakage); ``inf`` when an
        engine would be busy more than 100% of the time.  Units: W.
    area_mm2 : float
        Sum of the distinct engines' areas.  Units: mm^2.
    bandwidth : float
        Sum of the distinct engines' DRAM bandwidth.  Units: bytes/s.
    valid : bool
        Every engine passes the digits validity check and the planner is not int4.
    """

    fps: float
    plan_s: float
    power_w: float
    area_mm2: float
    bandwidth: float
    valid: bool

    def to_dict(self) -> dict:
        """The metrics by name (the keys of :data:`BUDGETS`)."""
        return {
            "fps": self.fps,
            "plan_s": self.plan_s,
            "power_w": self.power_w,
            "area_mm2": self.area_mm2,
            "bandwidth": self.bandwidth,
            "valid": self.valid,
        }


def evaluate_design(design) -> DesignMetrics:
    """The trusted evaluation of a capstone design (what the grader and the leaderboard use).

    The design is validated first (:func:`validate_design`); each part becomes a preset built
    from its knobs alone, with static power ``area * EDGE_STATIC_W_PER_MM2``
    (:data:`npulab.hw.area.EDGE_STATIC_W_PER_MM2`) and the default energy table.  Per engine,
    with its tasks ``i`` (energy ``E_i``, latency ``t_i``, rate ``r_i``): busy
    ``= sum r_i t_i``; power ``= sum r_i E_i + P_static (1 - busy)``, ``inf`` if busy > 1.

    Parameters
    ----------
    design : dict
        A design (see :func:`validate_design`).

    Returns
    -------
    DesignMetrics

    Raises
    ------
    ValueError
        When the design breaks the schema (one line).
    """
    return _evaluate(validate_design(design))


def _evaluate(canon: dict) -> DesignMetrics:
    """:func:`evaluate_design` of a design :func:`validate_design` returned (plain knobs only)."""
    from npulab.perf.presets import preset_from_dict
    from npulab.perf.scoring import score
    from npulab.workloads.llm import from_config

    shared = canon["planner"] == "shared"
    parts = [canon["perception"]] if shared else [canon["perception"], canon["planner"]]
    presets = [
        preset_from_dict(
            {**p, "static_power_w": part_area_mm2(p) * EDGE_STATIC_W_PER_MM2}, origin="design"
        )
        for p in parts
    ]
    planner = from_config(SMOLLM_135M)
    perc = score("mobilenetv2", presets[0])
    prefill = score(planner, presets[-1], phase="prefill", seq_len=PROMPT)
    decode = score(planner, presets[-1], phase="decode", seq_len=PROMPT + PLAN_TOKENS)
    plan_s = prefill.latency_s + PLAN_TOKENS * decode.latency_s
    plan_j = prefill.energy_j + PLAN_TOKENS * decode.energy_j
    perception_task, planner_task = (
        (perc.energy_j, perc.latency_s, FPS),
        (plan_j, plan_s, 1 / PLAN_EVERY_S),
    )
    groups = [[perception_task, planner_task]] if shared else [[perception_task], [planner_task]]
    power = 0.0
    for preset, tasks in zip(presets, groups, strict=True):
        busy = sum(rate * t for _, t, rate in tasks)
        if busy > 1:
            power = math.inf
            break
        power += sum(rate * e for e, _, rate in tasks) + preset.static_power_w * (1 - busy)
    valid = (
        all(bool(score("digits-cnn", p).valid) for p in presets) and presets[-1].precision != "int4"
    )
    return DesignMetrics(
        fps=1 / perc.latency_s,
        plan_s=plan_s,
        power_w=power,
        area_mm2=sum(part_area_mm2(p) for p in parts),
        bandwidth=sum(p.dram_bytes_per_s for p in presets),
        valid=bool(valid),
    )


def check_budgets(metrics, budgets: dict | None = None) -> list[str]:
    """The budgets a design misses, in order: fps, plan_s, power_w, area_mm2, bandwidth, valid.

    ``fps`` must be >= its budget, the next four <= theirs (meeting a budget exactly
    passes), ``valid`` true when the budget asks for it; ``NaN`` fails every check.

    Parameters
    ----------
    metrics : DesignMetrics or dict
        From :func:`evaluate_design` (or its :meth:`~DesignMetrics.to_dict`).
    budgets : dict, optional
        Default :data:`BUDGETS`.

    Returns
    -------
    list of str
        Empty when the design meets every budget.

    Examples
    --------
    >>> check_budgets({"fps": 30.0, "plan_s": 0.6, "power_w": 0.33, "area_mm2": 2.0,
    ...                "bandwidth": 1e9,
    ...                "valid": False})
    ['plan_s', 'valid']
    """
    m = metrics.to_dict() if isinstance(metrics, DesignMetrics) else dict(metrics)
    b = BUDGETS if budgets is None else budgets
    failed = [] if m["fps"] >= b["fps"] else ["fps"]
    failed += [k for k in ("plan_s", "power_w", "area_mm2", "bandwidth") if not m[k] <= b[k]]
    return failed + (["valid"] if b["valid"] and not m["valid"] else [])


@dataclass(frozen=True)
class Assessment:
    """A design as the grader sees it: validated, evaluated, checked (:func:`assess_design`).

    Attributes
    ----------
    design : dict or None
        The validated design (None when it broke the schema).
    metrics : DesignMetrics or None
        The trusted evaluation (None when the design broke the schema).
    failed : tuple of str
        Budgets missed (see :func:`check_budgets`).
    error : str
        The schema error, one line ("" when the design is valid).
    """

    design: dict | None
    metrics: DesignMetrics | None
    failed: tuple = ()
    error: str = ""

    @property
    def passes(self) -> bool:
        """True when the design is valid and meets every budget."""
        return not self.error and self.metrics is not None and not self.failed

    def to_dict(self) -> dict:
        """JSON-ready, non-finite numbers as None (the grader keeps it in OUT/capstone.json)."""
        metrics = None
        if self.metrics is not None:
            metrics = {
                k: (v if isinstance(v, bool) or math.isfinite(v) else None)
                for k, v in self.metrics.to_dict().items()
            }
        return {
            "passes": self.passes,
            "failed": list(self.failed),
            "error": self.error,
            "metrics": metrics,
            "design": self.design,
        }


def assess_design(design) -> Assessment:
    """Validate, evaluate and check ``design`` against :data:`BUDGETS` (no raise on a bad design).

    Returns
    -------
    Assessment
        ``error`` holds the schema's one-line message when the design is not valid.
    """
    try:
        canon = validate_design(design)
    except ValueError as err:
        return Assessment(None, None, (), str(err).splitlines()[0])
    metrics = _evaluate(canon)
    return Assessment(canon, metrics, tuple(check_budgets(metrics)))
