"""Shared test set-up: deterministic hypothesis runs, paths to fixtures, the slow-test list."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent

# Fixture notebooks (some deliberately broken) are data for the grading tests, not notebooks
# for nbval to run.
collect_ignore_glob = ["*/fixtures/*", "fixtures/*"]
#: Peer-tool outputs (SCALE-Sim, brevitas, snnTorch, aihwkit), copied into the repository so
#: the peer tests run from a bare clone; ``fixtures/reference/README.md`` names each tool.
REFERENCE_DIR = Path(__file__).resolve().parent / "fixtures" / "reference"

# Derandomized: the same examples every run, so CI is reproducible; no deadline on 2 slow cores.
settings.register_profile(
    "npulab", derandomize=True, deadline=None, max_examples=50,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "npulab"))

#: Tests marked ``slow``: ``make test-fast`` (``pytest -m "not slow"``) skips them, ``make test``
#: and CI run them.  One list, here, instead of a ``pytestmark`` line in each file (other work
#: edits those files); a single slow test elsewhere takes ``@pytest.mark.slow``.  An entry is
#: a file relative to ``tests/`` (all its tests) or ``file::test_name`` (that test, every
#: parametrization).  Times: one 2-core machine, ``pytest --durations``.
SLOW = frozenset({
    "test_lab_mutants.py",                      # wrong answers run through kernels (~11 min of a core)
    "test_numbers_unchanged.py",                # the recorded battery of every engine (~85 s)
    "grading/test_grading_attacks.py",          # the adversarial class, graded in the sandbox
    "grading/test_grading_autograde.py",        # grading whole notebooks through the sandbox
    "grading/test_grading_cli.py",              # npulab grade end to end
    "grading/test_grading_dask.py::test_dask_gradebook_equals_a_local_run",  # a 2-worker cluster, ~30 s
    "grading/test_grading_nbgrader.py",         # nbgrader's own autograder as the oracle
    "grading/test_formgrade_browser.py",        # grades a class, then drives Chromium (~30 s)
    "tiling/test_tiling_zigzag.py",             # ZigZag (peer tool) runs
    "perf/test_silicon.py::test_calibrate_quick_writes_a_preset_and_its_data",  # ~11 s
    "grading/test_grading_wire.py::test_plain_data_round_trips_exactly",  # hypothesis, ~11 s
    # a class of 7 capstone submissions graded (trusted evaluation of each design, ~90 s)
    "grading/test_capstone_leaderboard.py::test_the_grader_writes_the_trusted_evaluation_of_each_design",
    "grading/test_capstone_leaderboard.py::test_leaderboard_ranks_passing_designs_by_power_and_marks_the_pareto_front",
    "grading/test_capstone_leaderboard.py::test_leaderboard_command",
})
#: Tests named ``test_live_*`` run a peer tool (SCALE-Sim, brevitas) on fresh random cases:
#: slow too.  Their recorded counterparts (fixtures) stay in the quick loop.
SLOW_PREFIX = "test_live_"


#: Modules that share one expensive session fixture: under pytest-xdist they form one work
#: unit, so one worker builds the fixture once (the adversarial class is graded in ~2 minutes;
#: two workers each grading it cost a worker two minutes).
SHARED_SCOPES = {
    "tests/grading/test_grading_attacks.py": "adversarial-class",
    "tests/grading/test_grading_autograde.py": "adversarial-class",
    "tests/grading/test_grading_nbgrader.py": "adversarial-class",
}
#: The longest work units, longest first (seconds on one core of a 2-core machine, from
#: ``--durations``): they start first, so no worker is left with a two-minute unit at the
#: end while the other idles (longest-processing-time-first scheduling).
LONGEST_FIRST = (
    "adversarial-class",                                       # ~110 s + its tests, nbgrader's
    "tests/test_lab_mutants.py::TestLab_08_capstone",          # ~100-150 s
    "tests/test_lab_mutants.py::TestLab_07_scorecard_llm",     # ~120 s
    "tests/test_lab_mutants.py::TestLab_02_integer_inference",  # ~90 s
    "tests/test_lab_mutants.py::TestLab_00_orientation",       # ~80 s
    "tests/grading/test_capstone_leaderboard.py",              # ~90 s
    "tests/test_lab_mutants.py::TestLab_06_snn",               # ~60 s
    "tests/test_lab_mutants.py::TestLab_04_tiling",            # ~60 s
    "tests/test_lab_mutants.py::TestLab_09_compiler",          # ~50 s
    "tests/test_lab_mutants.py::TestLab_05_pim",               # ~50 s
)


def work_unit(nodeid: str) -> str:
    """The xdist work unit of a test: its class or module (``--dist loadscope``), or the
    shared scope of :data:`SHARED_SCOPES`."""
    module = nodeid.split("::", 1)[0]
    return SHARED_SCOPES.get(module) or nodeid.rsplit("::", 1)[0]


def pytest_xdist_make_scheduler(config, log):
    """``--dist loadscope`` with :data:`SHARED_SCOPES` joined and :data:`LONGEST_FIRST` first."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class Scheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            return work_unit(nodeid)

    config.option.loadscopereorder = False  # the order of the collection (below) is kept
    return Scheduling(config, log)


def pytest_collection_modifyitems(config, items):
    """Mark the tests of :data:`SLOW` and the ``test_live_*`` tests ``slow``; put the
    :data:`LONGEST_FIRST` work units first (stable otherwise, so every worker collects the
    same order)."""
    tests = Path(__file__).resolve().parent
    for item in items:
        try:
            rel = item.path.resolve().relative_to(tests).as_posix()
        except ValueError:  # a notebook under solutions/ (nbval)
            continue
        name = getattr(item, "originalname", None) or item.name
        if rel in SLOW or f"{rel}::{name}" in SLOW or name.startswith(SLOW_PREFIX):
            item.add_marker(pytest.mark.slow)
    rank = {unit: i for i, unit in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(work_unit(item.nodeid), len(rank)))


@pytest.fixture
def reference_dir() -> Path:
    """``tests/fixtures/reference``: the recorded peer-tool outputs (never skipped)."""
    assert REFERENCE_DIR.is_dir(), f"peer-tool recordings missing: {REFERENCE_DIR}"
    return REFERENCE_DIR
