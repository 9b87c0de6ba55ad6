"""NYC Local Law 144 bias audit (6 RCNY §5-300–5-304): rates and impact ratios by category.

For a tool that selects, the *selection rate* of a category is the share of its applicants
selected; for a tool that scores, the *scoring rate* is the share of its applicants scoring
more favourably than the median score of the **full sample** (every applicant in the audit,
unknown category included): above it, or below it for a score where lower is more
favourable (the median is stated on the score's own scale). The *impact ratio* of a
category is its rate divided by the highest rate among the categories compared. Both are
computed for sex, for race/ethnicity and for every sex × race/ethnicity intersection, in
EEO-1 categories.

Applicants whose category is missing, or whose value the config maps to null or Unknown,
are counted as *unknown* and left out of the ratios. A value the mapping does not list is an
error, not unknown: a typo in the mapping would otherwise drop its applicants silently. A
category under 2% of the data may be excluded from the ratios when the config lists it with
a justification; it is still shown with its count and rate. The law sets no pass threshold:
nothing here is a verdict.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from audit.config import LL144Config
from audit.errors import AuditError
from audit.metrics.scoring_rate import above_median, impact_ratios
from audit.text import printable, quoted_list
from audit.vocabulary.compliance import (
    EEO1_RACE_ETHNICITY,
    EEO1_SEX,
    LL144_EXCLUSION_SHARE,
    NYC_LL144,
    UNKNOWN,
    category_key,
)

SEPARATOR = " × "
TITLES = {"sex": "Sex", "race_ethnicity": "Race/ethnicity", "intersection": "Intersectional"}


def eeo1_categories(
    values: pd.Series, mapping: dict[str, str | None] | None, names: tuple[str, ...], key: str
) -> pd.Series:
    """Each value as an EEO-1 name, or None (unknown: missing, or mapped to null / Unknown).

    Without a mapping the values must already be EEO-1 names (in any letter case).

    Raises
    ------
    AuditError
        When a value present in the data is not in the mapping, or, without a mapping, is
        not an EEO-1 name.
    """
    if mapping is not None:
        keys = [category_key(v) if known else None for v, known in _pairs(values)]
        _check_mapped(keys, mapping, values.name, names, key)
        found = [None if k is None else mapping[k] for k in keys]
        return pd.Series([None if v == UNKNOWN else v for v in found], dtype=object)
    canonical = {name.lower(): name for name in names}
    as_names = [
        canonical.get(str(v).strip().lower(), "") if known else None for v, known in _pairs(values)
    ]
    strange = sorted({str(v) for v, name in zip(values, as_names, strict=True) if name == ""})
    if strange:
        raise AuditError(
            f"Column {values.name!r} holds values that are not EEO-1 {key} categories "
            f"({quoted_list(strange)}). Map them in compliance.nyc_ll144.categories."
            f"{values.name}, e.g. {{{strange[0]}: {names[0]}}}; valid names: {', '.join(names)}. "
            f"A value mapped to null (or {UNKNOWN}) is counted as unknown."
        )
    return pd.Series(as_names, dtype=object)


def _check_mapped(
    keys: list[str | None],
    mapping: dict[str, str | None],
    column: Any,
    names: tuple[str, ...],
    key: str,
) -> None:
    """An AuditError naming the data's values (with their counts) the mapping leaves out."""
    unmapped = Counter(k for k in keys if k is not None and k not in mapping).most_common()
    if not unmapped:
        return
    shown = ", ".join(f"'{printable(value, 40)}' ({count:,} rows)" for value, count in unmapped[:5])
    more = f" and {len(unmapped) - 5} more" if len(unmapped) > 5 else ""
    first = printable(unmapped[0][0], 40)
    raise AuditError(
        f"compliance.nyc_ll144.categories.{column} does not map these values of column "
        f"{column!r}: {shown}{more}. Map each to an EEO-1 {key} category (e.g. {first}: "
        f"{names[0]}; the keys must match the data exactly, letter case included), or map it "
        f"to null or {UNKNOWN} to count those applicants as unknown on purpose. Valid names: "
        f"{', '.join(names)}."
    )


def _pairs(values: pd.Series) -> zip:
    """(value, whether it is present) for each value."""
    return zip(values, values.notna().to_numpy(), strict=True)


def ll144_section(
    outcome: np.ndarray,
    sex: pd.Series,
    race_ethnicity: pd.Series,
    settings: LL144Config,
    mode: str,
    outcome_text: str,
    lower_is_favourable: bool = False,
) -> dict[str, Any]:
    """The Local Law 144 section of the result (see :class:`audit.result.sections.LL144Section`).

    Parameters
    ----------
    outcome : array
        One value per applicant: the 0/1 decision (``mode="selection"``) or the score as the
        tool gives it (``mode="scoring"``).
    sex, race_ethnicity : Series
        The data's values for each applicant, in the same order.
    settings : LL144Config
        Dates, data source, EEO-1 mappings and exclusions from the config.
    outcome_text : str
        How the outcome was read (the audit's decision rule, or the score column).
    lower_is_favourable : bool
        Scoring mode: a lower score is the more favourable one, so the applicants counted
        are those strictly below the median (else strictly above it).
    """
    outcome = np.asarray(outcome)
    n = len(outcome)
    median = None
    side = "below" if lower_is_favourable else "above"
    if mode == "scoring":
        # The median of the full sample, unknowns too.
        median, selected = above_median(outcome, lower_is_favourable)
    else:
        selected = outcome.astype(bool)
    mappings = settings.categories
    sex_names = eeo1_categories(
        sex.reset_index(drop=True), mappings.get(settings.sex), EEO1_SEX, "sex"
    )
    race_names = eeo1_categories(
        race_ethnicity.reset_index(drop=True),
        mappings.get(settings.race_ethnicity),
        EEO1_RACE_ETHNICITY,
        "race/ethnicity",
    )
    both_known = sex_names.notna() & race_names.notna()
    zipped = zip(sex_names, race_names, both_known, strict=True)
    pairs = pd.Series([(s, r) if known else None for s, r, known in zipped], dtype=object)
    sexes = _shown(mappings.get(settings.sex), EEO1_SEX)
    races = _shown(mappings.get(settings.race_ethnicity), EEO1_RACE_ETHNICITY)
    order = {
        "sex": [(s,) for s in sexes],
        "race_ethnicity": [(r,) for r in races],
        "intersection": [(s, r) for s in sexes for r in races],
    }
    labels = {
        "sex": sex_names.map(lambda v: None if v is None else (v,)),
        "race_ethnicity": race_names.map(lambda v: None if v is None else (v,)),
        "intersection": pairs,
    }
    excluded = _exclusions(settings)
    tables = [
        _table(dimension, labels[dimension], selected, order[dimension], excluded, n)
        for dimension in ("sex", "race_ethnicity", "intersection")
    ]
    for dimension, parts in excluded:  # left over: a category no value is mapped to
        _no_applicants(dimension, parts)
    rate_name = "scoring rate" if mode == "scoring" else "selection rate"
    return {
        "rule": NYC_LL144,
        "mode": mode,
        "rate_name": rate_name,
        "selected_name": (
            f"scoring more favourably than ({side}) the median" if mode == "scoring" else "selected"
        ),
        "outcome": outcome_text,
        **({"median_score": median, "favourable_side": side} if median is not None else {}),
        "n_applicants": n,
        "audit_date": settings.audit_date.isoformat(),
        "distribution_date": settings.distribution_date.isoformat(),
        "data_source": settings.data_source.model_dump(),
        **({"tool_name": settings.tool_name} if settings.tool_name else {}),
        **({"auditor": settings.auditor} if settings.auditor else {}),
        "columns": {"sex": settings.sex, "race_ethnicity": settings.race_ethnicity},
        "mappings": mappings,
        "tables": tables,
        "notes": _notes(tables, mode, rate_name, side),
    }


def _shown(mapping: dict[str, str | None] | None, names: tuple[str, ...]) -> tuple[str, ...]:
    """The EEO-1 categories a table lists, applicants or not, in EEO-1 order: those the
    mapping maps a value to, or every one when the data holds EEO-1 names (no mapping)."""
    if mapping is None:
        return names
    return tuple(name for name in names if name in mapping.values())


def _no_applicants(dimension: str, parts: tuple[str, ...]) -> None:
    raise AuditError(
        f"compliance.nyc_ll144.exclude lists the {TITLES[dimension].lower()} category "
        f"{SEPARATOR.join(parts)!r}, which has no applicants in the audit. Remove it from the "
        "exclusions."
    )


def _exclusions(settings: LL144Config) -> dict[tuple[str, tuple[str, ...]], str]:
    """(dimension, category parts) -> justification, for the categories the config excludes."""
    found = {}
    for item in settings.exclude:
        parts = tuple(item.category) if isinstance(item.category, list) else (item.category,)
        found[(item.feature, parts)] = item.justification
    return found


def _table(
    dimension: str,
    labels: pd.Series,
    selected: np.ndarray,
    order: list[tuple[str, ...]],
    excluded: dict[tuple[str, tuple[str, ...]], str],
    n_total: int,
) -> dict[str, Any]:
    known = labels.notna().to_numpy()
    rows = []
    for parts in order:
        members = np.array([label == parts for label in labels], dtype=bool) & known
        applicants = int(members.sum())
        justification = excluded.pop((dimension, parts), None)
        if applicants == 0:
            if justification is not None:
                _no_applicants(dimension, parts)
            # Shown with no rate and no ratio: a mapped category is not dropped for being empty.
            rows.append(
                {
                    "category": SEPARATOR.join(parts),
                    "parts": list(parts),
                    "applicants": 0,
                    "selected": 0,
                    "rate": None,
                    "share": 0.0,
                    "excluded": False,
                }
            )
            continue
        chosen = int(selected[members].sum())
        share = applicants / n_total
        if justification is not None and share >= LL144_EXCLUSION_SHARE:
            raise AuditError(
                f"compliance.nyc_ll144.exclude lists the {TITLES[dimension].lower()} category "
                f"{SEPARATOR.join(parts)!r}, which holds {share:.2%} of the data "
                f"({applicants:,} of {n_total:,} applicants); Local Law 144 allows leaving out "
                f"only a category under {LL144_EXCLUSION_SHARE:.0%}. Remove it from the "
                "exclusions."
            )
        rows.append(
            {
                "category": SEPARATOR.join(parts),
                "parts": list(parts),
                "applicants": applicants,
                "selected": chosen,
                "rate": chosen / applicants,
                "share": share,
                "excluded": justification is not None,
                **({"justification": justification} if justification is not None else {}),
            }
        )
    compared = [row for row in rows if not row["excluded"] and row["applicants"]]
    highest = max((row["rate"] for row in compared), default=None)
    # Against the most selected category; undefined when no one in any category was.
    ratios = impact_ratios([row["rate"] for row in compared]) if compared else []
    for row, ratio in zip(compared, ratios, strict=True):
        row["impact_ratio"] = float(ratio) if np.isfinite(ratio) else None
        row["highest"] = row["rate"] == highest
    return {
        "dimension": dimension,
        "title": TITLES[dimension],
        "categories": rows,
        "unknown": int((~known).sum()),
        "unknown_selected": int(selected[~known].sum()),
    }


def _notes(tables: list[dict[str, Any]], mode: str, rate_name: str, side: str) -> list[str]:
    notes = [
        "Local Law 144 requires these rates and impact ratios to be calculated and "
        "published; it sets no threshold an impact ratio must meet, and no verdict is "
        "drawn from them here."
    ]
    if mode == "scoring":
        lower = " (a lower score is more favourable)" if side == "below" else ""
        notes.append(
            f"The {rate_name} of a category is the share of its applicants scoring more "
            f"favourably than ({side}) the median score of all applicants in the audit (unknown "
            f"category included){lower}; a score equal to the median is not counted."
        )
    for table in tables:
        if all(row.get("impact_ratio") is None for row in table["categories"]):
            notes.append(
                f"{table['title']}: no impact ratio is defined (no category has a {rate_name} "
                "above 0, or every category is excluded)."
            )
    return notes
