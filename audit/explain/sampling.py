"""Which rows are explained: a sample stratified by the sensitive groups, with weights.

SHAP values cost far more than predictions, so only a sample of the evaluated rows
is explained. A plain random sample would leave small groups (a 2 % group is ~20
rows of 1,000) too thin for per-group figures, so the sample is stratified on the
joint sensitive groups and every group of every sensitive feature gets a floor of
rows. Oversampled strata are then down-weighted: each sampled row carries the
weight ``stratum size / rows sampled from it``, so weighted means over the sample
estimate means over all evaluated rows, and per-group means stay unbiased.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Sample:
    """Positions (into the evaluated rows) of the explained rows and their weights."""

    positions: np.ndarray
    weights: np.ndarray
    strata: np.ndarray  # stratum of each sampled row
    stratum_sizes: np.ndarray  # rows of each stratum among all evaluated rows
    min_group_rows: int

    @property
    def size(self) -> int:
        return len(self.positions)

    @property
    def population(self) -> int:
        return int(self.stratum_sizes.sum())

    def interleaved(self, seed: int) -> np.ndarray:
        """The sampled positions in an order whose every prefix is itself stratified.

        Rows are shuffled within each stratum, then ordered by their rank within the stratum
        divided by the stratum's sample size: the first rows hold one row of every stratum,
        and any prefix keeps the strata in the sample's proportions. So a prefix cut by a time
        limit, or kept for plots, still covers every group.
        """
        rng = np.random.default_rng(seed)
        fraction = np.empty(self.size)
        for stratum in np.unique(self.strata):
            members = np.flatnonzero(self.strata == stratum)
            fraction[rng.permutation(members)] = np.arange(len(members)) / len(members)
        tie_break = rng.random(self.size)
        return self.positions[np.lexsort((tie_break, fraction))]

    def keep(self, mask: np.ndarray) -> Sample:
        """The sample restricted to ``mask``, re-weighted for the rows left in each stratum."""
        strata = self.strata[mask]
        kept = np.bincount(strata, minlength=len(self.stratum_sizes))
        weights = self.stratum_sizes[strata] / kept[strata]
        return Sample(
            self.positions[mask], weights, strata, self.stratum_sizes, self.min_group_rows
        )


def stratified_sample(groups: pd.DataFrame, size: int, min_group_rows: int, seed: int) -> Sample:
    """Draw about ``size`` rows stratified on the joint groups of ``groups``' columns.

    Parameters
    ----------
    groups : pandas.DataFrame
        One column of group labels per sensitive feature (text, no missing values).
        An empty frame (no columns) means one stratum: a simple random sample.
    size : int
        Rows wanted in total. Floors may add a few more when groups are small.
    min_group_rows : int
        Every group of every column gets at least this many rows (or all of its rows).
        When the floors alone would exceed ``size`` they are lowered until they fit.
    seed : int
        Seed of the draw; the same inputs give the same sample.

    Returns
    -------
    Sample
        Sorted positions and the weight of each sampled row (stratum size / rows drawn).
    """
    n_rows = len(groups)
    if groups.shape[1] == 0:
        strata = np.zeros(n_rows, dtype=np.int64)
    else:
        # One stratum per observed combination of groups (codes combined positionally).
        codes = np.stack([pd.factorize(groups[c], sort=True)[0] for c in groups.columns], axis=1)
        _, strata = np.unique(codes, axis=0, return_inverse=True)
        strata = strata.ravel()
    counts = np.bincount(strata).astype(np.int64)
    if size >= n_rows:
        return Sample(np.arange(n_rows), np.ones(n_rows), strata, counts, min_group_rows)

    floor_rows = min_group_rows
    floors = _floors(groups, strata, counts, floor_rows)
    while floors.sum() > size and floor_rows > 0:
        # The floors must not blow a budget-limited sample: lower them until they fit.
        floor_rows = int(floor_rows * 0.8)
        floors = _floors(groups, strata, counts, floor_rows)
    allocation = _fill(counts, floors, size)

    rng = np.random.default_rng(seed)
    chosen = []
    weights = np.zeros(n_rows)
    for stratum, take in enumerate(allocation):
        if take == 0:
            continue
        members = np.flatnonzero(strata == stratum)
        picked = rng.choice(members, size=take, replace=False)
        chosen.append(picked)
        weights[picked] = counts[stratum] / take
    positions = np.sort(np.concatenate(chosen))
    return Sample(positions, weights[positions], strata[positions], counts, floor_rows)


def _floors(
    groups: pd.DataFrame, strata: np.ndarray, counts: np.ndarray, floor_rows: int
) -> np.ndarray:
    """Rows per stratum so that every group of every column reaches ``floor_rows``."""
    floors = np.zeros(len(counts), dtype=np.int64)
    if floor_rows <= 0:
        return floors
    for column in groups.columns:
        labels = groups[column].astype(str).to_numpy()
        for label in np.unique(labels):
            in_group = np.unique(strata[labels == label])
            need = min(floor_rows, int(counts[in_group].sum())) - int(floors[in_group].sum())
            if need <= 0:
                continue
            room = counts[in_group] - floors[in_group]
            floors[in_group] += _round_to_total(need * room / room.sum(), room, need)
    return floors


def _fill(counts: np.ndarray, floors: np.ndarray, size: int) -> np.ndarray:
    """Allocation ``max(floor, c * count)`` per stratum, capped at the count, totalling ``size``.

    ``c`` (the common sampling rate) is found by bisection: the total is monotone in it.
    """
    if floors.sum() >= size:
        return floors
    low, high = 0.0, 1.0
    for _ in range(60):
        rate = (low + high) / 2
        total = np.minimum(counts, np.maximum(floors, rate * counts)).sum()
        low, high = (rate, high) if total < size else (low, rate)
    wanted = np.minimum(counts, np.maximum(floors, high * counts))
    return np.maximum(floors, _round_to_total(wanted, counts, size))


def _round_to_total(values: np.ndarray, caps: np.ndarray, total: int) -> np.ndarray:
    """Integers close to ``values``, each ``<= caps``, summing to ``total`` (largest remainder)."""
    base = np.minimum(np.floor(values).astype(np.int64), caps)
    short = int(total - base.sum())
    if short > 0:
        order = np.argsort(-(values - base), kind="stable")
        for index in order:
            if short == 0:
                break
            if base[index] < caps[index]:
                base[index] += 1
                short -= 1
    return base
