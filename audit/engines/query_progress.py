"""Live progress of a long DuckDB query: how many of the file's rows it has read.

DuckDB reports a running query's progress (``connection.query_progress()``, a percentage,
-1 before it knows) when its progress bar is enabled; printing of DuckDB's own bar is
switched off, so the audit's reporter shows it instead. A thread polls while the query
runs. The file's row count comes from Parquet metadata (free); a CSV's is unknown until
read, so only the percentage is shown.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

POLL_SECONDS = 0.25


def enable(connection: Any) -> None:
    """Let ``connection`` measure query progress without printing DuckDB's own bar."""
    connection.execute("SET enable_progress_bar = true")
    connection.execute("SET enable_progress_bar_print = false")


def parquet_rows(connection: Any, literal: str) -> int | None:
    """Rows of a Parquet file (or glob) from its footer metadata, without reading it."""
    try:
        rows = connection.execute(
            f"SELECT sum(num_rows) FROM parquet_file_metadata({literal})"
        ).fetchone()[0]
    except Exception:  # an unreadable footer is reported by the query that reads the file
        return None
    return None if rows is None else int(rows)


def rows_text(percent: float, total: int | None) -> str:
    """What the reporter shows: "3,400,000 of 10,000,000 rows read (34%)"."""
    if total is None:
        return f"{percent:.0f}% of the file read"
    return f"{round(total * percent / 100):,} of {total:,} rows read ({percent:.0f}%)"


@contextmanager
def watched(
    connection: Any, show: Callable[[str], None] | None, total: int | None
) -> Iterator[None]:
    """Run the body (one query on ``connection``) while a thread shows its progress."""
    if show is None or not hasattr(connection, "query_progress"):
        yield  # DuckDB 1.1.0, the oldest allowed, cannot report progress: the stage shows
        return  # without it
    stop = threading.Event()

    def poll() -> None:
        shown = None
        while not stop.wait(POLL_SECONDS):
            try:
                percent = connection.query_progress()
            except Exception:  # the connection closed under us: nothing left to show
                return
            if percent < 0 or percent == shown:  # -1: DuckDB does not know yet
                continue
            if shown is None and percent >= 100:  # the previous query's end, not this one's
                continue
            shown = percent
            show(rows_text(percent, total))

    thread = threading.Thread(target=poll, name="duckdb-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
