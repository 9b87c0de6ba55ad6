"""How a comparison of two audits is shown: a few lines for the terminal and an HTML page.

The terminal lines follow :mod:`audit.report.terminal`: plain text, the marks it uses, the
shared number formatters (:func:`audit.text.number_text`, :func:`audit.text.interval_text`),
every value from data or config through :func:`audit.text.printable`. They list what changed
and count what did not; the HTML page (``reports/templates/compare.html.j2``, the report's
Jinja2 environment and stylesheet) and ``--format json`` list everything.
"""

from __future__ import annotations

from typing import Any

from audit.report import wrapping
from audit.report.render import environment, stylesheet
from audit.report.terminal import MARKS
from audit.text import interval_text, number_text, printable

# An audit.comparison.Comparison. Not imported: its str() and notebook view import this module.
Comparison = Any

# At most this many lines per list in the terminal (the HTML and JSON list them all).
MAX_LINES = 12
HASH_SHOWN = 12
CHANGE_MARKS = {"worse": MARKS["fail"], "better": "+", "new": "·", "removed": "·", "same": "·"}


def _value(value: Any, ci: Any = None) -> str:
    text = number_text(value)
    return f"{text} {interval_text(ci)}" if ci else text


def _capped(lines: list[str], more: str = "in --format json or --html") -> list[str]:
    if len(lines) <= MAX_LINES:
        return lines
    return [*lines[:MAX_LINES], f"  … and {len(lines) - MAX_LINES} more {more}"]


def _hash(sha: str | None) -> str:
    return "—" if sha is None else sha[:HASH_SHOWN] + "…"


def _where(feature: str, group: str | None) -> str:
    text = printable(feature, 30)
    return text + (f" = {printable(group, 30)}" if group is not None else "")


def _verdict_lines(comparison: Comparison) -> list[str]:
    counts = {k: 0 for k in ("worse", "better", "same", "new", "removed")}
    for v in comparison.verdicts:
        counts[v.change] += 1
    if not comparison.verdicts:
        return ["Verdicts: no policy rules in either audit."]
    old, new = comparison.old.policy_status, comparison.new.policy_status
    head = (
        f"Verdicts: {counts['worse']} worse, {counts['better']} better, {counts['same']} same, "
        f"{counts['new']} new, {counts['removed']} removed; policy {old.upper()} → {new.upper()}"
    )
    lines = []
    for v in comparison.verdicts:
        gate = _gate_change(v.old_fails_gate, v.new_fails_gate)
        if v.change == "same" and v.old_verdict == v.new_verdict and not gate:
            continue
        verdicts = f"{v.old_verdict or '—'} → {v.new_verdict or '—'}"
        values = f"{_value(v.old_value, v.old_ci)} → {_value(v.new_value, v.new_ci)}"
        lines.append(
            f"  {CHANGE_MARKS[v.change]} {v.change.upper():<8} {_where(v.feature, v.group)}: "
            f"{printable(v.rule, 60)}  {verdicts}  {values}{gate and '  ' + gate}"
        )
    return [head, *_capped(lines)]


def _gate_change(old: bool | None, new: bool | None) -> str:
    """``now fails the gate`` / ``no longer fails the gate``, or "" when it did not change."""
    if old is None or new is None or old == new:
        return ""
    return "now fails the gate" if new else "no longer fails the gate"


def _file_lines(comparison: Comparison) -> list[str]:
    lines = ["Files read (SHA-256):"]
    for f in comparison.files:
        if f.changed:
            text = f"changed {_hash(f.old_sha256)} → {_hash(f.new_sha256)}"
        else:
            text = f"same    {_hash(f.new_sha256)}"
        path = printable(f.new_path or f.old_path, 60)
        if f.old_path != f.new_path and f.old_path and f.new_path:
            path = f"{printable(f.old_path, 40)} → {printable(f.new_path, 40)}"
        lines.append(f"  {f.role:<8} {text}  {path}")
    return lines


def _setting_lines(comparison: Comparison) -> list[str]:
    if not comparison.settings:
        return []
    lines = [
        f"  {s.name:<28} {printable(s.old, 40)} → {printable(s.new, 40)}"
        for s in comparison.settings
    ]
    return ["Settings changed:", *_capped(lines)]


def _moved(change: str) -> str:
    return "moved (no interval)" if change == "no interval" else change


def _direction(improved: bool | None, better: str, worse: str) -> str:
    return "" if improved is None else f", {better if improved else worse}"


def _performance_lines(comparison: Comparison) -> list[str]:
    moved = [m for m in comparison.performance if m.change != "unchanged"]
    if not moved:
        return ["Performance: unchanged."] if comparison.performance else []
    lines = [
        f"  {m.metric:<20} {_value(m.old_value)} → {_value(m.new_value, m.new_ci)}  "
        f"{_moved(m.change)}{_direction(m.improved, 'better', 'worse')}"
        for m in moved
    ]
    return ["Performance:", *_capped(lines)]


def _disparity_lines(comparison: Comparison) -> list[str]:
    counts: dict[str, int] = {}
    for d in comparison.disparities:
        counts[d.change] = counts.get(d.change, 0) + 1
    if not comparison.disparities:
        return []
    level = f"{comparison.confidence:.0%} " if comparison.confidence else ""
    order = ("beyond noise", "within noise", "no interval", "undefined", "new", "removed")
    parts = [f"{counts[k]} {_moved(k)}" for k in order if counts.get(k)]
    parts.append(f"{counts.get('unchanged', 0)} unchanged")
    head = (
        f"Disparities ({len(comparison.disparities)}): {', '.join(parts)}; beyond noise = the "
        f"new {level}interval excludes the old value"
    )
    lines = [
        f"  {_class_prefix(d.class_label)}{printable(d.feature, 30)}: {d.metric}  "
        f"{_value(d.old_value)} → "
        f"{_value(d.new_value, d.new_ci)}"
        f"{_direction(d.toward_parity, 'toward parity', 'away from parity')}"
        for d in comparison.disparities
        if d.change == "beyond noise"
    ]
    return [head, *_capped(lines)]


def _class_prefix(class_label: str | None) -> str:
    return "" if class_label is None else f"class {printable(class_label, 30)}, "


def _finding_lines(comparison: Comparison) -> list[str]:
    new = [f for f in comparison.findings if f.change == "new"]
    resolved = [f for f in comparison.findings if f.change == "resolved"]
    persisting = len(comparison.findings) - len(new) - len(resolved)
    head = f"Data quality: {len(new)} new, {len(resolved)} resolved, {persisting} persisting"
    lines = [
        f"  {MARKS.get(f.new_severity or '', '·')} new      {printable(f.id, 60)}: "
        f"{printable(f.message, 120)}"
        for f in new
    ]
    lines += [f"  · resolved {printable(f.id, 60)}" for f in resolved]
    return [head, *_capped(lines)]


def terminal_lines(
    comparison: Comparison, old_name: str = "OLD", new_name: str = "NEW"
) -> list[str]:
    """The comparison in a few lines: what changed, and a count of what did not."""
    old, new = comparison.old, comparison.new
    lines = [
        f"Comparing {printable(old_name, 80)} ({old.created_at}, {printable(old.model, 60)}, "
        f"{number_text(old.n_evaluated)} rows evaluated)",
        f"     with {printable(new_name, 80)} ({new.created_at}, {printable(new.model, 60)}, "
        f"{number_text(new.n_evaluated)} rows evaluated)",
        *_verdict_lines(comparison),
        *_file_lines(comparison),
        *_setting_lines(comparison),
        *_performance_lines(comparison),
        *_disparity_lines(comparison),
        *_finding_lines(comparison),
    ]
    if not comparison.changed:
        same_time = old.created_at == new.created_at
        lines.append("Nothing changed." if same_time else "Nothing changed but the creation time.")
    return lines


def render_comparison(
    comparison: Comparison, old_name: str = "OLD", new_name: str = "NEW", fragment: bool = False
) -> str:
    """The comparison as an HTML page (fonts and stylesheet embedded, like report.html), or
    with ``fragment`` its content alone (for a notebook cell)."""
    css = "" if fragment else stylesheet()
    html = (
        environment()
        .get_template("compare.html.j2")
        .render(
            c=comparison.to_dict(),
            old_name=old_name,
            new_name=new_name,
            css=css,
            fragment=fragment,
        )
    )
    return wrapping.break_identifiers(html)
