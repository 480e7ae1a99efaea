"""Every engine number is unchanged by the issue-13 redesign (one engine contract).

A fixed battery of systolic, PIM and SNN estimates, emulations, SCALE-Sim reports, tiler
costs, scorecard rows and quantizer outputs was recorded from the code *before* the
redesign into ``tests/fixtures/numbers_before_13.json``; this test recomputes the battery
and compares every value (integers and strings exactly, floats to a relative 1e-12).

The battery was recorded with the old engine signatures and now calls the engine contract
``estimate(layer, hw, *, energy=None)`` (``hw`` a typed config from :mod:`npulab.hw`); only
the calls changed, not one expected number.  Two deliberate exceptions, recorded here:

* ``bound`` labels are compared (issue 22) except the two in :data:`RELABELLED`: issue 13
  unified the memory-bound rule (:func:`npulab.metrics.report.bound_of`: memory time >
  compute time), and the fixture still holds the old label of two roofline-model rows that
  ran at 100% utilisation (compute time 44 us vs memory 25 us, and 49 ms vs 37 ms) yet read
  "memory"; the test checks that each such row is at 100% utilisation, so compute-bound.
* ``numbers_after_16.json`` replaces the entries issue 16 changed on purpose (see OVERLAY);
* ``numbers_after_29.json`` then replaces the entries issue 29 changed on purpose: the DAC
  energy default is per 1-bit conversion held for one crossbar read (``EnergyTable.dac_pJ``
  0.0031 -> 0.390625 pJ, ISAAC's 4 mW / 1024 DACs x 100 ns), which moves the PIM estimates'
  ``dac`` energy and totals and the pim-isaac rows of the scorecard (see OVERLAYS);
* the two quantizer options issue 13 aligns with brevitas 0.13.4 (signed with
  ``narrow_range=False``, unsigned weights) are not in the battery; they are checked against
  brevitas, live and on the issue's example, in ``tests/quant/test_quant_uniform.py``.

Re-record (only for a change that is *meant* to move numbers, stated in the commit):
``python tests/test_numbers_unchanged.py --write`` (writes the whole battery to the fixture
and empties the overlays), or, to keep the old record and add an overlay for one issue,
``python tests/test_numbers_unchanged.py --extend numbers_after_NN.json``: it lists every
value that moved, then stores the current value of each top-level entry holding one in that
overlay (add the file to :data:`OVERLAYS` and say why in this docstring).
"""
from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

import numpy as np

FIXTURE = Path(__file__).parent / "fixtures" / "numbers_before_13.json"
#: Entries issue 16 changed on purpose while issue 13 was under way (systolic presets score
#: with double-buffered folds, ``SystolicConfig.fold_overlap``, and a roofline floor that
#: includes ``ops / peak``): only the systolic presets' rows moved.  Recorded from the code
#: with that change, and compared in place of the same keys of :data:`FIXTURE`.
OVERLAY = Path(__file__).parent / "fixtures" / "numbers_after_16.json"
#: The overlays, applied in this order over :data:`FIXTURE` (each replaces whole top-level
#: entries): issue 16's, then issue 29's (the DAC energy per crossbar read; see the docstring).
OVERLAYS = (OVERLAY, Path(__file__).parent / "fixtures" / "numbers_after_29.json")
#: Keys whose values may change as a documented consequence of unifying a rule (none left).
IGNORED_KEYS: set = set()
#: Recorded labels the one bound rule corrects (path -> (recorded, now)); see the docstring.
RELABELLED = {"scorecard.roofline.rows[2].bound": ("memory", "compute"),
              "scorecard.roofline.rows[10].bound": ("memory", "compute")}
#: The presets of the battery (named, so presets added later do not change it).
PRESETS = ("edge-npu-int8", "loihi-like", "pim-isaac", "tpuv1-like")


def plain(x):
    """Numbers, strings, lists and dicts only (numpy and tuples converted)."""
    if isinstance(x, dict):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    if isinstance(x, np.ndarray):
        return plain(x.tolist())
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x)
    if x is None or isinstance(x, str):
        return x
    return repr(x)


def report(r) -> dict:
    return plain(r.to_dict())


def _systolic(out):
    from npulab.hw import ArrayConfig, EnergyTable, MemoryConfig, SystolicConfig
    from npulab.systolic import (
        compute_cycles,
        emulate,
        emulate_reference,
        estimate,
        fold_plan,
        sram_accesses,
        utilization,
    )
    from npulab.workloads import Conv2d, Gemm

    shapes = [Gemm(64, 64, 64), Gemm(100, 37, 300), Gemm(1, 4096, 1024, name="gemv"),
              Conv2d(ifmap_h=14, ifmap_w=14, filter_h=3, filter_w=3, channels=32, num_filters=64,
                     stride=1, name="conv3"),
              Conv2d(ifmap_h=15, ifmap_w=15, filter_h=3, filter_w=3, channels=8, num_filters=16,
                     stride=2, name="conv_s2")]
    mems = [MemoryConfig(), MemoryConfig(1, 1, 1, dram_bytes_per_s=4e9)]
    for i, layer in enumerate(shapes):
        for df in ("os", "ws", "is"):
            for rows, cols in ((16, 16), (8, 32)):
                arr = ArrayConfig(rows, cols, df, clock_hz=7e8)
                for j, mem in enumerate(mems):
                    out[f"systolic.estimate/{i}/{df}/{rows}x{cols}/m{j}"] = report(
                        estimate(layer, SystolicConfig(arr, mem)))
                out[f"systolic.estimate_compat/{i}/{df}/{rows}x{cols}"] = report(
                    estimate(layer, SystolicConfig(arr, MemoryConfig(), scalesim_compat=True)))
    e = EnergyTable(dram_pJ_per_byte=20.0, mac_fp16_pJ=1.1)
    out["systolic.estimate_fp16"] = report(
        estimate(Gemm(128, 96, 80), SystolicConfig(ArrayConfig(32, 32, "ws", precision="fp16")), energy=e))
    for M, N, K in ((7, 5, 9), (33, 17, 40), (64, 64, 64)):
        for df in ("os", "ws", "is"):
            for compat in (False, True):
                key = f"{M}x{N}x{K}/{df}/{compat}"
                out[f"folds.compute_cycles/{key}"] = compute_cycles(M, N, K, 8, 4, df, scalesim_compat=compat)
                out[f"folds.sram/{key}"] = plain(sram_accesses(M, N, K, 8, 4, df, scalesim_compat=compat))
                out[f"folds.util/{key}"] = plain(utilization(M, N, K, 8, 4, df, scalesim_compat=compat))
            p = fold_plan(M, N, K, 8, 4, df)
            out[f"folds.plan/{M}x{N}x{K}/{df}"] = plain(p.__dict__ if hasattr(p, "__dict__") else p._asdict())
    rng = np.random.default_rng(13)
    for M, N, K in ((6, 5, 7), (20, 9, 13)):
        A = rng.integers(-128, 128, (M, K), dtype=np.int8)
        B = rng.integers(-128, 128, (K, N), dtype=np.int8)
        for df in ("os", "ws", "is"):
            for fn in (emulate, emulate_reference):
                res = fn(A, B, 4, 3, df)
                out[f"systolic.{fn.__name__}/{M}x{N}x{K}/{df}"] = {
                    "output": plain(res.output), "cycles": res.cycles, "fold_cycles": plain(res.fold_cycles),
                    "active": plain(res.active_pes), "pe_macs": plain(res.pe_macs),
                    "accesses": plain(res.accesses), "report": report(res.to_report(clock_hz=5e8))}


def _scalesim(out):
    from npulab.systolic import ScaleSimConfig, simulate_layer
    from npulab.workloads import Conv2d, Gemm

    layers = [Gemm(40, 24, 30, name="g"),
              Conv2d(ifmap_h=12, ifmap_w=12, filter_h=3, filter_w=3, channels=6, num_filters=10,
                     stride=1, name="c")]
    for i, layer in enumerate(layers):
        for df in ("os", "ws", "is"):
            for mode in ("CALC", "USER"):
                cfg = ScaleSimConfig(run_name="battery", rows=8, cols=8, ifmap_sram_kb=1,
                                     filter_sram_kb=1, ofmap_sram_kb=1, dataflow=df,
                                     bandwidth_mode=mode, bandwidth=4)
                out[f"scalesim/{i}/{df}/{mode}"] = plain(simulate_layer(layer, cfg))


def _pim(out):
    from npulab.hw import CrossbarConfig, EnergyTable
    from npulab.pim import (
        IOConfig,
        analog_mvm,
        analog_mvm_reference,
        bit_sliced_mvm,
        estimate,
        tiled_mvm,
    )
    from npulab.workloads import Conv2d, Gemm

    layers = [Gemm(1, 128, 128), Gemm(10, 100, 300), Gemm(64, 1000, 512),
              Conv2d(ifmap_h=14, ifmap_w=14, filter_h=3, filter_w=3, channels=32, num_filters=64, stride=1)]
    xbs = [CrossbarConfig(), CrossbarConfig(rows=256, cols=256, bits_per_cell=4, dac_bits=2, cols_per_adc=16),
           CrossbarConfig(differential=False, weight_bits=4, input_bits=4)]
    for i, layer in enumerate(layers):
        for j, xb in enumerate(xbs):
            out[f"pim.estimate/{i}/{j}"] = report(estimate(layer, xb))
    out["pim.estimate_energy"] = report(estimate(layers[1], xbs[0], energy=EnergyTable(adc_pJ=0.5)))
    rng = np.random.default_rng(5)
    W = rng.normal(0, 0.3, (12, 20))
    x = rng.uniform(-1, 1, (3, 20))
    for name, io in (("default", IOConfig()), ("ideal", IOConfig(is_perfect=True)),
                     ("bits", IOConfig.from_bits(dac_bits=5, adc_bits=7))):
        out[f"pim.analog_mvm/{name}"] = plain(analog_mvm(W, x, io, rng=np.random.default_rng(1)))
        out[f"pim.analog_mvm_reference/{name}"] = plain(
            analog_mvm_reference(W, x, io, rng=np.random.default_rng(1)))
    out["pim.tiled_mvm"] = plain(tiled_mvm(W, x, IOConfig(), rows=8, cols=5, rng=np.random.default_rng(2)))
    Wi = rng.integers(-127, 128, (10, 40))
    xi = rng.integers(0, 256, (40,))
    sr = bit_sliced_mvm(Wi, xi, CrossbarConfig(rows=16, cols=32))
    out["pim.bit_sliced_mvm"] = plain({k: v for k, v in sr.__dict__.items()} if hasattr(sr, "__dict__")
                                      else sr._asdict())


def _snn(out):
    from npulab.hw import CoreConfig, EnergyTable, SnnConfig
    from npulab.snn import IntLayer, Leaky, Synaptic, estimate, run_core
    from npulab.snn import report as snn_report
    from npulab.workloads import Conv2d, Gemm

    layers = [Gemm(M=1, N=128, K=64), Gemm(M=2, N=100, K=50),
              Conv2d(ifmap_h=28, ifmap_w=28, filter_h=3, filter_w=3, channels=1, num_filters=32, stride=1)]
    cores = [CoreConfig(), CoreConfig(neurons_per_core=128, num_cores=4, sop_cycles=2)]
    for i, layer in enumerate(layers):
        for j, core in enumerate(cores):
            for rate, T in ((0.1, 8), (0.25, 3)):
                out[f"snn.estimate/{i}/{j}/{rate}/{T}"] = report(
                    estimate(layer, SnnConfig(core, rate, T), energy=EnergyTable(sop_pJ=10.0)))
    rng = np.random.default_rng(7)
    net = [IntLayer(rng.integers(-40, 60, (30, 20)), threshold=100, name="l1"),
           IntLayer(rng.integers(-40, 60, (20, 10)), threshold=80, bias=rng.integers(0, 5, 10), name="l2")]
    spikes = (rng.random((6, 4, 30)) < 0.3).astype(np.int8)
    for j, core in enumerate([CoreConfig(), CoreConfig(decay_mode="shift", decay=3, membrane_bits=12)]):
        # issue 27 named the core's reset of this recording "subtract_instant" ("subtract" now
        # equals snnTorch's) and made NeuroBench's effective SOPs the default: the same
        # computation as recorded is asked for by its new names.
        for reset, mode in (("subtract", "subtract_instant"), ("zero", "zero")):
            for eng in ("event", "dense"):
                res = run_core(net, spikes, core, reset=mode, engine=eng, count_zero_weights=True)
                out[f"snn.run_core/{j}/{reset}/{eng}"] = {
                    "spikes": [plain(s) for s in res.spikes], "sops": plain(res.sops),
                    "updates": plain(res.neuron_updates), "report": report(snn_report(res, core))}
    cur = rng.normal(0.4, 0.5, (10, 5)).astype(np.float32)
    for reset in ("subtract", "zero", "none"):
        for delay in (True, False):
            s, m = Leaky(beta=0.8, threshold=1.0, reset=reset, reset_delay=delay).run(cur)
            out[f"snn.leaky/{reset}/{delay}"] = {"spk": plain(s), "mem": plain(m)}
    res = Synaptic(alpha=0.7, beta=0.8).run(cur)
    out["snn.synaptic"] = plain(list(res))


def _tiling(out):
    from npulab.tiling import (
        Problem,
        dataflow_mapping,
        evaluate,
        eyeriss_like,
        reference_counts,
        search,
        systolic_accesses,
        tpu_like,
    )

    problems = [Problem.gemm(64, 48, 32), Problem.conv(N=1, K=16, C=8, P=8, Q=8, R=3, S=3)]
    archs = [eyeriss_like(), tpu_like(16, 16), tpu_like(8, 8, sram_kb=16, precision="fp16")]
    for i, prob in enumerate(problems):
        for j, arch in enumerate(archs):
            for df in ("ws", "os"):
                m = dataflow_mapping(prob, arch, df, samples=400, rng=3)
                c = evaluate(m)
                out[f"tiling.dataflow/{i}/{j}/{df}"] = {
                    "energy": c.energy_pJ, "cycles": plain(c.cycles), "breakdown": plain(c.energy_breakdown_pJ)
                    if hasattr(c, "energy_breakdown_pJ") else None, "repr": repr(c),
                    "report": report(c.report("x")), "ref": plain(reference_counts(m))}
            r = search(prob, arch, method="random", samples=500, rng=1, progress=False)
            out[f"tiling.search/{i}/{j}"] = {"best": repr(r.best), "n": len(r.pareto) if hasattr(r, "pareto") else None}
    for df in ("os", "ws", "is"):
        out[f"tiling.systolic_accesses/{df}"] = plain(systolic_accesses(37, 21, 50, 8, 4, df))


def _perf(out):
    from npulab.hw import SnnConfig
    from npulab.perf import load_preset, run_scorecard, score

    for name in PRESETS:
        p = load_preset(name)
        # SNN activity is the SnnConfig's; other presets recorded SnnConfig's defaults here
        snn = p.config if p.engine == "snn" else SnnConfig()
        out[f"preset/{name}"] = plain({
            "peak": p.peak_ops_per_s, "dram": p.dram_bytes_per_s, "capacity": p.weight_capacity_bytes,
            "static": p.static_power_w, "precision": p.precision, "ridge": p.roofline.ridge_point,
            "spike_rate": snn.spike_rate, "timesteps": snn.timesteps, "engine": p.engine})

    sc = run_scorecard(hardware=list(PRESETS))
    out["scorecard.rows"] = plain(sc.rows())
    out["scorecard.table"] = sc.table()
    sc2 = run_scorecard(("resnet18", "llama-3.2-1b"), hardware=list(PRESETS), model="roofline")
    out["scorecard.roofline.rows"] = plain(sc2.rows())
    out["score.digits"] = report(score("digits-cnn", "edge-npu-int8"))
    out["score.llm_int4"] = [report(r) for r in score("llama-3.2-1b", "tpuv1-like", weight_format="int4",
                                                        seq_len=512, batch=4)]
    from npulab.perf.sweep import run_sweep

    spec = {"base": "edge-npu-int8", "workloads": ["mobilenetv2", "llama-3.2-1b"], "mode": "grid",
            "space": {"rows": [16, 32], "dataflow": ["os", "ws"], "sram_kb": [8, 256]}}
    res = run_sweep(spec, executor="serial")
    out["sweep.rows"] = plain(res.rows)


def _quant(out):
    from npulab.quant import (
        QuantSpec,
        fake_quantize,
        mx_quantize,
        quantize,
        quantize_groupwise,
        quantize_multiplier,
        requantize,
    )

    rng = np.random.default_rng(11)
    x = rng.normal(0, 1, (6, 10)).astype(np.float32)
    specs = {"s8": QuantSpec(8), "s4": QuantSpec(4), "s8pc": QuantSpec(8, per_channel=True),
             "asym8": QuantSpec(8, symmetric=False, narrow_range=False),
             "asym_u8": QuantSpec(8, signed=False, symmetric=False, narrow_range=False),
             "s8away": QuantSpec(8, rounding="half_away"), "s6floor": QuantSpec(6, rounding="floor"),
             "s8pc1": QuantSpec(8, per_channel=True, axis=1)}
    for name, spec in specs.items():
        q = quantize(x, spec)
        out[f"quant.quantize/{name}"] = {"int": plain(q.int_repr), "scale": plain(q.scale),
                                          "zp": plain(q.zero_point), "fake": plain(fake_quantize(x, spec))}
    g = quantize_groupwise(x.reshape(3, 20), bits=4, group_size=10)
    out["quant.groupwise"] = plain(g.dequantize())
    out["quant.mx"] = plain(mx_quantize(x.reshape(-1)[:56], "mxfp8", block_size=8).dequantize())
    m0, sh = quantize_multiplier(np.array([0.0031, 0.75, 1.7e-5]))
    out["quant.multiplier"] = plain([m0, sh])
    out["quant.requantize"] = plain(requantize(np.array([100000, -5000, 77]), m0[0], sh[0]))


SECTIONS = (_systolic, _scalesim, _pim, _snn, _tiling, _perf, _quant)


def battery() -> dict:
    out: dict = {}
    for section in SECTIONS:
        section(out)
    return out


def _compare(expected, actual, path, errors):
    if len(errors) > 20:
        return
    if path in RELABELLED:
        if (expected, actual) != RELABELLED[path]:
            errors.append(f"{path}: {expected!r} -> {actual!r}, not the documented relabelling")
        return
    if isinstance(expected, dict):  # new keys (added counters) are allowed; none may go missing
        if not isinstance(actual, dict) or not set(expected) <= set(actual):
            errors.append(f"{path}: keys {sorted(set(expected) - set(actual if isinstance(actual, dict) else {}))}")
            return
        for k in expected:
            if k not in IGNORED_KEYS:
                _compare(expected[k], actual[k], f"{path}.{k}", errors)
    elif isinstance(expected, list):
        if not isinstance(actual, list) or len(expected) != len(actual):
            errors.append(f"{path}: length {len(expected)} != {len(actual) if isinstance(actual, list) else actual!r}")
            return
        for i, (e, a) in enumerate(zip(expected, actual)):
            _compare(e, a, f"{path}[{i}]", errors)
    elif isinstance(expected, float) and isinstance(actual, (int, float)) and not isinstance(actual, bool):
        if not (math.isclose(expected, actual, rel_tol=1e-12, abs_tol=0.0)
                or (math.isnan(expected) and math.isnan(actual))):
            errors.append(f"{path}: {expected!r} != {actual!r}")
    elif expected != actual or type(expected) is not type(actual):
        errors.append(f"{path}: {expected!r} != {actual!r}")


def expected_numbers() -> dict:
    """The recorded battery: :data:`FIXTURE` with :data:`OVERLAYS` applied in order."""
    # issue 22 gave DRAM bandwidth one name: the recording's old key is read under the new one
    renamed = '"mem_bandwidth_bytes_per_s":'
    expected = json.loads(FIXTURE.read_text().replace(renamed, '"dram_bytes_per_s":'))
    for overlay in OVERLAYS:
        expected.update(json.loads(overlay.read_text().replace(renamed, '"dram_bytes_per_s":')))
    expected.pop("scorecard.table")   # its numbers are the rows' (compared above); issue 16 moved some
    return expected


def extend(name: str) -> None:
    """Store the current value of every top-level entry that moved in the overlay ``name``."""
    expected = expected_numbers()
    actual = json.loads(json.dumps(battery()))
    moved = {}
    for key in sorted(expected):
        errors: list = []
        _compare(expected[key], actual[key], key, errors)
        if errors:
            moved[key] = actual[key]
            print("\n".join(errors))
    path = FIXTURE.parent / name
    stored = json.loads(path.read_text()) if path.exists() else {}
    stored.update(moved)
    path.write_text(json.dumps(stored, indent=0, sort_keys=True) + "\n")
    print(f"{len(moved)} entries moved; wrote {path} ({len(stored)} entries)")


def test_numbers_unchanged():
    expected = expected_numbers()
    actual = json.loads(json.dumps(battery()))
    for path in RELABELLED:           # a relabelled row ran at 100% utilisation: compute-bound
        row = int(re.search(r"\[(\d+)\]", path).group(1))
        assert actual["scorecard.roofline.rows"][row]["utilization"] == 1.0, path
    missing = sorted(set(expected) - set(actual))
    assert not missing, f"battery entries missing: {missing[:10]}"
    errors: list = []
    for key in expected:
        _compare(expected[key], actual[key], key, errors)
    assert not errors, "engine numbers changed:\n" + "\n".join(errors[:20])


if __name__ == "__main__":
    if "--write" in sys.argv:
        FIXTURE.parent.mkdir(parents=True, exist_ok=True)
        FIXTURE.write_text(json.dumps(battery(), indent=0, sort_keys=True) + "\n")
        for overlay in OVERLAYS:
            overlay.write_text("{}\n")
        print(f"wrote {FIXTURE} ({FIXTURE.stat().st_size} bytes) and empty overlays")
    elif "--extend" in sys.argv:
        extend(sys.argv[sys.argv.index("--extend") + 1])
    else:
        print(json.dumps(sorted(battery())))
