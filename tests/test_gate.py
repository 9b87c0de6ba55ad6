"""The policy gate a release manager relies on: a clear violation never passes, ratio
intervals survive groups with no selections, every verdict names its groups, and the
minimum group size applies to each rate's denominator. Expected values are hand counts."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli

from audit.config import build_config
from audit.metrics import measure
from audit.metrics.intervals import disparity_interval
from audit.policy import summary_lines
from audit.result.sections import PolicySummary, Verdict
from audit.vocabulary.metrics import ALL_DISPARITIES

RESAMPLES = "300"


def from_counts(group: str, tn: int, fp: int, fn: int, tp: int) -> pd.DataFrame:
    """Rows of ``group`` with exactly these confusion counts."""
    y = [0] * (tn + fp) + [1] * (fn + tp)
    pred = [0] * tn + [1] * fp + [0] * fn + [1] * tp
    return pd.DataFrame({"grp": group, "y": y, "pred": pred})


def selected(group: str, n: int, chosen: int) -> pd.DataFrame:
    """``n`` rows, half of them positive, ``chosen`` predicted positive (spread over y)."""
    positives = n // 2
    tp = chosen // 2
    return from_counts(group, n - positives - (chosen - tp), chosen - tp, positives - tp, tp)


def frame(*parts: pd.DataFrame) -> pd.DataFrame:
    return pd.concat(parts, ignore_index=True)


@pytest.fixture
def audit(tmp_path):
    """Run `rai-audit run` on a frame of decisions; returns (exit code, output, results)."""

    def run(data: pd.DataFrame, *extra: str):
        path = tmp_path / "decisions.csv"
        data.to_csv(path, index=False)
        out = tmp_path / "out"
        result = run_cli(
            "run",
            "--data",
            path,
            "--target",
            "y",
            "--prediction-column",
            "pred",
            "--sensitive",
            "grp",
            "--format",
            "json",
            "--mitigate",
            "none",
            "--resamples",
            RESAMPLES,
            "--out",
            out,
            *extra,
        )
        assert result.exit_code in (0, 1, 2), result.output
        saved = (out / "results.json").read_text() if (out / "results.json").exists() else "{}"
        return result.exit_code, result.output, json.loads(saved)

    return run


# A 2000/300/300 split; B and C are each selected once in 300 rows, A 600 times in 2000.
SEVERE = frame(selected("A", 2000, 600), selected("B", 300, 1), selected("C", 300, 1))


def test_severe_violation_fails_with_an_interval_near_zero(audit):
    code, output, saved = audit(SEVERE, "--fail-on", "demographic_parity_ratio>=0.8")
    assert code == 1, output
    (verdict,) = saved["verdicts"]
    # min / max of the selection rates: (1/300) / (600/2000).
    assert verdict["value"] == pytest.approx((1 / 300) / 0.3)
    low, high = verdict["ci"]
    assert low == pytest.approx(0.0, abs=1e-9) and verdict["value"] <= high < 0.8
    assert verdict["verdict"] == "fail" and verdict["fails_gate"]
    assert verdict["groups_behind"] in ("B vs A", "C vs A")
    assert verdict["groups_behind"] in output and "FAIL" in output
    # Every ratio disparity of the selection rates has an interval now.
    entries = {d["metric"]: d for d in saved["fairness"]["features"][0]["disparities"]}
    for name in ("demographic_parity_ratio", "demographic_parity_ratio_vs_reference"):
        assert entries[name]["ci"] is not None and entries[name]["ci"][0] == pytest.approx(0.0)


def test_groups_with_no_selections_give_a_ratio_interval_not_an_undefined_one():
    """Two groups at 0: their log-ratio is -inf - -inf; they are at parity, and the interval
    of min / max is still formed, reaching 0."""
    rng = np.random.default_rng(0)
    n = np.array([2000, 300, 300])
    rates = np.array([0.3, 1 / 300, 0.0])
    samples = rng.binomial(n, rates, size=(400, 3)) / n
    point = rates.copy()
    spec = ALL_DISPARITIES["demographic_parity_ratio"]
    taking_part = {"selection_rate": np.arange(3)}
    ci, undefined = disparity_interval(
        spec, {"selection_rate": samples}, {"selection_rate": point}, taking_part, None, 0.95
    )
    assert undefined == 0.0
    assert ci is not None and ci[0] == 0.0
    # Independent: the plain percentile interval of min / max over the same resamples lies
    # inside the (conservative, simultaneous) interval.
    direct = samples.min(axis=1) / samples.max(axis=1)
    assert ci[1] >= np.percentile(direct, 97.5) - 1e-12


# Inconclusive cases: a reference of 2000 rows selected at 0.5, and one small group.
VIOLATING_POINT = frame(selected("A", 2000, 1000), selected("B", 60, 19))  # 0.633
SATISFYING_POINT = frame(selected("A", 2000, 1000), selected("B", 40, 17))  # 0.85


@pytest.mark.parametrize(
    "data, point, expected",
    [
        # gate -> exit code
        (VIOLATING_POINT, (19 / 60) / 0.5, {"": 1, "conclusive": 0, "strict": 1}),
        (SATISFYING_POINT, (17 / 40) / 0.5, {"": 0, "conclusive": 0, "strict": 1}),
    ],
)
def test_inconclusive_verdicts_under_each_gate(audit, data, point, expected):
    for gate, code_expected in expected.items():
        extra = ["--gate", gate] if gate else []
        code, output, saved = audit(data, "--fail-on", "demographic_parity_ratio>=0.8", *extra)
        (verdict,) = saved["verdicts"]
        assert verdict["verdict"] == "inconclusive", verdict
        low, high = verdict["ci"]
        assert low < 0.8 <= high
        assert verdict["value"] == pytest.approx(point)
        assert verdict["point_violates"] is (point < 0.8)
        assert code == code_expected, (gate, output)
        assert verdict["fails_gate"] is bool(code_expected)
        assert saved["policy"]["gate"] == (gate or "default")
        assert verdict["groups_behind"] == "B vs A"
    code, _, saved = audit(data, "--fail-on", "demographic_parity_ratio>=0.8", "--strict")
    assert code == 1 and saved["policy"]["gate"] == "strict"


def test_the_default_gate_says_why_an_inconclusive_verdict_fails(audit):
    code, output, _ = audit(VIOLATING_POINT, "--fail-on", "demographic_parity_ratio>=0.8")
    assert code == 1
    line = next(x for x in output.splitlines() if "INCONCLUSIVE" in x)
    assert "B vs A" in line and "fails the gate" in line and "point estimate" in line


def test_junit_failure_for_a_verdict_failing_by_its_point(audit, tmp_path):
    junit = tmp_path / "junit.xml"
    rule = ["--fail-on", "demographic_parity_ratio>=0.8", "--junit", str(junit)]
    code, _, _ = audit(VIOLATING_POINT, *rule)
    assert code == 1
    suite = ET.parse(junit).getroot().find("testsuite")
    (case,) = suite.findall("testcase")
    failure = case.find("failure")
    assert failure is not None and case.find("skipped") is None
    assert failure.get("type") == "inconclusive" and "B vs A" in failure.get("message")
    assert suite.get("failures") == "1" and suite.get("skipped") == "0"
    code, _, _ = audit(VIOLATING_POINT, *rule, "--gate", "conclusive")
    assert code == 0
    (case,) = ET.parse(junit).getroot().iter("testcase")
    assert case.find("skipped") is not None and case.find("failure") is None


def test_strict_and_another_gate_contradict(audit):
    code, output, _ = audit(SEVERE, "--strict", "--gate", "conclusive")
    assert code == 2 and "--strict" in output


def test_policy_strict_in_the_config_is_the_strict_gate():
    assert build_config(None, {"policy": {"strict": True}}).policy.gate == "strict"
    assert build_config(None, {"policy": {"strict": False}}).policy.gate == "default"
    assert build_config(None, {"policy": {"gate": "conclusive"}}).policy.gate == "conclusive"
    with pytest.raises(Exception, match="contradicts policy.gate"):
        build_config(None, {"policy": {"strict": True, "gate": "conclusive"}})


# --- the groups behind each value --------------------------------------------------


def measured(data: pd.DataFrame, rules: list[str], **fairness):
    fairness = {"bootstrap": {"resamples": 200}, **fairness}
    config = build_config(None, {"policy": rules, "fairness": fairness})
    return measure(
        data["y"].to_numpy(),
        data["pred"].to_numpy(),
        None,
        data[["grp"]],
        config.fairness,
        config.policy,
    )


def test_each_disparity_names_the_groups_behind_its_value():
    # Selection rates A 0.5 (reference: largest), B 0.2, C 0.4.
    # TPR (tp / (fn + tp)): A 400/500 = 0.8, B 60/150 = 0.4, C 100/150 = 0.667.
    # FPR (fp / (tn + fp)): A 100/500 = 0.2, B 0/150 = 0, C 20/150 = 0.133.
    data = frame(
        from_counts("A", 400, 100, 100, 400),
        from_counts("B", 150, 0, 90, 60),
        from_counts("C", 130, 20, 50, 100),
    )
    rules = [
        "demographic_parity_ratio >= 0.8",
        "demographic_parity_difference_vs_reference <= 0.1",
        "equalized_odds_difference <= 0.1",
        "equalized_odds_mean_difference <= 0.1",
        "fnr_parity_difference <= 0.1",
        "grp: tpr >= 0.5",
    ]
    out = measured(data, rules)
    behind = {(v["metric"], v.get("group")): v["groups_behind"] for v in out["verdicts"]}
    assert behind[("demographic_parity_ratio", None)] == "B vs A"
    assert behind[("demographic_parity_difference_vs_reference", None)] == "B vs A (reference)"
    # TPR gap 0.8 - 0.4 = 0.4 > FPR gap 0.2 - 0: the worse of the two is TPR's.
    assert behind[("equalized_odds_difference", None)] == "TPR: B vs A"
    assert behind[("equalized_odds_mean_difference", None)] == "TPR: B vs A; FPR: B vs A"
    # FNR: A 0.2 (lowest), B 0.6 (highest).
    assert behind[("fnr_parity_difference", None)] == "A vs B"
    assert behind[("tpr", "B")] == "B"
    entries = {d["metric"]: d for d in out["fairness"][0]["disparities"]}
    assert entries["demographic_parity_ratio"]["value"] == pytest.approx(0.2 / 0.5)
    assert entries["disparate_impact"]["groups_behind"] == "B vs A (reference)"
    assert entries["average_odds_difference"]["groups_behind"] == "B vs A (reference)"
    policy = PolicySummary.model_validate(out["policy"])
    verdicts = [Verdict.model_validate(v) for v in out["verdicts"]]
    lines = "\n".join(summary_lines(policy, verdicts))
    assert "(B vs A)" in lines and "(TPR: B vs A)" in lines


# --- the minimum group size on each rate's denominator ----------------------------

REFERENCE = [from_counts("A", 400, 100, 100, 400), from_counts("B", 350, 150, 150, 350)]


@pytest.mark.parametrize(
    "counts, short, noun, size",
    [
        ((400, 95, 3, 2), {"tpr", "fnr"}, "actual positives (y = 1)", 5),
        ((2, 3, 200, 295), {"tnr", "fpr"}, "actual negatives (y = 0)", 5),
        ((300, 5, 190, 5), {"precision", "fdr"}, "predicted positives", 10),
        ((5, 300, 5, 190), {"npv", "for"}, "predicted negatives", 10),
    ],
)
def test_min_group_size_applies_to_each_rates_denominator(counts, short, noun, size):
    data = frame(*REFERENCE, from_counts("C", *counts))
    out = measured(data, ["grp: tpr >= 0.1", "grp: fpr <= 0.9", "grp: precision >= 0.01"])
    feature = out["fairness"][0]
    group_c = next(g for g in feature["groups"] if g["group"] == "C")
    assert group_c["n"] == 500 and group_c["insufficient"] is False  # enough rows
    assert set(group_c["insufficient_metrics"]) == short
    for metric in short:
        assert group_c["insufficient_metrics"][metric].startswith(f"{size} {noun}")
    # Rules on those rates give "insufficient data" for C, naming the denominator.
    for verdict in out["verdicts"]:
        if verdict["group"] == "C" and verdict["metric"] in short:
            assert verdict["verdict"] == "insufficient data"
            assert f"{size} {noun}" in verdict["reason"]
        elif verdict["group"] == "C":
            assert verdict["verdict"] != "insufficient data"
    # C takes no part in disparities of those rates, but does in the others.
    entries = {d["metric"]: d for d in feature["disparities"]}
    for name, entry in entries.items():
        spec = ALL_DISPARITIES[name]
        if set(spec.metrics) & short:
            assert "C" in entry["left_out"], name
            if len(spec.metrics) == 1:  # (equalized odds still compares C on its other rate)
                assert "C" not in entry["groups_compared"], name
        else:
            assert "C" in entry["groups_compared"] and "left_out" not in entry, name
    # Selection rate rests on all 500 rows: C is in demographic parity.
    assert entries["demographic_parity_difference"]["value"] == pytest.approx(
        max(0.5, 0.5, sum(counts[i] for i in (1, 3)) / 500)
        - min(0.5, 0.5, sum(counts[i] for i in (1, 3)) / 500)
    )


def test_equal_opportunity_without_the_group_short_of_positives():
    # C: 500 rows but 3 positives. Equal opportunity compares A (TPR 0.8) and B (0.7) only.
    data = frame(*REFERENCE, from_counts("C", 400, 97, 1, 2))
    out = measured(data, ["equal_opportunity_difference <= 0.05"])
    entry = next(
        d
        for d in out["fairness"][0]["disparities"]
        if d["metric"] == "equal_opportunity_difference"
    )
    assert entry["groups_compared"] == ["A", "B"]
    assert entry["value"] == pytest.approx(0.8 - 0.7)
    assert entry["left_out"] == {"C": "3 actual positives (y = 1)"}
    (verdict,) = out["verdicts"]
    assert "C with 3 actual positives (y = 1)" in verdict["reason"]
    # With only A and C, no two groups have 30 positives: insufficient data.
    out = measured(
        frame(REFERENCE[0], from_counts("C", 400, 97, 1, 2)),
        ["equal_opportunity_difference <= 0.05"],
    )
    (verdict,) = out["verdicts"]
    assert verdict["verdict"] == "insufficient data"
    assert "30 actual positives (y = 1) for tpr" in verdict["reason"]
    assert not verdict["fails_gate"]


# --- no interval: the verdict follows the point estimate ---------------------------


@pytest.mark.parametrize("b_tp, expected", [(0, "fail"), (1, "pass")])
def test_no_interval_verdict_follows_the_point_estimate(b_tp, expected):
    # B has a single positive among 40 rows: its TPR is undefined in (39/40)^40 = 36% of
    # resamples, so no interval can be formed for the TPR difference. TPR A = 0.96.
    data = frame(
        from_counts("A", 500, 20, 20, 480), from_counts("B", 39 - b_tp, b_tp, 1 - b_tp, b_tp)
    )
    out = measured(
        data, ["equal_opportunity_difference <= 0.1", "grp: tpr >= 0.5"], min_group_size=1
    )
    by_rule = {(v["metric"], v.get("group")): v for v in out["verdicts"]}
    disparity = by_rule[("equal_opportunity_difference", None)]
    assert disparity["ci"] is None
    assert disparity["value"] == pytest.approx(abs(0.96 - b_tp))
    assert disparity["verdict"] == expected
    assert "no interval" in disparity["reason"] and "point estimate" in disparity["reason"]
    assert disparity["fails_gate"] is (expected == "fail")
    group = by_rule[("tpr", "B")]
    assert group["ci"] is None and group["verdict"] == expected
    assert group["reason"].startswith("no interval")


# --- the report reads the same decision ----------------------------------------------


def test_report_shows_the_groups_and_the_gate_of_each_verdict(demo_dir, demo_result):
    from html import escape

    from audit.metrics.verdicts import GATES

    html = (demo_dir / "report.html").read_text().replace("<wbr>", "")
    start = html.index('<section id="verdicts">')
    section = html[start : html.index("</section>", start)]
    verdicts = demo_result["verdicts"]
    for verdict in verdicts:
        assert escape(verdict["groups_behind"]) in section, verdict
    failing = sum(v["fails_gate"] for v in verdicts)
    assert failing == len(demo_result["policy"]["failing"]) > 0
    assert section.count("<strong>fails</strong>") == failing
    assert "(gate: default)" in section
    appendix = html[html.index('<section id="appendix"') :]
    assert escape(GATES["default"]) in appendix and "denominator" in appendix
    race = next(f for f in demo_result["fairness"]["features"] if f["feature"] == "race")
    ratio = next(d for d in race["disparities"] if d["metric"] == "demographic_parity_ratio")
    assert f'<span class="ci behind">{escape(ratio["groups_behind"])}</span>' in html
