"""PDF rendering with WeasyPrint, from the same HTML as the HTML report."""

from __future__ import annotations

import io
import logging
import urllib.request

from weasyprint import HTML, Attachment, URLFetcher
from weasyprint.urls import URLFetcherResponse

from audit.report.render import FONT_SCHEME, font_bytes


class ReportFetcher(URLFetcher):
    """Resolves ``data:`` URIs and the report's bundled fonts (``rai-font:NAME``); nothing else.

    No files, no network: anything else a document asks for (e.g.
    ``url(file:///etc/passwd)`` smuggled in through data) is refused.
    """

    def __init__(self) -> None:
        super().__init__(allowed_protocols={"data"})

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        if url.startswith(f"{FONT_SCHEME}:"):
            return URLFetcherResponse(url, font_bytes(url.split(":", 1)[1]))
        if url.startswith("data:"):
            # Decoded here: WeasyPrint 68.0 checks allowed protocols by the text before
            # "://", which a data: URI lacks, so it refused every figure of the report.
            with urllib.request.urlopen(url) as response:  # noqa: S310 (data: only)
                kind = {"Content-Type": response.headers.get("Content-Type", "")}
                return URLFetcherResponse(url, response.read(), kind)
        return super().fetch(url, headers)


def safe_fetcher() -> URLFetcher:
    return ReportFetcher()


def render_pdf(html: str, attachments: dict[str, bytes] | None = None) -> bytes:
    """Render the report HTML to PDF, embedding ``attachments`` (name -> bytes) as files.

    The audit embeds its results.json, so the PDF carries its own machine-readable data.
    """
    # WeasyPrint logs each refused URL as a warning; they are expected, not news for the user.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    files = [
        Attachment(
            file_obj=io.BytesIO(content),
            name=name,
            description="Machine-readable audit results" if name.endswith(".json") else None,
            relationship="Data",
            url_fetcher=safe_fetcher(),
        )
        for name, content in (attachments or {}).items()
    ]
    document = HTML(string=html, base_url=None, url_fetcher=safe_fetcher())
    return document.write_pdf(attachments=files)
