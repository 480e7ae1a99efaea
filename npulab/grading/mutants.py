"""Mutation testing of a lab: do its tests catch the bugs students actually write?

Each graded solution code cell of ``solutions/NN_name.ipynb`` carries plausible wrong
answers ("mutants") in ``metadata.npulab.mutants``::

    [{"name": "floor instead of ceil", "replace": [["math.ceil(", "math.floor("]]},
     {"name": "forgets the zero point", "source": "<the whole wrong cell>"}]

``replace`` applies each ``[old, new]`` once (``old`` must occur); ``source`` replaces the
cell.  :func:`mutation_report` runs the lab with mutants applied and counts, per exercise,
the mutants that the visible tests catch (test cells with their hidden block removed) and
that visible + hidden tests catch (a test cell that errors catches the mutant).

Speed: test cells are independent of each other (a test only calls its own exercise's
function), so the r-th mutant of *every* exercise runs in the same execution ("round r"),
and each test cell runs twice in it (visible part, then the full cell), with errors
allowed.  A test cell belongs to the exercise of the last solution cell above it (or to
``metadata.npulab.exercise``).  ``isolated=True`` runs one mutant per execution instead.
Before any mutant, the unmutated solution must pass all its tests (round 0).

Shape mutants (issue 23, on by default): every exercise's functions also return an empty
array, an extra axis, the transpose and a scalar of their true result
(:data:`SHAPE_MUTANTS`), and the grader's reference check (:mod:`npulab.grading.reference`)
must refuse each one, visible tests included.  They are judged where the grader judges a
result, on the trusted side (:func:`shape_outcomes`): the notebook runs once in one driver,
then only its test cells run again per kind, so the four kinds cost about one notebook run
plus four test passes rather than four notebook runs.

Generated mutants (issue 24 item 2, on by default; :mod:`npulab.grading.mutgen`): the
categories of mistake students make everywhere (rounding mode, off-by-one, wrong axis, dtype,
missing term), made from each solution cell's syntax tree, at most ``per_category`` per cell
and category, drawn reproducibly from ``seed``.  They run in one execution of the lab
(:func:`generated_outcomes`): the notebook runs once in one driver (the solution must pass),
then per mutant only its cell (mutated, its functions unbound first so that a mutated cell
that fails leaves nothing behind) and its exercise's test cells run, and the cell is restored, judged by the grader's
engine like the shape mutants (a result of the wrong dtype family fails there).  A
mutant that makes the cell fail counts as caught only when a test of its exercise fails.
Mutants declared equivalent to the solution (``metadata.npulab.equivalent``) are not run and
are reported apart.
"""
from __future__ import annotations

import contextlib
import copy
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from npulab.grading.markers import BEGIN_HIDDEN, has_marker, strip_hidden_tests
from npulab.grading.release import exercise_numbers, nbgrader_meta, npulab_meta

#: Kernel timeout per cell (s) in a mutant run: a mutant that loops forever is interrupted.
CELL_TIMEOUT = 120.0
#: Timeout (s) of one test cell of one generated mutant (a dropped ``+= 1`` loops forever).
GENERATED_TIMEOUT = 30.0
_TAG = "npulab_mutant_run"


@dataclass(frozen=True)
class Mutant:
    """One plausible wrong answer for one solution cell."""

    cell_index: int
    grade_id: str
    name: str
    source: str  # the mutated cell source
    category: str = "authored"  # "authored", "shape" or a generated category (mutgen.CATEGORIES)
    id: str = ""  # a generated mutant's id (mutgen), the key of an equivalence declaration


@dataclass
class MutantOutcome:
    """Whether the visible tests, and visible + hidden tests, caught one mutant."""

    mutant: Mutant
    caught_visible: bool = False
    caught_all: bool = False


@dataclass
class MutationReport:
    """Per-exercise mutant counts of one lab (:meth:`to_dict` is the ``--json`` shape)."""

    lab: str
    outcomes: list[MutantOutcome] = field(default_factory=list)
    grade_ids: list[str] = field(default_factory=list)  # every solution cell, in order
    equivalent: list[Mutant] = field(default_factory=list)  # declared equivalent, not run

    def exercises(self) -> list[dict]:
        """One row per exercise (solution cell), in notebook order.

        Returns
        -------
        list of dict
            ``grade_id``, ``mutants`` (how many), ``caught_visible`` (caught by the visible
            tests) and ``caught_all`` (caught by visible + hidden tests).
        """
        rows = []
        for gid in self.grade_ids:
            mine = [o for o in self.outcomes if o.mutant.grade_id == gid]
            rows.append({"grade_id": gid, "mutants": len(mine),
                         "caught_visible": sum(o.caught_visible for o in mine),
                         "caught_all": sum(o.caught_all for o in mine)})
        return rows

    def categories(self) -> dict[str, dict]:
        """Counts per mutant category (``authored``, ``shape``, then the generated ones).

        Returns
        -------
        dict
            category -> ``generated`` (how many ran), ``caught_visible``, ``caught_all`` and
            ``equivalent`` (declared equivalent to the solution, not run).
        """
        from npulab.grading.mutgen import CATEGORIES

        out: dict[str, dict] = {}
        for c in ("authored", "shape", *CATEGORIES):
            mine = [o for o in self.outcomes if o.mutant.category == c]
            same = [m for m in self.equivalent if m.category == c]
            if mine or same:
                out[c] = {"generated": len(mine), "caught_visible": sum(o.caught_visible for o in mine),
                          "caught_all": sum(o.caught_all for o in mine), "equivalent": len(same)}
        return out

    def to_dict(self) -> dict:
        """The ``npulab mutants --json`` shape: ``lab``, ``exercises`` (:meth:`exercises`),
        ``categories`` (:meth:`categories`) and ``escaped`` (each mutant that escaped the
        visible tests: ``grade_id``, ``category``, ``id``, ``name``, ``caught_all``)."""
        return {"lab": self.lab, "exercises": self.exercises(), "categories": self.categories(),
                "escaped": [{"grade_id": o.mutant.grade_id, "category": o.mutant.category,
                             "id": o.mutant.id, "name": o.mutant.name, "caught_all": o.caught_all}
                            for o in self.outcomes if not o.caught_visible]}

    @property
    def total(self) -> int:
        """How many mutants ran (authored and shape mutants)."""
        return len(self.outcomes)

    @property
    def caught_visible(self) -> int:
        """How many mutants the visible tests caught."""
        return sum(o.caught_visible for o in self.outcomes)

    @property
    def caught_all(self) -> int:
        """How many mutants the visible + hidden tests caught."""
        return sum(o.caught_all for o in self.outcomes)

    def escaped(self, visible: bool = True) -> list[Mutant]:
        """Mutants that the visible (or all) tests did not catch."""
        return [o.mutant for o in self.outcomes if not (o.caught_visible if visible else o.caught_all)]


def apply_mutant(source: str, spec: dict, where: str = "mutant") -> str:
    """The cell source with one mutant (``replace`` pairs or a whole ``source``) applied."""
    if not isinstance(spec, dict) or not spec.get("name"):
        raise ValueError(f"{where}: a mutant is a dict with a 'name' and 'replace' or 'source'")
    if "source" in spec:
        new = str(spec["source"])
    elif "replace" in spec:
        new = source
        for pair in spec["replace"]:
            if not (isinstance(pair, (list, tuple)) and len(pair) == 2):
                raise ValueError(f"{where}: 'replace' must be a list of [old, new] pairs; got {pair!r}")
            old, repl = pair
            if old not in new:
                raise ValueError(f"{where}: text to replace not found: {old!r}")
            new = new.replace(old, repl, 1)
    else:
        raise ValueError(f"{where}: a mutant needs 'replace' or 'source'")
    if new == source:
        raise ValueError(f"{where}: the mutant does not change the cell")
    return new


def find_mutants(nb, name: str = "notebook") -> list[Mutant]:
    """Every mutant of every solution code cell, in cell order."""
    found = []
    for index in exercise_numbers(nb):
        cell = nb.cells[index]
        gid = nbgrader_meta(cell).get("grade_id", f"cell-{index}")
        for k, spec in enumerate(npulab_meta(cell).get("mutants", [])):
            where = f"{name} {gid} mutant {k + 1}"
            found.append(Mutant(index, gid, str(spec.get("name", "")) if isinstance(spec, dict) else "",
                                apply_mutant(cell.source, spec, where)))
    return found


def exercise_of_tests(nb) -> dict[int, int]:
    """Test-cell index -> exercise number (``metadata.npulab.exercise`` or the cell above)."""
    numbers = exercise_numbers(nb)
    out, current = {}, None
    for index, cell in enumerate(nb.cells):
        if index in numbers:
            current = numbers[index]
        meta = nbgrader_meta(cell)
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            given = npulab_meta(cell).get("exercise")
            number = int(given) if given is not None else current
            if number is not None:
                out[index] = number
    return out


def _is_selfcheck(cell) -> bool:
    return cell.cell_type == "code" and ("npulab.check(" in cell.source
                                         or nbgrader_meta(cell).get("grade_id") == "selfcheck")


def _run_notebook(nb, applied: dict[int, str]):
    """The notebook to execute for one round: mutants applied, each test cell twice.

    Cells after the last test cell are left out: nothing they do can change an outcome (the
    outcomes are the tagged test cells above them), and a lab's closing demos (plots,
    sweeps) would otherwise run once per round."""
    tests = exercise_of_tests(nb)
    last = max(tests, default=len(nb.cells) - 1)
    cells = []
    for index, cell in enumerate(nb.cells[:last + 1]):
        if cell.cell_type != "code" or _is_selfcheck(cell):
            continue
        cell = copy.deepcopy(cell)
        cell.outputs, cell.execution_count = [], None
        if index in applied:
            cell.source = applied[index]
        if index in tests:
            hidden = has_marker(cell.source, BEGIN_HIDDEN)
            visible = copy.deepcopy(cell)
            visible.source = strip_hidden_tests(cell.source) if hidden else cell.source
            visible.metadata[_TAG] = [index, "visible"]
            visible["id"] = f"{cell.get('id', index)}-visible"
            cells.append(visible)
            if hidden:
                cell.metadata[_TAG] = [index, "all"]
                cell["id"] = f"{cell.get('id', index)}-all"
                cells.append(cell)
            continue
        cells.append(cell)
    run = nbformat.v4.new_notebook(cells=cells, metadata=copy.deepcopy(nb.metadata))
    return run


def _execute(nb, cwd: Path, timeout: float):
    from nbclient import NotebookClient

    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            interrupt_on_timeout=True, record_timing=False,
                            resources={"metadata": {"path": str(cwd)}})
    env = {**os.environ, "MPLBACKEND": "agg", "PYTHONWARNINGS": "ignore"}
    client.execute(env=env, stderr=subprocess.DEVNULL)
    return nb


def _failed_tests(executed) -> dict[int, dict[str, bool]]:
    """Test index -> {"visible": failed, "all": failed} from an executed round."""
    out: dict[int, dict[str, bool]] = {}
    for cell in executed.cells:
        tag = cell.metadata.get(_TAG)
        if not tag:
            continue
        index, part = tag
        failed = any(o.get("output_type") == "error" for o in cell.get("outputs", []))
        out.setdefault(index, {})[part] = failed
    for parts in out.values():
        parts.setdefault("all", parts["visible"])
    return out


def mutation_report(path, *, isolated: bool = False, timeout: float = CELL_TIMEOUT,
                    progress=None, shapes: bool = True, authored: bool = True,
                    generated: bool = True, seed: int = 0, per_category: int | None = None
                    ) -> MutationReport:
    """Run every mutant of the solution notebook at ``path``; see the module docstring.

    ``progress(message)`` is called before each execution (for a CLI's status line).
    ``shapes`` (default) adds the automatic shape mutants of every exercise
    (:data:`SHAPE_MUTANTS`, judged by the grader's engine, :func:`shape_outcomes`);
    ``generated`` (default) adds the generated categories (:func:`generated_outcomes`, drawn
    with ``seed``, at most ``per_category`` per cell and category, default
    :data:`npulab.grading.mutgen.PER_CATEGORY`);
    ``authored=False`` skips the mutants written in the notebook (a quick shape-only run).
    """
    path = Path(path)
    if not authored:
        nb = _read_solution(path)
        report = MutationReport(lab=path.stem, grade_ids=[
            nbgrader_meta(nb.cells[i]).get("grade_id", f"cell-{i}") for i in exercise_numbers(nb)])
    else:
        report = _authored_report(path, isolated=isolated, timeout=timeout, progress=progress)
    if generated:
        outcomes, same = generated_outcomes(path, seed=seed, per_category=per_category,
                                            timeout=timeout, progress=progress)
        report.outcomes.extend(outcomes)
        report.equivalent.extend(same)
    if shapes:
        report.outcomes.extend(shape_outcomes(path, timeout=timeout, progress=progress))
    return report


def generated_mutants(nb, name: str = "notebook", *, seed: int = 0,
                      per_category: int | None = None) -> tuple[list[Mutant], list[Mutant]]:
    """The generated mutants of every solution code cell (:func:`npulab.grading.mutgen.generate`).

    Returns
    -------
    (to_run, equivalent) : tuple of list of Mutant
        The mutants to run, cell by cell, and those the cells declare equivalent.
    """
    from npulab.grading import mutgen

    bound = mutgen.PER_CATEGORY if per_category is None else per_category
    run, same = [], []
    for index in exercise_numbers(nb):
        cell = nb.cells[index]
        gid = nbgrader_meta(cell).get("grade_id", f"cell-{index}")
        where = f"{name} {gid}"
        declared = mutgen.equivalent_declared(npulab_meta(cell), where)
        kept, equal = mutgen.generate(cell.source, gid, equivalent=declared, seed=seed,
                                      per_category=bound, where=where)
        run += [Mutant(index, gid, g.name, g.source, g.category, g.id) for g in kept]
        same += [Mutant(index, gid, g.name, g.source, g.category, g.id) for g in equal]
    return run, same


def _mutant_cells(nb, run_nb, tagged: dict[int, tuple], m: Mutant):
    """The cells that judge one generated mutant in a driver where the lab already ran: its
    functions unbound, its mutated cell, its exercise's test cells (visible part, then the
    whole cell), its functions unbound again and the true cell restored.

    Returns
    -------
    (cells, parts) : tuple
        The cells, and ``{cell position: (test index, part)}`` of the test cells among them.
    """
    numbers, tests = exercise_numbers(nb), exercise_of_tests(nb)
    names = _functions_of(nb.cells[m.cell_index].source)
    unbind = f"for _npulab_name in {names!r}:\n    globals().pop(_npulab_name, None)"
    cells = [nbformat.v4.new_code_cell(unbind), nbformat.v4.new_code_cell(m.source)]
    parts = {}
    for i, (t, part) in tagged.items():
        if tests.get(t) == numbers[m.cell_index]:
            parts[len(cells)] = (t, part)
            cells.append(run_nb.cells[i])
    cells += [nbformat.v4.new_code_cell(unbind), nbformat.v4.new_code_cell(nb.cells[m.cell_index].source)]
    return cells, parts


def _control(nb, run_nb, tagged, m: Mutant, session, short: float, common: dict, name: str) -> None:
    """The unmutated cell run the way a mutant is (:func:`_mutant_cells`) must pass its tests:
    else they depend on something the per-mutant run does not redo (a ``ValueError``)."""
    from npulab.grading.engine import run_notebook_cells

    same = Mutant(m.cell_index, m.grade_id, "control", nb.cells[m.cell_index].source)
    cells, parts = _mutant_cells(nb, run_nb, tagged, same)
    run = run_notebook_cells(nbformat.v4.new_notebook(cells=cells, metadata=run_nb.metadata), session,
                             tests=set(parts), cell_timeout=short,
                             notebook_timeout=short * max(len(cells), 1), **common)
    if not all(run.outcomes[pos].passed for pos in parts if pos in run.outcomes):
        raise ValueError(f"{name} {m.grade_id}: its tests fail when only the cell and its tests run again "
                         "(they depend on another cell): generated mutants cannot be judged")


def generated_outcomes(path, *, seed: int = 0, per_category: int | None = None,
                       timeout: float = CELL_TIMEOUT, progress=None
                       ) -> tuple[list[MutantOutcome], list[Mutant]]:
    """Run the generated mutants of the solution notebook at ``path``, judged by the grader's
    engine as the shape mutants are (tests on the trusted side, results checked against the
    reference results): the lab runs once in one driver, then per mutant only its cell and
    its exercise's tests (:func:`_mutant_cells`); a mutant that leaves the driver dead (a cell
    that cannot be interrupted) gets a new driver for the next one.

    Returns
    -------
    (outcomes, equivalent) : tuple
        One :class:`MutantOutcome` per mutant run, and the mutants declared equivalent.

    Raises
    ------
    ValueError
        When the unmutated solution fails its tests, or an equivalence declaration is stale.
    """
    from npulab.grading.engine import run_notebook_cells, start_driver
    from npulab.grading.isolation import NoSandbox
    from npulab.grading.merge import without_tests
    from npulab.grading.reference import Reference

    path = Path(path)
    nb = _read_solution(path)
    mutants, same = generated_mutants(nb, path.name, seed=seed, per_category=per_category)
    if not mutants:
        return [], same
    reference = Reference.of(path, cell_timeout=timeout)
    run_nb = _run_notebook(nb, {})
    tagged = {i: tuple(c.metadata[_TAG]) for i, c in enumerate(run_nb.cells) if _TAG in c.metadata}
    short = min(timeout, GENERATED_TIMEOUT)
    common = {"max_output_bytes": 64 * 2**20, "allow_from": without_tests(nb),
              "test_cwd": path.resolve().parent, "reference": reference}
    outcomes: list[MutantOutcome] = []
    with contextlib.ExitStack() as stack:
        session = None
        for k, m in enumerate(mutants):
            if session is None or session.dead:
                if session is not None:
                    session.close()
                session = stack.enter_context(start_driver(path.resolve().parent, sandbox=NoSandbox()))
                if progress:
                    progress(f"{path.name}: generated mutants, the solution through the grader")
                base = run_notebook_cells(run_nb, session, tests=set(tagged), cell_timeout=timeout,
                                          notebook_timeout=timeout * max(len(run_nb.cells), 1), **common)
                broken = sorted({str(nbgrader_meta(nb.cells[tagged[i][0]]).get("grade_id", tagged[i][0]))
                                 for i, o in base.outcomes.items() if not o.passed})
                if broken:
                    raise ValueError(f"{path.name}: the unmutated solution fails its own tests under the "
                                     f"grader: {', '.join(broken)}")
            if k == 0 or m.cell_index != mutants[k - 1].cell_index:
                _control(nb, run_nb, tagged, m, session, short, common, path.name)
            if progress and k % 10 == 0:
                progress(f"{path.name}: generated mutants {k + 1}-{min(k + 10, len(mutants))}/{len(mutants)}")
            cells, parts = _mutant_cells(nb, run_nb, tagged, m)
            mini = nbformat.v4.new_notebook(cells=cells, metadata=run_nb.metadata)
            run = run_notebook_cells(mini, session, tests=set(parts), cell_timeout=short,
                                     notebook_timeout=short * max(len(cells), 1), **common)
            failed: dict[int, dict[str, bool]] = {}
            for pos, (t, part) in parts.items():
                outcome = run.outcomes.get(pos)
                failed.setdefault(t, {})[part] = outcome is None or not outcome.passed
            mine = list(failed.values())
            outcomes.append(MutantOutcome(m, caught_visible=any(p.get("visible") for p in mine),
                                          caught_all=any(any(p.values()) for p in mine)))
    return outcomes, same


def _authored_report(path: Path, *, isolated: bool, timeout: float, progress) -> MutationReport:
    """The report of the mutants written in ``metadata.npulab.mutants``."""
    nb = _read_solution(path)
    numbers = exercise_numbers(nb)
    tests = exercise_of_tests(nb)
    mutants = find_mutants(nb, path.name)
    report = MutationReport(lab=path.stem, grade_ids=[
        nbgrader_meta(nb.cells[i]).get("grade_id", f"cell-{i}") for i in numbers])
    cwd = path.resolve().parent

    # Round 0: the solution itself must pass every test, visible and hidden.
    if progress:
        progress(f"{path.name}: solution (round 0)")
    base = _failed_tests(_execute(_run_notebook(nb, {}), cwd, timeout))
    broken = [nbgrader_meta(nb.cells[i]).get("grade_id", i) for i, p in base.items() if p["visible"] or p["all"]]
    if broken:
        raise ValueError(f"{path.name}: the unmutated solution fails its own tests: {', '.join(map(str, broken))}")
    rounds = _rounds(mutants, isolated)
    for r, group in enumerate(rounds, 1):
        if progress:
            progress(f"{path.name}: round {r}/{len(rounds)} ({len(group)} mutants)")
        failed = _failed_tests(_execute(_run_notebook(nb, {m.cell_index: m.source for m in group}), cwd, timeout))
        for m in group:
            number = numbers[m.cell_index]
            mine = [failed[t] for t, n in tests.items() if n == number and t in failed]
            report.outcomes.append(MutantOutcome(
                m, caught_visible=any(p["visible"] for p in mine),
                caught_all=any(p["visible"] or p["all"] for p in mine)))
    order = {m: k for k, m in enumerate(mutants)}
    report.outcomes.sort(key=lambda o: order[o.mutant])
    return report


#: The automatic shape mutants: name -> an expression of the true result ``r`` that has
#: another structure (``np`` is numpy).  A kind that leaves a result's structure unchanged
#: (the transpose of a vector, a scalar of a scalar) is not applied to it, and a mutant that
#: changed no result is not counted.
SHAPE_MUTANTS = {
    "shape: empty (a zero-length leading axis)": "np.zeros((0,) + np.shape(r))",
    "shape: extra axis": "np.asarray(r)[None]",
    "shape: transposed": "np.asarray(r).T",
    "shape: scalar": "np.asarray(r).ravel()[0].item()",
}


def _functions_of(source: str) -> list[str]:
    """Top-level functions a solution cell defines."""
    import ast

    try:
        return [n.name for n in ast.parse(source).body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    except SyntaxError:
        return []


def shape_mutants(nb, kind: str) -> list[Mutant]:
    """One ``kind`` shape mutant per exercise cell that defines functions (its functions
    return the :data:`SHAPE_MUTANTS` ``kind`` of their true result); ``source`` is the
    unchanged cell: :func:`shape_outcomes` applies the mutation where the result arrives."""
    found = []
    for index in exercise_numbers(nb):
        cell = nb.cells[index]
        if _functions_of(cell.source):
            found.append(Mutant(index, nbgrader_meta(cell).get("grade_id", f"cell-{index}"), kind,
                                cell.source, "shape"))
    return found


class ShapeMutating:
    """A :class:`~npulab.grading.reference.Reference` for one shape round: a result of one of
    ``names`` (the exercises' functions) is replaced by the ``kind`` mutant of it
    (:data:`SHAPE_MUTANTS`) where the trusted side receives it, and the real reference check
    judges the mutant.  The names whose result the mutant changed are in ``changed``.

    A mutant that passes the reference check is not handed to the test (the test sees the
    true result and passes): such a mutant counts as escaped, never as caught.

    Parameters
    ----------
    reference : npulab.grading.reference.Reference
        The instructor's functions.
    kind : str
        A key of :data:`SHAPE_MUTANTS`.
    names : iterable of str
        The functions whose results are mutated.
    """

    def __init__(self, reference, kind: str, names):
        self.reference, self.kind, self.names = reference, kind, set(names)
        self.changed: set[str] = set()
        self._code = compile(SHAPE_MUTANTS[kind], f"<shape mutant {kind}>", "eval")

    def expected(self, name: str, args, kwargs):
        """The reference result (:meth:`Reference.expected
        <npulab.grading.reference.Reference.expected>`)."""
        return self.reference.expected(name, args, kwargs)

    def check(self, name: str, got, args, kwargs, expected=None) -> None:
        """Judge the mutant of ``got`` (when it has another structure) with the reference check."""
        import numpy as np

        from npulab.grading.reference import mismatch

        if name in self.names:
            try:
                mutant = eval(self._code, {"np": np, "r": got})  # noqa: S307 - a fixed expression
                changed = mismatch(mutant, got) is not None
            except Exception:  # noqa: BLE001 - a result this kind cannot reshape
                changed = False
            if changed:
                self.changed.add(name)
                got = mutant
        self.reference.check(name, got, args, kwargs, expected)


def shape_outcomes(path, *, timeout: float = CELL_TIMEOUT, progress=None) -> list[MutantOutcome]:
    """The outcome of every :data:`SHAPE_MUTANTS` mutant of every exercise of the solution
    notebook at ``path``, judged by the grader's engine (tests on the trusted side, results
    checked against the reference results, :mod:`npulab.grading.reference`).

    The notebook runs once in one driver (the unmutated solution must pass every test, as
    the grader runs them); then, per kind, its test cells (visible part, then the whole cell)
    run again with every exercise function's results replaced by their mutant where they
    arrive (:class:`ShapeMutating`).  A mutant that changed no result of its cell's functions
    is not counted (it is not a mutant of them).
    """
    from npulab.grading.engine import run_notebook_cells, start_driver
    from npulab.grading.isolation import NoSandbox
    from npulab.grading.merge import without_tests
    from npulab.grading.reference import Reference

    path = Path(path)
    nb = _read_solution(path)
    numbers, tests = exercise_numbers(nb), exercise_of_tests(nb)
    reference = Reference.of(path, cell_timeout=timeout)
    run_nb = _run_notebook(nb, {})
    tagged = {i: tuple(c.metadata[_TAG]) for i, c in enumerate(run_nb.cells) if _TAG in c.metadata}
    tests_nb = nbformat.v4.new_notebook(cells=[run_nb.cells[i] for i in tagged], metadata=run_nb.metadata)
    parts = list(tagged.values())
    names = {n for i in numbers for n in _functions_of(nb.cells[i].source)}
    common = {"cell_timeout": timeout, "notebook_timeout": timeout * max(len(run_nb.cells), 1),
              "max_output_bytes": 64 * 2**20, "allow_from": without_tests(nb),
              "test_cwd": path.resolve().parent}
    outcomes = []
    with start_driver(path.resolve().parent, sandbox=NoSandbox()) as session:
        if progress:
            progress(f"{path.name}: shape mutants, the solution through the grader")
        base = run_notebook_cells(run_nb, session, tests=set(tagged), reference=reference, **common)
        broken = sorted({nbgrader_meta(nb.cells[tagged[i][0]]).get("grade_id", str(tagged[i][0]))
                         for i, o in base.outcomes.items() if not o.passed})
        if broken:
            raise ValueError(f"{path.name}: the unmutated solution fails its own tests under the grader: "
                             f"{', '.join(broken)}")
        for r, kind in enumerate(SHAPE_MUTANTS, 1):
            group = shape_mutants(nb, kind)
            if progress:
                progress(f"{path.name}: shape round {r}/{len(SHAPE_MUTANTS)} ({kind}, {len(group)} mutants)")
            mutating = ShapeMutating(reference, kind, names)
            run = run_notebook_cells(tests_nb, session, tests=set(range(len(parts))),
                                     reference=mutating, **common)
            failed: dict[int, dict[str, bool]] = {}
            for k, (index, part) in enumerate(parts):
                failed.setdefault(index, {})[part] = not run.outcomes[k].passed
            for flags in failed.values():
                flags.setdefault("all", flags["visible"])
            for m in group:
                if not set(_functions_of(nb.cells[m.cell_index].source)) & mutating.changed:
                    continue
                mine = [failed[t] for t, n in tests.items() if n == numbers[m.cell_index] and t in failed]
                outcomes.append(MutantOutcome(m, caught_visible=any(p["visible"] for p in mine),
                                              caught_all=any(p["visible"] or p["all"] for p in mine)))
    return outcomes


def _read_solution(path: Path):
    """The solution notebook at ``path`` (one-line ``ValueError`` when it is not one)."""
    if not path.is_file() or path.suffix != ".ipynb":
        raise ValueError(f"not a notebook file: {path}")
    try:
        return nbformat.read(path, as_version=4)
    except Exception as err:  # nbformat raises several types for bad JSON
        raise ValueError(f"{path}: not a readable notebook ({err.__class__.__name__}: {err})") from None


def _rounds(mutants, isolated: bool) -> list:
    """Groups of mutants run together: one each when ``isolated``, else one per exercise cell
    per round (mutants of different cells cannot mask each other)."""
    if isolated:
        return [[m] for m in mutants]
    by_cell: dict[int, list[Mutant]] = {}
    for m in mutants:
        by_cell.setdefault(m.cell_index, []).append(m)
    depth = max((len(v) for v in by_cell.values()), default=0)
    return [[v[r] for v in by_cell.values() if len(v) > r] for r in range(depth)]


def format_report(report: MutationReport) -> str:
    """A text table of a :class:`MutationReport` plus the mutants that escaped."""
    def pct(n, d):
        return f"{100 * n / d:.0f}%" if d else "-"

    width = max([len("exercise")] + [len(g) for g in report.grade_ids])
    lines = [f"lab {report.lab}: {report.total} mutants; visible tests catch {report.caught_visible} "
             f"({pct(report.caught_visible, report.total)}), visible + hidden {report.caught_all} "
             f"({pct(report.caught_all, report.total)})",
             f"{'exercise':<{width}}  mutants  visible  all"]
    for row in report.exercises():
        lines.append(f"{row['grade_id']:<{width}}  {row['mutants']:>7}  {row['caught_visible']:>7}  "
                     f"{row['caught_all']:>3}")
    categories = report.categories()
    if set(categories) - {"authored"}:
        cw = max(len("category"), *(len(c) for c in categories))
        lines.append(f"{'category':<{cw}}  mutants  visible  all  equivalent")
        for c, row in categories.items():
            lines.append(f"{c:<{cw}}  {row['generated']:>7}  {row['caught_visible']:>7}  "
                         f"{row['caught_all']:>3}  {row['equivalent']:>10}")
    for label, visible in (("escaped the visible tests", True), ("escaped all tests", False)):
        escaped = report.escaped(visible)
        if escaped:
            lines.append(f"{label}:")
            lines.extend(f"  {m.grade_id}: {m.name}" + (f"  [{m.id}]" if m.id else "") for m in escaped)
    return "\n".join(lines)
