"""Verdicts: each policy rule checked against the confidence interval, not just the point value.

* **pass** — the whole interval satisfies the bound;
* **fail** — the whole interval violates it;
* **inconclusive** — the interval straddles the bound (or the value is undefined);
* **insufficient data** — the groups the rule needs have fewer than
  ``fairness.min_group_size`` rows (or too few rows in the metric's denominator, e.g.
  actual positives for TPR): no verdict is given, never a pass.

When no interval can be formed (the metric is undefined in too many resamples, or
intervals are turned off), the verdict follows the point estimate and says so.

The *gate* (``policy.gate``) decides which verdicts fail the policy, and each verdict
records it in ``fails_gate``, so every output reads the same decision:

* ``default`` — a fail, or an inconclusive verdict whose point estimate violates the
  bound (a model whose best estimate breaks the policy never passes silently);
* ``strict`` — also every other verdict that is not a pass;
* ``conclusive`` — only a fail (for small-sample monitoring).

The overall policy status is ``fail`` if any verdict fails the gate, else
``inconclusive`` if any verdict is not a pass, else ``pass``. This module works on the
JSON-ready fairness entries, so it needs no data.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from audit.errors import AuditError
from audit.text import printable, quoted_list
from audit.vocabulary.metrics import ALL_DISPARITIES, FOUR_FIFTHS, GROUP_METRICS
from audit.vocabulary.rules import feature_key, rule_text

if TYPE_CHECKING:
    from audit.config import PolicyConfig, PolicyRule

PASS, FAIL, INCONCLUSIVE, INSUFFICIENT = "pass", "fail", "inconclusive", "insufficient data"
VERDICTS = (PASS, FAIL, INCONCLUSIVE, INSUFFICIENT)
# Which verdicts fail the policy under each gate, in plain words (report, terminal, README).
GATES: dict[str, str] = {
    "default": "the policy fails when a verdict fails (the whole interval violates the "
    "bound) or is inconclusive with a point estimate that violates the bound",
    "strict": "the policy fails when any verdict is not a pass (fail, inconclusive or "
    "insufficient data)",
    "conclusive": "the policy fails only when a verdict fails (the whole interval violates "
    "the bound); inconclusive verdicts never fail it",
}
OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}


def decide(
    op: str,
    bound: float,
    value: float | None,
    ci: Sequence[float] | None,
    intervals: bool = True,
    no_interval: str = "no interval could be formed",
) -> tuple[str, str]:
    """Verdict and a one-line reason for one value against ``value op bound``.

    Parameters
    ----------
    op, bound : the rule.
    value : the point value (None if undefined).
    ci : the interval ``[low, high]`` (None if undefined or not computed).
    intervals : whether intervals were computed at all (``bootstrap.resamples > 0``).
    no_interval : why there is no interval, when intervals were computed but ``ci`` is None;
        the verdict then follows the point estimate.
    """
    holds = OPERATORS[op]
    if value is None:
        return INCONCLUSIVE, "the value is undefined"
    if ci is None:
        why = no_interval if intervals else "no interval: intervals are turned off"
        verdict = PASS if holds(value, bound) else FAIL
        return verdict, f"{why}; decided on the point estimate, which {_meets(op, bound, value)}"
    low, high = ci
    if holds(low, bound) and holds(high, bound):
        return PASS, f"the whole interval is {op} {bound:g}"
    if not holds(low, bound) and not holds(high, bound):
        return FAIL, f"the whole interval violates {op} {bound:g}"
    return INCONCLUSIVE, (
        f"the interval straddles {bound:g}: more data is needed to decide; the point "
        f"estimate {_meets(op, bound, value)}"
    )


def four_fifths_verdict(
    value: float | None, ci: Sequence[float] | None, intervals: bool = True
) -> str:
    """The four-fifths rule (selection-rate ratio >= 0.8) judged on ``ci`` like a policy rule."""
    return decide(">=", FOUR_FIFTHS, value, ci, intervals)[0]


def _meets(op: str, bound: float, value: float) -> str:
    word = "satisfies" if OPERATORS[op](value, bound) else "violates"
    return f"{word} {op} {bound:g}"


def point_violates(op: str, bound: float, value: float | None) -> bool | None:
    """Whether the point estimate breaks ``op bound`` (None when it is undefined)."""
    return None if value is None else not OPERATORS[op](value, bound)


def fails_gate(verdict: dict[str, Any], gate: str) -> bool:
    """Whether this verdict fails the policy under ``gate`` (see the module docstring)."""
    outcome = verdict["verdict"]
    if outcome == FAIL:
        return True
    if gate == "strict":
        return outcome != PASS
    if gate == "default":
        return outcome == INCONCLUSIVE and bool(verdict.get("point_violates"))
    return False


def _targets(rule: PolicyRule, fairness: list[dict[str, Any]]) -> list[dict[str, Any]]:
    key = feature_key(rule.feature)
    if key is None:
        return fairness
    chosen = [f for f in fairness if f["feature"] == key]
    if not chosen:
        names = quoted_list([f["feature"] for f in fairness], shown=10)
        raise AuditError(
            f"Policy rule '{printable(rule_text(rule, True), 120)}' names feature "
            f"'{printable(key)}', which was not audited. Audited features and intersections: "
            f"{names}; name one of them, or remove the rule."
        )
    return chosen


def evaluate(
    rules: Sequence[PolicyRule],
    fairness: list[dict[str, Any]],
    intervals: bool = True,
    gate: str = "default",
) -> list[dict[str, Any]]:
    """One verdict per rule and feature (and per group, for a group-metric rule).

    Each verdict has ``rule``, ``feature``, ``metric``, ``op``, ``bound``, ``value``,
    ``ci``, ``groups_behind`` (the groups giving the value: "B vs A", or the group),
    ``verdict``, ``reason``, ``point_violates`` and ``fails_gate`` (under ``gate``).

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
    for verdict in verdicts:
        verdict["point_violates"] = point_violates(
            verdict["op"], verdict["bound"], verdict["value"]
        )
        verdict["fails_gate"] = fails_gate(verdict, gate)
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
    out = {
        **_base(rule, feature),
        "value": entry["value"],
        "ci": entry["ci"],
        "groups_behind": entry.get("groups_behind"),
    }
    if entry.get("insufficient"):
        return {**out, "verdict": INSUFFICIENT, "reason": entry["reason"]}
    no_interval = entry.get("reason") or "no interval could be formed"
    verdict, reason = decide(
        rule.op, rule.bound, entry["value"], entry["ci"], intervals, no_interval
    )
    if entry["value"] is None and entry.get("reason"):
        reason = entry["reason"]
    left_out = entry.get("left_out") or {}
    if left_out:
        shown = "; ".join(f"{group} with {what}" for group, what in left_out.items())
        reason += f" (left out as too small, minimum {feature['min_group_size']}: {shown})"
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
        base = {
            **_base(rule, feature),
            "group": group["group"],
            "value": value,
            "ci": ci,
            "groups_behind": group["group"],
        }
        if group["insufficient"]:
            reason = f"{group['n']} rows, fewer than the minimum of {feature['min_group_size']}"
            out.append({**base, "verdict": INSUFFICIENT, "reason": reason})
            continue
        short = (group.get("insufficient_metrics") or {}).get(rule.metric)
        if short:
            out.append({**base, "verdict": INSUFFICIENT, "reason": short})
            continue
        note = (group.get("ci_notes") or {}).get(rule.metric)
        no_interval = note.replace("interval undefined", "no interval") if note else None
        verdict, reason = decide(
            rule.op, rule.bound, value, ci, intervals, no_interval or "no interval could be formed"
        )
        if value is None:
            reason = group.get("undefined", {}).get(rule.metric, reason)
        out.append({**base, "verdict": verdict, "reason": reason})
    return out


def _why_absent(metric: str) -> str:
    from audit.vocabulary.metrics import REGRESSION_METRICS, SCORE_METRICS

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
    """Overall policy status, the gate, counts, the rules, and the exit code a CI gate uses.

    Reads each verdict's ``fails_gate`` (set by :func:`evaluate` under ``policy.gate``).
    """
    counts = {v: sum(1 for x in verdicts if x["verdict"] == v) for v in VERDICTS}
    failing = [i for i, v in enumerate(verdicts) if v["fails_gate"]]
    if not policy.rules:
        status = "no rules"
    elif failing:
        status = FAIL
    elif counts[INCONCLUSIVE] + counts[INSUFFICIENT]:
        status = INCONCLUSIVE
    else:
        status = PASS
    return {
        "status": status,
        "gate": policy.gate,
        "gate_rule": GATES[policy.gate],
        "rules": [rule_text(rule, with_feature=True) for rule in policy.rules],
        "counts": counts,
        "failing": failing,
        "exit_code": 1 if status == FAIL else 0,
        "explanation": (
            "pass: the whole confidence interval satisfies the bound; fail: the whole "
            "interval violates it; inconclusive: the interval straddles the bound; "
            "insufficient data: a group has fewer rows (or fewer rows in the metric's "
            "denominator, e.g. actual positives for a TPR) than the minimum group size and "
            "gets no verdict; without an interval, the verdict follows the point estimate. "
            f"Gate '{policy.gate}': {GATES[policy.gate]}."
        ),
    }
