"""Overall performance of a binary classifier on the evaluated rows."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn import metrics as skm


def overall_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, scores: np.ndarray | None
) -> dict[str, Any]:
    """Accuracy, balanced accuracy, precision, recall, F1, confusion matrix; ROC AUC and Brier
    score when scores exist (Brier only for scores that are probabilities in [0, 1])."""
    tn, fp, fn, tp = skm.confusion_matrix(y_true, y_pred, labels=[0, 1]).ravel()
    result: dict[str, Any] = {
        "n": int(len(y_true)),
        "base_rate": float(np.mean(y_true)),
        "selection_rate": float(np.mean(y_pred)),
        "accuracy": skm.accuracy_score(y_true, y_pred),
        "balanced_accuracy": skm.balanced_accuracy_score(y_true, y_pred),
        "precision": skm.precision_score(y_true, y_pred, zero_division=np.nan),
        "recall": skm.recall_score(y_true, y_pred, zero_division=np.nan),
        "f1": skm.f1_score(y_true, y_pred, zero_division=np.nan),
        "roc_auc": None,
        "brier": None,
        "confusion_matrix": {"tn": int(tn), "fp": int(fp), "fn": int(fn), "tp": int(tp)},
    }
    if scores is not None:
        result["roc_auc"] = skm.roc_auc_score(y_true, scores)
        if scores.min() >= 0 and scores.max() <= 1:
            result["brier"] = skm.brier_score_loss(y_true, scores)
    return {k: float(v) if isinstance(v, np.floating) else v for k, v in result.items()}
