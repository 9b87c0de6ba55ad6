"""The grammar of policy rules: ``[feature:] metric op bound``.

A rule is ``metric op bound``, optionally on one sensitive feature or intersection:
``demographic_parity_ratio >= 0.8``, ``race: equalized_odds_difference <= 0.1``,
``sex × race: tpr >= 0.6`` (``*`` may stand for ``×``). Without a feature it applies
to every sensitive feature and every intersection. The metric is a disparity (one
value per feature) or a group metric (one verdict per group). How verdicts are
reached from intervals is in :mod:`audit.metrics.verdicts`.
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Protocol

from audit.text import printable
from audit.vocabulary.groups import SEPARATOR
from audit.vocabulary.metrics import known_rule_metrics


class Rule(Protocol):
    """What a rule holds (audit.config.PolicyRule is one)."""

    metric: str
    op: str
    bound: float
    feature: str | list[str] | None


OPS = (">=", "<=", ">", "<")
RULE_PATTERN = re.compile(
    r"^\s*(?:(?P<feature>.+?)\s*:\s*)?(?P<metric>[A-Za-z_][A-Za-z0-9_]*)\s*"
    r"(?P<op>>=|<=|>|<|=>|=<)\s*(?P<bound>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$"
)
ALL_FEATURES = ("all", "*")


def parse_rule_text(text: str) -> dict[str, Any]:
    """``"[feature:] metric op bound"`` -> ``{metric, op, bound, feature}``.

    Raises
    ------
    ValueError
        If the text is not a rule (pydantic turns it into a config error naming the key).
    """
    match = RULE_PATTERN.match(text)
    if not match:
        raise ValueError(
            f"cannot read rule '{printable(text, 60)}': write it as 'metric >= bound' or "
            "'feature: metric <= bound', e.g. 'demographic_parity_ratio >= 0.8'"
        )
    op = {"=>": ">=", "=<": "<="}.get(match["op"], match["op"])
    rule: dict[str, Any] = {
        "metric": match["metric"],
        "op": op,
        "bound": float(match["bound"]),
    }
    if match["feature"]:
        rule["feature"] = match["feature"].strip()
    return rule


def check_metric_name(metric: str) -> None:
    """Raise ValueError naming the closest known metrics when ``metric`` is unknown."""
    known = known_rule_metrics()
    if metric in known:
        return
    close = difflib.get_close_matches(metric, known, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise ValueError(
        f"unknown metric '{printable(metric, 60)}' in a policy rule.{hint} Known disparities "
        f"and group metrics: {', '.join(known)}"
    )


def feature_key(feature: str | list[str] | None) -> str | None:
    """The partition name a rule's ``feature`` refers to (``None`` = every partition)."""
    if feature is None:
        return None
    if isinstance(feature, list):
        return SEPARATOR.join(str(part).strip() for part in feature)
    text = feature.strip()
    if text.lower() in ALL_FEATURES:
        return None
    parts = re.split(r"\s*(?:×|\*)\s*", text)
    return SEPARATOR.join(parts)


def rule_text(rule: Rule, with_feature: bool = False) -> str:
    """Canonical text of a rule: ``metric op bound`` (prefixed by its feature if asked)."""
    text = f"{rule.metric} {rule.op} {rule.bound:g}"
    key = feature_key(rule.feature)
    return f"{key}: {text}" if with_feature and key else text
