"""PDF rendering with WeasyPrint, from the same HTML as the HTML report."""

from __future__ import annotations

import io
import logging
import urllib.request
from collections.abc import Callable

from weasyprint import HTML, Attachment, URLFetcher
from weasyprint.urls import URLFetcherResponse

from audit.report.render import FONT_SCHEME, font_bytes

# How a PDF's HTML refers to a figure not drawn yet (``rai-figure:N``): WeasyPrint asks for
# it only after reading the HTML and the stylesheet, which can go on meanwhile.
FIGURE_SCHEME = "rai-figure"


def figure_placeholder(number: int) -> str:
    """The ``src`` of figure ``number`` in a PDF's HTML before it is drawn."""
    return f"{FIGURE_SCHEME}:{number}"


# Figure number -> the figure's data: URI, drawn by the time it returns.
Figures = Callable[[int], str]


class FigureFailed(BaseException):
    """A figure the PDF asked for could not be drawn. A BaseException, so that it stops
    WeasyPrint, which catches every Exception a fetcher raises and would lay the page out
    with the figure's alt text in its place."""

    def __init__(self, error: Exception) -> None:
        super().__init__(error)
        self.error = error


class ReportFetcher(URLFetcher):
    """Resolves ``data:`` URIs, the report's bundled fonts (``rai-font:NAME``) and, given
    ``figures``, figure placeholders (``rai-figure:N``); nothing else.

    No files, no network: anything else a document asks for (e.g.
    ``url(file:///etc/passwd)`` smuggled in through data) is refused.
    """

    def __init__(self, figures: Figures | None = None) -> None:
        super().__init__(allowed_protocols={"data"})
        self.figures = figures

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        if url.startswith(f"{FONT_SCHEME}:"):
            return URLFetcherResponse(url, font_bytes(url.split(":", 1)[1]))
        if url.startswith(f"{FIGURE_SCHEME}:") and self.figures is not None:
            try:
                return self._data(url, self.figures(int(url.split(":", 1)[1])))
            except Exception as error:
                raise FigureFailed(error) from error
        if url.startswith("data:"):
            # Decoded here: WeasyPrint 68.0 checks allowed protocols by the text before
            # "://", which a data: URI lacks, so it refused every figure of the report.
            return self._data(url, url)
        return super().fetch(url, headers)

    @staticmethod
    def _data(url: str, data_uri: str) -> URLFetcherResponse:
        """``url``'s response: the content of ``data_uri``."""
        if not data_uri.startswith("data:"):
            raise ValueError(f"{url} is not a data: URI")
        with urllib.request.urlopen(data_uri) as response:  # noqa: S310 (data: only)
            kind = {"Content-Type": response.headers.get("Content-Type", "")}
            return URLFetcherResponse(url, response.read(), kind)


def safe_fetcher(figures: Figures | None = None) -> URLFetcher:
    return ReportFetcher(figures)


def render_pdf(
    html: str, attachments: dict[str, bytes] | None = None, figures: Figures | None = None
) -> bytes:
    """Render the report HTML to PDF, embedding ``attachments`` (name -> bytes) as files;
    ``figures`` gives the figures its placeholders stand for (see figure_placeholder),
    when WeasyPrint first asks for them.

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
    document = HTML(string=html, base_url=None, url_fetcher=safe_fetcher(figures))
    try:
        return document.write_pdf(attachments=files)
    except FigureFailed as failed:
        raise failed.error from None
