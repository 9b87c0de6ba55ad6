"""Shared ground for the report's figures: matplotlib (Agg), palette, style, data: URIs.

Figures are drawn once from the result alone (fairness_plots, explain_plots,
mitigation_plots) and shared by the HTML and the PDF.

Each figure is returned as a ``data:`` URI so the HTML is self-contained and the
PDF renderer never needs to fetch anything.
"""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from matplotlib.ticker import FixedFormatter  # noqa: E402

from audit.text import printable, printable_lines  # noqa: E402

# Okabe-Ito: distinguishable with the common forms of colour blindness.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
# Group names come from user data: never let "$...$" in them be read as mathtext.
STYLE = {"text.parse_math": False, "font.family": "DejaVu Sans", "svg.hashsalt": "rai-audit"}


# No line of text in a figure is longer than this, whatever a label forgot to shorten: a
# 100 kB group name would otherwise make a figure of a hundred million pixels.
LINE_LIMIT = 120


def to_data_uri(figure: plt.Figure) -> str:
    """The figure as a PNG ``data:`` URI; every text in it made printable first.

    Labels are shortened where they are made (:func:`shorten`); this pass is the one place
    every figure goes through, so no label escapes it: control characters never reach
    matplotlib's renderer (its missing-glyph warnings would print them) and no line is long.
    """
    for text in figure.findobj(Text):
        content = text.get_text()
        safe = printable_lines(content, LINE_LIMIT)
        if safe != content:
            text.set_text(safe)
    for axes in figure.axes:
        # Tick labels are re-made from the axis' formatter at drawing time: clean them there.
        for axis in (axes.xaxis, axes.yaxis):
            for formatter in (axis.get_major_formatter(), axis.get_minor_formatter()):
                if isinstance(formatter, FixedFormatter):
                    formatter.seq = [printable_lines(s, LINE_LIMIT) for s in formatter.seq]
    buffer = io.BytesIO()
    # Fixed metadata keeps the PNG bytes identical for identical results.
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def shorten(text: str, limit: int = 22) -> str:
    """A label from data, printable (control characters escaped) and at most ``limit`` long."""
    return printable(text, limit)
