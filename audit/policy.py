"""The policy on the command line: rules added with ``--fail-on``, the gate, and the lines
that report the verdicts in the terminal. The rule grammar is in :mod:`audit.vocabulary.rules`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from audit.errors import AuditError
from audit.text import interval_text, printable

if TYPE_CHECKING:
    from audit.config import AuditConfig
    from audit.result.sections import PolicySummary, Verdict


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
        text += f" {interval_text(verdict.ci)}"
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
