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
COMMANDS = ("info", "demo", "release", "check", "grade", "marks", "formgrade", "gradebook", "scalesim",
            "map", "scorecard", "sweep", "serve", "plan", "calibrate", "mutants", "compile")


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


#: Exit status after the reader of stdout went away: 128 + SIGPIPE, as a shell reports a
#: standard tool that ``... | head`` cut short.
EXIT_BROKEN_PIPE = 141


def _stdout_closed() -> bool:
    """True when stdout is a pipe whose reader has exited (``poll`` reports ``POLLERR``)."""
    import select

    if not hasattr(select, "poll"):  # no poll (Windows): assume the pipe was stdout
        return True
    try:
        fd = sys.stdout.fileno()
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        return any(ev & select.POLLERR for _, ev in poller.poll(0))
    except (OSError, ValueError, AttributeError):  # stdout is not a file (captured)
        return False


def _quiet_broken_pipe() -> int:
    """Stop quietly after ``npulab ... | head`` closed the pipe: point stdout at /dev/null so
    Python's final flush prints nothing (Python docs, "Note on SIGPIPE"), exit 141."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
    return EXIT_BROKEN_PIPE


def main(argv=None) -> int:
    """Entry point of the ``npulab`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        rc = int(args.func(args) or 0)
        sys.stdout.flush()  # a reader that went away shows up here, not at interpreter exit
        return rc
    except BrokenPipeError as err:
        if not _stdout_closed():  # some other pipe (a socket, a worker): a real error
            print(f"npulab {args.command}: error: {err}", file=sys.stderr)
            return 2
        return _quiet_broken_pipe()
    except (ValueError, OSError, OverflowError, RecursionError, MemoryError) as err:
        # OSError: a folder where a file goes, an existing file, nothing listening at an address
        msg = str(err).splitlines()[0] if str(err) else err.__class__.__name__
        if isinstance(err, RecursionError):
            msg = f"input nested too deeply ({msg})"
        elif isinstance(err, MemoryError):
            msg = "out of memory (input too large)"
        print(f"npulab {args.command}: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"npulab {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
