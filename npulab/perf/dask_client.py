"""One Dask client per run: :func:`dask_client` connects once and lends that client to every
nested use with the same scheduler address (a sweep, or a server-scenario search that maps
rates several rounds over several presets), then closes it when the outermost use ends.

Connecting to a scheduler and tearing the client down costs a round of handshakes (and a
thread) each time; a run that opened one per batch of tasks paid it per batch.

>>> from npulab.perf.dask_client import dask_client
>>> with dask_client(None) as c:   # no address: nothing to connect to
...     c is None
True
"""
from __future__ import annotations

from contextlib import contextmanager

#: Clients open for this run, by scheduler address (the outermost ``with`` owns each).
_OPEN: dict = {}


@contextmanager
def dask_client(address: str | None, timeout: str = "5s", flag: str = "--dask"):
    """A ``distributed.Client`` for ``address``: the one an enclosing ``with dask_client(...)``
    opened, else a new one, closed on exit.  ``None`` address yields ``None``.

    Raises ``ValueError`` (one line naming ``flag`` and the address) when no scheduler
    answers within ``timeout``.
    """
    if not address:
        yield None
        return
    if address in _OPEN:
        yield _OPEN[address]
        return
    from distributed import Client

    try:
        client = Client(address, timeout=timeout)
    except (OSError, TimeoutError) as err:
        raise ValueError(f"{flag} {address}: no Dask scheduler answered within {timeout} "
                         f"({str(err).splitlines()[0] if str(err) else type(err).__name__})") from None
    _OPEN[address] = client
    try:
        yield client
    finally:
        del _OPEN[address]
        client.close()
