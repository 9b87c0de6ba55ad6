"""The report's appendix: a definition for every metric the report shows.

Built from the metric catalogue (the same vocabulary the engine and the policy use) and
limited to the metrics present in the result, so the appendix defines what was shown.
"""

from __future__ import annotations

from typing import Any

from audit.metrics.verdicts import GATES
from audit.vocabulary import metrics as catalog

PERFORMANCE = {
    "accuracy": "share of rows where the prediction equals the label, P(pred = y); its "
    "interval is the Wilson score interval at the audit's confidence level",
    "balanced_accuracy": "mean of the true positive rate and the true negative rate",
    "precision": "P(y = 1 | pred = 1)",
    "recall": "true positive rate, P(pred = 1 | y = 1)",
    "f1": "harmonic mean of precision and recall",
    "roc_auc": catalog.SCORE_METRICS["roc_auc"],
    "brier": catalog.SCORE_METRICS["brier"],
}

CONVENTIONS = [
    "A difference between groups is the largest group value minus the smallest; 0 is parity.",
    "A ratio between groups is the smallest group value divided by the largest; 1 is parity.",
    "Vs reference: every group is compared with the reference group (the largest group "
    "unless fairness.reference_groups names one); the difference is the largest absolute "
    "gap, the ratio the smallest of group/reference and reference/group.",
    "Equalized odds combines TPR and FPR parity: the worse of the two (or their mean, where "
    "named so). Equal opportunity is TPR parity. Disparate impact applies the four-fifths "
    f"rule: a selection-rate ratio below {catalog.FOUR_FIFTHS} is adverse impact.",
    "Only groups with at least the minimum group size take part in a disparity or a verdict; "
    "smaller groups are shown and marked “insufficient data”. The minimum applies to each "
    "rate's denominator too: actual negatives for FPR and TNR, actual positives for TPR and "
    "FNR, predicted positives for precision and FDR, predicted negatives for NPV and FOR, all "
    "rows for selection rate, accuracy and base rate (for ROC AUC, actual positives and "
    "negatives). A group with 500 rows but 3 positives gets “insufficient data” for TPR "
    "rules and takes no part in equal-opportunity disparities.",
    "Intervals are percentile bootstrap intervals (count metrics resample the count table: "
    "Multinomial(n, observed cell shares); score metrics likewise resample per-group score "
    "histograms, from which each group's ROC AUC is computed within 1e-4 of the exact value "
    "when scores spread over their range); disparity intervals are simultaneous bands over "
    "the group contrasts. A group with no selections has a rate of 0 and a ratio of 0 "
    "against any group with selections (two groups both at 0 are at parity).",
    "Verdict of a rule: pass when the whole interval satisfies the bound, fail when the whole "
    "interval violates it, inconclusive when it straddles the bound. When no interval can be "
    "formed, the verdict follows the point estimate and its reason says “no interval”.",
    "The gate (policy.gate, --gate) decides which verdicts fail the policy and make "
    "rai-audit run exit 1. "
    + " ".join(f"{name}: {rule}." for name, rule in GATES.items())
    + " The default gate means a model whose best estimate breaks the policy never passes "
    "silently; --strict is the strict gate; conclusive suits small-sample monitoring.",
    "Each verdict names the groups behind its value: for a between-groups disparity the "
    "groups with the lowest and highest value (“B vs A”), for a vs-reference disparity the "
    "worst group and the reference, for a group-metric rule the group.",
    "An undefined metric (an empty denominator, e.g. a TPR in a group with no positives) is "
    "shown as “—”, never as 0.",
]


def group_metric_definition(name: str) -> str | None:
    if name in catalog.RATE_DEFINITIONS:
        numerator, denominator, label, _ = catalog.RATE_DEFINITIONS[name]
        return f"{label} = ({' + '.join(numerator)}) / ({' + '.join(denominator)})"
    return catalog.SCORE_METRICS.get(name) or catalog.REGRESSION_METRICS.get(name)


def glossary(result: dict[str, Any]) -> dict[str, Any]:
    """Definitions of the performance metrics, group metrics and disparities in ``result``."""
    features = (result.get("fairness") or {}).get("features", [])
    shown_groups: dict[str, str] = {}
    shown_disparities: dict[str, str] = {}
    for feature in features:
        for group in feature.get("groups", []):
            for name in group:
                definition = group_metric_definition(name)
                if definition:
                    shown_groups.setdefault(name, definition)
        for disparity in feature.get("disparities", []):
            shown_disparities.setdefault(disparity["metric"], disparity.get("definition", ""))
    performance = result.get("performance") or {}
    settings = (result.get("fairness") or {}).get("settings") or {}
    level = settings.get("confidence")
    intervals = (
        [
            f"Intervals are {level:.0%} intervals (fairness.bootstrap.confidence); ± figures are "
            f"{settings.get('z_value', 1.96):.2f} standard errors, the same level."
        ]
        if level
        else []
    )
    return {
        "conventions": [*CONVENTIONS, *intervals],
        "performance": [(k, v) for k, v in PERFORMANCE.items() if performance.get(k) is not None],
        "group_metrics": sorted(shown_groups.items()),
        "disparities": sorted(shown_disparities.items()),
        "cells": "tn, fp, fn, tp: true negatives, false positives, false negatives, true "
        "positives of a group (rows, or summed sample weights)",
    }
