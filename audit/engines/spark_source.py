"""A Parquet/CSV path or a Spark DataFrame, queried with Spark SQL: the DuckDB engine's
queries (:mod:`audit.engines.duckdb_source`) in Spark's dialect.

The queries are the same functions (profile, grouped rows, markers); this source answers
what differs — backquoted identifiers, backslash-escaped text, Spark's type names, a finite
test without ``isfinite`` — and runs them with ``spark.sql``. Only the small grouped tables
come back to Python (``toPandas``), so the rows stay on the cluster.

A CSV is read as pandas (and DuckDB here) reads it: every field as text, pandas' spellings
of a missing value made NULL, then each column typed BIGINT, DOUBLE or text by what all its
values look like, so group labels and counts come out identical.

pyspark is optional (``pip install 'rai-audit[spark]'``) and needs a Java runtime: both are
checked before a session is started, with what to install when missing.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from audit.data import KIND_NAMES, READERS, sha256_of
from audit.engines.duckdb_source import PANDAS_NA, parquet_time_zone
from audit.errors import AuditError
from audit.text import printable

DEFAULT_MASTER = "local[*]"
IN_SPARK = "the Spark DataFrame given"
NUMERIC_TYPES = ("tinyint", "smallint", "int", "bigint", "float", "double")
INTEGER_TEXT = r"^[+-]?[0-9]+$"
INSTALL = "pip install 'rai-audit[spark]'"


def is_spark_frame(value: Any) -> bool:
    """Whether ``value`` is a Spark DataFrame (classic or Spark Connect), told without
    importing pyspark, which may not be installed."""
    kind = type(value)
    return kind.__name__ == "DataFrame" and kind.__module__.startswith("pyspark.sql")


def spark_missing() -> str | None:
    """What must be installed before Spark can run here (None: nothing)."""
    if importlib.util.find_spec("pyspark") is None:
        return f"pyspark is not installed: {INSTALL}"
    home = os.environ.get("JAVA_HOME")
    if not (shutil.which("java") or (home and (Path(home) / "bin" / "java").is_file())):
        return (
            "Spark needs a Java runtime (17 or newer) and none was found (no `java` on PATH, "
            "no JAVA_HOME): install one, e.g. `apt-get install default-jre-headless`"
        )
    return None


def quote(name: str) -> str:
    """A column name as a Spark SQL identifier (any text, backquotes doubled)."""
    return "`" + name.replace("`", "``") + "`"


@dataclass
class SparkSource:
    """A Spark DataFrame registered as a temporary view with a name of its own."""

    frame: Any  # pyspark.sql.DataFrame
    path: Path | None
    master: str
    columns: list[str] = field(default_factory=list)
    types: dict[str, str] = field(default_factory=dict)
    stop_session: bool = False  # the session was started for this audit
    added_views: list[str] = field(default_factory=list)  # by add_view, dropped on close
    engine = "Spark"
    text_type = "STRING"

    def __post_init__(self) -> None:
        self.session = self.frame.sparkSession
        self.view = f"rai_audit_{uuid.uuid4().hex}"
        self.frame.createOrReplaceTempView(self.view)
        self.columns = [str(c) for c in self.frame.columns]
        self.types = {str(c): str(t) for c, t in self.frame.dtypes}

    @property
    def versions(self) -> dict[str, str]:
        """For the provenance: the Python package and the Spark that ran the queries."""
        from importlib import metadata

        return {"pyspark": metadata.version("pyspark"), "spark": str(self.session.version)}

    def quote(self, name: str) -> str:
        return quote(name)

    def literal(self, text: str) -> str:
        """A Spark SQL string literal holding ``text`` (backslash escapes)."""
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"

    def is_text(self, column: str) -> bool:
        kind = self.types.get(column, "")
        return kind == "string" or kind.startswith(("varchar", "char"))

    def is_numeric(self, column: str) -> bool:
        kind = self.types[column]
        return kind in NUMERIC_TYPES or kind.startswith("decimal")

    def not_finite(self, expression: str) -> str:
        as_double = f"CAST({expression} AS DOUBLE)"
        return f"(isnan({as_double}) OR abs({as_double}) = CAST('Infinity' AS DOUBLE))"

    def time_type(self, column: str) -> str | None:
        """'naive' for a date or timestamp_ntz column, 'zoned' for a timestamp (an instant,
        shown in the session's zone), else None (text or numbers, read by the time parser)."""
        kind = self.types[column]
        if kind == "timestamp":
            return "zoned"
        return "naive" if kind in ("date", "timestamp_ntz") else None

    def local_time(self, column: str) -> str | None:
        """Spark SQL giving a timestamp column's instants at the clock of the zone pandas
        reads the Parquet file in (a timestamp_ntz), or None when it is unknown (a CSV, a
        DataFrame given: a Spark timestamp keeps no zone). The clock is built from the
        shifted microseconds, so the session's own zone plays no part."""
        zone = parquet_time_zone(self.path, column)
        if zone is None:
            return None
        micros = f"unix_micros(from_utc_timestamp({quote(column)}, {self.literal(zone)}))"
        day = f"floor({micros} / 86400000000)"
        return (
            f"(CAST(date_from_unix_date(CAST({day} AS INT)) AS TIMESTAMP_NTZ) + "
            f"make_dt_interval(0, 0, 0, CAST({micros} - {day} * 86400000000 AS "
            "DECIMAL(18, 0)) / 1000000))"
        )

    def file_order(self) -> None:
        """None: Spark reads a file in parallel partitions, without the rows' places in it."""
        return None

    def query(self, sql: str, parameters: list[Any] | None = None) -> pd.DataFrame:
        try:
            return self.session.sql(sql).toPandas()
        except Exception as exc:  # Spark's analysis and I/O errors: name the data
            problem = printable(str(exc).strip().split("\n")[0], 240)
            raise AuditError(
                f"Spark could not read {self.path or IN_SPARK} ({type(exc).__name__}: "
                f"{problem}). Check the data, or audit it with --engine memory."
            ) from None

    def scalar(self, sql: str) -> Any:
        return self.query(sql).iloc[0, 0]

    def add_view(self, frame: pd.DataFrame) -> str:
        """A small table from Python (e.g. each time key's window), as a temporary view
        that queries can join to the data (dropped on close); its name."""
        name = f"rai_audit_{uuid.uuid4().hex}"
        self.session.createDataFrame(frame).createOrReplaceTempView(name)
        self.added_views.append(name)
        return name

    def shown(self, config: Any) -> str:
        return config.shown_path(self.path) if self.path is not None else IN_SPARK

    def fingerprint(self) -> str:
        """SHA-256 of the file (of each file, for a folder of part files); for a DataFrame,
        of its column names, row count and the sum of Spark's 64-bit hash of every row (the
        same rows in any order give the same value; a changed cell changes it)."""
        if self.path is not None:
            return path_sha256(self.path)
        columns = ", ".join(quote(c) for c in self.columns)
        row = self.query(
            f"SELECT count(*) AS n, sum(CAST(xxhash64({columns}) AS DECIMAL(38, 0))) AS h "
            f"FROM {self.view}"
        ).iloc[0]
        text = "\x1f".join([*self.columns, str(int(row["n"])), str(row["h"])])
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def close(self) -> None:
        for name in [self.view, *self.added_views]:
            self.session.catalog.dropTempView(name)
        if self.stop_session:
            self.session.stop()


def path_sha256(path: Path) -> str:
    """A file's SHA-256; for a folder (Spark writes a table as part files), SHA-256 over
    each data file's relative name and SHA-256, in name order."""
    if path.is_file():
        return sha256_of(path)
    digest = hashlib.sha256()
    for part in sorted(p for p in path.rglob("*") if p.is_file() and _is_data_file(p, path)):
        digest.update(f"{part.relative_to(path).as_posix()}\x1f{sha256_of(part)}\n".encode())
    return digest.hexdigest()


def _is_data_file(part: Path, root: Path) -> bool:
    """Spark's own markers (_SUCCESS, .crc checksums) are not data."""
    return not any(p.startswith(("_", ".")) for p in part.relative_to(root).parts)


def session_for(master: str | None) -> tuple[Any, bool]:
    """The SparkSession to use, and whether it was started here (then it is stopped after
    the audit). A session already running in this process is used when its master is the
    one asked for (or none was asked for): a JVM holds one Spark context."""
    missing = spark_missing()
    if missing:
        raise AuditError(f"--engine spark cannot run: {missing}.")
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        running = active.sparkContext.master
        if master is not None and master != running:
            raise AuditError(
                f"A Spark session with master {running!r} is already running in this process; "
                f"it cannot also run {master!r}. Leave spark.master (--spark-master) unset to "
                "use the running session, or stop it first."
            )
        return active, False
    try:
        session = (
            SparkSession.builder.master(master or DEFAULT_MASTER)
            .appName("rai-audit")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .getOrCreate()
        )
    except Exception as exc:  # no JVM, a bad master URL, a cluster that cannot be reached
        problem = printable(str(exc).strip().split("\n")[0], 240)
        raise AuditError(
            f"Could not start Spark with master {master or DEFAULT_MASTER!r} "
            f"({type(exc).__name__}: {problem}). Check --spark-master (spark.master) and the "
            "Java runtime."
        ) from None
    session.sparkContext.setLogLevel("ERROR")
    return session, True


def open_spark(path: Path | None, frame: Any, master: str | None) -> SparkSource:
    """A Spark DataFrame given in memory, or the CSV/Parquet file or folder at ``path``
    read by Spark, as a source."""
    if frame is not None:
        return SparkSource(frame, None, frame.sparkSession.sparkContext.master)
    assert path is not None
    kind = READERS.get(path.suffix.lower())
    if kind is None or not path.exists():
        raise AuditError(
            f"The Spark engine reads a CSV or Parquet file (or a folder of them, named "
            f"*.csv or *.parquet); {path} is not one. Give such a path, or use --engine memory."
        )
    session, started = session_for(master)
    try:
        if kind == "parquet":
            data = session.read.parquet(str(path))
        else:
            data = _csv_as_pandas_reads(session, path)
        data.columns  # noqa: B018 (resolves the schema: a broken file fails here)
    except AuditError:
        raise
    except Exception as exc:
        if started:
            session.stop()
        problem = printable(str(exc).strip().split("\n")[0], 240)
        raise AuditError(
            f"Could not read {path} as {KIND_NAMES[kind]} with Spark ({type(exc).__name__}: "
            f"{problem}). Check that it is a complete {KIND_NAMES[kind]} file."
        ) from None
    return SparkSource(data, path, session.sparkContext.master, stop_session=started)


def _csv_as_pandas_reads(session: Any, path: Path) -> Any:
    """The CSV with pandas' reading: every field as text, pandas' missing-value spellings
    NULL, then a column whose values are all integers BIGINT, all numbers DOUBLE."""
    raw = session.read.csv(str(path), header=True, inferSchema=False)
    listed = ", ".join("'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'" for s in PANDAS_NA)
    view = f"rai_audit_csv_{uuid.uuid4().hex}"
    raw.createOrReplaceTempView(view)
    names = [str(c) for c in raw.columns]
    cleaned = {
        c: f"CASE WHEN {quote(c)} IN ({listed}) THEN NULL ELSE {quote(c)} END" for c in names
    }
    checks = []
    for i, column in enumerate(names):
        value = cleaned[column]
        checks.append(f"count({value}) AS present_{i}")
        checks.append(f"count(CASE WHEN {value} RLIKE '{INTEGER_TEXT}' THEN 1 END) AS ints_{i}")
        checks.append(f"count(try_cast({value} AS DOUBLE)) AS numbers_{i}")
    counts = session.sql(f"SELECT {', '.join(checks)} FROM {view}").collect()[0]
    typed = []
    for i, column in enumerate(names):
        present = counts[f"present_{i}"]
        kind = "STRING"
        if present and counts[f"ints_{i}"] == present:
            kind = "BIGINT"
        elif present and counts[f"numbers_{i}"] == present:
            kind = "DOUBLE"
        typed.append(f"CAST({cleaned[column]} AS {kind}) AS {quote(column)}")
    data = session.sql(f"SELECT {', '.join(typed)} FROM {view}")
    session.catalog.dropTempView(view)  # the DataFrame holds its own plan
    return data
