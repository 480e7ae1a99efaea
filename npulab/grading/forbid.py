"""Exercises that must be built: what an exercise's answer may not use (issue 24 item 1).

A graded solution cell declares in its metadata what the student's answer may not use::

    "npulab": {"forbid": {"imports": ["npulab.quant"],
                          "calls": ["npulab.systolic.emulate", "np.matmul", ".dot"],
                          "operators": ["@"],
                          "reason": "write the encoder yourself",
                          "reason_ko": "인코더를 직접 작성하세요"}}

``imports``
    module prefixes: the module and everything under it (``npulab.quant`` covers
    ``npulab.quant.fp8``), by any import form or attribute path.
``calls``
    dotted names of functions or classes (``np.`` means ``numpy.``); a name starting with a
    dot (``.dot``) is a method of that name on any object (``x.dot(y)``).
``operators``
    ``"@"`` (matrix product: ``a @ b``, ``a @= b``, ``__matmul__``, ``operator.matmul``).
``reason``, ``reason_ko``
    one line shown to the student after the rule it broke (English, Korean).

Both ``npulab check`` and ``npulab grade`` enforce it, in two independent layers:

1. **A static check** (trusted side, :func:`check_answer`) of the answer cell's syntax tree
   before it runs.  Aliases are resolved (``import npulab.quant as q; q.f()``, ``from
   npulab.quant import fp8``, ``from npulab import quant``), constant ``getattr``,
   ``__import__`` and ``importlib.import_module`` are read as the attribute or import they
   spell, and anything that could hide a forbidden name from this reading (``getattr`` with a
   computed name on a module that leads to one, ``__import__`` or ``import_module`` of a
   computed name, ``eval``, ``exec``, ``compile``, ``sys.modules``, ``sys.setprofile``,
   ``sys.settrace``, ``sys.meta_path``, ``builtins``) is itself a violation.  Re-exports are
   caught: a name that resolves to a forbidden object, or to a function defined in a forbidden
   module, is forbidden whatever path reaches it.  The check follows, by name and
   transitively, the functions, classes and assignments the answer uses that the student
   defined in EARLIER cells (a helper in another cell is checked as if it were in the answer).
2. **A run-time guard** in the student's process (:class:`RuntimeGuard`, used by
   :mod:`npulab.grading.driver`) while the answer cell runs AND while any test of that
   exercise calls a notebook function: importing a forbidden module fails (a meta path finder
   for modules not loaded yet, ``__import__`` and ``importlib.import_module`` for loaded ones),
   and a profiler refuses any Python code of a forbidden module, any forbidden Python
   function or class method, and any forbidden built-in function or method, however it was
   reached (a helper in a later cell, an object captured earlier, a computed name).

What is NOT covered at run time, and why the static check is the line there: numpy ufuncs and
array-function dispatchers (``np.matmul``, ``np.dot``) and the ``@`` operator do not pass
through Python's profiler; they are caught only where the static check sees them (the answer
and the helpers it reaches by name).  The guard runs inside the student's process: code that
takes it apart (``sys.setprofile``) is refused by the static check, and a guard found switched
off after a call counts as a violation, but a determined attack on the student side is the
sandbox's business, not this module's: the guard makes a library shortcut fail loudly, it does
not prove the absence of one.  Rules of exercise ``N`` apply to every notebook function a test
of exercise ``N`` calls.

A violating answer earns 0 for every test of its exercise, with one line naming what it used
(:meth:`Violation.message`).  Which tests belong to which exercise: every graded test cell
belongs to the nearest solution code cell above it (:func:`exercise_of_tests`).
"""

from __future__ import annotations

import ast
import builtins
import importlib
import importlib.util
import os
import sys
import threading
from dataclasses import dataclass, field

__all__ = [
    "Forbid",
    "Violation",
    "ForbiddenUse",
    "ForbidPlan",
    "RuntimeGuard",
    "spec_of",
    "check_answer",
    "check_notebook",
    "exercise_of_tests",
    "plan_of",
    "OPERATORS",
    "ALIASES",
    "TAMPER",
]

#: Operators an exercise may forbid -> the attribute names that spell them.
OPERATORS = {
    "@": (
        "__matmul__",
        "__rmatmul__",
        "__imatmul__",
        "operator.matmul",
        "operator.imatmul",
        "operator.__matmul__",
        "operator.__imatmul__",
    )
}
#: Conventional aliases a spec may use: ``np.matmul`` means ``numpy.matmul``.
ALIASES = {"np": "numpy"}
#: Names that could hide a forbidden call from the static check or switch the guard off;
#: an answer of an exercise with a forbid rule may not use them.
TAMPER = (
    "eval",
    "exec",
    "compile",
    "__import__",
    "importlib",
    "sys.modules",
    "sys.setprofile",
    "sys.settrace",
    "sys.meta_path",
    "sys.path_hooks",
    "sys.monitoring",
    "threading.setprofile",
    "builtins",
    "__builtins__",
    "gc.get_objects",
    "gc.get_referents",
)
_KEYS = ("imports", "calls", "operators", "reason", "reason_ko")


class ForbiddenUse(ImportError):
    """Raised in the student's process when the answer uses what its exercise forbids."""


# --------------------------------------------------------------------------- the rule


@dataclass(frozen=True)
class Forbid:
    """What one exercise's answer may not use (see the module docstring).

    Attributes
    ----------
    imports : tuple of str
        Module prefixes (``npulab.quant``).
    calls : tuple of str
        Dotted names of functions or classes; ``.name`` is a method on any object.
    operators : tuple of str
        Operators, from :data:`OPERATORS`.
    reason, reason_ko : str
        One line for the student (English; Korean, optional).

    Examples
    --------
    >>> f = Forbid.from_meta({"imports": ["npulab.quant"], "calls": ["np.matmul"]})
    >>> f.calls, f.rule_for("npulab.quant.fp8.fp8_encode")
    (('numpy.matmul',), ('import', 'npulab.quant'))
    """

    imports: tuple[str, ...] = ()
    calls: tuple[str, ...] = ()
    operators: tuple[str, ...] = ()
    reason: str = ""
    reason_ko: str = ""

    @classmethod
    def from_meta(cls, value) -> "Forbid":
        """Read and check a ``metadata.npulab.forbid`` dict (one-line ``ValueError`` if bad)."""
        if not isinstance(value, dict):
            raise ValueError(f"npulab.forbid must be a dict; got {type(value).__name__}")
        unknown = sorted(set(value) - set(_KEYS))
        if unknown:
            raise ValueError(
                f"npulab.forbid has unknown key {unknown[0]!r}; known: {', '.join(_KEYS)}"
            )
        lists = {}
        for key in ("imports", "calls", "operators"):
            items = value.get(key, [])
            if not isinstance(items, (list, tuple)) or not all(
                isinstance(i, str) and i.strip() for i in items
            ):
                raise ValueError(
                    f"npulab.forbid.{key} must be a list of non-empty strings; got {items!r}"
                )
            lists[key] = tuple(i.strip() for i in items)
        for op in lists["operators"]:
            if op not in OPERATORS:
                raise ValueError(
                    f"npulab.forbid.operators: unknown operator {op!r}; "
                    f"known: {', '.join(OPERATORS)}"
                )
        for key in ("reason", "reason_ko"):
            if not isinstance(value.get(key, ""), str):
                raise ValueError(f"npulab.forbid.{key} must be a string; got {value.get(key)!r}")
        return cls(
            imports=tuple(_canonical(i) for i in lists["imports"]),
            calls=tuple(i if i.startswith(".") else _canonical(i) for i in lists["calls"]),
            operators=lists["operators"],
            reason=" ".join(str(value.get("reason", "")).split()),
            reason_ko=" ".join(str(value.get("reason_ko", "")).split()),
        )

    def to_wire(self) -> dict:
        """The rule as plain data (what the driver's :class:`RuntimeGuard` reads)."""
        return {
            "imports": list(self.imports),
            "calls": list(self.calls),
            "operators": list(self.operators),
        }

    def rule_for(self, dotted: str) -> tuple[str, str] | None:
        """``(kind, rule)`` when the dotted name ``dotted`` is forbidden by its spelling, else None.

        ``kind`` is ``"import"`` or ``"call"``; ``rule`` the spec entry it breaks.
        """
        dotted = _canonical(dotted)
        for prefix in self.imports:
            if dotted == prefix or dotted.startswith(prefix + "."):
                return "import", prefix
        for name in self.calls:
            if name.startswith("."):
                if dotted.endswith(name):
                    return "call", name
            elif dotted == name or dotted.startswith(name + "."):
                return "call", name
        return None

    @property
    def roots(self) -> set[str]:
        """Top-level packages the rule names (``npulab``, ``numpy``)."""
        return {n.split(".")[0] for n in (*self.imports, *self.calls) if not n.startswith(".")}


def _canonical(dotted: str) -> str:
    head, _, rest = dotted.partition(".")
    head = ALIASES.get(head, head)
    return f"{head}.{rest}" if rest else head


def spec_of(cell) -> Forbid | None:
    """The cell's ``metadata.npulab.forbid`` as a :class:`Forbid` (None when it has none)."""
    value = (cell.get("metadata", {}).get("npulab") or {}).get("forbid")
    return None if value is None else Forbid.from_meta(value)


@dataclass(frozen=True)
class Violation:
    """One use of something an exercise forbids.

    ``kind`` is ``"import"``, ``"call"``, ``"operator"``, ``"dynamic"`` (a construct that could
    hide a forbidden name) or ``"guard"`` (the run-time guard was switched off); ``name`` what
    was used, as the student wrote it or as the guard saw it; ``line`` its line in the checked
    cell (None at run time or in a helper).
    """

    kind: str
    name: str
    line: int | None = None

    def message(self, exercise, forbid: Forbid | None = None, lang=None) -> str:
        """One line for the student: ``Exercise 3 may not call X: <reason>`` (EN or KO)."""
        from npulab.i18n.messages import resolve_lang, t

        lang = resolve_lang(lang)
        text = t(f"forbid_{self.kind}", lang, exercise=exercise, name=self.name)
        reason = (
            "" if forbid is None else ((forbid.reason_ko if lang == "ko" else "") or forbid.reason)
        )
        return f"{text}: {reason}" if reason else text

    def to_wire(self) -> dict:
        """As plain data (the driver's reply)."""
        return {"kind": self.kind, "name": self.name}

    @classmethod
    def from_wire(cls, value) -> "Violation | None":
        """Read a driver's report (untrusted): None unless a dict of short strings."""
        if not isinstance(value, dict):
            return None
        kind, name = value.get("kind"), value.get("name")
        if kind not in ("import", "call", "operator", "dynamic", "guard") or not isinstance(
            name, str
        ):
            return None
        name = "".join(ch for ch in name[:200] if ch.isprintable())
        return cls(str(kind), name)


# --------------------------------------------------------------------------- static check


class _Checker:
    """Walks syntax trees; resolves names to dotted paths (flow-insensitive: every binding a
    name has anywhere in the checked code counts)."""

    def __init__(self, forbid: Forbid, aliases: dict[str, set[str]], helpers: dict[str, list]):
        self.forbid, self.helpers = forbid, helpers
        self.outer = aliases  # name -> dotted paths, from the imports of earlier cells
        self.resolved: dict[str, object] = {}
        self.targets = self._targets()

    # -- what the rule names, as objects (re-exports reach the same object)
    def _targets(self) -> dict[int, str]:
        found = {}
        for name in self.forbid.calls:
            if not name.startswith("."):
                obj = self._resolve(name)
                if obj is not None:
                    found[id(obj)] = name
        return found

    def _resolve(self, dotted: str):
        """The object ``dotted`` names, importing only packages the rule names (trusted code)."""
        if dotted in self.resolved:
            return self.resolved[dotted]
        obj = None
        if dotted.split(".")[0] in self.forbid.roots:
            obj = _lookup(dotted)
        self.resolved[dotted] = obj
        return obj

    def rule_for(self, dotted: str) -> tuple[str, str] | None:
        hit = self.forbid.rule_for(dotted)
        if hit is not None:
            return hit
        obj = self._resolve(_canonical(dotted))
        if obj is None:
            return None
        if id(obj) in self.targets:
            return "call", self.targets[id(obj)]
        home = obj.__name__ if isinstance(obj, type(os)) else getattr(obj, "__module__", None)
        if isinstance(home, str):
            for prefix in self.forbid.imports:
                if home == prefix or home.startswith(prefix + "."):
                    return "import", prefix
        return None

    def check(self, tree: ast.AST) -> Violation | None:
        """The first violation in ``tree`` and the helpers it reaches, or None."""
        queue: list[ast.AST] = [tree]
        seen: set[str] = set()
        while queue:
            node = queue.pop(0)
            found = self._check_one(node, queue, seen)
            if found is not None:
                return found
        return None

    def _check_one(self, tree, queue, seen) -> Violation | None:
        local = _bindings(tree)
        for node in ast.walk(tree):
            found = self._node(node, local)
            if found is not None:
                return found
            if (
                isinstance(node, ast.Name)
                and isinstance(node.ctx, ast.Load)
                and node.id not in local["other"]
                and node.id not in local["imports"]
                and node.id in self.helpers
                and node.id not in seen
            ):
                seen.add(node.id)
                queue.extend(self.helpers[node.id])
        return None

    def _node(self, node, local) -> Violation | None:
        line = getattr(node, "lineno", None)
        if (
            isinstance(node, (ast.BinOp, ast.AugAssign))
            and isinstance(node.op, ast.MatMult)
            and "@" in self.forbid.operators
        ):
            return Violation("operator", "@", line)
        if isinstance(node, ast.Import):
            for alias in node.names:
                hit = self.rule_for(alias.name)
                if hit:
                    return Violation(hit[0], alias.name, line)
                if alias.name.split(".")[0] in ("importlib", "builtins"):
                    return Violation("dynamic", alias.name, line)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = node.module if alias.name == "*" else f"{node.module}.{alias.name}"
                hit = self.rule_for(node.module) or self.rule_for(full)
                if hit:
                    return Violation(hit[0], full, line)
                if node.module.split(".")[0] in ("importlib", "builtins"):
                    return Violation("dynamic", full, line)
        elif isinstance(node, ast.Call):
            return self._call(node, local, line)
        elif isinstance(node, (ast.Attribute, ast.Name, ast.Subscript)):
            return self._reference(node, local, line)
        return None

    def _call(self, node: ast.Call, local, line) -> Violation | None:
        names = self.dotted(node.func, local)
        args = node.args
        if names & {"getattr", "builtins.getattr"} and len(args) >= 2:
            return self._getattr(args, local, line)
        if names & {"__import__", "importlib.import_module", "importlib.__import__"}:
            const = _constant_str(args[0]) if args else None
            if const is None:
                return Violation("dynamic", sorted(names)[0], line)
            hit = self.rule_for(const)
            if hit:
                return Violation(hit[0], const, line)
        if names & {"vars"} and args:
            for base in self.dotted(args[0], local):
                if any(r.startswith(base + ".") for r in self._rule_paths()):
                    return Violation("dynamic", f"vars({base})", line)
        return None

    def _getattr(self, args, local, line) -> Violation | None:
        """``getattr(obj, "name")`` is ``obj.name``; a computed name on a module that leads to
        a forbidden one is a violation of its own."""
        attr = _constant_str(args[1])
        for base in self.dotted(args[0], local):
            if attr is None:
                if any(r == base or r.startswith(base + ".") for r in self._rule_paths()):
                    return Violation("dynamic", f"getattr({base}, ...)", line)
                continue
            found = self._use(f"{base}.{attr}", line)
            if found:
                return found
        if attr is not None and "." + attr in self.forbid.calls:
            return Violation("call", "." + attr, line)
        return None

    def _rule_paths(self):
        return [n for n in (*self.forbid.imports, *self.forbid.calls) if not n.startswith(".")]

    def _reference(self, node, local, line) -> Violation | None:
        if isinstance(node, ast.Subscript):  # sys.modules["x"], module.__dict__["x"]
            key = node.slice.value if isinstance(node.slice, ast.Constant) else None
            for base in self.dotted(node.value, local):
                if base.endswith(".__dict__") and isinstance(key, str):
                    found = self._use(f"{base[: -len('.__dict__')]}.{key}", line)
                    if found:
                        return found
            return None
        for dotted in self.dotted(node, local):
            found = self._use(dotted, line)
            if found:
                return found
        if isinstance(node, ast.Attribute):
            if "@" in self.forbid.operators and node.attr in OPERATORS["@"]:
                return Violation("operator", "@", line)
            if "." + node.attr in self.forbid.calls:
                return Violation("call", "." + node.attr, line)
        return None

    def _use(self, dotted: str, line) -> Violation | None:
        if "@" in self.forbid.operators and dotted in OPERATORS["@"]:
            return Violation("operator", "@", line)
        for name in TAMPER:
            if dotted == name or dotted.startswith(name + "."):
                return Violation("dynamic", name, line)
        hit = self.rule_for(dotted)
        if hit is None:
            return None
        obj = self._resolve(_canonical(dotted)) if hit[0] == "import" else None
        kind = "call" if callable(obj) and not isinstance(obj, type(os)) else hit[0]
        return Violation(kind, dotted, line)

    def dotted(self, node, local) -> set[str]:
        """Every dotted path ``node`` (a name or an attribute chain) may stand for."""
        if isinstance(node, ast.Name):
            if node.id in local.get("imports", {}):
                return set(local["imports"][node.id])
            if node.id in local.get("other", set()):
                return set()
            return set(self.outer.get(node.id, {node.id}))
        if isinstance(node, ast.Attribute):
            return {f"{base}.{node.attr}" for base in self.dotted(node.value, local)}
        if isinstance(node, ast.Call):  # __import__("a.b").b, importlib.import_module("a.b").c
            names = self.dotted(node.func, local)
            if (
                names & {"__import__", "importlib.import_module"}
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                mod = node.args[0].value
                return {mod if "importlib.import_module" in names else mod.split(".")[0]}
        return set()


def _constant_str(node) -> str | None:
    """The value of a string literal node, else None."""
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _bindings(tree) -> dict:
    """Names ``tree`` binds: ``imports`` (name -> dotted paths) and ``other`` (defs, assignments,
    arguments: these shadow the earlier cells' imports)."""
    imports: dict[str, set[str]] = {}
    other: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    imports.setdefault(alias.asname, set()).add(alias.name)
                else:
                    top = alias.name.split(".")[0]
                    imports.setdefault(top, set()).add(top)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                if alias.name != "*":
                    imports.setdefault(alias.asname or alias.name, set()).add(
                        f"{node.module}.{alias.name}"
                    )
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            other.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            other.add(node.name)
        elif isinstance(node, ast.arg):
            other.add(node.arg)
    return {"imports": imports, "other": other - set(imports)}


def _lookup(dotted: str):
    """Import the longest module prefix of ``dotted``, then get the rest as attributes.

    None when there is no such object.
    """
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except Exception:  # not a module (or it fails to import): try a shorter prefix
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except Exception:
            return None
        return obj
    return None


def check_answer(
    source: str, forbid: Forbid, *, aliases: dict | None = None, helpers: dict | None = None
) -> Violation | None:
    """The first thing ``source`` (an answer cell) uses that ``forbid`` forbids, or None.

    Parameters
    ----------
    source : str
        The answer cell's text (IPython magics and ``!`` lines are ignored).
    forbid : Forbid
        The exercise's rule.
    aliases : dict, optional
        name -> set of dotted paths bound by earlier cells' imports (``{"np": {"numpy"}}``).
    helpers : dict, optional
        name -> list of syntax trees (``def``/``class``/assignments of earlier student cells);
        those the answer uses are checked too, transitively.

    Returns
    -------
    Violation or None
        A cell that does not parse is None here (its run fails on its own).

    Examples
    --------
    >>> rule = Forbid.from_meta({"imports": ["npulab.quant"], "operators": ["@"]})
    >>> check_answer("import npulab.quant as q\\ny = q.encode(1)", rule).name
    'npulab.quant'
    >>> check_answer("def f(a, b):\\n    return a @ b", rule).kind
    'operator'
    >>> check_answer("def f(a, b):\\n    return sum(x * y for x, y in zip(a, b))", rule) is None
    True
    """
    try:
        tree = ast.parse(_python_only(source))
    except SyntaxError:
        return None
    return _Checker(forbid, aliases or {}, helpers or {}).check(tree)


def _python_only(source: str) -> str:
    """``source`` without IPython-only lines (``%magic``, ``!cmd``): what ``ast`` can read."""
    return "\n".join(
        "" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()
    )


def check_notebook(nb, answer_index: int, forbid: Forbid, *, skip=()) -> Violation | None:
    """:func:`check_answer` for cell ``answer_index`` of ``nb``, with the aliases and helpers of
    the code cells above it (cells in ``skip``, e.g. the trusted test cells, are not read)."""
    aliases: dict[str, set[str]] = {}
    helpers: dict[str, list] = {}
    skip = set(skip)
    for index, cell in enumerate(nb.cells[:answer_index]):
        if cell.cell_type != "code" or index in skip:
            continue
        try:
            body = ast.parse(_python_only(cell.source)).body
        except SyntaxError:
            continue
        for stmt in body:
            for name, paths in (
                _bindings(stmt)["imports"].items()
                if isinstance(stmt, (ast.Import, ast.ImportFrom))
                else ()
            ):
                aliases[name] = paths  # a later import of the name replaces an earlier one
            for name in _defined(stmt):
                helpers.setdefault(name, []).append(stmt)
    return check_answer(nb.cells[answer_index].source, forbid, aliases=aliases, helpers=helpers)


def _defined(stmt) -> list[str]:
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [stmt.name]
    if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        return [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
    return []


# --------------------------------------------------------------------------- the plan


def exercise_of_tests(nb, tests=None) -> dict[int, int]:
    """Test cell index -> index of the solution code cell it belongs to (the nearest above it)."""
    from npulab.grading.outcome import is_test_cell
    from npulab.grading.release import is_solution_code_cell

    tests = {i for i, c in enumerate(nb.cells) if is_test_cell(c)} if tests is None else set(tests)
    found, answer = {}, None
    for index, cell in enumerate(nb.cells):
        if is_solution_code_cell(cell):
            answer = index
        elif index in tests and answer is not None:
            found[index] = answer
    return found


@dataclass
class ForbidPlan:
    """The forbid rules of a notebook, by ``grade_id`` (read from the instructor's notebook when
    grading: a student cannot drop a rule by editing metadata).

    ``answers``: answer grade_id -> (exercise number, :class:`Forbid`); ``tests``: test grade_id
    -> answer grade_id.  ``violations`` collects what a run found: answer grade_id ->
    :class:`Violation` (the first one).
    """

    answers: dict = field(default_factory=dict)
    tests: dict = field(default_factory=dict)
    violations: dict = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.answers)

    def rule_of_test(self, test_gid) -> tuple[str, Forbid] | None:
        """``(answer grade_id, Forbid)`` for a test's exercise, or None."""
        answer = self.tests.get(test_gid)
        if answer is None or answer not in self.answers:
            return None
        return str(answer), self.answers[answer][1]

    def record(self, answer_gid: str, violation: Violation | None) -> None:
        """Keep the first violation of an exercise."""
        if violation is not None and answer_gid not in self.violations:
            self.violations[answer_gid] = violation

    def message(self, answer_gid: str, lang=None) -> str:
        """The student's line for the exercise's violation."""
        number, forbid = self.answers[answer_gid]
        return self.violations[answer_gid].message(number, forbid, lang)

    def fresh(self) -> "ForbidPlan":
        """The same rules, no violations (one per run)."""
        return ForbidPlan(dict(self.answers), dict(self.tests))


def plan_of(nb) -> ForbidPlan:
    """The :class:`ForbidPlan` of a notebook (its solution cells' rules; exercise numbers as
    :func:`npulab.grading.release.exercise_numbers` counts them).  A bad rule is a one-line
    ``ValueError`` naming the cell."""
    from npulab.grading.release import exercise_numbers, nbgrader_meta

    plan = ForbidPlan()
    numbers = exercise_numbers(nb)
    for index, number in numbers.items():
        cell = nb.cells[index]
        gid = nbgrader_meta(cell).get("grade_id")
        try:
            rule = spec_of(cell)
        except ValueError as err:
            raise ValueError(f"cell {gid or index + 1}: {err}") from None
        if rule is not None and gid:
            plan.answers[str(gid)] = (number, rule)
    for test, answer in exercise_of_tests(nb).items():
        test_gid = nbgrader_meta(nb.cells[test]).get("grade_id")
        answer_gid = nbgrader_meta(nb.cells[answer]).get("grade_id")
        if test_gid and answer_gid and str(answer_gid) in plan.answers:
            plan.tests[str(test_gid)] = str(answer_gid)
    return plan


# --------------------------------------------------------------------------- run-time guard


#: The grader's own code (the driver, this guard): never refused, even under a rule on ``npulab``.
_OWN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "")


class _Finder:
    """A meta path finder that refuses forbidden modules not loaded yet."""

    def __init__(self, guard: "RuntimeGuard"):
        self.guard = guard

    def find_spec(self, name, path=None, target=None):
        self.guard.check_import(name)
        return None


class RuntimeGuard:
    """The student side's half of the rule (see the module docstring); used by the driver.

    ``with guard.active(rule):`` around running an answer cell or calling a notebook function
    for a test of that exercise; afterwards :attr:`violation` is the first thing refused (plain
    data, or None).  ``rule`` is :meth:`Forbid.to_wire` data (None: no guard, no cost).
    """

    def __init__(self) -> None:
        self.violation: dict | None = None
        self._cache: dict[tuple, tuple] = {}

    def _compile(self, rule: dict) -> tuple:
        key = (tuple(rule.get("imports", ())), tuple(rule.get("calls", ())))
        if key in self._cache:
            return self._cache[key]
        imports, calls = key
        prefixes: list[str] = []  # files and folders of forbidden modules
        for name in imports:
            try:
                spec = importlib.util.find_spec(name)
            except (ImportError, ValueError):
                spec = None
            if spec is None:
                continue
            if spec.submodule_search_locations:
                prefixes.extend(os.path.join(p, "") for p in spec.submodule_search_locations)
            elif spec.origin:
                prefixes.append(spec.origin)
        codes, objects, methods = {}, {}, {}
        for name in calls:
            if name.startswith("."):
                methods[name[1:]] = name
                continue
            # only what is loaded: never import a heavy package (torch) just to watch for it; a
            # package imported later by the answer is the static check's (a direct mention)
            obj = _lookup(name) if name.split(".")[0] in sys.modules else None
            if obj is None:
                continue
            objects[id(obj)] = (obj, name)  # the object is kept: its id stays unique
            for fn in [obj, *(vars(obj).values() if isinstance(obj, type) else ())]:
                fn = getattr(fn, "__func__", fn)
                code = getattr(fn, "__code__", None)
                if code is not None:
                    codes[code] = name
        compiled = (tuple(imports), tuple(prefixes), codes, objects, methods)
        self._cache[key] = compiled
        return compiled

    def check_import(self, name: str) -> None:
        """Refuse ``name`` (raise :class:`ForbiddenUse`) when it is a forbidden module."""
        imports = self._rules[0] if self._rules else ()
        for prefix in imports:
            if name == prefix or name.startswith(prefix + "."):
                self._refuse("import", name)

    def _refuse(self, kind: str, name: str):
        if self.violation is None:
            self.violation = {"kind": kind, "name": name}
        raise ForbiddenUse(f"{name} is not allowed in this exercise")

    _rules: tuple | None = None

    def _profile(self, frame, event, arg):
        rules = self._rules
        if rules is None:
            return
        if event == "call":
            code = frame.f_code
            name = rules[2].get(code)
            if (
                name is None
                and rules[1]
                and code.co_filename.startswith(rules[1])
                and not code.co_filename.startswith(_OWN)
            ):
                name = f"{frame.f_globals.get('__name__', '?')}.{code.co_qualname}"
            if name is not None:
                self._rules = None  # report once; the exception leaves the profiler off
                if self.violation is None:
                    self.violation = {"kind": "call", "name": name}
                raise ForbiddenUse(f"{name} is not allowed in this exercise")
        elif event == "c_call":
            hit = rules[3].get(id(arg))
            name = (
                hit[1]
                if hit is not None and hit[0] is arg
                else rules[4].get(getattr(arg, "__name__", None))
            )
            if name is not None:
                self._rules = None
                if self.violation is None:
                    self.violation = {"kind": "call", "name": name}
                # a profiler cannot stop a C call; the violation is recorded and the run fails
        return None

    def _import(self, name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and self._rules is not None:
            self.check_import(name)
            for item in fromlist or ():
                if isinstance(item, str):
                    self.check_import(f"{name}.{item}")
        return self._saved_import(name, globals, locals, fromlist, level)

    def _import_module(self, name, package=None):
        if self._rules is not None and not str(name).startswith("."):
            self.check_import(str(name))
        return self._saved_import_module(name, package)

    def active(self, rule: dict | None):
        """Context manager: the guard on for ``rule`` (plain data) while the block runs."""
        import contextlib

        if not rule:
            return contextlib.nullcontext()
        return self._activated(rule)

    def _activated(self, rule: dict):
        import contextlib

        @contextlib.contextmanager
        def scope():
            self.violation = None
            rules = self._compile(rule)
            finder = _Finder(self)
            self._saved_import, self._saved_import_module = (
                builtins.__import__,
                importlib.import_module,
            )
            saved_profile, saved_thread_profile = sys.getprofile(), threading.getprofile()
            sys.meta_path.insert(0, finder)
            builtins.__import__ = self._import
            importlib.import_module = self._import_module
            self._rules = rules
            threading.setprofile(self._profile)
            sys.setprofile(self._profile)
            try:
                yield self
            finally:
                switched_off = self._rules is not None and sys.getprofile() != self._profile
                sys.setprofile(saved_profile)
                threading.setprofile(saved_thread_profile)
                self._rules = None
                builtins.__import__ = self._saved_import
                importlib.import_module = self._saved_import_module
                with contextlib.suppress(ValueError):
                    sys.meta_path.remove(finder)
                if switched_off and self.violation is None:
                    self.violation = {"kind": "guard", "name": "sys.setprofile"}

        return scope()
