"""Answer key of the representation-bias exercise: computed from the data and the audit."""

from __future__ import annotations

from pathlib import Path

import audit
from audit.exercises import exercise_data

HERE = Path(__file__).parent
INPUTS = ["symptom_score", "lab_value"]


def audits() -> audit.AuditResult:
    return audit.run(
        HERE / "audit.yaml", data=exercise_data("representation_bias")["screening.csv"]
    )


def key() -> dict[str, object]:
    frame = exercise_data("representation_bias")["screening.csv"]
    result = audits()
    groups = result.groups("group").set_index("group")
    width = groups["accuracy_high"] - groups["accuracy_low"]
    verdicts = result.verdicts().set_index("group")["verdict"]
    rare = frame["group"].value_counts(normalize=True).idxmin()
    minority = frame[frame["group"] == rare]
    correlation = minority[[*INPUTS, "condition"]].corr()["condition"][INPUTS].abs()
    return {
        "rare_group": rare,
        "lowest_accuracy_group": groups["accuracy"].idxmin(),
        "accuracy_gap": groups.loc["majority", "accuracy"] - groups.loc["minority", "accuracy"],
        "minority_verdict": verdicts["minority"],
        "interval_width_ratio": width["minority"] / width["majority"],
        "minority_signal": correlation.idxmax(),
    }
