"""Loaders for public fairness benchmark datasets, read from local files only.

Nothing here touches the network: the user downloads the original files once
and passes the directory that holds them.  Every loader applies the standard,
documented preprocessing and raises :class:`audit.errors.AuditError` naming
the file when it is absent or malformed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from audit.errors import AuditError

ADULT_COLUMNS = (
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status",
    "occupation", "relationship", "race", "sex", "capital-gain", "capital-loss",
    "hours-per-week", "native-country", "income",
)  # fmt: skip
ADULT_NUMERIC = ("age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week")

GERMAN_COLUMNS = (
    "status", "month", "credit_history", "purpose", "credit_amount", "savings",
    "employment", "investment_as_income_percentage", "personal_status",
    "other_debtors", "residence_since", "property", "age", "installment_plans",
    "housing", "number_of_credits", "skill_level", "people_liable_for",
    "telephone", "foreign_worker", "credit",
)  # fmt: skip
GERMAN_NUMERIC = (
    "month", "credit_amount", "investment_as_income_percentage", "residence_since",
    "age", "number_of_credits", "people_liable_for", "credit",
)  # fmt: skip
GERMAN_SEX = {"A91": "male", "A93": "male", "A94": "male", "A92": "female", "A95": "female"}

COMPAS_FILE = "compas-scores-two-years.csv"
COMPAS_REQUIRED = (
    "sex", "age", "race", "decile_score", "score_text", "days_b_screening_arrest",
    "is_recid", "c_charge_degree", "two_year_recid",
)  # fmt: skip
# Recorded after the screening: re-arrest, violent re-arrest and survival-analysis fields.
COMPAS_LEAKAGE = (
    "is_recid", "r_case_number", "r_charge_degree", "r_days_from_arrest",
    "r_offense_date", "r_charge_desc", "r_jail_in", "r_jail_out",
    "violent_recid", "is_violent_recid", "vr_case_number", "vr_charge_degree",
    "vr_offense_date", "vr_charge_desc", "start", "end", "event",
)  # fmt: skip

_SOURCES = {
    "adult": "https://archive.ics.uci.edu/dataset/2/adult",
    "german": "https://archive.ics.uci.edu/dataset/144/statlog+german+credit+data",
    "compas": "https://github.com/propublica/compas-analysis",
}


def _require_file(source_dir: str | Path, filename: str, dataset: str) -> Path:
    """Path of ``filename`` in ``source_dir``, or an AuditError telling the user how to get it."""
    path = Path(source_dir).expanduser() / filename
    if not path.is_file():
        where = "" if Path(source_dir).expanduser().is_dir() else " (the directory does not exist)"
        raise AuditError(
            f"{dataset}: file {filename!r} not found at {path}{where}. Download it from "
            f"{_SOURCES[dataset]} and put it in that directory; rai-audit never downloads data."
        )
    return path


def _read_csv(path: Path, dataset: str, **kwargs: Any) -> pd.DataFrame:
    """``pandas.read_csv`` with parse failures turned into an AuditError naming the file."""
    try:
        return pd.read_csv(path, **kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as err:
        raise AuditError(f"{dataset}: cannot parse {path.name!r} ({path}): {err}") from None


def _malformed(path: Path, dataset: str, problem: str) -> AuditError:
    return AuditError(
        f"{dataset}: {path.name!r} ({path}) is malformed: {problem}. "
        f"Replace it with the original file from {_SOURCES[dataset]}."
    )


def _check_numeric(df: pd.DataFrame, columns: Iterable[str], path: Path, dataset: str) -> None:
    """Fail when a column that must be numeric was parsed as text (wrong file or separator)."""
    bad = [c for c in columns if not pd.api.types.is_numeric_dtype(df[c])]
    if bad:
        raise _malformed(path, dataset, f"non-numeric values in column(s) {', '.join(bad)}")


def _check_values(series: pd.Series, allowed: Iterable[object], path: Path, dataset: str) -> None:
    unexpected = sorted(set(series.dropna().unique()) - set(allowed), key=str)
    if unexpected:
        raise _malformed(path, dataset, f"unexpected values in {series.name!r}: {unexpected[:5]}")


def _strip_strings(df: pd.DataFrame) -> pd.DataFrame:
    for column in df.columns:
        if pd.api.types.is_string_dtype(df[column]):
            df[column] = df[column].str.strip()
    return df


def load_adult(source_dir: str | Path) -> pd.DataFrame:
    """UCI Adult (census income), train and test files concatenated.

    Parameters
    ----------
    source_dir : str or Path
        Directory holding the original UCI files ``adult.data`` and ``adult.test``.

    Returns
    -------
    pandas.DataFrame
        48,842 rows: the 15 UCI columns (age, workclass, fnlwgt, education,
        education-num, marital-status, occupation, relationship, race, sex,
        capital-gain, capital-loss, hours-per-week, native-country, income)
        plus ``split`` ("train" for adult.data, "test" for adult.test).

    Raises
    ------
    AuditError
        If a file is missing or malformed.

    Notes
    -----
    Standard preprocessing: no header, values separated by ", " (read with
    ``skipinitialspace``); line 1 of adult.test (``|1x3 Cross validator``) is
    skipped; strings are stripped; "?" becomes missing (NaN); the test labels'
    trailing dot is removed so ``income`` is ">50K" (positive label, 11,687
    rows) or "<=50K".  Rows with missing values (3,620, in workclass,
    occupation and native-country) are kept so the audit can report them;
    AIF360's ``AdultDataset`` drops them, leaving 45,222 complete rows.
    ``fnlwgt`` is a census sampling weight, not a person's attribute.
    """
    frames = []
    for filename, split, skip in (("adult.data", "train", 0), ("adult.test", "test", 1)):
        path = _require_file(source_dir, filename, "adult")
        df = _read_csv(
            path, "adult", header=None, names=list(ADULT_COLUMNS), index_col=False,
            sep=",", skipinitialspace=True, skiprows=skip, na_values=["?"],
            keep_default_na=False,
        )  # fmt: skip
        _check_numeric(df, ADULT_NUMERIC, path, "adult")
        df = _strip_strings(df)
        df["income"] = df["income"].str.removesuffix(".")
        _check_values(df["income"], (">50K", "<=50K"), path, "adult")
        if df["income"].isna().any():
            raise _malformed(path, "adult", "rows without an income label (too few fields)")
        df["split"] = split
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def load_german(source_dir: str | Path) -> pd.DataFrame:
    """Statlog German Credit, with the derived ``sex`` and ``age_group`` columns.

    Parameters
    ----------
    source_dir : str or Path
        Directory holding the original UCI file ``german.data``.

    Returns
    -------
    pandas.DataFrame
        1,000 rows: the 21 UCI columns with AIF360's names (status, month,
        credit_history, purpose, credit_amount, savings, employment,
        investment_as_income_percentage, personal_status, other_debtors,
        residence_since, property, age, installment_plans, housing,
        number_of_credits, skill_level, people_liable_for, telephone,
        foreign_worker, credit) plus ``sex`` and ``age_group``.

    Raises
    ------
    AuditError
        If the file is missing or malformed.

    Notes
    -----
    Standard preprocessing (as in AIF360's ``GermanDataset``): space-separated,
    no header; categorical columns keep their UCI codes (A11, ...);
    ``sex`` is derived from ``personal_status`` (A91/A93/A94 male, A92/A95
    female: 690 male, 310 female); ``age_group`` is "over 25" when age > 25,
    else "25 or younger"; ``credit`` 1 -> "good" (positive label, 700 rows),
    2 -> "bad".  ``personal_status`` still encodes sex (and marital status), so
    it is a direct proxy for sex.
    """
    path = _require_file(source_dir, "german.data", "german")
    df = _read_csv(
        path, "german", sep=" ", header=None, names=list(GERMAN_COLUMNS), index_col=False
    )
    _check_numeric(df, GERMAN_NUMERIC, path, "german")
    _check_values(df["personal_status"], GERMAN_SEX, path, "german")
    _check_values(df["credit"], (1, 2), path, "german")
    if df.isna().any().any():
        raise _malformed(path, "german", "missing fields (each line needs 21 values)")
    df["credit"] = df["credit"].map({1: "good", 2: "bad"})
    df["sex"] = df["personal_status"].map(GERMAN_SEX)
    df["age_group"] = (df["age"] > 25).map({True: "over 25", False: "25 or younger"})
    return df


def load_compas(source_dir: str | Path, propublica_filter: bool = False) -> pd.DataFrame:
    """ProPublica COMPAS two-year recidivism data.

    Parameters
    ----------
    source_dir : str or Path
        Directory holding ``compas-scores-two-years.csv`` from ProPublica's
        compas-analysis repository.
    propublica_filter : bool
        Apply ProPublica's standard row filter (6,172 rows) instead of keeping
        all 7,214 rows.

    Returns
    -------
    pandas.DataFrame
        The file's columns, without the repeated ``decile_score.1`` and
        ``priors_count.1``.  Target ``two_year_recid`` (1 = reoffended within
        two years); ``decile_score`` (1-10) and ``score_text`` are COMPAS's own
        risk predictions.

    Raises
    ------
    AuditError
        If the file is missing or malformed.

    Notes
    -----
    The CSV names ``decile_score`` and ``priors_count`` twice with equal
    values; pandas renames the second copies to ``.1`` and they are dropped.
    ProPublica's filter keeps rows with ``days_b_screening_arrest`` between -30
    and 30 (inclusive), ``is_recid != -1``, ``c_charge_degree != "O"`` and a
    ``score_text`` other than "N/A"; rows with missing values in these columns
    fail it, as in ProPublica's R analysis.  The positive label (1, reoffended)
    is the unfavourable outcome.
    """
    path = _require_file(source_dir, COMPAS_FILE, "compas")
    df = _read_csv(path, "compas")
    missing = [c for c in COMPAS_REQUIRED if c not in df.columns]
    if missing:
        raise _malformed(path, "compas", f"missing column(s) {', '.join(missing)}")
    _check_numeric(df, ("age", "decile_score", "is_recid", "two_year_recid"), path, "compas")
    df = df.drop(columns=[c for c in df.columns if c.endswith(".1") and c[:-2] in df.columns])
    if propublica_filter:
        keep = (
            df["days_b_screening_arrest"].between(-30, 30)
            & (df["is_recid"] != -1)
            & (df["c_charge_degree"] != "O")
            & df["score_text"].notna()
            & (df["score_text"] != "N/A")
        )
        df = df[keep].reset_index(drop=True)
    return df


@dataclass(frozen=True)
class PublicDataset:
    """A public benchmark dataset: how to load it and how to audit it.

    Attributes
    ----------
    name, description : str
        Registry key and a short account of the data.
    files : tuple of str
        File names the loader expects in ``source_dir``.
    target : str
        Label column.
    positive_label : str or int
        Value of ``target`` treated as the positive class.
    sensitive : tuple of str
        Suggested protected-attribute columns.
    id_columns : tuple of str
        Identifier and bookkeeping columns to drop from model inputs.
    leakage_columns : tuple of str
        Columns recorded after the outcome; a model trained on them leaks the target.
    loader : callable
        ``loader(source_dir, **options) -> DataFrame``.
    """

    name: str
    description: str
    files: tuple[str, ...]
    target: str
    positive_label: str | int
    sensitive: tuple[str, ...]
    id_columns: tuple[str, ...]
    leakage_columns: tuple[str, ...]
    loader: Callable[..., pd.DataFrame]


PUBLIC_DATASETS: dict[str, PublicDataset] = {
    "adult": PublicDataset(
        name="adult",
        description=(
            "UCI Adult census income (48,842 rows, train + test): predict income >50K. "
            "Missing values ('?') are kept; AIF360 drops them (45,222 rows)."
        ),
        files=("adult.data", "adult.test"),
        target="income",
        positive_label=">50K",
        sensitive=("sex", "race"),
        id_columns=("fnlwgt", "split"),
        leakage_columns=(),
        loader=load_adult,
    ),
    "german": PublicDataset(
        name="german",
        description=(
            "Statlog German Credit (1,000 rows): good vs bad credit risk; sex is derived "
            "from personal_status, age_group splits at 25."
        ),
        files=("german.data",),
        target="credit",
        positive_label="good",
        sensitive=("sex", "age_group"),
        id_columns=(),
        leakage_columns=(),
        loader=load_german,
    ),
    "compas": PublicDataset(
        name="compas",
        description=(
            "ProPublica COMPAS two-year recidivism (7,214 rows; 6,172 with "
            "propublica_filter=True): 1 = reoffended, the unfavourable outcome. "
            "decile_score/score_text are the COMPAS predictions to audit."
        ),
        files=(COMPAS_FILE,),
        target="two_year_recid",
        positive_label=1,
        sensitive=("race", "sex"),
        id_columns=("id", "name", "first", "last", "c_case_number"),
        leakage_columns=COMPAS_LEAKAGE,
        loader=load_compas,
    ),
}


def load_public(name: str, source_dir: str | Path, **options: Any) -> pd.DataFrame:
    """Load the registered public dataset ``name`` from local files in ``source_dir``.

    Parameters
    ----------
    name : str
        Key of :data:`PUBLIC_DATASETS`.
    source_dir : str or Path
        Directory holding the dataset's files.
    **options
        Passed to the loader (e.g. ``propublica_filter=True`` for "compas").

    Raises
    ------
    AuditError
        If the name is unknown or a file is missing or malformed.
    """
    try:
        dataset = PUBLIC_DATASETS[name]
    except KeyError:
        raise AuditError(
            f"unknown public dataset {name!r}; available: {', '.join(sorted(PUBLIC_DATASETS))}"
        ) from None
    return dataset.loader(source_dir, **options)
