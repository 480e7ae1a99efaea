"""Sphinx configuration of the npulab documentation site (`make docs` -> build/docs).

What the site holds and where it comes from:

* the API reference, generated from the docstrings (autodoc + napoleon for numpydoc): one page
  per package of ``npulab``, listing the package's public names (its ``__all__``); the pages are
  written into ``docs/api/`` at the start of every build (gitignored), so a new package gets
  its page without anyone editing the docs;
* the architecture page (``ARCHITECTURE.md``, included with MyST);
* the command-line reference, generated from the argparse parser (sphinx-argparse);
* the student labs (``labs/``, the released notebooks, never ``solutions/``: that would publish
  the answers), copied into ``docs/labs/`` (gitignored) and rendered by MyST-NB as stored,
  without executing them.

Warnings are errors (``make docs`` runs ``sphinx-build -W --keep-going -n``), and a public
name without a docstring is a warning (:func:`_warn_undocumented`).
"""
from __future__ import annotations

import importlib
import os
import pkgutil
import shutil
import sys
from pathlib import Path

from sphinx.util import logging

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))

import npulab  # noqa: E402  (after the path: the checkout's npulab, installed or not)

project = "npulab"
author = "npulab contributors"
copyright = "npulab contributors, MIT license"
release = version = npulab.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinxarg.ext",
    "myst_nb",
]

html_theme = "furo"
html_title = f"npulab {release}"
exclude_patterns = ["_build"]
# A notebook's or README's headings may skip a level (H1 -> H3); that is layout, not a defect.
suppress_warnings = ["myst.header"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}

# --- MyST and the notebooks ------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
nb_execution_mode = "off"            # render what the notebook stores; never run it
nb_merge_streams = True
# Widgets need a live kernel; their stored state is not rendered (text/plain stands in).
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]

# --- autodoc and numpydoc ----------------------------------------------------------------------
autodoc_default_options = {"members": True, "undoc-members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_rtype = False
napoleon_use_param = False           # types as text: numpydoc types ("array_like, shape (M, K)") are prose
# "Attributes" rendered like "Parameters" (text): a dataclass field is then described once, by
# autodoc (:undoc-members:), not a second time as an attribute directive.
napoleon_custom_sections = [("Units", "notes_style"), ("Reference", "notes_style"),
                            ("Attributes", "params_style")]

# Nitpicky (-n): every cross-reference must resolve.  There is no network at build time, so
# there is no intersphinx; names of the libraries npulab builds on, and the builtins a
# signature mentions, are let through by these patterns (anything of npulab's must resolve).
nitpick_ignore_regex = [
    (r"py:.*", r"(numpy|np|torch|nn|matplotlib|plt|nbformat|nbclient|jupyter_client|yaml|dask"
               r"|distributed|pandas|scalesim|zigzag|brevitas|snntorch|nbgrader|traitlets"
               r"|argparse|collections|typing|typing_extensions|pathlib|os|io|concurrent"
               r"|subprocess|dataclasses|enum|json|csv|datetime|random|re|abc|sqlite3)(\..*)?"),
    (r"py:.*", r"(ndarray|ArrayLike|NDArray|Path|Callable|Iterable|Iterator|Sequence|Mapping"
               r"|MutableMapping|Any|Literal|Optional|Union|Self|TextIO|IO|Generator|Protocol"
               r"|Axes|Figure|Tensor|Module|Namespace|ArgumentParser)"),
    (r"py:class", r"(array_like|array-like|optional|default|callable|path-like|file-like)"),
    # an undotted "class" is a word of a type in prose, or of a property's first line that
    # napoleon reads as its type ("Peak: ..."); npulab's own references are dotted or roles
    (r"py:class", r"[^.]*"),
    # a "class" with a space in it is prose: napoleon reads a constant's "#: What.  Units: s"
    # comment as "type: description"
    (r"py:class", r".*\s.*"),
    # private names (``_Layer``, ``_fold_layout``) are not documented, by design
    (r"py:.*", r"(.*\.)?_[A-Za-z].*"),
]

# --- the API pages ------------------------------------------------------------------------------
API = DOCS / "api"
#: Not in the API reference: the command line has its own page (``cli.md``), generated from
#: its parser; ``npulab.cli`` itself (``build_parser`` and the shared helpers) is.
SKIP_PREFIXES = ("npulab.cli.",)


def _api_modules() -> dict[str, list[str]]:
    """Page name -> the modules on it: each package with its public modules, each top module."""
    pages: dict[str, list[str]] = {"npulab": ["npulab"]}
    for info in pkgutil.walk_packages(npulab.__path__, "npulab."):
        name = info.name
        if any(part.startswith("_") for part in name.split(".")) or name.startswith(SKIP_PREFIXES):
            continue
        top = ".".join(name.split(".")[:2])
        pages.setdefault(top, []).append(name)
    return pages


def _section(name: str, underline: str) -> str:
    title = f"``{name}``"
    # each object is documented once, in the module that defines it (:ignore-module-all:): a
    # package's __all__ re-exports names its modules define
    return (f"{title}\n{underline * len(title)}\n\n.. automodule:: {name}\n   :members:\n"
            "   :undoc-members:\n   :ignore-module-all:\n   :show-inheritance:\n\n")


def _write_api_pages() -> None:
    """One page per package (its modules as sections) in ``docs/api/``, and their index."""
    API.mkdir(exist_ok=True)
    pages = _api_modules()
    wanted = {f"{page}.rst" for page in pages} | {"index.rst"}
    for old in API.glob("*.rst"):
        if old.name not in wanted:
            old.unlink()
    for page, modules in pages.items():
        body = _section(modules[0], "=") + "".join(_section(m, "-") for m in modules[1:])
        _write_if_changed(API / f"{page}.rst", body)
    index = ("API reference\n=============\n\n"
             "One page per package of ``npulab``: the package's docstring, then each of its modules\n"
             "with the public names it defines (a package's ``__all__`` re-exports them).\n\n"
             ".. toctree::\n   :maxdepth: 1\n\n" + "".join(f"   {page}\n" for page in pages))
    _write_if_changed(API / "index.rst", index)


def _write_if_changed(path: Path, text: str) -> None:
    """Write ``text`` unless ``path`` holds it already (keeps incremental builds incremental)."""
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


# --- the labs -----------------------------------------------------------------------------------
LABS_SRC = ROOT / "labs"
LABS = DOCS / "labs"


def _copy_labs() -> None:
    """Copy the released student notebooks (English, then Korean) into ``docs/labs``."""
    for sub in ("", "ko"):
        src, dst = LABS_SRC / sub, LABS / sub
        dst.mkdir(parents=True, exist_ok=True)
        for nb in sorted(src.glob("*.ipynb")):
            target = dst / nb.name
            if not target.exists() or target.read_bytes() != nb.read_bytes():
                shutil.copyfile(nb, target)


_write_api_pages()
_copy_labs()

# --- references to re-exported names --------------------------------------------------------------
def _canonical(dotted: str) -> str | None:
    """``npulab.hw.EnergyTable`` -> ``npulab.hw.energy.EnergyTable``: where it is documented."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        rest = parts[cut:]
        break
    else:
        return None
    for i, attr in enumerate(rest):
        try:
            obj = getattr(obj, attr)
        except AttributeError:
            return None
        home = getattr(obj, "__module__", None)
        qual = getattr(obj, "__qualname__", None)
        if isinstance(home, str) and isinstance(qual, str) and home.startswith("npulab"):
            return ".".join([home, qual, *rest[i + 1:]])
    return ".".join(parts[:cut] + rest) if not rest else None


def _data_home(dotted: str, domain) -> str | None:
    """A re-exported constant (no ``__module__``): the documented module that holds the same
    object under the same name."""
    module, _, name = dotted.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError):
        return None
    for modules in _api_modules().values():
        for home in modules:
            if f"{home}.{name}" in domain.objects and getattr(sys.modules.get(home), name, None) is obj:
                return f"{home}.{name}"
    return None


def _resolve_reexport(app, env, node, contnode):
    """Resolve a reference to a name a package re-exports (``npulab.hw.EnergyTable``), or a
    short name of the current module's package, to the object's documentation."""
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip("~.")
    module = node.get("py:module") or ""
    tries = [target] if target.startswith("npulab") else []
    while module:
        tries.append(f"{module}.{target}")
        module = module.rpartition(".")[0]
    domain = env.get_domain("py")
    for dotted in tries:
        canonical = _canonical(dotted) or _data_home(dotted, domain)
        if canonical and canonical != node["reftarget"]:
            found = domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"],
                                        canonical, node, contnode)
            if found is not None:
                return found
    return None


# --- undocumented public names are warnings (hence errors under -W) -----------------------------
_log = logging.getLogger("npulab.docs")
_CHECKED = {"module", "class", "exception", "function", "method", "property"}
#: Public names known to lack a docstring, one per line, left to be documented (they live in
#: modules other work was changing when the check came in).  The list may only shrink: an
#: entry that is documented now, or gone, is a warning too.  After documenting names, rebuild
#: the list with ``NPULAB_DOCS_WRITE_UNDOCUMENTED=1 make docs``.
ALLOWLIST = DOCS / "undocumented.txt"
_ALLOWED = {line.strip() for line in ALLOWLIST.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")} if ALLOWLIST.exists() else set()
_FOUND: set[str] = set()


def _warn_undocumented(app, what, name, obj, options, lines) -> None:
    """Warn about a public module, class, function, method or property without a docstring."""
    if what in _CHECKED and not any(line.strip() for line in lines):
        if any(part.startswith("_") for part in name.split(".")):
            return
        _FOUND.add(name)
        if name not in _ALLOWED:
            _log.warning("undocumented public name: %s (%s)", name, what, type="npulab",
                         subtype="undocumented")


def _check_allowlist(app, exception) -> None:
    """At the end: stale allowlist entries are warnings; optionally rewrite the list."""
    if exception is not None or app.builder.name != "html":
        return
    if os.environ.get("NPULAB_DOCS_WRITE_UNDOCUMENTED"):
        header = [line for line in ALLOWLIST.read_text(encoding="utf-8").splitlines()
                  if line.startswith("#")] if ALLOWLIST.exists() else []
        ALLOWLIST.write_text("\n".join(header + sorted(_FOUND)) + "\n", encoding="utf-8")
        return
    for name in sorted(_ALLOWED - _FOUND):
        _log.warning("docs/undocumented.txt lists %s, which is documented now or gone: remove it",
                     name, type="npulab", subtype="undocumented")


def setup(app):
    app.connect("autodoc-process-docstring", _warn_undocumented)
    app.connect("build-finished", _check_allowlist)
    app.connect("missing-reference", _resolve_reexport)
    return {"parallel_read_safe": False}


# Fail early with one line when a module cannot be imported (autodoc would warn per name).
for _modules in _api_modules().values():
    for _name in _modules:
        importlib.import_module(_name)
