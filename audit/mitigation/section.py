"""What the mitigation section records when the stage does not run, and the slim fairness
entries kept per strategy: small, so the DuckDB/Spark engines, cross-validation and
monitoring use them without importing the stage (and scikit-learn with it)."""

from __future__ import annotations

from typing import Any

from audit.config import AuditConfig
from audit.vocabulary import strategies as catalogue


def not_run(config: AuditConfig, reason: str | None = None) -> dict[str, Any]:
    """The result of a stage that did not run, saying why (the report shows it)."""
    if reason is None:
        if config.mode == "predictions":
            reason = (
                "Not applicable: this audit reads decisions already made (predictions-only), "
                "so there is no model to retrain or post-process."
            )
        else:
            reason = (
                "Switched off (`--mitigate none`, or `mitigation: {strategies: [none]}` in "
                "audit.yaml). Without that setting the default set is compared: "
                + ", ".join(catalogue.DEFAULT_SET)
                + "."
            )
    return {"status": "not run", "reason": reason, "strategies": []}


# Per-group detail kept for each strategy: the point values, not the intervals and
# reference-group contrasts, which the comparison does not show (they would make
# results.json grow by the full fairness section once per strategy).
_GROUP_DETAIL = ("ci", "vs_reference", "undefined")


def slim_fairness(fairness: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A strategy's fairness entries: every disparity with its interval, group point values."""
    return [
        {
            **entry,
            "groups": [
                {k: v for k, v in group.items() if k not in _GROUP_DETAIL}
                for group in entry["groups"]
            ],
        }
        for entry in fairness
    ]
