"""The slow-test list in tests/conftest.py names tests that exist (a renamed file would
silently fall back into the quick loop)."""
import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _slow_entries() -> set:
    """``SLOW`` of tests/conftest.py, read from its source (importing a conftest again would
    make a second copy of its fixtures)."""
    tree = ast.parse((TESTS / "conftest.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and [t.id for t in node.targets] == ["SLOW"]:
            return ast.literal_eval(node.value.args[0])
    raise AssertionError("tests/conftest.py defines no SLOW")


def test_every_slow_entry_names_an_existing_test():
    for entry in _slow_entries():
        path, _, name = entry.partition("::")
        assert (TESTS / path).is_file(), f"tests/conftest.py SLOW names a missing file: {path}"
        if name:
            assert f"def {name}(" in (TESTS / path).read_text(encoding="utf-8"), entry


def test_slow_files_are_marked_and_quick_ones_are_not(pytestconfig):
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "slow", "-p", "no:cacheprovider",
         str(TESTS / "test_lab_mutants.py"), str(TESTS / "test_workloads.py"),
         str(TESTS / "systolic" / "test_systolic_scalesim.py")],
        capture_output=True, text=True, cwd=TESTS.parent)
    ids = [line for line in out.stdout.splitlines() if "::" in line]
    assert any(i.startswith("tests/test_lab_mutants.py::") for i in ids), out.stdout
    assert any("::test_live_" in i for i in ids), out.stdout
    assert not any(i.startswith("tests/test_workloads.py::") for i in ids), out.stdout
    assert not any("test_systolic_scalesim.py::" in i and "::test_live_" not in i for i in ids)
