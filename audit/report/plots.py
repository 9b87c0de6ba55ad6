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

# Okabe-Ito: distinguishable with the common forms of colour blindness.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
# Group names come from user data: never let "$...$" in them be read as mathtext.
STYLE = {"text.parse_math": False, "font.family": "DejaVu Sans", "svg.hashsalt": "rai-audit"}


def to_data_uri(figure: plt.Figure) -> str:
    buffer = io.BytesIO()
    # Fixed metadata keeps the PNG bytes identical for identical results.
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def shorten(text: str, limit: int = 22) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
