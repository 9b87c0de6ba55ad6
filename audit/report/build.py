"""The report's files from a result: report.html, report.pdf and, at detail standard, the
annex as a PDF of its own (report-annex.pdf).

WeasyPrint lays a document out on one processor core, and the annex is longer than the
main body: as one PDF the demo's report took 12 s. As two, on two cores: a forked process
lays the annex out while this one draws the main body's figures, then a second forked
process lays the main body out. The annex's layout must wait for its figures, so they
come first: this process starts drawing them while the annex's process reads the annex's
HTML (figures as placeholders) and stylesheet, then both draw those left (each takes the
next figure not yet taken). The HTML, which keeps everything, is written here with every
figure while the two PDFs are laid out. The forked processes take WeasyPrint's garbage
with them when they end (see audit/report/background.py).

Rendering makes millions of short-lived objects (WeasyPrint's boxes, matplotlib's artists):
with Python's default thresholds the cyclic garbage collector ran so often that it took a
quarter of the PDF layout time. It runs less often while a report is made.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from typing import Any

from audit.report.background import SharedJobs, can_fork, partner, receive, send
from audit.report.explain_plots import Job
from audit.report.pdf import figure_placeholder, render_pdf
from audit.report.render import (
    annex_figure_jobs,
    assemble_annex_figures,
    compile_templates,
    figures,
    merged_figures,
    render_html,
    report_detail,
)
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
    with fewer_collections():
        return _render(result, set(formats), detail, attachments, say)


# Young objects collected every 50,000 allocations rather than 700: measured on the demo's
# annex, the layout took 3.2 s instead of 4.1 s, and the peak memory did not move.
RENDER_GC_THRESHOLDS = (50_000, 50, 50)


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Python's garbage collector at RENDER_GC_THRESHOLDS inside the block."""
    before = gc.get_threshold()
    gc.set_threshold(*RENDER_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _render(
    result: dict[str, Any],
    formats: set[str],
    detail: str | None,
    attachments: dict[str, bytes] | None,
    say: Callable[[str], None],
) -> dict[str, bytes]:
    level = report_detail(result, detail)
    if "pdf" in formats and level == "standard":
        say("Rendering report and annex")
        return _body_and_annex("html" in formats, result, level, attachments)
    say("Rendering report")
    files: dict[str, bytes] = {}
    figs = figures(result)
    if "pdf" in formats:
        html = render_html(result, figs, for_pdf=True, detail=level)
        files[REPORT_FILES["pdf"]] = render_pdf(html, attachments)
    if "html" in formats:
        files[REPORT_FILES["html"]] = render_html(result, figs, detail=level).encode("utf-8")
    return files


def _body_and_annex(
    with_html: bool, result: dict[str, Any], level: str, attachments: dict[str, bytes] | None
) -> dict[str, bytes]:
    """report.pdf, report-annex.pdf and (``with_html``) report.html at detail standard."""
    jobs = annex_figure_jobs(result)
    files: dict[str, bytes] = {}
    if can_fork():
        shared = SharedJobs(len(jobs))
        with partner(lambda there: _annex_process(there, result, level, jobs, shared)) as annex:
            drawn = _draw(jobs, shared)
            # The two shares of the annex's figures change hands: the other process lays
            # the annex out with all of them; this one writes the HTML with all of them.
            send(annex, drawn)
            drawn.update(receive(annex))
            figs = figures(result, "body")
            html = _body_html(result, figs, level)
            # The main body is laid out in a process of its own too: WeasyPrint leaves its
            # boxes in reference cycles, and collecting them here took 0.2-0.5 s after each
            # report; a process that ends takes its garbage with it.
            with partner(lambda there: there.send(render_pdf(html, attachments))) as body:
                figs = merged_figures(figs, assemble_annex_figures(result, jobs, drawn))
                page = _html(result, figs, level) if with_html else None
                files[REPORT_FILES["pdf"]] = receive(body)
            if page is not None:
                files[REPORT_FILES["html"]] = page
            files[REPORT_FILES["annex"]] = receive(annex)
    else:
        annex_figs = assemble_annex_figures(result, jobs, _draw(jobs))
        files[REPORT_FILES["annex"]] = render_pdf(_annex_html(result, level, annex_figs))
        figs = figures(result, "body")
        files[REPORT_FILES["pdf"]] = render_pdf(_body_html(result, figs, level), attachments)
        figs = merged_figures(figs, annex_figs)
        if with_html:
            files[REPORT_FILES["html"]] = _html(result, figs, level)
    return files


def _draw(jobs: list[Job], shared: SharedJobs | None = None) -> dict[tuple[Any, ...], Any]:
    """The figures of ``jobs`` (key -> figure): every one, or this process' share."""
    numbers = shared.take() if shared is not None else range(len(jobs))
    return {jobs[number][0]: jobs[number][1]() for number in numbers}


def _annex_process(
    connection: Connection,
    result: dict[str, Any],
    level: str,
    jobs: list[Job],
    shared: SharedJobs,
) -> None:
    """The second process: the annex's PDF. WeasyPrint reads its HTML and stylesheet while
    the other process draws the annex's figures; when it first asks for one, this process
    draws its share of those left, and the two swap shares (see _SharedFigures)."""
    compile_templates()
    figs = _SharedFigures(connection, jobs, shared)
    placeholders = {key: figure_placeholder(number) for number, (key, _) in enumerate(jobs)}
    html = _annex_html(result, level, assemble_annex_figures(result, jobs, placeholders))
    pdf = render_pdf(html, figures=figs)
    figs.complete()  # for an annex without figures: the other process waits for its share
    connection.send(pdf)


class _SharedFigures:
    """The annex's figures (job number -> figure) for the annex's process, all of them
    drawn when the first is asked for: this process takes the jobs no one has taken yet,
    then receives the other process' figures and sends its own."""

    def __init__(self, connection: Connection, jobs: list[Job], shared: SharedJobs) -> None:
        self.connection, self.jobs, self.shared = connection, jobs, shared
        self.drawn: dict[tuple[Any, ...], Any] | None = None

    def complete(self) -> dict[tuple[Any, ...], Any]:
        if self.drawn is None:
            drawn = _draw(self.jobs, self.shared)
            # Receive, then send: were both processes to send at once, each would wait for
            # the other to read (a pipe holds little).
            others = self.connection.recv()
            self.connection.send(drawn)
            self.drawn = {**drawn, **others}
        return self.drawn

    def __call__(self, number: int) -> Any:
        return self.complete()[self.jobs[number][0]]


def _body_html(result: dict[str, Any], figs: dict[str, Any], level: str) -> str:
    return render_html(result, figs, for_pdf=True, detail=level, document="body")


def _annex_html(result: dict[str, Any], level: str, figs: dict[str, Any]) -> str:
    return render_html(result, figs, for_pdf=True, detail=level, document="annex")


def _html(result: dict[str, Any], figs: dict[str, Any], level: str) -> bytes:
    return render_html(result, figs, detail=level).encode("utf-8")
