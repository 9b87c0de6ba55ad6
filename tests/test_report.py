"""The HTML/PDF report: self-contained, escaped, and re-renderable from results.json alone."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli
from pypdf import PdfReader

from audit.outputs import MANIFEST

HOSTILE = "<script>alert(1)</script>"
HOSTILE_GROUP = "<img src=x onerror=alert(2)>"
HOSTILE_CSS = "url(file:///etc/passwd)"
HOSTILE_LINK = "<link rel=attachment href=file:///etc/passwd>"


def test_html_is_self_contained(demo_dir, demo_result):
    html = (demo_dir / "report.html").read_text()
    # Every src is a data: URI; every href an in-page anchor or a CSV file written beside the
    # report (a link, never fetched): nothing to fetch, works offline.
    for url in re.findall(r'src="([^"]*)"', html):
        assert url.startswith("data:"), url
    for url in re.findall(r'href="([^"]*)"', html):
        assert url.startswith("#") or (url.startswith("tables/") and (demo_dir / url).is_file()), (
            url
        )
    assert "<script" not in html.lower()
    assert html.count('<img src="data:image/png;base64,') == html.count("<img ")
    # one by-group chart per sensitive feature and per intersection
    assert html.count('alt="Bar chart with interval whiskers') == len(
        demo_result["fairness"]["features"]
    )


def test_html_shows_the_key_numbers(demo_dir, demo_result):
    html = (demo_dir / "report.html").read_text()
    assert f"{demo_result['performance']['accuracy']:.3f}" in html
    race = next(f for f in demo_result["fairness"]["features"] if f["feature"] == "race")
    for group in race["groups"]:
        assert f"{group['selection_rate']:.3f}" in html
    for section in (
        "Executive summary",
        "Data",
        "Performance",
        "Fairness by group",
        "Policy verdicts",
        "Provenance",
    ):
        # Provenance is in the annex, numbered there ("A6. Provenance").
        assert re.search(rf">(A\d\. )?{section}</h2>", html), section


def test_report_command_rerenders_the_same_html(demo_dir, tmp_path):
    # HTML only: `report --format pdf` is tested on a small result (test_safe_outputs.py).
    result = run_cli(
        "report", demo_dir / "results.json", "--format", "html", "--out", tmp_path, "--quiet"
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "report.html").read_text() == (demo_dir / "report.html").read_text()


def test_report_command_rejects_other_files(tmp_path):
    bogus = tmp_path / "results.json"
    bogus.write_text('{"hello": 1}')
    result = run_cli("report", bogus)
    assert result.exit_code == 2
    assert "not a rai-audit results file" in result.output


def test_hostile_strings_in_data_are_shown_as_text(tmp_path):
    frame = pd.DataFrame(
        {
            HOSTILE: range(60),
            HOSTILE_LINK: ["a", "b", "c"] * 20,
            "grp": [HOSTILE_GROUP, HOSTILE_CSS, HOSTILE_LINK] * 20,
            "y": [0, 1, 1] * 20,
            "score": [0.2, 0.7, 0.4] * 20,
        }
    )
    data = tmp_path / "hostile.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "out"
    result = run_cli(
        "run",
        "--data",
        data,
        "--target",
        "y",
        "--sensitive",
        "grp",
        "--score-column",
        "score",
        "--threshold",
        "0.5",
        "--out",
        out,
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    html = (out / "report.html").read_text()
    assert HOSTILE not in html and HOSTILE_GROUP not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert HOSTILE_LINK not in html and "&lt;link rel=attachment" in html
    assert "<style>" in html and html.count("<style>") == 1  # user text never reaches CSS
    assert HOSTILE_CSS not in html.split("</style>")[0]
    # The PDF fetched nothing: its only attachment is results.json, and no file content leaked.
    pdf = PdfReader(out / "report.pdf")
    assert list(pdf.attachments) == ["results.json"]
    text = "".join(page.extract_text() for page in pdf.pages)
    assert "root:x:0:0" not in text
    assert "url(file:///etc/passwd)" in text  # shown as the text it is


@pytest.mark.parametrize("formats", [["json"], ["html"], ["pdf"], ["json", "pdf"]])
def test_only_requested_formats_are_written(tmp_path, formats):
    # A small audit of scores already made: what is written depends on --format, not on size.
    rng = np.random.default_rng(0)
    data = tmp_path / "scores.csv"
    pd.DataFrame(
        {
            "group": rng.choice(["a", "b"], 400),
            "y": rng.integers(0, 2, 400),
            "score": rng.random(400),
        }
    ).to_csv(data, index=False)
    out = tmp_path / "out"
    args = ["run", "--data", data, "--target", "y", "--sensitive", "group"]
    args += ["--score-column", "score", "--threshold", "0.5", "--out", out, "--quiet"]
    for fmt in formats:
        args += ["--format", fmt]
    done = run_cli(*args)
    assert done.exit_code == 0, done.output
    written = {p.name for p in out.iterdir()}
    expected = {
        "json": {"results.json"},
        "html": {"report.html", "tables"},
        "pdf": {"report.pdf", "report-annex.pdf"},
    }
    # The manifest lists the files rai-audit wrote; nothing else is there.
    assert written == set().union(*(expected[f] for f in formats)) | {MANIFEST}


def test_the_pdf_shows_the_figures_it_is_given():
    """A figure is a data: URI in the HTML; the PDF must draw it. WeasyPrint 68.0 (the lowest
    version allowed) refused every data: URI behind an allowed-protocols list, so the PDF
    had no figure at all, silently. A file: URI stays refused."""
    import io

    from audit.report.pdf import render_pdf

    html = f'<img src="{_red_figure()}"><img src="file:///etc/hostname">'
    page = PdfReader(io.BytesIO(render_pdf(html))).pages[0]
    images = [(image.image.size, image.image.getpixel((20, 15))) for image in page.images]
    assert images == [((40, 30), (200, 30, 30))]


def _red_figure() -> str:
    import base64
    import io

    from PIL import Image

    png = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(png, format="PNG")
    return "data:image/png;base64," + base64.b64encode(png.getvalue()).decode()


def test_a_figure_placeholder_is_drawn_from_the_figures_given():
    """The annex's PDF is laid out from placeholders (rai-figure:N) while its figures are
    still being drawn: each is asked for by number, and drawn as given."""
    import io

    from audit.report.pdf import figure_placeholder, render_pdf

    asked = []

    def figures(number):
        asked.append(number)
        return _red_figure()

    html = f'<img src="{figure_placeholder(3)}">'
    page = PdfReader(io.BytesIO(render_pdf(html, figures=figures))).pages[0]
    images = [(image.image.size, image.image.getpixel((20, 15))) for image in page.images]
    assert images == [((40, 30), (200, 30, 30))] and asked == [3]
    # Without figures to fill them in, placeholders are refused like any other URL.
    assert len(PdfReader(io.BytesIO(render_pdf(html))).pages[0].images) == 0


def test_a_figure_that_cannot_be_drawn_fails_the_pdf():
    """WeasyPrint catches a fetcher's errors and lays the page out with the alt text: a
    figure that failed to draw must fail the report instead, with its own error."""
    from audit.report.pdf import figure_placeholder, render_pdf

    def figures(number):
        raise ZeroDivisionError(f"figure {number} divided by zero")

    html = f'<p>before</p><img src="{figure_placeholder(0)}" alt="a figure"><p>after</p>'
    with pytest.raises(ZeroDivisionError, match="figure 0"):
        render_pdf(html, figures=figures)
