"""Checks of one column at a time: missing values, null markers, constant, identifier-like and
high-cardinality columns, outliers.

A defect matters more in a model input than in a column the model never sees, so
several checks give a warning for inputs and only an info note for other columns.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from audit.quality.findings import Finding, QualityInput, is_numeric, pct, share

# Names such as "id", "applicant_id", "CustomerID", "uuid", "record-key".
ID_NAME = re.compile(r"(^|[_\s.\-])(id|uuid|guid|key)$|^(id|uuid|guid)([_\s.\-]|$)")
CAMEL_ID = re.compile(r"[a-z](Id|ID)$")
# Dates or timestamps written as text ("2013-08-13", "08/13/2013 06:03"): distinct, but no ids.
DATE_TEXT = re.compile(r"^\s*\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}:\d{2}(:\d{2})?)?")
DATE_SAMPLE = 200
# Whole numbers count as a counter when their range is at most this many times their count.
SEQUENCE_SPAN = 2
# Numeric columns with fewer distinct values are counts or codes, where "outlier" means little.
MIN_DISTINCT_FOR_OUTLIERS = 10
# Scale of the robust z-score: MAD * 1.4826 (= MAD / 0.6745) estimates the standard deviation
# for normal data; when MAD is 0, mean absolute deviation * 1.2533 does (Iglewicz & Hoaglin).
MAD_TO_SD = 1 / 0.6745
MEAN_AD_TO_SD = 1.253314
# Values that codebooks use for "unknown", "refused" or a top code: -1 and the numbers made
# of nines, positive and negative.
NINES = [int("9" * k) for k in range(1, 8)]
SENTINELS = np.array([-1, *NINES, *(-n for n in NINES)], dtype=float)


def missing_values(inp: QualityInput) -> list[Finding]:
    """Missing values per column; a sensitive column missing many values is an error."""
    cfg = inp.settings
    findings = []
    for column in inp.columns():
        missing = inp.missing_count(column)
        if not missing:
            continue
        frac = share(missing, inp.n_rows)
        sensitive = column in inp.sensitive
        if sensitive and frac >= cfg.sensitive_missing_error:
            severity = "error"
        elif frac >= cfg.missing_warning or sensitive:
            severity = "warning"
        else:
            severity = "info"
        note = (
            "; these rows form their own '(missing)' group in the fairness tables"
            if sensitive
            else ""
        )
        findings.append(
            Finding(
                "missing_values",
                column,
                severity,
                f"'{column}' ({inp.role(column)}) is missing in {missing:,} of "
                f"{inp.n_rows:,} rows ({pct(frac)}){note}.",
                {
                    "column": column,
                    "role": inp.role(column),
                    "missing": missing,
                    "rows": inp.n_rows,
                    "share": frac,
                },
            )
        )
    if inp.rows_without_target:
        total = inp.n_rows + inp.rows_without_target
        frac = share(inp.rows_without_target, total)
        findings.append(
            Finding(
                "missing_values",
                inp.target,
                "warning" if frac >= cfg.missing_warning else "info",
                f"The target '{inp.target}' is missing in {inp.rows_without_target:,} of "
                f"{total:,} rows ({pct(frac)}); those rows were dropped before the audit.",
                {
                    "column": inp.target,
                    "role": "target",
                    "missing": inp.rows_without_target,
                    "rows": total,
                    "share": frac,
                    "dropped": True,
                },
            )
        )
    return findings


def missing_table(inp: QualityInput) -> list[dict[str, Any]]:
    """Missing count and share of every column that has missing values (for the report)."""
    rows = []
    for column in inp.columns():
        missing = inp.missing_count(column)
        if missing:
            rows.append(
                {
                    "column": column,
                    "role": inp.role(column),
                    "missing": missing,
                    "share": share(missing, inp.n_rows),
                }
            )
    return rows


def _marker_counts(values: pd.Series, markers: set[str]) -> dict[str, int]:
    """How often each spelling of a null marker occurs among text values."""
    text = values.dropna()
    if text.empty:
        return {}
    text = text.astype(str)
    hit = text.str.strip().str.lower().isin(markers)
    return {str(k): int(v) for k, v in text[hit].value_counts().sort_index().items()}


def _numeric_without(values: pd.Series, markers: set[str]) -> bool:
    """Whether a text column holds only numbers once its null markers are set aside."""
    text = values.dropna().astype(str)
    rest = text[~text.str.strip().str.lower().isin(markers)]
    return bool(len(rest)) and bool(pd.to_numeric(rest, errors="coerce").notna().all())


def null_markers(inp: QualityInput) -> list[Finding]:
    """Text standing for a missing value, and columns mixing several spellings of it.

    A marker still present after loading (e.g. '?') is taken for a real value: a
    category of its own, or text in a numeric column. Spellings the CSV reader already
    turned into missing values (e.g. '' and 'NA') are seen in the file's raw cells.
    """
    markers = {m.strip().lower() for m in inp.settings.null_markers}
    findings = []
    for column in inp.columns():
        values = inp.frame[column]
        kept = {} if is_numeric(values) else _marker_counts(values, markers)
        if inp.raw_text is not None and column in inp.raw_text.columns:
            spellings = _marker_counts(inp.raw_text[column], markers)
        else:
            spellings = dict(kept)
            if values.isna().any():
                spellings["(empty)"] = int(values.isna().sum())
        mixed = len(spellings) >= 2
        if not kept and not mixed:
            continue
        numeric = bool(kept) and _numeric_without(values, markers)
        parts = []
        if kept:
            shown = ", ".join(f"{k!r} ×{v:,}" for k, v in kept.items())
            parts.append(
                f"holds {shown}, read as a real value rather than as missing"
                + ("; without them the column would be numeric" if numeric else "")
            )
        if mixed:
            shown = ", ".join(f"{k!r} ×{v:,}" for k, v in spellings.items())
            parts.append(f"spells missing values {len(spellings)} ways ({shown})")
        findings.append(
            Finding(
                "null_markers",
                column,
                "warning",
                f"'{column}' " + " and ".join(parts) + ". Recode them to one missing value.",
                {
                    "column": column,
                    "role": inp.role(column),
                    "spellings": spellings,
                    "kept_as_values": kept,
                    "numeric_without_markers": numeric,
                },
            )
        )
    return findings


def constant_columns(inp: QualityInput) -> list[Finding]:
    """Columns with one value (or none), and columns where one value fills almost every row."""
    cfg = inp.settings
    findings = []
    for column in inp.columns():
        values = inp.frame[column].dropna()
        distinct = int(values.nunique())
        evidence: dict[str, Any] = {
            "column": column,
            "role": inp.role(column),
            "distinct": distinct,
            "non_missing": int(len(values)),
        }
        if distinct <= 1:
            what = (
                "has no values at all" if distinct == 0 else f"has one value ({values.iloc[0]!r})"
            )
            findings.append(
                Finding(
                    "constant_columns",
                    column,
                    "warning" if inp.is_input(column) else "info",
                    f"'{column}' ({inp.role(column)}) {what}: it carries no information.",
                    evidence,
                )
            )
            continue
        counts = values.value_counts()
        top_share = share(counts.iloc[0], len(values))
        if top_share >= cfg.near_constant_share:
            findings.append(
                Finding(
                    "constant_columns",
                    column,
                    "info",
                    f"'{column}' ({inp.role(column)}) is nearly constant: {counts.index[0]!r} in "
                    f"{pct(top_share)} of its non-missing values.",
                    {**evidence, "top_value": counts.index[0], "top_share": top_share},
                )
            )
    return findings


def _num(value: float) -> str:
    """A number for a message: thousands separated, small numbers to four significant digits."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def dates_as_text(values: pd.Series) -> bool:
    """Whether a column holds dates: a datetime type, or text where 95 % of a sample of the
    values start like a date."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return True
    text = values.dropna()
    if text.empty or is_numeric(text):
        return False
    sample = text.iloc[:DATE_SAMPLE].astype(str)
    return bool(sample.str.match(DATE_TEXT).mean() >= 0.95)


def _integral(values: pd.Series) -> bool:
    numbers = values.to_numpy(dtype=float)
    # An infinite value is not whole: numpy would warn on the way (inf mod 1 is NaN).
    return bool(np.isfinite(numbers).all() and np.all(np.mod(numbers, 1) == 0))


def _in_sequence(values: pd.Series) -> bool:
    """Whether whole numbers run like a counter: sorted in file order, or nearly
    consecutive (at least half of the integers between the smallest and the largest).

    Record numbers do one or both; a measurement that happens to be distinct (an income
    in dollars, a duration in seconds) is spread over a far wider range, in no order.
    """
    if values.is_monotonic_increasing or values.is_monotonic_decreasing:
        return True
    span = float(values.max()) - float(values.min()) + 1
    return span <= SEQUENCE_SPAN * values.nunique()


def identifier_columns(inp: QualityInput) -> dict[str, dict[str, Any]]:
    """Columns that look like record identifiers, with why (shared by several checks)."""
    return inp.memo("identifiers", lambda: _identifier_columns(inp))


def _identifier_columns(inp: QualityInput) -> dict[str, dict[str, Any]]:
    cfg = inp.settings
    found = {}
    for column in inp.columns():
        if column in inp.sensitive:
            continue
        values = inp.frame[column].dropna()
        if len(values) < 2 or pd.api.types.is_bool_dtype(values):
            continue
        # Measurements in floats are naturally distinct; only whole numbers can be ids.
        if pd.api.types.is_float_dtype(values) and not _integral(values):
            continue
        if dates_as_text(values):
            continue  # timestamps are distinct too; high_cardinality reports them
        distinct = int(values.nunique())
        unique_share = share(distinct, len(values))
        by_name = bool(ID_NAME.search(column.lower()) or CAMEL_ID.search(column))
        mostly_distinct = unique_share >= cfg.id_unique_share and distinct > 2
        if mostly_distinct and not is_numeric(values):
            reason = "distinct values"
        elif mostly_distinct and _in_sequence(values):
            # Distinct numbers alone are no evidence: measurements are distinct too.
            reason = "sequence"
        elif by_name and unique_share >= 0.5:
            reason = "name"
        else:
            continue
        found[column] = {
            "column": column,
            "role": inp.role(column),
            "distinct": distinct,
            "non_missing": int(len(values)),
            "unique_share": unique_share,
            "reason": reason,
            "repeated_rows": int(values.duplicated(keep=False).sum()),
        }
    return found


def id_like(inp: QualityInput) -> list[Finding]:
    """Identifier-like columns: a warning when a model sees one (it can only memorise it)."""
    findings = []
    for column, info in identifier_columns(inp).items():
        used = inp.is_input(column)
        why = (
            f"{info['distinct']:,} distinct values in {info['non_missing']:,} rows "
            f"({pct(info['unique_share'])})"
        )
        if info["reason"] == "name":
            why = f"an id-like name and {why}"
        elif info["reason"] == "sequence":
            why += ", running like a counter (sorted in file order or nearly consecutive)"
        tail = (
            "it is a model input: drop it (data.drop) unless it truly carries information."
            if used
            else f"{inp.not_input_reason}."
        )
        findings.append(
            Finding(
                "id_like",
                column,
                "warning" if used else "info",
                f"'{column}' looks like an identifier: {why}; {tail}",
                dict(info),
            )
        )
    return findings


def high_cardinality(inp: QualityInput) -> list[Finding]:
    """Text columns with more categories than ``max_categories`` (identifiers excluded)."""
    limit = inp.settings.max_categories
    ids = identifier_columns(inp)
    findings = []
    for column in inp.columns():
        values = inp.frame[column]
        if column in ids or is_numeric(values):
            continue
        distinct = int(values.nunique(dropna=True))
        if distinct <= limit:
            continue
        counts = values.value_counts()
        rare = int((counts < 5).sum())
        matters = inp.is_input(column) or column in inp.sensitive
        dates = dates_as_text(values)
        effect = (
            "one-hot encoding gives the model many sparse columns"
            if inp.is_input(column)
            else "per-group fairness numbers will be thin"
            if column in inp.sensitive
            else inp.not_input_reason
        )
        if dates:
            effect += (
                "; the values are dates: derive features from them (an age, a duration) "
                "rather than treat each date as a category"
            )
        findings.append(
            Finding(
                "high_cardinality",
                column,
                "warning" if matters else "info",
                f"'{column}' ({inp.role(column)}) has {distinct:,} categories (more than {limit}), "
                f"{rare:,} of them with fewer than 5 rows; {effect}.",
                {
                    "column": column,
                    "role": inp.role(column),
                    "distinct": distinct,
                    "categories_under_5_rows": rare,
                    "limit": limit,
                    "dates_as_text": dates,
                },
            )
        )
    return findings


def robust_z(values: np.ndarray) -> tuple[np.ndarray, dict[str, float]] | None:
    """Robust z-scores of finite values: (x - median) / robust SD, or None if there is no spread.

    The robust SD is MAD / 0.6745; when MAD is 0 (over half the values equal the
    median), it is 1.2533 * mean absolute deviation from the median.
    """
    median = float(np.median(values))
    mad = float(np.median(np.abs(values - median)))
    if mad > 0:
        scale, rule = mad * MAD_TO_SD, "MAD / 0.6745"
    else:
        mean_ad = float(np.mean(np.abs(values - median)))
        if mean_ad == 0:
            return None
        scale, rule = mean_ad * MEAN_AD_TO_SD, "1.2533 × mean absolute deviation (MAD is 0)"
    return (values - median) / scale, {"median": median, "mad": mad, "scale": scale, "rule": rule}


def outliers(inp: QualityInput) -> list[Finding]:
    """Numeric values more than ``outlier_z`` robust SDs from the median.

    Info when such values make up at least ``outlier_share`` of a column; a warning
    when any value lies beyond ``outlier_extreme_z`` (an entry error or a sentinel
    code such as 99999 more often than a real value). Identifier-like columns and
    columns with fewer than 10 distinct values are skipped.
    """
    cfg = inp.settings
    ids = identifier_columns(inp)
    findings = []
    for column in inp.columns():
        series = inp.frame[column]
        if column in ids or not is_numeric(series):
            continue
        values = series.to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        if len(np.unique(values)) < MIN_DISTINCT_FOR_OUTLIERS:
            continue
        scored = robust_z(values)
        if scored is None:
            continue
        z, stats = scored
        far = np.abs(z) > cfg.outlier_z
        extreme = np.abs(z) > cfg.outlier_extreme_z
        frac = share(int(far.sum()), len(values))
        if not extreme.any() and (not far.any() or frac < cfg.outlier_share):
            continue
        low = stats["median"] - cfg.outlier_z * stats["scale"]
        high = stats["median"] + cfg.outlier_z * stats["scale"]
        worst = values[np.argsort(-np.abs(z))[:5]]
        below, above = int((z < -cfg.outlier_z).sum()), int((z > cfg.outlier_z).sum())
        sides = []
        if above:
            sides.append(f"{above:,} above {_num(high)}")
        if below:
            sides.append(f"{below:,} below {_num(low)}")
        message = (
            f"'{column}' ({inp.role(column)}): {int(far.sum()):,} values ({pct(frac)}) lie more "
            f"than {cfg.outlier_z:g} robust SD from the median {_num(stats['median'])} "
            f"({', '.join(sides)})"
        )
        if extreme.any():
            message += (
                f"; {int(extreme.sum()):,} lie beyond {cfg.outlier_extreme_z:g} robust SD "
                f"(most extreme: {_num(worst[0])}): check they are real values, not entry "
                "errors or codes such as 99999"
            )
        findings.append(
            Finding(
                "outliers",
                column,
                "warning" if extreme.any() else "info",
                message + ".",
                {
                    "column": column,
                    "role": inp.role(column),
                    "outliers": int(far.sum()),
                    "share": frac,
                    "extreme": int(extreme.sum()),
                    "lower_bound": low,
                    "upper_bound": high,
                    "median": stats["median"],
                    "robust_sd": stats["scale"],
                    "scale_rule": stats["rule"],
                    "min": float(values.min()),
                    "max": float(values.max()),
                    "most_extreme": worst.tolist(),
                    "max_abs_z": float(np.abs(z).max()),
                },
            )
        )
    return findings


def sentinel_codes(inp: QualityInput) -> list[Finding]:
    """Code values (-1, 99, -999, 99999, ...) that stand apart from a column's other values.

    A code sits outside the range of the column's other values, at least as far from them
    as that range is wide: Adult's capital-gain holds 99999 (a top code) 244 times while its
    other values stop at 41,310; a 0/1 column with -1 or 9 for "unknown" is caught too.
    A -1 next to values from 0 to 900 (days, say) is not. A value in one row only is left
    to the outlier check.
    """
    ids = identifier_columns(inp)
    findings = []
    for column in inp.columns():
        series = inp.frame[column]
        if column in ids or not is_numeric(series):
            continue
        values = series.to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        for code in SENTINELS[np.isin(SENTINELS, values)]:
            is_code = values == code
            rows, others = int(is_code.sum()), values[~is_code]
            if rows < 2 or not len(others):
                continue
            low, high = float(others.min()), float(others.max())
            gap = low - code if code < low else code - high if code > high else -1.0
            if gap < high - low:
                continue
            frac = share(rows, len(values))
            used = inp.is_input(column)
            findings.append(
                Finding(
                    "sentinel_codes",
                    f"{column}={code:g}",
                    "warning" if used else "info",
                    f"'{column}' ({inp.role(column)}) holds {code:g} in {rows:,} rows "
                    f"({pct(frac)}), apart from its other values ({_num(low)} to "
                    f"{_num(high)}): a code for 'unknown' or a top code rather than a "
                    "measurement? Recode it as missing (or add a flag column) so it is not read "
                    "as a number.",
                    {
                        "column": column,
                        "role": inp.role(column),
                        "code": code,
                        "rows": rows,
                        "share": frac,
                        "others_min": low,
                        "others_max": high,
                    },
                )
            )
    return findings
