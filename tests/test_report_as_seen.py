"""The report as a person sees it: in a headless browser, and as PDF pages and text.

These tests need Debian's chromium + chromium-driver and poppler-utils (installed by
.ci/run); they skip with a reason where those tools are absent.
"""

from __future__ import annotations

import json
import subprocess

import pytest
from conftest import headless_chromium, needs_tools
from pypdf import PdfReader


def test_pdf_carries_results_json_as_attachment(demo_dir):
    attachments = PdfReader(demo_dir / "report.pdf").attachments
    assert list(attachments) == ["results.json"]
    assert attachments["results.json"][0] == (demo_dir / "results.json").read_bytes()


def test_pdf_text_contains_the_key_figures(demo_dir, demo_result, tmp_path):
    needs_tools("pdftotext", "pdftoppm")
    text, annex = (
        subprocess.run(
            ["pdftotext", "-layout", demo_dir / name, "-"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        for name in ("report.pdf", "report-annex.pdf")
    )
    perf = demo_result["performance"]
    assert f"{perf['accuracy']:.3f}" in text
    assert f"{perf['roc_auc']:.3f}" in text
    for feature in demo_result["fairness"]["features"]:
        for group in feature["groups"]:
            assert group["group"] in text
            assert f"{group['selection_rate']:.3f}" in text
    # The provenance is in the annex.
    assert demo_result["provenance"]["data_sha256"] in annex.replace("\n", "").replace(" ", "")
    pages = subprocess.run(
        ["pdfinfo", demo_dir / "report.pdf"], check=True, capture_output=True, text=True
    ).stdout
    n_pages = int(
        next(line.split()[-1] for line in pages.splitlines() if line.startswith("Pages:"))
    )
    assert f"Page 1 of {n_pages}" in text
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "40",
            "-png",
            "-f",
            "1",
            "-l",
            "1",
            demo_dir / "report.pdf",
            tmp_path / "page",
        ],
        check=True,
    )
    (first_page,) = tmp_path.glob("page-*.png")  # pdftoppm pads the number to the page count
    assert first_page.stat().st_size > 10_000  # a rendered page, not blank


@pytest.fixture(scope="module")
def browser():
    driver = headless_chromium("--window-size=1280,1600", logs=True)
    yield driver
    driver.quit()


def test_html_in_headless_chromium(browser, demo_dir, tmp_path):
    browser.get((demo_dir / "report.html").as_uri())
    assert browser.title == "Model audit report"
    console_errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert console_errors == []
    requested = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            requested.append(message["params"]["request"]["url"])
    report_url = (demo_dir / "report.html").as_uri()
    others = [u for u in requested if not u.startswith("data:") and u != report_url]
    assert others == []
    # Every figure decoded and laid out (a broken data: URI has naturalWidth 0).
    widths = browser.execute_script("return Array.from(document.images).map(i => i.naturalWidth)")
    assert widths and all(w > 100 for w in widths)
    # Table-of-contents links point at sections that exist.
    missing = browser.execute_script(
        "return Array.from(document.querySelectorAll('nav a')).map(a => a.hash.slice(1))"
        ".filter(id => !document.getElementById(id))"
    )
    assert missing == []
    shot = tmp_path / "report.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 20_000


def test_report_uses_only_the_embedded_fonts(demo_dir):
    needs_tools("pdffonts")
    listing = subprocess.run(
        ["pdffonts", demo_dir / "report.pdf"], check=True, capture_output=True, text=True
    ).stdout.splitlines()[2:]
    families = {line.split()[0].split("+")[-1] for line in listing}
    assert families and all(f.startswith("Report-") for f in families), families


def test_every_character_of_the_report_has_a_glyph(demo_dir):
    """No missing-glyph boxes: the embedded fonts cover every character the report shows."""
    import base64
    import io
    import re

    from fontTools.ttLib import TTFont

    html = (demo_dir / "report.html").read_text()
    covered: set[int] = set()
    for data in re.findall(r"data:font/woff;base64,([A-Za-z0-9+/=]+)", html):
        covered |= set(TTFont(io.BytesIO(base64.b64decode(data))).getBestCmap())
    text = re.sub(r"<style>.*?</style>|<[^>]+>|data:[^\"]+", " ", html, flags=re.S)
    used = {ord(c) for c in text if not c.isspace()}
    assert used and used <= covered, sorted(chr(c) for c in used - covered)
