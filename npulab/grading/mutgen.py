"""Generated mutants: typical student mistakes made from a solution cell's syntax tree.

Hand-written mutants (``metadata.npulab.mutants``) cover the mistakes an author thought of;
the generator adds, for every graded solution cell, the classes of mistake students make
everywhere (issue 24 item 2), each a small edit of the student's part of the cell (the lines
between ``### BEGIN SOLUTION`` and ``### END SOLUTION``, or the whole cell without markers):

========== =================================================================================
category   edits
========== =================================================================================
rounding   ``np.round``/``round`` -> ``floor(x + 0.5)``, ``trunc``, ``ceil``, half away from
           zero; ``floor`` <-> ``ceil``; ``a // b`` -> ceil division and back
off-by-one ``range(n)`` -> ``range(n - 1)``, ``range(1, n)``, ``range(n + 1)``; ``<`` <-> ``<=``,
           ``>`` <-> ``>=``; a slice bound +1 / -1
axis       ``axis=0`` <-> ``axis=1``, ``axis=-1`` -> ``axis=0``, the ``axis`` dropped; ``.T`` and
           ``np.transpose`` dropped
dtype      ``astype(T)``/``dtype=T`` -> a narrower or wider integer or a float, dropped; ``np.clip``
           (the saturation) dropped; ``a // b`` -> ``a / b``
missing    one operand of a ``+``/``-`` dropped; a ``+=``/``-=`` statement dropped
========== =================================================================================

Each mutant has a stable id, ``"<category>:<edit>@<line>:<column>"`` (line and column in the
cell, 1-based), and a name a person reads.  Per cell and category at most ``per_category``
mutants are kept, drawn reproducibly from ``seed``, the cell's ``grade_id`` and the category
(never from global state).  A generated mutant that behaves exactly like the solution is
declared in the cell's metadata rather than silently dropped::

    "npulab": {"equivalent": [["axis:axis=1->0@7:22", "the array is 1-D: both axes are the same"]]}

Declared mutants are not run and are counted apart (``equivalent``); a declaration that
names no mutant the generator makes is an error (it went stale when the cell changed).
"""

from __future__ import annotations

import ast
import random
from dataclasses import dataclass
from typing import Any

from npulab.grading.markers import BEGIN_SOLUTION, END_SOLUTION

#: The generated categories, in report order.
CATEGORIES = ("rounding", "off-by-one", "axis", "dtype", "missing")

#: Default bound: at most this many generated mutants per solution cell and category.
PER_CATEGORY = 3

_NP = "__import__('numpy')"
_MATH = "__import__('math')"
_ROUND_FUNCS = {"round", "around", "rint"}
_INT_NARROW = {
    "int8": "int16",
    "uint8": "uint16",
    "int16": "int8",
    "uint16": "uint8",
    "int32": "int16",
    "uint32": "uint16",
    "int64": "int32",
    "uint64": "uint32",
    "int": "int32",
}
_INT_WIDE = {
    "int8": "int32",
    "uint8": "int32",
    "int16": "int32",
    "uint16": "int32",
    "int32": "int64",
    "uint32": "int64",
    "int64": "float64",
    "uint64": "float64",
    "int": "float64",
}


@dataclass(frozen=True)
class Generated:
    """One generated mutant of one cell.

    Attributes
    ----------
    id : str
        ``"<category>:<edit>@<line>:<column>"``, stable while the cell does not change.
    category : str
        One of :data:`CATEGORIES`.
    name : str
        What the mutant does, for a person (``"rounding: np.round(q) -> floor(q + 0.5)"``).
    source : str
        The mutated cell source.
    """

    id: str
    category: str
    name: str
    source: str


@dataclass(frozen=True)
class _Edit:
    category: str
    op: str  # short edit tag used in the id
    node: ast.AST  # the span replaced
    new: str  # its replacement text
    shown: str  # "old -> new" for the name


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _offsets(source: str) -> list[int]:
    """Character offset of the start of each line (1-based line -> index line - 1)."""
    starts, pos = [], 0
    for line in source.splitlines(keepends=True):
        starts.append(pos)
        pos += len(line)
    starts.append(pos)
    return starts


def _char(source_lines: list[str], starts: list[int], line: int, col_bytes: int) -> int:
    """The character offset of (1-based line, UTF-8 byte column)."""
    text = source_lines[line - 1] if line - 1 < len(source_lines) else ""
    return starts[line - 1] + len(text.encode("utf-8")[:col_bytes].decode("utf-8", "ignore"))


def _student_lines(source: str) -> set[int]:
    """1-based lines the student writes: inside the solution markers, else every line."""
    lines = source.splitlines()
    inside, out, seen = False, set(), False
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if text.startswith(BEGIN_SOLUTION):
            inside, seen = True, True
            continue
        if text.startswith(END_SOLUTION):
            inside = False
            continue
        if inside:
            out.add(number)
    return out if seen else set(range(1, len(lines) + 1))


def _dotted(node: ast.AST) -> str:
    """``np.round`` for an Attribute chain or Name, else ``""``."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def _dtype_name(text: str) -> str:
    """``int8`` for ``np.int8``, ``"int8"``, ``numpy.int8``; ``""`` for anything else."""
    text = text.strip().strip("'\"")
    last = text.rsplit(".", 1)[-1]
    return last if (last in _INT_NARROW or last.startswith("float")) else ""


class _Finder(ast.NodeVisitor):
    """Collects the candidate edits of every category in the student's lines."""

    def __init__(self, source: str, lines: set[int]):
        self.source, self.lines = source, lines
        self.edits: list[_Edit] = []

    def seg(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.source, node) or ""

    def mine(self, node: ast.AST) -> bool:
        first, last = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
        return first is not None and all(n in self.lines for n in range(first, (last or first) + 1))

    def add(
        self, category: str, op: str, node: ast.AST, new: str, shown: str | None = None
    ) -> None:
        old = self.seg(node)
        if old and new != old:
            self.edits.append(
                _Edit(category, op, node, new, shown or f"{_short(old)} -> {_short(new)}")
            )

    # -- calls: rounding, off-by-one (range), axis, dtype ------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        if self.mine(node):
            self._call(node)
        self.generic_visit(node)

    def _call(self, node: ast.Call) -> None:
        name = _dotted(node.func)
        last = name.rsplit(".", 1)[-1]
        args = [self.seg(a) for a in node.args]
        is_np = "." in name and name.split(".")[0] in {"np", "numpy"}
        # rounding
        if (
            ((is_np and last in _ROUND_FUNCS) or name == "round")
            and len(node.args) == 1
            and not node.keywords
        ):
            x = args[0]
            wrap = (lambda e: f"int({e})") if name == "round" else (lambda e: e)
            self.add(
                "rounding",
                "floor(x+0.5)",
                node,
                wrap(f"{_NP}.floor(({x}) + 0.5)"),
                f"{_short(self.seg(node))} -> floor({_short(x)} + 0.5)",
            )
            self.add(
                "rounding",
                "trunc",
                node,
                wrap(f"{_NP}.trunc({x})"),
                f"{_short(self.seg(node))} -> trunc({_short(x)})",
            )
            self.add(
                "rounding",
                "ceil",
                node,
                wrap(f"{_NP}.ceil({x})"),
                f"{_short(self.seg(node))} -> ceil({_short(x)})",
            )
            self.add(
                "rounding",
                "half-away",
                node,
                wrap(f"{_NP}.sign({x}) * {_NP}.floor({_NP}.abs({x}) + 0.5)"),
                f"{_short(self.seg(node))} -> half away from zero",
            )
        elif (
            (is_np or name.startswith("math."))
            and last in {"floor", "ceil"}
            and len(node.args) == 1
        ):
            x, other = args[0], "ceil" if last == "floor" else "floor"
            mod = _MATH if name.startswith("math.") else _NP
            self.add(
                "rounding",
                f"{last}->{other}",
                node,
                f"{mod}.{other}({x})",
                f"{_short(self.seg(node))} -> {other}({_short(x)})",
            )
            self.add(
                "rounding",
                f"{last}->round",
                node,
                f"int(round({x}))" if mod == _MATH else f"{_NP}.round({x})",
                f"{_short(self.seg(node))} -> round({_short(x)})",
            )
        # off-by-one: range bounds
        if name == "range" and 1 <= len(node.args) <= 3 and not node.keywords:
            if len(node.args) == 1:
                n = args[0]
                self.add("off-by-one", "range(n-1)", node, f"range(({n}) - 1)")
                self.add("off-by-one", "range(1,n)", node, f"range(1, {n})")
                self.add("off-by-one", "range(n+1)", node, f"range(({n}) + 1)")
            else:
                a, b, rest = args[0], args[1], args[2:]
                tail = "".join(f", {r}" for r in rest)
                self.add("off-by-one", "stop-1", node, f"range({a}, ({b}) - 1{tail})")
                self.add("off-by-one", "start+1", node, f"range(({a}) + 1, {b}{tail})")
                self.add("off-by-one", "stop+1", node, f"range({a}, ({b}) + 1{tail})")
        # axis
        for kw in node.keywords:
            if kw.arg == "axis" and isinstance(kw.value, (ast.Constant, ast.UnaryOp)):
                text = self.seg(kw.value)
                try:
                    value = int(ast.literal_eval(kw.value))
                except (ValueError, TypeError):
                    continue
                new = 1 if value == 0 else 0
                self.add(
                    "axis",
                    f"axis={value}->{new}",
                    kw.value,
                    str(new),
                    f"axis={text} -> axis={new} in {_short(name)}(...)",
                )
                self.add(
                    "axis",
                    "axis-dropped",
                    node,
                    self._without_keyword(node, kw),
                    f"{_short(name)}(..., axis={text}) -> no axis (over every element)",
                )
        if is_np and last == "transpose" and len(node.args) == 1 and not node.keywords:
            self.add(
                "axis",
                "transpose-dropped",
                node,
                f"({args[0]})",
                f"{_short(self.seg(node))} -> {_short(args[0])}",
            )
        # dtype
        if (
            isinstance(node.func, ast.Attribute)
            and node.func.attr == "astype"
            and len(node.args) == 1
        ):
            receiver = self.seg(node.func.value)
            self._dtype(node.args[0], f"astype({_short(args[0])})")
            self.add(
                "dtype",
                "astype-dropped",
                node,
                f"({receiver})",
                f"{_short(self.seg(node))} -> {_short(receiver)} (no astype)",
            )
        for kw in node.keywords:
            if kw.arg == "dtype":
                self._dtype(kw.value, f"dtype={_short(self.seg(kw.value))} in {_short(name)}")
                if node.args:
                    self.add(
                        "dtype",
                        "dtype-dropped",
                        node,
                        self._without_keyword(node, kw),
                        f"{_short(name)}(..., dtype={_short(self.seg(kw.value))}) -> no dtype",
                    )
        if is_np and last == "clip" and len(node.args) == 3:
            self.add(
                "dtype",
                "clip-dropped",
                node,
                f"({args[0]})",
                f"{_short(self.seg(node))} -> {_short(args[0])} (no saturation: overflow)",
            )

    def _without_keyword(self, node: ast.Call, drop: ast.keyword) -> str:
        parts = [self.seg(a) for a in node.args]
        parts += [
            self.seg(k) if k.arg is None else f"{k.arg}={self.seg(k.value)}"
            for k in node.keywords
            if k is not drop
        ]
        return f"{self.seg(node.func)}({', '.join(parts)})"

    def _dtype(self, node: ast.AST, where: str) -> None:
        text = self.seg(node)
        kind = _dtype_name(text)
        if not kind:
            return
        if kind.startswith("float"):
            choices = ["int64"]
        else:
            choices = [_INT_NARROW[kind], _INT_WIDE[kind]]
            if "float" not in choices[1]:
                choices.append("float64")
        for c in choices:
            self.add("dtype", f"{kind}->{c}", node, f"{_NP}.{c}", f"{where}: {kind} -> {c}")

    # -- operators: rounding / dtype (//), missing term (+ -), off-by-one (compare, slice) ----
    def visit_BinOp(self, node: ast.BinOp) -> None:
        if self.mine(node):
            a, b = self.seg(node.left), self.seg(node.right)
            if isinstance(node.op, (ast.Add, ast.Sub)):
                sign = "+" if isinstance(node.op, ast.Add) else "-"
                self.add(
                    "missing",
                    "drop-right",
                    node,
                    f"({a})",
                    f"{_short(a)} {sign} {_short(b)} -> {_short(a)}",
                )
                left = f"({b})" if sign == "+" else f"(-({b}))"
                self.add(
                    "missing",
                    "drop-left",
                    node,
                    left,
                    f"{_short(a)} {sign} {_short(b)} -> {'' if sign == '+' else '-'}{_short(b)}",
                )
            elif isinstance(node.op, ast.FloorDiv):
                if self._is_ceil_div(node):
                    inner = node.left.operand  # type: ignore[attr-defined]
                    num, den = self.seg(inner), self.seg(node.right)
                    self.add(
                        "rounding",
                        "ceildiv->floordiv",
                        node.parent_neg,  # type: ignore[attr-defined]
                        f"(({num}) // ({den}))",
                        f"-(-{_short(num)} // {_short(den)}) -> floor division",
                    )
                else:
                    self.add(
                        "rounding",
                        "floordiv->ceildiv",
                        node,
                        f"(-(-({a}) // ({b})))",
                        f"{_short(a)} // {_short(b)} -> ceil division",
                    )
                    self.add(
                        "dtype",
                        "floordiv->truediv",
                        node,
                        f"(({a}) / ({b}))",
                        f"{_short(a)} // {_short(b)} -> {_short(a)} / {_short(b)}",
                    )
        self.generic_visit(node)

    @staticmethod
    def _is_ceil_div(node: ast.BinOp) -> bool:
        return (
            isinstance(node.left, ast.UnaryOp)
            and isinstance(node.left.op, ast.USub)
            and hasattr(node, "parent_neg")
        )

    def visit_UnaryOp(self, node: ast.UnaryOp) -> None:
        # -(-a // b): mark the floor division so it mutates as a ceil division
        op = node.operand
        if (
            isinstance(node.op, ast.USub)
            and isinstance(op, ast.BinOp)
            and isinstance(op.op, ast.FloorDiv)
            and isinstance(op.left, ast.UnaryOp)
            and isinstance(op.left.op, ast.USub)
        ):
            op.parent_neg = node  # type: ignore[attr-defined]
            self.visit_BinOp(op)
            return
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if self.mine(node) and isinstance(node.op, (ast.Add, ast.Sub)):
            self.add(
                "missing",
                "aug-dropped",
                node,
                "pass",
                f"{_short(self.seg(node))} -> (line dropped)",
            )
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        swap = {
            ast.Lt: ("<", "<="),
            ast.LtE: ("<=", "<"),
            ast.Gt: (">", ">="),
            ast.GtE: (">=", ">"),
        }
        if self.mine(node):
            texts = [self.seg(node.left)] + [self.seg(c) for c in node.comparators]
            symbols = {
                ast.Eq: "==",
                ast.NotEq: "!=",
                ast.Is: "is",
                ast.IsNot: "is not",
                ast.In: "in",
                ast.NotIn: "not in",
                **{k: v[0] for k, v in swap.items()},
            }
            ops = [symbols[type(o)] for o in node.ops]
            for k, o in enumerate(node.ops):
                if type(o) in swap:
                    new_ops = list(ops)
                    new_ops[k] = swap[type(o)][1]
                    pairs = zip(new_ops, texts[1:], strict=True)
                    new = texts[0] + "".join(f" {s} {t}" for s, t in pairs)
                    self.add("off-by-one", f"{ops[k]}->{new_ops[k]}", node, f"({new})")
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if self.mine(node):
            slices = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            for s in slices:
                if isinstance(s, ast.Slice) and s.step is None:
                    if s.upper is not None:
                        u = self.seg(s.upper)
                        self.add(
                            "off-by-one",
                            "slice-stop-1",
                            s.upper,
                            f"({u}) - 1",
                            f"[..:{_short(u)}] -> [..:{_short(u)} - 1]",
                        )
                        self.add(
                            "off-by-one",
                            "slice-stop+1",
                            s.upper,
                            f"({u}) + 1",
                            f"[..:{_short(u)}] -> [..:{_short(u)} + 1]",
                        )
                    if s.lower is not None:
                        lo = self.seg(s.lower)
                        self.add(
                            "off-by-one",
                            "slice-start+1",
                            s.lower,
                            f"({lo}) + 1",
                            f"[{_short(lo)}:..] -> [{_short(lo)} + 1:..]",
                        )
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if self.mine(node) and node.attr == "T":
            v = self.seg(node.value)
            self.add(
                "axis",
                "T-dropped",
                node,
                f"({v})",
                f"{_short(v)}.T -> {_short(v)} (transpose dropped)",
            )
        self.generic_visit(node)


def candidates(source: str) -> list[tuple[str, str, str, str]]:
    """Every generated mutant of ``source`` before bounding: ``(id, category, name, mutated)``.

    Parameters
    ----------
    source : str
        A solution cell's source.

    Returns
    -------
    list of tuple
        In source order; an empty list when the cell does not parse.

    Examples
    --------
    >>> [c[0] for c in candidates("def f(x):\\n    return round(x)")][:2]
    ['rounding:floor(x+0.5)@2:12', 'rounding:trunc@2:12']
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    finder = _Finder(source, _student_lines(source))
    finder.visit(tree)
    lines = source.splitlines(keepends=True)
    starts = _offsets(source)
    out, seen = [], set()
    for e in finder.edits:
        n: Any = e.node  # an expression or statement: it has a position
        start = _char(lines, starts, n.lineno, n.col_offset)
        end = _char(lines, starts, n.end_lineno, n.end_col_offset)
        mutated = source[:start] + e.new + source[end:]
        try:
            compile(mutated, "<mutant>", "exec")
        except SyntaxError:
            continue
        ident = f"{e.category}:{e.op}@{n.lineno}:{n.col_offset + 1}"
        if ident in seen or mutated == source:
            continue
        seen.add(ident)
        out.append((ident, e.category, f"{e.category}: {e.shown} (line {n.lineno})", mutated))
    return out


def equivalent_declared(meta: dict, where: str = "cell") -> dict[str, str]:
    """``metadata.npulab.equivalent`` of a cell as ``{mutant id: reason}``.

    Raises
    ------
    ValueError
        When an entry is not a ``[id, reason]`` pair with a non-empty reason.
    """
    declared = {}
    for entry in meta.get("equivalent", []) or []:
        if not (isinstance(entry, (list, tuple)) and len(entry) == 2 and str(entry[1]).strip()):
            raise ValueError(
                f"{where}: an 'equivalent' entry is [mutant id, reason]; got {entry!r}"
            )
        declared[str(entry[0])] = str(entry[1])
    return declared


def generate(
    source: str,
    grade_id: str,
    *,
    equivalent: dict[str, str] | None = None,
    seed: int = 0,
    per_category: int = PER_CATEGORY,
    where: str = "cell",
) -> tuple[list[Generated], list[Generated]]:
    """The bounded generated mutants of one solution cell.

    Parameters
    ----------
    source : str
        The solution cell's source.
    grade_id : str
        The cell's ``grade_id`` (part of the draw's seed).
    equivalent : dict, optional
        Declared equivalent mutants ``{id: reason}`` (:func:`equivalent_declared`).
    seed : int, default 0
        Seed of the reproducible draw.
    per_category : int, default :data:`PER_CATEGORY`
        At most this many mutants per category are kept (``<= 0``: all of them).
    where : str
        Names the cell in errors.

    Returns
    -------
    (kept, equivalent) : tuple of list of Generated
        The mutants to run, in category then source order, and the declared equivalent ones.

    Raises
    ------
    ValueError
        When a declared equivalent id is not a mutant of the cell (a stale declaration).
    """
    equivalent = equivalent or {}
    every = [Generated(*c) for c in candidates(source)]
    ids = {g.id for g in every}
    stale = sorted(set(equivalent) - ids)
    if stale:
        raise ValueError(
            f"{where}: declared equivalent mutant(s) not generated from the cell: "
            f"{', '.join(stale)}"
        )
    kept, same = [], [g for g in every if g.id in equivalent]
    for category in CATEGORIES:
        pool = [g for g in every if g.category == category and g.id not in equivalent]
        if 0 < per_category < len(pool):
            rng = random.Random(f"{seed}:{grade_id}:{category}")
            chosen = set(rng.sample(range(len(pool)), per_category))
            pool = [g for k, g in enumerate(pool) if k in chosen]
        kept.extend(pool)
    return kept, same
