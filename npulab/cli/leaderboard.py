"""``npulab leaderboard OUT [--csv FILE]``: the Lab 08 class leaderboard from a grade run.

Reads ``OUT/capstone.json`` (the trusted evaluation of each design, recorded by the grader),
``OUT/gradebook.csv`` and ``OUT/summary.json``; see :mod:`npulab.grading.leaderboard` for the
ranking rule and the Pareto front.  The name follows the other subcommands: one noun for what
it prints (``scorecard``, ``sweep``).
"""

from __future__ import annotations


def _fmt(value, spec: str) -> str:
    return "" if value is None else format(value, spec)


def run(args) -> int:
    from npulab.grading.feedback import shown, write_atomic
    from npulab.grading.leaderboard import leaderboard, leaderboard_csv
    from npulab.metrics.report import render_table

    board = leaderboard(args.out, test=args.test)
    if args.csv:
        from pathlib import Path

        write_atomic(Path(args.csv), leaderboard_csv(board, args.test))
    if args.json:
        from npulab.cli import print_json

        print_json(board)
        return 0
    head = ["rank", "student", "power (W)", "area (mm2)", "plan (s)", "fps", "Pareto", "note"]
    cells = [
        [
            "" if e["rank"] is None else str(e["rank"]),
            shown(e["student"], 40),
            _fmt(e["power_w"], ".4f"),
            _fmt(e["area_mm2"], ".3f"),
            _fmt(e["plan_s"], ".3f"),
            _fmt(e["fps"], ".1f"),
            "*" if e["pareto"] else "",
            shown(e["note"], 60),
        ]
        for e in board
    ]
    print(render_table(head, cells))
    ranked = sum(e["rank"] is not None for e in board)
    print(
        f"\n{ranked} of {len(board)} designs ranked; * = on the Pareto front "
        "(power, area, plan latency)" + (f"; CSV: {args.csv}" if args.csv else "")
    )
    return 0


def add_parser(sub) -> None:
    from npulab.cli import add_json_flag
    from npulab.i18n.messages import help_lang, t

    h = help_lang()
    p = sub.add_parser(
        "leaderboard",
        help=t("cli_leaderboard_help", h),
        description=t("cli_leaderboard_description", h),
    )
    p.add_argument("out", help=t("cli_leaderboard_out", h))
    p.add_argument("--csv", default=None, metavar="FILE", help=t("cli_leaderboard_csv", h))
    p.add_argument(
        "--test", default="test_my_design", metavar="GRADE_ID", help=t("cli_leaderboard_test", h)
    )
    add_json_flag(p)
    p.set_defaults(func=run)
