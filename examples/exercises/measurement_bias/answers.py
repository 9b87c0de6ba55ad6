"""Answer key of the measurement-bias exercise: computed from the data and the audit."""

from __future__ import annotations

from pathlib import Path

import audit
from audit.exercises import exercise_data

HERE = Path(__file__).parent
INPUTS = ["test_score", "essay_score"]


def audits() -> audit.AuditResult:
    return audit.run(HERE / "audit.yaml", data=exercise_data("measurement_bias")["admissions.csv"])


def correlation_drop() -> dict[str, float]:
    """Per input: its correlation with success among native speakers minus among
    second-language speakers."""
    frame = exercise_data("measurement_bias")["admissions.csv"]
    by_group = {
        name: rows[[*INPUTS, "success"]].corr()["success"][INPUTS]
        for name, rows in frame.groupby("language")
    }
    return (by_group["native"] - by_group["second_language"]).to_dict()


def key() -> dict[str, object]:
    result = audits()
    groups = result.groups("language").set_index("group")
    verdicts = result.verdicts().set_index("rule")["verdict"]
    drop = correlation_drop()
    return {
        "base_rates_differ": bool(groups["base_rate"].max() - groups["base_rate"].min() > 0.05),
        "lowest_auc_group": groups["roc_auc"].idxmin(),
        "auc_gap": groups.loc["native", "roc_auc"] - groups.loc["second_language", "roc_auc"],
        "higher_fpr_group": groups["fpr"].idxmax(),
        "eo_verdict": verdicts["equalized_odds_difference <= 0.1"],
        "noisy_feature": max(drop, key=drop.get),
    }
