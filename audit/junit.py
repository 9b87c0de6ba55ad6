"""JUnit XML of the policy verdicts, so CI systems show each rule as a test case.

Each verdict is one ``<testcase>``: a verdict that fails the policy's gate (its
``fails_gate``, decided in :mod:`audit.metrics.verdicts`) is a ``<failure>`` — a fail,
an inconclusive verdict whose point estimate violates the bound under the default gate,
or any verdict but a pass under the strict gate; other verdicts that are not a pass are
``<skipped>``. The message carries the value, its interval and the groups behind it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from audit.result.sections import PolicySummary, Verdict
from audit.text import interval_text


def junit_xml(policy: PolicySummary, verdicts: list[Verdict], data_sha256: str) -> bytes:
    """The policy's verdicts as a JUnit XML document (``data_sha256`` names the data)."""
    failing = sum(1 for v in verdicts if v.fails_gate)
    skipped = sum(1 for v in verdicts if v.verdict != "pass" and not v.fails_gate)
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
        ("status", policy.status),
        ("gate", policy.gate),
        ("data_sha256", data_sha256),
    ):
        ET.SubElement(properties, "property", name=name, value=str(value))
    for verdict in verdicts:
        group = f" = {verdict.group}" if verdict.group is not None else ""
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"rai-audit.policy.{verdict.feature}{group}",
            name=f"{verdict.feature}{group}: {verdict.rule}",
        )
        message = _message(verdict)
        outcome = verdict.verdict
        if verdict.fails_gate:
            failure = ET.SubElement(case, "failure", message=message, type=outcome)
            failure.text = verdict.reason
        elif outcome != "pass":
            ET.SubElement(case, "skipped", message=message)
        else:
            ET.SubElement(case, "system-out").text = message
    ET.indent(suites)
    return ET.tostring(suites, encoding="utf-8", xml_declaration=True)


def _message(verdict: Verdict) -> str:
    value, ci = verdict.value, verdict.ci
    shown = "undefined" if value is None else f"{value:.4f}"
    if ci is not None:
        shown += f", interval {interval_text(ci, 4)}"
    if verdict.groups_behind and verdict.group is None:
        shown += f" ({verdict.groups_behind})"
    gate = " Fails the gate." if verdict.fails_gate else ""
    return f"{verdict.verdict}: {verdict.metric} = {shown}; rule {verdict.rule}.{gate} " + (
        verdict.reason or ""
    )
