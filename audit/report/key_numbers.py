"""The key numbers of a result: the few values the first page and the terminal show.

One function picks them (:func:`key_numbers`) and one pair of functions formats them
(:func:`audit.text.number_text`, :func:`audit.text.interval_text`), so a value reads the same
in the report's key-numbers table, in the terminal summary and in the policy verdicts: a
rule's number *is* its verdict's value and interval (the disparity it checks), never a
recomputation.

- accuracy with its interval (classification; ROC AUC when there are scores; macro F1 for
  multiclass), or MAE, RMSE and R² (regression);
- with a policy: for each rule's metric and each feature, the worst value (for a rule on a
  group metric, the group furthest on the violating side), its interval, the groups behind
  it and its verdict;
- without one: demographic parity difference and ratio and equalized odds difference per
  feature (regression: MAE difference and mean prediction difference; multiclass: those of
  the worst class, one-vs-rest).
"""

from __future__ import annotations

from typing import Any

from audit.metrics.verdicts import four_fifths_verdict
from audit.text import interval_text, number_text
from audit.vocabulary.metrics import DEFAULT_DISPARITIES

ACRONYMS = {"mae": "MAE", "rmse": "RMSE", "r2": "R²", "tpr": "TPR", "fpr": "FPR", "fnr": "FNR"}


def _label(metric: str) -> str:
    """``demographic_parity_ratio`` -> "Demographic parity ratio", ``mae_difference`` ->
    "MAE difference"."""
    words = [ACRONYMS.get(word, word) for word in metric.split("_")]
    text = " ".join(words)
    return text[0].upper() + text[1:]


def _number(
    measure: str,
    value: Any,
    ci: Any = None,
    feature: str | None = None,
    groups: str | None = None,
    rule: str | None = None,
    verdict: str | None = None,
) -> dict[str, Any]:
    return {
        "measure": measure,
        "feature": feature,
        "value": value,
        "ci": ci,
        "groups": groups,
        "rule": rule,
        "verdict": verdict,
    }


def _performance(result: dict[str, Any]) -> list[dict[str, Any]]:
    perf = result.get("performance") or {}
    if perf.get("task") == "regression":
        return [_number(label, perf.get(key)) for key, label in _REGRESSION]
    out = [_number("Accuracy", perf.get("accuracy"), perf.get("accuracy_ci"))]
    if perf.get("task") == "multiclass":
        out.append(_number("Macro F1", perf.get("macro_f1")))
    if perf.get("roc_auc") is not None:
        out.append(_number("ROC AUC", perf["roc_auc"]))
    return out


_REGRESSION = (("mae", "MAE"), ("rmse", "RMSE"), ("r2", "R²"))


def _worst(verdicts: list[dict[str, Any]]) -> dict[str, Any]:
    """The verdict furthest on the violating side of its rule (the lowest value for ``>=``)."""
    valued = [v for v in verdicts if v.get("value") is not None]
    if not valued:
        return verdicts[0]
    low_is_bad = verdicts[0]["op"] in (">=", ">")
    return (min if low_is_bad else max)(valued, key=lambda v: v["value"])


def _policy(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One number per rule and feature, read from the verdicts (same value, same interval)."""
    by_rule: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for verdict in result.get("verdicts") or []:
        by_rule.setdefault((verdict["rule"], verdict["feature"]), []).append(verdict)
    out = []
    for (rule, feature), verdicts in by_rule.items():
        worst = _worst(verdicts)
        measure = _label(worst["metric"])
        if worst.get("group") is not None and len(verdicts) > 1:
            low_is_bad = worst["op"] in (">=", ">")
            measure += " (lowest group)" if low_is_bad else " (highest group)"
        if worst.get("class_label") is not None:
            # A multiclass rule is checked per class: the same measure repeats once per class.
            measure += f" [class {worst['class_label']}]"
        out.append(
            _number(
                measure,
                worst.get("value"),
                worst.get("ci"),
                feature,
                worst.get("groups_behind"),
                rule,
                worst.get("verdict"),
            )
        )
    return out


def _worst_classes(result: dict[str, Any]) -> list[dict[str, Any]]:
    """A multiclass audit's default disparities: per feature, the worst class's value."""
    wanted = DEFAULT_DISPARITIES["classification"]
    return [
        _number(
            f"{_label(m['metric'])} (worst class: {m['worst_class']})",
            m.get("worst_value"),
            m.get("worst_ci"),
            m["feature"],
        )
        for m in (result.get("classes") or {}).get("macro", [])
        if m["metric"] in wanted and m.get("worst_class") is not None
    ]


def _disparities(result: dict[str, Any]) -> list[dict[str, Any]]:
    if result.get("classes"):
        return _worst_classes(result)
    fairness = result.get("fairness") or {}
    task = (result.get("performance") or {}).get("task", "classification")
    wanted = DEFAULT_DISPARITIES.get(task, ())
    out = []
    for feature in fairness.get("features", []):
        by_name = {d["metric"]: d for d in feature.get("disparities", [])}
        for metric in wanted:
            d = by_name.get(metric)
            if d is not None:
                out.append(
                    _number(
                        _label(metric),
                        d.get("value"),
                        d.get("ci"),
                        feature["feature"],
                        d.get("groups_behind"),
                    )
                )
    return out


def key_numbers(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The key numbers of ``result`` (its JSON form), in the order they are shown.

    Each is a dict with ``measure`` (a label), ``feature`` (None for overall performance),
    ``value``, ``ci`` (``[low, high]`` or None), ``groups`` (the groups behind the value),
    ``rule`` and ``verdict`` (when a policy rule checks it).
    """
    policy = result.get("policy") or {}
    has_policy = policy.get("status", "no rules") != "no rules" and result.get("verdicts")
    return _performance(result) + (_policy(result) if has_policy else _disparities(result))


def value_text(number: dict[str, Any]) -> str:
    """``0.673 [0.593, 0.754]``: the value with 3 decimals and its interval, if any."""
    text = number_text(number["value"])
    if number.get("ci"):
        text += " " + interval_text(number["ci"])
    return text


def disparate_impact_shown(
    feature: dict[str, Any], verdicts: list[dict[str, Any]] | None
) -> dict[str, Any] | None:
    """``feature``'s disparate impact as the report shows it, or None if it has none.

    Disparate impact (smallest selection rate ÷ the reference's) equals a policy's
    demographic parity ratio whenever the reference group has the highest rate (same value,
    same groups); their bootstrap intervals differ (one compares every pair of groups, the
    other each group with the reference). Then the policy verdict's value and interval are
    shown, the four-fifths rule is judged on that interval, and ``same_as`` names the rule:
    one number, one interval, one verdict.
    """
    impact = next(
        (d for d in feature.get("disparities", []) if d["metric"] == "disparate_impact"), None
    )
    if impact is None or impact.get("value") is None or impact.get("insufficient"):
        return impact
    pair = (impact.get("groups_behind") or "").removesuffix(" (reference)")
    for verdict in verdicts or []:
        if (
            verdict["feature"] == feature["feature"]
            and verdict.get("group") is None
            and verdict["metric"].startswith("demographic_parity_ratio")
            and verdict.get("value") is not None
            and abs(verdict["value"] - impact["value"]) <= 1e-12
            and (verdict.get("groups_behind") or "").removesuffix(" (reference)") == pair
        ):
            return {
                **impact,
                "value": verdict["value"],
                "ci": verdict.get("ci"),
                "four_fifths_rule": four_fifths_verdict(verdict["value"], verdict.get("ci")),
                "same_as": verdict["rule"],
            }
    return impact
