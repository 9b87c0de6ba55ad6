"""A predictions-only audit computed by DuckDB or Spark: the same result, the rows never in
pandas.

The file is scanned by SQL a few times — a profile (rows, missing and distinct values per
column), the marker and duplicate counts, and one GROUP BY over the sensitive columns, the
label and the decision — and only those small tables reach Python. The grouped rows are
encoded exactly as the in-memory engine encodes the rows (the same functions, on one row
per distinct combination, with its count), so the finest count table, and everything
computed from it (rates, disparities, bootstrap intervals, verdicts), is the in-memory
engine's, number for number.

Fairness over time: the time key (the time column, or its day) is one more GROUP BY key —
with a score column, the window itself and the score's bin in it — and each window's
grouped rows give that window's table (:mod:`audit.engines.table_windows`).

Checks that need the rows themselves are skipped and say so (:data:`SKIPPED_CHECKS`).

The source is a :class:`~audit.engines.duckdb_source.DuckSource` or a
:class:`~audit.engines.spark_source.SparkSource`: the same queries, in each one's dialect.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from audit.config import AuditConfig
from audit.data import (
    IN_MEMORY,
    binary_target,
    encode_predictions,
    refuse_missing_predictions,
    require_columns,
    resolve_positive_label,
)
from audit.engines.duckdb_source import (
    DuckSource,
    duplicate_rows,
    grouped,
    marker_counts,
    open_source,
    profile,
)
from audit.engines.table_scores import grouped_cells, overall_scores, score_measures
from audit.engines.table_windows import (
    TIME_KEY,
    WINDOW,
    monitor_table,
    plan_table_windows,
    window_relation,
    window_score_ranges,
)
from audit.errors import AuditError
from audit.metrics import measure_table
from audit.metrics.association import proxy_associations
from audit.metrics.fairness import grouped_count_table
from audit.metrics.groups import group_labels
from audit.metrics.score_cells import HISTOGRAM_BINS, Binning
from audit.monitoring.stage import check_time_setting
from audit.quality.findings import Finding, QualityInput
from audit.quality.runner import run_checks
from audit.text import printable

ROWS_NEEDED = "needs the rows themselves; this engine does not load them (--engine memory runs it)"
SKIPPED_CHECKS = {
    "missing_by_group": ROWS_NEEDED,
    "conflicting_labels": ROWS_NEEDED,
    "constant_columns": ROWS_NEEDED,
    "id_like": ROWS_NEEDED,
    "high_cardinality": ROWS_NEEDED,
    "outliers": ROWS_NEEDED,
    "sentinel_codes": ROWS_NEEDED,
    "representation": "group sizes are in the data section and the fairness tables; the "
    "representation check " + ROWS_NEEDED,
    "base_rate": "group base rates are in the fairness tables; the check " + ROWS_NEEDED,
    "leakage": ROWS_NEEDED,
    "proxy_association": ROWS_NEEDED,
}


class TableQualityInput(QualityInput):
    """The quality checks' input from SQL counts: no rows, only what the checks read."""

    def __init__(
        self,
        counts: dict[str, int],
        n_rows: int,
        positives: int,
        duplicates: tuple[int, int],
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self._missing, self._n_rows, self._positives = counts, n_rows, positives
        self._duplicates = duplicates

    @property
    def n_rows(self) -> int:
        return self._n_rows

    def missing_count(self, column: str) -> int:
        return self._missing[column]

    def positives(self) -> int:
        return self._positives

    def duplicate_rows(self) -> tuple[int, int]:
        return self._duplicates


def duckdb_result(
    config: AuditConfig,
    timed: Any,
    timings: dict[str, float],
    engine_why: str,
    show_rows: Any = None,
) -> dict[str, Any]:
    """The result of a predictions-only audit computed by DuckDB, up to the sections that
    read the others (model card, checklist), which the pipeline adds as for any audit.
    ``show_rows`` (text -> None) is given the rows read while each query runs."""
    source: DuckSource = timed(
        "Loading data", lambda: open_source(config.data.path, show_progress=show_rows)
    )
    return table_result(config, source, timed, timings, {"engine": "duckdb"}, engine_why)


def spark_result(
    config: AuditConfig, timed: Any, timings: dict[str, float], engine_why: str
) -> dict[str, Any]:
    """The same result computed by Spark, from a CSV/Parquet path or a Spark DataFrame."""
    from audit.engines.spark_source import open_spark

    source = timed(
        "Loading data", lambda: open_spark(config.data.path, config.frame, config.spark.master)
    )
    engine = {"engine": "spark", "spark_master": source.master}
    return table_result(config, source, timed, timings, engine, engine_why)


def table_result(
    config: AuditConfig,
    source: Any,
    timed: Any,
    timings: dict[str, float],
    engine: dict[str, str],
    engine_why: str,
) -> dict[str, Any]:
    """The result computed from ``source`` (a DuckDB or Spark source, closed here);
    ``engine`` names it in the provenance (``engine`` and, for Spark, ``spark_master``)."""
    try:
        return _table_result(config, source, timed, timings, engine, engine_why)
    finally:
        source.close()


def _table_result(
    config: AuditConfig,
    source: Any,
    timed: Any,
    timings: dict[str, float],
    engine: dict[str, str],
    engine_why: str,
) -> dict[str, Any]:
    from audit.mitigation.section import not_run
    from audit.quality.runner import stop_on_errors
    from audit.result import SCHEMA_VERSION, provenance

    loaded = timed(f"Counting rows by group ({source.engine})", lambda: _load(source, config))
    quality = timed("Checking data quality", lambda: _quality(source, config, loaded))
    stop_on_errors(quality, config)
    measured = timed(
        "Computing metrics",
        lambda: measure_table(
            loaded["table"],
            config.fairness,
            config.policy,
            seed=config.seed,
            scores=loaded["scores"],
        ),
    )
    monitoring = None
    if loaded["windows"] is not None:
        monitoring = timed(
            "Auditing each time window", lambda: monitor_table(config, **loaded["windows"])
        )
    files = [{"role": "data", "path": source.shown(config), "sha256": loaded["sha256"]}]
    made = provenance(config.seed, files)
    made["versions"].update(getattr(source, "versions", {}))  # e.g. pyspark's and Spark's
    evaluated_on = (
        "every row of the data was evaluated: the decisions were already made, nothing is "
        "trained here"
    )
    model_info = {
        "source": "predictions",
        "column": loaded["column"],
        "evaluated_on": evaluated_on,
        "threshold": config.predictions.threshold,
        "decision_rule": loaded["decision"],
    }
    return {
        "schema_version": SCHEMA_VERSION,
        "provenance": {
            **made,
            "timings_seconds": timings,
            **engine,
            "engine_reason": engine_why,
        },
        "config": config.to_dict(),
        "data": data_overview(config, loaded, source.shown(config)),
        "model": {**model_info, "warnings": []},
        "performance": measured["performance"],
        "fairness": {
            "evaluated_on": evaluated_on,
            "features": measured["fairness"],
            "settings": measured["settings"],
        },
        "verdicts": measured["verdicts"],
        "policy": measured["policy"],
        "explanations": _no_model(config),
        "mitigation": not_run(config),
        "quality": quality,
        **({"monitoring": monitoring} if monitoring is not None else {}),
    }


def _no_model(config: AuditConfig) -> dict[str, Any]:
    """The explanations section of a predictions-only audit that declares no model inputs
    (the table engines run only those): no model, no inputs to check for proxies."""
    no_rows = pd.DataFrame({c: pd.Series(dtype=object) for c in config.data.sensitive})
    proxies = proxy_associations(pd.DataFrame(index=range(0)), no_rows, seed=config.seed)
    return {
        "status": "no_model",
        "reason": "This audit evaluates decisions that were already made, so there is no "
        "model to explain. Proxy detection needs the inputs of the model that made the "
        "decisions: declare them (data.features) and audit with --engine memory.",
        "proxies": {**proxies, "important": []},
    }


def _load(source: Any, config: AuditConfig) -> dict[str, Any]:
    cfg, predictions = config.data, config.predictions
    target = cfg.target
    column = predictions.prediction_column or predictions.score_column
    roles = [("Target", [target]), ("Sensitive", cfg.sensitive), ("Dropped", cfg.drop)]
    roles.append(("Prediction" if predictions.prediction_column else "Score", [column]))
    header = pd.DataFrame(columns=source.columns)
    for role, wanted in roles:
        require_columns(header, wanted, role, source.path)
    if target in cfg.sensitive:
        raise AuditError(
            f"Column '{printable(target)}' is both the target and a sensitive feature; "
            "remove it from --sensitive (data.sensitive) or choose another --target."
        )
    stats = profile(source, source.columns, target)
    n_file = int(stats["n_file"].iloc[0])
    without_target = n_file - int(stats["n_rows"].iloc[0])
    if without_target == n_file:
        where = source.path or IN_MEMORY
        raise AuditError(f"Target column '{printable(target)}' in {where} has no values.")
    quote = source.quote
    q_column = quote(column)
    extra: dict[str, str] = {}
    target_present = f"{quote(target)} IS NOT NULL"
    windows = None
    if config.monitoring.time_column is not None:  # a bad time stops here, before any work
        check_time_setting(config, header, source.path)
        windows, time_key, time_keys = plan_table_windows(source, config, target_present)
        if not predictions.score_column:
            extra[TIME_KEY] = time_key
    keys = [*cfg.sensitive, target]
    nulls = int(stats.loc[stats["column"] == column, "missing"].iloc[0])  # counted by profile()
    if predictions.score_column:
        threshold = float(predictions.threshold)  # type: ignore[arg-type]
        op = "<=" if predictions.score_direction == "lower_is_positive" else ">="
        if not source.is_numeric(column):
            refuse_missing_predictions(column, nulls)  # as in memory: missing values first
            raise AuditError(
                f"Score column '{printable(column)}' must be numeric (found "
                f"{source.types[column]}). Give a column of numbers."
            )
        extra["__decision"] = f"CAST({q_column} {op} {threshold!r} AS TINYINT)"
        # Scores oriented as the in-memory engine keeps them (higher = positive), binned
        # by the same arithmetic (audit.metrics.score_cells.Binning); one scan for the
        # unusable values and the range. NaN is missing, as pandas reads it.
        oriented = f"(-{q_column})" if op == "<=" else q_column
        nan = f"isnan(CAST({q_column} AS DOUBLE))"
        unusable = {"nan": nan, "infinite": f"{source.not_finite(q_column)} AND NOT {nan}"}
        if windows is None:
            counted = ", ".join(f"count(*) FILTER (WHERE {c}) AS {k}" for k, c in unusable.items())
            scanned = source.query(
                f"SELECT {counted}, min({oriented}) AS low, max({oriented}) AS high "
                f"FROM {source.view} WHERE {target_present}"
            ).iloc[0]
            bad = {k: int(scanned[k]) for k in unusable}
            low, high = scanned["low"], scanned["high"]
        else:  # the same scan, grouped by time key: each window's range too
            bad, low, high, spans = window_score_ranges(
                source, time_key, time_keys, oriented, unusable, target_present
            )
        refuse_missing_predictions(column, nulls + bad["nan"])
        if bad["infinite"]:
            raise AuditError(
                f"Score column '{printable(column)}' holds infinite values. Give finite "
                "numbers only."
            )
    else:
        keys.append(column)
        refuse_missing_predictions(column, nulls)
    measures: dict[str, str] = {}
    binning = None
    binnings = None  # each window's, with a score and windows
    relation = None
    if predictions.score_column:
        calibration_bins = config.fairness.calibration_bins
        binning = Binning.of(float(low), float(high), HISTOGRAM_BINS, calibration_bins)
        extra.update(binning.sql(oriented))
        losses = binning.probabilities
        if windows is not None:
            binnings = [Binning.of(a, b, HISTOGRAM_BINS, calibration_bins) for a, b in spans]
            relation, by_window = window_relation(source, time_key, time_keys, binnings, oriented)
            extra.update(by_window)
            # A window within [0, 1] is calibrated and scored by log loss even when the
            # whole is not: the calibration bins of probabilities, the losses of each row.
            extra["cal_bin"] = Binning.of(0.0, 1.0, 1, calibration_bins).sql(oriented)["cal_bin"]
            losses = any(b.probabilities for b in binnings)
        measures = score_measures(oriented, losses)
    rows = grouped(
        source, list(dict.fromkeys(keys)), extra, measures, where=target_present, relation=relation
    )
    if windows is not None and binnings is None:
        window_of = pd.Series(time_keys[WINDOW].to_numpy(), index=time_keys[TIME_KEY])
        rows[WINDOW] = rows[TIME_KEY].map(window_of).to_numpy()
    positive = resolve_positive_label(rows[target], cfg.positive_label, target)
    y = binary_target(rows[target], positive, target)
    if y.min() == y.max():
        raise AuditError(
            f"Target column '{printable(target)}' has only one class after encoding "
            f"(positive label {printable(repr(positive))}); an audit needs rows of both outcomes."
        )
    for name in cfg.sensitive:
        if rows[name].nunique(dropna=True) < 2:
            raise AuditError(
                f"Sensitive column '{printable(name)}' has fewer than two groups; fairness "
                "compares groups, so pick a column with at least two values."
            )
    if predictions.score_column:
        y_pred = rows["__decision"].to_numpy(dtype=np.int8)
        decision = {
            "threshold": predictions.threshold,
            "score": column,
            "direction": predictions.score_direction,
            "text": f"{column} {op} {predictions.threshold:g} → positive",
        }
    else:
        y_pred = encode_predictions(rows[column], rows[target], positive, column)
        decision = {"text": f"{column} == {positive!r} → positive"}
    bins = {name: spec.model_dump(exclude_none=True) for name, spec in config.fairness.bins.items()}
    if any("quantiles" in spec for spec in bins.values()):
        raise AuditError(
            "fairness.bins with quantiles needs every value of the column; the "
            f"{source.engine} engine groups them. Give the bin edges (fairness.bins.COL.edges), "
            "or use --engine memory."
        )
    n = rows["n"].to_numpy(dtype=np.float64)
    table = grouped_count_table(rows[cfg.sensitive], y, y_pred, n, config.fairness)
    cells = None if binning is None else grouped_cells(binning, table, rows, y)
    group_sizes = {
        name: {
            str(k): int(v)
            for k, v in rows["n"].groupby(group_labels(rows[name])).sum().sort_index().items()
        }
        for name in cfg.sensitive
    }
    evaluated = int(n.sum())
    return {
        "table": replace(table, scores=cells),
        "scores": overall_scores(cells, len(table.present)),
        "n_file": n_file,
        "n_rows": evaluated,
        "without_target": without_target,
        "positive": positive,
        "positives": int(table.counts[:, 2:].sum()),
        "profile": stats,
        "types": source.types,
        "group_sizes": group_sizes,
        "decision": decision,
        "column": column,
        "sha256": source.fingerprint(),
        "windows": None
        if windows is None
        else {"rows": rows, "y": y, "y_pred": y_pred, "windows": windows, "binnings": binnings},
    }


def _duplicate_rows(source: Any, profile_: pd.DataFrame, target: str) -> tuple[int, int]:
    """:func:`duplicate_rows` among the rows with a target. A column whose values there are
    all present and distinct rules a copy out, with no GROUP BY over every column (which, on
    a column of 10M distinct scores, took 1.5 s and 0.9 GB): DISTINCT and GROUP BY compare
    values alike."""
    distinct = (profile_["unique"] == profile_["n_rows"]) & (profile_["missing"] == 0)
    if distinct.any():
        return 0, 0
    return duplicate_rows(source, f"{source.quote(target)} IS NOT NULL")


def _quality(source: Any, config: AuditConfig, loaded: dict[str, Any]) -> dict[str, Any]:
    cfg = config.data
    profile_ = loaded["profile"]
    missing = dict(zip(profile_["column"], profile_["missing"], strict=True))
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in source.columns})
    inp = TableQualityInput(
        missing,
        loaded["n_rows"],
        loaded["positives"],
        _duplicate_rows(source, profile_, cfg.target),
        frame=empty,
        target=cfg.target,
        y=np.zeros(0),
        features=[],
        sensitive=list(cfg.sensitive),
        settings=config.quality,
        trains_model=False,
        rows_without_target=loaded["without_target"],
        positive_label=loaded["positive"],
        task="classification",
        prediction=config.predictions.prediction_column,
        score=config.predictions.score_column,
        skipped_checks={**SKIPPED_CHECKS, "null_markers": "computed in SQL (below)"},
    )
    report = run_checks(inp)
    _add_markers(report, inp, source, config)
    report["note"] = (
        f"Computed by the {source.engine} engine (the rows were not loaded into memory): "
        "missing "
        "values, null markers kept as values, duplicate rows and label imbalance ran in "
        "SQL (repeated identifiers are not looked for); the checks marked skipped need the "
        "rows (run with --engine memory for them)."
    )
    return report


def _add_markers(
    report: dict[str, Any], inp: QualityInput, source: Any, config: AuditConfig
) -> None:
    """The null-marker check in SQL: text meaning "missing" kept as a value (e.g. '?').
    Which spellings the CSV reader turned into missing values is not checked here."""
    markers = sorted({m.strip().lower() for m in config.quality.null_markers})
    columns = [c for c in source.columns if c != config.data.target]
    found = marker_counts(source, columns, markers)
    findings = [
        Finding(
            "null_markers",
            column,
            "warning",
            f"'{column}' holds "
            + ", ".join(f"{k!r} ×{v:,}" for k, v in kept.items())
            + ", read as a real value rather than as missing. Recode them to one missing value.",
            {"column": column, "role": inp.role(column), "kept_as_values": kept},
        ).to_dict()
        for column, kept in found.items()
    ]
    for entry in report["checks"]:
        if entry["id"] == "null_markers" and "null_markers" not in config.quality.disable:
            entry.update(
                status="ran",
                reason=f"{source.engine} engine: markers kept as values only (mixed spellings of "
                "missing values are not checked)",
                findings=len(findings),
            )
    for f in findings:
        f["anchor"] = "quality-" + f["id"].replace(" ", "-")
    report["findings"] += findings
    report["counts"]["warning"] += len(findings)


def data_overview(config: AuditConfig, loaded: dict[str, Any], shown: str) -> dict[str, Any]:
    """The data section, from the SQL profile (``shown``: the data as results.json names it)."""
    from audit.data import column_role

    cfg = config.data
    stats = loaded["profile"]
    roles = {
        "target": cfg.target,
        "sensitive": cfg.sensitive,
        "features": [],
        "prediction": config.predictions.prediction_column,
        "score": config.predictions.score_column,
    }
    return {
        "file": shown,
        "n_rows": loaded["n_rows"],
        "n_columns": len(stats),
        "rows_without_target_dropped": loaded["without_target"],
        "target": cfg.target,
        "positive_label": _plain(loaded["positive"]),
        "base_rate": loaded["positives"] / loaded["n_rows"],
        "sensitive": list(cfg.sensitive),
        "features": [],
        "n_train": 0,
        "n_evaluated": loaded["n_rows"],
        "evaluated_rows": "every row of the data was evaluated: the decisions were already "
        "made, nothing is trained here",
        "evaluate_on": config.split.evaluate_on,
        "in_sample": False,
        "columns": [
            {
                "name": row.column,
                "dtype": loaded["types"][row.column],
                "missing": int(row.missing),
                "unique": int(row.unique),
                "role": column_role(row.column, **roles),  # type: ignore[arg-type]
            }
            for row in stats.itertuples()
        ],
        "group_sizes": loaded["group_sizes"],
    }


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
