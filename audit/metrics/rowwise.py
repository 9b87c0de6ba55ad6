"""Per-group metrics that are not functions of the confusion counts, vectorised over resamples.

ROC AUC, Brier score, log loss and expected calibration error of a scored classifier,
and MAE, RMSE, R², MSE, mean prediction, mean target, mean residual and scoring rate
(share above the full sample's median prediction) of a regression model.

All but AUC are ratios of weighted sums of per-row statistics, and sums add up across
groups: so the sums are computed once per finest group (all sensitive columns crossed)
with one matrix product per group and batch of row weightings, then added up into each
feature and intersection like the count table. AUC is a weighted Mann-Whitney sum over
each group's rows sorted by score, computed per partition.

A batch of row weightings is either the observed weights (the point value) or
bootstrap row multiplicities times them (the interval), so both go through the same
code. Definitions match scikit-learn (checked in the tests): ``roc_auc_score`` (ties
count one half), ``brier_score_loss``, ``log_loss`` (scores clipped to
``[eps, 1 - eps]``), ``mean_absolute_error``, ``root_mean_squared_error``,
``r2_score``; the calibration error uses ``calibration_curve``'s equal-width bins.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from audit.metrics.scoring_rate import above_median

EPS = np.finfo(np.float64).eps
REASONS = {
    "no_scores": "no scores: the audit has decisions only",
    "not_probabilities": "scores are not probabilities in [0, 1]",
    "one_class": "only one class (y = 0 or y = 1) in this group",
    "constant_target": "the true values are constant in this group",
    "empty": "empty group",
}
CLASSIFICATION_NAMES = ("roc_auc", "brier", "log_loss", "calibration_error")
REGRESSION_NAMES = (
    "mae",
    "rmse",
    "r2",
    "mean_prediction",
    "mean_target",
    "mse",
    "mean_residual",
    "scoring_rate",
)


def _blocks(group: np.ndarray, n_groups: int, *keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row order sorting by group (then by ``keys``), and each group's start in that order."""
    order = np.lexsort((*keys, group)) if keys else np.argsort(group, kind="stable")
    starts = np.searchsorted(group[order], np.arange(n_groups + 1))
    return order, starts


def log_loss_terms(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each row's log loss (scores clipped to [eps, 1 - eps], as scikit-learn)."""
    clipped = np.clip(scores, EPS, 1 - EPS)
    return -(y * np.log(clipped) + (1 - y) * np.log1p(-clipped))


class RowSums:
    """Weighted sums of per-row statistics, per finest group, for batches of row weights.

    Parameters
    ----------
    fine_group : ndarray of int
        Each row's finest group (0..n_fine-1).
    n_fine : int
    y_true : ndarray
        0/1 labels (classification) or true values (regression).
    values : ndarray
        Scores (classification) or predictions (regression).
    task : {"classification", "regression"}
    calibration_bins : int
    """

    def __init__(
        self,
        fine_group: np.ndarray,
        n_fine: int,
        y_true: np.ndarray,
        values: np.ndarray,
        task: Literal["classification", "regression"],
        calibration_bins: int = 10,
    ) -> None:
        self.task = task
        self.n_fine = n_fine
        y = np.asarray(y_true, dtype=np.float64)
        v = np.asarray(values, dtype=np.float64)
        self.probabilities = bool(
            task == "classification" and v.size and v.min() >= 0.0 and v.max() <= 1.0
        )
        self.center = float(y.mean()) if task == "regression" and y.size else 0.0
        # The scoring rate's median is the full evaluated sample's, fixed before resampling:
        # its intervals hold the groups' shares above this one median.
        self.median = above_median(v)[0] if task == "regression" and v.size else None
        self.order, self.starts = _blocks(fine_group, n_fine)
        stats = self._stats(y, v, calibration_bins)
        self.stats = stats[self.order]

    def _stats(self, y: np.ndarray, v: np.ndarray, bins: int) -> np.ndarray:
        if self.task == "regression":
            # Centring by the overall mean keeps SST = sum(y_c^2) - (sum y_c)^2 / W accurate.
            centred = y - self.center
            error = y - v
            above = above_median(v)[1].astype(np.float64)
            return np.column_stack(
                [np.ones_like(y), np.abs(error), error**2, v, centred, centred**2, -error, above]
            )
        columns = [np.ones_like(y)]
        if self.probabilities:
            columns.append((v - y) ** 2)
            columns.append(log_loss_terms(v, y))
            edges = np.linspace(0.0, 1.0, bins + 1)
            which = np.searchsorted(edges[1:-1], v)  # the bins of sklearn.calibration_curve
            residual = y - v
            columns += [np.where(which == b, residual, 0.0) for b in range(bins)]
        return np.column_stack(columns)

    def sums(self, weights: np.ndarray) -> np.ndarray:
        """``(batch, n_fine, n_stats)`` weighted sums for ``weights`` of shape (batch, n_rows)."""
        ordered = weights[:, self.order]
        out = np.zeros((len(weights), self.n_fine, self.stats.shape[1]))
        for g in range(self.n_fine):
            lo, hi = self.starts[g], self.starts[g + 1]
            if hi > lo:
                out[:, g] = ordered[:, lo:hi] @ self.stats[lo:hi]
        return out

    def metrics(self, sums: np.ndarray) -> dict[str, np.ndarray]:
        """Metrics ``(batch, n_groups)`` from summed statistics ``(batch, n_groups, n_stats)``."""
        total = sums[..., 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.task == "regression":
                sst = sums[..., 5] - sums[..., 4] ** 2 / total
                constant = sst <= 1e-12 * np.maximum(sums[..., 5], np.finfo(float).tiny)
                return {
                    "mae": sums[..., 1] / total,
                    "rmse": np.sqrt(sums[..., 2] / total),
                    "r2": np.where(constant, np.nan, 1.0 - sums[..., 2] / sst),
                    "mean_prediction": sums[..., 3] / total,
                    "mean_target": sums[..., 4] / total + self.center,
                    "mse": sums[..., 2] / total,
                    "mean_residual": sums[..., 6] / total,
                    "scoring_rate": sums[..., 7] / total,
                }
            if not self.probabilities:
                nan = np.full(total.shape, np.nan)
                return {"brier": nan, "log_loss": nan.copy(), "calibration_error": nan.copy()}
            return {
                "brier": sums[..., 1] / total,
                "log_loss": sums[..., 2] / total,
                "calibration_error": np.abs(sums[..., 3:]).sum(axis=-1) / total,
            }


class GroupAUC:
    """ROC AUC of each group of one partition, for batches of row weights.

    For each positive row, the weight of the group's negatives scored below it (plus half
    of those tied with it) comes from a cumulative sum over the negatives sorted by
    score; AUC is the weighted mean of that over positives, divided by the negatives'
    total weight — scikit-learn's trapezoidal AUC.
    """

    def __init__(self, group: np.ndarray, n_groups: int, y_true: np.ndarray, scores: np.ndarray):
        self.n_groups = n_groups
        y = np.asarray(y_true) == 1
        s = np.asarray(scores, dtype=np.float64)
        self.parts = []
        for rows_mask in (~y, y):
            rows = np.flatnonzero(rows_mask)
            order, starts = _blocks(group[rows], n_groups, s[rows])
            self.parts.append((rows[order], starts))
        (neg_rows, neg_starts), (pos_rows, pos_starts) = self.parts
        self.below, self.upto = [], []
        for g in range(n_groups):
            neg_scores = s[neg_rows[neg_starts[g] : neg_starts[g + 1]]]
            pos_scores = s[pos_rows[pos_starts[g] : pos_starts[g + 1]]]
            self.below.append(np.searchsorted(neg_scores, pos_scores, side="left"))
            self.upto.append(np.searchsorted(neg_scores, pos_scores, side="right"))

    def compute(self, weights: np.ndarray) -> np.ndarray:
        """``(batch, n_groups)`` AUC; NaN where a group lacks positives or negatives."""
        (neg_rows, neg_starts), (pos_rows, pos_starts) = self.parts
        negatives, positives = weights[:, neg_rows], weights[:, pos_rows]
        out = np.full((len(weights), self.n_groups), np.nan)
        for g in range(self.n_groups):
            neg = negatives[:, neg_starts[g] : neg_starts[g + 1]]
            pos = positives[:, pos_starts[g] : pos_starts[g + 1]]
            if neg.shape[1] == 0 or pos.shape[1] == 0:
                continue
            cumulative = np.zeros((len(weights), neg.shape[1] + 1))
            np.cumsum(neg, axis=1, out=cumulative[:, 1:])
            below = cumulative[:, self.below[g]]
            tied = cumulative[:, self.upto[g]] - below
            wins = np.einsum("bi,bi->b", pos, below + 0.5 * tied)
            pairs = pos.sum(axis=1) * cumulative[:, -1]
            with np.errstate(divide="ignore", invalid="ignore"):
                out[:, g] = np.where(pairs > 0, wins / pairs, np.nan)
        return out


def undefined_reasons(
    values: dict[str, np.ndarray], task: str, probabilities: bool, scored: bool
) -> list[dict[str, str]]:
    """Why each undefined point value ``(1, n_groups)`` is undefined, per group."""
    names = CLASSIFICATION_NAMES if task == "classification" else REGRESSION_NAMES
    n_groups = next(iter(values.values())).shape[-1] if values else 0
    out: list[dict[str, str]] = [{} for _ in range(n_groups)]
    for name in names:
        for g in range(n_groups):
            if not np.isnan(values[name][0, g]):
                continue
            if task == "classification" and not scored:
                out[g][name] = REASONS["no_scores"]
            elif name == "roc_auc":
                out[g][name] = REASONS["one_class"]
            elif name == "r2":
                out[g][name] = REASONS["constant_target"]
            elif task == "classification" and not probabilities:
                out[g][name] = REASONS["not_probabilities"]
            else:
                out[g][name] = REASONS["empty"]
    return out
