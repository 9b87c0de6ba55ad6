"""Data-quality checks inside an audit: the demo's planted defects are found, an error stops
the run (exit 2, nothing written) unless overridden, predictions-only audits skip the split."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli
from markupsafe import escape


def by_id(result: dict) -> dict[str, dict]:
    return {f["id"]: f for f in result["quality"]["findings"]}


@pytest.fixture(scope="module")
def demo_frame(demo_dir) -> pd.DataFrame:
    return pd.read_csv(demo_dir / "data" / "credit.csv")


def test_demo_planted_missing_values_are_found(demo_result, demo_frame):
    found = by_id(demo_result)
    for column, planted in (("income", 0.03), ("employment_years", 0.02)):
        evidence = found[f"missing_values:{column}"]["evidence"]
        assert evidence["missing"] == int(demo_frame[column].isna().sum())
        assert evidence["share"] == pytest.approx(planted, abs=0.002)
        assert found[f"missing_values:{column}"]["severity"] == "warning"


def test_demo_planted_duplicates_and_id_column_are_found(demo_result, demo_frame):
    found = by_id(demo_result)
    duplicates = found["duplicates:rows"]["evidence"]
    assert duplicates["duplicate_rows"] == int(demo_frame.duplicated().sum()) == 200  # 1 %
    assert found["duplicates:rows"]["severity"] == "warning"
    repeated = found["duplicates:applicant_id"]["evidence"]
    assert repeated["repeated_values"] == int(demo_frame["applicant_id"].duplicated().sum())
    assert repeated["values_with_differing_records"] == 0
    assert found["id_like:applicant_id"]["severity"] == "info"  # dropped: not a model input


def test_demo_small_group_proxy_and_base_rates_are_found(demo_result, demo_frame):
    found = by_id(demo_result)
    small = found["representation:race"]["evidence"]["small_groups"]
    assert [g["group"] for g in small] == ["Other"]
    assert small[0]["n"] == int((demo_frame["race"] == "Other").sum())
    assert small[0]["share"] == pytest.approx(0.02, abs=0.003)
    assert found["proxy_association:region ~ race"]["evidence"]["value"] > 0.5
    rates = demo_frame.groupby("sex")["approved"].mean()
    assert found["base_rate:sex"]["evidence"]["gap"] == pytest.approx(rates.max() - rates.min())


def test_demo_defects_are_warnings_and_do_not_stop_it(demo_result):
    quality = demo_result["quality"]
    assert quality["counts"]["error"] == 0
    assert quality["errors_overridden"] is False
    assert quality["split"] == {"train_rows": 14_000, "test_rows": 6_000}
    # Planted rows copied into both parts of the split are reported too.
    assert by_id(demo_result)["train_test_overlap:rows"]["severity"] == "warning"


def test_quality_section_in_html(demo_dir, demo_result):
    html = (demo_dir / "report.html").read_text().replace("<wbr>", "")
    assert ">Data quality</h2>" in html
    assert html.index('id="quality"') < html.index('id="performance"')
    for finding in demo_result["quality"]["findings"]:
        assert f'id="{finding["anchor"]}"' in html
    assert "Small groups of race: Other" in html
    # Every check's rule, with its thresholds, is stated in the report.
    for check in demo_result["quality"]["checks"]:
        assert str(escape(check["rule"])) in html
    assert "&lt; 30 rows or &lt; 5% of the rows" in html


@pytest.fixture
def leaky_csv(tmp_path):
    rng = np.random.default_rng(0)
    n = 300
    y = rng.integers(0, 2, n)
    frame = pd.DataFrame(
        {
            "sex": rng.choice(["f", "m"], n),
            "x": rng.normal(0, 1, n),
            "status_after_decision": np.where(y == 1, "repaid", "defaulted"),
            "y": y,
        }
    )
    path = tmp_path / "leaky.csv"
    frame.to_csv(path, index=False)
    return path


def test_error_finding_stops_the_run_and_writes_nothing(leaky_csv, tmp_path):
    out = tmp_path / "out"
    args = [
        "run",
        "--data",
        leaky_csv,
        "--target",
        "y",
        "--sensitive",
        "sex",
        "--out",
        out,
        "--model",
        "logistic_regression",
    ]
    result = run_cli(*args, "--format", "json", "--quiet")
    assert result.exit_code == 2, result.output
    assert "leakage:status_after_decision" in result.output
    assert "--allow-quality-errors" in result.output
    assert "Traceback" not in result.output
    assert not out.exists() or not any(out.iterdir())


def test_override_lets_the_run_through_and_the_report_says_so(leaky_csv, tmp_path):
    out = tmp_path / "out"
    args = [
        "run",
        "--data",
        leaky_csv,
        "--target",
        "y",
        "--sensitive",
        "sex",
        "--out",
        out,
        "--model",
        "logistic_regression",
        "--mitigate",
        "none",
    ]
    result = run_cli(*args, "--allow-quality-errors", "--format", "json", "--format", "html")
    assert result.exit_code == 0, result.output
    quality = json.loads((out / "results.json").read_text())["quality"]
    assert quality["errors_overridden"] is True
    assert quality["counts"]["error"] == 1
    html = (out / "report.html").read_text().replace("<wbr>", "")
    assert "The audit ran despite 1 error finding" in html
    assert "the audit ran despite the errors (override)" in html


def test_override_from_the_config_file(leaky_csv, tmp_path):
    config = tmp_path / "audit.yaml"
    config.write_text(
        f"data: {{path: {leaky_csv.name}, target: y, sensitive: [sex]}}\n"
        "quality: {allow_errors: true, leakage_auc_warning: 0.9}\n"
        "model: {name: logistic_regression}\n"
        "mitigation: {strategies: [none]}\n"
        "output: {dir: out, formats: [json]}\n"
    )
    result = run_cli("run", config, "--quiet")
    assert result.exit_code == 0, result.output
    quality = json.loads((tmp_path / "out" / "results.json").read_text())["quality"]
    assert quality["settings"]["leakage_auc_warning"] == 0.9
    assert quality["errors_overridden"] is True


def test_unknown_quality_key_is_a_config_error(leaky_csv, tmp_path):
    config = tmp_path / "audit.yaml"
    config.write_text(
        f"data: {{path: {leaky_csv.name}, target: y, sensitive: [sex]}}\n"
        "quality: {disable: [leak]}\n"
    )
    result = run_cli("run", config, "--quiet")
    assert result.exit_code == 2
    assert "unknown data-quality check(s) 'leak'" in result.output


def test_predictions_only_audit_skips_split_checks(leaky_csv, tmp_path):
    """No split, so no train/test checks; the inputs of the model that made the decisions
    are known only when declared (data.features), and then a leak among them is reported,
    as a warning: no model is fitted on them here."""
    frame = pd.read_csv(leaky_csv)
    frame["decision"] = (frame["x"] > 0).astype(int)
    frame.to_csv(leaky_csv, index=False)

    def audit(name: str, declared: str) -> dict:
        config = tmp_path / f"{name}.yaml"
        config.write_text(f"data: {{features: {declared}}}\n" if declared else "{}\n")
        out = tmp_path / name
        args = ["run", config, "--data", leaky_csv, "--target", "y", "--sensitive", "sex"]
        args += ["--prediction-column", "decision", "--out", out, "--format", "json", "-q"]
        result = run_cli(*args)
        assert result.exit_code == 0, result.output
        return json.loads((out / "results.json").read_text())

    declared = audit("declared", "[x, status_after_decision]")
    quality = declared["quality"]
    assert quality["split"] is None
    skipped = {c["id"]: c for c in quality["checks"] if c["status"] == "skipped"}
    assert set(skipped) == {"unseen_categories", "distribution_shift", "train_test_overlap"}
    leak = by_id(declared)["leakage:status_after_decision"]
    assert leak["severity"] == "warning" and "predictions-only" in leak["message"]
    roles = {c["name"]: c["role"] for c in declared["data"]["columns"]}
    assert roles == {
        "sex": "sensitive",
        "x": "feature",
        "status_after_decision": "feature",
        "y": "target",
        "decision": "prediction",
    }

    undeclared = audit("undeclared", "")
    roles = {c["name"]: c["role"] for c in undeclared["data"]["columns"]}
    assert roles["x"] == roles["status_after_decision"] == "not used"
    assert roles["decision"] == "prediction"
    skipped = {c["id"] for c in undeclared["quality"]["checks"] if c["status"] == "skipped"}
    assert {"leakage", "proxy_association", "conflicting_labels"} <= skipped
    assert not any(f["check"] == "leakage" for f in undeclared["quality"]["findings"])
