"""Markdown and maths from untrusted text, rendered to HTML that runs nothing.

The grading page (:mod:`npulab.grading.formgrade`) shows each student's written answer as the
student meant it: Markdown (CommonMark, via markdown-it-py) with ``$...$`` and ``$$...$$``
maths (the dollar syntax of Jupyter's Markdown cells, via mdit-py-plugins), the maths
converted on the server to MathML (latex2mathml), which the browser draws natively.
Nothing is fetched and no script runs: students are hostile, so

* raw HTML in the answer is not passed through: markdown-it-py's ``html`` option is off,
  so ``<script>`` and ``<img onerror=...>`` come out as text (escaped);
* links keep markdown-it-py's ``validateLink`` filter (no ``javascript:``, ``vbscript:``,
  ``file:`` or non-image ``data:`` URLs), and every link and image leaving the page is shown
  as its text only: a page with a student's ``![](http://...)`` must not call out;
* maths that latex2mathml cannot convert, or whose MathML carries anything but the tags and
  attributes of presentation MathML, is shown as escaped code.

References
----------
CommonMark spec 0.31, section 4.6 "HTML blocks" and 6.6 "Raw HTML"; W3C MathML Core (2023).
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

__all__ = ["render_markdown", "render_math"]

#: Longest formula converted to MathML; a longer one is shown as code.  Units: characters.
MAX_FORMULA = 2000
#: Attributes a converted formula may carry (anything else, an ``href`` say, rejects it).
_MATH_ATTRS = {
    "xmlns",
    "display",
    "mathvariant",
    "stretchy",
    "fence",
    "separator",
    "form",
    "lspace",
    "rspace",
    "accent",
    "accentunder",
    "movablelimits",
    "largeop",
    "symmetric",
    "minsize",
    "maxsize",
    "width",
    "height",
    "depth",
    "linethickness",
    "columnalign",
    "rowalign",
    "columnspacing",
    "rowspacing",
    "columnlines",
    "rowlines",
    "frame",
    "displaystyle",
    "scriptlevel",
    "mathsize",
    "mathcolor",
    "mathbackground",
    "columnspan",
    "rowspan",
    "notation",
    "align",
    "class",
    "style",
}
_ATTR = re.compile(r"\s([A-Za-z_:][-A-Za-z0-9_:.]*)\s*=")
_STYLE_OK = re.compile(r'style="[-#a-zA-Z0-9:;.,% ]*"')
_STYLE_ANY = re.compile(r'style="[^"]*"')


def render_math(latex: str, *, display: bool = False) -> str:
    """One formula as MathML, or as escaped ``<code>`` when it can't be converted safely.

    Parameters
    ----------
    latex : str
        The TeX between the dollars, untrusted.
    display : bool, default False
        A display formula (``$$...$$``, a block) rather than inline.

    Returns
    -------
    str
        HTML: a ``<math>`` element, or ``<code class="tex">`` with the escaped source.

    Examples
    --------
    >>> render_math("x^2").startswith("<math")
    True
    >>> render_math(r"\\href{javascript:alert(1)}{x}")
    '<code class="tex">$\\\\href{javascript:alert(1)}{x}$</code>'
    """
    fallback = (
        f'<code class="tex">{"$$" if display else "$"}{html.escape(latex)}'
        f"{'$$' if display else '$'}</code>"
    )
    if len(latex) > MAX_FORMULA or not latex.strip():
        return fallback
    try:
        from latex2mathml.converter import convert

        mathml = convert(latex, display="block" if display else "inline")
    except Exception:  # noqa: BLE001 - any failure of the converter on hostile TeX: show it as code
        return fallback
    if not _safe_mathml(mathml):
        return fallback
    return mathml


def _safe_mathml(mathml: str) -> bool:
    """Only presentation-MathML attributes, and style values without ``url(``/``expression``."""
    if "<script" in mathml.lower() or "javascript:" in mathml.lower():
        return False
    for style in _STYLE_ANY.findall(mathml):
        if not _STYLE_OK.fullmatch(style):
            return False
    return all(name.lower() in _MATH_ATTRS for name in _ATTR.findall(mathml))


@lru_cache(maxsize=1)
def _parser():
    from markdown_it import MarkdownIt
    from mdit_py_plugins.dollarmath import dollarmath_plugin

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table")
    md.enable("strikethrough")
    dollarmath_plugin(
        md,
        allow_space=True,
        allow_digits=False,
        double_inline=True,
        renderer=lambda content, options: render_math(
            content, display=bool(options.get("display_mode"))
        ),
    )

    def link_open(self, tokens, idx, options, env):
        href = tokens[idx].attrGet("href") or ""
        text = html.escape(str(href), quote=True)
        return f'<span class="link" title="{text}">'

    def link_close(self, tokens, idx, options, env):
        return "</span>"

    def image(self, tokens, idx, options, env):
        token = tokens[idx]
        alt = "".join(child.content for child in (token.children or []))
        src = html.escape(str(token.attrGet("src") or ""), quote=True)
        return f'<span class="image" title="{src}">[{html.escape(alt) or "image"}]</span>'

    md.add_render_rule("link_open", link_open)
    md.add_render_rule("link_close", link_close)
    md.add_render_rule("image", image)
    return md


def render_markdown(text: str) -> str:
    """Untrusted Markdown (with ``$`` maths) as HTML safe to put in a page.

    Parameters
    ----------
    text : str
        A student's written answer (or the instructor's rubric).

    Returns
    -------
    str
        HTML: no raw HTML from ``text`` survives, links and images are shown as text,
        maths is MathML (see the module docstring).

    Examples
    --------
    >>> render_markdown("**bold** <script>alert(1)</script>")
    '<p><strong>bold</strong> &lt;script&gt;alert(1)&lt;/script&gt;</p>\\n'
    """
    return _parser().render(str(text))
