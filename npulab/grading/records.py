"""Data a graded test records for the instructor (Lab 08's evaluated design, for the leaderboard).

A test cell runs on the grader's trusted side (:mod:`npulab.grading.engine`).  When it wants
the grade run to keep something it computed there -- the capstone's trusted evaluation of a
student's design -- it calls :func:`record`::

    from npulab.grading.records import record
    record("capstone", assessment.to_dict())

While ``npulab grade`` runs the tests, :data:`RECORD_ENV` names a file outside the student's
sandbox; :func:`record` appends one JSON line to it.  The grader reads it back
(:func:`read_records`) into the student's signed result (``SubmissionResult.records``, from
the run with every test) and writes ``OUT/<name>.json`` for the class (``{"lab": ...,
"students": {student: data}}``).  Anywhere else -- the learner's ``npulab check``, a plain
Jupyter run, nbval -- :func:`record` does nothing and returns False.

The student's code never runs on the trusted side, so it cannot call :func:`record` there;
its own process has neither the variable nor the file.
"""

from __future__ import annotations

import json
import os
import re

__all__ = ["RECORD_ENV", "MAX_RECORD_BYTES", "record", "read_records"]

#: Environment variable (trusted side only) naming the file records go to.
RECORD_ENV = "NPULAB_RECORD_FILE"
#: Largest record kept.  Units: bytes of JSON.
MAX_RECORD_BYTES = 64 * 1024
_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
#: Names of files the grader already writes in OUT.
_RESERVED = frozenset({"summary", "gradebook", "results", "feedback"})


def _check_name(name) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name) or name in _RESERVED:
        raise ValueError(
            f"record: name must match [a-z][a-z0-9_]{{0,31}} and not be one of "
            f"{sorted(_RESERVED)}; got {name!r}"
        )
    return name


def record(name: str, data) -> bool:
    """Keep ``data`` under ``name`` for this student in the grade run's output.

    Parameters
    ----------
    name : str
        Lowercase identifier (``[a-z][a-z0-9_]{0,31}``); becomes ``OUT/<name>.json``.
    data : JSON-serialisable
        Plain data (dicts, lists, strings, numbers, booleans, None; no NaN or inf), at most
        :data:`MAX_RECORD_BYTES` as JSON.  A later record of the same name replaces it.

    Returns
    -------
    bool
        True when written (under ``npulab grade``), False elsewhere.

    Raises
    ------
    ValueError
        A bad name, data that is not plain JSON, or data over the size limit.

    Examples
    --------
    >>> record("capstone", {"power_w": 0.3})  # outside the grader: nothing to do
    False
    """
    _check_name(name)
    try:
        text = json.dumps({"name": name, "data": data}, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"record {name!r}: data must be plain JSON without NaN or inf ({err})"
        ) from None
    if len(text.encode("utf-8")) > MAX_RECORD_BYTES:
        raise ValueError(
            f"record {name!r}: {len(text)} bytes of JSON, over the {MAX_RECORD_BYTES} byte limit"
        )
    path = os.environ.get(RECORD_ENV)
    if not path:
        return False
    with open(path, "a", encoding="utf-8") as f:
        f.write(text + "\n")
    return True


def read_records(path) -> dict:
    """name -> data of the records in ``path`` (the last of each name); ``{}`` if none.

    Lines that are not a record (a truncated write) are skipped.
    """
    found: dict = {}
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError:
        return found
    for line in lines:
        try:
            item = json.loads(line)
            found[_check_name(item["name"])] = item["data"]
        except (ValueError, TypeError, KeyError):
            continue
    return found
