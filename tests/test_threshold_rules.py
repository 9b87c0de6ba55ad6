"""A threshold optimizer's per-group decision rules: described completely (the constant
part included), stored once (the mitigation result) and shown once in the report.

The reference is fairlearn's own fitted ``interpolated_thresholder_.interpolation_dict``
and its ``_pmf_predict``."""

from __future__ import annotations

import html
import json
import re
import subprocess

import numpy as np
import pandas as pd
import pytest
from conftest import needs_tools, run_cli
from fairlearn.postprocessing import ThresholdOptimizer
from sklearn.linear_model import LogisticRegression

from audit.datasets import make_scenario
from audit.result import AuditResult
from audit.threshold_rules import describe_rules, interpolation_plan


def fitted_optimizer(constraints: str) -> tuple[ThresholdOptimizer, pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(3)
    n = 3000
    group = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    x = rng.normal(size=(n, 2)) + np.where(group == "a", 0.8, 0.0)[:, None]
    y = (x[:, 0] + rng.normal(scale=1.5, size=n) > 0.5).astype(int)
    X = pd.DataFrame(x, columns=["x0", "x1"])
    base = LogisticRegression().fit(X, y)
    optimizer = ThresholdOptimizer(
        estimator=base, constraints=constraints, prefit=True, predict_method="predict_proba"
    ).fit(X, y, sensitive_features=group)
    return optimizer, X, group


def pmf_from_description(groups: list[dict], scores: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """P(positive) for each row, computed from nothing but the described rules."""
    by_group = {g["group"]: g for g in groups}
    out = np.zeros(len(scores))
    for i, (score, key) in enumerate(zip(scores, keys, strict=True)):
        rule = by_group[key]
        for part in rule["rules"]:
            positive = (
                score > part["threshold"] if part["operator"] == ">" else score < part["threshold"]
            )
            out[i] += part["probability"] * positive
        if rule["constant"]:
            out[i] += rule["constant"]["probability"] * rule["constant"]["positive_rate"]
    return out


@pytest.mark.parametrize("constraints", ["demographic_parity", "equalized_odds"])
def test_the_description_decides_as_fairlearn_does(constraints):
    optimizer, X, group = fitted_optimizer(constraints)
    interpolation = optimizer.interpolated_thresholder_.interpolation_dict
    groups = describe_rules(interpolation_plan(interpolation))
    assert [g["group"] for g in groups] == sorted(str(k) for k in interpolation)
    for g in groups:
        b = interpolation[g["group"]]
        p_ignore = b.get("p_ignore", 0.0)
        total = sum(r["probability"] for r in g["rules"])
        total += g["constant"]["probability"] if g["constant"] else 0.0
        assert total == pytest.approx(1.0, abs=1e-9)  # every part of the rule is there
        if p_ignore > 0:
            assert g["constant"]["probability"] == pytest.approx(p_ignore, abs=1e-12)
            assert g["constant"]["positive_rate"] == pytest.approx(
                b["prediction_constant"], abs=1e-12
            )
        else:
            assert g["constant"] is None
    scores = optimizer.estimator_.predict_proba(X)[:, 1]
    expected = optimizer._pmf_predict(X, sensitive_features=group)[:, 1]
    assert pmf_from_description(groups, scores, group) == pytest.approx(expected, abs=1e-9)
    if constraints == "equalized_odds":  # the case the reviewer found incomplete
        assert any(interpolation[k].get("p_ignore", 0.0) > 0 for k in interpolation)


def rule_text(b) -> str:
    """One group's rule as the report states it, built from fairlearn's interpolation."""
    p_ignore = b.get("p_ignore", 0.0)
    parts = []
    for p, op in ((b.p0, b.operation0), (b.p1, b.operation1)):
        if p <= 0 or p_ignore >= 1:
            continue
        if np.isinf(op.threshold):
            always = (op.operator == ">") == (op.threshold < 0)
            what = "positive" if always else "negative"
            parts.append(f"with probability {(1 - p_ignore) * p:.3f}: {what} whatever the score")
        else:
            parts.append(
                f"with probability {(1 - p_ignore) * p:.3f}: positive when score "
                f"{op.operator} {op.threshold:.4f}"
            )
    if p_ignore > 0:
        parts.append(
            f"with probability {p_ignore:.3f}: positive with probability "
            f"{b['prediction_constant']:.3f} whatever the score"
        )
    return "; ".join(parts)


@pytest.fixture(scope="module")
def demo_with_optimizers(tmp_path_factory, monkeypatch_module):
    """The demo, with every ThresholdOptimizer it fits kept to compare with."""
    fitted = []
    original = ThresholdOptimizer.fit

    def keep(self, *args, **kwargs):
        fitted.append(self)
        return original(self, *args, **kwargs)

    monkeypatch_module.setattr(ThresholdOptimizer, "fit", keep)
    out = tmp_path_factory.mktemp("demo_rules")
    result = run_cli("demo", "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    return out, fitted


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def expected_rules(out, fitted) -> dict[str, list[str]]:
    """Each threshold strategy's rules (group -> text), matched to its fitted optimizer."""
    strategies = json.loads((out / "results.json").read_text())["mitigation"]["strategies"]
    shown = [s for s in strategies if "rules" in s["details"]]
    assert len(shown) == len(fitted) == 3  # the demo's default set: one fit each, no folds
    by_constraint = {str(o.constraints): o for o in fitted}
    return {
        s["name"]: {
            str(g): rule_text(b)
            for g, b in by_constraint[
                s["name"].split(":")[1]
            ].interpolated_thresholder_.interpolation_dict.items()
        }
        for s in shown
    }


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_the_demo_report_shows_each_rule_once_and_complete(demo_with_optimizers):
    out, fitted = demo_with_optimizers
    expected = expected_rules(out, fitted)
    texts = [t for rules in expected.values() for t in rules.values()]
    assert any("whatever the score" in t for t in texts)  # a constant part to show
    page = (out / "report.html").read_text().replace("<wbr>", "")
    page = flat(html.unescape(re.sub(r"<[^>]+>", " ", page)))
    assert_each_rule_once(page, expected)
    needs_tools("pdftotext")
    pdfs = [out / name for name in ("report.pdf", "report-annex.pdf") if (out / name).exists()]
    pdf_text = " ".join(
        subprocess.run(["pdftotext", pdf, "-"], check=True, capture_output=True, text=True).stdout
        for pdf in pdfs
    )
    assert_each_rule_once(flat(pdf_text), expected)


def assert_each_rule_once(text: str, expected: dict[str, dict[str, str]]) -> None:
    """Each part of each rule, and each of its thresholds, as often as the rules hold it
    (once, unless two strategies share it): a table cell may wrap, so parts count alone."""
    texts = [t for rules in expected.values() for t in rules.values()]
    for name, rules in expected.items():
        for group, rule in rules.items():
            for part in rule.split("; "):
                same = sum(t.split("; ").count(part) for t in texts)
                assert text.count(part) == same, (name, group, part)
            for threshold in re.findall(r"score [<>] [\d.]+", rule):
                same = sum(len(re.findall(re.escape(threshold), t)) for t in texts)
                assert text.count(threshold) == same, (name, group, threshold)


def test_an_older_result_keeps_its_rules_in_one_place(demo_with_optimizers):
    """A results.json written before the rules were one field is read with them moved."""
    out, _ = demo_with_optimizers
    raw = json.loads((out / "results.json").read_text())
    current = {
        s["label"]: s["details"]["rules"]
        for s in raw["mitigation"]["strategies"]
        if "rules" in s["details"]
    }
    for s in raw["mitigation"]["strategies"]:  # rewrite it as the older version wrote it
        if "rules" not in s["details"]:
            continue
        rules = s["details"].pop("rules")
        s["details"]["thresholds"] = [older_entry(g) for g in rules]
        variant = next(v for v in raw["explanations"]["variants"] if v["label"] == s["label"])
        variant["postprocessing"] = {"groups": rules}
    read = AuditResult.from_dict(raw).to_dict()
    for s in read["mitigation"]["strategies"]:
        if s["label"] not in current:
            continue
        assert "thresholds" not in s["details"]
        for old, new in zip(s["details"]["rules"], current[s["label"]], strict=True):
            assert old["group"] == new["group"]
            assert old["constant"] == new["constant"]
            for a, b in zip(old["rules"], new["rules"], strict=True):
                assert a["probability"] == pytest.approx(b["probability"], abs=1e-9)
                assert a["operator"] == b["operator"]
                if b["threshold"] is not None:  # the older text kept 4 significant digits
                    assert a["threshold"] == pytest.approx(b["threshold"], rel=1e-3)
    assert not any(v.get("postprocessing") for v in read["explanations"]["variants"])


def older_entry(group: dict) -> dict:
    """The older ``details.thresholds`` entry (threshold parts only, as text)."""
    p_ignore = group["constant"]["probability"] if group["constant"] else 0.0
    parts = [(r["probability"] / (1 - p_ignore), r) for r in group["rules"]]
    parts += [(0.0, {"operator": ">", "threshold": 1.0})] * (2 - len(parts))
    entry = {"group": group["group"], "p_ignore": p_ignore}
    for k, (p, r) in enumerate(parts):
        threshold = r["threshold"] if r["threshold"] is not None else np.inf
        entry[f"p{k}"] = p
        entry[f"rule{k}"] = f"score {r['operator']} {threshold:.4g}"
    return entry


def test_the_rules_are_reported_without_explanations(tmp_path, monkeypatch):
    """They are the mitigation result's, so switching explanations off keeps them."""
    fitted = []
    original = ThresholdOptimizer.fit

    def keep(self, *args, **kwargs):
        fitted.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ThresholdOptimizer, "fit", keep)
    make_scenario("credit", n_rows=3000, bias=2.0, seed=3).to_csv(tmp_path / "credit.csv")
    (tmp_path / "audit.yaml").write_text(
        "data: {path: credit.csv, target: approved, sensitive: [sex], drop: [applicant_id]}\n"
        "model: {name: logistic_regression}\n"
        "mitigation: {strategies: [threshold_optimizer:equalized_odds]}\n"
        "explain: {enabled: false}\n"
        "fairness: {bootstrap: {resamples: 0}}\n"
        "output: {dir: out, formats: [json, html]}\n"
    )
    result = run_cli("run", tmp_path / "audit.yaml", "--quiet")
    assert result.exit_code in (0, 1), result.output
    (optimizer,) = fitted
    interpolation = optimizer.interpolated_thresholder_.interpolation_dict
    page = (tmp_path / "out" / "report.html").read_text().replace("<wbr>", "")
    page = flat(html.unescape(re.sub(r"<[^>]+>", " ", page)))
    assert "No explanations were computed" in page or "not computed" in page
    for group, b in interpolation.items():
        assert page.count(f"{group} {rule_text(b)}") == 1, group
