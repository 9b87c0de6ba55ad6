"""Principal reasons for adverse decisions (audit/explain/reasons.py): each reason is the row's
own SHAP value (recomputed here with shap on the encoded matrix), the most negative ones in
order; only negative decisions are listed; per-group shares equal hand counts; the proxy flag
fires on the synthetic credit data's planted race proxy (`region`) and not without it; and
tables/reasons.csv holds what the result holds."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter

import numpy as np
import pandas as pd
import pytest
import shap
from conftest import assert_close

import audit
from audit import models
from audit.config import ExplainConfig
from audit.datasets import make_credit
from audit.explain import explain
from audit.explain.reasons import FREQUENT_SHARE, principal_reasons
from audit.report.tables import table_files

N_ROWS, N_TRAIN = 2400, 1600
SENSITIVE = ["sex", "race"]
FAST = {
    "mitigation": {"strategies": []},
    "fairness": {"bootstrap": {"resamples": 100}},
    "quality": {"allow_errors": True},
    "explain": {"sample_size": 600, "cases_per_group": 0, "plot_rows": 50},
}


@pytest.fixture(scope="module")
def credit():
    frame = make_credit(N_ROWS, bias=2.0, seed=5)
    features = [c for c in frame.columns if c not in ("applicant_id", "approved", *SENSITIVE)]
    X = models.as_model_input(frame, features)
    y = frame["approved"].to_numpy()
    model = models.train_model(
        "hist_gradient_boosting", {"max_iter": 40}, 0, X.iloc[:N_TRAIN], y[:N_TRAIN]
    )
    test = X.iloc[N_TRAIN:]
    scores = model.predict_proba(test)[:, 1]
    y_pred = (scores >= 0.5).astype(int)
    explained = explain(
        model,
        test,
        frame[SENSITIVE].iloc[N_TRAIN:].reset_index(drop=True),
        y[N_TRAIN:],
        y_pred,
        scores,
        # sample_size above the 800 test rows: every evaluated row is explained
        ExplainConfig(sample_size=2000, cases_per_group=0, plot_rows=0),
        background=X.iloc[:N_TRAIN],
    )
    return frame, model, test, y_pred, explained


def _reference_shap(model, rows: pd.DataFrame) -> pd.DataFrame:
    """SHAP values of ``rows`` from shap itself, encoded columns summed by hand per input."""
    encoded = model[:-1].transform(rows)
    values = shap.TreeExplainer(model[-1]).shap_values(encoded)  # log-odds of class 1
    names = list(model[:-1].get_feature_names_out())
    out = {}
    for column in rows.columns:
        # credit's column names are no prefix of one another, so the name decides
        own = [k for k, n in enumerate(names) if n == column or n.startswith(f"{column}_")]
        out[column] = np.asarray(values)[:, own].sum(axis=1)
    return pd.DataFrame(out, index=rows.index)


def test_each_reason_is_the_rows_own_shap_value_most_negative_first(credit):
    frame, model, test, y_pred, explained = credit
    reasons = explained["reasons"]
    assert explained["output_space"] == "log-odds" and reasons["max_reasons"] == 4
    listed = [row["data_row"] for row in reasons["rows"]]
    # only the model's negative decisions, each once, all of them (every row is explained)
    assert sorted(listed) == sorted(test.index[y_pred == 0].tolist())
    assert reasons["negative_decisions"] == int((y_pred == 0).sum()) == len(listed) > 100
    reference = _reference_shap(model, test.loc[listed])
    fewer = 0
    for row in reasons["rows"]:
        expected = reference.loc[row["data_row"]]
        negative = expected[expected < 0].sort_values(kind="stable")
        wanted = list(negative.index[:4])
        assert [r["feature"] for r in row["reasons"]] == wanted
        for reason in row["reasons"]:
            assert abs(reason["contribution"] - expected[reason["feature"]]) <= 1e-12
            shown = test.loc[row["data_row"], reason["feature"]]
            if isinstance(shown, str):
                assert reason["value"] == shown
            elif pd.isna(shown):
                assert reason["value"] is None
            else:
                assert float(reason["value"]) == pytest.approx(float(shown), rel=1e-5)
        contributions = [r["contribution"] for r in row["reasons"]]
        assert contributions == sorted(contributions) and all(c < 0 for c in contributions)
        assert row["groups"] == {s: str(frame.loc[row["data_row"], s]) for s in SENSITIVE}
        fewer += len(row["reasons"]) < 4
    assert fewer == sum(int((reference.loc[r] < 0).sum() < 4) for r in listed)


def test_per_group_shares_equal_hand_counts_from_the_rows(credit):
    reasons = credit[4]["reasons"]
    for distribution in reasons["by_group"]:
        sensitive = distribution["sensitive"]
        negatives = Counter(row["groups"][sensitive] for row in reasons["rows"])
        counts = Counter(
            (row["groups"][sensitive], r["feature"])
            for row in reasons["rows"]
            for r in row["reasons"]
        )
        assert {g["group"]: g["negative_decisions"] for g in distribution["groups"]} == {
            g: negatives.get(g, 0) for g in {g["group"] for g in distribution["groups"]}
        }
        assert sum(g["negative_decisions"] for g in distribution["groups"]) == len(reasons["rows"])
        listed = {f["feature"] for f in distribution["features"]}
        assert listed == {feature for _, feature in counts}
        for entry in distribution["features"]:
            for group, n in negatives.items():
                hand = counts[(group, entry["feature"])]
                assert entry["counts"][group] == hand
                assert abs(entry["shares"][group] - hand / n) <= 1e-12
            judged = [hand_share for g, hand_share in entry["shares"].items() if negatives[g] >= 20]
            assert_close(entry["gap"], max(judged) - min(judged))
        # most frequent first
        maxima = [f["max_share"] for f in distribution["features"]]
        assert maxima == sorted(maxima, reverse=True)


def test_hand_made_rows_fewer_than_four_reasons_and_no_reason():
    X = pd.DataFrame(
        {"a": [1.0, 2.0, 3.0, 4.0], "b": ["x", "y", None, "z"], "c": [0, 1, 2, 3]},
        index=[10, 11, 12, 13],
    )
    values = np.array(
        [
            [-0.5, 0.2, -0.1],  # negative: a, then c; b pushed up, not a reason
            [0.3, 0.1, 0.0],  # negative decision with no reason at all
            [-0.2, -0.7, 0.4],  # b (missing value) first, then a
            [-0.9, -0.9, -0.9],  # a positive decision: not listed
        ]
    )
    groups = pd.DataFrame({"sex": ["f", "m", "f", "f"]})
    proxies = {"associations": [{"feature": "b", "sensitive": "sex", "flagged": True}]}
    out = principal_reasons(X, values, np.array([True, True, True, False]), groups, proxies)
    assert [r["data_row"] for r in out["rows"]] == [10, 11, 12]
    assert [[(x["feature"], x["value"]) for x in r["reasons"]] for r in out["rows"]] == [
        [("a", "1"), ("c", "0")],
        [],
        [("b", None), ("a", "3")],
    ]
    contributions = [[x["contribution"] for x in r["reasons"]] for r in out["rows"]]
    assert contributions[0] == pytest.approx([-0.5, -0.1], abs=1e-12)
    assert contributions[1] == []
    assert contributions[2] == pytest.approx([-0.7, -0.2], abs=1e-12)
    (sex,) = out["by_group"]
    assert sex["groups"] == [
        {"group": "f", "negative_decisions": 2},
        {"group": "m", "negative_decisions": 1},
    ]
    by_feature = {f["feature"]: f for f in sex["features"]}
    assert by_feature["a"]["counts"] == {"f": 2, "m": 0}
    assert by_feature["a"]["shares"]["f"] == pytest.approx(1.0, abs=1e-12)
    assert by_feature["b"]["proxy"]
    assert by_feature["b"]["shares"] == pytest.approx({"f": 0.5, "m": 0.0}, abs=1e-12)
    assert by_feature["a"]["gap"] is None  # no group has 20 negative decisions: not judged
    assert out["flags"] == []  # ... so no flag either, however frequent


def _audit(frame: pd.DataFrame, drop: list[str], **options):
    return audit.run(
        data=frame,
        target="approved",
        sensitive=SENSITIVE,
        model="hist_gradient_boosting",
        drop=["applicant_id", *drop],
        **{**FAST, **options},
    )


@pytest.fixture(scope="module")
def demo_like():
    return make_credit(3000, bias=2.0, seed=3)


def test_flag_fires_on_the_planted_proxy_and_the_csv_and_report_match(demo_like, tmp_path):
    result = _audit(demo_like, [], mitigation={"strategies": ["reweighing"]})
    reasons = result.explanations.reasons
    flags = {(f.feature, f.sensitive): f for f in reasons.flags}
    region = flags[("region", "race")]
    # region carries the race bias: a reason for most Black / Hispanic negative decisions
    assert region.top_group in ("Black", "Hispanic") and region.top_share >= 0.5
    assert region.low_group == "White" and region.gap > 0.3
    race = next(d for d in reasons.by_group if d.sensitive == "race")
    entry = next(f for f in race.features if f.feature == "region")
    assert entry.proxy and entry.counts[region.top_group] == region.top_count
    assert region.top_share == pytest.approx(region.top_count / region.top_negative_decisions)
    assert set(region.frequent_in) == {
        g.group
        for g in race.groups
        if g.negative_decisions >= 20 and entry.shares[g.group] >= FREQUENT_SHARE
    }
    # a mitigated model explained here: the per-group table and flags, no per-row list
    (variant,) = result.explanations.variants
    assert variant.reasons is not None and variant.reasons.rows is None
    assert variant.reasons.by_group and variant.reasons.negative_decisions > 0

    # tables/reasons.csv: one line per listed negative decision, the same cells
    plain = json.loads(result.to_json())
    text = table_files(plain)["tables/reasons.csv"].decode("utf-8")
    lines = list(csv.DictReader(io.StringIO(text)))
    assert len(lines) == len(reasons.rows) == reasons.negative_decisions
    for line, row in zip(lines, reasons.rows, strict=True):
        assert int(float(line["data_row"])) == row.data_row
        assert {s: line[s] for s in SENSITIVE} == row.groups
        for k in range(1, 5):
            reason = row.reasons[k - 1] if k <= len(row.reasons) else None
            assert line[f"reason_{k}_feature"] == (reason.feature if reason else "")
            if reason is None:
                assert line[f"reason_{k}_contribution"] == ""
            else:
                assert abs(float(line[f"reason_{k}_contribution"]) - reason.contribution) <= 1e-12
                assert line[f"reason_{k}_value"] == (reason.value or "")

    # written beside the report, and the report highlights the flag
    result.save(tmp_path, ("json", "html"))
    assert (tmp_path / "tables" / "reasons.csv").read_text(encoding="utf-8") == text
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert 'id="explanations-reasons"' in html and 'id="explanations-reasons-flags"' in html
    assert 'id="explanations-reasons-all"' in html  # the full table, in the annex
    flagged = html[html.index('id="explanations-reasons-flags"') :]
    assert "region" in flagged[: flagged.index("</div>")]


def test_flag_does_not_fire_when_the_proxy_column_is_removed(demo_like):
    result = _audit(demo_like, ["region"])
    reasons = result.explanations.reasons
    assert reasons.negative_decisions > 100
    # nothing left stands in for race; part_time, the planted proxy of sex, may still be flagged
    assert not any(f.sensitive == "race" for f in reasons.flags)
    assert {f.feature for f in reasons.flags} <= {"part_time"}
    race = next(d for d in reasons.by_group if d.sensitive == "race")
    assert race.features and not any(f.proxy for f in race.features)
    assert "region" not in {f.feature for d in reasons.by_group for f in d.features}
