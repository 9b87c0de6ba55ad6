"""Checks of the label: imbalance, and single inputs that predict it suspiciously well."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from audit.metrics.association import correlation_ratio
from audit.metrics.fairness import group_labels
from audit.multiclass import class_labels, class_names
from audit.quality.findings import CheckSkipped, Finding, QualityInput, is_numeric, pct, share
from audit.text import printable

MAX_BINS = 20
ROWS_PER_BIN = 50


def label_imbalance(inp: QualityInput) -> list[Finding]:
    """A warning when the rarer outcome is under ``imbalance_share`` of the rows."""
    if inp.task == "regression":
        raise CheckSkipped("a numeric (regression) target has no outcome classes")
    if inp.task == "multiclass":
        return _rare_classes(inp)
    positives = inp.positives()
    negatives = inp.n_rows - positives
    minority = min(positives, negatives)
    frac = share(minority, inp.n_rows)
    if frac >= inp.settings.imbalance_share:
        return []
    rarer = "positive" if positives <= negatives else "negative"
    return [
        Finding(
            "label_imbalance",
            inp.target,
            "warning",
            f"The {rarer} outcome is rare: {minority:,} of {inp.n_rows:,} rows ({pct(frac)}). "
            "Accuracy can look high while the rare outcome is mostly missed; read balanced "
            "accuracy, recall and the per-group rates.",
            {
                "positive_label": inp.positive_label,
                "positives": positives,
                "negatives": negatives,
                "minority_share": frac,
                "threshold": inp.settings.imbalance_share,
            },
        )
    ]


def _rare_classes(inp: QualityInput) -> list[Finding]:
    """A warning for each class of a multiclass target under ``imbalance_share`` of the rows
    (``y`` holds the class codes)."""
    labels = class_names(class_labels(inp.frame[inp.target], inp.target))
    counts = np.bincount(np.asarray(inp.y, dtype=np.int64), minlength=len(labels))
    findings = []
    for code, count in enumerate(counts):
        frac = share(int(count), inp.n_rows)
        if frac >= inp.settings.imbalance_share:
            continue
        findings.append(
            Finding(
                "label_imbalance",
                inp.target,
                "warning",
                f"Class '{printable(labels[code], 40)}' is rare: {int(count):,} "
                f"of {inp.n_rows:,} rows ({pct(frac)}). Its one-vs-rest rates rest on few "
                "rows; read the per-class recall and intervals.",
                {
                    "class": labels[code],
                    "rows": int(count),
                    "minority_share": frac,
                    "threshold": inp.settings.imbalance_share,
                },
            )
        )
    return findings


def _rate_score(codes: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each row scored by the positive rate of its bin or category (in-sample)."""
    _, inverse = np.unique(codes, return_inverse=True)
    rates = np.bincount(inverse, weights=y) / np.bincount(inverse)
    return rates[inverse]


def _quantile_bins(values: pd.Series) -> np.ndarray:
    """Quantile-bin codes of a numeric column; missing values get a bin of their own (-1)."""
    x = values.to_numpy(dtype=float)
    finite = np.isfinite(x)
    bins = min(MAX_BINS, max(2, len(x) // ROWS_PER_BIN))
    try:
        placed = pd.qcut(values, q=bins, labels=False, duplicates="drop").to_numpy(float)
    except (ValueError, IndexError):
        placed = np.full(len(x), np.nan)
    # Values qcut cannot place (a single distinct value) share one bin.
    return np.where(finite, np.nan_to_num(placed, nan=MAX_BINS), -1).astype(int)


def single_feature_auc(
    values: pd.Series, y: np.ndarray, max_categories: int
) -> tuple[float, str] | None:
    """How well one column alone separates the labels, as a ROC AUC folded to >= 0.5.

    Numeric columns: the better of the raw values as a score (a monotone relation)
    and the positive rate of quantile bins, missing values a bin of their own (any
    relation, including "missing means positive"). Categorical columns: the
    positive rate of each category. ``None`` for columns with too many categories,
    where an in-sample rate per category would overfit.
    """
    from sklearn.metrics import (
        roc_auc_score,  # imported here: scipy/sklearn cost seconds at CLI start
    )

    if is_numeric(values):
        x = values.to_numpy(dtype=float)
        finite = np.isfinite(x)
        best, method = 0.5, "values"
        if finite.sum() and len(np.unique(y[finite])) == 2:
            auc = roc_auc_score(y[finite], x[finite])
            best = max(auc, 1 - auc)
        codes = _quantile_bins(values)
        binned = roc_auc_score(y, _rate_score(codes, y))
        if binned > best:
            best, method = binned, f"positive rate of {len(np.unique(codes))} quantile bins"
        return float(best), method
    labels = group_labels(values)
    if labels.nunique() > max_categories:
        return None
    codes = pd.factorize(labels)[0]
    return float(roc_auc_score(y, _rate_score(codes, y))), "positive rate of each category"


def single_feature_correlation(
    values: pd.Series, y: np.ndarray, max_categories: int
) -> tuple[float, str] | None:
    """How well one column alone predicts a numeric target, as a correlation in [0, 1].

    The regression counterpart of :func:`single_feature_auc` (a ROC AUC needs two
    classes). Numeric columns: the better of the absolute Spearman rank correlation (a monotone
    relation) and the correlation ratio of the target over quantile bins, missing values
    a bin of their own (any relation). Categorical columns: the correlation ratio over
    the categories. Correlation ratios are bias-corrected, as in-sample group means
    flatter them. ``None`` for columns with too many categories.
    """
    from scipy.stats import spearmanr  # imported here: scipy/sklearn cost seconds at CLI start

    if is_numeric(values):
        x = values.to_numpy(dtype=float)
        finite = np.isfinite(x)
        best, method = 0.0, "values"
        if finite.sum() > 2 and np.ptp(x[finite]) > 0:
            rho = spearmanr(x[finite], y[finite])[0]
            best = 0.0 if np.isnan(rho) else abs(float(rho))
            method = "|Spearman rank correlation|"
        codes = _quantile_bins(values)
        binned = correlation_ratio(y, codes, bias_corrected=True)[0]
        if binned > best:
            best, method = binned, f"correlation ratio over {len(np.unique(codes))} quantile bins"
        return float(best), method
    labels = group_labels(values)
    if labels.nunique() > max_categories:
        return None
    eta = correlation_ratio(y, labels.to_numpy(), bias_corrected=True)[0]
    return eta, "correlation ratio over the categories"


def auc_table(inp: QualityInput) -> list[dict[str, Any]]:
    """Single-column AUC of every model input, strongest first."""
    return inp.memo("auc", lambda: _strength_table(inp, single_feature_auc, "auc"))


def correlation_table(inp: QualityInput) -> list[dict[str, Any]]:
    """Single-column correlation of every model input with a numeric target, strongest first."""
    return inp.memo(
        "correlation", lambda: _strength_table(inp, single_feature_correlation, "correlation")
    )


def _strength_table(inp: QualityInput, measure: Any, key: str) -> list[dict[str, Any]]:
    rows = []
    for column in inp.features:
        scored = measure(inp.frame[column], inp.y, inp.settings.max_categories)
        if scored is not None:
            rows.append({"column": column, key: scored[0], "method": scored[1]})
    return sorted(rows, key=lambda r: -r[key])


def leakage(inp: QualityInput) -> list[Finding]:
    """A model input that alone predicts the label with AUC >= ``leakage_auc_error`` is an
    error (a leak makes every later number meaningless); >= ``leakage_auc_warning`` a warning.
    A numeric (regression) target is measured by correlation instead, with the
    ``leakage_correlation_*`` thresholds.

    The error becomes a warning, with the reason stated, when each outcome has fewer
    than ``min_group_rows`` rows (a perfect split happens by chance in tiny data) or in
    a predictions-only audit (no model is fitted on these columns here).
    """
    cfg = inp.settings
    if not inp.features:
        raise CheckSkipped(
            "no model inputs: a predictions-only audit knows the inputs only when "
            "data.features declares them"
        )
    if inp.task == "multiclass":
        raise CheckSkipped("the single-input ROC AUC needs a binary target (multiclass audit)")
    if inp.task == "regression":
        table, key, measure = correlation_table(inp), "correlation", "correlation"
        warn_at, error_at = cfg.leakage_correlation_warning, cfg.leakage_correlation_error
        minority = inp.n_rows  # no outcome classes: only the predictions-only rule applies
    else:
        table, key, measure = auc_table(inp), "auc", "ROC AUC"
        warn_at, error_at = cfg.leakage_auc_warning, cfg.leakage_auc_error
        minority = int(min(inp.y.sum(), inp.n_rows - inp.y.sum()))
    findings = []
    for row in table:
        value = row[key]
        if value < warn_at:
            continue
        severity, note = "warning", ""
        if value >= error_at:
            if not inp.trains_model:
                note = (
                    " (a warning, not an error: this predictions-only audit fits no model on "
                    "these columns)"
                )
            elif minority < cfg.min_group_rows:
                note = (
                    f" (a warning, not an error: with {minority} rows of the rarer outcome a "
                    "near-perfect split can happen by chance)"
                )
            else:
                severity = "error"
        findings.append(
            Finding(
                "leakage",
                row["column"],
                severity,
                f"'{row['column']}' alone predicts '{inp.target}' with {measure} {value:.3f} "
                f"({row['method']}){note}. Check that it is known before the decision is made "
                "and is not derived from the label.",
                {**row, "warning_at": warn_at, "error_at": error_at},
            )
        )
    return findings
