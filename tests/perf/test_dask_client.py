"""One Dask client per run (issue 18 item 7): :func:`npulab.perf.dask_client.dask_client` lends
the client an enclosing use opened, and a server-scenario search over several rounds connects
once."""
from __future__ import annotations

import pytest

distributed = pytest.importorskip("distributed")

from npulab.perf.dask_client import dask_client  # noqa: E402


@pytest.fixture(scope="module")
def address():
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp://",
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def test_nested_uses_share_one_client_closed_by_the_outermost(address):
    with dask_client(address) as outer:
        with dask_client(address) as inner:
            assert inner is outer
        assert outer.status == "running"
        assert outer.submit(sum, [1, 2], pure=False).result() == 3
    assert outer.status == "closed"
    with dask_client(address) as again:          # a later run connects afresh
        assert again is not outer and again.status == "running"


def test_server_scenario_connects_once_for_all_rounds(address, monkeypatch):
    from npulab.perf.scenarios import run_scenario

    made = []

    class Counting(distributed.Client):
        def __init__(self, *a, **k):
            made.append(a[0] if a else k.get("address"))
            super().__init__(*a, **k)

    monkeypatch.setattr(distributed, "Client", Counting)
    kw = dict(prompt_len=64, output_len=8, requests=30, score_model="roofline", rounds=2, points=2)
    on_dask = run_scenario("server", ["llama-3.2-1b"], ["tpuv1-like"], address=address, **kw)
    assert made == [address]                     # 2 rounds of map_rates, one connection
    serial = run_scenario("server", ["llama-3.2-1b"], ["tpuv1-like"], executor="serial", **kw)
    assert [r.value for r in on_dask] == [r.value for r in serial] and on_dask[0].value > 0


def test_no_scheduler_is_one_line_naming_the_address():
    import socket

    with socket.socket() as s:                   # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ValueError, match=f"--dask tcp://127.0.0.1:{port}: no Dask scheduler answered"):
        with dask_client(f"tcp://127.0.0.1:{port}", timeout="1s"):
            pass
