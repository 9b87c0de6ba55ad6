"""Answer key of the monitoring exercise: the month-1 model audited month by month."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import audit
from audit.exercises import exercise_data

HERE = Path(__file__).parent
INPUTS = ["credit_score", "income"]
RULE = "demographic_parity_ratio >= 0.8"


def trained_model(frame: pd.DataFrame):
    """The deployed model: fitted on month 1, as the notebook fits it."""
    first = frame[frame["month"] == 1]
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(first[INPUTS], first["repaid"])


def audits() -> dict[int, audit.AuditResult]:
    frame = exercise_data("monitoring")["monitoring.csv"]
    model = trained_model(frame)
    return {
        int(month): audit.run(HERE / "audit.yaml", data=rows, model=model)
        for month, rows in frame.groupby("month")
    }


def key() -> dict[str, object]:
    frame = exercise_data("monitoring")["monitoring.csv"]
    results = audits()
    verdicts = {m: r.verdicts().set_index("rule").loc[RULE] for m, r in results.items()}
    first, last = min(results), max(results)
    rates = {
        m: results[m].groups("group").set_index("group")["selection_rate"] for m in (first, last)
    }
    fell = (rates[first] - rates[last]).idxmax()
    later = frame["month"] >= 4
    rows = frame[frame["group"] == fell]
    before, after = rows[~later[rows.index]], rows[later[rows.index]]
    shift = {c: abs(after[c].mean() - before[c].mean()) / frame[c].std() for c in INPUTS}
    return {
        "dp_ratio_month1": verdicts[first]["value"],
        "first_failing_month": next(m for m, v in verdicts.items() if v["verdict"] == "fail"),
        "dp_ratio_month6": verdicts[last]["value"],
        "drifted_group": fell,
        "drifted_feature": max(shift, key=shift.get),
        "repayment_changed": bool(abs(after["repaid"].mean() - before["repaid"].mean()) > 0.05),
    }
