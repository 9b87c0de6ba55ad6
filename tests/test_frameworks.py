"""Models from other frameworks: LightGBM and XGBoost classifiers get exact TreeSHAP values in
their margin space (checked against each library's own margin output and its own tree dump),
and a plain scoring function is audited through :class:`audit.callable_model.ScoreFunction`
(permutation SHAP values add up to the function's output; decisions follow its threshold)."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit
from sklearn.pipeline import Pipeline

from audit import models
from audit.callable_model import ScoreFunction
from audit.config import ExplainConfig
from audit.datasets import make_credit
from audit.errors import AuditError
from audit.evaluation import default_rule, model_decisions, model_output
from audit.explain import explain
from audit.explain.explainers import (
    BOOSTER_COST_FACTOR,
    TREE_OVERHEAD_UNITS,
    TREE_SECONDS_PER_UNIT,
    make_explainer,
)

N_ROWS, N_TRAIN = 1500, 1000
SENSITIVE = ["sex", "race"]
NUMERIC = [
    "age",
    "income",
    "debt_ratio",
    "credit_history_years",
    "employment_years",
    "late_payments",
    "loan_amount",
]
# What "exact" means for each library's margin: LightGBM's is a float64 sum, XGBoost's a
# float32 sum (its own margin carries ~1e-7 relative rounding; margins here reach |4|).
ADDITIVITY = {"lightgbm": {"atol": 1e-9, "rtol": 0.0}, "xgboost": {"atol": 1e-6, "rtol": 1e-6}}


@pytest.fixture(scope="module")
def credit():
    frame = make_credit(N_ROWS, seed=3)
    features = [c for c in frame.columns if c not in ("applicant_id", "approved", *SENSITIVE)]
    X = models.as_model_input(frame, features)
    return SimpleNamespace(
        X=X,
        y=frame["approved"].to_numpy(),
        sensitive=frame[SENSITIVE],
        train=np.arange(N_TRAIN),
        test=np.arange(N_TRAIN, N_ROWS),
    )


@pytest.fixture(scope="module")
def lightgbm_pipeline(credit):
    """LightGBM after the project's preprocessing (imputation, scaling, one-hot)."""
    lightgbm = pytest.importorskip("lightgbm")
    model = Pipeline(
        [
            ("preprocess", models.make_preprocessor()),
            (
                "model",
                lightgbm.LGBMClassifier(n_estimators=40, num_leaves=15, n_jobs=1, verbose=-1),
            ),
        ]
    )
    return model.fit(credit.X.iloc[credit.train], credit.y[credit.train])


@pytest.fixture(scope="module")
def xgboost_bare(credit):
    """A bare XGBoost model on the numeric columns, missing values included (native NaN)."""
    xgboost = pytest.importorskip("xgboost")
    model = xgboost.XGBClassifier(n_estimators=40, max_depth=3, n_jobs=1)
    return model.fit(credit.X[NUMERIC].iloc[credit.train], credit.y[credit.train])


def _margin(model, X: pd.DataFrame) -> np.ndarray:
    """The library's own raw output (the margin of classes_[1]), independent of audit code."""
    estimator = model.steps[-1][1] if isinstance(model, Pipeline) else model
    encoded = model[:-1].transform(X) if isinstance(model, Pipeline) else X
    if type(estimator).__module__.startswith("lightgbm"):
        return np.asarray(estimator.predict(encoded, raw_score=True), dtype=float)
    return np.asarray(estimator.predict(encoded, output_margin=True), dtype=float)


def _config(**explain_config) -> ExplainConfig:
    settings = {"sample_size": 300, "background_size": 50, **explain_config}
    return ExplainConfig.model_validate(settings)


def _explain(model, X, credit, **explain_config):
    """The project's explain() on the test rows, with decisions from the prediction stage."""
    output = model_output(model, 1)
    rule = default_rule(output, None)
    y_pred, scores = model_decisions(model, X, output, rule)
    return explain(
        model,
        X,
        credit.sensitive.iloc[credit.test].reset_index(drop=True),
        credit.y[credit.test],
        y_pred,
        scores,
        _config(**explain_config),
        threshold=rule.oriented_threshold,
        positive=output.positive_index,
        background=X.iloc[:50],
    )


# --- LightGBM and XGBoost: TreeExplainer -------------------------------------------------


@pytest.mark.parametrize(
    "name, columns, library",
    [("lightgbm_pipeline", None, "lightgbm"), ("xgboost_bare", NUMERIC, "xgboost")],
    ids=["lightgbm-pipeline", "xgboost-bare"],
)
def test_boosters_get_exact_tree_shap_in_log_odds(request, credit, name, columns, library):
    model = request.getfixturevalue(name)
    tolerance = ADDITIVITY[library]
    X = credit.X.iloc[credit.test].reset_index(drop=True)
    if columns is not None:
        X = X[columns]
    explainer = make_explainer(model, X.iloc[:50], seed=0)
    assert explainer.kind == "tree"
    assert explainer.output_space == "log-odds"
    assert explainer.estimator in ("LGBMClassifier", "XGBClassifier")

    # Every row: base value + SHAP values (summed back to input columns) = the library's margin,
    # which is the log-odds of its own predict_proba.
    margin = _margin(model, X)
    np.testing.assert_allclose(margin, logit(model.predict_proba(X)[:, 1]), atol=1e-5)
    explained = explainer.explain(X)
    assert explained.values.shape == (len(X), len(X.columns))
    total = explained.base_value + explained.values.sum(axis=1)
    np.testing.assert_allclose(total, margin, **tolerance)

    result = _explain(model, X, credit)
    assert result["status"] == "explained" and result["explainer"] == "tree"
    allowed = tolerance["atol"] + tolerance["rtol"] * np.abs(margin).max()
    assert result["additivity_max_error"] <= allowed
    assert result["decision_threshold_output"] == pytest.approx(0.0)  # P = 0.5 in log-odds
    # Per group: each group's mean output over all evaluated rows is the library's margin mean.
    groups = {g["sensitive"]: g["groups"] for g in result["by_group"]}
    assert set(groups) == set(SENSITIVE)
    sex = credit.sensitive["sex"].iloc[credit.test].to_numpy()
    for group in groups["sex"]:
        expected = margin[sex == group["group"]].mean()
        assert group["mean_output_all"] == pytest.approx(expected, abs=1e-9)
        assert group["n_explained"] > 0 and set(group["mean_shap"]) == set(X.columns)
    # The disparity decomposition: feature contributions add up to each gap.
    gaps = {d["sensitive"]: d for d in result["disparity"]}
    assert gaps["sex"]["comparisons"], "two sexes with enough rows must be compared"
    for entry in gaps.values():
        for comparison in entry["comparisons"]:
            total_contribution = sum(comparison["contributions"].values())
            assert total_contribution == pytest.approx(comparison["gap"], abs=1e-6)
    for case in result["cases"]:
        row = X.loc[[case["data_row"]]]
        total = case["base_value"] + sum(case["shap"].values())
        np.testing.assert_allclose(total, _margin(model, row)[0], **tolerance)


def test_lightgbm_string_classes_positive_first_explains_its_margin(credit):
    """Positive class classes_[0]: the explained output is logit P(positive), not of the other."""
    lightgbm = pytest.importorskip("lightgbm")
    labels = np.where(credit.y == 1, "approved", "rejected")
    model = lightgbm.LGBMClassifier(n_estimators=30, num_leaves=7, n_jobs=1, verbose=-1)
    model.fit(credit.X[NUMERIC].iloc[credit.train], labels[credit.train])
    assert list(model.classes_) == ["approved", "rejected"]  # the positive class comes first

    X = credit.X[NUMERIC].iloc[credit.test].reset_index(drop=True)
    output = model_output(model, "approved")
    assert output.kind == "probability" and output.positive_index == 0
    explainer = make_explainer(model, X.iloc[:50], seed=0, positive=output.positive_index)
    p_approved = model.predict_proba(X)[:, 0]
    explained_output = explainer.output(X)
    np.testing.assert_allclose(explained_output, logit(p_approved), atol=1e-9)
    assert (np.sign(explained_output) == np.sign(p_approved - 0.5)).all()
    explained = explainer.explain(X.iloc[:100])
    total = explained.base_value + explained.values.sum(axis=1)
    np.testing.assert_allclose(total, logit(p_approved[:100]), atol=1e-9)
    # A row the model approves more strongly has its features pushing up, not down.
    assert np.corrcoef(total, p_approved[:100])[0, 1] > 0.99

    # Its decisions: P(approved) >= 0.5, the model's own predicted label.
    rule = default_rule(output, None)
    decisions, scores = model_decisions(model, X, output, rule)
    np.testing.assert_allclose(scores, p_approved)
    np.testing.assert_array_equal(decisions, (model.predict(X) == "approved").astype(int))


def test_xgboost_positive_class_zero_negates_the_margin(credit, xgboost_bare):
    X = credit.X[NUMERIC].iloc[credit.test].reset_index(drop=True)
    output = model_output(xgboost_bare, 0)
    assert output.positive_index == 0
    explainer = make_explainer(xgboost_bare, X.iloc[:50], seed=0, positive=0)
    p_zero = xgboost_bare.predict_proba(X)[:, 0]
    np.testing.assert_allclose(explainer.output(X), logit(p_zero), atol=1e-5)
    explained = explainer.explain(X.iloc[:100])
    total = explained.base_value + explained.values.sum(axis=1)
    np.testing.assert_allclose(total, -_margin(xgboost_bare, X.iloc[:100]), **ADDITIVITY["xgboost"])


def test_booster_decisions_through_the_prediction_stage(credit, lightgbm_pipeline, xgboost_bare):
    for model, X in (
        (lightgbm_pipeline, credit.X.iloc[credit.test]),
        (xgboost_bare, credit.X[NUMERIC].iloc[credit.test]),
    ):
        output = model_output(model, 1)
        assert output.kind == "probability" and output.positive_index == 1
        rule = default_rule(output, None)
        assert rule.threshold == 0.5
        decisions, scores = model_decisions(model, X, output, rule)
        np.testing.assert_allclose(scores, model.predict_proba(X)[:, 1])
        np.testing.assert_array_equal(decisions, model.predict(X))
        stricter, _ = model_decisions(model, X, output, default_rule(output, 0.7))
        np.testing.assert_array_equal(stricter, (model.predict_proba(X)[:, 1] >= 0.7).astype(int))


def _units_from_dump(trees: list[dict]) -> float:
    """TreeSHAP work units counted from a library's own JSON tree dump (nested dicts)."""
    units = 0.0
    for tree in trees:
        stack = [(tree, 0)]
        while stack:
            node, depth = stack.pop()
            children = node.get("children") or [
                node[k] for k in ("left_child", "right_child") if k in node
            ]
            if children:
                units += depth + 1
                stack.extend((child, depth + 1) for child in children)
            else:
                units += (depth + 1) ** 2
        units += TREE_OVERHEAD_UNITS
    return units


def test_booster_cost_is_counted_from_the_dumped_trees(credit, lightgbm_pipeline, xgboost_bare):
    import json

    X = credit.X.iloc[credit.test]
    lgbm = lightgbm_pipeline.steps[-1][1]
    lgbm_trees = [t["tree_structure"] for t in lgbm.booster_.dump_model()["tree_info"]]
    xgb_trees = [json.loads(t) for t in xgboost_bare.get_booster().get_dump(dump_format="json")]
    for model, rows, trees, library in (
        (lightgbm_pipeline, X, lgbm_trees, "lightgbm"),
        (xgboost_bare, X[NUMERIC], xgb_trees, "xgboost"),
    ):
        first = make_explainer(model, rows.iloc[:50], seed=0).seconds_per_row
        again = make_explainer(model, rows.iloc[50:100], seed=1).seconds_per_row
        assert first == again  # from the model's structure only, never from a clock
        expected = _units_from_dump(trees) * TREE_SECONDS_PER_UNIT * BOOSTER_COST_FACTOR[library]
        assert first == pytest.approx(expected, rel=1e-12)


def test_boosting_libraries_are_never_imported(monkeypatch, credit):
    """They are optional: recognising a model must not import them (None in sys.modules makes
    any ``import lightgbm`` fail), and other models keep their explainers."""
    from sklearn.tree import DecisionTreeClassifier

    monkeypatch.setitem(sys.modules, "lightgbm", None)
    monkeypatch.setitem(sys.modules, "xgboost", None)
    X = credit.X[["age", "debt_ratio", "late_payments"]].iloc[:300]
    tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, credit.y[:300])
    assert make_explainer(tree, X.iloc[:20], seed=0).kind == "tree"
    function = ScoreFunction(lambda X: X["debt_ratio"], threshold=0.5)
    assert model_output(function, 1).kind == "decision function"


# --- a plain scoring function ------------------------------------------------------------


def approval_probability(X: pd.DataFrame) -> np.ndarray:
    """A hand-written scoring rule: mixes numeric columns (with missing values) and a category."""
    logit_ = (
        0.00004 * X["income"].fillna(40_000)
        - 3.0 * X["debt_ratio"]
        - 0.4 * X["late_payments"]
        + 0.6 * (X["education"] == "graduate")
    )
    return expit(logit_.to_numpy(dtype=float))


def test_callable_is_explained_by_permutation_and_adds_up(credit):
    X = credit.X.iloc[credit.test].reset_index(drop=True)
    model = ScoreFunction(approval_probability, data=X)
    explainer = make_explainer(model, X.iloc[:40], seed=0)
    assert explainer.kind == "permutation"
    assert explainer.output_space == "decision function"
    assert explainer.estimator == "ScoreFunction"
    rows = X.iloc[:60]
    explained = explainer.explain(rows)
    assert explained.values.shape == (len(rows), len(X.columns))
    np.testing.assert_allclose(
        explained.base_value + explained.values.sum(axis=1),
        approval_probability(rows),
        rtol=0,
        atol=1e-9,
    )
    # The base value is the mean output over the background rows (independent masker).
    assert explained.base_value == pytest.approx(approval_probability(X.iloc[:40]).mean(), 1e-12)
    # Columns the function ignores get no credit.
    unused = [c for c in X.columns if c not in ("income", "debt_ratio", "late_payments")]
    unused.remove("education")
    assert np.abs(explained.values[:, [X.columns.get_loc(c) for c in unused]]).max() < 1e-12

    result = _explain(model, X, credit, sample_size=60, cases_per_group=1)
    assert result["explainer"] == "permutation"
    assert result["additivity_max_error"] <= 1e-9
    assert result["by_group"] and result["disparity"]
    for case in result["cases"]:
        # The case's threshold is the function's own 0.5, applied to its score.
        assert case["threshold"] == 0.5
        assert case["y_pred"] == int(case["score"] >= 0.5)


def test_callable_decisions_follow_its_threshold(credit):
    X = credit.X.iloc[credit.test]
    p = approval_probability(X)

    probability = ScoreFunction(approval_probability, data=X)
    assert probability.threshold == 0.5
    output = model_output(probability, 1)
    assert output.kind == "decision function" and output.classes == (0, 1)
    rule = default_rule(output, None)
    assert rule.threshold == 0.5
    decisions, scores = model_decisions(probability, X, output, rule)
    np.testing.assert_allclose(scores, p)
    np.testing.assert_array_equal(decisions, (p >= 0.5).astype(int))
    np.testing.assert_array_equal(decisions, probability.predict(X))
    # A configured threshold replaces the function's own.
    configured, _ = model_decisions(probability, X, output, default_rule(output, 0.3))
    np.testing.assert_array_equal(configured, (p >= 0.3).astype(int))
    # Positive label 0: the scores are negated, and so is the boundary.
    flipped = model_output(probability, 0)
    decisions_zero, scores_zero = model_decisions(
        probability, X, flipped, default_rule(flipped, None)
    )
    np.testing.assert_allclose(scores_zero, -p)
    np.testing.assert_array_equal(decisions_zero, (p <= 0.5).astype(int))

    margin = ScoreFunction(lambda X: logit(approval_probability(X)), data=X)
    assert margin.threshold == 0.0  # log-odds leave [0, 1]: a margin, split at 0
    margin_output = model_output(margin, 1)
    margin_decisions, _ = model_decisions(
        margin, X, margin_output, default_rule(margin_output, None)
    )
    np.testing.assert_array_equal(margin_decisions, decisions)  # logit(p) >= 0 <=> p >= 0.5

    # String classes: the function scores the second, and predicts the target's own labels.
    labelled = ScoreFunction(approval_probability, threshold=0.5, classes=("no", "yes"))
    named = model_output(labelled, "yes")
    assert named.positive_index == 1 and default_rule(named, None).threshold == 0.5
    assert set(labelled.predict(X)) <= {"no", "yes"}
    np.testing.assert_array_equal(labelled.predict(X) == "yes", p >= 0.5)


def test_callable_with_named_columns_gets_only_those(credit):
    X = credit.X.iloc[credit.test]
    seen = []

    def score(frame: pd.DataFrame) -> np.ndarray:
        seen.append(list(frame.columns))
        return frame["debt_ratio"].clip(0.0, 1.0).to_numpy()

    model = ScoreFunction(score, data=X, feature_names=["debt_ratio"])
    assert models.model_input_columns(model, list(X.columns)) == ["debt_ratio"]
    assert seen == [["debt_ratio"]]
    assert model.threshold == 0.5  # clipped to [0, 1]: read as probabilities
    np.testing.assert_array_equal(model.predict(X), (X["debt_ratio"] >= 0.5).astype(int))


@pytest.mark.parametrize(
    "function, message",
    [
        (lambda X: np.zeros(len(X) + 1), r"shape \(\d+,\) for \d+ rows"),
        (lambda X: np.where(np.arange(len(X)) == 3, np.nan, 0.2), r"1 missing or infinite.*row 3"),
        (lambda X: np.full(len(X), np.inf), "missing or infinite"),
        (lambda X: ["low"] * len(X), "not numbers"),
        (lambda X: X["no such column"], "failed on .* rows: KeyError"),
        (lambda X: np.zeros((len(X), 2)), r"shape \(\d+, 2\)"),
    ],
)
def test_callable_bad_output_is_a_clear_audit_error(credit, function, message):
    X = credit.X.iloc[:20]
    with pytest.raises(AuditError, match=message):
        ScoreFunction(function, data=X)
    model = ScoreFunction(function, threshold=0.0)
    with pytest.raises(AuditError, match=message):
        model.decision_function(X)


def test_callable_needs_rows_or_a_threshold():
    with pytest.raises(AuditError, match="pass data=..., or threshold="):
        ScoreFunction(lambda X: X["a"])
    with pytest.raises(AuditError, match="not a function"):
        ScoreFunction("model.pkl", threshold=0.5)
    with pytest.raises(AuditError, match="not a number"):
        ScoreFunction(lambda X: X["a"], threshold=float("nan"))
    with pytest.raises(TypeError, match="cannot be retrained"):
        from sklearn.base import clone

        clone(ScoreFunction(lambda X: X["a"], threshold=0.0))
