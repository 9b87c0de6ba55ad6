"""Principal reasons for adverse decisions, in the style of ECOA / Regulation B notices.

For every explained row whose decision was negative (the model's decision, ``y_pred = 0``;
for a score with a threshold, a score below it), the principal reasons are the input
columns that pushed the model's output down the most: the row's most negative SHAP values
(towards the positive class, in the explanation's output space), at most
:data:`MAX_REASONS` of them. A column whose SHAP value is zero or positive did not push the
decision down and is never a reason, so a row can have fewer than four.

Per group of every sensitive feature the reasons are counted: the share of the group's
negative decisions (in the explained sample) that have a column among their principal
reasons, "how often is ``region`` a principal reason for Black vs White applicants?".

A proxy of a sensitive feature (flagged in the data-quality stage's association table)
is flagged here when it is a *frequent* principal reason: among the principal reasons of
at least :data:`FREQUENT_SHARE` of the negative decisions of some group of that sensitive
feature, counting only groups with at least ``MIN_ROWS_TO_COMPARE`` negative decisions in
the sample (fewer make the share noise). The gap between the groups' shares is stated
with it: a proxy that is a reason far more often for one group is how a model can turn
away a group without being given the sensitive feature.

Shares are counts over the explained sample, which is stratified by the sensitive groups;
they are not re-weighted to all evaluated rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from audit.explain.cases import display_value
from audit.explain.groups import MIN_ROWS_TO_COMPARE

# At most this many principal reasons per adverse decision (Regulation B's notices give four).
MAX_REASONS = 4
# A flagged proxy is a frequent principal reason at or above this share of a group's
# negative decisions.
FREQUENT_SHARE = 0.20


def principal_reasons(
    X: pd.DataFrame,
    values: np.ndarray,
    negative: np.ndarray,
    groups: pd.DataFrame,
    proxies: dict[str, Any],
    *,
    with_rows: bool = True,
) -> dict[str, Any]:
    """The principal reasons of the negative decisions among the explained rows.

    Parameters
    ----------
    X : pandas.DataFrame
        The explained rows' input columns (index: the rows' numbers in the data file).
    values : array (rows x columns of ``X``)
        The rows' SHAP values towards the positive class, on the input columns.
    negative : array of bool
        Whether each row's decision was negative.
    groups : pandas.DataFrame
        The rows' group labels (text), one column per sensitive feature.
    proxies : dict
        The association table (:func:`audit.metrics.association.proxy_associations`).
    with_rows : bool
        Whether to list every negative decision's reasons (left out of the summary kept
        for a mitigated model).

    Returns
    -------
    dict
        ``rows`` (one entry per negative decision, or ``None``), ``by_group`` (per
        sensitive feature, each column's count and share per group) and ``flags``.
    """
    columns = [str(c) for c in X.columns]
    values = np.asarray(values, dtype=float)
    negative = np.asarray(negative, dtype=bool)
    positions = np.flatnonzero(negative)
    reasons = [_reasons_of(values[p]) for p in positions]

    rows = None
    if with_rows:
        rows = [
            {
                "data_row": display_value(X.index[p]),
                "groups": {str(c): str(groups[c].iloc[p]) for c in groups.columns},
                "reasons": [
                    {
                        "feature": columns[j],
                        "contribution": float(values[p, j]),
                        "value": _text(X.iloc[p, j]),
                    }
                    for j in reasons[k]
                ],
            }
            for k, p in enumerate(positions)
        ]
    flagged = _flagged_proxies(proxies, set(columns))
    by_group = [
        _distribution(str(column), groups[column], negative, reasons, columns, flagged)
        for column in groups.columns
    ]
    return {
        "max_reasons": MAX_REASONS,
        "explained_rows": int(len(negative)),
        "negative_decisions": int(len(positions)),
        "frequent_share": FREQUENT_SHARE,
        "min_negative_decisions": MIN_ROWS_TO_COMPARE,
        "rows": rows,
        "by_group": by_group,
        "flags": _flags(by_group, flagged),
    }


def _reasons_of(row: np.ndarray) -> list[int]:
    """Columns with a negative SHAP value, most negative first (ties: column order)."""
    order = np.argsort(row, kind="stable")
    return [int(j) for j in order[:MAX_REASONS] if row[j] < 0]


def _text(value: Any) -> str | None:
    if pd.api.types.is_scalar(value) and pd.isna(value):
        return None
    return str(display_value(value))


def _flagged_proxies(proxies: dict[str, Any], columns: set[str]) -> dict[tuple[str, str], dict]:
    """(feature, sensitive feature) -> association, for the flagged proxies the model reads."""
    return {
        (a["feature"], a["sensitive"]): a
        for a in proxies.get("associations", [])
        if a.get("flagged") and a["feature"] in columns
    }


def _distribution(
    sensitive: str,
    labels: pd.Series,
    negative: np.ndarray,
    reasons: list[list[int]],
    columns: list[str],
    flagged: dict[tuple[str, str], dict],
) -> dict[str, Any]:
    """For one sensitive feature: how often each column is a principal reason, per group."""
    every_label = labels.astype(str).to_numpy()
    names = sorted(set(every_label))  # every explained group, also one without a negative
    label_of = every_label[negative]
    negatives = {g: int((label_of == g).sum()) for g in names}
    counts = {c: dict.fromkeys(names, 0) for c in columns}
    for label, row_reasons in zip(label_of, reasons, strict=True):
        for j in row_reasons:
            counts[columns[j]][label] += 1
    features = []
    for column in columns:
        if not any(counts[column].values()):
            continue  # never a principal reason: left out of the table
        shares = {g: counts[column][g] / negatives[g] if negatives[g] else None for g in names}
        compared = [shares[g] for g in names if negatives[g] >= MIN_ROWS_TO_COMPARE]
        features.append(
            {
                "feature": column,
                "proxy": (column, sensitive) in flagged,
                "counts": counts[column],
                "shares": shares,
                "max_share": max(s for s in shares.values() if s is not None),
                "gap": max(compared) - min(compared) if len(compared) >= 2 else None,
            }
        )
    features.sort(key=lambda f: -f["max_share"])  # stable: ties keep the column order
    return {
        "sensitive": sensitive,
        "groups": [{"group": g, "negative_decisions": negatives[g]} for g in names],
        "features": features,
    }


def _flags(
    by_group: list[dict[str, Any]], flagged: dict[tuple[str, str], dict]
) -> list[dict[str, Any]]:
    """Flagged proxies that are a frequent principal reason for some group of their feature."""
    out = []
    for distribution in by_group:
        sensitive = distribution["sensitive"]
        negatives = {g["group"]: g["negative_decisions"] for g in distribution["groups"]}
        compared = [g for g, n in negatives.items() if n >= MIN_ROWS_TO_COMPARE]
        for feature in distribution["features"]:
            association = flagged.get((feature["feature"], sensitive))
            if association is None or not compared:
                continue
            shares = feature["shares"]
            frequent = [g for g in compared if shares[g] >= FREQUENT_SHARE]
            if not frequent:
                continue
            top = max(compared, key=lambda g: shares[g])
            low = min(compared, key=lambda g: shares[g])
            out.append(
                {
                    "feature": feature["feature"],
                    "sensitive": sensitive,
                    "measure": association["measure"],
                    "association": association["value"],
                    "frequent_in": frequent,
                    "top_group": top,
                    "top_share": shares[top],
                    "top_count": feature["counts"][top],
                    "top_negative_decisions": negatives[top],
                    "low_group": low,
                    "low_share": shares[low],
                    "gap": feature["gap"],
                }
            )
    return out
