"""Figures of the explanations section, drawn from ``result["explanations"]`` alone.

Every figure is built from the numbers and per-row values stored in the result
(never from a model), so ``rai-audit report results.json`` draws them again.
The styles follow shap's plots (beeswarm, dependence, waterfall), redrawn with
matplotlib so that they are deterministic and use the report's colour-blind-safe
palette: positive contributions vermillion, negative blue.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.transforms import ScaledTranslation, blended_transform_factory

from audit.report.plots import (
    PALETTE,
    STYLE,
    keep_inside,
    legend_below,
    readable_axes,
    shorten,
    shorten_all,
    to_data_uri,
)
from audit.text import data_value_text, signed_text

POSITIVE, NEGATIVE = "#D55E00", "#0072B2"
LOW_HIGH = LinearSegmentedColormap.from_list("low_high", [NEGATIVE, "#d9d9d9", POSITIVE])
CATEGORICAL_POINT = "#7f7f7f"
MAX_BEESWARM_FEATURES = 15
MAX_BAR_FEATURES = 10
MAX_WATERFALL_FEATURES = 9
# Points between the waterfall's left spine and its step names (a tick's length and pad).
NAME_GAP = 7


def case_figures(explanations: dict[str, Any] | None, cases: slice = slice(None)) -> dict[str, str]:
    """The waterfall plot of each individual case (those in ``cases``), keyed by case id."""
    if not explanations or explanations.get("status") != "explained":
        return {}
    with plt.rc_context(STYLE):
        chosen = explanations.get("cases", [])[cases]
        return {case["id"]: waterfall(case, explanations) for case in chosen}


def explanation_figures(
    explanations: dict[str, Any] | None, with_cases: bool = True, z: float = 1.959964
) -> dict[str, Any]:
    """Every figure of the section, as data: URIs, keyed as the template expects
    (without the individual cases' waterfalls when ``with_cases`` is false); error bars
    are ``z`` standard errors (the audit's confidence level)."""
    figures = body_figures(explanations, z, body_cases=0)
    annex = annex_figures(explanations, z, body_cases=0 if with_cases else None)
    return merge_figures(figures, annex)


def body_figures(
    explanations: dict[str, Any] | None, z: float = 1.959964, body_cases: int = 1
) -> dict[str, Any]:
    """The figures the report's main body shows: importance by group, the disparity
    drivers and the first ``body_cases`` individual cases."""
    if not explanations or explanations.get("status") != "explained":
        return {}
    with plt.rc_context(STYLE):
        figures: dict[str, Any] = _variant_figures(explanations, z)
    figures["cases"] = case_figures(explanations, slice(body_cases))
    return figures


def annex_figures(
    explanations: dict[str, Any] | None, z: float = 1.959964, body_cases: int | None = 1
) -> dict[str, Any]:
    """The figures only the annex shows: the beeswarm and dependence plots, the cases after
    the first ``body_cases`` (none when None) and the mitigated models' disparity drivers."""
    jobs = annex_jobs(explanations, z, body_cases)
    return assemble_annex(explanations, jobs, {key: draw() for key, draw in jobs})


# One figure to draw: where it goes in the annex's figures (see assemble_annex), and how.
Job = tuple[tuple[Any, ...], Callable[[], Any]]


def annex_jobs(
    explanations: dict[str, Any] | None, z: float = 1.959964, body_cases: int | None = 1
) -> list[Job]:
    """The figures of :func:`annex_figures` as one job per figure, in a fixed order, so
    that two processes can share the drawing out (see audit/report/build.py)."""
    if not explanations or explanations.get("status") != "explained":
        return []
    jobs: list[Job] = []
    rows = explanations.get("rows")
    if rows and rows["n"] > 0:
        jobs.append((("summary",), partial(beeswarm, explanations)))
        if _dependence_features(explanations):  # a job is a figure: none without features
            jobs.append((("dependence",), partial(dependence, explanations)))
    # A mitigated model's section shows its disparity drivers only (no per-group plots).
    for index, variant in enumerate(explanations.get("variants", [])):
        if variant.get("status") != "explained":
            continue
        for entry in variant["disparity"]:
            if entry["largest"] is not None:
                key = ("variants", index, entry["sensitive"])
                jobs.append((key, partial(disparity_bars, entry, variant, z)))
    if body_cases is not None:
        for case in explanations.get("cases", [])[body_cases:]:
            jobs.append((("cases", case["id"]), partial(waterfall, case, explanations)))
    return [(key, partial(_styled, draw)) for key, draw in jobs]


def _styled(draw: Callable[[], Any]) -> Any:
    with plt.rc_context(STYLE):
        return draw()


def assemble_annex(
    explanations: dict[str, Any] | None, jobs: list[Job], drawn: dict[tuple[Any, ...], Any]
) -> dict[str, Any]:
    """The annex's figures as the templates expect them, from each of ``jobs`` drawn
    (``drawn``: job key -> figure)."""
    if not explanations or explanations.get("status") != "explained":
        return {}
    figures: dict[str, Any] = {
        "cases": {},
        "variants": [
            {"disparity": {}} if variant.get("status") == "explained" else {}
            for variant in (explanations or {}).get("variants", [])
        ],
    }
    for key, _ in jobs:
        if key[0] == "variants":
            figures["variants"][key[1]]["disparity"][key[2]] = drawn[key]
        elif key[0] == "cases":
            figures["cases"][key[1]] = drawn[key]
        else:
            figures[key[0]] = drawn[key]
    return figures


def merge_figures(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """The body's and the annex's explanation figures as one set (cases from both)."""
    merged = {**first, **second}
    merged["cases"] = {**first.get("cases", {}), **second.get("cases", {})}
    return merged if first or second else {}


def _variant_figures(explanations: dict[str, Any], z: float) -> dict[str, Any]:
    return {
        "disparity": {
            entry["sensitive"]: disparity_bars(entry, explanations, z)
            for entry in explanations["disparity"]
            if entry["largest"] is not None
        },
        "by_group": {
            entry["sensitive"]: group_importance(entry, explanations)
            for entry in explanations["by_group"]
        },
    }


def _space(explanations: dict[str, Any]) -> str:
    return explanations["output_space"]


def _swarm_offsets(values: np.ndarray, bins: int = 80, width: float = 0.38) -> np.ndarray:
    """Vertical offsets that spread points with similar x, as shap's beeswarm does."""
    offsets = np.zeros(len(values))
    if len(values) == 0:
        return offsets
    span = np.ptp(values) or 1.0
    quantised = np.round((values - values.min()) / span * bins).astype(int)
    order = np.argsort(quantised, kind="stable")
    layer, last_bin = 0, None
    for index in order:
        if quantised[index] != last_bin:
            layer, last_bin = 0, quantised[index]
        # 0, +1, -1, +2, -2, ... layers around the feature's line
        offsets[index] = (layer + 1) // 2 * (1 if layer % 2 else -1)
        layer += 1
    peak = np.abs(offsets).max() or 1.0
    return offsets / peak * width


def _colour_values(entry: dict[str, Any]) -> np.ndarray | None:
    """Numeric values rank-scaled to [0, 1] (robust to outliers); None for categoricals."""
    if entry["kind"] != "numeric":
        return None
    raw = np.array([np.nan if v is None else v for v in entry["values"]], dtype=float)
    present = ~np.isnan(raw)
    scaled = np.full(len(raw), np.nan)
    if present.sum() > 1:
        ranks = raw[present].argsort(kind="stable").argsort(kind="stable")
        scaled[present] = ranks / (present.sum() - 1)
    elif present.any():
        scaled[present] = 0.5
    return scaled


def beeswarm(explanations: dict[str, Any]) -> str:
    """One row of points per feature (most important on top): x = SHAP value of a row."""
    rows = explanations["rows"]
    names = [f["feature"] for f in explanations["features"]][:MAX_BEESWARM_FEATURES]
    figure, axes = plt.subplots(figsize=(7.2, 0.42 * len(names) + 1.4))
    for position, name in enumerate(reversed(names)):
        entry = rows["features"][name]
        shap_values = np.array([np.nan if v is None else v for v in entry["shap"]], dtype=float)
        y = position + _swarm_offsets(np.nan_to_num(shap_values))
        scaled = _colour_values(entry)
        if scaled is None:
            axes.scatter(shap_values, y, s=7, color=CATEGORICAL_POINT, alpha=0.7, linewidths=0)
        else:
            missing = np.isnan(scaled)
            axes.scatter(
                shap_values[~missing],
                y[~missing],
                s=7,
                c=scaled[~missing],
                cmap=LOW_HIGH,
                vmin=0,
                vmax=1,
                alpha=0.85,
                linewidths=0,
            )
            axes.scatter(
                shap_values[missing], y[missing], s=7, color="#000000", alpha=0.5, linewidths=0
            )
    axes.axvline(0, color="#555555", linewidth=0.8)
    axes.set_yticks(range(len(names)), shorten_all(reversed(names), 28))
    axes.set_xlabel(f"SHAP value (contribution to the model output, {_space(explanations)})")
    axes.spines[["top", "right", "left"]].set_visible(False)
    axes.tick_params(axis="y", length=0)
    mappable = plt.cm.ScalarMappable(cmap=LOW_HIGH)
    bar = figure.colorbar(mappable, ax=axes, fraction=0.03, pad=0.02, ticks=[0, 1])
    bar.ax.set_yticklabels(["low", "high"])
    bar.set_label("numeric feature value (rank)", fontsize=8)
    axes.set_title(
        f"SHAP values of {rows['n']:,} explained rows (grey: categorical, black: missing)",
        fontsize=10,
    )
    return to_data_uri(figure)


def _strongest_sensitive(explanations: dict[str, Any], feature: str) -> str | None:
    """The sensitive feature most associated with ``feature`` (to colour its points by)."""
    groups = explanations["rows"]["groups"]
    best, best_value = None, -1.0
    for association in explanations["proxies"]["associations"]:
        if association["feature"] == feature and association["sensitive"] in groups:
            value = association["value"] or 0.0
            if value > best_value:
                best, best_value = association["sensitive"], value
    return best or next(iter(groups), None)


def _dependence_features(explanations: dict[str, Any]) -> list[str]:
    """The features the dependence plots show: the most important ones."""
    top = explanations.get("top_features", 4)
    return [f["feature"] for f in explanations["features"]][:top]


def dependence(explanations: dict[str, Any]) -> str | None:
    """SHAP value against feature value for the top features, coloured by a sensitive group."""
    rows = explanations["rows"]
    names = _dependence_features(explanations)
    if not names:
        return None
    columns = 2 if len(names) > 1 else 1
    lines = (len(names) + columns - 1) // columns
    figure, grid = plt.subplots(
        lines, columns, figsize=(3.9 * columns, 3.0 * lines), squeeze=False, layout="constrained"
    )
    rng = np.random.default_rng(0)  # fixed jitter: the same result gives the same picture
    for k, name in enumerate(names):
        axes = grid[k // columns][k % columns]
        entry = rows["features"][name]
        shap_values = np.array([np.nan if v is None else v for v in entry["shap"]], dtype=float)
        raw = np.array([np.nan if v is None else v for v in entry["values"]], dtype=float)
        if entry["kind"] != "numeric":
            raw = raw + rng.uniform(-0.25, 0.25, len(raw))
        sensitive = _strongest_sensitive(explanations, name)
        if sensitive is not None:
            codes = np.asarray(rows["groups"][sensitive]["codes"])
            labels = rows["groups"][sensitive]["labels"]
            for code, label in enumerate(shorten_all(labels, 18)):
                mask = codes == code
                axes.scatter(
                    raw[mask],
                    shap_values[mask],
                    s=6,
                    alpha=0.6,
                    linewidths=0,
                    color=PALETTE[code % len(PALETTE)],
                    label=label,
                )
            # Beside the plot, never over its points (the layout engine makes room).
            axes.legend(
                title=shorten(sensitive, 18),
                fontsize=7,
                title_fontsize=7,
                markerscale=2,
                frameon=False,
                loc="upper left",
                bbox_to_anchor=(1.0, 1.0),
                alignment="left",
            )
        else:
            axes.scatter(raw, shap_values, s=6, alpha=0.6, linewidths=0, color=PALETTE[0])
        if entry["kind"] != "numeric":
            categories = entry["categories"]
            # Turned only when they would touch (see plots.untangle_ticks).
            axes.set_xticks(range(len(categories)), shorten_all(categories, 12))
        axes.axhline(0, color="#555555", linewidth=0.6)
        axes.set_xlabel(shorten(name, 30), fontsize=8)
        axes.set_ylabel("SHAP value", fontsize=8)
        axes.tick_params(labelsize=7)
        axes.spines[["top", "right"]].set_visible(False)
        readable_axes(axes)
    for k in range(len(names), lines * columns):
        grid[k // columns][k % columns].set_visible(False)
    return to_data_uri(figure)


def group_importance(entry: dict[str, Any], explanations: dict[str, Any]) -> str:
    """Mean |SHAP| of the top features, one bar per group of one sensitive feature."""
    names = [f["feature"] for f in explanations["features"]][:MAX_BAR_FEATURES]
    groups = [g for g in entry["groups"] if g["mean_abs_shap"] is not None]
    figure, axes = plt.subplots(
        figsize=(7.2, 0.35 * len(names) * max(1, len(groups) / 3) + 1.5), layout="constrained"
    )
    height = 0.8 / max(len(groups), 1)
    y = np.arange(len(names))[::-1]
    shown = shorten_all((group["group"] for group in groups), 18)
    for k, group in enumerate(groups):
        values = [group["mean_abs_shap"][n] for n in names]
        axes.barh(
            y + 0.4 - (k + 0.5) * height,
            values,
            height,
            color=PALETTE[k % len(PALETTE)],
            label=f"{shown[k]} (n={group['n_explained']:,})",
        )
    axes.set_yticks(y, shorten_all(names, 28))
    axes.set_xlabel(f"mean |SHAP value| ({_space(explanations)})")
    axes.set_title(f"Feature importance by group of {shorten(entry['sensitive'], 40)}", fontsize=10)
    legend_below(figure, fontsize=7, ncols=min(len(groups), 5))
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="x", alpha=0.3)
    return to_data_uri(figure)


def disparity_bars(entry: dict[str, Any], explanations: dict[str, Any], z: float) -> str:
    """The largest gap in mean output split into per-feature contributions (they add up)."""
    comparison = next(c for c in entry["comparisons"] if c["group"] == entry["largest"])
    contributions = comparison["contributions"]
    errors = comparison["contribution_se"]
    names = list(contributions)[:MAX_BAR_FEATURES]
    values = [contributions[n] for n in names]
    spread = [z * errors[n] for n in names]
    rest = [n for n in contributions if n not in names]
    if rest:
        names.append(f"{len(rest)} other features")
        values.append(sum(contributions[n] for n in rest))
        spread.append(0.0)
    labels = shorten_all(names, 28) + ["total gap"]
    values.append(comparison["gap"])
    spread.append(z * comparison["gap_se"])
    figure, axes = plt.subplots(figsize=(7.2, 0.34 * len(labels) + 1.3))
    y = np.arange(len(labels))[::-1]
    colours = [POSITIVE if v > 0 else NEGATIVE for v in values[:-1]] + ["#555555"]
    axes.barh(y, values, 0.7, color=colours, xerr=spread, ecolor="#333333", capsize=2)
    texts = []
    for yy, value, err in zip(y, values, spread, strict=True):
        # The label goes past the error bar's whisker so the two never overlap.
        end = value + (err if value >= 0 else -err)
        texts.append(
            axes.text(
                end,
                yy,
                f" {signed_text(value)} ",
                va="center",
                fontsize=7,
                ha="left" if value >= 0 else "right",
            )
        )
    axes.axvline(0, color="#555555", linewidth=0.8)
    axes.set_yticks(y, labels)
    axes.set_xlabel(
        f"contribution to the gap in mean {_space(explanations)} "
        f"({shorten(entry['reference'], 24)} − {shorten(comparison['group'], 24)})"
    )
    axes.set_title(
        f"Features driving the disparity: {shorten(entry['sensitive'], 30)}, "
        f"{shorten(entry['reference'], 16)} vs {shorten(comparison['group'], 16)}",
        fontsize=10,
    )
    axes.spines[["top", "right"]].set_visible(False)
    readable_axes(axes)
    keep_inside(axes, texts)
    return to_data_uri(figure)


def waterfall(case: dict[str, Any], explanations: dict[str, Any]) -> str:
    """From the base value to this row's output, one bar per feature (largest on top)."""
    shap_values = case["shap"]
    names = sorted(shap_values, key=lambda n: -abs(shap_values[n]))
    # As in shap: a single left-over feature is shown rather than summarised.
    cut = len(names) if len(names) <= MAX_WATERFALL_FEATURES + 1 else MAX_WATERFALL_FEATURES
    shown, rest = names[:cut], names[cut:]
    steps = []  # bottom to top
    if rest:
        steps.append((f"{len(rest)} other features", sum(shap_values[n] for n in rest)))
    names_shown = dict(zip(shown, shorten_all(shown, 22), strict=True))
    for name in reversed(shown):
        value = case["values"].get(name)
        shown_value = "missing" if value is None else shorten(data_value_text(value), 16)
        steps.append((f"{names_shown[name]} = {shown_value}", shap_values[name]))
    # Narrow: the PDF shows it beside the case's table, in 58% of the page's width.
    figure, axes = plt.subplots(figsize=(4.6, 0.3 * len(steps) + 1.2))
    position = case["base_value"]
    texts = []
    for y, (_, value) in enumerate(steps):
        colour = POSITIVE if value > 0 else NEGATIVE
        axes.barh(y, value, 0.65, left=position, color=colour)
        texts.append(
            axes.text(
                position + value,
                y,
                f" {signed_text(value)} ",
                va="center",
                fontsize=7,
                ha="left" if value >= 0 else "right",
            )
        )
        position += value
    axes.axvline(case["base_value"], color="#888888", linestyle=":", linewidth=0.8)
    axes.axvline(case["output"], color="#333333", linewidth=0.8)
    if case.get("threshold_output") is not None:
        axes.axvline(case["threshold_output"], color="#000000", linestyle="--", linewidth=1.0)
    # Each step's name is a text beside its bar, not a tick label: a tick is five artists
    # (two marks, a grid line, two labels), and as ticks the names made a waterfall take a
    # third more Python calls (173,000 against 131,000 for the demo's cases).
    axes.set_yticks([])
    beside = blended_transform_factory(axes.transAxes, axes.transData) + ScaledTranslation(
        -NAME_GAP / 72, 0, figure.dpi_scale_trans
    )
    for y, (label, _) in enumerate(steps):
        axes.text(0, y, label, transform=beside, ha="right", va="center", fontsize=7)
    space = _space(explanations)
    axes.set_xlabel(
        f"{space}: base {case['base_value']:.3f} (dotted) → this row {case['output']:.3f} "
        "(solid)\ndashed: decision threshold",  # two lines: no wider than the plot
        fontsize=7,
    )
    axes.spines[["top", "right"]].set_visible(False)
    axes.tick_params(axis="x", labelsize=8)
    readable_axes(axes)
    keep_inside(axes, texts)
    return to_data_uri(figure)
