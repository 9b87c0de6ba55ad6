"""Evidence the audit can link to a checklist item: where it lives and what it says.

Each source names a top-level key of the result (``quality``, ``fairness``,
``verdicts``, ``explanations``...) and the report sections to link to. It is
resolved from whatever the result holds when the checklist is evaluated (the
last stage): a stage that did not run, or was skipped, gives "evidence not
available" with the reason, never a silent answer.

Stages built elsewhere (``verdicts``/``policy``, ``mitigation``,
``explanations``) are read defensively: a known field is summarised when found
(verdict values anywhere in the subtree, a recommendation, proxy lists), and
otherwise the source is reported as present with a link to its section.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

# The four-fifths rule is the usual reference for a selection-rate ratio when no policy is set.
from audit.vocabulary.metrics import FOUR_FIFTHS

SKIPPED_STATES = ("skipped", "not run", "disabled", "failed")

# (summary, concerns) or (summary, concerns, findings): concerns are short texts; findings are
# the data-quality findings ({id, severity, anchor}) behind them, which the report links to.
Resolved = tuple[str, list[str]] | tuple[str, list[str], list[dict[str, str]]]


class NotAvailable(Exception):
    """The source's stage did not run or holds nothing usable; the message says why."""


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    key: str
    anchors: tuple[str, ...]
    resolve: Callable[[dict[str, Any], Any], Resolved]


def _walk(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every (path, value) pair in a nested structure of dicts and lists."""
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, (*path, str(k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, (*path, str(i)))


def _stage_state(part: Any) -> None:
    """Raise NotAvailable when a stage left a marker saying it did not run."""
    if part is None:
        raise NotAvailable("the stage produced no result")
    if isinstance(part, dict):
        status = str(part.get("status", "")).lower()
        if part.get("skipped") or status in SKIPPED_STATES:
            reason = part.get("reason") or part.get("skipped") or status
            raise NotAvailable(f"the stage did not run ({reason})")
        if not part:
            raise NotAvailable("the stage produced no result")


# ---- data quality ---------------------------------------------------------------------------


def _quality_checks(part: dict[str, Any], checks: tuple[str, ...]) -> list[dict[str, Any]]:
    """The findings of ``checks``; NotAvailable when none of them ran."""
    states = {c["id"]: c for c in part.get("checks", [])}
    ran = [c for c in checks if states.get(c, {}).get("status") == "ran"]
    if not ran:
        reasons = {states[c].get("reason") for c in checks if c in states} - {None}
        raise NotAvailable(
            "the check(s) "
            + ", ".join(checks)
            + " did not run"
            + (f" ({'; '.join(sorted(reasons))})" if reasons else "")
        )
    return [f for f in part.get("findings", []) if f["check"] in checks]


def _concerns(findings: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, str]]]:
    """Warnings and errors as short concerns, plus links to the findings behind them."""
    serious = [f for f in findings if f["severity"] != "info"]
    return (
        [f"data-quality {f['severity']} {f['id']}" for f in serious],
        [
            {"id": f["id"], "severity": f["severity"], "anchor": f.get("anchor", "quality")}
            for f in serious
        ],
    )


def _counted(findings: list[dict[str, Any]], noun: str) -> str:
    if not findings:
        return f"no {noun} findings"
    by = {s: sum(f["severity"] == s for f in findings) for s in ("error", "warning", "info")}
    parts = [f"{n} {s}{'s' if n != 1 else ''}" for s, n in by.items() if n]
    return f"{noun}: " + ", ".join(parts)


def _quality(checks: tuple[str, ...], describe: Callable[[dict[str, Any]], str]):
    def resolve(result: dict[str, Any], part: Any) -> Resolved:
        findings = _quality_checks(part, checks)
        return describe(part) + "; " + _counted(findings, "related"), *_concerns(findings)

    return resolve


def _quality_overall(result: dict[str, Any], part: Any) -> Resolved:
    counts = part.get("counts", {})
    ran = sum(c["status"] == "ran" for c in part.get("checks", []))
    summary = (
        f"{ran} checks ran before training: {counts.get('error', 0)} errors, "
        f"{counts.get('warning', 0)} warnings, {counts.get('info', 0)} info"
    )
    if part.get("errors_overridden"):
        summary += " (errors overridden by the user)"
    return summary, *_concerns(part.get("findings", []))


def _smallest_groups(part: dict[str, Any]) -> str:
    texts = []
    for table in part.get("tables", {}).get("representation", []):
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


def _base_rate_gaps(part: dict[str, Any]) -> str:
    minimum = part.get("settings", {}).get("min_group_rows", 0)
    texts = []
    for table in part.get("tables", {}).get("representation", []):
        rates = [g["base_rate"] for g in table["groups"] if g["n"] >= max(minimum, 1)]
        if len(rates) >= 2:
            texts.append(f"{table['name']} {max(rates) - min(rates):.3f}")
    return "base-rate gap (max − min): " + (", ".join(texts) or "not measurable")


def _missing(part: dict[str, Any]) -> str:
    rows = part.get("tables", {}).get("missing", [])
    if not rows:
        return "no missing values"
    top = max(rows, key=lambda r: r["share"])
    return (
        f"{len(rows)} column(s) with missing values, most in {top['column']} "
        f"({100 * top['share']:.1f}%)"
    )


def _duplicates(part: dict[str, Any]) -> str:
    found = {f["id"]: f for f in part.get("findings", [])}
    dup = found.get("duplicates:rows", {}).get("evidence", {}).get("duplicate_rows", 0)
    conflict = found.get("conflicting_labels:rows", {}).get("evidence", {}).get("rows", 0)
    return f"{dup:,} exact duplicate rows, {conflict:,} rows with conflicting labels"


def _identifiers(part: dict[str, Any]) -> str:
    ids = [f["evidence"] for f in part.get("findings", []) if f["check"] == "id_like"]
    if not ids:
        return "no identifier-like columns"
    return "identifier-like: " + ", ".join(
        f"{e['column']} ({'a model input' if e['role'] == 'feature' else e['role']})" for e in ids
    )


def _strongest(table: str, label: Callable[[dict[str, Any]], str]):
    def describe(part: dict[str, Any]) -> str:
        rows = part.get("tables", {}).get(table, [])
        if isinstance(rows, dict):  # the proxy table: its associations, strongest first
            rows = [r for r in rows.get("associations", []) if r.get("value") is not None]
        return ("strongest: " + label(rows[0])) if rows else "nothing to measure"

    return describe


def _split(part: dict[str, Any]) -> str:
    split = part.get("split") or {}
    return f"{split.get('train_rows', 0):,} training vs {split.get('test_rows', 0):,} test rows"


# ---- the audit's own core results -----------------------------------------------------------


def _data(result: dict[str, Any], part: Any) -> Resolved:
    sizes = part.get("group_sizes", {})
    groups = ", ".join(f"{k} ({len(v)} groups)" for k, v in sizes.items())
    return (
        f"{part.get('n_rows', 0):,} rows × {part.get('n_columns', 0)} columns; sensitive: "
        f"{groups or 'none'}",
        [],
    )


def _model_inputs(result: dict[str, Any], part: Any) -> Resolved:
    if part.get("source") == "predictions":
        return "predictions-only audit: the decisions were made elsewhere; inputs unknown", []
    inputs = part.get("input_columns", [])
    sensitive = result.get("data", {}).get("sensitive", [])
    used = [c for c in inputs if c in sensitive]
    if used:
        return (
            f"{len(inputs)} model inputs, including sensitive attribute(s) {', '.join(used)}",
            [f"sensitive attribute(s) {', '.join(used)} are model inputs"],
        )
    return f"{len(inputs)} model inputs; no sensitive attribute among them", []


def _performance(result: dict[str, Any], part: Any) -> Resolved:
    def show(name: str) -> str:
        value = part.get(name)
        return "—" if value is None else f"{value:.3f}"

    return (
        f"accuracy {show('accuracy')}, balanced accuracy {show('balanced_accuracy')}, ROC AUC "
        f"{show('roc_auc')} on {part.get('n', 0):,} rows "
        f"({result.get('fairness', {}).get('evaluated_on', 'evaluated rows')})",
        [],
    )


def _fairness(result: dict[str, Any], part: Any) -> Resolved:
    texts, concerns = [], []
    for feature in part.get("features", []):
        values = {d["metric"]: d["value"] for d in feature.get("disparities", [])}
        dp = values.get("demographic_parity_difference")
        eo = values.get("equalized_odds_difference")
        ratio = values.get("demographic_parity_ratio")
        texts.append(
            f"{feature['feature']}: demographic parity difference "
            f"{'—' if dp is None else f'{dp:.3f}'}, equalized odds difference "
            f"{'—' if eo is None else f'{eo:.3f}'}"
        )
        if ratio is not None and ratio < FOUR_FIFTHS:
            concerns.append(
                f"{feature['feature']}: demographic parity ratio {ratio:.2f} is below the "
                f"four-fifths rule ({FOUR_FIFTHS})"
            )
    if not texts:
        raise NotAvailable("no sensitive feature was measured")
    return "; ".join(texts), concerns


def _verdicts(result: dict[str, Any], part: Any) -> Resolved:
    _stage_state(part)
    verdicts = [
        str(v).lower()
        for path, v in _walk(part)
        if path and path[-1] == "verdict" and isinstance(v, str)
    ]
    if not verdicts:
        return "present (no individual verdicts found to count)", []
    counts = {v: verdicts.count(v) for v in dict.fromkeys(verdicts)}
    summary = ", ".join(f"{n} {v}" for v, n in counts.items())
    concerns = []
    if counts.get("fail"):
        concerns.append(f"{counts['fail']} fairness verdict(s) fail")
    if counts.get("inconclusive"):
        concerns.append(f"{counts['inconclusive']} fairness verdict(s) are inconclusive")
    return f"{len(verdicts)} verdicts: {summary}", concerns


def _policy(result: dict[str, Any], part: Any) -> Resolved:
    _stage_state(part)
    rules = part.get("rules") if isinstance(part, dict) else part
    if isinstance(rules, list):
        if not rules:
            raise NotAvailable("no policy rules were set")
        return f"{len(rules)} policy rule(s) set", []
    return "a policy is set", []


def _first_text(part: Any, keys: tuple[str, ...]) -> str | None:
    for path, value in _walk(part):
        if path and path[-1] in keys:
            if isinstance(value, str) and value.strip():
                return value.strip()
            if isinstance(value, dict):
                for name in ("text", "message", "summary", "strategy", "name"):
                    if isinstance(value.get(name), str):
                        return value[name]
    return None


def _shorten(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _mitigation(result: dict[str, Any], part: Any) -> Resolved:
    _stage_state(part)
    recommendation = _first_text(part, ("recommendation", "recommended"))
    strategies = part.get("strategies") if isinstance(part, dict) else None
    count = f"{len(strategies)} strategies compared" if isinstance(strategies, list) else None
    texts = [t for t in (count, recommendation and f"recommendation: {recommendation}") if t]
    return _shorten("; ".join(texts) or "mitigation options compared"), []


def _explanations(result: dict[str, Any], part: Any) -> Resolved:
    _stage_state(part)
    explainer = _first_text(part, ("explainer",))
    return (f"explained with {explainer}" if explainer else "SHAP explanations present"), []


def _proxy_entries(part: Any) -> list[Any] | None:
    for path, value in _walk(part):
        if path and "prox" in path[-1].lower() and isinstance(value, list):
            return value
    return None


def _explanation_proxies(result: dict[str, Any], part: Any) -> Resolved:
    _stage_state(part)
    entries = _proxy_entries(part)
    if entries is None:
        raise NotAvailable("the explanations hold no proxy findings")
    flagged = [e for e in entries if not isinstance(e, dict) or e.get("flagged", True)]
    names = []
    for entry in flagged:
        if isinstance(entry, dict):
            names.append(str(entry.get("feature") or entry.get("column") or entry.get("name")))
        else:
            names.append(str(entry))
    if not names:
        return "no proxy features flagged", []
    shown = ", ".join(dict.fromkeys(names))
    return _shorten(f"proxy features flagged: {shown}"), [f"proxy feature(s) flagged: {shown}"]


def _provenance(result: dict[str, Any], part: Any) -> Resolved:
    digest = part.get("data_sha256") or ""
    version = (part.get("versions") or {}).get("rai-audit")
    return (
        f"data SHA-256 {digest[:16]}…, seed {part.get('seed')}, rai-audit {version}, "
        "configuration saved in the result",
        [],
    )


def _documented(section: str, field: str):
    def resolve(result: dict[str, Any], part: Any) -> Resolved:
        entry = next((s for s in part.get("sections", []) if s["id"] == field), None)
        if entry is None or not entry.get("provided"):
            raise NotAvailable(f"not provided: set {section}.{field} in the config")
        text = entry["provided"]
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
        _quality(
            ("leakage",),
            _strongest(
                "single_feature_auc", lambda r: f"{r['column']} alone, ROC AUC {r['auc']:.3f}"
            ),
        ),
    ),
    _source(
        "quality.proxies",
        "Proxies of sensitive attributes (data)",
        "quality",
        QUALITY,
        _quality(
            ("proxy_association",),
            _strongest(
                "proxies",
                lambda r: f"{r['feature']} ~ {r['sensitive']} ({r['measure']} {r['value']:.2f})",
            ),
        ),
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


def resolve(source_id: str, result: dict[str, Any]) -> dict[str, Any]:
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
    part = result.get(source.key)
    if part is None:
        entry["reason"] = f"the '{source.key}' stage did not run in this audit"
        return entry
    try:
        resolved = source.resolve(result, part)
    except NotAvailable as missing:
        entry["reason"] = str(missing)
        return entry
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        # A stage built elsewhere may change shape; say so rather than guess.
        entry["reason"] = f"the '{source.key}' result has an unexpected shape ({exc})"
        return entry
    entry.update(available=True, summary=resolved[0], concerns=list(resolved[1]))
    entry["findings"] = list(resolved[2]) if len(resolved) > 2 else []
    return entry
