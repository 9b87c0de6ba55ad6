"""How much the report shows (``report.detail``, ``--detail``), and the report's files.

``summary``: the main body only (the PDF has no annex); ``standard``: the main body in
report.pdf, everything else in an annex, report-annex.pdf (the HTML keeps both, the annex
collapsed); ``full``: everything in the body of one PDF.
"""

from __future__ import annotations

REPORT_DETAILS = ("summary", "standard", "full")
DEFAULT_DETAIL = "standard"

# The report's files in an audit folder, by role.
REPORT_FILES = {"html": "report.html", "pdf": "report.pdf", "annex": "report-annex.pdf"}
