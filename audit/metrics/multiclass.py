"""Multiclass metrics: every class one-vs-rest through the one binary engine, and summaries.

For each class c the binary :func:`audit.metrics.measure` audits ``y_true == c`` against
``y_pred == c`` (scored by the predicted probability of c when the model gives one), so a
class's per-group rates, disparities, intervals and verdicts are exactly a binary audit's.
On top: the overall multiclass performance (accuracy with its interval, balanced accuracy,
macro precision / recall / F1) and, per feature and disparity, the mean across classes and
the worst class.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import sklearn.metrics as skm

from audit.config import FairnessConfig, PolicyConfig
from audit.errors import AuditError
from audit.metrics import measure, settings_summary
from audit.metrics.performance import effective_size, wilson_interval, z_value
from audit.metrics.verdicts import summarize
from audit.multiclass import class_names
from audit.text import printable, quoted_list
from audit.vocabulary.metrics import ALL_DISPARITIES
from audit.vocabulary.rules import rule_text

ONE_VS_REST = (
    "Each class is audited one-vs-rest: its rows against all others (y = c), the model's "
    "decision being 'predicted c' (and its score the predicted probability of c), measured "
    "by the same engine, intervals and verdicts as a binary audit."
)


def measure_multiclass(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    proba: np.ndarray | None,
    sensitive: pd.DataFrame,
    classes: list[str],
    fairness: FairnessConfig | None = None,
    policy: PolicyConfig | None = None,
    *,
    seed: int = 0,
    sample_weight: np.ndarray | None = None,
) -> dict[str, Any]:
    """Overall performance, the one-vs-rest audit of every class, macro summaries, verdicts.

    Parameters
    ----------
    y_true, y_pred : ndarray
        Class codes 0..K-1 (the index of the class in ``classes``).
    proba : ndarray or None
        Predicted probabilities, one column per class (in ``classes`` order).
    classes : list of str
        The class names, in code order.

    Returns
    -------
    dict
        ``performance`` (task multiclass), ``classes`` (labels, per_class, macro),
        ``verdicts`` (each with ``class_label``), ``policy`` and ``settings``.
    """
    fairness = fairness if fairness is not None else FairnessConfig()
    policy = policy if policy is not None else PolicyConfig()
    y_true, y_pred = _codes(y_true, len(classes), "labels"), _codes(y_pred, len(classes), "y_pred")
    _check_rule_classes(policy, classes)
    per_class: dict[str, Any] = {}
    verdicts: list[dict[str, Any]] = []
    for code, name in enumerate(classes):
        truth = (y_true == code).astype(np.int8)
        # ROC AUC needs both outcomes: a class absent from (or filling) the rows has no score.
        scored = proba is not None and 0 < truth.sum() < len(truth)
        rules = [r for r in policy.rules if r.class_label is None or _same(r.class_label, name)]
        measured = measure(
            truth,
            (y_pred == code).astype(np.int8),
            proba[:, code] if scored else None,
            sensitive,
            fairness,
            PolicyConfig(rules=rules, gate=policy.gate),
            seed=seed,
            sample_weight=sample_weight,
        )
        per_class[name] = {
            "label": name,
            "support": int(truth.sum()),
            "predicted": int((y_pred == code).sum()),
            "performance": measured["performance"],
            "fairness": measured["fairness"],
        }
        for verdict in measured["verdicts"]:
            rule = f"{verdict['rule']} [class {name}]"
            verdicts.append({**verdict, "rule": rule, "class_label": name})
    summary = summarize(verdicts, policy)
    summary["rules"] = [_rule_words(rule) for rule in policy.rules]
    return {
        "performance": overall_multiclass(
            y_true, y_pred, sample_weight, confidence=fairness.bootstrap.confidence
        ),
        "classes": {
            "labels": list(classes),
            "text": ONE_VS_REST,
            "per_class": per_class,
            "macro": macro_disparities(per_class),
        },
        "fairness": [],
        "verdicts": verdicts,
        "policy": summary,
        "settings": settings_summary(fairness, "multiclass", weighted=sample_weight is not None),
    }


def overall_multiclass(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    sample_weight: np.ndarray | None = None,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Accuracy (with its Wilson interval), balanced accuracy and the macro averages of
    precision, recall and F1 over the classes (a class never predicted has no precision
    and is left out of the macro precision, as scikit-learn's ``zero_division=nan``)."""
    w = sample_weight
    n_eff = len(y_true) if w is None else effective_size(w)
    accuracy = float(skm.accuracy_score(y_true, y_pred, sample_weight=w))

    def macro(metric: Any) -> float | None:
        value = float(
            metric(y_true, y_pred, average="macro", zero_division=np.nan, sample_weight=w)
        )
        return None if math.isnan(value) else value

    return {
        "task": "multiclass",
        "n": int(len(y_true)),
        "accuracy": accuracy,
        "accuracy_ci": wilson_interval(accuracy, n_eff, z_value(confidence)),
        "balanced_accuracy": float(skm.balanced_accuracy_score(y_true, y_pred, sample_weight=w)),
        "macro_precision": macro(skm.precision_score),
        "macro_recall": macro(skm.recall_score),
        "macro_f1": macro(skm.f1_score),
    }


def macro_disparities(per_class: dict[str, Any]) -> list[dict[str, Any]]:
    """For each feature and disparity: its value in each class, the mean across the classes
    where it is defined, and the worst class (the largest difference in absolute value, the
    ratio furthest from 1)."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for name, audit in per_class.items():
        for feature in audit["fairness"]:
            for disparity in feature["disparities"]:
                key = (feature["feature"], disparity["metric"])
                row = rows.setdefault(
                    key, {"feature": key[0], "metric": key[1], "values": {}, "cis": {}}
                )
                row["values"][name] = disparity["value"]
                row["cis"][name] = disparity.get("ci")
    out = []
    for row in rows.values():
        defined = {k: v for k, v in row["values"].items() if v is not None}
        worst = max(defined, key=lambda k: _badness(row["metric"], defined[k]), default=None)
        out.append(
            {
                "feature": row["feature"],
                "metric": row["metric"],
                "values": row["values"],
                "defined_classes": len(defined),
                "mean": float(np.mean(list(defined.values()))) if defined else None,
                "worst_class": worst,
                "worst_value": None if worst is None else defined[worst],
                "worst_ci": None if worst is None else row["cis"][worst],
            }
        )
    return out


def _badness(metric: str, value: float) -> float:
    spec = ALL_DISPARITIES.get(metric)
    if spec is not None and spec.aggregate == "ratio":
        return abs(math.log(value)) if value > 0 else math.inf
    return abs(value)


def _codes(values: np.ndarray, k: int, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype.kind not in "iu" or (array.size and (array.min() < 0 or array.max() >= k)):
        raise AuditError(f"measure_multiclass(): {name} must be class codes 0..{k - 1}.")
    return array.astype(np.int64)


def _same(label: Any, name: str) -> bool:
    return class_names([label])[0] == name


def _check_rule_classes(policy: PolicyConfig, classes: list[str]) -> None:
    for rule in policy.rules:
        if rule.class_label is not None and not any(_same(rule.class_label, c) for c in classes):
            raise AuditError(
                f"Policy rule '{printable(_rule_words(rule), 120)}' names class "
                f"{printable(repr(rule.class_label), 40)}, which is not a class of the target. "
                f"Classes: {quoted_list(classes, shown=10)}; name one of them, or remove the "
                "rule's class to check every class."
            )


def _rule_words(rule: Any) -> str:
    text = rule_text(rule, with_feature=True)
    return text if rule.class_label is None else f"{text} [class {rule.class_label}]"
