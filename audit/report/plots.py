"""Figures for the report, drawn once with matplotlib (Agg) from the result alone.

Each figure is returned as a ``data:`` URI so the HTML is self-contained and the
PDF renderer never needs to fetch anything.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

# Okabe-Ito: distinguishable with the common forms of colour blindness.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
BY_GROUP_METRICS = (("selection_rate", "Selection rate"), ("tpr", "TPR"), ("fpr", "FPR"))
# Group names come from user data: never let "$...$" in them be read as mathtext.
STYLE = {"text.parse_math": False, "font.family": "DejaVu Sans", "svg.hashsalt": "rai-audit"}


def _to_data_uri(figure: plt.Figure) -> str:
    buffer = io.BytesIO()
    # Fixed metadata keeps the PNG bytes identical for identical results.
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def by_group_chart(feature: dict[str, Any]) -> str:
    """Grouped bars: selection rate, TPR and FPR for each group of one sensitive feature."""
    with plt.rc_context(STYLE):
        return _by_group_chart(feature)


def _by_group_chart(feature: dict[str, Any]) -> str:
    groups = [row["group"] for row in feature["groups"]]
    x = np.arange(len(groups))
    width = 0.8 / len(BY_GROUP_METRICS)
    figure, axes = plt.subplots(figsize=(max(5.0, 1.1 * len(groups) + 2), 3.2))
    for i, (key, label) in enumerate(BY_GROUP_METRICS):
        values = [np.nan if row[key] is None else row[key] for row in feature["groups"]]
        axes.bar(x + (i - 1) * width, values, width, label=label, color=PALETTE[i])
    axes.set_xticks(x, [_short(g) for g in groups], rotation=20 if len(groups) > 4 else 0)
    axes.set_ylim(0, 1)
    axes.set_ylabel("rate")
    axes.set_title(f"Rates by group: {_short(feature['feature'], 50)}")
    axes.legend(ncols=3, fontsize=8, loc="upper right", frameon=False)
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="y", alpha=0.3)
    return _to_data_uri(figure)


def _short(text: str, limit: int = 22) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
