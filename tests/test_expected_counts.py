"""Expected counts of a randomized classifier: the count engine given P(pred = 1) per row.

The reference is fairlearn's MetricFrame and scikit-learn given every row twice, decided
positive with weight p and negative with weight 1 - p (times the row's own weight). The
bootstrap of the fractional table is checked against a direct simulation of what its
docstring claims it is: resampling rows *and* drawing each resampled row's decision.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import pytest
from fairlearn import metrics as flm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from audit.config import FairnessConfig, build_config
from audit.metrics import counts as count_engine
from audit.metrics import measure
from audit.metrics.bootstrap import multinomial_tables
from audit.metrics.counts import confusion_table
from audit.metrics.fairness import fairness_by_feature
from audit.metrics.groups import encode_sensitive

TOLERANCE = 1e-12
NAN = np.nan
REFERENCES = {
    "selection_rate": flm.selection_rate,
    "tpr": partial(skm.recall_score, zero_division=NAN),
    "tnr": partial(skm.recall_score, pos_label=0, zero_division=NAN),
    "precision": partial(skm.precision_score, zero_division=NAN),
    "npv": partial(skm.precision_score, pos_label=0, zero_division=NAN),
    "accuracy": skm.accuracy_score,
}
COMPLEMENTS = {"fnr": "tpr", "fpr": "tnr", "fdr": "precision", "for": "npv"}
NO_INTERVALS = {"min_group_size": 1, "bootstrap": {"resamples": 0}, "intersections": False}


def duplicated(y, probability, weights=None):
    """Every row twice: (y, 1) with weight w p and (y, 0) with weight w (1 - p)."""
    n = len(y)
    base = np.ones(n) if weights is None else weights
    return (
        np.concatenate([y, y]),
        np.repeat(np.array([1, 0], dtype=np.int8), n),
        np.concatenate([base * probability, base * (1 - probability)]),
    )


@st.composite
def randomized_audits(draw, weighted: bool = False):
    n = draw(st.integers(2, 120))
    n_groups = draw(st.integers(1, 4))
    groups = np.array(draw(st.lists(st.sampled_from("abcd"[:n_groups]), min_size=n, max_size=n)))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < draw(st.sampled_from([0.0, 0.3, 0.7, 1.0]))).astype(np.int8)
    # Certain decisions (0 and 1) mixed with lotteries, as a threshold optimizer makes them.
    certain = draw(st.sampled_from([0.0, 0.5, 1.0]))
    probability = np.where(
        rng.random(n) < certain, rng.integers(0, 2, n).astype(float), rng.random(n)
    )
    weights = rng.uniform(0.1, 5.0, n) if weighted else None
    return groups, y, probability, weights


def check_against_duplicated_rows(groups, y, probability, weights):
    config = FairnessConfig.model_validate(NO_INTERVALS)
    (entry,) = fairness_by_feature(
        y,
        None,
        None,
        pd.DataFrame({"g": groups}),
        config,
        sample_weight=weights,
        decision_probability=probability,
    )
    y2, pred2, w2 = duplicated(y, probability, weights)
    frame = flm.MetricFrame(
        metrics=REFERENCES,
        y_true=y2,
        y_pred=pred2,
        sensitive_features=np.concatenate([groups, groups]),
        sample_params={name: {"sample_weight": w2} for name in REFERENCES},
    ).by_group
    reported = {row["group"]: row for row in entry["groups"]}
    assert set(reported) == set(frame.index)
    for group, expected in frame.iterrows():
        row, mask = reported[group], groups == group
        # Whole rows stay whole; the expected number of positive decisions is a sum of p.
        assert row["n"] == int(mask.sum())
        assert row["positives"] == int(y[mask].sum())
        assert row["predicted_positives"] == pytest.approx(probability[mask].sum(), abs=1e-9)
        for name, value in expected.items():
            _same(row, name, value)
        for name, complement in COMPLEMENTS.items():
            _same(row, name, 1.0 - expected[complement])


def _same(row, name, expected):
    if np.isnan(expected):
        assert row[name] is None, (name, row[name])
    else:
        assert row[name] == pytest.approx(expected, abs=TOLERANCE), name


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(randomized_audits())
def test_expected_counts_equal_metricframe_on_duplicated_rows(case):
    check_against_duplicated_rows(*case)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(randomized_audits(weighted=True))
def test_weighted_expected_counts_equal_metricframe_on_duplicated_rows(case):
    check_against_duplicated_rows(*case)


@settings(max_examples=30, deadline=None)
@given(randomized_audits(), st.integers(1, 7))
def test_chunked_and_sparse_tables_equal_one_dense_pass(case, chunk):
    groups, y, probability, _ = case
    codes = encode_sensitive(pd.DataFrame({"g": groups}), {}, "group")
    present, table, _ = confusion_table(codes, y, None, decision_probability=probability)
    chunked = confusion_table(codes, y, None, chunk_rows=chunk, decision_probability=probability)
    np.testing.assert_array_equal(chunked[0], present)
    np.testing.assert_allclose(chunked[1], table, rtol=0, atol=TOLERANCE)
    sparse = count_engine._sparse_table(codes, y, None, None, probability)
    np.testing.assert_array_equal(sparse[0], present)
    np.testing.assert_allclose(sparse[1], table, rtol=0, atol=TOLERANCE)
    # Each label's two cells add up to exactly its rows (exact, by construction).
    negatives = np.array([np.sum((groups == g) & (y == 0)) for g in np.unique(groups)])
    positives = np.array([np.sum((groups == g) & (y == 1)) for g in np.unique(groups)])
    np.testing.assert_array_equal(table[:, 0] + table[:, 1], negatives)
    np.testing.assert_array_equal(table[:, 2] + table[:, 3], positives)


def test_certain_decisions_give_exactly_the_decisions_own_audit():
    """Probabilities of 0 and 1 are decisions: same values, same intervals (same draws)."""
    rng = np.random.default_rng(4)
    n = 1500
    frame = pd.DataFrame({"sex": rng.choice(["f", "m"], n), "race": rng.choice(list("abc"), n)})
    y = (rng.random(n) < 0.4).astype(np.int8)
    pred = (rng.random(n) < 0.5).astype(np.int8)
    config = build_config(None, {"fairness": {"bootstrap": {"resamples": 200}}})
    as_made = measure(y, pred, None, frame, config.fairness, config.policy)
    expected = measure(
        y,
        None,
        None,
        frame,
        config.fairness,
        config.policy,
        decision_probability=pred.astype(float),
    )
    for one, other in zip(as_made["fairness"], expected["fairness"], strict=True):
        for a, b in zip(one["disparities"], other["disparities"], strict=True):
            assert a["value"] == pytest.approx(b["value"], abs=TOLERANCE)
            assert a["ci"] == pytest.approx(b["ci"], abs=TOLERANCE)
    assert expected["performance"]["accuracy"] == pytest.approx(
        as_made["performance"]["accuracy"], abs=TOLERANCE
    )
    assert expected["settings"]["decisions"] == "expected"
    assert as_made["settings"]["decisions"] == "as made"


def test_overall_performance_is_the_expected_table_s():
    rng = np.random.default_rng(5)
    n = 800
    y = (rng.random(n) < 0.45).astype(np.int8)
    probability = np.clip(rng.normal(0.5, 0.3, n), 0, 1)
    scores = rng.random(n)
    weights = rng.uniform(0.5, 2.0, n)
    config = build_config(None, {"fairness": {"bootstrap": {"resamples": 0}}})
    sensitive = pd.DataFrame({"g": rng.choice(["a", "b"], n)})
    performance = measure(
        y,
        None,
        scores,
        sensitive,
        config.fairness,
        config.policy,
        sample_weight=weights,
        decision_probability=probability,
    )["performance"]
    y2, pred2, w2 = duplicated(y, probability, weights)
    for name, function in {
        "accuracy": skm.accuracy_score,
        "balanced_accuracy": skm.balanced_accuracy_score,
        "precision": skm.precision_score,
        "recall": skm.recall_score,
        "f1": skm.f1_score,
    }.items():
        assert performance[name] == pytest.approx(function(y2, pred2, sample_weight=w2), abs=1e-12)
    # ROC AUC of the scores is unchanged by splitting each row's weight in two.
    assert performance["roc_auc"] == pytest.approx(
        skm.roc_auc_score(y, scores, sample_weight=weights), abs=1e-12
    )
    # The confusion matrix holds expected rows (not weights): tp = sum of p over y = 1.
    assert performance["confusion_matrix"]["tp"] == pytest.approx(probability[y == 1].sum())
    assert performance["confusion_matrix"]["fn"] == pytest.approx((1 - probability[y == 1]).sum())
    assert performance["n"] == n and performance["decisions"] == "expected"


def test_resampling_the_expected_table_is_resampling_rows_and_drawing_decisions():
    """What the multinomial bootstrap of a fractional table simulates (its docstring): the
    selection count of a resample of n rows whose decisions are then drawn. Checked
    against that simulation directly: same mean, same spread (within sampling error)."""
    rng = np.random.default_rng(6)
    n, resamples = 400, 4000
    y = (rng.random(n) < 0.5).astype(np.int8)
    probability = rng.choice([0.0, 1.0, 0.3, 0.8], n)
    codes = encode_sensitive(pd.DataFrame({"g": ["a"] * n}), {}, "group")
    _, table, _ = confusion_table(codes, y, None, decision_probability=probability)
    drawn = np.concatenate(list(multinomial_tables(table, resamples, np.random.default_rng(1))))
    by_table = drawn[:, 0, 1] + drawn[:, 0, 3]  # fp + tp: selected
    rows = rng.integers(0, n, size=(resamples, n))
    by_simulation = (rng.random((resamples, n)) < probability[rows]).sum(axis=1)
    # Means agree to 4 standard errors; standard deviations to 10% (4000 resamples each).
    error = by_simulation.std() / np.sqrt(resamples)
    assert by_table.mean() == pytest.approx(by_simulation.mean(), abs=4 * np.sqrt(2) * error)
    assert by_table.std() == pytest.approx(by_simulation.std(), rel=0.1)
    # ... and wider than resampling the rows' expected decisions alone (the lottery's share).
    expected_only = probability[rows].sum(axis=1)
    assert by_table.std() > 1.2 * expected_only.std()


def test_weighted_resamples_draw_the_decisions_too():
    """With weights, rows are resampled and each copy draws its decision: with unit weights
    the interval matches the unweighted (multinomial) one, up to resampling noise."""
    rng = np.random.default_rng(7)
    n = 600
    frame = pd.DataFrame({"g": rng.choice(["a", "b"], n, p=[0.7, 0.3])})
    y = (rng.random(n) < 0.5).astype(np.int8)
    probability = rng.choice([0.0, 1.0, 0.5], n)
    config = build_config(None, {"fairness": {"bootstrap": {"resamples": 2000}}})

    def width(**weights):
        (entry,) = measure(
            y,
            None,
            None,
            frame,
            config.fairness,
            config.policy,
            decision_probability=probability,
            **weights,
        )["fairness"]
        ci = next(
            d["ci"] for d in entry["disparities"] if d["metric"] == "demographic_parity_difference"
        )
        return ci[1] - ci[0]

    assert width(sample_weight=np.ones(n)) == pytest.approx(width(), rel=0.15)


def test_measure_refuses_both_or_neither_and_bad_probabilities():
    from audit.errors import AuditError

    config = build_config(None, {"fairness": {"bootstrap": {"resamples": 0}}})
    frame = pd.DataFrame({"g": ["a", "b"] * 5})
    y = np.array([0, 1] * 5)
    with pytest.raises(AuditError, match="exactly one of y_pred and decision_probability"):
        measure(
            y, y, None, frame, config.fairness, config.policy, decision_probability=np.full(10, 0.5)
        )
    with pytest.raises(AuditError, match="exactly one of"):
        measure(y, None, None, frame, config.fairness, config.policy)
    with pytest.raises(AuditError, match=r"must lie in \[0, 1\]"):
        measure(
            y,
            None,
            None,
            frame,
            config.fairness,
            config.policy,
            decision_probability=np.full(10, 1.5),
        )
