"""Reading the measurement inputs the data file holds besides labels and predictions."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from audit.errors import AuditError
from audit.text import printable

if TYPE_CHECKING:
    from audit.config import AuditConfig


def sample_weights(
    frame: pd.DataFrame, rows: np.ndarray, config: AuditConfig, path: Path | str | None
) -> np.ndarray | None:
    """Row weights of the evaluated rows from ``fairness.weight_column``, or None.

    Weights (e.g. survey or inverse-probability weights) change every metric into its
    weighted version; group sizes and the minimum group size stay in rows.
    """
    column = config.fairness.weight_column
    if column is None:
        return None
    if column not in frame.columns:
        raise AuditError(
            f"fairness.weight_column '{printable(column)}' not found in {path}. Set it to a "
            "column of the file, or remove it."
        )
    values = frame[column].iloc[rows]
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        raise AuditError(
            f"Weight column '{printable(column)}' must be numeric (found {values.dtype}). Give "
            "a column of numbers."
        )
    weights = values.to_numpy(dtype=np.float64)
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise AuditError(
            f"Weight column '{printable(column)}' has missing, infinite or negative values; give "
            "every evaluated row a weight >= 0."
        )
    if weights.sum() <= 0:
        raise AuditError(
            f"Weight column '{printable(column)}' sums to 0 over the evaluated rows. Give "
            "positive weights to some of them."
        )
    return weights
