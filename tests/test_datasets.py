"""Tests for audit.datasets: synthetic scenarios and local public-dataset loaders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED_DATA
from pandas.testing import assert_frame_equal
from scipy.stats.contingency import association

from audit.datasets import (
    PUBLIC_DATASETS,
    SCENARIOS,
    load_adult,
    load_compas,
    load_german,
    load_public,
    make_credit,
    make_hiring,
    make_scenario,
)
from audit.errors import AuditError

DATA_DIR = SHARED_DATA  # ../shared/data, or RAI_AUDIT_SHARED_DATA

CREDIT_COLUMNS = [
    "applicant_id", "sex", "race", "age", "income", "debt_ratio",
    "credit_history_years", "employment_years", "late_payments", "loan_amount",
    "education", "region", "part_time", "approved",
]  # fmt: skip


@pytest.fixture(scope="module")
def credit() -> pd.DataFrame:
    return make_credit(n_rows=20_000, bias=1.0, seed=0)


@pytest.fixture(scope="module")
def data_dir() -> Path:
    if not DATA_DIR.is_dir():
        pytest.skip("../shared/data not present: public dataset files absent")
    return DATA_DIR


def _gap(df: pd.DataFrame, privileged: str, unprivileged: str) -> float:
    rates = df.groupby("race")["approved"].mean()
    return float(rates[privileged] - rates[unprivileged])


# --- synthetic -----------------------------------------------------------------


def test_credit_is_deterministic() -> None:
    assert_frame_equal(make_credit(5_000, bias=1.5, seed=7), make_credit(5_000, bias=1.5, seed=7))
    assert not make_credit(5_000, seed=1).equals(make_credit(5_000, seed=2))


def test_credit_row_count_and_columns(credit: pd.DataFrame) -> None:
    assert len(credit) == 20_000
    assert list(credit.columns) == CREDIT_COLUMNS
    assert len(make_credit(n_rows=137)) == 137


def test_credit_dtypes_and_ranges(credit: pd.DataFrame) -> None:
    for column in (
        "applicant_id",
        "age",
        "credit_history_years",
        "late_payments",
        "loan_amount",
        "approved",
    ):
        assert pd.api.types.is_integer_dtype(credit[column]), column
    for column in ("income", "debt_ratio", "employment_years"):
        assert pd.api.types.is_float_dtype(credit[column]), column
    for column in ("sex", "race", "education", "region", "part_time"):
        assert pd.api.types.is_string_dtype(credit[column]), column
    assert set(credit["sex"]) == {"female", "male"}
    assert set(credit["race"]) == {"White", "Black", "Hispanic", "Asian", "Other"}
    assert credit["education"].nunique() == 4
    assert credit["region"].nunique() == 5
    assert set(credit["part_time"]) == {"yes", "no"}
    assert set(credit["approved"]) == {0, 1}
    assert credit["age"].between(18, 80).all()
    assert credit["debt_ratio"].between(0, 1.5).all()
    assert (credit["income"].dropna() > 0).all()


def test_credit_group_shares(credit: pd.DataFrame) -> None:
    sex = credit["sex"].value_counts(normalize=True)
    race = credit["race"].value_counts(normalize=True)
    assert sex["female"] == pytest.approx(0.45, abs=0.02)
    assert race["White"] == pytest.approx(0.58, abs=0.02)
    assert race["Black"] == pytest.approx(0.18, abs=0.02)
    assert race["Other"] == pytest.approx(0.02, abs=0.01)
    assert 0.35 <= credit["approved"].mean() <= 0.65


def test_credit_planted_defects(credit: pd.DataFrame) -> None:
    assert credit["income"].isna().mean() == pytest.approx(0.03, abs=0.01)
    assert credit["employment_years"].isna().mean() == pytest.approx(0.02, abs=0.01)
    duplicates = credit.duplicated().sum()
    assert duplicates > 0
    assert duplicates / len(credit) == pytest.approx(0.01, abs=0.003)
    # Duplicates are whole-row copies, so they repeat the applicant_id too.
    assert credit["applicant_id"].duplicated().sum() == duplicates


def test_region_is_strong_race_proxy(credit: pd.DataFrame) -> None:
    table = pd.crosstab(credit["region"], credit["race"]).to_numpy()
    assert association(table, method="cramer") > 0.5


def test_part_time_is_moderate_sex_proxy(credit: pd.DataFrame) -> None:
    table = pd.crosstab(credit["part_time"], credit["sex"]).to_numpy()
    assert 0.1 < association(table, method="cramer") < 0.5


def test_approval_gap_grows_with_bias() -> None:
    gaps = [
        _gap(make_credit(50_000, bias=bias, seed=0), "White", "Black") for bias in (0.0, 1.0, 2.0)
    ]
    assert abs(gaps[0]) < 0.03
    assert gaps[0] < gaps[1] < gaps[2]


def test_no_bias_gives_equal_rates_for_sex() -> None:
    rates = make_credit(50_000, bias=0.0).groupby("sex")["approved"].mean()
    assert abs(rates["male"] - rates["female"]) < 0.03


def test_bias_only_flips_labels_of_penalised_groups() -> None:
    fair, biased = make_credit(5_000, bias=0.0), make_credit(5_000, bias=2.0)
    assert_frame_equal(fair.drop(columns="approved"), biased.drop(columns="approved"))
    changed = fair["approved"] != biased["approved"]
    penalised = (fair["sex"] == "female") | fair["race"].isin(["Black", "Hispanic"])
    assert changed.any()
    assert not (changed & ~penalised).any()
    assert (biased.loc[changed, "approved"] == 0).all()


@pytest.mark.parametrize("bias", [-0.1, float("nan")])
def test_invalid_bias_raises(bias: float) -> None:
    with pytest.raises(ValueError, match="bias"):
        make_credit(100, bias=bias)


@pytest.mark.parametrize("n_rows", [0, -5, 2.5])
def test_invalid_n_rows_raises(n_rows: int) -> None:
    with pytest.raises(ValueError, match="n_rows"):
        make_credit(n_rows)


def test_hiring_scenario() -> None:
    df = make_hiring(n_rows=30_000, bias=0.0)
    assert len(df) == 30_000
    assert df.duplicated().sum() > 0
    assert df["interview_score"].isna().any()
    rates = df.groupby("gender")["hired"].mean()
    assert abs(rates["male"] - rates["female"]) < 0.03
    biased = make_hiring(n_rows=30_000, bias=1.0).groupby("age_group")["hired"].mean()
    assert biased["under 40"] - biased["40 and over"] > 0.1
    table = pd.crosstab(df["graduation_decade"], df["age_group"]).to_numpy()
    assert association(table, method="cramer") > 0.5


def test_scenario_registry() -> None:
    assert {"credit", "hiring"} <= set(SCENARIOS)
    for name, scenario in SCENARIOS.items():
        assert scenario.name == name
        df = make_scenario(name, n_rows=500, seed=3)
        assert len(df) == 500
        assert_frame_equal(df, scenario.generator(n_rows=500, bias=scenario.bias, seed=3))
        for column in (
            scenario.target,
            *scenario.sensitive,
            *scenario.proxy_columns,
            *scenario.id_columns,
        ):
            assert column in df.columns, (name, column)
        assert scenario.positive_label in set(df[scenario.target])
    assert len(make_scenario("credit")) == SCENARIOS["credit"].n_rows


def test_make_scenario_errors_are_audit_errors() -> None:
    with pytest.raises(AuditError, match="credit"):
        make_scenario("no-such-scenario")
    with pytest.raises(AuditError, match="bias"):
        make_scenario("credit", bias=-1)


# --- public datasets -------------------------------------------------------------


def test_adult_counts(data_dir: Path) -> None:
    df = load_adult(data_dir)
    assert len(df) == 48_842
    assert df["sex"].value_counts().to_dict() == {"Male": 32_650, "Female": 16_192}
    assert (df["income"] == ">50K").sum() == 11_687
    assert set(df["income"]) == {">50K", "<=50K"}
    assert df["split"].value_counts().to_dict() == {"train": 32_561, "test": 16_281}
    assert len(df.dropna()) == 45_222
    assert not df.isin(["?"]).any().any()
    assert pd.api.types.is_integer_dtype(df["age"])


def test_german_counts(data_dir: Path) -> None:
    df = load_german(data_dir)
    assert len(df) == 1_000
    assert (df["credit"] == "good").sum() == 700
    assert df["sex"].value_counts().to_dict() == {"male": 690, "female": 310}
    assert set(df["age_group"]) == {"25 or younger", "over 25"}
    assert (df["age_group"] == "over 25").equals(df["age"] > 25)


def test_compas_counts(data_dir: Path) -> None:
    df = load_compas(data_dir)
    assert len(df) == 7_214
    assert not any(column.endswith(".1") for column in df.columns)
    race = df["race"].value_counts()
    assert race["African-American"] == 3_696
    assert race["Caucasian"] == 2_454
    assert set(df["two_year_recid"]) == {0, 1}
    assert df["decile_score"].between(1, 10).all()
    filtered = load_compas(data_dir, propublica_filter=True)
    assert len(filtered) == 6_172
    assert filtered["days_b_screening_arrest"].between(-30, 30).all()


def test_public_registry(data_dir: Path) -> None:
    for name, dataset in PUBLIC_DATASETS.items():
        df = load_public(name, data_dir)
        for column in (
            dataset.target,
            *dataset.sensitive,
            *dataset.id_columns,
            *dataset.leakage_columns,
        ):
            assert column in df.columns, (name, column)
        assert dataset.positive_label in set(df[dataset.target])
    assert len(load_public("compas", data_dir, propublica_filter=True)) == 6_172


# --- public dataset errors (no real files needed) ----------------------------------


@pytest.mark.parametrize(
    ("loader", "filename"),
    [
        (load_adult, "adult.data"),
        (load_german, "german.data"),
        (load_compas, "compas-scores-two-years.csv"),
    ],
)
def test_missing_directory_names_the_file(tmp_path: Path, loader, filename: str) -> None:
    with pytest.raises(AuditError, match=filename):
        loader(tmp_path / "does-not-exist")


def test_missing_second_file_names_it(tmp_path: Path) -> None:
    row = (
        "39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, "
        "White, Male, 2174, 0, 40, United-States, <=50K\n"
    )
    (tmp_path / "adult.data").write_text(row)
    with pytest.raises(AuditError, match="adult.test"):
        load_adult(tmp_path)


def test_malformed_files_raise_audit_error(tmp_path: Path) -> None:
    (tmp_path / "german.data").write_text("A11 6 A34\nA12 48 A32\n")
    with pytest.raises(AuditError, match="german.data"):
        load_german(tmp_path)
    (tmp_path / "compas-scores-two-years.csv").write_text("id,name\n1,someone\n")
    with pytest.raises(AuditError, match="compas-scores-two-years.csv"):
        load_compas(tmp_path)
    # A header line makes the numeric columns text: the wrong file variant.
    header = ", ".join(["age"] * 15) + "\n"
    (tmp_path / "adult.data").write_text(
        header + "39, x, 1, x, 13, x, x, x, x, x, 0, 0, 40, x, <=50K\n"
    )
    with pytest.raises(AuditError, match="adult.data"):
        load_adult(tmp_path)


def test_unknown_public_dataset(tmp_path: Path) -> None:
    with pytest.raises(AuditError, match="adult"):
        load_public("no-such-dataset", tmp_path)


def test_empty_file_raises_audit_error(tmp_path: Path) -> None:
    (tmp_path / "german.data").write_text("")
    with pytest.raises(AuditError, match="german.data"):
        load_german(tmp_path)


def test_large_frame_keeps_duplicate_share() -> None:
    df = make_credit(n_rows=200_000, bias=1.0, seed=1)
    assert len(df) == 200_000
    assert np.isclose(df.duplicated().mean(), 0.01, atol=0.001)
