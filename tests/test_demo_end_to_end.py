"""The demo through the CLI, checked against fairlearn and scikit-learn computed independently."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    equalized_odds_ratio,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import accuracy_score, precision_score, roc_auc_score
from sklearn.model_selection import train_test_split

from audit.result import SCHEMA_VERSION


def test_demo_writes_every_output(demo_dir):
    for name in ("results.json", "report.html", "report.pdf", "model.skops", "audit.yaml"):
        assert (demo_dir / name).stat().st_size > 0, name
    assert (demo_dir / "report.pdf").read_bytes().startswith(b"%PDF-")
    assert not list(demo_dir.glob(".*.tmp*")), "temporary files left behind"


@pytest.fixture(scope="module")
def independent(demo_dir, demo_result):
    """Re-derive the test split with scikit-learn and predict with the saved model."""
    frame = pd.read_csv(demo_dir / "data" / "credit.csv")
    y = (frame["approved"] == 1).to_numpy(dtype=int)
    rows = np.arange(len(frame))
    _, test = train_test_split(rows, test_size=0.3, random_state=0, stratify=y)
    test = np.sort(test)
    path = demo_dir / "model.skops"
    model = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    X = frame.iloc[test][demo_result["model"]["input_columns"]]
    scores = model.predict_proba(X)[:, 1]
    return frame.iloc[test], y[test], (scores >= 0.5).astype(int), scores


def test_sensitive_columns_are_not_model_inputs(demo_result):
    assert {"sex", "race", "applicant_id", "approved"}.isdisjoint(
        demo_result["model"]["input_columns"]
    )


def test_overall_metrics_match_sklearn(demo_result, independent):
    _, y, pred, scores = independent
    perf = demo_result["performance"]
    assert perf["n"] == len(y) == 6000
    assert perf["accuracy"] == pytest.approx(accuracy_score(y, pred), abs=1e-12)
    assert perf["precision"] == pytest.approx(precision_score(y, pred), abs=1e-12)
    assert perf["roc_auc"] == pytest.approx(roc_auc_score(y, scores), abs=1e-12)
    cm = perf["confusion_matrix"]
    assert cm["tp"] == int(((y == 1) & (pred == 1)).sum())
    assert cm["fp"] == int(((y == 0) & (pred == 1)).sum())
    assert cm["tn"] + cm["fp"] + cm["fn"] + cm["tp"] == 6000


@pytest.mark.parametrize("column", ["sex", "race"])
def test_by_group_numbers_equal_metricframe(demo_result, independent, column):
    test_rows, y, pred, _ = independent
    groups = test_rows[column].to_numpy()
    frame = MetricFrame(
        metrics={
            "selection_rate": selection_rate,
            "tpr": true_positive_rate,
            "fpr": false_positive_rate,
            "accuracy": accuracy_score,
        },
        y_true=y,
        y_pred=pred,
        sensitive_features=groups,
    ).by_group
    feature = next(f for f in demo_result["fairness"]["features"] if f["feature"] == column)
    reported = {g["group"]: g for g in feature["groups"]}
    assert set(reported) == set(frame.index)
    for group, expected in frame.iterrows():
        row = reported[group]
        assert row["n"] == int((groups == group).sum())
        assert row["positives"] == int(y[groups == group].sum())
        for metric in ("selection_rate", "tpr", "fpr", "accuracy"):
            assert row[metric] == pytest.approx(expected[metric], abs=1e-12), (group, metric)
    disparities = {d["metric"]: d["value"] for d in feature["disparities"]}
    assert disparities["demographic_parity_difference"] == pytest.approx(
        demographic_parity_difference(y, pred, sensitive_features=groups), abs=1e-12
    )
    assert disparities["equalized_odds_ratio"] == pytest.approx(
        equalized_odds_ratio(y, pred, sensitive_features=groups), abs=1e-12
    )


def test_demo_finds_the_planted_race_gap(demo_result):
    race = next(f for f in demo_result["fairness"]["features"] if f["feature"] == "race")
    rates = {g["group"]: g["selection_rate"] for g in race["groups"]}
    # bias 1.0 is subtracted from the log-odds of Black and Hispanic applicants' labels.
    assert rates["White"] - rates["Black"] > 0.08
    assert rates["White"] - rates["Hispanic"] > 0.08


def test_provenance_records_the_run(demo_dir, demo_result):
    import hashlib

    prov = demo_result["provenance"]
    assert demo_result["schema_version"] == SCHEMA_VERSION == "2.0"
    assert prov["seed"] == 0
    assert prov["versions"]["fairlearn"] and prov["versions"]["scikit-learn"]
    data_bytes = (demo_dir / "data" / "credit.csv").read_bytes()
    assert prov["data_sha256"] == hashlib.sha256(data_bytes).hexdigest()
    assert demo_result["config"]["data"]["sensitive"] == ["sex", "race"]


def test_saved_model_reaudits_to_the_same_numbers(demo_dir, demo_result, tmp_path):
    from conftest import assert_close, run_cli

    out = tmp_path / "again"
    result = run_cli(
        "run",
        demo_dir / "audit.yaml",
        "--model-file",
        demo_dir / "model.skops",
        "--format",
        "json",
        "--mitigate",
        "none",  # the demo's audit.yaml compares strategies; not needed to check the numbers
        "--out",
        out,
        "--quiet",
    )
    assert result.exit_code == 1, result.output  # the demo's policy fails again, by design
    again = json.loads((out / "results.json").read_text())
    assert again["model"]["source"] == "file"
    # The demo's audit.yaml asks for the same split (test_size 0.3, same seed): same rows.
    assert again["data"]["n_evaluated"] == demo_result["data"]["n_evaluated"]
    assert_close(again["performance"], demo_result["performance"])
    # Intervals too: same seed, same draws.
    assert_close(again["fairness"]["features"], demo_result["fairness"]["features"])
    assert_close(again["verdicts"], demo_result["verdicts"])


def test_python_dash_m_audit_works():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "audit", "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    for command in ("run", "demo", "report", "datasets", "models"):
        assert command in done.stdout
