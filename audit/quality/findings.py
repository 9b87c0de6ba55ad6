"""What a data-quality check reads (:class:`QualityInput`) and reports (:class:`Finding`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from audit.config import QualityConfig
from audit.data import column_role
from audit.metrics.fairness import group_labels
from audit.vocabulary.groups import SEPARATOR

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


class CheckSkipped(Exception):
    """A check that cannot run on this data; the message says why."""


@dataclass
class Finding:
    """One thing a check found: an id, a severity, a message a reviewer can read, and evidence.

    ``evidence`` holds the numbers behind the message (counts, shares, columns,
    groups) as plain JSON-ready values, so results.json carries them too.
    """

    check: str
    subject: str
    severity: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.check}:{self.subject}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "check": self.check,
            "subject": self.subject,
            "severity": self.severity,
            "message": self.message,
            "evidence": plain(self.evidence),
        }


def plain(value: Any) -> Any:
    """JSON-ready evidence: numpy scalars to Python, NaN to None, anything else (a
    timestamp, a decimal from user data) to its text."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


@dataclass
class GroupSplit:
    """Rows partitioned by one sensitive attribute or an intersection of several."""

    name: str
    attributes: list[str]
    labels: pd.Series  # one text label per row
    levels: list[str]  # every combination of observed levels, including absent ones


@dataclass
class QualityInput:
    """The loaded data, the roles of its columns and the split: everything the checks read.

    Parameters
    ----------
    frame : DataFrame
        The loaded rows (rows without a target already dropped).
    target : str
        Label column.
    y : ndarray
        0/1 labels (1 = the positive label).
    features : list of str
        Model inputs.
    sensitive : list of str
        Sensitive attributes.
    settings : QualityConfig
        Thresholds.
    raw_text : DataFrame, optional
        The file's cells exactly as written (CSV only), to see null-marker spellings
        that the CSV reader already turned into missing values.
    train_rows, test_rows : ndarray, optional
        Row positions of the split; ``None`` when there is none (predictions-only).
    trains_model : bool
        False for a predictions-only audit, where no model is fitted on these columns.
    rows_without_target : int
        Rows the loader dropped because the target was missing.
    positive_label : object
        The target's positive value (None for a regression audit).
    task : {'classification', 'regression'}
        A regression target is a number per row, not an outcome: checks of outcomes
        (imbalance, base rates) do not apply and leakage is measured by correlation.
    prediction, score, weight : str, optional
        Columns of predictions, scores and measurement weights (given, not model inputs).
    repeated_columns : dict
        Column names the file held more than once, with how often (identical copies
        were dropped on loading).
    """

    frame: pd.DataFrame
    target: str
    y: np.ndarray
    features: list[str]
    sensitive: list[str]
    settings: QualityConfig = field(default_factory=QualityConfig)
    raw_text: pd.DataFrame | None = None
    train_rows: np.ndarray | None = None
    test_rows: np.ndarray | None = None
    trains_model: bool = True
    rows_without_target: int = 0
    positive_label: Any = 1
    task: str = "classification"
    prediction: str | None = None
    score: str | None = None
    weight: str | None = None
    repeated_columns: dict[str, int] = field(default_factory=dict)
    # Checks an engine without the rows cannot run -> why (the runner marks them skipped).
    skipped_checks: dict[str, str] = field(default_factory=dict)
    _memo: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def n_rows(self) -> int:
        return len(self.frame)

    def missing_count(self, column: str) -> int:
        """Missing values of ``column`` (an engine without the rows counts them in SQL)."""
        return int(self.frame[column].isna().sum())

    def positives(self) -> int:
        """Rows with the positive label."""
        return int(self.y.sum())

    def duplicate_rows(self) -> tuple[int, int]:
        """Rows that copy an earlier row exactly, and rows involved in a copy (both)."""
        hashes = row_hashes(self.frame, list(self.frame.columns))
        return int(hashes.duplicated(keep="first").sum()), int(hashes.duplicated(keep=False).sum())

    @property
    def has_split(self) -> bool:
        return self.train_rows is not None and self.test_rows is not None

    def memo(self, key: str, compute: Callable[[], Any]) -> Any:
        """Compute a table once and share it between the checks that need it."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def role(self, column: str) -> str:
        """The column's role in the audit, as :func:`audit.data.column_role` names it."""
        return column_role(
            column,
            target=self.target,
            sensitive=self.sensitive,
            features=self.features,
            prediction=self.prediction,
            score=self.score,
            weight=self.weight,
        )

    def is_input(self, column: str) -> bool:
        """Whether a model fitted or evaluated here sees this column, which is what makes most
        defects matter. A predictions-only audit fits no model, so no column is an input."""
        return self.trains_model and column in self.features

    @property
    def not_input_reason(self) -> str:
        return (
            "it is not a model input"
            if self.trains_model
            else "this predictions-only audit fits no model on it"
        )

    def columns(self) -> list[str]:
        """Every column except the target (the target has checks of its own)."""
        return [c for c in self.frame.columns if c != self.target]

    def group_splits(self) -> list[GroupSplit]:
        """Each sensitive attribute alone, then every intersection of two or more."""
        return self.memo("group_splits", self._group_splits)

    def _group_splits(self) -> list[GroupSplit]:
        single = {c: group_labels(self.frame[c]) for c in self.sensitive}
        levels = {c: sorted(single[c].unique().tolist()) for c in self.sensitive}
        splits = [GroupSplit(c, [c], single[c], levels[c]) for c in self.sensitive]
        for size in range(2, len(self.sensitive) + 1):
            for combo in combinations(self.sensitive, size):
                labels = single[combo[0]]
                for column in combo[1:]:
                    labels = labels + SEPARATOR + single[column]
                every = [""]
                for column in combo:
                    every = [
                        f"{a}{SEPARATOR}{b}" if a else b for a in every for b in levels[column]
                    ]
                observed = sorted(labels.unique().tolist())
                # Absent combinations are listed (an empty intersection is a finding), unless
                # the full product is too large to be useful.
                shown = every if len(every) <= 1000 else observed
                splits.append(GroupSplit(SEPARATOR.join(combo), list(combo), labels, shown))
        return splits


def is_numeric(values: pd.Series) -> bool:
    """Numbers that can be ordered (booleans count as categories)."""
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def share(part: float, whole: float) -> float:
    return float(part) / float(whole) if whole else 0.0


def pct(value: float) -> str:
    """A share as text for messages: 0.0312 -> '3.1%', small but non-zero shares keep a digit."""
    if 0 < value < 0.001:
        return f"{100 * value:.2g}%"
    return f"{100 * value:.1f}%"


def row_hashes(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """One 64-bit hash per row of ``columns``; equal rows (missing values included) hash equal."""
    return pd.util.hash_pandas_object(frame[columns], index=False)
