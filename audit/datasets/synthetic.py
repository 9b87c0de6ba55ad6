"""Synthetic audit scenarios with known, planted fairness and data-quality problems.

Every scenario follows the same recipe, so an audit's findings can be checked
against the ground truth:

* the sensitive attributes and the legitimate features are drawn independently,
  so with ``bias=0`` every group has the same expected positive rate;
* the label is drawn from ``sigmoid(f(legitimate features) - bias * penalised)``,
  i.e. ``bias`` is a historical label bias in log-odds units against the
  penalised groups;
* proxy columns are drawn conditionally on a sensitive attribute, so a model can
  rediscover the bias even when the sensitive columns are dropped;
* data-quality defects are planted: missing values and exact duplicate rows.

The uniform draws behind the labels do not depend on ``bias``: for one seed,
raising ``bias`` keeps every row and only turns some positive labels of the
penalised groups negative, so the group gap grows row by row, not just in
expectation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from audit.errors import AuditError

DUPLICATE_SHARE = 0.01

SEXES = ("female", "male")
RACES = ("White", "Black", "Hispanic", "Asian", "Other")
RACE_SHARES = (0.58, 0.18, 0.15, 0.07, 0.02)
REGIONS = ("Northeast", "Midwest", "Southeast", "Southwest", "West")
# P(region | race); rows follow RACES, columns follow REGIONS.  The near-diagonal
# layout makes region a strong proxy for race (Cramér's V about 0.6).
REGION_GIVEN_RACE = np.array(
    [
        [0.45, 0.44, 0.03, 0.03, 0.05],  # White
        [0.06, 0.06, 0.78, 0.05, 0.05],  # Black
        [0.04, 0.04, 0.07, 0.75, 0.10],  # Hispanic
        [0.08, 0.05, 0.04, 0.08, 0.75],  # Asian
        [0.20, 0.20, 0.20, 0.20, 0.20],  # Other
    ]
)
YES_NO = ("no", "yes")
# P(part_time | sex); rows follow SEXES: a moderate proxy for sex.
PART_TIME_GIVEN_SEX = np.array([[0.70, 0.30], [0.90, 0.10]])
EDUCATION = ("high_school", "some_college", "bachelor", "graduate")
EDUCATION_SHARES = (0.35, 0.25, 0.28, 0.12)

AGE_GROUPS = ("under 40", "40 and over")
DECADES = ("1980s", "1990s", "2000s", "2010s", "2020s")
# P(graduation decade | age group): a strong proxy for age.
DECADE_GIVEN_AGE_GROUP = np.array(
    [
        [0.00, 0.02, 0.13, 0.50, 0.35],  # under 40
        [0.40, 0.40, 0.15, 0.04, 0.01],  # 40 and over
    ]
)


class _Coded(NamedTuple):
    """A categorical column as integer codes into ``categories``."""

    categories: Sequence[str]
    codes: np.ndarray


def _check_args(n_rows: int, bias: float) -> None:
    """Raise ValueError for arguments no scenario can honour."""
    if isinstance(n_rows, bool) or not isinstance(n_rows, (int, np.integer)) or n_rows < 1:
        raise ValueError(f"n_rows must be a positive integer, got {n_rows!r}")
    if not np.isfinite(bias) or bias < 0:
        raise ValueError(f"bias must be a finite number >= 0 (log-odds units), got {bias!r}")


def _row_plan(rng: np.random.Generator, n_rows: int) -> tuple[int, np.ndarray]:
    """Number of distinct base rows, and the shuffled base-row index of every output row.

    About ``DUPLICATE_SHARE`` of the output rows are exact copies of other rows,
    so base rows plus duplicates add up to ``n_rows``.
    """
    n_dup = round(n_rows * DUPLICATE_SHARE)
    n_base = n_rows - n_dup
    copies = rng.choice(n_base, size=n_dup, replace=False)
    return n_base, rng.permutation(np.concatenate([np.arange(n_base), copies]))


def _conditional_choice(
    rng: np.random.Generator, probs_given: np.ndarray, given: np.ndarray
) -> np.ndarray:
    """Draw one category code per row from ``probs_given[given[row]]`` (vectorised)."""
    cumulative = np.cumsum(probs_given, axis=1)[given]
    return (rng.random(len(given))[:, None] >= cumulative[:, :-1]).sum(axis=1)


def _blank(rng: np.random.Generator, values: np.ndarray, share: float) -> np.ndarray:
    """Float copy of ``values`` with exactly ``round(share * n)`` random entries set to NaN."""
    out = values.astype(np.float64)
    out[rng.choice(len(out), size=round(share * len(out)), replace=False)] = np.nan
    return out


def _draw_labels(
    rng: np.random.Generator, logit: np.ndarray, penalised: np.ndarray, bias: float
) -> np.ndarray:
    """0/1 labels from the fair logit minus ``bias`` for each penalised membership."""
    # Draw the uniforms before using bias so that one seed gives the same rows for any bias.
    uniform = rng.random(len(logit))
    return (uniform < 1.0 / (1.0 + np.exp(-(logit - bias * penalised)))).astype(np.int64)


def _assemble(columns: Mapping[str, np.ndarray | _Coded], rows: np.ndarray) -> pd.DataFrame:
    """Frame of the base ``columns`` taken at ``rows`` (duplicates and shuffle applied)."""
    data: dict[str, pd.Series | np.ndarray] = {}
    for name, column in columns.items():
        if isinstance(column, _Coded):
            # One vectorised take of a tiny string Series is much faster than building
            # millions of Python strings.
            data[name] = (
                pd.Series(list(column.categories), dtype="str")
                .take(column.codes[rows])
                .reset_index(drop=True)
            )
        else:
            data[name] = column[rows]
    return pd.DataFrame(data)


def make_credit(n_rows: int = 20_000, bias: float = 1.0, seed: int = 0) -> pd.DataFrame:
    """Synthetic credit-approval data with planted bias, a race proxy and dirty data.

    Parameters
    ----------
    n_rows : int
        Number of rows returned, duplicates included.
    bias : float
        Historical label bias in log-odds units, subtracted from the approval
        logit once for female applicants and once for Black and Hispanic
        applicants (so Black and Hispanic women lose ``2 * bias``).  ``0`` gives
        labels that depend on the legitimate features only.
    seed : int
        Seed of the ``numpy.random.Generator``; equal arguments give equal frames.

    Returns
    -------
    pandas.DataFrame
        Columns ``applicant_id``, ``sex``, ``race``, ``age``, ``income``,
        ``debt_ratio``, ``credit_history_years``, ``employment_years``,
        ``late_payments``, ``loan_amount``, ``education``, ``region``,
        ``part_time`` and the target ``approved`` (1 = approved).

    Raises
    ------
    ValueError
        If ``n_rows`` is not a positive integer or ``bias`` is negative.

    Notes
    -----
    * ``sex`` is about 45 % female; ``race`` is White 58 %, Black 18 %,
      Hispanic 15 %, Asian 7 % and a deliberately small Other group of 2 %.
    * All legitimate features (age, education, income, debt_ratio, credit
      history, employment, late payments, loan amount) are drawn independently
      of sex and race.
    * ``region`` is a strong proxy for race (78 % of Black applicants live in the
      Southeast, 75 % of Hispanic applicants in the Southwest); ``part_time`` is
      a moderate proxy for sex (30 % of women, 10 % of men).
    * About 3 % of ``income`` and 2 % of ``employment_years`` are NaN and 1 %
      of the rows are exact copies of other rows (same ``applicant_id``).
    * The overall approval rate is about 57 % at ``bias=0`` and 44 % at ``bias=1``.
    """
    _check_args(n_rows, bias)
    rng = np.random.default_rng(seed)
    n, rows = _row_plan(rng, n_rows)

    sex = (rng.random(n) >= 0.45).astype(np.int64)  # 0 = female
    race = rng.choice(len(RACES), size=n, p=RACE_SHARES)
    region = _conditional_choice(rng, REGION_GIVEN_RACE, race)
    part_time = _conditional_choice(rng, PART_TIME_GIVEN_SEX, sex)

    age = np.clip(np.rint(rng.normal(42.0, 13.0, n)), 18, 80).astype(np.int64)
    education = rng.choice(len(EDUCATION), size=n, p=EDUCATION_SHARES)
    income = np.round(np.exp(np.log(38_000.0) + 0.25 * education + rng.normal(0.0, 0.5, n)))
    debt_ratio = np.round(1.5 * rng.beta(2.0, 5.0, n), 3)
    credit_history_years = rng.integers(0, age - 17)
    employment_years = np.round(np.minimum(rng.exponential(6.0, n), age - 18), 1)
    late_payments = rng.poisson(0.4 + 1.2 * debt_ratio)
    loan_amount = np.maximum(np.round(income * rng.uniform(0.05, 0.6, n), -2), 500).astype(np.int64)

    # Centred around typical values so the intercept sets the base rate.
    logit = (
        0.15
        + 2.0 * (np.log(income) - np.log(50_000.0))
        - 2.5 * (debt_ratio - 0.43)
        + 0.04 * (credit_history_years - 12)
        - 0.6 * (late_payments - 0.9)
        + 0.05 * (employment_years - 5)
        - 1.5 * (loan_amount / income - 0.33)
        + 0.15 * education
    )
    penalised = (sex == 0).astype(np.int64) + np.isin(race, [1, 2])
    approved = _draw_labels(rng, logit, penalised, bias)

    columns = {
        "applicant_id": rng.permutation(n).astype(np.int64) + 100_001,
        "sex": _Coded(SEXES, sex),
        "race": _Coded(RACES, race),
        "age": age,
        "income": _blank(rng, income, 0.03),
        "debt_ratio": debt_ratio,
        "credit_history_years": credit_history_years,
        "employment_years": _blank(rng, employment_years, 0.02),
        "late_payments": late_payments,
        "loan_amount": loan_amount,
        "education": _Coded(EDUCATION, education),
        "region": _Coded(REGIONS, region),
        "part_time": _Coded(YES_NO, part_time),
        "approved": approved,
    }
    return _assemble(columns, rows)


def make_hiring(n_rows: int = 5_000, bias: float = 1.0, seed: int = 0) -> pd.DataFrame:
    """Synthetic hiring decisions with planted gender and age bias and an age proxy.

    Parameters
    ----------
    n_rows : int
        Number of rows returned, duplicates included.
    bias : float
        Historical label bias in log-odds units, subtracted from the hiring
        logit once for women and once for candidates aged 40 and over.
    seed : int
        Seed of the ``numpy.random.Generator``; equal arguments give equal frames.

    Returns
    -------
    pandas.DataFrame
        Columns ``candidate_id``, ``gender``, ``age_group``,
        ``graduation_decade``, ``education``, ``experience_years``,
        ``skills_test``, ``interview_score`` and the target ``hired`` (1 = hired).

    Raises
    ------
    ValueError
        If ``n_rows`` is not a positive integer or ``bias`` is negative.

    Notes
    -----
    ``gender`` is 40 % female and ``age_group`` 30 % "40 and over";
    ``graduation_decade`` is a strong proxy for ``age_group``.  The legitimate
    features are independent of both.  2 % of ``interview_score`` is NaN and 1 %
    of the rows are exact duplicates.  About 47 % are hired at ``bias=0``.
    """
    _check_args(n_rows, bias)
    rng = np.random.default_rng(seed)
    n, rows = _row_plan(rng, n_rows)

    gender = (rng.random(n) >= 0.40).astype(np.int64)  # 0 = female
    older = (rng.random(n) < 0.30).astype(np.int64)
    decade = _conditional_choice(rng, DECADE_GIVEN_AGE_GROUP, older)

    education = rng.choice(len(EDUCATION), size=n, p=EDUCATION_SHARES)
    experience_years = np.round(rng.gamma(2.0, 3.0, n), 1)
    skills_test = np.clip(np.rint(rng.normal(65.0, 15.0, n)), 0, 100).astype(np.int64)
    interview_score = np.round(np.clip(rng.normal(3.2, 0.8, n), 1.0, 5.0), 1)

    logit = (
        -0.4
        + 0.06 * (skills_test - 65)
        + 1.0 * (interview_score - 3.2)
        + 0.08 * (experience_years - 6)
        + 0.2 * education
    )
    hired = _draw_labels(rng, logit, (gender == 0).astype(np.int64) + older, bias)

    columns = {
        "candidate_id": rng.permutation(n).astype(np.int64) + 1,
        "gender": _Coded(SEXES, gender),
        "age_group": _Coded(AGE_GROUPS, older),
        "graduation_decade": _Coded(DECADES, decade),
        "education": _Coded(EDUCATION, education),
        "experience_years": experience_years,
        "skills_test": skills_test,
        "interview_score": _blank(rng, interview_score, 0.02),
        "hired": hired,
    }
    return _assemble(columns, rows)


OFFERS = ("decline", "standard", "premium")
# P(part_time | sex) of the offers scenario; rows follow SEXES: a strong proxy for sex, so a
# model that never reads sex still learns the premium class's bias against women.
OFFERS_PART_TIME_GIVEN_SEX = np.array([[0.35, 0.65], [0.90, 0.10]])


def make_offers(n_rows: int = 6_000, bias: float = 1.0, seed: int = 0) -> pd.DataFrame:
    """Synthetic credit offers with three classes and one class planted less often for women.

    Parameters
    ----------
    n_rows : int
        Number of rows returned, duplicates included.
    bias : float
        Historical label bias in log-odds units, subtracted from the logit of the
        ``premium`` class for women only (the other classes' logits are fair).
    seed : int
        Seed of the ``numpy.random.Generator``; equal arguments give equal frames.

    Returns
    -------
    pandas.DataFrame
        Columns ``applicant_id``, ``sex``, ``age_group``, ``part_time`` (a proxy of sex),
        ``income``, ``debt_ratio``, ``history_years``, ``savings`` and the text target
        ``offer`` (``decline``, ``standard`` or ``premium``; a multiclass audit:
        ``data.task: multiclass``).

    Notes
    -----
    ``sex`` is 45 % female and ``age_group`` 30 % "40 and over"; the legitimate features
    are independent of both (``part_time`` aside), so with ``bias=0`` every group has the
    same expected share of each class. 3 % of ``income`` is NaN and 1 % of the rows are
    exact duplicates.
    The class is drawn from a softmax over three logits by one uniform per row (drawn
    before ``bias`` is used), so raising ``bias`` only moves women's premium offers to
    another class.
    """
    _check_args(n_rows, bias)
    rng = np.random.default_rng(seed)
    n, rows = _row_plan(rng, n_rows)

    sex = (rng.random(n) >= 0.45).astype(np.int64)  # 0 = female
    older = (rng.random(n) < 0.30).astype(np.int64)
    part_time = _conditional_choice(rng, OFFERS_PART_TIME_GIVEN_SEX, sex)
    income = np.round(rng.lognormal(10.8, 0.45, n), -2)
    debt_ratio = np.round(np.clip(rng.beta(2.0, 5.0, n), 0.0, 1.0), 3)
    history_years = np.round(rng.gamma(2.5, 3.0, n), 1)
    savings = np.round(rng.lognormal(8.5, 1.0, n), -1)

    merit = (
        1.2 * (np.log(income) - 10.8) / 0.45
        - 3.0 * (debt_ratio - 0.286)
        + 0.08 * (history_years - 7.5)
        + 0.3 * (np.log(savings) - 8.5)
    )
    logits = np.column_stack([-merit, np.zeros(n), merit - 0.8 - bias * (sex == 0)])
    uniform = rng.random(n)  # drawn before bias matters: one seed, the same rows
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    cumulative = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    offer = (uniform[:, None] >= cumulative[:, :-1]).sum(axis=1)

    columns = {
        "applicant_id": rng.permutation(n).astype(np.int64) + 1,
        "sex": _Coded(SEXES, sex),
        "age_group": _Coded(AGE_GROUPS, older),
        "part_time": _Coded(YES_NO, part_time),
        "income": _blank(rng, income, 0.03),
        "debt_ratio": debt_ratio,
        "history_years": history_years,
        "savings": savings,
        "offer": _Coded(OFFERS, offer),
    }
    return _assemble(columns, rows)


@dataclass(frozen=True)
class Scenario:
    """A registered synthetic scenario and the audit settings that fit it.

    Attributes
    ----------
    name, description : str
        Registry key and a human-readable account of what is planted.
    target : str
        Label column.
    positive_label : int
        Value of ``target`` that is the favourable outcome.
    sensitive : tuple of str
        Protected-attribute columns to audit.
    proxy_columns : tuple of str
        Columns planted as proxies of a sensitive attribute.
    id_columns : tuple of str
        Identifier columns to drop from model inputs.
    n_rows, bias : int, float
        Defaults used by :meth:`make` when none are given.
    generator : callable
        ``generator(n_rows=..., bias=..., seed=...) -> DataFrame``.
    """

    name: str
    description: str
    target: str
    positive_label: int
    sensitive: tuple[str, ...]
    proxy_columns: tuple[str, ...]
    id_columns: tuple[str, ...]
    n_rows: int
    bias: float
    generator: Callable[..., pd.DataFrame]

    def make(
        self, n_rows: int | None = None, bias: float | None = None, seed: int = 0
    ) -> pd.DataFrame:
        """Generate the scenario, falling back to its default size and bias."""
        return self.generator(
            n_rows=self.n_rows if n_rows is None else n_rows,
            bias=self.bias if bias is None else bias,
            seed=seed,
        )


SCENARIOS: dict[str, Scenario] = {
    "credit": Scenario(
        name="credit",
        description=(
            "Credit approval (target 'approved', 1 = approved). Historical label bias of "
            "'bias' log-odds against female, Black and Hispanic applicants, while every "
            "legitimate feature is independent of sex and race. 'region' is a strong proxy "
            "for race and 'part_time' a moderate proxy for sex. Planted data-quality "
            "defects: 3% missing income, 2% missing employment_years, 1% exact duplicate "
            "rows, and a small 'Other' race group (2%)."
        ),
        target="approved",
        positive_label=1,
        sensitive=("sex", "race"),
        proxy_columns=("region", "part_time"),
        id_columns=("applicant_id",),
        n_rows=20_000,
        bias=1.0,
        generator=make_credit,
    ),
    "hiring": Scenario(
        name="hiring",
        description=(
            "Hiring decisions (target 'hired', 1 = hired). Historical label bias of 'bias' "
            "log-odds against women and candidates aged 40 and over; legitimate features "
            "are independent of both. 'graduation_decade' is a strong proxy for age_group. "
            "Planted defects: 2% missing interview_score and 1% exact duplicate rows."
        ),
        target="hired",
        positive_label=1,
        sensitive=("gender", "age_group"),
        proxy_columns=("graduation_decade",),
        id_columns=("candidate_id",),
        n_rows=5_000,
        bias=1.0,
        generator=make_hiring,
    ),
}


def make_scenario(
    name: str, n_rows: int | None = None, bias: float | None = None, seed: int = 0
) -> pd.DataFrame:
    """Generate the registered scenario ``name``.

    Parameters
    ----------
    name : str
        Key of :data:`SCENARIOS`.
    n_rows, bias : optional
        Override the scenario's default size and bias.
    seed : int
        Random seed; equal arguments give equal frames.

    Raises
    ------
    AuditError
        If the scenario is unknown or ``n_rows``/``bias`` are invalid.
    """
    try:
        scenario = SCENARIOS[name]
    except KeyError:
        raise AuditError(
            f"unknown scenario {name!r}; available: {', '.join(sorted(SCENARIOS))}"
        ) from None
    try:
        _check_args(
            scenario.n_rows if n_rows is None else n_rows,
            scenario.bias if bias is None else bias,
        )
    except ValueError as err:
        raise AuditError(f"scenario {name!r}: {err}") from None
    return scenario.make(n_rows=n_rows, bias=bias, seed=seed)
