"""run_audit(config) -> result: the one place where the stages are wired together.

Each stage is a function from inputs to a part of the result; the CLI only parses
flags, calls this, shows progress and maps errors to exit codes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from threadpoolctl import threadpool_limits

from audit.checklist.evaluate import evaluate_checklist
from audit.checklist.spec import prepare_checklist
from audit.compliance.stage import add_evidence_map, check_compliance_data, compliance_rows
from audit.config import AuditConfig
from audit.data import AuditData, load_audit_data
from audit.engines.choice import choose_engine
from audit.engines.table_audit import duckdb_result, spark_result
from audit.metrics.fairness import group_labels
from audit.metrics.inputs import sample_weights
from audit.model_card import build_datasheet, build_model_card
from audit.monitoring.stage import monitor, plan_windows
from audit.quality.runner import assess_quality, stop_on_errors
from audit.result import SCHEMA_VERSION, AuditResult, provenance
from audit.result.audit_result import plain

if TYPE_CHECKING:  # only a type here: evaluation imports scikit-learn
    from audit.evaluation import Evaluation

Progress = Callable[[str], None]
LOG_EVERY_SECONDS = 5.0  # rows read, in a log: a line at most this often


def run_audit(config: AuditConfig, progress: Progress | None = None) -> AuditResult:
    """Run every stage of the audit and return its result (with the models to save)."""
    # One BLAS thread: the audit's matrices are small, and BLAS worker threads spin while
    # they wait, so on a busy shared machine a 30 ms logistic-regression fit took 2.4 s.
    # (OpenMP, which the tree models use, waits passively: see audit/__init__.py.)
    with threadpool_limits(limits=1, user_api="blas"):
        return _run_stages(config, progress)


def _run_stages(config: AuditConfig, progress: Progress | None) -> AuditResult:
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
    engine, engine_why = choose_engine(config)
    if engine in ("duckdb", "spark"):  # the rows never in pandas: a count table
        if engine == "duckdb":
            result = duckdb_result(config, timed, timings, engine_why, _rows_shown(progress))
        else:
            result = spark_result(config, timed, timings, engine_why)
        path = config.data.path if config.frame is None else None
        read_from = {}  # a file is checked again by `rai-audit verify`; a folder is not
        if path is not None and Path(path).is_file():
            read_from = {config.shown_path(path): str(Path(path).absolute())}
        return _completed(result, config, checklist, None, timed).with_read_from(read_from)
    # The in-memory stages are imported only here: they pull in scikit-learn (~1.5 s at
    # start), which an audit counted by DuckDB or Spark never uses.
    from audit.crossval import cross_validate, measure_evaluation, plan_folds
    from audit.evaluation import evaluate, plan_rows
    from audit.explain.stage import explain_evaluation, explain_mitigated
    from audit.mitigation.stage import run_mitigation
    from audit.tuning import tune, with_params

    data: AuditData = timed("Loading data", lambda: load_audit_data(config))
    plan = plan_rows(config, data)
    check_compliance_data(config, data, plan.evaluated)  # a rule's columns, before any work
    windows = plan_windows(config, data, plan.evaluated)  # a bad time column, before any work
    folds = plan_folds(config, data, plan)  # split.cv: a bad K stops here, before training
    # Train/test checks compare the rows a model learned from with the rows it is judged
    # on: they mean something only when this audit trained the model.
    split = (plan.train, plan.test) if config.mode == "train" else None
    quality = timed("Checking data quality", lambda: assess_quality(data, config, split))
    stop_on_errors(quality, config)  # error findings stop here, before training
    tuning = None
    if config.tune is not None:
        tuning = timed("Tuning the model", lambda: tune(config, data, plan, folds))
        config = with_params(config, tuning["chosen"])  # the final model uses the choice
    evaluation: Evaluation = timed("Getting predictions", lambda: evaluate(config, data, plan))
    weights = sample_weights(data.frame, evaluation.rows, config, data.source)  # mitigation's
    measured = timed("Computing metrics", lambda: measure_evaluation(config, data, evaluation))
    result: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "provenance": {
            **provenance(config.seed, _files_read(config, data, evaluation)),
            "timings_seconds": timings,
            "engine": engine,
            "engine_reason": engine_why,
        },
        "config": config.to_dict(),
        "data": _data_overview(config, data, evaluation),
        "model": {**evaluation.model_info, "warnings": evaluation.notes},
        "performance": measured["performance"],
        "fairness": {
            "evaluated_on": evaluation.model_info["evaluated_on"],
            "features": measured["fairness"],
            "settings": measured["settings"],
        },
        "verdicts": measured["verdicts"],
        "policy": measured["policy"],
    }
    if "classes" in measured:  # a multiclass audit: every class one-vs-rest
        result["classes"] = measured["classes"]
    if windows is not None:  # the evaluated rows are the planned ones (evaluation.rows)
        result["monitoring"] = timed(
            "Auditing each time window", lambda: monitor(config, data, evaluation, windows)
        )
    if tuning is not None:
        result["tuning"] = tuning
        result["provenance"]["tuned_params"] = tuning["chosen"]
    if folds is not None:
        result["cross_validation"] = timed(
            "Cross-validating",
            lambda: cross_validate(config, data, folds, measured["verdicts"]),
        )
    # One proxy detector: the data-quality stage's table (all rows), crossed with the
    # model's importance by the explanations, so a pair has one value in the report.
    proxies = quality["tables"].get("proxies")
    result["explanations"] = timed(
        "Explaining the model", lambda: explain_evaluation(config, data, evaluation, proxies)
    )

    def mitigate() -> Any:
        baseline_seconds = timings.get("Getting predictions")
        return run_mitigation(config, data, evaluation, measured, baseline_seconds, weights)

    strategies = config.mitigation.to_run(config.mode)
    mitigation = timed("Comparing mitigation strategies", mitigate) if strategies else mitigate()
    result["mitigation"] = mitigation.result
    if mitigation.fitted and result["explanations"].get("status") == "explained":
        result["explanations"]["variants"] = timed(
            "Explaining the mitigated models",
            lambda: explain_mitigated(config, data, evaluation, mitigation.fitted, proxies),
        )
    result["quality"] = quality
    compliance = (
        timed("Computing compliance tables", lambda: compliance_rows(config, data, evaluation))
        if config.compliance.rules
        else None
    )
    typed = _completed(result, config, checklist, compliance, timed)
    trained = evaluation.model if config.mode == "train" and config.model.save else None
    typed.with_read_from(_read_from(config, data))
    return typed.with_models(trained, mitigation.saved_model, mitigation.saved_file)


def _rows_shown(progress: Progress | None) -> Callable[[str], None] | None:
    """Where the DuckDB engine shows the rows read: the detail line of the CLI's reporter
    (at most every few seconds in a log), or nowhere for a plain progress callback."""
    detail = getattr(progress, "detail", None)
    return None if detail is None else partial(detail, every=LOG_EVERY_SECONDS)


def _completed(
    result: dict[str, Any],
    config: AuditConfig,
    checklist: Any,
    compliance: Any,
    timed: Callable[[str, Callable[[], Any]], Any],
) -> AuditResult:
    """The sections that read every other one (model card, datasheet, checklist, the EU AI
    Act map), then the whole result validated against the typed contract."""
    # The model card and the checklist read every other stage's result, through the typed
    # contract: keep them last (the checklist also reads the card).
    so_far = AuditResult.model_validate(plain(result))
    result["model_card"] = build_model_card(so_far, config)
    result["datasheet"] = build_datasheet(so_far, config)
    so_far = AuditResult.model_validate(plain(result))
    result["checklist"] = timed(
        "Evaluating the checklist", lambda: evaluate_checklist(checklist, so_far)
    )
    if compliance is not None:
        # The EU AI Act map reads every other section, the checklist's answers included.
        result["compliance"] = compliance
        add_evidence_map(compliance, AuditResult.model_validate(plain(result)))
    # Validated against the typed contract: a stage that wrote an undeclared or mistyped
    # field is a bug, and fails here rather than in a reader.
    return AuditResult.model_validate(plain(result))


def _files_read(
    config: AuditConfig, data: AuditData, evaluation: Evaluation
) -> list[dict[str, str]]:
    shown = config.shown_path(data.path) if data.path is not None else data.source
    files = [{"role": "data", "path": shown, "sha256": data.sha256}]
    if evaluation.model_info.get("sha256"):
        info = evaluation.model_info
        files.append({"role": "model", "path": info["file"], "sha256": info["sha256"]})
    return files


def _read_from(config: AuditConfig, data: AuditData) -> dict[str, str]:
    """Where the files of ``_files_read`` are (shown path -> absolute path), for the manifest."""
    paths = [p for p in (data.path, config.model.file) if p is not None]
    return {config.shown_path(p): str(Path(p).absolute()) for p in paths}


def _data_overview(config: AuditConfig, data: AuditData, evaluation: Evaluation) -> dict:
    frame = data.frame
    return {
        "file": config.shown_path(data.path) if data.path is not None else data.source,
        "n_rows": int(len(frame)),
        "n_columns": int(frame.shape[1]),
        "rows_without_target_dropped": data.rows_without_target,
        "target": data.target,
        "positive_label": data.positive_label,
        "base_rate": None if data.classes is not None else float(data.y.mean()),
        "sensitive": data.sensitive,
        # The columns the model reads: for a loaded model, those it was fitted on.
        "features": evaluation.input_columns or data.features,
        "n_train": int(len(evaluation.train_rows)) if evaluation.trained_here else 0,
        "n_evaluated": int(len(evaluation.rows)),
        "evaluated_rows": evaluation.plan_why,
        "evaluate_on": config.split.evaluate_on,
        "in_sample": evaluation.in_sample,
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
