"""One number, one value: the key numbers of the first page and of the terminal summary are
the policy verdicts' values and intervals, formatted once, and a value shown in two places of
the report reads the same in both."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import audit
from audit.report.key_numbers import disparate_impact_shown, key_numbers, value_text
from audit.report.render import render_html
from audit.report.terminal import summary_lines
from audit.text import interval_text, number_text
from tests.conftest import run_cli

RESAMPLES = {"bootstrap": {"resamples": 200}}


def decisions(labels=("A", "B", "C"), seed: int = 0) -> pd.DataFrame:
    """Decisions for three groups: A (largest, selected most), B (selected least), C.

    A is the reference group and has the highest selection rate, so disparate impact
    (smallest rate ÷ A's) is the same ratio as demographic parity ratio (min ÷ max).
    """
    rng = np.random.default_rng(seed)
    parts = []
    for group, n, rate in zip(labels, (900, 500, 400), (0.5, 0.3, 0.42), strict=True):
        y = rng.random(n) < 0.5
        pred = rng.random(n) < rate
        parts.append(pd.DataFrame({"grp": group, "y": y.astype(int), "pred": pred.astype(int)}))
    return pd.concat(parts, ignore_index=True)


def audit_of(frame: pd.DataFrame, policy=None) -> dict:
    result = audit.run(
        data=frame,
        target="y",
        sensitive="grp",
        predictions="pred",
        policy=policy,
        fairness=RESAMPLES,
        mitigation={"strategies": ["none"]},
        seed=1,
    )
    return result.to_dict()


@pytest.fixture(scope="module")
def with_policy() -> dict:
    return audit_of(decisions(), ["demographic_parity_ratio >= 0.8"])


@pytest.fixture(scope="module")
def without_policy() -> dict:
    return audit_of(decisions())


def _row(html: str, table_class: str, needle: str) -> str:
    """The text of the row of ``<table class=table_class>`` that contains ``needle``."""
    start = html.index(f'<table class="{table_class}"')
    table = html[start : html.index("</table>", start)]
    row = next(r for r in table.split("<tr>") if needle in r)
    return re.sub(r"<[^>]+>", " ", row)


def test_a_ratio_rule_shows_the_verdicts_value_interval_and_groups(with_policy):
    (verdict,) = with_policy["verdicts"]
    assert verdict["verdict"] == "fail" and verdict["ci"] is not None
    numbers = key_numbers(with_policy)
    assert [n["measure"] for n in numbers] == ["Accuracy", "Demographic parity ratio"]
    accuracy, ratio = numbers
    assert accuracy["value"] == pytest.approx(with_policy["performance"]["accuracy"])
    assert accuracy["ci"] == pytest.approx(with_policy["performance"]["accuracy_ci"])
    assert ratio["feature"] == "grp" and ratio["rule"] == "demographic_parity_ratio >= 0.8"
    assert ratio["value"] == pytest.approx(verdict["value"], abs=1e-12)
    assert ratio["ci"] == pytest.approx(verdict["ci"], abs=1e-12)
    assert ratio["groups"] == verdict["groups_behind"] == "B vs A"
    assert ratio["verdict"] == "fail"
    # The value itself: B's selection rate over A's.
    rates = {
        g["group"]: g["selection_rate"] for g in with_policy["fairness"]["features"][0]["groups"]
    }
    assert ratio["value"] == pytest.approx(rates["B"] / rates["A"], abs=1e-9)


def test_disparate_impact_shows_the_policys_interval_when_it_is_the_same_ratio(with_policy):
    (feature,) = with_policy["fairness"]["features"]
    (verdict,) = with_policy["verdicts"]
    raw = next(d for d in feature["disparities"] if d["metric"] == "disparate_impact")
    assert raw["value"] == pytest.approx(verdict["value"], abs=1e-12)
    # Computed on its own, the same ratio has another interval (each group vs reference)...
    assert interval_text(raw["ci"]) != interval_text(verdict["ci"])
    shown = disparate_impact_shown(feature, with_policy["verdicts"])
    # ...but the report shows the verdict's, judges the four-fifths rule on it, names the rule.
    assert shown["ci"] == pytest.approx(verdict["ci"], abs=1e-12)
    assert shown["four_fifths_rule"] == "fail" and shown["same_as"] == verdict["rule"]
    html = render_html(with_policy)
    start = html.index("Disparate impact (smallest")
    row = html[start : html.index("</tr>", start)]
    assert interval_text(verdict["ci"]) in row and interval_text(raw["ci"]) not in row
    # Without a policy there is nothing to agree with: the disparity's own interval.
    plain = disparate_impact_shown(feature, [])
    assert plain["ci"] == raw["ci"] and "same_as" not in plain


def test_the_same_value_reads_the_same_in_the_report_and_the_terminal(with_policy):
    html = render_html(with_policy)
    lines = summary_lines(with_policy)
    for number in key_numbers(with_policy):
        text = value_text(number)
        row = _row(html, "key-numbers", number["measure"])
        assert number_text(number["value"]) in row
        if number["ci"]:
            assert interval_text(number["ci"]) in row
        line = next(x for x in lines if x.strip().startswith(number["measure"]))
        assert text in line, (text, line)
        if number["groups"]:
            assert number["groups"] in row and number["groups"] in line
    # The policy verdict line prints the same text for the rule's value.
    from audit.policy import summary_lines as policy_lines
    from audit.result import AuditResult

    result = AuditResult.from_dict(with_policy)
    printed = policy_lines(result.policy, result.rule_verdicts)
    rule_line = next(x for x in printed if x.lstrip().startswith("FAIL"))
    assert value_text(key_numbers(with_policy)[1]) in rule_line


def test_a_group_metric_rule_shows_its_worst_group_and_the_terminal_keeps_the_worst():
    rules = [
        "selection_rate >= 0.4",
        "demographic_parity_ratio >= 0.8",
        "demographic_parity_difference <= 0.5",
        "equalized_odds_difference <= 0.9",
        "equal_opportunity_difference <= 0.9",
        "fpr_parity_difference <= 0.9",
        "predictive_parity_difference <= 0.9",
        "accuracy >= 0.1",
    ]
    saved = audit_of(decisions(), rules)
    numbers = key_numbers(saved)
    assert len(numbers) == 1 + len(rules)
    rate = numbers[1]
    assert rate["measure"] == "Selection rate (lowest group)"
    rates = [v for v in saved["verdicts"] if v["metric"] == "selection_rate"]
    lowest = min(rates, key=lambda v: v["value"])
    assert lowest["group"] == "B" and rate["groups"] == "B"
    assert rate["value"] == pytest.approx(lowest["value"]) and rate["ci"] == lowest["ci"]
    assert rate["verdict"] == lowest["verdict"] == "fail"
    # The terminal keeps six per-feature numbers, the failing ones among them, in order.
    lines = summary_lines(saved)
    shown = [x for x in lines if x.startswith("  ") and " — grp" in x]
    assert len(shown) == 6 and "  … and 2 more in the report" in lines
    failing = [n for n in numbers if n["verdict"] == "fail"]
    assert failing and all(any(value_text(n) in x for x in shown) for n in failing)
    assert len(lines) <= 20
    # The finding names the group too.
    assert any("grp = B: selection rate is " + value_text(rate) in x for x in lines)


def test_without_a_policy_the_key_numbers_are_parity_and_equalized_odds(without_policy):
    numbers = key_numbers(without_policy)
    assert [n["measure"] for n in numbers] == [
        "Accuracy",
        "Demographic parity difference",
        "Demographic parity ratio",
        "Equalized odds difference",
    ]
    by_name = {d["metric"]: d for d in without_policy["fairness"]["features"][0]["disparities"]}
    for number in numbers[1:]:
        entry = by_name[number["measure"].lower().replace(" ", "_")]
        assert number["value"] == pytest.approx(entry["value"], abs=1e-12)
        assert number["ci"] == pytest.approx(entry["ci"], abs=1e-12)
        assert number["verdict"] is None and number["feature"] == "grp"
    lines = summary_lines(without_policy)
    assert lines[0].startswith("Overall verdict: – No policy")
    assert not any(x.rstrip().endswith(("PASS", "FAIL")) for x in lines)


def test_regression_key_numbers_are_errors_and_their_disparities():
    rng = np.random.default_rng(0)
    n = 600
    frame = pd.DataFrame({"grp": rng.choice(["a", "b"], n), "y": rng.normal(size=n)})
    frame["pred"] = frame["y"] + rng.normal(scale=np.where(frame["grp"] == "a", 0.2, 0.6))
    saved = audit.run(
        {"data": {"task": "regression"}},
        data=frame,
        target="y",
        sensitive="grp",
        predictions="pred",
        fairness=RESAMPLES,
        mitigation={"strategies": ["none"]},
        seed=1,
    ).to_dict()
    numbers = key_numbers(saved)
    measures = [n["measure"] for n in numbers]
    assert measures[:3] == ["MAE", "RMSE", "R²"]
    assert "MAE difference" in measures
    assert numbers[0]["value"] == pytest.approx(saved["performance"]["mae"])


def test_cramers_v_reads_the_same_everywhere(demo_dir, demo_result):
    html = (demo_dir / "report.html").read_text(encoding="utf-8")
    (proxy,) = [
        a
        for a in demo_result["quality"]["tables"]["proxies"]["associations"]
        if a["feature"] == "region" and a["sensitive"] == "race"
    ]
    expected = number_text(proxy["value"])
    assert demo_result["explanations"]["proxies"]["important"][0]["association"] == pytest.approx(
        proxy["value"], abs=1e-12
    )
    shown = []
    # The data-quality association table is in the annex (A1); the explanations show the
    # proxy in the body and every association in the annex (A4).
    sections = ("quality", "annex-data", "explanations", "annex-explanations")
    found = set()
    for section in sections:
        start = html.index(f'<section id="{section}"')
        body = html[start : html.index("</section>", start)]
        # The principal-reasons tables count decisions, not associations: left out.
        body = re.sub(r'<table class="reasons">.*?</table>', "", body, flags=re.S)
        rows = [r.split("</tr>")[0] for r in body.split("<tr>")]
        rows = [r for r in rows if "<code>region</code>" in r and "race" in r]
        found |= {section} if rows else set()
        shown += [re.search(r'class="num">([0-9.]+)', r).group(1) for r in rows]
    assert found & {"quality", "annex-data"} and found & {"explanations", "annex-explanations"}
    start = html.index('<ul class="findings">')
    findings = html[start : html.index("</ul>", start)]
    shown += re.findall(r"Cramér&#39;s V ([0-9.]+)\)", findings)
    # Wherever else a sentence names the pair's Cramér's V (e.g. the principal-reasons flag).
    pair = r"<code>region</code> \(proxy of <code>race</code>, Cramér&#39;s V ([0-9.]+)\)"
    mentions = re.findall(pair, html)
    assert mentions
    shown += mentions
    assert len(shown) >= 4 and set(shown) == {expected}, shown


def _csv(tmp_path, frame: pd.DataFrame) -> str:
    path = tmp_path / "decisions.csv"
    frame.to_csv(path, index=False)
    return str(path)


def _run(tmp_path, data: str, *extra: str):
    out = tmp_path / "out"
    args = ["run", "--data", data, "--target", "y", "--prediction-column", "pred"]
    args += ["--sensitive", "grp", "--format", "json", "--mitigate", "none"]
    args += ["--resamples", "200", "--seed", "1", "--out", out, *extra]
    return run_cli(*args), out


def test_run_without_a_policy_ends_with_the_summary(tmp_path):
    done, out = _run(tmp_path, _csv(tmp_path, decisions()))
    assert done.exit_code == 0, done.output
    lines = done.stdout.splitlines()
    assert "Overall verdict: – No policy" in done.stdout
    start = lines.index("Key numbers (95% intervals):")
    assert lines[start + 1].split()[:1] == ["Accuracy"]
    assert any(x.strip().startswith("Demographic parity ratio — grp") for x in lines)
    assert lines[-1].startswith("Wrote ") and str(out / "results.json") in lines[-1]
    assert len(lines) - lines.index("") <= 20  # the summary is short


def test_run_with_a_failing_policy_keeps_its_lines_and_exit_code(tmp_path):
    data = _csv(tmp_path, decisions())
    done, out = _run(tmp_path, data, "--fail-on", "demographic_parity_ratio>=0.8")
    assert done.exit_code == 1, done.output
    # The policy's own lines (stderr when it fails), then the summary on stdout.
    assert "Exit code 1: the policy failed" in done.stderr
    assert done.stdout.splitlines()[0] == ""
    assert "Overall verdict: ✗ Fail: 1 of 1 rule checks fail the gate 'default'." in done.stdout
    line = next(x for x in done.stdout.splitlines() if "Demographic parity ratio" in x)
    assert "B vs A" in line and line.rstrip().endswith("FAIL")
    assert "Top findings:" in done.stdout and "Wrote " in done.stdout


def test_quiet_prints_nothing_on_stdout(tmp_path):
    data = _csv(tmp_path, decisions())
    done, out = _run(tmp_path, data, "--quiet")
    assert done.exit_code == 0 and done.stdout == "" and (out / "results.json").is_file()
    failed, _ = _run(
        tmp_path, data, "--quiet", "--force", "--fail-on", "demographic_parity_ratio>=0.8"
    )
    assert failed.exit_code == 1 and failed.stdout == ""
    assert "Exit code 1" in failed.stderr  # a failed gate is still reported, like an error


def test_hostile_labels_are_escaped_in_the_summary(tmp_path):
    evil = "B\x1b]0;PWNED\x07\x1b[31m"
    frame = decisions(labels=("A", evil, "C"))
    saved = audit_of(frame, ["demographic_parity_ratio >= 0.8"])
    lines = summary_lines(saved, [tmp_path / "results.json"])
    text = "\n".join(lines)
    assert "\x1b" not in text and "\x07" not in text
    assert "\\x1b]0;PWNED\\x07" in text  # shown, escaped, as the groups behind the ratio
    done, _ = _run(tmp_path, _csv(tmp_path, frame))
    assert done.exit_code == 0, done.output
    assert "\x1b" not in done.output and "\\x1b]0;PWNED" in done.stdout


def test_a_groups_ratio_to_the_reference_has_three_decimals_like_the_verdict(demo_dir, demo_result):
    html = (demo_dir / "report.html").read_text(encoding="utf-8")
    race = next(f for f in demo_result["fairness"]["features"] if f["feature"] == "race")
    black = next(g for g in race["groups"] if g["group"] == "Black")
    ratio = black["vs_reference"]["selection_rate"]["ratio"]
    (verdict,) = [
        v
        for v in demo_result["verdicts"]
        if v["feature"] == "race" and v["metric"] == "demographic_parity_ratio"
    ]
    assert ratio == pytest.approx(verdict["value"], abs=1e-12)  # Black vs White, both
    assert f"×{number_text(ratio)}<" in html and f"×{ratio:.2f}<" not in html
