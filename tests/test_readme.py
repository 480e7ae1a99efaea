"""The README's examples cannot go stale (issue 27).

* every ``$ npulab ...`` transcript in a ``text`` block is run and must print exactly the
  lines that follow it (the commands shown are deterministic);
* every ``python`` block runs;
* every ``npulab ...`` line of a ``bash`` block parses with today's command line (flags that
  were renamed or removed fail here, before a reader copies them).
"""
from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from npulab.cli import build_parser, main

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def _blocks(lang: str) -> list:
    return [body for tag, body in FENCE.findall(README.read_text(encoding="utf-8")) if tag == lang]


def _transcripts() -> list:
    out = []
    for body in _blocks("text"):
        lines = body.splitlines()
        if lines and lines[0].startswith("$ npulab "):
            out.append((lines[0][2:], lines[1:]))
    return out


def _command_lines() -> list:
    cmds = []
    for body in _blocks("bash"):
        body = re.sub(r"\\\n\s*", " ", re.sub(r"\s+#[^\n]*\\\n", " \\\n", body))   # join continued lines
        for line in body.splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith(("npulab ", ".venv/bin/npulab ")):
                cmds.append(line)
    return cmds


def test_readme_has_examples_to_check():
    assert _transcripts() and _blocks("python") and len(_command_lines()) >= 3


@pytest.mark.parametrize("command,expected", _transcripts(), ids=lambda v: v if isinstance(v, str) else "")
def test_readme_transcript_is_current(command, expected):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(shlex.split(command)[1:] + (["--no-progress"] if " serve " in f" {command} " else []))
    assert rc == 0
    assert buf.getvalue().rstrip("\n").splitlines() == expected, (
        f"README.md's output of `{command}` is stale; paste the current output:\n{buf.getvalue()}")


@pytest.mark.parametrize("i", range(len(_blocks("python"))))
def test_readme_python_block_runs(i):
    code = _blocks("python")[i]
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(code, f"README.md python block {i}", "exec"), {})


@pytest.mark.parametrize("line", _command_lines())
def test_readme_command_line_parses(line):
    args = shlex.split(line)[1:]
    parsed = build_parser().parse_args(args)      # SystemExit(2) on a stale flag
    assert parsed.command == args[0]
