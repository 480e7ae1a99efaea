"""Links between devices and what a collective over them costs (the alpha-beta model).

A :class:`Link` is one device's port into the fabric: ``bandwidth_bytes_per_s`` in each
direction and a per-message start-up latency ``latency_s``, plus the topology the devices
form (``"switch"``: every pair through a non-blocking switch, as NVSwitch; ``"ring"``: each
device talks to two neighbours; ``"mesh2d"``: an ``r x c`` grid).

Collective costs follow the alpha-beta (Hockney) model of Thakur, Rabenseifner & Gropp
(2005): a message of ``m`` bytes costs ``alpha + m * beta`` with ``alpha = latency_s`` and
``beta = 1 / bandwidth_bytes_per_s``.  For ``n`` devices and ``S`` bytes (the whole vector
each device holds for all-reduce, the whole gathered result for all-gather, the whole input
for reduce-scatter, the whole send buffer for all-to-all):

====================  ===================================  =================================
collective            ring (or pairwise)                   tree (recursive halving/doubling)
====================  ===================================  =================================
all-reduce            ``2(n-1) a + 2(n-1)/n S b``          ``2 log2(n) a + 2(n-1)/n S b``
all-gather            ``(n-1) a + (n-1)/n S b``            ``log2(n) a + (n-1)/n S b``
reduce-scatter        ``(n-1) a + (n-1)/n S b``            ``log2(n) a + (n-1)/n S b``
all-to-all            ``(n-1) a + (n-1)/n S b``            ``log2(n) a + log2(n)/2 S b``
====================  ===================================  =================================

The tree all-reduce is Rabenseifner's reduce-scatter + all-gather by recursive halving and
doubling; the tree all-to-all is Bruck's algorithm (each of ``log2 n`` rounds sends half the
buffer).  ``n`` that is not a power of two uses ``ceil(log2 n)`` rounds.  On a ``mesh2d``
of ``r x c`` devices an all-reduce runs as reduce-scatter along rows, all-reduce along
columns, all-gather along rows (hierarchical ring): ``2(r-1)(a + S b / r) + 2(c-1)(a + S
b / (r c))``; the other collectives run as a ring (a Hamiltonian ring exists on a grid with
an even side).  A ``ring`` topology allows the ring algorithm only.

NCCL reports an all-reduce's *bus bandwidth* ``busbw = S / t * 2(n-1)/n``
(NVIDIA, nccl-tests ``doc/PERFORMANCE.md``): with ``alpha = 0`` the ring's busbw equals the
link bandwidth, the quantity :func:`bus_bandwidth` returns.

References
----------
R. Thakur, R. Rabenseifner, W. Gropp, "Optimization of Collective Communication Operations in
MPICH", IJHPCA 19(1), 2005.  J. Bruck et al., "Efficient Algorithms for All-to-All
Communications in Multiport Message-Passing Systems", IEEE TPDS 8(11), 1997.

Units: bytes, seconds, bytes/s.

Examples
--------
>>> link = Link("toy", bandwidth_bytes_per_s=100e9, latency_s=1e-6)
>>> round(all_reduce_time(1e9, 8, link) * 1e3, 4)     # 14 a + 1.75 GB / 100 GB/s
17.514
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from npulab._validate import positive_int, positive_number

#: Topologies a :class:`Link` may name.
TOPOLOGIES = ("switch", "ring", "mesh2d")
#: Collective algorithms.
ALGORITHMS = ("ring", "tree")
#: Collectives :func:`collective_time` knows.
COLLECTIVES = ("all_reduce", "all_gather", "reduce_scatter", "all_to_all")


@dataclass(frozen=True)
class Link:
    """One device's link into the fabric.

    Parameters
    ----------
    name : str
        Label (``"nvlink4"``).
    bandwidth_bytes_per_s : float
        Bandwidth per device per direction, bytes/s (> 0).
    latency_s : float, default 0
        Start-up time of one message (alpha), s (>= 0; 0 where not published).
    topology : {"switch", "ring", "mesh2d"}, default "switch"
        How the devices are connected.
    mesh_rows : int, optional
        Rows ``r`` of a ``mesh2d`` (default: the largest divisor of ``n`` <= sqrt(n)).
    """

    name: str
    bandwidth_bytes_per_s: float
    latency_s: float = 0.0
    topology: str = "switch"
    mesh_rows: int | None = None

    def __post_init__(self):
        positive_number("Link", "bandwidth_bytes_per_s", self.bandwidth_bytes_per_s)
        positive_number("Link", "latency_s", self.latency_s, allow_zero=True)
        if self.topology not in TOPOLOGIES:
            raise ValueError(
                f"Link.topology must be one of {list(TOPOLOGIES)}; got {self.topology!r}"
            )
        if self.mesh_rows is not None:
            positive_int("Link", "mesh_rows", self.mesh_rows)

    def transfer_time(self, size_bytes: float) -> float:
        """One point-to-point message: ``alpha + S / B`` (a pipeline stage's hand-off)."""
        return self.latency_s + _bytes(size_bytes) / self.bandwidth_bytes_per_s

    def __repr__(self) -> str:
        return (
            f"Link({self.name!r}, {self.bandwidth_bytes_per_s / 1e9:.4g} GB/s per direction, "
            f"{self.latency_s * 1e6:.3g} us, {self.topology})"
        )


#: Links from public specifications (bandwidth per device per direction).  Latency is not
#: published for any of them: 0 (pure bandwidth); pass a Link with a measured ``latency_s``.
LINKS = {
    # NVIDIA H100/H200 datasheets: NVLink 900 GB/s (bidirectional total) -> 450 GB/s each way
    "nvlink4": Link("nvlink4", 450e9, 0.0, "switch"),
    # NVIDIA A100 datasheet: NVLink 600 GB/s (bidirectional total) -> 300 GB/s each way
    "nvlink3": Link("nvlink3", 300e9, 0.0, "switch"),
    # PCI-SIG PCIe 5.0: 32 GT/s per lane, 128b/130b -> 16 lanes x 32e9 / 8 x 128/130 = 63.0 GB/s
    "pcie5-x16": Link("pcie5-x16", 16 * 32e9 / 8 * 128 / 130, 0.0, "switch"),
    # PCI-SIG PCIe 4.0: 16 GT/s per lane, 128b/130b -> 31.5 GB/s
    "pcie4-x16": Link("pcie4-x16", 16 * 16e9 / 8 * 128 / 130, 0.0, "switch"),
    # PCI-SIG PCIe 3.0: 8 GT/s per lane, 128b/130b, x4 -> 3.94 GB/s (an M.2 card's slot)
    "pcie3-x4": Link("pcie3-x4", 4 * 8e9 / 8 * 128 / 130, 0.0, "switch"),
}


def get_link(link) -> Link:
    """A :class:`Link` itself, or the bundled one named (:data:`LINKS`)."""
    if isinstance(link, Link):
        return link
    if isinstance(link, str) and link in LINKS:
        return LINKS[link]
    raise ValueError(f"unknown link {link!r} (bundled: {', '.join(LINKS)}; or a Link)")


def _bytes(size_bytes) -> float:
    return positive_number("collective", "size_bytes", size_bytes, allow_zero=True)


def _rounds(n: int) -> int:
    return math.ceil(math.log2(n)) if n > 1 else 0


def _mesh_shape(n: int, link: Link) -> tuple:
    r = link.mesh_rows or max(d for d in range(1, math.isqrt(n) + 1) if n % d == 0)
    if n % r:
        raise ValueError(f"Link.mesh_rows must divide the device count {n}; got {r}")
    return r, n // r


def collective_time(kind: str, size_bytes: float, n: int, link, algorithm: str = "ring") -> float:
    """Seconds a collective of ``size_bytes`` takes on ``n`` devices (module docstring's table).

    Parameters
    ----------
    kind : {"all_reduce", "all_gather", "reduce_scatter", "all_to_all"}
    size_bytes : float
        ``S`` (see the module docstring for what it counts per collective).
    n : int
        Devices taking part (1: no communication, 0 s).
    link : Link or str
        The link (or a name in :data:`LINKS`).
    algorithm : {"ring", "tree"}, default "ring"
    """
    if kind not in COLLECTIVES:
        raise ValueError(f"collective must be one of {list(COLLECTIVES)}; got {kind!r}")
    if algorithm not in ALGORITHMS:
        raise ValueError(
            f"collective algorithm must be one of {list(ALGORITHMS)}; got {algorithm!r}"
        )
    n = positive_int("collective", "n", n)
    S = _bytes(size_bytes)
    link = get_link(link)
    if n == 1:
        return 0.0
    a, b = link.latency_s, 1.0 / link.bandwidth_bytes_per_s
    if link.topology == "ring" and algorithm == "tree":
        raise ValueError("a 'ring' topology runs the ring algorithm only; got algorithm='tree'")
    if link.topology == "mesh2d" and kind == "all_reduce":
        r, c = _mesh_shape(n, link)
        return 2 * (r - 1) * (a + S * b / r) + 2 * (c - 1) * (a + S * b / (r * c))
    frac = (n - 1) / n
    if algorithm == "ring":
        steps = 2 * (n - 1) if kind == "all_reduce" else n - 1
        volume = 2 * frac * S if kind == "all_reduce" else frac * S
        return steps * a + volume * b
    k = _rounds(n)
    if kind == "all_reduce":
        return 2 * k * a + 2 * frac * S * b
    if kind == "all_to_all":
        return k * a + k / 2 * S * b
    return k * a + frac * S * b


def all_reduce_time(size_bytes: float, n: int, link, algorithm: str = "ring") -> float:
    """All-reduce of an ``S``-byte vector on ``n`` devices (ring: ``2(n-1)(a + S b / n)``)."""
    return collective_time("all_reduce", size_bytes, n, link, algorithm)


def all_gather_time(size_bytes: float, n: int, link, algorithm: str = "ring") -> float:
    """All-gather whose result is ``S`` bytes (each device contributes ``S / n``)."""
    return collective_time("all_gather", size_bytes, n, link, algorithm)


def reduce_scatter_time(size_bytes: float, n: int, link, algorithm: str = "ring") -> float:
    """Reduce-scatter of an ``S``-byte input (each device keeps ``S / n``)."""
    return collective_time("reduce_scatter", size_bytes, n, link, algorithm)


def all_to_all_time(size_bytes: float, n: int, link, algorithm: str = "ring") -> float:
    """All-to-all: each device sends ``S / n`` bytes to every device (``S`` in all)."""
    return collective_time("all_to_all", size_bytes, n, link, algorithm)


def bus_bandwidth(size_bytes: float, n: int, seconds: float) -> float:
    """NCCL's all-reduce bus bandwidth ``S / t * 2(n-1)/n`` (nccl-tests PERFORMANCE.md), bytes/s.

    >>> link = LINKS["nvlink4"]
    >>> round(bus_bandwidth(1e9, 8, all_reduce_time(1e9, 8, link)) / 1e9)
    450
    """
    n = positive_int("bus_bandwidth", "n", n)
    t = positive_number("bus_bandwidth", "seconds", seconds)
    return _bytes(size_bytes) / t * 2 * (n - 1) / n


__all__ = [
    "Link",
    "LINKS",
    "TOPOLOGIES",
    "ALGORITHMS",
    "COLLECTIVES",
    "get_link",
    "collective_time",
    "all_reduce_time",
    "all_gather_time",
    "reduce_scatter_time",
    "all_to_all_time",
    "bus_bandwidth",
]
