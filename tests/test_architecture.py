"""The layering rules of ARCHITECTURE.md, checked on the source with :mod:`ast` (nothing is imported).

Data flows one way: inputs (``npulab.workloads``, ``npulab.hw``) -> engines (``systolic``,
``pim``, ``snn``, ``tiling``, ``gpu``) -> ``perf`` (registry, scoring, scorecard) -> apps
(``cli``, ``grading``, notebooks).  Checked here:

* no import cycle between any two modules of ``npulab`` (every ``import`` statement counts,
  also those inside functions: a deferred import hides a cycle, it does not remove it);
* the inputs import no engine, no ``perf`` and no app;
* an engine imports no other engine, and from ``perf`` only leaf modules (``perf`` modules
  that import no engine, e.g. ``npulab.metrics.report``);
* no module imports a ``_private`` name from another npulab module.

An import edge goes to the most specific module named (``from npulab.metrics.report import
Report`` is an edge to ``npulab.metrics.report``); the implicit import of parent packages is not
an edge, which is why ``npulab/perf/__init__.py`` loads its engine-running parts on first use.
"""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "npulab"
INPUTS = ("npulab.workloads", "npulab.hw", "npulab.metrics")
#: Engines no preset kind runs (so the registry cannot name them).
UNREGISTERED_ENGINES = ("npulab.tiling",)
APPS = ("npulab.cli", "npulab.grading", "npulab.__main__")
#: The package's front door: ``npulab.check(...)``, a lab's last cell, runs the self-check
#: app (a deferred import); no library module imports ``npulab`` itself for it.
FRONT_DOOR = "npulab"


def _registered_engines() -> tuple:
    """The package of every function in the engine registry (``npulab.systolic`` ...)."""
    from npulab.perf import engines

    funcs = list(engines.ENGINES.values()) + list(engines.JOB_ENGINES.values())
    mods = {f.__module__ for f in funcs}
    return tuple(sorted({".".join(m.split(".")[:2]) for m in mods}))


ENGINES = _registered_engines() + UNREGISTERED_ENGINES
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


def test_the_engine_list_comes_from_the_registry():
    assert {"npulab.systolic", "npulab.pim", "npulab.snn", "npulab.gpu"} <= set(ENGINES)
    assert all(e in MODULES for e in ENGINES)


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
            elif _within(t, ("npulab.perf",)):
                bad.append((m, t, "perf (orchestration)"))
            elif _within(t, APPS):
                bad.append((m, t, "an app"))
    assert bad == []


def test_library_layers_import_no_app():
    bad = [(m, t) for m in MODULES if not _within(m, APPS) and m != FRONT_DOOR
           for t in GRAPH[m] if _within(t, APPS)]
    assert bad == []
    assert GRAPH[FRONT_DOOR] <= {"npulab.workloads", "npulab.grading.selfcheck"}


def _module_aliases(tree, module: str) -> dict:
    """Local name -> npulab module, for every name in ``tree`` bound to a module by an import."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "npulab":
                    if a.asname:
                        names[a.asname] = a.name
                    else:
                        names["npulab"] = "npulab"
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            for a in node.names:
                if f"{base}.{a.name}" in MODULES:
                    names[a.asname or a.name] = f"{base}.{a.name}"
    return names


def _dotted(node):
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id] + parts[::-1])
    return None


def _private_attribute_uses(module: str) -> list:
    """``(module, target module, name)`` of each ``m._name``, ``m`` another npulab module."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    aliases = _module_aliases(tree, module)
    out = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                and not node.attr.startswith("__")):
            continue
        base = _dotted(node.value)
        if base is None:
            continue
        head, _, rest = base.partition(".")
        if head not in aliases:
            continue
        target = aliases[head] + ("." + rest if rest else "")
        if target in MODULES and target != module:
            out.append((module, target, node.attr))
    return out


def test_the_checker_sees_private_attribute_access(tmp_path, monkeypatch):
    src = ("import npulab.systolic.folds as f\nfrom npulab.systolic import reference\n"
           "import npulab.hw\n"
           "x = f._hidden + reference._secret + npulab.hw.array._y + f.public\n")
    fake = tmp_path / "fake.py"
    fake.write_text(src)
    monkeypatch.setitem(MODULES, "npulab.fake", fake)
    found = sorted(n for _, _, n in _private_attribute_uses("npulab.fake"))
    assert found == ["_hidden", "_secret", "_y"]


def test_no_private_attribute_is_used_across_modules():
    bad = [u for m in MODULES if not _within(m, PENDING) for u in _private_attribute_uses(m)]
    assert bad == []


def test_no_private_name_is_imported_across_modules():
    bad = [(m, t, n) for m in MODULES for t, n in _imports(m)
           if n.startswith("_") and not n.startswith("__") and not _within(m, PENDING)]
    assert bad == []


def test_report_is_a_leaf_module():
    """Every engine imports Report: it may import nothing from npulab but the validation helpers."""
    assert GRAPH["npulab.metrics.report"] <= {"npulab._validate"}
    assert GRAPH["npulab.metrics.roofline"] <= {"npulab._validate", "npulab.metrics.report",
                                                "npulab.hw.energy"}


def test_every_registered_hardware_config_implements_the_protocol():
    """Conformance (as scikit-learn's check_estimator): each kind's config, built from each
    bundled preset of that kind, passes :func:`npulab.hw.protocol.check_hardware_config`."""
    from npulab.hw.protocol import HardwareConfig, check_hardware_config
    from npulab.perf.engines import HARDWARE
    from npulab.perf.presets import available_presets, load_preset

    presets = [load_preset(n) for n in available_presets()]
    for kind, cls in HARDWARE.items():
        assert cls.kind == kind and isinstance(cls.PRESET_KEYS, frozenset)
        configs = [p.config for p in presets if p.engine == kind]
        assert configs, f"no bundled preset exercises the {kind} config"
        for hw in configs:
            assert isinstance(hw, HardwareConfig) and type(hw) is cls
            check_hardware_config(hw)


def test_the_protocol_check_names_what_is_missing():
    import pytest

    from npulab.hw.protocol import check_hardware_config

    class NoMemory:
        kind, PRESET_KEYS = "x", frozenset()
        peak_ops_per_s = dram_bytes_per_s = 1.0
        weight_capacity_bytes, precision = 0.0, "int8"

        @classmethod
        def from_preset(cls, fields):
            return cls()

        def static_power_w(self):
            return 0.0

    with pytest.raises(ValueError, match="memory_bytes is missing"):
        check_hardware_config(NoMemory())
    NoMemory.memory_bytes = 0.0
    with pytest.raises(ValueError, match="must be frozen"):
        check_hardware_config(NoMemory())


def test_sparse_is_a_shared_library_at_the_input_level():
    """``npulab.sparse`` (like ``npulab.quant``) imports nothing from npulab but itself and the
    validation helpers: any engine may use it."""
    bad = [(m, t) for m in MODULES if _within(m, ("npulab.sparse",)) for t in GRAPH[m]
           if not _within(t, ("npulab.sparse", "npulab._validate"))]
    assert bad == []
