"""The ``npulab`` command.

Each subcommand is one small module in this package exposing ``add_parser(subparsers)``
(which registers its arguments and sets ``func``) and a ``run(args) -> int``.  To add a
subcommand, add its module name to :data:`COMMANDS` and write the module; a name whose
module is not there yet is simply not offered.

Bad input prints one line, ``npulab <cmd>: error: <what is wrong>``, and exits 2.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys

from npulab import __version__

#: Subcommands in the order ``npulab --help`` lists them.
COMMANDS = ("info", "demo", "release", "check", "grade", "scalesim", "map", "scorecard", "sweep")


class UsageError(ValueError):
    """Bad input from the command line (reported in one line, exit code 2)."""


def _modules():
    for name in COMMANDS:
        try:
            yield importlib.import_module(f"npulab.cli.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"npulab.cli.{name}":
                raise


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog="npulab",
        description="npulab: a course kit and toolkit for NPU design (quantizer, tiler, "
        "systolic array, PIM crossbar, spiking core, performance scorecard).",
    )
    parser.add_argument("--version", action="version", version=f"npulab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _modules():
        module.add_parser(sub)
    return parser


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    """The shared ``--json`` flag: machine-readable output instead of text."""
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def print_json(obj) -> None:
    """Print ``obj`` as indented JSON on stdout."""
    print(json.dumps(obj, indent=2, sort_keys=False, default=str))


def main(argv=None) -> int:
    """Entry point of the ``npulab`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, NotADirectoryError, PermissionError) as err:
        msg = str(err).splitlines()[0] if str(err) else err.__class__.__name__
        print(f"npulab {args.command}: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"npulab {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
