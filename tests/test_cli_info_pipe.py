"""``npulab info`` lists every engine kind; a closed stdout pipe (``| head``) ends quietly."""
import json
import subprocess
import sys
from pathlib import Path

from npulab.cli import EXIT_BROKEN_PIPE, main
from npulab.perf.engines import ENGINES, HARDWARE

ROOT = Path(__file__).resolve().parent.parent


def test_info_lists_every_engine_kind_with_its_config_and_presets(capsys):
    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["engines"]["gpu"] is True
    kinds = info["kinds"]
    assert set(kinds) == set(ENGINES)
    for kind, k in kinds.items():
        assert k["config"] == HARDWARE[kind].__name__
    assert kinds["gpu"]["config"] == "GpuConfig" and kinds["gpu"]["whole_job"] is True
    assert {"h100-sxm", "a100-sxm"} <= set(kinds["gpu"]["presets"])
    assert "tpuv1-like" in kinds["systolic"]["presets"] and kinds["systolic"]["whole_job"] is False
    assert "pim-isaac" in kinds["pim"]["presets"] and "loihi-like" in kinds["snn"]["presets"]
    assert main(["info"]) == 0
    text = capsys.readouterr().out
    assert "gpu" in text.split("engines:", 1)[1].splitlines()[0]
    assert any(line.split()[:2] == ["gpu", "GpuConfig,"] and "h100-sxm" in line
               for line in text.splitlines())


def test_closed_stdout_pipe_is_quiet_exit_141():
    # The reader closes its end before npulab writes (it starts slower than this), as
    # `npulab info --json | head -0` would: no "Broken pipe" line, no traceback.
    proc = subprocess.Popen([sys.executable, "-m", "npulab", "info", "--json"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=120) == EXIT_BROKEN_PIPE == 141
    assert err == ""


def test_a_broken_pipe_that_is_not_stdout_is_still_one_error_line(monkeypatch, capsys):
    import npulab.cli.info as info

    def boom(args):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(info, "run", boom)
    assert main(["info"]) == 2
    assert capsys.readouterr().err.strip() == "npulab info: error: [Errno 32] Broken pipe"
