"""What changed between two audits: ``rai-audit compare OLD NEW`` and ``result.compare(other)``.

A comparison reads two typed results (:class:`~audit.result.AuditResult`, validated alike)
and lists, by kind:

- the files each audit read (data, model) with their SHA-256, and the settings that differ:
  how the result says it was made (versions, model, parameters, rows, gate, intervals),
  then every other key of the stored config, by dotted name (``compliance.rules``...), but
  where the output was written (``output.dir``, ``policy.junit``: not how it was made);
- every policy verdict, paired by rule, feature and group: *better*, *same* or *worse* on
  the order pass > inconclusive = insufficient data > fail (neither of the middle two is
  settled, so a move between them is no regression), then, for the same rank, by the gate:
  a verdict that now fails the gate is *worse*, one that no longer does *better*; a verdict
  only in one audit is *new* or *removed*;
- every disparity of every sensitive feature, paired by feature and metric: *beyond noise*
  when the new interval excludes the old point value, *within noise* when it moved but the
  new interval still holds the old value, *no interval* when it moved and the new audit has
  no interval to judge it by, *undefined* when one side has no value;
- the performance metrics, judged the same way where the new audit has an interval;
- the data-quality findings, by id (check and column): *new*, *resolved* or *persisting*.

The comparison is *worse* (``rai-audit compare`` exits 1) when any paired verdict got
worse; the new audit's own gate still decides its own ``rai-audit run`` exit code.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import computed_field

from audit.metrics.verdicts import FAIL, INCONCLUSIVE, INSUFFICIENT, PASS
from audit.result.sections import Interval, Section

# An audit.result.AuditResult. Not imported: AuditResult.compare() imports this module.
AuditResult = Any

# Higher is better; inconclusive and insufficient data are both "not settled".
VERDICT_RANK = {PASS: 2, INCONCLUSIVE: 1, INSUFFICIENT: 1, FAIL: 0}
# Performance metrics in the order shown; True: higher is better, False: lower is better,
# None: neither (a rate of the data or of the decisions, not a quality).
PERFORMANCE_METRICS: dict[str, bool | None] = {
    "n": None,
    "base_rate": None,
    "selection_rate": None,
    "accuracy": True,
    "balanced_accuracy": True,
    "precision": True,
    "recall": True,
    "f1": True,
    "macro_precision": True,  # multiclass: the means over the classes
    "macro_recall": True,
    "macro_f1": True,
    "roc_auc": True,
    "brier": False,
    "mae": False,
    "rmse": False,
    "r2": True,
    "mean_prediction": None,
    "mean_target": None,
}
# Two values this close are the same number (a value re-read from JSON is exact; this only
# absorbs float noise of recomputing the same audit elsewhere).
SAME = {"rel_tol": 1e-9, "abs_tol": 1e-12}

Movement = Literal[
    "unchanged", "within noise", "beyond noise", "no interval", "undefined", "new", "removed"
]


class AuditSide(Section):
    """One of the two audits, as the comparison names it."""

    created_at: str
    data_file: str
    data_sha256: str
    model: str
    n_evaluated: int
    policy_status: str
    gate: str


class FileChange(Section):
    """A file an audit read (by role: data, model), with its SHA-256 in each audit."""

    role: str
    old_path: str | None
    new_path: str | None
    old_sha256: str | None
    new_sha256: str | None
    changed: bool


class SettingChange(Section):
    """A setting that differs between the audits (only differing ones are listed)."""

    name: str
    old: Any
    new: Any


class VerdictChange(Section):
    rule: str
    feature: str
    group: str | None = None
    metric: str
    old_verdict: str | None
    new_verdict: str | None
    old_value: float | None = None
    new_value: float | None = None
    old_ci: Interval | None = None
    new_ci: Interval | None = None
    old_fails_gate: bool | None = None
    new_fails_gate: bool | None = None
    change: Literal["better", "same", "worse", "new", "removed"]

    @property
    def moved(self) -> bool:
        """Whether the verdict, its value or its interval, or its gate decision differs
        (numbers within the float noise :func:`movement` ignores are the same)."""
        return (
            (self.old_verdict, self.old_fails_gate) != (self.new_verdict, self.new_fails_gate)
            or not _same_number(self.old_value, self.new_value)
            or not _same_interval(self.old_ci, self.new_ci)
        )


def _same_number(old: float | None, new: float | None) -> bool:
    """Equal within :data:`SAME` (float noise); None only equals None."""
    if old is None or new is None:
        return old is new
    return math.isclose(old, new, **SAME)


def _same_interval(old: Interval | None, new: Interval | None) -> bool:
    if old is None or new is None:
        return old is new
    return all(_same_number(a, b) for a, b in zip(old, new, strict=True))


class DisparityChange(Section):
    feature: str
    metric: str
    aggregate: str  # difference (parity at 0) or ratio (parity at 1)
    old_value: float | None
    new_value: float | None
    old_ci: Interval | None = None
    new_ci: Interval | None = None
    old_groups: str | None = None
    new_groups: str | None = None
    change: Movement
    toward_parity: bool | None = None  # None: unchanged, undefined, new or removed
    class_label: str | None = None  # a multiclass audit's class (one-vs-rest)


class MetricChange(Section):
    metric: str
    old_value: int | float | None  # n is a count
    new_value: int | float | None
    old_ci: Interval | None = None
    new_ci: Interval | None = None
    change: Movement
    improved: bool | None = None  # None: unchanged, or a metric that is not a quality


class FindingChange(Section):
    id: str
    check: str
    subject: str
    change: Literal["new", "resolved", "persisting"]
    old_severity: str | None
    new_severity: str | None
    message: str  # the new audit's message (the old one's for a resolved finding)


class Comparison(Section):
    """What changed from the ``old`` audit to the ``new`` one (see the module docstring)."""

    old: AuditSide
    new: AuditSide
    confidence: float | None  # the new audit's interval level, which judges "noise"
    files: list[FileChange]
    settings: list[SettingChange]
    verdicts: list[VerdictChange]
    disparities: list[DisparityChange]
    performance: list[MetricChange]
    findings: list[FindingChange]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def worse(self) -> bool:
        """Whether any verdict of a rule both audits checked got worse, or now fails the
        gate (the CI gate)."""
        return any(v.change == "worse" for v in self.verdicts)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def changed(self) -> bool:
        """Whether anything but the creation time differs."""
        return bool(
            any(f.changed for f in self.files)
            or self.settings
            or any(v.change != "same" or v.moved for v in self.verdicts)
            or any(d.change != "unchanged" for d in self.disparities)
            or any(m.change != "unchanged" for m in self.performance)
            or any(f.change != "persisting" for f in self.findings)
        )

    def to_dict(self) -> dict[str, Any]:
        """The comparison as plain JSON data (what ``rai-audit compare --format json`` prints)."""
        return self.model_dump(mode="json")

    def __repr__(self) -> str:
        worse = sum(v.change == "worse" for v in self.verdicts)
        better = sum(v.change == "better" for v in self.verdicts)
        beyond = sum(d.change == "beyond noise" for d in self.disparities)
        data = "changed" if any(f.changed for f in self.files if f.role == "data") else "same"
        return (
            f"<Comparison: {worse} verdicts worse, {better} better, {beyond} disparities beyond "
            f"noise, data {data}>"
        )

    def __str__(self) -> str:
        from audit.report.comparison import terminal_lines

        return "\n".join(terminal_lines(self))

    def _repr_html_(self) -> str:
        """The comparison page's content without its fonts and stylesheet, for notebooks."""
        from audit.report.comparison import render_comparison

        return render_comparison(self, fragment=True)


# --- reading ----------------------------------------------------------------------------


# --- comparing --------------------------------------------------------------------------


def compare(old: AuditResult, new: AuditResult) -> Comparison:
    """What changed from ``old`` to ``new`` (both typed results)."""
    return Comparison(
        old=_side(old),
        new=_side(new),
        confidence=new.fairness.settings.confidence,
        files=_files(old, new),
        settings=_settings(old, new),
        verdicts=_verdicts(old, new),
        disparities=_disparities(old, new),
        performance=_performance(old, new),
        findings=_findings(old, new),
    )


def _side(result: AuditResult) -> AuditSide:
    model = result.model
    if model.source == "predictions":
        what = f"decisions in column {model.column}" if model.column else "decisions given"
    else:
        what = model.estimator or model.registry_name or "a model"
        what += {"trained": " (trained here)", "file": f" ({model.file})", "object": ""}.get(
            model.source, ""
        )
    return AuditSide(
        created_at=result.provenance.created_at,
        data_file=result.provenance.data_file,
        data_sha256=result.provenance.data_sha256,
        model=what,
        n_evaluated=result.data.n_evaluated,
        policy_status=result.policy.status,
        gate=result.policy.gate,
    )


def _files(old: AuditResult, new: AuditResult) -> list[FileChange]:
    before = {f.role: f for f in old.provenance.files}
    after = {f.role: f for f in new.provenance.files}
    out = []
    for role in [*before, *(r for r in after if r not in before)]:
        a, b = before.get(role), after.get(role)
        out.append(
            FileChange(
                role=role,
                old_path=a and a.path,
                new_path=b and b.path,
                old_sha256=a and a.sha256,
                new_sha256=b and b.sha256,
                changed=(a and a.sha256) != (b and b.sha256),
            )
        )
    return out


def _setting_values(result: AuditResult) -> dict[str, Any]:
    """The settings that say how an audit was made, by dotted name."""
    model, data, settings = result.model, result.data, result.fairness.settings
    values: dict[str, Any] = {
        "schema_version": result.schema_version,
        "rai-audit": result.provenance.versions.get("rai-audit"),
        "seed": result.provenance.seed,
        "data.target": data.target,
        "data.positive_label": data.positive_label,
        "data.sensitive": data.sensitive,
        "data.features": data.features,
        "data.n_rows": data.n_rows,
        "data.n_evaluated": data.n_evaluated,
        "model.source": model.source,
        "model.estimator": model.estimator,
        "model.decision_rule": model.decision_rule.text,
        "policy.rules": result.policy.rules,
        "policy.gate": result.policy.gate,
        "fairness.confidence": settings.confidence,
        "fairness.resamples": settings.resamples,
        "fairness.interval_method": settings.interval_method,
        "fairness.min_group_size": settings.min_group_size,
    }
    for key, value in (model.params or {}).items():
        values[f"model.params.{key}"] = value
    return values


# Where an audit's files were written, not how it was made: two audits compared nearly
# always live in different folders.
NOT_SETTINGS = frozenset({"output.dir", "policy.junit"})


def _config_values(config: Any, prefix: str = "") -> dict[str, Any]:
    """Every leaf of a stored config by dotted name (a list or an empty mapping is a leaf)."""
    if not isinstance(config, dict) or (prefix and not config):
        return {prefix.rstrip("."): config}
    values: dict[str, Any] = {}
    for key, value in config.items():
        values.update(_config_values(value, f"{prefix}{key}."))
    return values


def _all_settings(result: AuditResult) -> dict[str, Any]:
    """The chosen settings, then every other config key not named among them."""
    values = _setting_values(result)
    for name, value in _config_values(result.config).items():
        if name not in values and name not in NOT_SETTINGS:
            values[name] = value
    return values


def _settings(old: AuditResult, new: AuditResult) -> list[SettingChange]:
    before, after = _all_settings(old), _all_settings(new)
    names = [*before, *(n for n in after if n not in before)]
    return [
        SettingChange(name=name, old=before.get(name), new=after.get(name))
        for name in names
        if before.get(name) != after.get(name)
    ]


def _paired(old: list[Any], new: list[Any], key: Any) -> list[tuple[Any, Any]]:
    """Items of ``old`` and ``new`` paired by ``key`` (the n-th of a repeated key with the
    n-th), in the new audit's order, then the removed ones; a missing side is None."""
    waiting: dict[Any, list[Any]] = {}
    for item in old:
        waiting.setdefault(key(item), []).append(item)
    pairs = []
    for item in new:
        queue = waiting.get(key(item))
        pairs.append((queue.pop(0) if queue else None, item))
    pairs += [(item, None) for queue in waiting.values() for item in queue]
    return pairs


def _verdicts(old: AuditResult, new: AuditResult) -> list[VerdictChange]:
    out = []

    def key(verdict: Any) -> tuple[str, str, str | None]:
        return verdict.rule, verdict.feature, verdict.group

    for a, b in _paired(old.rule_verdicts, new.rule_verdicts, key):
        either = b or a
        if a is None:
            change = "new"
        elif b is None:
            change = "removed"
        else:
            change = _verdict_change(a, b)
        out.append(
            VerdictChange(
                rule=either.rule,
                feature=either.feature,
                group=either.group,
                metric=either.metric,
                old_verdict=a and a.verdict,
                new_verdict=b and b.verdict,
                old_value=a and a.value,
                new_value=b and b.value,
                old_ci=a and a.ci,
                new_ci=b and b.ci,
                old_fails_gate=a and a.fails_gate,
                new_fails_gate=b and b.fails_gate,
                change=change,
            )
        )
    return out


def _verdict_change(old: Any, new: Any) -> str:
    """better / worse / same: by the verdict's rank, then, for the same rank, by the gate
    (an inconclusive verdict that now fails the gate got worse; one that no longer does,
    better)."""
    step = VERDICT_RANK[new.verdict] - VERDICT_RANK[old.verdict]
    if step == 0 and bool(old.fails_gate) != bool(new.fails_gate):
        step = -1 if new.fails_gate else 1
    return "better" if step > 0 else "worse" if step < 0 else "same"


def movement(old: float | None, new: float | None, new_ci: Interval | None) -> str:
    """How a value moved, judged by the new interval: ``beyond noise`` when it excludes the
    old value, ``within noise`` when it holds it (an unbounded end holds everything)."""
    if old is None and new is None:
        return "unchanged"
    if old is None or new is None:
        return "undefined"
    if math.isclose(old, new, **SAME):
        return "unchanged"
    if new_ci is None:
        return "no interval"
    low = -math.inf if new_ci[0] is None else new_ci[0]
    high = math.inf if new_ci[1] is None else new_ci[1]
    return "within noise" if low <= old <= high else "beyond noise"


def _disparity_items(result: AuditResult) -> list[tuple[str | None, str, Any]]:
    """(class, feature, disparity): a multiclass audit's fairness is per class (one-vs-rest)
    and its ``fairness.features`` is empty."""
    if result.classes is not None:
        return [
            (label, f.feature, d)
            for label, audit in result.classes.per_class.items()
            for f in audit.fairness
            for d in f.disparities
        ]
    return [(None, f.feature, d) for f in result.fairness.features for d in f.disparities]


def _disparities(old: AuditResult, new: AuditResult) -> list[DisparityChange]:
    out = []
    pairs = _paired(
        _disparity_items(old), _disparity_items(new), lambda item: (*item[:2], item[2].metric)
    )
    for a, b in pairs:
        class_label, feature, either = b or a
        da, db = a and a[2], b and b[2]
        if da is None or db is None:
            change, toward = ("new" if da is None else "removed"), None
        else:
            change = movement(da.value, db.value, db.ci)
            toward = None
            if change not in ("unchanged", "undefined"):
                toward = _from_parity(db.value, db.aggregate) < _from_parity(da.value, da.aggregate)
        out.append(
            DisparityChange(
                feature=feature,
                metric=either.metric,
                aggregate=either.aggregate,
                old_value=da and da.value,
                new_value=db and db.value,
                old_ci=da and da.ci,
                new_ci=db and db.ci,
                old_groups=da and da.groups_behind,
                new_groups=db and db.groups_behind,
                change=change,
                toward_parity=toward,
                class_label=class_label,
            )
        )
    return out


def _from_parity(value: float, aggregate: str) -> float:
    """How far a disparity is from parity: 0 for a difference, 1 for a ratio."""
    return abs(value - (1.0 if aggregate == "ratio" else 0.0))


def _performance(old: AuditResult, new: AuditResult) -> list[MetricChange]:
    before, after = old.performance.model_dump(), new.performance.model_dump()
    out = []
    for metric, higher_is_better in PERFORMANCE_METRICS.items():
        a, b = before.get(metric), after.get(metric)
        if a is None and b is None:
            continue  # not a metric of this task
        new_ci = after.get(f"{metric}_ci")
        change = movement(a, b, new_ci)
        improved = None
        if higher_is_better is not None and change not in ("unchanged", "undefined"):
            improved = (b > a) == higher_is_better
        out.append(
            MetricChange(
                metric=metric,
                old_value=a,
                new_value=b,
                old_ci=before.get(f"{metric}_ci"),
                new_ci=new_ci,
                change=change,
                improved=improved,
            )
        )
    return out


def _findings(old: AuditResult, new: AuditResult) -> list[FindingChange]:
    out = []
    for a, b in _paired(old.quality.findings, new.quality.findings, lambda f: f.id):
        either = b or a
        out.append(
            FindingChange(
                id=either.id,
                check=either.check,
                subject=either.subject,
                change="new" if a is None else "resolved" if b is None else "persisting",
                old_severity=a and a.severity,
                new_severity=b and b.severity,
                message=either.message,
            )
        )
    return out
