"""PDF rendering with WeasyPrint, from the same HTML as the HTML report."""

from __future__ import annotations

import logging

from weasyprint import HTML, URLFetcher


def safe_fetcher() -> URLFetcher:
    """A fetcher that only resolves ``data:`` URIs: no files, no network.

    Everything the report shows is embedded, so anything else a document asks for
    (e.g. ``url(file:///etc/passwd)`` smuggled in through data) is refused.
    """
    return URLFetcher(allowed_protocols={"data"})


def render_pdf(html: str) -> bytes:
    # WeasyPrint logs each refused URL as a warning; they are expected, not news for the user.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    return HTML(string=html, base_url=None, url_fetcher=safe_fetcher()).write_pdf()
