"""SHAP explanations: each explainer path against the model's own output and against shap /
closed forms, one-hot aggregation, the stratified sample, proxies against scipy / sklearn, and
the planted proxy of the synthetic credit scenario driving the disparity."""

from __future__ import annotations

import time
import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import shap
from conftest import assert_close
from scipy import stats
from scipy.stats.contingency import association
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import mutual_info_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from audit import models
from audit.config import ExplainConfig, build_config
from audit.datasets import make_scenario
from audit.errors import AuditError
from audit.explain import explain, explain_threshold_optimizer
from audit.explain import explanation as explanation_module
from audit.explain.columns import encoded_to_input, sum_by_input
from audit.explain.explainers import Explained, make_explainer
from audit.explain.sampling import stratified_sample
from audit.metrics.association import (
    correlation_ratio,
    cramers_v,
    normalised_mutual_info,
    proxy_associations,
)

N_ROWS, N_TRAIN = 4000, 2800


def _credit(bias: float):
    frame = make_scenario("credit", n_rows=N_ROWS, bias=bias, seed=1)
    features = [c for c in frame.columns if c not in ("applicant_id", "approved", "sex", "race")]
    X = models.as_model_input(frame, features)
    return SimpleNamespace(
        frame=frame,
        X=X,
        y=frame["approved"].to_numpy(),
        train=np.arange(N_TRAIN),
        test=np.arange(N_TRAIN, N_ROWS),
        sensitive=frame[["sex", "race"]],
    )


@pytest.fixture(scope="module")
def credit():
    return _credit(bias=2.0)


@pytest.fixture(scope="module")
def trained(credit):
    specs = {
        "hist_gradient_boosting": {"max_iter": 60},
        "random_forest": {"n_estimators": 30, "max_depth": 6, "n_jobs": 1},
        "logistic_regression": {},
    }
    X, y = credit.X.iloc[credit.train], credit.y[credit.train]
    return {name: models.train_model(name, params, 0, X, y) for name, params in specs.items()}


def _run(model, data, **explain_config):
    settings = ExplainConfig.model_validate(explain_config)
    X = data.X.iloc[data.test]
    scores = model.predict_proba(X)[:, 1]
    y_pred = (scores >= 0.5).astype(int)
    return explain(
        model,
        X,
        data.sensitive.iloc[data.test].reset_index(drop=True),
        data.y[data.test],
        y_pred,
        scores,
        settings,
        background=data.X.iloc[data.train],
    )


def _by_name(names: list[str], columns: list[str]) -> dict[str, list[int]]:
    """Encoded columns of each input column, from the names (credit has no prefix clashes)."""
    return {c: [k for k, n in enumerate(names) if n == c or n.startswith(f"{c}_")] for c in columns}


# --- each explainer path: base value + sum of SHAP values = the model's output -------------


def test_tree_path_hgb_adds_up_in_log_odds_and_equals_shap(credit, trained):
    model = trained["hist_gradient_boosting"]
    rows = credit.X.iloc[credit.test[:300]]
    explainer = make_explainer(model, credit.X.iloc[credit.train[:100]], seed=0)
    assert (explainer.kind, explainer.output_space) == ("tree", "log-odds")
    explained = explainer.explain(rows)
    margin = model.decision_function(rows)
    np.testing.assert_allclose(
        explained.base_value + explained.values.sum(axis=1), margin, atol=1e-9
    )
    # the probability is the logistic function of that sum
    np.testing.assert_allclose(
        1 / (1 + np.exp(-(explained.base_value + explained.values.sum(axis=1)))),
        model.predict_proba(rows)[:, 1],
        atol=1e-9,
    )
    # same numbers as shap on the encoded matrix, summed by hand per input column
    encoded = model[:-1].transform(rows)
    reference = shap.TreeExplainer(model[-1]).shap_values(encoded)
    names = list(model[:-1].get_feature_names_out())
    for j, encoded_columns in enumerate(_by_name(names, list(rows.columns)).values()):
        np.testing.assert_allclose(
            explained.values[:, j], reference[:, encoded_columns].sum(axis=1), atol=1e-9
        )


def test_tree_path_forest_adds_up_in_probability(credit, trained):
    model = trained["random_forest"]
    rows = credit.X.iloc[credit.test[:100]]
    explainer = make_explainer(model, credit.X.iloc[credit.train[:100]], seed=0)
    assert (explainer.kind, explainer.output_space) == ("tree", "probability")
    explained = explainer.explain(rows)
    np.testing.assert_allclose(
        explained.base_value + explained.values.sum(axis=1),
        model.predict_proba(rows)[:, 1],
        atol=1e-9,
    )


def test_linear_path_adds_up_and_equals_the_closed_form(credit, trained):
    model = trained["logistic_regression"]
    background = credit.X.iloc[credit.train[:150]]
    rows = credit.X.iloc[credit.test[:300]]
    explainer = make_explainer(model, background, seed=0)
    assert (explainer.kind, explainer.output_space) == ("linear", "log-odds")
    explained = explainer.explain(rows)
    np.testing.assert_allclose(
        explained.base_value + explained.values.sum(axis=1),
        model.decision_function(rows),
        atol=1e-9,
    )
    # interventional linear SHAP: coef * (x - mean of the background), per encoded column
    encoded, encoded_background = model[:-1].transform(rows), model[:-1].transform(background)
    per_encoded = model[-1].coef_[0] * (encoded - encoded_background.mean(axis=0))
    names = list(model[:-1].get_feature_names_out())
    for j, encoded_columns in enumerate(_by_name(names, list(rows.columns)).values()):
        np.testing.assert_allclose(
            explained.values[:, j], per_encoded[:, encoded_columns].sum(axis=1), atol=1e-9
        )


def test_permutation_path_adds_up_on_the_input_columns(credit):
    # PCA after the encoding cannot be mapped back to input columns: the model-agnostic
    # explainer must take over, work on the raw columns and still add up exactly.
    model = Pipeline(
        [
            ("preprocess", models.make_preprocessor()),
            ("pca", PCA(n_components=6, random_state=0)),
            ("model", LogisticRegression(max_iter=1000)),
        ]
    ).fit(credit.X.iloc[credit.train], credit.y[credit.train])
    rows = credit.X.iloc[credit.test[:12]].copy()
    rows.loc[rows.index[:3], "region"] = np.nan  # missing categoricals survive the masking
    explainer = make_explainer(model, credit.X.iloc[credit.train[:25]], seed=0)
    assert (explainer.kind, explainer.output_space) == ("permutation", "probability")
    assert "could not be mapped back" in explainer.notes[0]
    explained = explainer.explain(rows)
    assert explained.values.shape == (12, credit.X.shape[1])
    np.testing.assert_allclose(
        explained.base_value + explained.values.sum(axis=1),
        model.predict_proba(rows)[:, 1],
        atol=1e-9,
    )
    # seeded: the same rows give the same values again
    np.testing.assert_array_equal(explainer.explain(rows).values, explained.values)
    # the base value is the mean output over the background
    background = credit.X.iloc[credit.train[:25]]
    assert explained.base_value == pytest.approx(model.predict_proba(background)[:, 1].mean())


# --- one-hot aggregation ---------------------------------------------------------------------


def test_one_hot_aggregation_preserves_sums(credit, trained):
    preprocessor = trained["hist_gradient_boosting"][:-1]
    columns = list(credit.X.columns)
    mapping = encoded_to_input(preprocessor, columns)
    names = list(preprocessor.get_feature_names_out())
    assert len(mapping) == len(names) > len(columns)
    for k, name in enumerate(names):
        assert name == columns[mapping[k]] or name.startswith(columns[mapping[k]] + "_")
    values = np.random.default_rng(0).normal(size=(50, len(names)))
    summed = sum_by_input(values, mapping, len(columns))
    np.testing.assert_allclose(summed.sum(axis=1), values.sum(axis=1), atol=1e-12)
    for j, encoded_columns in enumerate(_by_name(names, columns).values()):
        np.testing.assert_allclose(summed[:, j], values[:, encoded_columns].sum(axis=1))


def test_mapping_resolves_prefix_clashes_verbose_names_and_remainder():
    frame = pd.DataFrame(
        {
            "a": ["x", "y", "z", "x"] * 5,
            "a_b": ["p", "q", "p", "q"] * 5,
            "n": np.arange(20.0),
        }
    )
    ct = ColumnTransformer(
        [("cat", OneHotEncoder(sparse_output=False), ["a", "a_b"])],
        remainder="passthrough",
        verbose_feature_names_out=True,
    ).fit(frame)
    names = list(ct.get_feature_names_out())  # cat__a_x ..., cat__a_b_p, ..., remainder__n
    mapping = encoded_to_input(ct, list(frame.columns))
    assert [list(frame.columns)[i] for i in mapping] == ["a"] * 3 + ["a_b"] * 2 + ["n"], names


# --- the stratified sample ---------------------------------------------------------------------


def test_stratified_sample_floors_weights_and_determinism(credit):
    groups = credit.sensitive.astype(str)
    sample = stratified_sample(groups, 600, 50, seed=3)
    assert sample.size == 600
    again = stratified_sample(groups, 600, 50, seed=3)
    np.testing.assert_array_equal(sample.positions, again.positions)
    picked = groups.iloc[sample.positions]
    for column in groups.columns:
        sizes = groups[column].value_counts()
        for label, size in sizes.items():
            in_group = (picked[column] == label).to_numpy()
            assert in_group.sum() >= min(50, size), (column, label)
            # weights scale each group back to its size among all rows, exactly
            assert sample.weights[in_group].sum() == pytest.approx(size)
    assert sample.weights.sum() == pytest.approx(len(groups))
    # the small "Other" race group is oversampled relative to a proportional sample
    share = (picked["race"] == "Other").mean()
    assert share > 1.5 * (groups["race"] == "Other").mean()
    # the explaining order: a sample permutation whose first rows cover every stratum
    order = sample.interleaved(seed=0)
    assert sorted(order) == sorted(sample.positions)
    n_strata = len(np.unique(sample.strata))
    first = groups.iloc[order[:n_strata]]
    assert len(first.drop_duplicates()) == n_strata


def test_stratified_sample_keeps_reweighting_after_a_cut(credit):
    groups = credit.sensitive.astype(str)
    sample = stratified_sample(groups, 500, 30, seed=0)
    kept = sample.keep(np.arange(sample.size) % 3 != 0)
    assert kept.weights.sum() == pytest.approx(len(groups))


# --- proxies, against scipy and scikit-learn ---------------------------------------------


def test_cramers_v_and_correlation_ratio_match_scipy(credit):
    frame = credit.frame
    region, race = frame["region"].to_numpy(), frame["race"].to_numpy()
    value, p_value = cramers_v(region, race)
    table = pd.crosstab(frame["region"], frame["race"]).to_numpy()
    assert value == pytest.approx(association(table, method="cramer"), abs=1e-12)
    assert p_value == pytest.approx(stats.chi2_contingency(table, correction=False).pvalue)
    assert 0.5 < value < 0.7  # planted: about 0.6

    age, sex = frame["age"].to_numpy(dtype=float), frame["sex"].to_numpy()
    eta, p_value = correlation_ratio(age, race)
    samples = [age[race == g] for g in np.unique(race)]
    anova = stats.f_oneway(*samples)
    k, n = len(samples), len(age)
    eta2 = anova.statistic * (k - 1) / (anova.statistic * (k - 1) + (n - k))
    assert eta == pytest.approx(np.sqrt(eta2), abs=1e-12)
    assert p_value == pytest.approx(anova.pvalue, rel=1e-9)
    # a two-group correlation ratio is the absolute point-biserial correlation
    eta_sex, _ = correlation_ratio(age, sex)
    assert eta_sex == pytest.approx(abs(np.corrcoef(age, sex == "male")[0, 1]), abs=1e-12)


def test_normalised_mutual_information_matches_sklearn(credit):
    frame = credit.frame
    race = frame["race"].to_numpy()
    value = normalised_mutual_info(frame["region"].to_numpy(), race, numeric=False, seed=0)
    _, counts = np.unique(race, return_counts=True)
    expected = mutual_info_score(race, frame["region"]) / stats.entropy(counts)
    assert value == pytest.approx(expected, abs=1e-12)


def test_proxy_flags_the_planted_proxies_only(credit):
    X = credit.X.iloc[credit.test]
    groups = credit.sensitive.iloc[credit.test].astype(str).reset_index(drop=True)
    found = proxy_associations(X.reset_index(drop=True), groups, "cramers_v", None, seed=0)
    flagged = {(a["feature"], a["sensitive"]) for a in found["associations"] if a["flagged"]}
    assert flagged == {("region", "race"), ("part_time", "sex")}
    assert found["threshold"] == 0.2
    with_mi = proxy_associations(X.reset_index(drop=True), groups, "mutual_info", None, seed=0)
    flagged_mi = {(a["feature"], a["sensitive"]) for a in with_mi["associations"] if a["flagged"]}
    assert ("region", "race") in flagged_mi and ("income", "race") not in flagged_mi


def test_proxy_detection_guards_small_samples_and_identifiers():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "noise": rng.choice(["a", "b", "c"], 30),
            "identifier": [f"id{i}" for i in range(30)],
        }
    )
    groups = pd.DataFrame({"g": rng.choice(["x", "y"], 30)})
    found = proxy_associations(frame, groups, "cramers_v", 0.05, seed=0)
    by_feature = {a["feature"]: a for a in found["associations"]}
    # a chance association in 30 rows can pass the threshold but not the significance test
    assert by_feature["noise"]["value"] >= 0.05 and not by_feature["noise"]["flagged"]
    assert (
        by_feature["identifier"]["value"] is None
        and "identifier" in by_feature["identifier"]["note"]
    )


# --- the synthetic scenario: the planted proxy drives the disparity ------------------------


@pytest.fixture(scope="module")
def full_explanation(credit, trained):
    """Every test row explained (no sampling), so the numbers are exact."""
    return _run(trained["hist_gradient_boosting"], credit, sample_size=5000)


def test_planted_proxy_is_flagged_and_drives_the_disparity(full_explanation):
    ex = full_explanation
    assert ex["sample"]["rows"] == N_ROWS - N_TRAIN
    important = {(p["feature"], p["sensitive"]) for p in ex["proxies"]["important"]}
    assert ("region", "race") in important
    race = next(d for d in ex["disparity"] if d["sensitive"] == "race")
    assert race["reference"] == "White"
    for group in ("Black", "Hispanic"):
        comparison = next(c for c in race["comparisons"] if c["group"] == group)
        top = list(comparison["contributions"])
        assert top[0] == "region", (group, comparison["contributions"])
        assert comparison["contributions"]["region"] > 0.5 * comparison["gap"] > 0
    sex = next(d for d in ex["disparity"] if d["sensitive"] == "sex")
    (female,) = sex["comparisons"]
    assert sex["reference"] == "male"
    assert "part_time" in list(female["contributions"])[:2]
    assert female["contributions"]["part_time"] > 0


def test_without_label_bias_the_proxy_carries_no_disparity():
    fair = _credit(bias=0.0)
    model = models.train_model(
        "hist_gradient_boosting", {"max_iter": 50}, 0, fair.X.iloc[fair.train], fair.y[fair.train]
    )
    ex = _run(model, fair, sample_size=5000, cases_per_group=0)
    race = next(d for d in ex["disparity"] if d["sensitive"] == "race")
    black = next(c for c in race["comparisons"] if c["group"] == "Black")
    assert abs(black["contributions"]["region"]) < 0.15


def test_decomposition_adds_up_to_the_measured_gap(credit, trained, full_explanation):
    model = trained["hist_gradient_boosting"]
    X = credit.X.iloc[credit.test]
    output = pd.Series(model.decision_function(X))
    groups = credit.sensitive.iloc[credit.test].reset_index(drop=True)
    for entry in full_explanation["disparity"]:
        means = output.groupby(groups[entry["sensitive"]].to_numpy()).mean()
        for comparison in entry["comparisons"]:
            measured = means[entry["reference"]] - means[comparison["group"]]
            assert comparison["gap"] == pytest.approx(measured, abs=1e-9)
            assert comparison["gap_all_rows"] == pytest.approx(measured, abs=1e-9)
            total = sum(comparison["contributions"].values())
            assert total == pytest.approx(measured, abs=1e-9)
            assert comparison["sum_of_contributions"] == pytest.approx(measured, abs=1e-9)
            assert comparison["gap_se"] == pytest.approx(0.0, abs=1e-12)  # nothing sampled


def test_a_sampled_decomposition_adds_up_and_estimates_the_gap(credit, trained):
    ex = _run(trained["hist_gradient_boosting"], credit, sample_size=500, min_group_rows=40)
    assert ex["sample"]["rows"] == 500
    for entry in ex["disparity"]:
        for comparison in entry["comparisons"]:
            total = sum(comparison["contributions"].values())
            assert total == pytest.approx(comparison["gap"], abs=1e-9)
            assert comparison["gap_se"] > 0
            assert abs(comparison["gap"] - comparison["gap_all_rows"]) < 4 * comparison["gap_se"]
    assert ex["additivity_max_error"] < 1e-9


def test_global_and_per_group_importance(full_explanation, credit, trained):
    ex = full_explanation
    shares = [f["share"] for f in ex["features"]]
    assert shares == sorted(shares, reverse=True) and sum(shares) == pytest.approx(1.0)
    assert ex["features"][0]["feature"] == "income"  # the strongest legitimate feature
    race = next(g for g in ex["by_group"] if g["sensitive"] == "race")
    black = next(g for g in race["groups"] if g["group"] == "Black")
    white = next(g for g in race["groups"] if g["group"] == "White")
    # region separates Black applicants (mostly Southeast) far more than White ones
    assert black["mean_abs_shap"]["region"] > white["mean_abs_shap"]["region"]
    # the per-row values stored for plots are the explained rows' values (rounded)
    rows = ex["rows"]
    assert rows["n"] == 400 and len(rows["features"]["income"]["shap"]) == 400


def test_cases_are_the_right_rows(full_explanation, credit, trained):
    model = trained["hist_gradient_boosting"]
    X = credit.X.iloc[credit.test]
    scores = model.predict_proba(X)[:, 1]
    y_true, y_pred = credit.y[credit.test], (scores >= 0.5).astype(int)
    groups = credit.sensitive.iloc[credit.test].reset_index(drop=True)
    cases = full_explanation["cases"]
    assert cases
    for case in cases:
        position = credit.test.tolist().index(case["data_row"])
        assert case["score"] == pytest.approx(scores[position])
        assert case["output"] == pytest.approx(model.decision_function(X.iloc[[position]])[0])
        assert case["base_value"] + sum(case["shap"].values()) == pytest.approx(
            case["output"], abs=1e-9
        )
        for reason in case["selected_as"]:
            in_group = (groups[reason["sensitive"]] == reason["group"]).to_numpy()
            if reason["kind"] == "near_threshold":
                best = np.abs(scores[in_group] - 0.5).min()
                assert abs(case["score"] - 0.5) == pytest.approx(best)
            elif reason["kind"] == "false_negative":
                assert (case["y_true"], case["y_pred"]) == (1, 0)
                assert case["score"] == pytest.approx(
                    scores[in_group & (y_true == 1) & (y_pred == 0)].min()
                )
            else:
                assert (case["y_true"], case["y_pred"]) == (0, 1)
                assert case["score"] == pytest.approx(
                    scores[in_group & (y_true == 0) & (y_pred == 1)].max()
                )


def test_same_seed_same_explanation(credit, trained):
    first = _run(trained["logistic_regression"], credit, sample_size=300)
    second = _run(trained["logistic_regression"], credit, sample_size=300)
    first.pop("seconds"), second.pop("seconds")
    assert first == second


# --- cost: the sample adapts to the model ---------------------------------------------------


def test_an_expensive_model_gets_fewer_rows(credit, trained):
    forest = models.train_model(
        "random_forest", {"n_jobs": 1}, 0, credit.X.iloc[credit.train], credit.y[credit.train]
    )
    background = credit.X.iloc[credit.train[:50]]
    cheap = make_explainer(trained["hist_gradient_boosting"], background, 0).seconds_per_row
    costly = make_explainer(forest, background, 0).seconds_per_row
    assert costly > 5 * cheap
    ex = _run(forest, credit, budget_seconds=1.0, cases_per_group=0)
    assert ex["sample"]["limited_by_budget"]
    assert ex["sample"]["budget_rows"] == int(1.0 / costly)
    assert 50 <= ex["sample"]["rows"] < 1200


def test_time_guard_drops_rows_and_reweights(monkeypatch, credit):
    class Slow:
        seconds_per_row = 1e-6

        def explain(self, rows):
            time.sleep(0.05)
            return Explained(np.zeros((len(rows), rows.shape[1])), 0.0)

    monkeypatch.setattr(explanation_module, "CHUNK_ROWS", 60)
    groups = credit.sensitive.astype(str)
    sample = stratified_sample(groups, 1000, 20, seed=0)
    values, _, kept, stopped, _ = explanation_module.shap_within_budget(
        Slow(), credit.X, sample, [], budget_seconds=0.03, seed=0
    )
    assert stopped and 60 <= kept.size < 1000
    assert set(kept.positions) <= set(values)
    assert kept.weights.sum() == pytest.approx(len(groups))


# --- mitigated models ----------------------------------------------------------------------


def test_threshold_optimizer_explains_the_base_model_and_states_thresholds(credit, trained):
    from fairlearn.postprocessing import ThresholdOptimizer

    model = trained["hist_gradient_boosting"]
    train_X, test_X = credit.X.iloc[credit.train], credit.X.iloc[credit.test]
    race_train = credit.sensitive["race"].iloc[credit.train]
    race_test = credit.sensitive["race"].iloc[credit.test]
    optimizer = ThresholdOptimizer(
        estimator=model,
        prefit=True,
        predict_method="predict_proba",
        constraints="demographic_parity",
    ).fit(train_X, credit.y[credit.train], sensitive_features=race_train)
    y_pred = optimizer.predict(test_X, sensitive_features=race_test, random_state=0)
    sensitive = credit.sensitive.iloc[credit.test].reset_index(drop=True)
    ex = explain_threshold_optimizer(
        optimizer,
        test_X,
        race_test,
        sensitive,
        credit.y[credit.test],
        y_pred,
        detail="full",
    )
    assert ex["explainer"] == "tree" and ex["estimator"] == "HistGradientBoostingClassifier"
    rules = {g["group"]: g for g in ex["postprocessing"]["groups"]}
    interpolation = optimizer.interpolated_thresholder_.interpolation_dict
    assert set(rules) == {str(k) for k in interpolation}
    for group, rule in interpolation.items():
        stated = rules[str(group)]["rules"]
        keep = 1 - rule.get("p_ignore", 0.0)  # the threshold parts share what is left
        expected = [
            (keep * p, op.threshold)
            for p, op in ((rule.p0, rule.operation0), (rule.p1, rule.operation1))
            if p > 0
        ]
        assert len(stated) == len(expected)
        for r, (p, threshold) in zip(stated, expected, strict=True):
            assert (r["probability"], r["threshold"]) == pytest.approx((p, threshold))
    main = {g: r["main_threshold"] for g, r in rules.items()}
    for case in ex["cases"]:
        race = case["groups"]["race"]
        assert case["threshold"] == pytest.approx(main[race])
    summary = explain_threshold_optimizer(
        optimizer, test_X, race_test, sensitive, credit.y[credit.test], y_pred
    )
    assert summary["detail"] == "summary" and "rows" not in summary and "cases" not in summary
    # The same numbers, summed in another order: equal to rounding, not bit for bit.
    assert_close(summary["disparity"], ex["disparity"], abs=1e-12)


def test_a_reweighed_model_is_explained_like_the_baseline(credit):
    weights = np.where(
        credit.sensitive["race"].iloc[credit.train].isin(["Black", "Hispanic"]), 2.0, 1.0
    )
    model = models.train_model(
        "logistic_regression", {}, 0, credit.X.iloc[credit.train], credit.y[credit.train]
    )
    model.fit(credit.X.iloc[credit.train], credit.y[credit.train], model__sample_weight=weights)
    ex = _run(model, credit, sample_size=5000)
    assert ex["explainer"] == "linear" and ex["additivity_max_error"] < 1e-9
    X = credit.X.iloc[credit.test]
    output = pd.Series(model.decision_function(X))
    race = credit.sensitive["race"].iloc[credit.test].to_numpy()
    means = output.groupby(race).mean()
    entry = next(d for d in ex["disparity"] if d["sensitive"] == "race")
    for comparison in entry["comparisons"]:
        measured = means[entry["reference"]] - means[comparison["group"]]
        assert sum(comparison["contributions"].values()) == pytest.approx(measured, abs=1e-9)


def test_a_bare_estimator_on_numeric_columns(credit):
    numeric = ["age", "debt_ratio", "credit_history_years", "late_payments", "loan_amount"]
    X = credit.X[numeric]
    model = LogisticRegression(max_iter=1000).fit(X.iloc[credit.train], credit.y[credit.train])
    rows = X.iloc[credit.test[:200]]
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # e.g. "X does not have valid feature names"
        explainer = make_explainer(model, X.iloc[credit.train[:100]], seed=0)
        explained = explainer.explain(rows)
        output = explainer.output(rows)
    assert explainer.kind == "linear"
    np.testing.assert_allclose(output, model.decision_function(rows))
    np.testing.assert_allclose(
        explained.base_value + explained.values.sum(axis=1), output, atol=1e-9
    )


# --- configuration ------------------------------------------------------------------------


def test_bad_explain_config_is_an_audit_error():
    with pytest.raises(AuditError, match="explain.proxy_method moved to quality.proxy_method"):
        build_config(None, {"explain": {"proxy_method": "mutual_info"}})
    with pytest.raises(AuditError, match="quality.proxy_method"):
        build_config(None, {"quality": {"proxy_method": "pearson"}})
    with pytest.raises(AuditError, match="explain.sample_size"):
        build_config(None, {"explain": {"sample_size": 10}})
    with pytest.raises(AuditError, match="unknown key 'explain.samples'"):
        build_config(None, {"explain": {"samples": 10}})
