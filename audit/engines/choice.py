"""Which engine computes an audit: in memory (pandas + numpy), DuckDB (out of core) or
Spark (a cluster, or local mode).

``engine: auto`` (the default) picks DuckDB for a predictions-only classification audit of
a CSV or Parquet file at least :data:`AUTO_BYTES` large on disk, where loading the rows
into pandas costs far more time and memory than the metrics; everything else runs in
memory, where every check and metric is available. ``auto`` never starts Spark (a JVM and
an optional package): Spark runs when asked for (``engine: spark``), or when the data given
to the Python API is a Spark DataFrame, which only Spark can read.
"""

from __future__ import annotations

from pathlib import Path

from audit.config import AuditConfig
from audit.data import READERS
from audit.engines.spark_source import is_spark_frame
from audit.errors import AuditError

# File size from which ``auto`` reads with DuckDB. Parquet compresses a decision log about
# 10x better than CSV (10M rows of 4 columns: 7.7 MB), so the thresholds differ; both are
# about 3-5M rows of a narrow log, where pandas would hold ~1 GB.
AUTO_BYTES = {"csv": 64 * 2**20, "parquet": 4 * 2**20}


def duckdb_obstacle(config: AuditConfig) -> str | None:
    """Why this audit cannot run on DuckDB (None: it can)."""
    if config.frame is not None:
        return "the data was given as a DataFrame in memory"
    path = config.data.path
    if path is None or READERS.get(Path(path).suffix.lower()) is None:
        return "the data is not a CSV or Parquet file"
    return rows_obstacle(config)


def spark_obstacle(config: AuditConfig) -> str | None:
    """Why this audit cannot run on Spark (None: it can)."""
    if config.frame is not None:
        if not is_spark_frame(config.frame):
            return "the data was given as a pandas DataFrame (give a Spark DataFrame)"
    elif READERS.get(Path(config.data.path or "").suffix.lower()) is None:
        return "the data is not a CSV or Parquet file (or a folder of them)"
    return rows_obstacle(config)


def rows_obstacle(config: AuditConfig) -> str | None:
    """What an engine that never holds the rows (DuckDB, Spark) cannot audit."""
    if config.mode != "predictions":
        return "it audits a model (DuckDB and Spark serve predictions-only audits)"
    if config.data.task != "classification":
        return f"it is a {config.data.task} audit (DuckDB and Spark serve binary ones)"
    if config.fairness.weight_column:
        return "it is weighted (fairness.weight_column): its intervals resample rows"
    if config.split.column:
        return "it evaluates the rows a split column marks (split.column)"
    if config.compliance.rules:
        return "its compliance tables (compliance.rules) read the rows"
    if config.data.features:
        return "it declares model inputs (data.features), whose checks read the rows"
    return None


def choose_engine(config: AuditConfig) -> tuple[str, str]:
    """The engine this audit runs on, and why (for the provenance)."""
    asked = config.engine
    if asked == "spark" or is_spark_frame(config.frame):
        return "spark", _spark_reason(config, asked)
    if config.spark.master is not None:
        raise AuditError(
            f"spark.master (--spark-master) is {config.spark.master!r}, but the audit does not "
            f"run on Spark (engine: {asked}). Add --engine spark (engine: spark), or remove it."
        )
    obstacle = duckdb_obstacle(config)
    if asked == "memory":
        return "memory", "asked for (engine: memory)"
    if asked == "duckdb":
        if obstacle:
            raise AuditError(
                f"--engine duckdb (engine: duckdb) cannot run this audit: {obstacle}. "
                "Use --engine memory (or auto)."
            )
        return "duckdb", "asked for (engine: duckdb)"
    if obstacle:
        return "memory", f"auto: in memory, since {obstacle}"
    path = Path(config.data.path)  # type: ignore[arg-type]
    kind = READERS[path.suffix.lower()]
    size = path.stat().st_size if path.is_file() else 0
    limit = AUTO_BYTES[kind]
    if size >= limit:
        return "duckdb", f"auto: the file is {size / 2**20:.1f} MB, ≥ {limit // 2**20} MB"
    return "memory", f"auto: the file is {size / 2**20:.1f} MB, < {limit // 2**20} MB"


def _spark_reason(config: AuditConfig, asked: str) -> str:
    """Why Spark runs (asked for, or a Spark DataFrame given), or why it cannot."""
    if asked not in ("spark", "auto"):
        raise AuditError(
            f"The data is a Spark DataFrame, which only the Spark engine reads; engine: {asked} "
            "cannot. Use engine='spark' (or auto), or pass a pandas DataFrame (df.toPandas())."
        )
    obstacle = spark_obstacle(config)
    if obstacle:
        raise AuditError(
            f"--engine spark (engine: spark) cannot run this audit: {obstacle}. Use --engine "
            "memory (or auto)."
        )
    if asked == "spark":
        return "asked for (engine: spark)"
    return "auto: the data is a Spark DataFrame"
