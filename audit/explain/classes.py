"""SHAP explanations of a multiclass model: one global ranking per class, and the overall one.

The model's predicted probabilities are explained for every class at once
(:func:`audit.explain.explainers.class_explainer`) on a sample of the evaluated
rows stratified by the sensitive groups, sized by the same time budget as a binary
model's. Per class: the features ranked by mean |SHAP| of that class's probability and
the base value; overall: the mean across classes of each feature's mean |SHAP|. The
per-group, principal-reason and individual-case views of a binary audit explain one
adverse decision, which a multiclass model does not make, so they are left out.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from audit.config import ExplainConfig
from audit.explain.explainers import class_explainer, class_explanation_obstacle
from audit.explain.explanation import (
    IMPORTANT_SHARE,
    MIN_SAMPLE_ROWS,
    importance,
    important_proxies,
    sample_summary,
    shap_within_budget,
)
from audit.explain.groups import weighted_mean
from audit.explain.sampling import stratified_sample
from audit.metrics.association import proxy_associations
from audit.metrics.fairness import group_labels


def explain_classes(
    model: Any,
    X: pd.DataFrame,
    sensitive: pd.DataFrame,
    class_names: list[str],
    settings: ExplainConfig,
    *,
    seed: int = 0,
    background: pd.DataFrame | None = None,
    proxies: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Explain a multiclass ``model`` on the evaluated rows ``X``.

    ``class_names`` name the model's ``classes_`` in order. Returns the explanation
    section: ``features`` (overall mean |SHAP| across the classes) and ``classes`` (one
    ranking per class, with its base value and additivity error).
    """
    obstacle = class_explanation_obstacle(model)
    if obstacle is not None:
        return {"status": "not_explained", "reason": obstacle}
    started = time.perf_counter()
    cfg = settings
    groups = pd.DataFrame({str(c): group_labels(sensitive[c]).to_numpy() for c in sensitive})
    if proxies is None:
        proxies = proxy_associations(X, groups, seed=seed)
    source = X if background is None else background
    background = source.sample(min(cfg.background_size, len(source)), random_state=seed)
    explainer = class_explainer(model, background[list(X.columns)], seed)
    budget_rows = max(int(cfg.budget_seconds / explainer.seconds_per_row), 0)
    size = min(cfg.sample_size, max(budget_rows, MIN_SAMPLE_ROWS))
    sample = stratified_sample(groups, size, cfg.min_group_rows, seed)
    done, base, sample, stopped, _ = shap_within_budget(
        explainer, X, sample, [], cfg.budget_seconds, seed
    )
    base = np.asarray(base, dtype=float).ravel()
    values = np.stack([done[p] for p in sample.positions])  # rows x features x classes
    output = explainer.output(X.iloc[sample.positions])
    errors = np.abs(base[None, :] + values.sum(axis=1) - output).max(axis=0)
    features = [str(c) for c in X.columns]
    per_class = []
    for k, name in enumerate(class_names):
        ranking = _ranking(values[:, :, k], sample.weights, features, X)
        per_class.append(
            {
                "label": name,
                "base_value": float(base[k]),
                "additivity_max_error": float(errors[k]),
                "features": ranking,
            }
        )
    overall = weighted_mean(np.abs(values), sample.weights).mean(axis=1)
    signed = weighted_mean(values, sample.weights).mean(axis=1)
    overall_ranking = importance(overall, signed, features, X)
    return {
        "status": "explained",
        "explainer": explainer.kind,
        "method": explainer.method,
        "estimator": explainer.estimator,
        "output_space": explainer.output_space,
        "additivity_max_error": float(errors.max()),
        "background_rows": explainer.background_rows,
        "notes": [
            *explainer.notes,
            "A multiclass model: each class's probability is explained (one ranking per "
            "class); the overall ranking is the mean |SHAP| across the classes. Per-group "
            "views, principal reasons and individual cases explain one adverse decision and "
            "are given for binary audits only.",
        ],
        "sample": sample_summary(sample, cfg, budget_rows, groups, stopped, plot_rows=0),
        "features": overall_ranking,
        "classes": per_class,
        # The binary views (one adverse decision), absent here; readers find them empty.
        "by_group": [],
        "disparity": [],
        "postprocessing": None,
        "reasons": None,
        "cases": [],
        "rows": None,
        "proxies": {
            **proxies,
            "important_share": IMPORTANT_SHARE,
            # No disparity gaps per class: the proxies the model relies on, without a gap.
            "important": important_proxies(proxies, overall_ranking, []),
        },
        "top_features": cfg.top_features,
        "detail": "summary",
        "seconds": round(time.perf_counter() - started, 3),
    }


def _ranking(
    values: np.ndarray, weights: np.ndarray, features: list[str], X: pd.DataFrame
) -> list[dict[str, Any]]:
    mean_abs = weighted_mean(np.abs(values), weights)
    return importance(mean_abs, weighted_mean(values, weights), features, X)
