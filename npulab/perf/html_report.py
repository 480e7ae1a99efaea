"""A self-contained HTML report of a scorecard: styled table and the figure inline.

``npulab scorecard --html F.html`` writes it: one file, no external CSS, scripts or image
files (the figure is a base64 PNG ``data:`` URI), so it can be mailed or attached as is.
"""
from __future__ import annotations

import base64
import html
import io

__all__ = ["scorecard_html"]

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto;
       max-width: 1400px; color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
p.meta { color: #666; margin-top: 0; }
table { border-collapse: collapse; width: 100%; font-size: 0.9em; margin: 1em 0 2em; }
th { background: #2b4c7e; color: #fff; text-align: left; padding: 6px 8px; position: sticky; top: 0; }
td { padding: 4px 8px; border-bottom: 1px solid #e3e3e3; white-space: nowrap; }
tr:nth-child(even) td { background: #f6f8fb; }
tr:hover td { background: #e8f0fe; }
figure { margin: 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { color: #555; font-size: 0.9em; margin-top: 0.4em; }
"""


def _figure_png(card) -> str:
    """The scorecard figure as base64 PNG text."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig = card.plot()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def scorecard_html(card, title: str = "npulab scorecard") -> str:
    """A complete HTML document: title, the scorecard table (styled) and its figure inline."""
    from npulab import __version__

    figure = ""
    if card.reports:
        figure = (f'<figure><img alt="energy split and latency vs energy" '
                  f'src="data:image/png;base64,{_figure_png(card)}"/>'
                  f"<figcaption>Top: where each result's energy goes, grouped by workload. "
                  f"Bottom: latency vs energy per inference or token.</figcaption></figure>")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"/>'
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{html.escape(title)}</h1><p class=\"meta\">npulab {html.escape(__version__)}: "
            f"{len(card.reports)} result(s)</p>{card.to_html()}{figure}</body></html>\n")
