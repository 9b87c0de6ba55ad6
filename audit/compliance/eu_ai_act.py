"""EU AI Act evidence map: where the report holds evidence for the data-governance and
technical-documentation items on bias (Regulation (EU) 2024/1689, Article 10(2)(f)–(h) and
10(3); Annex IV points 2(g) and 3).

Each item lists the pieces of evidence it rests on: the audit's own results (read through
the checklist's evidence sources, :mod:`audit.checklist.evidence`, so an item and a checklist
question citing the same evidence say the same thing), the user's answers to checklist
items, and the dated sign-off. An item is *evidenced* when every piece is present, *partly*
when some are, *missing* when none is; a missing piece says what to add. A checklist item
answered "no" is a gap, not a piece of evidence: its item is at most *partly* evidenced, and
what to add quotes the answer. The map shows where
evidence is; it does not judge whether the evidence is sufficient, and certifies nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from audit.checklist.evidence import resolve
from audit.result import AuditResult
from audit.vocabulary.compliance import EEOC, EU_AI_ACT, NYC_LL144

NOTE = (
    "This map shows where this report holds evidence relevant to each cited item of "
    "Regulation (EU) 2024/1689 (the AI Act). It does not certify compliance: “evidenced” "
    "means that every piece of evidence listed is present in the report, not that the "
    "requirement is met. Whether the evidence suffices is for the provider (and, where "
    "applicable, a notified body or authority) to judge."
)
SIGN_OFF = "sign_off"
ACCURACY_BY_GROUP = "accuracy_by_group"


@dataclass(frozen=True)
class Item:
    id: str
    text: str
    audit: tuple[str, ...]  # evidence source ids (audit/checklist/evidence.py) or own checks
    checklist: tuple[str, ...] = ()  # checklist items whose answers are evidence


ITEMS = (
    Item(
        "Art. 10(2)(f)",
        "Examination of the data in view of possible biases that are likely to affect the "
        "health and safety of persons, have a negative impact on fundamental rights or lead "
        "to discrimination.",
        ("fairness", "quality.base_rates", "quality.proxies", "explanations.proxies"),
        ("modelling.fairness_across_groups", "analysis.proxies"),
    ),
    Item(
        "Art. 10(2)(g)",
        "Appropriate measures to detect, prevent and mitigate the possible biases identified.",
        ("policy", "verdicts", "mitigation"),
        ("modelling.fairness_criteria", "modelling.mitigation"),
    ),
    Item(
        "Art. 10(2)(h)",
        "Identification of relevant data gaps or shortcomings, and how they can be addressed.",
        ("quality", "quality.missing", "quality.representation"),
        ("analysis.data_quality", "analysis.missing_by_group"),
    ),
    Item(
        "Art. 10(3)",
        "Data that are relevant, sufficiently representative, as free of errors and as "
        "complete as possible, with the appropriate statistical properties as regards the "
        "persons or groups of persons the system is intended to be used on.",
        ("data", "quality.representation", "quality.duplicates", "datasheet.composition"),
        ("collection.population",),
    ),
    Item(
        "Annex IV 2(g)",
        "Validation and testing: the data used, the metrics of accuracy and of potentially "
        "discriminatory impacts, and test logs and reports dated and signed by the "
        "responsible persons.",
        ("performance", "fairness", "verdicts", "provenance", SIGN_OFF),
    ),
    Item(
        "Annex IV 3",
        "Capabilities and limitations in performance, including the accuracy for specific "
        "persons or groups of persons and the overall expected accuracy; foreseeable "
        "unintended outcomes; human oversight.",
        (
            "performance",
            ACCURACY_BY_GROUP,
            "model_card.intended_use",
            "model_card.caveats_and_recommendations",
        ),
        ("oversight.human_review", "oversight.limitations"),
    ),
)
# Compliance sections of other rules (title, report anchor), listed under Article 10(2)(f)
# when they were run.
RULE_SECTIONS = {
    NYC_LL144: ("NYC Local Law 144 rates and impact ratios", "compliance_ll144"),
    EEOC: ("EEOC adverse impact analysis", "compliance_eeoc"),
}


def evidence_map(result: AuditResult) -> dict[str, Any]:
    """The evidence map of ``result`` (see :class:`audit.result.sections.EUAIActSection`)."""
    items = []
    for item in ITEMS:
        pointers = [_audit_pointer(source, result) for source in item.audit]
        pointers += [_checklist_pointer(item_id, result) for item_id in item.checklist]
        status = _status([p["present"] for p in pointers])
        if item.id == "Art. 10(2)(f)":  # further evidence, when those rules were run
            pointers += _rule_pointers(result)
        items.append(
            {
                "id": item.id,
                "text": item.text,
                "status": status,
                "evidence": pointers,
                "to_add": [p["missing"] for p in pointers if not p["present"]],
            }
        )
    counts = {s: sum(i["status"] == s for i in items) for s in ("evidenced", "partly", "missing")}
    return {"rule": EU_AI_ACT, "note": NOTE, "items": items, "counts": counts}


def _status(present: list[bool]) -> str:
    if all(present):
        return "evidenced"
    return "partly" if any(present) else "missing"


def _pointer(
    kind: str, title: str, anchors: list[str], summary: str | None, missing: str | None
) -> dict[str, Any]:
    return {
        "kind": kind,
        "title": title,
        "anchors": anchors,
        "present": missing is None,
        **({"summary": summary} if summary is not None else {}),
        **({"missing": missing} if missing is not None else {}),
    }


def _audit_pointer(source: str, result: AuditResult) -> dict[str, Any]:
    if source == SIGN_OFF:
        return _sign_off(result)
    if source == ACCURACY_BY_GROUP:
        return _accuracy_by_group(result)
    entry = resolve(source, result)
    reason = str(entry["reason"]).rstrip(".")
    missing = None if entry["available"] else f"{entry['title']}: {reason}."
    return _pointer("audit", entry["title"], entry["anchors"], entry["summary"], missing)


def _sign_off(result: AuditResult) -> dict[str, Any]:
    title = "Dated sign-off of the audit"
    checklist = result.checklist
    if checklist is None or not checklist.sign_off.signed:
        return _pointer(
            "checklist",
            title,
            ["checklist"],
            None,
            f"{title}: add a sign_off block (reviewer, role, date) to the checklist answers "
            "file (checklist.answers; `rai-audit checklist init` writes a template).",
        )
    so = checklist.sign_off
    summary = f"signed by {so.reviewer}{f' ({so.role})' if so.role else ''} on {so.date}"
    return _pointer("checklist", title, ["checklist"], summary, None)


def _accuracy_by_group(result: AuditResult) -> dict[str, Any]:
    title = "Accuracy for each group"
    measured = [
        feature.feature
        for feature in result.fairness.features
        if any(group.accuracy is not None for group in feature.groups)
    ]
    if not measured:
        return _pointer(
            "audit",
            title,
            ["fairness"],
            None,
            f"{title}: no group accuracy was measured (a classification audit with "
            "sensitive features measures it).",
        )
    return _pointer(
        "audit", title, ["fairness"], f"accuracy by group of {', '.join(measured)}", None
    )


def _checklist_pointer(item_id: str, result: AuditResult) -> dict[str, Any]:
    title = f"Checklist answer {item_id}"
    found = None
    if result.checklist is not None:
        found = next(
            (i for part in result.checklist.sections for i in part.items if i.id == item_id),
            None,
        )
    if found is None:
        return _pointer(
            "checklist",
            title,
            ["checklist"],
            None,
            f"{title}: the checklist used has no item {item_id}; add it (the default "
            "checklist has it) and answer it in the checklist answers file.",
        )
    if found.status == "open":
        return _pointer(
            "checklist",
            title,
            [f"item-{item_id}", "checklist"],
            None,
            f"{title}: open; answer it in the checklist answers file (checklist.answers), "
            "with its rationale and evidence.",
        )
    anchors = [f"item-{item_id}", "checklist"]
    if found.status == "no":  # the answer says the thing is not done: a gap, not evidence
        said = f" (“{found.rationale}”)" if found.rationale else ""
        return _pointer(
            "checklist",
            title,
            anchors,
            None,
            f"{title}: answered no{said}, which records a gap rather than evidence; address it "
            "and update the answer in the checklist answers file (checklist.answers).",
        )
    summary = f"answered {found.status}" + (f": {found.rationale}" if found.rationale else "")
    return _pointer("checklist", title, anchors, summary, None)


def _rule_pointers(result: AuditResult) -> list[dict[str, Any]]:
    compliance = result.compliance
    if compliance is None:
        return []
    return [
        _pointer("compliance", title, [anchor], "in this report", None)
        for rule, (title, anchor) in RULE_SECTIONS.items()
        if getattr(compliance, rule) is not None
    ]
