"""Proxy detection: how strongly each feature is associated with each sensitive feature.

A model that never sees ``race`` can still rediscover it from a feature that
carries it (a postcode, a region). The data-quality stage reports every such
association of the model inputs (on all rows); the explanations cross the same table
with the model's SHAP importance. One detector, so a pair has one value in the report.

Two methods, both on a 0-1 scale:

``cramers_v`` (default)
    Categorical feature: Cramér's V of the feature × group contingency table,
    ``sqrt(chi2 / (n * (min(rows, columns) - 1)))`` (no bias correction, as
    ``scipy.stats.contingency.association``). Numeric feature: the correlation
    ratio η, ``sqrt(between-group sum of squares / total sum of squares)`` (η² is
    the R² of predicting the feature from the group). Flagged when the value is at
    least the threshold (default :data:`DEFAULT_THRESHOLDS`) **and** the chi-square
    (or one-way ANOVA F) test of no association has p < :data:`MAX_P_VALUE`, so small
    samples do not raise false alarms.
``mutual_info``
    Normalised mutual information, ``I(feature; group) / H(group)``: the share of
    the uncertainty about the group that the feature removes. Categorical features
    use ``sklearn.metrics.mutual_info_score``, numeric ones the nearest-neighbour
    estimate of ``sklearn.feature_selection.mutual_info_classif`` (seeded). Flagged at
    or above the threshold.

Missing values of a categorical feature are a category of their own; rows where
a numeric feature is missing are left out of its association. A categorical
feature with more than :data:`MAX_CATEGORIES` values, or fewer than 5 rows per value
on average (an identifier, free text), is not scored: Cramér's V of a near-unique
column is close to 1 whatever it holds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

DEFAULT_THRESHOLDS = {"cramers_v": 0.2, "mutual_info": 0.05}
MAX_P_VALUE = 0.001
MAX_CATEGORIES = 50
MISSING = "(missing)"


def cramers_v(feature: np.ndarray, group: np.ndarray) -> tuple[float, float]:
    """Cramér's V of two categorical arrays (scipy's, no bias correction), and the
    chi-square test's p-value."""
    from scipy import stats  # imported here: scipy/sklearn cost seconds at CLI start

    _, f_codes = np.unique(feature, return_inverse=True)
    _, g_codes = np.unique(group, return_inverse=True)
    # The contingency table by one bincount: much faster than pd.crosstab on many rows.
    rows, columns = f_codes.max() + 1, g_codes.max() + 1
    table = np.bincount(f_codes * columns + g_codes, minlength=rows * columns)
    table = table.reshape(rows, columns)
    if min(table.shape) < 2:
        return 0.0, 1.0
    value = float(stats.contingency.association(table, method="cramer"))
    p_value = float(stats.chi2_contingency(table, correction=False)[1])
    return value, p_value


def correlation_ratio(
    feature: np.ndarray, group: np.ndarray, bias_corrected: bool = False
) -> tuple[float, float]:
    """Correlation ratio η of a numeric array with groups (η² = between-group over total
    sum of squares), and the one-way ANOVA p-value (scipy's ``f_oneway``).

    With ``bias_corrected`` η² becomes epsilon² = (SS_between − (k − 1) · MS_within) /
    SS_total, which removes what in-sample group means explain by chance (needed when
    there are many groups for few rows, as for a leakage check over a column's categories).
    """
    from scipy import stats  # imported here: scipy/sklearn cost seconds at CLI start

    feature = np.asarray(feature, dtype=float)
    _, codes = np.unique(np.asarray(group), return_inverse=True)
    n, k = len(feature), codes.max() + 1
    counts = np.bincount(codes, minlength=k)
    means = np.bincount(codes, weights=feature, minlength=k) / np.maximum(counts, 1)
    total = float(((feature - feature.mean()) ** 2).sum())
    between = float((counts * (means - feature.mean()) ** 2).sum())
    if total == 0.0 or k < 2:
        return 0.0, 1.0
    if bias_corrected:
        if n <= k:
            return 0.0, 1.0
        between -= (k - 1) * (total - between) / (n - k)
    eta = float(np.sqrt(min(max(between / total, 0.0), 1.0)))
    if n - k <= 0:
        return eta, 1.0
    if total - between <= 0.0:
        return eta, 0.0  # every group constant: the feature determines the group
    p_value = float(stats.f_oneway(*(feature[codes == g] for g in range(k))).pvalue)
    return eta, p_value


def normalised_mutual_info(
    feature: np.ndarray, group: np.ndarray, numeric: bool, seed: int
) -> float:
    """I(feature; group) / H(group), in [0, 1]."""
    from scipy import stats  # imported here: scipy/sklearn cost seconds at CLI start
    from sklearn.feature_selection import mutual_info_classif
    from sklearn.metrics import mutual_info_score

    _, g_codes = np.unique(group, return_inverse=True)
    entropy = float(stats.entropy(np.bincount(g_codes)))
    if entropy == 0.0:
        return 0.0
    if numeric:
        info = mutual_info_classif(
            feature.reshape(-1, 1), g_codes, discrete_features=False, random_state=seed
        )[0]
    else:
        info = mutual_info_score(g_codes, feature)
    return float(min(max(info / entropy, 0.0), 1.0))


def proxy_associations(
    X: pd.DataFrame,
    groups: pd.DataFrame,
    method: str = "cramers_v",
    threshold: float | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Association of every column of ``X`` with every sensitive feature in ``groups``.

    Parameters
    ----------
    X : pandas.DataFrame
        The features (model inputs), one row per evaluated row.
    groups : pandas.DataFrame
        Group labels (text) of the same rows, one column per sensitive feature.
    method : {"cramers_v", "mutual_info"}
    threshold : float or None
        Flag at or above this value; ``None`` uses the method's default.
    seed : int
        Seed of the mutual-information estimator.

    Returns
    -------
    dict
        ``method``, ``threshold``, ``max_p_value``, ``rows`` and ``associations``: one
        entry per (feature, sensitive feature) with ``measure``, ``value``, ``p_value``,
        ``n`` and ``flagged``, strongest first.
    """
    threshold = DEFAULT_THRESHOLDS[method] if threshold is None else threshold
    associations = []
    for column in X.columns:
        values = X[column]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        if not numeric:
            text = values.astype(str).where(values.notna(), MISSING).to_numpy()
            n_categories = len(pd.unique(text))
        for sensitive in groups.columns:
            if str(sensitive) == str(column):
                continue
            group = groups[sensitive].to_numpy()
            entry: dict[str, Any] = {"feature": str(column), "sensitive": str(sensitive)}
            if numeric:
                present = values.notna().to_numpy()
                x, g = values.to_numpy(dtype=float, na_value=np.nan)[present], group[present]
                measure = "correlation ratio" if method == "cramers_v" else "mutual information"
            else:
                x, g = text, group
                measure = "Cramér's V" if method == "cramers_v" else "mutual information"
                if n_categories > MAX_CATEGORIES or len(x) < 5 * n_categories:
                    entry.update(
                        measure=measure,
                        value=None,
                        p_value=None,
                        n=len(x),
                        flagged=False,
                        note=f"{n_categories} distinct values in {len(x)} rows: too many for a "
                        "reliable association (an identifier?); not scored",
                    )
                    associations.append(entry)
                    continue
            if len(x) < 2 or len(np.unique(g)) < 2:
                value, p_value = 0.0, 1.0
            elif method == "cramers_v":
                value, p_value = correlation_ratio(x, g) if numeric else cramers_v(x, g)
            else:
                value, p_value = normalised_mutual_info(x, g, numeric, seed), None
            flagged = value >= threshold and (p_value is None or p_value < MAX_P_VALUE)
            entry.update(
                measure=measure, value=value, p_value=p_value, n=int(len(x)), flagged=bool(flagged)
            )
            associations.append(entry)
    associations.sort(key=lambda a: -(a["value"] or 0.0))
    return {
        "method": method,
        "threshold": threshold,
        "max_p_value": MAX_P_VALUE if method == "cramers_v" else None,
        "rows": int(len(X)),
        "associations": associations,
    }
