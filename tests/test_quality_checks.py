"""Each data-quality check fires on a small frame built to trigger it, with hand-counted
evidence, and stays silent on clean data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli
from scipy.stats import chi2_contingency, f_oneway
from scipy.stats.contingency import association
from sklearn.metrics import roc_auc_score

from audit.config import QualityConfig
from audit.metrics.association import correlation_ratio
from audit.quality import split
from audit.quality.findings import QualityInput
from audit.quality.runner import run_checks
from audit.vocabulary.checks import CHECKS, SPLIT_CHECKS

N = 400


def clean_frame(seed: int = 1) -> pd.DataFrame:
    """400 rows without defects: two equal groups with equal base rates, normal numbers,
    a well-populated category, a label that depends moderately on x1."""
    rng = np.random.default_rng(seed)
    g = np.repeat(["a", "b"], N // 2)
    x1 = rng.normal(0, 1, N)
    x2 = rng.normal(5, 2, N)
    c = rng.choice(["p", "q", "r", "s"], N)
    # Within each group, the 50 % of rows with the largest x1 + noise are positive:
    # the base rate is exactly 0.5 in both groups.
    y = np.zeros(N, dtype=int)
    noisy = x1 + rng.normal(0, 1.5, N)
    for group in ("a", "b"):
        rows = np.flatnonzero(g == group)
        y[rows[np.argsort(noisy[rows])[N // 4 :]]] = 1
    return pd.DataFrame({"g": g, "x1": x1, "x2": x2, "c": c, "y": y})


def make_input(
    frame: pd.DataFrame,
    *,
    sensitive=("g",),
    features=None,
    split_rows: bool | tuple = True,
    raw_text=None,
    trains_model=True,
    task="classification",
    **settings,
) -> QualityInput:
    frame = frame.reset_index(drop=True)
    if features is None:
        features = [c for c in frame.columns if c not in ("y", *sensitive)]
    train = test = None
    if isinstance(split_rows, tuple):
        train, test = (np.asarray(r) for r in split_rows)
    elif split_rows:
        rows = np.random.default_rng(0).permutation(len(frame))
        cut = int(0.7 * len(frame))
        train, test = np.sort(rows[:cut]), np.sort(rows[cut:])
    return QualityInput(
        frame=frame,
        target="y",
        y=frame["y"].to_numpy(),
        features=list(features),
        sensitive=list(sensitive),
        settings=QualityConfig(**settings),
        raw_text=raw_text,
        train_rows=train,
        test_rows=test,
        trains_model=trains_model,
        task=task,
    )


def findings_of(inp: QualityInput, check: str) -> list[dict]:
    return [f for f in run_checks(inp)["findings"] if f["check"] == check]


def only(inp: QualityInput, check: str) -> dict:
    found = findings_of(inp, check)
    assert len(found) == 1, found
    return found[0]


def test_clean_data_gives_no_findings_and_every_check_runs():
    report = run_checks(make_input(clean_frame()))
    assert report["findings"] == []
    assert report["counts"] == {"error": 0, "warning": 0, "info": 0}
    assert [c["id"] for c in report["checks"]] == list(CHECKS)
    assert {c["status"] for c in report["checks"]} == {"ran"}
    # Every check states its rule with this run's thresholds.
    rules = {c["id"]: c["rule"] for c in report["checks"]}
    assert "30 rows" in rules["representation"] and "5%" in rules["representation"]
    assert "0.99" in rules["leakage"]


def test_missing_values_by_severity():
    frame = clean_frame()
    frame.loc[:39, "x1"] = np.nan  # 40 of 400 = 10 %: warning
    frame.loc[:0, "x2"] = np.nan  # 1 of 400 = 0.25 %: info
    frame.loc[:239, "g"] = None  # 240 of 400 = 60 % of a sensitive column: error
    found = {f["subject"]: f for f in findings_of(make_input(frame), "missing_values")}
    assert found["x1"]["severity"] == "warning"
    assert found["x1"]["evidence"]["missing"] == 40
    assert found["x1"]["evidence"]["share"] == pytest.approx(0.1)
    assert found["x2"]["severity"] == "info"
    assert found["g"]["severity"] == "error"
    assert found["g"]["evidence"]["missing"] == 240


def test_missing_by_group_gap():
    frame = clean_frame()
    a_rows = frame.index[frame["g"] == "a"][:60]  # 60 of 200 rows of group a: 30 %
    frame.loc[a_rows, "x2"] = np.nan
    finding = only(make_input(frame), "missing_by_group")
    assert finding["subject"] == "x2 by g"
    assert finding["evidence"]["shares"] == {"a": pytest.approx(0.3), "b": 0.0}
    assert finding["evidence"]["gap"] == pytest.approx(0.3)
    assert finding["severity"] == "warning"


def test_null_markers_kept_as_values_and_mixed_spellings():
    frame = clean_frame()
    frame["c"] = frame["c"].astype(object)
    frame.loc[:4, "c"] = "?"  # five '?' kept as a category
    frame["n"] = [str(v) for v in np.arange(N)]
    frame.loc[:2, "n"] = " n/a "  # a numeric column made text by a marker
    raw = frame.astype(str)
    raw.loc[5:6, "x2"] = ""  # the file spelled missing x2 both as '' and 'NA'
    raw.loc[7:9, "x2"] = "NA"
    frame.loc[5:9, "x2"] = np.nan
    found = {f["subject"]: f for f in findings_of(make_input(frame, raw_text=raw), "null_markers")}
    assert found["c"]["evidence"]["kept_as_values"] == {"?": 5}
    assert found["n"]["evidence"]["kept_as_values"] == {" n/a ": 3}
    assert found["n"]["evidence"]["numeric_without_markers"] is True
    assert found["x2"]["evidence"]["spellings"] == {"": 2, "NA": 3}
    assert found["x2"]["evidence"]["kept_as_values"] == {}
    assert "2 ways" in found["x2"]["message"]
    # One spelling the reader already turned into NaN is plain missing data: silent here.
    frame = clean_frame()
    raw = frame.astype(str)
    raw.loc[:3, "x1"] = ""
    frame.loc[:3, "x1"] = np.nan
    assert findings_of(make_input(frame, raw_text=raw), "null_markers") == []


def test_duplicate_rows_and_repeated_ids():
    frame = clean_frame()
    frame["cid"] = np.arange(N) + 1000
    frame = pd.concat([frame, frame.iloc[:10]], ignore_index=True)  # 10 exact copies
    changed = frame.iloc[[20, 21]].copy()
    changed["x2"] += 1.0  # same ids as rows 20 and 21, different records
    frame = pd.concat([frame, changed], ignore_index=True)
    found = {
        f["subject"]: f
        for f in findings_of(make_input(frame, features=["x1", "x2", "c"]), "duplicates")
    }
    assert found["rows"]["evidence"]["duplicate_rows"] == 10
    assert found["rows"]["evidence"]["rows_involved"] == 20
    assert found["rows"]["severity"] == "warning"  # 10 / 412 > 0.1 %
    ids = found["cid"]["evidence"]
    assert ids["repeated_values"] == 12 and ids["rows_involved"] == 24
    assert ids["values_with_differing_records"] == 2
    assert found["cid"]["severity"] == "warning"


def test_duplicate_rows_of_decisions_already_made_are_information():
    """A predictions-only audit trains nothing: copies of (group, score, label) rows are
    noted without the warning about training (the teaching score data is 52% such copies)."""
    frame = clean_frame()
    frame = pd.concat([frame, frame.iloc[:50]], ignore_index=True)
    found = findings_of(make_input(frame, split_rows=False, trains_model=False), "duplicates")
    rows = next(f for f in found if f["subject"] == "rows")
    assert rows["evidence"]["duplicate_rows"] == 50
    assert rows["severity"] == "info"
    assert "training" not in rows["message"] and "trains nothing" in rows["message"]


def test_conflicting_labels():
    frame = clean_frame()
    twin = frame.iloc[[3, 8]].copy()
    twin["y"] = 1 - twin["y"]  # same inputs, the other label
    frame = pd.concat([frame, twin], ignore_index=True)
    finding = only(make_input(frame), "conflicting_labels")
    assert finding["evidence"]["rows"] == 4
    assert finding["evidence"]["input_sets"] == 2
    assert finding["severity"] == "info"  # 4 / 402 < 1 %


def test_constant_and_near_constant_columns():
    frame = clean_frame()
    frame["k"] = 7
    frame["rare"] = ["x"] * 398 + ["y"] * 2  # 99.5 % one value
    frame["unused"] = "same"
    inp = make_input(frame, features=["x1", "x2", "c", "k", "rare"])
    found = {f["subject"]: f for f in findings_of(inp, "constant_columns")}
    assert set(found) == {"k", "rare", "unused"}
    assert found["k"]["severity"] == "warning"  # a model input
    assert found["unused"]["severity"] == "info"  # not used
    assert found["rare"]["severity"] == "info"
    assert found["rare"]["evidence"]["top_share"] == pytest.approx(0.995)


@pytest.mark.parametrize(
    ("name", "values", "as_feature", "severity"),
    [
        ("record", lambda: np.arange(N) + 10_000, True, "warning"),
        ("record", lambda: np.arange(N) + 10_000, False, "info"),
        ("code", lambda: [f"K{i:05d}" for i in range(N)], True, "warning"),
        ("customer_id", lambda: np.arange(N) // 2, False, "info"),  # id-like name, 50 % distinct
        # Distinct whole numbers that run like a counter: consecutive in any order, or sorted.
        ("row", lambda: np.random.default_rng(5).permutation(N) + 1, True, "warning"),
        ("ticket", lambda: np.arange(N) * 97 + 10_000, True, "warning"),
    ],
)
def test_identifier_like_columns(name, values, as_feature, severity):
    frame = clean_frame()
    frame[name] = values()
    features = ["x1", "x2", "c"] + ([name] if as_feature else [])
    finding = only(make_input(frame, features=features), "id_like")
    assert finding["subject"] == name and finding["severity"] == severity
    assert finding["evidence"]["distinct"] == frame[name].nunique()


@pytest.mark.parametrize(
    "values",
    [
        # Distinct whole-dollar incomes in file order: a measurement, not an identifier.
        lambda: np.random.default_rng(2).choice(np.arange(8_000, 250_000), N, replace=False),
        lambda: np.round(np.random.default_rng(2).lognormal(10, 1, N)).astype(int),
    ],
)
def test_distinct_measurements_are_not_identifiers(values):
    frame = clean_frame()
    frame["income"] = values()
    assert frame["income"].nunique() >= 0.95 * N  # what the old rule flagged
    report = run_checks(make_input(frame))
    assert not [f for f in report["findings"] if f["check"] in ("id_like", "duplicates")]


def test_demo_incomes_are_not_identifiers_but_its_applicant_ids_are():
    """The issue's case: the credit scenario's whole-dollar incomes on 6,000 rows (96 %
    distinct) were called an identifier and repeated 'ids' reported as duplicates."""
    from audit.datasets import make_scenario

    frame = make_scenario("credit", n_rows=6000, bias=1.0, seed=0)
    inp = QualityInput(
        frame=frame,
        target="approved",
        y=frame["approved"].to_numpy(),
        features=[c for c in frame.columns if c not in ("approved", "sex", "race")],
        sensitive=["sex", "race"],
    )
    found = {f["id"] for f in run_checks(inp)["findings"]}
    assert frame["income"].nunique() >= 0.95 * frame["income"].notna().sum()
    assert "id_like:applicant_id" in found
    assert not {"id_like:income", "duplicates:income"} & found


def test_sentinel_codes_apart_from_the_other_values():
    frame = clean_frame()
    rng = np.random.default_rng(4)
    frame["gain"] = np.where(np.arange(N) % 40 == 0, 99999, rng.integers(0, 40_000, N))
    frame["recid"] = np.resize([0, 1, 1, -1], N)  # -1 = unknown, beside 0/1
    frame["days"] = np.resize([-1, 0, 3, 250, 900], N)  # -1 is one day before: a value
    frame["hours"] = np.resize(np.arange(1, 100), N)  # 99 next to 98: a value
    found = {f["subject"]: f for f in findings_of(make_input(frame), "sentinel_codes")}
    assert set(found) == {"gain=99999", "recid=-1"}
    gain = found["gain=99999"]["evidence"]
    assert gain["rows"] == 10 and gain["share"] == pytest.approx(10 / N)
    assert gain["others_max"] == frame.loc[frame["gain"] != 99999, "gain"].max()
    assert found["gain=99999"]["severity"] == "warning"  # a model input


def test_high_cardinality_categorical():
    frame = clean_frame()
    frame["town"] = [f"t{i % 80}" for i in range(N)]  # 80 categories, 5 rows each
    finding = only(make_input(frame), "high_cardinality")
    assert finding["subject"] == "town"
    assert finding["evidence"]["distinct"] == 80
    assert finding["severity"] == "warning"
    assert findings_of(make_input(frame, max_categories=100), "high_cardinality") == []


def test_outliers_by_the_robust_rule():
    frame = clean_frame()
    x = frame["x2"].to_numpy()
    median = np.median(x)
    robust_sd = np.median(np.abs(x - median)) / 0.6745
    frame.loc[:7, "x2"] = median + 10 * robust_sd  # 8 of 400 = 2 %, |z| = 10: info
    finding = only(make_input(frame), "outliers")
    assert finding["severity"] == "info"
    # Recount by hand on the modified column with the rule stated in the report.
    z = (
        0.6745
        * (frame["x2"] - frame["x2"].median())
        / (frame["x2"] - frame["x2"].median()).abs().median()
    )
    assert finding["evidence"]["outliers"] == int((z.abs() > 3.5).sum()) >= 8
    frame.loc[0, "x2"] = median + 1000 * robust_sd  # one entry error: warning
    assert only(make_input(frame), "outliers")["severity"] == "warning"


def test_outliers_fall_back_to_mean_absolute_deviation_when_mad_is_zero():
    frame = clean_frame()
    frame["count"] = 0
    frame.loc[:149, "count"] = np.arange(150) % 12 + 1  # 250 zeros: MAD = 0
    frame.loc[0, "count"] = 10_000
    finding = only(make_input(frame), "outliers")
    assert "mean absolute deviation" in finding["evidence"]["scale_rule"]
    assert finding["evidence"]["max"] == 10_000 and finding["severity"] == "warning"


def test_label_imbalance():
    frame = clean_frame()
    frame["y"] = 0
    frame.loc[frame.index[::20], "y"] = 1  # 20 of 400 = 5 % positive
    finding = only(make_input(frame), "label_imbalance")
    assert finding["evidence"]["positives"] == 20
    assert finding["evidence"]["minority_share"] == pytest.approx(0.05)


def test_representation_flags_small_and_absent_groups():
    frame = clean_frame()
    frame.loc[:11, "g"] = "c"  # 12 rows: under 30 rows and under 5 %
    frame["s"] = np.where(frame["g"] == "c", "u", np.tile(["u", "v"], N // 2))
    report = run_checks(make_input(frame, sensitive=("g", "s")))
    found = {f["subject"]: f for f in report["findings"] if f["check"] == "representation"}
    assert [g["group"] for g in found["g"]["evidence"]["small_groups"]] == ["c"]
    assert found["g"]["evidence"]["small_groups"][0]["n"] == 12
    small = {g["group"]: g["n"] for g in found["g × s"]["evidence"]["small_groups"]}
    assert small == {"c × u": 12, "c × v": 0}  # c × v never occurs
    # The table counts every group, checked against pandas.
    table = next(t for t in report["tables"]["representation"] if t["name"] == "g")
    counts = frame["g"].value_counts()
    assert {g["group"]: g["n"] for g in table["groups"]} == counts.to_dict()


def test_base_rate_gap_and_single_outcome_groups():
    frame = clean_frame()
    b = frame.index[frame["g"] == "b"]
    frame.loc[b, "y"] = (np.arange(len(b)) < 40).astype(int)  # group b: 40 / 200 = 20 %
    frame.loc[:14, "g"] = "c"
    frame.loc[:14, "y"] = 1  # group c: 15 rows, all positive
    finding = only(make_input(frame), "base_rate")
    rates = frame.groupby("g")["y"].mean()
    assert finding["evidence"]["base_rates"] == pytest.approx(rates.to_dict())
    # Group c (15 rows) is left out of the gap; the gap is a − b.
    assert finding["evidence"]["gap"] == pytest.approx(rates["a"] - rates["b"])
    assert finding["evidence"]["single_outcome_groups"] == ["c"]
    assert finding["evidence"]["excluded_small_groups"] == ["c"]


def test_leakage_is_an_error_and_matches_sklearn_auc():
    frame = clean_frame()
    frame["leak"] = frame["y"] * 3.0 + np.random.default_rng(5).normal(0, 0.1, N)
    finding = only(make_input(frame), "leakage")
    assert finding["severity"] == "error"
    assert finding["evidence"]["auc"] == pytest.approx(roc_auc_score(frame["y"], frame["leak"]))
    # The same leak in a predictions-only audit, or in tiny data, is only a warning.
    assert only(make_input(frame, trains_model=False), "leakage")["severity"] == "warning"
    tiny = frame.groupby("y").head(10)
    tiny_finding = only(make_input(tiny, split_rows=False), "leakage")
    assert tiny_finding["severity"] == "warning" and "by chance" in tiny_finding["message"]


def test_leakage_through_missingness_and_categories():
    frame = clean_frame()
    frame["closed_at"] = np.where(frame["y"] == 1, 1.0, np.nan)  # set only for positives
    frame["outcome_code"] = np.where(frame["y"] == 1, "A", "B")
    found = {f["subject"]: f for f in findings_of(make_input(frame), "leakage")}
    assert found["closed_at"]["evidence"]["auc"] == pytest.approx(1.0)
    assert found["outcome_code"]["evidence"]["auc"] == pytest.approx(1.0)


def test_regression_leakage_by_correlation():
    """A numeric target: leakage by |Spearman| or a correlation ratio, checked against scipy;
    the outcome checks (imbalance, base rates, conflicting labels) are skipped with a reason."""
    from scipy.stats import spearmanr

    frame = clean_frame()
    rng = np.random.default_rng(6)
    frame["y"] = frame["x1"] * 10 + rng.normal(0, 5, N)
    frame["copy"] = np.exp(frame["y"] / 10)  # a monotone function of the target
    frame["band"] = pd.cut(frame["y"], 8).astype(str)  # the target in bands
    report = run_checks(make_input(frame, task="regression"))
    table = {r["column"]: r for r in report["tables"]["single_feature_correlation"]}
    for column in ("x1", "x2"):  # the better of |Spearman| and the ratio over 8 quantile bins
        rho = abs(spearmanr(frame[column], frame["y"])[0])
        bins = pd.qcut(frame[column], 8, labels=False)
        eta = correlation_ratio(frame["y"].to_numpy(), bins.to_numpy(), bias_corrected=True)[0]
        assert table[column]["correlation"] == pytest.approx(max(rho, eta))
    assert 0.7 < table["x1"]["correlation"] < 0.95 and table["x2"]["correlation"] < 0.3
    assert table["copy"]["correlation"] == pytest.approx(1.0)
    assert table["band"]["correlation"] == pytest.approx(
        correlation_ratio(frame["y"].to_numpy(), frame["band"].to_numpy(), bias_corrected=True)[0]
    )
    leaks = {f["subject"]: f for f in report["findings"] if f["check"] == "leakage"}
    assert set(leaks) == {"copy", "band"} and leaks["copy"]["severity"] == "error"
    status = {c["id"]: c for c in report["checks"]}
    for check in ("label_imbalance", "base_rate", "conflicting_labels"):
        assert status[check]["status"] == "skipped", check
    assert all(
        g["positives"] is None for t in report["tables"]["representation"] for g in t["groups"]
    )


def test_column_roles():
    from audit.data import column_role

    roles = dict(target="y", sensitive=["sex", "race"], features=["age", "race"])
    roles.update(prediction="decision", score=None, weight="w")
    assert {
        c: column_role(c, **roles) for c in ["y", "sex", "race", "age", "decision", "w", "x"]
    } == {
        "y": "target",
        "sex": "sensitive",
        "race": "sensitive + feature",
        "age": "feature",
        "decision": "prediction",
        "w": "weight",
        "x": "not used",
    }
    assert column_role("s", target="y", sensitive=[], features=[], score="s") == "score"


def test_proxy_association_and_cramers_v():
    frame = clean_frame()
    rng = np.random.default_rng(3)
    keep = rng.random(N) < 0.8
    frame["area"] = np.where(keep, np.where(frame["g"] == "a", "north", "south"), "east")
    finding = only(make_input(frame), "proxy_association")
    assert finding["subject"] == "area ~ g"
    # scipy's Cramér's V and chi-square test on the same table: the one proxy detector.
    table = pd.crosstab(frame["area"], frame["g"]).to_numpy()
    assert finding["evidence"]["value"] == pytest.approx(association(table, method="cramer"))
    assert finding["evidence"]["p_value"] == pytest.approx(
        chi2_contingency(table, correction=False)[1]
    )


def test_correlation_ratio_against_a_hand_computation():
    values = np.array([1.0, 2.0, 3.0, 7.0, 8.0, 9.0, 4.0, 5.0, 6.0])
    labels = np.array(list("aaabbbccc"))
    # Group means 2, 8, 5; grand mean 5: SS_between = 3 * (9 + 9 + 0) = 54;
    # SS_within = 3 * 2 = 6; SS_total = 60: eta² = 54 / 60;
    # bias-corrected epsilon² = (54 − 2 * 6 / 6) / 60 = 52 / 60.
    eta, p_value = correlation_ratio(values, labels)
    assert eta == pytest.approx(np.sqrt(54 / 60))
    assert p_value == pytest.approx(f_oneway(values[:3], values[3:6], values[6:]).pvalue)
    assert correlation_ratio(values, labels, bias_corrected=True)[0] == pytest.approx(
        np.sqrt(52 / 60)
    )


def test_unseen_categories():
    frame = clean_frame()
    frame.loc[[1, 2, 3], "c"] = "zz"
    rows = np.arange(N)
    test = np.array([1, 2, 3, *range(300, 400)])
    train = np.setdiff1d(rows, test)
    finding = only(make_input(frame, split_rows=(train, test)), "unseen_categories")
    assert finding["evidence"]["unseen"] == {"zz": 3}
    assert finding["evidence"]["test_rows_affected"] == 3
    assert finding["severity"] == "warning"  # 3 / 103 test rows ≥ 1 %


def test_distribution_shift_and_psi_by_hand():
    assert split.psi(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1])) == pytest.approx(
        0.25 * np.log(2) + 0.25 * np.log(1.5)
    )
    frame = clean_frame()
    rows = np.random.default_rng(0).permutation(N)
    train, test = np.sort(rows[:280]), np.sort(rows[280:])
    frame.loc[test, "x1"] += 2.0  # test rows shifted by two standard deviations
    finding = only(make_input(frame, split_rows=(train, test)), "distribution_shift")
    assert finding["subject"] == "x1" and finding["severity"] == "warning"
    assert finding["evidence"]["psi"] > 1.0


def test_train_test_overlap_warning_and_error():
    frame = clean_frame()
    train = np.arange(300)
    test = np.arange(300, 400)
    frame.loc[300:309, ["x1", "x2", "c", "y"]] = frame.loc[0:9, ["x1", "x2", "c", "y"]].to_numpy()
    finding = only(make_input(frame, split_rows=(train, test)), "train_test_overlap")
    assert finding["evidence"]["test_rows_copied"] == 10 and finding["severity"] == "warning"
    frame.loc[300:399, ["x1", "x2", "c", "y"]] = frame.loc[0:99, ["x1", "x2", "c", "y"]].to_numpy()
    finding = only(make_input(frame, split_rows=(train, test)), "train_test_overlap")
    assert finding["evidence"]["share"] == 1.0 and finding["severity"] == "error"


def test_split_checks_are_skipped_without_a_split():
    report = run_checks(make_input(clean_frame(), split_rows=False))
    skipped = {c["id"]: c["reason"] for c in report["checks"] if c["status"] == "skipped"}
    assert set(skipped) == set(SPLIT_CHECKS)
    assert all("no model was trained" in reason for reason in skipped.values())


def test_severity_override_and_disable():
    frame = clean_frame()
    frame["record"] = np.arange(N)
    inp = make_input(frame, severity={"id_like": "error"}, disable=["outliers"])
    report = run_checks(inp)
    finding = next(f for f in report["findings"] if f["check"] == "id_like")
    assert finding["severity"] == "error"
    assert finding["evidence"]["severity_by_rule"] == "warning"
    assert next(c for c in report["checks"] if c["id"] == "outliers")["status"] == "disabled"
    assert report["findings"][0]["severity"] == "error"  # most severe first


def test_unknown_check_in_config_is_rejected():
    with pytest.raises(ValueError, match="unknown data-quality check"):
        QualityConfig(disable=["outlier"])


def test_dates_stored_as_text_are_not_identifiers():
    frame = clean_frame()
    days = pd.date_range("2013-01-01", periods=N, freq="D")
    frame["screened"] = days.strftime("%Y-%m-%d %H:%M:%S")
    report = run_checks(make_input(frame))
    assert [f for f in report["findings"] if f["check"] == "id_like"] == []
    finding = next(f for f in report["findings"] if f["check"] == "high_cardinality")
    assert finding["subject"] == "screened" and finding["evidence"]["dates_as_text"] is True
    assert "the values are dates" in finding["message"]


def test_predictions_only_audit_has_no_model_inputs():
    frame = clean_frame()
    frame["record"] = np.arange(N)
    finding = only(make_input(frame, split_rows=False, trains_model=False), "id_like")
    assert finding["severity"] == "info"
    assert "predictions-only audit fits no model" in finding["message"]


def test_datetime_columns_and_odd_values_give_json_ready_evidence(tmp_path):
    frame = clean_frame()
    frame["seen"] = pd.date_range("2020-01-01", periods=N, freq="h")
    frame["flag"] = pd.Timestamp("2021-05-01")  # a constant timestamp column
    frame.to_parquet(tmp_path / "d.parquet")
    out = tmp_path / "out"
    result = run_cli(
        "run",
        "--data",
        tmp_path / "d.parquet",
        "--target",
        "y",
        "--sensitive",
        "g",
        "--model",
        "logistic_regression",
        "--mitigate",
        "none",
        "--out",
        out,
        "--format",
        "json",
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    found = {
        f["id"]: f for f in json.loads((out / "results.json").read_text())["quality"]["findings"]
    }
    assert "id_like:seen" not in found
    assert found["constant_columns:flag"]["evidence"]["distinct"] == 1
