"""Session fixture: the adversarial fixture class graded once (see grading_fixtures.py)."""
from __future__ import annotations

import pytest
from grading_fixtures import CELL_TIMEOUT, NOTEBOOK_TIMEOUT, SOURCE, write_class


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory):
    """The whole fixture class graded once with 2 workers: (submissions, out, expected, run)."""
    from npulab.grading.classroom import grade_class

    root = tmp_path_factory.mktemp("class")
    expected = write_class(root / "submissions")
    run = grade_class(SOURCE, root / "submissions", root / "out", cell_timeout=CELL_TIMEOUT,
                      notebook_timeout=NOTEBOOK_TIMEOUT, workers=2, progress=False)
    return root / "submissions", root / "out", expected, run
