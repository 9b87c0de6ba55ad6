"""Per-group metrics and disparities for each sensitive feature, computed with fairlearn.

Conventions (also stated in the report): a *difference* is the largest minus the
smallest group value; a *ratio* is the smallest divided by the largest. Equal
opportunity is parity of true positive rates; equalized odds is parity of both
TPR and FPR, reported as the worse of the two.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from fairlearn import metrics as flm
from sklearn.metrics import accuracy_score, precision_score

MISSING_GROUP = "(missing)"
COUNTS = ("n", "positives", "predicted_positives")

# Column name in results.json -> fairlearn/sklearn metric(y_true, y_pred).
GROUP_METRICS = {
    "n": flm.count,
    "positives": lambda y_true, y_pred: int(np.sum(y_true)),
    "predicted_positives": lambda y_true, y_pred: int(np.sum(y_pred)),
    "selection_rate": flm.selection_rate,
    "tpr": flm.true_positive_rate,
    "fpr": flm.false_positive_rate,
    "fnr": flm.false_negative_rate,
    "precision": partial(precision_score, zero_division=np.nan),
    "accuracy": accuracy_score,
}

# name -> (fairlearn function, definition shown in the report)
DISPARITIES = {
    "demographic_parity_difference": (
        flm.demographic_parity_difference,
        "max - min over groups of the selection rate P(pred = 1)",
    ),
    "demographic_parity_ratio": (
        flm.demographic_parity_ratio,
        "min / max over groups of the selection rate",
    ),
    "equal_opportunity_difference": (
        flm.equal_opportunity_difference,
        "max - min over groups of the true positive rate P(pred = 1 | y = 1)",
    ),
    "equal_opportunity_ratio": (
        flm.equal_opportunity_ratio,
        "min / max over groups of the true positive rate",
    ),
    "equalized_odds_difference": (
        flm.equalized_odds_difference,
        "the larger of the TPR difference and the FPR difference (max - min over groups)",
    ),
    "equalized_odds_ratio": (
        flm.equalized_odds_ratio,
        "the smaller of the TPR ratio and the FPR ratio (min / max over groups)",
    ),
}


def group_labels(values: pd.Series) -> pd.Series:
    """Group labels as text; missing values become an explicit group, never dropped."""
    return values.astype(str).where(values.notna(), MISSING_GROUP)


def fairness_by_feature(
    y_true: np.ndarray, y_pred: np.ndarray, sensitive: pd.DataFrame
) -> list[dict[str, Any]]:
    """For each sensitive column: one row of metrics per group, and the disparities."""
    return [
        _one_feature(column, y_true, y_pred, group_labels(sensitive[column]))
        for column in sensitive.columns
    ]


def _one_feature(
    column: str, y_true: np.ndarray, y_pred: np.ndarray, groups: pd.Series
) -> dict[str, Any]:
    frame = flm.MetricFrame(
        metrics=GROUP_METRICS, y_true=y_true, y_pred=y_pred, sensitive_features=groups.to_numpy()
    ).by_group
    rows = [
        {
            "group": str(group),
            **{name: _plain(frame.loc[group, name], name in COUNTS) for name in GROUP_METRICS},
        }
        for group in frame.index
    ]
    disparities = []
    for name, (function, definition) in DISPARITIES.items():
        value = function(y_true, y_pred, sensitive_features=groups.to_numpy())
        disparities.append({"metric": name, "value": _plain(value), "definition": definition})
    return {"feature": column, "groups": rows, "disparities": disparities}


def _plain(value: Any, count: bool = False) -> Any:
    """numpy scalars -> Python numbers; NaN -> None (undefined, e.g. TPR with no positives)."""
    if count:
        return int(value)
    value = float(value)
    return None if np.isnan(value) else value
