"""``npulab check LAB.ipynb``: a learner's self-check on the visible tests.

The saved file is run in a fresh process (the report's ``Checked:`` line says so); a
progress bar goes to stderr when it is a terminal.  Exit code 0 when every visible test
passes, 1 otherwise (a failing or modified test, or no tests found), 2 for a bad file or
flag (``--timeout`` must be > 0).  A cell that runs past ``--timeout`` is interrupted and
reported; hidden tests are not in the learner's notebook, so they never run here.  The
notebook's process is always shut down at the end.
"""
from __future__ import annotations


def run(args) -> int:
    import sys

    from npulab.grading import check

    result = check(args.notebook, timeout=args.timeout, lang=args.lang, source="file",
                   progress=sys.stderr.isatty())
    if args.json:
        from npulab.cli import print_json

        exercises = list(result.exercises)
        exercises += [None] * (len(result.outcomes) - len(exercises))
        print_json({
            "notebook": result.notebook,
            "checked": result.checked,
            "score": result.score,
            "max_score": result.max_score,
            "tests": [
                {"grade_id": o.grade_id, "points": o.points, "passed": o.passed,
                 "message": o.message, "exercise": ex.number if ex else None,
                 "name": ex.name if ex else None}
                for o, ex in zip(result.outcomes, exercises, strict=True)
            ],
            "written": [{"grade_id": w.grade_id, "points": w.points, "answered": w.answered}
                        for w in result.written],
            "notes": list(result.notes),
            "modified": list(result.modified),
        })
    else:
        print(result)
    return 0 if result.all_passed else 1


def add_parser(sub) -> None:
    from npulab.cli import add_json_flag
    from npulab.i18n.messages import LANGS, help_lang, t

    h = help_lang()  # --help in the language of --lang, else LANG (ko_KR.* -> Korean)
    p = sub.add_parser("check", help=t("cli_check_help", h), description=t("cli_check_help", h))
    p.add_argument("notebook", help=t("cli_check_notebook", h))
    p.add_argument("--timeout", type=float, default=300.0, help=t("cli_check_timeout", h))
    p.add_argument("--lang", choices=LANGS, default=None, help=t("cli_lang", h))
    add_json_flag(p)
    p.set_defaults(func=run)
