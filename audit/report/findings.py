"""The first page's overall verdict and top findings, derived from a result alone.

Derived at render time (not stored), so a results.json from any earlier run gets the
same first page when it is re-rendered.
"""

from __future__ import annotations

from typing import Any

from audit.text import interval_text, number_text

MAX_FINDINGS = 6

# Verdict -> (headline word, symbol). The colours live in the stylesheet (Okabe-Ito).
VERDICT_WORDS = {
    "pass": ("Pass", "✓"),
    "fail": ("Fail", "✗"),
    "inconclusive": ("Inconclusive", "?"),
    "no rules": ("No policy", "–"),
}


def overall_verdict(result: dict[str, Any]) -> dict[str, Any]:
    """``status`` (pass / fail / inconclusive / no rules), a headline and a sentence, and the
    counts the sentence is made of (``n_rules``, ``n_failing``, ``n_unsettled``), which the
    terminal summary words more briefly."""
    policy = result.get("policy") or {}
    status = policy.get("status", "no rules")
    counts = policy.get("counts", {})
    word, symbol = VERDICT_WORDS.get(status, (status.title(), "?"))
    n_rules = sum(counts.values())
    failing = len(policy.get("failing") or []) or counts.get("fail", 0)
    unsettled = counts.get("inconclusive", 0) + counts.get("insufficient data", 0)
    if status == "no rules":
        text = "No fairness policy was set, so the audit gives no verdict: read the numbers."
    elif status == "fail":
        text = f"{failing} of {n_rules} rule checks fail the policy's gate"
        if policy.get("gate_rule"):
            text += f" ({policy['gate']}: {policy['gate_rule']})"
        text += "."
    elif status == "inconclusive":
        text = (
            f"No rule check fails the policy's gate, but {unsettled} of {n_rules} are "
            "inconclusive (the interval straddles the bound) or have insufficient data: "
            "more data would decide them."
        )
    else:
        text = f"All {n_rules} rule checks pass: every confidence interval satisfies its bound."
    return {
        "status": status,
        "word": word,
        "symbol": symbol,
        "text": text,
        "gate": policy.get("gate"),
        "n_rules": n_rules,
        "n_failing": failing,
        "n_unsettled": unsettled,
    }


def top_findings(result: dict[str, Any]) -> list[dict[str, str]]:
    """The few things a reviewer must read first, most serious first, each with its section."""
    found: list[dict[str, str]] = []
    found += _failed_rules(result)
    found += _over_time(result)
    found += _cross_validation(result)
    found += _quality(result)
    found += _proxies(result)
    found += _mitigation(result)
    found += _checklist(result)
    return found[:MAX_FINDINGS]


def _interval(ci: Any) -> str:
    return f" {interval_text(ci)}" if ci else ""


def _behind(verdict: dict[str, Any]) -> str:
    behind = verdict.get("groups_behind")
    return f" ({behind})" if behind and "group" not in verdict else ""


def _where(verdict: dict[str, Any]) -> str:
    """``race``, or ``race = Black`` for a rule on a group metric, preceded by
    ``class premium,`` for a multiclass audit's one-vs-rest verdict."""
    group = verdict.get("group")
    where = verdict["feature"] + (f" = {group}" if group is not None else "")
    label = verdict.get("class_label")
    return where if label is None else f"class {label}, {where}"


def _failed_rules(result: dict[str, Any]) -> list[dict[str, str]]:
    verdicts = result.get("verdicts") or []
    failed = [v for v in verdicts if v.get("fails_gate", v.get("verdict") == "fail")]
    failed.sort(key=lambda v: v["verdict"] != "fail")  # conclusive failures first
    # At most three lines for failing rules, so other kinds of findings keep their place.
    shown = 3 if len(failed) <= 3 else 2
    found = [
        {
            "severity": "fail",
            "text": f"{_where(v)}: {v['metric'].replace('_', ' ')} is "
            f"{number_text(v['value'])}{_interval(v.get('ci'))}{_behind(v)}, which "
            + (
                f"fails {v['op']} {v['bound']}."
                if v["verdict"] == "fail"
                else f"is {v['verdict']} on {v['op']} {v['bound']} and fails the gate."
            ),
            "anchor": "verdicts",
        }
        for v in failed[:shown]
        if v.get("value") is not None
    ]
    if len(failed) > shown:
        found.append(
            {
                "severity": "fail",
                "text": f"{len(failed) - shown} more rule checks fail the gate.",
                "anchor": "verdicts",
            }
        )
    unsure = sum(v.get("verdict") == "inconclusive" and v not in failed for v in verdicts)
    if unsure:
        found.append(
            {
                "severity": "inconclusive",
                "text": f"{unsure} rule check{'s are' if unsure > 1 else ' is'} inconclusive: "
                "the interval straddles the bound.",
                "anchor": "verdicts",
            }
        )
    return found


def _cross_validation(result: dict[str, Any]) -> list[dict[str, str]]:
    """A policy verdict that is not the same in every fold of a cross-validated audit."""
    cv = result.get("cross_validation") or {}
    differing = [v for v in cv.get("verdicts", []) if v["differs"]]
    if not differing:
        return []
    first = differing[0]
    where = first["feature"] + (f" = {first['group']}" if first.get("group") else "")
    n, total = len(differing), len(cv["verdicts"])
    text = (
        f"Cross-validation: {n} of {total} policy verdicts differ between the {cv['k']} folds "
        f"(first: {first['rule']} on {where}: {', '.join(str(v) for v in first['fold_verdicts'])})."
    )
    return [{"severity": "warning", "text": text, "anchor": "cross_validation"}]


def _over_time(result: dict[str, Any]) -> list[dict[str, str]]:
    """Alerts of fairness over time: a window's disparity left the reference interval."""
    monitoring = result.get("monitoring") or {}
    alerts = monitoring.get("alerts") or []
    if not alerts:
        return []
    windows = list(dict.fromkeys(a["window"] for a in alerts))
    first = alerts[0]
    text = (
        f"Over time: {len(alerts)} alert{'s' if len(alerts) != 1 else ''} in "
        f"{len(windows)} of {monitoring['n_windows']} windows ({', '.join(windows[:4])}"
        f"{', …' if len(windows) > 4 else ''}); first: window {first['window']}, "
        f"{first['feature']}: "
        f"{first['metric'].replace('_', ' ')} {number_text(first['value'])}, "
        f"{first['direction']} the reference interval {interval_text(first['reference_ci'])} "
        f"of {first['reference_window']}."
    )
    return [{"severity": "warning", "text": text, "anchor": "monitoring"}]


def _quality(result: dict[str, Any]) -> list[dict[str, str]]:
    quality = result.get("quality") or {}
    findings = quality.get("findings") or []
    serious = [f for f in findings if f.get("severity") in ("error", "warning")]
    if not serious:
        return []
    counts = quality.get("counts", {})
    first = next((f for f in serious if f["severity"] == "error"), serious[0])
    return [
        {
            "severity": "error" if counts.get("error") else "warning",
            "text": f"Data quality: {counts.get('error', 0)} errors, {counts.get('warning', 0)} "
            f"warnings; first: {first['message']}",
            "anchor": "quality",
        }
    ]


def _proxies(result: dict[str, Any]) -> list[dict[str, str]]:
    proxies = (result.get("explanations") or {}).get("proxies") or {}
    important = proxies.get("important", []) if isinstance(proxies, dict) else []
    found = []
    for proxy in important[:2]:
        gap = proxy.get("gap") or {}
        text = (
            f"'{proxy['feature']}' acts as a proxy for {proxy['sensitive']} "
            f"({proxy['measure']} {number_text(proxy['association'])})"
        )
        if gap.get("gap"):
            share = gap["contribution"] / gap["gap"]
            text += (
                f" and drives {share:.0%} of the gap in model output between "
                f"{gap['reference']} and {gap['group']}"
            )
        found.append({"severity": "warning", "text": text + ".", "anchor": "explanations"})
    return found


def _mitigation(result: dict[str, Any]) -> list[dict[str, str]]:
    recommendation = (result.get("mitigation") or {}).get("recommendation")
    if not recommendation or not recommendation.get("text"):
        return []
    text = recommendation["text"].split(". ")[0].rstrip(".") + "."
    return [{"severity": "info", "text": f"Mitigation: {text}", "anchor": "mitigation"}]


def _checklist(result: dict[str, Any]) -> list[dict[str, str]]:
    checklist = result.get("checklist") or {}
    summary = checklist.get("summary")
    if not summary:
        return []
    signed = (checklist.get("sign_off") or {}).get("signed")
    text = f"Ethics checklist: {summary['open']} of {summary['total']} items open"
    text += "; signed off." if signed else "; not signed off."
    severity = "info" if signed and not summary["open"] else "warning"
    return [{"severity": severity, "text": text, "anchor": "checklist"}]
