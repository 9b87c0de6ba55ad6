"""Individual decisions worth explaining, chosen per group.

For each group of each sensitive feature, among all evaluated rows:

``near_threshold``
    the rows whose score is closest to the decision threshold: the cases where a
    small change in one feature would flip the decision;
``false_negative``
    the most confident false negatives (actual positive, lowest score);
``false_positive``
    the most confident false positives (actual negative, highest score).

A row picked for several reasons (say, the borderline case of both its sex and
its race group) is explained once and lists every reason.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

KINDS = ("near_threshold", "false_negative", "false_positive")
KIND_LABELS = {
    "near_threshold": "closest to the decision threshold",
    "false_negative": "most confident false negative",
    "false_positive": "most confident false positive",
}


def select_cases(
    groups: pd.DataFrame,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    score: np.ndarray,
    threshold: np.ndarray | None,
    per_group: int,
) -> list[dict[str, Any]]:
    """Positions of the chosen rows and why each was chosen.

    Parameters
    ----------
    groups : pandas.DataFrame
        Group labels of every evaluated row, one column per sensitive feature.
    y_true, y_pred : array of 0/1
    score : array
        What the decision thresholds: the positive-class probability, else the model output.
    threshold : array or None
        Each row's decision threshold on ``score`` (one value, or one per group after
        post-processing); ``None`` when decisions do not come from a threshold, which
        leaves out ``near_threshold``.
    per_group : int
        Rows of each kind per group.

    Returns
    -------
    list of dict
        ``{"position": int, "selected_as": [{"sensitive", "group", "kind"}, ...]}`` in
        order of first selection.
    """
    chosen: dict[int, list[dict[str, str]]] = {}
    if per_group <= 0:
        return []
    for column in groups.columns:
        labels = groups[column].to_numpy()
        for label in sorted(pd.unique(labels)):
            in_group = labels == label
            for kind in KINDS:
                rows = _pick(kind, in_group, y_true, y_pred, score, threshold, per_group)
                for position in rows:
                    reason = {"sensitive": str(column), "group": str(label), "kind": kind}
                    chosen.setdefault(int(position), []).append(reason)
    return [{"position": p, "selected_as": reasons} for p, reasons in chosen.items()]


def _pick(kind, in_group, y_true, y_pred, score, threshold, k) -> np.ndarray:
    if kind == "near_threshold":
        if threshold is None:
            return np.empty(0, dtype=np.int64)
        candidates = np.flatnonzero(in_group)
        order = np.argsort(np.abs(score[candidates] - threshold[candidates]), kind="stable")
    elif kind == "false_negative":
        candidates = np.flatnonzero(in_group & (y_true == 1) & (y_pred == 0))
        order = np.argsort(score[candidates], kind="stable")
    else:
        candidates = np.flatnonzero(in_group & (y_true == 0) & (y_pred == 1))
        order = np.argsort(-score[candidates], kind="stable")
    return candidates[order[:k]]


def display_value(value: Any) -> Any:
    """A data value as shown in a case or a reason: JSON-ready, floats to 6 significant
    digits, ``None`` for a missing value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        rounded = float(f"{value:.6g}")
        return int(rounded) if rounded.is_integer() else rounded
    return value if isinstance(value, (int, bool)) else str(value)
