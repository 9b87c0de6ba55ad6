"""Synthetic scenarios for the teaching exercises (``examples/exercises/``): one planted cause each.

Each generator is deterministic from its seed and plants exactly one cause of unfairness
whose parameters are module constants, so an exercise's answer key can be derived from
them and the tests can prove the audit finds them. Unlike :mod:`audit.datasets.synthetic`
the data is clean (no missing values or duplicates): each exercise teaches one thing.

* :func:`make_label_bias` — historical decisions used as labels: the ``hired`` label is
  ``LABEL_BIAS`` log-odds lower for women than ``qualified``, the label the same skills
  would have earned without the bias (drawn from the same uniforms).
* :func:`make_representation_bias` — a rare group (``RARE_SHARE`` of rows) whose outcome
  depends on a different measurement than the majority's.
* :func:`make_measurement_bias` — ``test_score`` measures ability with far more noise for
  second-language speakers (``TEST_NOISE``); ``essay_score`` is equally noisy for all.
* :func:`make_proxy` — a label bias against one race, and ``neighbourhood``, a "neutral"
  input that encodes race.
* :func:`make_historical_bias` — a label bias plus a historical income gap: reweighing the
  training rows of a model not given the group leaves most of the selection gap.
* :func:`make_scores` — scores already made, for the threshold and uncertainty exercises:
  group base rates differ, and the score is an honest probability for everybody.
* :func:`make_tuning` — a label bias against group B that ``postcode_risk`` carries into the
  model, and approvals rare enough that ``class_weight`` moves the parity ratio.
* :func:`make_monitoring` — six months of decisions dated ``decided_on`` from ``FIRST_MONTH``;
  from month ``DRIFT_MONTH`` (1 = the first) on, the bureau that reports one group's
  ``credit_score`` switches to a scale ``SCORE_SHIFT`` points lower.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

# --- planted parameters (the exercises' answer keys are derived from these) -------------

LABEL_BIAS = 1.5  # log-odds taken from women's hiring labels
LABEL_BIAS_GROUP = "female"

RARE_GROUP, RARE_SHARE = "minority", 0.05

NOISY_GROUP, NOISY_FEATURE = "second_language", "test_score"
TEST_NOISE = {"native": 0.2, "second_language": 1.5}  # sd of the measurement error
ESSAY_NOISE = 1.5  # the same for both groups

PROXY_COLUMN, PROXY_OF = "neighbourhood", "race"
PROXY_BIAS = 1.2
NEIGHBOURHOODS = ("Northgate", "Riverside", "Hillcrest", "Eastfield", "Old Town")
# P(neighbourhood | race); rows White, Black: most Black applicants live in two areas.
NEIGHBOURHOOD_GIVEN_RACE = np.array(
    [[0.35, 0.30, 0.25, 0.05, 0.05], [0.04, 0.04, 0.07, 0.45, 0.40]]
)

HISTORICAL_LABEL_BIAS = 0.8
HISTORICAL_INCOME_GAP = 0.35  # log income lower for the disadvantaged group

SCORE_GROUPS = ("A", "B")
SCORE_BASE_LOGIT = {"A": 0.0, "B": -0.9}  # group B's base rate is lower

TUNING_BIAS = 1.5

DRIFT_MONTH, SCORE_SHIFT, DRIFT_GROUP = 4, 60.0, "B"
MONTHS = 6
FIRST_MONTH = "2024-01"  # the month the model was trained on (its decisions' dates start here)


def month_label(month: int) -> str:
    """Month ``month`` (1 = ``FIRST_MONTH``) as the time-window audit labels it: 2024-04."""
    return str(pd.Period(FIRST_MONTH, freq="M") + (month - 1))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _choice(rng: np.random.Generator, labels: tuple[str, ...], p: list[float], n: int):
    return np.asarray(labels, dtype=object)[rng.choice(len(labels), size=n, p=p)]


def make_label_bias(n_rows: int = 3000, seed: int = 0) -> pd.DataFrame:
    """Hiring: ``hired`` is the historical decision, ``qualified`` the unbiased label,
    ``split`` says which rows are for training and which for the audit.

    Skills are independent of sex; the same uniform draw decides both labels, so every
    difference between them is the planted bias (only women lose ``hired`` labels).
    """
    rng = np.random.default_rng(seed)
    sex = _choice(rng, ("female", "male"), [0.5, 0.5], n_rows)
    skill_test = np.round(rng.normal(60.0, 12.0, n_rows), 1)
    experience_years = np.round(rng.gamma(2.0, 2.5, n_rows), 1)
    logit = 0.1 + 0.12 * (skill_test - 60.0) + 0.15 * (experience_years - 5.0)
    uniform = rng.random(n_rows)
    penalised = (sex == LABEL_BIAS_GROUP).astype(float)
    return pd.DataFrame(
        {
            "sex": sex,
            "skill_test": skill_test,
            "experience_years": experience_years,
            "qualified": (uniform < _sigmoid(logit)).astype(int),
            "hired": (uniform < _sigmoid(logit - LABEL_BIAS * penalised)).astype(int),
            # the split the model is trained and audited on (30 % test), fixed by the seed
            "split": np.where(rng.random(n_rows) < 0.3, "test", "train"),
        }
    )


def make_representation_bias(n_rows: int = 4000, seed: int = 0) -> pd.DataFrame:
    """Screening: the rare group's condition shows in ``lab_value``, everyone else's in
    ``symptom_score``; a model fitted mostly on the majority misses the minority's."""
    rng = np.random.default_rng(seed)
    group = _choice(rng, ("majority", RARE_GROUP), [1 - RARE_SHARE, RARE_SHARE], n_rows)
    symptom_score = np.round(rng.normal(0.0, 1.0, n_rows), 3)
    lab_value = np.round(rng.normal(0.0, 1.0, n_rows), 3)
    signal = np.where(group == RARE_GROUP, lab_value, symptom_score)
    condition = (rng.random(n_rows) < _sigmoid(3.0 * signal)).astype(int)
    return pd.DataFrame(
        {
            "group": group,
            "symptom_score": symptom_score,
            "lab_value": lab_value,
            "condition": condition,
        }
    )


def make_measurement_bias(n_rows: int = 4000, seed: int = 0) -> pd.DataFrame:
    """Admissions: ``success`` depends on ability; ``test_score`` measures it with the
    noise of ``TEST_NOISE`` by language group, ``essay_score`` equally for everyone."""
    rng = np.random.default_rng(seed)
    language = _choice(rng, ("native", NOISY_GROUP), [0.6, 0.4], n_rows)
    ability = rng.normal(0.0, 1.0, n_rows)
    noise_sd = np.where(language == NOISY_GROUP, TEST_NOISE[NOISY_GROUP], TEST_NOISE["native"])
    test_score = np.round(50 + 10 * (ability + noise_sd * rng.normal(0.0, 1.0, n_rows)), 1)
    essay_score = np.round(50 + 10 * (ability + ESSAY_NOISE * rng.normal(0.0, 1.0, n_rows)), 1)
    success = (rng.random(n_rows) < _sigmoid(-0.3 + 4.0 * ability)).astype(int)
    return pd.DataFrame(
        {
            "language": language,
            "test_score": test_score,
            "essay_score": essay_score,
            "success": success,
        }
    )


def make_proxy(n_rows: int = 4000, seed: int = 0) -> pd.DataFrame:
    """Lending: a label bias of ``PROXY_BIAS`` log-odds against Black applicants, and
    ``neighbourhood``, which encodes race; every other input is independent of race."""
    rng = np.random.default_rng(seed)
    race = _choice(rng, ("White", "Black"), [0.7, 0.3], n_rows)
    black = (race == "Black").astype(int)
    cumulative = np.cumsum(NEIGHBOURHOOD_GIVEN_RACE, axis=1)[black]
    area = (rng.random(n_rows)[:, None] >= cumulative[:, :-1]).sum(axis=1)
    income = np.round(np.exp(rng.normal(np.log(45_000), 0.4, n_rows)), -2)
    debt_ratio = np.round(rng.beta(2.0, 5.0, n_rows), 3)
    years_at_address = rng.integers(0, 20, n_rows)
    logit = 0.3 + 1.8 * (np.log(income) - np.log(45_000)) - 3.0 * (debt_ratio - 0.29)
    logit = logit + 0.03 * (years_at_address - 10) - PROXY_BIAS * black
    return pd.DataFrame(
        {
            "race": race,
            PROXY_COLUMN: np.asarray(NEIGHBOURHOODS, dtype=object)[area],
            "income": income,
            "debt_ratio": debt_ratio,
            "years_at_address": years_at_address,
            "approved": (rng.random(n_rows) < _sigmoid(logit)).astype(int),
        }
    )


def make_historical_bias(n_rows: int = 4000, seed: int = 0) -> pd.DataFrame:
    """Lending after a history of exclusion: group B's incomes are lower
    (``HISTORICAL_INCOME_GAP`` in log income) *and* its labels carry a bias of
    ``HISTORICAL_LABEL_BIAS`` log-odds. Income legitimately predicts repayment here, so a
    model that is not told the group keeps most of the gap whatever the weights."""
    rng = np.random.default_rng(seed)
    group = _choice(rng, ("A", "B"), [0.6, 0.4], n_rows)
    is_b = (group == "B").astype(float)
    log_income = rng.normal(np.log(40_000), 0.35, n_rows) - HISTORICAL_INCOME_GAP * is_b
    savings = np.round(rng.gamma(2.0, 2_000.0, n_rows), -1)
    logit = 0.2 + 2.5 * (log_income - np.log(40_000)) + 0.0001 * (savings - 4_000)
    logit = logit - HISTORICAL_LABEL_BIAS * is_b
    return pd.DataFrame(
        {
            "group": group,
            "income": np.round(np.exp(log_income), -2),
            "savings": savings,
            "repaid": (rng.random(n_rows) < _sigmoid(logit)).astype(int),
        }
    )


def make_scores(n_rows: int = 4000, seed: int = 0) -> pd.DataFrame:
    """Scores already made: ``score`` is each row's true probability of ``label`` = 1
    (a perfectly calibrated model), and group B's scores are lower on average."""
    rng = np.random.default_rng(seed)
    group = _choice(rng, SCORE_GROUPS, [0.5, 0.5], n_rows)
    base = np.where(group == "A", SCORE_BASE_LOGIT["A"], SCORE_BASE_LOGIT["B"])
    score = _sigmoid(base + rng.normal(0.0, 1.5, n_rows))
    label = (rng.random(n_rows) < score).astype(int)
    return pd.DataFrame({"group": group, "score": np.round(score, 4), "label": label})


def make_tuning(n_rows: int = 3000, seed: int = 0) -> pd.DataFrame:
    """Credit with a label bias of ``TUNING_BIAS`` log-odds against group B, which
    ``postcode_risk`` (group membership plus noise) carries into a model that is not given the
    group. Approvals are the rarer class, so weighting them up (``class_weight: balanced``)
    selects more of both groups and raises the parity ratio, at a cost in accuracy."""
    rng = np.random.default_rng(seed)
    group = _choice(rng, ("A", "B"), [0.6, 0.4], n_rows)
    is_b = (group == "B").astype(float)
    income = rng.normal(0.0, 1.0, n_rows)
    history = rng.normal(0.0, 1.0, n_rows)
    postcode_risk = np.round(is_b + rng.normal(0.0, 0.7, n_rows), 3)
    logit = -1.0 + 1.0 * income + 0.8 * history - TUNING_BIAS * is_b
    return pd.DataFrame(
        {
            "group": group,
            "income": np.round(income, 3),
            "history": np.round(history, 3),
            "postcode_risk": postcode_risk,
            "approved": (rng.random(n_rows) < _sigmoid(logit)).astype(int),
        }
    )


def make_monitoring(rows_per_month: int = 1000, seed: int = 0) -> pd.DataFrame:
    """``MONTHS`` months of applications, each dated (``decided_on``, ISO text) on a day of
    its month from ``FIRST_MONTH`` on; repayment depends on the true credit score the same
    way every month, but from month ``DRIFT_MONTH`` on group ``DRIFT_GROUP``'s recorded
    ``credit_score`` is ``SCORE_SHIFT`` points below the true one (a new bureau's scale)."""
    rng = np.random.default_rng(seed)
    n = rows_per_month * MONTHS
    month = np.repeat(np.arange(1, MONTHS + 1), rows_per_month)
    group = _choice(rng, ("A", "B"), [0.6, 0.4], n)
    true_score = rng.normal(650.0, 60.0, n)
    income = np.round(np.exp(rng.normal(np.log(40_000), 0.3, n)), -2)
    logit = 0.3 + 0.03 * (true_score - 650.0) + 1.0 * (np.log(income) - np.log(40_000))
    shifted = (group == DRIFT_GROUP) & (month >= DRIFT_MONTH)
    repaid = (rng.random(n) < _sigmoid(logit)).astype(int)
    starts = pd.to_datetime([month_label(m) + "-01" for m in range(1, MONTHS + 1)])
    day = pd.to_timedelta(rng.integers(0, 28, n), unit="D")  # every month has 28 days or more
    return pd.DataFrame(
        {
            "decided_on": (starts[month - 1] + day).strftime("%Y-%m-%d"),
            "group": group,
            "credit_score": np.round(true_score - SCORE_SHIFT * shifted),
            "income": income,
            "repaid": repaid,
        }
    )


# Name -> generator, as the exercises' questions.yaml name them (``data:``).
GENERATORS: dict[str, Callable[..., pd.DataFrame]] = {
    "label_bias": make_label_bias,
    "representation_bias": make_representation_bias,
    "measurement_bias": make_measurement_bias,
    "proxy": make_proxy,
    "historical_bias": make_historical_bias,
    "scores": make_scores,
    "tuning": make_tuning,
    "monitoring": make_monitoring,
}
