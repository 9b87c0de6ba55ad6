"""The mitigation stage: fit each strategy, measure it like the baseline, compare.

Every strategy is fitted on the training rows and evaluated on exactly the held-out
rows the baseline was evaluated on, by :func:`audit.metrics.measure` — the one
yardstick — so accuracy, disparities, intervals and policy verdicts are comparable.
When the audit has no training rows (a loaded model audited on every row), each strategy
is cross-fitted instead (:mod:`audit.mitigation.crossfit`): fitted on K − 1 folds of the
evaluated rows, it decides the fold it did not see, and the out-of-fold decisions of all
rows are measured; the model kept (saved, explained) is then refitted on every row.
Decisions are made the way ``rai-audit run --model-file`` makes them (a score
compared with ``model.threshold`` when the model has ``predict_proba``, else its
``predict``), which is what lets a saved mitigated model re-audit to the same numbers.

A randomized strategy (threshold optimizer, exponentiated gradient) is measured at its
*expected* rates, computed exactly from each row's probability of a positive decision
(:func:`randomized_probability`), not from one seeded draw; a re-audit of its saved
model does the same. Beside them, :func:`draw_spread` states how far single draws stray.

When ``mitigation.strategies`` is not set, the default set runs on every audit with a
model; a strategy of that set that cannot apply to this model or data is skipped, saying
why, instead of stopping the audit (a strategy asked for by name still stops it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from audit import models
from audit.config import AuditConfig
from audit.data import AuditData
from audit.errors import AuditError
from audit.evaluation import model_decisions, randomized_probability, strategy_rule
from audit.metrics import measure
from audit.metrics.fairness import fairness_by_feature
from audit.metrics.verdicts import evaluate
from audit.mitigation import compare, crossfit
from audit.mitigation.estimators import draw_decisions, group_key, strategy_of
from audit.mitigation.section import not_run, slim_fairness
from audit.mitigation.strategies import Fitted, TrainingContext, fit_strategy, split_model
from audit.vocabulary import strategies as catalogue
from audit.vocabulary.groups import SEPARATOR

# More groups than this and per-group constraints have too few rows to mean anything.
MAX_GROUPS = 60
# Groups with fewer training rows than this get a caveat: their constraints are noisy.
SMALL_GROUP = 30
# Seeded single draws of a randomized strategy's decisions, to state their spread.
DRAWS = 20


@dataclass
class Predicted:
    """A strategy's decisions on the evaluated rows: 0/1 decisions and scores, or, for a
    randomized strategy, each row's probability of a positive decision."""

    y_pred: np.ndarray | None
    scores: np.ndarray | None
    probability: np.ndarray | None
    columns: list[str]  # the model's input columns
    rule: str | None = None  # how a deterministic model's score became a decision


@dataclass
class MitigationOutcome:
    """The plain result (under ``result["mitigation"]``), the model to save, if any, every
    fitted strategy's model by name (for the explanation stage; refitted on every row when
    cross-fitted) and the decisions each strategy was measured on."""

    result: dict[str, Any]
    saved_model: Any | None = None
    saved_file: str | None = None
    fitted: dict[str, Any] = field(default_factory=dict)
    predicted: dict[str, Predicted] = field(default_factory=dict)


def run_mitigation(
    config: AuditConfig,
    data: AuditData,
    evaluation: Any,
    baseline: dict[str, Any],
    baseline_seconds: float | None = None,
    sample_weight: np.ndarray | None = None,
) -> MitigationOutcome:
    """Fit, measure and compare the configured strategies against the baseline.

    Parameters
    ----------
    config : AuditConfig
        The audit configuration (``config.mitigation`` says what to run).
    data : AuditData
        The loaded data.
    evaluation : audit.evaluation.Evaluation
        The baseline's evaluation: training rows, evaluated rows, model, decisions. With no
        training rows (a loaded model audited on every row) the strategies are cross-fitted
        on the evaluated rows (:mod:`audit.mitigation.crossfit`).
    baseline : dict
        ``measure()`` of the baseline on the evaluated rows.
    baseline_seconds : float, optional
        How long getting the baseline's predictions took (shown for scale).
    sample_weight : array, optional
        The evaluated rows' weights (``fairness.weight_column``), so every strategy is
        measured exactly as the baseline was.

    Returns
    -------
    MitigationOutcome
        ``result`` is JSON-ready; ``saved_model`` is the model ``mitigation.save`` chose.
    """
    cfg = config.mitigation
    already = strategy_of(evaluation.model)
    if already:
        return MitigationOutcome(
            not_run(
                config,
                f"The audited model is itself a mitigated model ({already}, saved by an "
                "earlier rai-audit run), so the numbers in this report are that strategy's. "
                "Strategies are not compared on top of it; to compare them, audit the "
                "original model.",
            )
        )
    if config.data.task == "regression":
        # Every strategy here (reweighing, threshold optimizer, exponentiated gradient, ...)
        # fits or post-processes a binary classifier; none applies to a regressor.
        return MitigationOutcome(
            not_run(
                config,
                "Not applicable to regression: the mitigation strategies compared here "
                f"({', '.join(catalogue.DEFAULT_SET)}) retrain or post-process binary "
                "classifiers, so none was run on this regressor.",
            )
        )
    if config.data.task == "multiclass":
        return MitigationOutcome(
            not_run(
                config,
                "Not applicable to multiclass: the mitigation strategies compared here "
                f"({', '.join(catalogue.DEFAULT_SET)}) retrain or post-process binary "
                "classifiers, so none was run on this multiclass model.",
            )
        )
    strategies = cfg.to_run(config.mode)
    if not strategies:
        return MitigationOutcome(not_run(config))
    if config.mode == "predictions" or evaluation.model is None:
        # check_complete refuses this earlier; kept so the stage never runs without a model.
        raise AuditError("Mitigation needs a model; a predictions-only audit has none.")
    # Strategies named in the config (or to be saved) must run: a problem stops the audit.
    # The default set adapts: a strategy of it that cannot apply is skipped, saying why.
    optional = set() if cfg.strategies is not None else set(strategies) - {cfg.save}

    features = [entry["feature"] for entry in baseline.get("fairness", [])]
    if cfg.feature is not None and cfg.feature not in features:
        raise AuditError(
            f"mitigation.feature '{cfg.feature}' is not a measured sensitive feature; "
            f"choose one of: {', '.join(map(str, features))}."
        )
    sensitive_columns = list(cfg.sensitive or data.sensitive)
    keys = group_key(data.frame, sensitive_columns)
    test_keys = keys[evaluation.rows]
    test_frame = data.frame.iloc[evaluation.rows]
    # No training rows (a loaded model audited on every row): cross-fit on the evaluated rows.
    cross_fitted = len(evaluation.train_rows) == 0
    try:
        if cross_fitted:
            _check_groups(pd.Series(test_keys).value_counts(), sensitive_columns, "evaluated")
            folds = crossfit.make_folds(evaluation.y_true, test_keys, cfg.folds, config.seed)
            group_sizes = crossfit.fold_group_sizes(folds, test_keys).sort_index()
        else:
            train_keys = keys[evaluation.train_rows]
            group_sizes = pd.Series(train_keys).value_counts().sort_index()
            _check_groups(group_sizes, sensitive_columns, "training")
    except AuditError as problem:
        if set(strategies) - optional:
            raise
        return MitigationOutcome(not_run(config, f"The default set was not compared: {problem}"))

    def context(rows: np.ndarray) -> TrainingContext:
        return TrainingContext(
            train_frame=data.frame.iloc[rows],
            y_train=data.y[rows],
            groups_train=keys[rows],
            feature_columns=list(evaluation.input_columns),
            sensitive_columns=sensitive_columns,
            baseline=evaluation.model,
            options=cfg.options,
            seed=config.seed,
        )

    def predict(model: Any, positions: np.ndarray | slice) -> Predicted:
        return predict_rows(model, test_frame.iloc[positions], data.features, config)

    if cross_fitted:
        # One context per fold, shared by the strategies (each caches its encoded inputs).
        folds_contexts = [context(evaluation.rows[folds.training(i)]) for i in range(folds.k)]
        everything = context(evaluation.rows)

        def fit_and_predict(name: str) -> tuple[Fitted, Predicted]:
            problem = crossfit.fold_problem(
                name, folds, test_keys, evaluation.y_true, sensitive_columns
            )
            if problem:
                raise AuditError(problem)
            return _cross_fit(name, folds, folds_contexts, everything, predict)

    else:
        unseen = sorted(set(test_keys.tolist()) - set(group_sizes.index))
        training = context(evaluation.train_rows)

        def fit_and_predict(name: str) -> tuple[Fitted, Predicted]:
            _check_unseen(name, unseen, sensitive_columns)
            fitted = fit_strategy(name, training)
            return fitted, predict(fitted.model, slice(None))

    sensitive_test = test_frame[data.sensitive].reset_index(drop=True)
    columns_compared = compare.table_columns(baseline, cfg.disparity, cfg.feature)
    # split.evaluate_on: train or all puts training rows among the evaluated ones.
    seen = 0 if cross_fitted else len(np.intersect1d(evaluation.rows, evaluation.train_rows))
    held_out = (
        f"evaluated rows, {seen:,} of them training rows (in-sample)" if seen else ("held-out rows")
    )
    rows_phrase = "evaluated rows (out of fold)" if cross_fitted else held_out

    rows = [_baseline_row(evaluation, baseline, baseline_seconds, data.sensitive)]
    fitted_models: dict[str, Any] = {}
    decisions: dict[str, Predicted] = {}
    skipped: list[dict[str, str]] = []
    for name in strategies:
        try:
            _check_retrainable(name, evaluation.model)
            fitted, predicted = fit_and_predict(name)
        except AuditError as problem:
            if name not in optional:
                raise
            skipped.append({"name": name, "label": catalogue.label(name), "reason": str(problem)})
            continue
        fitted_models[name] = fitted.model
        decisions[name] = predicted
        probability = predicted.probability
        measured = measure(
            evaluation.y_true,
            predicted.y_pred,
            predicted.scores,
            sensitive_test,
            config.fairness,
            config.policy,
            task=config.data.task,
            seed=config.seed,
            sample_weight=sample_weight,
            decision_probability=probability,
        )
        row = _strategy_row(name, fitted, measured, predicted, config, rows_phrase)
        if cross_fitted:
            row["fit_note"] = (
                f"{folds.k} fits, each on {folds.k - 1} folds, and one refit on every row"
            )
        if probability is not None:
            row["draws"] = draw_spread(
                probability,
                evaluation.y_true,
                sensitive_test,
                config,
                columns_compared,
                sample_weight,
            )
        rows.append(row)
    if len(rows) == 1:
        reasons = "; ".join(f"{s['name']}: {s['reason']}" for s in skipped)
        return MitigationOutcome(
            not_run(config, f"No strategy of the default set applies. {reasons}")
        )

    n_evaluated = len(evaluation.rows)
    group_key_text = SEPARATOR.join(sensitive_columns)
    if cross_fitted:
        fitting = crossfit.describe(folds, group_key_text)
        evaluated_on = (
            f"all {n_evaluated:,} rows the baseline was evaluated on, each decided by a fit "
            f"that did not see it ({folds.k}-fold cross-fitting)"
        )
    else:
        n_train = len(evaluation.train_rows)
        fitting = {
            "how": "training rows",
            "text": f"fitted on the {n_train:,} training rows, measured on the "
            f"{n_evaluated:,} {held_out}",
        }
        evaluated_on = f"the {n_evaluated:,} {held_out} the baseline was evaluated on"
    result = compare.comparison(rows, cfg.disparity, cfg.feature)
    result.update(
        status="ran",
        reason=None,
        requested="configured" if cfg.strategies is not None else "default set",
        skipped=skipped,
        evaluated_on=evaluated_on,
        fitting=fitting,
        # Cross-fitted strategies have no single training set (see fitting).
        n_train=None if cross_fitted else int(len(evaluation.train_rows)),
        n_evaluated=int(n_evaluated),
        sensitive=sensitive_columns,
        group_key=group_key_text,
        # Cross-fitted: each group's fewest rows in any fold's training part.
        training_group_sizes={str(k): int(v) for k, v in group_sizes.items()},
        small_groups=[str(k) for k, v in group_sizes.items() if v < SMALL_GROUP],
        small_group_size=SMALL_GROUP,
        default_set=list(catalogue.DEFAULT_SET),
        options=cfg.options.model_dump(mode="json"),
    )
    saved_model = saved_file = None
    if cfg.save:
        saved_model = fitted_models[cfg.save]
        saved_file = catalogue.file_name(cfg.save)
        columns = models.model_input_columns(saved_model, data.features)
        result["saved"] = {
            "strategy": cfg.save,
            "label": catalogue.label(cfg.save),
            "file": saved_file,
            "input_columns": columns,
            "needs_sensitive_columns": [c for c in sensitive_columns if c in columns],
            "fitted_on": (
                f"every row ({n_evaluated:,}), refitted after the cross-fitting"
                if cross_fitted
                else f"the {len(evaluation.train_rows):,} training rows"
            ),
        }
    else:
        result["saved"] = None
    return MitigationOutcome(result, saved_model, saved_file, fitted_models, decisions)


def predict_rows(
    model: Any, rows: pd.DataFrame, features: list[str], config: AuditConfig
) -> Predicted:
    """A fitted strategy's decisions on ``rows``, made as a re-audit of its saved model makes them.

    Parameters
    ----------
    model : estimator
        A fitted strategy's model (class 1 is the positive outcome).
    rows : pandas.DataFrame
        The rows to decide, every column of the data.
    features : list of str
        The data's feature columns (used when the model does not name its inputs).
    config : AuditConfig
        For ``model.threshold``.

    Returns
    -------
    Predicted
        Each row's probability of a positive decision for a randomized model, else its
        decision and score by the prediction stage's rule for a strategy
        (:func:`audit.evaluation.strategy_rule`), with the rule that made it.
    """
    columns = models.model_input_columns(model, features)
    X = models.as_model_input(rows, columns)
    probability = randomized_probability(model, X)
    if probability is not None:
        return Predicted(None, None, probability, columns)
    output, rule = strategy_rule(model, config.model.threshold)
    y_pred, scores = model_decisions(model, X, output, rule)
    return Predicted(y_pred, scores, None, columns, rule.text())


def _cross_fit(
    name: str,
    folds: crossfit.Folds,
    contexts: list[TrainingContext],
    everything: TrainingContext,
    predict: Callable[[Any, np.ndarray], Predicted],
) -> tuple[Fitted, Predicted]:
    """Out-of-fold decisions of ``name`` on every evaluated row, and its refit on all of them.

    Fold ``i``'s fit (on ``contexts[i]``, the other folds) decides fold ``i``'s rows; the
    returned model is the refit on ``everything``, with the details of that refit and the
    fit time of all ``k + 1`` fits.
    """
    parts: list[tuple[np.ndarray, Predicted]] = []
    seconds, messages = 0.0, []
    for i, context in enumerate(contexts):
        try:
            fitted = fit_strategy(name, context)
        except AuditError as problem:
            raise AuditError(
                f"In fold {i + 1} of {folds.k} of the cross-fitting: {problem}"
            ) from None
        seconds += fitted.fit_seconds
        messages += fitted.messages
        held = folds.held_out(i)
        parts.append((held, predict(fitted.model, held)))
    refit = fit_strategy(name, everything)
    n = len(folds.fold)
    first = parts[0][1]

    def assemble(attribute: str, dtype: Any) -> np.ndarray | None:
        if getattr(first, attribute) is None:
            return None
        values = np.empty(n, dtype=dtype)
        for held, predicted in parts:
            values[held] = getattr(predicted, attribute)
        return values

    predicted = Predicted(
        y_pred=assemble("y_pred", np.int8),
        scores=assemble("scores", np.float64),
        probability=assemble("probability", np.float64),
        columns=first.columns,
        rule=first.rule,
    )
    return (
        Fitted(
            model=refit.model,
            fit_seconds=round(seconds + refit.fit_seconds, 3),
            details=refit.details,
            messages=list(dict.fromkeys(messages + refit.messages)),
        ),
        predicted,
    )


def draw_spread(
    probability: np.ndarray,
    y_true: np.ndarray,
    sensitive: pd.DataFrame,
    config: AuditConfig,
    columns: list[dict[str, str]],
    sample_weight: np.ndarray | None = None,
) -> dict[str, Any]:
    """How far single draws of a randomized model's decisions stray from its expected rates.

    The decisions are drawn :data:`DRAWS` times, with the seeds ``config.seed``,
    ``config.seed + 1``, ... (the first is the draw the saved model's ``predict`` makes),
    and each draw is measured like any decisions, by the same fairness engine and policy
    rules as :func:`audit.metrics.measure` (point values only: no intervals).

    Returns
    -------
    dict
        ``count``, ``seeds`` (first and last), and the ``[min, max]`` over the draws of
        ``accuracy``, of ``disparity`` (the compared disparity, worst over features, as in
        the comparison) and of each table column in ``cells`` (None where undefined in every
        draw).
    """
    # Point values only (the spread of draws, not their intervals), and only what the
    # comparison shows: the fairness entries and policy verdicts, and the accuracy.
    settings = config.fairness.model_copy(deep=True)
    settings.bootstrap.resamples = 0
    seeds = [config.seed + k for k in range(DRAWS)]
    metric, feature = config.mitigation.disparity, config.mitigation.feature
    accuracy, disparity, cells = [], [], []
    y_true = np.asarray(y_true, dtype=np.int8)
    for seed in seeds:
        decisions = draw_decisions(probability, seed).astype(np.int8)
        fairness = fairness_by_feature(
            y_true,
            decisions,
            None,
            sensitive,
            settings,
            seed=config.seed,
            sample_weight=sample_weight,
        )
        drawn = {"fairness": fairness, "verdicts": evaluate(config.policy.rules, fairness, False)}
        accuracy.append(float(np.average(decisions == y_true, weights=sample_weight)))
        disparity.append(compare.worst_disparity(drawn, metric, feature)["value"])
        cells.append([cell["value"] for cell in compare.cells(drawn, columns)])
    return {
        "count": DRAWS,
        "seeds": [seeds[0], seeds[-1]],
        "accuracy": _range(accuracy),
        "disparity": _range(disparity),
        "cells": [_range(list(values)) for values in zip(*cells, strict=True)],
    }


def _range(values: list[float | None]) -> list[float] | None:
    defined = [float(v) for v in values if v is not None]
    return [min(defined), max(defined)] if defined else None


def _check_groups(sizes: pd.Series, columns: list[str], rows: str) -> None:
    """``rows`` names the rows the strategies are fitted on ("training" or "evaluated")."""
    if len(sizes) > MAX_GROUPS:
        raise AuditError(
            f"The sensitive feature(s) {', '.join(columns)} form {len(sizes)} groups in the "
            f"{rows} rows; mitigation constrains every group, which needs at most "
            f"{MAX_GROUPS}. Bin the column(s) first, or set mitigation.sensitive to fewer."
        )
    if len(sizes) < 2:
        raise AuditError(
            f"The {rows} rows hold a single group of {', '.join(columns)}; there is nothing "
            "to mitigate between groups."
        )


def _check_retrainable(name: str, model: Any) -> None:
    """Pre- and in-processing retrain a clone of the audited model: some models refuse that."""
    if catalogue.METHODS[catalogue.method_of(name)].stage == "post-processing":
        return
    try:
        split_model(model)
    except TypeError as exc:  # e.g. an ONNX model: it cannot be cloned or refitted
        raise AuditError(
            f"{name} retrains the audited model, but {exc}. Compare "
            "threshold_optimizer strategies instead (--mitigate threshold_optimizer:dp)."
        ) from None


def _check_unseen(name: str, unseen: list[str], columns: list[str]) -> None:
    """A strategy that takes the group at prediction time cannot treat groups it never saw."""
    if unseen and catalogue.METHODS[catalogue.method_of(name)].sensitive_at_prediction:
        raise AuditError(
            f"Group(s) {', '.join(unseen[:5])} of {' × '.join(columns)} occur in the held-out "
            f"rows but not in the training rows, so {name} cannot treat them. "
            "Use more data, or set mitigation.sensitive to fewer columns."
        )


def _baseline_row(
    evaluation: Any, measured: dict[str, Any], seconds: float | None, sensitive: list[str]
) -> dict[str, Any]:
    threshold = evaluation.model_info.get("threshold")
    return {
        "name": catalogue.BASELINE,
        "label": catalogue.label(catalogue.BASELINE),
        "stage": "none",
        "method": None,
        "constraint": None,
        "fit_seconds": seconds,
        "fit_note": "training and predicting the audited model" if seconds is not None else None,
        "randomized": False,
        "randomized_share": None,
        "sensitive_in_training": False,
        "sensitive_at_prediction": bool(set(evaluation.input_columns) & set(sensitive)),
        "input_columns": list(evaluation.input_columns),
        "decision_rule": (
            f"P(positive) >= {threshold}" if threshold is not None else "the model's predict"
        ),
        "caveats": [],
        "details": {},
        **_measured(measured),
    }


def _strategy_row(
    name: str,
    fitted: Fitted,
    measured: dict[str, Any],
    predicted: Predicted,
    config: AuditConfig,
    rows_phrase: str,
) -> dict[str, Any]:
    method = catalogue.METHODS[catalogue.method_of(name)]
    probability, columns = predicted.probability, predicted.columns
    share = None
    if probability is not None:
        # A tolerance, because mixture weights sum to 1 only up to rounding.
        share = float(np.mean((probability > 1e-9) & (probability < 1 - 1e-9)))
    caveats = list(method.caveats) + fitted.messages
    as_input = [c for c in config.data.sensitive if c in columns]
    if as_input and not method.sensitive_at_prediction:
        # model.include_sensitive: the retrained model takes the attribute as an input itself.
        caveats = [c for c in caveats if c != catalogue.TRAINING_ONLY]
        caveats.insert(
            0,
            f"The model takes the sensitive column(s) {', '.join(as_input)} as inputs "
            "(model.include_sensitive). " + catalogue.SENSITIVE_AT_PREDICTION,
        )
    if share is not None:
        caveats.insert(
            0,
            f"On the {rows_phrase}, {share:.1%} of the decisions were random draws "
            "(a probability of a positive decision strictly between 0 and 1). Its numbers "
            "here are expected values over those draws, computed exactly from each row's "
            "probability; single draws differ, and their spread is shown beside them.",
        )
    if probability is None:
        rule = predicted.rule or "the model's predict"
    elif catalogue.method_of(name) == "threshold_optimizer":
        rule = "per-group thresholds on the baseline's score, with random draws between them"
    else:
        rule = "a random draw among the mixture's classifiers, per row"
    return {
        "name": name,
        "label": catalogue.label(name),
        "stage": method.stage,
        "method": catalogue.method_of(name),
        "constraint": catalogue.constraint_of(name),
        "fit_seconds": fitted.fit_seconds,
        "fit_note": (
            "learning thresholds only (the baseline is reused)"
            if catalogue.method_of(name) == "threshold_optimizer"
            else None
        ),
        "randomized": bool(share) if share is not None else method.randomized,
        "randomized_share": share,
        "sensitive_in_training": True,
        "sensitive_at_prediction": method.sensitive_at_prediction or bool(as_input),
        "input_columns": columns,
        "decision_rule": rule,
        "caveats": caveats,
        "details": fitted.details,
        **_measured(measured),
    }


def _measured(measured: dict[str, Any]) -> dict[str, Any]:
    return {
        "performance": measured["performance"],
        "fairness": slim_fairness(measured["fairness"]),
        "verdicts": compare.verdicts_of(measured),
    }
