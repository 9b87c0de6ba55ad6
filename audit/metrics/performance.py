"""Overall performance on the evaluated rows: a binary classifier or a regression model."""

from __future__ import annotations

from statistics import NormalDist
from typing import Any

import numpy as np

from audit.metrics.counts import rates
from audit.metrics.scoring_rate import above_median

# Overall error rates reported with an interval: rate -> the label of its denominator's rows
# (FPR and TNR are shares of the actual negatives, FNR of the actual positives).
ERROR_RATES = {"fpr": 0, "fnr": 1, "tnr": 0}


def overall_metrics(
    y_true: np.ndarray,
    y_pred: np.ndarray | None,
    scores: np.ndarray | None,
    sample_weight: np.ndarray | None = None,
    *,
    decision_probability: np.ndarray | None = None,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Accuracy, balanced accuracy, precision, recall, F1, confusion matrix; ROC AUC and Brier
    score when scores exist (Brier only for scores that are probabilities in [0, 1]).
    Accuracy has its Wilson interval at ``confidence`` (the audit's level).

    With ``sample_weight`` every metric is weighted; the confusion matrix stays in rows.
    With ``decision_probability`` (a randomized classifier's P(pred = 1) per row, instead of
    ``y_pred``) every decision metric is computed on the expected confusion table, and the
    confusion matrix holds expected (fractional) counts."""
    from sklearn import metrics as skm  # imported here: sklearn costs ~1 s at CLI start

    n_rows = len(y_true)
    w = sample_weight
    n_eff = n_rows if w is None else effective_size(w)
    counted = None  # the confusion matrix counts rows: expected rows for a randomized model
    if decision_probability is not None:
        # Each row twice: decided positive with weight p, negative with weight 1 - p. Every
        # metric below is then a function of the expected confusion counts.
        p = np.asarray(decision_probability, dtype=float)
        counted = np.concatenate([p, 1 - p])
        w = counted if w is None else np.concatenate([w, w]) * counted
        y_true = np.concatenate([y_true, y_true])
        y_pred = np.repeat(np.array([1, 0], dtype=np.int8), n_rows)
        scores = None if scores is None else np.concatenate([scores, scores])
    matrix = skm.confusion_matrix(y_true, y_pred, labels=[0, 1], sample_weight=counted)
    tn, fp, fn, tp = (int(v) if counted is None else float(v) for v in matrix.ravel())
    result: dict[str, Any] = {
        "task": "classification",
        "n": int(n_rows),
        "base_rate": float(np.average(y_true, weights=w)),
        "selection_rate": float(np.average(y_pred, weights=w)),
        "accuracy": skm.accuracy_score(y_true, y_pred, sample_weight=w),
        "balanced_accuracy": skm.balanced_accuracy_score(y_true, y_pred, sample_weight=w),
        "precision": skm.precision_score(y_true, y_pred, zero_division=np.nan, sample_weight=w),
        "recall": skm.recall_score(y_true, y_pred, zero_division=np.nan, sample_weight=w),
        "f1": skm.f1_score(y_true, y_pred, zero_division=np.nan, sample_weight=w),
        "roc_auc": None,
        "brier": None,
        "confusion_matrix": {"tn": tn, "fp": fp, "fn": fn, "tp": tp},
    }
    if decision_probability is not None:
        result["decisions"] = "expected"
    result["accuracy_ci"] = wilson_interval(float(result["accuracy"]), n_eff, z_value(confidence))
    result.update(_error_rates(y_true, y_pred, w, sample_weight, n_rows, z_value(confidence)))
    if scores is not None:
        result["roc_auc"] = skm.roc_auc_score(y_true, scores, sample_weight=w)
        if scores.min() >= 0 and scores.max() <= 1:
            result["brier"] = skm.brier_score_loss(y_true, scores, sample_weight=w)
    return {k: float(v) if isinstance(v, np.floating) else v for k, v in result.items()}


def _error_rates(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    w: np.ndarray | None,
    sample_weight: np.ndarray | None,
    n_rows: int,
    z: float,
) -> dict[str, Any]:
    """Overall FPR, FNR and TNR from the (weighted, or expected) confusion cells by the count
    engine's own definitions, each with the Wilson interval of its denominator's rows (Kish's
    effective size among them when weighted), as accuracy has over all rows."""
    from sklearn import metrics as skm  # imported here: sklearn costs ~1 s at CLI start

    matrix = skm.confusion_matrix(y_true, y_pred, labels=[0, 1], sample_weight=w)
    values = rates(matrix.ravel().astype(np.float64))  # ravel: tn, fp, fn, tp, the engine's order
    labels = y_true[:n_rows]  # each row once (a randomized model's rows come twice)
    out: dict[str, Any] = {}
    for name, label in ERROR_RATES.items():
        value = float(values[name])
        among = labels == label
        if sample_weight is None:
            n = float(among.sum())
        else:
            n = effective_size(sample_weight[among])
        defined = np.isfinite(value) and n > 0
        out[name] = value if defined else None
        out[f"{name}_ci"] = wilson_interval(value, n, z) if defined else None
    return out


def z_value(confidence: float) -> float:
    """The standard normal quantile of a two-sided ``confidence`` level (1.96 for 0.95)."""
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def effective_size(weights: np.ndarray) -> float:
    """Kish's effective sample size of weighted rows, (Σw)² / Σw²: with unequal weights,
    fewer rows' worth of information; 0 for no weight at all."""
    weights = np.asarray(weights, dtype=np.float64)
    total = float(weights.sum())
    return total**2 / float(np.square(weights).sum()) if total > 0 else 0.0


def wilson_interval(share: float, n: float, z: float) -> list[float]:
    """Wilson score interval of a proportion observed in ``n`` rows, for the normal quantile
    ``z`` (stays inside [0, 1], unlike the normal approximation, for shares near 0 or 1)."""
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [float(centre - half), float(centre + half)]


def regression_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, sample_weight: np.ndarray | None = None
) -> dict[str, Any]:
    """MAE, RMSE, R², mean prediction, mean target and mean residual (prediction - target)
    over all evaluated rows, and the median prediction the scoring rates count above."""
    from sklearn import metrics as skm  # imported here: sklearn costs ~1 s at CLI start

    result = {
        "task": "regression",
        "n": int(len(y_true)),
        "mae": skm.mean_absolute_error(y_true, y_pred, sample_weight=sample_weight),
        "rmse": skm.root_mean_squared_error(y_true, y_pred, sample_weight=sample_weight),
        "r2": skm.r2_score(y_true, y_pred, sample_weight=sample_weight, force_finite=False),
        "mean_prediction": float(np.average(y_pred, weights=sample_weight)),
        "mean_target": float(np.average(y_true, weights=sample_weight)),
        "mean_residual": float(np.average(y_pred - y_true, weights=sample_weight)),
        "median_prediction": above_median(y_pred)[0],
    }
    return {k: _finite(v) for k, v in result.items()}


def _finite(value: Any) -> Any:
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    return value


def overall_from_table(
    counts: np.ndarray, confidence: float = 0.95, scores: dict[str, float | None] | None = None
) -> dict[str, Any]:
    """:func:`overall_metrics` of an unweighted audit from its confusion cells alone (an
    engine without the rows sums its finest table): the same values by the same definitions
    (scikit-learn's, checked in the tests), with ``scores`` (``roc_auc``, ``brier``)
    computed by the engine."""
    tn, fp, fn, tp = (int(v) for v in np.asarray(counts).reshape(-1, 4).sum(axis=0))
    n = tn + fp + fn + tp
    values = rates(np.array([tn, fp, fn, tp], dtype=np.float64))
    precision, recall = float(values["precision"]), float(values["tpr"])
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else np.nan
    tpr, tnr = float(values["tpr"]), float(values["tnr"])
    z = z_value(confidence)
    result: dict[str, Any] = {
        "task": "classification",
        "n": n,
        "base_rate": (fn + tp) / n,
        "selection_rate": (fp + tp) / n,
        "accuracy": (tn + tp) / n,
        "balanced_accuracy": float(np.nanmean([tpr, tnr])),
        "precision": precision,
        "recall": recall,
        "f1": float(f1),
        "roc_auc": None,
        "brier": None,
        "confusion_matrix": {"tn": tn, "fp": fp, "fn": fn, "tp": tp},
    }
    result["accuracy_ci"] = wilson_interval(result["accuracy"], n, z)
    for name, label in ERROR_RATES.items():
        value = float(values[name])
        among = (tn + fp) if label == 0 else (fn + tp)
        defined = np.isfinite(value) and among > 0
        result[name] = value if defined else None
        result[f"{name}_ci"] = wilson_interval(value, among, z) if defined else None
    result.update(scores or {})
    return {k: float(v) if isinstance(v, np.floating) else v for k, v in result.items()}
