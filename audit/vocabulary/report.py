"""How much the report shows (``report.detail``, ``--detail``).

``summary``: the main body only (the PDF has no annex); ``standard``: the main body, then
everything else in an annex after a divider page; ``full``: everything in the body.
"""

from __future__ import annotations

REPORT_DETAILS = ("summary", "standard", "full")
DEFAULT_DETAIL = "standard"
