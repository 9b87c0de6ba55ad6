"""Checks by sensitive group: representation, label base rates, missing values by group, proxies.

Groups are the values of each sensitive attribute and of every intersection of
attributes (e.g. ``sex × race``); a missing value is a group of its own,
``(missing)``, as in the fairness tables.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from audit.metrics.fairness import group_labels
from audit.quality.columns import identifier_columns
from audit.quality.findings import CheckSkipped, Finding, QualityInput, is_numeric, pct, share


def representation_table(inp: QualityInput) -> list[dict[str, Any]]:
    """Rows, share, test rows, positives and base rate of every group and intersection."""
    return inp.memo("representation", lambda: _representation_table(inp))


def _representation_table(inp: QualityInput) -> list[dict[str, Any]]:
    cfg = inp.settings
    y = pd.Series(inp.y)
    test_counts = None
    tables = []
    for split in inp.group_splits():
        counts = split.labels.value_counts()
        positives = y.groupby(split.labels.to_numpy()).sum()
        if inp.has_split:
            test_counts = split.labels.iloc[inp.test_rows].value_counts()
        groups = []
        for level in split.levels:
            n = int(counts.get(level, 0))
            # A numeric (regression) target has no positives to count.
            pos = None if inp.task == "regression" else int(positives.get(level, 0))
            groups.append(
                {
                    "group": level,
                    "n": n,
                    "share": share(n, inp.n_rows),
                    "n_test": None if test_counts is None else int(test_counts.get(level, 0)),
                    "positives": pos,
                    "base_rate": share(pos, n) if n and pos is not None else None,
                    "small": n < cfg.min_group_rows or share(n, inp.n_rows) < cfg.small_group_share,
                }
            )
        tables.append({"name": split.name, "attributes": split.attributes, "groups": groups})
    return tables


def representation(inp: QualityInput) -> list[Finding]:
    """A warning for each attribute or intersection with a small or absent group."""
    cfg = inp.settings
    findings = []
    for table in representation_table(inp):
        small = [g for g in table["groups"] if g["small"]]
        if not small:
            continue
        shown = ", ".join(
            f"{g['group']} ({g['n']:,} rows, {pct(g['share'])})" for g in small[:8]
        ) + (f" and {len(small) - 8} more" if len(small) > 8 else "")
        absent = sum(1 for g in small if g["n"] == 0)
        note = f"; {absent} combination(s) do not occur at all" if absent else ""
        test_note = ""
        thin = [g for g in small if g["n_test"] is not None and g["n_test"] < cfg.min_group_rows]
        if thin:
            test_note = (
                f". In the test rows, {len(thin)} of them have fewer than {cfg.min_group_rows} "
                "rows, so their fairness numbers are very uncertain"
            )
        findings.append(
            Finding(
                "representation",
                table["name"],
                "warning",
                f"Small groups of {table['name']}: {shown}{note}{test_note}.",
                {
                    "attributes": table["attributes"],
                    "small_groups": [
                        {k: g[k] for k in ("group", "n", "share", "n_test")} for g in small
                    ],
                    "min_group_rows": cfg.min_group_rows,
                    "small_group_share": cfg.small_group_share,
                },
            )
        )
    return findings


def base_rate(inp: QualityInput) -> list[Finding]:
    """A warning when the share of positive labels differs between groups by ``base_rate_gap``
    or more (groups under ``min_group_rows`` rows are left out of the gap), or when a group
    has only one outcome."""
    cfg = inp.settings
    if inp.task == "regression":
        raise CheckSkipped("a numeric (regression) target has no positive labels to count")
    findings = []
    for table in representation_table(inp):
        present = [g for g in table["groups"] if g["n"]]
        sized = [g for g in present if g["n"] >= cfg.min_group_rows]
        one_class = [g["group"] for g in present if g["positives"] in (0, g["n"])]
        gap = None
        parts = []
        if len(sized) >= 2:
            high = max(sized, key=lambda g: g["base_rate"])
            low = min(sized, key=lambda g: g["base_rate"])
            gap = high["base_rate"] - low["base_rate"]
            if gap >= cfg.base_rate_gap:
                parts.append(
                    f"the share of positive labels ranges from {pct(low['base_rate'])} "
                    f"({low['group']}) to {pct(high['base_rate'])} ({high['group']}), a gap of "
                    f"{gap:.3f}; a model fitted to these labels learns the gap, whether it "
                    "reflects real differences or past bias"
                )
        if one_class:
            parts.append(
                f"{len(one_class)} group(s) have only one outcome ({', '.join(one_class[:6])}"
                f"{' …' if len(one_class) > 6 else ''}), so rates such as TPR or FPR are "
                "undefined there"
            )
        if not parts:
            continue
        findings.append(
            Finding(
                "base_rate",
                table["name"],
                "warning",
                f"Label base rate by {table['name']}: " + "; ".join(parts) + ".",
                {
                    "attributes": table["attributes"],
                    "base_rates": {g["group"]: g["base_rate"] for g in present},
                    "gap": gap,
                    "single_outcome_groups": one_class,
                    "excluded_small_groups": [g["group"] for g in present if g not in sized],
                    "threshold": cfg.base_rate_gap,
                },
            )
        )
    return findings


def missing_by_group_table(inp: QualityInput) -> list[dict[str, Any]]:
    """Missing share of every incomplete column in each group of each sensitive attribute."""
    return inp.memo("missing_by_group", lambda: _missing_by_group_table(inp))


def _missing_by_group_table(inp: QualityInput) -> list[dict[str, Any]]:
    cfg = inp.settings
    rows = []
    single = [s for s in inp.group_splits() if len(s.attributes) == 1]
    for column in inp.columns():
        missing = inp.frame[column].isna()
        if not missing.any():
            continue
        for split in single:
            if split.name == column:
                continue
            by_group = missing.groupby(split.labels.to_numpy())
            counts, shares = by_group.size(), by_group.mean()
            sized = [g for g in counts.index if counts[g] >= cfg.min_group_rows]
            gap = float(shares[sized].max() - shares[sized].min()) if len(sized) >= 2 else None
            rows.append(
                {
                    "column": column,
                    "attribute": split.name,
                    "shares": {str(g): float(shares[g]) for g in counts.index},
                    "rows": {str(g): int(counts[g]) for g in counts.index},
                    "gap": gap,
                }
            )
    return rows


def missing_by_group(inp: QualityInput) -> list[Finding]:
    """A warning when a column is missing more often in some groups: the gap between the
    highest and lowest group's missing share (groups of ``min_group_rows`` rows or more)
    is ``missing_group_gap`` or more. Imputation then treats groups differently."""
    cfg = inp.settings
    findings = []
    for row in missing_by_group_table(inp):
        if row["gap"] is None or row["gap"] < cfg.missing_group_gap:
            continue
        sized = {g: s for g, s in row["shares"].items() if row["rows"][g] >= cfg.min_group_rows}
        high = max(sized, key=sized.get)
        low = min(sized, key=sized.get)
        findings.append(
            Finding(
                "missing_by_group",
                f"{row['column']} by {row['attribute']}",
                "warning",
                f"'{row['column']}' is missing for {pct(sized[high])} of {row['attribute']} = "
                f"{high} but {pct(sized[low])} of {low} (gap {row['gap']:.3f}).",
                {
                    "column": row["column"],
                    "attribute": row["attribute"],
                    "shares": row["shares"],
                    "rows": row["rows"],
                    "gap": row["gap"],
                    "threshold": cfg.missing_group_gap,
                },
            )
        )
    return findings


def cramers_v(a: pd.Series, b: pd.Series) -> float:
    """Bias-corrected Cramér's V (Bergsma, 2013) between two categorical series.

    The plain V is inflated in small samples and for many categories; the
    correction subtracts the chi-square expected under independence.
    """
    codes_a, levels_a = pd.factorize(a.to_numpy())
    codes_b, levels_b = pd.factorize(b.to_numpy())
    keep = (codes_a >= 0) & (codes_b >= 0)
    r, k = len(levels_a), len(levels_b)
    # The contingency table by one bincount: much faster than pd.crosstab on many rows.
    table = np.bincount(codes_a[keep] * k + codes_b[keep], minlength=r * k).reshape(r, k)
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    n = table.sum()
    r, k = table.shape
    if r < 2 or k < 2 or n < 2:
        return 0.0
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    phi2 = max(0.0, chi2 / n - (k - 1) * (r - 1) / (n - 1))
    r_corr = r - (r - 1) ** 2 / (n - 1)
    k_corr = k - (k - 1) ** 2 / (n - 1)
    denominator = min(k_corr - 1, r_corr - 1)
    return float(np.sqrt(phi2 / denominator)) if denominator > 0 else 0.0


def correlation_ratio(values: pd.Series, groups: pd.Series) -> float:
    """Bias-corrected correlation ratio: the square root of epsilon-squared.

    epsilon² = (SS_between − (k − 1) · MS_within) / SS_total, the share of the
    numeric variable's variance explained by the groups, corrected for chance.
    """
    keep = values.notna().to_numpy()
    x = values.to_numpy(dtype=float)[keep]
    g = groups.to_numpy()[keep]
    n = len(x)
    if n < 3:
        return 0.0
    codes, uniques = pd.factorize(g)
    k = len(uniques)
    if k < 2 or n <= k:
        return 0.0
    counts = np.bincount(codes)
    means = np.bincount(codes, weights=x) / counts
    ss_total = float(((x - x.mean()) ** 2).sum())
    if ss_total == 0:
        return 0.0
    ss_between = float((counts * (means - x.mean()) ** 2).sum())
    ms_within = (ss_total - ss_between) / (n - k)
    epsilon2 = max(0.0, (ss_between - (k - 1) * ms_within) / ss_total)
    return float(np.sqrt(epsilon2))


def association_table(inp: QualityInput) -> list[dict[str, Any]]:
    """Association of every model input with every sensitive attribute, strongest first."""
    return inp.memo("associations", lambda: _association_table(inp))


def _association_table(inp: QualityInput) -> list[dict[str, Any]]:
    ids = identifier_columns(inp)
    rows = []
    for attribute in inp.sensitive:
        groups = group_labels(inp.frame[attribute])
        for column in inp.features:
            if column in inp.sensitive or column in ids:
                continue
            values = inp.frame[column]
            if is_numeric(values):
                value, measure = correlation_ratio(values, groups), "correlation ratio"
            elif values.nunique() <= inp.settings.max_categories:
                value, measure = cramers_v(group_labels(values), groups), "Cramér's V"
            else:
                continue  # too many categories for a stable V; see high_cardinality
            rows.append(
                {"column": column, "sensitive": attribute, "measure": measure, "value": value}
            )
    return sorted(rows, key=lambda r: -r["value"])


def proxy_association(inp: QualityInput) -> list[Finding]:
    """A warning for each model input associated with a sensitive attribute at
    ``proxy_association`` or more: the model can use it to rediscover the attribute even
    when the attribute itself is left out."""
    limit = inp.settings.proxy_association
    if not inp.features:
        raise CheckSkipped(
            "no model inputs: a predictions-only audit knows the inputs only when "
            "data.features declares them"
        )
    return [
        Finding(
            "proxy_association",
            f"{row['column']} ~ {row['sensitive']}",
            "warning",
            f"'{row['column']}' is associated with '{row['sensitive']}' ({row['measure']} "
            f"{row['value']:.2f} ≥ {limit:g}): it can act as a proxy for it.",
            {**row, "threshold": limit},
        )
        for row in association_table(inp)
        if row["value"] >= limit
    ]
