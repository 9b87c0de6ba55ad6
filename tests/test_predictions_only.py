"""Predictions-only audits: decisions already made, no model, every row evaluated."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import run_cli

# A hand-made table: 12 rows, two groups. Score >= 0.5 is a positive decision.
ROWS = [
    # group, label, score
    ("a", 1, 0.9),
    ("a", 1, 0.7),
    ("a", 1, 0.2),
    ("a", 0, 0.6),
    ("a", 0, 0.1),
    ("a", 0, 0.3),
    ("b", 1, 0.8),
    ("b", 1, 0.4),
    ("b", 1, 0.3),
    ("b", 0, 0.2),
    ("b", 0, 0.1),
    ("b", 0, 0.45),
]


@pytest.fixture
def scored_csv(tmp_path):
    frame = pd.DataFrame(ROWS, columns=["grp", "label", "score"])
    frame["decision"] = (frame["score"] >= 0.5).map({True: "yes", False: "no"})
    frame["label"] = frame["label"].map({1: "yes", 0: "no"})
    path = tmp_path / "scored.csv"
    frame.to_csv(path, index=False)
    return path


def by_group(result: dict, feature: str) -> dict:
    block = next(f for f in result["fairness"]["features"] if f["feature"] == feature)
    return {g["group"]: g for g in block["groups"]}


def test_score_column_with_threshold_counts_by_hand(scored_csv, tmp_path):
    out = tmp_path / "out"
    result = run_cli(
        "run",
        "--data",
        scored_csv,
        "--target",
        "label",
        "--positive-label",
        "yes",
        "--score-column",
        "score",
        "--threshold",
        "0.5",
        "--sensitive",
        "grp",
        "--min-group-size",
        # The hand-made groups have 6 rows, 3 positives and 3 negatives each; the minimum
        # applies to TPR's and FPR's denominators too (the default is 30).
        "3",
        "--format",
        "json",
        "--out",
        out,
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "results.json").read_text())
    assert saved["data"]["n_evaluated"] == 12 and saved["data"]["n_train"] == 0
    assert saved["model"]["source"] == "predictions"
    groups = by_group(saved, "grp")
    # group a: TP=2 (0.9, 0.7), FN=1, FP=1 (0.6), TN=2 -> TPR 2/3, FPR 1/3, selection 3/6
    assert groups["a"]["tpr"] == pytest.approx(2 / 3)
    assert groups["a"]["fpr"] == pytest.approx(1 / 3)
    assert groups["a"]["selection_rate"] == pytest.approx(0.5)
    # group b: TP=1 (0.8), FN=2, FP=0, TN=3 -> TPR 1/3, FPR 0, selection 1/6
    assert groups["b"]["tpr"] == pytest.approx(1 / 3)
    assert groups["b"]["fpr"] == 0
    assert groups["b"]["precision"] == 1
    disparities = {d["metric"]: d["value"] for d in saved["fairness"]["features"][0]["disparities"]}
    assert disparities["demographic_parity_difference"] == pytest.approx(0.5 - 1 / 6)
    assert disparities["equalized_odds_difference"] == pytest.approx(1 / 3)
    assert saved["performance"]["roc_auc"] is not None
    assert not (out / "model.skops").exists()


def test_prediction_column_in_the_targets_own_labels(scored_csv, tmp_path):
    out = tmp_path / "out"
    result = run_cli(
        "run",
        "--data",
        scored_csv,
        "--target",
        "label",
        "--positive-label",
        "yes",
        "--prediction-column",
        "decision",
        "--sensitive",
        "grp",
        "--format",
        "json",
        "--out",
        out,
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "results.json").read_text())
    assert by_group(saved, "grp")["a"]["tpr"] == pytest.approx(2 / 3)
    assert saved["performance"]["roc_auc"] is None  # decisions only: no scores


def test_compas_published_false_positive_rates(shared_data, tmp_path):
    """ProPublica: with decile_score >= 5 as 'high risk' on all 7,214 rows of the two-year file,
    FPR is 44.85% for African-American and 23.45% for Caucasian defendants."""
    out = tmp_path / "compas"
    result = run_cli(
        "run",
        "--data",
        shared_data / "compas-scores-two-years.csv",
        "--target",
        "two_year_recid",
        "--score-column",
        "decile_score",
        "--threshold",
        "5",
        "--sensitive",
        "race",
        "--format",
        "json",
        "--out",
        out,
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "results.json").read_text())
    assert saved["data"]["n_evaluated"] == 7214
    groups = by_group(saved, "race")
    assert round(100 * groups["African-American"]["fpr"], 2) == 44.85
    assert round(100 * groups["Caucasian"]["fpr"], 2) == 23.45


def test_compas_fpr_gap_fails_a_parity_rule_with_its_interval(shared_data, tmp_path):
    """The same published gap as a policy verdict: FPR of African-American defendants is
    1.91x that of Caucasian defendants (the reference), far outside a 0.8 parity band."""
    config = tmp_path / "compas.yaml"
    config.write_text(
        f"data: {{path: {shared_data / 'compas-scores-two-years.csv'}, target: two_year_recid,"
        " sensitive: [race]}\n"
        "predictions: {score_column: decile_score, threshold: 5}\n"
        "fairness: {reference_groups: {race: Caucasian}}\n"
        "policy: ['race: fpr_parity_ratio_vs_reference >= 0.8']\n"
        "output: {formats: [json]}\n"
    )
    result = run_cli("run", config, "--out", tmp_path / "out", "--quiet")
    assert result.exit_code == 1, result.output
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    race = saved["fairness"]["features"][0]
    assert race["reference_group"] == "Caucasian"
    groups = by_group(saved, "race")
    black = groups["African-American"]
    assert black["vs_reference"]["fpr"]["ratio"] == pytest.approx(0.4485 / 0.2345, abs=0.002)
    low, high = black["ci"]["fpr"]
    assert low < 0.4485 < high and high - low < 0.05  # 1,795 non-recidivists: a tight interval
    assert groups["Native American"]["insufficient"]  # 18 rows
    (verdict,) = saved["verdicts"]
    assert verdict["verdict"] == "fail" and verdict["ci"][1] < 0.8
