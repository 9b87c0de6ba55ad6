"""Performance and fairness metrics: overall, per group, and disparities between groups.

:func:`measure` is the one yardstick: the baseline model, every mitigated
alternative and predictions-only audits are all measured by it, so their numbers
are comparable.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from audit.config import AuditConfig
from audit.metrics.fairness import fairness_by_feature
from audit.metrics.performance import overall_metrics


def measure(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    scores: np.ndarray | None,
    sensitive: pd.DataFrame,
    config: AuditConfig,
) -> dict[str, Any]:
    """Overall performance and per-group fairness of one set of decisions.

    Returns ``{"performance": {...}, "fairness": [one entry per sensitive feature]}``;
    each fairness entry has ``feature``, ``groups`` (one row of metrics per group) and
    ``disparities`` (``metric``, ``value``, ``definition``).
    """
    return {
        "performance": overall_metrics(y_true, y_pred, scores),
        "fairness": fairness_by_feature(y_true, y_pred, sensitive),
    }
