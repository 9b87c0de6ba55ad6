"""The named rules a compliance report can be shaped by (``compliance:``, ``--compliance``),
and the EEO-1 category names NYC Local Law 144 reports in.

The EEO-1 names are those of the EEO-1 Component 1 report, which 6 RCNY §5-301 refers to
for the sex and race/ethnicity categories of a bias audit.
"""

from __future__ import annotations

NYC_LL144 = "nyc_ll144"
EEOC = "eeoc_uniform_guidelines"
EU_AI_ACT = "eu_ai_act"
COMPLIANCE_RULES = (NYC_LL144, EEOC, EU_AI_ACT)

EEO1_SEX = ("Male", "Female")
EEO1_RACE_ETHNICITY = (
    "Hispanic or Latino",
    "White",
    "Black or African American",
    "Native Hawaiian or Other Pacific Islander",
    "Asian",
    "American Indian or Alaska Native",
    "Two or More Races",
)
# A value mapped to this (or to null) is counted in the "unknown" category on purpose.
UNKNOWN = "Unknown"

# Local Law 144 lets an auditor leave out of the impact ratios a category holding less than
# this share of the data used for the audit (6 RCNY §5-301, "Calculation").
LL144_EXCLUSION_SHARE = 0.02


def check_compliance_rule(name: str) -> str:
    """``name`` if it is a known rule; else a ValueError naming the valid ones."""
    if name not in COMPLIANCE_RULES:
        raise ValueError(
            f"unknown compliance rule {name!r}; valid rules: {', '.join(COMPLIANCE_RULES)}"
        )
    return name


def category_key(value: object) -> str:
    """A data value as text, the way category mappings are keyed: ``1``, ``1.0`` (a number
    column with missing values is read as floats) and ``"1"`` are the same key."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# The standalone summary of results of a Local Law 144 audit, by report format.
LL144_SUMMARY_FILES = {"html": "ll144-summary.html", "pdf": "ll144-summary.pdf"}
