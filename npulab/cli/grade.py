"""``npulab grade SOURCE.ipynb SUBMISSIONS_DIR --out OUT_DIR``: autograde a class.

Writes ``OUT_DIR/gradebook.csv``, ``OUT_DIR/feedback/<student>.html`` and
``OUT_DIR/summary.json``; see :mod:`npulab.grading.classroom` for the layouts and
:mod:`npulab.grading.autograde` for the safety rules and statuses.
"""
from __future__ import annotations


def run(args) -> int:
    import sys

    from npulab.grading.classroom import Stopped, grade_class

    try:
        run_ = grade_class(args.source, args.submissions, args.out, cell_timeout=args.timeout,
                           notebook_timeout=args.notebook_timeout, workers=args.workers, force=args.force,
                           memory_mb=args.memory_mb, students=args.student or None,
                           progress=not args.no_progress, sandbox=not args.no_sandbox, seed=args.seed,
                           key_file=args.key_file, lang=args.lang,
                           dask=args.dask)
    except (KeyboardInterrupt, Stopped):
        print(stopped_advice(args.out, force=args.force, lang=args.lang), file=sys.stderr)
        return 130
    if args.json:
        import json

        from npulab.cli import print_json

        summary = json.loads((run_.out / "summary.json").read_text(encoding="utf-8"))
        print_json({**summary, "graded": list(run_.graded), "reused": list(run_.reused),
                    "out": str(run_.out), "results": [r.to_dict() for r in run_.results]})
        return 0
    from npulab.grading.feedback import shown  # student ids never reach the terminal raw

    names = {r.student: shown(r.student, 60) for r in run_.results}
    width = max([7] + [len(n) for n in names.values()])
    print(f"{'student':<{width}}  {'autograded':>11}  status")
    for r in run_.results:
        print(f"{names[r.student]:<{width}}  {r.total:>5g} / {r.max_score:<3g}  {r.status}")
    not_ok = sum(r.status != "ok" for r in run_.results)
    if run_.bad_signatures:
        print(f"\nregraded {len(run_.bad_signatures)} stored result(s) whose signature did not verify: "
              + ", ".join(shown(b, 60) for b in run_.bad_signatures))
    if args.no_sandbox:
        print("\nWARNING: graded without the OS sandbox (--no-sandbox)")
    print(f"\n{len(run_.results)} students ({len(run_.graded)} graded now, {len(run_.reused)} kept from "
          f"an earlier run; {not_ok} with a problem status) in {run_.seconds:.1f} s")
    print(f"gradebook: {run_.out / 'gradebook.csv'}\nfeedback:  {run_.out / 'feedback'}/<student>.html\n"
          f"summary:   {run_.out / 'summary.json'}")
    pending = _written_pending(run_.out)
    if pending:
        from npulab.i18n.messages import t

        print(t("grade_written_pending", args.lang, pending=pending, out=run_.out))
    return 0


def stopped_advice(out, *, force: bool, lang=None) -> str:
    """What ``npulab grade`` says after Ctrl-C/SIGTERM: how to resume.  After ``--force`` the
    advice is to drop ``--force`` (with it, the rerun would grade every student again).

    >>> "WITHOUT --force" in stopped_advice("out", force=True, lang="en")
    True
    """
    from npulab.i18n.messages import t

    return t("grade_stopped_force" if force else "grade_stopped", lang, out=out)


def _written_pending(out) -> int:
    """Written answers in ``out``'s gradebook still to grade (pending or stale)."""
    from npulab.grading.gradebook_db import DB_NAME, open_gradebook

    if not (out / DB_NAME).is_file():
        return 0
    with open_gradebook(out, create=False) as book:
        return sum(1 for q in book.questions("written") for a in book.written_answers(q.grade_id)
                   if book.mark_state(a.student, q.grade_id) in ("pending", "stale"))


def add_parser(sub) -> None:
    from npulab.cli import add_json_flag
    from npulab.i18n.messages import LANGS, help_lang, t

    h = help_lang()  # --help in the language of --lang, else LANG (ko_KR.* -> Korean)
    p = sub.add_parser("grade", help=t("cli_grade_help", h), description=t("cli_grade_description", h))
    p.add_argument("source", help=t("cli_grade_source", h))
    p.add_argument("submissions", help=t("cli_grade_submissions", h))
    p.add_argument("--out", required=True, help=t("cli_grade_out", h))
    p.add_argument("--timeout", type=float, default=60.0, help=t("cli_grade_timeout", h))
    p.add_argument("--notebook-timeout", type=float, default=None,
                   help=t("cli_grade_notebook_timeout", h))
    p.add_argument("--workers", type=int, default=1, help=t("cli_grade_workers", h))
    p.add_argument("--force", action="store_true", help=t("cli_grade_force", h))
    p.add_argument("--memory-mb", type=float, default=2048.0,
                   help=t("cli_grade_memory", h))
    p.add_argument("--student", action="append", metavar="ID",
                   help=t("cli_grade_student", h))
    p.add_argument("--no-progress", action="store_true", help=t("cli_grade_no_progress", h))
    p.add_argument("--no-sandbox", action="store_true",
                   help=t("cli_grade_no_sandbox", h))
    p.add_argument("--seed", type=int, default=None,
                   help=t("cli_grade_seed", h))
    p.add_argument("--key-file", default=None,
                   help=t("cli_grade_key_file", h))
    p.add_argument("--lang", choices=LANGS, default=None, help=t("cli_grade_lang", h))
    p.add_argument("--dask", default=None, metavar="ADDRESS", help=t("cli_grade_dask", h))
    add_json_flag(p)
    p.set_defaults(func=run)
