"""Hostile input to every loader and command: one line naming the problem, exit 2, no traceback.

Hand-picked cases (the ones a new user hit: huge sizes, deep JSON, non-UTF-8 bytes, ``%`` in a
SCALE-Sim run name, paths that escape the report folder, a folder where a file goes) and
hypothesis-generated file contents and flag values.  Commands run in-process through
:func:`npulab.cli.main`; two run as real subprocesses.  No verdict depends on a tight time:
the subprocess bound (120 s) is far above the second they need.
"""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from npulab.cli import main

ROOT = Path(__file__).resolve().parents[1]
CFG = ROOT / "datasets" / "scalesim" / "scale_os.cfg"
TOPO = ROOT / "datasets" / "topologies" / "resnet18.csv"
CONV_HEAD = "Layer, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"


def one_line_exit_2(capsys, argv):
    """Run ``npulab argv``; assert exit 2 and exactly one stderr line naming the command."""
    rc = main([str(a) for a in argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2, (argv, rc, err)
    assert len(err) == 1 and err[0].startswith(f"npulab {argv[0]}: error: "), (argv, err)
    assert "Traceback" not in err[0]
    return err[0]


def _files(tmp: Path) -> dict:
    """Hostile files, by name."""
    cfg = CFG.read_text()
    files = {
        "deep.json": "[" * 100_000 + "]" * 100_000,
        "list.json": "[1, 2, 3]",
        "bigint.json": '{"hidden_size": 1' + "0" * 400 + "}",
        "bigfloat.json": '{"hidden_size": 1e400}',
        "nan.json": '{"hidden_size": NaN}',
        "deep.yaml": "a: " + "[" * 5000 + "]" * 5000,
        "conv_huge.csv": CONV_HEAD + "c, 1000000, 1000000, 3, 3, 64, 64, 1,\n",
        "gemm_huge.csv": "Layer, M, N, K,\ng, 1000000000000, 1, 1,\n",
        "gemm_digits.csv": "Layer, M, N, K,\ng, " + "9" * 5000 + ", 1, 1,\n",
        "up.cfg": cfg.replace("run_name = scale_os", "run_name = ../../escaped"),
        "abs.cfg": cfg.replace("run_name = scale_os", f"run_name = {tmp / 'abs_escape'}"),
        "zero.cfg": cfg.replace("ArrayHeight: 32", "ArrayHeight: 0"),
        "spec_samples.yaml": "name: s\nmode: random\nsamples: 1e12\nworkloads: [resnet18]\nspace:\n  rows: [8, 16]\n",
        "spec_grid.yaml": "name: g\nworkloads: [resnet18]\nspace:\n" + "".join(
            f"  {k}: [{', '.join(str(8 * i) for i in range(1, 61))}]\n"
            for k in ("rows", "cols", "ifmap_sram_kb", "ofmap_sram_kb")),
        "existing.txt": "x",
    }
    for name, text in files.items():
        (tmp / name).write_text(text)
    (tmp / "latin1.json").write_bytes(b'{"name": "caf\xe9"}')
    (tmp / "latin1.csv").write_bytes(b"Layer, M, N, K,\ng\xe9, 4, 4, 4,\n")
    return {name: tmp / name for name in [*files, "latin1.json", "latin1.csv"]}


def test_the_issue_table_gets_one_line_and_exit_2(tmp_path, capsys):
    f = _files(tmp_path)
    out = tmp_path / "out"
    cases = [
        (["map", "--gemm", "100000000", "100000000", "100000000", "--samples", "1000", "--no-progress"], "MACs"),
        (["map", "--gemm", "8", "8", "8", "--samples", "1000000000000", "--no-progress"], "--samples"),
        (["sweep", f["spec_grid.yaml"], "--no-progress"], "1.3e+07 design points"),
        (["sweep", f["spec_samples.yaml"], "--no-progress"], "1e+12 design points"),
        (["sweep", f["spec_samples.yaml"], "--workers", "0"], "--workers"),
        (["scalesim", "-c", CFG, "-t", f["conv_huge.csv"], "-p", out], "--max-elements"),
        (["scalesim", "-c", CFG, "-t", f["gemm_huge.csv"], "-i", "gemm", "-p", out], "--max-elements"),
        (["scalesim", "-c", CFG, "-t", f["gemm_digits.csv"], "-i", "gemm", "-p", out], "gemm_digits.csv"),
        (["scalesim", "-c", f["up.cfg"], "-t", TOPO, "-p", out], "run_name"),
        (["scalesim", "-c", f["abs.cfg"], "-t", TOPO, "-p", out], "run_name"),
        (["scalesim", "-c", f["zero.cfg"], "-t", TOPO, "-p", out], "rows"),
        (["scalesim", "-c", tmp_path, "-t", TOPO, "-p", out], "folder"),
        (["scalesim", "-c", CFG, "-t", TOPO, "-p", out, "--max-elements", "0"], "--max-elements"),
        (["scorecard", "--workload", f["deep.json"], "--hw", "edge-npu-int8"], "nested"),
        (["scorecard", "--workload", f["list.json"], "--hw", "edge-npu-int8"], "list"),
        (["scorecard", "--workload", f["bigint.json"], "--hw", "edge-npu-int8"], "digits"),
        (["scorecard", "--workload", f["bigfloat.json"], "--hw", "edge-npu-int8"], "out of range"),
        (["scorecard", "--workload", f["nan.json"], "--hw", "edge-npu-int8"], "NaN"),
        (["scorecard", "--workload", f["latin1.json"], "--hw", "edge-npu-int8"], "latin1.json: not UTF-8"),
        (["scorecard", "--hw", f["deep.yaml"]], "deep.yaml"),
        (["scorecard", "--hw", f["deep.json"]], "deep.json"),
        (["scorecard", "--csv", tmp_path, "--workload", "resnet18", "--hw", "edge-npu-int8"], "--csv"),
        (["scorecard", "--seq-len", "100000000000"], "--seq-len"),
        (["demo", "--topology", f["latin1.csv"]], "latin1.csv: not UTF-8"),
        (["demo", "--rows", "100000", "--cols", "100000"], "--rows"),
        (["demo", "--clock-hz", "nan"], "--clock-hz"),
        (["release", ROOT / "solutions", f["existing.txt"]], "existing"),
    ]
    for argv, needle in cases:
        line = one_line_exit_2(capsys, argv)
        assert needle in line, (argv, line)
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "abs_escape").exists()


def test_percent_in_run_name_is_plain_text(tmp_path, capsys):
    cfg = tmp_path / "pct.cfg"
    cfg.write_text(CFG.read_text().replace("run_name = scale_os", "run_name = 100% done"))
    topo = tmp_path / "t.csv"
    topo.write_text("Layer, M, N, K,\ng, 8, 8, 8,\n")
    assert main(["scalesim", "-c", str(cfg), "-t", str(topo), "-i", "gemm", "-p", str(tmp_path)]) == 0
    assert (tmp_path / "100% done" / "COMPUTE_REPORT.csv").exists()


def test_dask_address_with_nothing_listening_is_one_line(tmp_path, capsys):
    import socket

    with socket.socket() as s:                    # a port that was free a moment ago
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    spec = ROOT / "datasets" / "sweeps" / "edge-npu.yaml"
    line = one_line_exit_2(capsys, ["sweep", spec, "--dask", f"tcp://127.0.0.1:{port}", "--no-progress"])
    assert f"127.0.0.1:{port}" in line


def test_engines_refuse_non_finite_and_empty_input():
    from npulab.pim.devices import program
    from npulab.pim.mvm import analog_mvm
    from npulab.quant import QuantSpec, quantize
    from npulab.snn.encoders import rate
    from npulab.snn.neurons import Leaky

    with pytest.raises(ValueError, match=r"Leaky.run current must be finite; got nan at index \(3, 0\)"):
        Leaky(0.9).run(np.where(np.arange(10)[:, None] == 3, np.nan, np.ones((10, 2))))
    with pytest.raises(ValueError, match="W must be finite; got inf"):
        analog_mvm(np.array([[np.inf, 1.0]]), np.ones(2))
    with pytest.raises(ValueError, match="x must be finite; got nan"):
        analog_mvm(np.ones((1, 2)), np.array([np.nan, 1.0]))
    with pytest.raises(ValueError, match="W must be finite; got inf"):
        program(np.array([[np.inf]]), rng=0)
    with pytest.raises(ValueError, match="quantize: x is empty"):
        quantize([], QuantSpec(8))
    with pytest.raises(ValueError, match="rate timesteps x inputs"):
        rate(np.array([0.5]), 10**12)


# --- generated input -------------------------------------------------------------------
hostile_text = st.one_of(
    st.binary(max_size=300).map(lambda b: b"\xff" + b),                     # never UTF-8
    st.integers(60, 3000).map(lambda n: ("[" * n + "]" * n).encode()),       # deep nesting
    st.integers(19, 2000).map(lambda n: ('{"a": 1' + "0" * n + "}").encode()),
    st.sampled_from([b"[]", b"42", b'"x"', b"null", b"{", b"{]", b"\x00\x01", b"Infinity", b"-1e999"]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=hostile_text, slot=st.sampled_from(["scorecard-workload", "scorecard-hw", "sweep", "scalesim-c",
                                                "scalesim-t", "demo", "map"]))
def test_hostile_files_get_one_line(tmp_path, capsys, data, slot):
    suffix = {"scorecard-workload": ".json", "scorecard-hw": ".json", "sweep": ".yaml",
              "scalesim-c": ".cfg"}.get(slot, ".csv")
    path = tmp_path / f"hostile{suffix}"
    path.write_bytes(data)
    argv = {"scorecard-workload": ["scorecard", "--workload", path, "--hw", "edge-npu-int8"],
            "scorecard-hw": ["scorecard", "--hw", path, "--workload", "resnet18"],
            "sweep": ["sweep", path, "--no-progress"],
            "scalesim-c": ["scalesim", "-c", path, "-t", TOPO, "-p", tmp_path / "o"],
            "scalesim-t": ["scalesim", "-c", CFG, "-t", path, "-p", tmp_path / "o"],
            "demo": ["demo", "--topology", path],
            "map": ["map", "--topology", path, "--no-progress"]}[slot]
    one_line_exit_2(capsys, argv)


@settings(max_examples=40, deadline=None)
@given(flag=st.sampled_from([("demo", "--rows"), ("demo", "--cols"), ("demo", "--bandwidth"),
                             ("scorecard", "--seq-len"), ("scorecard", "--batch"),
                             ("sweep", "--workers"), ("sweep", "--max-points"), ("map", "--samples")]),
       value=st.one_of(st.integers(-10**30, 0), st.integers(10**13, 10**30), st.sampled_from(["nan", "inf", "-inf"])))
def test_out_of_range_flags_get_one_line(flag, value):
    cmd, name = flag
    if isinstance(value, str) and name != "--bandwidth":
        value = 10**20                            # int flags: argparse rejects "nan" by itself
    if name == "--max-points" and not isinstance(value, str) and value > 0:
        value = -value                            # any positive bound is a valid choice
    argv = {"demo": ["demo"], "scorecard": ["scorecard", "--workload", "resnet18", "--hw", "edge-npu-int8"],
            "sweep": ["sweep", str(ROOT / "datasets" / "sweeps" / "edge-npu.yaml"), "--no-progress"],
            "map": ["map", "--gemm", "8", "8", "8", "--no-progress"]}[cmd] + [name, str(value)]
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = main(argv)
    lines = err.getvalue().strip().splitlines()
    assert rc == 2 and len(lines) == 1 and lines[0].startswith(f"npulab {cmd}: error: "), (argv, rc, lines)
    assert name.lstrip("-").replace("-", "_") in lines[0].replace("-", "_")   # the flag or its field


@pytest.mark.parametrize("argv", [
    ["scalesim", "-c", "{tmp}/missing.cfg", "-t", str(TOPO), "-p", "{tmp}"],
    ["scorecard", "--workload", "{tmp}/deep.json", "--hw", "edge-npu-int8"],
])
def test_real_process_prints_one_line(tmp_path, argv):
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    argv = [a.format(tmp=tmp_path) for a in argv]
    proc = subprocess.run([sys.executable, "-m", "npulab", *argv], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"npulab {argv[0]}: error: ") and "Traceback" not in proc.stderr
