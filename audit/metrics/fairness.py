"""Per-group metrics, disparities and bootstrap intervals for every sensitive feature and
intersection, as JSON-ready entries.

The pipeline per audit:

1. encode the sensitive columns (bins, missing values) — :mod:`audit.metrics.groups`;
2. one count pass over the rows gives the confusion table of the finest groups (all
   sensitive columns crossed) — :mod:`audit.metrics.counts`; every feature and
   intersection is a sum of its rows;
3. point values: count rates from the table, non-count metrics from the rows —
   :mod:`audit.metrics.rowwise`; disparities — :mod:`audit.metrics.disparities`;
4. intervals: multinomial resamples of the finest table (or row resamples for
   weighted audits and non-count metrics) give bootstrap samples of every group
   metric — percentile intervals — and disparity intervals come from simultaneous
   bands over the contrasts they aggregate — :mod:`audit.metrics.bootstrap`,
   :mod:`audit.metrics.intervals`.

Conventions (also stated in the report): a *difference* is the largest minus the
smallest group value; a *ratio* is the smallest divided by the largest. Only groups
with at least ``min_group_size`` rows take part in disparities and verdicts; smaller
groups are shown, marked ``insufficient``. The same minimum applies to each metric's
denominator (actual positives for TPR, actual negatives for FPR, ...): a group short of
it is listed in ``insufficient_metrics`` and takes no part in that metric's disparities
or verdicts. Undefined values (e.g. a TPR in a group with no positives) are ``None``
with a reason, never 0.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from audit.errors import AuditError
from audit.metrics.bootstrap import multinomial_tables, percentile_intervals, row_multiplicities
from audit.metrics.counts import (
    CELL_INDEX,
    confusion_table,
    denominators,
    fine_rows,
    group_sizes,
    marginalize,
    rates,
    undefined_reasons,
)
from audit.metrics.disparities import compute, groups_behind, versus_reference
from audit.metrics.groups import (
    Partition,
    SensitiveCodes,
    build_partitions,
    encode_sensitive,
    group_labels,
)
from audit.metrics.intervals import disparity_interval
from audit.metrics.rowwise import GroupAUC, RowSums
from audit.metrics.rowwise import undefined_reasons as row_reasons_of
from audit.metrics.score_cells import ScoreCells
from audit.metrics.scoring_rate import impact_ratios
from audit.metrics.verdicts import INSUFFICIENT, four_fifths_verdict
from audit.text import printable, quoted_list
from audit.vocabulary import metrics as catalog

if TYPE_CHECKING:
    from audit.config import FairnessConfig

__all__ = ["group_labels", "fairness_by_feature", "fairness_from_table", "FineTable"]

Task = Literal["classification", "regression"]
# base_rate vs the reference is the label's statistical parity, as AIF360's dataset metrics
# report it (statistical_parity_difference and disparate_impact of the labels).
VS_REFERENCE = {
    "classification": ("selection_rate", "tpr", "fpr", "fnr", "precision", "base_rate"),
    "regression": ("mae", "rmse", "mean_prediction", "mean_residual", "scoring_rate"),
}


@dataclass
class _Partition:
    """Working state of one partition: its counts, point values and bootstrap samples."""

    partition: Partition
    counts: np.ndarray  # (G, 4) row counts (expected counts of a randomized classifier)
    weighted: np.ndarray | None  # (G, 4) weight sums, for weighted audits
    eligible: np.ndarray  # (G,) bool: at least min_group_size rows
    min_group_size: int
    reference: int
    reference_rule: str
    auc: GroupAUC | None
    specs: list[catalog.Disparity]
    point: dict[str, np.ndarray] = field(default_factory=dict)  # metric -> (1, G)
    # metric -> (G,) what a group with enough rows has too few of for it, e.g. "3 actual
    # positives (y = 1)" for TPR (None: enough).
    short_of: dict[str, list[str | None]] = field(default_factory=dict)
    taking_part: dict[str, np.ndarray] = field(default_factory=dict)
    samples: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n(self) -> np.ndarray:
        return group_sizes(self.counts)

    def eligible_for(self, metric: str) -> np.ndarray:
        """(G,) bool: enough rows and enough of the rows ``metric`` is computed on."""
        shortfalls = self.short_of.get(metric)
        if shortfalls is None:
            return self.eligible
        return self.eligible & np.array([reason is None for reason in shortfalls])

    def shortfall(self, metric: str, g: int) -> str | None:
        """What group ``g`` has too few of to take part in ``metric`` ("12 rows"), or None."""
        if not self.eligible[g]:
            return _how_many(int(self.n[g]), "rows")
        shortfalls = self.short_of.get(metric)
        return None if shortfalls is None else shortfalls[g]


def fairness_by_feature(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    scores: np.ndarray | None,
    sensitive: pd.DataFrame,
    settings: FairnessConfig,
    task: Task = "classification",
    seed: int = 0,
    sample_weight: np.ndarray | None = None,
    decision_probability: np.ndarray | None = None,
    disparities: Collection[str] | None = None,
    contrasts: bool = True,
) -> list[dict[str, Any]]:
    """Fairness entries for each sensitive feature and each intersection.

    Parameters
    ----------
    y_true, y_pred : ndarray
        0/1 labels and decisions (classification) or true and predicted values
        (regression).
    scores : ndarray or None
        Scores of a classifier (probabilities for Brier, log loss and calibration).
    sensitive : DataFrame
        The sensitive columns of the evaluated rows, in the same row order.
    settings : FairnessConfig
        Bins, missing values, intersections, minimum group size, reference groups,
        bootstrap resamples and confidence.
    task : {"classification", "regression"}
    seed : int
        Seed of the bootstrap; the same seed gives the same intervals.
    sample_weight : ndarray, optional
        Row weights (e.g. survey weights) applied to every metric.
    decision_probability : ndarray, optional
        A randomized classifier's probability of a positive decision per row (``y_pred``
        is then None): count metrics are its expected rates, see
        :mod:`audit.metrics.counts`.
    disparities : collection of str, optional
        Only these disparities (default: every one that applies). Each is computed exactly
        as without the restriction (same bootstrap draws): a caller that shows only a few,
        once per time window say, skips the others' intervals.
    contrasts : bool
        Whether to give each group's contrasts with the reference group (``vs_reference``);
        without them it is an empty dict.

    Returns
    -------
    list of dict
        One entry per partition: ``feature``, ``kind``, ``columns``, ``reference_group``,
        ``bins``, ``groups`` (metrics, ``ci``, ``undefined``, ``insufficient``,
        ``vs_reference``) and ``disparities`` (``metric``, ``value``, ``ci``,
        ``definition``, ...).
    """
    n_rows = len(y_true)
    codes = sensitive_codes(sensitive, settings)
    if task == "classification":
        present, fine_counts, fine_weighted = confusion_table(
            codes, y_true, y_pred, sample_weight, decision_probability=decision_probability
        )
        row_values = scores
    else:
        zeros = np.zeros(n_rows, dtype=np.int8)
        present, fine_counts, fine_weighted = confusion_table(codes, zeros, zeros, sample_weight)
        row_values = y_pred
    table = FineTable(codes, present, fine_counts, fine_weighted)
    rows = _Rows(y_true, y_pred, row_values, sample_weight, decision_probability)
    return _fairness(
        table, settings, task, seed, rows, disparities=disparities, contrasts=contrasts
    )


@dataclass
class FineTable:
    """What every group metric starts from: the count table of the finest groups (all
    sensitive columns crossed) and what those groups are.

    An engine that never holds the rows (DuckDB, :mod:`audit.engines`) computes this table
    with one GROUP BY; the in-memory engine with one bincount pass. Both then go through
    the same code below, so their numbers agree exactly.
    """

    codes: SensitiveCodes  # each sensitive column's group labels and bins (row codes optional)
    present: np.ndarray  # (C,) finest-group codes that occur, ascending
    counts: np.ndarray  # (C, 4) tn, fp, fn, tp
    weighted: np.ndarray | None = None  # (C, 4) weight sums, for weighted audits
    scores: ScoreCells | None = None  # score histogram cells, when the audit has scores


@dataclass
class _Rows:
    """The evaluated rows, for the metrics that are not functions of the count table."""

    y_true: np.ndarray
    y_pred: np.ndarray | None
    values: np.ndarray | None  # scores (classification) or predictions (regression)
    sample_weight: np.ndarray | None
    decision_probability: np.ndarray | None


def sensitive_codes(sensitive: pd.DataFrame, settings: FairnessConfig) -> SensitiveCodes:
    """The sensitive columns encoded with the ``fairness:`` bins and missing-value rule."""
    bins = {name: spec.model_dump(exclude_none=True) for name, spec in settings.bins.items()}
    return encode_sensitive(sensitive, bins, settings.missing)


def grouped_count_table(
    sensitive: pd.DataFrame,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    counts: np.ndarray,
    settings: FairnessConfig,
) -> FineTable:
    """The finest count table of grouped rows, each standing for ``counts`` rows (what an
    engine without the rows, DuckDB or Spark, gets from its GROUP BY)."""
    codes = sensitive_codes(sensitive.reset_index(drop=True), settings)
    present, table, _ = confusion_table(codes, y_true, y_pred, row_counts=counts)
    return FineTable(codes, present, table)


def fairness_from_table(
    table: FineTable,
    settings: FairnessConfig,
    seed: int = 0,
    *,
    disparities: Collection[str] | None = None,
    contrasts: bool = True,
) -> list[dict[str, Any]]:
    """Fairness entries of a classification audit from its finest count table alone (no
    rows): what :func:`fairness_by_feature` returns for the same rows, number for number,
    intervals included (the same multinomial draws from the same table and seed)."""
    if table.weighted is not None:
        raise AuditError(
            "A weighted audit resamples its rows for the intervals; it needs the rows "
            "(use the in-memory engine)."
        )
    return _fairness(
        table, settings, "classification", seed, None, disparities=disparities, contrasts=contrasts
    )


def _fairness(
    table: FineTable,
    settings: FairnessConfig,
    task: Task,
    seed: int,
    rows: _Rows | None,
    *,
    disparities: Collection[str] | None = None,
    contrasts: bool = True,
) -> list[dict[str, Any]]:
    present, fine_counts, fine_weighted = table.present, table.counts, table.weighted
    codes = table.codes
    row_values = rows.values if rows is not None else None
    sample_weight = rows.sample_weight if rows is not None else None
    partitions = build_partitions(codes, present, settings.intersections)
    _check_reference_features(settings.reference_groups, partitions)
    fine_of_row = None
    if row_values is not None or sample_weight is not None:
        fine_of_row = fine_rows(codes, present)
    # Row weights are needed only by the row-level metrics (scores, regression).
    if sample_weight is not None:
        weights = np.asarray(sample_weight, float)
    else:
        weights = np.ones(len(rows.y_true) if row_values is not None else 0)
    row_sums, cells = None, table.scores
    if row_values is not None and task == "classification" and sample_weight is None:
        # Unweighted scores: the histogram cells both engines build (one implementation).
        assert fine_of_row is not None and rows is not None
        cells = ScoreCells.from_rows(
            fine_of_row, rows.y_true, row_values, settings.calibration_bins
        )
        row_values = None
    elif row_values is not None:
        assert fine_of_row is not None and rows is not None
        row_sums = RowSums(
            fine_of_row, len(present), rows.y_true, row_values, task, settings.calibration_bins
        )
    wanted = None if disparities is None else frozenset(disparities)
    context = _Context(task, row_sums, settings, cells, wanted, contrasts)

    y_true = rows.y_true if rows is not None else None
    states = [
        _prepare(p, fine_counts, fine_weighted, fine_of_row, y_true, row_values, context)
        for p in partitions
    ]
    _point_values(states, weights, context)

    resamples = settings.bootstrap.resamples
    if resamples:
        count_rng, row_rng = (
            np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2)
        )
        if task == "classification":
            _bootstrap_counts(
                states,
                fine_counts,
                fine_of_row,
                y_true,
                rows.y_pred if rows is not None else None,
                sample_weight,
                resamples,
                count_rng,
                rows.decision_probability if rows is not None else None,
            )
        if row_sums is not None:
            _bootstrap_rows(states, weights, resamples, row_rng, context)
        if cells is not None:
            _bootstrap_cells(states, cells, resamples, row_rng)
    return [_entry(state, context) for state in states]


@dataclass
class _Context:
    """What every partition shares: the task, the per-finest-group row sums or score
    cells, the settings."""

    task: Task
    row_sums: RowSums | None
    settings: FairnessConfig
    cells: ScoreCells | None = None
    disparities: frozenset[str] | None = None  # only these (None: all)
    contrasts: bool = True  # each group's contrasts with the reference group

    @property
    def scored(self) -> bool:
        return self.row_sums is not None or self.cells is not None

    @property
    def probabilities(self) -> bool:
        if self.cells is not None:
            return self.cells.binning.probabilities
        return bool(self.row_sums and self.row_sums.probabilities)


def _bootstrap_cells(
    states: list[_Partition], cells: ScoreCells, resamples: int, rng: np.random.Generator
) -> None:
    """Bootstrap samples of the score metrics from multinomial redraws of the score cells."""
    maps = [(state.partition.fine_map, state.partition.n_groups) for state in states]
    start = 0
    for chunk in cells.resampled(maps, resamples, rng):
        for state, values in zip(states, chunk, strict=True):
            _store(state, values, start, resamples)
        start += len(next(iter(chunk[0].values())))


def _prepare(
    partition: Partition,
    fine_counts: np.ndarray,
    fine_weighted: np.ndarray | None,
    fine_of_row: np.ndarray | None,
    y_true: np.ndarray,
    row_values: np.ndarray | None,
    context: _Context,
) -> _Partition:
    settings = context.settings
    counts = marginalize(fine_counts, partition.fine_map, partition.n_groups)
    weighted = None
    if fine_weighted is not None:
        weighted = marginalize(fine_weighted, partition.fine_map, partition.n_groups)
    n = group_sizes(counts)
    eligible = n >= settings.min_group_size
    reference, rule = _reference(partition, n, eligible, settings.reference_groups)
    auc = None
    if context.task == "classification" and row_values is not None:
        assert fine_of_row is not None
        auc = GroupAUC(partition.row_codes(fine_of_row), partition.n_groups, y_true, row_values)
    if context.task == "regression":
        specs = list(catalog.REGRESSION_DISPARITIES)
    else:
        specs = list(catalog.CLASSIFICATION_DISPARITIES)
        if context.scored:
            kept = {"roc_auc"}
            if context.probabilities:
                kept |= set(catalog.SCORE_METRICS)
            specs += [d for d in catalog.SCORE_DISPARITIES if d.metrics[0] in kept]
    if context.disparities is not None:
        specs = [spec for spec in specs if spec.name in context.disparities]
    return _Partition(
        partition, counts, weighted, eligible, settings.min_group_size, reference, rule, auc, specs
    )


def _check_reference_features(configured: dict[str, str], partitions: list[Partition]) -> None:
    """Every feature named in ``fairness.reference_groups`` is audited (a typo is an error,
    not a silently ignored setting)."""
    names = [p.name for p in partitions]
    unknown = [name for name in configured if name not in names]
    if unknown:
        raise AuditError(
            f"fairness.reference_groups (--reference-group): no sensitive feature or "
            f"intersection {quoted_list(unknown)} in this audit. "
            f"Its features are: {quoted_list(names, shown=10)}; "
            "name one of them."
        )


def _reference(
    partition: Partition, n: np.ndarray, eligible: np.ndarray, configured: dict[str, str]
) -> tuple[int, str]:
    """The configured reference group, else the largest group (ties: first label)."""
    wanted = configured.get(partition.name)
    if wanted is None and partition.kind == "single":
        wanted = configured.get(partition.columns[0])
    if wanted is not None:
        if wanted not in partition.labels:
            shown = quoted_list(partition.labels, shown=10)
            raise AuditError(
                f"fairness.reference_groups: '{printable(partition.name)}' has no group "
                f"'{printable(wanted)}'. Its groups are: {shown}; set it to one of them."
            )
        return partition.labels.index(wanted), "configured (fairness.reference_groups)"
    return int(np.argmax(n)), "the largest group (default)"


def _row_values(
    state: _Partition, fine_sums: np.ndarray | None, weights: np.ndarray, context: _Context
) -> dict[str, np.ndarray]:
    """Non-count metrics of one partition for a batch of row weightings."""
    values: dict[str, np.ndarray] = {}
    if fine_sums is not None and context.row_sums is not None:
        sums = marginalize(fine_sums, state.partition.fine_map, state.partition.n_groups)
        values.update(context.row_sums.metrics(sums))
    if state.auc is not None:
        values["roc_auc"] = state.auc.compute(weights)
    return values


def _point_values(states: list[_Partition], weights: np.ndarray, context: _Context) -> None:
    fine_sums = None
    if context.row_sums is not None:
        fine_sums = context.row_sums.sums(weights[None])
    for state in states:
        table = state.weighted if state.weighted is not None else state.counts
        values: dict[str, np.ndarray] = {}
        if context.task == "classification":
            values.update(rates(table[None].astype(np.float64)))
            nan = np.full((1, state.partition.n_groups), np.nan)
            values.update({name: nan.copy() for name in catalog.SCORE_METRICS})
        values.update(_row_values(state, fine_sums, weights[None], context))
        if context.cells is not None:
            values.update(context.cells.point(state.partition.fine_map, state.partition.n_groups))
        state.point = values
        for metric, v in values.items():
            state.short_of[metric] = _shortfalls(state, metric)
            state.taking_part[metric] = np.flatnonzero(state.eligible_for(metric) & ~np.isnan(v[0]))


def _shortfalls(state: _Partition, metric: str) -> list[str | None]:
    """For each group with enough rows: what ``metric``'s denominator has too few of, or None."""
    sizes, names = denominators(state.counts, metric)
    return [
        _how_many(size, name) if eligible and size < state.min_group_size else None
        for size, name, eligible in zip(sizes, names, state.eligible, strict=True)
    ]


def _how_many(size: int, name: str) -> str:
    """A count with its noun, e.g. '3 actual positives (y = 1)', '1 row'."""
    if size == 1:
        name = name.replace("ives", "ive").replace("rows", "row")
    return f"{size} {name}"


def _derived(state: _Partition, values: dict[str, np.ndarray], task: Task) -> dict[str, np.ndarray]:
    """Disparities and per-group comparisons with the reference, for the metrics in ``values``."""
    out: dict[str, np.ndarray] = {}
    for spec in state.specs:
        if all(m in values for m in spec.metrics):
            out[spec.name] = compute(spec, values, state.taking_part, state.reference)
    for metric in VS_REFERENCE[task]:
        if metric in values:
            difference, ratio = versus_reference(values[metric], state.reference)
            out[f"{metric}:difference"] = difference
            out[f"{metric}:ratio"] = ratio
    if task == "classification" and "tpr" in values:
        difference_tpr, _ = versus_reference(values["tpr"], state.reference)
        difference_fpr, _ = versus_reference(values["fpr"], state.reference)
        out["average_odds:difference"] = (difference_tpr + difference_fpr) / 2
    return out


def _store(state: _Partition, values: dict[str, np.ndarray], start: int, total: int) -> None:
    for name, array in values.items():
        if name not in state.samples:
            state.samples[name] = np.empty((total, *array.shape[1:]))
        state.samples[name][start : start + len(array)] = array


def _bootstrap_counts(
    states: list[_Partition],
    fine_counts: np.ndarray,
    fine_of_row: np.ndarray | None,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    sample_weight: np.ndarray | None,
    resamples: int,
    rng: np.random.Generator,
    decision_probability: np.ndarray | None = None,
) -> None:
    """Bootstrap samples of every count metric, for all partitions from the same draws."""
    if sample_weight is None:
        tables = multinomial_tables(fine_counts, resamples, rng)
    else:
        assert fine_of_row is not None
        tables = _weighted_tables(
            fine_of_row,
            y_true,
            y_pred,
            sample_weight,
            len(fine_counts),
            resamples,
            rng,
            decision_probability,
        )
    start = 0
    for chunk in tables:
        for state in states:
            table = marginalize(chunk, state.partition.fine_map, state.partition.n_groups)
            _store(state, rates(table), start, resamples)
        start += len(chunk)


def _weighted_tables(
    fine_of_row: np.ndarray,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    weights: np.ndarray,
    n_fine: int,
    resamples: int,
    rng: np.random.Generator,
    decision_probability: np.ndarray | None = None,
):
    """Weighted count tables of row resamples (weights make the multinomial shortcut inexact).

    With a randomized classifier's ``decision_probability``, each resampled copy of a row
    also draws its decision, as the multinomial resample of an expected table does (see
    :func:`audit.metrics.bootstrap.multinomial_tables`)."""
    expected = decision_probability is not None
    cell = fine_of_row * 4 + y_true.astype(np.intp) * 2 + (0 if expected else y_pred)
    size = n_fine * 4
    for multiplicity in row_multiplicities(len(cell), resamples, rng):
        batch = len(multiplicity)
        key = (np.arange(batch)[:, None] * size + cell[None, :]).ravel()
        sums = np.bincount(key, weights=(multiplicity * weights).ravel(), minlength=batch * size)
        if expected:
            positive = rng.binomial(multiplicity, decision_probability)
            moved = np.bincount(key, weights=(positive * weights).ravel(), minlength=batch * size)
            sums -= moved  # from the "pred = 0" cell of each label ...
            sums[1:] += moved[:-1]  # ... to its "pred = 1" cell
        yield sums.reshape(batch, n_fine, 4)


def _bootstrap_rows(
    states: list[_Partition],
    weights: np.ndarray,
    resamples: int,
    rng: np.random.Generator,
    context: _Context,
) -> None:
    """Bootstrap samples of the non-count metrics, by row resampling."""
    assert context.row_sums is not None
    start = 0
    for multiplicity in row_multiplicities(len(weights), resamples, rng):
        weighted = multiplicity * weights
        fine_sums = context.row_sums.sums(weighted)
        for state in states:
            _store(state, _row_values(state, fine_sums, weighted, context), start, resamples)
        start += len(multiplicity)


def _plain(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def _group_intervals(
    state: _Partition, names: list[str], confidence: float
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Each metric's percentile interval for every group at once (low, high, undefined
    share, each (G,)): one sort per metric rather than one per metric and group."""
    return {
        name: percentile_intervals(state.samples[name], confidence)
        for name in names
        if name in state.samples
    }


def _interval(bounds: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]], name: str, g: int):
    """``([low, high] or None, note or None)`` of group ``g`` from :func:`_group_intervals`."""
    if name not in bounds:
        return None, None
    low, high, undefined = (values[g] for values in bounds[name])
    if np.isnan(low):
        share = float(undefined)
        if share >= 1.0:
            return None, None
        return None, f"interval undefined: the value is undefined in {share:.0%} of resamples"
    return [float(low), float(high)], None


def _entry(state: _Partition, context: _Context) -> dict[str, Any]:
    partition = state.partition
    settings, task = context.settings, context.task
    confidence = settings.bootstrap.confidence
    point_derived = _derived(state, state.point, task)
    count_reasons = undefined_reasons(state.counts if state.weighted is None else state.weighted)
    row_reasons = row_reasons_of(
        state.point, task, probabilities=context.probabilities, scored=context.scored
    )
    metric_names = [
        *(catalog.COUNT_RATES if task == "classification" else ()),
        *(catalog.SCORE_METRICS if task == "classification" else catalog.REGRESSION_METRICS),
    ]
    bounds = _group_intervals(state, metric_names, confidence)
    groups = []
    for g, label in enumerate(partition.labels):
        row: dict[str, Any] = {"group": label, "n": int(state.n[g])}
        if state.weighted is not None:
            row["weight"] = float(state.weighted[g].sum())
        if task == "classification":
            row["positives"] = int(round(state.counts[g, 2] + state.counts[g, 3]))
            predicted = state.counts[g, 1] + state.counts[g, 3]
            # Expected counts of a randomized classifier are fractional.
            row["predicted_positives"] = (
                int(predicted) if state.counts.dtype.kind == "i" else float(predicted)
            )
            # The group's confusion counts (rows, as the overall confusion matrix counts them).
            row.update(_cells(state.counts[g]))
        intervals, notes = {}, {}
        for metric in metric_names:
            row[metric] = _plain(state.point[metric][0, g])
            intervals[metric], note = _interval(bounds, metric, g)
            if note and row[metric] is not None:
                notes[metric] = note
        row["ci"] = intervals
        undefined = {**(count_reasons[g] if task == "classification" else {}), **row_reasons[g]}
        row["undefined"] = {m: r for m, r in undefined.items() if row.get(m) is None}
        if notes:
            row["ci_notes"] = notes
        row["insufficient"] = not bool(state.eligible[g])
        minimum = f"fewer than the minimum of {settings.min_group_size}"
        # Only metrics this audit computes (no ROC AUC without scores, say).
        computed = [m for m in metric_names if not np.isnan(state.point[m]).all()]
        short = {m: f"{text}, {minimum}" for m in computed if (text := state.shortfall(m, g))}
        if short and state.eligible[g]:
            row["insufficient_metrics"] = short
        if task == "regression":
            row["scoring_rate_impact_ratio"], intervals["scoring_rate_impact_ratio"] = (
                _impact_ratio(state, g, confidence)
            )
        row["reference"] = g == state.reference
        row["vs_reference"] = (
            {}
            if g == state.reference or not context.contrasts
            else _vs_reference(state, point_derived, g, confidence, task)
        )
        groups.append(row)
    return {
        "feature": partition.name,
        "kind": partition.kind,
        "columns": partition.columns,
        "reference_group": partition.labels[state.reference],
        "reference_rule": state.reference_rule,
        "bins": partition.bins,
        "min_group_size": settings.min_group_size,
        "insufficient_groups": [
            label for g, label in enumerate(partition.labels) if not state.eligible[g]
        ],
        "groups": groups,
        "disparities": [_disparity(state, spec, point_derived, confidence) for spec in state.specs],
    }


def _impact_ratio(state: _Partition, g: int, confidence: float) -> tuple[float | None, Any]:
    """Group ``g``'s scoring rate over the highest scoring rate of the groups compared (the
    Local Law 144 impact ratio), with its percentile interval; None for a group left out."""
    taking = state.taking_part.get("scoring_rate", np.array([], dtype=int))
    if g not in taking:
        return None, None
    position = int(np.flatnonzero(taking == g)[0])
    value = _plain(impact_ratios(state.point["scoring_rate"][0][taking])[position])
    samples = state.samples.get("scoring_rate")
    if value is None or samples is None:
        return value, None
    return value, _percentile(impact_ratios(samples[:, taking])[:, position], confidence)


def _cells(counts: np.ndarray) -> dict[str, float]:
    """``tn, fp, fn, tp`` of one group's row of the count table: integers, or the expected
    (fractional) counts of a randomized classifier."""
    plain = int if counts.dtype.kind == "i" else float
    return {name: plain(counts[index]) for name, index in CELL_INDEX.items()}


def _vs_reference(
    state: _Partition, point: dict[str, np.ndarray], g: int, confidence: float, task: Task
) -> dict[str, Any]:
    """Group ``g`` against the reference: signed difference and ratio, with intervals."""
    out: dict[str, Any] = {}
    samples = state.samples
    ref = state.reference
    for metric in VS_REFERENCE[task]:
        if f"{metric}:difference" not in point:
            continue
        item: dict[str, Any] = {}
        if metric in samples:
            with np.errstate(divide="ignore", invalid="ignore"):
                column, base = samples[metric][:, g], samples[metric][:, ref]
                contrast = {
                    "difference": column - base,
                    "ratio": np.where(base != 0, column / base, np.nan),
                }
        for kind in ("difference", "ratio"):
            item[kind] = _plain(point[f"{metric}:{kind}"][0, g])
            item[f"{kind}_ci"] = None
            if item[kind] is not None and metric in samples:
                item[f"{kind}_ci"] = _percentile(contrast[kind], confidence)
        out[metric] = item
    if task == "classification" and "average_odds:difference" in point:
        value = _plain(point["average_odds:difference"][0, g])
        interval = None
        if value is not None and "tpr" in samples:
            gap = (
                samples["tpr"][:, g]
                - samples["tpr"][:, ref]
                + samples["fpr"][:, g]
                - samples["fpr"][:, ref]
            ) / 2
            interval = _percentile(gap, confidence)
        out["average_odds"] = {"difference": value, "difference_ci": interval}
    return out


def _percentile(samples: np.ndarray, confidence: float) -> list[float] | None:
    low, high, _ = percentile_intervals(samples[:, None], confidence)
    return None if np.isnan(low[0]) else [float(low[0]), float(high[0])]


def _disparity(
    state: _Partition, spec: catalog.Disparity, point: dict[str, np.ndarray], confidence: float
) -> dict[str, Any]:
    labels = state.partition.labels
    value = _plain(point[spec.name][0])
    compared = sorted(set().union(*(state.taking_part[m].tolist() for m in spec.metrics)))
    entry: dict[str, Any] = {
        "metric": spec.name,
        "value": value,
        "ci": None,
        "definition": spec.definition,
        "compares": spec.compares,
        "versus": "reference group" if spec.versus == "reference" else "between groups",
        "aggregate": spec.aggregate,
        "groups_compared": [labels[g] for g in compared],
        "groups_behind": None,
    }
    left_out = _left_out(state, spec)
    if left_out:
        entry["left_out"] = left_out
    insufficient, reason = _insufficiency(state, spec)
    if insufficient:
        entry.update(insufficient=True, reason=reason)
    elif value is None:
        entry["reason"] = _undefined_reason(state, spec)
    else:
        entry["groups_behind"] = _behind(state, spec)
        if state.samples:
            point_values = {metric: values[0] for metric, values in state.point.items()}
            entry["ci"], undefined = disparity_interval(
                spec, state.samples, point_values, state.taking_part, state.reference, confidence
            )
            if entry["ci"] is None:
                entry["reason"] = (
                    f"no interval: the compared values are undefined in {undefined:.0%} "
                    "of resamples"
                )
    if spec.special == "disparate_impact":
        rule = four_fifths_verdict(value, entry["ci"], bool(state.samples))
        entry["four_fifths_rule"] = INSUFFICIENT if insufficient else rule
        entry["four_fifths_violated_by_point"] = value is not None and value < catalog.FOUR_FIFTHS
    return entry


def _behind(state: _Partition, spec: catalog.Disparity) -> str | None:
    """The groups behind a disparity's value, e.g. "B vs A" (lower value first) or
    "B vs A (reference)"; prefixed by the metric when two metrics are combined."""
    point = {metric: values[0] for metric, values in state.point.items()}
    pairs = groups_behind(spec, point, state.taking_part, state.reference)
    labels = state.partition.labels
    tail = " (reference)" if spec.versus == "reference" else ""
    if spec.special == "worst_group":  # one group: the one with the largest loss
        return labels[pairs[0][1]] if pairs else None
    texts = [(metric, f"{labels[a]} vs {labels[b]}{tail}") for metric, a, b in pairs]
    if len(spec.metrics) == 1 or spec.special == "average_odds":
        return texts[0][1] if texts else None
    return "; ".join(f"{metric.upper()}: {text}" for metric, text in texts) or None


def _left_out(state: _Partition, spec: catalog.Disparity) -> dict[str, str]:
    """Groups too small to take part in this disparity -> what they have too few of."""
    out = {}
    for g, label in enumerate(state.partition.labels):
        short = [text for m in spec.metrics if (text := state.shortfall(m, g))]
        if short:
            out[label] = " and ".join(dict.fromkeys(short))
    return out


def _insufficiency(state: _Partition, spec: catalog.Disparity) -> tuple[bool, str]:
    minimum = state.min_group_size
    reference = state.partition.labels[state.reference]
    needed = 2 if spec.versus == "between" and spec.special != "worst_group" else 1
    for metric in spec.metrics:
        eligible = state.eligible_for(metric)
        if spec.versus == "reference" and not eligible[state.reference]:
            short = state.shortfall(metric, state.reference)
            return True, (
                f"the reference group '{reference}' has {short}, fewer than the minimum of "
                f"{minimum}"
            )
        others = int(eligible.sum()) - (1 if spec.versus == "reference" else 0)
        if others >= needed:
            continue
        if int(state.eligible.sum()) - (1 if spec.versus == "reference" else 0) < needed:
            return True, f"fewer than two groups have at least the minimum of {minimum} rows"
        what = denominators(state.counts, metric)[1][0]
        if metric == "roc_auc":
            what = "actual positives and as many actual negatives"
        return True, f"fewer than two groups have at least {minimum} {what} for {metric}"
    return False, ""


def _undefined_reason(state: _Partition, spec: catalog.Disparity) -> str:
    labels = state.partition.labels
    for metric in spec.metrics:
        taking = state.taking_part[metric]
        dropped = [labels[g] for g in np.flatnonzero(state.eligible_for(metric)) if g not in taking]
        if spec.versus == "reference" and state.reference not in taking:
            return f"{metric} is undefined for the reference group '{labels[state.reference]}'"
        if len(taking) < 2:
            shown = ", ".join(dropped) or "none"
            return f"{metric} is defined for fewer than two groups (undefined for: {shown})"
    if spec.aggregate == "ratio":
        return "the ratio is undefined: the compared values are 0 (0/0) or negative"
    return "undefined"
