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
  feedback, summary; resumable, parallel); :func:`grade_submission` grades one notebook in
  a sandboxed, memory- and time-limited kernel (:mod:`npulab.grading.autograde`).
* :mod:`npulab.grading.nbgrader_compat` runs nbgrader itself on the same notebooks.
"""
from npulab.grading.autograde import SubmissionResult, grade_submission, restore_source_cells
from npulab.grading.classroom import ClassRun, grade_class
from npulab.grading.execute import TestOutcome, grade_against_source, run_notebook, test_results
from npulab.grading.markers import strip_hidden_tests, strip_solution
from npulab.grading.release import release, release_notebook
from npulab.grading.selfcheck import CheckResult, check

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
