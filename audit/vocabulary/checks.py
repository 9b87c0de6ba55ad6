"""The catalogue of data-quality checks: ids, titles and what each one looks for.

Kept free of imports from the rest of the package so that the config can validate
check ids (``quality.disable``, ``quality.severity``) before any data is read.
"""

from __future__ import annotations

SEVERITIES = ("info", "warning", "error")

# id -> (title, what it looks for). The order is the order of the report.
CHECKS: dict[str, tuple[str, str]] = {
    "missing_values": (
        "Missing values",
        "Share of missing values in every column.",
    ),
    "missing_by_group": (
        "Missing values by group",
        "Whether values are missing more often in some sensitive groups than in others.",
    ),
    "null_markers": (
        "Null markers",
        "Text such as '', '?', 'NA', 'n/a' standing for a missing value, and columns that "
        "mix several spellings.",
    ),
    "duplicates": (
        "Duplicate rows",
        "Rows that are exact copies of another row, identifiers that repeat, and columns "
        "repeated in the file.",
    ),
    "conflicting_labels": (
        "Conflicting labels",
        "Rows with identical model inputs but different labels.",
    ),
    "constant_columns": (
        "Constant and near-constant columns",
        "Columns with a single value, or one value in almost every row.",
    ),
    "id_like": (
        "Identifier-like columns",
        "Columns that look like record identifiers (text with almost every value distinct, "
        "whole numbers that run like a counter, or an id-like name).",
    ),
    "high_cardinality": (
        "High-cardinality categoricals",
        "Text columns with many distinct categories.",
    ),
    "outliers": (
        "Outliers",
        "Numeric values far from the median by a robust (median / MAD) rule.",
    ),
    "sentinel_codes": (
        "Sentinel codes",
        "Numbers such as -1, -999 or 99999 that stand apart from a column's other values: "
        "codes for 'unknown' or a top code rather than measurements.",
    ),
    "label_imbalance": (
        "Label imbalance",
        "Share of the rarer outcome in the target.",
    ),
    "representation": (
        "Representation",
        "Size and share of every sensitive group and intersection of groups.",
    ),
    "base_rate": (
        "Label base rate by group",
        "Share of positive labels in each sensitive group and intersection.",
    ),
    "leakage": (
        "Leakage suspects",
        "A single model input that on its own predicts the label almost perfectly.",
    ),
    "proxy_association": (
        "Proxies of sensitive attributes",
        "Model inputs strongly associated with a sensitive attribute (Cramér's V or the "
        "correlation ratio).",
    ),
    "unseen_categories": (
        "Categories unseen in training",
        "Categories of model inputs that occur in the test rows but not in the training rows.",
    ),
    "distribution_shift": (
        "Train/test distribution shift",
        "Population stability index (PSI) of every model input between training and test rows.",
    ),
    "train_test_overlap": (
        "Train/test overlap",
        "Test rows that are exact copies (inputs and label) of a training row.",
    ),
}

# Checks that compare the training and test rows: skipped when there is no split.
SPLIT_CHECKS = ("unseen_categories", "distribution_shift", "train_test_overlap")
