"""Shared test set-up: deterministic hypothesis runs and paths to fixtures."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent

# Fixture notebooks (some deliberately broken) are data for the grading tests, not notebooks
# for nbval to run.
collect_ignore_glob = ["*/fixtures/*", "fixtures/*"]
#: Peer-tool outputs (SCALE-Sim, brevitas, snnTorch, aihwkit); see its README.
REFERENCE_DIR = Path(os.environ.get("NPULAB_REFERENCE", ROOT.parent / "shared" / "reference"))

# Derandomized: the same examples every run, so CI is reproducible; no deadline on 2 slow cores.
settings.register_profile(
    "npulab", derandomize=True, deadline=None, max_examples=50,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "npulab"))


@pytest.fixture
def reference_dir() -> Path:
    """The shared/reference folder; tests that need it skip with a reason if it is absent."""
    if not REFERENCE_DIR.is_dir():
        pytest.skip(f"peer-tool reference data not found at {REFERENCE_DIR}")
    return REFERENCE_DIR
