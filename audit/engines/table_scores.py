"""Score histogram cells (:class:`audit.metrics.score_cells.ScoreCells`) from the grouped
rows of an engine that never holds the rows (DuckDB, Spark): the SQL sums each group of
rows carries, and the cells built from them, for the whole audit and for each time window.

The grouped rows split by the score's histogram bin and calibration bin (SQL from
:meth:`~audit.metrics.score_cells.Binning.sql`) and carry the sums below; the cells are
then those :meth:`ScoreCells.from_rows` builds from the rows, so every score metric and its
interval is computed by the same code on both kinds of engine.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from audit.metrics.counts import fine_rows
from audit.metrics.rowwise import EPS
from audit.metrics.score_cells import Binning, ScoreCells


def score_measures(oriented: str, losses: bool) -> dict[str, str]:
    """The SQL aggregates each group of rows carries for its cell: the sums of the score and
    of its square, its smallest and largest score and, when ``losses``, the sums of the log
    loss of a positive and of a negative (the group's label picks one)."""
    measures = {
        "__sum": f"sum({oriented})",
        "__square": f"sum({oriented} * {oriented})",
        "__low": f"min({oriented})",
        "__high": f"max({oriented})",
    }
    if losses:
        clipped = f"greatest(least({oriented}, {float(1 - EPS)!r}), {float(EPS)!r})"
        measures["__loss1"] = f"sum(-ln({clipped}))"
        measures["__loss0"] = f"sum(-ln(1 - {clipped}))"
    return measures


def grouped_cells(
    binning: Binning, table: Any, rows: pd.DataFrame, y: np.ndarray, histogram: str = "hist_bin"
) -> ScoreCells:
    """The score cells of the grouped ``rows`` (with ``n``, the sums of
    :func:`score_measures`, ``cal_bin`` and the histogram bin in column ``histogram``),
    their encoded labels ``y`` and finest count table ``table`` (built from these rows).

    Without probabilities (``binning``) every row is in calibration bin 0 and has no log
    loss, as :meth:`ScoreCells.from_rows` has them."""
    n = rows["n"].to_numpy(dtype=np.float64)
    calibration = np.zeros(len(rows), dtype=np.int64)
    loss = np.zeros(len(rows))
    if binning.probabilities:
        calibration = rows["cal_bin"].to_numpy(dtype=np.int64)
        loss = np.where(y == 1, rows["__loss1"], rows["__loss0"])
    sums = np.column_stack([n, rows["__sum"], rows["__square"], loss]).astype(np.float64)
    return ScoreCells.build(
        binning,
        fine_rows(table.codes, table.present),
        np.asarray(y, dtype=np.int64),
        calibration,
        rows[histogram].to_numpy(dtype=np.int64),
        sums,
        rows["__low"].to_numpy(dtype=np.float64),
        rows["__high"].to_numpy(dtype=np.float64),
    )


def overall_scores(cells: ScoreCells | None, n_fine: int) -> dict[str, float | None]:
    """Overall ROC AUC and Brier score from the score cells (all groups as one)."""
    if cells is None:
        return {}
    point = cells.point(np.zeros(n_fine, dtype=np.int64), 1)
    brier = float(point["brier"][0, 0]) if cells.binning.probabilities else None
    return {"roc_auc": float(point["roc_auc"][0, 0]), "brier": brier}
