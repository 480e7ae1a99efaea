"""``npulab release SRC DST [--seed S] [--lang ko]``: student notebooks from instructor solutions.

``--lang ko`` writes the Korean labs into ``DST/ko/`` (prose from ``SRC/i18n/ko/``, see
:mod:`npulab.i18n`); a lab with untranslated cells keeps their English and is named in a
warning line on stderr.
"""
from __future__ import annotations


def run(args) -> int:
    from npulab.grading.release import release

    if args.seed is not None and args.seed < 0:
        raise ValueError(f"--seed must be >= 0; got {args.seed}")
    import sys
    import warnings
    from pathlib import Path

    from npulab.i18n.messages import normalize_lang

    lang = normalize_lang(args.lang)
    dst = Path(args.dst)
    if Path(args.src).is_dir() and dst.exists() and not dst.is_dir():
        raise ValueError(f"DST {dst} is an existing file; releasing a folder of solutions needs a folder")
    if lang != "en" and dst.suffix != ".ipynb":
        dst = dst / lang
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        written = release(args.src, dst, seed=args.seed, lang=lang)
    for w in caught:
        print(f"npulab release: warning: {w.message}", file=sys.stderr)
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
    p.add_argument("--seed", type=int, default=None, metavar="S",
                   help="course offering's secret seed: stamps its fingerprint "
                        "(metadata.npulab.course_seed_check) so `npulab grade --seed` can verify it")
    p.add_argument("--lang", default="en", choices=("en", "ko"),
                   help="language of the labs' prose and stub messages; ko writes DST/ko/ (default en)")
    add_json_flag(p)
    p.set_defaults(func=run)
