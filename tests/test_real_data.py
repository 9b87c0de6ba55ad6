"""Real data end to end: an audit ends with a verdict (exit 0 or 1), never an internal error.

The public files in ../shared/data (Adult as UCI distributes it, German credit, COMPAS) are
each trained with every registry model, re-audited from the saved model file and audited as
predictions already made; those cases skip when the folder is absent. Synthetic frames of
the same shapes run always: text columns with missing values and '?' markers, text labels
('>50K.', 'approved'), extra columns in a regression audit, a Parquet file, repeated and
nested columns. The audits run in-process with small settings (JSON only, mitigation off,
100 resamples, a small explanation budget) to keep the suite quick.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli

from audit.datasets import PUBLIC_DATASETS, load_adult, load_compas, load_german
from audit.models import REGISTRY

MODELS = sorted(REGISTRY)
FAST = """\
explain: {sample_size: 50, min_group_rows: 5, background_size: 10, budget_seconds: 0.5,
          plot_rows: 20}
fairness: {bootstrap: {resamples: 100}}
"""
# The registry's ensembles with fewer trees / iterations: the same code paths, a fifth of the
# cost (the defaults are 100 of each).
SMALLER = {
    "random_forest": "model: {params: {n_estimators: 20}}\n",
    "hist_gradient_boosting": "model: {params: {max_iter: 20}}\n",
}


def audit(tmp_path: Path, name: str, *args, config: str = "", codes=(0, 1)) -> dict:
    """Run one audit in-process; fail on an exit code outside ``codes``; return results.json."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(FAST + config)
    out = tmp_path / name
    result = run_cli("run", path, *args, "--out", out, "--format", "json", "--quiet")
    assert result.exit_code in codes, result.output
    return json.loads((out / "results.json").read_text()) if result.exit_code != 2 else {}


def roles(result: dict) -> dict[str, str]:
    return {c["name"]: c["role"] for c in result["data"]["columns"]}


def check_sane(result: dict, sensitive: list[str]) -> None:
    """Numbers are present and in range, every sensitive attribute has groups."""
    performance = result["performance"]
    for metric in ("accuracy", "selection_rate"):
        assert 0.0 <= performance[metric] <= 1.0
    measured = {f["feature"] for f in result["fairness"]["features"]}
    assert set(sensitive) <= measured
    for block in result["fairness"]["features"]:
        assert len(block["groups"]) >= 2
        assert all(g["n"] > 0 for g in block["groups"])
    assert result["data"]["n_evaluated"] > 0
    given = roles(result)
    assert all(given[s].startswith("sensitive") for s in sensitive)
    assert given[result["data"]["target"]] == "target"


def train_then_reload(
    tmp_path: Path, name: str, model: str, args: list, sensitive: list[str], config: str = ""
):
    """Train ``model`` on the data, then audit the saved model file on the same data."""
    args = [*args, "--mitigate", "none"]
    smaller = SMALLER.get(model, "")
    trained = audit(tmp_path, f"{name}-{model}", *args, "--model", model, config=config + smaller)
    check_sane(trained, sensitive)
    assert trained["model"]["source"] == "trained"
    assert trained["explanations"]["status"] == "explained"
    model_file = tmp_path / f"{name}-{model}" / "model.skops"
    assert model_file.is_file()
    reloaded = audit(
        tmp_path, f"{name}-{model}-file", *args, "--model-file", model_file, config=config
    )
    check_sane(reloaded, sensitive)
    assert reloaded["model"]["source"] == "file"
    return trained, reloaded


def check_predictions_only(result: dict, column: str, role: str, sensitive: list[str]) -> None:
    check_sane(result, sensitive)
    given = roles(result)
    assert given[column] == role
    # No model is trained and no input declared: no other column is a feature.
    assert not [c for c, r in given.items() if r in ("feature", "sensitive + feature")]
    ran = {c["id"] for c in result["quality"]["checks"] if c["status"] == "ran"}
    assert not ran & {"unseen_categories", "distribution_shift", "train_test_overlap"}
    assert not ran & {"leakage", "proxy_association"}  # they need the (undeclared) inputs
    assert result["explanations"]["status"] == "no_model"
    assert "declare them (data.features)" in result["explanations"]["reason"]


# --- synthetic frames of the real shapes (always run) ---------------------------------------


def census_like(n: int = 900, seed: int = 0) -> pd.DataFrame:
    """Adult's shape: text columns with missing values, '?' kept as text, text labels with
    a trailing dot, numeric columns, a sensitive column with a few missing values."""
    rng = np.random.default_rng(seed)
    education = rng.integers(1, 17, n)
    frame = pd.DataFrame(
        {
            "age": rng.integers(17, 90, n),
            "workclass": rng.choice(["Private", "Self-emp", "State-gov", None], n),
            "occupation": rng.choice(["Sales", "Tech-support", "?", None], n),
            "education-num": education,
            "hours-per-week": rng.integers(1, 99, n),
            "capital-gain": np.where(rng.random(n) < 0.05, 99999, 0),
            "sex": rng.choice(["Male", "Female"], n),
            "race": rng.choice(["White", "Black", "Other", None], n, p=[0.6, 0.3, 0.08, 0.02]),
        }
    )
    chance = 1 / (1 + np.exp(-(education - 10) / 2))
    frame["income"] = np.where(rng.random(n) < chance, ">50K.", "<=50K.")
    return frame


@pytest.mark.parametrize("model", MODELS)
def test_text_columns_with_missing_values_train_and_reload(tmp_path, model):
    path = tmp_path / "census.csv"
    census_like().to_csv(path, index=False)
    args = ["--data", path, "--target", "income", "--positive-label", ">50K."]
    args += ["--sensitive", "sex", "--sensitive", "race"]
    trained, _ = train_then_reload(tmp_path, "census", model, args, ["sex", "race"])
    # The explanation of a text input with missing values lists its categories, no NaN.
    rows = trained["explanations"]["rows"]["features"]
    for column in ("workclass", "occupation"):
        if column in rows:
            assert None not in rows[column]["categories"]
            assert all(isinstance(c, str) for c in rows[column]["categories"])
    groups = {g["group"] for b in trained["fairness"]["features"] for g in b["groups"]}
    assert "(missing)" in groups  # missing race is a group of its own
    found = {f["id"] for f in trained["quality"]["findings"]}
    assert "null_markers:occupation" in found  # '?' kept as a value is reported


def test_mitigation_compared_on_text_columns_with_missing_values(tmp_path):
    """The one case with mitigation on: the default set, retrained and post-processed on
    text inputs with missing values and a sensitive column with a missing group."""
    path = tmp_path / "census.csv"
    census_like().to_csv(path, index=False)
    args = ["--data", path, "--target", "income", "--positive-label", ">50K.", "--sensitive"]
    args += ["race", "--model", "logistic_regression", "--mitigate", "all"]
    result = audit(tmp_path, "mitigated", *args)
    check_sane(result, ["race"])
    mitigation = result["mitigation"]
    assert mitigation["status"] == "ran"
    strategies = [s for s in mitigation["strategies"] if s["name"] != "baseline"]
    assert len(strategies) >= 3
    assert all(0.0 <= s["accuracy"] <= 1.0 for s in strategies)


def test_text_decisions_with_text_labels_as_predictions(tmp_path):
    frame = census_like()
    frame["decision"] = np.where(frame["education-num"] >= 13, "approved", "denied")
    frame["income"] = np.where(frame["income"] == ">50K.", "approved", "denied")
    path = tmp_path / "decided.csv"
    frame.to_csv(path, index=False)
    args = ["--data", path, "--target", "income", "--positive-label", "approved"]
    args += ["--sensitive", "sex", "--prediction-column", "decision"]
    result = audit(tmp_path, "decided", *args)
    check_predictions_only(result, "decision", "prediction", ["sex"])
    expected = (frame["decision"] == "approved").mean()
    assert result["performance"]["selection_rate"] == pytest.approx(expected)


def test_parquet_with_text_categorical_and_boolean_columns(tmp_path):
    frame = census_like(seed=1)
    frame["workclass"] = frame["workclass"].astype("category")
    frame["married"] = pd.array(np.resize([True, False, None], len(frame)), dtype="boolean")
    path = tmp_path / "census.parquet"
    frame.to_parquet(path)
    args = ["--data", path, "--target", "income", "--positive-label", ">50K."]
    args += ["--sensitive", "sex", "--model", "logistic_regression", "--mitigate", "none"]
    result = audit(tmp_path, "parquet", *args)
    check_sane(result, ["sex"])
    assert roles(result)["workclass"] == roles(result)["married"] == "feature"


def regression_frame(n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "group": rng.choice(["a", "b"], n),
            "size": rng.normal(100, 20, n),
            "district": rng.choice(["north", "south", None], n),
            "record": np.arange(n),
        }
    )
    frame["price"] = 3 * frame["size"] + rng.normal(0, 30, n)
    frame["predicted"] = 3 * frame["size"]
    frame["listed_price"] = frame["price"] * 1.02 + 5  # known only after the sale: a leak
    return frame


def test_regression_with_extra_columns(tmp_path):
    """Extra columns are listed as not used; the checks of outcomes are skipped, with why."""
    path = tmp_path / "prices.csv"
    regression_frame().to_csv(path, index=False)
    args = ["--data", path, "--target", "price", "--sensitive", "group"]
    result = audit(
        tmp_path, "prices", *args, "--prediction-column", "predicted",
        config="data: {task: regression}\n",
    )  # fmt: skip
    assert roles(result) == {
        "group": "sensitive",
        "size": "not used",
        "district": "not used",
        "record": "not used",
        "price": "target",
        "predicted": "prediction",
        "listed_price": "not used",
    }
    status = {c["id"]: c["status"] for c in result["quality"]["checks"]}
    assert status["label_imbalance"] == status["base_rate"] == status["leakage"] == "skipped"
    assert status["missing_values"] == "ran"
    assert result["performance"]["mae"] > 0


def test_regression_leakage_by_correlation_of_declared_inputs(tmp_path):
    from scipy.stats import spearmanr

    frame = regression_frame()
    path = tmp_path / "prices.csv"
    frame.to_csv(path, index=False)
    args = ["--data", path, "--target", "price", "--sensitive", "group"]
    config = "data: {task: regression, features: [size, district, listed_price]}\n"
    result = audit(tmp_path, "declared", *args, "--prediction-column", "predicted", config=config)
    assert roles(result)["size"] == "feature" and roles(result)["record"] == "not used"
    table = {r["column"]: r for r in result["quality"]["tables"]["single_feature_correlation"]}
    rho = spearmanr(frame["size"], frame["price"])[0]
    assert table["size"]["correlation"] == pytest.approx(abs(rho))
    leaks = [f for f in result["quality"]["findings"] if f["check"] == "leakage"]
    assert [f["subject"] for f in leaks] == ["listed_price"]
    assert leaks[0]["severity"] == "warning"  # predictions-only: no model is fitted here


def test_repeated_column_names(tmp_path):
    frame = census_like(n=300)
    text = frame.to_csv(index=False).splitlines()
    # A second 'sex' column with other values: which one is meant is a guess, so refuse.
    differing = [f"{row},{'Female' if i % 2 else 'Male'}" for i, row in enumerate(text[1:])]
    path = tmp_path / "twice.csv"
    path.write_text("\n".join([text[0] + ",sex", *differing]) + "\n")
    args = ["--data", path, "--target", "income", "--positive-label", ">50K.", "--sensitive"]
    args += ["sex", "--model", "logistic_regression", "--mitigate", "none"]
    result = run_cli("run", *args, "--out", tmp_path / "o", "--format", "json", "-q")
    assert result.exit_code == 2
    assert "'sex' appears 2 times" in result.output and "different values" in result.output
    assert not (tmp_path / "o").exists()
    # An identical copy (COMPAS repeats two columns so) carries nothing new: it is dropped,
    # never read as a column 'sex.1' of its own (a model input beside the sensitive 'sex').
    same = [f"{row},{value}" for row, value in zip(text[1:], frame["sex"], strict=True)]
    path.write_text("\n".join([text[0] + ",sex", *same]) + "\n")
    kept = audit(tmp_path, "same", *args)
    assert "sex.1" not in roles(kept) and roles(kept)["sex"] == "sensitive"
    found = {f["id"]: f for f in kept["quality"]["findings"]}
    assert found["duplicates:columns"]["evidence"]["repeated_columns"] == {"sex": 2}


def test_nested_parquet_column_is_refused_unless_dropped(tmp_path):
    frame = census_like(n=300)
    frame["tags"] = [["a", "b"][: i % 3] for i in range(len(frame))]
    path = tmp_path / "nested.parquet"
    frame.to_parquet(path)
    args = ["--data", path, "--target", "income", "--positive-label", ">50K.", "--sensitive"]
    args += ["sex", "--model", "logistic_regression", "--mitigate", "none"]
    result = run_cli("run", *args, "--out", tmp_path / "o", "--format", "json", "-q")
    assert result.exit_code == 2
    assert "'tags' (feature)" in result.output and "--drop tags" in result.output
    dropped = audit(tmp_path, "dropped", *args, "--drop", "tags")
    assert "tags" not in roles(dropped)
    # A nested target cannot be dropped: refused before any of its values is read.
    frame["income"] = [[label] for label in frame["income"]]
    frame.drop(columns="tags").to_parquet(path)
    result = run_cli("run", *args, "--out", tmp_path / "o", "--format", "json", "-q")
    assert result.exit_code == 2 and "'income' (target)" in result.output


# --- the public datasets (skip without ../shared/data) --------------------------------------


@pytest.fixture(scope="module")
def public_csv(tmp_path_factory) -> dict[str, Path]:
    """Each public dataset read by its loader from the original files, written once."""
    from conftest import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data not present: public dataset files absent")
    folder = tmp_path_factory.mktemp("public")
    adult = load_adult(SHARED_DATA)
    adult["decision"] = np.where(
        (adult["education-num"] >= 13) | (adult["capital-gain"] > 5000), ">50K", "<=50K"
    )
    german = load_german(SHARED_DATA)
    german["score"] = 1 - german["month"] / german["month"].max()
    paths = {
        "adult": folder / "adult.csv",
        "german": folder / "german.parquet",  # one of them as Parquet
        "compas": folder / "compas.csv",
    }
    adult.to_csv(paths["adult"], index=False)
    german.to_parquet(paths["german"])
    load_compas(SHARED_DATA).to_csv(paths["compas"], index=False)
    return paths


# COMPAS: the inputs of the published analyses. The file's other columns (dates as text,
# case numbers, COMPAS's own scores) stay in the data, checked but not used.
COMPAS_INPUTS = """\
data: {features: [age, juv_fel_count, juv_misd_count, juv_other_count, priors_count,
                  c_charge_degree, c_charge_desc, days_b_screening_arrest]}
"""


def public_args(name: str, path: Path) -> list:
    """Target, positive label, sensitive and dropped columns from the dataset registry."""
    dataset = PUBLIC_DATASETS[name]
    args = ["--data", path, "--target", dataset.target]
    args += ["--positive-label", dataset.positive_label]
    for column in dataset.sensitive:
        args += ["--sensitive", column]
    extra = {"adult": ["decision"], "german": ["score"], "compas": []}[name]
    for column in [*dataset.id_columns, *dataset.leakage_columns, *extra]:
        args += ["--drop", column]
    return args


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("name", ["adult", "german", "compas"])
def test_public_dataset_trained_and_reloaded(public_csv, tmp_path, name, model):
    sensitive = list(PUBLIC_DATASETS[name].sensitive)
    args = public_args(name, public_csv[name])
    config = COMPAS_INPUTS if name == "compas" else ""
    train_then_reload(tmp_path, name, model, args, sensitive, config)


def test_adult_as_predictions(public_csv, tmp_path):
    args = ["--data", public_csv["adult"], "--target", "income", "--positive-label", ">50K"]
    args += ["--sensitive", "sex", "--sensitive", "race", "--prediction-column", "decision"]
    result = audit(tmp_path, "adult-pred", *args)
    check_predictions_only(result, "decision", "prediction", ["sex", "race"])
    assert result["data"]["n_rows"] == 48_842


def test_german_as_scores(public_csv, tmp_path):
    args = ["--data", public_csv["german"], "--target", "credit", "--positive-label", "good"]
    args += ["--sensitive", "sex", "--score-column", "score", "--threshold", "0.6"]
    result = audit(tmp_path, "german-score", *args)
    check_predictions_only(result, "score", "score", ["sex"])
    assert result["performance"]["roc_auc"] is not None


def test_compas_file_as_distributed_as_scores(shared_data, tmp_path):
    """ProPublica's file itself, with its two repeated columns (identical copies)."""
    args = ["--data", shared_data / "compas-scores-two-years.csv", "--target", "two_year_recid"]
    args += ["--sensitive", "race", "--score-column", "decile_score", "--threshold", "5"]
    result = audit(tmp_path, "compas-score", *args)
    check_predictions_only(result, "decile_score", "score", ["race"])
    assert "decile_score.1" not in roles(result)
    found = {f["id"]: f for f in result["quality"]["findings"]}
    repeated = found["duplicates:columns"]["evidence"]["repeated_columns"]
    assert repeated == {"decile_score": 2, "priors_count": 2}
