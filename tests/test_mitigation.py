"""Bias mitigation: strategies against fairlearn, the comparison, saving and re-auditing."""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from conftest import run_cli
from fairlearn.metrics import demographic_parity_difference
from fairlearn.postprocessing import ThresholdOptimizer
from fairlearn.reductions import DemographicParity, ExponentiatedGradient
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score

from audit import model_files, models
from audit.config import build_config
from audit.datasets import make_scenario
from audit.metrics import measure
from audit.mitigation import compare
from audit.mitigation.estimators import (
    GroupThresholdClassifier,
    RandomizedMixtureClassifier,
    group_key,
)
from audit.mitigation.reweighing import reweighing_weights
from audit.mitigation.section import slim_fairness
from audit.pipeline import run_audit
from audit.vocabulary import strategies as catalogue

BASE = ["--target", "approved", "--sensitive", "sex", "--sensitive", "race"]
BASE += ["--drop", "applicant_id", "--model", "logistic_regression", "--seed", "3"]


@pytest.fixture(scope="module")
def strong_bias(tmp_path_factory):
    """The credit scenario with a strong injected bias (2 log-odds against each penalised group)."""
    path = tmp_path_factory.mktemp("strong") / "credit.csv"
    make_scenario("credit", n_rows=6000, bias=2.0, seed=3).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def quick(strong_bias):
    """Config for the CLI runs here: no explanations (not checked), fewer resamples."""
    path = strong_bias.parent / "quick.yaml"
    path.write_text("explain: {enabled: false}\nfairness: {bootstrap: {resamples: 200}}\n")
    return path


def config_for(path, **mitigation):
    return build_config(
        None,
        {
            "data": {
                "path": path,
                "target": "approved",
                "sensitive": ["sex", "race"],
                "drop": ["applicant_id"],
            },
            "model": {"name": "logistic_regression"},
            "mitigation": mitigation,
            "explain": {"enabled": False},
            "fairness": {"bootstrap": {"resamples": 200}},
            "seed": 3,
        },
    )


# --- reweighing -----------------------------------------------------------------------------


def test_reweighing_weights_equal_the_formula_on_a_hand_made_table():
    # Group A: 2 positives, 1 negative; group B: 1 positive, 4 negatives (n = 8).
    groups = np.array(["A", "A", "A", "B", "B", "B", "B", "B"])
    y = np.array([1, 1, 0, 1, 0, 0, 0, 0])
    # w(a, y) = P(a) P(y) / P(a, y), by hand:
    expected = {
        ("A", 1): (3 / 8) * (3 / 8) / (2 / 8),  # 0.5625
        ("A", 0): (3 / 8) * (5 / 8) / (1 / 8),  # 1.875
        ("B", 1): (5 / 8) * (3 / 8) / (1 / 8),  # 1.875
        ("B", 0): (5 / 8) * (5 / 8) / (4 / 8),  # 0.78125
    }
    weights = reweighing_weights(groups, y)
    assert weights.tolist() == pytest.approx(
        [expected[(g, int(v))] for g, v in zip(groups, y, strict=True)]
    )
    assert weights.tolist()[:3] == pytest.approx([0.5625, 0.5625, 1.875])
    # Under the weights every group has the overall positive rate (3/8) and the total is n.
    assert weights.sum() == pytest.approx(8)
    for group in "AB":
        mask = groups == group
        assert np.average(y[mask], weights=weights[mask]) == pytest.approx(3 / 8)


def test_reweighing_strategy_trains_with_those_weights(strong_bias):
    run = run_audit(config_for(strong_bias, strategies=["reweighing"], sensitive=["race"]))
    row = run.to_dict()["mitigation"]["strategies"][1]
    frame = pd.read_csv(strong_bias)
    y = frame["approved"].to_numpy()
    train, _ = _split(frame)
    expected = reweighing_weights(frame["race"].to_numpy()[train], y[train])
    table = pd.DataFrame({"g": frame["race"].to_numpy()[train], "y": y[train], "w": expected})
    for cell in row["details"]["weights"]:
        mask = (table.g == cell["group"]) & (table.y == cell["label"])
        assert cell["weight"] == pytest.approx(table.w[mask].iloc[0], rel=1e-12)
    assert {c["group"] for c in row["details"]["weights"]} == set(frame["race"])


def _split(frame):
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(frame))
    y = frame["approved"].to_numpy()
    train, test = train_test_split(rows, test_size=0.3, random_state=3, stratify=y)
    return np.sort(train), np.sort(test)


# --- the estimators a mitigated model is saved as equal fairlearn's ------------------------


@pytest.fixture(scope="module")
def small_problem():
    frame = make_scenario("credit", n_rows=3000, bias=2.0, seed=5)
    features = ["income", "debt_ratio", "late_payments", "credit_history_years"]
    X = frame[features].fillna(0.0)
    return X, frame["approved"].to_numpy(), frame[["sex", "race"]], features


@pytest.fixture(scope="module")
def fitted_thresholds(small_problem):
    """fairlearn's ThresholdOptimizer (demographic parity) on the sex × race groups."""
    X, y, sensitive, _ = small_problem
    keys = group_key(sensitive, ["sex", "race"])
    base = LogisticRegression(max_iter=1000).fit(X, y)
    optimizer = ThresholdOptimizer(
        estimator=base,
        constraints="demographic_parity",
        prefit=True,
        predict_method="predict_proba",
    ).fit(X, y, sensitive_features=keys)
    return keys, base, optimizer


@pytest.fixture(scope="module")
def fitted_mixture(small_problem):
    """fairlearn's ExponentiatedGradient (demographic parity) on the race groups."""
    X, y, sensitive, _ = small_problem
    keys = group_key(sensitive, ["race"])
    mitigator = ExponentiatedGradient(
        LogisticRegression(max_iter=1000), DemographicParity(), max_iter=8
    ).fit(X, y, sensitive_features=keys)
    used = [i for i in mitigator.weights_.index if mitigator.weights_[i] > 0]
    return (
        keys,
        mitigator,
        [mitigator.predictors_[i] for i in used],
        [float(mitigator.weights_[i]) for i in used],
    )


def test_group_thresholds_equal_fairlearns_threshold_optimizer(small_problem, fitted_thresholds):
    X, y, sensitive, features = small_problem
    keys, _, optimizer = fitted_thresholds
    ours = GroupThresholdClassifier.from_threshold_optimizer(
        optimizer, features, ["sex", "race"], "predict_proba", random_state=11
    )
    inputs = pd.concat([X, sensitive], axis=1)
    np.testing.assert_allclose(
        ours.predict_pmf(inputs), optimizer._pmf_predict(X, sensitive_features=keys)[:, 1]
    )
    expected = optimizer.predict(X, sensitive_features=keys, random_state=11)
    np.testing.assert_array_equal(ours.predict(inputs), expected)
    np.testing.assert_array_equal(ours.decision_function(inputs), ours.predict_pmf(inputs))
    assert not hasattr(ours, "predict_proba")  # so the audit uses the randomized decisions
    with pytest.raises(ValueError, match="sensitive column"):
        ours.predict(X)  # the group is an input at prediction time


def test_randomized_mixture_equals_fairlearns_exponentiated_gradient(small_problem, fitted_mixture):
    X = small_problem[0]
    _, mitigator, predictors, weights = fitted_mixture
    ours = RandomizedMixtureClassifier.from_fitted(predictors, weights, 7)
    np.testing.assert_allclose(ours.predict_pmf(X), mitigator._pmf_predict(X)[:, 1], atol=1e-12)
    np.testing.assert_array_equal(ours.predict(X), mitigator.predict(X, random_state=7))


# --- expected rates of the randomized estimators, by hand ---------------------------------

DRAWS = 200  # seeded draws whose mean must approach the expected rate


def expected_rates(y, probability, groups):
    """Selection rate per group from measure() given the decision probabilities."""
    config = build_config(None, {"fairness": {"bootstrap": {"resamples": 0}}})
    (entry,) = measure(
        y,
        None,
        None,
        pd.DataFrame({"g": groups}),
        config.fairness,
        config.policy,
        decision_probability=probability,
    )["fairness"]
    return {row["group"]: row["selection_rate"] for row in entry["groups"]}


def assert_draws_average_to(model, inputs, groups, expected, probability):
    """Mean selection rate over seeded draws = expected, within 4 binomial standard errors."""
    draws = []
    for seed in range(DRAWS):
        model.random_state = seed
        draws.append(model.predict(inputs))
    draws = np.asarray(draws)
    for group, rate in expected.items():
        mask = groups == group
        p = probability[mask]
        # One draw's selection rate has variance sum p (1 - p) / n^2; the mean of K draws, / K.
        error = np.sqrt(np.sum(p * (1 - p)) / DRAWS) / mask.sum()
        assert draws[:, mask].mean() == pytest.approx(rate, abs=4 * error + 1e-12), group


def test_threshold_optimizer_expected_selection_rate_by_hand(small_problem, fitted_thresholds):
    X, y, sensitive, features = small_problem
    keys, base, optimizer = fitted_thresholds
    ours = GroupThresholdClassifier.from_threshold_optimizer(
        optimizer, features, ["sex", "race"], "predict_proba", random_state=0
    )
    inputs = pd.concat([X, sensitive], axis=1)
    score = base.predict_proba(X)[:, 1]
    passes = {">": np.greater, "<": np.less}
    by_hand = {}
    for group, plan in optimizer.interpolated_thresholder_.interpolation_dict.items():
        mask = keys == group
        first = passes[plan.operation0.operator](score[mask], plan.operation0.threshold)
        second = passes[plan.operation1.operator](score[mask], plan.operation1.threshold)
        mixed = plan.p0 * first + plan.p1 * second
        ignore = plan.get("p_ignore", 0.0)
        positive = ignore * plan.get("prediction_constant", 0.0) + (1 - ignore) * mixed
        by_hand[group] = float(np.mean(positive))
    probability = ours.predict_pmf(inputs)
    measured = expected_rates(y, probability, keys)
    assert set(measured) == set(by_hand)
    for group, rate in by_hand.items():
        assert measured[group] == pytest.approx(rate, abs=1e-12), group
    assert any(0 < v < 1 for v in probability)  # the lottery is not trivial here
    assert_draws_average_to(ours, inputs, keys, measured, probability)


def test_mixture_expected_selection_rate_by_hand(small_problem, fitted_mixture):
    X, y = small_problem[:2]
    keys, _, predictors, weights = fitted_mixture
    assert len(predictors) > 1  # a true mixture
    ours = RandomizedMixtureClassifier.from_fitted(predictors, weights, 0)
    by_hand = {
        group: sum(
            w * h.predict(X[keys == group]).mean() for w, h in zip(weights, predictors, strict=True)
        )
        for group in np.unique(keys)
    }
    probability = ours.predict_pmf(X)
    measured = expected_rates(y, probability, keys)
    for group, rate in by_hand.items():
        assert measured[group] == pytest.approx(rate, abs=1e-12), group
    assert_draws_average_to(ours, X, keys, measured, probability)


# --- the strong-bias scenario ---------------------------------------------------------------


@pytest.fixture(scope="module")
def strong_run(strong_bias):
    config = config_for(
        strong_bias,
        strategies=["threshold_optimizer:dp", "exponentiated_gradient:dp", "reweighing"],
        save="threshold_optimizer:dp",
    )
    return run_audit(config)


def dp(row, feature):
    return next(c["value"] for c in row["cells"] if c["feature"] == feature)


def test_demographic_parity_mitigation_halves_the_gap(strong_run, strong_bias):
    rows = {r["name"]: r for r in strong_run.to_dict()["mitigation"]["strategies"]}
    baseline = rows["baseline"]
    # The planted bias shows: the baseline's race gap is large (measured 0.205 on this split).
    assert dp(baseline, "race") > 0.18
    # The comparison's disparity is the worst over every feature and intersection measured.
    worst = max(baseline["fairness"], key=lambda entry: dp(baseline, entry["feature"]))
    assert baseline["disparity"]["feature"] == worst["feature"]
    assert baseline["disparity"]["value"] == dp(baseline, worst["feature"])
    for name in (
        "threshold_optimizer:demographic_parity",
        "exponentiated_gradient:demographic_parity",
    ):
        row = rows[name]
        # The race gap is at most half the baseline's (measured: 0.052, 0.049), and so is the
        # worst gap over sex and race alone.
        assert dp(row, "race") <= 0.5 * dp(baseline, "race"), name
        assert max(dp(row, "sex"), dp(row, "race")) <= 0.5 * dp(baseline, "race"), name
        # Fairness has a price here: some accuracy is lost, but not much.
        assert baseline["accuracy"] - 0.06 < row["accuracy"] < baseline["accuracy"]


def duplicated(y, probability, *arrays):
    """Each row twice, decided positive with weight p and negative with weight 1 - p: the
    fairlearn / scikit-learn form of a randomized classifier's expected decisions."""
    n = len(y)
    decisions = np.repeat([1, 0], n)
    weights = np.concatenate([probability, 1 - probability])
    return (np.concatenate([y, y]), decisions, weights, *(np.concatenate([a, a]) for a in arrays))


def test_randomized_strategies_are_reported_at_their_expected_rates(strong_run, strong_bias):
    frame = pd.read_csv(strong_bias)
    _, test = _split(frame)
    y = frame["approved"].to_numpy()[test]
    rows = {r["name"]: r for r in strong_run.to_dict()["mitigation"]["strategies"]}
    model = strong_run.mitigated_model  # the threshold optimizer, saved
    X = models.as_model_input(frame.iloc[test], list(model.feature_names_in_))
    probability = model.predict_pmf(X)
    assert 0 < np.mean((probability > 0) & (probability < 1)) < 1  # some rows are drawn
    row = rows["threshold_optimizer:demographic_parity"]
    for feature in ("sex", "race"):
        y2, decisions, weights, groups = duplicated(y, probability, frame[feature].to_numpy()[test])
        expected = demographic_parity_difference(
            y2, decisions, sensitive_features=groups, sample_weight=weights
        )
        assert dp(row, feature) == pytest.approx(expected, abs=1e-12)
    y2, decisions, weights = duplicated(y, probability)
    assert row["accuracy"] == pytest.approx(
        accuracy_score(y2, decisions, sample_weight=weights), abs=1e-12
    )
    # The intersection the thresholds were fitted on shrinks too (measured 0.261 -> 0.13); its
    # smallest groups have ~50 held-out rows, so the held-out gap keeps some sampling noise.
    keys = group_key(frame.iloc[test], ["sex", "race"])
    before = demographic_parity_difference(
        y, (model.base_scores(X) >= 0.5).astype(int), sensitive_features=keys
    )
    _, _, _, keys2 = duplicated(y, probability, keys)
    after = demographic_parity_difference(
        y2, decisions, sensitive_features=keys2, sample_weight=weights
    )
    assert after < before / 1.5
    # Deterministic strategies are measured on their decisions, as before.
    assert "draws" not in rows["reweighing"] and "draws" not in rows["baseline"]


def test_the_draw_spread_contains_every_single_draw(strong_run, strong_bias):
    frame = pd.read_csv(strong_bias)
    _, test = _split(frame)
    y = frame["approved"].to_numpy()[test]
    row = next(
        r
        for r in strong_run.to_dict()["mitigation"]["strategies"]
        if r["name"] == "threshold_optimizer:demographic_parity"
    )
    spread = row["draws"]
    assert spread["count"] == 20 and spread["seeds"] == [3, 22]  # from the config seed (3) on
    columns = strong_run.to_dict()["mitigation"]["columns"]
    assert [c["feature"] for c in columns] == ["sex", "race", "sex × race"]
    model = copy.deepcopy(strong_run.mitigated_model)
    X = models.as_model_input(frame.iloc[test], list(model.feature_names_in_))
    keys = {
        "sex": frame["sex"].to_numpy()[test],
        "race": frame["race"].to_numpy()[test],
        "sex × race": group_key(frame.iloc[test], ["sex", "race"]),
    }
    gaps = []
    for seed in range(3, 23):
        model.random_state = seed  # the saved model's own draws, as a deployment makes them
        decisions = model.predict(X)
        accuracy = accuracy_score(y, decisions)
        low, high = spread["accuracy"]
        assert low - 1e-12 <= accuracy <= high + 1e-12
        by_column = []
        for column, (low, high) in zip(columns, spread["cells"], strict=True):
            gap = demographic_parity_difference(
                y, decisions, sensitive_features=keys[column["feature"]]
            )
            assert low - 1e-12 <= gap <= high + 1e-12, (seed, column)
            by_column.append(gap)
        gaps.append(max(by_column))
    # The bounds are attained: they are the smallest and largest single draw.
    assert spread["disparity"] == pytest.approx([min(gaps), max(gaps)], abs=1e-12)
    assert spread["disparity"][1] > spread["disparity"][0]  # draws do differ


def test_same_seed_gives_the_same_comparison(strong_run, strong_bias):
    config = config_for(
        strong_bias,
        strategies=["threshold_optimizer:dp", "exponentiated_gradient:dp", "reweighing"],
        save="threshold_optimizer:dp",
    )
    again = run_audit(config).to_dict()["mitigation"]

    def without_timings(mitigation):
        plain = copy.deepcopy(mitigation)
        for row in plain["strategies"]:
            row.pop("fit_seconds")
        return plain

    assert without_timings(again) == without_timings(strong_run.to_dict()["mitigation"])


# --- saving and re-auditing -----------------------------------------------------------------


@pytest.mark.parametrize(
    "strategy",
    [
        "threshold_optimizer:equalized_odds",  # randomized, sensitive columns as inputs
        "exponentiated_gradient:demographic_parity",  # randomized mixture
        "correlation_remover",  # fairlearn transformer, sensitive columns as inputs
        "reweighing",  # a plain scikit-learn pipeline
    ],
)
def test_saved_mitigated_model_reaudits_to_the_same_numbers(strong_bias, quick, tmp_path, strategy):
    first = tmp_path / "first"
    done = run_cli(
        "run",
        quick,
        "--data",
        strong_bias,
        *BASE,
        "--mitigate",
        strategy,
        "--save-mitigated",
        strategy,
        "--format",
        "json",
        "--out",
        first,
        "--quiet",
    )
    assert done.exit_code == 0, done.output
    result = json.loads((first / "results.json").read_text())
    saved = result["mitigation"]["saved"]
    assert saved["strategy"] == catalogue.canonical(strategy)
    path = first / catalogue.file_name(saved["strategy"])
    assert path.name == saved["file"] and path.stat().st_size > 0
    # Only the types rai-audit trusts are in the file (the loader would refuse others).
    assert set(sio.get_untrusted_types(file=path)) <= model_files.EXTRA_TRUSTED_TYPES

    again_dir = tmp_path / "again"
    done = run_cli(
        "run",
        quick,
        "--data",
        strong_bias,
        *BASE,
        "--model-file",
        path,
        "--test-size",
        "0.3",  # the rows the strategy was evaluated on (same seed, same split)
        "--format",
        "json",
        "--out",
        again_dir,
        "--quiet",
    )
    assert done.exit_code == 0, done.output
    again = json.loads((again_dir / "results.json").read_text())
    row = next(r for r in result["mitigation"]["strategies"] if r["name"] == saved["strategy"])
    assert again["performance"] == row["performance"]
    assert slim_fairness(again["fairness"]["features"]) == row["fairness"]
    assert again["model"]["input_columns"] == saved["input_columns"]
    # A randomized model is audited at its expected rates both times, and says so.
    randomized = catalogue.METHODS[catalogue.method_of(saved["strategy"])].randomized
    assert (row.get("draws") is not None) == randomized
    assert again["fairness"]["settings"]["decisions"] == ("expected" if randomized else "as made")
    assert again["model"]["decision_rule"]["text"].startswith("randomized") == randomized
    # The re-audited model is a mitigated one, and the report says so.
    assert again["mitigation"]["status"] == "not run"
    assert again["mitigation"]["reason"].startswith(
        f"The audited model is itself a mitigated model ({saved['strategy']},"
    )


def test_mitigating_a_loaded_model_equals_mitigating_it_when_trained(strong_bias, quick, tmp_path):
    strategies = ["--mitigate", "threshold_optimizer:tpr", "--mitigate", "reweighing"]
    trained, loaded = tmp_path / "trained", tmp_path / "loaded"
    done = run_cli(
        "run",
        quick,
        "--data",
        strong_bias,
        *BASE,
        *strategies,
        "-f",
        "json",
        "--out",
        trained,
        "-q",
    )
    assert done.exit_code == 0, done.output
    done = run_cli(
        "run",
        quick,
        "--data",
        strong_bias,
        *BASE,
        *strategies,
        "-f",
        "json",
        "--model-file",
        trained / "model.skops",
        "--test-size",
        "0.3",  # the same training rows for the strategies (same seed, same split)
        "--out",
        loaded,
        "-q",
    )
    assert done.exit_code == 0, done.output
    a = json.loads((trained / "results.json").read_text())["mitigation"]["strategies"]
    b = json.loads((loaded / "results.json").read_text())["mitigation"]["strategies"]
    for one, other in zip(a[1:], b[1:], strict=True):
        assert one["name"] == other["name"]
        assert one["performance"] == other["performance"]
        assert one["fairness"] == other["fairness"]


# --- the default set runs unless switched off ---------------------------------------------


@pytest.fixture(scope="module")
def small_credit(tmp_path_factory):
    """A small credit file and a config that leaves out what these tests do not check."""
    folder = tmp_path_factory.mktemp("small")
    make_scenario("credit", n_rows=2000, bias=1.0, seed=2).to_csv(
        folder / "credit.csv", index=False
    )
    (folder / "audit.yaml").write_text(
        "data: {path: credit.csv, target: approved, sensitive: [sex], drop: [applicant_id]}\n"
        "explain: {enabled: false}\n"
        "fairness: {bootstrap: {resamples: 200}}\n"
    )
    return folder


def test_run_without_mitigation_flags_compares_the_default_set(small_credit, tmp_path):
    out = tmp_path / "out"
    args = ["run", small_credit / "audit.yaml", "--model", "logistic_regression", "--out", out]
    done = run_cli(*args, "-f", "json", "-f", "html", "-q")
    assert done.exit_code == 0, done.output
    mitigation = json.loads((out / "results.json").read_text())["mitigation"]
    assert mitigation["status"] == "ran" and mitigation["requested"] == "default set"
    assert [r["name"] for r in mitigation["strategies"]] == ["baseline", *catalogue.DEFAULT_SET]
    assert mitigation["skipped"] == []
    randomized = [r["name"] for r in mitigation["strategies"] if r.get("draws")]
    assert randomized == [n for n in catalogue.DEFAULT_SET if n.startswith("threshold_optimizer")]
    html = (out / "report.html").read_text().replace("<wbr>", "")
    section = html[html.index('<section id="mitigation">') :]
    section = section[: section.index("</section>\n<section")]
    table = section[section.index('<table class="comparison">') : section.index("</table>")]
    assert table.count("<tr") == 1 + 1 + len(catalogue.DEFAULT_SET)
    assert "These are the default set" in section and "<code>--mitigate none</code>" in section
    for row in mitigation["strategies"]:
        if row.get("draws"):  # expected values, with the spread of single draws beside them
            low, high = row["draws"]["accuracy"]
            assert f"draws {low:.3f}–{high:.3f}" in table
    assert "<em>expected</em> rates" in section

    off = tmp_path / "off"
    done = run_cli(*args[:-1], off, "--mitigate", "none", "-f", "json", "-q")
    assert done.exit_code == 0, done.output
    mitigation = json.loads((off / "results.json").read_text())["mitigation"]
    assert mitigation["status"] == "not run" and mitigation["reason"].startswith("Switched off")


def test_the_default_set_skips_what_cannot_apply_and_says_why(small_credit, tmp_path):
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import Pipeline

    frame = pd.read_csv(small_credit / "credit.csv")
    features = [c for c in frame.columns if c not in ("approved", "applicant_id", "sex")]
    knn = Pipeline([("prepare", models.make_preprocessor()), ("knn", KNeighborsClassifier(25))])
    knn.fit(frame[features], frame["approved"])  # KNeighbors.fit takes no sample weights
    model_files.save_model(knn, tmp_path / "knn.skops")
    out = tmp_path / "out"
    args = ["run", small_credit / "audit.yaml", "--model-file", tmp_path / "knn.skops"]
    args += ["--test-size", "0.3"]  # rows to fit the strategies on (the file is not split)
    done = run_cli(*args, "--out", out, "-f", "json", "-q")
    assert done.exit_code == 0, done.output
    mitigation = json.loads((out / "results.json").read_text())["mitigation"]
    assert mitigation["status"] == "ran"
    names = [r["name"] for r in mitigation["strategies"]]
    assert names == ["baseline", *(n for n in catalogue.DEFAULT_SET if n != "reweighing")]
    (skipped,) = mitigation["skipped"]
    assert skipped["name"] == "reweighing" and "takes no sample_weight" in skipped["reason"]
    # Asked for by name, the same strategy stops the audit with that message (exit 2).
    done = run_cli(*args, "--mitigate", "reweighing", "--out", tmp_path / "named", "-q")
    assert done.exit_code == 2 and "takes no sample_weight" in done.output
    assert not (tmp_path / "named").exists()


# --- bad input ------------------------------------------------------------------------------


def test_mitigation_of_a_predictions_only_audit_is_refused(tmp_path):
    frame = pd.DataFrame(
        {"y": [0, 1] * 30, "g": ["a", "b", "c"] * 20, "score": np.linspace(0, 1, 60)}
    )
    data = tmp_path / "decisions.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "out"
    args = [
        "run",
        "--data",
        data,
        "--target",
        "y",
        "--sensitive",
        "g",
        "--score-column",
        "score",
        "--threshold",
        "0.5",
        "--out",
        out,
    ]
    done = run_cli(*args, "--mitigate", "all")
    assert done.exit_code == 2
    assert "predictions-only" in done.output and "nothing to mitigate" in done.output
    assert not out.exists()
    done = run_cli(*args, "--format", "json", "-q")  # not asked: the result says why not
    assert done.exit_code == 0, done.output
    mitigation = json.loads((out / "results.json").read_text())["mitigation"]
    assert mitigation["status"] == "not run" and "predictions-only" in mitigation["reason"]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--mitigate", "magic"], "unknown mitigation strategy 'magic'"),
        (["--mitigate", "threshold_optimizer:erp"], "cannot enforce error_rate_parity"),
        (["--mitigate", "grid_search"], "needs a constraint"),
        (["--mitigate", "none", "--save-mitigated", "reweighing"], "mitigation is off"),
    ],
)
def test_bad_mitigation_options_exit_2_naming_the_problem(strong_bias, tmp_path, flags, message):
    done = run_cli("run", "--data", strong_bias, *BASE, *flags, "--out", tmp_path / "o")
    assert done.exit_code == 2
    assert message in done.output
    assert "Traceback" not in done.output
    assert not (tmp_path / "o").exists()


def test_strategy_names_resolve_with_aliases_and_the_default_set():
    assert catalogue.resolve(["all"]) == list(catalogue.DEFAULT_SET)
    assert catalogue.resolve(["threshold-optimizer:eo", "reweighing", "all"]) == [
        "threshold_optimizer:equalized_odds",
        "reweighing",
        *[
            n
            for n in catalogue.DEFAULT_SET
            if n not in ("reweighing", "threshold_optimizer:equalized_odds")
        ],
    ]
    assert catalogue.resolve(["exponentiated_gradient:equal_opportunity"]) == [
        "exponentiated_gradient:true_positive_rate_parity"
    ]
    assert catalogue.resolve(["none"]) == []
    # Not set: the default set for an audit with a model, nothing for predictions-only.
    config = build_config(None, {"mitigation": {"save": "grid_search:erp"}})
    assert config.mitigation.strategies is None
    assert config.mitigation.to_run("train") == [
        *catalogue.DEFAULT_SET,
        "grid_search:error_rate_parity",  # saving implies running it
    ]
    assert build_config(None, {}).mitigation.to_run("model_file") == list(catalogue.DEFAULT_SET)
    assert build_config(None, {}).mitigation.to_run("predictions") == []
    named = build_config(None, {"mitigation": {"strategies": ["reweighing"], "save": "reweighing"}})
    assert named.mitigation.to_run("train") == ["reweighing"]


# --- the comparison and recommendation on constructed results (policy verdicts) ------------


def measured(accuracy, gaps, verdicts=None):
    """A result in the shape of audit.metrics.measure(), intervals and verdicts included."""
    return {
        "performance": {"accuracy": accuracy, "balanced_accuracy": accuracy - 0.01},
        "fairness": [
            {
                "feature": feature,
                "kind": "single",
                "groups": [],
                "disparities": [
                    {
                        "metric": "demographic_parity_difference",
                        "value": value,
                        "ci": [value - 0.02, value + 0.03],
                        "definition": "max - min",
                    }
                ],
            }
            for feature, value in gaps.items()
        ],
        "verdicts": [
            {
                "rule": f"{feature} dp <= 0.1",
                "feature": feature,
                "metric": "demographic_parity_difference",
                "op": "<=",
                "bound": 0.1,
                "value": gaps[feature],
                "ci": None,
                "verdict": verdict,
            }
            for feature, verdict in (verdicts or {}).items()
        ],
    }


def row(name, accuracy, gaps, verdicts=None, **flags):
    return {
        "name": name,
        "label": name.title(),
        "stage": "none" if name == "baseline" else "post-processing",
        "randomized": flags.get("randomized", False),
        "sensitive_at_prediction": flags.get("sensitive", False),
        **measured(accuracy, gaps, verdicts),
    }


def test_recommendation_is_the_most_accurate_strategy_that_passes_the_policy():
    rows = [
        row("baseline", 0.80, {"sex": 0.20}, {"sex": "fail"}),
        row("fails", 0.79, {"sex": 0.15}, {"sex": "fail"}),
        row("unsure", 0.78, {"sex": 0.09}, {"sex": "inconclusive"}),
        row("passes", 0.76, {"sex": 0.05}, {"sex": "pass"}, randomized=True, sensitive=True),
        row("passes_less_accurate", 0.74, {"sex": 0.02}, {"sex": "pass"}),
    ]
    result = compare.comparison(rows, "demographic_parity_difference")
    recommendation = result["recommendation"]
    assert recommendation["basis"] == "policy"
    assert recommendation["strategy"] == "passes"
    assert recommendation["ranking"][:2] == ["passes", "passes_less_accurate"]
    assert "sensitive attribute at prediction time" in recommendation["text"]
    assert "randomized" in recommendation["text"]
    assert [r["passes_policy"] for r in rows] == [False, False, False, True, True]
    assert rows[2]["cells"] == [
        {
            "feature": "sex",
            "metric": "demographic_parity_difference",
            "value": 0.09,
            "ci": [0.09 - 0.02, 0.09 + 0.03],
            "verdict": "inconclusive",
        }
    ]
    assert result["policy"] is True


def test_no_strategy_passing_is_said_plainly():
    rows = [
        row("baseline", 0.80, {"sex": 0.20, "race": 0.1}, {"sex": "fail", "race": "pass"}),
        row("a", 0.78, {"sex": 0.12, "race": 0.05}, {"sex": "fail", "race": "pass"}),
        row("b", 0.75, {"sex": 0.05, "race": 0.3}, {"sex": "pass", "race": "insufficient data"}),
    ]
    recommendation = compare.comparison(rows, "demographic_parity_difference")["recommendation"]
    assert recommendation["strategy"] is None
    assert recommendation["text"].startswith("None of the 3 options")
    assert "(1 of 2 rules not passed)" in recommendation["text"]


def test_a_baseline_that_passes_and_is_most_accurate_is_kept():
    rows = [
        row("baseline", 0.80, {"sex": 0.05}, {"sex": "pass"}),
        row("a", 0.78, {"sex": 0.01}, {"sex": "pass"}),
    ]
    recommendation = compare.comparison(rows, "demographic_parity_difference")["recommendation"]
    assert recommendation["strategy"] == "baseline"
    assert recommendation["text"].startswith("Keep the baseline")


def test_without_a_policy_nothing_is_recommended_and_options_are_ranked():
    rows = [
        row("baseline", 0.80, {"sex": 0.20}),
        row("dominated", 0.75, {"sex": 0.25}),
        row("fairer", 0.76, {"sex": 0.05}),
        row("fairest", 0.70, {"sex": 0.01}),
    ]
    result = compare.comparison(rows, "demographic_parity_difference")
    recommendation = result["recommendation"]
    assert result["policy"] is False
    assert recommendation["strategy"] is None
    assert recommendation["text"].startswith("No fairness policy is set")
    assert recommendation["ranking"] == ["baseline", "fairer", "fairest", "dominated"]
    assert [r["pareto_optimal"] for r in rows] == [True, False, True, True]


def test_pareto_front_by_hand():
    points = [(0.80, 0.20), (0.80, 0.20), (0.79, 0.21), (0.70, 0.01), (0.75, None)]
    # Equal points do not dominate each other; an undefined disparity is never on the front.
    assert compare.pareto_flags(points, ratio=False) == [True, True, False, True, False]
    # For a ratio, higher is fairer: (0.79, 0.90) is then the fairest.
    assert compare.pareto_flags([(0.80, 0.70), (0.79, 0.90), (0.78, 0.80)], ratio=True) == [
        True,
        True,
        False,
    ]


def test_html_shows_intervals_and_verdicts_from_a_constructed_result(demo_result):
    from audit.report.render import render_html

    rows = [
        row("baseline", 0.80, {"sex": 0.20}, {"sex": "fail"}),
        row("threshold_optimizer:demographic_parity", 0.76, {"sex": 0.05}, {"sex": "pass"}),
    ]
    mitigation = {**demo_result["mitigation"]}
    mitigation.update(compare.comparison(rows, "demographic_parity_difference"))
    for r in rows:
        r.update(
            fit_seconds=1.0,
            randomized_share=None,
            input_columns=[],
            decision_rule="rule",
            caveats=["a caveat"],
            details={},
        )
    html = render_html({**demo_result, "mitigation": mitigation}).replace("<wbr>", "")
    assert "[0.180, 0.230]" in html and "[0.030, 0.080]" in html  # the intervals
    assert 'class="verdict verdict-pass">pass<' in html
    assert 'class="verdict verdict-fail">fail<' in html
    assert '<tr class="recommended">' in html
    assert "<strong>Recommendation.</strong> Threshold_Optimizer:Demographic_Parity" in html


# --- the demo report ------------------------------------------------------------------------


def test_demo_compares_the_default_set_in_results_and_html(demo_dir, demo_result):
    mitigation = demo_result["mitigation"]
    assert mitigation["status"] == "ran"
    names = [r["name"] for r in mitigation["strategies"]]
    assert names == ["baseline", *catalogue.DEFAULT_SET]
    baseline = mitigation["strategies"][0]
    # The baseline row is the audit's own measurement, on the same rows.
    assert baseline["performance"] == demo_result["performance"]
    assert baseline["fairness"] == slim_fairness(demo_result["fairness"]["features"])
    assert mitigation["n_evaluated"] == demo_result["performance"]["n"] == 6000
    assert mitigation["group_key"] == "sex × race"

    html = (demo_dir / "report.html").read_text().replace("<wbr>", "")
    assert ">Bias mitigation</h2>" in html
    section = html[
        html.index('<section id="mitigation">') : html.index('<section id="explanations">')
    ]
    table = section[section.index('<table class="comparison">') : section.index("</table>")]
    assert table.count("<tr") == 1 + len(names)  # header + one row per strategy
    for r in mitigation["strategies"]:
        assert r["label"].replace("&", "&amp;") in section
        assert f"{r['accuracy']:.3f}" in section
        assert f"{r['balanced_accuracy']:.3f}" in section
        for cell in r["cells"]:
            assert f"{cell['value']:.3f}" in section
    assert 'alt="Scatter plot of accuracy against demographic parity difference' in section
    assert section.count("data:image/png;base64,") == 1
    # The demo has a policy; its planted bias is strong enough that no option passes it all.
    assert mitigation["recommendation"]["basis"] == "policy"
    assert "passes the policy" in section
    # The caveat on using the attribute at prediction: in the annex's strategy details, once
    # for the strategies that share it.
    annex = html[html.index('<section id="annex-mitigation"') :]
    annex = annex[: annex.index("</section>\n</details>")]
    assert annex.count("may be unlawful") == 1
    assert "random draws" in section
    # The threshold optimizers are randomized: expected values, and the range of 20 draws.
    for r in mitigation["strategies"]:
        assert ("draws" in r) == r["name"].startswith("threshold_optimizer"), r["name"]
        if "draws" in r:
            assert r["draws"]["count"] == 20 and r["draws"]["seeds"] == [0, 19]
            for spread in r["draws"]["cells"]:
                assert f"draws {spread[0]:.3f}–{spread[1]:.3f}" in section


def test_other_fairlearn_types_in_a_model_file_are_refused(tmp_path):
    from fairlearn.reductions import EqualizedOdds

    path = tmp_path / "eg.skops"
    sio.dump(ExponentiatedGradient(LogisticRegression(), EqualizedOdds()), path)
    with pytest.raises(Exception, match="ExponentiatedGradient") as caught:
        model_files.load_model(path)
    assert type(caught.value).__name__ == "AuditError"
    assert "does not load" in str(caught.value)


def test_one_feature_or_an_intersection_keys_the_groups(strong_bias):
    # Ratio chosen and pinned to one feature: the plot's axis and the Pareto front follow it.
    single = run_audit(
        config_for(
            strong_bias,
            strategies=["threshold_optimizer:dp"],
            sensitive=["race"],
            disparity="demographic_parity_ratio",
            feature="race",
        )
    ).to_dict()["mitigation"]
    assert single["group_key"] == "race"
    assert set(single["training_group_sizes"]) == {"White", "Black", "Hispanic", "Asian", "Other"}
    rules = single["strategies"][1]["details"]["rules"]
    assert [t["group"] for t in rules] == sorted(single["training_group_sizes"])
    assert single["disparity"]["better"] == "higher"
    assert single["columns"] == [{"feature": "race", "metric": "demographic_parity_ratio"}]
    baseline, mitigated = single["strategies"]
    assert mitigated["disparity"]["value"] > baseline["disparity"]["value"]  # ratio rose

    both = run_audit(config_for(strong_bias, strategies=["threshold_optimizer:dp"])).to_dict()
    groups = both["mitigation"]["training_group_sizes"]
    assert both["mitigation"]["group_key"] == "sex × race"
    assert len(groups) == 10 and "female × Black" in groups
    assert sum(groups.values()) == both["data"]["n_train"]


@pytest.mark.parametrize(
    ("mitigation", "message"),
    [
        ({"feature": "region"}, "mitigation.feature 'region' is not a measured sensitive"),
        ({"sensitive": ["region"]}, "mitigation.sensitive names region"),
        ({"disparity": "dp"}, "'mitigation.disparity'"),
        ({"options": {"grid_search": {"grid_sise": 5}}}, "allowed keys here: grid_size"),
    ],
)
def test_bad_mitigation_config_exits_2_naming_the_key(strong_bias, tmp_path, mitigation, message):
    import yaml

    config = {
        "data": {
            "path": str(strong_bias),
            "target": "approved",
            "sensitive": ["sex", "race"],
            "drop": ["applicant_id"],
        },
        "model": {"name": "logistic_regression"},
        "mitigation": {"strategies": ["reweighing"], **mitigation},
        "output": {"dir": str(tmp_path / "o")},
    }
    path = tmp_path / "audit.yaml"
    path.write_text(yaml.safe_dump(config))
    done = run_cli("run", path)
    assert done.exit_code == 2, done.output
    assert message in done.output
    assert not (tmp_path / "o").exists()


def test_a_policy_rule_on_a_non_disparity_metric_shows_its_own_value():
    base = row("baseline", 0.80, {"sex": 0.05}, {"sex": "pass"})
    base["verdicts"].append(
        {
            "rule": "accuracy >= 0.82",
            "feature": None,
            "metric": "accuracy",
            "op": ">=",
            "bound": 0.82,
            "value": 0.80,
            "ci": [0.79, 0.81],
            "verdict": "fail",
        }
    )
    result = compare.comparison([base], "demographic_parity_difference")
    assert result["columns"][1] == {"feature": "None", "metric": "accuracy"}
    assert base["cells"][1]["value"] == 0.80 and base["cells"][1]["ci"] == [0.79, 0.81]
    assert base["cells"][1]["verdict"] == "fail" and base["passes_policy"] is False
    assert result["recommendation"]["strategy"] is None
