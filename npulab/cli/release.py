"""``npulab release SRC DST``: student notebooks from instructor solutions."""
from __future__ import annotations


def run(args) -> int:
    from npulab.grading import release

    written = release(args.src, args.dst)
    if args.json:
        from npulab.cli import print_json

        print_json({"released": [str(p) for p in written]})
    else:
        for path in written:
            print(f"released {path}")
    return 0


def add_parser(sub) -> None:
    from npulab.cli import add_json_flag

    p = sub.add_parser("release", help="write student labs from solutions (stubs, no hidden tests)")
    p.add_argument("src", help="solutions folder or one .ipynb")
    p.add_argument("dst", help="labs folder to write")
    add_json_flag(p)
    p.set_defaults(func=run)
