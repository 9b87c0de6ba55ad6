"""The trend of the watched disparities over time windows, with interval bands.

Drawn from the result's ``monitoring`` section alone, returned as a ``data:`` URI.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from audit.report.plots import PALETTE, STYLE, legend_below, plt, shorten, shorten_all, to_data_uri

# Panels in the figure (one per watched feature and disparity); those with alerts first.
MAX_PANELS = 6
# Window labels written under the axis at most; the others are ticks without a label.
MAX_LABELS = 12
ALERT_COLOUR = "#D55E00"


def trend_chart(monitoring: dict[str, Any] | None) -> str | None:
    """One panel per watched disparity: its value in each window (dots), the window's
    interval (band), the reference window's interval (grey) and alerts (red)."""
    if not monitoring or not monitoring.get("monitored"):
        return None
    pairs = shown_pairs(monitoring)
    labels = [w["label"] for w in monitoring["windows"]]
    x = np.arange(len(labels))
    with plt.rc_context(STYLE):
        figure, axes_list = plt.subplots(
            len(pairs),
            1,
            figsize=(7.0, 1.7 * len(pairs) + 0.9),
            sharex=True,
            layout="constrained",
            squeeze=False,
        )
        for axes, (feature, metric) in zip(axes_list[:, 0], pairs, strict=True):
            _panel(axes, x, _points(monitoring, feature, metric))
            axes.set_title(f"{shorten(feature, 40)}: {metric.replace('_', ' ')}", fontsize=8)
        step = max(1, math.ceil(len(labels) / MAX_LABELS))
        bottom = axes_list[-1, 0]
        bottom.set_xticks(x[::step], shorten_all(labels[::step], 16))
        bottom.set_xticks(x, minor=True)
        bottom.set_xlim(-0.5, len(labels) - 0.5)
        handles = [
            plt.Line2D([], [], color=PALETTE[0], marker="o", markersize=3, label="value"),
            plt.Rectangle((0, 0), 1, 1, color=PALETTE[0], alpha=0.2, label="window's interval"),
            plt.Rectangle((0, 0), 1, 1, color="#999999", alpha=0.35, label="reference interval"),
            plt.Line2D(
                [], [], color=ALERT_COLOUR, marker="X", linestyle="", markersize=7, label="alert"
            ),
        ]
        legend_below(figure, handles, fontsize=7, ncols=4)
        return to_data_uri(figure)


def shown_pairs(monitoring: dict[str, Any]) -> list[tuple[str, str]]:
    """The (feature, metric) pairs drawn: those with an alert first, at most MAX_PANELS."""
    pairs = [(p["feature"], p["metric"]) for p in monitoring["monitored"]]
    alerting = {(a["feature"], a["metric"]) for a in monitoring["alerts"]}
    pairs.sort(key=lambda pair: pair not in alerting)  # stable: the rest keep their order
    return pairs[:MAX_PANELS]


def _points(monitoring: dict[str, Any], feature: str, metric: str) -> list[dict[str, Any]]:
    return [p for p in monitoring["trend"] if p["feature"] == feature and p["metric"] == metric]


def _number(value: Any) -> float:
    return np.nan if value is None else float(value)


def _panel(axes: Any, x: np.ndarray, points: list[dict[str, Any]]) -> None:
    values = np.array([_number(p["value"]) for p in points])
    low = np.array([_number((p["ci"] or (None, None))[0]) for p in points])
    high = np.array([_number((p["ci"] or (None, None))[1]) for p in points])
    reference = next((p for p in points if p["status"] == "reference"), points[0])
    ci = reference.get("ci")
    if ci is not None and None not in ci:
        axes.axhspan(ci[0], ci[1], color="#999999", alpha=0.35, linewidth=0)
    axes.fill_between(x, low, high, color=PALETTE[0], alpha=0.2, linewidth=0)
    axes.plot(x, values, color=PALETTE[0], marker="o", markersize=3, linewidth=1)
    alert = np.array([p["status"] == "alert" for p in points])
    if alert.any():
        axes.plot(x[alert], values[alert], "X", color=ALERT_COLOUR, markersize=7)
    short = np.array([p["status"] == "insufficient data" for p in points]) & ~np.isnan(values)
    if short.any():  # a hollow mark: a value without a usable interval, never an alert
        axes.plot(x[short], values[short], "o", mfc="white", color="#666666", markersize=4)
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="y", alpha=0.3)
    axes.tick_params(labelsize=7)
