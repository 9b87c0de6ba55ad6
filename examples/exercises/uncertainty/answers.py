"""Answer key of the uncertainty exercise: the same scores audited on 500 and 50,000 rows."""

from __future__ import annotations

from pathlib import Path

import audit
from audit.exercises import exercise_data

HERE = Path(__file__).parent


def audits() -> tuple[audit.AuditResult, audit.AuditResult]:
    data = exercise_data("uncertainty")
    small = audit.run(HERE / "audit.yaml", data=data["small.csv"])
    large = audit.run(HERE / "audit.yaml", data=data["large.csv"])
    return small, large


def key() -> dict[str, object]:
    small, large = audits()
    verdicts = {
        "small": small.verdicts().set_index("rule"),
        "large": large.verdicts().set_index("rule"),
    }
    difference = "demographic_parity_difference <= 0.2"
    width = {k: v.loc[difference, "high"] - v.loc[difference, "low"] for k, v in verdicts.items()}
    inconclusive = {
        k: [rule for rule, row in v.iterrows() if row["verdict"] == "inconclusive"]
        for k, v in verdicts.items()
    }
    return {
        "inconclusive_small": inconclusive["small"],
        "inconclusive_large": inconclusive["large"],
        "difference_verdict_large": verdicts["large"].loc[difference, "verdict"],
        "small_passes_gate": small.passed,
        "width_ratio": width["small"] / width["large"],
        "dp_ratio_large": verdicts["large"].loc["demographic_parity_ratio >= 0.5", "value"],
    }
