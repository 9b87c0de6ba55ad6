"""Verdicts: each policy rule checked against the confidence interval, not just the point value.

* **pass** — the whole interval satisfies the bound;
* **fail** — the whole interval violates it;
* **inconclusive** — the interval straddles the bound (or the value is undefined);
* **insufficient data** — the groups the rule needs have fewer than
  ``fairness.min_group_size`` rows: no verdict is given, never a pass.

The overall policy status is ``fail`` if any verdict fails (with ``strict``, also if any
is inconclusive or has insufficient data), else ``inconclusive`` if any is, else ``pass``.
This module works on the JSON-ready fairness entries, so it needs no data.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from audit.errors import AuditError
from audit.metrics.catalog import ALL_DISPARITIES, GROUP_METRICS
from audit.policy import feature_key, rule_text

if TYPE_CHECKING:
    from audit.config import PolicyConfig, PolicyRule

PASS, FAIL, INCONCLUSIVE, INSUFFICIENT = "pass", "fail", "inconclusive", "insufficient data"
VERDICTS = (PASS, FAIL, INCONCLUSIVE, INSUFFICIENT)
OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}


def decide(
    op: str, bound: float, value: float | None, ci: Sequence[float] | None, intervals: bool = True
) -> tuple[str, str]:
    """Verdict and a one-line reason for one value against ``value op bound``.

    Parameters
    ----------
    op, bound : the rule.
    value : the point value (None if undefined).
    ci : the interval ``[low, high]`` (None if undefined or not computed).
    intervals : whether intervals were computed at all (``bootstrap.resamples > 0``).
    """
    holds = OPERATORS[op]
    if value is None:
        return INCONCLUSIVE, "the value is undefined"
    if ci is None:
        if intervals:
            return INCONCLUSIVE, "no interval: the metric is undefined in too many resamples"
        ok = holds(value, bound)
        return (PASS if ok else FAIL), "decided on the point value: intervals are turned off"
    low, high = ci
    if holds(low, bound) and holds(high, bound):
        return PASS, f"the whole interval is {op} {bound:g}"
    if not holds(low, bound) and not holds(high, bound):
        return FAIL, f"the whole interval violates {op} {bound:g}"
    return INCONCLUSIVE, f"the interval straddles {bound:g}: more data is needed to decide"


def _targets(rule: PolicyRule, fairness: list[dict[str, Any]]) -> list[dict[str, Any]]:
    key = feature_key(rule.feature)
    if key is None:
        return fairness
    chosen = [f for f in fairness if f["feature"] == key]
    if not chosen:
        names = ", ".join(repr(f["feature"]) for f in fairness)
        raise AuditError(
            f"Policy rule '{rule_text(rule, True)}' names feature {key!r}, which was not "
            f"audited. Audited features and intersections: {names}."
        )
    return chosen


def evaluate(
    rules: Sequence[PolicyRule], fairness: list[dict[str, Any]], intervals: bool = True
) -> list[dict[str, Any]]:
    """One verdict per rule and feature (and per group, for a group-metric rule).

    Raises
    ------
    AuditError
        If a rule names a feature that was not audited, or a metric this audit does not
        compute (e.g. ``roc_auc_difference`` without scores).
    """
    verdicts = []
    for rule in rules:
        for feature in _targets(rule, fairness):
            if rule.metric in ALL_DISPARITIES:
                verdicts.append(_disparity_verdict(rule, feature, intervals))
            else:
                verdicts.extend(_group_verdicts(rule, feature, intervals))
    return verdicts


def _base(rule: PolicyRule, feature: dict[str, Any]) -> dict[str, Any]:
    return {
        "rule": rule_text(rule),
        "feature": feature["feature"],
        "metric": rule.metric,
        "op": rule.op,
        "bound": rule.bound,
    }


def _disparity_verdict(
    rule: PolicyRule, feature: dict[str, Any], intervals: bool
) -> dict[str, Any]:
    entry = next((d for d in feature["disparities"] if d["metric"] == rule.metric), None)
    if entry is None:
        raise AuditError(
            f"Policy rule '{rule_text(rule)}': this audit does not compute {rule.metric} "
            f"({_why_absent(rule.metric)}). Remove the rule or change the audit."
        )
    out = {**_base(rule, feature), "value": entry["value"], "ci": entry["ci"]}
    if entry.get("insufficient"):
        return {**out, "verdict": INSUFFICIENT, "reason": entry["reason"]}
    verdict, reason = decide(rule.op, rule.bound, entry["value"], entry["ci"], intervals)
    if entry["value"] is None and entry.get("reason"):
        reason = entry["reason"]
    excluded = feature.get("insufficient_groups") or []
    if excluded:
        reason += f" (groups with too few rows left out: {', '.join(excluded)})"
    return {**out, "verdict": verdict, "reason": reason}


def _group_verdicts(
    rule: PolicyRule, feature: dict[str, Any], intervals: bool
) -> list[dict[str, Any]]:
    if rule.metric not in feature["groups"][0]:
        raise AuditError(
            f"Policy rule '{rule_text(rule)}': this audit does not compute the group metric "
            f"{rule.metric} ({_why_absent(rule.metric)})."
        )
    out = []
    for group in feature["groups"]:
        value = group[rule.metric]
        ci = (group.get("ci") or {}).get(rule.metric)
        base = {**_base(rule, feature), "group": group["group"], "value": value, "ci": ci}
        if group["insufficient"]:
            reason = f"{group['n']} rows, fewer than the minimum of {feature['min_group_size']}"
            out.append({**base, "verdict": INSUFFICIENT, "reason": reason})
            continue
        verdict, reason = decide(rule.op, rule.bound, value, ci, intervals)
        if value is None:
            reason = group.get("undefined", {}).get(rule.metric, reason)
        out.append({**base, "verdict": verdict, "reason": reason})
    return out


def _why_absent(metric: str) -> str:
    from audit.metrics.catalog import REGRESSION_METRICS, SCORE_METRICS

    base = metric.removesuffix("_difference_vs_reference").removesuffix("_difference")
    base = base.removesuffix("_ratio")
    if metric in REGRESSION_METRICS or base in REGRESSION_METRICS:
        return "it applies to regression audits (data.task: regression)"
    if metric in SCORE_METRICS or base in SCORE_METRICS:
        return "it needs scores; Brier, log loss and calibration need probabilities in [0, 1]"
    if metric in GROUP_METRICS or metric in ALL_DISPARITIES:
        return "it applies to classification audits"
    return "unknown metric"


def summarize(verdicts: list[dict[str, Any]], policy: PolicyConfig) -> dict[str, Any]:
    """Overall policy status, counts, the rules, and the exit code a CI gate should use."""
    counts = {v: sum(1 for x in verdicts if x["verdict"] == v) for v in VERDICTS}
    unproven = counts[INCONCLUSIVE] + counts[INSUFFICIENT]
    if not policy.rules:
        status = "no rules"
    elif counts[FAIL] or (policy.strict and unproven):
        status = FAIL
    elif unproven:
        status = INCONCLUSIVE
    else:
        status = PASS
    failing = [
        i
        for i, v in enumerate(verdicts)
        if v["verdict"] == FAIL or (policy.strict and v["verdict"] in (INCONCLUSIVE, INSUFFICIENT))
    ]
    return {
        "status": status,
        "strict": policy.strict,
        "rules": [rule_text(rule, with_feature=True) for rule in policy.rules],
        "counts": counts,
        "failing": failing,
        "exit_code": 1 if status == FAIL else 0,
        "explanation": (
            "pass: the whole confidence interval satisfies the bound; fail: the whole "
            "interval violates it; inconclusive: the interval straddles the bound; "
            "insufficient data: a group has fewer rows than the minimum group size and "
            "gets no verdict. The policy fails when any verdict fails"
            + (" or is not a pass (strict mode)." if policy.strict else ".")
        ),
    }
