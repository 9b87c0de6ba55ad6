"""EU AI Act evidence map (audit/compliance/eu_ai_act.py): an item is missing when its evidence
is absent, partly when some of it is there, evidenced when all of it is; the report links it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import yaml

import audit
from audit.compliance.eu_ai_act import ITEMS, NOTE

ANSWERED = ("modelling.fairness_criteria", "modelling.mitigation")


def decisions_frame(n: int = 240) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(
        {
            "sex": rng.choice(["female", "male"], n),
            "income": rng.normal(50, 10, n).round(1),
            "hired": rng.integers(0, 2, n),
        }
    )
    frame["decision"] = (frame["income"] > 50).astype(int)
    return frame


def run(tmp_path, policy=None, answers: dict | None = None):
    options = {}
    if answers is not None:
        path = tmp_path / "answers.yaml"
        path.write_text(yaml.safe_dump(answers), encoding="utf-8")
        options["checklist"] = {"answers": path}
    return audit.run(
        data=decisions_frame(),
        target="hired",
        sensitive=["sex"],
        predictions="decision",
        policy=policy,
        compliance=["eu_ai_act"],
        fairness={"bootstrap": {"resamples": 0}},
        explain={"enabled": False},
        quality={"allow_errors": True},
        **options,
    )


def item(result, item_id):
    return next(i for i in result.compliance.eu_ai_act.items if i.id == item_id)


def pointer(entry, title):
    return next(p for p in entry.evidence if p.title == title)


def test_every_cited_item_is_mapped_with_the_careful_note(tmp_path):
    result = run(tmp_path)
    section = result.compliance.eu_ai_act
    assert [i.id for i in section.items] == [i.id for i in ITEMS]
    assert [i.id for i in section.items] == [
        "Art. 10(2)(f)",
        "Art. 10(2)(g)",
        "Art. 10(2)(h)",
        "Art. 10(3)",
        "Annex IV 2(g)",
        "Annex IV 3",
    ]
    assert "does not certify compliance" in section.note and section.note == NOTE
    assert sum(section.counts.values()) == len(ITEMS)
    assert result.compliance.rules == ["eu_ai_act"] and result.compliance.nyc_ll144 is None


def test_item_missing_when_its_evidence_is_absent(tmp_path):
    # Decisions already made, no policy, no answers: nothing measures, prevents or mitigates.
    entry = item(run(tmp_path), "Art. 10(2)(g)")
    assert entry.status == "missing"
    assert not any(p.present for p in entry.evidence)
    assert len(entry.to_add) == len(entry.evidence)
    assert any("no policy rules were set" in text for text in entry.to_add)
    assert any("modelling.fairness_criteria: open; answer it" in text for text in entry.to_add)


def test_partly_then_evidenced_as_the_evidence_is_added(tmp_path):
    policy = ["demographic_parity_ratio >= 0.8"]
    entry = item(run(tmp_path, policy=policy), "Art. 10(2)(g)")
    assert entry.status == "partly"
    assert pointer(entry, "Fairness policy").present
    assert not pointer(entry, "Checklist answer modelling.mitigation").present

    signed = item(run(tmp_path, policy=policy), "Annex IV 2(g)")
    assert signed.status == "partly"  # every audit part is there; the sign-off is not
    assert [p.title for p in signed.evidence if not p.present] == ["Dated sign-off of the audit"]
    assert "sign_off block" in signed.to_add[0]

    answers = {
        "checklist": "rai-audit-default",
        "sign_off": {"reviewer": "A. Reviewer", "role": "Head of risk", "date": "2026-12-01"},
        "answers": {
            key: {"status": "yes", "rationale": "Decided before the audit.", "owner": "ML lead"}
            for key in ANSWERED
        },
    }
    result = run(tmp_path, policy=policy, answers=answers)
    annex = item(result, "Annex IV 2(g)")
    assert annex.status == "evidenced" and annex.to_add == []
    assert "A. Reviewer" in pointer(annex, "Dated sign-off of the audit").summary
    measures = item(result, "Art. 10(2)(g)")
    # Mitigation cannot run on decisions already made: still only partly evidenced.
    assert measures.status == "partly"
    assert [p.title for p in measures.evidence if not p.present] == ["Bias mitigation compared"]
    answered = pointer(measures, "Checklist answer modelling.mitigation")
    assert answered.present and answered.anchors[0] == "item-modelling.mitigation"
    assert answered.summary.startswith("answered yes")


def test_a_checklist_answer_no_is_a_gap_not_evidence(tmp_path):
    # Art. 10(2)(h): the audit's data-quality evidence is all there; with both checklist
    # items answered yes the item is evidenced.
    answers = {
        "checklist": "rai-audit-default",
        "answers": {
            key: {"status": "yes", "rationale": "Checked.", "owner": "Data lead"}
            for key in ("analysis.data_quality", "analysis.missing_by_group")
        },
    }
    assert item(run(tmp_path, answers=answers), "Art. 10(2)(h)").status == "evidenced"
    # Answered "no": the answer records a gap, so the item is at most partly evidenced, and
    # what to add quotes the answer.
    answers["answers"]["analysis.missing_by_group"] = {
        "status": "no",
        "rationale": "Missingness was not compared across groups.",
        "owner": "Data lead",
    }
    entry = item(run(tmp_path, answers=answers), "Art. 10(2)(h)")
    assert entry.status == "partly"
    gap = pointer(entry, "Checklist answer analysis.missing_by_group")
    assert not gap.present and gap.anchors[0] == "item-analysis.missing_by_group"
    assert entry.to_add == [gap.missing]
    assert "answered no (“Missingness was not compared across groups.”)" in gap.missing


def test_the_report_links_each_piece_of_evidence_to_its_section(tmp_path):
    result = run(tmp_path, policy=["demographic_parity_ratio >= 0.8"])
    result.save(tmp_path / "out", formats=["html"])
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert 'id="compliance"' in html and 'id="compliance_eu_ai_act"' in html
    start = html.index('id="compliance_eu_ai_act"')
    evidence_map = html[start : html.index("</table>", start)]
    for anchor in ("#fairness", "#performance", "#provenance"):
        assert f'href="{anchor}"' in evidence_map
    assert evidence_map.count('class="status evidence-') == len(ITEMS)
    assert "does not certify compliance" in html
    # Every link of the map points at an id the report has.
    for target in {part.split('"')[0] for part in evidence_map.split('href="#')[1:]}:
        assert f'id="{target}"' in html, target


def test_no_compliance_section_without_a_rule():
    result = audit.run(
        data=decisions_frame(),
        target="hired",
        sensitive=["sex"],
        predictions="decision",
        fairness={"bootstrap": {"resamples": 0}},
        explain={"enabled": False},
        quality={"allow_errors": True},
    )
    assert result.compliance is None and "compliance" not in result.to_dict()
    assert "eu_ai_act" not in result.to_json()
