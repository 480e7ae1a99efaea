"""``npulab formgrade OUT [--port N] [--anonymous]``: the grading page of a graded class.

Serves :mod:`npulab.grading.formgrade` on 127.0.0.1 and prints the URL with its token (as
Jupyter does); Ctrl-C stops it.  Every mark is saved to OUT's gradebook database at once.
"""

from __future__ import annotations


def run(args) -> int:
    import getpass
    import logging
    import secrets
    import sys
    from pathlib import Path

    from npulab.grading.formgrade import create_app, make_server
    from npulab.i18n.messages import resolve_lang, t

    lang = resolve_lang(args.lang)
    out = Path(args.out)
    if not out.is_dir():
        raise ValueError(t("fg_no_out", lang, out=str(out)))
    if not 0 <= args.port <= 65535:
        raise ValueError(t("fg_bad_port", lang, port=args.port))
    try:
        grader = args.grader or getpass.getuser()
    except (KeyError, OSError):  # no user name for this uid (a container)
        grader = "instructor"
    token = secrets.token_urlsafe(24)
    app = create_app(out, token=token, anonymous=args.anonymous, grader=grader, lang=lang)
    server = make_server(app, args.port)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no request log (URLs carry the token)
    url = f"http://127.0.0.1:{server.server_port}/?token={token}"
    print(t("fg_serving", lang, url=url), flush=True)
    if args.anonymous:
        print(t("fg_serving_anonymous", lang), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print(t("fg_stopped", lang), file=sys.stderr)
    finally:
        server.server_close()
    if app.config["NPULAB_MARKS_SAVED"]:
        _refresh(out, args.key_file, app.config["NPULAB_MARKS_SAVED"], lang)
    return 0


def _refresh(out, key_file, saved: int, lang: str) -> None:
    """Write gradebook.csv and the feedback pages again from the database (after marks)."""
    import sys

    from npulab.grading.classroom import refresh_outputs
    from npulab.i18n.messages import t

    try:
        pages, bad = refresh_outputs(out, key_file=key_file)
    except ValueError as err:
        print(
            t("fg_not_refreshed", lang, error=str(err).splitlines()[0], out=str(out)),
            file=sys.stderr,
        )
        return
    print(t("fg_refreshed", lang, saved=saved, csv=str(out / "gradebook.csv"), pages=pages))
    if bad:
        print(t("fg_refresh_bad", lang, n=len(bad)), file=sys.stderr)


def add_parser(sub) -> None:
    from npulab.i18n.messages import LANGS, help_lang, t

    h = help_lang()
    p = sub.add_parser(
        "formgrade", help=t("cli_formgrade_help", h), description=t("cli_formgrade_description", h)
    )
    p.add_argument("out", help=t("cli_formgrade_out", h))
    p.add_argument("--port", type=int, default=0, help=t("cli_formgrade_port", h))
    p.add_argument("--anonymous", action="store_true", help=t("cli_formgrade_anonymous", h))
    p.add_argument("--grader", default=None, help=t("cli_formgrade_grader", h))
    p.add_argument("--key-file", default=None, help=t("cli_formgrade_key_file", h))
    p.add_argument("--lang", choices=LANGS, default=None, help=t("cli_formgrade_lang", h))
    p.set_defaults(func=run)
