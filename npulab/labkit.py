"""Small helpers that lab notebooks import (kept light: numpy and the standard library only).

- :func:`exercise` wraps a demo cell that uses a student's function, so an unfinished
  exercise prints ``skipped: Exercise N is not done yet`` instead of a traceback.
- :func:`course_rng` is the random generator hidden tests draw their cases from, seeded by
  the course offering's secret seed (``npulab grade --seed S`` sets ``NPULAB_COURSE_SEED``
  in the trusted test process), so the hidden tests in the public repository are not the
  ones that grade a given offering, while the same seed always gives the same grades.
"""
from __future__ import annotations

import contextlib
import os
import zlib

import numpy as np

#: Environment variable holding the course offering's seed (an integer; default 0).
SEED_ENV = "NPULAB_COURSE_SEED"


@contextlib.contextmanager
def exercise(*numbers: int):
    """Run the block; if a stub raises NotImplementedError, print a one-line skip notice.

    The notice names the exercise from the stub's message (``"Exercise 3: implement
    f(...)"``), so a demo that uses several exercises, ``with exercise(2, 3):``, names the
    one that is missing; otherwise it names the first number given.

    >>> with exercise(3):
    ...     raise NotImplementedError("Exercise 2: implement f(...)")
    skipped: Exercise 2 is not done yet
    """
    try:
        yield
    except NotImplementedError as err:
        from npulab.i18n.messages import STUB_PATTERN, stub_lang, t

        match = STUB_PATTERN.match(str(err))  # English or Korean stub (npulab release --lang ko)
        number = match.group(1) if match else (numbers[0] if numbers else "?")
        print(t("skipped", stub_lang(str(err)), n=number))


def course_seed() -> int:
    """The course seed from ``NPULAB_COURSE_SEED`` (0 when unset)."""
    raw = os.environ.get(SEED_ENV, "0").strip() or "0"
    try:
        seed = int(raw)
    except ValueError:
        raise ValueError(f"{SEED_ENV} must be an integer; got {raw!r}") from None
    if seed < 0:
        raise ValueError(f"{SEED_ENV} must be >= 0; got {seed}")
    return seed


def course_rng(test_name: str) -> np.random.Generator:
    """A generator seeded by the course seed and the test's name (same seed, same draws).

    >>> import os; os.environ.pop(SEED_ENV, None) and None
    >>> a = course_rng("test_x").integers(0, 1000, 3); b = course_rng("test_x").integers(0, 1000, 3)
    >>> bool((a == b).all())
    True
    """
    return np.random.default_rng([course_seed(), zlib.crc32(test_name.encode("utf-8"))])
