"""Bootstrap resampling without touching the rows: draw the counts, not the rows.

Resampling ``n`` rows with replacement gives cell counts distributed
``Multinomial(n, observed cell shares)``. So a resample of the whole audit — every
group of every sensitive feature and intersection — is one multinomial draw over the
occurring cells of the finest count table (a few dozen to a few thousand cells),
whatever the number of rows. Intervals are percentile intervals of the resampled
statistic.

Score metrics (ROC AUC, Brier, log loss, calibration) redraw the score histogram cells the
same way (:mod:`audit.metrics.score_cells`). Regression errors and weighted audits
resample rows instead: each resample is a vector of row multiplicities, drawn in chunks
so memory stays bounded.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

# Elements (resamples x cells, or resamples x rows) per chunk: bounds temporary memory.
CHUNK_ELEMENTS = 1 << 21


def multinomial_tables(
    counts: np.ndarray, resamples: int, rng: np.random.Generator, cell_axes: int = 2
) -> Iterator[np.ndarray]:
    """Bootstrap count tables, in chunks of shape ``(chunk, *counts.shape)``.

    Each resample redraws each table's own total ``n`` over its cells (the last
    ``cell_axes`` axes), with the observed shares as probabilities: exactly the
    distribution of the table of a with-replacement resample of the ``n`` rows. Leading
    axes, if any, are independent tables resampled together (used by the coverage
    simulation).

    A table of *expected* counts (a randomized classifier's, see
    :mod:`audit.metrics.counts`) is fractional but still sums to ``n`` rows. Drawing ``n``
    times with its shares is exactly the law of the table obtained by resampling ``n`` rows
    with replacement *and* drawing each resampled row's decision with its probability
    ``p``: a draw lands in cell ``(y, 1)`` with probability ``sum of p over rows with that
    y / n``, independently of the other draws. So the interval covers the rates one
    deployment of the randomized classifier would realise on a new sample, lottery
    included. For the expected rate itself it is conservative: by the law of total
    variance, a group's selection count varies by ``sum of p (1 - p)`` more than when only
    the rows are resampled (nothing more for rows decided with certainty).
    """
    lead = counts.shape[: counts.ndim - cell_axes]
    flat = counts.reshape(*lead, -1)
    # Whole rows (rounding removes the float noise of expected counts).
    totals = np.rint(flat.sum(axis=-1)).astype(np.int64)
    if not lead:
        # One table: only occupied cells can be drawn, so draw just those (faster).
        occupied = np.flatnonzero(flat)
        flat, restore = flat[occupied], occupied
    else:
        restore = None
    shares = flat / np.maximum(totals, 1)[..., None]
    per_resample = max(1, int(np.prod(counts.shape)))
    chunk = max(1, min(resamples, CHUNK_ELEMENTS // per_resample))
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        draws = rng.multinomial(totals, shares, size=(size, *lead))
        if restore is not None:
            out = np.zeros((size, counts.size), dtype=np.int64)
            out[:, restore] = draws
            draws = out
        yield draws.reshape(size, *counts.shape)


def row_multiplicities(
    n_rows: int, resamples: int, rng: np.random.Generator
) -> Iterator[np.ndarray]:
    """How many times each row is drawn in each resample, in chunks ``(chunk, n_rows)``."""
    chunk = max(1, min(resamples, CHUNK_ELEMENTS // max(1, n_rows)))
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        draws = rng.integers(0, n_rows, size=(size, n_rows))
        draws += (np.arange(size) * n_rows)[:, None]
        yield np.bincount(draws.ravel(), minlength=size * n_rows).reshape(size, n_rows)


def percentile_intervals(
    samples: np.ndarray, confidence: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Percentile intervals over axis 0 of ``samples`` (resamples first).

    A resample where the statistic is undefined (NaN, e.g. a rate whose denominator was
    drawn empty) is left out; when more than ``(1 - confidence) / 2`` of the resamples are
    undefined, the interval itself is undefined (NaN), since dropping that many would
    bias it.

    Returns
    -------
    low, high, undefined_share : ndarrays of shape ``samples.shape[1:]``
    """
    alpha = 1.0 - confidence
    ordered = np.sort(samples, axis=0)  # NaN sorts last
    defined = np.sum(~np.isnan(samples), axis=0)
    undefined_share = 1.0 - defined / samples.shape[0]
    bounds = []
    for q in (alpha / 2, 1 - alpha / 2):
        # numpy's default ("linear") quantile, over the defined resamples only.
        position = q * np.maximum(defined - 1, 0)
        below = np.floor(position).astype(np.intp)
        above = np.minimum(below + 1, np.maximum(defined - 1, 0))
        fraction = position - below
        low_value = np.take_along_axis(ordered, below[None], axis=0)[0]
        high_value = np.take_along_axis(ordered, above[None], axis=0)[0]
        with np.errstate(invalid="ignore"):
            bounds.append(low_value + fraction * (high_value - low_value))
    usable = (defined > 0) & (undefined_share <= alpha / 2 + 1e-12)
    low, high = (np.where(usable, b, np.nan) for b in bounds)
    return low, high, undefined_share


def simultaneous_band(samples: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Rank-based simultaneous percentile band for several statistics at once.

    ``samples`` has shape ``(resamples, K)``. The band is the smallest symmetric
    percentile band ``[q_(B-1-t), q_(t)]`` (the same rank ``t`` for every column) that
    holds *all* K statistics of at least ``confidence`` of the resamples at once. With
    K = 1 it is the ordinary percentile interval. Ranks make it invariant to monotone
    transforms (a band of ratios equals the band of log-ratios), and infinities are fine.

    Returns
    -------
    low, high : ndarrays of shape (K,)
    """
    count, width = samples.shape
    order = np.argsort(samples, axis=0)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.broadcast_to(np.arange(count)[:, None], order.shape), 0)
    extremeness = np.maximum(ranks, count - 1 - ranks).max(axis=1)
    t = int(np.quantile(extremeness, confidence, method="higher"))
    ordered = np.take_along_axis(samples, order, axis=0)
    return ordered[count - 1 - t], ordered[t]
