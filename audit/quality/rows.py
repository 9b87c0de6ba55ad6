"""Checks across rows: exact duplicate rows, repeated identifiers, conflicting labels."""

from __future__ import annotations

import numpy as np
import pandas as pd

from audit.quality.columns import identifier_columns
from audit.quality.findings import CheckSkipped, Finding, QualityInput, pct, row_hashes, share


def duplicates(inp: QualityInput) -> list[Finding]:
    """Exact duplicate rows, identifiers that repeat (with or without identical records),
    and column names the file held more than once (identical copies, dropped on loading)."""
    findings = []
    if inp.repeated_columns:
        shown = ", ".join(f"'{name}' ×{n}" for name, n in inp.repeated_columns.items())
        findings.append(
            Finding(
                "duplicates",
                "columns",
                "info",
                f"Columns repeated in the file with identical values ({shown}): one copy of "
                "each is audited.",
                {"repeated_columns": dict(inp.repeated_columns)},
            )
        )
    copies, involved = inp.duplicate_rows()
    if copies:
        frac = share(copies, inp.n_rows)
        warn = frac >= inp.settings.duplicate_warning and inp.trains_model
        why = (
            "Copies weigh twice in training and, split across training and test rows, flatter "
            "the held-out numbers."
            if inp.trains_model
            # decisions already made: nothing is trained, and with few, coarse columns (group,
            # score, label) separate decisions often look alike
            else "This predictions-only audit trains nothing: each copy counts as one more "
            "decision, right if they are separate decisions, not one logged twice."
        )
        findings.append(
            Finding(
                "duplicates",
                "rows",
                "warning" if warn else "info",
                f"{copies:,} rows ({pct(frac)}) are exact copies of another row ({involved:,} "
                f"rows involved). {why}",
                {
                    "duplicate_rows": copies,
                    "rows_involved": involved,
                    "rows": inp.n_rows,
                    "share": frac,
                },
            )
        )
    for column, info in identifier_columns(inp).items():
        if not info["repeated_rows"]:
            continue
        ids = inp.frame[column]
        repeated = ids.notna() & ids.duplicated(keep=False)
        other = [c for c in inp.frame.columns if c != column]
        records = pd.DataFrame(
            {"id": ids[repeated], "record": row_hashes(inp.frame, other)[repeated]}
        )
        distinct_records = records.groupby("id")["record"].nunique()
        differing = int((distinct_records > 1).sum())
        message = (
            f"'{column}' repeats: {len(distinct_records):,} values occur more than once "
            f"({int(repeated.sum()):,} rows)"
        )
        if differing:
            message += (
                f"; {differing:,} of them label different records, so the same entity may sit "
                "in both training and test rows"
            )
        else:
            message += "; every repeat is an exact duplicate row"
        findings.append(
            Finding(
                "duplicates",
                column,
                "warning" if differing else "info",
                message + ".",
                {
                    "column": column,
                    "repeated_values": int(len(distinct_records)),
                    "rows_involved": int(repeated.sum()),
                    "values_with_differing_records": differing,
                },
            )
        )
    return findings


def conflicting_labels(inp: QualityInput) -> list[Finding]:
    """Rows whose model inputs are identical but whose labels differ."""
    if not inp.features:
        raise CheckSkipped(
            "no model inputs: a predictions-only audit knows the inputs only when "
            "data.features declares them"
        )
    if inp.task == "regression":
        raise CheckSkipped("a numeric target varies among rows with identical inputs by nature")
    hashes = row_hashes(inp.frame, inp.features).to_numpy()
    table = pd.DataFrame({"h": hashes, "y": inp.y})
    labels_per_input = table.groupby("h")["y"].transform("nunique").to_numpy()
    conflicted = labels_per_input > 1
    rows = int(conflicted.sum())
    if not rows:
        return []
    groups = int(pd.unique(hashes[conflicted]).size)
    frac = share(rows, inp.n_rows)
    example_row = int(np.flatnonzero(conflicted)[0])
    example = {c: inp.frame[c].iloc[example_row] for c in inp.features[:12]}
    return [
        Finding(
            "conflicting_labels",
            "rows",
            "warning" if frac >= inp.settings.conflict_warning else "info",
            f"{rows:,} rows ({pct(frac)}) in {groups:,} set(s) of identical model inputs carry "
            "different labels: no model can get all of them right, and the labels may be noisy.",
            {"rows": rows, "share": frac, "input_sets": groups, "example_inputs": example},
        )
    ]
