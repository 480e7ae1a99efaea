"""Design-space sweep: points, executors agree (process pool, Dask LocalCluster), Pareto front."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from npulab.cli import main
from npulab.perf.sweep import load_spec, pareto_front, run_sweep

SPEC = {"name": "t", "mode": "grid", "workloads": ["mobilenetv2"], "base": "edge-npu-int8",
        "space": {"rows": [8, 16], "cols": [8, 32], "sram_kb": [64, 256], "precision": ["int8", "fp16"]},
        "chunk_size": 4}


def test_grid_has_every_combination():
    assert len(load_spec(SPEC).points()) == 16


def test_random_mode_is_seeded():
    spec = {**SPEC, "mode": "random", "samples": 7, "seed": 3}
    points = load_spec(spec).points()
    assert points == load_spec(spec).points()
    assert points != load_spec({**spec, "seed": 4}).points()
    assert len(points) == 7
    assert all(p[k] in SPEC["space"][k] for p in points for k in SPEC["space"])


def test_process_pool_and_dask_match_serial(tmp_path, capsys):
    import json

    import yaml
    from distributed import LocalCluster

    spec_file = tmp_path / "s.yaml"
    spec_file.write_text(yaml.safe_dump(SPEC, sort_keys=False))

    serial = run_sweep(SPEC, executor="serial")
    pool = run_sweep(SPEC, executor="process", workers=2)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp://", host="127.0.0.1",
                      dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        dask = run_sweep(SPEC, address=cluster.scheduler_address)
        assert main(["sweep", str(spec_file), "--dask", cluster.scheduler_address, "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert serial.rows == pool.rows == dask.rows
    assert [r["energy_j"] for r in cli["rows"]] == [r["energy_j"] for r in serial.rows]
    assert len(serial.rows) == 16


def test_fp16_costs_more_energy_than_int8():
    res = run_sweep(SPEC, executor="serial")
    by = {(r["rows"], r["cols"], r["sram_kb"], r["precision"]): r["energy_j"] for r in res.rows}
    for (rows, cols, sram, prec), e in by.items():
        if prec == "int8":
            assert by[(rows, cols, sram, "fp16")] > e


@given(st.lists(st.tuples(st.floats(0.1, 10), st.floats(0.1, 10)), min_size=1, max_size=30))
def test_pareto_front_is_exactly_the_non_dominated_points(pts):
    rows = [{"latency_s": x, "energy_j": y} for x, y in pts]
    front = set(pareto_front(rows))

    def dominated(i):
        return any(rows[j]["latency_s"] <= rows[i]["latency_s"] and rows[j]["energy_j"] <= rows[i]["energy_j"]
                   and (rows[j]["latency_s"], rows[j]["energy_j"]) != (rows[i]["latency_s"], rows[i]["energy_j"])
                   for j in range(len(rows)))
    for i in range(len(rows)):
        if i in front:
            assert not dominated(i)
        elif not dominated(i):  # a duplicate of a front point
            assert any((rows[j]["latency_s"], rows[j]["energy_j"]) == (rows[i]["latency_s"], rows[i]["energy_j"])
                       for j in front)


@pytest.mark.parametrize("bad, field", [({"mode": "sobol"}, "mode"), ({"space": {"banks": [1]}}, "banks"),
                                        ({"workloads": []}, "workloads"), ({"samples": 0}, "samples"),
                                        ({"colour": 1}, "colour")])
def test_bad_spec_one_line_error(bad, field):
    with pytest.raises(ValueError, match=field) as err:
        load_spec({**SPEC, **bad})
    assert "\n" not in str(err.value)


def test_cli_sweep_writes_table_and_plot(tmp_path, capsys):
    import yaml

    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump(SPEC))
    png = tmp_path / "p.png"
    assert main(["sweep", str(f), "--workers", "1", "--plot", str(png), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "Pareto front for mobilenetv2" in out and png.exists()
    assert main(["sweep", str(tmp_path / "missing.yaml")]) == 2
