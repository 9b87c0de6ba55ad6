"""Cross-fitting: comparing strategies on every row when no rows are left to fit them on.

A model loaded from a file and audited on every row (nothing was trained here, so nothing
is held out) leaves no rows on which a strategy could be fitted without also being judged
on them. The evaluated rows are then split into K folds (``mitigation.folds``, shuffled
with the audit's ``seed``); each strategy is fitted K times, on K − 1 folds, and decides
the fold it did not see. Every row so gets an *out-of-fold* decision (or, for a randomized
strategy, an out-of-fold probability of a positive decision), and the strategy is measured
on exactly the rows the baseline was measured on. The numbers estimate a strategy fitted on
(K − 1)/K of the rows; the strategy's own model (saved with ``--save-mitigated``, explained
in the report) is refitted once on every row.

The folds are stratified by the cell (group, label), so each fold keeps every group's size
and base rate, and a cell of two or more rows lands in at least two folds: every fold's
training part holds every such cell. Only a cell of a single row can be missing from a
training part; :func:`fold_problem` says, before anything is fitted, which strategy that
stops and why.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from audit.errors import AuditError
from audit.vocabulary import strategies as catalogue

# fairlearn's ThresholdOptimizer needs both labels in every group it thresholds (it raises
# "Degenerate labels for sensitive feature value ..." otherwise); the reductions do not.
NEEDS_BOTH_LABELS = ("threshold_optimizer",)
ADVICE = (
    "Use more data, fewer folds (mitigation.folds), or set mitigation.sensitive to fewer columns."
)


@dataclass(frozen=True)
class Folds:
    """The fold (0 .. k − 1) of each evaluated row, in the order of the evaluated rows."""

    fold: np.ndarray
    k: int
    seed: int

    def held_out(self, i: int) -> np.ndarray:
        """Positions (among the evaluated rows) of fold ``i``: the rows its fit decides."""
        return np.flatnonzero(self.fold == i)

    def training(self, i: int) -> np.ndarray:
        """Positions of every other fold: the rows fold ``i``'s strategies are fitted on."""
        return np.flatnonzero(self.fold != i)

    def sizes(self) -> list[int]:
        return np.bincount(self.fold, minlength=self.k).tolist()


def make_folds(y: np.ndarray, groups: np.ndarray, k: int, seed: int) -> Folds:
    """K folds of the evaluated rows, stratified by (group, label), shuffled with ``seed``.

    They are ``sklearn.model_selection.StratifiedKFold(k, shuffle=True, random_state=seed)``
    split on the strata ``group + "|" + label``; row ``j`` belongs to the fold whose test part
    holds it.

    Parameters
    ----------
    y : numpy.ndarray
        The 0/1 label of each evaluated row.
    groups : numpy.ndarray
        The (intersectional) group key of each evaluated row.
    k : int
        Number of folds (``mitigation.folds``).
    seed : int
        The audit's seed.

    Returns
    -------
    Folds

    Raises
    ------
    AuditError
        When the rows cannot be split into ``k`` folds (fewer rows than folds).
    """
    strata = np.char.add(np.char.add(np.asarray(groups, dtype=str), "|"), np.asarray(y, dtype=str))
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    fold = np.full(len(strata), -1, dtype=np.int64)
    try:
        with warnings.catch_warnings():
            # Cells smaller than k are expected (fold_problem names the ones that matter).
            warnings.simplefilter("ignore", UserWarning)
            for i, (_, held) in enumerate(splitter.split(np.zeros(len(strata)), strata)):
                fold[held] = i
    except ValueError as exc:
        raise AuditError(
            f"Cannot cross-fit the {len(strata):,} evaluated rows in {k} folds: {exc}. "
            "Set mitigation.folds lower, or hold out rows with --test-size instead."
        ) from None
    return Folds(fold, k, seed)


def fold_problem(
    name: str, folds: Folds, groups: np.ndarray, y: np.ndarray, columns: list[str]
) -> str | None:
    """Why strategy ``name`` cannot be cross-fitted on these folds, or None.

    A strategy that takes the group at prediction time (threshold optimizer, correlation
    remover) cannot treat a group absent from a fold's training part; a threshold optimizer
    cannot place thresholds for a group whose rows, in the evaluated rows or in one fold's
    training part, all carry the same label.

    Parameters
    ----------
    name : str
        A canonical strategy name.
    folds : Folds
        The folds of the evaluated rows.
    groups, y : numpy.ndarray
        Group key and 0/1 label of each evaluated row.
    columns : list of str
        The sensitive columns the group key combines (for the message).

    Returns
    -------
    str or None
        A one-line message naming the groups, the fold and what to do; None when it can.
    """
    method = catalogue.method_of(name)
    what = " × ".join(columns)
    if catalogue.METHODS[method].sensitive_at_prediction:
        for i in range(folds.k):
            train, held = folds.training(i), folds.held_out(i)
            unseen = sorted(set(groups[held].tolist()) - set(groups[train].tolist()))
            if unseen:
                return (
                    f"Group(s) {_shown(unseen)} of {what} have too few rows for {folds.k}-fold "
                    f"cross-fitting: in fold {i + 1} of {folds.k} they are held out but absent "
                    f"from the training part, so {name}, which takes the group at prediction "
                    f"time, cannot treat them. {ADVICE}"
                )
    if method not in NEEDS_BOTH_LABELS:
        return None
    single = _single_label_groups(groups, y)
    if single:
        return (
            f"Group(s) {_shown(single)} of {what} have a single label in the evaluated rows "
            f"(all positive or all negative), so {name} cannot place thresholds for them (it "
            "needs both labels in every group). Set mitigation.sensitive to fewer columns, or "
            "add rows of the missing label."
        )
    for i in range(folds.k):
        train = folds.training(i)
        single = _single_label_groups(groups[train], y[train])
        if single:
            return (
                f"Group(s) {_shown(single)} of {what} have too few rows for {folds.k}-fold "
                f"cross-fitting: the training part of fold {i + 1} of {folds.k} holds rows of "
                f"one label only for them, so {name} cannot place their thresholds (it needs "
                f"both labels in every group). {ADVICE}"
            )
    return None


def fold_group_sizes(folds: Folds, groups: np.ndarray) -> pd.Series:
    """Each group's fewest rows in any fold's training part (what every fit saw at least).

    Returns
    -------
    pandas.Series
        Indexed by group key; 0 for a group missing from some training part.
    """
    every = sorted(set(groups.tolist()))
    counts = [
        pd.Series(groups[folds.training(i)]).value_counts().reindex(every, fill_value=0)
        for i in range(folds.k)
    ]
    return pd.concat(counts, axis=1).min(axis=1).astype(int)


def describe(folds: Folds, group_key: str) -> dict[str, Any]:
    """How the strategies were fitted, for results.json (``mitigation.fitting``) and the report.

    Returns
    -------
    dict
        ``how`` ("cross-fitted"), ``folds``, ``seed``, ``stratified_by``, ``rows_per_fold``,
        ``training_rows_per_fold``, ``refitted_on`` and ``text``, which says what they mean.
    """
    held = folds.sizes()
    n = int(sum(held))
    training = [n - size for size in held]
    k = folds.k
    return {
        "how": "cross-fitted",
        "folds": k,
        "seed": folds.seed,
        "stratified_by": f"{group_key} and label",
        "rows_per_fold": held,
        "training_rows_per_fold": training,
        "refitted_on": n,
        "text": (
            "out-of-fold decisions; the saved model is refitted on every row. The loaded "
            f"model was audited on all {n:,} rows, so no rows were left to fit the strategies "
            f"on alone: each strategy was fitted {k} times ({k}-fold cross-fitting, folds "
            f"stratified by {group_key} and label, seed {folds.seed}), each time on "
            f"{_span(training)} rows, and decided the {_span(held)} rows of the fold it had "
            "not seen. Every row's decision thus comes from a fit that did not see it, and "
            f"each strategy is measured on the same {n:,} rows as the baseline; the numbers "
            f"estimate a strategy fitted on about {(k - 1) / k:.0%} of the rows. The model "
            "saved with --save-mitigated and the mitigated models explained are refitted "
            "once on every row, so their own decisions on these rows are in-sample and can "
            "differ from the out-of-fold ones measured here."
        ),
    }


def _single_label_groups(groups: np.ndarray, y: np.ndarray) -> list[str]:
    labels = pd.Series(np.asarray(y)).groupby(np.asarray(groups)).nunique()
    return sorted(str(g) for g in labels.index[labels < 2])


def _span(values: list[int]) -> str:
    low, high = min(values), max(values)
    return f"{low:,}" if low == high else f"{low:,}–{high:,}"


def _shown(groups: list[str]) -> str:
    return ", ".join(groups[:5]) + (f" and {len(groups) - 5} more" if len(groups) > 5 else "")
