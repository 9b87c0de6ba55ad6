"""Fairness figures with their uncertainty: group rates with intervals, verdicts against bounds.

Drawn from the result alone (as every figure), returned as ``data:`` URIs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from audit.report.plots import (
    PALETTE,
    STYLE,
    legend_below,
    plt,
    readable_axes,
    shorten,
    shorten_all,
    to_data_uri,
)

CLASSIFICATION_RATES = (("selection_rate", "Selection rate"), ("tpr", "TPR"), ("fpr", "FPR"))
REGRESSION_VALUES = (("mean_prediction", "Mean prediction"), ("mean_target", "Mean target"))
VERDICT_COLOURS = {
    "pass": "#009E73",
    "fail": "#D55E00",
    "inconclusive": "#E69F00",
    "insufficient data": "#999999",
}


def _values(rows: list[dict[str, Any]], key: str) -> tuple[np.ndarray, np.ndarray]:
    """Values and asymmetric error-bar lengths (NaN where undefined)."""
    values = np.array([np.nan if r.get(key) is None else r[key] for r in rows], dtype=float)
    errors = np.zeros((2, len(rows)))
    for i, row in enumerate(rows):
        ci = (row.get("ci") or {}).get(key)
        if ci is not None and not np.isnan(values[i]):
            errors[:, i] = [max(values[i] - ci[0], 0.0), max(ci[1] - values[i], 0.0)]
    return values, errors


def group_chart(feature: dict[str, Any]) -> str:
    """Grouped bars with interval whiskers for each group of one feature or intersection.

    Classification: selection rate, TPR and FPR; regression: mean prediction and mean
    target. Groups with too few rows are hatched.
    """
    with plt.rc_context(STYLE):
        rows = feature["groups"]
        regression = "mae" in rows[0]
        series = REGRESSION_VALUES if regression else CLASSIFICATION_RATES
        groups = [r["group"] for r in rows]
        x = np.arange(len(groups))
        width = 0.8 / len(series)
        # No wider than the PDF's page shows it without shrinking its type; many groups'
        # labels are turned instead (see plots.untangle_ticks), and only beyond some 25
        # groups, when even upright labels would touch, is it wider.
        inches = max(min(7.5, max(5.0, 0.9 * len(groups) + 2.5)), 0.26 * len(groups) + 1.2)
        figure, axes = plt.subplots(figsize=(inches, 3.6), layout="constrained")
        for i, (key, label) in enumerate(series):
            values, errors = _values(rows, key)
            offset = (i - (len(series) - 1) / 2) * width
            bars = axes.bar(x + offset, values, width, label=label, color=PALETTE[i])
            axes.errorbar(
                x + offset,
                values,
                yerr=errors,
                fmt="none",
                ecolor="#333333",
                elinewidth=0.8,
                capsize=2,
            )
            for bar, row in zip(bars, rows, strict=True):
                if row.get("insufficient"):
                    bar.set_hatch("///")
                    bar.set_alpha(0.5)
        # Turned only when they would touch (see plots.untangle_ticks).
        axes.set_xticks(x, shorten_all(groups))
        if not regression:
            axes.set_ylim(0, 1)
            axes.set_ylabel("rate")
        axes.set_title(
            f"By group: {shorten(feature['feature'], 50)} (bars: value, whiskers: interval)",
            fontsize=9,
        )
        legend_below(figure, ncols=len(series))
        axes.spines[["top", "right"]].set_visible(False)
        axes.grid(axis="y", alpha=0.3)
        readable_axes(axes)
        return to_data_uri(figure)


def verdict_chart(verdicts: list[dict[str, Any]]) -> str | None:
    """Each verdict's value and interval against its bound, coloured by verdict."""
    if not verdicts:
        return None
    with plt.rc_context(STYLE):
        shown = verdicts[:40]
        height = max(2.0, 0.32 * len(shown) + 1.0)
        figure, axes = plt.subplots(figsize=(7.0, height), layout="constrained")
        for i, verdict in enumerate(shown):
            y = len(shown) - 1 - i
            colour = VERDICT_COLOURS.get(verdict["verdict"], "#000000")
            ci, value = verdict.get("ci"), verdict.get("value")
            if ci is not None:
                axes.plot(ci, [y, y], color=colour, linewidth=2.2, solid_capstyle="butt")
            if value is not None:
                axes.plot([value], [y], "o", color=colour, markersize=4)
            axes.plot([verdict["bound"]] * 2, [y - 0.4, y + 0.4], color="#000000", linewidth=1)
        labels = shorten_all(
            (
                f"{v['feature']}{' = ' + v['group'] if 'group' in v else ''}: {v['metric']}"
                for v in shown
            ),
            60,
        )
        axes.set_yticks(range(len(shown)), labels[::-1], fontsize=7)
        axes.set_ylim(-0.7, len(shown) - 0.3)
        axes.set_title("Verdicts: value (dot), interval (bar), bound (black tick)", fontsize=9)
        handles = [
            plt.Line2D([], [], color=c, linewidth=2.2, label=name)
            for name, c in VERDICT_COLOURS.items()
        ]
        legend_below(figure, handles, fontsize=7, ncols=4)
        axes.spines[["top", "right"]].set_visible(False)
        axes.grid(axis="x", alpha=0.3)
        readable_axes(axes)
        return to_data_uri(figure)
