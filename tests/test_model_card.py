"""Model card and datasheet: the user's text from the config beside what the audit knows."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from conftest import run_cli


def sections(part: dict) -> dict[str, dict]:
    return {s["id"]: s for s in part["sections"]}


def test_config_text_and_audit_facts_in_results_and_html(tmp_path):
    rng = np.random.default_rng(4)
    n = 500
    x = rng.normal(0, 1, n)
    frame = pd.DataFrame(
        {
            "group": rng.choice(["u", "v"], n, p=[0.3, 0.7]),
            "x": x,
            "w": rng.normal(0, 1, n),
            "label": (x + rng.normal(0, 1, n) > 0).astype(int),
        }
    )
    frame.to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "audit.yaml").write_text(
        "data: {path: d.csv, target: label, sensitive: [group]}\n"
        "model: {name: logistic_regression}\n"
        "mitigation: {strategies: [none]}\n"
        "output: {dir: out, formats: [json, html]}\n"
        "model_card:\n"
        "  name: Loan triage\n"
        "  version: '3.2'\n"
        "  owners: [Credit risk team]\n"
        "  intended_use: |\n"
        "    Ranks applications for manual review.\n\n"
        "    Never declines an application on its own.\n"
        "  out_of_scope_uses: [Pricing, Marketing <campaigns>]\n"
        "datasheet:\n"
        "  motivation: Collected to audit the triage model.\n"
    )
    result = run_cli("run", tmp_path / "audit.yaml", "--quiet")
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    card, sheet = saved["model_card"], saved["datasheet"]
    assert (card["name"], card["version"], card["owners"]) == (
        "Loan triage",
        "3.2",
        ["Credit risk team"],
    )
    by_id = sections(card)
    assert list(by_id) == [
        "model_details",
        "intended_use",
        "out_of_scope_uses",
        "training_data",
        "evaluation_data",
        "factors",
        "metrics",
        "ethical_considerations",
        "caveats_and_recommendations",
    ]
    assert by_id["intended_use"]["provided"].startswith("Ranks applications")
    assert by_id["out_of_scope_uses"]["provided"] == ["Pricing", "Marketing <campaigns>"]
    assert "model_card.factors" in card["not_provided"]
    assert "model_card.intended_use" not in card["not_provided"]
    # What the audit knows is filled in, with the audit's own numbers.
    data, perf = saved["data"], saved["performance"]
    assert any(
        f"{data['n_train']:,} rows of d.csv" in f for f in by_id["training_data"]["from_audit"]
    )
    assert any(f"{data['n_evaluated']:,} rows" in f for f in by_id["evaluation_data"]["from_audit"])
    counts = frame["group"].value_counts()
    factors = " ".join(by_id["factors"]["from_audit"])
    assert f"u {counts['u']:,}" in factors and f"v {counts['v']:,}" in factors
    assert f"Accuracy {perf['accuracy']:.3f}" in by_id["metrics"]["from_audit"][0]
    assert "LogisticRegression" in by_id["model_details"]["from_audit"][0]
    sheet_ids = sections(sheet)
    assert list(sheet_ids) == ["motivation", "composition", "collection", "preprocessing"]
    assert sheet_ids["motivation"]["provided"] == "Collected to audit the triage model."
    assert f"{n:,} rows × 4 columns" in sheet_ids["composition"]["from_audit"][0]
    assert saved["provenance"]["data_sha256"] in sheet_ids["collection"]["from_audit"][0]
    assert sheet["not_provided"] == [
        "datasheet.composition",
        "datasheet.collection",
        "datasheet.preprocessing",
    ]

    html = (tmp_path / "out" / "report.html").read_text().replace("<wbr>", "")
    assert ">Model card and datasheet</h2>" in html
    assert html.index('id="fairness"') < html.index('id="checklist"')
    assert html.index('id="model_card"') < html.index('id="provenance"')
    assert "Model card: Loan triage (version 3.2)" in html
    assert "<p>Ranks applications for manual review.</p>" in html
    assert "<p>Never declines an application on its own.</p>" in html
    assert "Marketing &lt;campaigns&gt;" in html
    assert "Not provided — set <code>model_card.factors</code> in the config." in html


def test_demo_card_is_filled_from_its_config_and_the_audit(demo_result):
    card = sections(demo_result["model_card"])
    assert "synthetic data" in card["intended_use"]["provided"]
    factors = " ".join(card["factors"]["from_audit"])
    other = demo_result["data"]["group_sizes"]["race"]["Other"]
    assert f"Other {other:,} (" in factors
    caveats = " ".join(card["caveats_and_recommendations"]["from_audit"])
    assert "Small groups of race: Other" in caveats


def test_a_result_without_these_stages_still_renders_and_says_so(demo_result):
    from audit.report.render import figures, render_html

    old = {
        k: v
        for k, v in demo_result.items()
        if k not in ("quality", "checklist", "model_card", "datasheet")
    }
    html = render_html(old, figures(old)).replace("<wbr>", "")
    assert "No data-quality checks are recorded in this result" in html
    assert "No checklist is recorded in this result" in html
    assert "No model card is recorded in this result" in html
