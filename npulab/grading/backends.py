"""The registry of sandbox backends (:class:`npulab.grading.isolation.Sandbox`).

A new backend is one entry of :data:`BACKENDS`; ``npulab grade`` picks :data:`DEFAULT`
unless told ``--no-sandbox`` (the ``none`` backend).
"""

from __future__ import annotations

from typing import Callable

from npulab.grading.isolation import NoSandbox, Sandbox
from npulab.grading.sandbox import Bubblewrap

#: name -> factory of every registered backend.
BACKENDS: dict[str, Callable[[], Sandbox]] = {"none": NoSandbox, "bubblewrap": Bubblewrap}
#: The backend ``npulab grade`` uses by default.
DEFAULT = "bubblewrap"


def get_sandbox(spec) -> Sandbox:
    """A :class:`Sandbox` from ``spec``: an instance, a :data:`BACKENDS` name, True (the
    default backend) or False/None (:class:`NoSandbox`).

    >>> get_sandbox(False).name
    'none'
    """
    if isinstance(spec, Sandbox) and not isinstance(spec, (str, bool)):
        return spec
    if spec is True:
        spec = DEFAULT
    if spec is False or spec is None:
        spec = "none"
    if isinstance(spec, str) and spec in BACKENDS:
        return BACKENDS[spec]()
    raise ValueError(f"unknown sandbox {spec!r}; expected one of {', '.join(sorted(BACKENDS))}")
