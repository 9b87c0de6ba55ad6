"""Fairness over time (``monitoring:``, ``--time-column``): the ``monitoring`` result section.

The evaluated rows are cut into windows (:mod:`audit.monitoring.windows`) and each window
is audited by :func:`audit.metrics.measure` exactly as the whole is — same fairness
settings, policy and seed — so a window's numbers are those of an audit of its rows alone.
:func:`over_time` then reads only those per-window results (never the rows): another
engine that produces :func:`~audit.metrics.measure`'s output per window, e.g. from a count
table per window, can feed it unchanged.

Alerts: for each disparity the policy uses (with no policy, the default disparities), a
window whose value lies outside the reference window's interval on the side away from
parity (above it for a difference, below it for a ratio) is an alert; outside on the side
of parity it is recorded as "improved", not an alert. A window whose disparity has no
interval (too few rows in its groups) is "insufficient data" and never alerts.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from audit.config import AuditConfig
from audit.data import AuditData, require_columns
from audit.errors import AuditError
from audit.metrics import measure
from audit.metrics.inputs import sample_weights
from audit.mitigation.section import slim_fairness
from audit.monitoring.windows import SETTING, Windows, cut_windows, parse_times
from audit.text import interval_text, number_text, printable
from audit.vocabulary.metrics import ALL_DISPARITIES, DEFAULT_DISPARITIES

if TYPE_CHECKING:  # only a type here: evaluation imports scikit-learn
    from audit.evaluation import Evaluation


def plan_windows(config: AuditConfig, data: AuditData, rows: np.ndarray) -> Windows | None:
    """The windows of ``rows`` (positions in the data), or None without a time column.

    Called before any work to refuse a bad column, time or reference window early, and
    again on the evaluated rows by :func:`monitor`.
    """
    cfg = config.monitoring
    column = cfg.time_column
    if column is None:
        return None
    check_time_setting(config, data.frame, data.source)
    times = parse_times(data.frame[column].iloc[np.asarray(rows)], column)
    windows = cut_windows(times, cfg.window, column)
    windows.index_of(cfg.reference_window)  # a reference that is no window stops here
    return windows


def check_time_setting(config: AuditConfig, header: pd.DataFrame, source: Any) -> None:
    """Refuse a time column that is not in the data (``header``: its columns), that is the
    target or a sensitive column, or an audit without intervals (every engine checks this
    before reading the times)."""
    column = config.monitoring.time_column
    require_columns(header, [column], "Time", source)
    taken = {config.data.target: "target", **{c: "sensitive" for c in config.data.sensitive}}
    if column in taken:
        raise AuditError(
            f"The time column '{printable(column, 60)}' ({SETTING}) is also the "
            f"{taken[column]} column: name the column that holds each decision's time."
        )
    if config.fairness.bootstrap.resamples == 0:
        raise AuditError(
            "Fairness over time compares each window with the reference window's interval, "
            "but intervals are turned off (fairness.bootstrap.resamples: 0, --resamples 0). "
            "Set resamples to at least 100, or remove monitoring.time_column (--time-column)."
        )


def measure_windows(
    config: AuditConfig, data: AuditData, evaluation: Evaluation, windows: Windows
) -> list[dict[str, Any]]:
    """:func:`audit.metrics.measure` of each window's evaluated rows (the in-memory engine),
    called as :func:`audit.crossval.measure_evaluation` calls it for the whole."""
    sensitive = data.frame.loc[evaluation.rows, data.sensitive].reset_index(drop=True)
    weights = sample_weights(data.frame, evaluation.rows, config, data.source)

    def part(values: np.ndarray | None, rows: np.ndarray) -> np.ndarray | None:
        return None if values is None else np.asarray(values)[rows]

    randomized = evaluation.decision_probability is not None
    shown = watched_disparities(config)
    return [
        measure(
            np.asarray(evaluation.y_true)[rows],
            None if randomized else part(evaluation.y_pred, rows),
            part(evaluation.scores, rows),
            sensitive.iloc[rows].reset_index(drop=True),
            config.fairness,
            config.policy,
            task=config.data.task,
            seed=config.seed,
            sample_weight=part(weights, rows),
            decision_probability=part(evaluation.decision_probability, rows),
            disparities=shown,
            contrasts=False,
        )
        for rows in windows.members
    ]


def watched_disparities(config: AuditConfig) -> list[str]:
    """The disparities a window needs: those the policy's rules judge, else the defaults.

    Only these are computed per window (each as among all, same draws): with day windows
    the others' intervals made most of the time and of results.json, and nothing shows them.
    """
    judged = [r.metric for r in config.policy.rules if r.metric in ALL_DISPARITIES]
    return list(dict.fromkeys(judged)) or list(DEFAULT_DISPARITIES.get(config.data.task, ()))


def monitor(
    config: AuditConfig, data: AuditData, evaluation: Evaluation, windows: Windows
) -> dict[str, Any]:
    """The ``monitoring`` section of an audit, over the ``windows`` planned for its evaluated
    rows (:func:`plan_windows`)."""
    measured = measure_windows(config, data, evaluation, windows)
    return over_time(
        windows,
        measured,
        windows.index_of(config.monitoring.reference_window),
        explicit_reference=config.monitoring.reference_window is not None,
        task=config.data.task,
    )


def over_time(
    windows: Windows,
    measured: list[dict[str, Any]],
    reference: int,
    *,
    explicit_reference: bool = False,
    task: str = "classification",
) -> dict[str, Any]:
    """The ``monitoring`` section from each window's :func:`~audit.metrics.measure` result.

    Parameters
    ----------
    windows : Windows
        The windows; only their ``time_column``, ``window``, ``labels``, ``starts``, ``ends``
        and ``sizes`` are read (an engine that counts per window needs no row positions).
        ``measured[i]`` is window i's result.
    reference : int
        The position of the reference window.
    explicit_reference : bool
        Whether the reference was named (``--reference-window``) rather than the first.
    """
    source, pairs = monitored_pairs(measured, task)
    trend = []
    for i, result in enumerate(measured):
        for feature, metric in pairs:
            trend.append(
                _point(
                    windows.labels[i], feature, metric, result, measured[reference], i == reference
                )
            )
    alerts = [
        _alert(point, windows.labels[reference]) for point in trend if point["status"] == "alert"
    ]
    counts = Counter((point["window"], point["status"]) for point in trend)
    section = {
        "time_column": windows.time_column,
        "window": windows.window,
        "reference_window": windows.labels[reference],
        "reference_rule": "named (monitoring.reference_window)"
        if explicit_reference
        else "the first window",
        "n_windows": len(windows.labels),
        "n_rows": int(sum(windows.sizes)),
        "metrics_from": source,
        "monitored": [{"feature": f, "metric": m} for f, m in pairs],
        "windows": [
            {
                "label": windows.labels[i],
                "start": windows.starts[i],
                "end": windows.ends[i],
                "n_rows": windows.sizes[i],
                "n_alerts": counts[(windows.labels[i], "alert")],
                "n_insufficient": counts[(windows.labels[i], "insufficient data")],
                "performance": result["performance"],
                "fairness": slim_fairness(result["fairness"]),
                "verdicts": result["verdicts"],
                "policy": result["policy"],
            }
            for i, result in enumerate(measured)
        ],
        "trend": trend,
        "alerts": alerts,
    }
    section["statement"] = statement(section)
    return section


def monitored_pairs(measured: list[dict[str, Any]], task: str) -> tuple[str, list[tuple[str, str]]]:
    """The (feature, disparity) pairs watched: those the policy's verdicts judge, else the
    default disparities of every feature; and which of the two it is."""
    pairs: list[tuple[str, str]] = []
    for result in measured:
        for verdict in result["verdicts"]:
            pair = (verdict["feature"], verdict["metric"])
            if verdict.get("group") is None and pair[1] in ALL_DISPARITIES and pair not in pairs:
                pairs.append(pair)
    if pairs:
        return "policy", pairs
    for result in measured:
        for entry in result["fairness"]:
            present = {d["metric"] for d in entry["disparities"]}
            for metric in DEFAULT_DISPARITIES.get(task, ()):
                pair = (entry["feature"], metric)
                if metric in present and pair not in pairs:
                    pairs.append(pair)
    return "default", pairs


def _disparity(result: dict[str, Any], feature: str, metric: str) -> dict[str, Any] | None:
    for entry in result["fairness"]:
        if entry["feature"] == feature:
            for disparity in entry["disparities"]:
                if disparity["metric"] == metric:
                    return disparity
    return None


def _usable(disparity: dict[str, Any] | None) -> bool:
    """A value with an interval, from groups with enough rows."""
    return (
        disparity is not None
        and disparity.get("value") is not None
        and disparity.get("ci") is not None
        and not disparity.get("insufficient")
    )


def _point(
    label: str,
    feature: str,
    metric: str,
    result: dict[str, Any],
    reference: dict[str, Any],
    is_reference: bool,
) -> dict[str, Any]:
    """One disparity in one window, with its status against the reference interval."""
    here = _disparity(result, feature, metric)
    base = _disparity(reference, feature, metric)
    value = here.get("value") if here else None
    reference_ci = base.get("ci") if _usable(base) else None
    if is_reference:
        status = "reference"
    elif not _usable(here):
        status = "insufficient data"
    elif reference_ci is None:
        status = "no reference interval"
    else:
        low, high = reference_ci
        side = "below" if low is not None and value < low else None
        side = "above" if high is not None and value > high else side
        status = "within" if side is None else ("alert" if side == worse(metric) else "improved")
    return {
        "window": label,
        "feature": feature,
        "metric": metric,
        "value": value,
        "ci": here.get("ci") if here else None,
        "groups_behind": here.get("groups_behind") if here else None,
        "reason": (here or {}).get("reason"),
        "status": status,
        "reference_value": base.get("value") if base else None,
        "reference_ci": reference_ci,
    }


def worse(metric: str) -> str:
    """Which side of the reference interval is farther from parity: below for a ratio
    (1 is parity), above for a difference (0 is parity)."""
    return "below" if ALL_DISPARITIES[metric].aggregate == "ratio" else "above"


def _alert(point: dict[str, Any], reference_label: str) -> dict[str, Any]:
    where = worse(point["metric"])
    text = (
        f"window {point['window']}: {point['feature']} {point['metric']} = "
        f"{number_text(point['value'])} {interval_text(point['ci'])}, {where} the reference "
        f"interval {interval_text(point['reference_ci'])} of window {reference_label}"
    )
    return {
        "window": point["window"],
        "feature": point["feature"],
        "metric": point["metric"],
        "value": point["value"],
        "ci": point["ci"],
        "reference_window": reference_label,
        "reference_value": point["reference_value"],
        "reference_ci": point["reference_ci"],
        "direction": where,
        "text": text,
    }


def statement(section: dict[str, Any]) -> str:
    """The section in a sentence or two: windows, reference, alerts, insufficient windows."""
    kind = section["window"]
    unit = f"blocks of {kind.removesuffix('-rows')} rows" if kind.endswith("-rows") else f"{kind}s"
    head = (
        f"{section['n_rows']:,} evaluated rows in {section['n_windows']} windows ({unit} of "
        f"{section['time_column']}); reference: window {section['reference_window']} "
        f"({section['reference_rule']})."
    )
    trend = section["trend"]
    short = sorted({p["window"] for p in trend if p["status"] == "insufficient data"})
    tail = (
        f" {len(short)} window{'s' if len(short) != 1 else ''} had too few rows for an "
        "interval on some disparity (insufficient data; never an alert)."
        if short
        else ""
    )
    failing = [w["label"] for w in section["windows"] if w["policy"]["status"] == "fail"]
    if failing:
        tail += (
            f" The policy fails in {len(failing)} of {section['n_windows']} windows "
            f"({', '.join(failing[:6])}{', …' if len(failing) > 6 else ''})."
        )
    alerts = section["alerts"]
    if not section["monitored"]:
        return head + " No disparity could be watched (no feature has one)." + tail
    missing = without_reference_interval(section)
    if len(missing) == len(section["monitored"]):
        return (
            head + f" Nothing was compared: the reference window {section['reference_window']} has "
            "no interval on any watched disparity (too few rows in its groups). Name a window "
            "with more rows as the reference (monitoring.reference_window, --reference-window)."
            + tail
        )
    if missing:
        tail = (
            f" Not compared, for want of an interval in the reference window: "
            f"{', '.join(missing[:4])}"
            f"{f' and {len(missing) - 4} more' if len(missing) > 4 else ''}." + tail
        )
    if not alerts:
        compared = "every compared disparity" if missing else "every window's disparity"
        return head + f" No alert: {compared} lies inside the reference interval." + tail
    windows = list(dict.fromkeys(a["window"] for a in alerts))
    return (
        head
        + f" {len(alerts)} alert{'s' if len(alerts) != 1 else ''} in "
        + f"{len(windows)} window{'s' if len(windows) != 1 else ''} "
        + f"({', '.join(windows[:6])}{', …' if len(windows) > 6 else ''}); first: "
        + alerts[0]["text"]
        + "."
        + tail
    )


def without_reference_interval(section: dict[str, Any]) -> list[str]:
    """The watched disparities ("sex demographic_parity_difference") the reference window
    has no interval for: no window is compared on them."""
    return [
        f"{point['feature']} {point['metric']}"
        for point in section["trend"]
        if point["status"] == "reference" and point["reference_ci"] is None
    ]
