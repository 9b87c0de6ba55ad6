"""Answer key of the monitoring exercise: the month-1 model's six months of decisions
audited over time (``monitoring:`` in audit.yaml, one window per month)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import audit
from audit.datasets.teaching import month_label
from audit.exercises import exercise_data

HERE = Path(__file__).parent
INPUTS = ["credit_score", "income"]
TIME = "decided_on"
RULE = "demographic_parity_ratio >= 0.8"


def trained_model(frame: pd.DataFrame):
    """The deployed model: fitted on the first month, as the notebook fits it."""
    first = frame[frame[TIME].str[:7] == month_label(1)]
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(first[INPUTS], first["repaid"])


def audit_over_time() -> audit.AuditResult:
    """The notebook's audit: every month's decisions of the deployed model, one window each."""
    frame = exercise_data("monitoring")["monitoring.csv"]
    return audit.run(HERE / "audit.yaml", data=frame, model=trained_model(frame))


def rule_verdict(window):
    return next(v for v in window.verdicts if v.rule == RULE)


def selection_rates(window) -> pd.Series:
    groups = next(f for f in window.fairness if f.feature == "group").groups
    return pd.Series({g.group: g.selection_rate for g in groups})


def key() -> dict[str, object]:
    frame = exercise_data("monitoring")["monitoring.csv"]
    monitoring = audit_over_time().monitoring
    windows = monitoring.windows
    first, last = windows[0], windows[-1]
    alerted = monitoring.alerts[0].window
    fell = (selection_rates(first) - selection_rates(last)).idxmax()
    rows = frame[frame["group"] == fell]
    later = rows[TIME].str[:7] >= alerted  # ISO months sort as text
    before, after = rows[~later], rows[later]
    shift = {c: abs(after[c].mean() - before[c].mean()) / frame[c].std() for c in INPUTS}
    return {
        "dp_ratio_reference": rule_verdict(first).value,
        "first_alert_window": alerted,
        "first_failing_window": next(w.label for w in windows if rule_verdict(w).verdict == "fail"),
        "dp_ratio_last": rule_verdict(last).value,
        "drifted_group": fell,
        "drifted_feature": max(shift, key=shift.get),
        "repayment_changed": bool(abs(after["repaid"].mean() - before["repaid"].mean()) > 0.05),
    }
