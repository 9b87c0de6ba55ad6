"""The standalone summary of results of an NYC Local Law 144 bias audit (``ll144-summary.html``
and ``.pdf``): the compliance section's tables on their own, in a document of one to three
pages an employer can publish. Same templates, fonts and PDF renderer as the report; the PDF
carries no attachment (results.json holds far more than the law asks to publish)."""

from __future__ import annotations

from typing import Any

from audit.report import wrapping
from audit.report.pdf import render_pdf
from audit.report.render import environment, font_faces
from audit.vocabulary.compliance import LL144_SUMMARY_FILES


def has_ll144(result: dict[str, Any]) -> bool:
    """Whether ``result`` (plain JSON data) holds a Local Law 144 section."""
    return bool((result.get("compliance") or {}).get("nyc_ll144"))


def render_ll144_summary(result: dict[str, Any], for_pdf: bool = False) -> str:
    """The summary as HTML; ``for_pdf`` names the fonts for the PDF renderer to load."""
    html = (
        environment(result)
        .get_template("ll144_summary.html.j2")
        .render(result=result, fonts=font_faces(embedded=not for_pdf))
    )
    return wrapping.break_identifiers(html, for_pdf)


def ll144_summary_files(result: dict[str, Any], formats: list[str]) -> dict[str, bytes]:
    """The summary's files for the report formats asked for (html, pdf), by file name;
    none when the result has no Local Law 144 section."""
    if not has_ll144(result):
        return {}
    files = {}
    if "html" in formats:
        files[LL144_SUMMARY_FILES["html"]] = render_ll144_summary(result).encode("utf-8")
    if "pdf" in formats:
        files[LL144_SUMMARY_FILES["pdf"]] = render_pdf(render_ll144_summary(result, for_pdf=True))
    return files
