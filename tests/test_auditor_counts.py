"""The counts and options auditors expect (issue 16, item 5).

* Per-group TN, FP, FN, TP and the overall FPR, FNR and TNR equal scikit-learn's
  ``confusion_matrix`` on each group's rows; the overall rates' intervals equal scipy's
  Wilson interval of the same counts.
* ``--reference-group FEATURE=GROUP`` changes the reference, and every vs-reference value
  with it, as computed here by hand.
* Label base-rate disparities follow AIF360's dataset metrics (BinaryLabelDatasetMetric):
  ``statistical_parity_difference = P(y = 1 | group) - P(y = 1 | reference)`` and
  ``disparate_impact = P(y = 1 | group) / P(y = 1 | reference)``, the reference playing
  AIF360's privileged group; here computed by hand from the label column.
* ``split.evaluate_on`` / ``--evaluate-on``: train and all audit exactly those rows (their
  counts are the split's sizes, group by group), and the result and report say in-sample.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import confusion_matrix

from audit.config import FairnessConfig
from audit.metrics import measure
from audit.report.tables import table_files
from audit.report.terminal import summary_lines
from tests.conftest import run_cli

CELLS = ("tn", "fp", "fn", "tp")


def _sample(n: int = 900, seed: int = 4) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    sensitive = pd.DataFrame(
        {
            "sex": rng.choice(["f", "m"], n, p=[0.4, 0.6]),
            "race": rng.choice(["A", "B", "C"], n, p=[0.5, 0.3, 0.2]),
        }
    )
    y = (rng.random(n) < np.where(sensitive["race"] == "A", 0.55, 0.35)).astype(int)
    pred = np.where(rng.random(n) < 0.75, y, 1 - y)
    return sensitive, y, pred


def _sklearn_cells(y, pred, mask, weight=None) -> dict[str, float]:
    matrix = confusion_matrix(
        y[mask], pred[mask], labels=[0, 1], sample_weight=None if weight is None else weight[mask]
    )
    return dict(zip(CELLS, matrix.ravel().tolist(), strict=True))


def _group_masks(sensitive: pd.DataFrame, feature: dict) -> dict[str, np.ndarray]:
    labels = sensitive[feature["columns"]].astype(str).agg(" × ".join, axis=1)
    return {g["group"]: (labels == g["group"]).to_numpy() for g in feature["groups"]}


def test_group_counts_and_overall_rates_equal_sklearn_confusion_matrix():
    sensitive, y, pred = _sample()
    measured = measure(y, pred, None, sensitive, FairnessConfig(min_group_size=5))
    features = {f["feature"]: f for f in measured["fairness"]}
    assert set(features) == {"sex", "race", "sex × race"}
    for feature in features.values():
        for group in feature["groups"]:
            mask = _group_masks(sensitive, feature)[group["group"]]
            expected = _sklearn_cells(y, pred, mask)
            assert {c: group[c] for c in CELLS} == expected, (feature["feature"], group["group"])
            assert all(isinstance(group[c], int) for c in CELLS)

    perf = measured["performance"]
    tn, fp, fn, tp = confusion_matrix(y, pred, labels=[0, 1]).ravel()
    assert perf["fpr"] == pytest.approx(fp / (fp + tn), abs=1e-12)
    assert perf["fnr"] == pytest.approx(fn / (fn + tp), abs=1e-12)
    assert perf["tnr"] == pytest.approx(tn / (tn + fp), abs=1e-12)
    # Intervals: scipy's Wilson interval of the same counts (accuracy's method).
    for name, k, n in (("fpr", fp, fp + tn), ("fnr", fn, fn + tp), ("tnr", tn, tn + fp)):
        ci = stats.binomtest(int(k), int(n)).proportion_ci(0.95, method="wilson")
        assert perf[f"{name}_ci"] == pytest.approx([ci.low, ci.high], abs=1e-9), name


def test_weighted_rates_and_row_counts_follow_sklearn():
    """With row weights, the overall rates are weighted (sklearn with sample_weight) and the
    counts stay in rows, as the overall confusion matrix does."""
    sensitive, y, pred = _sample(seed=7)
    weight = np.random.default_rng(1).uniform(0.2, 3.0, len(y))
    measured = measure(
        y, pred, None, sensitive, FairnessConfig(min_group_size=5), sample_weight=weight
    )
    weighted = _sklearn_cells(y, pred, np.ones(len(y), bool), weight)
    perf = measured["performance"]
    assert perf["fpr"] == pytest.approx(weighted["fp"] / (weighted["fp"] + weighted["tn"]))
    assert perf["fnr"] == pytest.approx(weighted["fn"] / (weighted["fn"] + weighted["tp"]))
    assert perf["tnr"] == pytest.approx(weighted["tn"] / (weighted["fp"] + weighted["tn"]))
    low, high = perf["fpr_ci"]
    assert low < perf["fpr"] < high
    race = next(f for f in measured["fairness"] if f["feature"] == "race")
    for group in race["groups"]:
        mask = (sensitive["race"] == group["group"]).to_numpy()
        assert {c: group[c] for c in CELLS} == _sklearn_cells(y, pred, mask)


def test_expected_counts_of_a_randomized_classifier():
    """Given P(decision = 1) per row, each group's cells are sums of probabilities: TP is the
    sum over its y = 1 rows, FN the rest of them; FP and TN likewise over y = 0."""
    sensitive, y, _ = _sample(seed=9)
    p = np.random.default_rng(2).random(len(y))
    measured = measure(
        y, None, None, sensitive, FairnessConfig(min_group_size=5), decision_probability=p
    )
    sex = next(f for f in measured["fairness"] if f["feature"] == "sex")
    for group in sex["groups"]:
        mask = (sensitive["sex"] == group["group"]).to_numpy()
        positive, negative = mask & (y == 1), mask & (y == 0)
        assert group["tp"] == pytest.approx(p[positive].sum(), abs=1e-9)
        assert group["fn"] == pytest.approx((1 - p[positive]).sum(), abs=1e-9)
        assert group["fp"] == pytest.approx(p[negative].sum(), abs=1e-9)
        assert group["tn"] == pytest.approx((1 - p[negative]).sum(), abs=1e-9)
    perf = measured["performance"]
    assert perf["fpr"] == pytest.approx(p[y == 0].mean(), abs=1e-12)
    assert perf["fnr"] == pytest.approx((1 - p[y == 1]).mean(), abs=1e-12)


# --- the command line: --reference-group, label base rates, the CSV tables -----------------


@pytest.fixture
def decisions_csv(tmp_path):
    """Decisions already made for three groups of unequal size (b is the largest)."""
    rows = {"a": (60, 36, 30), "b": (100, 40, 45), "c": (50, 10, 20)}  # n, positives, selected
    records = []
    rng = np.random.default_rng(0)
    for group, (n, positives, selected) in rows.items():
        labels = np.array([1] * positives + [0] * (n - positives))
        decisions = np.array([1] * selected + [0] * (n - selected))
        rng.shuffle(decisions)
        records += [
            {"g": group, "y": int(a), "decision": int(b)}
            for a, b in zip(labels, decisions, strict=True)
        ]
    path = tmp_path / "decisions.csv"
    pd.DataFrame(records).to_csv(path, index=False)
    return path


def _run(data, out, *flags):
    return run_cli(
        "run", "--data", data, "--target", "y", "--sensitive", "g",
        "--prediction-column", "decision", "--out", out, "--format", "json", "--quiet",
        "--min-group-size", "10", *flags,
    )  # fmt: skip


def _by_hand(frame: pd.DataFrame, reference: str) -> dict[str, dict[str, tuple[float, float]]]:
    """Each group against the reference: (difference, ratio) of the selection rate and of
    the label's base rate (AIF360: statistical parity difference, disparate impact)."""
    rates = frame.groupby("g").agg(selection=("decision", "mean"), base=("y", "mean"))
    out = {}
    for group, row in rates.iterrows():
        if group == reference:
            continue
        ref = rates.loc[reference]
        out[group] = {
            "selection_rate": (row.selection - ref.selection, row.selection / ref.selection),
            "base_rate": (row.base - ref.base, row.base / ref.base),
        }
    return out


def test_reference_group_flag_changes_the_reference_and_its_contrasts(decisions_csv, tmp_path):
    frame = pd.read_csv(decisions_csv)
    default = _run(decisions_csv, tmp_path / "default", "--resamples", "0")
    assert default.exit_code == 0, default.output
    chosen = _run(
        decisions_csv, tmp_path / "chosen", "--reference-group", "g=c", "--resamples", "200"
    )
    assert chosen.exit_code == 0, chosen.output
    for folder, reference in (("default", "b"), ("chosen", "c")):
        result = json.loads((tmp_path / folder / "results.json").read_text())
        (entry,) = result["fairness"]["features"]
        assert entry["reference_group"] == reference
        groups = {g["group"]: g for g in entry["groups"]}
        assert groups[reference]["reference"] and groups[reference]["vs_reference"] == {}
        for group, expected in _by_hand(frame, reference).items():
            for metric, (difference, ratio) in expected.items():
                contrast = groups[group]["vs_reference"][metric]
                assert contrast["difference"] == pytest.approx(difference, abs=1e-12)
                assert contrast["ratio"] == pytest.approx(ratio, abs=1e-12)
                if folder == "chosen":  # with resamples: intervals around the value
                    low, high = contrast["difference_ci"]
                    assert low <= difference <= high
        if folder == "chosen":
            assert result["fairness"]["settings"]["reference_groups"] == {"g": "c"}
            assert "configured" in entry["reference_rule"]

    # The CSV tables hold the counts and every contrast with the reference.
    result = json.loads((tmp_path / "chosen" / "results.json").read_text())
    tables = table_files(result)
    metrics = pd.read_csv(pd.io.common.BytesIO(tables["tables/group_metrics.csv"]))
    for _, row in metrics.iterrows():
        mask = (frame["g"] == row["group"]).to_numpy()
        cells = _sklearn_cells(frame["y"].to_numpy(), frame["decision"].to_numpy(), mask)
        assert [row[c] for c in CELLS] == [cells[c] for c in CELLS]
    contrasts = pd.read_csv(pd.io.common.BytesIO(tables["tables/vs_reference.csv"]))
    base = contrasts[contrasts["metric"] == "base_rate"].set_index("group")
    assert set(base.index) == {"a", "b"} and set(base["reference_group"]) == {"c"}
    hand = _by_hand(frame, "c")
    for group in ("a", "b"):
        assert base.loc[group, "difference"] == pytest.approx(hand[group]["base_rate"][0])
        assert base.loc[group, "ratio"] == pytest.approx(hand[group]["base_rate"][1])


@pytest.mark.parametrize(
    ("flag", "said"),
    [
        ("h=a", ["no sensitive feature or intersection 'h'", "Its features are: 'g'"]),
        ("g=z", ["no group 'z'", "Its groups are: 'a', 'b', 'c'"]),
        ("g", ["--reference-group takes FEATURE=GROUP"]),
    ],
)
def test_a_bad_reference_group_exits_2_naming_the_valid_ones(decisions_csv, tmp_path, flag, said):
    out = tmp_path / "out"
    result = _run(decisions_csv, out, "--reference-group", flag, "--resamples", "0")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for text in said:
        assert text in result.output
    assert not (out / "results.json").exists()


def test_two_reference_groups_for_one_feature_exit_2(decisions_csv, tmp_path):
    out = tmp_path / "out"
    flags = ("--reference-group", "g=a", "--reference-group", "g=c", "--resamples", "0")
    result = _run(decisions_csv, out, *flags)
    assert result.exit_code == 2, result.output
    assert "two reference groups for 'g': 'a' and 'c'" in result.output
    assert "Traceback" not in result.output and not (out / "results.json").exists()
    # The same group twice is one choice, not a conflict.
    again = _run(decisions_csv, out, "--reference-group", "g=c", *flags[2:])
    assert again.exit_code in (0, 1), again.output


# --- evaluate_on: test | train | all --------------------------------------------------------


@pytest.fixture
def split_csv(tmp_path):
    """Rows marked train / test by a split column, so each part's groups are known."""
    rng = np.random.default_rng(3)
    n = 400
    frame = pd.DataFrame(
        {
            "g": rng.choice(["p", "q"], n, p=[0.6, 0.4]),
            "x1": rng.normal(size=n),
            "x2": rng.normal(size=n),
            "part": np.where(rng.random(n) < 0.7, "train", "test"),
        }
    )
    frame["y"] = (frame.x1 + 0.5 * frame.x2 + rng.normal(size=n) > 0).astype(int)
    path = tmp_path / "split.csv"
    frame.to_csv(path, index=False)
    return path


def _audit_rows(data, out, evaluate_on, formats=("json",)):
    formats = [arg for f in formats for arg in ("--format", f)]
    return run_cli(
        "run", "--data", data, "--target", "y", "--sensitive", "g", "--model",
        "logistic_regression", "--split-column", "part", "--evaluate-on", evaluate_on,
        "--mitigate", "none", "--resamples", "0", "--min-group-size", "10", "--out", out,
        "--quiet", *formats,
    )  # fmt: skip


@pytest.mark.parametrize("evaluate_on", ["test", "train", "all"])
def test_evaluate_on_audits_the_rows_it_names(split_csv, tmp_path, evaluate_on):
    frame = pd.read_csv(split_csv)
    parts = {"test": ["test"], "train": ["train"], "all": ["train", "test"]}[evaluate_on]
    rows = frame[frame["part"].isin(parts)]
    out = tmp_path / evaluate_on
    formats = ("json", "html") if evaluate_on == "all" else ("json",)
    result = _audit_rows(split_csv, out, evaluate_on, formats)
    assert result.exit_code == 0, result.output
    res = json.loads((out / "results.json").read_text())
    assert res["data"]["evaluate_on"] == evaluate_on
    assert res["data"]["n_evaluated"] == len(rows) == res["performance"]["n"]
    assert sum(res["performance"]["confusion_matrix"].values()) == pytest.approx(len(rows))
    assert res["data"]["n_train"] == int((frame["part"] == "train").sum())
    (entry,) = (f for f in res["fairness"]["features"] if f["feature"] == "g")
    for group in entry["groups"]:
        members = rows[rows["g"] == group["group"]]
        assert group["n"] == len(members)
        assert group["positives"] == int(members["y"].sum())
        assert sum(group[c] for c in CELLS) == len(members)
    in_sample = evaluate_on != "test"
    assert res["data"]["in_sample"] is in_sample
    for said in (res["data"]["evaluated_rows"], res["fairness"]["evaluated_on"]):
        assert ("in-sample" in said) is in_sample
    summary = "\n".join(summary_lines(res))  # the CLI's end-of-run summary
    assert ("In-sample numbers" in summary) is in_sample
    if evaluate_on == "all":
        html = (out / "report.html").read_text()
        assert "In-sample:" in html and "in-sample numbers:" in html


def test_evaluate_on_train_needs_training_rows(decisions_csv, tmp_path):
    """Decisions audited on every row have no training rows to evaluate."""
    out = tmp_path / "out"
    result = _run(decisions_csv, out, "--evaluate-on", "train", "--resamples", "0")
    assert result.exit_code == 2, result.output
    assert "split.evaluate_on is 'train', but this audit has no training rows" in result.output
    assert not (out / "results.json").exists()


def test_kish_effective_size_by_hand():
    """(Σw)² / Σw², the one effective-size function of weighted intervals."""
    from audit.metrics.performance import effective_size

    assert effective_size(np.array([1.0, 1.0, 2.0])) == pytest.approx(16 / 6, abs=1e-12)
    assert effective_size(np.ones(7)) == pytest.approx(7.0, abs=1e-12)
    assert effective_size(np.zeros(3)) == 0.0
