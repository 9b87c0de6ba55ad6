"""Fairness over time on an engine that never holds the rows (DuckDB, Spark): the windows
planned from the time column's distinct values, each window's count table from the grouped
rows, and the ``monitoring`` section by :func:`audit.monitoring.stage.over_time`.

Times are read by the in-memory engine's own parser (:func:`parse_times`), on each
distinct value of the time column once, with how many rows it stands for: the same values
are refused with the same message (row counts included), and the same labels, starts and
ends come out (:func:`calendar_labels`, :func:`iso_time`). A date or timestamp column
(Parquet) is cut to its day in SQL for month, week and day windows, so a log with times to
the second costs one group per day; a text column costs one group per distinct text (its
offsets dropped by the parser, as in memory). Times with a time zone (``TIMESTAMP WITH TIME
ZONE``, Spark's ``timestamp``) are instants: the in-memory engine reads each at the clock of
the zone pandas gives the column (the Parquet file's Arrow zone), so the SQL first turns
them to that clock (``source.local_time``); when that zone is unknown (a Spark DataFrame
given in memory) or cannot be applied, the audit is refused.

N-rows windows: the in-memory engine sorts the rows by time, ties in file order, and cuts
every N rows. When no block boundary falls between two rows with the same time, every
window holds whole groups of equal times and both engines cut the same rows. When one does,
the rows of that time are cut in file order: DuckDB numbers a Parquet file's rows
(``file_row_number``), and each row's block is looked up from its time and that number
(:func:`_cut_ties`). A CSV (read in parallel) and Spark give no file order: that audit is
refused (with the time, and what to do).

Each window is measured as the in-memory engine measures it (only the watched disparities,
no contrasts), from its own rows: its sensitive values are encoded from the window's grouped
rows, as ``measure`` encodes a window's rows.

A score column: the in-memory engine bins each window's scores over that window's own range
(:meth:`ScoreCells.from_rows`). Here one scan grouped by time key gives each key's smallest
and largest score, hence each window's range and :class:`Binning`; a small table (time key
→ window, its bins' low and scale) is joined to the rows, and the one GROUP BY then splits
by window and by the score's bin in its window (:func:`window_relation`), by the same
arithmetic as numpy's. Each window's cells feed the in-memory engine's score metrics.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from audit.config import AuditConfig
from audit.engines.table_scores import grouped_cells, overall_scores
from audit.errors import AuditError
from audit.metrics import measure_table
from audit.metrics.fairness import grouped_count_table
from audit.metrics.score_cells import Binning
from audit.monitoring.stage import over_time, watched_disparities
from audit.monitoring.windows import (
    SETTING,
    Windows,
    calendar_labels,
    iso_time,
    parse_times,
)
from audit.text import printable
from audit.vocabulary.monitoring import parse_window

TIME_KEY = "__time"  # the grouped rows' time key column
TIME_TEXT = "__time_text"  # the time key as text (the key the window table is joined on)
WINDOW = "__window"  # each grouped row's window (its position in Windows.labels)
WINDOW_BIN = "__window_bin"  # each grouped row's histogram bin in its window's binning
# The window table's columns, named so as not to meet the data's own.
_JOINED = {
    "time": "__rai_time",
    "window": "__rai_window",
    "low": "__rai_low",
    "scale": "__rai_scale",
}


def time_key(source: Any, config: AuditConfig) -> tuple[str, str]:
    """The SQL expressions of each row's time, at its own clock, and of its window key: the
    time, or its day for a calendar window of a date/timestamp column (the label needs only
    the day).

    Raises
    ------
    AuditError
        When the column holds times with a time zone the engine cannot read at that zone's
        clock (see the module docstring).
    """
    column = config.monitoring.time_column
    kind = source.time_type(column)
    time = source.quote(column)
    if kind == "zoned":
        time = source.local_time(column)
        if time is None:
            raise AuditError(
                f"The time column '{printable(column, 60)}' ({SETTING}) holds times with a "
                f"time zone ({source.types[column]}) whose zone the {source.engine} engine "
                "cannot read or apply, so it cannot read each time at its zone's clock as the "
                "in-memory engine does, and the windows could differ. Store the times without "
                "a zone (local time), or audit with --engine memory."
            )
        kind = "naive"
    calendar = parse_window(config.monitoring.window)[0] != "rows"
    return time, (f"CAST({time} AS DATE)" if kind == "naive" and calendar else time)


def _key_values(
    source: Any, key: str, time: str, where: str, column: str
) -> tuple[pd.DataFrame, np.ndarray, pd.Series, pd.Series]:
    """Each value of the time ``key`` among the rows ``where`` holds (with its text), its
    rows, and its earliest and latest time, parsed as the in-memory engine parses them."""
    values = source.query(
        f"SELECT {key} AS {TIME_KEY}, CAST({key} AS {source.text_type}) AS {TIME_TEXT}, "
        f"count(*) AS n, min({time}) AS first, max({time}) AS last FROM {source.view} "
        f"WHERE {where} GROUP BY 1, 2"
    )
    counts = values["n"].to_numpy(dtype=np.int64)
    first = parse_times(values["first"], column, counts)
    last = parse_times(values["last"], column, counts)
    return values, counts, first, last


def plan_table_windows(
    source: Any, config: AuditConfig, where: str
) -> tuple[Windows, str, pd.DataFrame]:
    """The windows of the rows ``where`` holds, the time key (SQL), and each key value's
    window: a frame with the key (``TIME_KEY``), the key as text (``TIME_TEXT``) and its
    window (``WINDOW``)."""
    column = config.monitoring.time_column
    time, key = time_key(source, config)
    values, counts, first, last = _key_values(source, key, time, where, column)
    kind, size = parse_window(config.monitoring.window)
    if kind == "rows":
        assert size is not None
        window, ties = _blocks(first, counts, size)
        if len(ties):  # a block boundary inside a run of equal times: cut by file order
            key = _cut_ties(source, key, values[TIME_KEY], first, window, ties, size, where, column)
            # The key is now each row's block.
            values, counts, first, last = _key_values(source, key, time, where, column)
            window = values[TIME_KEY].to_numpy(dtype=np.int64)
        labels = [str(i + 1) for i in range(int(window.max()) + 1)]
    else:
        names = calendar_labels(first, kind)
        # Windows in time order, as cut_windows orders them (by their earliest time).
        order = first.groupby(names.to_numpy()).min().sort_values(kind="stable")
        labels = list(order.index)
        window = names.map({label: i for i, label in enumerate(labels)}).to_numpy()
    frame = pd.DataFrame({"w": window, "n": counts, "first": first, "last": last})
    per = frame.groupby("w").agg(n=("n", "sum"), first=("first", "min"), last=("last", "max"))
    windows = Windows(
        time_column=column,
        window=config.monitoring.window,
        labels=labels,
        members=[],
        starts=[iso_time(t) for t in per["first"].to_numpy()],
        ends=[iso_time(t) for t in per["last"].to_numpy()],
        counted=tuple(int(n) for n in per["n"]),
    )
    windows.index_of(config.monitoring.reference_window)  # a reference that is no window
    keys = pd.DataFrame(
        {TIME_KEY: values[TIME_KEY], TIME_TEXT: values[TIME_TEXT], WINDOW: window.astype(np.int64)}
    )
    return windows, key, keys


def window_score_ranges(
    source: Any,
    key: str,
    keys: pd.DataFrame,
    oriented: str,
    counted: dict[str, str],
    where: str,
) -> tuple[dict[str, int], float, float, list[tuple[float, float]]]:
    """In one scan of the rows ``where`` holds: how many meet each of the ``counted``
    conditions (SQL, by name), the (``oriented``) scores' smallest and largest value, and
    each window's (meaningless when some scores are unusable: the caller refuses them)."""
    counts = ", ".join(f"count(*) FILTER (WHERE {sql}) AS {name}" for name, sql in counted.items())
    ranges = source.query(
        f"SELECT CAST({key} AS {source.text_type}) AS {TIME_TEXT}, {counts}, "
        f"min({oriented}) AS low, max({oriented}) AS high FROM {source.view} "
        f"WHERE {where} GROUP BY 1"
    )
    window = ranges[TIME_TEXT].map(pd.Series(keys[WINDOW].to_numpy(), index=keys[TIME_TEXT]))
    per = ranges.groupby(window.to_numpy()).agg(low=("low", "min"), high=("high", "max"))
    spans = [(float(lo), float(hi)) for lo, hi in zip(per["low"], per["high"], strict=True)]
    found = {name: int(ranges[name].sum()) for name in counted}
    return found, float(ranges["low"].min()), float(ranges["high"].max()), spans


def window_relation(
    source: Any, key: str, keys: pd.DataFrame, binnings: list[Binning], oriented: str
) -> tuple[str, dict[str, str]]:
    """The rows joined to their window and its binning (a table of one row per time key,
    registered with the source), and the GROUP BY keys to add: the window (``WINDOW``) and
    the score's histogram bin in it (``WINDOW_BIN``)."""
    window = keys[WINDOW].to_numpy()
    table = pd.DataFrame(
        {
            _JOINED["time"]: keys[TIME_TEXT].astype(str).to_numpy(),
            _JOINED["window"]: window,
            _JOINED["low"]: np.array([binnings[w].low for w in window], dtype=np.float64),
            _JOINED["scale"]: np.array([binnings[w].scale for w in window], dtype=np.float64),
        }
    )
    name = source.add_view(table)
    q = source.quote
    # Aliases no data column is likely to be named (a table's name can stand for its row).
    joined = ", ".join(f"__rai_w.{q(c)}" for c in _JOINED.values() if c != _JOINED["time"])
    relation = (
        f"(SELECT __rai_d.*, {joined} FROM {source.view} AS __rai_d JOIN {name} AS __rai_w "
        f"ON CAST({key} AS {source.text_type}) = __rai_w.{q(_JOINED['time'])}) AS __rai_t"
    )
    bins = binnings[0].sql(oriented, low=q(_JOINED["low"]), scale=q(_JOINED["scale"]))
    return relation, {WINDOW: q(_JOINED["window"]), WINDOW_BIN: bins["hist_bin"]}


def _blocks(times: pd.Series, counts: np.ndarray, size: int) -> tuple[np.ndarray, pd.DataFrame]:
    """Each key value's block of ``size`` rows in time order (that of its time's first row),
    and the times whose rows a block boundary cuts (``start``: rows before the time, ``n``:
    its rows, ``block``: its first row's block), indexed by time."""
    per_time = pd.Series(counts).groupby(times.to_numpy()).sum().sort_index()
    end = np.cumsum(per_time.to_numpy())
    start = end - per_time.to_numpy()
    block = start // size
    frame = pd.DataFrame({"start": start, "n": per_time.to_numpy(), "block": block})
    frame.index = per_time.index
    ties = frame[block != (end - 1) // size]
    return frame["block"].reindex(times.to_numpy()).to_numpy(), ties


def _cut_ties(
    source: Any,
    key: str,
    keys: pd.Series,
    times: pd.Series,
    window: np.ndarray,
    ties: pd.DataFrame,
    size: int,
    where: str,
    column: str,
) -> str:
    """SQL giving each row its block when block boundaries fall inside runs of equal times
    (``ties``): the in-memory engine orders such rows by their place in the file, so the
    rows of a cut time go to the next block from the file row at each boundary on. ``keys``
    are the time key's values, ``times`` their times, ``window`` their blocks.

    Raises
    ------
    AuditError
        When the engine does not see the file's order (a CSV, Spark; see the module
        docstring).
    """
    order = source.file_order()
    if order is None:
        at, rows = ties.index[0], int(ties["n"].iloc[0])
        raise AuditError(
            f"--window {size}-rows (monitoring.window) would cut between rows with the same "
            f"time in '{printable(column, 60)}' ({iso_time(at)}, {rows:,}"
            f" rows): the in-memory engine orders such rows by their place in the file, which "
            f"the {source.engine} engine does not see. Use a calendar window (month, week or "
            "day), another N, or --engine memory."
        )
    tie_of = pd.Series(np.arange(len(ties)), index=ties.index)
    tied = times.isin(ties.index).to_numpy()
    tie_keys = pd.DataFrame(
        {
            "__rai_tie_key": keys[tied].to_numpy(),
            "__rai_tie": tie_of.reindex(times[tied].to_numpy()).to_numpy(),
            "__rai_tie_start": ties["start"].reindex(times[tied].to_numpy()).to_numpy(),
        }
    )
    tie_table = source.add_view(tie_keys)
    # The file row at each boundary: the tie's rows in file order, ranked from the tie's
    # start in time order; a block starts every ``size`` rows.
    cuts = source.query(
        "SELECT __rai_tie, __rai_row FROM (SELECT __rai_tie, __rai_tie_start, "
        f"{order} AS __rai_row, row_number() OVER (PARTITION BY __rai_tie ORDER BY {order}) "
        f"- 1 AS __rai_rank FROM {source.view} JOIN {tie_table} ON {key} = __rai_tie_key "
        f"WHERE {where}) WHERE __rai_rank > 0 AND (__rai_tie_start + __rai_rank) % {size} = 0"
    ).sort_values(["__rai_tie", "__rai_row"])
    # Each key value's first block, then for a cut time one more block from each boundary
    # (for each of the time's key values).
    tie = cuts["__rai_tie"].to_numpy(dtype=np.int64)
    cuts["block"] = ties["block"].to_numpy()[tie] + cuts.groupby("__rai_tie").cumcount() + 1
    later = cuts.merge(tie_keys[["__rai_tie", "__rai_tie_key"]], on="__rai_tie")
    blocks = pd.concat(
        [
            pd.DataFrame({"key": keys.to_numpy(), "row": -1, "block": window}),
            pd.DataFrame(
                {
                    "key": later["__rai_tie_key"].to_numpy(),
                    "row": later["__rai_row"].to_numpy(dtype=np.int64),
                    "block": later["block"].to_numpy(dtype=np.int64),
                }
            ),
        ],
        ignore_index=True,
    ).rename(columns=lambda c: f"__rai_{c}")
    block_table = source.add_view(blocks)
    return (
        f"(SELECT max(__rai_block) FROM {block_table} WHERE __rai_key = "
        f"{key} AND __rai_row <= {order})"
    )


def monitor_table(
    config: AuditConfig,
    rows: pd.DataFrame,
    y: np.ndarray,
    y_pred: np.ndarray,
    windows: Windows,
    binnings: list[Binning] | None = None,
) -> dict[str, Any]:
    """The ``monitoring`` section from the grouped rows (with their ``__window``), their
    encoded labels ``y`` and decisions ``y_pred``; with a score, each window's
    ``binnings`` and the rows' bins in it (``__window_bin``)."""
    window = rows[WINDOW].to_numpy()
    watched = watched_disparities(config)
    measured = []
    for i in range(len(windows.labels)):
        mine = window == i  # each window encoded from its own rows, as in memory
        n = rows.loc[mine, "n"].to_numpy(dtype=np.float64)
        sensitive = rows.loc[mine, config.data.sensitive]
        table = grouped_count_table(sensitive, y[mine], y_pred[mine], n, config.fairness)
        scores = None
        if binnings is not None:  # the window's score cells, binned over its own range
            cells = grouped_cells(binnings[i], table, rows.loc[mine], y[mine], WINDOW_BIN)
            table, scores = replace(table, scores=cells), overall_scores(cells, len(table.present))
        measured.append(
            measure_table(
                table,
                config.fairness,
                config.policy,
                seed=config.seed,
                scores=scores,
                disparities=watched,
                contrasts=False,
            )
        )
    return over_time(
        windows,
        measured,
        windows.index_of(config.monitoring.reference_window),
        explicit_reference=config.monitoring.reference_window is not None,
        task=config.data.task,
    )
