"""run_audit(config) -> result: the one place where the stages are wired together.

Each stage is a function from inputs to a part of the result; the CLI only parses
flags, calls this, shows progress and maps errors to exit codes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from audit import models
from audit.checklist.evaluate import evaluate_checklist
from audit.checklist.spec import prepare_checklist
from audit.config import AuditConfig
from audit.data import AuditData, binary_target, load_audit_data, split_indices
from audit.errors import AuditError
from audit.explain.stage import explain_evaluation, explain_mitigated
from audit.metrics import measure
from audit.metrics.fairness import group_labels
from audit.metrics.inputs import sample_weights
from audit.mitigation.stage import run_mitigation
from audit.model_card import build_datasheet, build_model_card
from audit.quality.runner import assess_quality, stop_on_errors
from audit.regression import regression_predictions
from audit.result import SCHEMA_VERSION, provenance

Progress = Callable[[str], None]


@dataclass
class Evaluation:
    """The evaluated rows with their labels, decisions and scores, and how they were made.

    Later stages (mitigation, explanations) start from this: ``train_rows`` and
    ``model`` are empty for a predictions-only audit, where nothing is trained.
    """

    rows: np.ndarray
    y_true: np.ndarray
    y_pred: np.ndarray
    scores: np.ndarray | None
    model: Any | None
    model_info: dict[str, Any]
    train_rows: np.ndarray

    @property
    def input_columns(self) -> list[str]:
        return self.model_info.get("input_columns", [])


@dataclass
class AuditRun:
    """The result (plain data) plus live objects the CLI may save, such as the trained model."""

    result: dict[str, Any]
    model: Any | None
    mitigated_model: Any | None = None  # the strategy `mitigation.save` chose, to be saved
    mitigated_file: str | None = None


def run_audit(config: AuditConfig, progress: Progress | None = None) -> AuditRun:
    """Run every stage of the audit and return its result."""
    say = progress or (lambda message: None)
    config.check_complete()
    timings: dict[str, float] = {}

    def timed(stage: str, function: Callable[[], Any]) -> Any:
        say(stage)
        start = time.perf_counter()
        value = function()
        timings[stage] = round(time.perf_counter() - start, 3)
        return value

    checklist = prepare_checklist(config)  # read and validate the answers before any work
    data: AuditData = timed("Loading data", lambda: load_audit_data(config))
    # Nothing is held out when the predictions are given (always so for regression audits,
    # which take predictions already made): there is nothing to train.
    given = config.mode == "predictions" or config.data.task == "regression"
    split = None if given else split_indices(len(data.frame), data.y, config)
    quality = timed("Checking data quality", lambda: assess_quality(data, config, split))
    stop_on_errors(quality, config)  # error findings stop here, before training
    evaluation: Evaluation = timed("Getting predictions", lambda: _evaluate(config, data, split))
    sensitive = data.frame.loc[evaluation.rows, data.sensitive].reset_index(drop=True)
    weights = sample_weights(data.frame, evaluation.rows, config, data.path)
    measured = timed(
        "Computing metrics",
        lambda: measure(
            evaluation.y_true,
            evaluation.y_pred,
            evaluation.scores,
            sensitive,
            config,
            sample_weight=weights,
        ),
    )
    result = {
        "schema_version": SCHEMA_VERSION,
        "provenance": {
            **provenance(config.seed, data.sha256, str(data.path)),
            "timings_seconds": timings,
        },
        "config": config.to_dict(),
        "data": _data_overview(data, evaluation),
        "model": evaluation.model_info,
        "performance": measured["performance"],
        "fairness": {
            "evaluated_on": evaluation.model_info["evaluated_on"],
            "features": measured["fairness"],
            "settings": measured["settings"],
        },
        "verdicts": measured["verdicts"],
        "policy": measured["policy"],
    }
    result["explanations"] = timed(
        "Explaining the model", lambda: explain_evaluation(config, data, evaluation)
    )

    def mitigate() -> Any:
        baseline_seconds = timings.get("Getting predictions")
        return run_mitigation(config, data, evaluation, measured, baseline_seconds, weights)

    strategies = config.mitigation.strategies
    mitigation = timed("Comparing mitigation strategies", mitigate) if strategies else mitigate()
    result["mitigation"] = mitigation.result
    if mitigation.fitted and result["explanations"].get("status") == "explained":
        result["explanations"]["variants"] = timed(
            "Explaining the mitigated models",
            lambda: explain_mitigated(config, data, evaluation, mitigation.fitted),
        )
    result["quality"] = quality
    # The model card and the checklist read every other stage's result: keep them last.
    result["model_card"] = build_model_card(result, config)
    result["datasheet"] = build_datasheet(result, config)
    result["checklist"] = timed(
        "Evaluating the checklist", lambda: evaluate_checklist(checklist, result)
    )
    return AuditRun(
        result=result,
        model=evaluation.model,
        mitigated_model=mitigation.saved_model,
        mitigated_file=mitigation.saved_file,
    )


def _evaluate(
    config: AuditConfig, data: AuditData, split: tuple[np.ndarray, np.ndarray] | None
) -> Evaluation:
    if config.data.task == "regression":  # predictions-only: check_complete made sure
        column = config.predictions.prediction_column or config.predictions.score_column
        assert column is not None
        y_pred, info = regression_predictions(data.frame, column, data.path)
        rows = np.arange(len(data.frame))
        return Evaluation(rows, data.y, y_pred, None, None, info, train_rows=rows[:0])
    if split is None:
        return _given_predictions(config, data)
    train, test = split
    if config.mode == "train":
        X_train = models.as_model_input(data.frame.iloc[train], data.features)
        model = models.train_model(
            config.model.name, config.model.params, config.seed, X_train, data.y[train]
        )
        info = {"source": "trained", "registry_name": config.model.name, **models.describe(model)}
        columns = data.features
    else:
        assert config.model.file is not None
        model = models.load_model(config.model.file)
        info = {"source": "file", "file": str(config.model.file), **models.describe(model)}
        columns = models.model_input_columns(model, data.features)
        absent = [c for c in columns if c not in data.frame.columns]
        if absent:
            raise AuditError(
                f"The model in {config.model.file} expects column(s) {', '.join(absent)}, "
                f"which {data.path} does not have."
            )
    X_test = models.as_model_input(data.frame.iloc[test], columns)
    scores = models.positive_scores(model, X_test)
    threshold = config.model.threshold
    if scores is not None:
        y_pred = (scores >= threshold).astype(np.int8)
    else:
        y_pred = np.asarray(model.predict(X_test) == 1, dtype=np.int8)
    info.update(
        input_columns=columns,
        threshold=threshold if scores is not None else None,
        evaluated_on="test split",
    )
    return Evaluation(test, data.y[test], y_pred, scores, model, info, train_rows=train)


def _given_predictions(config: AuditConfig, data: AuditData) -> Evaluation:
    """Decisions already made: every row is evaluated, since nothing is trained."""
    cfg = config.predictions
    column = cfg.prediction_column or cfg.score_column
    assert column is not None
    if column not in data.frame.columns:
        raise AuditError(f"Prediction/score column '{column}' not found in {data.path}.")
    values = data.frame[column]
    if values.isna().any():
        raise AuditError(
            f"Column '{column}' has {int(values.isna().sum())} missing values; every audited "
            "row needs a prediction. Fill or drop those rows first."
        )
    scores = None
    if cfg.score_column:
        if not pd.api.types.is_numeric_dtype(values):
            raise AuditError(f"Score column '{column}' must be numeric (found {values.dtype}).")
        scores = values.to_numpy(dtype=float)
        y_pred = (scores >= cfg.threshold).astype(np.int8)
        rule = f"{column} >= {cfg.threshold}"
    else:
        y_pred = _encode_predictions(values, data, column)
        rule = f"{column} == {data.positive_label!r}"
    rows = np.arange(len(data.frame))
    info = {
        "source": "predictions",
        "column": column,
        "decision_rule": rule,
        "threshold": cfg.threshold,
        "evaluated_on": "all rows (predictions-only audit: nothing is held out)",
    }
    return Evaluation(rows, data.y, y_pred, scores, None, info, train_rows=rows[:0])


def _encode_predictions(values: pd.Series, data: AuditData, column: str) -> np.ndarray:
    """Predicted labels: in the target's own values, else 0/1 or boolean."""
    target_values = set(data.frame[data.target].dropna().astype(str))
    if set(values.astype(str)) <= target_values:
        return binary_target(values, data.positive_label, column)
    if set(values.astype(str)) <= {"0", "1", "True", "False", "0.0", "1.0"}:
        return binary_target(values, 1, column)
    raise AuditError(
        f"Prediction column '{column}' holds values that are neither the target's values "
        f"({', '.join(sorted(target_values))}) nor 0/1. Recode it, or use --score-column."
    )


def _data_overview(data: AuditData, evaluation: Evaluation) -> dict[str, Any]:
    frame = data.frame
    return {
        "file": str(data.path),
        "n_rows": int(len(frame)),
        "n_columns": int(frame.shape[1]),
        "rows_without_target_dropped": data.rows_without_target,
        "target": data.target,
        "positive_label": data.positive_label,
        "base_rate": float(data.y.mean()),
        "sensitive": data.sensitive,
        "features": data.features,
        "n_train": int(len(evaluation.train_rows)),
        "n_evaluated": int(len(evaluation.rows)),
        "columns": [
            {
                "name": column,
                "dtype": str(frame[column].dtype),
                "missing": int(frame[column].isna().sum()),
                "unique": int(frame[column].nunique(dropna=True)),
                "role": data.role(column, evaluation.input_columns or None),
            }
            for column in frame.columns
        ],
        "group_sizes": {
            column: group_labels(frame[column]).value_counts().sort_index().to_dict()
            for column in data.sensitive
        },
    }
