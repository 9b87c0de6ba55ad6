"""The Python API (audit.run) and the typed AuditResult: in-memory audits equal fairlearn,
the API and the CLI give the same results.json, results round-trip, the schema is current,
and the package has no import cycles."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, run_cli, without_timings
from fairlearn.metrics import (
    MetricFrame,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

import audit
from audit.datasets import make_credit
from audit.errors import AuditError
from audit.model_files import save_model
from audit.result import SCHEMA_VERSION, AuditResult

NUMERIC = ["age", "income", "debt_ratio", "late_payments", "loan_amount"]
TEXT = ["education", "region"]
QUICK = {
    "mitigation": {"strategies": []},
    "explain": {"enabled": False},
    "fairness": {"bootstrap": {"resamples": 200}},
    "quality": {"allow_errors": True},
}


@pytest.fixture(scope="module")
def fitted():
    """A HistGradientBoosting pipeline fitted elsewhere, and fresh rows to audit it on."""
    train = make_credit(3000, seed=11)
    rows = make_credit(2500, seed=12).drop(columns=["applicant_id"])
    model = Pipeline(
        [
            (
                "prepare",
                ColumnTransformer(
                    [("text", OneHotEncoder(handle_unknown="ignore"), TEXT)],
                    remainder="passthrough",
                ),
            ),
            ("model", HistGradientBoostingClassifier(max_iter=40, random_state=0)),
        ]
    ).fit(train[TEXT + NUMERIC], train["approved"])
    return model, rows


def test_an_in_memory_audit_equals_fairlearn_on_the_same_predictions(fitted):
    model, rows = fitted
    result = audit.run(
        data=rows,
        target="approved",
        sensitive=["sex", "race"],
        model=model,
        policy=["race: demographic_parity_ratio >= 0.8"],
        **QUICK,
    )
    assert isinstance(result, AuditResult)
    assert result.model.source == "object" and result.data.n_evaluated == len(rows)
    y_pred = model.predict_proba(rows[model.feature_names_in_])[:, 1] >= 0.5
    for feature in ("sex", "race"):
        expected = MetricFrame(
            metrics={
                "selection_rate": selection_rate,
                "tpr": true_positive_rate,
                "fpr": false_positive_rate,
            },
            y_true=rows["approved"],
            y_pred=y_pred,
            sensitive_features=rows[feature],
        ).by_group
        table = result.groups(feature).set_index("group")
        for metric in ("selection_rate", "tpr", "fpr"):
            np.testing.assert_allclose(
                table.loc[expected.index, metric], expected[metric], rtol=0, atol=1e-12
            )
            assert (table[f"{metric}_low"] <= table[metric] + 1e-12).all()
            assert (table[metric] <= table[f"{metric}_high"] + 1e-12).all()
    # The verdict table and the typed verdict agree.
    verdicts = result.verdicts()
    assert list(verdicts["rule"]) == ["demographic_parity_ratio >= 0.8"]
    assert result.passed == (not verdicts["fails_gate"].any())
    disparities = result.disparities("race").set_index("metric")
    ratio = disparities.loc["demographic_parity_ratio", "value"]
    rates = table_rates = result.groups("race").set_index("group")["selection_rate"]
    assert ratio == pytest.approx(table_rates.min() / rates.max(), abs=1e-12)


def test_the_api_and_the_cli_write_the_same_results_json(fitted, tmp_path, monkeypatch):
    model, rows = fitted
    monkeypatch.chdir(tmp_path)
    rows.to_csv("rows.csv", index=False)
    save_model(model, Path("model.skops"))
    through_api = audit.run(
        data="rows.csv",
        target="approved",
        sensitive="sex",
        model="model.skops",
        policy="demographic_parity_ratio >= 0.8",
        output={"dir": "cli-out", "formats": ["json"]},
        **QUICK,
    )
    config = {
        "data": {"path": "rows.csv", "target": "approved", "sensitive": ["sex"]},
        "model": {"file": "model.skops"},
        "policy": ["demographic_parity_ratio >= 0.8"],
        "output": {"dir": "cli-out", "formats": ["json"]},
        **QUICK,
    }
    Path("audit.yaml").write_text(json.dumps(config))
    done = run_cli("run", "audit.yaml", "--quiet")
    assert done.exit_code in (0, 1), done.output
    cli = json.loads(Path("cli-out/results.json").read_text())
    assert without_timings(cli) == without_timings(through_api.to_dict())


def test_a_saved_result_loads_back_equal_and_renders(fitted, tmp_path):
    model, rows = fitted
    result = audit.run(data=rows, target="approved", sensitive="sex", model=model, **QUICK)
    written = result.save(tmp_path / "out", formats=("json", "html"))
    assert {p.name for p in written} >= {"results.json", "report.html"}
    loaded = AuditResult.load(tmp_path / "out" / "results.json")
    assert loaded.to_json() == result.to_json()
    assert loaded == result
    html = result._repr_html_()
    assert len(html.encode()) < 200_000
    assert "Overall verdict" in html and "Key numbers" in html and "<script" not in html


def test_a_result_of_another_schema_version_is_refused_with_a_clear_message(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"schema_version": "1.0", "provenance": {}}))
    with pytest.raises(AuditError, match=r"schema_version 1\.0; this rai-audit reads 2\.x"):
        AuditResult.load(path)
    path.write_text(json.dumps({"schema_version": SCHEMA_VERSION}))
    with pytest.raises(AuditError, match="missing section 'provenance'"):
        AuditResult.load(path)


def test_the_published_schema_is_the_one_the_code_writes():
    committed = json.loads((ROOT / "audit" / "result" / "results.schema.json").read_text())
    assert committed == AuditResult.json_schema(), "re-run: rai-audit schema > " + (
        "audit/result/results.schema.json"
    )
    done = run_cli("schema")
    assert done.exit_code == 0 and json.loads(done.output) == committed


def test_decisions_already_made_can_be_given_as_arrays():
    rows = make_credit(1200, seed=13)
    scores = np.linspace(0, 1, len(rows))
    result = audit.run(
        data=rows, target="approved", sensitive="sex", scores=scores, threshold=0.7, **QUICK
    )
    assert result.model.source == "predictions" and result.model.column == "score"
    assert result.performance.selection_rate == pytest.approx(np.mean(scores >= 0.7))
    with pytest.raises(AuditError, match="one value per row"):
        audit.run(data=rows, target="approved", sensitive="sex", predictions=[1, 0], **QUICK)
    with pytest.raises(AuditError, match="unknown option 'fairnes'"):
        audit.run(data=rows, target="approved", sensitive="sex", fairnes={}, **QUICK)


def test_the_package_has_no_import_cycles():
    """Module-level imports only (those run at import time); imports inside functions are
    the deliberate late ones (rendering, optional libraries), and TYPE_CHECKING imports
    never run."""
    package = ROOT / "audit"
    graph: dict[str, set[str]] = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        graph[name] = set()
        for node in ast.parse(path.read_text()).body:  # the module's top level only
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            graph[name] |= {t for t in targets if t.startswith("audit")}
    graph = {m: {t for t in ts if t in graph and t != m} for m, ts in graph.items()}
    cycles = []
    state: dict[str, int] = {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycles.append(trail[trail.index(target) :] + [target])
            elif target not in state:
                visit(target, [*trail, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    # A package's __init__ importing its own submodules is not a cycle of the design.
    real = [c for c in cycles if not all(m.startswith(c[0] + ".") or m == c[0] for m in c)]
    assert not real, "import cycles: " + "; ".join(" -> ".join(c) for c in real)


def test_a_plain_score_function_is_audited_and_explained():
    rows = make_credit(1500, seed=14).drop(columns=["applicant_id"])
    rows["decision"] = rows.pop("approved").map({1: "approved", 0: "denied"})

    def score(X: pd.DataFrame) -> np.ndarray:
        income = X["income"].fillna(40_000)  # the data misses some incomes
        return 1 / (1 + np.exp(-(income / 20_000 - X["late_payments"] - 1.5)))

    result = audit.run(
        data=rows,
        target="decision",
        positive_label="approved",
        sensitive="sex",
        model=score,
        features=["income", "late_payments"],
        mitigation={"strategies": []},
        explain={"sample_size": 100},
        fairness={"bootstrap": {"resamples": 200}},
        quality={"allow_errors": True},
    )
    assert result.model.source == "object" and result.model.estimator == "ScoreFunction"
    assert result.model.positive_class == "approved"
    expected = score(rows[["income", "late_payments"]]) >= 0.5  # scores in [0, 1]: 0.5
    assert result.performance.selection_rate == pytest.approx(expected.mean(), abs=1e-12)
    explained = result.explanations
    assert explained.status == "explained" and explained.explainer == "permutation"
    assert explained.additivity_max_error < 1e-9


def test_a_lightgbm_model_audits_and_is_explained_by_tree_shap():
    lightgbm = pytest.importorskip("lightgbm")
    rows = make_credit(2000, seed=15).drop(columns=["applicant_id"])
    inputs = ["age", "income", "debt_ratio", "late_payments", "loan_amount"]
    model = lightgbm.LGBMClassifier(n_estimators=40, verbose=-1, random_state=0)
    model.fit(rows[inputs], rows["approved"])
    result = audit.run(
        data=rows,
        target="approved",
        sensitive="race",
        model=model,
        mitigation={"strategies": []},
        explain={"sample_size": 200},
        fairness={"bootstrap": {"resamples": 200}},
        quality={"allow_errors": True},
    )
    assert result.model.estimator == "LGBMClassifier"
    expected = model.predict_proba(rows[inputs])[:, 1] >= 0.5
    assert result.performance.selection_rate == pytest.approx(expected.mean(), abs=1e-12)
    assert result.explanations.explainer == "tree"
    assert result.explanations.additivity_max_error < 1e-6
