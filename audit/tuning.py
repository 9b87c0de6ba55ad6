"""Hyperparameter search subject to the policy (``tune:``): which parameters of the registry
model to train the audited model with.

Each candidate configuration of ``tune.space`` (every combination for ``grid``; ``n_trials``
distinct combinations drawn with the seed for ``random``, scikit-learn's ParameterGrid and
ParameterSampler) is cross-validated on the training rows: a model is trained on K − 1
folds and audited on the K-th by the same steps as the main audit
(:func:`audit.crossval.audit_fold`), for each fold. A configuration *passes* when the
policy's status is ``pass`` in every fold. The choice is fairness-aware:

* with a policy and at least one passing configuration: the most accurate of those
  (mean accuracy over the folds; R² for a regression target);
* with a policy and none passing: the Pareto front of mean accuracy against the worst
  policy margin (how far the worst verdict's value lies on the wrong side of its bound:
  ``bound − value`` for ``>=``, ``value − bound`` for ``<=``, averaged over the folds), and
  on it the configuration nearest to passing (smallest margin, then most accurate);
* without a policy: the most accurate.

Ties go to the configuration tried first. The chosen parameters train the final model.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.model_selection import ParameterGrid, ParameterSampler

from audit import models
from audit.config import AuditConfig
from audit.crossval import CrossValidationFolds, audit_fold, make_folds, spread
from audit.data import AuditData
from audit.errors import AuditError
from audit.evaluation import RowPlan
from audit.mitigation.compare import pareto_flags
from audit.text import printable, quoted_list

# The number a configuration is ranked on, higher is better.
SCORES = {"classification": "accuracy", "regression": "r2"}
MOST_ACCURATE_PASSING = "most accurate passing"
NEAREST_TO_PASSING = "nearest to passing on the Pareto front"
MOST_ACCURATE = "most accurate (no policy)"


def tune(
    config: AuditConfig, data: AuditData, plan: RowPlan, folds: CrossValidationFolds | None
) -> dict[str, Any]:
    """Search ``config.tune.space`` and choose (the ``tuning`` result section).

    ``folds`` are the cross-validation folds of ``split.cv``; without them, ``tune.folds``
    folds of the training rows are made the same way.

    Raises
    ------
    AuditError
        For a parameter the registry model does not have, or too many folds.
    """
    assert config.tune is not None
    settings = config.tune
    _check_space(config)
    if folds is None:
        folds = make_folds(config, data, plan.train, settings.folds, "tune.folds")
    seed = config.seed if settings.seed is None else settings.seed
    candidates = candidate_params(config)
    score_metric = SCORES[config.data.task]
    has_policy = bool(config.policy.rules)
    trials = []
    for number, params in enumerate(candidates, start=1):
        trial_config = with_params(config, params)
        audited = _audit_trial(trial_config, data, folds, number, params)
        margins = [worst_margin(fold["verdicts"]) for fold in audited]
        statuses = [fold["policy"]["status"] for fold in audited]
        trials.append(
            {
                "trial": number,
                "params": params,
                "score": spread([fold["performance"].get(score_metric) for fold in audited]),
                "margin": spread(margins) if has_policy else None,
                "fold_statuses": statuses,
                "passes": all(s == "pass" for s in statuses) if has_policy else None,
            }
        )
    points = [(t["score"]["mean"], (t["margin"] or {}).get("mean")) for t in trials]
    for trial, optimal in zip(trials, pareto_flags(points, ratio=False), strict=True):
        trial["pareto_optimal"] = optimal
    chosen, selection = choose(trials, has_policy)
    for trial in trials:
        trial["chosen"] = trial is chosen
    return {
        "search": settings.search,
        "space": settings.space,
        "n_trials": len(trials),
        "seed": seed,
        "folds": folds.k,
        "model": config.model.name,
        "base_params": dict(config.model.params),
        "score_metric": score_metric,
        "trials": trials,
        "chosen_trial": chosen["trial"],
        "chosen": chosen["params"],
        "selection": selection,
        "statement": _statement(chosen, selection, trials, score_metric, folds.k),
    }


def _audit_trial(
    config: AuditConfig,
    data: AuditData,
    folds: CrossValidationFolds,
    number: int,
    params: dict[str, Any],
) -> list[dict[str, Any]]:
    """Every fold audited with trial ``number``'s ``params``; a model that cannot be built or
    trained with them is blamed on tune.space, where the values come from."""
    try:
        return [audit_fold(config, data, folds, i) for i in range(folds.k)]
    except AuditError as exc:
        # The estimator's own complaint (the ValueError behind the training error), not
        # its advice to check model.params, which did not set these values.
        cause = exc.__context__ if isinstance(exc.__context__, ValueError) else exc
        tried = ", ".join(f"{name}={value!r}" for name, value in params.items())
        raise AuditError(
            f"tune.space: trial {number} ({tried}) cannot train {config.model.name}: "
            f"{printable(cause, 300)} Correct these values in tune.space (each must be "
            "valid for the model) and re-run."
        ) from None


def candidate_params(config: AuditConfig) -> list[dict[str, Any]]:
    """The configurations to try, in order: the grid, or ``n_trials`` distinct draws of it."""
    assert config.tune is not None
    settings = config.tune
    grid = ParameterGrid(settings.space)
    if settings.search == "grid":
        return [dict(params) for params in grid]
    assert settings.n_trials is not None
    seed = config.seed if settings.seed is None else settings.seed
    with warnings.catch_warnings():
        # More draws than the grid holds: the whole grid, in a random order (n_trials says so).
        warnings.simplefilter("ignore", UserWarning)
        n_draws = min(settings.n_trials, len(grid))
        drawn = ParameterSampler(settings.space, n_draws, random_state=seed)
        return [dict(params) for params in drawn]


def with_params(config: AuditConfig, params: dict[str, Any]) -> AuditConfig:
    """``config`` whose model is trained with ``params`` on top of ``model.params`` (the data
    and objects given in memory are shared, not copied)."""
    model = config.model.model_copy(update={"params": {**config.model.params, **params}})
    return config.model_copy(update={"model": model})


def worst_margin(verdicts: list[dict[str, Any]]) -> float | None:
    """How far the worst verdict's value lies on the wrong side of its bound (negative: every
    value meets its bound by at least that much); None when no value is defined."""
    margins = [
        v["bound"] - v["value"] if v["op"] in (">=", ">") else v["value"] - v["bound"]
        for v in verdicts
        if v["value"] is not None
    ]
    return max(margins) if margins else None


def choose(trials: list[dict[str, Any]], has_policy: bool) -> tuple[dict[str, Any], str]:
    """The chosen trial and why (see the module docstring)."""

    def score(trial: dict[str, Any]) -> float:
        value = trial["score"]["mean"]
        return -np.inf if value is None else value

    def first_best(candidates: list[dict[str, Any]], key: Any) -> dict[str, Any]:
        best = max(key(t) for t in candidates)
        return next(t for t in candidates if key(t) == best)

    if not has_policy:
        return first_best(trials, score), MOST_ACCURATE
    passing = [t for t in trials if t["passes"]]
    if passing:
        return first_best(passing, score), MOST_ACCURATE_PASSING
    front = [t for t in trials if t["pareto_optimal"]] or trials

    def nearest(trial: dict[str, Any]) -> tuple[float, float]:
        margin = trial["margin"]["mean"]
        return (-np.inf if margin is None else -margin, score(trial))

    return first_best(front, nearest), NEAREST_TO_PASSING


def _check_space(config: AuditConfig) -> None:
    assert config.tune is not None
    estimator = models.make_estimator(
        config.model.name, config.model.params, config.seed, config.data.task
    )
    known = estimator.get_params(deep=False)
    unknown = [name for name in config.tune.space if name not in known]
    if unknown:
        raise AuditError(
            f"tune.space names {quoted_list(unknown)}, which model '{config.model.name}' "
            f"({type(estimator).__name__}) does not have. Its parameters: "
            f"{', '.join(sorted(known))}. Search those only."
        )


def _statement(
    chosen: dict[str, Any],
    selection: str,
    trials: list[dict[str, Any]],
    score_metric: str,
    k: int,
) -> str:
    params = ", ".join(f"{name}={printable(repr(v), 40)}" for name, v in chosen["params"].items())
    score = chosen["score"]["mean"]
    shown = "undefined" if score is None else f"{score:.3f}"
    head = f"Trial {chosen['trial']} ({params}) was chosen, mean {score_metric} {shown}, {k} folds"
    if selection == MOST_ACCURATE:
        return f"{head}: the most accurate of {len(trials)}; no policy was set to choose under."
    if selection == MOST_ACCURATE_PASSING:
        passing = sum(1 for t in trials if t["passes"])
        return (
            f"{head}: the most accurate of the {passing} of {len(trials)} configurations whose "
            "policy status is pass in every fold."
        )
    margin = chosen["margin"]["mean"]
    margin_text = "undefined" if margin is None else f"{margin:.3f}"
    if margin is not None and margin <= 0:
        margin_text += (
            "; at or below 0 the point values meet their bounds on average, but not with "
            "their whole intervals in every fold"
        )
    return (
        f"{head}. No configuration of {len(trials)} passes the policy in every fold, so none "
        "can be recommended as compliant: the table marks the Pareto front of accuracy against "
        "the worst policy margin, and the configuration on it nearest to passing (mean worst "
        f"margin {margin_text}) was used for the final model."
    )
