"""The windows of fairness over time (``monitoring.window``, ``--window``) and the statuses of
a monitored disparity in a window; no heavy imports, so the config validates them early."""

from __future__ import annotations

import re

CALENDAR_WINDOWS = ("month", "week", "day")
_ROWS = re.compile(r"^([0-9][0-9_,]*)-rows$")

# A monitored disparity in one window, against the reference window's interval.
STATUSES = {
    "reference": "the reference window itself",
    "within": "the value lies inside the reference window's interval",
    "alert": "the value lies outside the reference window's interval, farther from parity",
    "improved": "the value lies outside the reference window's interval, nearer to parity",
    "insufficient data": "too few rows in the window's groups for a value with an interval",
    "no reference interval": "the reference window has no interval for this disparity",
}


def parse_window(text: str) -> tuple[str, int | None]:
    """``month`` -> ("month", None); ``50000-rows`` (or ``50,000-rows``) -> ("rows", 50000).

    Raises
    ------
    ValueError
        When ``text`` is neither a calendar window nor ``N-rows`` with N >= 1.
    """
    word = str(text).strip().lower()
    if word in CALENDAR_WINDOWS:
        return word, None
    found = _ROWS.match(word)
    size = int(found.group(1).replace("_", "").replace(",", "")) if found else 0
    if size < 1:
        raise ValueError(
            f"monitoring.window (--window) must be month, week, day or N-rows with N >= 1 "
            f"(e.g. 50000-rows), not {text!r}"
        )
    return "rows", size
