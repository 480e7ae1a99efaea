"""The layering rules of ARCHITECTURE.md, checked on the source with :mod:`ast` (nothing is imported).

Data flows one way: inputs (``npulab.workloads``, ``npulab.hw``) -> engines (``systolic``,
``pim``, ``snn``, ``tiling``, ``gpu``) -> ``perf`` (registry, scoring, scorecard) -> apps
(``cli``, ``grading``, notebooks).  Checked here:

* no import cycle between any two modules of ``npulab`` (every ``import`` statement counts,
  also those inside functions: a deferred import hides a cycle, it does not remove it);
* the inputs import no engine, no ``perf`` and no app;
* an engine imports no other engine, and from ``perf`` only leaf modules (``perf`` modules
  that import no engine, e.g. ``npulab.perf.report``);
* no module imports a ``_private`` name from another npulab module.

An import edge goes to the most specific module named (``from npulab.perf.report import
Report`` is an edge to ``npulab.perf.report``); the implicit import of parent packages is not
an edge, which is why ``npulab/perf/__init__.py`` loads its engine-running parts on first use.
"""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "npulab"
INPUTS = ("npulab.workloads", "npulab.hw")
ENGINES = ("npulab.systolic", "npulab.pim", "npulab.snn", "npulab.tiling", "npulab.gpu")
APPS = ("npulab.cli", "npulab.grading")
#: Packages exempt from the cycle and private-name checks (none: every package is checked).
PENDING = ()


def _modules() -> dict:
    mods = {}
    for p in PACKAGE.rglob("*.py"):
        parts = list(p.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = p
    return mods


MODULES = _modules()


def _resolve(name: str):
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str) -> list[tuple[str, str]]:
    """``(target module, imported name)`` of every npulab import in ``module``."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(_resolve(a.name), "") for a in node.names if a.name.split(".")[0] == "npulab"]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            if base.split(".")[0] != "npulab":
                continue
            for a in node.names:
                full = f"{base}.{a.name}"
                out.append((full, "") if full in MODULES else (_resolve(base), a.name))
    return [(t, n) for t, n in out if t and t != module]


GRAPH = {m: {t for t, _ in _imports(m)} for m in MODULES}


def _within(module: str, packages) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def _cycles(graph: dict) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in graph:
                    continue
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def _reaches_engine(module: str, seen=None) -> bool:
    seen = set() if seen is None else seen
    for t in GRAPH.get(module, ()):
        if t in seen:
            continue
        seen.add(t)
        if _within(t, ENGINES) or _reaches_engine(t, seen):
            return True
    return False


def test_the_checker_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    graph = {m: {t for t in ts if not _within(t, PENDING)} for m, ts in GRAPH.items()
             if not _within(m, PENDING)}
    assert _cycles(graph) == []


def test_inputs_import_no_engine_perf_or_app():
    bad = [(m, t) for m in MODULES if _within(m, INPUTS) for t in GRAPH[m]
           if _within(t, ENGINES + APPS + ("npulab.perf",))]
    assert bad == []


def test_engines_import_no_other_engine_and_only_leaf_perf_modules():
    bad = []
    for m in MODULES:
        own = next((e for e in ENGINES if _within(m, (e,))), None)
        if own is None:
            continue
        for t in GRAPH[m]:
            if _within(t, ENGINES) and not _within(t, (own,)):
                bad.append((m, t, "another engine"))
            elif _within(t, ("npulab.perf",)) and (t == "npulab.perf" or _reaches_engine(t)):
                bad.append((m, t, "a perf module that runs engines"))
            elif _within(t, APPS):
                bad.append((m, t, "an app"))
    assert bad == []


def test_no_private_name_is_imported_across_modules():
    bad = [(m, t, n) for m in MODULES for t, n in _imports(m)
           if n.startswith("_") and not n.startswith("__") and not _within(m, PENDING)]
    assert bad == []


def test_report_is_a_leaf_module():
    """Every engine imports Report: it may import nothing from npulab but the validation helpers."""
    assert GRAPH["npulab.perf.report"] <= {"npulab._validate"}
    assert GRAPH["npulab.perf.roofline"] <= {"npulab._validate", "npulab.perf.report", "npulab.hw.energy"}


def test_sparse_is_a_shared_library_at_the_input_level():
    """``npulab.sparse`` (like ``npulab.quant``) imports nothing from npulab but itself and the
    validation helpers: any engine may use it."""
    bad = [(m, t) for m in MODULES if _within(m, ("npulab.sparse",)) for t in GRAPH[m]
           if not _within(t, ("npulab.sparse", "npulab._validate"))]
    assert bad == []
