"""Score metrics from histogram cells against scikit-learn on random rows."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from audit.metrics.score_cells import HISTOGRAM_BINS, ScoreCells

AUC_BOUND = 1e-4  # the documented default accuracy of the histogram AUC


def _groups_point(cells: ScoreCells, n_groups: int):
    identity = np.arange(n_groups)
    return cells.point(identity, n_groups), cells.auc_error_bound(identity, n_groups)


@pytest.mark.parametrize("seed", range(6))
def test_histogram_auc_within_its_bound_of_sklearn(seed):
    rng = np.random.default_rng(seed)
    n, n_groups = 20_000, 3
    group = rng.integers(0, n_groups, n)
    y = (rng.random(n) < 0.3 + 0.1 * group).astype(np.int64)
    # Continuous scores, unequal densities (a beta mixture): the hard case for bins.
    scores = np.where(y == 1, rng.beta(3, 2, n), rng.beta(2, 3, n))
    cells = ScoreCells.from_rows(group, y, scores, calibration_bins=10)
    point, bound = _groups_point(cells, n_groups)
    for g in range(n_groups):
        rows = group == g
        exact = roc_auc_score(y[rows], scores[rows])
        error = abs(point["roc_auc"][0, g] - exact)
        assert error <= bound[g] + 1e-15
        assert bound[g] <= AUC_BOUND
        assert point["brier"][0, g] == pytest.approx(
            brier_score_loss(y[rows], scores[rows]), abs=1e-12
        )
        assert point["log_loss"][0, g] == pytest.approx(log_loss(y[rows], scores[rows]), abs=1e-12)
        # Calibration error: mean over rows of |observed - predicted| per sklearn bin.
        true, predicted = calibration_curve(y[rows], scores[rows], n_bins=10)
        edges = np.linspace(0, 1, 11)[1:-1]
        counts = np.bincount(np.searchsorted(edges, scores[rows]), minlength=10)
        weights = counts[counts > 0] / rows.sum()
        expected = float(np.sum(weights * np.abs(true - predicted)))
        assert point["calibration_error"][0, g] == pytest.approx(expected, abs=1e-12)


def test_histogram_auc_exact_for_few_distinct_scores():
    """Scores with few distinct values fall each in its own bin: ties are real ties, the
    bound is 0 and the AUC equals scikit-learn's."""
    rng = np.random.default_rng(1)
    n = 5000
    y = (rng.random(n) < 0.4).astype(np.int64)
    scores = np.round(rng.random(n) * 0.5 + 0.3 * y, 2)
    cells = ScoreCells.from_rows(np.zeros(n, dtype=np.int64), y, scores, 10)
    point, bound = _groups_point(cells, 1)
    assert bound[0] == 0.0
    assert point["roc_auc"][0, 0] == pytest.approx(roc_auc_score(y, scores), abs=1e-12)


def test_bound_is_tight_for_one_bin_of_spread_scores():
    """The bound is computed, not assumed: spread scores squeezed into a few bins give a
    large bound, and the error stays inside it."""
    rng = np.random.default_rng(2)
    n = 4000
    y = (rng.random(n) < 0.5).astype(np.int64)
    scores = np.concatenate([[0.0, 1.0], 0.5 + 1e-6 * rng.random(n - 2)])  # all near 0.5
    cells = ScoreCells.from_rows(np.zeros(n, dtype=np.int64), y, scores, 10)
    point, bound = _groups_point(cells, 1)
    error = abs(point["roc_auc"][0, 0] - roc_auc_score(y, scores))
    assert bound[0] > 0.1 and error <= bound[0]
    assert HISTOGRAM_BINS >= 2**14


def test_intervals_from_cells_cover_like_row_resamples():
    """The cells' bootstrap interval of AUC is close to a row bootstrap's (the reference)."""
    rng = np.random.default_rng(3)
    n = 3000
    y = (rng.random(n) < 0.4).astype(np.int64)
    scores = np.clip(rng.normal(0.4 + 0.2 * y, 0.2), 0, 1)
    cells = ScoreCells.from_rows(np.zeros(n, dtype=np.int64), y, scores, 10)
    identity = (np.zeros(1, dtype=np.int64), 1)
    drawn = np.concatenate([c[0]["roc_auc"][:, 0] for c in cells.resampled([identity], 1000, rng)])
    low, high = np.percentile(drawn, [2.5, 97.5])
    rows = [rng.integers(0, n, n) for _ in range(1000)]
    reference = np.array([roc_auc_score(y[r], scores[r]) for r in rows])
    ref_low, ref_high = np.percentile(reference, [2.5, 97.5])
    assert low == pytest.approx(ref_low, abs=0.006)
    assert high == pytest.approx(ref_high, abs=0.006)
