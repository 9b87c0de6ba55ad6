"""Loading tabular data, resolving column roles and splitting rows.

Every check here raises :class:`AuditError` with a message that names the file or
column at fault and says what to do, because these are the mistakes users make.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from audit.config import AuditConfig
from audit.errors import AuditError
from audit.regression import regression_target

READERS = {".csv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet"}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_table(path: Path) -> pd.DataFrame:
    """Read a CSV or Parquet file into a DataFrame."""
    if not path.exists():
        raise AuditError(f"Data file not found: {path}. Check --data / data.path.")
    if path.is_dir():
        raise AuditError(
            f"Data path {path} is a directory; give the CSV or Parquet file inside it."
        )
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise AuditError(
            f"Cannot read {path}: unknown file type '{path.suffix}'. "
            f"Supported: {', '.join(sorted(READERS))}."
        )
    if path.stat().st_size == 0:
        raise AuditError(f"Data file {path} is empty (0 bytes).")
    try:
        frame = pd.read_csv(path, low_memory=False) if kind == "csv" else pd.read_parquet(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        raise AuditError(f"Could not parse {path} as {kind.upper()}: {exc}") from None
    except Exception as exc:  # pyarrow raises its own error types for corrupt Parquet
        raise AuditError(f"Could not read {path} as {kind.upper()}: {exc}") from None
    if frame.empty:
        raise AuditError(f"Data file {path} has a header but no rows.")
    return frame


def _require_columns(frame: pd.DataFrame, columns: list[str], role: str, path: Path) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        shown = ", ".join(map(str, list(frame.columns)[:30]))
        raise AuditError(
            f"{role} column(s) {', '.join(map(repr, missing))} not found in {path}. "
            f"Columns in the file: {shown}{' ...' if frame.shape[1] > 30 else ''}."
        )


def _matches(values: pd.Series, label: Any) -> pd.Series:
    """Rows equal to ``label``, comparing as text when types differ (CLI flags are strings)."""
    if pd.api.types.is_numeric_dtype(values) and not isinstance(label, bool):
        try:
            return values == float(label)
        except (TypeError, ValueError):
            pass
    return values.astype(str) == str(label)


def label_matches(value: Any, label: Any) -> bool:
    """Whether one class value (e.g. of a model's ``classes_``) is the label ``label``."""
    return bool(_matches(pd.Series([value]), label).iloc[0])


def resolve_positive_label(values: pd.Series, positive_label: Any, column: str) -> Any:
    """Pick the positive label: the configured one, or 1/True for a 0/1 or boolean column."""
    observed = values.dropna().unique()
    if positive_label is not None:
        if not _matches(pd.Series(observed), positive_label).any():
            shown = ", ".join(map(str, sorted(observed, key=str)[:10]))
            raise AuditError(
                f"Positive label {positive_label!r} does not occur in column '{column}'. "
                f"Values found: {shown}. Set --positive-label / data.positive_label to one of them."
            )
        return positive_label
    if set(pd.Series(observed).astype(str)) <= {"0", "1", "0.0", "1.0", "True", "False"}:
        return True if values.dtype == bool else 1
    shown = ", ".join(map(str, sorted(observed, key=str)[:10]))
    raise AuditError(
        f"Column '{column}' is not 0/1 or boolean, so say which value is the positive "
        f"(favourable or predicted) outcome with --positive-label. Values found: {shown}."
    )


def binary_target(values: pd.Series, positive_label: Any, column: str) -> np.ndarray:
    """Encode a target or prediction column as 0/1 against the positive label."""
    observed = values.dropna().unique()
    if len(observed) > 2:
        shown = ", ".join(map(str, sorted(observed, key=str)[:10]))
        raise AuditError(
            f"Column '{column}' has {len(observed)} distinct values ({shown}...); a binary "
            "classification audit needs exactly two. Recode it, or pick another column."
        )
    return _matches(values, positive_label).to_numpy(dtype=np.int8)


@dataclass
class AuditData:
    """The loaded table and the roles of its columns."""

    frame: pd.DataFrame
    path: Path
    sha256: str
    target: str
    positive_label: Any
    y: np.ndarray  # 0/1 (1 = positive label), or the numeric target of a regression audit
    labels: np.ndarray  # the target's own values, which a model is trained on
    sensitive: list[str]
    features: list[str]
    rows_without_target: int = 0


def load_audit_data(config: AuditConfig) -> AuditData:
    """Load the data file and resolve target, positive label, sensitive and feature columns."""
    cfg = config.data
    assert cfg.path is not None and cfg.target is not None  # guaranteed by check_complete
    frame = load_table(cfg.path)
    frame.columns = [str(c) for c in frame.columns]
    _require_columns(frame, [cfg.target], "Target", cfg.path)
    _require_columns(frame, cfg.sensitive, "Sensitive", cfg.path)
    _require_columns(frame, cfg.drop, "Dropped", cfg.path)
    if cfg.target in cfg.sensitive:
        raise AuditError(f"Column '{cfg.target}' is both the target and a sensitive feature.")

    missing_target = frame[cfg.target].isna()
    if missing_target.all():
        raise AuditError(f"Target column '{cfg.target}' in {cfg.path} has no values.")
    # A row without a label cannot be scored; it is dropped and the count reported, not hidden.
    frame = frame.loc[~missing_target].reset_index(drop=True)

    if cfg.task == "regression":  # a numeric target, no positive label
        positive, y = None, regression_target(frame[cfg.target], cfg.target)
    else:
        positive = resolve_positive_label(frame[cfg.target], cfg.positive_label, cfg.target)
        y = binary_target(frame[cfg.target], positive, cfg.target)
        if y.min() == y.max():
            raise AuditError(
                f"Target column '{cfg.target}' has only one class after encoding (positive "
                f"label {positive!r}); an audit needs both outcomes."
            )
    for column in cfg.sensitive:
        if frame[column].nunique(dropna=True) < 2:
            raise AuditError(
                f"Sensitive column '{column}' has fewer than two groups "
                f"({frame[column].dropna().unique()[:3].tolist()}); fairness compares groups, so "
                "pick a column with at least two values or remove it from --sensitive."
            )

    features = _feature_columns(frame, config)
    return AuditData(
        frame=frame,
        path=cfg.path,
        sha256=sha256_of(cfg.path),
        target=cfg.target,
        positive_label=positive,
        y=y,
        labels=frame[cfg.target].to_numpy(),
        sensitive=list(cfg.sensitive),
        features=features,
        rows_without_target=int(missing_target.sum()),
    )


def _feature_columns(frame: pd.DataFrame, config: AuditConfig) -> list[str]:
    cfg = config.data
    prediction_columns = {config.predictions.prediction_column, config.predictions.score_column}
    prediction_columns.add(config.fairness.weight_column)  # measurement weights: not an input
    prediction_columns.add(config.split.column)  # says which rows train: never an input
    if cfg.features is not None:
        _require_columns(frame, cfg.features, "Feature", cfg.path)  # type: ignore[arg-type]
        chosen = [c for c in cfg.features if c not in cfg.drop]
    else:
        excluded = {cfg.target, *cfg.drop, *prediction_columns}
        chosen = [c for c in frame.columns if c not in excluded]
    if not config.model.include_sensitive:
        chosen = [c for c in chosen if c not in cfg.sensitive]
    if cfg.target in chosen:
        raise AuditError(f"The target '{cfg.target}' cannot also be a feature.")
    if config.split.column is not None and config.split.column in chosen:
        raise AuditError(
            f"The split column '{config.split.column}' cannot also be a feature: remove it "
            "from data.features."
        )
    return chosen
