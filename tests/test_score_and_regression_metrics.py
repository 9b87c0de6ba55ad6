"""Per-group ROC AUC, Brier, log loss, calibration error and regression errors equal sklearn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import MetricFrame
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    brier_score_loss,
    log_loss,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
    root_mean_squared_error,
)

from audit.config import FairnessConfig
from audit.metrics.fairness import fairness_by_feature

SETTINGS = FairnessConfig.model_validate(
    {"min_group_size": 1, "bootstrap": {"resamples": 0}, "intersections": False}
)


def expected_calibration_error(y, p, bins=10, weights=None):
    """ECE from sklearn's calibration_curve (uniform bins) and the bin counts."""
    prob_true, prob_pred = calibration_curve(y, p, n_bins=bins, strategy="uniform")
    edges = np.linspace(0, 1, bins + 1)
    counts = np.bincount(np.searchsorted(edges[1:-1], p), minlength=bins)
    counts = counts[counts > 0]
    return float(np.sum(counts / len(y) * np.abs(prob_true - prob_pred)))


@pytest.fixture(scope="module")
def scored():
    rng = np.random.default_rng(7)
    n = 3000
    groups = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    y = (rng.random(n) < 0.4).astype(np.int8)
    # Rounded scores create ties, which AUC must count as one half.
    p = np.round(np.clip(0.25 * y + rng.random(n) * 0.75, 0, 1), 2)
    p[:5] = [0.0, 1.0, 0.0, 1.0, 0.5]  # extremes: log loss clipping
    return groups, y, p


@pytest.mark.parametrize("weighted", [False, True])
def test_score_metrics_equal_sklearn(scored, weighted):
    groups, y, p = scored
    weights = np.random.default_rng(1).uniform(0.2, 3.0, len(y)) if weighted else None
    (entry,) = fairness_by_feature(
        y,
        (p >= 0.5).astype(np.int8),
        p,
        pd.DataFrame({"g": groups}),
        SETTINGS,
        sample_weight=weights,
    )
    params = (
        {}
        if weights is None
        else {k: {"sample_weight": weights} for k in ("roc_auc", "brier", "log_loss")}
    )
    frame = MetricFrame(
        metrics={
            "roc_auc": roc_auc_score,
            "brier": brier_score_loss,
            "log_loss": lambda yt, yp, sample_weight=None: log_loss(
                yt, yp, labels=[0, 1], sample_weight=sample_weight
            ),
        },
        y_true=y,
        y_pred=p,
        sensitive_features=groups,
        sample_params=params,
    ).by_group
    for row in entry["groups"]:
        expected = frame.loc[row["group"]]
        assert row["roc_auc"] == pytest.approx(expected["roc_auc"], abs=1e-10)
        assert row["brier"] == pytest.approx(expected["brier"], abs=1e-12)
        assert row["log_loss"] == pytest.approx(expected["log_loss"], abs=1e-12)
        if weights is None:
            mask = groups == row["group"]
            ece = expected_calibration_error(y[mask], p[mask])
            assert row["calibration_error"] == pytest.approx(ece, abs=1e-12)


def test_scores_that_are_not_probabilities(scored):
    groups, y, p = scored
    deciles = np.ceil(p * 10).clip(1, 10)  # COMPAS-style decile scores
    (entry,) = fairness_by_feature(
        y, (deciles >= 5).astype(np.int8), deciles, pd.DataFrame({"g": groups}), SETTINGS
    )
    for row in entry["groups"]:
        mask = groups == row["group"]
        assert row["roc_auc"] == pytest.approx(roc_auc_score(y[mask], deciles[mask]), abs=1e-10)
        assert row["brier"] is None
        assert "not probabilities" in row["undefined"]["brier"]
    names = {d["metric"] for d in entry["disparities"]}
    assert "roc_auc_difference" in names and "brier_difference" not in names


def test_auc_of_a_one_class_group_is_undefined():
    groups = np.array(["a"] * 6 + ["b"] * 4)
    y = np.array([1, 0, 1, 0, 1, 0, 1, 1, 1, 1], dtype=np.int8)
    p = np.linspace(0.1, 0.9, 10)
    (entry,) = fairness_by_feature(
        y, (p > 0.5).astype(np.int8), p, pd.DataFrame({"g": groups}), SETTINGS
    )
    rows = {g["group"]: g for g in entry["groups"]}
    assert rows["b"]["roc_auc"] is None and "one class" in rows["b"]["undefined"]["roc_auc"]
    assert rows["a"]["roc_auc"] == pytest.approx(roc_auc_score(y[:6], p[:6]))


def test_regression_metrics_equal_sklearn():
    rng = np.random.default_rng(2)
    n = 2000
    groups = rng.choice(["x", "y", "z"], n)
    target = rng.normal(50, 10, n) + 3 * (groups == "z")
    prediction = target + rng.normal(0, 4, n) + 2 * (groups == "y")
    weights = rng.uniform(0.5, 2.0, n)
    (entry,) = fairness_by_feature(
        target,
        prediction,
        None,
        pd.DataFrame({"g": groups}),
        SETTINGS,
        task="regression",
        sample_weight=weights,
    )
    for row in entry["groups"]:
        m = groups == row["group"]
        w = weights[m]
        assert row["n"] == int(m.sum())
        assert row["mae"] == pytest.approx(
            mean_absolute_error(target[m], prediction[m], sample_weight=w), abs=1e-12
        )
        assert row["rmse"] == pytest.approx(
            root_mean_squared_error(target[m], prediction[m], sample_weight=w), abs=1e-12
        )
        assert row["r2"] == pytest.approx(
            r2_score(target[m], prediction[m], sample_weight=w), abs=1e-9
        )
        assert row["mean_prediction"] == pytest.approx(
            np.average(prediction[m], weights=w), abs=1e-9
        )
        assert row["mean_target"] == pytest.approx(np.average(target[m], weights=w), abs=1e-9)
    value = {d["metric"]: d["value"] for d in entry["disparities"]}
    maes = [row["mae"] for row in entry["groups"]]
    assert value["mae_difference"] == pytest.approx(max(maes) - min(maes))
    assert value["mae_ratio"] == pytest.approx(min(maes) / max(maes))
    means = {row["group"]: row["mean_prediction"] for row in entry["groups"]}
    assert value["mean_prediction_difference"] == pytest.approx(
        max(means.values()) - min(means.values())
    )


def test_r2_of_a_constant_target_group_is_undefined_not_zero():
    groups = np.array(["a"] * 5 + ["b"] * 5)
    target = np.array([1.0, 2, 3, 4, 5, 7, 7, 7, 7, 7])
    prediction = target + 0.5
    (entry,) = fairness_by_feature(
        target, prediction, None, pd.DataFrame({"g": groups}), SETTINGS, task="regression"
    )
    rows = {g["group"]: g for g in entry["groups"]}
    assert rows["b"]["r2"] is None and "constant" in rows["b"]["undefined"]["r2"]
    assert rows["a"]["r2"] == pytest.approx(r2_score(target[:5], prediction[:5]))


def test_accuracy_interval_is_the_wilson_interval():
    from scipy.stats import binomtest

    from audit.metrics.performance import overall_metrics

    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 500)
    pred = np.where(rng.random(500) < 0.8, y, 1 - y)
    result = overall_metrics(y, pred, None)
    correct = int((y == pred).sum())
    expected = binomtest(correct, 500).proportion_ci(confidence_level=0.95, method="wilson")
    assert result["accuracy_ci"] == pytest.approx([expected.low, expected.high], abs=1e-9)
