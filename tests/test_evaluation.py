"""The one prediction stage: which rows are evaluated and why, the decision rule, the
positive class of a model, and models that are refused rather than guessed at."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from conftest import assert_close, run_cli
from fairlearn.metrics import MetricFrame, selection_rate, true_positive_rate
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from audit.datasets import make_credit

FAST = ("--format", "json", "--mitigate", "none", "--resamples", "200")


def _results(out) -> dict:
    return json.loads((out / "results.json").read_text())


@pytest.fixture(scope="module")
def credit_files(tmp_path_factory):
    """A training file, a separate 6,000-row file, and a model trained on the first."""
    folder = tmp_path_factory.mktemp("credit")
    train = make_credit(3000, seed=1).drop(columns=["applicant_id"])
    held_out = make_credit(6000, seed=2).drop(columns=["applicant_id"])
    train_csv, held_csv = folder / "train.csv", folder / "held_out.csv"
    train.to_csv(train_csv, index=False)
    held_out.to_csv(held_csv, index=False)
    out = folder / "trained"
    result = run_cli(
        "run", "--data", train_csv, "--target", "approved", "--sensitive", "race",
        "--model", "logistic_regression", "--out", out, "--quiet", *FAST,
    )  # fmt: skip
    assert result.exit_code in (0, 1), result.output
    return {"train": train_csv, "held_out": held_csv, "model": out / "model.skops"}


def test_a_saved_model_is_evaluated_on_every_row_of_the_file(credit_files, tmp_path):
    out = tmp_path / "out"
    result = run_cli(
        "run", "--data", credit_files["held_out"], "--target", "approved",
        "--sensitive", "race", "--model-file", credit_files["model"], "--out", out, "--quiet",
        *FAST,
    )  # fmt: skip
    assert result.exit_code in (0, 1), result.output
    res = _results(out)
    frame = pd.read_csv(credit_files["held_out"])
    assert res["data"]["n_evaluated"] == len(frame) == 6000
    assert res["data"]["n_train"] == 0  # nothing was trained here
    assert "loaded" in res["data"]["evaluated_rows"]
    race = next(f for f in res["fairness"]["features"] if f["feature"] == "race")
    assert sum(g["n"] for g in race["groups"]) == 6000
    # Train/test checks mean nothing without a training part: none is reported as run.
    checks = {c["id"]: c for c in res["quality"]["checks"]}
    assert checks["train_test_overlap"]["status"] != "ran"
    assert not [f for f in res["quality"]["findings"] if f["check"] == "train_test_overlap"]


def test_a_split_can_still_be_asked_for_a_saved_model(credit_files, tmp_path):
    out = tmp_path / "out"
    result = run_cli(
        "run", "--data", credit_files["held_out"], "--target", "approved",
        "--sensitive", "race", "--model-file", credit_files["model"], "--test-size", "0.25",
        "--out", out, "--quiet", *FAST,
    )  # fmt: skip
    assert result.exit_code in (0, 1), result.output
    res = _results(out)
    assert res["data"]["n_evaluated"] == 1500
    assert res["data"]["n_train"] == 0


def test_test_size_one_is_every_row_for_a_model_file_and_refused_for_training(
    credit_files, tmp_path
):
    ok = run_cli(
        "run", "--data", credit_files["held_out"], "--target", "approved",
        "--sensitive", "race", "--model-file", credit_files["model"], "--test-size", "1.0",
        "--out", tmp_path / "a", "--quiet", *FAST,
    )  # fmt: skip
    assert ok.exit_code in (0, 1), ok.output
    assert _results(tmp_path / "a")["data"]["n_evaluated"] == 6000
    refused = run_cli(
        "run", "--data", credit_files["train"], "--target", "approved", "--sensitive", "race",
        "--test-size", "1.0", "--out", tmp_path / "b", *FAST,
    )  # fmt: skip
    assert refused.exit_code == 2
    assert "no rows to train on" in refused.output
    assert not (tmp_path / "b").exists()


def test_a_split_column_chooses_the_rows_and_is_never_a_model_input(tmp_path):
    frame = make_credit(2000, seed=3).drop(columns=["applicant_id"])
    frame["part"] = np.where(np.arange(len(frame)) % 4 == 0, "Test", "train")
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "out"
    result = run_cli(
        "run", "--data", path, "--target", "approved", "--sensitive", "sex",
        "--split-column", "part", "--model", "logistic_regression", "--out", out, "--quiet",
        *FAST,
    )  # fmt: skip
    assert result.exit_code in (0, 1), result.output
    res = _results(out)
    assert res["data"]["n_evaluated"] == int((frame["part"] == "Test").sum()) == 500
    assert res["data"]["n_train"] == 1500
    assert "part" not in res["model"]["input_columns"]
    assert "part" not in res["data"]["features"]

    frame.loc[7, "part"] = "validation"
    frame.to_csv(path, index=False)
    bad = run_cli(
        "run", "--data", path, "--target", "approved", "--sensitive", "sex",
        "--split-column", "part", "--out", tmp_path / "bad", *FAST,
    )  # fmt: skip
    assert bad.exit_code == 2
    assert "'validation'" in bad.output and "Traceback" not in bad.output


# --- score direction --------------------------------------------------------------------


@pytest.fixture
def risk_scores(tmp_path):
    """A risk score where *low* scores go with the favourable (positive) label 0."""
    rng = np.random.default_rng(4)
    n = 1200
    group = rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2])
    reoffended = rng.random(n) < np.where(group == "a", 0.35, 0.5)
    decile = np.clip(np.rint(rng.normal(np.where(reoffended, 6.5, 4.0), 2.0)), 1, 10)
    frame = pd.DataFrame({"group": group, "reoffended": reoffended.astype(int), "decile": decile})
    frame["minus_decile"] = -frame["decile"]
    path = tmp_path / "risk.csv"
    frame.to_csv(path, index=False)
    return path


def _score_audit(path, out, *extra):
    result = run_cli(
        "run", "--data", path, "--target", "reoffended", "--positive-label", "0",
        "--sensitive", "group", "--out", out, *FAST, *extra,
    )  # fmt: skip
    assert result.exit_code in (0, 1), result.output
    return _results(out), result


def test_a_lower_is_positive_score_equals_the_audit_of_the_negated_score(risk_scores, tmp_path):
    lower, _ = _score_audit(
        risk_scores, tmp_path / "lower", "--score-column", "decile", "--threshold", "5",
        "--lower-score-is-positive",
    )  # fmt: skip
    negated, _ = _score_audit(
        risk_scores, tmp_path / "neg", "--score-column", "minus_decile", "--threshold", "-5"
    )
    assert_close(lower["performance"], negated["performance"])
    assert lower["performance"]["roc_auc"] > 0.6
    for a, b in zip(lower["fairness"]["features"], negated["fairness"]["features"], strict=True):
        for ga, gb in zip(a["groups"], b["groups"], strict=True):
            assert ga["selection_rate"] == pytest.approx(gb["selection_rate"], abs=1e-12)
            assert ga["tpr"] == pytest.approx(gb["tpr"], abs=1e-12)
            assert ga["roc_auc"] == pytest.approx(gb["roc_auc"], abs=1e-12)
    # Hand count: positive (label 0 predicted) when decile <= 5.
    frame = pd.read_csv(risk_scores)
    assert lower["performance"]["selection_rate"] == pytest.approx((frame["decile"] <= 5).mean())
    assert lower["model"]["decision_rule"]["text"] == "decile <= 5 → positive"
    assert lower["model"]["warnings"] == []


def test_scores_ranked_the_wrong_way_are_warned_about_naming_the_option(risk_scores, tmp_path):
    res, result = _score_audit(
        risk_scores, tmp_path / "wrong", "--score-column", "decile", "--threshold", "5"
    )
    assert res["performance"]["roc_auc"] < 0.5
    (warning,) = res["model"]["warnings"]
    assert "worse than chance" in warning and "--lower-score-is-positive" in warning
    assert "lower_is_positive" in warning
    assert "--lower-score-is-positive" in result.output  # shown in the terminal too


# --- the model's classes ----------------------------------------------------------------


def test_a_model_with_string_classes_maps_the_positive_label_onto_them(tmp_path):
    frame = make_credit(3000, seed=5)
    frame["decision"] = frame.pop("approved").map({1: "approved", 0: "denied"})
    numeric = ["age", "debt_ratio", "credit_history_years", "late_payments", "loan_amount"]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    model.fit(frame[numeric], frame["decision"])
    assert list(model.classes_) == ["approved", "denied"]  # the positive class is index 0
    sio.dump(model, tmp_path / "model.skops")
    path = tmp_path / "d.csv"
    frame[[*numeric, "sex", "decision"]].to_csv(path, index=False)
    out = tmp_path / "out"
    result = run_cli(
        "run", "--data", path, "--target", "decision", "--positive-label", "approved",
        "--sensitive", "sex", "--model-file", tmp_path / "model.skops", "--out", out,
        "--quiet", *FAST,
    )  # fmt: skip
    assert result.exit_code in (0, 1), result.output
    res = _results(out)
    assert res["model"]["positive_class"] == "approved"
    proba = model.predict_proba(frame[numeric])[:, 0]
    y_true = (frame["decision"] == "approved").to_numpy()
    y_pred = proba >= 0.5
    expected = MetricFrame(
        metrics={"selection_rate": selection_rate, "tpr": true_positive_rate},
        y_true=y_true,
        y_pred=y_pred,
        sensitive_features=frame["sex"],
    ).by_group
    sex = next(f for f in res["fairness"]["features"] if f["feature"] == "sex")
    for group in sex["groups"]:
        row = expected.loc[
            group["group"] if group["group"] in expected.index else int(group["group"])
        ]
        assert group["selection_rate"] == pytest.approx(row["selection_rate"], abs=1e-12)
        assert group["tpr"] == pytest.approx(row["tpr"], abs=1e-12)
    assert res["performance"]["roc_auc"] > 0.5  # scores of "approved", not of "denied"


def test_a_positive_label_the_model_does_not_know_is_refused(tmp_path):
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"x": rng.normal(size=200), "g": ["a", "b"] * 100})
    frame["y"] = np.where(frame["x"] + rng.normal(size=200) > 0, "yes", "no")
    model = LogisticRegression().fit(frame[["x"]], (frame["y"] == "yes").astype(int))
    sio.dump(model, tmp_path / "m.skops")
    frame.to_csv(tmp_path / "d.csv", index=False)
    result = run_cli(
        "run", "--data", tmp_path / "d.csv", "--target", "y", "--positive-label", "yes",
        "--sensitive", "g", "--model-file", tmp_path / "m.skops", "--out", tmp_path / "o",
        *FAST,
    )  # fmt: skip
    assert result.exit_code == 2
    assert "do not name the positive label 'yes'" in result.output
    assert not (tmp_path / "o").exists()


def test_a_regressor_is_refused_where_a_classifier_is_needed(tmp_path):
    rng = np.random.default_rng(8)
    frame = pd.DataFrame({"x": rng.normal(size=200), "g": ["a", "b"] * 100})
    frame["y"] = (frame["x"] + rng.normal(size=200) > 0).astype(int)
    sio.dump(LinearRegression().fit(frame[["x"]], frame["y"]), tmp_path / "reg.skops")
    frame.to_csv(tmp_path / "d.csv", index=False)
    result = run_cli(
        "run", "--data", tmp_path / "d.csv", "--target", "y", "--sensitive", "g",
        "--model-file", tmp_path / "reg.skops", "--out", tmp_path / "o", *FAST,
    )  # fmt: skip
    assert result.exit_code == 2
    assert "regressor (LinearRegression)" in result.output
    assert "Traceback" not in result.output


def test_model_params_from_flags_are_numbers_when_they_read_as_numbers():
    from audit.cli import parse_value

    assert parse_value("1e-3") == pytest.approx(0.001)
    assert isinstance(parse_value("100"), int) and parse_value("100") == 100
    assert parse_value("true") is True
    assert parse_value("none") is None
    assert parse_value("l2") == "l2"


def test_a_model_param_in_exponent_notation_reaches_the_estimator(tmp_path):
    frame = make_credit(1500, seed=6).drop(columns=["applicant_id"])
    frame.to_csv(tmp_path / "d.csv", index=False)
    out = tmp_path / "out"
    result = run_cli(
        "run", "--data", tmp_path / "d.csv", "--target", "approved", "--sensitive", "sex",
        "--model", "logistic_regression", "--model-param", "C=1e-3", "--out", out, "--quiet",
        *FAST,
    )  # fmt: skip
    assert result.exit_code in (0, 1), result.output
    assert _results(out)["model"]["params"]["C"] == pytest.approx(1e-3)
