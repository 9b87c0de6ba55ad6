"""Answer key of the proxy exercise: computed from the audit with and without the proxy."""

from __future__ import annotations

from pathlib import Path

import audit
from audit.exercises import exercise_data

HERE = Path(__file__).parent


def audits() -> tuple[audit.AuditResult, audit.AuditResult]:
    """The starter audit, and the same with the proxy dropped from the inputs."""
    frame = exercise_data("proxy")["lending.csv"]
    result = audit.run(HERE / "audit.yaml", data=frame)
    without = audit.run(HERE / "audit.yaml", data=frame, drop=["neighbourhood"])
    return result, without


def flagged_proxies(result: audit.AuditResult) -> dict[str, float]:
    """Input -> its association with race, for every input the proxy check flags."""
    return {
        f.evidence["feature"]: f.evidence["value"]
        for f in result.quality.findings
        if f.check == "proxy_association" and f.evidence["sensitive"] == "race"
    }


def _gap(result: audit.AuditResult) -> float:
    rates = result.groups("race").set_index("group")["selection_rate"]
    return rates["White"] - rates["Black"]


def key() -> dict[str, object]:
    result, without = audits()
    proxies = flagged_proxies(result)
    strongest = max(proxies, key=proxies.get)
    return {
        "race_is_input": "race" in result.model.input_columns,
        "selection_gap": _gap(result),
        "dp_verdict": result.verdicts().set_index("rule")["verdict"][
            "demographic_parity_ratio >= 0.8"
        ],
        "proxy_feature": strongest,
        "proxy_strength": proxies[strongest],
        "gap_without_proxy": _gap(without),
    }
