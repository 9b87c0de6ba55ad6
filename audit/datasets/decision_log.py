"""A synthetic decision log of a deployed credit model, with a drift planted in one month.

Each row is one decision: when it was made (``decided_at``, a date as text), the
applicant's ``sex`` and ``age_group``, the model's ``score``, its decision ``approved``
(1 when the score is at least 0.5) and the outcome later observed, ``repaid``. The
applicants' merit is independent of sex and age group, and so, in every month but one,
are the scores and decisions. In ``drift_month`` the scores of female applicants fall by
``drift`` log-odds (e.g. a broken input feed for one group): that month's approval rate
of women drops, and its demographic parity difference by sex leaves the range of the
other months, which a fairness-over-time audit (``--time-column decided_at``) should flag
in that month only. The outcomes do not drift.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from audit.datasets.synthetic import AGE_GROUPS, SEXES


def make_decision_log(
    n_rows: int = 24_000,
    months: int = 12,
    drift_month: int | None = 7,
    drift: float = 1.5,
    start: str = "2024-01",
    seed: int = 0,
) -> pd.DataFrame:
    """A decision log of ``n_rows`` decisions spread evenly over ``months`` calendar months.

    Parameters
    ----------
    n_rows : int
        Decisions in the log (at least one per month).
    months : int
        Calendar months covered, from ``start`` (``YYYY-MM``).
    drift_month : int or None
        The month (1 = the first) whose female applicants' scores drop by ``drift`` log-odds;
        None plants no drift.
    drift : float
        Size of the drift in log-odds (>= 0).
    seed : int
        Random seed; equal arguments give equal frames.

    Returns
    -------
    DataFrame
        Columns ``decision_id``, ``decided_at`` (``YYYY-MM-DD`` text), ``sex``,
        ``age_group``, ``score``, ``approved`` (0/1) and ``repaid`` (0/1), in time order.

    Examples
    --------
    >>> log = make_decision_log(1200, months=3, drift_month=2, seed=1)
    >>> sorted(log["decided_at"].str[:7].unique())
    ['2024-01', '2024-02', '2024-03']
    """
    if months < 1 or n_rows < months:
        raise ValueError(f"need months >= 1 and n_rows >= months, got {n_rows=} {months=}")
    if drift_month is not None and not 1 <= drift_month <= months:
        raise ValueError(f"drift_month must be in 1..{months} or None, got {drift_month!r}")
    if not np.isfinite(drift) or drift < 0:
        raise ValueError(f"drift must be a finite number >= 0 (log-odds), got {drift!r}")
    rng = np.random.default_rng(seed)
    month = np.sort(np.arange(n_rows) % months)  # equal months, the remainder in the first
    first = pd.Period(start, freq="M")
    periods = [first + m for m in range(months)]
    days = np.array([p.days_in_month for p in periods])[month]
    day = (rng.random(n_rows) * days).astype(int)
    dates = pd.to_datetime([str(p.start_time.date()) for p in periods])[month]
    decided_at = (dates + pd.to_timedelta(day, unit="D")).strftime("%Y-%m-%d")
    female = rng.random(n_rows) < 0.5
    older = rng.random(n_rows) < 0.4
    merit = rng.normal(0.3, 1.2, n_rows)  # independent of sex and age group
    repaid = (rng.random(n_rows) < 1 / (1 + np.exp(-merit))).astype(np.int8)
    log_odds = merit + rng.normal(0.0, 0.6, n_rows)
    if drift_month is not None:
        log_odds = log_odds - drift * (female & (month == drift_month - 1))
    score = (1 / (1 + np.exp(-log_odds))).round(4)  # as logged; decisions read the same
    frame = pd.DataFrame(
        {
            "decided_at": decided_at,
            "sex": np.where(female, SEXES[0], SEXES[1]),
            "age_group": np.where(older, AGE_GROUPS[1], AGE_GROUPS[0]),
            "score": score,
            "approved": (score >= 0.5).astype(np.int8),
            "repaid": repaid,
        }
    )
    order = np.argsort(frame["decided_at"].to_numpy(), kind="stable")
    frame = frame.iloc[order].reset_index(drop=True)
    frame.insert(0, "decision_id", np.arange(1, n_rows + 1))  # numbered in time order
    return frame
