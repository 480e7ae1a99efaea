"""Exercises that must be built (issue 24 item 1): ``metadata.npulab.forbid`` is enforced.

Three layers are tested: the static check of the answer (every bypass form of the module
docstring of :mod:`npulab.grading.forbid`), the run-time guard in the student's process (a
call hidden where the static check cannot follow it), and the points: ``npulab check`` and
``npulab grade`` (in the OS sandbox) give 0 for every test of a violating exercise and keep the
others.  The labs' own solutions pass their rules (no false positives), and realistic library
bypasses of the real labs are caught.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

import nbformat
import pytest

from npulab.grading.forbid import Forbid, Violation, check_answer, check_notebook, plan_of
from npulab.grading.release import is_solution_code_cell, nbgrader_meta

ROOT = Path(__file__).resolve().parents[2]
RULE = Forbid.from_meta(
    {
        "imports": ["npulab.quant"],
        "calls": ["npulab.systolic.emulate", "np.matmul", "np.dot", ".dot"],
        "operators": ["@"],
        "reason": "write it yourself",
        "reason_ko": "직접 작성하세요",
    }
)

#: name -> an answer that reaches the library (each must be caught by the static check)
BYPASSES = {
    "alias": "import npulab.quant as q\ndef f(x):\n    return q.fp8_encode(x)",
    "from_submodule": "from npulab.quant import fp8\ndef f(x):\n    return fp8.fp8_encode(x)",
    "from_package": "from npulab import quant\ndef f(x):\n    return quant.fp8.fp8_encode(x)",
    "from_function": "from npulab.quant.fp8 import fp8_encode as enc\ndef f(x):\n    return enc(x)",
    "import_inside": "def f(x):\n    import npulab.quant\n"
    "    return npulab.quant.fp8.fp8_encode(x)",
    "attribute_path": "import npulab\ndef f(x):\n    return npulab.quant.fp8.fp8_encode(x)",
    "getattr": "import npulab\ndef f(x):\n    return getattr(npulab, 'quant').fp8.fp8_encode(x)",
    "getattr_computed": "import npulab\ndef f(x):\n"
    "    return getattr(npulab, 'qu' + 'ant').fp8.fp8_encode(x)",
    "dunder_dict": "import npulab\ndef f(x):\n"
    "    return npulab.__dict__['quant'].fp8.fp8_encode(x)",
    "vars": "import npulab\ndef f(x):\n    return vars(npulab)['quant'].fp8.fp8_encode(x)",
    "__import__": "def f(x):\n    return __import__('npulab.quant').quant.fp8.fp8_encode(x)",
    "__import__computed": "def f(x, m='npulab.quant'):\n    return __import__(m)",
    "import_module": "import importlib\ndef f(x):\n"
    "    return importlib.import_module('npulab.quant').fp8.fp8_encode(x)",
    "from_importlib": "from importlib import import_module\ndef f(x):\n"
    "    return import_module('npulab.quant')",
    "sys_modules": "import sys\ndef f(x):\n"
    "    return sys.modules['npulab.quant'].fp8.fp8_encode(x)",
    "eval": "def f(x):\n    return eval('x @ x')",
    "exec": "def f(x):\n    exec('y = 1')\n    return x",
    "setprofile": "import sys\ndef f(x):\n    sys.setprofile(None)\n    return x",
    "builtins": "import builtins\ndef f(x):\n    return builtins.__import__('npulab.quant')",
    "emulate_from": "from npulab.systolic import emulate\ndef f(a, b):\n"
    "    return emulate(a, b, 4, 4, 'os')",
    "emulate_reexport": "import npulab.systolic.emulator as em\ndef f(a, b):\n"
    "    return em.emulate(a, b, 4, 4, 'os')",
    "emulate_stored": "import npulab.systolic as s\nrun = s.emulate\ndef f(a, b):\n"
    "    return run(a, b, 4, 4)",
    "matmul_op": "def f(a, b):\n    return a @ b",
    "matmul_inplace": "def f(a, b):\n    a @= b\n    return a",
    "matmul_dunder": "def f(a, b):\n    return a.__matmul__(b)",
    "operator_matmul": "import operator\ndef f(a, b):\n    return operator.matmul(a, b)",
    "np_matmul": "import numpy as np\ndef f(a, b):\n    return np.matmul(a, b)",
    "numpy_dot": "import numpy\ndef f(a, b):\n    return numpy.dot(a, b)",
    "from_numpy": "from numpy import matmul as mm\ndef f(a, b):\n    return mm(a, b)",
    "method_dot": "def f(a, b):\n    return a.dot(b)",
    "getattr_dot": "def f(a, b):\n    return getattr(a, 'dot')(b)",
}

#: answers that use only what the rule allows (none may be flagged)
LEGIT = {
    "loops": "import numpy as np\ndef f(a, b):\n    out = np.zeros((len(a), len(b[0])))\n"
    "    for i in range(len(a)):\n        for j in range(len(b[0])):\n"
    "            out[i, j] = sum(a[i][k] * b[k][j] for k in range(len(b)))\n    return out",
    "numpy_allowed": "import numpy as np\ndef f(x):\n"
    "    return np.clip(np.round(x / 0.5), -8, 7).astype(np.int8)",
    "shadowing_name": "def f(a, emulate=None, quant=3):\n    dot = 2\n    return quant + dot",
    "other_npulab": "from npulab.hw import ArrayConfig\ndef f():\n    return ArrayConfig(4, 4)",
    "magic_line": "%matplotlib inline\ndef f(x):\n    return x",
    "attribute_named_like": "def f(model):\n    return model.eval()",
}


@pytest.mark.parametrize("name", sorted(BYPASSES))
def test_static_check_catches_every_bypass_form(name):
    found = check_answer(BYPASSES[name], RULE)
    assert isinstance(found, Violation), f"{name} was not caught"
    assert found.kind in ("import", "call", "operator", "dynamic")


@pytest.mark.parametrize("name", sorted(LEGIT))
def test_static_check_lets_legitimate_code_through(name):
    assert check_answer(LEGIT[name], RULE) is None


def test_static_check_follows_helpers_and_aliases_of_earlier_cells():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import npulab.quant as q\nimport numpy as np"),
        nbformat.v4.new_code_cell("def helper(x):\n    return q.fp8.fp8_encode(x)"),
        nbformat.v4.new_code_cell("def f(x):\n    return helper(x)"),
        nbformat.v4.new_code_cell("def g(x):\n    return np.round(x)"),
        nbformat.v4.new_code_cell("def h(a):\n    return np.dot(a, a)"),
    ]
    found = check_notebook(nb, 2, RULE)  # through the helper
    assert (found.kind, found.name) == ("call", "npulab.quant.fp8.fp8_encode")
    assert check_notebook(nb, 3, RULE) is None  # np from the set-up cell is allowed
    assert check_notebook(nb, 4, RULE).name == "numpy.dot"  # np resolved from the set-up cell


def test_rule_is_validated_with_one_line_errors():
    for bad, word in [
        ({"imports": "npulab.quant"}, "imports"),
        ({"operators": ["**"]}, "operator"),
        ({"reasons": "x"}, "reasons"),
        ([], "dict"),
        ({"calls": [""]}, "calls"),
    ]:
        with pytest.raises(ValueError, match=word) as err:
            Forbid.from_meta(bad)
        assert "\n" not in str(err.value)


def test_message_names_the_call_in_english_and_korean():
    v = Violation("call", "npulab.quant.fp8_encode")
    assert (
        v.message(3, RULE, "en")
        == "Exercise 3 may not call npulab.quant.fp8_encode: write it yourself"
    )
    ko = v.message(3, RULE, "ko")
    assert (
        ko.startswith("연습문제 3")
        and "npulab.quant.fp8_encode" in ko
        and ko.endswith("직접 작성하세요")
    )


# --------------------------------------------------------------------------- run time


def _cell(src, gid, **nbg):
    cell = nbformat.v4.new_code_cell(src)
    cell.metadata["nbgrader"] = {
        "grade_id": gid,
        "grade": False,
        "solution": False,
        "locked": False,
        "schema_version": 3,
        **nbg,
    }
    return cell


def _notebook(setup: str, answer: str, *, solution: bool = False):
    """Exercise 1 (``enc``, forbid rule, two tests: 3 + 1 points), exercise 2 (``two``, 1 point)."""
    nb = nbformat.v4.new_notebook()
    body = (
        answer
        if not solution
        else "def enc(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION"
    )
    ans = _cell(body, "enc", solution=True)
    ans.metadata["npulab"] = {
        "forbid": {
            "imports": ["npulab.quant"],
            "calls": ["npulab.systolic.emulate"],
            "reason": "write it yourself",
        }
    }
    nb.cells = [
        _cell(setup, "setup", locked=True),
        ans,
        _cell(
            "assert enc(1.0) == 1.0\n### BEGIN HIDDEN TESTS\nassert enc(2.0) == 2.0\n"
            "### END HIDDEN TESTS",
            "test_enc",
            grade=True,
            points=3,
            locked=True,
        ),
        _cell("assert enc(3.0) == 3.0", "test_enc2", grade=True, points=1, locked=True),
        _cell(
            "def two():\n    ### BEGIN SOLUTION\n    return 2\n    ### END SOLUTION",
            "two",
            solution=True,
        ),
        _cell("assert two() == 2", "test_two", grade=True, points=1, locked=True),
    ]
    return nb


# A call the static check cannot see: the library function is stored through a method call of
# an earlier cell, and the answer calls it by a computed key.
HIDDEN_SETUP = (
    "import numpy as np\nimport npulab.quant as qq\nimport npulab.systolic as sy\nfns = {}\n"
    "fns.update(spec=qq.QuantSpec, emulate=sy.emulate)"
)
RUNTIME = {
    "library_code": "def enc(x):\n    fns['sp' + 'ec'](bits=8)\n    return x",
    "swallowed": "def enc(x):\n    try:\n        fns['sp' + 'ec'](bits=8)\n"
    "    except Exception:\n        pass\n    return x",
    "function": "def enc(x):\n    a = np.ones((2, 2), dtype=int)\n"
    "    fns['emu' + 'late'](a, a, 2, 2, 'os')\n    return x",
    "import_in_call": "def enc(x):\n    imp = fns['imp']\n"
    "    imp('npulab.quant').quant.QuantSpec(bits=8)\n    return x",
    "import_unloaded": "def enc(x):\n    imp = fns['imp']\n"
    "    imp('npulab.quant.brevitas_bridge')\n    return x",
    "only_on_hidden_input": "def enc(x):\n    if x == 2.0:\n        fns['sp' + 'ec'](bits=8)\n"
    "    return x",
}


def _run(nb, tmp_path, lang="en"):
    from npulab.grading.engine import run_notebook_cells, start_driver
    from npulab.grading.isolation import NoSandbox

    with start_driver(tmp_path, sandbox=NoSandbox()) as session:
        run = run_notebook_cells(nb, session, cell_timeout=30, notebook_timeout=120, lang=lang)
    return {o.grade_id: o for o in run.outcomes.values()}


@pytest.mark.parametrize("name", sorted(RUNTIME))
def test_run_time_guard_refuses_what_the_static_check_cannot_see(name, tmp_path):
    setup = HIDDEN_SETUP + ("\nfns.update(imp=__import__)" if name.startswith("import_") else "")
    nb = _notebook(setup, RUNTIME[name])
    assert check_notebook(nb, 1, Forbid.from_meta(nb.cells[1].metadata["npulab"]["forbid"])) is None
    got = _run(nb, tmp_path)
    assert got["test_two"].passed, "the other exercise keeps its points"
    if name == "only_on_hidden_input":  # the visible test passes; the hidden input triggers it
        assert not got["test_enc"].passed and got["test_enc2"].passed is False
    for gid in ("test_enc", "test_enc2"):
        assert not got[gid].passed
        assert got[gid].message.startswith("Exercise 1 may not "), got[gid].message
        assert "npulab.quant" in got[gid].message or "npulab.systolic.emulate" in got[gid].message


def test_legitimate_answer_passes_and_test_imports_keep_working(tmp_path):
    nb = _notebook(HIDDEN_SETUP, "def enc(x):\n    return float(np.float32(x))")
    nb.cells[2].source = (
        "import npulab.quant as q\nassert q.QuantSpec(bits=8).bits == 8\n" + nb.cells[2].source
    )
    got = _run(nb, tmp_path)
    assert all(o.passed for o in got.values()), {k: o.message for k, o in got.items()}


def test_a_rule_on_all_of_npulab_leaves_printing_and_numpy_alone(tmp_path):
    """The driver's own code (its output counter, this guard) lives in npulab too."""
    nb = _notebook(
        "import numpy as np", "def enc(x):\n    print('hello', x)\n    return float(np.float32(x))"
    )
    nb.cells[1].metadata["npulab"]["forbid"] = {"imports": ["npulab"]}
    nb.cells[2].source = (
        "from npulab import Gemm\nassert Gemm(2, 2, 2).macs == 8\n" + nb.cells[2].source
    )
    got = _run(nb, tmp_path)
    assert all(o.passed for o in got.values()), {k: o.message for k, o in got.items()}
    nb = _notebook("import npulab", "def enc(x):\n    return npulab.Gemm(1, 1, 1).macs * x")
    nb.cells[1].metadata["npulab"]["forbid"] = {"imports": ["npulab"]}
    assert _run(nb, tmp_path)["test_enc"].message.startswith("Exercise 1 may not ")


def test_check_reports_in_korean(tmp_path):
    nb = _notebook("import npulab.quant as q", "def enc(x):\n    q.QuantSpec(bits=8)\n    return x")
    nb.cells[1].metadata["npulab"]["forbid"]["reason_ko"] = "직접 작성하세요"
    got = _run(nb, tmp_path, lang="ko")
    assert got["test_enc"].message.startswith("연습문제 1") and got["test_enc"].message.endswith(
        "직접 작성하세요"
    )


def test_grade_in_the_sandbox_zeroes_the_exercise(tmp_path, sandbox_required):
    """``npulab grade``: rules from the SOURCE (the student dropped the metadata), the run-time
    guard inside bubblewrap, 0 for both tests of exercise 1, exercise 2 kept."""
    from npulab.grading import release_notebook
    from npulab.grading.autograde import grade_submission

    source = tmp_path / "src" / "lab.ipynb"
    source.parent.mkdir()
    nbformat.write(_notebook(HIDDEN_SETUP, "", solution=True), source)
    student = release_notebook(nbformat.read(source, as_version=4))
    for cell in student.cells:
        if nbgrader_meta(cell).get("grade_id") == "enc":
            cell.source = RUNTIME["only_on_hidden_input"]
            cell.metadata.pop("npulab", None)
        if nbgrader_meta(cell).get("grade_id") == "two":
            cell.source = "def two():\n    return 2"
    sub = tmp_path / "sub" / "alice.ipynb"
    sub.parent.mkdir()
    nbformat.write(student, sub)
    result = grade_submission(source, sub, cell_timeout=30, notebook_timeout=120, tmp_root=tmp_path)
    got = {o.grade_id: o for o in result.outcomes}
    assert result.status == "ok", result.notes
    assert result.total == 1 and got["test_two"].passed
    assert got["test_enc"].message.startswith("Exercise 1 may not call npulab.quant"), got[
        "test_enc"
    ].message
    assert got["test_enc2"].message == got["test_enc"].message


# --------------------------------------------------------------------------- the real labs


def _solutions():
    return sorted(glob.glob(str(ROOT / "solutions" / "*.ipynb")))


@pytest.mark.parametrize("path", _solutions(), ids=os.path.basename)
def test_every_lab_solution_passes_its_own_rules(path):
    """No false positives: every solution answer of every lab passes its own rule."""
    nb = nbformat.read(path, as_version=4)
    plan = plan_of(nb)  # also validates every rule
    tests = {
        i
        for i, c in enumerate(nb.cells)
        if nbgrader_meta(c).get("grade")
        and c.cell_type == "code"
        and not nbgrader_meta(c).get("solution")
    }
    for index, cell in enumerate(nb.cells):
        gid = nbgrader_meta(cell).get("grade_id")
        if is_solution_code_cell(cell) and gid in plan.answers:
            found = check_notebook(nb, index, plan.answers[gid][1], skip=tests)
            assert found is None, (
                f"{Path(path).name} {gid}: the solution breaks its own rule: {found}"
            )


#: (lab, answer cell, a library bypass a student would write): each earns 0 (issue 24: 20 of 22
#: such answers used to earn full marks).
LAB_BYPASSES = [
    (
        "00_orientation",
        "gemm_counts",
        "def gemm_counts(M, N, K, bytes_per_element=1):\n    g = npulab.Gemm(M, N, K)\n"
        "    return g.macs, g.total_bytes(bytes_per_element)",
    ),
    (
        "00_orientation",
        "roofline_point",
        "from npulab.perf import Roofline\n"
        "def roofline_point(intensity, rows, cols, clock_hz, bandwidth):\n"
        "    r = Roofline(2 * rows * cols * clock_hz, bandwidth)\n    return r",
    ),
    (
        "01_quantization",
        "quantize_affine",
        "def quantize_affine(x, bits):\n"
        "    t = quantize(x, QuantSpec(bits, signed=False, symmetric=False, narrow_range=False))\n"
        "    return t.int_repr, t.scale, int(t.zero_point)",
    ),
    (
        "01_quantization",
        "mse_scale",
        "import npulab.quant as q\ndef mse_scale(x, bits, grid=100):\n"
        "    return q.MSEObserver(grid).observe(x).qparams(q.QuantSpec(bits))[0]",
    ),
    (
        "01_quantization",
        "e4m3_encode",
        "from npulab.quant import fp8_encode\n"
        "def e4m3_encode(x):\n    return fp8_encode(x, 'e4m3')",
    ),
    (
        "01_quantization",
        "e4m3_encode",
        "import torch\ndef e4m3_encode(x):\n"
        "    return torch.tensor(x).to(torch.float8_e4m3fn).view(torch.uint8).numpy()",
    ),
    (
        "02_integer_inference",
        "quantize_multiplier",
        "from npulab import quant\ndef quantize_multiplier(M):\n"
        "    m0, s = quant.quantize_multiplier(M)\n    return int(m0), int(s)",
    ),
    (
        "02_integer_inference",
        "srdhm",
        "import npulab\ndef srdhm(a, b):\n"
        "    return npulab.quant.saturating_rounding_doubling_high_mul(a, b)",
    ),
    (
        "02_integer_inference",
        "rounding_divide_by_pot",
        "def rounding_divide_by_pot(x, n):\n"
        "    return __import__('npulab.quant', fromlist=['x']).rounding_divide_by_pot(x, n)",
    ),
    (
        "02_integer_inference",
        "integer_linear",
        "from npulab import quant\n"
        "def integer_linear(x_q, w_q, bias_q, x_zp, w_zp, m0, shift, y_zp, q_min, q_max, relu):\n"
        "    acc = (x_q - x_zp) @ (w_q - w_zp).T + bias_q\n"
        "    return quant.requantize(acc, m0, shift, y_zp, q_min, q_max, relu)",
    ),
    (
        "03_systolic",
        "os_matmul_by_cycles",
        "def os_matmul_by_cycles(A, B, rows, cols):\n    r = emulate(A, B, rows, cols, 'os')\n"
        "    return r.output, list(r.active_pes[:len(A[0]) + rows + cols - 2])",
    ),
    (
        "03_systolic",
        "os_matmul_by_cycles",
        "import numpy as np\ndef os_matmul_by_cycles(A, B, rows, cols):\n"
        "    A, B = np.asarray(A), np.asarray(B)\n"
        "    busy = [0] * (A.shape[1] + rows + cols - 2)\n    return A @ B, busy",
    ),
    (
        "03_systolic",
        "dataflow_cycles",
        "from npulab.systolic import compute_cycles\n"
        "def dataflow_cycles(M, N, K, rows, cols, dataflow):\n"
        "    return compute_cycles(M, N, K, rows, cols, dataflow)",
    ),
    (
        "03_systolic",
        "sram_traffic",
        "import npulab.systolic.estimate as est\ndef sram_traffic(M, N, K, rows, cols, dataflow):\n"
        "    return est.sram_accesses(M, N, K, rows, cols, dataflow)",
    ),
    (
        "03_systolic",
        "conv_to_gemm",
        "def conv_to_gemm(H, W, C, num_filters, Fh, Fw, stride=1, padding=0, batch=1):\n"
        "    from npulab import Conv2d\n"
        "    g = Conv2d(H + 2 * padding, W + 2 * padding, Fh, Fw, C, num_filters, stride)\n"
        "    g = g.to_gemm()\n"
        "    return batch * g.M, g.N, g.K",
    ),
]


@pytest.mark.parametrize(
    "lab, gid, answer", LAB_BYPASSES, ids=[f"{a}-{b}" for a, b, _ in LAB_BYPASSES]
)
def test_library_bypasses_of_the_real_labs_are_caught(lab, gid, answer):
    nb = nbformat.read(ROOT / "solutions" / f"{lab}.ipynb", as_version=4)
    plan = plan_of(nb)
    assert gid in plan.answers, f"{lab}: {gid} declares no forbid rule"
    index = next(i for i, c in enumerate(nb.cells) if nbgrader_meta(c).get("grade_id") == gid)
    nb.cells[index].source = answer
    tests = {
        i for i, c in enumerate(nb.cells) if nbgrader_meta(c).get("grade") and c.cell_type == "code"
    }
    found = check_notebook(nb, index, plan.answers[gid][1], skip=tests)
    assert found is not None, f"{lab} {gid}: the bypass was not caught"
    assert plan.answers[gid][1].reason, "the rule tells the student why"


def test_every_graded_exercise_of_labs_00_to_03_declares_a_rule():
    for lab in ("00_orientation", "01_quantization", "02_integer_inference", "03_systolic"):
        nb = nbformat.read(ROOT / "solutions" / f"{lab}.ipynb", as_version=4)
        plan = plan_of(nb)
        answers = [nbgrader_meta(c).get("grade_id") for c in nb.cells if is_solution_code_cell(c)]
        assert answers and set(answers) <= set(plan.answers), (
            lab,
            set(answers) - set(plan.answers),
        )
        assert all(r.reason and r.reason_ko for _, r in plan.answers.values()), lab


@pytest.mark.slow
def test_check_of_a_real_lab_gives_0_for_a_hidden_library_call(tmp_path):
    """``npulab check`` on the released Lab 00: Exercise 1 reaches ``Gemm`` through a computed
    name (the static check cannot see it), the run-time guard refuses it; the rest is correct."""
    import shutil

    from npulab.grading import release_notebook
    from npulab.grading.selfcheck import check

    src = nbformat.read(ROOT / "solutions" / "00_orientation.ipynb", as_version=4)
    solved = {
        nbgrader_meta(c).get("grade_id"): c.source for c in src.cells if is_solution_code_cell(c)
    }
    nb = release_notebook(src)
    for cell in nb.cells:
        gid = nbgrader_meta(cell).get("grade_id")
        if gid in solved:
            cell.source = solved[gid]  # the solution (its markers are comments)
        if gid == "gemm_counts":
            cell.source = (
                "def gemm_counts(M, N, K, bytes_per_element=1):\n"
                "    g = getattr(globals()['npu' + 'lab'], 'Ge' + 'mm')(M, N, K)\n"
                "    return g.macs, g.total_bytes(bytes_per_element)"
            )
    lab = tmp_path / "lab"
    shutil.copytree(ROOT / "labs", lab, ignore=shutil.ignore_patterns("ko", "*.ipynb"))
    nbformat.write(nb, lab / "00_orientation.ipynb")
    result = check(lab / "00_orientation.ipynb", timeout=120)
    got = {o.grade_id: o for o in result.outcomes}
    assert got["test_gemm_counts"].message.startswith("Exercise 1 may not call npulab.workloads"), (
        got["test_gemm_counts"].message
    )
    assert all(o.passed for g, o in got.items() if g != "test_gemm_counts"), result
