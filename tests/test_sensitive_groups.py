"""Sensitive features: bins for continuous columns, missing values, intersections, weights,
and regression audits through the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli
from sklearn.metrics import mean_absolute_error

from audit.config import FairnessConfig
from audit.errors import AuditError
from audit.metrics.fairness import fairness_by_feature
from audit.metrics.groups import bin_column, intersection_sets
from audit.vocabulary.groups import MISSING_GROUP


def entries(sensitive: pd.DataFrame, y=None, pred=None, **settings):
    n = len(sensitive)
    y = np.resize([0, 1, 1], n).astype(np.int8) if y is None else y
    pred = np.resize([1, 0, 1, 1], n).astype(np.int8) if pred is None else pred
    config = FairnessConfig.model_validate(
        {"bootstrap": {"resamples": 0}, "min_group_size": 1, **settings}
    )
    return fairness_by_feature(y, pred, None, sensitive, config)


def test_edges_bins_are_left_closed_and_open_ended():
    ages = pd.Series([17, 18, 29.9, 30, 44, 45, 64, 65, 90, np.nan])
    codes, description = bin_column(ages, {"edges": [30, 18, 45, 65]}, "age")
    assert description["edges"] == [18.0, 30.0, 45.0, 65.0]
    assert description["labels"] == ["< 18", "[18, 30)", "[30, 45)", "[45, 65)", "≥ 65"]
    assert codes.tolist()[:9] == [0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert np.isnan(codes.iloc[9])


def test_quantile_bins_in_the_report_entry():
    ages = pd.Series(np.arange(100) + 20)
    (entry,) = entries(pd.DataFrame({"age": ages}), bins={"age": {"quantiles": 4}})
    bins = entry["bins"]["age"]
    assert bins["method"] == "quantiles (4)"
    assert bins["edges"] == pytest.approx([44.75, 69.5, 94.25])
    assert [g["group"] for g in entry["groups"]] == bins["labels"]
    assert [g["n"] for g in entry["groups"]] == [25, 25, 25, 25]


def test_unbinned_continuous_column_is_an_error_naming_the_config_key():
    with pytest.raises(AuditError, match=r"fairness.bins.age: \{quantiles: 4\}"):
        entries(pd.DataFrame({"age": np.arange(60)}))
    with pytest.raises(AuditError, match="not numeric"):
        entries(pd.DataFrame({"sex": ["f", "m"] * 5}), bins={"sex": {"edges": [1]}})
    with pytest.raises(AuditError, match="not a sensitive feature"):
        entries(pd.DataFrame({"sex": ["f", "m"] * 5}), bins={"age": {"edges": [1]}})


def test_missing_values_are_a_group_or_an_error():
    sex = pd.Series(["f", "m", None, "f", "m", None, "f", "m"])
    (entry,) = entries(pd.DataFrame({"sex": sex}))
    groups = {g["group"]: g["n"] for g in entry["groups"]}
    assert groups == {"f": 3, "m": 3, MISSING_GROUP: 2}  # never silently dropped
    with pytest.raises(AuditError, match="'sex' has 2 missing value.*fairness.missing: group"):
        entries(pd.DataFrame({"sex": sex}), missing="error")


def test_intersections_all_none_or_listed():
    assert intersection_sets(["a", "b", "c"], True) == [
        ["a", "b"],
        ["a", "c"],
        ["b", "c"],
        ["a", "b", "c"],
    ]
    assert intersection_sets(["a", "b"], False) == []
    assert intersection_sets(["a", "b", "c"], [["c", "a"]]) == [["c", "a"]]
    with pytest.raises(AuditError, match="not a sensitive feature"):
        intersection_sets(["a", "b"], [["a", "z"]])
    frame = pd.DataFrame(
        {"s": ["f", "m"] * 6, "r": ["x", "y", "z"] * 4, "k": ["u"] * 6 + ["v"] * 6}
    )
    names = [e["feature"] for e in entries(frame, intersections=[["r", "s"]])]
    assert names == ["s", "r", "k", "r × s"]
    triple = entries(frame)[-1]
    assert triple["feature"] == "s × r × k" and triple["kind"] == "intersection"
    assert sum(g["n"] for g in triple["groups"]) == 12


def test_small_intersection_groups_are_shown_but_insufficient():
    frame = pd.DataFrame({"s": ["f"] * 50 + ["m"] * 50, "r": ["x"] * 45 + ["y"] * 50 + ["x"] * 5})
    y = np.resize([0, 1], 100).astype(np.int8)
    pred = np.resize([1, 1, 0], 100).astype(np.int8)
    inter = entries(frame, y, pred, min_group_size=30)[-1]
    sizes = {g["group"]: (g["n"], g["insufficient"]) for g in inter["groups"]}
    assert sizes == {
        "f × x": (45, False),
        "f × y": (5, True),
        "m × x": (5, True),
        "m × y": (45, False),
    }
    assert inter["insufficient_groups"] == ["f × y", "m × x"]
    dp = next(d for d in inter["disparities"] if d["metric"] == "demographic_parity_difference")
    assert dp["groups_compared"] == ["f × x", "m × y"]


def test_reference_group_must_exist():
    with pytest.raises(AuditError, match="has no group 'z'.*'f', 'm'"):
        entries(pd.DataFrame({"s": ["f", "m"] * 4}), reference_groups={"s": "z"})


def test_weight_column_and_regression_through_the_cli(tmp_path):
    rng = np.random.default_rng(5)
    n = 600
    frame = pd.DataFrame(
        {
            "region": rng.choice(["north", "south"], n),
            "price": rng.normal(200, 30, n),
            "w": rng.uniform(0.5, 2, n),
        }
    )
    frame["estimate"] = frame["price"] + rng.normal(0, 10, n) + 15 * (frame["region"] == "south")
    data = tmp_path / "prices.csv"
    frame.to_csv(data, index=False)
    config = tmp_path / "audit.yaml"
    config.write_text(
        f"data: {{path: {data}, target: price, sensitive: [region], task: regression}}\n"
        "predictions: {prediction_column: estimate}\n"
        "fairness: {weight_column: w, bootstrap: {resamples: 200}}\n"
        "policy: ['mean_prediction_difference <= 5', 'mae_difference <= 100']\n"
    )
    out = tmp_path / "out"
    result = run_cli("run", config, "--out", out, "--quiet")
    assert result.exit_code == 1, result.output  # the south is over-estimated by ~15
    saved = json.loads((out / "results.json").read_text())
    assert saved["performance"]["task"] == "regression"
    assert saved["fairness"]["settings"]["weight_column"] == "w"
    groups = {g["group"]: g for g in saved["fairness"]["features"][0]["groups"]}
    for name, row in groups.items():
        m = (frame["region"] == name).to_numpy()
        assert row["mae"] == pytest.approx(
            mean_absolute_error(
                frame["price"][m], frame["estimate"][m], sample_weight=frame["w"][m]
            )
        )
        assert row["ci"]["mae"][0] <= row["mae"] <= row["ci"]["mae"][1]
    verdicts = {v["metric"]: v["verdict"] for v in saved["verdicts"]}
    assert verdicts == {"mean_prediction_difference": "fail", "mae_difference": "pass"}
    html = (out / "report.html").read_text()
    assert "Errors by group" in html and "MAE" in html


def test_regression_reads_predictions_not_scores(tmp_path):
    """A regression audit trains or loads a regressor, or reads its predictions; a score
    column to threshold is a classifier's and is refused with what to give instead."""
    rng = np.random.default_rng(0)
    data = tmp_path / "d.csv"
    pd.DataFrame({"g": ["a", "b"] * 20, "y": rng.normal(size=40), "s": rng.random(40)}).to_csv(
        data, index=False
    )
    config = tmp_path / "audit.yaml"
    config.write_text(
        f"data: {{path: {data}, target: y, sensitive: [g], task: regression}}\n"
        "predictions: {score_column: s, threshold: 0.5}\n"
    )
    result = run_cli("run", config, "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert "prediction_column" in result.output and "score_column" in result.output
    assert not (tmp_path / "out").exists()


def test_categorical_columns_drop_unused_categories_and_keep_missing():
    values = pd.Categorical(["b", "a", None, "b", "a", "b"], categories=["c", "a", "b"])
    (entry,) = entries(pd.DataFrame({"k": values}))
    assert {g["group"]: g["n"] for g in entry["groups"]} == {"a": 2, "b": 3, MISSING_GROUP: 1}
