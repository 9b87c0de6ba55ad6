"""Cross-validated audit (``split.cv``, ``--cv K``): how much the audit's numbers move with
the rows a model happens to be trained and judged on.

The training rows of an audit that trains a registry model are split into K folds
(stratified by label for a classifier, shuffled with the audit's ``seed``). For each fold a
model is trained on the other K − 1 folds and audited on the fold, through the same two
steps as the main audit — :func:`audit.evaluation.evaluate` (training and decisions) and
:func:`audit.metrics.measure` (every metric, disparity, interval and verdict) — so a fold's
numbers are exactly those of an audit with that split. Across folds each number gets its
mean, sample standard deviation and range, and each policy verdict is compared: a verdict
that is not the same in every fold is stated.

The main result is untouched: the final model is still trained on every training row and
audited on the held-out test rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold

from audit.config import AuditConfig
from audit.data import AuditData
from audit.errors import AuditError
from audit.evaluation import Evaluation, RowPlan, evaluate
from audit.metrics import measure
from audit.metrics.inputs import sample_weights
from audit.metrics.multiclass import measure_multiclass
from audit.mitigation.section import slim_fairness
from audit.multiclass import class_names
from audit.vocabulary.metrics import GROUP_METRICS

# Overall figures that are sizes, not rates: they follow the fold's size, not the model.
_NOT_SUMMARISED = ("n",)


@dataclass(frozen=True)
class CrossValidationFolds:
    """The fold (0 .. k − 1) of each training row; ``rows`` are positions in the data."""

    rows: np.ndarray
    fold: np.ndarray
    k: int
    seed: int
    stratified: bool

    def split(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows (positions in the data) that train fold ``i``'s model, and the rows it audits."""
        return self.rows[self.fold != i], self.rows[self.fold == i]


def plan_folds(config: AuditConfig, data: AuditData, plan: RowPlan) -> CrossValidationFolds | None:
    """The K folds of the training rows (None without ``split.cv``), before anything is trained.

    See :func:`make_folds`.
    """
    if config.split.cv is None:
        return None
    return make_folds(config, data, plan.train, config.split.cv, "split.cv (--cv)")


def make_folds(
    config: AuditConfig, data: AuditData, rows: np.ndarray, k: int, setting: str
) -> CrossValidationFolds:
    """K folds of ``rows`` (positions in the data): ``StratifiedKFold(K, shuffle=True,
    random_state=seed)`` on their labels (``KFold`` for a regression target).

    Raises
    ------
    AuditError
        When K (set by ``setting``, named in the message) exceeds the rows of the smallest
        class (a stratified fold needs a row of each class), or the rows.
    """
    rows = np.asarray(rows)
    y = np.asarray(data.y)[rows]
    stratified = config.data.task == "classification"
    if stratified:
        labels, counts = np.unique(y, return_counts=True)
        smallest = int(counts.min())
        if k > smallest:
            which = "positive" if labels[int(counts.argmin())] == 1 else "negative"
            raise AuditError(
                f"{setting} {k} asks for more folds than the {smallest} training rows of "
                f"the smallest class ({which} label): every stratified fold needs rows of each "
                f"class. Set it to at most {smallest}, or use more data."
            )
        splitter: KFold | StratifiedKFold = StratifiedKFold(
            k, shuffle=True, random_state=config.seed
        )
    else:
        if k > len(rows):
            raise AuditError(
                f"{setting} {k} asks for more folds than the {len(rows)} training rows. "
                f"Set it to at most {len(rows)}, or use more data."
            )
        splitter = KFold(k, shuffle=True, random_state=config.seed)
    fold = np.empty(len(rows), dtype=np.int64)
    for i, (_, held) in enumerate(splitter.split(np.zeros(len(rows)), y)):
        fold[held] = i
    return CrossValidationFolds(rows, fold, k, config.seed, stratified)


def measure_evaluation(
    config: AuditConfig, data: AuditData, evaluation: Evaluation
) -> dict[str, Any]:
    """:func:`audit.metrics.measure` of an evaluation, called as the main audit calls it."""
    sensitive = data.frame.loc[evaluation.rows, data.sensitive].reset_index(drop=True)
    if config.data.task == "multiclass":
        assert data.classes is not None
        return measure_multiclass(
            evaluation.y_true,
            evaluation.y_pred,
            evaluation.scores,
            sensitive,
            class_names(data.classes),
            config.fairness,
            config.policy,
            seed=config.seed,
            sample_weight=sample_weights(data.frame, evaluation.rows, config, data.source),
        )
    randomized = evaluation.decision_probability is not None
    return measure(
        evaluation.y_true,
        None if randomized else evaluation.y_pred,
        evaluation.scores,
        sensitive,
        config.fairness,
        config.policy,
        task=config.data.task,
        seed=config.seed,
        sample_weight=sample_weights(data.frame, evaluation.rows, config, data.source),
        decision_probability=evaluation.decision_probability,
    )


def audit_fold(
    config: AuditConfig, data: AuditData, folds: CrossValidationFolds, i: int
) -> dict[str, Any]:
    """Fold ``i`` audited: a model trained on the other folds, measured on this one."""
    train, held = folds.split(i)
    why = (
        f"cross-validation fold {i + 1} of {folds.k}: trained on {len(train):,} training "
        f"rows, evaluated on the other {len(held):,}"
    )
    evaluation = evaluate(config, data, RowPlan(train, held, "random split", why))
    measured = measure_evaluation(config, data, evaluation)
    return {
        "fold": i + 1,
        "n_train": int(len(train)),
        "n_evaluated": int(len(held)),
        "performance": measured["performance"],
        "fairness": slim_fairness(measured["fairness"]),
        "verdicts": measured["verdicts"],
        "policy": measured["policy"],
    }


def cross_validate(
    config: AuditConfig,
    data: AuditData,
    folds: CrossValidationFolds,
    test_verdicts: list[dict[str, Any]],
) -> dict[str, Any]:
    """Audit every fold and summarise the folds (the ``cross_validation`` result section).

    ``test_verdicts`` are the main audit's verdicts on the held-out test rows, shown beside
    the folds' ones.
    """
    audited = [audit_fold(config, data, folds, i) for i in range(folds.k)]
    verdicts = verdicts_across(audited, test_verdicts)
    return {
        "k": folds.k,
        "seed": folds.seed,
        "stratified_by": "label" if folds.stratified else None,
        "n_rows": int(len(folds.rows)),
        "rows_per_fold": [fold["n_evaluated"] for fold in audited],
        "model": config.model.name,
        "text": _how(folds, config.model.name, config.split.evaluate_on),
        "spread": "sample standard deviation (n − 1) over the folds where the value is "
        "defined; range = lowest–highest fold",
        "folds": audited,
        "performance": [
            {"metric": metric, **spread(values)}
            for metric, values in _performance_values(audited).items()
        ],
        "disparities": [
            {"feature": feature, "metric": metric, **spread(values)}
            for (feature, metric), values in _disparity_values(audited).items()
        ],
        "groups": [
            {"feature": feature, "group": group, "metric": metric, **spread(values)}
            for (feature, group, metric), values in _group_values(audited).items()
        ],
        "verdicts": verdicts,
        "policy_statuses": [fold["policy"]["status"] for fold in audited],
        "verdicts_differ": any(v["differs"] for v in verdicts),
        "statement": differs_statement(verdicts, folds.k),
    }


def spread(values: list[float | None]) -> dict[str, Any]:
    """Per-fold ``values`` with their mean, sample standard deviation, minimum and maximum
    over the folds where the value is defined (None when none is; std needs two)."""
    defined = np.array([v for v in values if v is not None], dtype=np.float64)
    n = len(defined)
    return {
        "values": values,
        "defined_folds": n,
        "mean": float(defined.mean()) if n else None,
        "std": float(defined.std(ddof=1)) if n >= 2 else None,
        "min": float(defined.min()) if n else None,
        "max": float(defined.max()) if n else None,
    }


def verdicts_across(
    folds: list[dict[str, Any]], test_verdicts: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """One entry per policy verdict (rule, feature and group): its value and verdict in each
    fold (None where the fold lacks the group), their spread, and whether they differ."""
    keyed: dict[tuple[Any, ...], dict[str, Any]] = {}
    for i, fold in enumerate(folds):
        for verdict in fold["verdicts"]:
            key = _verdict_key(verdict)
            entry = keyed.setdefault(
                key,
                {
                    "rule": verdict["rule"],
                    "feature": verdict["feature"],
                    "metric": verdict["metric"],
                    "group": verdict.get("group"),
                    "fold_values": [None] * len(folds),
                    "fold_verdicts": [None] * len(folds),
                },
            )
            entry["fold_values"][i] = verdict["value"]
            entry["fold_verdicts"][i] = verdict["verdict"]
    test = {_verdict_key(v): v for v in test_verdicts}
    out = []
    for key, entry in keyed.items():
        values = entry.pop("fold_values")
        outcomes = entry["fold_verdicts"]
        main = test.get(key)
        out.append(
            {
                **entry,
                **spread(values),
                "differs": len(set(outcomes)) > 1,
                "test_value": main["value"] if main else None,
                "test_verdict": main["verdict"] if main else None,
            }
        )
    return out


def differs_statement(verdicts: list[dict[str, Any]], k: int) -> str:
    """In words: which policy verdicts are not the same in every fold (or that all agree)."""
    if not verdicts:
        return "No policy rules were set, so no verdicts were compared across the folds."
    differing = [v for v in verdicts if v["differs"]]
    if not differing:
        return f"Every policy verdict is the same in all {k} folds."
    parts = []
    for verdict in differing:
        where = verdict["feature"] + (f" = {verdict['group']}" if verdict["group"] else "")
        by_outcome: dict[str, list[str]] = {}
        for i, outcome in enumerate(verdict["fold_verdicts"]):
            by_outcome.setdefault(outcome or "no verdict (group absent)", []).append(str(i + 1))
        shown = "; ".join(
            f"{outcome} in fold{'s' if len(which) > 1 else ''} {', '.join(which)}"
            for outcome, which in by_outcome.items()
        )
        parts.append(f"{verdict['rule']} on {where}: {shown}")
    count = len(differing)
    return (
        f"{count} of {len(verdicts)} policy verdict{'s' if len(verdicts) > 1 else ''} "
        f"differ{'s' if count == 1 else ''} between folds, so "
        f"{'it depends' if count == 1 else 'they depend'} on which rows the model is trained "
        f"and judged on: {' | '.join(parts)}."
    )


def _verdict_key(verdict: dict[str, Any]) -> tuple[Any, ...]:
    return (verdict["rule"], verdict["feature"], verdict.get("group"))


def _performance_values(folds: list[dict[str, Any]]) -> dict[str, list[float | None]]:
    values: dict[str, list[float | None]] = {}
    for i, fold in enumerate(folds):
        for metric, value in fold["performance"].items():
            if metric in _NOT_SUMMARISED or not _is_number_or_none(value):
                continue
            values.setdefault(metric, [None] * len(folds))[i] = value
    # Keep only what some fold defines (a regression audit has no accuracy).
    return {m: v for m, v in values.items() if any(x is not None for x in v)}


def _disparity_values(folds: list[dict[str, Any]]) -> dict[tuple[str, str], list[float | None]]:
    values: dict[tuple[str, str], list[float | None]] = {}
    for i, fold in enumerate(folds):
        for entry in fold["fairness"]:
            for disparity in entry["disparities"]:
                key = (entry["feature"], disparity["metric"])
                values.setdefault(key, [None] * len(folds))[i] = disparity["value"]
    return values


def _group_values(
    folds: list[dict[str, Any]],
) -> dict[tuple[str, str, str], list[float | None]]:
    values: dict[tuple[str, str, str], list[float | None]] = {}
    for i, fold in enumerate(folds):
        for entry in fold["fairness"]:
            for group in entry["groups"]:
                for metric in GROUP_METRICS:
                    if metric in group and _is_number_or_none(group[metric]):
                        key = (entry["feature"], group["group"], metric)
                        values.setdefault(key, [None] * len(folds))[i] = group[metric]
    return {key: v for key, v in values.items() if any(x is not None for x in v)}


def _is_number_or_none(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def _how(folds: CrossValidationFolds, model: str, evaluate_on: str = "test") -> str:
    sizes = np.bincount(folds.fold, minlength=folds.k)
    low, high = int(sizes.min()), int(sizes.max())
    span = f"{low:,}" if low == high else f"{low:,}–{high:,}"
    stratified = ", stratified by label" if folds.stratified else ""
    return (
        f"{folds.k}-fold cross-validation of the {len(folds.rows):,} training rows (folds "
        f"shuffled with seed {folds.seed}{stratified}): for each fold, {model} was trained on "
        f"the other {folds.k - 1} folds and audited on the fold's {span} rows with the same "
        "metrics, intervals and policy as the main audit. The main audit's model is trained "
        f"on every training row and judged on {MAIN_ROWS[evaluate_on]}, as without "
        "cross-validation."
    )


# The rows the main audit is judged on, by ``split.evaluate_on`` (the report's words too).
MAIN_ROWS = {
    "test": "the held-out test rows",
    "train": "the training rows (in-sample)",
    "all": "all rows, training rows included (in-sample)",
}
