"""Evaluate the checklist against a finished audit result (the last stage of the pipeline).

What "automatic" means here: the audit links each item to the evidence it has
and states, next to the item, what that evidence says and whether it raises
concerns. It never sets an item's status. An unanswered item is "open", whatever
the evidence says, because whether a 95 % interval or a proxy is acceptable is
the owner's judgement, not the tool's. The audit does point out answers that its
evidence contradicts or cannot support:

* "yes" while linked evidence raises concerns (e.g. failing verdicts);
* "yes" while the linked evidence is not available and no evidence was given;
* "no" or "not applicable" without a rationale.
"""

from __future__ import annotations

from typing import Any

from audit.checklist.evidence import resolve
from audit.checklist.spec import STATUSES, Answer, PreparedChecklist
from audit.result import AuditResult

AUTOMATIC_STATUS = (
    "The audit links items to its evidence and shows what that evidence says, but never "
    "answers an item: an item without an answer stays open. Answers the evidence contradicts "
    "or cannot support are flagged."
)


def _evidence_state(linked: list[dict[str, Any]]) -> str:
    if not linked:
        return "none linked"
    available = sum(e["available"] for e in linked)
    if available == len(linked):
        return "available"
    return "partial" if available else "not available"


def _flags(answer: Answer, linked: list[dict[str, Any]]) -> list[str]:
    flags = []
    concerns = [c for e in linked for c in e["concerns"]]
    if answer.status == "yes" and concerns:
        flags.append(
            f"Answered yes, but the linked audit evidence raises {len(concerns)} concern(s): "
            + "; ".join(concerns[:3])
            + (" …" if len(concerns) > 3 else "")
        )
    if (
        answer.status == "yes"
        and linked
        and not any(e["available"] for e in linked)
        and not answer.evidence
    ):
        flags.append(
            "Answered yes, but none of the linked audit evidence is available and no other "
            "evidence was given."
        )
    if answer.status in ("no", "not applicable") and not answer.rationale:
        flags.append(f"Answered '{answer.status}' without a rationale.")
    return flags


def evaluate_checklist(prepared: PreparedChecklist, result: AuditResult) -> dict[str, Any]:
    """The checklist with answers, linked evidence and flags, as plain data for the result.

    ``result`` is the audit's typed result so far (every stage but this one).
    """
    definition = prepared.definition
    cache: dict[str, dict[str, Any]] = {}
    sections = []
    for section in definition.sections:
        items = []
        for item in section.items:
            answer = prepared.answers.get(item.id, Answer())
            linked = [cache.setdefault(s, resolve(s, result)) for s in item.evidence]
            items.append(
                {
                    "id": item.id,
                    "question": " ".join(item.question.split()),
                    "guidance": " ".join(item.guidance.split()) if item.guidance else None,
                    "status": answer.status,
                    "answered": answer.answered,
                    "rationale": answer.rationale,
                    "owner": answer.owner,
                    "evidence": answer.evidence,
                    "audit_evidence": linked,
                    "evidence_state": _evidence_state(linked),
                    "concerns": [c for e in linked for c in e["concerns"]],
                    "flags": _flags(answer, linked),
                }
            )
        sections.append({"id": section.id, "title": section.title, "items": items})

    every = [item for section in sections for item in section["items"]]
    counts = {status: sum(i["status"] == status for i in every) for status in STATUSES}
    sign_off = dict(prepared.sign_off)
    sign_off["signed"] = bool(sign_off.get("reviewer") and sign_off.get("date"))
    notes = []
    if sign_off["signed"] and counts["open"]:
        notes.append(f"Signed off with {counts['open']} item(s) still open.")
    if prepared.answers_file is None:
        notes.append(
            "No answers file was given (checklist.answers / --checklist-answers): every item "
            "is open. Write one with `rai-audit checklist init`."
        )
    return {
        "id": definition.id,
        "title": definition.title,
        "version": str(definition.version),
        "description": " ".join(definition.description.split()) if definition.description else None,
        "source": prepared.source,
        "answers_file": prepared.answers_file,
        "statuses": list(STATUSES),
        "automatic_status": AUTOMATIC_STATUS,
        "summary": {
            "total": len(every),
            **counts,
            "flagged": sum(bool(i["flags"]) for i in every),
            "with_concerns": sum(bool(i["concerns"]) for i in every),
            "evidence_not_available": sum(i["evidence_state"] == "not available" for i in every),
        },
        "open_items": [i["id"] for i in every if i["status"] == "open"],
        "no_items": [i["id"] for i in every if i["status"] == "no"],
        "flagged_items": [i["id"] for i in every if i["flags"]],
        "sign_off": sign_off,
        "notes": notes,
        "sections": sections,
    }
