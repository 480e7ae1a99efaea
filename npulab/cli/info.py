"""``npulab info``: versions, engines and bundled data."""
from __future__ import annotations

import importlib.util
import platform
from importlib import metadata
from typing import Any

from npulab import __version__


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def engine_kinds() -> dict:
    """Each registered engine kind (``npulab.perf.engines``): its typed config, whether it
    costs whole jobs (``estimate_job``), and the bundled presets of that kind."""
    from npulab.perf.engines import ENGINES, HARDWARE, JOB_ENGINES
    from npulab.perf.presets import available_presets, load_preset

    kinds: dict[str, dict[str, Any]] = {k: {"config": HARDWARE[k].__name__ if k in HARDWARE else None,
                 "whole_job": k in JOB_ENGINES, "presets": []} for k in ENGINES}
    for name in available_presets():
        try:
            kind = load_preset(name).engine
        except ValueError:  # a broken bundled preset is for `npulab scorecard` to report
            continue
        if kind in kinds:
            kinds[kind]["presets"].append(name)
    return kinds


def collect() -> dict:
    """What ``npulab info`` reports, as a dict."""
    from npulab import datasets

    engines = {}
    for name in ("quant", "tiling", "systolic", "pim", "snn", "gpu", "perf", "grading"):
        engines[name] = importlib.util.find_spec(f"npulab.{name}") is not None
    return {
        "npulab": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "dependencies": {d: _version(d) for d in (
            "numpy", "torch", "brevitas", "matplotlib", "ipywidgets", "jupyterlab", "nbformat",
            "nbclient", "snntorch", "scalesim", "nbgrader", "nbval")},
        "engines": engines,
        "kinds": engine_kinds(),
        "datasets_dir": str(datasets.DATASETS_DIR),
        "datasets": datasets.available(),
    }


def run(args) -> int:
    """Print the report (text or JSON)."""
    info = collect()
    if args.json:
        from npulab.cli import print_json

        print_json(info)
        return 0
    print(f"npulab {info['npulab']}  (Python {info['python']}, {info['platform']})")
    print("dependencies:")
    for name, ver in info["dependencies"].items():
        print(f"  {name:<11} {ver or 'not installed'}")
    print("engines:      " + ", ".join(f"{k}{'' if v else ' (not yet)'}" for k, v in info["engines"].items()))
    print("engine kinds:")
    for kind, k in info["kinds"].items():
        extra = ", whole jobs" if k["whole_job"] else ""
        print(f"  {kind:<11} {k['config']}{extra}: {', '.join(k['presets']) or '(no bundled preset)'}")
    print(f"datasets:     {info['datasets_dir']}")
    for name in info["datasets"]:
        print(f"  {name}")
    return 0


def add_parser(sub) -> None:
    from npulab.cli import add_json_flag

    p = sub.add_parser("info", help="versions, engines and bundled datasets")
    add_json_flag(p)
    p.set_defaults(func=run)
