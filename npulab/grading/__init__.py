"""Single-source labs: nbgrader-style markers, release, notebook execution and self-check.

``solutions/NN_name.ipynb`` is the only source.  Its code cells mark what students write::

    def gemm_macs(M, N, K):
        ### BEGIN SOLUTION
        return M * N * K
        ### END SOLUTION

and its test cells may carry tests the students never see::

    assert gemm_macs(2, 3, 4) == 24
    ### BEGIN HIDDEN TESTS
    assert gemm_macs(7, 1, 5) == 35
    ### END HIDDEN TESTS

Cells carry nbgrader metadata (``nbgrader.grade_id``, ``points``, ``solution``, ``grade``,
``locked``, ``schema_version``), so nbgrader 0.9 can grade the same notebooks.

* :func:`release` writes the student version (``labs/``).
* :func:`run_notebook` executes a notebook; :func:`test_results` reads its graded cells.
* :func:`grade_against_source` runs a student notebook with the source's test cells.
* :func:`check` is the learner's self-check.
* :func:`grade_class` is the class-wide autograder behind ``npulab grade`` (gradebook,
  feedback, summary; resumable, parallel, HMAC-signed results); :func:`grade_submission`
  grades one notebook: student cells in an OS sandbox (:mod:`npulab.grading.sandbox`,
  :mod:`npulab.grading.driver`), tests in the trusted grader process
  (:mod:`npulab.grading.engine`).
* :mod:`npulab.grading.nbgrader_compat` runs nbgrader itself on the same notebooks.
"""
import sys
import types

_WHERE = {
    "SubmissionResult": "autograde", "grade_submission": "autograde", "restore_source_cells": "autograde",
    "ClassRun": "classroom", "grade_class": "classroom",
    "TestOutcome": "execute", "grade_against_source": "execute", "run_notebook": "execute",
    "test_results": "execute",
    "strip_hidden_tests": "markers", "strip_solution": "markers",
    "release": "release", "release_notebook": "release",
    "CheckResult": "selfcheck", "check": "selfcheck",
}


class _Package(types.ModuleType):
    """Keeps ``npulab.grading.release`` the function (as it always was) after the submodule
    of the same name is imported (the import system sets the package attribute then)."""

    def __setattr__(self, name, value):
        if name == "release" and isinstance(value, types.ModuleType) and hasattr(value, "release"):
            value = value.release
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name):
    """Import on first use: ``npulab.check()`` under the grader stays cheap (PEP 562)."""
    if name in _WHERE:
        import importlib

        value = getattr(importlib.import_module(f"npulab.grading.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'npulab.grading' has no attribute {name!r}")


__all__ = [
    "strip_solution",
    "strip_hidden_tests",
    "release",
    "release_notebook",
    "run_notebook",
    "test_results",
    "grade_against_source",
    "TestOutcome",
    "CheckResult",
    "check",
    "grade_class",
    "ClassRun",
    "grade_submission",
    "SubmissionResult",
    "restore_source_cells",
]
