"""The group-count engine: one pass over the rows, every count metric from the small table.

Every classification metric users ask for per group (selection rate, TPR, FPR, FNR,
TNR, PPV, NPV, FDR, FOR, accuracy, base rate) is a function of the group's confusion
counts. So one ``np.bincount`` over ``(group, y_true, y_pred)`` — in chunks of rows, so
memory stays flat at any size — gives a table of ``n_groups x 4`` cells (columns
``tn, fp, fn, tp``, i.e. index ``2 * y + pred``), and every metric, disparity and
bootstrap resample is computed from that table without touching the rows again.

Expected decisions of a randomized classifier
---------------------------------------------
A randomized classifier (a threshold optimizer mixing two thresholds per group, a
mixture of predictors) knows each row's probability of a positive decision
``p = P(pred = 1 | x)`` exactly. Its *expected* confusion counts are then sums of those
probabilities: ``tp = sum of p over rows with y = 1``, ``fn = sum of 1 - p`` over the same
rows, ``fp`` and ``tn`` likewise over ``y = 0``. Pass ``decision_probability`` instead of
0/1 decisions and the table holds these fractional counts; every rate computed from it
is the rate of the expected table (for TPR, FPR, selection rate and accuracy, whose
denominators do not depend on the decisions, exactly the expected rate of one draw).
It equals scikit-learn or fairlearn given each row twice, once decided positive with
weight ``p`` and once negative with weight ``1 - p``. A group's cells for one label still
add up to its whole number of rows with that label.
"""

from __future__ import annotations

import numpy as np

from audit.metrics.groups import SensitiveCodes
from audit.vocabulary.metrics import DENOMINATOR_NAMES, RATE_DEFINITIONS

CELL_INDEX = {"tn": 0, "fp": 1, "fn": 2, "tp": 3}
# Rows per chunk: big enough to amortise numpy call overhead, small enough that the
# temporary key array (8 bytes per row) stays a few MB regardless of the data size.
CHUNK_ROWS = 1 << 19
# Above this many finest groups, the occurring combinations are found by sorting instead.
MAX_DENSE_GROUPS = 1 << 22


def confusion_table(
    codes: SensitiveCodes,
    y_true: np.ndarray,
    y_pred: np.ndarray | None,
    sample_weight: np.ndarray | None = None,
    chunk_rows: int = CHUNK_ROWS,
    *,
    decision_probability: np.ndarray | None = None,
    row_counts: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Confusion counts of every occurring finest group (all sensitive columns crossed).

    Parameters
    ----------
    codes : SensitiveCodes
        The encoded sensitive columns.
    y_true : ndarray of 0/1
        Labels, one per row.
    y_pred : ndarray of 0/1, or None
        Decisions, one per row; None when ``decision_probability`` is given.
    sample_weight : ndarray, optional
        Row weights; when given, a weighted table is returned as well.
    chunk_rows : int
        Rows per bincount pass.
    decision_probability : ndarray of float in [0, 1], optional
        Each row's probability of a positive decision, for a randomized classifier: the
        table then holds its expected counts (see the module docstring), as floats.

    Returns
    -------
    present : ndarray of int64, shape (C,)
        Finest-group codes that occur, ascending.
    counts : ndarray of int64 (float64 for expected counts), shape (C, 4)
        Row counts ``tn, fp, fn, tp`` of each occurring finest group.
    weighted : ndarray of float64, shape (C, 4), or None
        The same cells summed over ``sample_weight``.
    """
    n_fine = codes.n_fine
    if n_fine > MAX_DENSE_GROUPS:
        return _sparse_table(codes, y_true, y_pred, sample_weight, decision_probability, row_counts)
    size = 4 * n_fine
    expected = decision_probability is not None
    counts = np.zeros(size, dtype=np.int64)
    weighted = None if sample_weight is None else np.zeros(size, dtype=np.float64)
    # Expected counts: rows (and weights) are counted in their "pred = 0" cell and the sum
    # of their probabilities kept apart, so each label's two cells add up exactly.
    positive = np.zeros(size) if expected else None
    weighted_positive = np.zeros(size) if expected and weighted is not None else None
    for start in range(0, len(y_true), chunk_rows):
        stop = start + chunk_rows
        key = codes.fine_codes(start, stop)
        key <<= 2
        # y * 2 + pred in the narrow input dtype, then one widening add.
        cell = np.left_shift(y_true[start:stop], 1, dtype=np.int8)
        if not expected:
            cell |= y_pred[start:stop]
        key += cell
        if row_counts is None:
            counts += np.bincount(key, minlength=size)
        else:  # whole counts summed as floats: exact below 2**53 rows
            counts += np.rint(np.bincount(key, row_counts[start:stop], size)).astype(np.int64)
        if weighted is not None:
            weights = sample_weight[start:stop]
            weighted += np.bincount(key, weights=weights, minlength=size)
        if expected:
            probability = decision_probability[start:stop]
            positive += np.bincount(key, weights=probability, minlength=size)
            if weighted_positive is not None:
                weighted_positive += np.bincount(key, weights=weights * probability, minlength=size)
    table = counts.reshape(n_fine, 4)
    present = np.flatnonzero(table.any(axis=1))
    table = table[present]
    if weighted is not None:
        weighted = weighted.reshape(n_fine, 4)[present]
    if expected:
        table = _expected(table, positive.reshape(n_fine, 4)[present])
        if weighted is not None:
            weighted = _expected(weighted, weighted_positive.reshape(n_fine, 4)[present])
    return present, table, weighted


def _expected(totals: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """Expected cells from each label's total (in its "pred = 0" column) and the sum of the
    probabilities of a positive decision (in the same column): ``pred = 1`` gets the sum,
    ``pred = 0`` the rest. For a whole number of rows ``n`` and ``0 <= s <= n``,
    ``(n - s) + s`` rounds back to exactly ``n`` in floating point, so a label's two cells
    still add up to its rows."""
    table = np.asarray(totals, dtype=np.float64).copy()
    for label in (0, 2):  # the columns of y = 0 and y = 1
        table[:, label + 1] = positive[:, label]
        table[:, label] -= positive[:, label]
    return table


def _sparse_table(
    codes: SensitiveCodes,
    y_true: np.ndarray,
    y_pred: np.ndarray | None,
    sample_weight: np.ndarray | None,
    decision_probability: np.ndarray | None = None,
    row_counts: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The same table when the full product of groups is too large to allocate densely."""
    fine = codes.fine_codes().astype(np.int64)
    present, inverse = np.unique(fine, return_inverse=True)
    expected = decision_probability is not None
    key = inverse * 4 + y_true.astype(np.int64) * 2 + (0 if expected else y_pred)
    size = 4 * len(present)

    def cells(weights: np.ndarray | None) -> np.ndarray:
        return np.bincount(key, weights=weights, minlength=size).reshape(-1, 4)

    counts = cells(None) if row_counts is None else np.rint(cells(row_counts)).astype(np.int64)
    weighted = None if sample_weight is None else cells(sample_weight)
    if expected:
        counts = _expected(counts, cells(decision_probability))
        if weighted is not None:
            weighted = _expected(weighted, cells(sample_weight * decision_probability))
    return present, counts, weighted


def group_sizes(counts: np.ndarray) -> np.ndarray:
    """Rows of each group of a ``(..., G, 4)`` table, as integers.

    Expected (fractional) counts still add up to whole rows; rounding removes the last
    bit of floating-point noise that summing them leaves.
    """
    return np.rint(counts.sum(axis=-1)).astype(np.int64)


def fine_rows(codes: SensitiveCodes, present: np.ndarray) -> np.ndarray:
    """Index into ``present`` of each row's finest group (for row-level metrics)."""
    return np.searchsorted(present, codes.fine_codes().astype(np.int64))


def marginalize(table: np.ndarray, fine_map: np.ndarray, n_groups: int) -> np.ndarray:
    """Sum finest-group tables ``(..., C, 4)`` into partition groups ``(..., G, 4)``.

    ``fine_map[c]`` is the partition group of finest group ``c``. Integer tables stay
    integer (exact sums).
    """
    order = np.argsort(fine_map, kind="stable")
    starts = np.searchsorted(fine_map[order], np.arange(n_groups))
    return np.add.reduceat(table[..., order, :], starts, axis=-2)


def rates(counts: np.ndarray) -> dict[str, np.ndarray]:
    """Every count metric from confusion counts ``(..., G, 4)``; undefined (0/0) is NaN.

    Works on any leading shape, e.g. ``(resamples, groups, 4)``.
    """
    cells = {name: counts[..., i].astype(np.float64) for name, i in CELL_INDEX.items()}
    out = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for name, (numerator, denominator, _, _) in RATE_DEFINITIONS.items():
            top = sum(cells[c] for c in numerator)
            bottom = sum(cells[c] for c in denominator)
            out[name] = np.where(bottom > 0, top / bottom, np.nan)
    return out


def undefined_reasons(counts: np.ndarray) -> list[dict[str, str]]:
    """For each group of a ``(G, 4)`` table: metric -> why it is undefined (empty if defined)."""
    reasons = []
    for row in counts:
        cells = dict(zip(CELL_INDEX, row, strict=True))
        reasons.append(
            {
                name: reason
                for name, (_, denominator, _, reason) in RATE_DEFINITIONS.items()
                if sum(cells[c] for c in denominator) <= 0
            }
        )
    return reasons


def denominators(counts: np.ndarray, metric: str) -> tuple[np.ndarray, list[str]]:
    """How many rows a group metric rests on in each group of a ``(G, 4)`` table, and what
    they are: the rate's denominator (actual positives for TPR, ...), for ROC AUC the
    scarcer of actual positives and negatives, else all rows.
    """
    # Expected counts of a randomized classifier are fractional: whole totals only up to float
    # noise once groups are summed, so 29.999... must not fall short of a minimum of 30.
    counts = np.round(counts, 9)
    cells = {name: counts[:, i] for name, i in CELL_INDEX.items()}
    if metric in RATE_DEFINITIONS:
        cells_used = RATE_DEFINITIONS[metric][1]
        size = sum(cells[c] for c in cells_used)
        return np.asarray(size), [DENOMINATOR_NAMES[cells_used]] * len(counts)
    if metric == "roc_auc":
        positives, negatives = cells["fn"] + cells["tp"], cells["tn"] + cells["fp"]
        names = [
            DENOMINATOR_NAMES[("fn", "tp") if p <= n else ("tn", "fp")]
            for p, n in zip(positives, negatives, strict=True)
        ]
        return np.minimum(positives, negatives), names
    return counts.sum(axis=1), ["rows"] * len(counts)
