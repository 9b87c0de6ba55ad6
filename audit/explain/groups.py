"""Explanations per group, and the decomposition of a gap in mean model output by feature.

For each row, ``output = base value + sum_j shap_j``. Averaging over the rows of
group a and of group b and subtracting, the base value cancels:

    mean_a(output) - mean_b(output) = sum_j [mean_a(shap_j) - mean_b(shap_j)]

so the per-feature differences of mean SHAP values add up exactly to the gap in
mean output: they say which features carry the disparity. (A feature's
contribution is the difference in what the model makes of it in the two groups;
it is not a causal effect.) Means are weighted by the sample weights, so they
estimate means over all evaluated rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from audit.metrics.performance import effective_size

# A group needs this many explained rows for its means to be compared.
MIN_ROWS_TO_COMPARE = 20


def weighted_mean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted mean over rows (axis 0)."""
    return np.average(values, axis=0, weights=weights)


def mean_variance(values: np.ndarray, weights: np.ndarray, population: int) -> np.ndarray:
    """Approximate sampling variance of the weighted mean over rows (axis 0).

    Weighted variance over Kish's effective sample size, with the finite-population
    correction, so a group whose every evaluated row was explained has variance 0.
    """
    mean = weighted_mean(values, weights)
    spread = np.average((values - mean) ** 2, axis=0, weights=weights)
    effective = effective_size(weights)
    correction = max(0.0, 1.0 - len(weights) / population) if population else 0.0
    return spread / effective * correction


def by_group(
    shap_values: np.ndarray,
    output: np.ndarray,
    weights: np.ndarray,
    groups: pd.DataFrame,
    features: list[str],
    output_all: np.ndarray,
    groups_all: pd.DataFrame,
) -> list[dict[str, Any]]:
    """Mean |SHAP| and mean SHAP per feature, and mean output, for each group.

    Parameters
    ----------
    shap_values : array (rows x features)
        SHAP values of the explained rows, columns in the order of ``features``.
    output, weights : array (rows,)
        Model output and sample weight of the explained rows.
    groups : pandas.DataFrame
        Group label of each explained row, one column per sensitive feature.
    output_all, groups_all :
        Model output and group labels of every evaluated row, for the group's
        mean output over all of them (``mean_output_all``).
    """
    out = []
    for column in groups.columns:
        labels = groups[column].to_numpy()
        labels_all = groups_all[column].to_numpy()
        rows = []
        for label in sorted(pd.unique(groups_all[column])):
            mask = labels == label
            entry: dict[str, Any] = {
                "group": str(label),
                "n_explained": int(mask.sum()),
                "n_evaluated": int((labels_all == label).sum()),
                "mean_output_all": float(output_all[labels_all == label].mean()),
            }
            if mask.any():
                w = weights[mask]
                population = entry["n_evaluated"]
                entry["mean_output"] = float(weighted_mean(output[mask], w))
                entry["mean_output_variance"] = float(mean_variance(output[mask], w, population))
                entry["mean_shap_variance"] = dict(
                    zip(
                        features,
                        mean_variance(shap_values[mask], w, population).tolist(),
                        strict=True,
                    )
                )
                entry["mean_abs_shap"] = dict(
                    zip(features, weighted_mean(np.abs(shap_values[mask]), w).tolist(), strict=True)
                )
                entry["mean_shap"] = dict(
                    zip(features, weighted_mean(shap_values[mask], w).tolist(), strict=True)
                )
            else:
                entry.update(
                    mean_output=None,
                    mean_output_variance=None,
                    mean_abs_shap=None,
                    mean_shap=None,
                    mean_shap_variance=None,
                )
            rows.append(entry)
        out.append({"sensitive": str(column), "groups": rows})
    return out


def disparity(per_group: list[dict[str, Any]], features: list[str]) -> list[dict[str, Any]]:
    """Per sensitive feature: each group's gap to the most favoured group, by feature.

    Every gap and contribution comes with an approximate standard error (``gap_se``,
    ``contribution_se``) for the sampling of explained rows from the evaluated rows.

    The reference group is the one with the highest mean model output among groups
    with at least :data:`MIN_ROWS_TO_COMPARE` explained rows; every other such group is
    compared with it (``gap = mean output of reference - mean output of group``, so a
    positive gap means the group gets lower outputs). ``largest`` names the comparison
    with the largest gap.
    """
    out = []
    for feature_groups in per_group:
        eligible = [g for g in feature_groups["groups"] if g["n_explained"] >= MIN_ROWS_TO_COMPARE]
        too_few = [
            g["group"] for g in feature_groups["groups"] if g["n_explained"] < MIN_ROWS_TO_COMPARE
        ]
        entry: dict[str, Any] = {
            "sensitive": feature_groups["sensitive"],
            "reference": None,
            "comparisons": [],
            "largest": None,
            "not_compared": too_few,
        }
        if len(eligible) >= 2:
            reference = max(eligible, key=lambda g: g["mean_output"])
            entry["reference"] = reference["group"]
            for group in eligible:
                if group is reference:
                    continue
                contributions = {
                    f: reference["mean_shap"][f] - group["mean_shap"][f] for f in features
                }
                ranked = sorted(features, key=lambda f: -abs(contributions[f]))
                entry["comparisons"].append(
                    {
                        "group": group["group"],
                        "gap": reference["mean_output"] - group["mean_output"],
                        "gap_se": _se(reference, group, "mean_output_variance"),
                        "gap_all_rows": reference["mean_output_all"] - group["mean_output_all"],
                        "sum_of_contributions": float(sum(contributions.values())),
                        "contributions": {f: contributions[f] for f in ranked},
                        "contribution_se": {
                            f: _se(reference, group, "mean_shap_variance", f) for f in ranked
                        },
                    }
                )
            entry["largest"] = max(entry["comparisons"], key=lambda c: c["gap"])["group"]
        out.append(entry)
    return out


def _se(a: dict[str, Any], b: dict[str, Any], key: str, feature: str | None = None) -> float:
    va, vb = (a[key], b[key]) if feature is None else (a[key][feature], b[key][feature])
    return float(np.sqrt(va + vb))
