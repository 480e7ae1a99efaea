"""``npulab gradebook OUT_LAB00 OUT_LAB01 ... --weights W.yaml --export csv|canvas|moodle FILE``.

Course totals over several labs graded with ``npulab grade`` (each OUT holds its
``gradebook.sqlite``), written in the layout a spreadsheet, Canvas or Moodle imports; see
:mod:`npulab.grading.course` for the formula, ``weights.yaml`` and each layout.
"""

from __future__ import annotations


def run(args) -> int:
    import sys

    from npulab.grading.course import LAYOUTS, course_rows, export_table, read_roster
    from npulab.grading.feedback import write_atomic

    layout, file = args.export
    if layout not in LAYOUTS:
        raise ValueError(f"--export {layout!r}: choose one of {', '.join(LAYOUTS)}")
    specs, rows = course_rows(args.outs, args.weights)
    text = export_table(specs, rows, layout, read_roster(args.roster))
    write_atomic(file, text)
    pending = sum(r.pending_points for r in rows)
    if args.json:
        from npulab.cli import print_json

        print_json(
            {
                "file": str(file),
                "layout": layout,
                "labs": [s.__dict__ for s in specs],
                "students": [r.__dict__ for r in rows],
            }
        )
    else:
        print(f"{len(rows)} student(s), {len(specs)} lab(s): {file} ({layout})")
    if pending:
        print(
            f"note: {pending:g} points of written answers are not graded yet (counted 0); "
            "see npulab marks OUT",
            file=sys.stderr,
        )
    return 0


def add_parser(sub) -> None:
    from npulab.cli import add_json_flag
    from npulab.grading.course import LAYOUTS
    from npulab.i18n.messages import help_lang, t

    h = help_lang()
    p = sub.add_parser(
        "gradebook", help=t("cli_gradebook_help", h), description=t("cli_gradebook_help", h)
    )
    p.add_argument("outs", nargs="+", metavar="OUT", help=t("cli_gradebook_outs", h))
    p.add_argument("--weights", default=None, metavar="YAML", help=t("cli_gradebook_weights", h))
    p.add_argument(
        "--export",
        required=True,
        nargs=2,
        metavar=("LAYOUT", "FILE"),
        help=t("cli_gradebook_export", h, layouts="|".join(LAYOUTS)),
    )
    p.add_argument("--roster", default=None, metavar="CSV", help=t("cli_gradebook_roster", h))
    add_json_flag(p)
    p.set_defaults(func=run)
