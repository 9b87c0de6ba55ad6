"""NYC Local Law 144 tables (audit/compliance/ll144.py), the compliance config and flag, and the
standalone summary of results, on small hand-made hiring files whose rates and impact ratios
are counted by hand here."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import needs_tools, run_cli

import audit
from audit.compliance.ll144 import ll144_section
from audit.config import LL144Config, config_from_dict
from audit.errors import AuditError
from audit.report.ll144_summary import ll144_summary_files, render_ll144_summary
from audit.report.render import environment
from audit.text import number_text

# The published summary's page budget (README, audit/report/ll144_summary.py).
LL144_SUMMARY_PAGES = 3

SETTINGS = {
    "audit_date": "2026-12-01",
    "distribution_date": "2025-06-30",
    "data_source": {"kind": "historical", "description": "Applications received in 2025."},
    "sex": "sex",
    "race_ethnicity": "race",
    "categories": {
        "sex": {"M": "Male", "F": "Female"},
        # "X" is mapped to Unknown on purpose: counted as unknown.
        "race": {"W": "White", "B": "Black or African American", "A": "Asian", "X": "Unknown"},
    },
}
EXCLUDE_ASIAN = [
    {"feature": "race_ethnicity", "category": "Asian", "justification": "3 applicants (1.5%)."},
    {
        "feature": "intersection",
        "category": ["Female", "Asian"],
        "justification": "3 applicants (1.5%).",
    },
]

# (sex, race, applicants, selected): 200 applicants. The 3 Asian women (1.5% of the data) are
# all selected, so were they not excluded they would be the highest rate of race and of the
# intersections; 7 have a race mapped to Unknown ("X"), 10 no sex.
CELLS = [
    ("M", "W", 60, 30),
    ("M", "B", 30, 12),
    ("F", "W", 50, 20),
    ("F", "B", 40, 10),
    ("F", "A", 3, 3),
    ("M", "X", 7, 3),
    (None, "W", 10, 5),
]


def hiring_frame() -> pd.DataFrame:
    rows = []
    for sex, race, n, chosen in CELLS:
        rows += [{"sex": sex, "race": race, "decision": int(i < chosen)} for i in range(n)]
    frame = pd.DataFrame(rows)
    frame["hired"] = np.arange(len(frame)) % 2  # the label does not enter LL144
    return frame.sample(frac=1.0, random_state=3).reset_index(drop=True)


def settings(**changes) -> LL144Config:
    return LL144Config.model_validate({**SETTINGS, **changes})


def table(section: dict, dimension: str) -> dict:
    return next(t for t in section["tables"] if t["dimension"] == dimension)


def rows_of(section: dict, dimension: str) -> dict[str, dict]:
    return {row["category"]: row for row in table(section, dimension)["categories"]}


def selection_section(**changes) -> dict:
    frame = hiring_frame()
    return ll144_section(
        frame["decision"].to_numpy(),
        frame["sex"],
        frame["race"],
        settings(**changes),
        "selection",
        "decision",
    )


def macros():
    return environment().get_template("ll144_macros.html.j2").module


def cells(html: str) -> str:
    """The table's text with the markup between cells collapsed to " | "."""
    return re.sub(r"\s*(</?(td|th|tr|code)[^>]*>\s*)+", " | ", html)


def test_the_mapping_table_shows_each_value_and_its_eeo1_category():
    html = str(macros().ll144_mapping(selection_section()))
    text = cells(html)
    for column, value, name in [
        ("sex", "M", "Male"),
        ("sex", "F", "Female"),
        ("race", "W", "White"),
        ("race", "B", "Black or African American"),
        ("race", "A", "Asian"),
        ("race", "X", "Unknown (left out of the impact ratios)"),
        ("race", "missing (empty)", "Unknown (left out of the impact ratios)"),
    ]:
        assert f"| {column} | {value} | {name} |" in text, (column, value)
    # A column without a mapping holds EEO-1 names: said so, not an empty table.
    frame = pd.DataFrame({"sex": ["Male", "Female"], "race": ["W", "B"]})
    unmapped = ll144_section(
        np.array([1, 0]), frame["sex"], frame["race"],
        settings(categories={"race": SETTINGS["categories"]["race"]}), "selection", "",
    )  # fmt: skip
    text = cells(str(macros().ll144_mapping(unmapped)))
    assert "| sex | no mapping: the values are the EEO-1 category names themselves" in text
    assert "| race | W | White |" in text


def test_selection_rates_and_impact_ratios_counted_by_hand():
    section = selection_section(exclude=EXCLUDE_ASIAN)
    assert section["n_applicants"] == 200
    sex = rows_of(section, "sex")
    male, female = 45 / 97, 33 / 93  # (30+12+3)/(60+30+7), (20+10+3)/(50+40+3)
    assert sex["Male"]["applicants"] == 97 and sex["Male"]["selected"] == 45
    assert sex["Female"]["applicants"] == 93 and sex["Female"]["selected"] == 33
    assert sex["Male"]["rate"] == pytest.approx(male)
    assert sex["Male"]["impact_ratio"] == pytest.approx(1.0) and sex["Male"]["highest"]
    assert sex["Female"]["impact_ratio"] == pytest.approx(female / male)
    assert table(section, "sex")["unknown"] == 10
    assert table(section, "sex")["unknown_selected"] == 5

    race = rows_of(section, "race_ethnicity")
    white, black = 55 / 120, 22 / 70
    assert (
        race["White"]["applicants"] == 120 and race["Black or African American"]["applicants"] == 70
    )
    assert race["White"]["impact_ratio"] == pytest.approx(1.0)
    assert race["Black or African American"]["impact_ratio"] == pytest.approx(black / white)
    assert table(section, "race_ethnicity")["unknown"] == 7  # "X", mapped to Unknown
    assert table(section, "race_ethnicity")["unknown_selected"] == 3
    # The excluded category is shown with its count, share and rate, and no ratio.
    asian = race["Asian"]
    assert asian["excluded"] and asian["justification"] == "3 applicants (1.5%)."
    assert (asian["applicants"], asian["selected"]) == (3, 3)
    assert asian["rate"] == pytest.approx(1.0) and asian["share"] == pytest.approx(0.015)
    assert asian.get("impact_ratio") is None

    both = rows_of(section, "intersection")
    assert list(both) == [  # every mapped pair, in EEO-1 order, with applicants or not
        "Male × White",
        "Male × Black or African American",
        "Male × Asian",
        "Female × White",
        "Female × Black or African American",
        "Female × Asian",
    ]
    empty = both["Male × Asian"]
    assert (empty["applicants"], empty["selected"]) == (0, 0)
    assert empty["rate"] is None and empty.get("impact_ratio") is None
    # Highest among those compared: Male × White, 30/60 (the excluded 3/3 is left out).
    expected = {
        "Male × White": (60, 30, 1.0),
        "Male × Black or African American": (30, 12, (12 / 30) / 0.5),
        "Female × White": (50, 20, (20 / 50) / 0.5),
        "Female × Black or African American": (40, 10, (10 / 40) / 0.5),
    }
    for name, (n, chosen, ratio) in expected.items():
        assert (both[name]["applicants"], both[name]["selected"]) == (n, chosen)
        assert both[name]["impact_ratio"] == pytest.approx(ratio)
    assert both["Female × Asian"]["excluded"]
    assert both["Female × Asian"]["parts"] == ["Female", "Asian"]
    # Unknown for the intersection: no sex (10, 5 selected) or no race (7, 3 selected).
    assert table(section, "intersection")["unknown"] == 17
    assert table(section, "intersection")["unknown_selected"] == 8


def test_without_the_exclusion_the_small_category_sets_the_highest_rate():
    race = rows_of(selection_section(), "race_ethnicity")
    assert not race["Asian"]["excluded"]
    assert race["Asian"]["impact_ratio"] == pytest.approx(1.0)
    assert race["White"]["impact_ratio"] == pytest.approx(55 / 120)


def test_no_verdict_and_no_four_fifths_line_in_the_section():
    section = selection_section(exclude=EXCLUDE_ASIAN)
    text = json.dumps(section).lower()
    assert "four-fifths" not in text and "fail" not in text and "pass" not in text
    for part in section["tables"]:
        for row in part["categories"]:
            assert not {"verdict", "flag", "adverse_impact"} & set(row)
    assert any("no threshold" in note for note in section["notes"])


def test_no_one_selected_leaves_every_impact_ratio_undefined_not_zero():
    frame = hiring_frame()
    section = ll144_section(
        np.zeros(len(frame)), frame["sex"], frame["race"], settings(exclude=EXCLUDE_ASIAN),
        "selection", "",
    )  # fmt: skip
    for part in section["tables"]:
        assert all(row.get("impact_ratio") is None for row in part["categories"])
        rates = [row["rate"] for row in part["categories"] if row["applicants"]]
        assert rates == pytest.approx([0.0] * len(rates), abs=1e-12)
    assert sum("no impact ratio is defined" in note for note in section["notes"]) == 3


def test_scoring_rate_is_the_share_above_the_median_of_the_full_sample():
    # Ten applicants scoring 1..10; the two without a sex score highest. The median of the
    # full sample is 5.5 (that of the eight with a known sex would be 4.5).
    frame = pd.DataFrame(
        {
            "sex": ["M", "M", "M", "M", "F", "F", "F", "F", None, None],
            "race": ["W", "B", "W", "B", "W", "B", "W", "B", "W", "W"],
            "score": np.arange(1.0, 11.0),
        }
    )
    section = ll144_section(
        frame["score"].to_numpy(), frame["sex"], frame["race"], settings(), "scoring", "score"
    )
    assert section["median_score"] == pytest.approx(5.5)
    assert section["rate_name"] == "scoring rate"
    sex = rows_of(section, "sex")
    assert (sex["Male"]["selected"], sex["Female"]["selected"]) == (0, 3)  # 6, 7, 8 > 5.5
    assert sex["Female"]["rate"] == pytest.approx(0.75)
    assert sex["Male"]["impact_ratio"] == pytest.approx(0.0)
    assert table(section, "sex")["unknown"] == 2 and table(section, "sex")["unknown_selected"] == 2
    race = rows_of(section, "race_ethnicity")  # W: 1,3,5,7,9,10; B: 2,4,6,8
    assert race["White"]["rate"] == pytest.approx(3 / 6)
    assert race["Black or African American"]["rate"] == pytest.approx(2 / 4)
    both = rows_of(section, "intersection")  # F×W: 5, 7; F×B: 6, 8; M×W: 1, 3; M×B: 2, 4
    female_black = both["Female × Black or African American"]
    assert (female_black["selected"], female_black["impact_ratio"]) == (2, pytest.approx(1.0))
    assert both["Female × White"]["selected"] == 1 and both["Male × White"]["selected"] == 0
    assert both["Female × White"]["impact_ratio"] == pytest.approx(0.5)
    assert both["Male × Black or African American"]["impact_ratio"] == pytest.approx(0.0)


def test_a_score_tied_with_the_median_is_not_counted():
    # Median of 1, 2, 3, 3, 3, 3, 5, 6 is 3: only the 5 and the 6 score strictly above it.
    frame = pd.DataFrame({"sex": ["M", "F"] * 4, "race": ["W"] * 8})
    scores = np.array([1.0, 2.0, 3.0, 3.0, 3.0, 3.0, 5.0, 6.0])
    section = ll144_section(scores, frame["sex"], frame["race"], settings(), "scoring", "")
    assert section["median_score"] == pytest.approx(3.0)
    sex = rows_of(section, "sex")  # M: 1, 3, 3, 5; F: 2, 3, 3, 6
    assert (sex["Male"]["selected"], sex["Female"]["selected"]) == (1, 1)
    assert rows_of(section, "race_ethnicity")["White"]["selected"] == 2
    # Lower is more favourable: strictly below 3 are the 1 and the 2.
    lower = ll144_section(scores, frame["sex"], frame["race"], settings(), "scoring", "", True)
    assert rows_of(lower, "race_ethnicity")["White"]["selected"] == 2
    assert (
        rows_of(lower, "sex")["Male"]["selected"],
        rows_of(lower, "sex")["Female"]["selected"],
    ) == (1, 1)


def test_lower_is_favourable_counts_below_the_median_on_the_scores_own_scale():
    # Ten applicants scoring 1..10, a lower score more favourable: the median is 5.5 (not
    # -5.5) and the applicants counted are those scoring 1..5.
    frame = pd.DataFrame(
        {"sex": ["M", "F"] * 5, "race": ["W", "W", "B", "B", "W", "B", "W", "B", "W", "B"]}
    )
    section = ll144_section(
        np.arange(1.0, 11.0), frame["sex"], frame["race"], settings(), "scoring", "score", True
    )
    assert section["median_score"] == pytest.approx(5.5)
    assert section["favourable_side"] == "below"
    assert section["selected_name"] == "scoring more favourably than (below) the median"
    sex = rows_of(section, "sex")  # M: 1, 3, 5 of 1, 3, 5, 7, 9; F: 2, 4 of 2, 4, 6, 8, 10
    assert (sex["Male"]["selected"], sex["Female"]["selected"]) == (3, 2)
    assert sex["Female"]["impact_ratio"] == pytest.approx(0.4 / 0.6)
    assert any("more favourably than (below) the median" in note for note in section["notes"])


def test_a_lower_is_positive_score_column_publishes_its_own_median(tmp_path):
    frame = hiring_frame()
    frame["risk"] = (np.arange(len(frame)) * 7) % 23 / 2.0  # 0 .. 11, many ties
    config = {
        "data": {"target": "hired", "sensitive": ["sex", "race"]},
        "predictions": {
            "score_column": "risk",
            "threshold": 4.0,
            "score_direction": "lower_is_positive",
        },
        "fairness": {"bootstrap": {"resamples": 0}},
        "explain": {"enabled": False},
        "quality": {"allow_errors": True},
        "compliance": {"rules": ["nyc_ll144"], "nyc_ll144": {**SETTINGS, "mode": "scoring"}},
    }
    result = audit.run(config, data=frame).to_dict()
    section = result["compliance"]["nyc_ll144"]
    median = float(np.median(frame["risk"]))
    assert median > 0 and section["median_score"] == pytest.approx(median)
    assert section["outcome"] == "the score 'risk' (a lower score is more favourable)"
    below = frame["risk"] < median
    counted = below.groupby(frame["sex"]).sum()
    sex = rows_of(section, "sex")
    assert (sex["Male"]["selected"], sex["Female"]["selected"]) == (counted["M"], counted["F"])
    html = render_ll144_summary(result)
    assert "scoring more favourably than (below) the median score" in html
    assert f"applicants ({number_text(median)})" in html
    assert number_text(-median) not in html


def test_values_already_eeo1_names_need_no_mapping_others_are_refused():
    frame = pd.DataFrame({"sex": ["male", "Female", None], "race": ["White", "asian", "White"]})
    section = ll144_section(
        np.array([1, 0, 1]), frame["sex"], frame["race"], settings(categories={}), "selection", ""
    )
    assert rows_of(section, "sex")["Male"]["selected"] == 1
    assert rows_of(section, "race_ethnicity")["Asian"]["applicants"] == 1
    frame.loc[0, "sex"] = "m"
    with pytest.raises(AuditError, match=r"not EEO-1 sex categories.*'m'.*categories\.sex"):
        ll144_section(
            np.array([1, 0, 1]),
            frame["sex"],
            frame["race"],
            settings(categories={}),
            "selection",
            "",
        )


def test_a_value_the_mapping_does_not_list_is_an_error_naming_it_and_its_count():
    # A typo ("b" for "B") would drop the 70 Black applicants into "unknown" silently.
    typo = {**SETTINGS["categories"]["race"]}
    typo["b"] = typo.pop("B")
    with pytest.raises(AuditError) as caught:
        selection_section(categories={**SETTINGS["categories"], "race": typo})
    message = str(caught.value)
    assert "categories.race does not map" in message and "'B' (70 rows)" in message
    assert "map it to null or Unknown" in message and "'b'" not in message
    # Two values unlisted (X and B): both named, the most frequent first.
    del typo["X"]
    with pytest.raises(AuditError, match=r"'B' \(70 rows\), 'X' \(7 rows\)"):
        selection_section(categories={**SETTINGS["categories"], "race": typo})


def test_missing_values_and_values_mapped_to_null_or_unknown_are_unknown():
    frame = pd.DataFrame(
        {
            "sex": ["M", "F", "F", np.nan, "M", "F"],
            "race": ["W", "B", "D", "W", "Z", None],
        }
    )
    race = {"W": "White", "B": "Black or African American", "D": None, "Z": "Unknown"}
    section = ll144_section(
        np.array([1, 1, 0, 1, 1, 0]), frame["sex"], frame["race"],
        settings(categories={"sex": SETTINGS["categories"]["sex"], "race": race}), "selection", "",
    )  # fmt: skip
    # D (null), Z (Unknown) and the missing race: 3 unknown, 1 of them (Z) selected.
    assert table(section, "race_ethnicity")["unknown"] == 3
    assert table(section, "race_ethnicity")["unknown_selected"] == 1
    assert table(section, "sex")["unknown"] == 1
    assert "Unknown" not in rows_of(section, "race_ethnicity")


def test_an_exclusion_of_a_category_of_two_percent_or_more_is_refused():
    too_big = [{"feature": "sex", "category": "Female", "justification": "no"}]
    with pytest.raises(AuditError, match=r"Female.*46\.50% of the data.*under 2%"):
        selection_section(exclude=too_big)
    absent = [{"feature": "race_ethnicity", "category": "Two or More Races", "justification": "x"}]
    with pytest.raises(AuditError, match="no applicants"):
        selection_section(exclude=absent)


def asian_share_section(asian: int, total: int) -> dict:
    """``asian`` Asian applicants among ``total`` (the rest White), the Asian category excluded."""
    frame = pd.DataFrame({"sex": ["F", "M"] * (total // 2)})
    frame["race"] = ["A"] * asian + ["W"] * (total - asian)
    exclude = [{"feature": "race_ethnicity", "category": "Asian", "justification": "Few."}]
    return ll144_section(
        np.arange(total) % 2, frame["sex"], frame["race"], settings(exclude=exclude),
        "selection", "",
    )  # fmt: skip


def test_the_two_percent_line_exactly_two_is_refused_just_under_is_accepted():
    with pytest.raises(AuditError, match=r"'Asian', which holds 2\.00% of the data \(200 of"):
        asian_share_section(200, 10_000)  # exactly 2%
    asian = rows_of(asian_share_section(199, 10_000), "race_ethnicity")["Asian"]
    assert asian["excluded"] and asian["share"] == pytest.approx(0.0199)
    # Shown with two decimals, so a share just under 2% does not read "2.0%".
    text = str(macros().ll144_exclusions(asian_share_section(199, 10_000)))
    assert "199 applicants (1.99% of the data)" in text


def test_a_category_no_value_is_mapped_to_cannot_be_excluded():
    exclude = [{"feature": "sex", "category": "Male", "justification": "Few."}]
    categories = {"sex": {"M": "Female", "F": "Female"}, "race": SETTINGS["categories"]["race"]}
    with pytest.raises(AuditError, match="'Male', which has no applicants"):
        selection_section(categories=categories, exclude=exclude)


def test_a_mapped_category_without_applicants_is_shown_with_no_rate():
    # "H" maps to Hispanic or Latino, but no applicant has it: the row is there, 0 and "—".
    race = {**SETTINGS["categories"]["race"], "H": "Hispanic or Latino"}
    section = selection_section(categories={**SETTINGS["categories"], "race": race})
    names = list(rows_of(section, "race_ethnicity"))
    assert names == ["Hispanic or Latino", "White", "Black or African American", "Asian"]
    hispanic = rows_of(section, "race_ethnicity")["Hispanic or Latino"]
    assert (hispanic["applicants"], hispanic["selected"], hispanic["rate"]) == (0, 0, None)
    assert hispanic.get("impact_ratio") is None and not hispanic["excluded"]
    # Unmapped EEO-1 categories (e.g. Two or More Races) are not listed.
    assert "Two or More Races" not in names
    html = cells(str(macros().ll144_table(section, table(section, "race_ethnicity"))))
    assert "| Hispanic or Latino | 0 | 0 | — | — |" in html
    # Without a mapping (the data holds EEO-1 names) every EEO-1 category is listed.
    frame = pd.DataFrame({"sex": ["Male", "Female"], "race": ["White", "Asian"]})
    plain = ll144_section(
        np.array([1, 0]), frame["sex"], frame["race"], settings(categories={}), "selection", ""
    )
    assert len(table(plain, "race_ethnicity")["categories"]) == 7
    assert len(table(plain, "intersection")["categories"]) == 14


@pytest.mark.parametrize(
    ("compliance", "message"),
    [
        (["nyc_ll144x"], "valid rules: nyc_ll144, eeoc_uniform_guidelines, eu_ai_act"),
        (["nyc_ll144"], "the nyc_ll144 rule needs its settings"),
        (
            {
                "rules": ["nyc_ll144"],
                "nyc_ll144": {**SETTINGS, "categories": {"sex": {"M": "Man"}}},
            },
            "not EEO-1 names; valid: Male, Female",
        ),
        (
            {
                "rules": ["nyc_ll144"],
                "nyc_ll144": {k: v for k, v in SETTINGS.items() if k != "audit_date"},
            },
            "audit_date",
        ),
        (
            {
                "rules": ["nyc_ll144"],
                "nyc_ll144": {
                    **SETTINGS,
                    "exclude": [
                        {"feature": "race_ethnicity", "category": "Asian", "justification": " \t"}
                    ],
                },
            },
            "justification must say why the category is left out",
        ),
        (
            {
                "rules": ["nyc_ll144"],
                "nyc_ll144": {
                    **SETTINGS,
                    "exclude": [
                        {"feature": "intersection", "category": "Asian", "justification": "x"}
                    ],
                },
            },
            r"pair \[sex, race/ethnicity\]",
        ),
    ],
)
def test_bad_compliance_settings_name_the_problem(compliance, message):
    with pytest.raises(AuditError, match=message):
        config_from_dict({"compliance": compliance})


def test_a_justification_is_published_without_its_surrounding_space():
    exclude = [{**EXCLUDE_ASIAN[0], "justification": "  3 applicants (1.5%).\n"}]
    assert settings(exclude=exclude).exclude[0].justification == "3 applicants (1.5%)."


def test_plain_list_and_mapping_forms_are_the_same_rules():
    plain = config_from_dict({"compliance": ["eu_ai_act", "eu_ai_act"]}).compliance
    mapping = config_from_dict({"compliance": {"rules": ["eu_ai_act"]}}).compliance
    assert plain.rules == mapping.rules == ["eu_ai_act"]


@pytest.fixture
def hiring_dir(tmp_path):
    hiring_frame().to_csv(tmp_path / "hiring.csv", index=False)
    config = {
        "data": {"path": "hiring.csv", "target": "hired", "sensitive": ["sex", "race"]},
        "predictions": {"prediction_column": "decision"},
        "fairness": {"bootstrap": {"resamples": 0}},
        "explain": {"enabled": False},
        "quality": {"allow_errors": True},
        "compliance": {"rules": [], "nyc_ll144": {**SETTINGS, "exclude": EXCLUDE_ASIAN}},
    }
    (tmp_path / "audit.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("flags", "config_change", "message"),
    [
        (["--compliance", "ll144"], {}, "valid rules: nyc_ll144"),
        (
            ["--compliance", "nyc_ll144"],
            {"sex": "gender", "categories": {}},
            "'gender', which is not in the data",
        ),
        (
            ["--compliance", "nyc_ll144"],
            {"exclude": [{"feature": "sex", "category": "Male", "justification": "x"}]},
            "under 2%",
        ),
        (["--compliance", "nyc_ll144"], {"categories": {}}, "not EEO-1 sex categories"),
        (
            ["--compliance", "nyc_ll144"],
            {"categories": {"sex": {"M": "Male", "f": "Female"}}},
            "categories.sex does not map these values of column 'sex': 'F' (93 rows)",
        ),
    ],
)
def test_config_errors_exit_2_and_write_nothing(hiring_dir, flags, config_change, message):
    path = hiring_dir / "audit.yaml"
    config = yaml.safe_load(path.read_text())
    config["compliance"]["nyc_ll144"].update(config_change)
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    out = hiring_dir / "out"
    result = run_cli("run", path, "--out", out, "--format", "json", *flags)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.output
    assert not out.exists()


def test_run_writes_the_section_and_the_summary_beside_the_report(hiring_dir):
    out = hiring_dir / "out"
    result = run_cli(
        "run", hiring_dir / "audit.yaml", "--out", out, "-f", "json", "-f", "html",
        "--compliance", "nyc_ll144",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "results.json").read_text())
    section = saved["compliance"]["nyc_ll144"]
    assert saved["compliance"]["rules"] == ["nyc_ll144"]
    assert rows_of(section, "sex")["Female"]["impact_ratio"] == pytest.approx((33 / 93) / (45 / 97))
    assert section["audit_date"] == "2026-12-01" and section["data_source"]["kind"] == "historical"
    summary = (out / "ll144-summary.html").read_text(encoding="utf-8")
    report = (out / "report.html").read_text(encoding="utf-8")
    for page in (summary, report):
        assert "2025-06-30" in page and "Applications received in 2025." in page
        assert "3 applicants (1.5%)." in page  # the exclusion's justification
        # The mapping from the data's values to EEO-1 categories.
        assert "| race | B | Black or African American |" in cells(page)
        assert "| race | X | Unknown (left out of the impact ratios) |" in cells(page)
    assert 'id="compliance"' in report and 'id="compliance_ll144"' in report
    assert not (out / "ll144-summary.pdf").exists()  # no pdf format asked for
    # `rai-audit report` re-renders the summary with the report, from results.json alone.
    (out / "ll144-summary.html").unlink()
    assert run_cli("report", out / "results.json", "-f", "html").exit_code == 0
    assert (out / "ll144-summary.html").read_text(encoding="utf-8") == summary
    # No rule asked: no section, no summary.
    plain_out = hiring_dir / "plain"
    assert (
        run_cli(
            "run", hiring_dir / "audit.yaml", "--out", plain_out, "-f", "json", "-f", "html"
        ).exit_code
        == 0
    )
    assert "compliance" not in json.loads((plain_out / "results.json").read_text())
    assert not (plain_out / "ll144-summary.html").exists()
    assert 'id="compliance"' not in (plain_out / "report.html").read_text(encoding="utf-8")


@pytest.fixture
def summary_files(hiring_dir):
    """The LL144 summary (HTML and PDF) of the hiring audit, and the result it shows."""
    result = audit.run(hiring_dir / "audit.yaml", compliance={"rules": ["nyc_ll144"]})
    plain = result.to_dict()
    return plain, ll144_summary_files(plain, ["html", "pdf"])


def test_summary_pdf_fits_three_numbered_pages_none_blank(summary_files):
    import io

    import pypdf  # a dev dependency: the page count must be checked, never skipped

    plain, files = summary_files
    assert set(files) == {"ll144-summary.html", "ll144-summary.pdf"}
    reader = pypdf.PdfReader(io.BytesIO(files["ll144-summary.pdf"]))
    pages = len(reader.pages)
    # At most three pages, and the count is the summary's own: each page is numbered
    # "Page k of <count>" and carries more than its footer (no blank page pads it, none is
    # missing, and a summary with no content would fail on its first page).
    assert pages <= LL144_SUMMARY_PAGES, f"{pages} pages"
    for number, page in enumerate(reader.pages, start=1):
        page_text = page.extract_text()
        assert f"Page {number} of {pages}" in page_text
        assert len(page_text.replace(f"Page {number} of {pages}", "").split()) > 20
    assert "Summary of results" in render_ll144_summary(plain)
    # Within those pages, nothing is left out: every category of every table is printed
    # (an intersection's in two columns, sex then race).
    text = " ".join(page.extract_text() for page in reader.pages).replace("\n", " ")
    tables = plain["compliance"]["nyc_ll144"]["tables"]
    categories = {row["category"].replace(" × ", " ") for t in tables for row in t["categories"]}
    assert len(categories) >= 9
    assert [c for c in sorted(categories) if c not in text] == []


def test_summary_pdf_reads_as_the_summary(summary_files):
    import subprocess

    needs_tools("pdftotext")  # skips with the reason when poppler-utils is missing
    _, files = summary_files
    text = subprocess.run(
        ["pdftotext", "-", "-"],
        input=files["ll144-summary.pdf"],
        capture_output=True,
        check=True,
    ).stdout.decode()
    assert "Summary of results of a bias audit" in text and "Impact ratio" in text


def test_rules_that_count_selections_are_refused_for_a_regression_audit():
    frame = pd.DataFrame({"sex": ["M", "F"] * 20, "y": np.arange(40.0), "p": np.arange(40.0)})
    config = {
        "data": {"target": "y", "sensitive": ["sex"], "task": "regression"},
        "predictions": {"prediction_column": "p"},
        "compliance": ["eeoc_uniform_guidelines", "eu_ai_act"],
    }
    with pytest.raises(AuditError, match="eeoc_uniform_guidelines count who was selected"):
        audit.run(config, data=frame)


def test_impact_ratios_divide_by_the_highest_rate():
    """The one impact-ratio computation (LL144 tables and regression scoring rates): by hand,
    per row of bootstrap samples too; undefined when every rate is 0."""
    from audit.metrics.scoring_rate import impact_ratios

    np.testing.assert_allclose(impact_ratios([0.2, 0.5, 0.4]), [0.4, 1.0, 0.8], atol=1e-12)
    np.testing.assert_allclose(
        impact_ratios(np.array([[0.1, 0.4], [0.3, 0.15]])), [[0.25, 1.0], [1.0, 0.5]], atol=1e-12
    )
    assert np.isnan(impact_ratios([0.0, 0.0])).all()
