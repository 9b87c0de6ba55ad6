"""The small classifiers a mitigated model is saved as, so that skops can load it safely.

fairlearn's fitted mitigators keep pandas objects, lambdas and bookkeeping that skops
cannot (or should not) load. Once a mitigator is fitted, what a deployment needs is
tiny, and is kept here in plain numpy arrays and scikit-learn estimators:

* :class:`GroupKeyEncoder` — one-hot indicators of the (intersectional) group of each row;
* :class:`RandomizedMixtureClassifier` — ExponentiatedGradient's result: a weighted
  mixture of fitted classifiers, one drawn per row;
* :class:`GroupThresholdClassifier` — ThresholdOptimizer's result: the baseline model's
  score, thresholded (with randomization) separately for each group, which therefore
  takes the sensitive columns as inputs at prediction time.

Randomized decisions are drawn with ``numpy.random.RandomState(random_state)``
exactly as fairlearn does, so they equal fairlearn's ``predict(X, random_state=...)``.
The same rows in the same order always get the same decisions; a row scored in a
different batch may not (that is what a randomized classifier is). The audit itself
does not measure one draw: it reads ``predict_pmf`` (each row's exact probability of a
positive decision) and reports the expected rates, both when comparing strategies and
when a saved model is audited again, so the two agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from audit.metrics.fairness import group_labels
from audit.threshold_rules import PLAN_FIELDS, describe_rules, interpolation_plan
from audit.vocabulary.groups import SEPARATOR

# Attribute set on every saved mitigated model: which strategy made it.
STRATEGY_ATTRIBUTE = "rai_audit_strategy_"


def group_key(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """One group label per row: the sensitive values as text, joined by ``" × "``.

    Missing values become the group ``"(missing)"``, as in the fairness metrics, so a
    row is never silently dropped from its group.
    """
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"The model needs the sensitive column(s) {', '.join(missing)} at prediction time."
        )
    parts = [group_labels(frame[column]).to_numpy(dtype=str) for column in columns]
    key = parts[0]
    for part in parts[1:]:
        key = np.char.add(np.char.add(key, SEPARATOR), part)
    return np.asarray(key, dtype=str)


def draw_decisions(probability: np.ndarray, random_state: int) -> np.ndarray:
    """0/1 decisions drawn with P(1) = ``probability`` per row, exactly as fairlearn draws
    them (one ``RandomState(random_state).rand`` number per row, in row order)."""
    draws = np.random.RandomState(random_state).rand(len(probability))
    return (probability >= draws).astype(int)


def strategy_of(model: Any) -> str | None:
    """The mitigation strategy a loaded model was made by, or None for an unmitigated model."""
    value = getattr(model, STRATEGY_ATTRIBUTE, None)
    return value if isinstance(value, str) else None


class GroupKeyEncoder(TransformerMixin, BaseEstimator):
    """One-hot indicators of each row's group (the combined key of the given columns).

    Groups not seen in ``fit`` get all-zero indicators (like ``OneHotEncoder`` with
    ``handle_unknown="ignore"``).
    """

    def fit(self, X: pd.DataFrame, y: Any = None) -> GroupKeyEncoder:
        self.columns_ = [str(c) for c in X.columns]
        self.feature_names_in_ = np.asarray(self.columns_, dtype=object)
        self.n_features_in_ = len(self.columns_)
        self.categories_ = np.unique(group_key(X, self.columns_))
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "categories_")
        keys = group_key(X, self.columns_)
        return (keys[:, None] == self.categories_[None, :]).astype(float)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "categories_")
        return np.asarray([f"group={c}" for c in self.categories_], dtype=object)


class RandomizedMixtureClassifier(ClassifierMixin, BaseEstimator):
    """A fitted ExponentiatedGradient: each row's decision comes from one classifier,
    drawn with the mixture weights.

    ``predict_pmf`` gives P(decision = 1) for each row; ``predict`` draws the decision.
    There is deliberately no ``predict_proba``: the mixture's decisions are random
    draws, not a score compared with a threshold, and an audit must evaluate exactly
    the decisions a deployment would make (the audit thresholds ``predict_proba`` when a
    model has it). ``decision_function`` gives P(decision = 1) for explainers.

    Parameters
    ----------
    random_state : int
        Seed of the draws (``numpy.random.RandomState``, as fairlearn uses).
    """

    def __init__(self, random_state: int = 0) -> None:
        self.random_state = random_state

    @classmethod
    def from_fitted(
        cls, estimators: Sequence[Any], weights: Sequence[float], random_state: int
    ) -> RandomizedMixtureClassifier:
        """Build from fitted classifiers and their non-negative weights (which sum to 1)."""
        weights = np.asarray(weights, dtype=float)
        if len(estimators) != len(weights) or len(weights) == 0:
            raise ValueError("A mixture needs one weight per classifier, and at least one.")
        if (weights < 0).any() or not np.isclose(weights.sum(), 1.0):
            raise ValueError(f"Mixture weights must be >= 0 and sum to 1, got {weights}.")
        mixture = cls(random_state=random_state)
        mixture.estimators_ = list(estimators)
        mixture.weights_ = weights
        mixture.classes_ = np.array([0, 1])
        return mixture

    def fit(self, X: Any, y: Any = None) -> RandomizedMixtureClassifier:
        raise TypeError(
            "A RandomizedMixtureClassifier is built from a fitted ExponentiatedGradient "
            "(rai-audit run --mitigate exponentiated_gradient:...), not fitted directly."
        )

    def predict_pmf(self, X: Any) -> np.ndarray:
        """P(decision = 1) for each row: the weighted vote of the mixture's classifiers."""
        check_is_fitted(self, "estimators_")
        votes = np.column_stack([np.asarray(e.predict(X), dtype=float) for e in self.estimators_])
        return votes @ self.weights_

    def decision_function(self, X: Any) -> np.ndarray:
        """P(decision = 1): the score tools that explain a model (e.g. SHAP) should use,
        rather than the random draws. The audit's decisions never threshold it."""
        return self.predict_pmf(X)

    def predict(self, X: Any) -> np.ndarray:
        return draw_decisions(self.predict_pmf(X), self.random_state)


class GroupThresholdClassifier(ClassifierMixin, BaseEstimator):
    """A fitted ThresholdOptimizer: the baseline model's score, thresholded per group.

    Each group ``g`` has two threshold operations mixed with probabilities ``p0`` and
    ``p1`` (and optionally a constant decision mixed in with probability
    ``p_ignore``); the decision for a row is drawn from the resulting P(decision = 1).
    The sensitive columns are **inputs at prediction time**: the row's group picks its
    thresholds. A group not seen in fitting has no thresholds, so predicting it raises
    an error rather than guessing.

    Parameters
    ----------
    random_state : int
        Seed of the draws (``numpy.random.RandomState``, as fairlearn uses).
    """

    def __init__(self, random_state: int = 0) -> None:
        self.random_state = random_state

    @classmethod
    def from_threshold_optimizer(
        cls,
        optimizer: Any,
        feature_columns: Sequence[str],
        sensitive_columns: Sequence[str],
        score_method: str,
        random_state: int,
    ) -> GroupThresholdClassifier:
        """Copy the per-group thresholds out of a fitted fairlearn ``ThresholdOptimizer``."""
        plan = interpolation_plan(optimizer.interpolated_thresholder_.interpolation_dict)
        model = cls(random_state=random_state)
        model.estimator_ = optimizer.estimator_
        model.score_method_ = score_method
        model.feature_columns_ = [str(c) for c in feature_columns]
        model.sensitive_columns_ = [str(c) for c in sensitive_columns]
        inputs = list(dict.fromkeys([*model.feature_columns_, *model.sensitive_columns_]))
        model.feature_names_in_ = np.asarray(inputs, dtype=object)
        model.n_features_in_ = len(inputs)
        for name, values in plan.items():
            setattr(model, f"{name}_", values)
        model.classes_ = np.array([0, 1])
        return model

    def fit(self, X: Any, y: Any = None) -> GroupThresholdClassifier:
        raise TypeError(
            "A GroupThresholdClassifier is built from a fitted ThresholdOptimizer "
            "(rai-audit run --mitigate threshold_optimizer:...), not fitted directly."
        )

    def decision_rules(self) -> list[dict[str, Any]]:
        """Each group's complete decision rule, as plain data (see audit.threshold_rules)."""
        check_is_fitted(self, "groups_")
        return describe_rules({name: getattr(self, f"{name}_") for name in PLAN_FIELDS})

    def base_scores(self, X: pd.DataFrame) -> np.ndarray:
        """The baseline model's score for each row (what the thresholds apply to)."""
        check_is_fitted(self, "groups_")
        missing = [c for c in self.feature_columns_ if c not in X.columns]
        if missing:
            raise ValueError(f"Missing input column(s): {', '.join(missing)}.")
        values = getattr(self.estimator_, self.score_method_)(X[self.feature_columns_])
        values = np.asarray(values, dtype=float)
        return values[:, 1] if values.ndim == 2 else values

    def predict_pmf(self, X: pd.DataFrame) -> np.ndarray:
        """P(decision = 1) for each row, given its score and its group's thresholds."""
        scores = self.base_scores(X)
        keys = group_key(X, self.sensitive_columns_)
        index = np.searchsorted(self.groups_, keys)
        index = np.minimum(index, len(self.groups_) - 1)
        unknown = self.groups_[index] != keys
        if unknown.any():
            shown = ", ".join(sorted(set(keys[unknown].tolist()))[:5])
            raise ValueError(
                f"No thresholds for group(s) {shown}: they were not in the rows the "
                "thresholds were fitted on. Refit the mitigation on data that includes them."
            )
        first = np.where(
            self.greater0_[index],
            scores > self.threshold0_[index],
            scores < self.threshold0_[index],
        )
        second = np.where(
            self.greater1_[index],
            scores > self.threshold1_[index],
            scores < self.threshold1_[index],
        )
        mixed = self.p0_[index] * first + self.p1_[index] * second
        ignore = self.p_ignore_[index]
        return ignore * self.constant_[index] + (1 - ignore) * mixed

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """P(decision = 1): the score tools that explain a model (e.g. SHAP) should use,
        rather than the random draws. The audit's decisions never threshold it."""
        return self.predict_pmf(X)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return draw_decisions(self.predict_pmf(X), self.random_state)
