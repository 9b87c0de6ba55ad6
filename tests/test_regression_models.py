"""Regression models trained from the registry or loaded from a file, audited per group.

References are independent of the audit's code: scikit-learn's metrics on each group's rows,
the model's own ``predict`` for SHAP additivity, and hand counts (numpy) for the mean
residual, bounded group loss, scoring rate and impact ratios.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import needs_tools, pdf_text_and_overflow, run_cli
from sklearn.metrics import (
    mean_absolute_error,
    mean_squared_error,
    r2_score,
    root_mean_squared_error,
)
from sklearn.neighbors import KNeighborsRegressor

import audit
from audit import models
from audit.errors import AuditError
from audit.explain.explainers import make_explainer

TOL = 1e-12
SMALL = {"random_forest": {"n_estimators": 20, "max_depth": 6}, "hist_gradient_boosting": {}}
LL144 = {
    "audit_date": "2026-12-01",
    "distribution_date": "2025-06-30",
    "data_source": {"kind": "historical", "description": "Synthetic applicants."},
    "sex": "sex",
    "race_ethnicity": "race",
    "categories": {"sex": {"M": "Male", "F": "Female"}, "race": {"W": "White", "B": "Asian"}},
}


def regression_frame(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """A numeric target that depends on the inputs and on the (unseen) group: so the models
    under-predict group b, over-predict the others, and the groups' errors differ."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    kind = rng.choice(["u", "v", "w"], n)
    noise = rng.normal(scale=0.5 + 0.5 * (group == "c"), size=n)
    y = 2 * x1 - x2 + 1.5 * (group == "b") + 0.5 * (kind == "u") + noise
    split = np.where(rng.random(n) < 0.3, "test", "train")
    return pd.DataFrame(
        {
            "x1": x1,
            "x2": x2,
            "kind": kind,
            "group": group,
            "sex": rng.choice(["M", "F"], n),
            "race": rng.choice(["W", "B"], n),
            "split": split,
            "y": y,
        }
    )


def config(**model) -> dict:
    return {
        "data": {
            "target": "y",
            "sensitive": ["group"],
            "task": "regression",
            "drop": ["sex", "race"],
        },
        "model": model,
        "split": {"column": "split"},
        "fairness": {"min_group_size": 1, "bootstrap": {"resamples": 0}, "intersections": False},
        "explain": {"enabled": False},
    }


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return regression_frame()


@pytest.fixture(scope="module")
def audits(frame):
    """Each registry regressor audited on the rows marked test."""
    return {
        name: audit.run(config(name=name, params=SMALL.get(name, {})), data=frame)
        for name in models.REGRESSION_REGISTRY
    }


def expected_groups(frame: pd.DataFrame, model) -> dict[str, dict[str, float]]:
    """Per-group metrics by hand: scikit-learn on each group's test rows."""
    test = frame[frame["split"] == "test"]
    prediction = np.asarray(model.predict(test[["x1", "x2", "kind"]]), dtype=float)
    y = test["y"].to_numpy()
    median = np.median(prediction)  # of the full evaluated sample
    out = {}
    for label in ("a", "b", "c"):
        rows = (test["group"] == label).to_numpy()
        out[label] = {
            "n": int(rows.sum()),
            "mae": mean_absolute_error(y[rows], prediction[rows]),
            "rmse": root_mean_squared_error(y[rows], prediction[rows]),
            "mse": mean_squared_error(y[rows], prediction[rows]),
            "r2": r2_score(y[rows], prediction[rows]),
            "mean_prediction": prediction[rows].mean(),
            "mean_target": y[rows].mean(),
            "mean_residual": (prediction[rows] - y[rows]).mean(),
            "scoring_rate": np.count_nonzero(prediction[rows] > median) / rows.sum(),
        }
    highest = max(values["scoring_rate"] for values in out.values())
    for values in out.values():
        values["scoring_rate_impact_ratio"] = values["scoring_rate"] / highest
    return out


def disparity(entry: dict, name: str) -> dict:
    return next(d for d in entry["disparities"] if d["metric"] == name)


@pytest.mark.parametrize("name", sorted(models.REGRESSION_REGISTRY))
def test_registry_regressors_per_group_metrics_equal_sklearn(audits, frame, name):
    result = audits[name]
    model = result.trained_model
    assert models.describe(model)["estimator"].endswith("Regressor") or name == "linear_regression"
    expected = expected_groups(frame, model)
    plain = result.to_dict()
    (entry,) = plain["fairness"]["features"]
    rows = {row["group"]: row for row in entry["groups"]}
    for label, values in expected.items():
        for metric, value in values.items():
            assert rows[label][metric] == pytest.approx(value, abs=TOL), (label, metric)
    # Bounded group loss (fairlearn): the worst group's mean absolute / squared error.
    worst_mae = max(values["mae"] for values in expected.values())
    worst_mse = max(values["mse"] for values in expected.values())
    assert disparity(entry, "bounded_group_loss_mae")["value"] == pytest.approx(worst_mae, abs=TOL)
    assert disparity(entry, "bounded_group_loss_mse")["value"] == pytest.approx(worst_mse, abs=TOL)
    worst = max(expected, key=lambda g: expected[g]["mse"])
    assert disparity(entry, "bounded_group_loss_mse")["groups_behind"] == worst
    # Scoring rate: min / max over groups is the lowest impact ratio.
    lowest = min(values["scoring_rate_impact_ratio"] for values in expected.values())
    assert disparity(entry, "scoring_rate_ratio")["value"] == pytest.approx(lowest, abs=TOL)
    residuals = [values["mean_residual"] for values in expected.values()]
    spread = max(residuals) - min(residuals)
    assert disparity(entry, "mean_residual_difference")["value"] == pytest.approx(spread, abs=TOL)
    # The group the model never sees (b's +1.5) is under-predicted, the others over-predicted.
    assert rows["b"]["mean_residual"] < 0 < rows["a"]["mean_residual"]
    # Overall numbers on every test row.
    test = frame[frame["split"] == "test"]
    prediction = model.predict(test[["x1", "x2", "kind"]])
    performance = plain["performance"]
    assert performance["task"] == "regression"
    assert performance["mae"] == pytest.approx(mean_absolute_error(test["y"], prediction), abs=TOL)
    assert performance["mean_residual"] == pytest.approx(
        float(np.mean(prediction - test["y"])), abs=TOL
    )
    assert performance["median_prediction"] == pytest.approx(float(np.median(prediction)), abs=TOL)
    # Classifier-only mitigation is skipped, saying why.
    assert plain["mitigation"]["status"] == "not run"
    assert "Not applicable to regression" in plain["mitigation"]["reason"]


def test_intervals_hold_the_point_values(frame):
    settings = config(name="linear_regression")
    settings["fairness"]["bootstrap"] = {"resamples": 200}
    (entry,) = audit.run(settings, data=frame).to_dict()["fairness"]["features"]
    for row in entry["groups"]:
        for metric in ("mae", "mean_residual", "scoring_rate", "scoring_rate_impact_ratio"):
            low, high = row["ci"][metric]
            assert low - TOL <= row[metric] <= high + TOL, (row["group"], metric)
    for name in ("bounded_group_loss_mae", "bounded_group_loss_mse", "scoring_rate_ratio"):
        item = disparity(entry, name)
        assert item["ci"][0] - TOL <= item["value"] <= item["ci"][1] + TOL, name


@pytest.mark.parametrize("name", sorted(models.REGRESSION_REGISTRY))
def test_a_saved_regressor_loaded_from_skops_gives_the_same_numbers(audits, frame, tmp_path, name):
    trained = audits[name]
    trained.save(tmp_path, formats=["json"])
    loaded = audit.run(config(file=str(tmp_path / "model.skops")), data=frame).to_dict()
    assert loaded["model"]["source"] == "file"
    first = trained.to_dict()["fairness"]["features"][0]["groups"]
    again = loaded["fairness"]["features"][0]["groups"]
    for before, after in zip(first, again, strict=True):
        for metric in ("mae", "rmse", "r2", "mean_residual", "scoring_rate"):
            assert after[metric] == pytest.approx(before[metric], abs=TOL), (name, metric)


@pytest.mark.parametrize("name", [*sorted(models.REGRESSION_REGISTRY), "k_neighbours"])
def test_shap_values_of_a_regressor_add_up_to_its_prediction(frame, name):
    X = models.as_model_input(frame, ["x1", "x2", "kind"])
    if name == "k_neighbours":  # no model-specific explainer: the permutation explainer
        model = KNeighborsRegressor(5).fit(X[["x1", "x2"]], frame["y"])
        X = X[["x1", "x2"]]
    else:
        model = models.train_model(name, SMALL.get(name, {}), 0, X, frame["y"], "regression")
    explainer = make_explainer(model, X.iloc[:100], seed=0)
    assert explainer.output_space == "prediction"
    rows = X.iloc[200:240]
    explained = explainer.explain(rows)
    total = explained.base_value + explained.values.sum(axis=1)
    np.testing.assert_allclose(total, model.predict(rows), rtol=0, atol=1e-6)


def test_the_audit_explains_a_regressor_in_its_prediction(frame):
    settings = config(name="hist_gradient_boosting")
    settings["explain"] = {"enabled": True, "sample_size": 60}
    explanations = audit.run(settings, data=frame).to_dict()["explanations"]
    assert explanations["status"] == "explained"
    assert explanations["output_space"] == "prediction"
    assert explanations["additivity_max_error"] < 1e-6
    assert explanations["reasons"] is None and explanations["cases"] == []


def test_ll144_scoring_rates_of_a_regressor_count_above_the_median(audits, frame):
    settings = config(name="linear_regression")
    settings["compliance"] = {"rules": ["nyc_ll144"], "nyc_ll144": LL144}
    result = audit.run(settings, data=frame)
    section = result.to_dict()["compliance"]["nyc_ll144"]
    assert section["mode"] == "scoring"
    test = frame[frame["split"] == "test"]
    prediction = result.trained_model.predict(test[["x1", "x2", "kind"]])
    median = np.median(prediction)
    assert section["median_score"] == pytest.approx(median, abs=TOL)
    sex = next(t for t in section["tables"] if t["dimension"] == "sex")
    rates = {
        name: np.mean(prediction[(test["sex"] == code).to_numpy()] > median)
        for code, name in (("M", "Male"), ("F", "Female"))
    }
    for row in sex["categories"]:
        assert row["rate"] == pytest.approx(rates[row["category"]], abs=TOL)
        assert row["impact_ratio"] == pytest.approx(
            rates[row["category"]] / max(rates.values()), abs=TOL
        )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"model": {"name": "logistic_regression"}}, "Unknown regression model"),
        ({"model": {"threshold": 0.5}}, "has no meaning in a regression audit"),
        ({"mitigation": {"strategies": ["reweighing"]}}, "are for binary classifiers"),
    ],
)
def test_what_a_regression_audit_cannot_use_is_refused(frame, changes, message):
    settings = config(name="linear_regression")
    for section, values in changes.items():
        settings[section] = {**settings.get(section, {}), **values}
    with pytest.raises(AuditError, match=message):
        audit.run(settings, data=frame)


def test_cli_trains_and_audits_a_regressor_end_to_end(frame, tmp_path):
    frame.drop(columns=["split"]).to_csv(tmp_path / "f.csv", index=False)
    result = run_cli(
        "run", "--data", tmp_path / "f.csv", "--target", "y", "--task", "regression",
        "--sensitive", "group", "--drop", "sex", "--drop", "race",
        "--model", "linear_regression", "--resamples", "100", "--format", "json",
        "--format", "html", "--out", tmp_path / "out",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "report.html").is_file()
    written = json.loads((tmp_path / "out" / "results.json").read_text())
    assert written["performance"]["task"] == "regression"
    assert written["model"]["estimator"] == "LinearRegression"
    groups = written["fairness"]["features"][0]["groups"]
    assert all(row["scoring_rate"] is not None for row in groups)


@pytest.mark.parametrize("evaluate_on", ["test", "train"])
def test_an_in_sample_regression_audit_says_so_in_the_report_and_the_summary(frame, evaluate_on):
    """evaluate_on train: the performance section and the end-of-run summary say the numbers
    are in-sample (as for a classifier); on the held-out rows they do not."""
    from audit.report.render import render_html
    from audit.report.terminal import summary_lines

    settings = config(name="linear_regression")
    settings["split"] = {"column": "split", "evaluate_on": evaluate_on}
    plain = audit.run(settings, data=frame).to_dict()
    html = render_html(plain, detail="standard")
    performance = html[html.index('<section id="performance">') :]
    performance = performance[: performance.index("</section>")]
    in_sample = evaluate_on == "train"
    assert ("<strong>In-sample:</strong>" in performance) is in_sample
    said = "\n".join(summary_lines(plain))
    assert ("In-sample numbers (split.evaluate_on: train)" in said) is in_sample


def test_a_regression_report_fits_the_pdf_and_words_its_tables_for_regression(frame, tmp_path):
    """The per-group errors table stays inside the page; the report promises no confusion
    counts; the cross-validation caption names errors, not accuracy; the mean target is in
    the annex."""
    needs_tools("pdftotext")
    settings = config(name="hist_gradient_boosting")
    settings["split"] = {"column": "split", "cv": 3}
    settings["fairness"]["bootstrap"]["resamples"] = 100
    settings["policy"] = {"rules": ["scoring_rate_ratio >= 0.8"]}
    audit.run(settings, data=frame).save(tmp_path / "out")
    body, past = pdf_text_and_overflow(tmp_path / "out" / "report.pdf")
    assert past == []
    assert "Errors by group of" in body and "Impact" in body
    assert "confusion counts" not in body and "label base rate" not in body
    assert "Error and the policy's metrics" in body and "Accuracy and" not in body
    annex, past = pdf_text_and_overflow(tmp_path / "out" / "report-annex.pdf")
    assert past == [] and "Mean prediction against mean target by group" in annex
    html = (tmp_path / "out" / "report.html").read_text()
    assert "<code>hist_<wbr>gradient_<wbr>boosting</code> was trained on the other" in html
