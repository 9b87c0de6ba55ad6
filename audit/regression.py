"""Regression audits (``data.task: regression``): numeric targets and predictions already made.

A regression audit measures predictions a model has already made (a numeric column
named by ``predictions.prediction_column``): per-group MAE, RMSE, R², mean prediction
and mean target, their disparities, intervals and verdicts. Training or loading a
regressor is not supported: the model registry holds classifiers only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from audit.errors import AuditError


def regression_target(values: pd.Series, column: str) -> np.ndarray:
    """The numeric target of a regression audit, as float64."""
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        raise AuditError(
            f"data.task is regression, but target column '{column}' is not numeric "
            f"({values.dtype}). Use a numeric target, or data.task: classification."
        )
    y = values.to_numpy(dtype=np.float64)
    if not np.isfinite(y).all():
        raise AuditError(f"Target column '{column}' has infinite values.")
    if np.ptp(y) == 0:
        raise AuditError(f"Target column '{column}' is constant; there is nothing to audit.")
    return y
