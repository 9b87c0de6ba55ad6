"""Explaining a model whose decisions were post-processed by fairlearn's ThresholdOptimizer.

A ThresholdOptimizer decides by group-specific, randomised thresholds on its base
model's score. That randomised rule is not a function of the features that SHAP
can explain, so the base model's output is explained and the per-group rules are
stated next to it: the explanation says why a score is what it is, the rules say
how each group's scores become decisions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from audit.config import ExplainConfig
from audit.explain.explanation import explain
from audit.threshold_rules import describe_rules, interpolation_plan

# fairlearn joins several sensitive columns into one group key with this separator.
MERGE_SEPARATOR = ","


def threshold_optimizer_rules(optimizer: Any) -> dict[str, Any]:
    """The per-group decision rules of a fitted ``fairlearn`` ThresholdOptimizer.

    Returns
    -------
    dict
        ``method``, ``constraints``, ``objective``, ``score`` (the base model method the
        thresholds apply to) and ``groups``: for each group, ``rules`` (each "with
        probability p, positive when score <operator> threshold"), the optional
        ``constant`` part (with probability p, positive with a fixed probability), and
        ``main_threshold`` (the threshold of the most probable rule).
    """
    thresholder = optimizer.interpolated_thresholder_
    groups = describe_rules(interpolation_plan(thresholder.interpolation_dict))
    return {
        "method": "fairlearn ThresholdOptimizer",
        "constraints": str(optimizer.constraints),
        "objective": str(optimizer.objective),
        "score": str(getattr(thresholder, "predict_method", optimizer.predict_method)),
        "groups": groups,
        "note": "The base model's output is explained; decisions then follow these "
        "randomised per-group rules, which SHAP cannot explain as a function of the features.",
    }


def group_keys(sensitive_features: Any) -> np.ndarray:
    """The group key fairlearn uses for each row (several columns joined with ',')."""
    frame = pd.DataFrame(sensitive_features)
    if frame.shape[1] == 1:
        return frame.iloc[:, 0].astype(str).to_numpy()
    escaped = frame.astype(str).apply(
        lambda col: col.str.replace("\\", "\\\\").str.replace(
            MERGE_SEPARATOR, f"\\{MERGE_SEPARATOR}"
        )
    )
    return escaped.agg(MERGE_SEPARATOR.join, axis=1).to_numpy()


def explain_threshold_optimizer(
    optimizer: Any,
    X: pd.DataFrame,
    sensitive_features: Any,
    sensitive: pd.DataFrame,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    settings: ExplainConfig | None = None,
    *,
    seed: int = 0,
    background: pd.DataFrame | None = None,
    detail: str = "summary",
) -> dict[str, Any]:
    """Explain a fitted ThresholdOptimizer: its base model, plus its per-group rules.

    Parameters
    ----------
    optimizer : fairlearn.postprocessing.ThresholdOptimizer
        Fitted; ``optimizer.estimator_`` is the base model that is explained.
    X : pandas.DataFrame
        The evaluated rows' model inputs.
    sensitive_features :
        What was passed to the optimizer's ``predict`` (gives each row's group key).
    sensitive : pandas.DataFrame
        The audit's sensitive features for the same rows (per-group figures).
    y_true, y_pred : array of 0/1
        Labels and the optimizer's (randomised) decisions.
    settings, seed, background, detail :
        As in :func:`audit.explain.explain`.
    """
    rules = threshold_optimizer_rules(optimizer)
    base = optimizer.estimator_
    scores = None
    threshold = None
    if rules["score"] in ("predict_proba", "auto") and hasattr(base, "predict_proba"):
        classes = list(getattr(base, "classes_", [0, 1]))
        scores = np.asarray(base.predict_proba(X))[:, classes.index(1) if 1 in classes else -1]
        main = {g["group"]: g["main_threshold"] for g in rules["groups"]}
        keys = group_keys(sensitive_features)
        threshold = np.array(
            [np.nan if main.get(k) is None else main[k] for k in keys], dtype=float
        )
        if np.isnan(threshold).any():
            threshold = None  # some group decides by a constant: no threshold to be near
    return explain(
        base,
        X,
        sensitive,
        y_true,
        y_pred,
        scores,
        settings,
        seed=seed,
        threshold=threshold,
        background=background,
        postprocessing=rules,
        detail=detail,
    )
