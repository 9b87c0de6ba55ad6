"""EEOC adverse impact (29 CFR 1607.4(D)): every figure against an independent reference —
scipy's Fisher test and Katz interval, hand formulas, a hand Holm computation, a simulation
of the test's power — and the findings on 2×2 tables worked out by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape
from scipy.stats import fisher_exact, norm
from scipy.stats.contingency import relative_risk

from audit.compliance.adverse_impact import (
    INDICATED,
    NOT_INDICATED,
    REFERENCE,
    TOO_SMALL,
    adverse_impact,
    detection_power,
    holm,
    minimum_detectable_ratio,
)
from audit.compliance.eeoc import eeoc_section
from audit.errors import AuditError
from audit.report.render import environment
from audit.text import p_value_text


def _row(counts: dict[str, tuple[int, int]], group: str, confidence: float = 0.95) -> dict:
    return next(r for r in adverse_impact(counts, confidence)["groups"] if r["group"] == group)


# --- Fisher, Z, Katz ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "counts",
    [
        {"A": (20, 100), "B": (10, 100)},
        {"A": (45, 50), "B": (30, 60)},
        {"A": (7, 9), "B": (0, 12)},
        {"A": (500, 1000), "B": (430, 1000)},
        {"A": (3, 3), "B": (1, 2)},
    ],
)
def test_fisher_p_equals_scipy(counts):
    (s0, n0), (s1, n1) = counts["A"], counts["B"]
    row = _row(counts, "B")
    expected = fisher_exact([[s1, n1 - s1], [s0, n0 - s0]], alternative="two-sided")[1]
    assert row["fisher_p"] == pytest.approx(expected, rel=1e-12, abs=1e-15)
    # One comparison: Holm leaves the p-value as it is.
    assert row["fisher_p_holm"] == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_fisher_p_of_the_lady_tasting_tea_by_hand():
    # 3 of 4 vs 1 of 4: tables at least as extreme are 3/1, 4/0 and the mirror ones;
    # P(3/1) = C(4,3)C(4,1)/C(8,4) = 16/70, P(4/0) = 1/70: two-sided p = 34/70.
    assert _row({"A": (3, 4), "B": (1, 4)}, "B")["fisher_p"] == pytest.approx(34 / 70, rel=1e-12)


def test_z_test_is_the_pooled_two_proportion_test_by_hand():
    row = _row({"A": (20, 100), "B": (10, 100)}, "B")
    pooled = 30 / 200
    z = (0.10 - 0.20) / math.sqrt(pooled * (1 - pooled) * (1 / 100 + 1 / 100))
    assert row["z"] == pytest.approx(z, rel=1e-12)
    assert row["z"] == pytest.approx(-1.980295, abs=1e-6)
    assert row["z_p"] == pytest.approx(math.erfc(abs(z) / math.sqrt(2)), rel=1e-10)


def test_z_test_is_undefined_without_variation_not_nan():
    # Everyone selected in both groups: there is no variation to test.
    row = _row({"A": (40, 40), "B": (30, 30)}, "B")
    assert row["z"] is None and row["z_p"] is None
    assert row["fisher_p"] == pytest.approx(1.0)


@pytest.mark.parametrize("counts", [(10, 100, 20, 100), (45, 60, 40, 45), (3, 9, 8, 10)])
def test_impact_ratio_interval_is_the_katz_interval_of_scipy(counts):
    s1, n1, s0, n0 = counts
    row = _row({"A": (s0, n0), "B": (s1, n1)}, "B", confidence=0.9)
    reference = relative_risk(s1, n1, s0, n0)
    low, high = reference.confidence_interval(confidence_level=0.9)
    assert row["impact_ratio"] == pytest.approx(reference.relative_risk, rel=1e-12)
    assert row["impact_ratio_ci"] == pytest.approx([low, high], rel=1e-10)


def test_katz_interval_with_a_zero_cell_adds_one_half_to_each_cell():
    # 0 of 50 vs 20 of 50: the plain Katz interval is undefined (log 0); with 0.5 added to
    # each cell the group is 0.5 of 51 and the reference 20.5 of 51.
    row = _row({"A": (20, 50), "B": (0, 50)}, "B")
    log_ratio = math.log((0.5 / 51) / (20.5 / 51))
    spread = math.sqrt(1 / 0.5 - 1 / 51 + 1 / 20.5 - 1 / 51)
    high = math.exp(log_ratio + 1.959963985 * spread)
    assert row["impact_ratio"] == pytest.approx(0.0, abs=1e-12)  # the observed ratio
    assert row["impact_ratio_ci"][0] == pytest.approx(0.0, abs=1e-12)  # the point is inside
    assert row["impact_ratio_ci"][1] == pytest.approx(high, rel=1e-8)


# --- flip checks ------------------------------------------------------------------------------


def test_flip_that_changes_the_conclusion():
    # 15 of 100 vs 20 of 100: ratio 0.75, below four-fifths; one more of the group selected
    # makes it 16/100 ÷ 20/100 = 0.80 exactly, no longer below (exact, not 0.7999…).
    row = _row({"A": (20, 100), "B": (15, 100)}, "B")
    assert row["impact_ratio"] == pytest.approx(0.75)
    assert row["below_four_fifths"] is True
    one, two = row["flips"]
    assert (one["added"], one["selected"]) == (1, 16)
    assert one["impact_ratio"] == pytest.approx(0.80)
    assert one["below_four_fifths"] is False
    assert two["impact_ratio"] == pytest.approx(0.85) and two["below_four_fifths"] is False
    # Fisher p = 0.457 (scipy), not significant: the finding rests on one person.
    assert fisher_exact([[15, 85], [20, 80]])[1] > 0.05
    assert row["finding"] == TOO_SMALL
    assert "one more person of the group selected" in row["sentence"]


def test_flip_that_does_not_change_the_conclusion():
    # 10 of 100 vs 20 of 100: ratio 0.5; with 1 or 2 more selected 0.55 and 0.60; with 1 or 2
    # fewer of the reference selected 10/19 = 0.526 and 10/18 = 0.556: still below 0.8.
    row = _row({"A": (20, 100), "B": (10, 100)}, "B")
    one, two = row["flips"]
    assert [one["impact_ratio"], two["impact_ratio"]] == pytest.approx([0.55, 0.60])
    assert one["below_four_fifths"] and two["below_four_fifths"]
    sides = [one["reference_side"], two["reference_side"]]
    assert [s["reference_selected"] for s in sides] == [19, 18]
    assert [s["impact_ratio"] for s in sides] == pytest.approx([10 / 19, 10 / 18])
    assert all(s["below_four_fifths"] for s in sides)
    # Fisher p = 0.073 (scipy): not significant, but not resting on one or two people: the
    # four-fifths rule's evidence stands.
    p = fisher_exact([[10, 90], [20, 80]])[1]
    assert 0.05 < p < 0.1 and row["fisher_p"] == pytest.approx(p)
    assert row["finding"] == INDICATED
    assert (
        "four-fifths rule" in row["sentence"] and "not statistically significant" in row["sentence"]
    )
    # And the flipped p-values are Fisher's on the flipped tables.
    assert one["fisher_p_holm"] == pytest.approx(fisher_exact([[11, 89], [20, 80]])[1])
    assert sides[1]["fisher_p_holm"] == pytest.approx(fisher_exact([[10, 90], [18, 82]])[1])


def test_a_small_reference_group_makes_the_ratio_fragile():
    # 1300 of 10000 vs a reference of 5 of 30: ratio 0.13 / (1/6) = 0.78; one or two more of
    # the group selected leave it below 0.8, but one fewer of the reference selected (4 of 30)
    # makes it 0.13 / (4/30) = 0.975: the ratio rests on one person of the reference.
    row = _row({"A": (5, 30), "B": (1300, 10000)}, "B")
    assert row["impact_ratio"] == pytest.approx(0.78)
    assert fisher_exact([[1300, 8700], [5, 25]])[1] > 0.05
    assert row["flips"][0]["below_four_fifths"] is True  # the group side does not cross
    assert row["flips"][1]["below_four_fifths"] is True
    side = row["flips"][0]["reference_side"]
    assert side["impact_ratio"] == pytest.approx(0.13 / (4 / 30))
    assert side["below_four_fifths"] is False
    assert row["finding"] == TOO_SMALL
    assert "one fewer person of A selected" in row["sentence"]


def test_flips_stop_at_the_whole_group():
    # A group of one, not selected: one more selected is the whole group, and so is "two".
    row = _row({"A": (5, 10), "B": (0, 1)}, "B")
    assert [f["added"] for f in row["flips"]] == [1, 1]
    assert [f["selected"] for f in row["flips"]] == [1, 1]
    assert row["finding"] == TOO_SMALL


# --- Holm -------------------------------------------------------------------------------------


def test_holm_by_hand():
    # Sorted: 0.005×4 = 0.02, 0.01×3 = 0.03, 0.03×2 = 0.06, 0.04×1 = 0.04 → max so far 0.06.
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])  # capped at 1
    assert holm([0.02]) == pytest.approx([0.02])


def test_adjusted_p_values_are_holm_across_the_comparisons_of_a_feature():
    counts = {"A": (60, 100), "B": (40, 100), "C": (45, 100), "D": (50, 100)}
    rows = {r["group"]: r for r in adverse_impact(counts)["groups"]}
    raw = {g: fisher_exact([[s, n - s], [60, 40]])[1] for g, (s, n) in counts.items() if g != "A"}
    order = sorted(raw, key=raw.get)  # smallest first: B, C, D
    steps = [min(1.0, (3 - i) * raw[g]) for i, g in enumerate(order)]
    expected = dict(zip(order, np.maximum.accumulate(steps), strict=True))
    for group in ("B", "C", "D"):
        assert rows[group]["fisher_p"] == pytest.approx(raw[group], rel=1e-12)
        assert rows[group]["fisher_p_holm"] == pytest.approx(expected[group], rel=1e-12)


# --- minimum detectable ratio -------------------------------------------------------------


def test_minimum_detectable_ratio_has_power_080_by_simulation():
    n1, n0, p0, alpha = 400, 300, 0.3, 0.05
    ratio = minimum_detectable_ratio(p0, n1, n0, alpha)
    p1 = ratio * p0
    rng = np.random.default_rng(7)
    draws = 40_000
    x1, x0 = rng.binomial(n1, p1, draws), rng.binomial(n0, p0, draws)
    pooled = (x1 + x0) / (n1 + n0)
    z = (x1 / n1 - x0 / n0) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
    power = np.mean(np.abs(z) > norm.ppf(1 - alpha / 2))
    assert power == pytest.approx(0.8, abs=0.015)


def test_minimum_detectable_ratio_matches_the_sample_size_formula():
    # The textbook sample size for two proportions (equal groups, no continuity correction):
    # n = (z_a sqrt(2 p̄ q̄) + z_b sqrt(p1 q1 + p0 q0))² / (p0 − p1)². At the minimum detectable
    # rate it must give back the n the ratio was computed for.
    n, p0 = 250, 0.4
    p1 = minimum_detectable_ratio(p0, n, n, 0.05) * p0
    pbar = (p1 + p0) / 2
    za, zb = norm.ppf(0.975), norm.ppf(0.8)
    needed = (
        za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p1 * (1 - p1) + p0 * (1 - p0))
    ) ** 2 / (p0 - p1) ** 2
    assert needed == pytest.approx(n, rel=1e-3)  # the other tail adds < 0.1%
    assert detection_power(p1, p0, n, n, 0.05) == pytest.approx(0.8, abs=1e-8)


def test_minimum_detectable_ratio_grows_with_the_sample_and_is_none_when_hopeless():
    small = minimum_detectable_ratio(0.5, 50, 50, 0.05)
    large = minimum_detectable_ratio(0.5, 5000, 5000, 0.05)
    assert 0 < small < 0.8 < large < 1
    # Two people against two: not even a ratio of 0 is detected with power 0.8.
    assert minimum_detectable_ratio(0.5, 2, 2, 0.05) is None
    assert minimum_detectable_ratio(0.0, 100, 100, 0.05) is None


# --- findings above four-fifths -------------------------------------------------------------


def test_above_four_fifths_significant_in_both_terms_is_indicated():
    # 1600 of 2000 vs 900 of 1000: ratio 0.889, yet Fisher p < 0.001, and still with two more
    # of the group selected or two fewer of the reference.
    row = _row({"A": (900, 1000), "B": (1600, 2000)}, "B")
    assert row["impact_ratio"] == pytest.approx(0.8 / 0.9)
    assert fisher_exact([[1602, 398], [900, 100]])[1] < 0.001
    assert row["finding"] == INDICATED


def test_above_four_fifths_significant_but_not_practically_is_not_indicated():
    # 34 of 40 vs 40 of 40: ratio 0.85, Fisher p = 0.026; with two more selected (36 of 40)
    # p = 0.116: the significance hangs on two people.
    assert fisher_exact([[34, 6], [40, 0]])[1] < 0.05 < fisher_exact([[36, 4], [40, 0]])[1]
    row = _row({"A": (40, 40), "B": (34, 40)}, "B")
    assert row["impact_ratio"] == pytest.approx(0.85)
    assert row["finding"] == NOT_INDICATED
    assert "not in practical terms" in row["sentence"]


def test_above_four_fifths_practical_significance_is_checked_on_the_reference_side_too():
    # 850 of 1000 vs 40 of 40: ratio 0.85, Fisher p = 0.0025. Two more of the group selected
    # (852 of 1000) leave it significant (p = 0.004), but two fewer of the reference (38 of
    # 40) do not (p = 0.106): the significance hangs on two people of the reference.
    assert fisher_exact([[852, 148], [40, 0]])[1] < 0.05
    assert fisher_exact([[850, 150], [38, 2]])[1] > 0.1
    row = _row({"A": (40, 40), "B": (850, 1000)}, "B")
    assert row["impact_ratio"] == pytest.approx(0.85)
    assert row["fisher_p_holm"] == pytest.approx(fisher_exact([[850, 150], [40, 0]])[1])
    two = row["flips"][1]
    assert two["fisher_p_holm"] == pytest.approx(fisher_exact([[852, 148], [40, 0]])[1])
    assert two["reference_side"]["fisher_p_holm"] == pytest.approx(
        fisher_exact([[850, 150], [38, 2]])[1]
    )
    assert row["finding"] == NOT_INDICATED
    assert (
        "not in practical terms" in row["sentence"] and "two fewer people of A" in row["sentence"]
    )


def test_above_four_fifths_not_significant_depends_on_whether_the_sample_could_tell():
    # 27 of 50 vs 30 of 50: ratio 0.9 but only ratios far below 0.8 are detectable.
    small = _row({"A": (30, 50), "B": (27, 50)}, "B")
    assert small["minimum_detectable_ratio"] < 0.8
    assert small["finding"] == TOO_SMALL
    # 4900 of 10000 vs 5000 of 10000: ratio 0.98, not significant, and a ratio of 0.8 would be
    # detected: adverse impact not indicated.
    large = _row({"A": (5000, 10000), "B": (4900, 10000)}, "B")
    assert fisher_exact([[4900, 5100], [5000, 5000]])[1] > 0.05
    assert large["minimum_detectable_ratio"] > 0.8
    assert large["finding"] == NOT_INDICATED


# --- edge cases -------------------------------------------------------------------------------


def test_group_with_no_one_selected_against_a_clear_reference():
    row = _row({"A": (20, 50), "B": (0, 50)}, "B")
    assert row["impact_ratio"] == pytest.approx(0.0, abs=1e-12)
    assert row["fisher_p"] == pytest.approx(fisher_exact([[0, 50], [20, 30]])[1])
    assert row["finding"] == INDICATED


def test_no_one_selected_in_any_group():
    result = adverse_impact({"A": (0, 100), "B": (0, 50)})
    reference, other = result["groups"]
    assert result["reference_group"] == "A"  # equal rates: the larger group
    assert reference["finding"] == REFERENCE and reference["impact_ratio"] is None
    assert other["impact_ratio"] is None and other["impact_ratio_ci"] is None
    assert other["fisher_p"] == pytest.approx(1.0)
    assert other["finding"] == NOT_INDICATED
    json.dumps(result, allow_nan=False)


def test_a_tiny_group_with_the_highest_rate_is_compared_not_the_reference():
    # One person, selected (1 of 1), has the highest rate. Were it the reference, one fewer
    # of it selected would leave no rate at all and every comparison would be "too small to
    # tell" — hiding 150 of 1000 against 500 of 1000 (ratio 0.3, Fisher p < 1e-50).
    counts = {"W": (500, 1000), "B": (150, 1000), "O": (1, 1)}
    result = adverse_impact(counts)
    rows = {r["group"]: r for r in result["groups"]}
    assert result["reference_group"] == "W" and rows["W"]["reference"]
    assert "30 people or more" in result["reference_basis"]
    assert rows["B"]["impact_ratio"] == pytest.approx(0.3)
    assert rows["B"]["finding"] == INDICATED
    # O is still compared with W: ratio 1 / 0.5 = 2, Fisher's p on its own 2×2 table.
    assert rows["O"]["impact_ratio"] == pytest.approx(2.0)
    assert rows["O"]["fisher_p"] == pytest.approx(fisher_exact([[1, 0], [500, 500]])[1])
    assert rows["O"]["finding"] == TOO_SMALL
    # The report states the floor: in the caption, the summary and the notes.
    labels = pd.Series([g for g, (_, n) in counts.items() for _ in range(n)])
    selected = np.array([i < s for _, (s, n) in counts.items() for i in range(n)])
    section = eeoc_section(selected, {"group": labels})
    html = environment().get_template("sections/compliance_eeoc.html.j2").render(section=section)
    assert "<strong>W</strong>, the highest selection rate among groups of 30 people" in html
    assert "at least 30 people" in section["notes"][1]
    assert section["features"][0]["summary"].startswith(
        "Against W (the highest selection rate among groups of 30 people or more"
    )


@pytest.mark.parametrize(("size", "reference"), [(29, "B"), (30, "A")])
def test_the_reference_floor_is_30_people(size, reference):
    # A's rate (2/3) is above B's (10/100); A is the reference from 30 people on.
    result = adverse_impact({"A": (size * 2 // 3, size), "B": (10, 100)})
    assert result["reference_group"] == reference
    assert result["groups"][0]["group"] == reference


def test_groups_of_size_zero_and_one():
    result = adverse_impact({"A": (10, 20), "B": (0, 0), "C": (1, 1)})
    rows = {r["group"]: r for r in result["groups"]}
    # No group has 30 people, so the reference is the highest rate of all: C (1 of 1); A is
    # judged against one person, and the basis says why.
    assert result["reference_group"] == "C"
    assert "no group has 30 people" in result["reference_basis"]
    assert rows["B"]["n"] == 0 and rows["B"]["impact_ratio"] is None
    assert rows["B"]["finding"] == TOO_SMALL
    assert rows["A"]["impact_ratio"] == pytest.approx(0.5)
    # One fewer of the reference selected leaves no rate to compare with: small numbers.
    assert rows["A"]["flips"][0]["reference_side"]["impact_ratio"] is None
    assert rows["A"]["finding"] == TOO_SMALL
    assert "one fewer person of C selected" in rows["A"]["sentence"]
    assert result["groups"][0]["group"] == "C"
    json.dumps(result, allow_nan=False)


def test_bad_counts_are_refused():
    with pytest.raises(ValueError, match="out of"):
        adverse_impact({"A": (5, 4)})


# --- the EEOC section -----------------------------------------------------------------------


def _no_nan(value) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_no_nan(v) for v in value.values())
    if isinstance(value, list):
        return all(_no_nan(v) for v in value)
    return value is None or isinstance(value, str | int | bool)


@pytest.fixture
def hiring():
    # 12 applicants counted by hand: men 4 of 6 selected, women 1 of 4, sex unknown for 2.
    sex = pd.Series(["M", "M", "M", "M", "M", "M", "F", "F", "F", "F", None, np.nan])
    race = pd.Series(["W", "W", "B", "B", "W", "B", "W", "B", "W", "B", "W", "B"])
    selected = np.array([1, 1, 1, 1, 0, 0, 1, 0, 0, 0, 1, 0], dtype=bool)
    return selected, sex, race


def test_eeoc_section_counts_by_hand_and_drops_missing_labels(hiring):
    selected, sex, race = hiring
    section = eeoc_section(selected, {"sex": sex, "race": race})
    assert section["rule"] == "eeoc_uniform_guidelines"
    assert section["adjustment"] == "holm" and section["confidence"] == pytest.approx(0.95)
    by_sex, by_race = section["features"]
    assert by_sex["feature"] == "sex"
    assert (by_sex["rows"], by_sex["rows_without_group"]) == (10, 2)
    rows = {r["group"]: r for r in by_sex["groups"]}
    assert by_sex["reference_group"] == "M"
    assert (rows["M"]["selected"], rows["M"]["n"]) == (4, 6)
    assert (rows["F"]["selected"], rows["F"]["n"]) == (1, 4)
    assert rows["F"]["impact_ratio"] == pytest.approx((1 / 4) / (4 / 6))
    assert rows["F"]["fisher_p"] == pytest.approx(fisher_exact([[1, 3], [4, 2]])[1])
    assert rows["F"]["finding"] == TOO_SMALL  # 4 women: one more hire gives 0.75, two 1.125
    # Race: W 4 of 6 (rows 0,1,4,6,8,10), B 2 of 6 (rows 2,3,5,7,9,11).
    rows = {r["group"]: r for r in by_race["groups"]}
    assert by_race["rows_without_group"] == 0
    assert (rows["W"]["selected"], rows["W"]["n"]) == (4, 6)
    assert (rows["B"]["selected"], rows["B"]["n"]) == (2, 6)
    assert by_race["reference_group"] == "W"
    assert rows["B"]["impact_ratio"] == pytest.approx(0.5)
    assert "W" in by_race["summary"] and "B" in by_race["summary"]


def test_eeoc_section_is_plain_json_without_nan(hiring):
    selected, sex, race = hiring
    everyone_out = pd.Series([None] * 12)
    section = eeoc_section(
        selected,
        {"sex": sex, "sex × race": sex + " × " + race, "empty": everyone_out},
        confidence=0.9,
    )
    json.loads(json.dumps(section, allow_nan=False))
    assert _no_nan(section)
    empty = section["features"][2]
    assert empty["reference_group"] is None and empty["groups"] == []
    assert empty["rows_without_group"] == 12


def test_eeoc_section_takes_non_text_labels_and_integer_decisions():
    section = eeoc_section(np.array([1, 0, 1, 1]), {"age band": pd.Series([1, 1, 2, 2])})
    groups = {r["group"]: r for r in section["features"][0]["groups"]}
    assert set(groups) == {"1", "2"}
    assert groups["1"]["impact_ratio"] == pytest.approx(0.5)


def test_eeoc_section_refuses_bad_input(hiring):
    selected, sex, _ = hiring
    with pytest.raises(AuditError, match="12 decisions"):
        eeoc_section(selected, {"sex": sex[:5]})
    with pytest.raises(AuditError, match="yes/no"):
        eeoc_section(np.array([0.5] * 12), {"sex": sex})
    with pytest.raises(AuditError, match="confidence"):
        eeoc_section(selected, {"sex": sex}, confidence=1.5)


def test_template_renders_the_section(hiring):
    selected, sex, race = hiring
    labels = race.replace({"B": "<b>Black</b>"})
    section = eeoc_section(selected, {"sex": sex, "race": labels})
    html = environment().get_template("sections/compliance_eeoc.html.j2").render(section=section)
    assert 'id="compliance_eeoc"' in html
    assert "four-fifths" in html and "not a legal test" in html
    assert "&lt;b&gt;Black&lt;/b&gt;" in html and "<b>Black</b>" not in html  # escaped
    assert html.count("sample too small to tell") >= 2
    assert "Holm" in html and "2 rows with no known group are left out" in html
    for note in section["notes"]:
        assert str(escape(note)) in html


def test_template_renders_a_feature_with_no_known_group(hiring):
    selected, sex, _ = hiring
    section = eeoc_section(selected, {"sex": sex, "unknown": pd.Series([np.nan] * 12)})
    html = environment().get_template("sections/compliance_eeoc.html.j2").render(section=section)
    assert "No rows with a known group: nothing to compare." in html
    assert "12 rows with no known group are left out" in html
    assert html.count("<table") == 1  # the empty feature has no table


def test_p_values_are_shown_as_text():
    assert p_value_text(0.0004) == "< 0.001"
    assert p_value_text(0.0123) == "0.012"
    assert p_value_text(None) == "—"
    html = environment().from_string("{{ p | p_value }}").render(p=1e-30)
    assert html == "&lt; 0.001"


def test_counts_as_numpy_integers_give_the_exact_ratio():
    # int32 counts (numpy's default integer on Windows): 60,000 × 80,000 overflows int32.
    counts = {"A": (np.int32(64_000), np.int32(80_000)), "B": (np.int32(45_000), np.int32(60_000))}
    row = _row(counts, "B")
    assert row["impact_ratio"] == pytest.approx(0.75 / 0.8, rel=1e-12)
    assert isinstance(row["n"], int) and isinstance(row["selected"], int)
