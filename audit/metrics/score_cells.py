"""Score metrics per group from score histograms: ROC AUC, Brier, log loss, calibration.

Rows are summarised into *cells* — (finest group, label, calibration bin, histogram bin) —
each with its row count, the sums of the score, of its square and of the row's log loss,
and the smallest and largest score. Both engines build the same cells (numpy from the
rows, DuckDB with one GROUP BY, by the same binning arithmetic), and every score metric,
point and interval, is computed from them, never from the rows.

- **Brier, log loss, calibration error** are sums over the cells' sums: exact (the
  calibration bins are those of ``sklearn.calibration_curve``, a cell key of their own).
- **ROC AUC** counts the pairs of a positive and a negative in different histogram bins
  exactly and a pair in the same bin as half a win (as a tie). With ``B`` equal-width bins
  over the scores' range, the error is at most

      ½ · Σ_b n⁺_b n⁻_b / (N⁺ N⁻)      (bins whose scores are not all equal)

  — each same-bin pair counts ½ where the truth is 0, ½ or 1. :func:`auc_error_bound`
  computes it from the cells; it is below ``max_b n⁻_b / (2 N⁻)``, about ``1 / (2B)``
  times the overlap of the two score densities on the unit range. The default
  ``B = 2**14`` keeps it under 1e-4 for scores spread over their range (tested against
  ``sklearn.metrics.roc_auc_score``); scores taking few distinct values fall each in a
  bin of its own and are exact.
- **Intervals**: multinomial resamples of the cells merged to :data:`BOOT_BINS` histogram
  bins (resampling ``n`` rows with replacement redraws the cell counts multinomially); a
  cell's sums scale with its resampled count (its rows' mean stands for them). Each
  resampled AUC is shifted by the group's fine-minus-coarse point difference, so the
  interval is centred like the fine value. No row is resampled: the cost depends on the
  number of cells, not of rows.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from audit.metrics.bootstrap import multinomial_tables
from audit.metrics.rowwise import log_loss_terms

HISTOGRAM_BINS = 2**14
BOOT_BINS = 128


@dataclass
class Binning:
    """How a score becomes a histogram bin and a calibration bin, in arithmetic that numpy
    and SQL carry out identically (IEEE doubles)."""

    low: float
    scale: float  # bins per unit of score
    bins: int
    calibration_edges: np.ndarray | None  # inner edges; None: scores are not probabilities

    @classmethod
    def of(cls, low: float, high: float, bins: int, calibration_bins: int) -> Binning:
        scale = bins / (high - low) if high > low else 0.0
        edges = None
        if low >= 0.0 and high <= 1.0:
            edges = np.linspace(0.0, 1.0, calibration_bins + 1)[1:-1]
        return cls(float(low), float(scale), int(bins), edges)

    @property
    def probabilities(self) -> bool:
        return self.calibration_edges is not None

    def histogram_bin(self, scores: np.ndarray) -> np.ndarray:
        return np.clip(np.floor((scores - self.low) * self.scale), 0, self.bins - 1).astype(
            np.int64
        )

    def calibration_bin(self, scores: np.ndarray) -> np.ndarray:
        if self.calibration_edges is None:
            return np.zeros(len(scores), dtype=np.int64)
        return np.searchsorted(self.calibration_edges, scores, side="left").astype(np.int64)

    def sql(self, column: str, low: str | None = None, scale: str | None = None) -> dict[str, str]:
        """The same bins as SQL expressions of the (oriented) score ``column``; ``low`` and
        ``scale`` (SQL, optional) replace this binning's own, e.g. by columns holding each
        time window's (the arithmetic stays the same)."""
        low = low if low is not None else repr(self.low)
        scale = scale if scale is not None else repr(self.scale)
        hist = f"least(greatest(floor(({column} - {low}) * {scale}), 0), {self.bins - 1})"
        if self.calibration_edges is None:
            calibration = "0"
        else:  # searchsorted(side="left"): how many edges lie strictly below the score
            calibration = " + ".join(
                f"CAST({column} > {float(e)!r} AS INTEGER)" for e in self.calibration_edges
            )
        return {"hist_bin": f"CAST({hist} AS BIGINT)", "cal_bin": calibration}


@dataclass
class ScoreCells:
    """The occupied cells: keys and sums, one entry per (fine group, label, calibration
    bin, histogram bin)."""

    binning: Binning
    fine: np.ndarray  # index into the finest table's ``present``
    label: np.ndarray  # 0/1
    calibration: np.ndarray
    histogram: np.ndarray
    stats: np.ndarray  # (cells, 4): count, sum of scores, of squares, of log losses
    low: np.ndarray  # smallest score of the cell
    high: np.ndarray  # largest

    @classmethod
    def build(
        cls,
        binning: Binning,
        fine: np.ndarray,
        label: np.ndarray,
        calibration: np.ndarray,
        histogram: np.ndarray,
        stats: np.ndarray,
        low: np.ndarray,
        high: np.ndarray,
    ) -> ScoreCells:
        """Cells from pieces that may repeat a key (rows, or SQL groups that also split by
        the decision): repeated keys are summed."""
        key = ((fine.astype(np.int64) * 2 + label) * 128 + calibration) * binning.bins + histogram
        unique, inverse = np.unique(key, return_inverse=True)
        size = len(unique)
        summed = np.column_stack(
            [np.bincount(inverse, stats[:, j], size) for j in range(stats.shape[1])]
        )
        lowest = np.full(size, np.inf)
        np.minimum.at(lowest, inverse, low)
        highest = np.full(size, -np.inf)
        np.maximum.at(highest, inverse, high)
        rest, hist = np.divmod(unique, binning.bins)
        rest, cal = np.divmod(rest, 128)
        group, lab = np.divmod(rest, 2)
        return cls(binning, group, lab, cal, hist, summed, lowest, highest)

    @classmethod
    def from_rows(
        cls, fine: np.ndarray, y: np.ndarray, scores: np.ndarray, calibration_bins: int
    ) -> ScoreCells:
        scores = np.asarray(scores, dtype=np.float64)
        binning = Binning.of(scores.min(), scores.max(), HISTOGRAM_BINS, calibration_bins)
        y = np.asarray(y, dtype=np.int64)
        loss = log_loss_terms(scores, y) if binning.probabilities else np.zeros(len(y))
        stats = np.column_stack([np.ones(len(y)), scores, scores**2, loss])
        return cls.build(
            binning,
            fine,
            y,
            binning.calibration_bin(scores),
            binning.histogram_bin(scores),
            stats,
            scores,
            scores,
        )

    def _dense(self, counts: np.ndarray, fine_map: np.ndarray, n_groups: int, bins: np.ndarray):
        """``(..., n_groups, 2, n_bins)`` counts of a partition from per-cell ``counts``."""
        n_bins = int(bins.max()) + 1 if len(bins) else 1
        group = fine_map[self.fine]
        index = (group * 2 + self.label) * n_bins + bins
        size = n_groups * 2 * n_bins
        return _bincount_rows(counts, index, size).reshape(*counts.shape[:-1], n_groups, 2, n_bins)

    def auc(self, counts: np.ndarray, fine_map: np.ndarray, n_groups: int, bins: np.ndarray):
        """``(..., n_groups)`` ROC AUC from per-cell counts (ties within a bin count ½)."""
        dense = self._dense(counts, fine_map, n_groups, bins)
        negatives, positives = dense[..., 0, :], dense[..., 1, :]
        below = np.cumsum(negatives, axis=-1) - negatives
        wins = (positives * (below + 0.5 * negatives)).sum(axis=-1)
        pairs = positives.sum(axis=-1) * negatives.sum(axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(pairs > 0, wins / pairs, np.nan)

    def sums(self, counts: np.ndarray, fine_map: np.ndarray, n_groups: int) -> dict:
        """Per group: rows, and the sums behind Brier, log loss and calibration, from
        per-cell counts (the observed ones, or resampled ones scaling each cell's sums)."""
        scale = counts / self.stats[:, 0]
        group = fine_map[self.fine]
        lead = counts.shape[:-1]

        def total(values: np.ndarray, index: np.ndarray, size: int) -> np.ndarray:
            return _bincount_rows(scale * values, index, size).reshape(*lead, size)

        n_cal = 128
        positive = self.label.astype(np.float64)
        square, score = self.stats[:, 2], self.stats[:, 1]
        count = self.stats[:, 0]
        # Σ (v - y)² = Σ v² - 2 y Σ v + y n  (y is the cell's label)
        brier = square - 2 * positive * score + positive * count
        residual = positive * count - score  # Σ (y - v)
        calibration = total(residual, group * n_cal + self.calibration, n_groups * n_cal)
        return {
            "n": total(count, group, n_groups),
            "brier": total(brier, group, n_groups),
            "log_loss": total(self.stats[:, 3], group, n_groups),
            "calibration": calibration.reshape(*lead, n_groups, n_cal),
        }

    def metrics(self, counts: np.ndarray, fine_map: np.ndarray, n_groups: int) -> dict:
        """Brier score, log loss and calibration error ``(..., n_groups)`` (NaN unless the
        scores are probabilities)."""
        sums = self.sums(counts, fine_map, n_groups)
        n = sums["n"]
        if not self.binning.probabilities:
            nan = np.full(n.shape, np.nan)
            return {"brier": nan, "log_loss": nan.copy(), "calibration_error": nan.copy()}
        with np.errstate(divide="ignore", invalid="ignore"):
            return {
                "brier": sums["brier"] / n,
                "log_loss": sums["log_loss"] / n,
                "calibration_error": np.abs(sums["calibration"]).sum(axis=-1) / n,
            }

    def point(self, fine_map: np.ndarray, n_groups: int) -> dict[str, np.ndarray]:
        """Point values ``(1, n_groups)`` of every score metric."""
        counts = self.stats[:, 0][None]
        values = self.metrics(counts, fine_map, n_groups)
        values["roc_auc"] = self.auc(counts, fine_map, n_groups, self.histogram)
        return values

    def auc_error_bound(self, fine_map: np.ndarray, n_groups: int) -> np.ndarray:
        """``(n_groups,)`` bound on |histogram AUC - exact AUC| (module docstring)."""
        group = fine_map[self.fine]
        # A bin's pairs can be mis-ordered only if its scores differ (across both labels).
        key = group * self.binning.bins + self.histogram
        unique, inverse = np.unique(key, return_inverse=True)
        low = np.full(len(unique), np.inf)
        high = np.full(len(unique), -np.inf)
        np.minimum.at(low, inverse, self.low)
        np.maximum.at(high, inverse, self.high)
        tied = (low == high)[inverse]
        counts = np.where(tied, 0.0, self.stats[:, 0])[None]
        dense = self._dense(counts, fine_map, n_groups, self.histogram)[0]
        totals = self._dense(self.stats[:, 0][None], fine_map, n_groups, self.histogram)[0]
        same_bin = (dense[:, 0, :] * dense[:, 1, :]).sum(axis=-1)
        pairs = totals[:, 0, :].sum(axis=-1) * totals[:, 1, :].sum(axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(pairs > 0, 0.5 * same_bin / pairs, np.nan)

    def resampled(
        self, fine_map_list: list[tuple[np.ndarray, int]], resamples: int, rng: np.random.Generator
    ):
        """Bootstrap values of every score metric for each partition, in chunks: yields a
        list (one per partition) of ``{metric: (chunk, n_groups)}``."""
        binning = replace(self.binning, bins=BOOT_BINS)
        merged = ScoreCells.build(
            binning,
            self.fine,
            self.label,
            self.calibration,
            self.histogram * BOOT_BINS // self.binning.bins,
            self.stats,
            self.low,
            self.high,
        )
        observed = self.stats[:, 0][None]
        shifts = [
            self.auc(observed, fine_map, n_groups, self.histogram)
            - merged.auc(merged.stats[:, 0][None], fine_map, n_groups, merged.histogram)
            for fine_map, n_groups in fine_map_list
        ]
        counts = np.rint(merged.stats[:, 0]).astype(np.int64)
        for draws in multinomial_tables(counts, resamples, rng, 1):
            drawn = draws.astype(np.float64)
            out = []
            for (fine_map, n_groups), shift in zip(fine_map_list, shifts, strict=True):
                values = merged.metrics(drawn, fine_map, n_groups)
                values["roc_auc"] = merged.auc(drawn, fine_map, n_groups, merged.histogram) + shift
                out.append(values)
            yield out


def _bincount_rows(weights: np.ndarray, index: np.ndarray, size: int) -> np.ndarray:
    """``(rows, size)``: each row of ``weights (..., cells)`` summed by ``index`` — one
    bincount over all rows, each offset by its own ``size``."""
    flat = weights.reshape(-1, weights.shape[-1])
    offset = (np.arange(len(flat)) * size)[:, None] + index[None, :]
    return np.bincount(offset.ravel(), flat.ravel(), len(flat) * size).reshape(len(flat), size)
