"""A CSV or Parquet file read by DuckDB: column profile and grouped rows, computed in SQL.

Nothing here brings the rows into Python. Every query returns a small table: one row per
column (the profile), or one row per distinct combination of the columns the metrics need
(sensitive columns, label, decision — and a score's histogram cell) with how many rows it
stands for. :mod:`audit.engines.table_audit` turns those into the finest count table the
in-memory engine would have counted, so the downstream code is the same.

The CSV is read as pandas reads it: the same spellings of a missing value
(``pandas.read_csv``'s default list), no date or boolean guessing from text other than
True/False (those are restored on the small grouped table), so group labels come out
identical.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from audit.data import KIND_NAMES, READERS, sha256_of, without_pd_na
from audit.engines import query_progress
from audit.errors import AuditError
from audit.text import printable

# pandas.read_csv's default missing-value spellings (pandas._libs.parsers.STR_NA_VALUES).
PANDAS_NA = [
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "<NA>",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "None",
    "n/a",
    "nan",
    "null",
]
# pandas' boolean spellings: a text column holding only these is read as booleans.
BOOLEAN_TEXT = {
    **dict.fromkeys(("True", "TRUE", "true"), True),
    **dict.fromkeys(("False", "FALSE", "false"), False),
}


# The most DuckDB keeps in memory before it spills to disk: None is DuckDB's own default
# (80% of RAM), lowered below when ulimit -v allows less. A fixed 512 MB kept a 10M-row
# score audit at 0.7 GB instead of 1.2 GB, but at 100M distinct scores the exact distinct
# count (which does not spill) ran out of memory.
MEMORY_LIMIT: int | None = None
FILE_ROW = "__rai_file_row"  # a row's place in a Parquet file, when asked for (file_order)


def quote(name: str) -> str:
    """A column name as a SQL identifier (any text, quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


@dataclass
class DuckSource:
    """One data file opened in DuckDB as the view ``src``.

    The SQL below is shared with the Spark engine (:mod:`audit.engines.spark_source`): what
    differs between the two dialects (identifier and text quoting, type names, a finite
    test) is asked of the source, so each query is written once."""

    path: Path
    connection: Any
    columns: list[str]
    types: dict[str, str]
    show_progress: Callable[[str], None] | None = None  # shown rows read, while a query runs
    file_rows: int | None = None  # the file's rows when known up front (Parquet metadata)
    spill: Path | None = None  # where DuckDB spills beyond MEMORY_LIMIT (made when it does)
    engine = "DuckDB"
    view = "src"
    text_type = "VARCHAR"

    def quote(self, name: str) -> str:
        return quote(name)

    def literal(self, text: str) -> str:
        """A SQL string literal holding ``text``."""
        return "'" + text.replace("'", "''") + "'"

    def is_text(self, column: str) -> bool:
        return self.types.get(column) == "VARCHAR"

    def is_numeric(self, column: str) -> bool:
        return any(t in self.types[column] for t in ("INT", "DOUBLE", "FLOAT", "DECIMAL"))

    def not_finite(self, expression: str) -> str:
        return f"NOT isfinite({expression})"

    def time_type(self, column: str) -> str | None:
        """'naive' for a date or timestamp column, 'zoned' for one with a time zone, else
        None (text or numbers, read by the time parser)."""
        kind = self.types[column]
        if kind.startswith("TIMESTAMPTZ") or (kind.startswith("TIMESTAMP") and "ZONE" in kind):
            return "zoned"  # TIMESTAMP WITH TIME ZONE, TIMESTAMPTZ_NS (nanoseconds)
        return "naive" if kind.startswith(("TIMESTAMP", "DATE")) else None

    def local_time(self, column: str) -> str | None:
        """SQL giving a zoned column's times at the clock of the zone pandas reads them in
        (a plain TIMESTAMP), or None when that zone is unknown here (see
        :func:`parquet_time_zone`). A fixed offset (+05:30), which DuckDB's time zone names
        lack, is added to the UTC clock."""
        zone = parquet_time_zone(self.path, column)
        if zone is None:
            return None
        quoted = quote(column)
        offset = re.fullmatch(r"([+-])(\d\d):?(\d\d)", zone)
        if offset:
            sign, hours, minutes = offset.groups()
            shift = (1 if sign == "+" else -1) * (int(hours) * 60 + int(minutes))
            return f"(timezone('UTC', {quoted}) + to_minutes({shift}))"
        try:  # a name DuckDB's time zone data (ICU) lacks, or a DuckDB built without ICU
            self.connection.execute(
                "SELECT timezone(?, TIMESTAMPTZ '2000-01-01 00:00:00+00')", [zone]
            )
        except Exception:
            return None
        return f"timezone({self.literal(zone)}, {quoted})"

    def file_order(self) -> str | None:
        """The column holding each row's place in a Parquet file (read_parquet's
        file_row_number), the view redefined to carry it; None for a CSV (read in parallel,
        without row numbers) or a file with a column of that name."""
        if READERS.get(self.path.suffix.lower()) != "parquet":
            return None
        if {"file_row_number", FILE_ROW} & set(self.columns):
            return None
        literal = self.literal(str(self.path))
        self.connection.execute(
            f"CREATE OR REPLACE VIEW {self.view} AS SELECT * EXCLUDE (file_row_number), "
            f"file_row_number AS {FILE_ROW} FROM read_parquet({literal}, file_row_number = true)"
        )
        return FILE_ROW

    def shown(self, config: Any) -> str:
        """The data as results.json names it."""
        return config.shown_path(self.path)

    def fingerprint(self) -> str:
        return sha256_of(self.path)

    def close(self) -> None:
        self.connection.close()
        if self.spill is not None:
            shutil.rmtree(self.spill, ignore_errors=True)

    def query(self, sql: str, parameters: list[Any] | None = None) -> pd.DataFrame:
        try:
            with query_progress.watched(self.connection, self.show_progress, self.file_rows):
                return self.connection.execute(sql, parameters or []).df()
        except Exception as exc:  # DuckDB's conversion and I/O errors: name the file
            problem = printable(str(exc).strip().split("\n")[0], 240)
            raise AuditError(
                f"DuckDB could not read {self.path} ({type(exc).__name__}: {problem}). Check "
                "the file, or audit it with --engine memory."
            ) from None

    def scalar(self, sql: str) -> Any:
        return self.query(sql).iloc[0, 0]

    def add_view(self, frame: pd.DataFrame) -> str:
        """A small table from Python (e.g. each time key's window), as a view of its own
        that queries can join to the data; its name."""
        name = f"rai_audit_{uuid.uuid4().hex}"
        self.connection.register(name, frame)
        return name


def parquet_time_zone(path: Path | None, column: str) -> str | None:
    """The zone at whose clock pandas reads a Parquet file's (or folder's) timestamp column:
    its Arrow type's zone (pyarrow's reading, which is pandas'), UTC for a timestamp without
    one (an INT96 or local timestamp, whose stored clock pandas reads); None when ``path``
    is not Parquet or the column not a timestamp."""
    if path is None or READERS.get(path.suffix.lower()) != "parquet":
        return None
    import pyarrow as pa
    import pyarrow.dataset as ds

    try:
        kind = ds.dataset(path, format="parquet").schema.field(column).type
    except Exception:  # unreadable by pyarrow, or no such field: the zone is unknown
        return None
    if not pa.types.is_timestamp(kind):
        return None
    return str(kind.tz) if kind.tz else "UTC"


def _address_space_left() -> int | None:
    """Bytes this process may still map under ``ulimit -v`` (RLIMIT_AS), or None (no limit)."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft == resource.RLIM_INFINITY:
            return None
        with open("/proc/self/status") as handle:
            used = next(int(x.split()[1]) * 1024 for x in handle if x.startswith("VmSize"))
    except (ImportError, OSError, StopIteration, ValueError):
        return None
    return max(soft - used, 0)


def open_source(
    path: Path, threads: int | None = None, show_progress: Callable[[str], None] | None = None
) -> DuckSource:
    """Open ``path`` (CSV or Parquet) as the view ``src`` in a fresh in-process database;
    ``show_progress`` is given the rows read while each query runs."""
    import duckdb

    kind = READERS.get(path.suffix.lower())
    if not path.is_file() or kind is None:
        raise AuditError(
            f"The DuckDB engine reads a CSV or Parquet file; {path} is not one. Give such a "
            "file, or use --engine memory."
        )
    limited = _address_space_left() is not None
    if limited:
        threads = 1  # each thread reads the file in 32 MB buffers of its own
    # Threads are set when the database opens: a thread pool once started keeps its memory.
    connection = duckdb.connect(":memory:", config={"threads": int(threads)} if threads else {})
    limit = MEMORY_LIMIT
    if limited:  # DuckDB sizes its buffers by RAM; ulimit -v may allow far less. Measured
        # after opening, which alone maps ~70 MB; a third of what is left, since DuckDB's
        # allocator reserves address space beyond the buffers it counts (bad_alloc at half).
        left = max((_address_space_left() or 0) // 3, 16 * 2**20)
        limit = left if limit is None else min(limit, left)
    if limit is not None:
        connection.execute(f"SET memory_limit = '{limit // 2**20}MB'")
    # Spilled data goes to a folder of this audit's own, which DuckDB makes only if it
    # spills and close() removes; not to DuckDB's default, .tmp in the working folder.
    spill = Path(tempfile.gettempdir()) / f"rai-audit-duckdb-{uuid.uuid4().hex}"
    connection.execute("SET temp_directory = '" + str(spill).replace("'", "''") + "'")
    # Grouped rows come back in any order (they are sorted later): lets DuckDB stream.
    connection.execute("SET preserve_insertion_order = false")
    literal = "'" + str(path).replace("'", "''") + "'"
    if kind == "parquet":
        reader = f"read_parquet({literal})"
    else:
        nulls = ", ".join("'" + s.replace("'", "''") + "'" for s in PANDAS_NA)
        reader = (
            f"read_csv({literal}, header = true, nullstr = [{nulls}], "
            "auto_type_candidates = ['BIGINT', 'DOUBLE', 'VARCHAR'])"
        )
    try:
        connection.execute(f"CREATE VIEW src AS SELECT * FROM {reader}")
        described = connection.execute("DESCRIBE src").fetchall()
    except Exception as exc:
        problem = printable(str(exc).strip().split("\n")[0], 240)
        raise AuditError(
            f"Could not read {path} as {KIND_NAMES[kind]} with DuckDB ({type(exc).__name__}: "
            f"{problem}). Check that it is a complete {KIND_NAMES[kind]} file."
        ) from None
    columns = [str(row[0]) for row in described]
    types = {str(row[0]): str(row[1]) for row in described}
    file_rows = None
    if show_progress is not None:
        query_progress.enable(connection)
        if kind == "parquet":
            file_rows = query_progress.parquet_rows(connection, literal)
    return DuckSource(path, connection, columns, types, show_progress, file_rows, spill)


def profile(source: DuckSource, columns: list[str], target: str) -> pd.DataFrame:
    """Per column its missing and distinct values among the rows with a target (the rows
    audited), with those rows and all rows of the file, in one scan."""
    quote = source.quote
    kept = f"{quote(target)} IS NOT NULL"
    parts = ["count(*) AS n_file", f"count(*) FILTER (WHERE {kept}) AS n_rows"]
    for i, column in enumerate(columns):
        q = quote(column)
        parts.append(f"count(*) FILTER (WHERE {kept} AND {q} IS NULL) AS missing_{i}")
        parts.append(f"count(DISTINCT {q}) FILTER (WHERE {kept}) AS unique_{i}")
    row = source.query(f"SELECT {', '.join(parts)} FROM {source.view}").iloc[0]
    return pd.DataFrame(
        {
            "column": columns,
            "missing": [int(row[f"missing_{i}"]) for i in range(len(columns))],
            "unique": [int(row[f"unique_{i}"]) for i in range(len(columns))],
        }
    ).assign(n_rows=int(row["n_rows"]), n_file=int(row["n_file"]))


def marker_counts(source: DuckSource, columns: list[str], markers: list[str]) -> dict[str, dict]:
    """Text values meaning "missing" kept as values (e.g. Adult's '?'), per text column."""
    text = [c for c in columns if source.is_text(c)]
    if not text or not markers:
        return {}
    quote, literal = source.quote, source.literal
    listed = ", ".join(literal(m) for m in markers)
    unions = " UNION ALL ".join(
        f"SELECT {literal(c)} AS col, CAST({quote(c)} AS {source.text_type}) AS v, "
        f"count(*) AS n FROM {source.view} WHERE lower(trim({quote(c)})) IN ({listed}) GROUP BY 2"
        for c in text
    )
    found = source.query(unions)
    out: dict[str, dict] = {}
    for col, value, n in found.itertuples(index=False):
        out.setdefault(str(col), {})[str(value)] = int(n)
    return {c: dict(sorted(v.items())) for c, v in out.items()}


def duplicate_rows(source: DuckSource, where: str) -> tuple[int, int]:
    """Rows (among those ``where`` holds) that copy an earlier row exactly, and rows involved
    in a copy: one GROUP BY over every column."""
    every = ", ".join(source.quote(c) for c in source.columns)
    copies, involved = source.query(
        "SELECT coalesce(sum(n - 1), 0), coalesce(sum(n) FILTER (WHERE n > 1), 0) FROM "
        f"(SELECT count(*) AS n FROM {source.view} WHERE {where} GROUP BY {every})"
    ).iloc[0]
    return int(copies), int(involved)


def grouped(
    source: DuckSource,
    keys: list[str],
    extra: dict[str, str] | None = None,
    measures: dict[str, str] | None = None,
    where: str | None = None,
    relation: str | None = None,
) -> pd.DataFrame:
    """One row per distinct combination of ``keys`` (and computed ``extra`` keys), with
    ``n`` (its rows) and any other ``measures`` (SQL aggregates) — the only rows that ever
    reach Python. ``relation`` (SQL) is read instead of the data's view, e.g. the data
    joined to a table of :meth:`DuckSource.add_view`. Text holding only True/False becomes
    booleans and nullable columns plain numpy ones, as the in-memory loader has them."""
    quote = source.quote
    select = [quote(k) for k in keys]
    select += [f"{sql} AS {quote(name)}" for name, sql in (extra or {}).items()]
    aggregates = ["count(*) AS __n"]
    aggregates += [f"{sql} AS {quote(name)}" for name, sql in (measures or {}).items()]
    group = ", ".join(str(i + 1) for i in range(len(select)))
    sql = f"SELECT {', '.join(select + aggregates)} FROM {relation or source.view}"
    if where:
        sql += f" WHERE {where}"
    sql += f" GROUP BY {group}" if group else ""
    frame = source.query(sql)
    for key in keys:
        frame[key] = _as_pandas_reads(frame[key])
    frame = without_pd_na(frame)
    return frame.rename(columns={"__n": "n"})


def _as_pandas_reads(values: pd.Series) -> pd.Series:
    """A text column of True/False spellings as pandas' reader returns it: booleans
    (object with NaN when some are missing)."""
    if values.dtype == object or isinstance(values.dtype, pd.StringDtype):
        present = values.dropna()
        if len(present) and set(present.astype(str)) <= set(BOOLEAN_TEXT):
            mapped = values.map(lambda v: BOOLEAN_TEXT.get(v, np.nan))
            return mapped.astype(bool) if values.notna().all() else mapped.astype(object)
        if isinstance(values.dtype, pd.StringDtype):
            return values.astype(object).where(values.notna(), np.nan)
    return values
