"""A plain scoring function ``f(DataFrame) -> scores`` seen by the audit as a classifier.

A model from any framework (PyTorch, Keras, a rule system, a remote service wrapped in a
function) can be audited through a function that takes the feature columns as a DataFrame
and returns one number per row, higher meaning more likely the positive outcome.
:class:`ScoreFunction` gives it what the audit reads from a fitted model: ``classes_``
(``[0, 1]`` unless told: the second is the outcome the scores are for),
``decision_function`` (the scores, checked), ``predict`` (``score >= threshold``) and
``feature_names_in_`` when the columns it takes are named. The audit then treats it as a
decision-function model (:func:`audit.evaluation.model_output`) and explains it with the
permutation explainer on the raw columns.

The default threshold is 0.5 when the scores seen at construction all lie in [0, 1] (they
read as probabilities) and 0 otherwise (a margin, such as log-odds). The audit's decision
rule starts from it; a configured threshold (``model.threshold``) replaces it.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from audit.errors import AuditError

PROBABILITY_THRESHOLD = 0.5
MARGIN_THRESHOLD = 0.0


class ScoreFunction(ClassifierMixin, BaseEstimator):
    """A scoring function with the prediction interface of a fitted binary classifier.

    Parameters
    ----------
    function : callable
        ``function(X)`` takes a DataFrame of the feature columns and returns one finite
        number per row (a sequence, a 1-D array, or an ``(n, 1)`` array); higher means more
        likely positive.
    data : pandas.DataFrame, optional
        Rows whose scores set the default threshold (e.g. the data being audited). Needed
        unless ``threshold`` is given.
    threshold : float, optional
        Scores at or above it are predicted positive. Default: 0.5 if every score on
        ``data`` lies in [0, 1], else 0.
    feature_names : sequence of str, optional
        The columns ``function`` takes, in order (becomes ``feature_names_in_``, so the
        audit gives it exactly these). Default: whatever columns the audit's feature list
        names.
    classes : sequence of two labels, optional
        The negative and the positive outcome, in the target's own labels (e.g.
        ``("rejected", "approved")``); the scores are for the second. Default ``(0, 1)``.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"income": [1.0, 3.0, 5.0]})
    >>> model = ScoreFunction(lambda X: X["income"] / 10, data=X)
    >>> model.threshold, model.predict(pd.DataFrame({"income": [4.0, 6.0]})).tolist()
    (0.5, [0, 1])
    """

    def __init__(
        self,
        function: Callable[[pd.DataFrame], Any],
        data: pd.DataFrame | None = None,
        *,
        threshold: float | None = None,
        feature_names: Sequence[str] | None = None,
        classes: Sequence[Any] = (0, 1),
    ) -> None:
        if not callable(function):
            raise AuditError(
                f"The model is a {type(function).__name__}, not a function: give a callable "
                "f(DataFrame) -> scores, or a fitted estimator."
            )
        self.function = function
        if len(classes) != 2 or classes[0] == classes[1]:
            raise AuditError(
                f"A score function's classes must be two different labels (negative, "
                f"positive), got {list(classes)!r}."
            )
        self.classes_ = np.asarray(classes)
        if feature_names is not None:
            self.feature_names_in_ = np.asarray([str(c) for c in feature_names], dtype=object)
            self.n_features_in_ = len(self.feature_names_in_)
        if threshold is None:
            if data is None:
                raise AuditError(
                    "A score function needs rows to tell whether its scores are probabilities "
                    "(threshold 0.5) or margins (threshold 0): pass data=..., or threshold=..."
                )
            scores = self.decision_function(self._columns(data))
            in_unit_interval = len(scores) > 0 and scores.min() >= 0.0 and scores.max() <= 1.0
            threshold = PROBABILITY_THRESHOLD if in_unit_interval else MARGIN_THRESHOLD
        if not isinstance(threshold, numbers.Real) or not np.isfinite(threshold):
            raise AuditError(f"The score function's threshold {threshold!r} is not a number.")
        self.threshold = float(threshold)

    def _columns(self, X: pd.DataFrame) -> pd.DataFrame:
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            return X
        absent = [c for c in names if c not in X.columns]
        if absent:
            raise AuditError(
                f"The score function takes column(s) {', '.join(absent)}, which the data "
                "does not have."
            )
        return X[list(names)]

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """The function's scores for the rows of ``X``, as floats (higher = positive).

        Raises
        ------
        AuditError
            When the function fails, or does not return one finite number per row.
        """
        name = getattr(self.function, "__name__", type(self.function).__name__)
        try:
            raw = self.function(X)
        except AuditError:
            raise
        except Exception as exc:
            raise AuditError(
                f"The score function {name} failed on {len(X)} rows: {type(exc).__name__}: {exc}"
            ) from None
        try:
            scores = np.asarray(raw, dtype=np.float64)
        except (TypeError, ValueError):
            raise AuditError(
                f"The score function {name} returned {type(raw).__name__} values that are not "
                "numbers; it must return one score per row (higher = more likely positive)."
            ) from None
        if scores.ndim == 2 and scores.shape[1] == 1:
            scores = scores[:, 0]
        if scores.shape != (len(X),):
            raise AuditError(
                f"The score function {name} returned an array of shape {scores.shape} for "
                f"{len(X)} rows; it must return one score per row."
            )
        bad = ~np.isfinite(scores)
        if bad.any():
            raise AuditError(
                f"The score function {name} returned {int(bad.sum())} missing or infinite "
                f"score(s) (first at row {int(np.flatnonzero(bad)[0])}); every row needs a "
                "finite score."
            )
        return scores

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """``classes_[1]`` where the score reaches ``threshold``, else ``classes_[0]``."""
        negative, positive = self.classes_
        return np.where(self.decision_function(X) >= self.threshold, positive, negative)

    def get_params(self, deep: bool = False) -> dict[str, Any]:
        """What the report shows about the model (a function has no hyper-parameters)."""
        name = getattr(self.function, "__qualname__", type(self.function).__name__)
        return {"function": name, "threshold": self.threshold}

    def fit(self, X: Any, y: Any = None) -> ScoreFunction:
        raise TypeError("a score function is already trained; rai-audit cannot retrain it")

    def __sklearn_clone__(self) -> ScoreFunction:
        # Strategies that retrain the audited model clone it first: say why they cannot.
        raise TypeError(
            "a score function cannot be retrained, so only post-processing "
            "(threshold_optimizer) applies to it"
        )

    def __reduce__(self) -> Any:
        # A function is code: it must not go into a skops file (nor a pickle by accident).
        raise TypeError("it holds a Python function, which cannot be saved as a model file")
