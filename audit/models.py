"""Estimator registry and training (model files are read and written by audit.model_files).

Every registered estimator sits in one Pipeline with the same preprocessing
(impute, scale numeric columns, one-hot encode categoricals with unseen
categories ignored), so a saved model takes the raw columns of the data file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from audit.errors import AuditError
from audit.text import printable

# name -> (factory(seed, **params), description). Defaults are bounded so the demo stays fast
# and SHAP explanations of the forest stay affordable (an unlimited-depth forest is far slower).
REGISTRY: dict[str, tuple[Callable[..., BaseEstimator], str]] = {
    "logistic_regression": (
        lambda seed, **p: LogisticRegression(**{"max_iter": 1000, **p}),
        "L2-regularised logistic regression (lbfgs, max_iter=1000)",
    ),
    "random_forest": (
        lambda seed, **p: RandomForestClassifier(
            **{"n_estimators": 100, "max_depth": 10, "n_jobs": -1, "random_state": seed, **p}
        ),
        "random forest, 100 trees of depth <= 10",
    ),
    "hist_gradient_boosting": (
        lambda seed, **p: HistGradientBoostingClassifier(**{"random_state": seed, **p}),
        "histogram gradient boosting (scikit-learn defaults)",
    ),
}
# The regressors trained when data.task is regression; the tree models share their
# classifiers' names and bounds, so `model.name` reads the same for both tasks.
REGRESSION_REGISTRY: dict[str, tuple[Callable[..., BaseEstimator], str]] = {
    "linear_regression": (
        lambda seed, **p: LinearRegression(**p),
        "ordinary least squares linear regression",
    ),
    "random_forest": (
        lambda seed, **p: RandomForestRegressor(
            **{"n_estimators": 100, "max_depth": 10, "n_jobs": -1, "random_state": seed, **p}
        ),
        "random forest regressor, 100 trees of depth <= 10",
    ),
    "hist_gradient_boosting": (
        lambda seed, **p: HistGradientBoostingRegressor(**{"random_state": seed, **p}),
        "histogram gradient boosting regressor (scikit-learn defaults, squared error)",
    ),
}


def registry(task: str = "classification") -> dict[str, tuple[Callable[..., BaseEstimator], str]]:
    """The registry of models trained for ``task`` (data.task)."""
    return REGRESSION_REGISTRY if task == "regression" else REGISTRY


def make_estimator(
    name: str, params: dict[str, Any], seed: int, task: str = "classification"
) -> BaseEstimator:
    models = registry(task)
    if name not in models:
        what = "regression model" if task == "regression" else "model"
        raise AuditError(
            f"Unknown {what} '{printable(name)}'. Available {what}s: {', '.join(models)}; use "
            "one of them, or give a saved model with --model-file."
        )
    factory, _ = models[name]
    try:
        return factory(seed, **params)
    except TypeError as exc:
        raise AuditError(
            f"Invalid parameter for model '{name}': {printable(exc, 200)}. Check model.params "
            "(--model-param)."
        ) from None


def make_preprocessor() -> ColumnTransformer:
    """Impute + scale numeric columns; impute + one-hot encode all others."""
    numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    categorical = make_pipeline(
        SimpleImputer(strategy="constant", fill_value="missing"),
        OneHotEncoder(handle_unknown="ignore", min_frequency=5, sparse_output=False),
    )
    return ColumnTransformer(
        [
            ("numeric", numeric, make_column_selector(dtype_include="number")),
            ("categorical", categorical, make_column_selector(dtype_exclude="number")),
        ],
        verbose_feature_names_out=False,
    )


def as_model_input(frame: pd.DataFrame, features: list[str]) -> pd.DataFrame:
    """The feature columns, with text columns as ``object`` so encoders see one type."""
    X = frame[features].copy()
    for column in X.columns:
        if not pd.api.types.is_numeric_dtype(X[column]):
            # Mixed str/NaN/bool columns confuse the imputer; keep missing as NaN, the rest as text.
            values = X[column]
            X[column] = values.astype(str).astype(object).where(values.notna(), np.nan)
    return X


def train_model(
    name: str,
    params: dict[str, Any],
    seed: int,
    X: pd.DataFrame,
    y: np.ndarray,
    task: str = "classification",
) -> Pipeline:
    """Fit preprocessing + the registered estimator (a regressor when ``task`` is
    regression) on the training rows."""
    estimator = make_estimator(name, params, seed, task)
    pipeline = Pipeline([("preprocess", make_preprocessor()), ("model", estimator)])
    try:
        pipeline.fit(X, y)
    except ValueError as exc:
        raise AuditError(
            f"Training '{name}' failed: {printable(exc, 300)} Check model.params "
            "(--model-param) and the data."
        ) from None
    if "n_jobs" in estimator.get_params():
        # A forest predicting in parallel adds its trees' votes in no fixed order: a row at
        # a tie (probability 0.5) fell on either side of the threshold from run to run. One
        # thread predicts the same every time (and its copies for mitigation train so too).
        estimator.set_params(n_jobs=1)
    return pipeline


def model_input_columns(model: Any, features: list[str]) -> list[str]:
    """Columns a loaded model expects: those it was fitted on, else the configured features."""
    fitted = getattr(model, "feature_names_in_", None)
    return [str(c) for c in fitted] if fitted is not None else features


def describe(model: Any) -> dict[str, Any]:
    """Name and parameters of the final estimator, for the report and model card."""
    estimator = model.steps[-1][1] if isinstance(model, Pipeline) else model
    get_params = getattr(estimator, "get_params", None)  # a plain callable has none
    params = {
        k: v if isinstance(v, (int, float, str, bool, type(None))) else repr(v)
        for k, v in (get_params(deep=False) if callable(get_params) else {}).items()
    }
    return {"estimator": type(estimator).__name__, "params": params}
