"""The *scoring rate* of NYC Local Law 144 (6 RCNY §5-300): who scores above the median.

For a tool that scores rather than selects, an applicant counts as "scored favourably" when
the score is strictly above the median score of the **full sample** (strictly below it when
a lower score is the favourable one); a score equal to the median is not counted. A group's
scoring rate is its share of such applicants. The Local Law 144 tables
(:mod:`audit.compliance.ll144`) and the per-group scoring rate of a regression audit
(:mod:`audit.metrics.rowwise`) both count with :func:`above_median`, and both divide by
the highest rate with :func:`impact_ratios`.
"""

from __future__ import annotations

import numpy as np


def above_median(scores: np.ndarray, lower_is_favourable: bool = False) -> tuple[float, np.ndarray]:
    """The median of all ``scores`` and, per row, whether it scores more favourably."""
    values = np.asarray(scores, dtype=np.float64)
    median = float(np.median(values))
    return median, (values < median) if lower_is_favourable else (values > median)


def impact_ratios(rates: np.ndarray) -> np.ndarray:
    """Each rate ÷ the highest of the rates compared (the Local Law 144 impact ratio), along
    the last axis (one row per bootstrap sample); NaN where the highest rate is 0, as no one
    in any group was selected or scored favourably."""
    values = np.asarray(rates, dtype=np.float64)
    highest = values.max(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(highest > 0, values / highest, np.nan)
