"""Shared pieces of the benchmarks: synthetic columns, timing, the metric set, reporting.

Benchmarks are scripts, not tests: they print rai-audit and fairlearn measured in the same
run, side by side, with their ratios and the targets of issue 3.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from fairlearn import metrics as flm
from sklearn.metrics import accuracy_score, precision_score, recall_score

SEXES = np.array(["female", "male"])
RACES = np.array(["White", "Black", "Hispanic", "Asian", "Other"])
NAN = np.nan

# The count metrics rai-audit derives from one table, as fairlearn/sklearn functions.
# Undefined rates are NaN in both (zero_division=nan), so values compare one to one.
FAIRLEARN_METRICS: dict[str, Callable[..., float]] = {
    "base_rate": lambda y_true, y_pred: float(np.mean(y_true)),
    "selection_rate": flm.selection_rate,
    "tpr": partial(recall_score, zero_division=NAN),
    "tnr": partial(recall_score, pos_label=0, zero_division=NAN),
    "fpr": flm.false_positive_rate,
    "fnr": flm.false_negative_rate,
    "precision": partial(precision_score, zero_division=NAN),
    "npv": partial(precision_score, pos_label=0, zero_division=NAN),
    "fdr": lambda y_true, y_pred: 1 - precision_score(y_true, y_pred, zero_division=NAN),
    "for": lambda y_true, y_pred: (
        1 - precision_score(y_true, y_pred, pos_label=0, zero_division=NAN)
    ),
    "accuracy": accuracy_score,
}


def make_columns(rows: int, seed: int = 0) -> dict[str, Any]:
    """Label, decision and two sensitive columns (2 x 5 = 10 intersectional groups)."""
    rng = np.random.default_rng(seed)
    sex = rng.integers(0, 2, rows).astype(np.int8)
    race = rng.choice(5, rows, p=[0.58, 0.18, 0.15, 0.07, 0.02]).astype(np.int8)
    y = (rng.random(rows) < 0.45 - 0.05 * (race == 1)).astype(np.int8)
    pred = (rng.random(rows) < 0.35 + 0.4 * y - 0.08 * (race == 1)).astype(np.int8)
    return {"sex": sex, "race": race, "y": y, "pred": pred}


def as_text_frame(columns: dict[str, Any]) -> pd.DataFrame:
    """The sensitive columns as text, as a data file would give them."""
    return pd.DataFrame({"sex": SEXES[columns["sex"]], "race": RACES[columns["race"]]}).astype(
        "str"
    )


def best_of(function: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Best wall time over ``repeat`` runs, and the last result."""
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = function()
        best = min(best, time.perf_counter() - start)
    return best, value


def line(label: str, seconds: float, note: str = "") -> None:
    print(f"  {label:<58} {seconds:>10.4f} s  {note}")


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"
