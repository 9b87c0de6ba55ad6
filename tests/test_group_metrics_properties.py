"""The group-count engine equals fairlearn's MetricFrame on random inputs (hypothesis).

Random labels, decisions, groups (some empty cells, some one-class groups) and
optional weights; every count metric must equal MetricFrame's to 1e-12 where it is
defined, and be undefined (None, with a reason) — never 0 — where its denominator is
empty. fairlearn itself returns 0 there (e.g. TPR of a group without positives), which
the tests check too, to document the one place where rai-audit deliberately differs.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import pytest
from fairlearn import metrics as flm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, precision_score, recall_score

from audit.config import FairnessConfig
from audit.metrics.counts import confusion_table, marginalize, rates
from audit.metrics.fairness import fairness_by_feature
from audit.metrics.groups import encode_sensitive

TOLERANCE = 1e-12
NAN = np.nan
# name -> (reference function (y_true, y_pred, sample_weight=...), complement of)
REFERENCES = {
    "selection_rate": flm.selection_rate,
    "tpr": partial(recall_score, zero_division=NAN),
    "tnr": partial(recall_score, pos_label=0, zero_division=NAN),
    "precision": partial(precision_score, zero_division=NAN),
    "npv": partial(precision_score, pos_label=0, zero_division=NAN),
    "accuracy": accuracy_score,
}
COMPLEMENTS = {"fnr": "tpr", "fpr": "tnr", "fdr": "precision", "for": "npv"}
FAIRLEARN_RATES = {
    "tpr": flm.true_positive_rate,
    "tnr": flm.true_negative_rate,
    "fpr": flm.false_positive_rate,
    "fnr": flm.false_negative_rate,
}
NO_INTERVALS = {"min_group_size": 1, "bootstrap": {"resamples": 0}, "intersections": False}


@st.composite
def audits(draw, weighted: bool = False):
    n = draw(st.integers(2, 120))  # MetricFrame cannot take a single row
    n_groups = draw(st.integers(1, 4))
    groups = draw(st.lists(st.sampled_from("abcd"[:n_groups]), min_size=n, max_size=n))
    # Skewed probabilities make empty cells and one-class groups common.
    p_y = draw(st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0]))
    p_pred = draw(st.sampled_from([0.0, 0.2, 0.5, 0.8, 1.0]))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < p_y).astype(np.int8)
    pred = (rng.random(n) < p_pred).astype(np.int8)
    weights = rng.uniform(0.1, 5.0, n) if weighted else None
    return np.array(groups), y, pred, weights


def measured(groups, y, pred, weights, **settings_):
    config = FairnessConfig.model_validate({**NO_INTERVALS, **settings_})
    frame = pd.DataFrame({"g": groups})
    (entry,) = fairness_by_feature(y, pred, None, frame, config, sample_weight=weights)
    return entry


def check_against_metricframe(groups, y, pred, weights):
    entry = measured(groups, y, pred, weights)
    reported = {g["group"]: g for g in entry["groups"]}
    params = {} if weights is None else {name: {"sample_weight": weights} for name in REFERENCES}
    frame = flm.MetricFrame(
        metrics=REFERENCES, y_true=y, y_pred=pred, sensitive_features=groups, sample_params=params
    ).by_group
    assert set(reported) == set(frame.index)
    for group, expected in frame.iterrows():
        row = reported[group]
        mask = groups == group
        assert row["n"] == int(mask.sum())
        assert row["positives"] == int(y[mask].sum())
        assert row["predicted_positives"] == int(pred[mask].sum())
        for name in REFERENCES:
            _same(row, name, expected[name])
        for name, complement in COMPLEMENTS.items():
            _same(row, name, 1.0 - expected[complement])
        w = np.ones(mask.sum()) if weights is None else weights[mask]
        _same(row, "base_rate", np.average(y[mask], weights=w))
        for name, function in FAIRLEARN_RATES.items():
            fairlearn_value = function(y[mask], pred[mask], sample_weight=w)
            if row[name] is None:
                assert fairlearn_value == 0  # fairlearn reports an undefined rate as 0
            else:
                assert row[name] == pytest.approx(fairlearn_value, abs=TOLERANCE)


def _same(row, name, expected):
    if np.isnan(expected):
        assert row[name] is None, (name, row[name])
        assert row["undefined"][name], f"no reason given for undefined {name}"
    else:
        assert row[name] == pytest.approx(expected, abs=TOLERANCE), name
        assert name not in row["undefined"]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(audits())
def test_count_metrics_equal_metricframe(case):
    check_against_metricframe(*case)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(audits(weighted=True))
def test_weighted_count_metrics_equal_metricframe(case):
    check_against_metricframe(*case)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(audits())
def test_disparities_equal_fairlearn(case):
    groups, y, pred, _ = case
    entry = measured(groups, y, pred, None)
    value = {d["metric"]: d["value"] for d in entry["disparities"]}
    present = np.unique(groups)
    if present.size < 2:
        assert value["demographic_parity_difference"] is None
        return
    kwargs = {"sensitive_features": groups}
    assert value["demographic_parity_difference"] == pytest.approx(
        flm.demographic_parity_difference(y, pred, **kwargs), abs=TOLERANCE
    )
    expected_ratio = flm.demographic_parity_ratio(y, pred, **kwargs)
    if np.isnan(expected_ratio):  # every group selects nobody: 0 / 0
        assert value["demographic_parity_ratio"] is None
    else:
        assert value["demographic_parity_ratio"] == pytest.approx(expected_ratio, abs=TOLERANCE)
    both_classes = all(len(set(y[groups == g])) == 2 for g in present)
    if both_classes:  # where fairlearn's TPR and FPR are defined in every group
        for agg, suffix in (("worst_case", ""), ("mean", "_mean")):
            assert value[f"equalized_odds{suffix}_difference"] == pytest.approx(
                flm.equalized_odds_difference(y, pred, agg=agg, **kwargs), abs=TOLERANCE
            )
            expected = flm.equalized_odds_ratio(y, pred, agg=agg, **kwargs)
            if not np.isnan(expected) and value[f"equalized_odds{suffix}_ratio"] is not None:
                assert value[f"equalized_odds{suffix}_ratio"] == pytest.approx(
                    expected, abs=TOLERANCE
                )
        assert value["equal_opportunity_difference"] == pytest.approx(
            flm.equal_opportunity_difference(y, pred, **kwargs), abs=TOLERANCE
        )


def test_reference_disparities_by_hand():
    # Group sizes 4 (a), 3 (b), 2 (c): a is the largest, so the default reference.
    groups = np.array(list("aaaabbbcc"))
    y = np.array([1, 1, 0, 0, 1, 0, 0, 1, 0], dtype=np.int8)
    pred = np.array([1, 0, 1, 0, 1, 1, 0, 0, 0], dtype=np.int8)
    entry = measured(groups, y, pred, None)
    assert entry["reference_group"] == "a"
    value = {d["metric"]: d["value"] for d in entry["disparities"]}
    # selection rates a 2/4, b 2/3, c 0/2
    assert value["demographic_parity_difference_vs_reference"] == pytest.approx(0.5)
    assert value["demographic_parity_ratio_vs_reference"] == 0.0
    assert value["disparate_impact"] == 0.0  # c: 0 / 0.5
    # TPR a 1/2, b 1/1, c 0/1; FPR a 1/2, b 1/2, c 0/1
    # average odds: b ((0) + (0.5)) / 2 = 0.25, c ((-0.5) + (-0.5)) / 2 = -0.5 -> 0.5
    assert value["average_odds_difference"] == pytest.approx(0.5)
    rows = {g["group"]: g for g in entry["groups"]}
    assert rows["b"]["vs_reference"]["selection_rate"]["difference"] == pytest.approx(2 / 3 - 1 / 2)
    assert rows["b"]["vs_reference"]["selection_rate"]["ratio"] == pytest.approx(4 / 3)
    assert rows["c"]["vs_reference"]["average_odds"]["difference"] == pytest.approx(-0.5)
    assert rows["a"]["reference"] and rows["a"]["vs_reference"] == {}


def test_configured_reference_group():
    groups = np.array(list("aaaabbbcc"))
    y = np.array([1, 1, 0, 0, 1, 0, 0, 1, 0], dtype=np.int8)
    pred = np.array([1, 0, 1, 0, 1, 1, 0, 0, 0], dtype=np.int8)
    entry = measured(groups, y, pred, None, reference_groups={"g": "b"})
    assert entry["reference_group"] == "b"
    assert entry["reference_rule"].startswith("configured")
    value = {d["metric"]: d["value"] for d in entry["disparities"]}
    assert value["disparate_impact"] == 0.0
    assert value["demographic_parity_difference_vs_reference"] == pytest.approx(2 / 3)


@settings(max_examples=40, deadline=None)
@given(audits(), st.integers(1, 7))
def test_chunked_counting_equals_one_pass(case, chunk):
    groups, y, pred, _ = case
    codes = encode_sensitive(pd.DataFrame({"g": groups}), {}, "group")
    one = confusion_table(codes, y, pred)
    chunked = confusion_table(codes, y, pred, chunk_rows=chunk)
    for a, b in zip(one, chunked, strict=True):
        np.testing.assert_array_equal(a, b)
    direct = np.zeros((len(codes.columns[0].labels), 4), dtype=np.int64)
    np.add.at(direct, (codes.columns[0].codes.astype(int), 2 * y + pred), 1)
    present, counts, _ = one
    np.testing.assert_array_equal(counts, direct[present])


def test_intersections_equal_metricframe_with_two_features():
    rng = np.random.default_rng(3)
    n = 500
    sex = rng.choice(["f", "m"], n)
    race = rng.choice(["w", "b", "h"], n, p=[0.6, 0.3, 0.1])
    y = (rng.random(n) < 0.4).astype(np.int8)
    pred = (rng.random(n) < 0.5).astype(np.int8)
    config = FairnessConfig.model_validate({**NO_INTERVALS, "intersections": True})
    entries = fairness_by_feature(y, pred, None, pd.DataFrame({"sex": sex, "race": race}), config)
    assert [e["feature"] for e in entries] == ["sex", "race", "sex × race"]
    assert entries[2]["kind"] == "intersection" and entries[2]["columns"] == ["sex", "race"]
    frame = flm.MetricFrame(
        metrics={"selection_rate": flm.selection_rate, "tpr": flm.true_positive_rate},
        y_true=y,
        y_pred=pred,
        sensitive_features=pd.DataFrame({"sex": sex, "race": race}),
    ).by_group
    reported = {g["group"]: g for g in entries[2]["groups"]}
    assert len(reported) == len(frame) == 6
    for (s, r), expected in frame.iterrows():
        row = reported[f"{s} × {r}"]
        assert row["selection_rate"] == pytest.approx(expected["selection_rate"], abs=TOLERANCE)
        assert row["tpr"] == pytest.approx(expected["tpr"], abs=TOLERANCE)
    value = {d["metric"]: d["value"] for d in entries[2]["disparities"]}
    assert value["demographic_parity_difference"] == pytest.approx(
        flm.demographic_parity_difference(
            y, pred, sensitive_features=pd.DataFrame({"sex": sex, "race": race})
        ),
        abs=TOLERANCE,
    )


def test_marginalizing_counts_is_exact_and_batched():
    rng = np.random.default_rng(0)
    table = rng.integers(0, 50, size=(7, 5, 4))
    fine_map = np.array([2, 0, 1, 0, 2])
    out = marginalize(table, fine_map, 3)
    assert out.dtype == table.dtype
    for g in range(3):
        np.testing.assert_array_equal(out[:, g], table[:, fine_map == g].sum(axis=1))
    batch = rates(out)
    single = rates(out[3])
    np.testing.assert_array_equal(batch["tpr"][3], single["tpr"])
