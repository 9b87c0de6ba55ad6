"""The report's layout as a reader meets it (issue 12, items 2 and 6).

* In the PDF no identifier (metric name, rule, check id, column name, strategy name) is
  split inside a word: lines may break after ``_ : . × - /`` or at spaces, nowhere else.
* In the browser the page never scrolls sideways, at a desktop width (1280 px) and a phone
  width (390 px): wide tables scroll inside their own box.

They need poppler-utils (pdftotext) and Debian's chromium + chromium-driver, and skip with
a reason where those tools are absent.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import headless_chromium, needs_tools, run_cli

from audit.report.render import resolve_variables, stylesheet

# Where a line may break inside an identifier: after one of these, or at a space.
BREAK_AFTER = set("_:.×-/")
# Invisible characters a PDF's text may carry at a break opportunity.
INVISIBLE = dict.fromkeys(map(ord, "\u200b\u00ad\u2060"))
_TOKEN = re.compile(r"[^\W_](?:[\w:.×/-]*[^\W_])?")
_HEX = re.compile(r"[0-9a-f]{16,}")


# --- identifiers ---------------------------------------------------------------------------


def identifiers(result: dict) -> set[str]:
    """Every identifier-like token of results.json: each word of every string and key
    (metric names, rule texts, check ids, column and group names, strategy names, words
    of messages), with the tokens' own parts (``a_b:c`` gives ``a_b:c``, ``a_b``, ``c``...).
    Hashes are left out: 64 hex digits have no word to break."""
    found: set[str] = set()

    def add(text: str) -> None:
        for token in _TOKEN.findall(text):
            if len(token) < 4 or _HEX.fullmatch(token) or not re.search(r"[A-Za-z]", token):
                continue
            found.add(token)
            found.update(part for part in re.split(r"[:.×/]", token) if len(part) >= 4)

    def walk(value) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                add(str(key))
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str) and not value.startswith("data:"):
            add(value)

    walk(result)
    return found


# --- PDF words and lines -------------------------------------------------------------------


@dataclass
class Word:
    page: int
    x0: float
    y0: float
    x1: float
    y1: float
    text: str

    @property
    def height(self) -> float:
        return self.y1 - self.y0


_WORD = re.compile(
    r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>'
)


def pdf_words(pdf: Path) -> list[Word]:
    """The PDF's words with their boxes (pdftotext -bbox), invisible characters removed."""
    out = subprocess.run(
        ["pdftotext", "-bbox", pdf, "-"], check=True, capture_output=True, text=True
    ).stdout
    words = []
    for page, body in enumerate(out.split("<page ")[1:]):
        for x0, y0, x1, y1, text in _WORD.findall(body):
            text = html.unescape(text).translate(INVISIBLE)
            if text:
                words.append(Word(page, float(x0), float(y0), float(x1), float(y1), text))
    return words


def _page_line_breaks(words: list[Word]) -> list[tuple[Word, Word]]:
    words = sorted(words, key=lambda w: (w.y0, w.x0))

    def neighbours(word: Word, gap: float, side: int) -> list[Word]:
        """Words on the same line as ``word``, at most ``gap`` heights to its left (-1) or
        right (+1)."""
        return [
            other
            for other in words
            if other is not word
            and abs(other.y0 - word.y0) < 0.3 * word.height
            and 0 <= (other.x0 - word.x1 if side > 0 else word.x0 - other.x1) < gap * word.height
        ]

    starts = [word for word in words if not neighbours(word, 0.45, -1)]
    pairs = []
    for end in words:
        if neighbours(end, 0.45, +1):
            continue  # not the last word of its line
        # The left edge of the line (or cell) that ``end`` ends: words close on its left.
        left, chain = end.x0, end
        while close := neighbours(chain, 1.0, -1):
            chain = min(close, key=lambda other: other.x0)
            left = chain.x0
        height = end.height
        pairs.extend(
            (end, start)
            for start in starts
            if 0.6 * height < start.y0 - end.y0 < 1.9 * height
            and left - 0.5 * height <= start.x0 <= end.x0 + 0.5 * height
        )
    return pairs


def line_breaks(words: list[Word]) -> list[tuple[Word, Word]]:
    """(last word of a line, first word of a next line) for every line of text that may
    continue below, within one block (a paragraph, a table cell): same page, next baseline,
    starting at or left of the word, and not left of the line the word ends."""
    by_page: dict[int, list[Word]] = {}
    for word in words:
        by_page.setdefault(word.page, []).append(word)
    return [pair for page in by_page.values() for pair in _page_line_breaks(page)]


def split_identifiers(pdf: Path, names: set[str]) -> list[str]:
    """Where the PDF breaks an identifier of ``names`` across two lines inside a word: one
    entry per such line break, as ``"end of the line | start of the next (page n)"``.

    A break is inside a word when the line ends with a letter or digit, the next begins
    with one, and the two pieces join into one of ``names`` (from a boundary to a boundary),
    or into part of one with ``_ : . ×`` in it (a long identifier may take three lines).
    """
    compound = "\n".join(name for name in names if re.search(r"[_:.×]", name))
    split = []
    for end, start in line_breaks(pdf_words(pdf)):
        tail = re.search(r"[\w:.×/-]*$", end.text)[0]
        head = re.match(r"[\w:.×/-]*", start.text)[0]
        if not tail or not head or tail[-1] in BREAK_AFTER or head[0] in BREAK_AFTER:
            continue
        run_end = re.search(r"[^\W_]+$", tail)[0]
        run_start = re.match(r"[^\W_]+", head)[0]
        whole = any(
            tail[i:] + head[:j] in names
            for i in range(len(tail))
            if not (i and tail[i - 1].isalnum())
            for j in range(1, len(head) + 1)
            if not (j < len(head) and head[j].isalnum())
        )
        part = min(len(run_end), len(run_start)) >= 2 and run_end + run_start in compound
        if whole or part:
            split.append(f"{tail} | {head} (page {end.page + 1})")
    return split


# --- reports -------------------------------------------------------------------------------

LONG_METRIC_COLUMN = "missing_values_in_employment_years_column"


@pytest.fixture(scope="module")
def synthetic_dir(tmp_path_factory) -> Path:
    """A predictions-only audit of a small table with long column names and group labels."""
    tmp = tmp_path_factory.mktemp("layout")
    rng = np.random.default_rng(7)
    n = 400
    frame = pd.DataFrame(
        {
            "applicant_region_of_residence_category": rng.choice(
                ["north_western_metropolitan_area", "south_eastern_rural_districts"], n
            ),
            LONG_METRIC_COLUMN: rng.normal(10, 3, n).round(1),
            "observed_repayment_outcome_label": rng.integers(0, 2, n),
            "calibrated_default_probability_score": rng.random(n).round(3),
        }
    )
    frame.loc[rng.choice(n, 60, replace=False), LONG_METRIC_COLUMN] = np.nan
    data = tmp / "long_identifiers_applications.csv"
    frame.to_csv(data, index=False)
    out = tmp / "out"
    result = run_cli(
        "run",
        "--data",
        data,
        "--target",
        "observed_repayment_outcome_label",
        "--score-column",
        "calibrated_default_probability_score",
        "--threshold",
        "0.5",
        "--sensitive",
        "applicant_region_of_residence_category",
        "--out",
        out,
        "--quiet",
    )
    assert result.exit_code in (0, 1), result.output
    assert (out / "report.pdf").is_file(), result.output
    return out


REPORTS = ["demo_dir", "synthetic_dir", "compas_report"]


# --- A: nothing breaks mid-word ------------------------------------------------------------


def test_the_split_finder_finds_a_split(tmp_path):
    """The check itself: a narrow PDF that must break a long identifier mid-word."""
    needs_tools("pdftotext")
    from audit.report.pdf import render_pdf

    pdf = tmp_path / "narrow.pdf"
    pdf.write_bytes(
        render_pdf(
            "<html><style>@page { size: 60mm 80mm; margin: 5mm }"
            "p { overflow-wrap: anywhere }</style>"
            "<p>the missing_values:employmentyearsofeveryapplicant rule</p></html>"
        )
    )
    names = {"missing_values:employmentyearsofeveryapplicant", "the", "rule"}
    split = split_identifiers(pdf, names)
    assert split and split[0].startswith("missing_values:empl"), split


@pytest.mark.parametrize("report", REPORTS)
def test_no_identifier_is_split_mid_word_in_the_pdf(report, request):
    needs_tools("pdftotext")
    folder = request.getfixturevalue(report)
    names = identifiers(json.loads((folder / "results.json").read_text()))
    if report == "synthetic_dir":
        assert LONG_METRIC_COLUMN in names
    pdfs = [folder / name for name in ("report.pdf", "report-annex.pdf")]
    assert pdfs[1].is_file()  # the annex (detail standard) is checked too
    split = [piece for pdf in pdfs for piece in split_identifiers(pdf, names)]
    assert split == [], f"{len(split)} identifier(s) split mid-word: {split}"


# --- B: the HTML fits the screen -----------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    driver = headless_chromium("--hide-scrollbars")
    yield driver
    driver.quit()


def page_width(browser, url: str, width: int, shot: Path) -> tuple[int, int, list[str]]:
    """(document scrollWidth, window innerWidth, elements reaching past the window's right
    edge) of ``url`` in a ``width``-px window."""
    browser.set_window_size(width, 1000)
    browser.get(url)
    inner = browser.execute_script("return window.innerWidth")
    # Headless windows may not shrink to a phone's width: emulate it then.
    if abs(inner - width) > 20:
        browser.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": 1000, "deviceScaleFactor": 1, "mobile": width < 500},
        )
        browser.get(url)
    assert browser.title == "Model audit report", url
    browser.save_screenshot(str(shot))
    return browser.execute_script(
        """const w = window.innerWidth;
        const clipped = e => {  // inside a box that scrolls or clips: not the page's width
          for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
            if (getComputedStyle(p).overflowX !== 'visible') return true;
          }
          return false;
        };
        const wide = Array.from(document.querySelectorAll('body *'))
          .filter(e => e.getBoundingClientRect().right > w + 1 && !clipped(e))
          .slice(0, 8).map(e => e.tagName + '.' + e.className + ' ' +
            Math.round(e.getBoundingClientRect().right));
        return [document.documentElement.scrollWidth, w, wide];"""
    )


@pytest.mark.parametrize("report", ["demo_dir", "synthetic_dir"])
@pytest.mark.parametrize("width", [1280, 390])
def test_the_page_does_not_scroll_sideways(browser, report, width, request, tmp_path):
    folder = request.getfixturevalue(report)
    shot = tmp_path / f"{report}-{width}.png"
    try:
        scroll, inner, wide = page_width(browser, (folder / "report.html").as_uri(), width, shot)
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    assert shot.stat().st_size > 10_000
    assert abs(inner - width) <= 20, inner
    assert scroll <= inner + 1, f"page {scroll} px wide in a {inner} px window: {wide}"


# --- the break opportunities themselves ----------------------------------------------------


def test_break_opportunities_go_into_text_only():
    from audit.report.wrapping import break_identifiers

    page = (
        "<html><head><title>a_b</title><style>x_y.z { } a > b</style></head>"
        '<body><p title="a_b" id="quality-missing_values:x">demographic_parity_ratio '
        "0.983 v1.26.4 12:30 missing_values:employment_years sex×race credit.csv "
        'Note: end. &lt;a_b&gt;</p><img src="data:image/png;base64,AB_C.D"><!-- c_d --></body>'
        "</html>"
    )
    out = break_identifiers(page)
    assert out.replace("<wbr>", "") == page  # nothing but <wbr> added
    assert "<title>a_b</title><style>x_y.z { } a > b</style>" in out
    assert 'title="a_b" id="quality-missing_values:x"' in out
    assert 'src="data:image/png;base64,AB_C.D"><!-- c_d -->' in out
    assert "demographic_<wbr>parity_<wbr>ratio 0.983 v1.26.4 12:30 " in out
    assert "missing_<wbr>values:<wbr>employment_<wbr>years sex×<wbr>race credit.<wbr>csv" in out
    assert "Note: end. &lt;a_<wbr>b&gt;" in out
    pdf = break_identifiers(page, for_pdf=True)
    assert "<wbr>" not in pdf and "demographic_\u200bparity_\u200bratio" in pdf
    assert pdf.replace("\u200b", "") == page


def test_css_variables_are_resolved_to_their_root_values():
    css = (
        ":root { --ink: #111; --edge: 1px solid #d0d0d0 }\n"
        "p { color: var(--ink); border: var( --edge ); } q { color: var(--elsewhere); }"
    )
    assert resolve_variables(css) == (
        ":root { --ink: #111; --edge: 1px solid #d0d0d0 }\n"
        "p { color: #111; border: 1px solid #d0d0d0; } q { color: var(--elsewhere); }"
    )
    # The report's own: every variable resolved, each to the value its :root rule gives.
    raw = resources.files("audit.templates").joinpath("report.css").read_text(encoding="utf-8")
    root = dict(re.findall(r"(--[\w-]+):\s*([^;}]+?)\s*[;}]", raw.split("}")[0] + "}"))
    assert root and "var(" not in stylesheet(embedded_fonts=False)
    uses = re.findall(r"([\w-]+):\s*[^;{}]*var\((--[\w-]+)\)", raw)
    resolved = stylesheet(embedded_fonts=False)
    for prop, name in uses:
        assert re.search(rf"{prop}:\s*[^;{{}}]*{re.escape(root[name])}", resolved), (prop, name)
