"""``npulab mutants SOLUTION.ipynb [--json]``: how many plausible wrong answers the tests catch."""
from __future__ import annotations

import argparse
import sys


def run(args) -> int:
    from npulab.grading.mutants import format_report, mutation_report

    def progress(message):
        if not args.json:
            print(message, file=sys.stderr, flush=True)

    reports = [mutation_report(p, isolated=args.isolated, progress=progress,
                               shapes=args.shapes or args.shapes_only, authored=not args.shapes_only,
                               generated=args.generated and not args.shapes_only, seed=args.seed,
                               per_category=args.per_category)
               for p in args.solution]
    if args.json:
        from npulab.cli import print_json

        print_json(reports[0].to_dict() if len(reports) == 1 else [r.to_dict() for r in reports])
    else:
        print("\n\n".join(format_report(r) for r in reports))
    if args.strict:
        for r in reports:
            if r.caught_all < r.total or r.caught_visible < 0.9 * r.total:
                return 1
    return 0


def _natural(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an int >= 0; got {text!r}")
    return value


def add_parser(sub) -> None:
    from npulab.cli import add_json_flag

    p = sub.add_parser("mutants", help="apply each solution cell's mutants and count what the tests catch")
    p.add_argument("solution", nargs="+", help="solution notebook(s) with metadata.npulab.mutants")
    p.add_argument("--isolated", action="store_true",
                   help="one mutant per run (slower; default: the r-th mutant of every exercise together)")
    p.add_argument("--shapes", action=argparse.BooleanOptionalAction, default=True,
                   help="the automatic shape mutants of every exercise (empty, extra axis, transposed, "
                        "scalar), judged by the grader's engine (default: on; --no-shapes: only the "
                        "mutants written in the notebook)")
    p.add_argument("--shapes-only", action="store_true", help="only the automatic shape mutants")
    p.add_argument("--generated", action=argparse.BooleanOptionalAction, default=True,
                   help="the generated mutants of every exercise (rounding mode, off-by-one, wrong "
                        "axis, dtype, missing term; default: on; --no-generated: off)")
    p.add_argument("--seed", type=_natural, default=0, help="seed of the generated mutants' draw (default 0)")
    p.add_argument("--per-category", type=_natural, default=None, metavar="N",
                   help="at most N generated mutants per exercise and category (default 3; 0: all)")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 unless visible tests catch >= 90%% and all tests 100%% of the mutants")
    add_json_flag(p)
    p.set_defaults(func=run)
