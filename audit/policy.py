"""Policy rules: their text form, validation, and the rules given on the command line.

A rule is ``metric op bound``, optionally on one sensitive feature or intersection:
``demographic_parity_ratio >= 0.8``, ``race: equalized_odds_difference <= 0.1``,
``sex × race: tpr >= 0.6`` (``*`` may stand for ``×``). Without a feature it applies
to every sensitive feature and every intersection. The metric is a disparity (one
value per feature) or a group metric (one verdict per group). How verdicts are
reached from intervals is in :mod:`audit.metrics.verdicts`.
"""

from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING, Any

from audit.errors import AuditError
from audit.metrics.groups import JOIN
from audit.text import printable

if TYPE_CHECKING:
    from audit.config import AuditConfig, PolicyRule
    from audit.result.sections import PolicySummary, Verdict

OPS = (">=", "<=", ">", "<")
RULE_PATTERN = re.compile(
    r"^\s*(?:(?P<feature>.+?)\s*:\s*)?(?P<metric>[A-Za-z_][A-Za-z0-9_]*)\s*"
    r"(?P<op>>=|<=|>|<|=>|=<)\s*(?P<bound>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$"
)
ALL_FEATURES = ("all", "*")


def parse_rule_text(text: str) -> dict[str, Any]:
    """``"[feature:] metric op bound"`` -> ``{metric, op, bound, feature}``.

    Raises
    ------
    ValueError
        If the text is not a rule (pydantic turns it into a config error naming the key).
    """
    match = RULE_PATTERN.match(text)
    if not match:
        raise ValueError(
            f"cannot read rule '{printable(text, 60)}': write it as 'metric >= bound' or "
            "'feature: metric <= bound', e.g. 'demographic_parity_ratio >= 0.8'"
        )
    op = {"=>": ">=", "=<": "<="}.get(match["op"], match["op"])
    rule: dict[str, Any] = {
        "metric": match["metric"],
        "op": op,
        "bound": float(match["bound"]),
    }
    if match["feature"]:
        rule["feature"] = match["feature"].strip()
    return rule


def check_metric_name(metric: str) -> None:
    """Raise ValueError naming the closest known metrics when ``metric`` is unknown."""
    from audit.metrics.catalog import known_rule_metrics

    known = known_rule_metrics()
    if metric in known:
        return
    close = difflib.get_close_matches(metric, known, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise ValueError(
        f"unknown metric '{printable(metric, 60)}' in a policy rule.{hint} Known disparities "
        f"and group metrics: {', '.join(known)}"
    )


def feature_key(feature: str | list[str] | None) -> str | None:
    """The partition name a rule's ``feature`` refers to (``None`` = every partition)."""
    if feature is None:
        return None
    if isinstance(feature, list):
        return JOIN.join(str(part).strip() for part in feature)
    text = feature.strip()
    if text.lower() in ALL_FEATURES:
        return None
    parts = re.split(r"\s*(?:×|\*)\s*", text)
    return JOIN.join(parts)


def rule_text(rule: PolicyRule, with_feature: bool = False) -> str:
    """Canonical text of a rule: ``metric op bound`` (prefixed by its feature if asked)."""
    text = f"{rule.metric} {rule.op} {rule.bound:g}"
    key = feature_key(rule.feature)
    return f"{key}: {text}" if with_feature and key else text


def add_command_line_rules(
    config: AuditConfig,
    fail_on: list[str] | None,
    strict: bool | None,
    junit: Any | None,
    gate: str | None = None,
) -> None:
    """Append ``--fail-on`` rules to the config's policy; apply ``--gate``/``--strict`` and
    ``--junit``.

    Raises
    ------
    AuditError
        If a rule cannot be read, or ``--strict`` is given with another ``--gate``.
    """
    from pydantic import ValidationError

    from audit.config import PolicyRule

    added = []
    for text in fail_on or []:
        try:
            added.append(PolicyRule.model_validate(text))
        except ValidationError as exc:
            message = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
            raise AuditError(f"--fail-on '{printable(text, 60)}': {message}") from None
    if added:
        config.policy.rules = [*config.policy.rules, *added]
    if strict and gate not in (None, "strict"):
        raise AuditError(
            f"--strict means --gate strict; it contradicts --gate {gate}. Give only one of them."
        )
    if strict or gate:
        config.policy.gate = "strict" if strict else gate  # type: ignore[assignment]
    if junit is not None:
        config.policy.junit = junit


def _interval_text(verdict: Verdict) -> str:
    text = "undefined" if verdict.value is None else f"{verdict.value:.3f}"
    if verdict.ci is not None:
        text += f" [{verdict.ci[0]:.3f}, {verdict.ci[1]:.3f}]"
    return text


def summary_lines(
    policy: PolicySummary, verdicts: list[Verdict], everything: bool = False
) -> list[str]:
    """Console lines for the policy: the status and gate, then each verdict that is not a
    pass, with the groups behind its value, saying so when a non-fail verdict fails the gate.

    With ``everything``, passing verdicts are listed too.
    """
    if policy.status == "no rules":
        return []
    counts = policy.counts
    total = sum(counts.values())
    parts = [f"{counts[k]} {k}" for k in ("pass", "fail", "inconclusive", "insufficient data")]
    noun = "verdict" if total == 1 else "verdicts"
    lines = [
        f"Policy: {policy.status.upper()} — {total} {noun}: {', '.join(parts)}",
        f"Gate '{policy.gate}': {policy.gate_rule or ''}.",
    ]
    for verdict in verdicts:
        if verdict.verdict == "pass" and not everything:
            continue
        where = verdict.feature + (f" = {verdict.group}" if verdict.group is not None else "")
        line = (
            f"  {verdict.verdict.upper():<17} {where}: {verdict.rule}  "
            f"value {_interval_text(verdict)}"
        )
        if verdict.groups_behind and verdict.group is None:
            line += f"  ({verdict.groups_behind})"
        if verdict.fails_gate and verdict.verdict != "fail":
            line += " — fails the gate: " + (
                "the point estimate violates the bound"
                if verdict.point_violates
                else "only a pass passes"
            )
        lines.append(line)
    return lines
