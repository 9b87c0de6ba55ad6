"""The report's files from a result: report.html, report.pdf and, at detail standard, the
annex as a PDF of its own (report-annex.pdf).

WeasyPrint lays a document out on one processor core, and the annex is longer than the
main body: as one PDF the demo's report took 12 s. As two, a forked process draws the
annex's figures and lays the annex out while this one does the main body; the HTML, which
keeps everything, is then written with both sets of figures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from audit.report.background import in_background
from audit.report.pdf import render_pdf
from audit.report.render import figures, merged_figures, render_html, report_detail
from audit.vocabulary.report import REPORT_FILES


def render_report(
    result: dict[str, Any],
    formats: Iterable[str],
    detail: str | None = None,
    attachments: dict[str, bytes] | None = None,
    say: Callable[[str], None] = lambda message: None,
) -> dict[str, bytes]:
    """The report's files (name -> bytes) in ``formats`` (html, pdf) from a result's plain
    data; ``attachments`` (name -> bytes) are embedded in report.pdf."""
    formats = set(formats)
    files: dict[str, bytes] = {}
    level = report_detail(result, detail)
    if "pdf" in formats and level == "standard":
        say("Rendering report and annex")
        with in_background(_annex, (result, level)) as annex:
            figs = figures(result, "body")
            body = render_html(result, figs, for_pdf=True, detail=level, document="body")
            files[REPORT_FILES["pdf"]] = render_pdf(body, attachments)
            annex_figures, files[REPORT_FILES["annex"]] = annex.result()
        figs = merged_figures(figs, annex_figures)
    else:
        say("Rendering report")
        figs = figures(result)
        if "pdf" in formats:
            html = render_html(result, figs, for_pdf=True, detail=level)
            files[REPORT_FILES["pdf"]] = render_pdf(html, attachments)
    if "html" in formats:
        files[REPORT_FILES["html"]] = render_html(result, figs, detail=level).encode("utf-8")
    return files


def _annex(job: tuple[dict[str, Any], str]) -> tuple[dict[str, Any], bytes]:
    """The annex's figures and its PDF (run in the second process)."""
    result, level = job
    figs = figures(result, "annex")
    html = render_html(result, figs, for_pdf=True, detail=level, document="annex")
    return figs, render_pdf(html)
