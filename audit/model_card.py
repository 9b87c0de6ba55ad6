"""Model card (Mitchell et al., 2019) and datasheet (Gebru et al., 2021) sections.

Each section has what the user wrote in the config (``model_card:`` /
``datasheet:``) and, separately, the facts the audit knows (data size, columns,
groups, metrics, data-quality findings). A section the user left empty says so,
naming the config key to fill; the audit's facts never stand in for the user's
text.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from audit.config import AuditConfig
from audit.result import AuditResult
from audit.text import printable

MODEL_CARD_SECTIONS = (
    ("model_details", "Model details"),
    ("intended_use", "Intended use"),
    ("out_of_scope_uses", "Out-of-scope uses"),
    ("training_data", "Training data"),
    ("evaluation_data", "Evaluation data"),
    ("factors", "Factors"),
    ("metrics", "Metrics"),
    ("ethical_considerations", "Ethical considerations"),
    ("caveats_and_recommendations", "Caveats and recommendations"),
)
DATASHEET_SECTIONS = (
    ("motivation", "Motivation"),
    ("composition", "Composition"),
    ("collection", "Collection process"),
    ("preprocessing", "Preprocessing"),
)
MAX_LISTED = 12


def _f(value: Any, digits: int = 3) -> str:
    if value is None or value != value:  # None or NaN: undefined, not zero
        return "—"
    return f"{value:.{digits}f}"


def _pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def _name(label: Any) -> str:
    """A column name or group label inside a sentence: printable and short (full in the data)."""
    return printable(label, 60)


def _listed(names: list[str]) -> str:
    shown = ", ".join(_name(n) for n in names[:MAX_LISTED])
    return shown + (f" and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else "")


def _findings(result: AuditResult, *checks: str, warnings_only: bool = False) -> list[str]:
    """The messages of the data-quality findings of these checks (errors and warnings only
    when ``warnings_only``)."""
    return [
        f.message
        for f in result.quality.findings
        if f.check in checks and not (warnings_only and f.severity == "info")
    ]


def _representation_tables(result: AuditResult) -> list[dict[str, Any]]:
    # The quality stage's tables are free-form (one shape per table), read here by key.
    return result.quality.tables.get("representation", [])


def _model_details(result: AuditResult) -> list[str]:
    model, prov = result.model, result.provenance
    facts = []
    if model.source == "predictions":
        facts.append(
            f"Decisions made outside this audit, read from column '{model.column}' "
            f"(rule: {model.decision_rule.text})."
        )
    else:
        origins = {
            "trained": f"trained by the audit (registry entry '{model.registry_name}', "
            f"seed {prov.seed})",
            "file": f"loaded from {model.file}",
            "object": "given to the audit in memory (Python API)",
        }
        facts.append(f"{model.estimator}, {origins[model.source]}.")
        facts.append(
            f"Decision rule: {model.decision_rule.text}; positive label "
            f"{result.data.positive_label!r}."
        )
        facts.append(f"{len(model.input_columns)} inputs: {_listed(model.input_columns)}.")
    facts.append(f"Audited {prov.created_at} with rai-audit {prov.versions.get('rai-audit')}.")
    return facts


def _training_data(result: AuditResult, config: AuditConfig) -> list[str]:
    data, model = result.data, result.model
    if model.source == "predictions":
        return ["Not known to the audit: the decisions were made by another system."]
    if model.source in ("file", "object"):
        how = "loaded from a file" if model.source == "file" else "given to it in memory"
        return [
            f"Not known to the audit: the model was {how}. The audit evaluated "
            f"{data.n_evaluated:,} rows of {PurePath(data.file).name}."
        ]
    return [
        f"{data.n_train:,} rows of {PurePath(data.file).name} (SHA-256 "
        f"{result.provenance.data_sha256[:12]}…): {data.evaluated_rows}"
        f"{'; stratified by the label' if config.split.stratify else ''}.",
    ] + (
        [f"Positive label share in the whole file: {_pct(data.base_rate)}."]
        if data.base_rate is not None
        else []
    )


def _evaluation_data(result: AuditResult) -> list[str]:
    facts = [f"{result.data.n_evaluated:,} rows: {result.fairness.evaluated_on}."]
    for table in _representation_tables(result):
        if len(table["attributes"]) == 1 and table["groups"][0].get("n_test") is not None:
            sizes = ", ".join(f"{_name(g['group'])} {g['n_test']:,}" for g in table["groups"])
            facts.append(f"Test rows by {_name(table['name'])}: {sizes}.")
    return facts


def _factors(result: AuditResult) -> list[str]:
    facts = []
    for column, sizes in result.data.group_sizes.items():
        total = sum(sizes.values()) or 1
        shown = ", ".join(f"{_name(g)} {n:,} ({_pct(n / total)})" for g, n in sizes.items())
        facts.append(f"{_name(column)}: {shown}.")
    for table in _representation_tables(result):
        if len(table["attributes"]) > 1:
            small = [g["group"] for g in table["groups"] if g["small"]]
            facts.append(
                f"Intersection {_name(table['name'])}: {len(table['groups'])} groups"
                + (f", small: {_listed(small)}." if small else ".")
            )
    return facts


def _metrics(result: AuditResult) -> list[str]:
    perf = result.performance
    facts = [
        f"Accuracy {_f(perf.accuracy)}, balanced accuracy {_f(perf.balanced_accuracy)}, ROC AUC "
        f"{_f(perf.roc_auc)}, Brier score {_f(perf.brier)} on {perf.n:,} rows."
    ]
    if result.classes is not None:
        facts = [
            f"Accuracy {_f(perf.accuracy)}, balanced accuracy {_f(perf.balanced_accuracy)}, "
            f"macro F1 {_f(perf.macro_f1)} on {perf.n:,} rows ({len(result.classes.labels)} "
            "classes)."
        ]
        for macro in result.classes.macro:
            if macro.metric == "demographic_parity_difference":
                facts.append(
                    f"{_name(macro.feature)}: demographic parity difference, one class vs the "
                    f"rest: mean {_f(macro.mean)} across classes, worst "
                    f"{_f(macro.worst_value)} (class {_name(macro.worst_class or '')})."
                )
    for feature in result.fairness.features:
        values = {d.metric: d.value for d in feature.disparities}
        facts.append(
            f"{_name(feature.feature)}: demographic parity difference "
            f"{_f(values.get('demographic_parity_difference'))} (ratio "
            f"{_f(values.get('demographic_parity_ratio'))}), equal opportunity difference "
            f"{_f(values.get('equal_opportunity_difference'))}, equalized odds difference "
            f"{_f(values.get('equalized_odds_difference'))}."
        )
    return facts


def _ethical_considerations(result: AuditResult) -> list[str]:
    data, model = result.data, result.model
    facts = [f"Sensitive attributes audited: {_listed(data.sensitive)}."]
    used = [c for c in model.input_columns if c in data.sensitive]
    if model.source != "predictions":
        facts.append(
            f"Sensitive attributes used as model inputs: {_listed(used)}."
            if used
            else "No sensitive attribute is a model input (proxies may still carry them)."
        )
    facts += _findings(result, "proxy_association", "base_rate")
    return facts


def _caveats(result: AuditResult) -> list[str]:
    quality = result.quality
    facts = [
        f"Data-quality checks: {quality.counts.get('error', 0)} errors, "
        f"{quality.counts.get('warning', 0)} warnings (see the data-quality section)."
    ]
    if quality.errors_overridden:
        facts.append("The audit ran despite data-quality errors (override given).")
    facts += _findings(
        result,
        *("representation", "leakage", "train_test_overlap", "label_imbalance"),
        warnings_only=True,
    )
    if result.model.source == "predictions":
        facts.append("Predictions-only audit: every row is evaluated, nothing is held out.")
    return facts


def _composition(result: AuditResult) -> list[str]:
    data = result.data
    roles: dict[str, list[str]] = {}
    for column in data.columns:
        roles.setdefault(column.role, []).append(column.name)
    facts = [
        f"{data.n_rows:,} rows × {data.n_columns} columns; target '{_name(data.target)}' "
        + (
            f"({len(result.classes.labels)} classes: {_listed(result.classes.labels)})."
            if result.classes is not None
            else f"(positive label {data.positive_label!r}, {_pct(data.base_rate)} positive)."
        ),
        *[f"{role.capitalize()}: {_listed(names)}." for role, names in roles.items()],
    ]
    missing = [c for c in data.columns if c.missing]
    if missing:
        facts.append(
            "Missing values: "
            + _listed([f"{c.name} {_pct(c.missing / data.n_rows)}" for c in missing])
            + "."
        )
    facts += _findings(result, "duplicates")
    return facts


def _collection(result: AuditResult) -> list[str]:
    prov = result.provenance
    return [f"Read from {prov.data_file} (SHA-256 {prov.data_sha256})."]


def _preprocessing(result: AuditResult) -> list[str]:
    data, model = result.data, result.model
    facts = []
    if data.rows_without_target_dropped:
        facts.append(
            f"{data.rows_without_target_dropped:,} rows without a target value were dropped."
        )
    unused = [c.name for c in data.columns if c.role == "not used"]
    if unused:
        facts.append(f"Columns not used by the model: {_listed(unused)}.")
    if model.source == "trained":
        facts.append(
            "The trained pipeline imputes missing numbers with the median and scales them, and "
            "one-hot encodes text columns (missing as its own category; categories seen fewer "
            "than 5 times grouped; unseen categories ignored)."
        )
    facts += _findings(result, "null_markers")
    return facts


def _sections(
    spec: tuple[tuple[str, str], ...],
    given: dict[str, Any],
    auto: dict[str, list[str]],
    config_key: str,
) -> list[dict[str, Any]]:
    sections = []
    for field, title in spec:
        provided = given.get(field)
        if isinstance(provided, str):
            provided = provided.strip() or None
        sections.append(
            {
                "id": field,
                "title": title,
                "config_key": f"{config_key}.{field}",
                "provided": provided or None,
                "from_audit": auto.get(field, []),
            }
        )
    return sections


def build_model_card(result: AuditResult, config: AuditConfig) -> dict[str, Any]:
    """The model card: the user's text from ``model_card:`` beside what the audit knows."""
    card = config.model_card
    auto = {
        "model_details": _model_details(result),
        "training_data": _training_data(result, config),
        "evaluation_data": _evaluation_data(result),
        "factors": _factors(result),
        "metrics": _metrics(result),
        "ethical_considerations": _ethical_considerations(result),
        "caveats_and_recommendations": _caveats(result),
    }
    sections = _sections(MODEL_CARD_SECTIONS, card.model_dump(), auto, "model_card")
    return {
        "name": card.name,
        "version": card.version,
        "owners": card.owners,
        "sections": sections,
        "not_provided": [s["config_key"] for s in sections if not s["provided"]],
    }


def build_datasheet(result: AuditResult, config: AuditConfig) -> dict[str, Any]:
    """The datasheet: the user's text from ``datasheet:`` beside what the audit knows."""
    auto = {
        "composition": _composition(result),
        "collection": _collection(result),
        "preprocessing": _preprocessing(result),
    }
    sections = _sections(DATASHEET_SECTIONS, config.datasheet.model_dump(), auto, "datasheet")
    return {
        "sections": sections,
        "not_provided": [s["config_key"] for s in sections if not s["provided"]],
    }
