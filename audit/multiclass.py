"""Multiclass audits (``data.task: multiclass``): a target and a model with more than two classes.

The classes are the target's distinct values in sorted order; a row's class is its code,
0..K-1, in that order, for the labels, the predictions and the columns of the predicted
probabilities alike. Every fairness number of a multiclass audit is measured one class at
a time, one-vs-rest, by the binary engine (:mod:`audit.metrics.multiclass`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from audit.errors import AuditError
from audit.text import printable


def class_labels(values: pd.Series, column: str) -> list[Any]:
    """The target's classes in sorted order (numbers by value, anything else as text)."""
    observed = pd.Series(values.dropna().unique())
    if len(observed) < 2:
        raise AuditError(
            f"Target column '{printable(column)}' has {len(observed)} class(es); an audit "
            "needs rows of at least two classes."
        )
    if pd.api.types.is_numeric_dtype(observed) and not pd.api.types.is_bool_dtype(observed):
        ordered = sorted(observed.tolist())
    else:
        ordered = sorted(observed.tolist(), key=str)
    return [plain(v) for v in ordered]


def class_names(labels: list[Any]) -> list[str]:
    """Each class as the text the result and the report show."""
    return [_text(v) for v in labels]


def encode_classes(values: Any, labels: list[Any], what: str) -> np.ndarray:
    """Codes (0..K-1) of ``values`` against ``labels``, matched by their text (1 == "1")."""
    index = {_text(label): code for code, label in enumerate(labels)}
    texts = [_text(v) for v in pd.Series(values).tolist()]
    unknown = sorted({t for t in texts if t not in index})
    if unknown:
        raise AuditError(
            f"{what} holds value(s) {', '.join(printable(v, 40) for v in unknown[:5])} that "
            f"are not classes of the target ({', '.join(printable(k, 40) for k in index)}). "
            "Recode them to the target's labels."
        )
    return np.asarray([index[t] for t in texts], dtype=np.int64)


def model_classes(model: Any, labels: list[Any], source: str) -> np.ndarray:
    """For each of the model's ``classes_``, its code among the target's classes.

    Raises
    ------
    AuditError
        For a regressor, a model without ``classes_`` or ``predict``, or one that predicts a
        class the target does not have.
    """
    from sklearn.base import is_regressor  # imported here: sklearn costs ~1 s at CLI start

    name = type(model).__name__
    if is_regressor(model):
        raise AuditError(
            f"{source} is a regressor ({name}); a multiclass audit needs a classifier. To "
            "audit a regression model, set data.task: regression (--task regression)."
        )
    classes = getattr(model, "classes_", None)
    if classes is None or not hasattr(model, "predict"):
        raise AuditError(
            f"{source} ({name}) has no classes_ or no predict(), so the audit cannot tell "
            "which class it predicts. Give a fitted scikit-learn classifier, or its predicted "
            "classes as a column (--prediction-column)."
        )
    return encode_classes(np.asarray(classes).tolist(), labels, f"{source}'s classes_")


def model_predictions(
    model: Any, X: pd.DataFrame, labels: list[Any], source: str
) -> tuple[np.ndarray, np.ndarray | None]:
    """Predicted class codes and the probability of every target class (None without
    ``predict_proba``); a class the model does not know has probability 0."""
    codes = model_classes(model, labels, source)
    predicted = encode_classes(np.asarray(model.predict(X)).tolist(), labels, f"{source}'s output")
    if not hasattr(model, "predict_proba"):
        return predicted, None
    raw = np.asarray(model.predict_proba(X), dtype=np.float64)
    proba = np.zeros((len(X), len(labels)), dtype=np.float64)
    proba[:, codes] = raw
    return predicted, proba


def plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds (for results.json)."""
    return value.item() if isinstance(value, np.generic) else value


def _text(value: Any) -> str:
    """A label as text, so that 1, 1.0, "1" and np.int64(1) name the same class."""
    value = plain(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
