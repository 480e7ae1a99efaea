"""``npulab grade SOURCE.ipynb SUBMISSIONS_DIR --out OUT_DIR``: autograde a class.

Writes ``OUT_DIR/gradebook.csv``, ``OUT_DIR/feedback/<student>.html`` and
``OUT_DIR/summary.json``; see :mod:`npulab.grading.classroom` for the layouts and
:mod:`npulab.grading.autograde` for the safety rules and statuses.
"""
from __future__ import annotations


def run(args) -> int:
    from npulab.grading.classroom import grade_class

    run_ = grade_class(args.source, args.submissions, args.out, cell_timeout=args.timeout,
                       notebook_timeout=args.notebook_timeout, workers=args.workers, force=args.force,
                       memory_mb=args.memory_mb, students=args.student or None,
                       progress=not args.no_progress)
    if args.json:
        import json

        from npulab.cli import print_json

        summary = json.loads((run_.out / "summary.json").read_text(encoding="utf-8"))
        print_json({**summary, "graded": list(run_.graded), "reused": list(run_.reused),
                    "out": str(run_.out), "results": [r.to_dict() for r in run_.results]})
        return 0
    width = max([7] + [len(r.student) for r in run_.results])
    print(f"{'student':<{width}}  {'points':>11}  status")
    for r in run_.results:
        print(f"{r.student:<{width}}  {r.total:>5g} / {r.max_score:<3g}  {r.status}")
    not_ok = sum(r.status != "ok" for r in run_.results)
    print(f"\n{len(run_.results)} students ({len(run_.graded)} graded now, {len(run_.reused)} kept from "
          f"an earlier run; {not_ok} with a problem status) in {run_.seconds:.1f} s")
    print(f"gradebook: {run_.out / 'gradebook.csv'}\nfeedback:  {run_.out / 'feedback'}/<student>.html\n"
          f"summary:   {run_.out / 'summary.json'}")
    return 0


def add_parser(sub) -> None:
    from npulab.cli import add_json_flag

    p = sub.add_parser("grade", help="autograde every submission of one lab (gradebook, feedback)",
                       description="Grade SUBMISSIONS_DIR/<student>/<lab>.ipynb or "
                       "SUBMISSIONS_DIR/<student>.ipynb against the test cells (hidden ones "
                       "included) of SOURCE, each in its own sandboxed kernel.")
    p.add_argument("source", help="the instructor's notebook, e.g. solutions/00_orientation.ipynb")
    p.add_argument("submissions", help="folder with one notebook or folder per student")
    p.add_argument("--out", required=True, help="output folder (gradebook.csv, feedback/, summary.json)")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds allowed per cell (default 60)")
    p.add_argument("--notebook-timeout", type=float, default=None,
                   help="seconds allowed per notebook (default 10 x --timeout)")
    p.add_argument("--workers", type=int, default=1, help="submissions graded in parallel (default 1)")
    p.add_argument("--force", action="store_true", help="re-grade students already graded in OUT_DIR")
    p.add_argument("--memory-mb", type=float, default=2048.0, help="memory limit per kernel in MiB (default 2048)")
    p.add_argument("--student", action="append", metavar="ID",
                   help="grade only this student (repeatable); re-grades them even if already graded")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_json_flag(p)
    p.set_defaults(func=run)
