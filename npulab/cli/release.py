"""``npulab release SRC DST [--seed S] [--lang en|ko]``: student notebooks from instructor solutions.

Without ``--lang``, a folder of solutions is released whole: the English labs into ``DST``
and, for every language with a catalog in ``SRC/i18n/<lang>/``, that language's labs into
``DST/<lang>/`` -- so ``labs/`` as a whole is one fresh release of ``solutions/``.
``--lang en`` writes the English labs only; ``--lang ko`` the Korean ones only, into
``DST/ko/`` (prose from ``SRC/i18n/ko/``, see :mod:`npulab.i18n`).  A lab with untranslated
cells keeps their English and is named in a warning line on stderr.
"""
from __future__ import annotations


def run(args) -> int:
    from npulab.grading.release import release

    if args.seed is not None and args.seed < 0:
        raise ValueError(f"--seed must be >= 0; got {args.seed}")
    import sys
    import warnings
    from pathlib import Path

    from npulab.i18n.messages import LANGS, normalize_lang

    src, dst = Path(args.src), Path(args.dst)
    if src.is_dir() and dst.exists() and not dst.is_dir():
        raise ValueError(f"DST {dst} is an existing file; releasing a folder of solutions needs a folder")
    if args.lang is not None:
        langs = [normalize_lang(args.lang)]
    else:  # the whole release: English, then every language that has a catalog
        langs = ["en"] + (sorted(p.name for p in (src / "i18n").iterdir()
                                 if p.is_dir() and p.name in LANGS and p.name != "en")
                          if (src / "i18n").is_dir() else [])
    written = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for lang in langs:
            target = dst / lang if lang != "en" and dst.suffix != ".ipynb" else dst
            written += release(src, target, seed=args.seed, lang=lang)
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
    p.add_argument("--lang", default=None, choices=("en", "ko"),
                   help="release one language only (ko writes DST/ko/); default: English into DST "
                        "and every translated language into DST/<lang>/")
    add_json_flag(p)
    p.set_defaults(func=run)
