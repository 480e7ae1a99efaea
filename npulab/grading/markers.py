"""nbgrader's source markers, applied to one cell's text.

Conventions follow nbgrader 0.9 (``ClearSolutions`` and ``ClearHiddenTests``
preprocessors): a solution region becomes ``# YOUR CODE HERE`` followed by
``raise NotImplementedError()`` at the indentation of the ``### BEGIN SOLUTION`` line (in
Markdown, ``YOUR ANSWER HERE``); a hidden-test region disappears with its markers.
"""
from __future__ import annotations

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
MARKDOWN_STUB = "YOUR ANSWER HERE"


def _regions(lines: list[str], begin: str, end: str, where: str):
    """Yield ``(start, stop)`` line indices of each begin..end region (inclusive)."""
    start = None
    for i, line in enumerate(lines):
        text = line.strip()
        if text == begin:
            if start is not None:
                raise ValueError(f"{where}: '{begin}' at line {i + 1} inside another region")
            start = i
        elif text == end:
            if start is None:
                raise ValueError(f"{where}: '{end}' at line {i + 1} without '{begin}'")
            yield start, i
            start = None
    if start is not None:
        raise ValueError(f"{where}: '{begin}' at line {start + 1} is never closed by '{end}'")


def has_marker(source: str, begin: str) -> bool:
    """True when ``source`` has a line that is exactly ``begin`` (ignoring spaces)."""
    return any(line.strip() == begin for line in source.splitlines())


def strip_solution(source: str, *, markdown: bool = False, where: str = "cell") -> str:
    """Replace every solution region with the student stub.

    >>> print(strip_solution("def f():\\n    ### BEGIN SOLUTION\\n    return 1\\n    ### END SOLUTION"))
    def f():
        # YOUR CODE HERE
        raise NotImplementedError()
    """
    lines = source.splitlines()
    out: list[str] = []
    last = 0
    for start, stop in _regions(lines, BEGIN_SOLUTION, END_SOLUTION, where):
        out.extend(lines[last:start])
        indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
        out.extend([MARKDOWN_STUB] if markdown else [indent + s for s in CODE_STUB])
        last = stop + 1
    out.extend(lines[last:])
    return "\n".join(out)


def strip_hidden_tests(source: str, *, where: str = "cell") -> str:
    """Remove every hidden-test region, markers included.

    >>> strip_hidden_tests("assert 1\\n### BEGIN HIDDEN TESTS\\nassert 2\\n### END HIDDEN TESTS")
    'assert 1'
    """
    lines = source.splitlines()
    out: list[str] = []
    last = 0
    for start, stop in _regions(lines, BEGIN_HIDDEN, END_HIDDEN, where):
        out.extend(lines[last:start])
        last = stop + 1
    out.extend(lines[last:])
    return "\n".join(out).rstrip("\n")
