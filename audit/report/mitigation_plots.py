"""The mitigation trade-off chart: accuracy against the chosen disparity, Pareto front marked.

Drawn from ``result["mitigation"]`` alone (like every figure, see :mod:`audit.report.plots`),
so ``rai-audit report results.json`` redraws it without data or models.
"""

from __future__ import annotations

import textwrap
from typing import Any

from matplotlib.patches import Rectangle

from audit.report.plots import PALETTE, STYLE, plt, readable_axes, shorten_all, to_data_uri

STAGE_COLOURS = {
    "none": "#000000",
    "pre-processing": PALETTE[0],
    "in-processing": PALETTE[1],
    "post-processing": PALETTE[2],
}


def tradeoff_chart(mitigation: dict[str, Any]) -> str | None:
    """Scatter of (disparity, accuracy) per strategy; None when nothing can be drawn.

    Each point is numbered as in the comparison table. Pareto-optimal strategies are
    filled and joined by the front; dominated ones are hollow. Horizontal bars show
    the disparity's confidence interval when the metrics engine provides one. A randomized
    strategy is plotted at its expected rates, with a dotted box around the range of its
    single draws (disparity and accuracy).
    """
    rows = [r for r in mitigation.get("strategies", []) if r["disparity"]["value"] is not None]
    if mitigation.get("status") != "ran" or not rows:
        return None
    with plt.rc_context(STYLE):
        return _tradeoff_chart(mitigation, rows)


def _tradeoff_chart(mitigation: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    every = mitigation["strategies"]
    figure, axes = plt.subplots(figsize=(7.0, 4.2), layout="constrained")
    for row in rows:
        number = every.index(row) + 1
        x, y = row["disparity"]["value"], row["accuracy"]
        colour = STAGE_COLOURS.get(row["stage"], PALETTE[3])
        ci = row["disparity"].get("ci")
        if ci and ci[0] is not None and ci[1] is not None:
            axes.errorbar(
                x, y, xerr=[[x - ci[0]], [ci[1] - x]], color=colour, alpha=0.5, capsize=3, lw=1
            )
        spread = row.get("draws") or {}
        if spread.get("disparity") and spread.get("accuracy"):
            (left, right), (bottom, top) = spread["disparity"], spread["accuracy"]
            box = Rectangle((left, bottom), right - left, top - bottom, fill=False, lw=1)
            box.set(edgecolor=colour, linestyle=":", zorder=2)
            axes.add_patch(box)
        axes.scatter(
            [x],
            [y],
            s=90 if row["name"] == "baseline" else 70,
            marker="s" if row["name"] == "baseline" else "o",
            facecolors=colour if row["pareto_optimal"] else "white",
            edgecolors=colour,
            linewidths=1.8,
            zorder=3,
        )
        axes.annotate(str(number), (x, y), xytext=(6, 5), textcoords="offset points", fontsize=9)
    ratio = mitigation["disparity"]["better"] == "higher"
    front = sorted((r for r in rows if r["pareto_optimal"]), key=lambda r: r["disparity"]["value"])
    if len(front) > 1:
        axes.plot(
            [r["disparity"]["value"] for r in front],
            [r["accuracy"] for r in front],
            color="#777777",
            lw=1,
            ls="--",
            zorder=1,
            label="Pareto front",
        )
    for stage, colour in STAGE_COLOURS.items():
        if any(r["stage"] == stage for r in rows):
            axes.scatter(
                [],
                [],
                marker="s" if stage == "none" else "o",
                color=colour,
                label="baseline" if stage == "none" else stage,
            )
    axes.scatter([], [], facecolors="white", edgecolors="#555555", label="dominated (hollow)")
    if any(r.get("draws") for r in rows):
        axes.plot([], [], color="#555555", ls=":", lw=1, label="range of single draws")
    disparity = mitigation["disparity"]
    fairer = "right" if ratio else "left"
    # Two lines rather than one wider than the figure (a scope names every sensitive feature).
    xlabel = f"{disparity['label']} ({disparity['scope']}); fairer to the {fairer}"
    axes.set_xlabel(textwrap.fill(xlabel, 90, max_lines=2, placeholder=" …"))
    cross_fitted = (mitigation.get("fitting") or {}).get("how") == "cross-fitted"
    axes.set_ylabel(f"accuracy on the {'rows, out of fold' if cross_fitted else 'held-out rows'}")
    axes.set_title("Fairness / accuracy trade-off of the mitigation strategies")
    # Beside the axes, never over a point; the layout engine makes room for it.
    figure.legend(fontsize=8, frameon=False, loc="outside right upper")
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(alpha=0.3)
    readable_axes(axes)
    labels = shorten_all((r["label"] for r in rows), 48)
    entries = [f"{every.index(r) + 1}  {label}" for r, label in zip(rows, labels, strict=True)]
    key = "\n".join("      ".join(entries[i : i + 2]) for i in range(0, len(entries), 2))
    figure.text(0.01, -0.01, key, fontsize=7.5, color="#444444", va="top", family="DejaVu Sans")
    return to_data_uri(figure)
