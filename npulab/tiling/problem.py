"""The problem: a layer as a loop nest over named dimensions (Timeloop's names).

A convolution is the 7-D nest of Timeloop (Parashar et al., ISPASS 2019) and Sze et al.,
*Efficient Processing of Deep Neural Networks* (2020), Ch. 5::

    for n in N, k in K, c in C, p in P, q in Q, r in R, s in S:
        outputs[n, k, p, q] += inputs[n, c, p*Hs + r*Hd, q*Ws + s*Wd] * weights[k, c, r, s]

with ``Hs, Ws`` the strides and ``Hd, Wd`` the dilations.  A GEMM ``A[M, K] @ B[K, N]`` is
the 3-D nest ``for m, n, k: C[m, n] += A[m, k] * B[k, n]``: inputs are ``A`` (SCALE-Sim's
*ifmap*), weights ``B`` (*filter*), outputs ``C`` (*ofmap*).

An operand *depends on* (is *relevant to*) the dimensions that index it.  The data a tile
touches (its *footprint*) is the product of the tile extents of the relevant dims; for
convolution inputs the height is the sliding window ``(P' - 1) * Hs + (R' - 1) * Hd + 1``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from npulab._validate import one_of, positive_int

#: The three operands, in Timeloop's naming.
from npulab.hw.hierarchy import OPERANDS  # noqa: E402  (the one operand list)

_CONV_DIMS = ("N", "K", "C", "P", "Q", "R", "S")
_GEMM_DIMS = ("M", "N", "K")
_RELEVANT: dict[str, dict[str, tuple[str, ...]]] = {
    "conv": {"inputs": ("N", "C", "P", "Q", "R", "S"), "weights": ("K", "C", "R", "S"),
             "outputs": ("N", "K", "P", "Q")},
    "gemm": {"inputs": ("M", "K"), "weights": ("K", "N"), "outputs": ("M", "N")},
}


@dataclass(frozen=True)
class Problem:
    """A layer as a loop nest: ordered dimension sizes plus stride and dilation.

    Parameters
    ----------
    kind : {"conv", "gemm"}
        Convolution (dims N, K, C, P, Q, R, S) or matrix multiply (dims M, N, K).
    sizes : tuple of int
        Size of each dim, in the order of :attr:`dims`.
    stride, dilation : tuple of (int, int), default (1, 1)
        Height and width stride and dilation (conv only).
    name : str, default ""

    Examples
    --------
    >>> p = Problem.gemm(4, 6, 8)
    >>> p.dims, p.macs, p.footprint("inputs", {"M": 2, "N": 3, "K": 4})
    (('M', 'N', 'K'), 192, 8)
    """

    kind: str
    sizes: tuple
    stride: tuple = (1, 1)
    dilation: tuple = (1, 1)
    name: str = ""

    def __post_init__(self):
        one_of("Problem", "kind", self.kind, _RELEVANT)
        object.__setattr__(self, "sizes", tuple(int(s) for s in self.sizes))
        if len(self.sizes) != len(self.dims):
            raise ValueError(f"Problem.sizes must have {len(self.dims)} entries for "
                             f"{self.kind}; got {len(self.sizes)}")
        for d, s in zip(self.dims, self.sizes):
            positive_int("Problem", d, s)
        for f in ("stride", "dilation"):
            v = tuple(getattr(self, f))
            object.__setattr__(self, f, v)
            for x in v:
                positive_int("Problem", f, x)

    # -- construction --------------------------------------------------------------------
    @classmethod
    def gemm(cls, M: int, N: int, K: int, name: str = "") -> "Problem":
        """``A[M, K] @ B[K, N]`` as dims (M, N, K)."""
        return cls("gemm", (M, N, K), name=name)

    @classmethod
    def conv(cls, N=1, K=1, C=1, P=1, Q=1, R=1, S=1, stride=1, dilation=1, name="") -> "Problem":
        """A convolution from its seven loop bounds (Timeloop names)."""
        st = (stride, stride) if isinstance(stride, int) else tuple(stride)
        dl = (dilation, dilation) if isinstance(dilation, int) else tuple(dilation)
        return cls("conv", (N, K, C, P, Q, R, S), st, dl, name)

    @classmethod
    def from_workload(cls, layer, batch: int = 1) -> "Problem":
        """Build from a :class:`npulab.workloads.Gemm` or :class:`~npulab.workloads.Conv2d`.

        A ``Conv2d`` becomes N=batch, K=num_filters, C=channels, P=out_h, Q=out_w,
        R=filter_h, S=filter_w (the ifmap size already includes padding).
        """
        from npulab.workloads import Conv2d, Gemm

        if isinstance(layer, Gemm):
            return cls.gemm(layer.M, layer.N, layer.K, name=layer.name)
        if isinstance(layer, Conv2d):
            return cls.conv(N=batch, K=layer.num_filters, C=layer.channels, P=layer.out_h,
                            Q=layer.out_w, R=layer.filter_h, S=layer.filter_w,
                            stride=layer.stride, name=layer.name)
        raise ValueError(f"Problem.from_workload needs a Gemm or Conv2d; got {type(layer).__name__}")

    # -- facts ---------------------------------------------------------------------------
    @property
    def dims(self) -> tuple:
        """Dimension names in nest order."""
        return _CONV_DIMS if self.kind == "conv" else _GEMM_DIMS

    @property
    def size(self) -> dict:
        """``{dim: size}``."""
        return dict(zip(self.dims, self.sizes))

    @property
    def macs(self) -> int:
        """Multiply-accumulates: the product of all dim sizes."""
        return math.prod(self.sizes)

    def relevant(self, operand: str) -> tuple:
        """Dims that index ``operand`` (the others give it reuse)."""
        if operand not in OPERANDS:
            raise ValueError(f"operand must be one of {list(OPERANDS)}; got {operand!r}")
        return _RELEVANT[self.kind][operand]

    def footprint(self, operand: str, extent) -> int:
        """Words of ``operand`` touched by a tile with per-dim ``extent`` (dict or sequence).

        Units: words.
        """
        e = extent if isinstance(extent, dict) else dict(zip(self.dims, extent))
        if self.kind == "conv" and operand == "inputs":
            h = (e["P"] - 1) * self.stride[0] + (e["R"] - 1) * self.dilation[0] + 1
            w = (e["Q"] - 1) * self.stride[1] + (e["S"] - 1) * self.dilation[1] + 1
            return e["N"] * e["C"] * h * w
        return math.prod(e[d] for d in self.relevant(operand))

    def __str__(self) -> str:
        body = ", ".join(f"{d}={s}" for d, s in zip(self.dims, self.sizes))
        extra = ""
        if self.kind == "conv" and (self.stride != (1, 1) or self.dilation != (1, 1)):
            extra = f", stride={self.stride}, dilation={self.dilation}"
        return f"{self.name + ': ' if self.name else ''}{self.kind}({body}{extra})"
