"""Model registry, preprocessing, and a skops round trip of a trained model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from audit import model_files, models
from audit.datasets import make_scenario
from audit.errors import AuditError


@pytest.fixture(scope="module")
def credit():
    frame = make_scenario("credit", n_rows=3000, seed=3)
    X = models.as_model_input(frame, ["age", "income", "education", "region", "part_time"])
    return X, frame["approved"].to_numpy()


@pytest.mark.parametrize("name", sorted(models.REGISTRY))
def test_every_registered_model_trains_and_scores(credit, name):
    X, y = credit
    model = models.train_model(name, {}, seed=0, X=X, y=y)
    scores = model.predict_proba(X)[:, 1]
    assert scores.shape == (len(X),) and 0 <= scores.min() and scores.max() <= 1
    assert np.mean((scores >= 0.5) == y) > 0.6  # learns something real from income/education


def test_unseen_categories_and_missing_values_are_handled(credit):
    X, y = credit
    model = models.train_model("logistic_regression", {}, seed=0, X=X, y=y)
    odd = X.head(3).copy()
    odd["region"] = ["Atlantis", None, "Northeast"]
    odd["income"] = [np.nan, 1e9, 20_000]
    assert np.isfinite(model.predict_proba(odd)[:, 1]).all()


def test_skops_round_trip_gives_identical_scores(credit, tmp_path):
    X, y = credit
    model = models.train_model("hist_gradient_boosting", {"max_iter": 30}, seed=0, X=X, y=y)
    path = tmp_path / "m.skops"
    model_files.save_model(model, path)
    loaded = model_files.load_model(path)
    np.testing.assert_array_equal(loaded.predict_proba(X)[:, 1], model.predict_proba(X)[:, 1])
    assert models.model_input_columns(loaded, []) == list(X.columns)


def test_model_params_are_passed_and_checked(credit):
    X, y = credit
    model = models.train_model("random_forest", {"n_estimators": 7}, seed=0, X=X, y=y)
    assert len(model.named_steps["model"].estimators_) == 7
    with pytest.raises(AuditError, match="Invalid parameter for model 'random_forest'"):
        models.make_estimator("random_forest", {"n_trees": 7}, seed=0)


def test_sensitive_columns_can_be_included(tmp_path):
    path = tmp_path / "c.csv"
    make_scenario("credit", n_rows=2000, seed=0).to_csv(path, index=False)
    from audit.config import build_config
    from audit.data import load_audit_data

    base = {"data": {"path": path, "target": "approved", "sensitive": ["sex"]}}
    excluded = load_audit_data(build_config(None, base))
    included = load_audit_data(build_config(None, {**base, "model": {"include_sensitive": True}}))
    assert "sex" not in excluded.features and "sex" in included.features
    assert pd.Index(excluded.features).difference(included.features).empty


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_the_forest_predicts_alike_every_time(task):
    """A forest predicting in parallel added its trees' votes in no fixed order, so a row at
    a tie fell on either side of the threshold from run to run (a saved forest once
    'disagreed' with itself on 1 row of 400). Trained in parallel, it predicts in one
    thread."""
    frame = make_scenario("credit", n_rows=400, seed=3)
    features = ["income", "debt_ratio", "late_payments", "credit_history_years"]
    X = models.as_model_input(frame, features)
    y = frame["approved"].to_numpy() if task == "classification" else frame["loan_amount"]
    model = models.train_model("random_forest", {"n_estimators": 10}, 0, X, y, task)
    assert model.steps[-1][1].n_jobs == 1
    predict = model.predict_proba if task == "classification" else model.predict
    first = predict(X)
    for _ in range(20):
        np.testing.assert_array_equal(predict(X), first)
