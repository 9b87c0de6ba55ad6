"""Checks by sensitive group: representation, label base rates, missing values by group, proxies.

Groups are the values of each sensitive attribute and of every intersection of
attributes (e.g. ``sex × race``); a missing value is a group of its own,
``(missing)``, as in the fairness tables.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from audit.metrics.association import proxy_associations
from audit.metrics.fairness import group_labels
from audit.quality.columns import identifier_columns
from audit.quality.findings import CheckSkipped, Finding, QualityInput, pct, share


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
            pos = None if inp.task != "classification" else int(positives.get(level, 0))
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
    if inp.task == "multiclass":
        raise CheckSkipped(
            "a multiclass target has no single positive label; each class's rate per group "
            "is in the per-class audit"
        )
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


def association_table(inp: QualityInput) -> dict[str, Any]:
    """Association of every model input with every sensitive attribute, on all rows, by
    the one proxy detector (:func:`audit.metrics.association.proxy_associations`); the
    explanations cross this same table with the model's importance."""
    return inp.memo("associations", lambda: _association_table(inp))


def _association_table(inp: QualityInput) -> dict[str, Any]:
    ids = identifier_columns(inp)
    inputs = [c for c in inp.features if c not in inp.sensitive and c not in ids]
    groups = pd.DataFrame({a: group_labels(inp.frame[a]).to_numpy() for a in inp.sensitive})
    settings = inp.settings
    return proxy_associations(
        inp.frame[inputs], groups, settings.proxy_method, settings.proxy_association
    )


def proxy_association(inp: QualityInput) -> list[Finding]:
    """A warning for each model input associated with a sensitive attribute at
    ``proxy_association`` or more: the model can use it to rediscover the attribute even
    when the attribute itself is left out."""
    if not inp.features:
        raise CheckSkipped(
            "no model inputs: a predictions-only audit knows the inputs only when "
            "data.features declares them"
        )
    table = association_table(inp)
    limit = table["threshold"]
    return [
        Finding(
            "proxy_association",
            f"{row['feature']} ~ {row['sensitive']}",
            "warning",
            f"'{row['feature']}' is associated with '{row['sensitive']}' ({row['measure']} "
            f"{row['value']:.2f} ≥ {limit:g}): it can act as a proxy for it.",
            {**row, "threshold": limit},
        )
        for row in table["associations"]
        if row["flagged"]
    ]
