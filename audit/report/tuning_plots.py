"""The hyperparameter search chart: each configuration's mean accuracy against its mean worst
policy margin over the folds, Pareto front marked, the chosen one ringed.

Drawn from ``result["tuning"]`` alone (see :mod:`audit.report.plots`), so
``rai-audit report results.json`` redraws it without data or models.
"""

from __future__ import annotations

from typing import Any

from audit.report.plots import PALETTE, STYLE, plt, readable_axes, to_data_uri

PASSES, FAILS = PALETTE[2], PALETTE[5]


def search_chart(tuning: dict[str, Any] | None) -> str | None:
    """Scatter of (worst margin, score) per trial; None without a policy or defined points."""
    if not tuning:
        return None
    rows = [
        t
        for t in tuning["trials"]
        if t.get("margin") and t["margin"]["mean"] is not None and t["score"]["mean"] is not None
    ]
    if not rows:
        return None
    with plt.rc_context(STYLE):
        figure, axes = plt.subplots(figsize=(7.0, 4.0), layout="constrained")
        axes.axvline(0.0, color="#000000", lw=1, ls=":", label="bound (margin 0)")
        for trial in rows:
            x, y = trial["margin"]["mean"], trial["score"]["mean"]
            colour = PASSES if trial["passes"] else FAILS
            axes.scatter(
                [x],
                [y],
                s=60,
                facecolors=colour if trial["pareto_optimal"] else "white",
                edgecolors=colour,
                linewidths=1.6,
                zorder=3,
            )
            if trial["chosen"]:
                axes.scatter([x], [y], s=220, facecolors="none", edgecolors="#000000", zorder=4)
            axes.annotate(
                str(trial["trial"]), (x, y), xytext=(6, 5), textcoords="offset points", fontsize=8
            )
        front = sorted((t for t in rows if t["pareto_optimal"]), key=lambda t: t["margin"]["mean"])
        if len(front) > 1:
            axes.plot(
                [t["margin"]["mean"] for t in front],
                [t["score"]["mean"] for t in front],
                color="#777777",
                lw=1,
                ls="--",
                zorder=1,
                label="Pareto front",
            )
        axes.scatter([], [], color=PASSES, label="passes in every fold")
        axes.scatter([], [], color=FAILS, label="does not pass in every fold")
        axes.scatter([], [], facecolors="white", edgecolors="#555555", label="dominated (hollow)")
        axes.scatter([], [], s=120, facecolors="none", edgecolors="#000000", label="chosen")
        axes.set_xlabel("mean worst policy margin over the folds (past its bound > 0); fairer left")
        axes.set_ylabel(f"mean {tuning['score_metric']} over the folds")
        axes.set_title("Hyperparameter search: accuracy against the policy")
        figure.legend(fontsize=8, frameon=False, loc="outside right upper")
        axes.spines[["top", "right"]].set_visible(False)
        axes.grid(alpha=0.3)
        readable_axes(axes)
        return to_data_uri(figure)
