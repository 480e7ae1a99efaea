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
#: Peer-tool outputs (SCALE-Sim, brevitas, snnTorch, aihwkit), copied into the repository so
#: the peer tests run from a bare clone; ``fixtures/reference/README.md`` names each tool.
REFERENCE_DIR = Path(__file__).resolve().parent / "fixtures" / "reference"

# Derandomized: the same examples every run, so CI is reproducible; no deadline on 2 slow cores.
settings.register_profile(
    "npulab", derandomize=True, deadline=None, max_examples=50,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "npulab"))


@pytest.fixture
def reference_dir() -> Path:
    """``tests/fixtures/reference``: the recorded peer-tool outputs (never skipped)."""
    assert REFERENCE_DIR.is_dir(), f"peer-tool recordings missing: {REFERENCE_DIR}"
    return REFERENCE_DIR
