"""Names and definitions of every group metric and disparity rai-audit reports.

This module is the vocabulary shared by the metric engine, the policy rules in
``audit.yaml`` (a rule names one of these metrics) and the report, which prints
each definition next to its number. It imports nothing heavy so the config can
validate rule names before any data is read.

Conventions
-----------
* A *difference* between groups is the largest minus the smallest group value; a
  *ratio* between groups is the smallest divided by the largest (so 1 is parity).
* *vs reference* compares every other group with the reference group (the
  largest group unless ``fairness.reference_groups`` names one): the difference
  is the largest absolute gap ``|m_g - m_ref|``; the ratio is the smallest of
  ``m_g / m_ref`` and ``m_ref / m_g`` over groups (again 1 is parity).
* Only groups with at least ``fairness.min_group_size`` rows take part in a
  disparity; smaller groups are shown but marked "insufficient data". The minimum
  applies to each rate's denominator too (actual positives for TPR, actual negatives
  for FPR, ...): a group with too few of them takes no part in that rate's disparities.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# Confusion-count metrics of binary classification, derived from (tn, fp, fn, tp) per group.
# name -> (numerator cells, denominator cells, label, reason when the denominator is 0)
RATE_DEFINITIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str, str]] = {
    "base_rate": (("fn", "tp"), ("tn", "fp", "fn", "tp"), "P(y = 1)", "empty group"),
    "selection_rate": (("fp", "tp"), ("tn", "fp", "fn", "tp"), "P(pred = 1)", "empty group"),
    "tpr": (("tp",), ("fn", "tp"), "P(pred = 1 | y = 1)", "no actual positives (y = 1)"),
    "tnr": (("tn",), ("tn", "fp"), "P(pred = 0 | y = 0)", "no actual negatives (y = 0)"),
    "fpr": (("fp",), ("tn", "fp"), "P(pred = 1 | y = 0)", "no actual negatives (y = 0)"),
    "fnr": (("fn",), ("fn", "tp"), "P(pred = 0 | y = 1)", "no actual positives (y = 1)"),
    "precision": (("tp",), ("fp", "tp"), "P(y = 1 | pred = 1), PPV", "no predicted positives"),
    "npv": (("tn",), ("tn", "fn"), "P(y = 0 | pred = 0)", "no predicted negatives"),
    "fdr": (("fp",), ("fp", "tp"), "P(y = 0 | pred = 1)", "no predicted positives"),
    "for": (("fn",), ("tn", "fn"), "P(y = 1 | pred = 0)", "no predicted negatives"),
    "accuracy": (("tn", "tp"), ("tn", "fp", "fn", "tp"), "P(pred = y)", "empty group"),
}
COUNT_RATES = tuple(RATE_DEFINITIONS)
# What each rate's denominator counts, for "too few ..." messages (min_group_size applies to it).
DENOMINATOR_NAMES: dict[tuple[str, ...], str] = {
    ("tn", "fp", "fn", "tp"): "rows",
    ("fn", "tp"): "actual positives (y = 1)",
    ("tn", "fp"): "actual negatives (y = 0)",
    ("fp", "tp"): "predicted positives",
    ("tn", "fn"): "predicted negatives",
}
CELLS = ("tn", "fp", "fn", "tp")  # column order of every count table: index = 2 * y + pred

# Non-count metrics of a scored classifier, per group.
SCORE_METRICS = {
    "roc_auc": "area under the ROC curve of the scores (ties count one half)",
    "brier": "mean squared difference between the score and the label (Brier score)",
    "log_loss": "mean negative log-likelihood of the label under the score (natural log)",
    "calibration_error": "expected calibration error: sum over equal-width score bins of "
    "(bin share) x |mean label - mean score|",
}
# Per-group metrics of a regression model.
REGRESSION_METRICS = {
    "mae": "mean absolute error |y - prediction|",
    "rmse": "root mean squared error",
    "r2": "coefficient of determination R² within the group (1 - SSE / SST)",
    "mean_prediction": "mean predicted value",
    "mean_target": "mean true value",
    "mse": "mean squared error (y - prediction)²",
    "mean_residual": "mean of prediction - y: above 0 the group is over-predicted, below 0 "
    "under-predicted",
    "scoring_rate": "share of the group whose prediction is above the median prediction of "
    "the full evaluated sample (NYC Local Law 144's scoring rate)",
}

# Families of classification disparities: name -> (group metric(s), what parity means).
FAMILIES: dict[str, tuple[tuple[str, ...], str]] = {
    "demographic_parity": (("selection_rate",), "selection rate P(pred = 1)"),
    "equal_opportunity": (("tpr",), "true positive rate P(pred = 1 | y = 1)"),
    "equalized_odds": (("tpr", "fpr"), "TPR and FPR, the worse of the two"),
    "equalized_odds_mean": (("tpr", "fpr"), "TPR and FPR, the mean of the two"),
    "predictive_parity": (("precision",), "precision (PPV) P(y = 1 | pred = 1)"),
    "fpr_parity": (("fpr",), "false positive rate P(pred = 1 | y = 0)"),
    "fnr_parity": (("fnr",), "false negative rate P(pred = 0 | y = 1)"),
}
# Disparities of the non-count metrics: metric -> whether a min/max ratio is meaningful.
SCORE_DISPARITY_METRICS = {
    "roc_auc": True,
    "brier": False,
    "log_loss": False,
    "calibration_error": False,
}
REGRESSION_DISPARITY_METRICS = {
    "mae": True,
    "rmse": True,
    "r2": False,
    "mean_prediction": True,
    "mean_residual": False,
    "scoring_rate": True,
}
# Bounded group loss (fairlearn's BoundedGroupLoss constraint, E[loss | group] <= bound): the
# worst group's mean loss, for the absolute loss (MAE) and the squared loss (MSE).
BOUNDED_GROUP_LOSSES = {"mae": "absolute error", "mse": "squared error"}

Aggregate = Literal["difference", "ratio"]
Versus = Literal["between", "reference"]


@dataclass(frozen=True)
class Disparity:
    """How one disparity is computed from per-group metric values.

    ``metrics`` are the group metrics it compares; ``aggregate`` is ``difference`` or
    ``ratio``; ``versus`` is ``between`` (all groups) or ``reference``; ``combine`` says how
    two metrics (equalized odds) are combined: ``worst`` or ``mean``. ``special`` marks the
    two reference-only disparities with their own formula.
    """

    name: str
    metrics: tuple[str, ...]
    aggregate: Aggregate
    versus: Versus
    definition: str
    combine: Literal["worst", "mean"] = "worst"
    special: Literal["", "disparate_impact", "average_odds", "worst_group"] = ""
    compares: str = ""  # what is compared across groups, for the report's legend


def _family_disparities(family: str, metrics: tuple[str, ...], about: str) -> list[Disparity]:
    combine: Literal["worst", "mean"] = "mean" if family.endswith("_mean") else "worst"
    two = len(metrics) == 2
    how = f"; {combine} of the {' and '.join(m.upper() for m in metrics)} values" if two else ""
    return [
        Disparity(
            f"{family}_difference",
            metrics,
            "difference",
            "between",
            f"max - min over groups of the {about}{how}",
            combine,
            compares=about,
        ),
        Disparity(
            f"{family}_ratio",
            metrics,
            "ratio",
            "between",
            f"min / max over groups of the {about}{how}",
            combine,
            compares=about,
        ),
        Disparity(
            f"{family}_difference_vs_reference",
            metrics,
            "difference",
            "reference",
            f"largest |group - reference| of the {about}{how}",
            combine,
            compares=about,
        ),
        Disparity(
            f"{family}_ratio_vs_reference",
            metrics,
            "ratio",
            "reference",
            f"smallest of group / reference and reference / group of the {about}{how}",
            combine,
            compares=about,
        ),
    ]


def _extra_disparities(metrics: dict[str, bool], defined: dict[str, str]) -> list[Disparity]:
    out = []
    for metric, ratio_ok in metrics.items():
        label = metric.replace("_", " ")
        out.append(
            Disparity(
                f"{metric}_difference",
                (metric,),
                "difference",
                "between",
                f"max - min over groups of the {label} ({defined[metric]})",
                compares=defined[metric],
            )
        )
        if ratio_ok:
            out.append(
                Disparity(
                    f"{metric}_ratio",
                    (metric,),
                    "ratio",
                    "between",
                    f"min / max over groups of the {label}",
                    compares=defined[metric],
                )
            )
        out.append(
            Disparity(
                f"{metric}_difference_vs_reference",
                (metric,),
                "difference",
                "reference",
                f"largest |group - reference| of the {label}",
                compares=defined[metric],
            )
        )
    return out


CLASSIFICATION_DISPARITIES: tuple[Disparity, ...] = (
    *[d for family, (m, about) in FAMILIES.items() for d in _family_disparities(family, m, about)],
    Disparity(
        "disparate_impact",
        ("selection_rate",),
        "ratio",
        "reference",
        "smallest selection rate of a group divided by the reference group's; the "
        "four-fifths rule asks that it be at least 0.8",
        special="disparate_impact",
    ),
    Disparity(
        "average_odds_difference",
        ("tpr", "fpr"),
        "difference",
        "reference",
        "largest |((FPR_g - FPR_ref) + (TPR_g - TPR_ref)) / 2| over groups g",
        special="average_odds",
    ),
)
SCORE_DISPARITIES = tuple(_extra_disparities(SCORE_DISPARITY_METRICS, SCORE_METRICS))
REGRESSION_DISPARITIES = (
    *_extra_disparities(REGRESSION_DISPARITY_METRICS, REGRESSION_METRICS),
    *(
        Disparity(
            f"bounded_group_loss_{metric}",
            (metric,),
            "difference",
            "between",
            f"bounded group loss (fairlearn): the largest mean {loss} of any group, "
            f"max over groups of the {metric.upper()}",
            special="worst_group",
            compares=REGRESSION_METRICS[metric],
        )
        for metric, loss in BOUNDED_GROUP_LOSSES.items()
    ),
)

ALL_DISPARITIES = {d.name: d for d in (*CLASSIFICATION_DISPARITIES, *SCORE_DISPARITIES)}
ALL_DISPARITIES.update({d.name: d for d in REGRESSION_DISPARITIES})
GROUP_METRICS = (*COUNT_RATES, *SCORE_METRICS, *REGRESSION_METRICS)
FOUR_FIFTHS = 0.8


def known_rule_metrics() -> list[str]:
    """Every metric name a policy rule may use: disparities and per-group metrics."""
    return [*ALL_DISPARITIES, *GROUP_METRICS]


# The disparities shown per feature (key numbers) and watched over time when there is no
# policy to say which matter.
DEFAULT_DISPARITIES = {
    "classification": (
        "demographic_parity_difference",
        "demographic_parity_ratio",
        "equalized_odds_difference",
    ),
    "regression": ("mae_difference", "mean_prediction_difference"),
}
