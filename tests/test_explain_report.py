"""The explanations in the demo's results.json and report, predictions-only audits, switching
the stage off, mitigated variants, and hostile names in explained models."""

from __future__ import annotations

import copy
import json
import re

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import run_cli

from audit.datasets import make_scenario
from audit.report.render import figures, render_html


def test_demo_result_holds_the_explanations(demo_dir, demo_result):
    ex = demo_result["explanations"]
    assert (ex["status"], ex["explainer"], ex["output_space"]) == ("explained", "tree", "log-odds")
    assert ex["estimator"] == "HistGradientBoostingClassifier"
    assert ex["sample"]["rows"] == 2000 and ex["sample"]["evaluated_rows"] == 6000
    assert ex["additivity_max_error"] < 1e-9
    assert {f["feature"] for f in ex["features"]} == set(demo_result["model"]["input_columns"])
    important = {(p["feature"], p["sensitive"]) for p in ex["proxies"]["important"]}
    assert ("region", "race") in important
    race = next(d for d in ex["disparity"] if d["sensitive"] == "race")
    largest = next(c for c in race["comparisons"] if c["group"] == race["largest"])
    assert list(largest["contributions"])[0] == "region"
    # bounded: 400 rows kept for the plots, rounded; the whole file stays small
    assert ex["rows"]["n"] == 400
    # The explanation rows are rounded and bounded: they keep results.json readable.
    without_reasons = {key: value for key, value in ex.items() if key != "reasons"}
    assert len(json.dumps(without_reasons, indent=2)) < 400_000
    # The principal reasons list every negative decision of the explained sample at full
    # precision (tables/reasons.csv is written from them): bounded by the sample instead.
    reasons = ex["reasons"]["rows"]
    assert len(reasons) == ex["reasons"]["negative_decisions"] <= ex["sample"]["rows"]
    assert max(len(row["reasons"]) for row in reasons) <= ex["reasons"]["max_reasons"] == 4


def test_demo_report_shows_the_explanations(demo_dir, demo_result):
    ex = demo_result["explanations"]
    html = (demo_dir / "report.html").read_text().replace("<wbr>", "")
    assert ">Explanations (SHAP)</h2>" in html
    assert "shap.TreeExplainer" in html and "log-odds" in html
    assert "2,000 of 6,000 evaluated rows" in html
    assert 'alt="Beeswarm plot' in html and 'alt="Dependence plots' in html
    assert html.count('alt="Bar chart of mean absolute SHAP value') == 2
    # one per sensitive feature, for the audited model and each explained mitigated model
    explained = 1 + sum(v["status"] == "explained" for v in ex.get("variants", []))
    assert html.count('alt="Bar chart: contribution of each feature') == 2 * explained
    assert html.count('alt="Waterfall plot') == len(ex["cases"]) > 0
    assert "Important proxies" in html
    top = ex["features"][0]
    assert f"{top['mean_abs_shap']:.4f}" in html


def test_predictions_only_audit_reports_proxies_without_a_model(tmp_path):
    frame = make_scenario("credit", n_rows=2000, bias=1.0, seed=0)
    frame["score"] = np.random.default_rng(0).random(len(frame))
    data = tmp_path / "decisions.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "out"
    # The inputs of the model that made the decisions, declared: proxies are sought there.
    inputs = [c for c in frame.columns if c not in ("approved", "race", "sex", "score")]
    config = tmp_path / "audit.yaml"
    config.write_text(yaml.safe_dump({"data": {"features": inputs}}))
    args = ["run", config, "--data", data, "--target", "approved", "--sensitive", "race"]
    args += ["--sensitive", "sex", "--drop", "applicant_id", "--score-column", "score"]
    args += ["--threshold", "0.5", "--format", "json", "--format", "html", "--out", out, "-q"]
    result = run_cli(*args)
    assert result.exit_code == 0, result.output
    ex = json.loads((out / "results.json").read_text())["explanations"]
    assert ex["status"] == "no_model"
    flagged = {
        (a["feature"], a["sensitive"]) for a in ex["proxies"]["associations"] if a["flagged"]
    }
    assert flagged == {("region", "race"), ("part_time", "sex")}
    html = (out / "report.html").read_text().replace("<wbr>", "")
    assert "no model to explain" in html and "Proxies of sensitive features" in html


def test_explanations_can_be_switched_off(tmp_path):
    data = tmp_path / "credit.csv"
    make_scenario("credit", n_rows=1500, bias=1.0, seed=0).to_csv(data, index=False)
    config = {
        "data": {"path": str(data), "target": "approved", "sensitive": ["sex", "race"]},
        "model": {"name": "logistic_regression"},
        "explain": {"enabled": False},
        "mitigation": {"strategies": ["none"]},
    }
    path = tmp_path / "audit.yaml"
    path.write_text(yaml.safe_dump(config))
    out = tmp_path / "out"
    result = run_cli("run", path, "--format", "json", "--format", "html", "--out", out, "-q")
    assert result.exit_code == 0, result.output
    ex = json.loads((out / "results.json").read_text())["explanations"]
    assert ex["status"] == "disabled"
    assert "Explanations were not computed" in (out / "report.html").read_text()


def test_mitigated_variants_and_thresholds_render(demo_result):
    result = copy.deepcopy(demo_result)
    result["explanations"]["cases"] = []  # fewer figures to draw: the variants are the point
    variant = {k: v for k, v in result["explanations"].items() if k not in ("rows", "cases")}
    variant.update(label="Reweighed (test)", detail="summary")
    # An audited model that is itself a ThresholdOptimizer states its rules with its explanation.
    result["explanations"]["postprocessing"] = {
        "method": "fairlearn ThresholdOptimizer",
        "constraints": "demographic_parity",
        "objective": "accuracy_score",
        "score": "predict_proba",
        "groups": [
            {
                "group": "Black",
                "rules": [{"probability": 0.7, "operator": ">", "threshold": 0.42, "always": None}],
                "constant": {"probability": 0.3, "positive_rate": 0.25},
                "main_threshold": 0.42,
            }
        ],
        "note": "Base model explained.",
    }
    result["explanations"]["variants"] = [variant, {"label": "Broken", "status": "failed"}]
    html = render_html(result, figures(result)).replace("<wbr>", "")
    assert "Mitigated models" in html and "Reweighed (test)" in html
    assert (
        "with probability 0.700: positive when score &gt; 0.4200; with probability 0.300: "
        "positive with probability 0.250 whatever the score"
    ) in html
    # the variant's own disparity chart is drawn
    assert html.count('alt="Bar chart: contribution of each feature') == 4


def test_results_without_explanations_still_render(demo_result):
    result = copy.deepcopy(demo_result)
    del result["explanations"]
    html = render_html(result, figures(result)).replace("<wbr>", "")
    assert "has no explanations" in html


def test_hostile_names_in_an_explained_model_are_text(tmp_path):
    rng = np.random.default_rng(0)
    n = 400
    group = rng.choice(["<b>x</b>", "$\\notacommand$"], n)
    frame = pd.DataFrame(
        {
            "<script>alert(3)</script>": rng.normal(size=n),
            "$\\alpha$": np.where(group == "<b>x</b>", "a$b", "c{d}"),
            "grp": group,
        }
    )
    frame["y"] = (frame.iloc[:, 0] + rng.normal(size=n) > 0).astype(int)
    data = tmp_path / "hostile.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "out"
    args = ["run", "--data", data, "--target", "y", "--sensitive", "grp"]
    args += ["--model", "logistic_regression", "--mitigate", "none"]
    args += ["--format", "html", "--out", out, "-q"]
    result = run_cli(*args)
    assert result.exit_code == 0, result.output
    html = (out / "report.html").read_text().replace("<wbr>", "")
    assert "<script>alert(3)" not in html and "<b>x</b>" not in html
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in html


def test_a_case_prints_each_value_and_shap_value_alike_in_its_figure_and_table(
    demo_result, monkeypatch
):
    """One number, one value (issue 12): the waterfall read 'income = 50,083' and -1.730
    where the table beside it read 50083 and -1.7298."""
    from audit.report import explain_plots

    drawn = []
    monkeypatch.setattr(explain_plots, "to_data_uri", lambda figure: drawn.append(figure) or "")
    ex = demo_result["explanations"]
    case = ex["cases"][0]
    explain_plots.waterfall(case, ex)
    axes = drawn[0].axes[0]
    in_figure = {}  # feature -> (value text, SHAP text), from the labels and the bar ends
    # The bar ends' values are placed in data coordinates; the steps' names beside the axes.
    ends = [text for text in axes.texts if text.get_transform() == axes.transData]
    names = [text for text in axes.texts if text not in ends]
    assert len(names) == len(ends) > 0

    def bottom_up(texts):
        return sorted(texts, key=lambda text: text.get_position()[1])

    for label, bar in zip(bottom_up(names), bottom_up(ends), strict=True):
        name, _, value = label.get_text().partition(" = ")
        in_figure[name] = (value, bar.get_text().strip())
    html = render_html(demo_result, figures(demo_result), detail="full").replace("<wbr>", "")
    section = html[html.index(f'id="explanations-{case["id"]}"') :]
    section = section[: section.index("</table>")]
    in_table = {
        name: (value, shap_text)
        for name, value, shap_text in re.findall(
            r"<tr><td><code>(.*?)</code></td><td>(.*?)</td><td class=\"num\">(.*?)</td></tr>",
            section,
        )
    }
    shown = {name: pair for name, pair in in_figure.items() if not name.endswith("features")}
    assert len(shown) >= 5
    for name, (value, shap_text) in shown.items():
        assert in_table[name] == (value, shap_text), name
        # and both are the result's numbers, to the digits shown
        assert float(shap_text) == pytest.approx(case["shap"][name], abs=5e-4)
