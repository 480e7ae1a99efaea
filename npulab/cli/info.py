"""``npulab info``: versions, engines and bundled data."""
from __future__ import annotations

import importlib.util
import platform
from importlib import metadata

from npulab import __version__


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def collect() -> dict:
    """What ``npulab info`` reports, as a dict."""
    from npulab import datasets

    engines = {}
    for name in ("quant", "tiling", "systolic", "pim", "snn", "perf", "grading"):
        engines[name] = importlib.util.find_spec(f"npulab.{name}") is not None
    return {
        "npulab": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "dependencies": {d: _version(d) for d in (
            "numpy", "torch", "brevitas", "matplotlib", "ipywidgets", "jupyterlab", "nbformat",
            "nbclient", "snntorch", "scalesim", "nbgrader", "nbval")},
        "engines": engines,
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
    print(f"datasets:     {info['datasets_dir']}")
    for name in info["datasets"]:
        print(f"  {name}")
    return 0


def add_parser(sub) -> None:
    from npulab.cli import add_json_flag

    p = sub.add_parser("info", help="versions, engines and bundled datasets")
    add_json_flag(p)
    p.set_defaults(func=run)
