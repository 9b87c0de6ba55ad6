"""The summary printed at the end of ``rai-audit run`` and ``rai-audit demo``.

The report's first page in a few lines of text: the overall verdict (or "no policy"), the
key numbers with their intervals (:mod:`audit.report.key_numbers`, formatted as in the
report), the top findings (:mod:`audit.report.findings`) and where the files are. Every
value from the data (column names, group labels) goes through :func:`audit.text.printable`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from audit.report.findings import overall_verdict, top_findings
from audit.report.key_numbers import key_numbers, value_text
from audit.text import printable

LABEL_WIDTH = 44
# The terminal shows at most this many per-feature numbers (the report shows them all).
MAX_FAIRNESS_NUMBERS = 6
# Finding severity -> the mark the terminal shows (no colour: logs and CI read it too).
MARKS = {"fail": "✗", "error": "✗", "inconclusive": "?", "warning": "!", "info": "·"}


def _measure(number: dict[str, Any]) -> str:
    text = number["measure"]
    if number.get("feature") is not None:
        text += f" — {printable(number['feature'], 30)}"
    return text


def _verdict_line(result: dict[str, Any]) -> str:
    """``Overall verdict: ✗ Fail: 4 of 6 rule checks fail the gate 'default'.``"""
    verdict = overall_verdict(result)
    head = f"Overall verdict: {verdict['symbol']} {verdict['word']}"
    total = verdict["n_rules"]
    status = verdict["status"]
    if status == "no rules":
        return head + ": no fairness policy was set, so no verdict; read the numbers."
    if status == "pass":
        return head + f": all {total} rule checks pass."
    if status == "fail":
        return (
            head
            + f": {verdict['n_failing']} of {total} rule checks fail the gate '{verdict['gate']}'."
        )
    return head + f": none fails the gate, {verdict['n_unsettled']} of {total} are not settled."


def _shortlist(numbers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The overall numbers and at most MAX_FAIRNESS_NUMBERS per-feature ones, those whose
    verdict is worst first (fail, inconclusive, insufficient data, pass), in their order."""
    overall = [n for n in numbers if n.get("feature") is None]
    per_feature = [n for n in numbers if n.get("feature") is not None]
    if len(per_feature) <= MAX_FAIRNESS_NUMBERS:
        return numbers
    rank = {"fail": 0, "inconclusive": 1, "insufficient data": 2}
    order = sorted(range(len(per_feature)), key=lambda i: rank.get(per_feature[i]["verdict"], 3))
    kept = sorted(order[:MAX_FAIRNESS_NUMBERS])
    return overall + [per_feature[i] for i in kept]


def summary_lines(result: Any, files: list[Path] | None = None) -> list[str]:
    """The end-of-run summary of ``result`` as lines of text.

    Parameters
    ----------
    result : AuditResult or dict
        The result, or its JSON data (``AuditResult.to_dict()``, a loaded results.json).
    files : list of Path, optional
        The files written; the summary ends with them (:func:`wrote_line`).
    """
    if not isinstance(result, dict):
        result = result.to_dict()
    lines = [_verdict_line(result)]
    data = result.get("data") or {}
    if data.get("in_sample"):  # split.evaluate_on train/all with a model trained here
        lines.append(
            f"In-sample numbers (split.evaluate_on: {data.get('evaluate_on')}): the model "
            "was trained on rows it is audited on, so they are optimistic."
        )
    numbers = key_numbers(result)
    if numbers:
        confidence = ((result.get("fairness") or {}).get("settings") or {}).get("confidence")
        level = f" ({confidence:.0%} intervals)" if confidence else ""
        lines.append(f"Key numbers{level}:")
        shown = _shortlist(numbers)
        for number in shown:
            line = f"  {_measure(number):<{LABEL_WIDTH}} {value_text(number)}"
            if number.get("groups"):
                line += f"  {printable(number['groups'], 60)}"
            if number.get("verdict"):
                line += f"  {number['verdict'].upper()}"
            lines.append(line.rstrip())
        if len(shown) < len(numbers):
            lines.append(f"  … and {len(numbers) - len(shown)} more in the report")
    monitoring = result.get("monitoring")
    reference = [p for p in (monitoring or {}).get("trend", []) if p["status"] == "reference"]
    if reference and all(p["reference_ci"] is None for p in reference):
        lines.append(
            f"Over time: nothing compared in {monitoring['n_windows']} windows: the reference "
            f"window {printable(monitoring['reference_window'], 20)} has no interval on any "
            "watched disparity (too few rows); name another with --reference-window."
        )
    elif monitoring and not monitoring.get("alerts"):  # alerts are among the top findings
        lines.append(
            f"Over time: no alert in {monitoring['n_windows']} windows "
            f"({printable(monitoring['window'], 20)} of {printable(monitoring['time_column'], 40)}"
            f", reference {printable(monitoring['reference_window'], 20)})."
        )
    findings = top_findings(result)
    if findings:
        lines.append("Top findings:")
        lines += [
            f"  {MARKS.get(f['severity'], '·')} {printable(f['text'], 160)}" for f in findings
        ]
    if files:
        lines.append(wrote_line(files))
    return lines


def wrote_line(paths: list[Path]) -> str:
    """'Wrote a, b, c' with the CSV tables beside the report counted, not listed."""
    tables = [p for p in paths if p.parent.name == "tables"]
    shown = [str(p) for p in paths if p not in tables]
    if tables:
        shown.append(f"{len(tables)} CSV tables in {tables[0].parent}")
    return "Wrote " + ", ".join(shown)
