"""Performance and fairness metrics: overall, per group, disparities, intervals and verdicts.

:func:`measure` is the one yardstick: the baseline model, every mitigated
alternative and predictions-only audits are all measured by it, so their numbers
are comparable.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Literal

import numpy as np
import pandas as pd

from audit.config import FairnessConfig, PolicyConfig
from audit.errors import AuditError
from audit.metrics.performance import z_value


def measure(
    y_true: np.ndarray,
    y_pred: np.ndarray | None,
    scores: np.ndarray | None,
    sensitive: pd.DataFrame,
    fairness: FairnessConfig | None = None,
    policy: PolicyConfig | None = None,
    *,
    task: Literal["classification", "regression"] = "classification",
    seed: int = 0,
    sample_weight: np.ndarray | None = None,
    decision_probability: np.ndarray | None = None,
    disparities: Collection[str] | None = None,
    contrasts: bool = True,
) -> dict[str, Any]:
    """Overall performance, per-group fairness with intervals, and policy verdicts.

    Parameters
    ----------
    y_true, y_pred : ndarray
        0/1 labels and decisions (``data.task: classification``), or true and predicted
        values (``regression``). ``y_pred`` is None when ``decision_probability`` is given.
    scores : ndarray or None
        Classifier scores (positive-class probabilities, or any score for ROC AUC).
    sensitive : DataFrame
        Sensitive columns of the same rows, in the same order.
    fairness : FairnessConfig, optional
        The ``fairness:`` section: bins, intersections, minimum group size, reference
        groups, ``bootstrap.resamples`` / ``confidence`` (default: its defaults).
    policy : PolicyConfig, optional
        The ``policy:`` section: rules and gate (default: no rules).
    task : {"classification", "regression"}
    seed : int
        Seed of the bootstrap; the same seed gives the same intervals.
    sample_weight : ndarray, optional
        Row weights applied to every metric.
    decision_probability : ndarray, optional
        For a randomized classifier (classification only), each row's exact probability of
        a positive decision, instead of one draw of 0/1 decisions in ``y_pred``: every
        decision metric is then the classifier's *expected* value, computed from the
        expected confusion counts (see :mod:`audit.metrics.counts`), and intervals
        cover one deployment's realised rates (see
        :func:`audit.metrics.bootstrap.multinomial_tables`).
    disparities : collection of str, optional
        Compute only these disparities (default: all), each exactly as it is among all;
        the policy's disparity rules need theirs.
    contrasts : bool
        Whether each group gets its contrasts with the reference group (``vs_reference``).

    Returns
    -------
    dict
        ``performance`` (overall metrics), ``fairness`` (one entry per sensitive feature
        and intersection: ``feature``, ``kind``, ``columns``, ``reference_group``,
        ``groups`` with intervals in ``ci``, ``disparities`` with ``value``, ``ci``,
        ``groups_behind`` and ``definition``), ``verdicts`` (one per rule and feature:
        ``rule``, ``feature``, ``metric``, ``op``, ``bound``, ``value``, ``ci``,
        ``groups_behind``, ``verdict``, ``fails_gate``), ``policy`` (overall status, gate,
        counts, exit code) and ``settings`` (how it was computed).
    """
    from audit.metrics.fairness import fairness_by_feature
    from audit.metrics.performance import overall_metrics, regression_metrics

    fairness_settings = fairness if fairness is not None else FairnessConfig()
    policy = policy if policy is not None else PolicyConfig()
    y_true, y_pred, scores, weights = _checked(
        y_true, y_pred, scores, sensitive, sample_weight, task, decision_probability
    )
    probability = None
    if decision_probability is not None:
        probability = _finite(decision_probability, "decision probabilities")
    if task == "regression":
        performance = regression_metrics(y_true, y_pred, weights)
    else:
        performance = overall_metrics(
            y_true,
            y_pred,
            scores,
            weights,
            decision_probability=probability,
            confidence=fairness_settings.bootstrap.confidence,
        )
    entries = fairness_by_feature(
        y_true,
        y_pred,
        scores if task == "classification" else None,
        sensitive,
        fairness_settings,
        task=task,
        seed=seed,
        sample_weight=weights,
        decision_probability=probability,
        disparities=disparities,
        contrasts=contrasts,
    )
    return _judged(
        performance,
        entries,
        fairness_settings,
        policy,
        task,
        weighted=weights is not None,
        expected=probability is not None,
    )


def measure_table(
    table: Any,
    fairness: FairnessConfig | None = None,
    policy: PolicyConfig | None = None,
    *,
    seed: int = 0,
    scores: dict[str, float | None] | None = None,
    disparities: Collection[str] | None = None,
    contrasts: bool = True,
) -> dict[str, Any]:
    """:func:`measure` of an unweighted classification audit from its finest count table
    (:class:`audit.metrics.fairness.FineTable`) alone, as an engine without the rows
    (DuckDB) computes it: the same numbers, intervals and verdicts as ``measure`` gives
    for the rows the table counts. ``scores`` are the overall ROC AUC and Brier score;
    ``disparities`` and ``contrasts`` as in :func:`measure`."""
    from audit.metrics.fairness import fairness_from_table
    from audit.metrics.performance import overall_from_table

    fairness_settings = fairness if fairness is not None else FairnessConfig()
    policy = policy if policy is not None else PolicyConfig()
    confidence = fairness_settings.bootstrap.confidence
    performance = overall_from_table(table.counts, confidence, scores)
    entries = fairness_from_table(
        table, fairness_settings, seed=seed, disparities=disparities, contrasts=contrasts
    )
    return _judged(performance, entries, fairness_settings, policy, "classification")


def _judged(
    performance: dict[str, Any],
    entries: list[dict[str, Any]],
    fairness_settings: FairnessConfig,
    policy: PolicyConfig,
    task: str,
    weighted: bool = False,
    expected: bool = False,
) -> dict[str, Any]:
    """Verdicts, the policy summary and the settings, around the measured numbers."""
    from audit.metrics.verdicts import evaluate, summarize

    resamples = fairness_settings.bootstrap.resamples
    verdicts = evaluate(policy.rules, entries, intervals=resamples > 0, gate=policy.gate)
    return {
        "performance": performance,
        "fairness": entries,
        "verdicts": verdicts,
        "policy": summarize(verdicts, policy),
        "settings": settings_summary(fairness_settings, task, weighted=weighted, expected=expected),
    }


def settings_summary(
    cfg: FairnessConfig, task: str, weighted: bool = False, expected: bool = False
) -> dict[str, Any]:
    """How the fairness numbers were computed, in words and values, for the report."""
    boot = cfg.bootstrap
    return {
        "decisions": "expected" if expected else "as made",
        "task": task,
        "min_group_size": cfg.min_group_size,
        "missing": cfg.missing,
        "intersections": cfg.intersections,
        "reference_default": "the largest group",
        "reference_groups": dict(cfg.reference_groups),
        "resamples": boot.resamples,
        "confidence": boot.confidence,
        "z_value": z_value(boot.confidence),
        "calibration_bins": cfg.calibration_bins,
        "weight_column": cfg.weight_column,
        "interval_method": (
            "none (fairness.bootstrap.resamples: 0)"
            if boot.resamples == 0
            else f"percentile bootstrap, {boot.resamples} resamples, {boot.confidence:.0%}: "
            + (
                "rows resampled with their weights"
                if weighted
                else "count metrics redraw the count table (multinomial), "
                + (
                    "regression metrics resample rows"
                    if task == "regression"
                    else "score metrics redraw the score histogram cells (multinomial)"
                )
            )
            + (
                "; the decisions are a randomized classifier's, so count metrics are its "
                "expected values (exact, from each row's probability of a positive decision) "
                "and each resample also draws the resampled rows' decisions"
                if expected
                else ""
            )
        ),
    }


def _checked(
    y_true: np.ndarray,
    y_pred: np.ndarray | None,
    scores: np.ndarray | None,
    sensitive: pd.DataFrame,
    sample_weight: np.ndarray | None,
    task: str,
    decision_probability: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Validate lengths and values; 0/1 arrays become int8 for the count engine."""
    n = len(y_true)
    if (y_pred is None) == (decision_probability is None):
        raise AuditError("measure(): give exactly one of y_pred and decision_probability.")
    if decision_probability is not None and task != "classification":
        raise AuditError("measure(): decision_probability applies to classification only.")
    lengths = {"sensitive": len(sensitive)}
    if y_pred is not None:
        lengths["y_pred"] = len(y_pred)
    if decision_probability is not None:
        lengths["decision_probability"] = len(decision_probability)
        probability = np.asarray(decision_probability, dtype=np.float64)
        if not np.all((probability >= 0) & (probability <= 1)):  # NaN fails too
            raise AuditError("measure(): decision probabilities must lie in [0, 1].")
    if scores is not None:
        lengths["scores"] = len(scores)
    if sample_weight is not None:
        lengths["sample_weight"] = len(sample_weight)
    wrong = {k: v for k, v in lengths.items() if v != n}
    if wrong:
        raise AuditError(f"measure(): {n} labels but lengths {wrong}; they must all match.")
    if n == 0:
        raise AuditError("measure(): no rows to evaluate.")
    if task == "classification":
        y_true = _binary(y_true, "y_true")
        y_pred = None if y_pred is None else _binary(y_pred, "y_pred")
    else:
        y_true, y_pred = _finite(y_true, "target"), _finite(y_pred, "prediction")
    if scores is not None:
        scores = _finite(scores, "scores")
    weights = None
    if sample_weight is not None:
        weights = _finite(sample_weight, "sample weights")
        if (weights < 0).any() or weights.sum() <= 0:
            raise AuditError("Sample weights must be >= 0 with a positive total.")
    return y_true, y_pred, scores, weights


def _binary(values: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype == np.int8 and array.size and array.min() >= 0 and array.max() <= 1:
        return array
    out = array.astype(np.int8)
    if not np.array_equal(out, array) or (out.size and (out.min() < 0 or out.max() > 1)):
        raise AuditError(f"measure(): {name} must hold only 0 and 1.")
    return out


def _finite(values: Any, name: str) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise AuditError(f"The {name} must be numbers.") from None
    if not np.isfinite(array).all():
        raise AuditError(f"The {name} contain missing or infinite values.")
    return array
