"""Evidence the audit can link to a checklist item: where it lives and what it says.

Each source names a section of the :class:`~audit.result.AuditResult` (``quality``,
``fairness``, ``verdicts``, ``explanations``...) and the report sections to link to, and
reads that section's typed fields. It is resolved from the result as it stands when the
checklist is evaluated (the last stage): a stage that did not run, or was skipped, gives
"evidence not available" with the reason, never a silent answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from audit.result import AuditResult
from audit.result.sections import QualityFinding, QualitySection
from audit.text import number_text
from audit.vocabulary.metrics import FOUR_FIFTHS  # the usual reference without a policy

# (summary, concerns) or (summary, concerns, findings): concerns are short texts; findings are
# the data-quality findings ({id, severity, anchor}) behind them, which the report links to.
Resolved = tuple[str, list[str]] | tuple[str, list[str], list[dict[str, str]]]


class NotAvailable(Exception):
    """The source's stage did not run or holds nothing usable; the message says why."""


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    key: str  # the section of the result it reads ("verdicts" is AuditResult.rule_verdicts)
    anchors: tuple[str, ...]
    resolve: Callable[[AuditResult], Resolved]


# ---- data quality ---------------------------------------------------------------------------


def _quality_checks(part: QualitySection, checks: tuple[str, ...]) -> list[QualityFinding]:
    """The findings of ``checks``; NotAvailable when none of them ran."""
    states = {c.id: c for c in part.checks}
    ran = [c for c in checks if c in states and states[c].status == "ran"]
    if not ran:
        reasons = sorted({states[c].reason for c in checks if c in states} - {None})
        raise NotAvailable(
            "the check(s) "
            + ", ".join(checks)
            + " did not run"
            + (f" ({'; '.join(reasons)})" if reasons else "")
        )
    return [f for f in part.findings if f.check in checks]


def _concerns(findings: list[QualityFinding]) -> tuple[list[str], list[dict[str, str]]]:
    """Warnings and errors as short concerns, plus links to the findings behind them."""
    serious = [f for f in findings if f.severity != "info"]
    return (
        [f"data-quality {f.severity} {f.id}" for f in serious],
        [{"id": f.id, "severity": f.severity, "anchor": f.anchor} for f in serious],
    )


def _counted(findings: list[QualityFinding], noun: str) -> str:
    if not findings:
        return f"no {noun} findings"
    by = {s: sum(f.severity == s for f in findings) for s in ("error", "warning", "info")}
    parts = [f"{n} {s}{'s' if n != 1 else ''}" for s, n in by.items() if n]
    return f"{noun}: " + ", ".join(parts)


def _quality(checks: tuple[str, ...], describe: Callable[[QualitySection], str]):
    def resolve(result: AuditResult) -> Resolved:
        findings = _quality_checks(result.quality, checks)
        return describe(result.quality) + "; " + _counted(findings, "related"), *_concerns(findings)

    return resolve


def _quality_overall(result: AuditResult) -> Resolved:
    part = result.quality
    ran = sum(c.status == "ran" for c in part.checks)
    counts = part.counts
    summary = (
        f"{ran} checks ran before training: {counts.get('error', 0)} errors, "
        f"{counts.get('warning', 0)} warnings, {counts.get('info', 0)} info"
    )
    if part.errors_overridden:
        summary += " (errors overridden by the user)"
    return summary, *_concerns(part.findings)


def _smallest_groups(part: QualitySection) -> str:
    texts = []
    for table in part.tables.get("representation", []):
        if len(table["attributes"]) != 1:
            continue
        present = [g for g in table["groups"] if g["n"]]
        if present:
            small = min(present, key=lambda g: g["n"])
            texts.append(
                f"{table['name']}: {len(present)} groups, smallest {small['group']} "
                f"({small['n']:,} rows, {100 * small['share']:.1f}%)"
            )
    return "; ".join(texts) or "no sensitive groups"


def _base_rate_gaps(part: QualitySection) -> str:
    minimum = part.settings.get("min_group_rows", 0)
    texts = []
    for table in part.tables.get("representation", []):
        rates = [
            g["base_rate"]
            for g in table["groups"]
            if g["n"] >= max(minimum, 1) and g.get("base_rate") is not None
        ]
        if len(rates) >= 2:
            texts.append(f"{table['name']} {max(rates) - min(rates):.3f}")
    return "base-rate gap (max − min): " + (", ".join(texts) or "not measurable")


def _missing(part: QualitySection) -> str:
    rows = part.tables.get("missing", [])
    if not rows:
        return "no missing values"
    top = max(rows, key=lambda r: r["share"])
    return (
        f"{len(rows)} column(s) with missing values, most in {top['column']} "
        f"({100 * top['share']:.1f}%)"
    )


def _duplicates(part: QualitySection) -> str:
    found = {f.id: f.evidence for f in part.findings}
    dup = found.get("duplicates:rows", {}).get("duplicate_rows", 0)
    conflict = found.get("conflicting_labels:rows", {}).get("rows", 0)
    return f"{dup:,} exact duplicate rows, {conflict:,} rows with conflicting labels"


def _identifiers(part: QualitySection) -> str:
    ids = [f.evidence for f in part.findings if f.check == "id_like"]
    if not ids:
        return "no identifier-like columns"
    return "identifier-like: " + ", ".join(
        f"{e['column']} ({'a model input' if e['role'] == 'feature' else e['role']})" for e in ids
    )


def _strongest_leak(part: QualitySection) -> str:
    rows = part.tables.get("single_feature_auc") or []
    if rows:
        return f"strongest: {rows[0]['column']} alone, ROC AUC {rows[0]['auc']:.3f}"
    rows = part.tables.get("single_feature_correlation") or []
    if rows and rows[0].get("correlation") is not None:
        return f"strongest: {rows[0]['column']} alone, correlation {rows[0]['correlation']:.3f}"
    return "nothing to measure"


def _strongest_proxy(part: QualitySection) -> str:
    proxies = part.tables.get("proxies") or {}
    scored = [a for a in proxies.get("associations", []) if a.get("value") is not None]
    if not scored:
        return "nothing to measure"
    top = scored[0]
    value = number_text(top["value"])
    return f"strongest: {top['feature']} ~ {top['sensitive']} ({top['measure']} {value})"


def _split(part: QualitySection) -> str:
    split = part.split or {}
    return f"{split.get('train_rows', 0):,} training vs {split.get('test_rows', 0):,} test rows"


# ---- the audit's own core results -----------------------------------------------------------


def _data(result: AuditResult) -> Resolved:
    data = result.data
    groups = ", ".join(f"{k} ({len(v)} groups)" for k, v in data.group_sizes.items())
    return f"{data.n_rows:,} rows × {data.n_columns} columns; sensitive: {groups or 'none'}", []


def _model_inputs(result: AuditResult) -> Resolved:
    model = result.model
    if model.source == "predictions":
        return "predictions-only audit: the decisions were made elsewhere; inputs unknown", []
    used = [c for c in model.input_columns if c in result.data.sensitive]
    if used:
        return (
            f"{len(model.input_columns)} model inputs, including sensitive attribute(s) "
            f"{', '.join(used)}",
            [f"sensitive attribute(s) {', '.join(used)} are model inputs"],
        )
    return f"{len(model.input_columns)} model inputs; no sensitive attribute among them", []


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _performance(result: AuditResult) -> Resolved:
    p = result.performance
    if p.task == "regression":
        shown = f"MAE {_number(p.mae)}, RMSE {_number(p.rmse)}, R² {_number(p.r2)}"
    elif p.task == "multiclass":
        shown = (
            f"accuracy {_number(p.accuracy)}, balanced accuracy "
            f"{_number(p.balanced_accuracy)}, macro F1 {_number(p.macro_f1)}"
        )
    else:
        shown = (
            f"accuracy {_number(p.accuracy)}, balanced accuracy "
            f"{_number(p.balanced_accuracy)}, ROC AUC {_number(p.roc_auc)}"
        )
    return f"{shown} on {p.n:,} rows ({result.fairness.evaluated_on})", []


def _fairness(result: AuditResult) -> Resolved:
    texts, concerns = [], []
    for feature in result.fairness.features:
        values = {d.metric: d.value for d in feature.disparities}
        dp = values.get("demographic_parity_difference")
        eo = values.get("equalized_odds_difference")
        ratio = values.get("demographic_parity_ratio")
        texts.append(
            f"{feature.feature}: demographic parity difference {_number(dp)}, equalized odds "
            f"difference {_number(eo)}"
        )
        if ratio is not None and ratio < FOUR_FIFTHS:
            concerns.append(
                f"{feature.feature}: demographic parity ratio {number_text(ratio)} is below the "
                f"four-fifths rule ({FOUR_FIFTHS})"
            )
    if result.classes is not None:  # multiclass: each feature's worst class, one-vs-rest
        texts, concerns = _class_fairness(result)
    if not texts:
        raise NotAvailable("no sensitive feature was measured")
    return "; ".join(texts), concerns


def _class_fairness(result: AuditResult) -> tuple[list[str], list[str]]:
    assert result.classes is not None
    texts, concerns = [], []
    for macro in result.classes.macro:
        if macro.metric == "demographic_parity_difference":
            texts.append(
                f"{macro.feature}: demographic parity difference (one class vs the rest) up to "
                f"{_number(macro.worst_value)} (class {macro.worst_class})"
            )
        ratio = macro.worst_value
        if macro.metric == "demographic_parity_ratio" and ratio is not None and ratio < FOUR_FIFTHS:
            concerns.append(
                f"{macro.feature}: demographic parity ratio of class {macro.worst_class} "
                f"{number_text(ratio)} is below the four-fifths rule ({FOUR_FIFTHS})"
            )
    return texts, concerns


def _verdicts(result: AuditResult) -> Resolved:
    verdicts = result.rule_verdicts
    if not verdicts:
        raise NotAvailable("no policy rules were set, so there are no verdicts")
    counts = {
        v: sum(x.verdict == v for x in verdicts) for v in dict.fromkeys(x.verdict for x in verdicts)
    }
    summary = ", ".join(f"{n} {v}" for v, n in counts.items())
    concerns = []
    failing = sum(v.fails_gate for v in verdicts)
    if failing:
        concerns.append(f"{failing} fairness verdict(s) fail the policy's gate")
    unproven = sum(v.verdict == "inconclusive" and not v.fails_gate for v in verdicts)
    if unproven:
        concerns.append(f"{unproven} fairness verdict(s) are inconclusive")
    return f"{len(verdicts)} verdicts: {summary} (policy: {result.policy.status})", concerns


def _policy(result: AuditResult) -> Resolved:
    rules = result.policy.rules
    if not rules:
        raise NotAvailable("no policy rules were set")
    return f"{len(rules)} policy rule(s) set, gate '{result.policy.gate}'", []


def _shorten(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _mitigation(result: AuditResult) -> Resolved:
    part = result.mitigation
    assert part is not None  # resolve() checked the section is present
    if part.status != "ran":
        raise NotAvailable(f"the stage did not run ({part.reason})")
    texts = [f"{len(part.strategies) - 1} strategies compared with the baseline"]
    if part.recommendation and part.recommendation.get("text"):
        texts.append(f"recommendation: {part.recommendation['text']}")
    return _shorten("; ".join(texts)), []


def _explained(result: AuditResult):
    part = result.explanations
    assert part is not None  # resolve() checked the section is present
    if part.status in ("disabled", "failed"):
        raise NotAvailable(f"the stage did not run ({part.reason})")
    return part


def _explanations(result: AuditResult) -> Resolved:
    part = _explained(result)
    if part.status != "explained":
        raise NotAvailable(part.reason or "no model to explain")
    return f"explained with {part.method or part.explainer}", []


def _explanation_proxies(result: AuditResult) -> Resolved:
    part = _explained(result)
    important = (part.proxies or {}).get("important")
    if important is None:
        raise NotAvailable("the explanations hold no proxy findings")
    if not important:
        return "no flagged proxy is also important to the model", []
    shown = ", ".join(dict.fromkeys(f"{p['feature']} ~ {p['sensitive']}" for p in important))
    return (
        _shorten(f"proxies the model relies on: {shown}"),
        [f"proxy feature(s) important to the model: {shown}"],
    )


def _provenance(result: AuditResult) -> Resolved:
    part = result.provenance
    return (
        f"data SHA-256 {part.data_sha256[:16]}…, seed {part.seed}, rai-audit "
        f"{part.versions.get('rai-audit')}, configuration saved in the result",
        [],
    )


def _documented(section: str, field: str):
    def resolve(result: AuditResult) -> Resolved:
        card = getattr(result, section)
        entry = next((s for s in card.sections if s.id == field), None) if card else None
        if entry is None or not entry.provided:
            raise NotAvailable(f"not provided: set {section}.{field} in the config")
        text = entry.provided
        text = "; ".join(t.rstrip(".") for t in text) if isinstance(text, list) else text
        return _shorten(f"documented: {text}", 200), []

    return resolve


def _source(id: str, title: str, key: str, anchors: tuple[str, ...], resolve) -> Source:
    return Source(id, title, key, anchors, resolve)


QUALITY = ("quality",)
_SOURCES = [
    _source("quality", "Data-quality findings", "quality", QUALITY, _quality_overall),
    _source(
        "quality.representation",
        "Representation of groups",
        "quality",
        QUALITY,
        _quality(("representation",), _smallest_groups),
    ),
    _source(
        "quality.base_rates",
        "Label base rates by group",
        "quality",
        QUALITY,
        _quality(("base_rate",), _base_rate_gaps),
    ),
    _source(
        "quality.missing",
        "Missing values and null markers",
        "quality",
        QUALITY,
        _quality(("missing_values", "missing_by_group", "null_markers"), _missing),
    ),
    _source(
        "quality.duplicates",
        "Duplicates and conflicting labels",
        "quality",
        QUALITY,
        _quality(("duplicates", "conflicting_labels"), _duplicates),
    ),
    _source(
        "quality.identifiers",
        "Identifier-like columns",
        "quality",
        QUALITY,
        _quality(("id_like",), _identifiers),
    ),
    _source(
        "quality.leakage",
        "Leakage suspects",
        "quality",
        QUALITY,
        _quality(("leakage",), _strongest_leak),
    ),  # fmt: skip
    _source(
        "quality.proxies",
        "Proxies of sensitive attributes (data)",
        "quality",
        QUALITY,
        _quality(("proxy_association",), _strongest_proxy),
    ),
    _source(
        "quality.train_test",
        "Train/test differences",
        "quality",
        QUALITY,
        _quality(("unseen_categories", "distribution_shift", "train_test_overlap"), _split),
    ),
    _source("data", "Columns, roles and group sizes", "data", ("data",), _data),
    _source("model_inputs", "Model inputs", "model", ("summary",), _model_inputs),
    _source("performance", "Performance", "performance", ("performance",), _performance),
    _source("fairness", "Fairness by group", "fairness", ("fairness",), _fairness),
    _source(
        "verdicts",
        "Fairness verdicts with intervals",
        "verdicts",
        ("verdicts", "policy", "fairness"),
        _verdicts,
    ),
    _source("policy", "Fairness policy", "policy", ("policy", "verdicts", "fairness"), _policy),
    _source("mitigation", "Bias mitigation compared", "mitigation", ("mitigation",), _mitigation),
    _source("explanations", "SHAP explanations", "explanations", ("explanations",), _explanations),
    _source(
        "explanations.proxies",
        "Proxy features (SHAP section)",
        "explanations",
        ("explanations",),
        _explanation_proxies,
    ),
    _source("provenance", "Provenance", "provenance", ("provenance",), _provenance),
    *[
        _source(
            f"model_card.{field}",
            f"Model card: {title}",
            "model_card",
            ("model_card",),
            _documented("model_card", field),
        )
        for field, title in (
            ("intended_use", "intended use"),
            ("out_of_scope_uses", "out-of-scope uses"),
            ("caveats_and_recommendations", "caveats and recommendations"),
        )
    ],
    *[
        _source(
            f"datasheet.{field}",
            f"Datasheet: {field}",
            "datasheet",
            ("model_card",),
            _documented("datasheet", field),
        )
        for field in ("motivation", "composition", "collection", "preprocessing")
    ],
]
SOURCES: dict[str, Source] = {s.id: s for s in _SOURCES}


def resolve(source_id: str, result: AuditResult) -> dict[str, Any]:
    """What the result says for one evidence source (or why it says nothing)."""
    source = SOURCES[source_id]
    entry: dict[str, Any] = {
        "source": source.id,
        "title": source.title,
        "key": source.key,
        "anchors": list(source.anchors),
        "available": False,
        "summary": None,
        "concerns": [],
        "findings": [],
        "reason": None,
    }
    field = "rule_verdicts" if source.key == "verdicts" else source.key
    if getattr(result, field) is None:
        entry["reason"] = f"the '{source.key}' stage did not run in this audit"
        return entry
    try:
        resolved = source.resolve(result)
    except NotAvailable as missing:
        entry["reason"] = str(missing)
        return entry
    entry.update(available=True, summary=resolved[0], concerns=list(resolved[1]))
    entry["findings"] = list(resolved[2]) if len(resolved) > 2 else []
    return entry
