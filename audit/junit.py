"""JUnit XML of the policy verdicts, so CI systems show each rule as a test case.

Each verdict is one ``<testcase>``: a failed rule is a ``<failure>``; an inconclusive
verdict or one with insufficient data is ``<skipped>`` (a ``<failure>`` in strict mode,
where the policy fails on them too). The message carries the value and its interval.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any


def junit_xml(result: dict[str, Any]) -> bytes:
    """The verdicts of ``result`` as a JUnit XML document."""
    verdicts = result.get("verdicts", [])
    policy = result.get("policy") or {}
    strict = bool(policy.get("strict"))
    unproven = sum(1 for v in verdicts if v["verdict"] not in ("pass", "fail"))
    failing = sum(1 for v in verdicts if v["verdict"] == "fail") + (unproven if strict else 0)
    skipped = 0 if strict else unproven
    suites = ET.Element("testsuites", name="rai-audit policy")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name="rai-audit policy",
        tests=str(len(verdicts)),
        failures=str(failing),
        errors="0",
        skipped=str(skipped),
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("status", policy.get("status", "")),
        ("strict", str(strict).lower()),
        ("data_sha256", result.get("provenance", {}).get("data_sha256", "")),
    ):
        ET.SubElement(properties, "property", name=name, value=str(value))
    for verdict in verdicts:
        group = f" = {verdict['group']}" if "group" in verdict else ""
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"rai-audit.policy.{verdict['feature']}{group}",
            name=f"{verdict['feature']}{group}: {verdict['rule']}",
        )
        message = _message(verdict)
        outcome = verdict["verdict"]
        if outcome == "fail" or (strict and outcome != "pass"):
            failure = ET.SubElement(case, "failure", message=message, type=outcome)
            failure.text = verdict.get("reason", "")
        elif outcome != "pass":
            ET.SubElement(case, "skipped", message=message)
        else:
            ET.SubElement(case, "system-out").text = message
    ET.indent(suites)
    return ET.tostring(suites, encoding="utf-8", xml_declaration=True)


def _message(verdict: dict[str, Any]) -> str:
    value, ci = verdict.get("value"), verdict.get("ci")
    shown = "undefined" if value is None else f"{value:.4f}"
    if ci is not None:
        shown += f", interval [{ci[0]:.4f}, {ci[1]:.4f}]"
    return f"{verdict['verdict']}: {verdict['metric']} = {shown}; rule {verdict['rule']}. " + (
        verdict.get("reason") or ""
    )
