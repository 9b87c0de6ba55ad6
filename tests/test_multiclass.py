"""Multiclass audits (data.task: multiclass): every class one-vs-rest through the binary
engine, checked against fairlearn and scikit-learn; class: rules; errors; SHAP per class;
loaded models; the CLI end to end."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

import audit
from audit.config import FairnessConfig, PolicyConfig
from audit.datasets import make_offers
from audit.errors import AuditError
from audit.explain.explainers import class_explainer
from audit.metrics.multiclass import measure_multiclass
from audit.model_files import save_model
from tests.conftest import needs_tools, pdf_text_and_overflow, run_cli
from tests.test_report_layout import identifiers, split_identifiers

CLASSES = ["ant", "bee", "cat"]
QUIET = {
    "mitigation": {"strategies": []},
    "explain": {"enabled": False},
    "quality": {"allow_errors": True},
}


@pytest.fixture(scope="module")
def arrays():
    """Three classes, predictions right about 60% of the time, two groups of unequal size,
    probabilities whose argmax is the prediction."""
    rng = np.random.default_rng(7)
    n = 600
    y_true = rng.integers(0, 3, n)
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, 3, n))
    proba = rng.dirichlet([1, 1, 1], n)
    sex = pd.Series(np.where(rng.random(n) < 0.4, "f", "m"))
    return y_true, y_pred, proba, pd.DataFrame({"sex": sex})


def _measured(arrays, rules=(), resamples=0):
    y_true, y_pred, proba, sensitive = arrays
    return measure_multiclass(
        y_true,
        y_pred,
        proba,
        sensitive,
        CLASSES,
        FairnessConfig(bootstrap={"resamples": resamples}, min_group_size=5),
        PolicyConfig(rules=list(rules)),
        seed=3,
    )


def test_each_class_per_group_rates_equal_fairlearn_on_one_vs_rest_labels(arrays):
    y_true, y_pred, _, sensitive = arrays
    measured = _measured(arrays, resamples=100)
    for code, name in enumerate(CLASSES):
        truth, decided = (y_true == code).astype(int), (y_pred == code).astype(int)
        frame = MetricFrame(
            metrics={
                "selection_rate": selection_rate,
                "tpr": true_positive_rate,
                "fpr": false_positive_rate,
                "precision": lambda t, p: skm.precision_score(t, p, zero_division=np.nan),
            },
            y_true=truth,
            y_pred=decided,
            sensitive_features=sensitive["sex"],
        )
        (feature,) = measured["classes"]["per_class"][name]["fairness"]
        assert {g["group"] for g in feature["groups"]} == {"f", "m"}
        for group in feature["groups"]:
            for metric in ("selection_rate", "tpr", "fpr", "precision"):
                expected = frame.by_group.loc[group["group"], metric]
                assert group[metric] == pytest.approx(expected, abs=1e-12), (name, metric)
                low, high = group["ci"][metric]  # an interval around every rate
                assert low <= group[metric] + 1e-12 and group[metric] <= high + 1e-12
        disparities = {d["metric"]: d for d in feature["disparities"]}
        expected = demographic_parity_difference(
            truth, decided, sensitive_features=sensitive["sex"]
        )
        dp = disparities["demographic_parity_difference"]
        assert dp["value"] == pytest.approx(expected, abs=1e-12)
        assert dp["ci"] is not None
        assert "demographic_parity_ratio" in disparities


def test_overall_and_per_class_performance_equal_scikit_learn(arrays):
    y_true, y_pred, _, _ = arrays
    measured = _measured(arrays)
    perf = measured["performance"]
    assert perf["task"] == "multiclass" and perf["n"] == len(y_true)
    assert perf["accuracy"] == pytest.approx(skm.accuracy_score(y_true, y_pred), abs=1e-12)
    assert perf["balanced_accuracy"] == pytest.approx(
        skm.balanced_accuracy_score(y_true, y_pred), abs=1e-12
    )
    for key, metric in (
        ("macro_precision", skm.precision_score),
        ("macro_recall", skm.recall_score),
        ("macro_f1", skm.f1_score),
    ):
        assert perf[key] == pytest.approx(metric(y_true, y_pred, average="macro"), abs=1e-12)
    report = skm.classification_report(y_true, y_pred, output_dict=True)
    for code, name in enumerate(CLASSES):
        one = measured["classes"]["per_class"][name]
        assert one["support"] == report[str(code)]["support"]
        assert one["performance"]["precision"] == pytest.approx(
            report[str(code)]["precision"], abs=1e-12
        )
        assert one["performance"]["recall"] == pytest.approx(report[str(code)]["recall"], abs=1e-12)


def test_the_macro_summary_is_the_mean_and_the_worst_class(arrays):
    measured = _measured(arrays)
    per_class = measured["classes"]["per_class"]
    macro = {(m["feature"], m["metric"]): m for m in measured["classes"]["macro"]}
    values = {
        name: next(
            d["value"]
            for d in per_class[name]["fairness"][0]["disparities"]
            if d["metric"] == "equal_opportunity_difference"
        )
        for name in CLASSES
    }
    entry = macro[("sex", "equal_opportunity_difference")]
    assert entry["mean"] == pytest.approx(sum(values.values()) / 3, abs=1e-12)
    assert entry["worst_class"] == max(values, key=lambda k: abs(values[k]))
    ratios = {
        name: next(
            d["value"]
            for d in per_class[name]["fairness"][0]["disparities"]
            if d["metric"] == "demographic_parity_ratio"
        )
        for name in CLASSES
    }
    assert macro[("sex", "demographic_parity_ratio")]["worst_class"] == min(ratios, key=ratios.get)


def test_a_class_rule_gives_one_verdict_per_group_of_that_class_only():
    """Class 'b' is predicted for 3 of 4 rows of group x and 1 of 4 of group y: selection
    rates 0.75 and 0.25, so 'selection_rate >= 0.5' passes x and fails y (no intervals)."""
    y_true = np.array([0, 1, 1, 2, 0, 1, 2, 2])
    y_pred = np.array([1, 1, 1, 0, 0, 1, 2, 0])
    groups = pd.DataFrame({"g": ["x"] * 4 + ["y"] * 4})
    rule = {"metric": "selection_rate", "op": ">=", "bound": 0.5, "class": "b"}
    measured = measure_multiclass(
        y_true,
        y_pred,
        None,
        groups,
        ["a", "b", "c"],
        FairnessConfig(bootstrap={"resamples": 0}, min_group_size=1),
        PolicyConfig(rules=[rule]),
    )
    verdicts = measured["verdicts"]
    assert [(v["group"], v["class_label"], v["verdict"]) for v in verdicts] == [
        ("x", "b", "pass"),
        ("y", "b", "fail"),
    ]
    assert [v["value"] for v in verdicts] == pytest.approx([0.75, 0.25], abs=1e-12)
    assert verdicts[0]["rule"] == "selection_rate >= 0.5 [class b]"
    assert measured["policy"]["status"] == "fail"


def test_a_rule_without_a_class_is_checked_on_every_class(arrays):
    measured = _measured(arrays, rules=["demographic_parity_difference <= 0.5"])
    assert [v["class_label"] for v in measured["verdicts"]] == CLASSES
    for verdict in measured["verdicts"]:
        per_class = measured["classes"]["per_class"][verdict["class_label"]]
        dp = next(
            d
            for d in per_class["fairness"][0]["disparities"]
            if d["metric"] == "demographic_parity_difference"
        )
        assert verdict["value"] == pytest.approx(dp["value"], abs=1e-12)


def test_a_class_that_the_target_lacks_is_refused(arrays):
    rule = {"metric": "tpr", "op": ">=", "bound": 0.5, "class": "dog"}
    with pytest.raises(AuditError, match="names class 'dog'.*Classes: 'ant', 'bee', 'cat'"):
        _measured(arrays, rules=[rule])


@pytest.fixture(scope="module")
def offers():
    return make_offers(1500, seed=4)


def test_the_offers_scenario_plants_fewer_premium_offers_for_women(offers):
    shares = offers.groupby("sex")["offer"].value_counts(normalize=True)
    assert shares["female", "premium"] < shares["male", "premium"] - 0.05
    assert offers["income"].isna().mean() == pytest.approx(0.03, abs=0.005)


def test_three_classes_under_classification_point_to_the_multiclass_task(offers):
    with pytest.raises(AuditError, match=r"has 3 classes .*set data.task: multiclass"):
        audit.run(
            data=offers,
            target="offer",
            sensitive="sex",
            model="logistic_regression",
            drop=["applicant_id"],
            **QUIET,
        )
    with pytest.raises(AuditError, match="set data.task: multiclass"):
        audit.run(
            data=offers,
            target="offer",
            sensitive="sex",
            positive_label="premium",
            model="logistic_regression",
            drop=["applicant_id"],
            **QUIET,
        )
    model = LogisticRegression(max_iter=500).fit(
        offers[["debt_ratio", "history_years"]], offers["offer"]
    )
    binary = offers.assign(premium=(offers["offer"] == "premium").astype(int))
    with pytest.raises(AuditError, match=r"3 classes.*set data.task: multiclass"):
        audit.run(data=binary, target="premium", sensitive="sex", model=model, **QUIET)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"threshold": 0.4}, r"model.threshold \(--threshold\) has no meaning in a multiclass"),
        ({"positive_label": "premium"}, "data.positive_label"),
        ({"mitigation": {"strategies": ["reweighing"]}}, "mitigation strategies"),
        ({"split": {"cv": 3}}, r"split.cv \(--cv\) and tune has no meaning"),
        ({"monitoring": {"time_column": "applicant_id"}}, "monitoring.time_column"),
    ],
)
def test_options_without_meaning_for_multiclass_are_refused(offers, options, message):
    settings = {**QUIET, **options}
    with pytest.raises(AuditError, match=message):
        audit.run(
            data=offers,
            target="offer",
            sensitive="sex",
            task="multiclass",
            model="logistic_regression",
            drop=["applicant_id"],
            **settings,
        )


def test_a_class_rule_in_a_binary_audit_is_refused(offers):
    binary = offers.assign(premium=(offers["offer"] == "premium").astype(int))
    rule = {"metric": "tpr", "op": ">=", "bound": 0.5, "class": "premium"}
    with pytest.raises(AuditError, match="only a multiclass audit has"):
        audit.run(
            data=binary.drop(columns="offer"),
            target="premium",
            sensitive="sex",
            model="logistic_regression",
            policy={"rules": [rule]},
            drop=["applicant_id"],
            **QUIET,
        )


def test_shap_per_class_equals_shaps_own_values_and_adds_up():
    import shap

    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(300, 4)), columns=["a", "b", "c", "d"])
    y = np.array(CLASSES)[(X["a"] + 0.5 * X["b"] > 0).astype(int) + (X["c"] > 0.8)]
    forest = RandomForestClassifier(n_estimators=20, max_depth=4, random_state=0).fit(X, y)
    rows = X.iloc[:40]
    explained = class_explainer(forest, X.iloc[:50], seed=0).explain(rows)
    assert explained.values.shape == (40, 4, 3)
    reference = shap.TreeExplainer(forest, feature_perturbation="tree_path_dependent")
    theirs = reference.shap_values(rows, check_additivity=False)
    theirs = np.stack(theirs, axis=-1) if isinstance(theirs, list) else np.asarray(theirs)
    np.testing.assert_allclose(explained.values, theirs, atol=1e-12)
    base = np.asarray(explained.base_value)
    np.testing.assert_allclose(base, np.ravel(reference.expected_value), atol=1e-12)
    np.testing.assert_allclose(
        base + explained.values.sum(axis=1), forest.predict_proba(rows), atol=1e-9
    )


def test_an_audit_explains_every_class(offers):
    result = audit.run(
        data=offers,
        target="offer",
        sensitive="sex",
        task="multiclass",
        model="hist_gradient_boosting",
        drop=["applicant_id"],
        mitigation={"strategies": []},
        fairness={"bootstrap": {"resamples": 100}},
        explain={"budget_seconds": 2},
    ).to_dict()
    explanations = result["explanations"]
    assert explanations["status"] == "explained"
    assert [c["label"] for c in explanations["classes"]] == ["decline", "premium", "standard"]
    assert explanations["additivity_max_error"] < 1e-6
    overall = {f["feature"]: f["mean_abs_shap"] for f in explanations["features"]}
    for feature, value in overall.items():  # the mean over the classes
        per_class = [
            next(f["mean_abs_shap"] for f in c["features"] if f["feature"] == feature)
            for c in explanations["classes"]
        ]
        assert value == pytest.approx(np.mean(per_class), abs=1e-12)
    assert result["mitigation"]["reason"].startswith("Not applicable to multiclass")


@pytest.mark.parametrize("suffix", [".skops", ".joblib"])
def test_a_saved_multiclass_model_is_loaded_and_audited(offers, tmp_path, suffix):
    from audit import models

    columns = ["income", "debt_ratio", "history_years", "savings", "part_time"]
    model = models.train_model(
        "logistic_regression", {}, 0, offers[columns], offers["offer"], task="multiclass"
    )
    path = tmp_path / f"model{suffix}"
    if suffix == ".skops":
        save_model(model, path)
    else:
        import joblib

        joblib.dump(model, path)
    typed = audit.run(
        {"model": {"file": str(path), "trust": suffix != ".skops"}},  # a pickle: trusted
        data=offers,
        target="offer",
        sensitive="sex",
        task="multiclass",
        fairness={"bootstrap": {"resamples": 0}},
        **QUIET,
    )
    result = typed.to_dict()
    predicted = model.predict(models.as_model_input(offers, columns))
    assert result["performance"]["accuracy"] == pytest.approx(
        skm.accuracy_score(offers["offer"], predicted), abs=1e-12
    )
    premium = result["classes"]["per_class"]["premium"]
    assert premium["predicted"] == int((predicted == "premium").sum())
    table = typed.groups("sex", class_label="premium").set_index("group")
    assert table.loc["male", "selection_rate"] == pytest.approx(
        (predicted[offers["sex"].to_numpy() == "male"] == "premium").mean(), abs=1e-12
    )
    with pytest.raises(KeyError, match="name the class"):
        typed.groups("sex")
    female = next(g for g in premium["fairness"][0]["groups"] if g["group"] == "female")
    women = (offers["sex"] == "female").to_numpy()
    expected = (predicted[women] == "premium").mean()
    assert female["selection_rate"] == pytest.approx(expected, abs=1e-12)


def test_the_cli_audits_text_labels_with_missing_values_end_to_end(offers, tmp_path):
    """Trained here, a class rule, the report in HTML and PDF; then predictions made
    elsewhere, as text labels, audited from a column."""
    needs_tools("pdftotext")
    data = tmp_path / "offers.csv"
    offers.to_csv(data, index=False)
    out = tmp_path / "out"
    result = run_cli(
        "run", "--data", data, "--target", "offer", "--task", "multiclass",
        "--sensitive", "sex", "--sensitive", "age_group", "--drop", "applicant_id",
        "--model", "logistic_regression", "--fail-on", "premium_placeholder", "--out", out,
    )  # fmt: skip
    assert result.exit_code == 2  # an unknown metric: refused before any work
    assert not out.exists()
    config = tmp_path / "audit.yaml"
    config.write_text(
        f"data: {{path: {data}, target: offer, task: multiclass, sensitive: [sex, age_group],"
        " drop: [applicant_id]}\n"
        "model: {name: logistic_regression}\n"
        "fairness: {bootstrap: {resamples: 100}}\n"
        "explain: {budget_seconds: 2}\n"
        "policy:\n  rules:\n"
        "    - {metric: demographic_parity_ratio, op: '>=', bound: 0.8, feature: sex,"
        " class: premium}\n"
    )
    result = run_cli("run", config, "--out", out)
    assert result.exit_code in (0, 1), result.output
    assert "worst class" not in result.output  # with a policy: the rule's own numbers
    assert "[class premium]" in result.output
    written = json.loads((out / "results.json").read_text())
    (verdict,) = written["verdicts"]
    assert verdict["class_label"] == "premium" and verdict["feature"] == "sex"
    premium = written["classes"]["per_class"]["premium"]["fairness"][0]
    dp = next(d for d in premium["disparities"] if d["metric"] == "demographic_parity_ratio")
    assert verdict["value"] == pytest.approx(dp["value"], abs=1e-12)
    assert result.exit_code == (1 if verdict["fails_gate"] else 0)
    classes_csv = pd.read_csv(out / "tables" / "classes.csv")
    row = classes_csv.query("`class` == 'premium' and feature == 'sex' and group == 'female'")
    female = next(g for g in premium["groups"] if g["group"] == "female")
    assert row["selection_rate"].item() == pytest.approx(female["selection_rate"], abs=1e-12)
    assert row["selection_rate_ci_low"].item() == pytest.approx(
        female["ci"]["selection_rate"][0], abs=1e-12
    )
    html = (out / "report.html").read_text()
    assert '<section id="classes">' in html and "Fairness by class" in html
    body, past = pdf_text_and_overflow(out / "report.pdf")
    assert past == []
    assert "Fairness by class" in body and "against the rest" in body
    assert "Importance per class" in body
    html_premium = html[html.index("Class <code>premium</code> against the rest") :]
    assert "<code>demographic_parity_ratio</code> " + f"{dp['value']:.3f}" in html_premium.replace(
        "<wbr>", ""
    )
    names = identifiers(written)
    assert "demographic_parity_difference" in names
    pdfs = [out / "report.pdf", out / "report-annex.pdf"]
    assert [piece for pdf in pdfs for piece in split_identifiers(pdf, names)] == []

    predictions = offers.assign(decided=np.where(offers["income"] > 50_000, "premium", "standard"))
    predictions.to_csv(data, index=False)
    out2 = tmp_path / "out2"
    result = run_cli(
        "run", "--data", data, "--target", "offer", "--task", "multiclass",
        "--sensitive", "sex", "--prediction-column", "decided", "--out", out2, "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "worst class" in result.output
    written = json.loads((out2 / "results.json").read_text())
    decline = written["classes"]["per_class"]["decline"]
    assert decline["predicted"] == 0
    assert decline["support"] == int((offers["offer"] == "decline").sum())
    assert written["performance"]["accuracy"] == pytest.approx(
        (predictions["decided"] == predictions["offer"]).mean(), abs=1e-12
    )


def test_quality_names_a_rare_class_and_skips_the_binary_base_rate_check(offers):
    """imbalance_share is 10% by default: a class on 40 of 1,500 rows (2.7%) is flagged."""
    frame = offers.copy()
    rare = frame.index[frame["offer"] == "premium"][40:]
    frame.loc[rare, "offer"] = "standard"
    frame["decided"] = frame["offer"]
    result = audit.run(
        data=frame,
        target="offer",
        sensitive="sex",
        task="multiclass",
        predictions="decided",
        fairness={"bootstrap": {"resamples": 0}},
        quality={"allow_errors": True},
    ).to_dict()
    imbalance = [f for f in result["quality"]["findings"] if f["check"] == "label_imbalance"]
    assert [f["evidence"]["class"] for f in imbalance] == ["premium"]
    assert imbalance[0]["evidence"]["rows"] == 40
    checks = {c["id"]: c for c in result["quality"]["checks"]}
    assert checks["base_rate"]["status"] == "skipped"
    assert "multiclass" in checks["base_rate"]["reason"]
    assert result["performance"]["accuracy"] == pytest.approx(1.0, abs=1e-12)


def test_an_onnx_multiclass_model_is_audited_like_the_model_it_was_converted_from(offers, tmp_path):
    skl2onnx = pytest.importorskip("skl2onnx")
    columns = ["debt_ratio", "history_years", "savings"]
    model = LogisticRegression(max_iter=2000).fit(offers[columns], offers["offer"])
    onnx = skl2onnx.to_onnx(
        model, offers[columns].to_numpy(np.float32)[:1], options={"zipmap": False}
    )
    path = tmp_path / "offers.onnx"
    path.write_bytes(onnx.SerializeToString())
    result = audit.run(
        {"model": {"file": str(path)}},
        data=offers[[*columns, "sex", "offer"]],
        target="offer",
        sensitive="sex",
        task="multiclass",
        fairness={"bootstrap": {"resamples": 0}},
        **QUIET,
    ).to_dict()
    predicted = model.predict(offers[columns])
    assert result["performance"]["accuracy"] == pytest.approx(
        skm.accuracy_score(offers["offer"], predicted), abs=1e-12
    )
    assert result["classes"]["per_class"]["premium"]["predicted"] == int(
        (predicted == "premium").sum()
    )


def test_key_numbers_and_findings_name_the_class_of_each_verdict(arrays):
    """One rule checked on three classes gives three key numbers and failing findings: each
    must say which class it is, or the first page shows the same label three times."""
    from audit.report.findings import top_findings
    from audit.report.key_numbers import key_numbers

    measured = _measured(arrays, rules=["sex: demographic_parity_difference <= 0.0001"])
    ruled = [n for n in key_numbers(measured) if n["rule"] is not None]
    assert len(ruled) == len(CLASSES)
    assert len({n["measure"] for n in ruled}) == len(CLASSES)
    for number, name in zip(ruled, CLASSES, strict=True):
        assert f"class {name}" in number["measure"]
        verdict = next(v for v in measured["verdicts"] if v["class_label"] == name)
        assert abs(number["value"] - verdict["value"]) < 1e-12
    failing = [f["text"] for f in top_findings(measured) if f["severity"] == "fail"]
    failed = [v for v in measured["verdicts"] if v["verdict"] == "fail"]
    assert failed, "the bound was chosen so that the verdicts fail"
    for text in failing[: min(2, len(failed))]:
        assert any(text.startswith(f"class {name}, sex:") for name in CLASSES), text


def test_compare_reads_each_class_disparities_and_the_macro_scores(offers, tmp_path):
    """Two multiclass audits: the comparison pairs every class's disparities (their
    fairness.features is empty) and the macro scores, with the values of each results.json."""
    from audit.comparison import compare
    from audit.result import AuditResult

    data = tmp_path / "offers.csv"
    premium_for_men = np.where(offers["sex"] == "male", "premium", "standard")
    offers.assign(
        fair=offers["offer"], skewed=np.where(offers.index % 2 == 0, premium_for_men, "decline")
    ).to_csv(data, index=False)
    results = []
    for column in ("fair", "skewed"):
        out = tmp_path / column
        result = run_cli(
            "run", "--data", data, "--target", "offer", "--task", "multiclass",
            "--sensitive", "sex", "--prediction-column", column, "--out", out,
            "--format", "json", "--resamples", "100",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        results.append(AuditResult.load(out / "results.json"))
    comparison = compare(*results)
    changes = {(d.class_label, d.feature, d.metric): d for d in comparison.disparities}
    assert {label for label, _, _ in changes} == {"decline", "premium", "standard"}
    premium_new = next(
        d
        for f in results[1].classes.per_class["premium"].fairness
        for d in f.disparities
        if d.metric == "demographic_parity_difference"
    )
    change = changes[("premium", "sex", "demographic_parity_difference")]
    # Women are never offered premium by the skewed predictions; men on every other row.
    male_share = ((offers.index % 2 == 0) & (offers["sex"] == "male")).sum() / (
        offers["sex"] == "male"
    ).sum()
    assert change.new_value == pytest.approx(male_share, abs=1e-12)
    assert change.new_value == pytest.approx(premium_new.value, abs=1e-12)
    assert change.old_value == pytest.approx(
        abs(
            offers.groupby("sex")["offer"].apply(lambda s: (s == "premium").mean()).diff().iloc[-1]
        ),
        abs=1e-12,
    )
    macro = {m.metric: m for m in comparison.performance}
    assert macro["macro_f1"].old_value == pytest.approx(1.0, abs=1e-12)
    assert macro["macro_f1"].new_value == pytest.approx(
        skm.f1_score(offers["offer"], pd.read_csv(data)["skewed"], average="macro"), abs=1e-12
    )
    text = run_cli(
        "compare", tmp_path / "fair" / "results.json", tmp_path / "skewed" / "results.json"
    )
    assert "class premium, sex: demographic_parity_difference" in text.output


def test_ten_classes_with_long_names_fit_the_pdf_page(offers, tmp_path):
    """The per-class SHAP table put every class side by side: with ten classes its last
    columns ran off the page. Each class's importance must be on the page."""
    needs_tools("pdftotext")
    names = [f"band {k} — catégorie à long nom numéro {k}" for k in range(10)]
    frame = offers.dropna(subset=["income"]).copy()
    frame["band"] = pd.qcut(frame["income"], 10, labels=names).astype(str)
    frame = frame.drop(columns=["offer", "applicant_id"])
    data = tmp_path / "bands.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "out"
    result = run_cli(
        "run", "--data", data, "--target", "band", "--task", "multiclass",
        "--sensitive", "sex", "--model", "random_forest", "--model-param", "n_estimators=20",
        "--resamples", "0", "--format", "pdf", "--format", "json", "--out", out,
        "--allow-quality-errors",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    written = json.loads((out / "results.json").read_text())
    assert len(written["explanations"]["classes"]) == 10
    body, past = pdf_text_and_overflow(out / "report.pdf", pages_with="Importance")
    assert "Importance per class" in body
    assert past == []
    for k in range(10):
        assert f"numéro {k}" in body


def test_a_class_never_predicted_is_said_to_have_no_precision(offers, tmp_path):
    """Precision of a class the model never predicts is 0/0: the table shows '—' and a note
    names the class and says why, instead of a bare dash (or NaN)."""
    data = tmp_path / "offers.csv"
    decided = np.where(offers["income"] > 50_000, "premium", "standard")
    offers.assign(decided=decided).to_csv(data, index=False)
    out = tmp_path / "out"
    result = run_cli(
        "run", "--data", data, "--target", "offer", "--task", "multiclass",
        "--sensitive", "sex", "--prediction-column", "decided", "--out", out,
        "--format", "html", "--format", "json", "--resamples", "0",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    written = json.loads((out / "results.json").read_text())
    never = [k for k, c in written["classes"]["per_class"].items() if c["predicted"] == 0]
    assert never == ["decline"] and "decline" not in set(decided)
    assert written["classes"]["per_class"]["decline"]["performance"]["precision"] is None
    html = (out / "report.html").read_text()
    assert "the model never predicted <code>decline</code>" in html
    assert "precision is undefined" in html
    assert "nan" not in html.split('<section id="performance"')[1].split("</section>")[0].lower()


def test_an_unknown_key_in_a_rule_lists_class_as_the_file_spells_it(tmp_path):
    """The allowed keys of a policy rule are those a config file writes: class, not the
    Python field name class_label."""
    from audit.config import build_config

    config = tmp_path / "audit.yaml"
    config.write_text(
        "data: {path: d.csv, target: y, task: multiclass}\n"
        "policy:\n  rules:\n    - {metric: tpr, op: '>=', bound: 0.5, disparity: ratio}\n"
    )
    with pytest.raises(AuditError) as caught:
        build_config(config)
    message = str(caught.value)
    assert "unknown key 'policy.rules.0.disparity'" in message
    assert "allowed keys here: metric, op, bound, feature, class." in message


def test_a_mean_over_fewer_classes_says_over_how_many(offers, tmp_path):
    """A class too rare for a disparity drops out of the macro mean: the table says the mean
    is over 2 of 3 classes (by hand: the disparity is defined in two classes only)."""
    frame = offers.copy()
    rare = frame.index[frame["offer"] == "premium"][10:]
    frame = frame.drop(index=rare)  # 10 premium rows: too few for a TPR per group
    frame["decided"] = frame["offer"]
    data = tmp_path / "offers.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "out"
    result = run_cli(
        "run", "--data", data, "--target", "offer", "--task", "multiclass",
        "--sensitive", "sex", "--prediction-column", "decided", "--out", out,
        "--format", "html", "--format", "json", "--resamples", "0",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    written = json.loads((out / "results.json").read_text())
    (eo,) = [
        m
        for m in written["classes"]["macro"]
        if m["feature"] == "sex" and m["metric"] == "equal_opportunity_difference"
    ]
    assert eo["values"]["premium"] is None and eo["defined_classes"] == 2
    html = (out / "report.html").read_text()
    assert '<span class="ci">over 2 of 3 classes</span>' in html
    assert "leaves out the classes where the disparity is undefined" in html


def test_a_model_without_class_probabilities_is_reported_not_explained():
    """An RBF SVC has a decision function but no predict_proba and no exact explainer: the
    explanation says why (it crashed the audit reaching for predict_proba)."""
    from sklearn.svm import SVC

    from audit.config import ExplainConfig
    from audit.explain.classes import explain_classes

    rng = np.random.default_rng(2)
    X = pd.DataFrame(rng.normal(size=(120, 3)), columns=["a", "b", "c"])
    y = np.array(CLASSES)[(X["a"] > 0).astype(int) + (X["b"] > 0.5)]
    sensitive = pd.DataFrame({"sex": rng.choice(["F", "M"], size=120)})
    model = SVC(kernel="rbf").fit(X, y)
    assert not hasattr(model, "predict_proba")
    explained = explain_classes(model, X, sensitive, list(CLASSES), ExplainConfig())
    assert explained["status"] == "not_explained"
    assert "predict_proba" in explained["reason"]


def test_a_linear_svm_is_not_read_as_one_coefficient_row_per_class():
    """With 3 classes a linear SVC has 3 coef_ rows, but they are one-vs-one pairs: the
    explainer must use its probabilities (permutation), not a per-class linear model."""
    from sklearn.svm import SVC

    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(150, 3)), columns=["a", "b", "c"])
    y = np.array(CLASSES)[(X["a"] > 0).astype(int) + (X["b"] > 0.5)]
    model = SVC(kernel="linear", probability=True, random_state=0).fit(X, y)
    assert model.coef_.shape[0] == len(CLASSES)  # the coincidence that fooled the check
    explainer = class_explainer(model, X.iloc[:40], seed=0)
    explained = explainer.explain(X.iloc[:10])
    assert "PermutationExplainer" in explainer.method and explainer.output_space == "probability"
    np.testing.assert_allclose(
        np.asarray(explained.base_value) + explained.values.sum(axis=1),
        model.predict_proba(X.iloc[:10]),
        atol=1e-6,
    )


def test_the_proxies_a_multiclass_model_relies_on_are_named():
    """A flagged proxy carrying at least IMPORTANT_SHARE of the overall mean |SHAP| is listed
    as important, by the same rule as for a binary model (it was always an empty list)."""
    from audit.config import ExplainConfig
    from audit.explain.classes import explain_classes
    from audit.explain.explanation import IMPORTANT_SHARE

    rng = np.random.default_rng(4)
    sex = rng.choice(["F", "M"], size=600)
    X = pd.DataFrame(
        {
            "shift": (sex == "F") ^ (rng.random(600) < 0.1),  # a proxy of sex
            "income": rng.normal(size=600),
        }
    ).astype(float)
    y = np.array(CLASSES)[X["shift"].astype(int) + (X["income"] > 1)]
    model = RandomForestClassifier(n_estimators=30, max_depth=4, random_state=0).fit(X, y)
    explained = explain_classes(
        model, X, pd.DataFrame({"sex": sex}), list(CLASSES), ExplainConfig(), seed=0
    )
    share = {f["feature"]: f["share"] for f in explained["features"]}
    expected = {
        a["feature"]
        for a in explained["proxies"]["associations"]
        if a["flagged"] and share.get(a["feature"], 0) >= IMPORTANT_SHARE
    }
    assert expected == {"shift"}  # flagged, and what the model relies on most
    assert {p["feature"] for p in explained["proxies"]["important"]} == expected
