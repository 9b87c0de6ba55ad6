"""The EEOC Uniform Guidelines section (29 CFR 1607.4(D)): adverse impact per sensitive feature.

:func:`eeoc_section` counts who was selected in each group of each feature (an intersection
such as "sex × race" is a feature like any other) and hands the counts to
:mod:`audit.compliance.adverse_impact`; the result is plain JSON for results.json and the
report template ``sections/compliance_eeoc.html.j2``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from audit.compliance.adverse_impact import (
    DECISION_RULE,
    FLIPS,
    INDICATED,
    NOT_INDICATED,
    POWER,
    REFERENCE_MIN_SIZE,
    TOO_SMALL,
    adverse_impact,
)
from audit.errors import AuditError
from audit.text import printable, quoted_list

RULE = "eeoc_uniform_guidelines"


def notes(confidence: float) -> list[str]:
    """How every figure of the section is computed, in words (the report prints them)."""
    level = f"{confidence:.0%}"
    alpha = f"{1 - confidence:.3g}"
    return [
        "The four-fifths rule (29 CFR 1607.4(D)): a group's selection rate below four-fifths "
        "(0.8) of the highest group's rate is generally regarded as evidence of adverse "
        "impact. It is a rule of thumb for evidence, not a legal threshold and not a pass "
        "mark: smaller differences can be adverse impact when significant in both statistical "
        "and practical terms, and larger ones may not be when they rest on small numbers.",
        "Impact ratio: the group's selection rate divided by the rate of the reference, the "
        f"group with the highest rate among those of at least {REFERENCE_MIN_SIZE} people (among "
        "all groups when none is that large; of equal rates, the larger group): the rate of a "
        "handful of people is too unsteady to judge the others by, so a smaller group with a "
        f"higher rate is compared with the reference like any other. Its {level} interval "
        "is the Katz log interval of a ratio of two proportions; when a cell of the 2×2 table "
        "is 0, 0.5 is added to each cell for the interval.",
        "Fisher's exact test (two-sided) compares each group with the reference; its p-values "
        "are adjusted with Holm's step-down method across the comparisons of a feature, and a "
        f"difference is called statistically significant when the adjusted p-value is below "
        f"{alpha}. The two-proportion Z test (pooled variance) is shown beside it as the "
        "large-sample check; the findings use Fisher's test.",
        "Flip checks: the impact ratio, and the Holm-adjusted p-value, had "
        + " or ".join(str(k) for k in FLIPS)
        + " more people of the group been selected, or as many fewer of the reference group "
        "(the other comparisons as they are): how much a finding hangs on one or two people.",
        "Minimum detectable ratio: the impact ratio a two-sided pooled two-proportion Z test "
        f"at level {alpha} would detect with power {POWER:g}, at this group's and the "
        "reference's sizes, taking the reference's observed rate as its true rate (normal "
        "approximation). At 0.8 or above the sample can detect a shortfall at the "
        "four-fifths line; below it, only larger ones. It is stated at the unadjusted "
        "level, so with several groups the sample needed is somewhat larger; Fisher's test "
        "is a little more conservative than the Z test.",
        "Finding: " + DECISION_RULE,
        "Rows whose group is unknown (missing) are left out of that feature and counted. "
        "These figures are evidence for a person to weigh, not a legal conclusion: the "
        "Guidelines also ask about the job-relatedness of the procedure, alternatives and "
        "the applicant flow, which this audit does not see.",
    ]


def eeoc_section(
    selected: np.ndarray, groups: dict[str, pd.Series], confidence: float = 0.95
) -> dict[str, Any]:
    """Adverse impact by group for each feature.

    Parameters
    ----------
    selected : bool array, one per evaluated row (True = selected / favourable decision).
    groups : feature name -> group label per row (same length); a missing label leaves the
        row out of that feature only.
    confidence : level of the impact-ratio intervals; 1 − confidence is the significance level.

    Returns
    -------
    dict with ``rule``, ``confidence``, ``adjustment`` ("holm"), ``reference_min_size``,
    ``features`` (each with ``feature``, ``reference_group``, ``reference_basis``, ``rows``,
    ``rows_without_group``, ``groups`` — rows as
    :func:`audit.compliance.adverse_impact.adverse_impact` builds them — and ``summary``)
    and ``notes``. Plain JSON values only; undefined numbers are None.

    Raises
    ------
    AuditError
        If ``selected`` is not one yes/no value per row, a feature's labels have another
        length, or ``confidence`` is not between 0.5 and 1.
    """
    chosen = _decisions(selected)
    if not 0.5 < confidence < 1:
        raise AuditError(
            f"EEOC adverse impact: confidence {confidence!r} must be between 0.5 and 1 (e.g. 0.95)."
        )
    features = []
    for name, labels in groups.items():
        labels = pd.Series(labels)
        if len(labels) != chosen.size:
            raise AuditError(
                f"EEOC adverse impact: feature '{printable(name)}' has {len(labels):,} group "
                f"labels for {chosen.size:,} decisions; give one label per evaluated row."
            )
        known = labels.notna().to_numpy()
        counts = _counts(labels[known].to_numpy(), chosen[known])
        result = adverse_impact(counts, confidence)
        features.append(
            {
                "feature": str(name),
                "reference_group": result["reference_group"],
                "reference_basis": result["reference_basis"],
                "rows": int(known.sum()),
                "rows_without_group": int((~known).sum()),
                "groups": result["groups"],
                "summary": summary(result),
            }
        )
    return {
        "rule": RULE,
        "confidence": float(confidence),
        "adjustment": "holm",
        "reference_min_size": REFERENCE_MIN_SIZE,
        "features": features,
        "notes": notes(confidence),
    }


def _decisions(selected: np.ndarray) -> np.ndarray:
    values = np.asarray(selected)
    if values.ndim != 1:
        raise AuditError("EEOC adverse impact: give one selection decision per evaluated row.")
    if values.dtype == bool:
        return values
    if values.dtype.kind in "iuf" and np.isin(values, (0, 1)).all():
        return values.astype(bool)
    raise AuditError(
        "EEOC adverse impact: the selection decisions must be yes/no (True/False or 1/0), "
        "with none missing."
    )


def _counts(labels: np.ndarray, chosen: np.ndarray) -> dict[str, tuple[int, int]]:
    """Label (as text) -> (selected, total), the largest group first, then by label."""
    frame = pd.DataFrame({"group": [str(label) for label in labels], "selected": chosen})
    table = frame.groupby("group")["selected"].agg(["sum", "size"])
    table = table.reset_index().sort_values(["size", "group"], ascending=[False, True])
    return {row.group: (int(row.sum), int(row.size)) for row in table.itertuples(index=False)}


def summary(result: dict[str, Any]) -> str:
    """One sentence for a feature: which groups show adverse impact, which cannot be told."""
    reference = result["reference_group"]
    if reference is None:
        return "No rows with a known group: nothing to compare."
    others = [row for row in result["groups"] if not row["reference"]]
    if not others:
        return f"Only one group ({printable(reference, 40)}): nothing to compare."
    ref = result["groups"][0]
    parts = []
    for finding in (INDICATED, TOO_SMALL, NOT_INDICATED):
        names = [row["group"] for row in others if row["finding"] == finding]
        if names:
            parts.append(f"{finding} for {quoted_list(names, shown=6, limit=40)}")
    return (
        f"Against {printable(reference, 40)} ({result['reference_basis']}: "
        f"{ref['selected']:,} of {ref['n']:,} selected): " + "; ".join(parts) + "."
    )
