"""Answer key of the label-bias exercise: computed from the planted data and the audit."""

from __future__ import annotations

from pathlib import Path

import audit
from audit.exercises import exercise_data

HERE = Path(__file__).parent


def audits() -> tuple[audit.AuditResult, audit.AuditResult]:
    """The starter audit (labels: hired) and the same model audited against `qualified`."""
    frame = exercise_data("label_bias")["hiring.csv"]
    result = audit.run(HERE / "audit.yaml", data=frame)
    test = frame[frame["split"] == "test"].drop(columns=["hired", "split"])
    against_qualified = audit.run(
        data=test,
        target="qualified",
        sensitive="sex",
        model=result.trained_model,
        fairness={"reference_groups": {"sex": "male"}, "bootstrap": {"resamples": 200}},
        mitigation={"strategies": ["none"]},
        explain={"enabled": False},
    )
    return result, against_qualified


def key() -> dict[str, object]:
    frame = exercise_data("label_bias")["hiring.csv"]
    result, against_qualified = audits()
    means = frame.groupby("sex")[["skill_test", "experience_years"]].mean()
    overall = frame[["skill_test", "experience_years"]].mean()
    groups = result.groups("sex").set_index("group")
    tpr = against_qualified.groups("sex").set_index("group")["tpr"]
    verdicts = result.verdicts().set_index("rule")["verdict"]
    return {
        "skills_differ": bool(((means.max() - means.min()) / overall > 0.05).any()),
        "label_gap": groups.loc["female", "base_rate"] - groups.loc["male", "base_rate"],
        "disadvantaged_group": groups["selection_rate"].idxmin(),
        "dp_verdict": verdicts["demographic_parity_ratio >= 0.8"],
        "tpr_gap_qualified": tpr["female"] - tpr["male"],
    }
