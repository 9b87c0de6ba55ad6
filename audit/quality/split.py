"""Checks that compare the training rows with the held-out test rows.

A predictions-only audit has no split, so these checks are skipped there (the
runner states why). For a model loaded from a file, "training rows" are the rows
this audit did not hold out, not necessarily the data the model was fitted on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from audit.metrics.fairness import group_labels
from audit.quality.findings import (
    CheckSkipped,
    Finding,
    QualityInput,
    is_numeric,
    pct,
    row_hashes,
    share,
)

PSI_BINS = 10
PSI_FLOOR = 1e-4  # share given to an empty bin, so the log stays finite
MIN_ROWS_FOR_SHIFT = 100
OTHER = "(other)"


def _parts(inp: QualityInput, column: str) -> tuple[pd.Series, pd.Series]:
    values = inp.frame[column]
    return values.iloc[inp.train_rows], values.iloc[inp.test_rows]


def unseen_categories(inp: QualityInput) -> list[Finding]:
    """Categories of a model input found in test rows but never in training rows: the
    model has learnt nothing about them (one-hot encoding ignores them)."""
    findings = []
    n_test = len(inp.test_rows)
    for column in inp.features:
        train, test = _parts(inp, column)
        if is_numeric(train):
            continue
        seen = set(train.dropna().astype(str))
        test_text = test.dropna().astype(str)
        unseen = test_text[~test_text.isin(seen)]
        if unseen.empty:
            continue
        counts = {str(k): int(v) for k, v in unseen.value_counts().items()}
        frac = share(len(unseen), n_test)
        shown = ", ".join(f"{k!r} ({v:,})" for k, v in list(counts.items())[:6])
        findings.append(
            Finding(
                "unseen_categories",
                column,
                "warning" if frac >= inp.settings.unseen_share else "info",
                f"'{column}': {len(counts):,} categories occur in test rows but not in training "
                f"rows ({shown}{' …' if len(counts) > 6 else ''}), affecting {len(unseen):,} test "
                f"rows ({pct(frac)}).",
                {
                    "column": column,
                    "unseen": counts,
                    "test_rows_affected": int(len(unseen)),
                    "share": frac,
                },
            )
        )
    return findings


def _bin_codes(
    train: pd.Series, test: pd.Series, max_categories: int
) -> tuple[np.ndarray, np.ndarray]:
    """Bin both parts on the training rows' quantiles (numeric) or categories (text)."""
    if is_numeric(train):
        x_train = train.to_numpy(dtype=float)
        x_test = test.to_numpy(dtype=float)
        finite = x_train[np.isfinite(x_train)]
        if finite.size == 0:
            edges = np.array([])
        else:
            edges = np.unique(np.quantile(finite, np.linspace(0, 1, PSI_BINS + 1))[1:-1])

        def code(x: np.ndarray) -> np.ndarray:
            out = np.searchsorted(edges, x, side="right")
            return np.where(np.isfinite(x), out, len(edges) + 1)  # missing: a bin of its own

        return code(x_train), code(x_test)
    train_labels, test_labels = group_labels(train), group_labels(test)
    # Rare categories beyond the most frequent ones share one bin, so the PSI stays stable.
    keep = set(train_labels.value_counts().index[:max_categories])
    train_labels = train_labels.where(train_labels.isin(keep), OTHER)
    test_labels = test_labels.where(test_labels.isin(keep), OTHER)
    categories, _ = pd.factorize(pd.concat([train_labels, test_labels]))
    return categories[: len(train_labels)], categories[len(train_labels) :]


def psi(train_codes: np.ndarray, test_codes: np.ndarray) -> float:
    """Population stability index: sum over bins of (q - p) * ln(q / p), where p and q are
    the training and test shares of each bin (empty bins floored at 0.0001)."""
    size = int(max(train_codes.max(initial=0), test_codes.max(initial=0))) + 1
    p = np.bincount(train_codes, minlength=size) / len(train_codes)
    q = np.bincount(test_codes, minlength=size) / len(test_codes)
    p, q = np.maximum(p, PSI_FLOOR), np.maximum(q, PSI_FLOOR)
    return float(np.sum((q - p) * np.log(q / p)))


def shift_table(inp: QualityInput) -> list[dict[str, Any]]:
    """PSI (and, for numbers, the Kolmogorov-Smirnov statistic) of every model input."""
    return inp.memo("shift", lambda: _shift_table(inp))


def _shift_table(inp: QualityInput) -> list[dict[str, Any]]:
    from scipy.stats import ks_2samp  # imported here: scipy/sklearn cost seconds at CLI start

    if min(len(inp.train_rows), len(inp.test_rows)) < MIN_ROWS_FOR_SHIFT:
        raise CheckSkipped(
            f"needs at least {MIN_ROWS_FOR_SHIFT} rows in both the training and the test rows "
            f"(has {len(inp.train_rows)} and {len(inp.test_rows)})"
        )
    rows = []
    for column in inp.features:
        train, test = _parts(inp, column)
        train_codes, test_codes = _bin_codes(train, test, inp.settings.max_categories)
        row = {"column": column, "psi": psi(train_codes, test_codes), "ks": None}
        if is_numeric(train) and train.notna().any() and test.notna().any():
            row["ks"] = float(ks_2samp(train.dropna(), test.dropna()).statistic)
        rows.append(row)
    return sorted(rows, key=lambda r: -r["psi"])


def distribution_shift(inp: QualityInput) -> list[Finding]:
    """PSI of each model input between training and test rows: info at ``shift_psi_info``
    or more, a warning at ``shift_psi_warning`` or more (the usual 0.1 / 0.25 rule)."""
    cfg = inp.settings
    findings = []
    for row in shift_table(inp):
        if row["psi"] < cfg.shift_psi_info:
            continue
        ks = f", KS statistic {row['ks']:.3f}" if row["ks"] is not None else ""
        findings.append(
            Finding(
                "distribution_shift",
                row["column"],
                "warning" if row["psi"] >= cfg.shift_psi_warning else "info",
                f"'{row['column']}' is distributed differently in test and training rows "
                f"(PSI {row['psi']:.3f}{ks}): held-out numbers may not carry over.",
                {**row, "info_at": cfg.shift_psi_info, "warning_at": cfg.shift_psi_warning},
            )
        )
    return findings


def train_test_overlap(inp: QualityInput) -> list[Finding]:
    """Test rows whose model inputs and label equal a training row: the model is scored on
    examples it was fitted on. Any is a warning; ``overlap_error`` of the test rows or more
    is an error (the held-out numbers would mostly measure memory)."""
    columns = [*inp.features, inp.target]
    hashes = row_hashes(inp.frame, columns).to_numpy()
    in_train = np.isin(hashes[inp.test_rows], hashes[inp.train_rows])
    copied = int(in_train.sum())
    if not copied:
        return []
    frac = share(copied, len(inp.test_rows))
    severity = "error" if frac >= inp.settings.overlap_error else "warning"
    return [
        Finding(
            "train_test_overlap",
            "rows",
            severity,
            f"{copied:,} of {len(inp.test_rows):,} test rows ({pct(frac)}) are exact copies "
            "(model inputs and label) of a training row, so held-out metrics are "
            "optimistic. Remove duplicates before splitting.",
            {
                "test_rows_copied": copied,
                "test_rows": int(len(inp.test_rows)),
                "share": frac,
                "error_at": inp.settings.overlap_error,
            },
        )
    ]
