"""Disparities between groups, vectorised over a leading batch axis (resamples).

Each function takes per-group metric values of shape ``(batch, n_groups)`` and returns
one value per batch row, so the point estimate (batch of 1) and every bootstrap
resample go through the same code. Which groups take part is fixed up front from the
observed data: groups with enough rows (``min_group_size``) whose metric is defined.
If one of those groups' metric is undefined in a resample, the disparity is undefined
in that resample (it is not silently computed over fewer groups).

See :mod:`audit.vocabulary.metrics` for the definitions.
"""

from __future__ import annotations

import numpy as np

from audit.vocabulary.metrics import Disparity


def _between(values: np.ndarray, aggregate: str) -> np.ndarray:
    if values.shape[-1] < 2:
        return np.full(values.shape[:-1], np.nan)
    top, bottom = values.max(axis=-1), values.min(axis=-1)
    if aggregate == "difference":
        return top - bottom
    with np.errstate(divide="ignore", invalid="ignore"):
        # min / max is a parity ratio only for non-negative values with a positive maximum.
        return np.where((top > 0) & (bottom >= 0), bottom / top, np.nan)


def _versus(values: np.ndarray, reference: np.ndarray, aggregate: str) -> np.ndarray:
    """Per-group comparison with the reference: ``|m_g - m_ref|`` or the ratio folded to <= 1."""
    if aggregate == "difference":
        return np.abs(values - reference)
    with np.errstate(divide="ignore", invalid="ignore"):
        folded = np.minimum(values / reference, reference / values)
    # A group at 0 against a reference at 0 is at parity (1), not 0/0: otherwise one such
    # group would hide another group's ratio of 0 from the minimum.
    folded = np.where((values == 0) & (reference == 0), 1.0, folded)
    return np.where((values < 0) | (reference < 0), np.nan, folded)


def compute(
    spec: Disparity,
    values: dict[str, np.ndarray],
    taking_part: dict[str, np.ndarray],
    reference: int | None,
) -> np.ndarray:
    """One disparity for each batch row.

    Parameters
    ----------
    spec : Disparity
        What to compute (see the catalog).
    values : dict of metric -> ndarray (batch, n_groups)
    taking_part : dict of metric -> ndarray of group indices
        The groups compared for each metric.
    reference : int or None
        Index of the reference group.
    """
    batch = next(iter(values.values())).shape[0]
    undefined = np.full(batch, np.nan)
    per_metric = []
    for metric in spec.metrics:
        groups = taking_part[metric]
        if spec.special == "worst_group":  # bounded group loss: the largest group value
            worst = values[metric][:, groups].max(axis=-1) if groups.size else undefined
            per_metric.append(worst)
            continue
        if spec.versus == "between":
            per_metric.append(_between(values[metric][:, groups], spec.aggregate))
            continue
        if reference is None or reference not in groups:
            return undefined
        others = groups[groups != reference]
        if others.size == 0:
            return undefined
        ref = values[metric][:, [reference]]
        if spec.special == "disparate_impact":
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = values[metric][:, others] / ref
            return np.where(ref[:, 0] > 0, ratio.min(axis=-1), np.nan)
        if spec.special == "average_odds":
            return _average_odds(values, taking_part, reference)
        compared = _versus(values[metric][:, others], ref, spec.aggregate)
        worst = compared.max(axis=-1) if spec.aggregate == "difference" else compared.min(axis=-1)
        per_metric.append(worst)
    if len(per_metric) == 1:
        return per_metric[0]
    stacked = np.stack(per_metric)
    if spec.combine == "mean":
        return stacked.mean(axis=0)
    # The worse of the two: the larger difference, the smaller ratio (NaN if either is NaN).
    return stacked.max(axis=0) if spec.aggregate == "difference" else stacked.min(axis=0)


def _average_odds(
    values: dict[str, np.ndarray], taking_part: dict[str, np.ndarray], reference: int
) -> np.ndarray:
    groups = np.intersect1d(taking_part["tpr"], taking_part["fpr"])
    batch = values["tpr"].shape[0]
    if reference not in groups or groups.size < 2:
        return np.full(batch, np.nan)
    others = groups[groups != reference]
    gap = (
        values["fpr"][:, others]
        - values["fpr"][:, [reference]]
        + values["tpr"][:, others]
        - values["tpr"][:, [reference]]
    ) / 2
    return np.abs(gap).max(axis=-1)


def versus_reference(values: np.ndarray, reference: int) -> tuple[np.ndarray, np.ndarray]:
    """Each group's signed difference ``m_g - m_ref`` and plain ratio ``m_g / m_ref``."""
    ref = values[:, [reference]]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(ref != 0, values / ref, np.nan)
    return values - ref, ratio


def groups_behind(
    spec: Disparity,
    values: dict[str, np.ndarray],
    taking_part: dict[str, np.ndarray],
    reference: int | None,
) -> list[tuple[str, int, int]]:
    """The two groups that give a disparity its value, from point values ``(G,)``.

    Mirrors :func:`compute` on one row: ``(metric, low group, high group)`` for a
    between-groups disparity (the smallest and largest value), ``(metric, worst group,
    reference)`` for a vs-reference one. A disparity combining two metrics names the pair
    of the metric that gives the worse value (``combine == "worst"``) or both pairs
    (``"mean"``). Empty when the value is undefined.
    """
    if spec.special == "average_odds":
        groups = np.intersect1d(taking_part["tpr"], taking_part["fpr"])
        if reference is None or reference not in groups or groups.size < 2:
            return []
        others = groups[groups != reference]
        gap = np.abs(
            values["fpr"][others]
            - values["fpr"][reference]
            + values["tpr"][others]
            - values["tpr"][reference]
        )
        return [("tpr, fpr", int(others[np.argmax(gap)]), reference)]
    if spec.special == "worst_group":
        groups = taking_part[spec.metrics[0]]
        if groups.size == 0:
            return []
        worst = int(groups[np.argmax(values[spec.metrics[0]][groups])])
        return [(spec.metrics[0], worst, worst)]
    pairs, worst_values = [], []
    for metric in spec.metrics:
        groups = taking_part[metric]
        v = values[metric]
        if spec.versus == "between":
            if groups.size < 2:
                return []
            low, high = groups[np.argmin(v[groups])], groups[np.argmax(v[groups])]
            pairs.append((metric, int(low), int(high)))
            worst_values.append(_between(v[None, groups], spec.aggregate)[0])
            continue
        if reference is None or reference not in groups or groups.size < 2:
            return []
        others = groups[groups != reference]
        if spec.special == "disparate_impact":
            if not v[reference] > 0:
                return []
            compared = v[others] / v[reference]
        else:
            compared = _versus(v[None, others], np.array([[v[reference]]]), spec.aggregate)[0]
        pick = np.argmax if spec.aggregate == "difference" else np.argmin
        pairs.append((metric, int(others[pick(compared)]), reference))
        worst_values.append(compared.max() if spec.aggregate == "difference" else compared.min())
    if len(pairs) == 1 or spec.combine == "mean":
        return pairs
    worst = np.argmax(worst_values) if spec.aggregate == "difference" else np.argmin(worst_values)
    return [pairs[int(worst)]]
