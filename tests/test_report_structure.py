"""The report's structure: first page, accessible markup, appendix, CSV tables beside it."""

from __future__ import annotations

import csv
import re

import pytest

from audit.report.findings import overall_verdict, top_findings


@pytest.fixture(scope="module")
def html(demo_dir) -> str:
    # Without the <wbr> break opportunities inside identifiers (audit/report/wrapping.py).
    return (demo_dir / "report.html").read_text().replace("<wbr>", "")


def test_first_page_states_the_verdict_in_words_and_lists_failing_rules(html, demo_result):
    first = html[html.index('<section id="summary"') : html.index("</section>")]
    assert demo_result["policy"]["status"] == "fail"
    assert 'class="overall verdict-fail"' in first and "Overall verdict: Fail" in first
    failing = [v for v in demo_result["verdicts"] if v["verdict"] == "fail"]
    for verdict in failing:
        assert f"{verdict['value']:.3f} [{verdict['ci'][0]:.3f}, {verdict['ci'][1]:.3f}]" in first
    acc_low, acc_high = demo_result["performance"]["accuracy_ci"]
    assert acc_low < demo_result["performance"]["accuracy"] < acc_high
    assert f"[{acc_low:.3f}, {acc_high:.3f}]" in first
    # The first page comes before the table of contents.
    assert html.index('id="summary"') < html.index('aria-label="Contents"')


def test_verdict_words_for_every_status():
    def policy(status, **counts):
        return {"policy": {"status": status, "counts": counts, "strict": False}}

    assert overall_verdict({})["word"] == "No policy"
    assert overall_verdict(policy("pass", **{"pass": 3}))["text"].startswith("All 3 rule checks")
    inconclusive = overall_verdict(policy("inconclusive", **{"pass": 1, "inconclusive": 2}))
    assert inconclusive["word"] == "Inconclusive" and "2 of 3" in inconclusive["text"]
    assert overall_verdict(policy("fail", fail=1, inconclusive=1))["text"].startswith("1 of 2")


def test_top_findings_rank_failures_first_and_link_their_section(demo_result):
    findings = top_findings(demo_result)
    assert 0 < len(findings) <= 6
    assert findings[0]["severity"] == "fail" and findings[0]["anchor"] == "verdicts"
    assert any(f["anchor"] == "quality" for f in findings)
    assert any("'region' acts as a proxy for race" in f["text"] for f in findings)
    assert top_findings({}) == []


def test_every_figure_has_alt_text_and_every_table_a_caption(html):
    images = re.findall(r"<img\b[^>]*>", html)
    assert images
    for tag in images:
        alt = re.search(r'alt="([^"]*)"', tag)
        assert alt and len(alt.group(1)) > 10, tag[:80]
    assert html.count("<table") == len(re.findall(r"<table\b[^>]*>\s*<caption>", html))
    headings = re.findall(r"<h([1-4])\b", html)
    assert headings[0] == "1" and headings.count("1") == 1


def test_toc_links_resolve(html):
    nav = html[html.index('aria-label="Contents"') : html.index("</nav>")]
    targets = re.findall(r'href="#([^"]+)"', nav)
    assert "appendix" in targets and "verdicts" in targets and "mitigation" in targets
    for target in targets:
        assert f'id="{target}"' in html, target


def test_appendix_defines_every_disparity_shown(html, demo_result):
    appendix = html[html.index('<section id="appendix"') :]  # in the annex
    for feature in demo_result["fairness"]["features"]:
        for disparity in feature["disparities"]:
            assert f"<code>{disparity['metric']}</code>" in appendix
    assert "<code>tpr</code>" in appendix and "(tp) / (fn + tp)" in appendix


def test_long_tables_collapse_and_are_complete_beside_the_report(html, demo_dir, demo_result):
    with open(demo_dir / "tables" / "group_metrics.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    expected = [(f["feature"], g) for f in demo_result["fairness"]["features"] for g in f["groups"]]
    assert len(rows) == len(expected)
    for row, (feature, group) in zip(rows, expected, strict=True):
        assert (row["feature"], row["group"]) == (feature, group["group"])
        assert float(row["selection_rate"]) == group["selection_rate"]
        assert float(row["selection_rate_ci_low"]) == group["ci"]["selection_rate"][0]
    # sex × race has 10 groups, the quality findings more than 20 rows: collapsed, with a link.
    assert '<details class="long-table">' in html
    assert 'href="tables/quality_findings.csv"' in html
    with open(demo_dir / "tables" / "verdicts.csv", newline="") as handle:
        verdicts = list(csv.DictReader(handle))
    assert [v["verdict"] for v in verdicts] == [v["verdict"] for v in demo_result["verdicts"]]
