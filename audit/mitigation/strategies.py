"""Fitting each mitigation strategy on the training rows, around the audited model.

Pre- and in-processing strategies retrain the audited model's own estimator (a fresh
clone, same hyper-parameters and seed) behind the same preprocessing; post-processing
keeps the fitted baseline model and learns group thresholds on its scores. Each
returns a model that takes the raw data columns (plus the sensitive columns when the
method needs them at prediction time), so it can be saved and audited like any other.

The preprocessing is fitted once and shared: in-processing methods retrain only the
estimator on the already-encoded matrix, which is what keeps them affordable.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import has_fit_parameter

from audit import models
from audit.config import MitigationOptions
from audit.errors import AuditError
from audit.mitigation.estimators import (
    STRATEGY_ATTRIBUTE,
    GroupKeyEncoder,
    GroupThresholdClassifier,
    RandomizedMixtureClassifier,
)
from audit.mitigation.reweighing import reweighing_weights
from audit.vocabulary import strategies as catalogue


@dataclass
class TrainingContext:
    """What every strategy is fitted from: the training rows and the baseline model."""

    train_frame: pd.DataFrame  # the training rows of the data, every column
    y_train: np.ndarray
    groups_train: np.ndarray  # the (intersectional) group key of each training row
    feature_columns: list[str]
    sensitive_columns: list[str]
    baseline: Any
    options: MitigationOptions
    seed: int
    _encoded: tuple[Any, np.ndarray] | None = field(default=None, repr=False)

    def inputs(self, columns: list[str]) -> pd.DataFrame:
        """The training rows' model inputs, as the audit feeds them to any model."""
        return models.as_model_input(self.train_frame, columns)

    @property
    def X_train(self) -> pd.DataFrame:
        return self.inputs(self.feature_columns)

    def encoded(self) -> tuple[Any, np.ndarray]:
        """The baseline's preprocessing, freshly fitted on the training rows, and its output."""
        if self._encoded is None:
            preprocessing, _ = split_model(self.baseline)
            X = self.X_train
            if preprocessing == "passthrough":
                self._encoded = ("passthrough", X)
            else:
                fitted = preprocessing.fit(X, self.y_train)
                self._encoded = (fitted, fitted.transform(X))
        return self._encoded

    def estimator(self) -> Any:
        """An unfitted clone of the audited model's own estimator (same parameters, seed)."""
        return split_model(self.baseline)[1]


@dataclass
class Fitted:
    """A fitted strategy: the model to predict with (and save), its cost and details."""

    model: Any
    fit_seconds: float
    details: dict[str, Any]
    messages: list[str] = field(default_factory=list)  # what the libraries warned while fitting


def split_model(model: Any) -> tuple[Any, Any]:
    """(unfitted preprocessing or "passthrough", unfitted estimator) of a fitted model."""
    if isinstance(model, Pipeline):
        estimator = clone(model.steps[-1][1])
        steps = model.steps[:-1]
        if not steps:
            return "passthrough", estimator
        return clone(steps[0][1] if len(steps) == 1 else Pipeline(steps)), estimator
    return "passthrough", clone(model)


def fit_strategy(name: str, context: TrainingContext) -> Fitted:
    """Fit one strategy (a canonical catalogue name) on the training rows."""
    method = catalogue.method_of(name)
    constraint = catalogue.constraint_of(name)
    fitter = {
        "reweighing": _reweighing,
        "correlation_remover": _correlation_remover,
        "exponentiated_gradient": _exponentiated_gradient,
        "grid_search": _grid_search,
        "threshold_optimizer": _threshold_optimizer,
    }[method]
    start = time.perf_counter()
    advice = _Advice()
    library_logger = logging.getLogger("fairlearn")
    library_logger.addHandler(advice)
    try:
        # fairlearn logs advice (e.g. on grid sizes) and sklearn warns (e.g. convergence):
        # neither may clutter the CLI; both are kept and shown with the strategy's caveats.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model, details = fitter(context, constraint)
    except AuditError:
        raise
    except (ValueError, TypeError, np.linalg.LinAlgError) as exc:
        raise AuditError(
            f"Mitigation strategy '{name}' could not be fitted: {exc}. Remove it from "
            "mitigation.strategies (--mitigate), or check the data and the model."
        ) from None
    finally:
        library_logger.removeHandler(advice)
    seconds = time.perf_counter() - start
    setattr(model, STRATEGY_ATTRIBUTE, name)
    messages = [f"fairlearn: {m}" for m in advice.messages]
    messages += [f"{w.category.__name__}: {w.message}" for w in caught if _worth_showing(w)]
    return Fitted(
        model=model,
        fit_seconds=round(seconds, 3),
        details=details,
        messages=list(dict.fromkeys(messages)),  # one line per distinct message
    )


class _Advice(logging.Handler):
    """Collects the warnings fairlearn logs while a strategy is fitted."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _worth_showing(caught: warnings.WarningMessage) -> bool:
    # Deprecation notices concern library versions, not this model's fairness.
    return not issubclass(
        caught.category, (DeprecationWarning, PendingDeprecationWarning, FutureWarning)
    )


def _needs_sample_weight(context: TrainingContext, name: str) -> Any:
    estimator = context.estimator()
    if not has_fit_parameter(estimator, "sample_weight"):
        raise AuditError(
            f"{name} retrains the model with sample weights, but "
            f"{type(estimator).__name__}.fit takes no sample_weight. Choose a model that "
            "does (all registry models do) or use threshold_optimizer."
        )
    return estimator


def _reweighing(context: TrainingContext, constraint: str | None) -> tuple[Any, dict]:
    estimator = _needs_sample_weight(context, "Reweighing")
    weights = reweighing_weights(context.groups_train, context.y_train)
    preprocess, encoded = context.encoded()
    estimator.fit(encoded, context.y_train, sample_weight=weights)
    cells = (
        pd.DataFrame({"group": context.groups_train, "label": context.y_train, "weight": weights})
        .drop_duplicates(["group", "label"])
        .sort_values(["group", "label"])
    )
    details = {
        "weights": [
            {"group": str(r.group), "label": int(r.label), "weight": float(r.weight)}
            for r in cells.itertuples()
        ]
    }
    return Pipeline([("preprocess", preprocess), ("model", estimator)]), details


def _correlation_remover(context: TrainingContext, constraint: str | None) -> tuple[Any, dict]:
    from fairlearn.preprocessing import CorrelationRemover

    preprocessing, estimator = split_model(context.baseline)
    inputs = list(dict.fromkeys([*context.feature_columns, *context.sensitive_columns]))
    X = context.inputs(inputs)
    encode = ColumnTransformer(
        [
            ("features", preprocessing, context.feature_columns),
            ("groups", GroupKeyEncoder(), context.sensitive_columns),
        ],
        verbose_feature_names_out=False,
    )
    encoded = encode.fit_transform(X, context.y_train)
    if hasattr(encoded, "toarray"):
        encoded = encoded.toarray()
    n_groups = len(encode.named_transformers_["groups"].categories_)
    first_group = encoded.shape[1] - n_groups
    remover = CorrelationRemover(
        sensitive_feature_ids=list(range(first_group, encoded.shape[1])),
        alpha=context.options.correlation_remover.alpha,
    )
    decorrelated = remover.fit_transform(encoded)
    estimator.fit(decorrelated, context.y_train)
    model = Pipeline([("preprocess", encode), ("decorrelate", remover), ("model", estimator)])
    details = {"group_indicators": n_groups, "alpha": remover.alpha}
    return model, details


def _moment(constraint: str | None) -> Any:
    from fairlearn import reductions

    assert constraint is not None
    return getattr(reductions, catalogue.CONSTRAINTS[constraint][1])()


def _exponentiated_gradient(context: TrainingContext, constraint: str | None) -> tuple[Any, dict]:
    from fairlearn.reductions import ExponentiatedGradient

    estimator = _needs_sample_weight(context, "Exponentiated gradient")
    options = context.options.exponentiated_gradient
    preprocess, encoded = context.encoded()
    mitigator = ExponentiatedGradient(
        estimator,
        _moment(constraint),
        max_iter=options.max_iter,
        eps=options.eps,
        eta0=options.eta0,
    )
    mitigator.fit(encoded, context.y_train, sensitive_features=context.groups_train)
    used = [i for i in mitigator.weights_.index if mitigator.weights_[i] > 0]
    mixture = RandomizedMixtureClassifier.from_fitted(
        [mitigator.predictors_[i] for i in used],
        [float(mitigator.weights_[i]) for i in used],
        random_state=context.seed,
    )
    details = {
        "iterations": int(mitigator.last_iter_) + 1,
        "max_iter": options.max_iter,
        "converged": bool(mitigator.last_iter_ + 1 < options.max_iter),
        "estimator_fits": int(mitigator.n_oracle_calls_),
        "classifiers_in_mixture": len(used),
        "mixture_weights": [round(float(mitigator.weights_[i]), 6) for i in used],
        "best_gap": float(mitigator.best_gap_),
    }
    return Pipeline([("preprocess", preprocess), ("model", mixture)]), details


def _grid_search(context: TrainingContext, constraint: str | None) -> tuple[Any, dict]:
    from fairlearn.reductions import GridSearch

    estimator = _needs_sample_weight(context, "Grid search")
    options = context.options.grid_search
    preprocess, encoded = context.encoded()
    mitigator = GridSearch(
        estimator,
        _moment(constraint),
        grid_size=options.grid_size,
        grid_limit=options.grid_limit,
        constraint_weight=options.constraint_weight,
    )
    mitigator.fit(encoded, context.y_train, sensitive_features=context.groups_train)
    best = mitigator.predictors_[mitigator.best_idx_]
    details = {
        "grid_points": len(mitigator.predictors_),
        "chosen_point": int(mitigator.best_idx_),
        "chosen_estimator": type(best).__name__,
    }
    return Pipeline([("preprocess", preprocess), ("model", best)]), details


def _threshold_optimizer(context: TrainingContext, constraint: str | None) -> tuple[Any, dict]:
    from fairlearn.postprocessing import ThresholdOptimizer

    assert constraint is not None
    baseline = context.baseline
    method = next((m for m in ("predict_proba", "decision_function") if hasattr(baseline, m)), None)
    if method is None:
        raise AuditError(
            f"threshold_optimizer needs scores, but the audited model "
            f"({type(baseline).__name__}) has neither predict_proba nor decision_function."
        )
    options = context.options.threshold_optimizer
    optimizer = ThresholdOptimizer(
        estimator=baseline,
        constraints=catalogue.CONSTRAINTS[constraint][2],
        objective=options.objective,
        grid_size=options.grid_size,
        prefit=True,
        predict_method=method,
    )
    optimizer.fit(context.X_train, context.y_train, sensitive_features=context.groups_train)
    model = GroupThresholdClassifier.from_threshold_optimizer(
        optimizer, context.feature_columns, context.sensitive_columns, method, context.seed
    )
    details = {"score": method, "objective": options.objective, "rules": model.decision_rules()}
    return model, details
