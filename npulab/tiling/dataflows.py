"""Named dataflows as mapping constraints (Chen et al., ISCA 2016, Sec. III; Sze et al. 2020, Ch. 5).

A dataflow says which operand stays in the PE's register file (RF, the innermost level)
while the others stream past, and which dims the PE array unrolls.  Here it is three
constraints on a mapping:

=====  ======================  ==================  ====================  ==================
name   RF keeps                RF temporal dims    array rows            array cols
=====  ======================  ==================  ====================  ==================
ws     weights                 weight-irrelevant   reduction (C / K)     out channels (K/N)
os     outputs (psums)         reduction dims      output rows (P, Q/M)  out chan. (K/N)
is     inputs                  input-irrelevant    reduction (C / K)     outputs (P, Q / M)
rs     all (Eyeriss)           S, Q, C, K          filter rows R, C      output rows P, K
nlr    nothing                 none                C / K                 K / N
=====  ======================  ==================  ====================  ==================

(GEMM names in parentheses: M rows of A, N columns of B, K the reduction.)  Row-stationary
is the Eyeriss dataflow: each PE runs a 1-D convolution of a filter row (S) over an input
row (Q), PE rows hold filter rows (R), PE columns output rows (P).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dataflow:
    """Constraints of a named dataflow for conv and GEMM problems.

    Attributes
    ----------
    name, title : str
    inner : dict
        ``{kind: dims}`` allowed as temporal loops at the innermost level.
    rows, cols : dict
        ``{kind: dims}`` allowed on the array rows / cols.
    inner_bypass : tuple of str
        Operands the innermost level does not store.
    """

    name: str
    title: str
    inner: dict
    rows: dict
    cols: dict
    inner_bypass: tuple

    def dims(self, field_name: str, problem) -> tuple:
        """The dims of table ``field_name`` (``inner``, ``rows``, ``cols``) for ``problem``'s kind."""
        table = getattr(self, field_name)
        if problem.kind not in table:
            raise ValueError(f"dataflow {self.name!r} does not apply to {problem.kind} problems")
        return table[problem.kind]

    def bypass(self, arch) -> tuple:
        """Per-level bypass sets: the innermost level bypasses :attr:`inner_bypass`."""
        L = len(arch.levels)
        return tuple(frozenset(self.inner_bypass) if i == L - 1 else frozenset() for i in range(L))


#: The five named dataflows.
DATAFLOWS = {
    "ws": Dataflow("ws", "weight stationary", {"conv": ("N", "P", "Q"), "gemm": ("M",)},
                   {"conv": ("C", "R", "S"), "gemm": ("K",)}, {"conv": ("K",), "gemm": ("N",)},
                   ("inputs", "outputs")),
    "os": Dataflow("os", "output stationary", {"conv": ("C", "R", "S"), "gemm": ("K",)},
                   {"conv": ("P", "Q", "N"), "gemm": ("M",)}, {"conv": ("K", "Q"), "gemm": ("N",)},
                   ("inputs", "weights")),
    "is": Dataflow("is", "input stationary", {"conv": ("K",), "gemm": ("N",)},
                   {"conv": ("C", "R", "S"), "gemm": ("K",)}, {"conv": ("P", "Q", "N"), "gemm": ("M",)},
                   ("weights", "outputs")),
    "rs": Dataflow("rs", "row stationary (Eyeriss)", {"conv": ("S", "Q", "C", "K")},
                   {"conv": ("R", "C")}, {"conv": ("P", "K")}, ()),
    "nlr": Dataflow("nlr", "no local reuse", {"conv": (), "gemm": ()},
                    {"conv": ("C",), "gemm": ("K",)}, {"conv": ("K",), "gemm": ("N",)},
                    ("inputs", "weights", "outputs")),
}

_ALIASES = {"weight_stationary": "ws", "output_stationary": "os", "input_stationary": "is",
            "row_stationary": "rs", "no_local_reuse": "nlr"}


def get_dataflow(name) -> Dataflow:
    """A :class:`Dataflow` by short or long name ("ws" or "weight_stationary")."""
    if isinstance(name, Dataflow):
        return name
    key = _ALIASES.get(str(name).lower().replace("-", "_"), str(name).lower())
    if key not in DATAFLOWS:
        raise ValueError(f"dataflow must be one of {sorted(DATAFLOWS) + sorted(_ALIASES)}; got {name!r}")
    return DATAFLOWS[key]
