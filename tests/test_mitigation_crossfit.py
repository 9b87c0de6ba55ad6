"""Cross-fitted mitigation: a loaded model audited on every row still gets its comparison.

References: scikit-learn (StratifiedKFold, the cloned pipeline refitted with hand-computed
Kamiran & Calders weights) and fairlearn (ThresholdOptimizer fitted per fold).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli
from fairlearn.postprocessing import ThresholdOptimizer
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from audit import model_files, models
from audit.config import build_config
from audit.data import load_audit_data
from audit.datasets import make_scenario
from audit.errors import AuditError
from audit.evaluation import evaluate, plan_rows
from audit.metrics import measure
from audit.mitigation.crossfit import make_folds
from audit.mitigation.estimators import draw_decisions
from audit.mitigation.stage import DRAWS, run_mitigation
from audit.vocabulary import strategies as catalogue

SEED = 4
FLAGS = ["--target", "approved", "--sensitive", "sex", "--drop", "applicant_id"]
FLAGS += ["--seed", str(SEED), "--resamples", "200", "--format", "json", "--quiet"]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """A credit file, a logistic regression trained elsewhere on it (saved with skops), and a
    config without explanations."""
    folder = tmp_path_factory.mktemp("crossfit")
    frame = make_scenario("credit", n_rows=1500, bias=1.5, seed=SEED)
    frame.to_csv(folder / "credit.csv", index=False)
    features = [c for c in frame.columns if c not in ("approved", "sex", "applicant_id")]
    model = models.train_model(
        "logistic_regression", {}, 0, models.as_model_input(frame, features), frame["approved"]
    )
    model_files.save_model(model, folder / "model.skops")
    (folder / "quiet.yaml").write_text("explain: {enabled: false}\n")
    return folder


def cli(folder, out, *extra):
    done = run_cli(
        "run", folder / "quiet.yaml", "--data", folder / "credit.csv",
        "--model-file", folder / "model.skops", *FLAGS, "--out", out, *extra,
    )  # fmt: skip
    return done


def stage_parts(folder, **mitigation):
    """The audit up to the mitigation stage, through the library (no split: every row)."""
    config = build_config(
        None,
        {
            "data": {
                "path": folder / "credit.csv",
                "target": "approved",
                "sensitive": ["sex"],
                "drop": ["applicant_id"],
            },
            "model": {"file": folder / "model.skops"},
            "mitigation": mitigation,
            "explain": {"enabled": False},
            "fairness": {"bootstrap": {"resamples": 200}},
            "seed": SEED,
        },
    )
    data = load_audit_data(config)
    evaluation = evaluate(config, data, plan_rows(config, data))
    sensitive = data.frame[data.sensitive].reset_index(drop=True)
    baseline = measure(
        evaluation.y_true,
        evaluation.y_pred,
        evaluation.scores,
        sensitive,
        config.fairness,
        config.policy,
        seed=config.seed,
    )
    return config, data, evaluation, baseline


def folds_by_hand(y, groups, k=catalogue.DEFAULT_FOLDS, seed=SEED):
    """The documented folds: StratifiedKFold on the strata group|label, seeded."""
    strata = [f"{g}|{label}" for g, label in zip(groups, y, strict=True)]
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # strata of fewer rows than folds
        return list(splitter.split(np.zeros(len(y)), strata))


def kamiran_calders(groups, y):
    """w(a, y) = P(A=a) P(Y=y) / P(A=a, Y=y), counted by hand."""
    n, weights = len(y), np.empty(len(y))
    for group in set(groups):
        for label in (0, 1):
            cell = (groups == group) & (y == label)
            weights[cell] = (groups == group).sum() * (y == label).sum() / (n * cell.sum())
    return weights


def selection_rates(row, feature="sex"):
    entry = next(e for e in row["fairness"] if e["feature"] == feature)
    return {g["group"]: g["selection_rate"] for g in entry["groups"]}


# --- the comparison runs, on every row ------------------------------------------------------


def test_a_loaded_model_without_a_split_compares_the_default_set_on_every_row(loaded, tmp_path):
    done = cli(loaded, tmp_path / "out", "--format", "html")
    assert done.exit_code == 0, done.output
    result = json.loads((tmp_path / "out" / "results.json").read_text())
    n_rows = result["data"]["n_rows"]
    assert result["data"]["n_evaluated"] == n_rows == 1500
    mitigation = result["mitigation"]
    assert mitigation["status"] == "ran" and mitigation["requested"] == "default set"
    assert [r["name"] for r in mitigation["strategies"]] == ["baseline", *catalogue.DEFAULT_SET]
    assert mitigation["skipped"] == []
    # Every strategy is measured on all rows, like the baseline.
    for row in mitigation["strategies"]:
        assert row["performance"]["n"] == n_rows, row["name"]
        (entry,) = row["fairness"]
        assert sum(g["n"] for g in entry["groups"]) == n_rows
    # The baseline row is the audited model itself, unchanged.
    assert mitigation["strategies"][0]["performance"] == result["performance"]
    fitting = mitigation["fitting"]
    k = catalogue.DEFAULT_FOLDS
    assert fitting["how"] == "cross-fitted" and fitting["folds"] == k
    assert fitting["seed"] == SEED and fitting["refitted_on"] == n_rows
    assert sum(fitting["rows_per_fold"]) == n_rows and len(fitting["rows_per_fold"]) == k
    assert fitting["training_rows_per_fold"] == [n_rows - m for m in fitting["rows_per_fold"]]
    assert fitting["text"].startswith(
        "out-of-fold decisions; the saved model is refitted on every row."
    )
    assert mitigation["n_evaluated"] == n_rows and mitigation["n_train"] is None
    assert f"all {n_rows:,} rows" in mitigation["evaluated_on"]
    # The smallest group count any fold's fit saw, per group.
    y = pd.read_csv(loaded / "credit.csv")
    folds = folds_by_hand(y["approved"].to_numpy(), y["sex"].to_numpy())
    expected = {
        g: min(int((y["sex"].to_numpy()[train] == g).sum()) for train, _ in folds)
        for g in np.unique(y["sex"])
    }
    assert mitigation["training_group_sizes"] == expected
    html = (tmp_path / "out" / "report.html").read_text()
    section = html[html.index('<section id="mitigation">') :]
    assert "Out-of-fold decisions; the saved model is refitted on every row." in section
    assert "Strategies compared on the evaluated rows (out of fold)" in section


def test_the_split_path_is_kept_when_a_split_is_asked_for(loaded, tmp_path):
    done = cli(loaded, tmp_path / "out", "--test-size", "0.3", "--mitigate", "reweighing")
    assert done.exit_code == 0, done.output
    mitigation = json.loads((tmp_path / "out" / "results.json").read_text())["mitigation"]
    assert mitigation["fitting"]["how"] == "training rows"
    assert mitigation["n_train"] == 1050 and mitigation["n_evaluated"] == 450
    assert mitigation["evaluated_on"] == "the 450 held-out rows the baseline was evaluated on"


# --- out-of-fold decisions equal a K-fold loop by hand ------------------------------------


def test_out_of_fold_reweighing_equals_a_k_fold_loop_by_hand(loaded):
    config, data, evaluation, baseline = stage_parts(loaded, strategies=["reweighing"])
    outcome = run_mitigation(config, data, evaluation, baseline)
    model = model_files.load_model(loaded / "model.skops")
    X = models.as_model_input(data.frame, list(model.feature_names_in_))
    y, groups = data.y, data.frame["sex"].to_numpy()
    decisions = np.full(len(y), -1)
    probabilities = np.full(len(y), np.nan)
    for train, held in folds_by_hand(y, groups):
        fold_model = clone(model).fit(
            X.iloc[train], y[train], model__sample_weight=kamiran_calders(groups[train], y[train])
        )
        probabilities[held] = fold_model.predict_proba(X.iloc[held])[:, 1]
        decisions[held] = probabilities[held] >= 0.5
    predicted = outcome.predicted["reweighing"]
    np.testing.assert_array_equal(predicted.y_pred, decisions)
    np.testing.assert_allclose(predicted.scores, probabilities, rtol=0, atol=1e-12)
    (row,) = outcome.result["strategies"][1:]
    assert row["performance"]["accuracy"] == pytest.approx(accuracy_score(y, decisions), abs=1e-12)
    for group, rate in selection_rates(row).items():
        assert rate == pytest.approx(decisions[groups == group].mean(), abs=1e-12), group
    assert row["decision_rule"] == "P(positive) >= 0.5 → positive"


def test_out_of_fold_threshold_optimizer_equals_fairlearn_fitted_per_fold(loaded):
    name = "threshold_optimizer:demographic_parity"
    config, data, evaluation, baseline = stage_parts(loaded, strategies=[name])
    outcome = run_mitigation(config, data, evaluation, baseline)
    model = model_files.load_model(loaded / "model.skops")
    X = models.as_model_input(data.frame, list(model.feature_names_in_))
    y, groups = data.y, data.frame["sex"].to_numpy()
    probability = np.full(len(y), np.nan)
    for train, held in folds_by_hand(y, groups):
        optimizer = ThresholdOptimizer(
            estimator=model,
            constraints="demographic_parity",
            objective="accuracy_score",
            grid_size=1000,
            prefit=True,
            predict_method="predict_proba",
        ).fit(X.iloc[train], y[train], sensitive_features=groups[train])
        pmf = optimizer._pmf_predict(X.iloc[held], sensitive_features=groups[held])
        probability[held] = pmf[:, 1]
    assert 0 < np.mean((probability > 0) & (probability < 1))  # a true lottery on some rows
    np.testing.assert_allclose(outcome.predicted[name].probability, probability, atol=1e-12)
    (row,) = outcome.result["strategies"][1:]
    expected = {g: probability[groups == g].mean() for g in np.unique(groups)}
    assert selection_rates(row) == pytest.approx(expected, abs=1e-12)
    expected_accuracy = np.mean(np.where(y == 1, probability, 1 - probability))
    assert row["performance"]["accuracy"] == pytest.approx(expected_accuracy, abs=1e-12)
    # The spread of single draws is taken on the assembled out-of-fold probabilities.
    accuracies = [accuracy_score(y, draw_decisions(probability, SEED + k)) for k in range(DRAWS)]
    assert row["draws"]["accuracy"] == pytest.approx([min(accuracies), max(accuracies)], abs=1e-12)
    assert row["draws"]["seeds"] == [SEED, SEED + DRAWS - 1]


def test_the_same_seed_gives_the_same_cross_fitted_comparison(loaded):
    def comparison():
        outcome = run_mitigation(*stage_parts(loaded, strategies=["reweighing"]))
        row = outcome.result["strategies"][1]
        return row["performance"], row["fairness"], outcome.result["fitting"]

    assert comparison() == comparison()


# --- the saved model is refitted on every row ---------------------------------------------


def test_the_saved_and_explained_model_is_refitted_on_every_row(loaded, tmp_path):
    first = tmp_path / "first"
    (tmp_path / "explain.yaml").write_text("explain: {sample_size: 50, top_features: 1}\n")
    done = run_cli(
        "run", tmp_path / "explain.yaml", "--data", loaded / "credit.csv",
        "--model-file", loaded / "model.skops", *FLAGS, "--out", first,
        "--mitigate", "reweighing", "--save-mitigated", "reweighing", "--format", "html",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    html = (first / "report.html").read_text()
    assert "It was refitted on all 1,500 rows after the cross-fitting" in html
    result = json.loads((first / "results.json").read_text())
    assert result["mitigation"]["saved"]["fitted_on"].startswith("every row (1,500)")
    saved = model_files.load_model(first / "mitigated-reweighing.skops")

    model = model_files.load_model(loaded / "model.skops")
    frame = pd.read_csv(loaded / "credit.csv")
    X = models.as_model_input(frame, list(model.feature_names_in_))
    y, groups = frame["approved"].to_numpy(), frame["sex"].to_numpy()
    refit = clone(model).fit(X, y, model__sample_weight=kamiran_calders(groups, y))
    np.testing.assert_allclose(saved.predict_proba(X), refit.predict_proba(X), atol=1e-12)
    # The explained mitigated model is that refit too: a linear explainer's base value is the
    # mean log-odds over its background (a seeded sample of the evaluated rows, no training rows).
    (variant,) = result["explanations"]["variants"]
    assert variant["status"] == "explained" and variant["explainer"] == "linear"
    background = X.sample(variant["background_rows"], random_state=SEED)
    log_odds = refit.decision_function(background).mean()
    assert variant["base_value"] == pytest.approx(log_odds, abs=1e-9)
    for train, _ in folds_by_hand(y, groups):  # not any of the fold fits measured
        fold_model = clone(model).fit(
            X.iloc[train], y[train], model__sample_weight=kamiran_calders(groups[train], y[train])
        )
        assert np.abs(saved.predict_proba(X) - fold_model.predict_proba(X)).max() > 1e-6

    # Re-audited on every row, it gives the refit's (in-sample) numbers.
    again = tmp_path / "again"
    done = run_cli(
        "run", loaded / "quiet.yaml", "--data", loaded / "credit.csv",
        "--model-file", first / "mitigated-reweighing.skops", *FLAGS, "--out", again,
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    audited = json.loads((again / "results.json").read_text())
    decisions = (refit.predict_proba(X)[:, 1] >= 0.5).astype(int)
    assert audited["performance"]["accuracy"] == pytest.approx(
        accuracy_score(y, decisions), abs=1e-12
    )
    (entry,) = audited["fairness"]["features"]
    for group in entry["groups"]:
        rate = decisions[groups == group["group"]].mean()
        assert group["selection_rate"] == pytest.approx(rate, abs=1e-12)
    # ... which are not the out-of-fold numbers of the comparison (other models' scores).
    row = result["mitigation"]["strategies"][1]
    assert audited["performance"]["roc_auc"] != pytest.approx(
        row["performance"]["roc_auc"], abs=1e-6
    )


# --- what cannot be cross-fitted ----------------------------------------------------------


def small_groups_file(folder, extra_groups):
    """400 rows of groups a/b and the extra (group, label) rows given; a model on x1, x2."""
    rng = np.random.default_rng(1)
    n = 400
    x = rng.normal(size=(n, 2))
    frame = pd.DataFrame(
        {
            "x1": x[:, 0],
            "x2": x[:, 1],
            "g": np.where(np.arange(n) % 2 == 0, "a", "b"),
            "y": (x[:, 0] + rng.normal(size=n) > 0).astype(int),
        }
    )
    extra = pd.DataFrame(
        {
            "x1": rng.normal(size=len(extra_groups)),
            "x2": rng.normal(size=len(extra_groups)),
            "g": [g for g, _ in extra_groups],
            "y": [label for _, label in extra_groups],
        }
    )
    frame = pd.concat([frame, extra], ignore_index=True)
    frame.to_csv(folder / "data.csv", index=False)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(frame[["x1", "x2"]], frame.y)
    model_files.save_model(model, folder / "model.skops")
    (folder / "quiet.yaml").write_text("explain: {enabled: false}\n")
    return ["run", folder / "quiet.yaml", "--data", folder / "data.csv", "--target", "y"] + [
        "--sensitive", "g", "--model-file", folder / "model.skops", "--resamples", "200",
        "--format", "json", "--quiet",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("extra", "stopped", "message"),
    [
        # One row of group c: the training part of its fold has no c at all.
        (
            [("c", 1)],
            ["correlation_remover", *(n for n in catalogue.DEFAULT_SET if "threshold" in n)],
            "in fold {fold} of 3 they are held out but absent from the training part",
        ),
        # Three positives and one negative of c: one fold's training part has positives only.
        (
            [("c", 1), ("c", 1), ("c", 1), ("c", 0)],
            [n for n in catalogue.DEFAULT_SET if "threshold" in n],
            "the training part of fold {fold} of 3 holds rows of one label only",
        ),
        # Every row of c is positive: no fold can help.
        (
            [("c", 1)] * 6,
            [n for n in catalogue.DEFAULT_SET if "threshold" in n],
            "have a single label in the evaluated rows",
        ),
    ],
    ids=["unseen", "one-label-in-a-fold", "one-label-everywhere"],
)
def test_groups_too_small_for_the_folds_are_named(tmp_path, extra, stopped, message):
    args = small_groups_file(tmp_path, extra)
    done = run_cli(*args, "--out", tmp_path / "default")
    assert done.exit_code == 0, done.output
    mitigation = json.loads((tmp_path / "default" / "results.json").read_text())["mitigation"]
    assert mitigation["status"] == "ran"
    ran = [r["name"] for r in mitigation["strategies"][1:]]
    assert ran == [n for n in catalogue.DEFAULT_SET if n not in stopped]
    assert [s["name"] for s in mitigation["skipped"]] == stopped
    # The fold named is the one whose held-out part holds c's lone row (of its label).
    frame = pd.read_csv(tmp_path / "data.csv")
    y, groups = frame["y"].to_numpy(), frame["g"].to_numpy()
    lone = [i for i, cell in enumerate(extra) if extra.count(cell) == 1]
    if lone:
        row = len(frame) - len(extra) + lone[0]
        folds = folds_by_hand(y, groups, seed=0)  # the default seed
        message = message.format(
            fold=next(i + 1 for i, (_, held) in enumerate(folds) if row in held)
        )
    for skipped in mitigation["skipped"]:
        assert "Group(s) c of g" in skipped["reason"]
        assert message in skipped["reason"], skipped["reason"]
    # Named, the strategy stops the audit with the same message (exit 2, nothing written).
    done = run_cli(*args, "--mitigate", stopped[-1], "--out", tmp_path / "named")
    assert done.exit_code == 2, done.output
    assert message in done.output
    assert not (tmp_path / "named").exists()


def test_the_number_of_folds_is_a_setting(tmp_path):
    args = small_groups_file(tmp_path, [])
    (tmp_path / "many.yaml").write_text("explain: {enabled: false}\nmitigation: {folds: 20}\n")
    args[1] = tmp_path / "many.yaml"
    done = run_cli(*args, "--mitigate", "reweighing", "--out", tmp_path / "fine")
    assert done.exit_code == 0, done.output
    fitting = json.loads((tmp_path / "fine" / "results.json").read_text())["mitigation"]["fitting"]
    assert fitting["folds"] == 20 and sum(fitting["rows_per_fold"]) == 400
    (tmp_path / "bad.yaml").write_text("mitigation: {folds: 1}\n")
    args[1] = tmp_path / "bad.yaml"
    done = run_cli(*args, "--out", tmp_path / "bad")
    assert done.exit_code == 2 and "mitigation.folds" in done.output, done.output


def test_more_folds_than_rows_is_an_audit_error():
    with pytest.raises(AuditError, match="Cannot cross-fit the 4 evaluated rows in 5 folds"):
        make_folds(np.array([0, 1, 0, 1]), np.array(["a", "a", "b", "b"]), 5, 0)


# --- a model that cannot be retrained -----------------------------------------------------


def test_an_onnx_model_gets_post_processing_only(tmp_path):
    pytest.importorskip("skl2onnx")
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    args = small_groups_file(tmp_path, [])
    frame = pd.read_csv(tmp_path / "data.csv")
    model = model_files.load_model(tmp_path / "model.skops")
    inputs = [(c, FloatTensorType([None, 1])) for c in ("x1", "x2")]
    onnx = convert_sklearn(model, initial_types=inputs, options={id(model): {"zipmap": False}})
    (tmp_path / "model.onnx").write_bytes(onnx.SerializeToString())
    args[args.index("--model-file") + 1] = tmp_path / "model.onnx"
    done = run_cli(*args, "--out", tmp_path / "out")
    assert done.exit_code == 0, done.output
    mitigation = json.loads((tmp_path / "out" / "results.json").read_text())["mitigation"]
    thresholds = [n for n in catalogue.DEFAULT_SET if n.startswith("threshold_optimizer")]
    assert [r["name"] for r in mitigation["strategies"][1:]] == thresholds
    assert all(r["performance"]["n"] == len(frame) for r in mitigation["strategies"])
    assert [s["name"] for s in mitigation["skipped"]] == ["reweighing", "correlation_remover"]
    for skipped in mitigation["skipped"]:
        assert skipped["reason"].startswith(f"{skipped['name']} retrains the audited model, but")
        assert "an ONNX model cannot be retrained" in skipped["reason"]
    done = run_cli(*args, "--mitigate", "reweighing", "--out", tmp_path / "named")
    assert done.exit_code == 2 and "an ONNX model cannot be retrained" in done.output
    assert not (tmp_path / "named").exists()
