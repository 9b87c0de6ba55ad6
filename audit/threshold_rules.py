"""The per-group decision rules of a fitted threshold optimizer, as plain data.

fairlearn's ThresholdOptimizer decides for each group by mixing two threshold operations
on a score (with probabilities ``p0`` and ``p1``) and, for some groups, a constant
decision that ignores the score (with probability ``p_ignore``, positive with probability
``prediction_constant``). The mitigation stage (its saved ``GroupThresholdClassifier``)
and the explanation of an audited ThresholdOptimizer describe those rules with this one
module, so the report states every rule once and completely, the constant part included.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

# The arrays that hold a fitted optimizer's rules (GroupThresholdClassifier keeps them as
# attributes of the same names with a trailing underscore).
PLAN_FIELDS = (
    "groups",
    "p0",
    "threshold0",
    "greater0",
    "p1",
    "threshold1",
    "greater1",
    "p_ignore",
    "constant",
)


def interpolation_plan(interpolation_dict: Mapping[Any, Any]) -> dict[str, np.ndarray]:
    """The arrays of a fitted ``interpolated_thresholder_.interpolation_dict``, groups sorted."""
    groups = sorted(interpolation_dict, key=str)
    plan = [interpolation_dict[g] for g in groups]
    arrays = {
        "groups": np.asarray([str(g) for g in groups], dtype=str),
        "p0": np.array([float(b.p0) for b in plan]),
        "threshold0": np.array([float(b.operation0.threshold) for b in plan]),
        "greater0": np.array([b.operation0.operator == ">" for b in plan]),
        "p1": np.array([float(b.p1) for b in plan]),
        "threshold1": np.array([float(b.operation1.threshold) for b in plan]),
        "greater1": np.array([b.operation1.operator == ">" for b in plan]),
        "p_ignore": np.array([float(b.get("p_ignore", 0.0)) for b in plan]),
        "constant": np.array([float(b.get("prediction_constant", 0.0)) for b in plan]),
    }
    assert tuple(arrays) == PLAN_FIELDS
    return arrays


def _part(probability: float, greater: bool, threshold: float) -> dict[str, Any]:
    """One threshold part. An infinite threshold (results.json writes it as null) decides
    the same whatever the score, so ``always`` says which way (None for a finite one)."""
    threshold = float(threshold)
    always = None if np.isfinite(threshold) else bool(greater) == (threshold < 0)
    return {
        "probability": probability,
        "operator": ">" if greater else "<",
        "threshold": threshold,
        "always": always,
    }


def describe_rules(plan: Mapping[str, np.ndarray]) -> list[dict[str, Any]]:
    """Each group's complete rule: its threshold parts and its constant part, if any.

    Returns
    -------
    list of dict
        One per group: ``group``; ``rules`` (each "with ``probability``, positive when
        score ``operator`` ``threshold``", parts of probability 0 left out; ``always`` is
        True/False for an infinite threshold, positive/negative whatever the score); ``constant``
        (with ``probability``, positive with ``positive_rate`` whatever the score; None
        when the group always uses its score); ``main_threshold`` (the threshold of the
        most probable part, None when it is infinite or there is none).
    """
    described = []
    for i, group in enumerate(plan["groups"]):
        # Threshold parts are mixed within the share the constant part leaves, so their
        # probabilities are scaled by (1 - p_ignore): all of a group's parts add up to 1.
        keep = 1.0 - float(plan["p_ignore"][i])
        parts = [
            _part(keep * float(plan[f"p{k}"][i]), plan[f"greater{k}"][i], plan[f"threshold{k}"][i])
            for k in (0, 1)
            if plan[f"p{k}"][i] > 0 and keep > 0
        ]
        described.append(
            _group(group, parts, float(plan["p_ignore"][i]), float(plan["constant"][i]))
        )
    return described


def upgrade_older_result(raw: dict[str, Any]) -> dict[str, Any]:
    """Read a results.json written before the rules were one field (schema 2.0).

    Its threshold-optimizer strategies kept ``details.thresholds`` (the threshold parts
    only, as text) and its explained variants a second copy with the constant part. The
    rules become ``details.rules`` as :func:`describe_rules` writes them, the constant part
    taken from the variant's copy (unknown when explanations were off), and the copy goes.
    """
    mitigation = raw.get("mitigation") or {}
    variants = {v.get("label"): v for v in (raw.get("explanations") or {}).get("variants") or []}
    for strategy in mitigation.get("strategies") or []:
        details = strategy.get("details") or {}
        if "thresholds" not in details or "rules" in details:
            continue
        stated = variants.get(strategy.get("label"), {}).pop("postprocessing", None) or {}
        constants = {g["group"]: g.get("constant") for g in stated.get("groups", [])}
        details["rules"] = [
            _older_group(t, constants.get(t["group"])) for t in details["thresholds"]
        ]
        del details["thresholds"]
    return raw


def _older_group(old: dict[str, Any], constant: dict[str, Any] | None) -> dict[str, Any]:
    p_ignore = float(old.get("p_ignore") or 0.0)
    keep = 1.0 - p_ignore
    parts = []
    for k in (0, 1):
        operator, threshold = old[f"rule{k}"].split()[1:3]  # "score > 0.4123"
        if old[f"p{k}"] > 0 and keep > 0:
            parts.append(_part(keep * old[f"p{k}"], operator == ">", float(threshold)))
    return _group(old["group"], parts, p_ignore, (constant or {}).get("positive_rate"))


def _group(
    group: Any, parts: list[dict[str, Any]], p_ignore: float, positive_rate: float | None
) -> dict[str, Any]:
    main = max(parts, key=lambda r: r["probability"]) if parts else None
    return {
        "group": str(group),
        "rules": parts,
        "constant": {"probability": p_ignore, "positive_rate": positive_rate}
        if p_ignore > 0
        else None,
        "main_threshold": main["threshold"]
        if main is not None and np.isfinite(main["threshold"])
        else None,
    }
