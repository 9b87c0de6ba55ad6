"""Comparing measured strategies: table cells, Pareto front, ranking and recommendation.

Everything here reads plain measured results — the dicts :func:`audit.metrics.measure`
returns — so the logic is the same for a live run and for constructed inputs in tests.
A measured result may carry ``verdicts`` (policy rules evaluated by the metrics
engine); when none does, there is no policy and no strategy can be said to pass.
"""

from __future__ import annotations

from typing import Any

PASS = "pass"


def is_ratio(metric: str) -> bool:
    """Ratios are better when higher (1 = parity); differences when lower (0 = parity)."""
    return metric.endswith("_ratio")


def metric_label(metric: str) -> str:
    return metric.replace("_", " ")


def disparity_entries(
    measured: dict[str, Any], metric: str, feature: str | None = None
) -> list[dict[str, Any]]:
    """``{"feature", "value", "ci"}`` of ``metric`` for every fairness entry (or one feature)."""
    found = []
    for entry in measured.get("fairness", []):
        if feature is not None and entry["feature"] != feature:
            continue
        for disparity in entry.get("disparities", []):
            if disparity["metric"] == metric:
                found.append(
                    {
                        "feature": entry["feature"],
                        "value": disparity.get("value"),
                        "ci": disparity.get("ci"),
                    }
                )
    return found


def worst_disparity(
    measured: dict[str, Any], metric: str, feature: str | None = None
) -> dict[str, Any]:
    """The worst value of ``metric`` over the sensitive features (or the one given).

    Worst is the largest difference or the smallest ratio; undefined values are skipped.
    Returns ``{"feature", "value", "ci"}`` (all None when nothing is defined).
    """
    defined = [e for e in disparity_entries(measured, metric, feature) if e["value"] is not None]
    if not defined:
        return {"feature": feature, "value": None, "ci": None}
    pick = min if is_ratio(metric) else max
    return pick(defined, key=lambda e: e["value"])


def verdicts_of(measured: dict[str, Any]) -> list[dict[str, Any]]:
    return list(measured.get("verdicts") or [])


def has_policy(measured_list: list[dict[str, Any]]) -> bool:
    return any(verdicts_of(m) for m in measured_list)


def passes(measured: dict[str, Any]) -> bool | None:
    """True when every policy verdict is "pass"; None when there is no policy."""
    verdicts = verdicts_of(measured)
    if not verdicts:
        return None
    return all(v.get("verdict") == PASS for v in verdicts)


def table_columns(
    baseline: dict[str, Any], metric: str, feature: str | None = None
) -> list[dict[str, str]]:
    """The disparities the comparison table shows: the policy's rules when there is a policy
    (one column per distinct feature and metric, in rule order), else the chosen metric for
    each sensitive feature (or the one chosen)."""
    columns: list[dict[str, str]] = []
    verdicts = verdicts_of(baseline)
    if verdicts:
        for verdict in verdicts:
            column = {"feature": str(verdict["feature"]), "metric": str(verdict["metric"])}
            if column not in columns:
                columns.append(column)
        return columns
    for entry in baseline.get("fairness", []):
        if feature is None or entry["feature"] == feature:
            columns.append({"feature": entry["feature"], "metric": metric})
    return columns


def cells(measured: dict[str, Any], columns: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Value, interval and (when a policy rule covers it) verdict of each table column."""
    out = []
    for column in columns:
        found = disparity_entries(measured, column["metric"], column["feature"])
        rules = [
            v
            for v in verdicts_of(measured)
            if str(v.get("feature")) == column["feature"] and v.get("metric") == column["metric"]
        ]
        # A rule on something that is not a disparity (e.g. accuracy) carries its own value.
        fallback = rules[0] if rules else {}
        value = found[0] if found else {"value": fallback.get("value"), "ci": fallback.get("ci")}
        verdict = _combined_verdict([v.get("verdict") for v in rules]) if rules else None
        out.append({**column, "value": value["value"], "ci": value["ci"], "verdict": verdict})
    return out


def _combined_verdict(verdicts: list[Any]) -> str:
    # Several rules on one column (e.g. a bound on each side): the worst one decides.
    for worst in ("fail", "insufficient data", "inconclusive"):
        if worst in verdicts:
            return worst
    return PASS if all(v == PASS for v in verdicts) else str(verdicts[0])


def pareto_flags(points: list[tuple[float | None, float | None]], ratio: bool) -> list[bool]:
    """For each (accuracy, disparity) point: is it Pareto-optimal?

    A point is dominated when another is at least as accurate and at least as fair,
    and strictly better on one of the two. Fairer means a lower difference or a higher
    ratio. Points with an undefined coordinate are never Pareto-optimal.
    """

    def fairness(d: float) -> float:
        return d if ratio else -d  # higher is fairer

    flags = []
    for i, (acc, disp) in enumerate(points):
        if acc is None or disp is None:
            flags.append(False)
            continue
        dominated = False
        for j, (other_acc, other_disp) in enumerate(points):
            if j == i or other_acc is None or other_disp is None:
                continue
            at_least = other_acc >= acc and fairness(other_disp) >= fairness(disp)
            strictly = other_acc > acc or fairness(other_disp) > fairness(disp)
            if at_least and strictly:
                dominated = True
                break
        flags.append(not dominated)
    return flags


def _fairer_first(row: dict[str, Any], ratio: bool) -> float:
    value = row["disparity"]["value"]
    if value is None:
        return float("inf")
    return -value if ratio else value


def recommend(rows: list[dict[str, Any]], metric: str) -> dict[str, Any]:
    """The recommendation and ranking from comparison rows (the baseline first).

    Each row needs ``name``, ``label``, ``accuracy``, ``disparity`` (``{"value", ...}``),
    ``verdicts``, ``pareto_optimal``, ``randomized`` and ``sensitive_at_prediction``.

    With a policy, the recommendation is the most accurate option whose verdicts all pass
    (ties: the fairer on ``metric``, then the earlier row), or a plain statement that
    none does. Without a policy nothing is recommended: options are ranked by accuracy and
    ``metric``, Pareto-optimal ones first.
    """
    ratio = is_ratio(metric)
    label = metric_label(metric)

    def by_accuracy(row: dict[str, Any]) -> tuple[float, float, int]:
        return (-row["accuracy"], _fairer_first(row, ratio), rows.index(row))

    policy = any(row["verdicts"] for row in rows)
    if not policy:
        ranking = sorted(rows, key=lambda r: (not r["pareto_optimal"], *by_accuracy(r)))
        front = [r for r in ranking if r["pareto_optimal"]]
        listed = "; ".join(_point(r, label) for r in front) or f"none ({label} is undefined)"
        text = (
            "No fairness policy is set, so no option can be said to pass or fail, and none is "
            f"recommended. Ranked by accuracy and {label} instead. Pareto-optimal (no other "
            f"option is both at least as accurate and at least as fair): {listed}. Choosing "
            "among them is a policy decision; set a policy to get a recommendation."
        )
        return {
            "basis": "no policy",
            "strategy": None,
            "text": text,
            "ranking": [r["name"] for r in ranking],
        }

    def not_passed(row: dict[str, Any]) -> int:
        return sum(v.get("verdict") != PASS for v in row["verdicts"]) if row["verdicts"] else 1

    passing = [r for r in rows if r["verdicts"] and not_passed(r) == 0]
    failing = [r for r in rows if r not in passing]
    ranking = sorted(passing, key=by_accuracy) + sorted(
        failing, key=lambda r: (not_passed(r), *by_accuracy(r))
    )
    if not passing:
        closest = ranking[0]
        n_rules = len(closest["verdicts"])
        text = (
            f"None of the {len(rows)} options (the baseline and {len(rows) - 1} mitigation "
            "strategies) passes the policy: each has at least one rule that fails, is "
            "inconclusive or lacks data. Closest: "
            f"{closest['label']} ({not_passed(closest)} of {n_rules} rules not passed). "
            "Consider other strategies, more data for small groups, or revisiting the policy."
        )
        return {
            "basis": "policy",
            "strategy": None,
            "text": text,
            "ranking": [r["name"] for r in ranking],
        }
    best = ranking[0]
    baseline = rows[0]
    if best is baseline:
        text = (
            f"Keep the baseline: it passes every rule of the policy (accuracy "
            f"{best['accuracy']:.3f}) and no passing mitigation strategy is more accurate."
        )
    else:
        text = (
            f"{best['label']}: the most accurate option that passes every rule of the policy "
            f"(accuracy {best['accuracy']:.3f}, baseline {baseline['accuracy']:.3f}"
            f"{'' if passes_baseline(baseline) else ', which fails the policy'})."
        )
        notes = []
        if best["sensitive_at_prediction"]:
            notes.append("it needs the sensitive attribute at prediction time")
        if best["randomized"]:
            notes.append("its decisions are randomized")
        if notes:
            text += f" Before deploying it, note that {' and '.join(notes)} (see its caveats)."
    return {
        "basis": "policy",
        "strategy": best["name"],
        "text": text,
        "ranking": [r["name"] for r in ranking],
    }


def passes_baseline(row: dict[str, Any]) -> bool:
    return bool(row["verdicts"]) and all(v.get("verdict") == PASS for v in row["verdicts"])


def _point(row: dict[str, Any], label: str) -> str:
    value = row["disparity"]["value"]
    shown = "undefined" if value is None else f"{value:.3f}"
    return f"{row['label']} (accuracy {row['accuracy']:.3f}, {label} {shown})"


def comparison(
    rows: list[dict[str, Any]], metric: str, feature: str | None = None
) -> dict[str, Any]:
    """Table cells, Pareto flags and the recommendation for measured rows (baseline first).

    Each row holds what :func:`audit.metrics.measure` returned (``performance``,
    ``fairness``, ``verdicts``) plus ``name``, ``label``, ``stage``, ``randomized`` and
    ``sensitive_at_prediction``; the rows are completed in place with ``accuracy``,
    ``balanced_accuracy``, ``disparity`` (the worst value of ``metric``), ``cells``,
    ``passes_policy`` and ``pareto_optimal``.
    """
    columns = table_columns(rows[0], metric, feature)
    for row in rows:
        row["verdicts"] = verdicts_of(row)
        row["accuracy"] = row["performance"]["accuracy"]
        row["balanced_accuracy"] = row["performance"]["balanced_accuracy"]
        row["disparity"] = worst_disparity(row, metric, feature)
        row["cells"] = cells(row, columns)
        row["passes_policy"] = passes(row)
    flags = pareto_flags([(r["accuracy"], r["disparity"]["value"]) for r in rows], is_ratio(metric))
    for row, flag in zip(rows, flags, strict=True):
        row["pareto_optimal"] = flag
    features = [str(entry["feature"]) for entry in rows[0].get("fairness", [])]
    scope = f"on {feature}" if feature else "worst over " + ", ".join(features)
    return {
        "disparity": {
            "metric": metric,
            "label": metric_label(metric),
            "feature": feature,
            "scope": scope,
            "better": "higher" if is_ratio(metric) else "lower",
        },
        "policy": has_policy(rows),
        "columns": columns,
        "strategies": rows,
        "recommendation": recommend(rows, metric),
    }
