"""``npulab check LAB.ipynb``: a learner's self-check on the visible tests.

Exit code 0 when every visible test passes, 1 otherwise, 2 for a bad file.  A cell that
runs past ``--timeout`` is interrupted and reported; hidden tests are not in the learner's
notebook, so they never run here.
"""
from __future__ import annotations


def run(args) -> int:
    from npulab.grading import check

    result = check(args.notebook, timeout=args.timeout)
    if args.json:
        from npulab.cli import print_json

        print_json({
            "notebook": result.notebook,
            "score": result.score,
            "max_score": result.max_score,
            "tests": [
                {"grade_id": o.grade_id, "points": o.points, "passed": o.passed, "message": o.message}
                for o in result.outcomes
            ],
            "notes": list(result.notes),
        })
    else:
        print(result)
    return 0 if result.all_passed else 1


def add_parser(sub) -> None:
    from npulab.cli import add_json_flag

    p = sub.add_parser("check", help="self-check a lab notebook on its visible tests")
    p.add_argument("notebook", help="the saved lab notebook (.ipynb)")
    p.add_argument("--timeout", type=float, default=300.0,
                   help="seconds per cell; a slower cell is interrupted (default 300)")
    add_json_flag(p)
    p.set_defaults(func=run)
