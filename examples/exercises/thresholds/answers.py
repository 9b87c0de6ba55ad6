"""Answer key of the threshold exercise: one audit per threshold."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import audit
from audit.exercises import exercise_data

HERE = Path(__file__).parent
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)


def audits() -> dict[float, audit.AuditResult]:
    frame = exercise_data("thresholds")["scores.csv"]
    return {
        t: audit.run(HERE / "audit.yaml", data=frame, scores="score", threshold=t)
        for t in THRESHOLDS
    }


def _trend(values: list[float]) -> str:
    steps = np.diff(values)
    if (steps > 0).all():
        return "rises"
    if (steps < 0).all():
        return "falls"
    return "stays"


def key() -> dict[str, object]:
    results = audits()
    groups = {t: r.groups("group").set_index("group") for t, r in results.items()}
    ratio = {
        t: r.disparities("group").set_index("metric")["value"]["demographic_parity_ratio"]
        for t, r in results.items()
    }
    precision = {g: _trend([groups[t].loc[g, "precision"] for t in THRESHOLDS]) for g in "AB"}
    return {
        "precision_a": groups[0.5].loc["A", "precision"],
        "recall_b": groups[0.5].loc["B", "tpr"],
        "recall_b_trend": _trend([groups[t].loc["B", "tpr"] for t in THRESHOLDS]),
        "precision_trend": precision["A"] if precision["A"] == precision["B"] else "stays",
        "best_parity_threshold": str(max(ratio, key=ratio.get)),
        "thresholds_passing_policy": [str(t) for t, r in results.items() if r.verdict == "pass"],
    }
