"""One layer of work: a GEMM or a 2-D convolution.

Names follow SCALE-Sim (Samajdar et al., ISPASS 2020): the activation operand is the
*ifmap*, the weights are the *filter*, the result is the *ofmap*.  A GEMM
``A[M, K] @ B[K, N] = C[M, N]`` has ifmap ``A``, filter ``B`` and ofmap ``C``.

Counting (textbook, e.g. Sze et al., *Efficient Processing of Deep Neural Networks*, 2020):

* GEMM MACs: ``M * N * K``.
* Conv output size (no padding; pad the ifmap dims instead, as SCALE-Sim topologies do):
  ``E = (H - Fh) // S + 1`` rows and ``F = (W - Fw) // S + 1`` columns.
* Conv MACs: ``E * F * Fh * Fw * C * num_filters``.
* Arithmetic intensity: ``2 * MACs / bytes moved`` (operations per byte, one MAC = 2 ops),
  counting each operand once (the ideal, infinite on-chip buffer).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Union

from npulab._validate import positive_int

# The one precision table lives with the hardware description (issue 13); re-exported here.
from npulab.hw.precision import PRECISION_BYTES, bytes_per_element  # noqa: F401
from npulab.sparse.prune import parse_nm


class _Layer:
    """Shared arithmetic of every layer: bytes and arithmetic intensity."""

    # Declared by every concrete layer (dataclass fields of GEMM and Conv2d); annotated here,
    # without a value, so the shared code below is typed.
    weight_sparsity: str
    weight_density: float
    act_density: float

    @property
    def macs(self) -> int:  # pragma: no cover - abstract
        """Multiply-accumulates of the layer."""
        raise NotImplementedError

    def _check_sparsity(self, owner: str) -> None:
        """Sparsity attributes (issue 30): ``weight_sparsity`` ``"N:M"`` (or ``""``),
        ``weight_density`` and ``act_density`` in (0, 1]; a pattern and a density < 1 exclude
        each other (the pattern fixes the density ``N / M``)."""
        if self.weight_sparsity:
            parse_nm(self.weight_sparsity, f"{owner}.weight_sparsity")
        for f in ("weight_density", "act_density"):
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 1:
                raise ValueError(f"{owner}.{f} must be a number in (0, 1]; got {v!r}")
        if self.weight_sparsity and self.weight_density != 1:
            raise ValueError(f"{owner}.weight_density must be 1 with weight_sparsity="
                             f"{self.weight_sparsity!r} (N:M fixes it); "
                             f"got {self.weight_density!r}")

    @property
    def weight_nonzero_fraction(self) -> float:
        """Fraction of non-zero weights: ``N / M`` of ``weight_sparsity``, else
        ``weight_density``."""
        if self.weight_sparsity:
            n, m = (int(v) for v in self.weight_sparsity.split(":"))
            return n / m
        return float(self.weight_density)

    @property
    def is_sparse(self) -> bool:
        """True when a weight or activation sparsity attribute is set."""
        return bool(self.weight_sparsity) or self.weight_density != 1 or self.act_density != 1

    def _sparsity_label(self) -> str:
        if not self.is_sparse:
            return ""
        w = self.weight_sparsity or f"{self.weight_density:g}"
        return f" [weights {w}, activations {self.act_density:g}]"

    @property
    def ops(self) -> int:
        """Arithmetic operations, counting a MAC as 2 (multiply + add)."""
        return 2 * self.macs

    def operand_elements(self) -> dict[str, int]:  # pragma: no cover - abstract
        raise NotImplementedError

    def operand_bytes(self, precision="int8", out_precision=None) -> dict[str, float]:
        """Bytes of each operand, each counted once.

        Parameters
        ----------
        precision : str or float, default "int8"
            Precision of ifmap and filter (a name in :data:`PRECISION_BYTES` or bytes/element).
        out_precision : str or float, optional
            Precision of the ofmap; defaults to ``precision``.

        Returns
        -------
        dict
            ``{"ifmap": bytes, "filter": bytes, "ofmap": bytes}``.
        """
        b_in = bytes_per_element(precision)
        b_out = bytes_per_element(precision if out_precision is None else out_precision)
        n = self.operand_elements()
        return {"ifmap": n["ifmap"] * b_in, "filter": n["filter"] * b_in, "ofmap": n["ofmap"] * b_out}

    def total_bytes(self, precision="int8", out_precision=None) -> float:
        """Sum of :meth:`operand_bytes`: the minimum traffic to and from memory (bytes)."""
        return sum(self.operand_bytes(precision, out_precision).values())

    def arithmetic_intensity(self, precision="int8", out_precision=None) -> float:
        """Operations per byte, ``2 * MACs / total_bytes`` (Williams et al., CACM 2009)."""
        return self.ops / self.total_bytes(precision, out_precision)


@dataclass(frozen=True)
class Gemm(_Layer):
    """A matrix multiply ``C[M, N] = A[M, K] @ B[K, N]``.

    Parameters
    ----------
    M, N, K : int
        Rows of A and C, columns of B and C, and the reduction length.
    name : str, default ""
        Layer name (as in a topology file).

    Examples
    --------
    >>> g = Gemm(M=128, N=256, K=64)
    >>> g.macs, g.operand_bytes("int8")
    (2097152, {'ifmap': 8192.0, 'filter': 16384.0, 'ofmap': 32768.0})
    """

    M: int
    N: int
    K: int
    name: str = ""
    #: Sparsity (issue 30): "N:M" weight pattern along K, weight and activation densities.
    weight_sparsity: str = field(default="", repr=False)
    weight_density: float = field(default=1.0, repr=False)
    act_density: float = field(default=1.0, repr=False)

    def __post_init__(self):
        for f in ("M", "N", "K"):
            positive_int("Gemm", f, getattr(self, f))
        self._check_sparsity("Gemm")

    @property
    def macs(self) -> int:
        """Multiply-accumulates: ``M * N * K``."""
        return self.M * self.N * self.K

    def operand_elements(self) -> dict[str, int]:
        """Elements of A (ifmap), B (filter) and C (ofmap)."""
        return {"ifmap": self.M * self.K, "filter": self.K * self.N, "ofmap": self.M * self.N}

    def to_gemm(self) -> "Gemm":
        """A GEMM is its own GEMM lowering."""
        return self

    def __str__(self) -> str:
        label = f"{self.name}: " if self.name else ""
        return f"{label}Gemm(M={self.M}, N={self.N}, K={self.K}){self._sparsity_label()}"


@dataclass(frozen=True)
class Conv2d(_Layer):
    """A 2-D convolution of one image, SCALE-Sim's topology fields.

    The ifmap is ``ifmap_h x ifmap_w x channels`` (padding already included), there are
    ``num_filters`` filters of ``filter_h x filter_w x channels``, moved by ``stride``.
    ``padding`` says how many of those rows/columns on each side are zero padding (default 0,
    as in a SCALE-Sim topology): array engines compute on them all the same, while an engine
    that works per event (an input spike) never sees the padded border.

    Examples
    --------
    >>> c = Conv2d(ifmap_h=58, ifmap_w=58, filter_h=3, filter_w=3, channels=64, num_filters=64)
    >>> c.out_h, c.macs
    (56, 115605504)
    >>> c.to_gemm()
    Gemm(M=3136, N=64, K=576, name='')
    """

    ifmap_h: int
    ifmap_w: int
    filter_h: int
    filter_w: int
    channels: int
    num_filters: int
    stride: int = 1
    name: str = ""
    padding: int = 0
    #: Sparsity (issue 30), as :class:`Gemm`'s (the N:M groups run along the reduction).
    weight_sparsity: str = field(default="", repr=False)
    weight_density: float = field(default=1.0, repr=False)
    act_density: float = field(default=1.0, repr=False)

    def __post_init__(self):
        for f in ("ifmap_h", "ifmap_w", "filter_h", "filter_w", "channels", "num_filters", "stride"):
            positive_int("Conv2d", f, getattr(self, f))
        if (isinstance(self.padding, bool) or not isinstance(self.padding, int) or self.padding < 0
                or 2 * self.padding >= min(self.ifmap_h, self.ifmap_w)):
            raise ValueError(f"Conv2d.padding must be an int >= 0 that leaves part of the "
                             f"{self.ifmap_h}x{self.ifmap_w} ifmap unpadded; got {self.padding!r}")
        self._check_sparsity("Conv2d")
        if self.filter_h > self.ifmap_h:
            raise ValueError(
                f"Conv2d.filter_h must be <= ifmap_h ({self.ifmap_h}); got {self.filter_h}"
            )
        if self.filter_w > self.ifmap_w:
            raise ValueError(
                f"Conv2d.filter_w must be <= ifmap_w ({self.ifmap_w}); got {self.filter_w}"
            )

    @property
    def out_h(self) -> int:
        """Output rows ``E = (H - Fh) // S + 1``."""
        return (self.ifmap_h - self.filter_h) // self.stride + 1

    @property
    def out_w(self) -> int:
        """Output columns ``F = (W - Fw) // S + 1``."""
        return (self.ifmap_w - self.filter_w) // self.stride + 1

    @property
    def macs(self) -> int:
        """Multiply-accumulates: ``E * F * Fh * Fw * C * num_filters``."""
        return (
            self.out_h * self.out_w * self.filter_h * self.filter_w * self.channels * self.num_filters
        )

    @property
    def connections(self) -> int:
        """Number of (output, weight) pairs whose input is a real pixel, not padding.

        The synaptic connections of the layer unrolled to a matrix (``macs`` when
        ``padding == 0``).

        Examples
        --------
        >>> Conv2d(6, 6, 3, 3, 1, 1, padding=1).connections     # 4x4 outputs, 3x3 taps
        100
        """
        def taps(size: int, out: int, f: int) -> int:           # real (output, tap) pairs, one axis
            return sum(1 for o in range(out) for k in range(f)
                       if self.padding <= o * self.stride + k < size - self.padding)

        return (taps(self.ifmap_h, self.out_h, self.filter_h) * taps(self.ifmap_w, self.out_w, self.filter_w)
                * self.channels * self.num_filters)

    def operand_elements(self) -> dict[str, int]:
        """Elements of the ifmap, all filters, and the ofmap."""
        return {
            "ifmap": self.ifmap_h * self.ifmap_w * self.channels,
            "filter": self.filter_h * self.filter_w * self.channels * self.num_filters,
            "ofmap": self.out_h * self.out_w * self.num_filters,
        }

    def to_gemm(self, scalesim: bool = False) -> Gemm:
        """Lower to a GEMM by im2col: ``M = E * F``, ``N = num_filters``, ``K = Fh * Fw * C``.

        With ``scalesim=True`` the output size rounds up as SCALE-Sim 3.0.0 does,
        ``E = ceil((H - Fh + S) / S)``, which differs from the exact size when ``S``
        does not divide ``H - Fh``.
        """
        if scalesim:
            e = math.ceil((self.ifmap_h - self.filter_h + self.stride) / self.stride)
            f = math.ceil((self.ifmap_w - self.filter_w + self.stride) / self.stride)
        else:
            e, f = self.out_h, self.out_w
        return Gemm(
            M=e * f,
            N=self.num_filters,
            K=self.filter_h * self.filter_w * self.channels,
            name=self.name,
            weight_sparsity=self.weight_sparsity,
            weight_density=self.weight_density,
            act_density=self.act_density,
        )

    def __str__(self) -> str:
        label = f"{self.name}: " if self.name else ""
        return (
            f"{label}Conv2d({self.ifmap_h}x{self.ifmap_w}x{self.channels} * "
            f"{self.filter_h}x{self.filter_w}x{self.num_filters} /{self.stride})"
            f"{self._sparsity_label()}"
        )


#: Either kind of layer.
Workload = Union[Gemm, Conv2d]
