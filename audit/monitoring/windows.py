"""Cutting the evaluated rows into time windows (``monitoring.window``): calendar months,
ISO weeks (from Monday) or days of ``monitoring.time_column``, or blocks of N consecutive
rows in time order.

A time that is missing or cannot be read as a date stops the audit (exit 2) with the
column, the count and examples: a row with no time belongs to no window, and dropping it
silently would make the windows' rows no longer add up to the rows the audit evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from audit.errors import AuditError
from audit.text import printable, quoted_list
from audit.vocabulary.monitoring import parse_window

SETTING = "monitoring.time_column (--time-column)"
# A trailing UTC offset or Z after a time of day (14:05:00+05:30, 14:05Z, 14:05 +0100):
# dropped, so that each time keeps the clock it was written in.
_OFFSET = r"(?<=\d:\d\d)((?::\d\d)?(?:\.\d+)?)\s*(?:Z|[+-]\d\d(?::?\d\d)?)$"
# Calendar windows: pandas period of each, and how its label is written.
_PERIODS = {"month": "M", "day": "D"}


@dataclass(frozen=True)
class Windows:
    """The windows of the evaluated rows, in time order.

    ``members[i]`` are positions (0 .. n − 1) into the evaluated rows that fall in window
    ``labels[i]``; ``starts[i]`` / ``ends[i]`` the earliest and latest time in it (ISO).
    """

    time_column: str
    window: str  # as configured: month, week, day or N-rows
    labels: list[str]
    members: list[np.ndarray]
    starts: list[str]
    ends: list[str]
    counted: tuple[int, ...] | None = None  # sizes, from an engine that counts (no members)

    @property
    def sizes(self) -> list[int]:
        """Rows in each window."""
        if self.counted is not None:
            return list(self.counted)
        return [int(len(rows)) for rows in self.members]

    def index_of(self, label: str | None) -> int:
        """The position of window ``label`` (None: the first window).

        Raises
        ------
        AuditError
            When no window has that label (the message lists those there are).
        """
        if label is None:
            return 0
        wanted = str(label).strip()
        if wanted in self.labels:
            return self.labels.index(wanted)
        raise AuditError(
            f"monitoring.reference_window (--reference-window) '{printable(wanted, 40)}' is "
            f"not a window of the data: with window {self.window} the windows are "
            f"{quoted_list(self.labels, shown=8)}. Give one of them, or leave it out to "
            "compare with the first."
        )


def parse_times(values: pd.Series, column: str, counts: np.ndarray | None = None) -> pd.Series:
    """``values`` as datetimes, each at the local time it is written in.

    A time with a zone or an offset keeps its own clock, the zone dropped: a decision at
    00:30+01:00 on 1 January is in January and in week 2024-W01, as the log's owner reads
    it, not at 23:30 UTC on 31 December. Text is read as ISO 8601 first (fast), then any
    other date format pandas recognises.

    ``counts`` (optional) is how many rows each value stands for, when an engine that never
    holds the rows (DuckDB, Spark) passes each distinct value once: the messages then count
    rows, as for the rows themselves.

    Raises
    ------
    AuditError
        When the column holds numbers (ambiguous: seconds? days? a year?), or when any value
        is missing or unreadable: the message names the column, the counts and examples.
    """
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        raise AuditError(
            f"The time column '{printable(column, 60)}' ({SETTING}) holds numbers, not dates "
            "or times. Write its values as dates or times (ISO 8601, e.g. 2024-03-31 or "
            "2024-03-31T14:05:00), or name another column."
        )
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        times = values.dt.tz_localize(None)  # the clock of its own zone
    elif pd.api.types.is_datetime64_any_dtype(values):
        times = values
    else:
        times = _read_text(values, column, counts)
    rows = np.ones(len(values), dtype=np.int64) if counts is None else np.asarray(counts)
    missing = values.isna() | values.astype(str).str.strip().eq("")
    unreadable = times.isna() & ~missing
    if missing.any() or unreadable.any():
        parts = []
        if missing.any():
            parts.append(f"{int(rows[missing.to_numpy()].sum()):,} missing")
        if unreadable.any():
            # Sorted, not in file order: an engine that counts distinct values has no order.
            examples = quoted_list(sorted(values[unreadable].astype(str).unique()), shown=3)
            count = int(rows[unreadable.to_numpy()].sum())
            parts.append(f"{count:,} not readable as a date or time ({examples})")
        raise AuditError(
            f"The time column '{printable(column, 60)}' ({SETTING}) has "
            f"{' and '.join(parts)} of its {int(rows.sum()):,} evaluated rows: every row must have "
            "a time to be put in a window. Fill in or drop those rows, or name another column."
        )
    return times.reset_index(drop=True)


def _read_text(values: pd.Series, column: str, counts: np.ndarray | None = None) -> pd.Series:
    """Dates and times written as text; unreadable ones become NaT.

    Raises
    ------
    AuditError
        When some non-ISO values read differently day first and month first (05/03/2024):
        pandas would read each value whichever way parses, mixing both in one column.
    """
    text = values.astype("string").str.strip().str.replace(_OFFSET, r"\1", regex=True)
    times = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
    rest = times.isna() & text.notna() & text.ne("")
    if rest.any():  # another format: read value by value (slower, so only these)
        month_first = pd.to_datetime(text[rest], errors="coerce", utc=True, format="mixed")
        day_first = pd.to_datetime(
            text[rest], errors="coerce", utc=True, format="mixed", dayfirst=True
        )
        ambiguous = month_first.notna() & day_first.notna() & month_first.ne(day_first)
        if ambiguous.any():
            # The smallest such text, not the first in the file: the same on every engine.
            candidates = text[rest][ambiguous]
            first = candidates.index[candidates.argmin()]
            example = str(candidates[first])
            rows = np.ones(len(values), dtype=np.int64) if counts is None else np.asarray(counts)
            # Plain bool masks: on pandas 2.0 these are nullable booleans (object arrays).
            in_rest = rest.to_numpy(dtype=bool, na_value=False)
            n_ambiguous = int(rows[in_rest][ambiguous.to_numpy(dtype=bool, na_value=False)].sum())
            raise AuditError(
                f"The time column '{printable(column, 60)}' ({SETTING}) has dates that read "
                f"differently day first and month first ({n_ambiguous:,} values, "
                f"e.g. '{printable(example, 40)}': {_day(day_first[first])} or "
                f"{_day(month_first[first])}). Write the times as ISO 8601 "
                "(2024-03-05 or 2024-03-05T14:00), which is never ambiguous."
            )
        times[rest] = month_first
    return times.dt.tz_localize(None)


def cut_windows(times: pd.Series, window: str, column: str) -> Windows:
    """The windows of rows whose times are ``times`` (one per row, read by parse_times)."""
    kind, size = parse_window(window)
    times = times.reset_index(drop=True)
    if kind == "rows":
        assert size is not None
        order = np.argsort(times.to_numpy(), kind="stable")  # ties keep the data's order
        members = [order[i : i + size] for i in range(0, len(order), size)]
        labels = [str(i + 1) for i in range(len(members))]
    else:
        keys = calendar_labels(times, kind)
        first_time = times.groupby(keys, sort=False).min().sort_values(kind="stable")
        labels = list(first_time.index)
        positions = pd.Series(np.arange(len(times))).groupby(keys.to_numpy(), sort=False)
        grouped = {key: rows.to_numpy() for key, rows in positions}
        members = [grouped[label] for label in labels]
    values = times.to_numpy()
    return Windows(
        time_column=column,
        window=window,
        labels=labels,
        members=members,
        starts=[iso_time(values[rows].min()) for rows in members],
        ends=[iso_time(values[rows].max()) for rows in members],
    )


def calendar_labels(times: pd.Series, kind: str) -> pd.Series:
    """Each row's window label: 2024-03 (month), 2024-W09 (ISO week), 2024-03-15 (day)."""
    if kind == "week":
        iso = times.dt.isocalendar()
        return iso["year"].astype(str) + "-W" + iso["week"].astype(str).str.zfill(2)
    return times.dt.to_period(_PERIODS[kind]).astype(str)


def _day(stamp: pd.Timestamp) -> str:
    """A date in words, e.g. 5 March 2024."""
    return f"{stamp.day} {stamp:%B %Y}"


def iso_time(value: np.datetime64) -> str:
    """A time as ISO text, without a time of day at midnight (most logs hold dates)."""
    stamp = pd.Timestamp(value)
    return stamp.date().isoformat() if stamp == stamp.normalize() else stamp.isoformat()
