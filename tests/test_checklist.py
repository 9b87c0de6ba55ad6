"""The ethics checklist: default content, open items, answers and sign-off round-tripping from
the answers file into results.json and the HTML, evidence linked by result key."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import run_cli

import audit as audit_api
from audit.checklist.evaluate import evaluate_checklist
from audit.checklist.evidence import SOURCES, resolve
from audit.checklist.spec import Answer, PreparedChecklist, load_definition
from audit.result import AuditResult
from audit.result.sections import MitigationSection, Verdict

SECTIONS = {
    "data_collection": "Data collection",
    "data_storage": "Data storage",
    "analysis": "Analysis",
    "modelling": "Modelling",
    "deployment_monitoring": "Deployment and monitoring",
    "intended_use_oversight": "Intended use and human oversight",
}


def test_default_checklist_has_the_required_sections_and_unique_ids():
    definition, source = load_definition()
    assert source.startswith("default")
    assert {s.id: s.title for s in definition.sections} == SECTIONS
    ids = [item.id for item in definition.items()]
    assert len(ids) == len(set(ids)) >= 25
    assert all(item.question.strip().endswith("?") for item in definition.items())
    linked = {s for item in definition.items() for s in item.evidence}
    # Every kind of evidence the issue names is linked from some item.
    assert {
        "verdicts",
        "explanations",
        "explanations.proxies",
        "quality.proxies",
        "quality.representation",
        "quality.base_rates",
        "mitigation",
    } <= linked
    assert linked <= set(SOURCES)


def test_unanswered_checklist_lists_every_item_as_open(demo_result, demo_dir):
    checklist = demo_result["checklist"]
    ids = [i["id"] for s in checklist["sections"] for i in s["items"]]
    assert checklist["open_items"] == ids
    assert checklist["summary"]["open"] == checklist["summary"]["total"] == len(ids)
    assert checklist["sign_off"]["signed"] is False
    html = (demo_dir / "report.html").read_text()
    assert f"Open items ({len(ids)} of {len(ids)})" in html
    open_block = html[html.index('id="checklist-open"') :]
    open_block = open_block[: open_block.index("</div>")]
    for item_id in ids:
        assert f'href="#item-{item_id}"' in open_block
    assert "<strong>Not signed off.</strong>" in html
    assert f"{len(ids)} of {len(ids)} items open</a>" in html  # in the executive summary


def test_demo_items_link_to_evidence_by_result_key(demo_result, demo_dir):
    items = {i["id"]: i for s in demo_result["checklist"]["sections"] for i in s["items"]}
    fairness = {e["source"]: e for e in items["modelling.fairness_across_groups"]["audit_evidence"]}
    assert fairness["fairness"]["available"] is True
    assert "demographic parity difference" in fairness["fairness"]["summary"]
    # Every source reads the typed result: the demo's verdicts, policy, mitigation and
    # explanations are all there.
    typed = AuditResult.from_dict(demo_result)
    for source in ("verdicts", "policy", "mitigation", "explanations"):
        assert resolve(source, typed)["available"] is True, source
    assert "fail the policy's gate" in " ".join(resolve("verdicts", typed)["concerns"])
    population = items["collection.population"]["audit_evidence"][0]
    assert population["source"] == "quality.representation" and population["available"]
    assert [f["id"] for f in population["findings"]] == [
        "representation:race",
        "representation:sex × race",
    ]
    # Automatic evidence never answers: every item is still open.
    assert {i["status"] for i in items.values()} == {"open"}
    html = (demo_dir / "report.html").read_text()
    anchor = next(
        f["anchor"] for f in demo_result["quality"]["findings"] if f["id"] == "representation:race"
    )
    assert f'href="#{anchor}"' in html and f'id="{anchor}"' in html


def _prepared(answers: dict[str, Answer], evidence: list[str]) -> PreparedChecklist:
    definition, _ = load_definition()
    definition = definition.model_copy(deep=True)
    definition.sections = definition.sections[:1]
    definition.sections[0].items = definition.sections[0].items[:1]
    definition.sections[0].items[0].evidence = evidence
    return PreparedChecklist(
        definition,
        "test",
        answers,
        "answers.yaml",
        {"reviewer": None, "role": None, "date": None, "notes": None},
    )


@pytest.fixture(scope="module")
def base_result() -> AuditResult:
    """A small real audit with a policy, whose sections the tests below replace."""
    from audit.datasets import make_credit

    return audit_api.run(
        data=make_credit(1200, seed=4).drop(columns=["applicant_id"]),
        target="approved",
        sensitive="sex",
        model="logistic_regression",
        policy="demographic_parity_ratio >= 0.8",
        mitigation={"strategies": []},
        explain={"enabled": False},
        fairness={"bootstrap": {"resamples": 0}},
        quality={"allow_errors": True},
    )


def _verdict(metric: str, verdict: str, fails_gate: bool) -> Verdict:
    return Verdict(
        rule=f"{metric} >= 0.8", feature="sex", metric=metric, op=">=", bound=0.8,
        value=0.7, verdict=verdict, reason="by hand", fails_gate=fails_gate,
    )  # fmt: skip


def test_yes_is_flagged_when_linked_verdicts_fail(base_result):
    result = base_result.model_copy(
        update={
            "rule_verdicts": [
                _verdict("demographic_parity_ratio", "pass", False),
                _verdict("equal_opportunity_ratio", "fail", True),
                _verdict("equalized_odds_ratio", "inconclusive", False),
            ]
        }
    )
    item_id = load_definition()[0].items()[0].id
    evaluated = evaluate_checklist(
        _prepared({item_id: Answer(status="yes", answered=True)}, ["verdicts"]), result
    )
    item = evaluated["sections"][0]["items"][0]
    entry = item["audit_evidence"][0]
    assert entry["available"]
    assert entry["summary"].startswith("3 verdicts: 1 pass, 1 fail, 1 inconclusive")
    assert item["concerns"] == [
        "1 fairness verdict(s) fail the policy's gate",
        "1 fairness verdict(s) are inconclusive",
    ]
    assert item["flags"] and item["flags"][0].startswith("Answered yes, but")
    assert evaluated["flagged_items"] == [item_id]


def test_skipped_or_absent_stage_gives_evidence_not_available(base_result):
    item_id = load_definition()[0].items()[0].id
    for mitigation, reason in (
        (None, "did not run"),
        (MitigationSection(status="not run", reason="predictions-only audit"), "predictions-only"),
    ):
        result = base_result.model_copy(update={"mitigation": mitigation})
        evaluated = evaluate_checklist(
            _prepared({item_id: Answer(status="yes", answered=True)}, ["mitigation"]), result
        )
        item = evaluated["sections"][0]["items"][0]
        assert item["evidence_state"] == "not available"
        assert reason in item["audit_evidence"][0]["reason"]
        assert "none of the linked audit evidence is available" in item["flags"][0]
        assert evaluated["summary"]["evidence_not_available"] == 1


def test_no_without_rationale_is_flagged(base_result):
    item_id = load_definition()[0].items()[0].id
    evaluated = evaluate_checklist(
        _prepared({item_id: Answer(status="no", answered=True)}, []), base_result
    )
    item = evaluated["sections"][0]["items"][0]
    assert item["flags"] == ["Answered 'no' without a rationale."]
    assert evaluated["no_items"] == [item_id]


@pytest.fixture
def small_csv(tmp_path):
    rng = np.random.default_rng(2)
    n = 400
    x = rng.normal(0, 1, n)
    frame = pd.DataFrame(
        {
            "sex": rng.choice(["f", "m"], n),
            "x": x,
            "z": rng.normal(0, 1, n),
            "y": (x + rng.normal(0, 1, n) > 0).astype(int),
        }
    )
    path = tmp_path / "small.csv"
    frame.to_csv(path, index=False)
    return path


def audit(small_csv, out, *extra):
    return run_cli(
        "run",
        "--data",
        small_csv,
        "--target",
        "y",
        "--sensitive",
        "sex",
        "--out",
        out,
        "--format",
        "json",
        "--format",
        "html",
        "--model",
        "logistic_regression",
        "--mitigate",
        "none",
        "--quiet",
        *extra,
    )


def test_answers_and_sign_off_round_trip_into_results_and_html(small_csv, tmp_path):
    answers_file = tmp_path / "answers.yaml"
    init = run_cli("checklist", "init", "--out", answers_file)
    assert init.exit_code == 0, init.output
    template = yaml.safe_load(answers_file.read_text())
    definition, _ = load_definition()
    assert set(template["answers"]) == {item.id for item in definition.items()}
    assert all(a["status"] == "open" for a in template["answers"].values())

    template["answers"]["collection.lawful_basis"] = {
        "status": "yes",
        "rationale": "Contract with the applicants, clause 7 <b>",
        "owner": "Data protection officer",
        "evidence": ["DPIA-2024-03", "https://x/y"],
    }
    template["answers"]["storage.retention"].update(
        status="not applicable", rationale="Synthetic data only"
    )
    template["answers"]["deployment.rollback"].update(
        status="no", rationale="Not planned yet", owner="ML platform team"
    )
    template["sign_off"] = {
        "reviewer": "Ada Lovelace",
        "role": "Model risk officer",
        "date": "2024-05-17",
        "notes": "Reviewed with the owners.",
    }
    answers_file.write_text(yaml.safe_dump(template, sort_keys=False))

    out = tmp_path / "out"
    result = audit(small_csv, out, "--checklist-answers", answers_file)
    assert result.exit_code == 0, result.output
    checklist = json.loads((out / "results.json").read_text())["checklist"]
    items = {i["id"]: i for s in checklist["sections"] for i in s["items"]}
    lawful = items["collection.lawful_basis"]
    assert lawful["status"] == "yes" and lawful["answered"] is True
    assert lawful["rationale"] == "Contract with the applicants, clause 7 <b>"
    assert lawful["owner"] == "Data protection officer"
    assert lawful["evidence"] == ["DPIA-2024-03", "https://x/y"]
    assert items["storage.retention"]["status"] == "not applicable"
    assert items["deployment.rollback"]["status"] == "no"
    assert checklist["no_items"] == ["deployment.rollback"]
    assert checklist["sign_off"] == {
        "reviewer": "Ada Lovelace",
        "role": "Model risk officer",
        "date": "2024-05-17",
        "notes": "Reviewed with the owners.",
        "signed": True,
    }
    total = checklist["summary"]["total"]
    assert checklist["summary"]["open"] == total - 3
    assert "collection.lawful_basis" not in checklist["open_items"]
    assert checklist["answers_file"] == str(answers_file)
    assert checklist["notes"] == [f"Signed off with {total - 3} item(s) still open."]

    html = (out / "report.html").read_text()
    for text in (
        "Ada Lovelace",
        "Model risk officer",
        "2024-05-17",
        "Data protection officer",
        "DPIA-2024-03",
        "Synthetic data only",
        "Not planned yet",
    ):
        assert text in html, text
    assert "clause 7 &lt;b&gt;" in html  # answers are shown as text, never as markup
    assert f"Open items ({total - 3} of {total})" in html
    assert "signed off by Ada Lovelace (Model risk officer) on 2024-05-17" in html
    assert '<span class="status status-no">no</span>' in html


def test_unedited_template_reads_back_as_all_open(small_csv, tmp_path):
    answers_file = tmp_path / "answers.yaml"
    assert run_cli("checklist", "init", "--out", answers_file).exit_code == 0
    out = tmp_path / "out"
    assert audit(small_csv, out, "--checklist-answers", answers_file).exit_code == 0
    checklist = json.loads((out / "results.json").read_text())["checklist"]
    assert checklist["summary"]["open"] == checklist["summary"]["total"]
    assert checklist["sign_off"]["signed"] is False


def test_init_does_not_overwrite_answers_without_force(tmp_path):
    answers_file = tmp_path / "answers.yaml"
    answers_file.write_text("my answers")
    result = run_cli("checklist", "init", "--out", answers_file)
    assert result.exit_code == 2 and "already exists" in result.output
    assert answers_file.read_text() == "my answers"
    assert run_cli("checklist", "init", "--out", answers_file, "--force").exit_code == 0
    assert "collection.lawful_basis" in answers_file.read_text()


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        (
            "answers: {collection.lawfull_basis: yes}",
            "unknown checklist item 'collection.lawfull_basis'. Did you mean collection.lawful",
        ),
        ("answers: {collection.lawful_basis: {status: maybe}}", "status 'maybe' is not one of"),
        ("sign_off: {reviewer: A, date: 17/05/2024}", "is not a date in YYYY-MM-DD form"),
        ("checklist: other-list\n", "was written for checklist 'other-list'"),
    ],
)
def test_bad_answers_file_is_a_clear_error(small_csv, tmp_path, answers, message):
    answers_file = tmp_path / "answers.yaml"
    answers_file.write_text(answers)
    out = tmp_path / "out"
    result = audit(small_csv, out, "--checklist-answers", answers_file)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_bare_yaml_yes_and_short_form_are_accepted(small_csv, tmp_path):
    answers_file = tmp_path / "answers.yaml"
    answers_file.write_text(
        "answers:\n  storage.security: yes\n  storage.retention: {status: n/a,"
        " rationale: none kept}\n"
    )
    out = tmp_path / "out"
    assert audit(small_csv, out, "--checklist-answers", answers_file).exit_code == 0
    items = {
        i["id"]: i
        for s in json.loads((out / "results.json").read_text())["checklist"]["sections"]
        for i in s["items"]
    }
    assert items["storage.security"]["status"] == "yes"
    assert items["storage.retention"]["status"] == "not applicable"


def test_custom_checklist_replaces_the_default(small_csv, tmp_path):
    custom = tmp_path / "ours.yaml"
    custom.write_text(
        yaml.safe_dump(
            {
                "id": "bank-model-policy",
                "title": "Bank model policy",
                "version": "2.1",
                "sections": [
                    {
                        "id": "fair",
                        "title": "Fair lending",
                        "items": [
                            {
                                "id": "fl.1",
                                "question": "Are group disparities within policy?",
                                "evidence": ["fairness", "quality.base_rates"],
                            },
                            {"id": "fl.2", "question": "Was the adverse action notice reviewed?"},
                        ],
                    }
                ],
            }
        )
    )
    answers_file = tmp_path / "answers.yaml"
    assert run_cli("checklist", "init", "--out", answers_file, "--checklist", custom).exit_code == 0
    assert "checklist: bank-model-policy" in answers_file.read_text()
    config = tmp_path / "audit.yaml"
    config.write_text(
        f"data: {{path: {small_csv.name}, target: y, sensitive: [sex]}}\n"
        "checklist: {file: ours.yaml, answers: answers.yaml}\n"
        "model: {name: logistic_regression}\n"
        "mitigation: {strategies: [none]}\n"
        "output: {dir: out, formats: [json, html]}\n"
    )
    result = run_cli("run", config, "--quiet")
    assert result.exit_code == 0, result.output
    checklist = json.loads((tmp_path / "out" / "results.json").read_text())["checklist"]
    assert (checklist["id"], checklist["version"]) == ("bank-model-policy", "2.1")
    assert checklist["source"] == str(custom)
    assert checklist["open_items"] == ["fl.1", "fl.2"]
    sources = [e["source"] for e in checklist["sections"][0]["items"][0]["audit_evidence"]]
    assert sources == ["fairness", "quality.base_rates"]
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Bank model policy" in html and "Fair lending" in html


def test_custom_checklist_with_unknown_evidence_source_is_rejected(small_csv, tmp_path):
    custom = tmp_path / "ours.yaml"
    custom.write_text(
        "id: x\ntitle: X\nsections:\n- id: s\n  title: S\n  items:\n"
        "  - {id: a, question: 'Q?', evidence: [shap]}\n"
    )
    result = run_cli("checklist", "init", "--out", tmp_path / "a.yaml", "--checklist", custom)
    assert result.exit_code == 2
    assert "unknown evidence source(s) 'shap'" in result.output
