"""Adverse impact of a selection procedure, judged as 29 CFR 1607.4(D) asks: in practical and
statistical terms at once.

The EEOC Uniform Guidelines (1607.4(D)) say: a selection rate below four-fifths of the rate of
the group with the highest rate "will generally be regarded" as evidence of adverse impact;
smaller differences may still be adverse impact when they are significant "in both statistical
and practical terms"; greater differences may not be, when they are "based on small numbers"
and not statistically significant. The rule of thumb is evidence, not a legal test and not a
pass mark. This module computes, on counts only (no data, no model), for each group against
the *reference*: the highest-rate group among those of at least ``REFERENCE_MIN_SIZE``
people (among all groups when none is that large). A rate of one or a few people is too
unsteady to measure the others by: a group of one, selected, would make every comparison
rest on that one person. Smaller groups are still compared with the reference.

* the **impact ratio** (group rate ÷ reference rate) with a **Katz log interval**
  (Katz et al. 1978, the interval of ``scipy.stats.contingency.relative_risk``): ``exp(log r
  ± z·sqrt(1/a − 1/n₁ + 1/c − 1/n₀))``. When a cell of the 2×2 table is 0 (no one, or
  everyone, selected) that formula breaks down, so 0.5 is added to each cell for the interval
  only (Haldane–Anscombe); the point ratio stays the observed one and is always inside it;
* **Fisher's exact test**, two-sided (``scipy.stats.fisher_exact``), the test the decision
  uses, exact at any size; and the **two-proportion Z test** with the pooled variance, the
  large-sample test often quoted beside it;
* Fisher p-values **adjusted with Holm's step-down method** across a feature's comparisons
  (each non-reference group vs the reference): several groups tested at once would otherwise
  find "significant" gaps by chance;
* the **one- and two-person flip checks**: the impact ratio had one or two more people of
  the group been selected (at most all of it) — and, as the same question from the other
  side, had one or two fewer people of the reference group been selected (a small reference
  group makes a ratio as fragile as a small compared group) — whether it would still be
  below 0.8, and the Holm-adjusted p-value it would then have: how much the finding hangs on
  one or two people;
* the **minimum detectable impact ratio**: the ratio a two-sided pooled Z test at level
  ``1 − confidence`` detects with power 0.8, given the two group sizes and the reference
  rate (normal approximation, see :func:`detection_power`). Above 0.8, the sample can
  detect a ratio at the four-fifths line; below it, only larger gaps;
* a **finding** and a plain sentence — see :func:`judge` for the rule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

import numpy as np
from scipy.optimize import brentq
from scipy.stats import fisher_exact, norm

from audit.text import p_value_text, printable
from audit.vocabulary.metrics import FOUR_FIFTHS

POWER = 0.8  # the power at which the minimum detectable ratio is stated
FLIPS = (1, 2)  # how many people the flip checks move
_FOUR_FIFTHS_EXACT = Fraction(FOUR_FIFTHS).limit_denominator()  # 4/5, for exact comparisons
# The reference is the highest-rate group of at least this many people (the usual floor of a
# large-sample comparison): below it, one person moves the rate by more than 3 points.
REFERENCE_MIN_SIZE = 30

REFERENCE = "reference"
INDICATED = "adverse impact indicated"
NOT_INDICATED = "adverse impact not indicated"
TOO_SMALL = "sample too small to tell"
FINDINGS = (INDICATED, NOT_INDICATED, TOO_SMALL)

# The decision rule of judge(), in words: the notes of the EEOC section quote it.
DECISION_RULE = (
    "Each group is compared with the reference: the group with the highest selection rate "
    f"among the groups of at least {REFERENCE_MIN_SIZE} people (among all groups when none is "
    "that large; of equal rates, the larger group), since the rate of a handful of people is "
    "too unsteady to judge the others by; smaller groups are compared with it too. "
    "'Significant' means a Holm-adjusted Fisher p-value below 1 − confidence. An impact "
    "ratio below 0.8 indicates adverse impact (the four-fifths rule's evidence), unless the "
    "difference is not significant and one or two more people of the group selected, or one "
    "or two fewer of the reference group, would bring the ratio to 0.8 or above: then it "
    "rests on small numbers and the sample is too small to tell. A ratio of 0.8 or above "
    "indicates adverse impact only when the difference is significant and stays significant "
    "with two more people of the group selected and with two fewer of the reference "
    "(statistical and practical significance). Otherwise it is not indicated, unless the "
    f"sample could not detect a ratio of 0.8 with power {POWER:g} (minimum detectable ratio "
    "below 0.8): then the sample is too small to tell."
)


def katz_interval(
    selected: int, total: int, ref_selected: int, ref_total: int, confidence: float
) -> list[float] | None:
    """Katz log interval of the ratio ``(selected/total) / (ref_selected/ref_total)``.

    With a zero cell in the 2×2 table, 0.5 is added to each cell first (the interval only).
    None when the ratio is undefined (a group of size 0, or the reference rate 0).
    """
    if total == 0 or ref_total == 0 or ref_selected == 0:
        return None
    ratio = (selected / total) / (ref_selected / ref_total)
    a, b = selected, total - selected
    c, d = ref_selected, ref_total - ref_selected
    if min(a, b, c, d) == 0:
        a, b, c, d = a + 0.5, b + 0.5, c + 0.5, d + 0.5
    log_ratio = math.log((a / (a + b)) / (c / (c + d)))
    spread = math.sqrt(1 / a - 1 / (a + b) + 1 / c - 1 / (c + d))
    z = norm.ppf(0.5 + confidence / 2)
    low, high = math.exp(log_ratio - z * spread), math.exp(log_ratio + z * spread)
    return [min(low, ratio), max(high, ratio)]


def fisher_p(selected: int, total: int, ref_selected: int, ref_total: int) -> float:
    """Two-sided p-value of Fisher's exact test on the 2×2 table selected / not selected."""
    table = [[selected, total - selected], [ref_selected, ref_total - ref_selected]]
    return float(fisher_exact(table, alternative="two-sided")[1])


def z_test(
    selected: int, total: int, ref_selected: int, ref_total: int
) -> tuple[float | None, float | None]:
    """Pooled two-proportion Z statistic and its two-sided p-value.

    ``z = (p₁ − p₀) / sqrt(p̄(1 − p̄)(1/n₁ + 1/n₀))`` with ``p̄`` the rate of both groups
    together. (None, None) when undefined: an empty group, or no one (or everyone) selected
    in both groups, where there is no variation to test.
    """
    if total == 0 or ref_total == 0:
        return None, None
    pooled = (selected + ref_selected) / (total + ref_total)
    variance = pooled * (1 - pooled) * (1 / total + 1 / ref_total)
    if variance <= 0:
        return None, None
    z = (selected / total - ref_selected / ref_total) / math.sqrt(variance)
    return float(z), float(2 * norm.sf(abs(z)))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (Holm 1979), in the order given.

    Sorted ascending, the i-th smallest (from 0) becomes ``max over j <= i of
    min(1, (m − j) p_(j))``; rejecting where the adjusted value is below alpha controls the
    family-wise error rate at alpha.
    """
    p = np.asarray(p_values, dtype=float)
    m = p.size
    order = np.argsort(p, kind="stable")
    stepped = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(stepped)
    return [float(v) for v in adjusted]


def detection_power(
    rate: float, ref_rate: float, total: int, ref_total: int, alpha: float
) -> float:
    """Power of the two-sided pooled Z test at level ``alpha`` when the true rates are
    ``rate`` (group of ``total``) and ``ref_rate`` (reference of ``ref_total``).

    Normal approximation: with ``d = ref_rate − rate``, ``s₀ = sqrt(p̄(1 − p̄)(1/n₁ + 1/n₀))``
    (the pooled spread the test divides by, ``p̄`` the rate both groups would share) and
    ``s₁ = sqrt(rate(1 − rate)/n₁ + ref_rate(1 − ref_rate)/n₀)`` (the spread of the difference
    under these rates), ``power = Φ((d − z·s₀)/s₁) + Φ((−d − z·s₀)/s₁)``, ``z = Φ⁻¹(1 − α/2)``.
    """
    z = norm.ppf(1 - alpha / 2)
    pooled = (total * rate + ref_total * ref_rate) / (total + ref_total)
    s0 = math.sqrt(pooled * (1 - pooled) * (1 / total + 1 / ref_total))
    s1 = math.sqrt(rate * (1 - rate) / total + ref_rate * (1 - ref_rate) / ref_total)
    gap = ref_rate - rate
    if s1 == 0:  # both rates 0 or 1: the outcome is certain
        return 1.0 if abs(gap) > z * s0 else 0.0
    return float(norm.cdf((gap - z * s0) / s1) + norm.cdf((-gap - z * s0) / s1))


def minimum_detectable_ratio(
    ref_rate: float, total: int, ref_total: int, alpha: float, power: float = POWER
) -> float | None:
    """The impact ratio (group rate ÷ ``ref_rate``) the two-sided pooled Z test detects with
    ``power`` at level ``alpha``, for a group of ``total`` against a reference of
    ``ref_total`` with rate ``ref_rate``: the root in ``[0, ref_rate]`` of
    ``detection_power(rate) = power``, returned as ``rate / ref_rate``. Any true ratio at or
    below it is detected at least that often.

    None when even a ratio of 0 (no one of the group selected) would be detected less often
    than ``power``, or when the reference rate is 0 (no lower rate exists).
    """
    if total == 0 or ref_total == 0 or ref_rate <= 0:
        return None

    def shortfall(rate: float) -> float:
        return detection_power(rate, ref_rate, total, ref_total, alpha) - power

    if shortfall(0.0) < 0:
        return None
    return float(brentq(shortfall, 0.0, ref_rate, xtol=1e-10) / ref_rate)


def adverse_impact(
    counts: Mapping[str, tuple[int, int]], confidence: float = 0.95
) -> dict[str, Any]:
    """Every group against the reference (the highest-rate group of REFERENCE_MIN_SIZE or more).

    Parameters
    ----------
    counts : group label -> (selected, total), in the order the groups are to be shown.
    confidence : level of the intervals; ``1 − confidence`` is the significance level.

    Returns
    -------
    dict with ``reference_group`` (None when no group has anyone), ``reference_basis`` (how
    it was chosen, in words; None without a reference) and ``groups``: one row per group,
    the reference first, each with ``group``, ``n``, ``selected``, ``selection_rate``,
    ``reference``, ``impact_ratio``, ``below_four_fifths``, ``impact_ratio_ci``,
    ``fisher_p``, ``fisher_p_holm``, ``z``, ``z_p``, ``flips`` (one per number of people in
    FLIPS: ``added``, ``selected``, ``impact_ratio``, ``below_four_fifths``,
    ``fisher_p_holm`` and ``reference_side`` with ``removed``, ``reference_selected`` and the
    same three), ``minimum_detectable_ratio``, ``finding`` and ``sentence``. Values are
    plain floats, ints, str, bool or None (undefined), never NaN.
    """
    # Python ints: products of counts (the exact ratios) must not overflow a numpy int64.
    counts = {label: (int(selected), int(total)) for label, (selected, total) in counts.items()}
    for label, (selected, total) in counts.items():
        if not 0 <= selected <= total:
            raise ValueError(f"group {label!r}: {selected} selected out of {total}")
    alpha = 1 - confidence
    reference = _reference(counts)
    if reference is None:
        rows = [_empty_row(label, 0, 0) for label in counts]
        return {"reference_group": None, "reference_basis": None, "groups": rows}
    basis = _reference_basis(counts, reference)
    ref_selected, ref_total = counts[reference]
    ref_rate = ref_selected / ref_total

    compared = [label for label in counts if label != reference and counts[label][1] > 0]
    raw = {label: fisher_p(*counts[label], ref_selected, ref_total) for label in compared}
    adjusted = dict(zip(compared, holm([raw[label] for label in compared]), strict=True))

    rows = [_reference_row(reference, ref_selected, ref_total, basis)]
    for label, (selected, total) in counts.items():
        if label == reference:
            continue
        if total == 0:
            rows.append(_empty_row(label, selected, total))
            continue
        z, z_p = z_test(selected, total, ref_selected, ref_total)
        row = {
            "group": label,
            "n": int(total),
            "selected": int(selected),
            "selection_rate": selected / total,
            "reference": False,
            "impact_ratio": _ratio(selected, total, ref_selected, ref_total),
            "below_four_fifths": _below_four_fifths(selected, total, ref_selected, ref_total),
            "impact_ratio_ci": katz_interval(selected, total, ref_selected, ref_total, confidence),
            "fisher_p": raw[label],
            "fisher_p_holm": adjusted[label],
            "z": z,
            "z_p": z_p,
            "flips": [_flip(label, people, counts, reference, raw, compared) for people in FLIPS],
            "minimum_detectable_ratio": minimum_detectable_ratio(ref_rate, total, ref_total, alpha),
        }
        row["finding"], row["sentence"] = judge(row, alpha, reference)
        rows.append(row)
    return {"reference_group": reference, "reference_basis": basis, "groups": rows}


def _reference(counts: Mapping[str, tuple[int, int]]) -> str | None:
    """The group with the highest selection rate among those of at least REFERENCE_MIN_SIZE
    people (among all groups when none is that large); of equal rates, the largest group."""
    present = [(s / n, n, label) for label, (s, n) in counts.items() if n > 0]
    if not present:
        return None
    large = [entry for entry in present if entry[1] >= REFERENCE_MIN_SIZE]
    return max(large or present, key=lambda entry: (entry[0], entry[1]))[2]


def _reference_basis(counts: Mapping[str, tuple[int, int]], reference: str) -> str:
    """How the reference was chosen, in words (the report's summary and caption)."""
    if all(total < REFERENCE_MIN_SIZE for _, total in counts.values()):
        return f"the highest selection rate; no group has {REFERENCE_MIN_SIZE} people or more"
    ref_selected, ref_total = counts[reference]
    passed_over = any(
        selected * ref_total > ref_selected * total  # a higher rate, in a smaller group
        for label, (selected, total) in counts.items()
        if label != reference and total > 0
    )
    if passed_over:
        return (
            f"the highest selection rate among groups of {REFERENCE_MIN_SIZE} people or more; "
            "smaller groups with a higher rate are compared with it"
        )
    return "the highest selection rate"


def _ratio(selected: int, total: int, ref_selected: int, ref_total: int) -> float | None:
    """The impact ratio from the counts in one division, so 16/100 against 20/100 is 0.8
    exactly, not 0.7999… (the rule's line must not move with rounding)."""
    if total == 0 or ref_selected == 0:
        return None
    return (selected * ref_total) / (total * ref_selected)


def _below_four_fifths(selected: int, total: int, ref_selected: int, ref_total: int) -> bool | None:
    """Whether the ratio is below 0.8, decided on the integers (no rounding at the line)."""
    if total == 0 or ref_selected == 0:
        return None
    return Fraction(selected * ref_total, total * ref_selected) < _FOUR_FIFTHS_EXACT


def _flip(
    label: str,
    people: int,
    counts: Mapping[str, tuple[int, int]],
    reference: str,
    raw: dict[str, float],
    compared: list[str],
) -> dict[str, Any]:
    """The comparison had ``people`` more of the group been selected (at most all of it), and,
    under ``reference_side``, had ``people`` fewer of the reference been selected (at least
    none): each time the impact ratio, whether it is below 0.8, and the group's Holm-adjusted
    Fisher p among the feature's comparisons (the other comparisons as they are)."""
    selected, total = counts[label]
    ref_selected, ref_total = counts[reference]
    more = min(selected + people, total)
    fewer = max(ref_selected - people, 0)
    return {
        "added": more - selected,
        "selected": int(more),
        **_what_if(label, more, total, ref_selected, ref_total, raw, compared),
        "reference_side": {
            "removed": ref_selected - fewer,
            "reference_selected": int(fewer),
            **_what_if(label, selected, total, fewer, ref_total, raw, compared),
        },
    }


def _what_if(
    label: str,
    selected: int,
    total: int,
    ref_selected: int,
    ref_total: int,
    raw: dict[str, float],
    compared: list[str],
) -> dict[str, Any]:
    p_values = [
        fisher_p(selected, total, ref_selected, ref_total) if other == label else raw[other]
        for other in compared
    ]
    return {
        "impact_ratio": _ratio(selected, total, ref_selected, ref_total),
        "below_four_fifths": _below_four_fifths(selected, total, ref_selected, ref_total),
        "fisher_p_holm": holm(p_values)[compared.index(label)],
    }


def _reference_row(label: str, selected: int, total: int, basis: str) -> dict[str, Any]:
    return {
        **_empty_row(label, selected, total),
        "selection_rate": selected / total,
        "reference": True,
        "impact_ratio": 1.0 if selected else None,
        "below_four_fifths": False if selected else None,
        "finding": REFERENCE,
        "sentence": f"Reference ({selected:,} of {total:,} selected): {basis}.",
    }


def _empty_row(label: str, selected: int, total: int) -> dict[str, Any]:
    """A group that is not compared: no one in it (or no one in any group)."""
    return {
        "group": label,
        "n": int(total),
        "selected": int(selected),
        "selection_rate": None,
        "reference": False,
        "impact_ratio": None,
        "below_four_fifths": None,
        "impact_ratio_ci": None,
        "fisher_p": None,
        "fisher_p_holm": None,
        "z": None,
        "z_p": None,
        "flips": [],
        "minimum_detectable_ratio": None,
        "finding": TOO_SMALL,
        "sentence": f"{TOO_SMALL.capitalize()}: no one in this group was evaluated.",
    }


def judge(row: dict[str, Any], alpha: float, reference_group: str) -> tuple[str, str]:
    """The finding for one compared group and a sentence saying why (see DECISION_RULE).

    ``row`` needs ``impact_ratio``, ``fisher_p_holm``, ``flips`` and
    ``minimum_detectable_ratio`` as :func:`adverse_impact` builds them.
    """
    ratio, p = row["impact_ratio"], row["fisher_p_holm"]
    detectable = row["minimum_detectable_ratio"]
    reference = printable(reference_group, 40)
    if ratio is None:  # the reference rate is 0: no one selected in any group
        return NOT_INDICATED, (
            f"{NOT_INDICATED.capitalize()}: no one in any group was selected, so the rates "
            "are equal (0) and the impact ratio is undefined."
        )
    significant = p < alpha
    stated = f"impact ratio {ratio:.3f}"
    p_stated = f"Holm-adjusted Fisher p {_p(p)}"
    if row["below_four_fifths"]:
        if significant:
            return INDICATED, (
                f"{INDICATED.capitalize()}: {stated} is below four-fifths and the difference "
                f"is statistically significant ({p_stated})."
            )
        crossing = _crossing(row["flips"], reference)
        if crossing is not None:
            ratio_then, change = crossing
            return TOO_SMALL, (
                f"{TOO_SMALL.capitalize()}: {stated} is below four-fifths, but the difference "
                f"is not statistically significant ({p_stated}) and with {change} the ratio "
                f"would be {_ratio_text(ratio_then)}: it rests on small numbers."
            )
        last = row["flips"][-1]
        return INDICATED, (
            f"{INDICATED.capitalize()} by the four-fifths rule: {stated} stays below "
            f"four-fifths with {_people(last['added'], 'more')} of the group selected "
            f"({last['impact_ratio']:.3f}) or {_people(last['reference_side']['removed'], 'fewer')}"
            f" of {reference} selected ({last['reference_side']['impact_ratio']:.3f}), though "
            f"the difference is not statistically significant ({p_stated})."
        )
    if significant:
        last = row["flips"][-1]
        then = max(last["fisher_p_holm"], last["reference_side"]["fisher_p_holm"])
        change = (
            f"{_people(last['added'], 'more')} of the group selected, or "
            f"{_people(last['reference_side']['removed'], 'fewer')} of {reference}"
        )
        if then < alpha:
            return INDICATED, (
                f"{INDICATED.capitalize()}: {stated} is at or above four-fifths, but the "
                f"difference is statistically significant ({p_stated}) and stays so with "
                f"{change} (p {_p(then)} at most): significant in statistical and practical "
                "terms."
            )
        return NOT_INDICATED, (
            f"{NOT_INDICATED.capitalize()}: {stated} is at or above four-fifths; the "
            f"difference is statistically significant ({p_stated}) but not in practical "
            f"terms: with {change} it might not be (p {_p(then)})."
        )
    if detectable is None or detectable < FOUR_FIFTHS:
        reach = (
            "not even a ratio of 0 would be detected"
            if detectable is None
            else f"only a ratio of {detectable:.3f} or lower would be detected"
        )
        return TOO_SMALL, (
            f"{TOO_SMALL.capitalize()}: {stated} is at or above four-fifths and the "
            f"difference is not statistically significant ({p_stated}), but at these sample "
            f"sizes {reach} with {POWER:.0%} power."
        )
    return NOT_INDICATED, (
        f"{NOT_INDICATED.capitalize()}: {stated} is at or above four-fifths, the difference "
        f"is not statistically significant ({p_stated}), and the sample would detect a ratio "
        f"of {detectable:.3f} or lower with {POWER:.0%} power."
    )


def _p(value: float) -> str:
    text = p_value_text(value)
    return text if text.startswith("<") else f"= {text}"


def _people(count: int, direction: str) -> str:
    word = {1: "one", 2: "two"}.get(count, str(count))
    return f"{word} {direction} {'person' if count == 1 else 'people'}"


def _ratio_text(ratio: float | None) -> str:
    return "undefined (no one of the reference selected)" if ratio is None else f"{ratio:.3f}"


def _crossing(flips: list[dict[str, Any]], reference: str) -> tuple[float | None, str] | None:
    """The smallest change (one person first, on either side) that brings the impact ratio
    to 0.8 or above: (the ratio then, the change in words), or None if none does."""
    for flip in flips:
        if not flip["below_four_fifths"]:
            return flip["impact_ratio"], f"{_people(flip['added'], 'more')} of the group selected"
        side = flip["reference_side"]
        if not side["below_four_fifths"]:
            return side[
                "impact_ratio"
            ], f"{_people(side['removed'], 'fewer')} of {reference} selected"
    return None
