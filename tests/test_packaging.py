"""environment.yml lists what pyproject.toml does; constraints pin the tested stack."""
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _norm(req: str) -> str:
    return re.sub(r"\s+", "", req).lower()


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_norm(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    listed = {_norm(r) for r in pip_section if not r.startswith("-e")}
    assert listed == wanted, f"only in environment.yml: {listed - wanted}; only in pyproject: {wanted - listed}"
    assert "python=3.11" in env["dependencies"]


def test_constraints_pin_torch_cpu_and_numpy_for_scalesim():
    pins = dict(
        line.split("==", 1)
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    assert pins["torch"] == "2.13.0"
    major, minor = map(int, pins["numpy"].split(".")[:2])
    assert (major, minor) < (2, 4), "scalesim 3.0.0 fails under numpy >= 2.4"
    for peer in ("brevitas", "snntorch", "scalesim", "nbgrader"):
        assert peer in pins


def test_import_npulab_is_light():
    import subprocess
    import sys

    code = "import sys, npulab; print(sorted(m for m in ('torch', 'matplotlib', 'nbclient') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_wheel_ships_py_typed(tmp_path):
    """PEP 561: the wheel carries ``npulab/py.typed``, so type checkers read npulab's annotations."""
    import shutil
    import subprocess
    import sys
    import zipfile

    src = tmp_path / "src"  # build from a copy: a build in the checkout would leave build/ there
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "npulab", src / "npulab", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--disable-pip-version-check", "-q", "-w", str(tmp_path / "dist"), str(src)],
                   check=True, capture_output=True)
    (wheel,) = (tmp_path / "dist").glob("npulab-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        assert "npulab/py.typed" in zf.namelist()
