"""The report's second process (audit/report/background.py, audit/report/build.py): the
annex's figures shared out between two processes give the same report as drawn in one, and
the second process' errors reach the caller, which never leaves it running."""

from __future__ import annotations

import gc
import io
import os
import time

import pytest
from pypdf import PdfReader

from audit.report import build
from audit.report.background import SharedJobs, can_fork, partner, receive
from audit.report.render import annex_figure_jobs, figures, render_html

needs_fork = pytest.mark.skipif(not can_fork(), reason="the second process is forked (Linux)")


@needs_fork
def test_shared_jobs_are_each_taken_once_by_one_of_the_two_processes():
    shared = SharedJobs(40)

    def take(connection):
        taken = []
        for number in shared.take():
            taken.append(number)
            time.sleep(0.002)  # a job's work: the other process takes some meanwhile
        connection.send(taken)

    with partner(take) as other:
        here = []
        for number in shared.take():
            here.append(number)
            time.sleep(0.002)
        there = receive(other)
    assert sorted(here + there) == list(range(40))  # every job, none twice


@needs_fork
def test_an_error_in_the_second_process_is_raised_here():
    def fail(connection):
        raise ValueError("no such figure: case-7")

    with pytest.raises(ValueError, match="case-7"), partner(fail) as other:
        receive(other)


@needs_fork
def test_a_second_process_that_dies_is_reported():
    with pytest.raises(RuntimeError, match="ended without its result"):
        with partner(lambda connection: os._exit(3)) as other:
            receive(other)


@needs_fork
def test_the_second_process_is_stopped_when_the_caller_fails():
    def wait_forever(connection):
        connection.send(os.getpid())
        time.sleep(600)

    with pytest.raises(KeyError), partner(wait_forever) as other:
        pid = receive(other)
        raise KeyError("the caller's own error")
    with pytest.raises(ProcessLookupError):  # stopped and reaped, not left running
        os.kill(pid, 0)


@needs_fork
def test_the_second_process_runs_without_the_cycle_collector_and_this_one_keeps_it():
    # Its garbage goes with it when it ends; the caller's collector is left as it was.
    with partner(lambda connection: connection.send(gc.isenabled())) as other:
        assert receive(other) is False
    assert gc.isenabled()


@needs_fork
def test_both_pdfs_are_laid_out_in_processes_of_their_own(demo_result, monkeypatch):
    """The body's PDF too, so that WeasyPrint's garbage (boxes in reference cycles) never
    has to be collected in the caller's process."""
    monkeypatch.setattr(build, "render_pdf", lambda html, *_, **__: str(os.getpid()))
    files = build.render_report(demo_result, ["html", "pdf"], "standard")
    body, annex = int(files["report.pdf"]), int(files["report-annex.pdf"])
    assert os.getpid() not in (body, annex) and body != annex


@pytest.mark.parametrize("forked", [True, False], ids=["two processes", "one process"])
def test_standard_report_has_every_figure_as_drawn_in_one_go(demo_result, forked, monkeypatch):
    """At detail standard the annex's figures are drawn by two processes (or, where fork is
    unsafe, here): report.html must be byte for byte the one rendered from every figure
    drawn in one go, with a waterfall for every explained case."""
    if forked and not can_fork():
        pytest.skip("the second process is forked (Linux)")
    monkeypatch.setattr(build, "can_fork", lambda: forked)
    files = build.render_report(demo_result, ["html", "pdf"], "standard")
    expected = render_html(demo_result, figures(demo_result), detail="standard")
    assert files["report.html"].decode("utf-8") == expected
    assert files["report.pdf"].startswith(b"%PDF")
    # The annex's PDF draws every one of its figures (the forked process lays it out from
    # placeholders, filled in when WeasyPrint asks for them), not their alt texts.
    annex = PdfReader(io.BytesIO(files["report-annex.pdf"]))
    images = {image.indirect_reference.idnum for page in annex.pages for image in page.images}
    assert len(images) == len(annex_figure_jobs(demo_result)) > 2
    cases = demo_result["explanations"]["cases"]
    assert len(cases) > 2
    for case in cases:
        assert f'alt="Waterfall plot of the SHAP values of {case["id"]}"' in expected


@needs_fork
def test_an_error_in_the_annex_process_reaches_the_caller_as_itself(demo_result, monkeypatch):
    """The annex's process fails before the two swap their figures: the caller gets that
    error, not the broken pipe of a send to a process that has ended."""

    def fail(*_, **__):
        raise ValueError("the annex's layout failed")

    monkeypatch.setattr(build, "render_pdf", fail)
    with pytest.raises(ValueError, match="annex's layout failed"):
        build.render_report(demo_result, ["html", "pdf"], "standard")


def test_the_collector_thresholds_are_raised_while_rendering_and_restored_after_an_error():
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), build.fewer_collections():
        assert gc.get_threshold() == build.RENDER_GC_THRESHOLDS
        raise RuntimeError("a failed render")
    assert gc.get_threshold() == before
