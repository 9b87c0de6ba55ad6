"""Policy rules and verdicts: constructed clear pass / clear fail / inconclusive / too small,
and the exit codes, console report and JUnit XML through the CLI."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli

from audit.config import PolicyConfig, PolicyRule, build_config
from audit.errors import AuditError
from audit.metrics import measure
from audit.metrics.verdicts import decide, summarize


def rows(group: str, n: int, selected: int, positives: int, true_positives: int) -> pd.DataFrame:
    """``n`` rows of ``group``: ``selected`` predicted positive, ``positives`` with y = 1, of
    which ``true_positives`` are also predicted positive (exact counts, no randomness)."""
    y = np.zeros(n, dtype=int)
    pred = np.zeros(n, dtype=int)
    y[:positives] = 1
    pred[:true_positives] = 1
    pred[positives : positives + selected - true_positives] = 1
    return pd.DataFrame({"grp": group, "y": y, "pred": pred})


def table(*parts: pd.DataFrame) -> pd.DataFrame:
    return pd.concat(parts, ignore_index=True)


# Selection rates 0.5 vs 0.48: demographic parity ratio 0.96, tight interval -> pass.
FAIR = table(rows("a", 3000, 1500, 1500, 1200), rows("b", 3000, 1440, 1500, 1150))
# 0.5 vs 0.2: ratio 0.4 -> fail.
UNFAIR = table(rows("a", 3000, 1500, 1500, 1200), rows("b", 3000, 600, 1500, 500))
# A 40-row group at 0.35 vs 0.5: ratio 0.7, but the interval is wide -> inconclusive.
SMALL = table(rows("a", 3000, 1500, 1500, 1200), rows("b", 40, 14, 20, 10))
# A 10-row group: below the minimum of 30 -> no verdict.
TINY = table(rows("a", 3000, 1500, 1500, 1200), rows("b", 10, 2, 5, 1))


def verdicts_for(frame: pd.DataFrame, rules, gate: str = "default", **fairness):
    config = build_config(
        None, {"policy": {"rules": rules, "gate": gate}, "fairness": fairness, "seed": 3}
    )
    return measure(
        frame["y"].to_numpy(),
        frame["pred"].to_numpy(),
        None,
        frame[["grp"]],
        config.fairness,
        config.policy,
    )


@pytest.mark.parametrize(
    "frame, expected",
    [(FAIR, "pass"), (UNFAIR, "fail"), (SMALL, "inconclusive"), (TINY, "insufficient data")],
)
def test_constructed_cases(frame, expected):
    measured = verdicts_for(frame, ["demographic_parity_ratio >= 0.8"])
    (verdict,) = measured["verdicts"]
    assert verdict["verdict"] == expected, verdict
    assert verdict["rule"] == "demographic_parity_ratio >= 0.8"
    assert verdict["feature"] == "grp"
    if expected != "insufficient data":
        low, high = verdict["ci"]
        assert low <= verdict["value"] <= high
    if expected == "pass":
        assert verdict["value"] == pytest.approx(0.48 / 0.5) and low >= 0.8
    if expected == "fail":
        assert verdict["value"] == pytest.approx(0.4) and high < 0.8
    if expected == "inconclusive":
        assert verdict["value"] == pytest.approx(0.35 / 0.5) and low < 0.8 <= high
    if expected == "insufficient data":
        group = next(g for g in measured["fairness"][0]["groups"] if g["group"] == "b")
        assert group["insufficient"] and group["n"] == 10
        assert measured["fairness"][0]["insufficient_groups"] == ["b"]


def test_overall_status_under_each_gate():
    rules = ["demographic_parity_ratio >= 0.8"]
    # SMALL is inconclusive with a point estimate of 0.7, which violates >= 0.8.
    default = verdicts_for(SMALL, rules)
    assert default["verdicts"][0]["verdict"] == "inconclusive"
    assert default["verdicts"][0]["point_violates"] and default["verdicts"][0]["fails_gate"]
    assert default["policy"]["status"] == "fail" and default["policy"]["exit_code"] == 1
    assert default["policy"]["gate"] == "default"
    conclusive = verdicts_for(SMALL, rules, gate="conclusive")["policy"]
    assert conclusive["status"] == "inconclusive" and conclusive["exit_code"] == 0
    strict = verdicts_for(SMALL, rules, gate="strict")["policy"]
    assert strict["status"] == "fail" and strict["exit_code"] == 1 and strict["failing"] == [0]
    assert verdicts_for(TINY, rules, gate="strict")["policy"]["status"] == "fail"
    assert verdicts_for(TINY, rules)["policy"]["status"] == "inconclusive"
    assert verdicts_for(FAIR, rules, gate="strict")["policy"]["status"] == "pass"
    unfair = verdicts_for(UNFAIR, rules)["policy"]
    assert unfair["status"] == "fail" and unfair["counts"]["fail"] == 1
    assert verdicts_for(FAIR, [])["policy"]["status"] == "no rules"


def test_group_metric_rule_gives_one_verdict_per_group():
    # TPR: a 1200/1500 = 0.8; b 10/20 (40 rows, but only 20 positives); a tiny group c;
    # d 24/60 = 0.4 (100 rows, 60 positives).
    frame = table(SMALL, rows("c", 12, 6, 6, 5), rows("d", 100, 30, 60, 24))
    measured = verdicts_for(frame, ["grp: tpr >= 0.6"])
    by_group = {v["group"]: v for v in measured["verdicts"]}
    assert by_group["a"]["verdict"] == "pass"
    assert by_group["d"]["verdict"] == "fail" and by_group["d"]["value"] == pytest.approx(0.4)
    assert by_group["d"]["groups_behind"] == "d"
    assert by_group["b"]["verdict"] == "insufficient data"
    assert by_group["b"]["value"] == pytest.approx(0.5)
    assert "20 actual positives (y = 1)" in by_group["b"]["reason"]
    assert by_group["c"]["verdict"] == "insufficient data"
    assert "fewer than the minimum of 30" in by_group["c"]["reason"]


def test_rules_per_feature_and_intersection():
    frame = UNFAIR.assign(sex=np.resize(["f", "m"], len(UNFAIR)))
    config = build_config(
        None,
        {"policy": ["sex: demographic_parity_ratio >= 0.8", "equalized_odds_difference <= 0.1"]},
    )
    out = measure(
        frame["y"].to_numpy(),
        frame["pred"].to_numpy(),
        None,
        frame[["grp", "sex"]],
        config.fairness,
        config.policy,
    )
    pairs = [(v["feature"], v["metric"]) for v in out["verdicts"]]
    assert pairs == [
        ("sex", "demographic_parity_ratio"),
        ("grp", "equalized_odds_difference"),
        ("sex", "equalized_odds_difference"),
        ("grp × sex", "equalized_odds_difference"),
    ]
    config = build_config(None, {"policy": ["sex*grp: demographic_parity_ratio >= 0.8"]})
    with pytest.raises(AuditError, match="'sex × grp', which was not audited.*'grp × sex'"):
        measure(
            frame["y"].to_numpy(),
            frame["pred"].to_numpy(),
            None,
            frame[["grp", "sex"]],
            config.fairness,
            config.policy,
        )


def test_rule_on_a_metric_the_audit_does_not_compute():
    config = build_config(None, {"policy": ["roc_auc_difference <= 0.05"]})
    with pytest.raises(AuditError, match="needs scores"):
        measure(
            FAIR["y"].to_numpy(),
            FAIR["pred"].to_numpy(),
            None,
            FAIR[["grp"]],
            config.fairness,
            config.policy,
        )


@pytest.mark.parametrize(
    "op, bound, ci, expected",
    [
        (">=", 0.8, [0.85, 0.95], "pass"),
        (">=", 0.8, [0.60, 0.79], "fail"),
        (">=", 0.8, [0.70, 0.90], "inconclusive"),
        (">=", 0.8, [0.80, 0.90], "pass"),  # the bound itself satisfies >=
        (">", 0.8, [0.80, 0.90], "inconclusive"),
        ("<=", 0.1, [0.02, 0.09], "pass"),
        ("<=", 0.1, [0.11, 0.30], "fail"),
        ("<", 0.1, [0.05, 0.10], "inconclusive"),
    ],
)
def test_decide(op, bound, ci, expected):
    assert decide(op, bound, sum(ci) / 2, ci)[0] == expected


def test_decide_without_value_or_interval():
    assert decide(">=", 0.8, None, None)[0] == "inconclusive"
    # No interval: the verdict follows the point estimate and says so.
    verdict, reason = decide(">=", 0.8, 0.9, None)
    assert verdict == "pass" and reason.startswith("no interval") and "point estimate" in reason
    verdict, reason = decide(">=", 0.8, 0.3, None, no_interval="no interval: undefined in 9%")
    assert verdict == "fail" and reason.startswith("no interval: undefined in 9%")
    verdict, reason = decide(">=", 0.8, 0.3, None, intervals=False)
    assert verdict == "fail" and reason.startswith("no interval: intervals are turned off")


def test_rule_text_forms_and_validation():
    rule = PolicyRule.model_validate("race : equalized_odds_difference<=0.1")
    assert (rule.feature, rule.metric, rule.op, rule.bound) == (
        "race",
        "equalized_odds_difference",
        "<=",
        0.1,
    )
    policy = PolicyConfig.model_validate(["demographic_parity_ratio >= 0.8"])
    assert policy.rules[0].metric == "demographic_parity_ratio" and policy.rules[0].feature is None
    with pytest.raises(AuditError, match="Did you mean demographic_parity_ratio"):
        build_config(None, {"policy": ["demographic_parity_ration >= 0.8"]})
    with pytest.raises(AuditError, match="cannot read rule"):
        build_config(None, {"policy": ["demographic_parity_ratio is high"]})
    assert summarize([], PolicyConfig())["status"] == "no rules"


# --- through the CLI ---------------------------------------------------------------


@pytest.fixture
def csv_of(tmp_path):
    def write(frame: pd.DataFrame) -> str:
        path = tmp_path / "decisions.csv"
        frame.to_csv(path, index=False)
        return str(path)

    return write


def audit(tmp_path, data, *extra):
    out = tmp_path / "out"
    args = [
        "run",
        "--data",
        data,
        "--target",
        "y",
        "--prediction-column",
        "pred",
        "--sensitive",
        "grp",
        "--format",
        "json",
        "--out",
        out,
        *extra,
    ]
    return run_cli(*args), out


def test_cli_exit_1_when_a_rule_fails_and_outputs_are_written(tmp_path, csv_of):
    result, out = audit(tmp_path, csv_of(UNFAIR), "--fail-on", "demographic_parity_ratio>=0.8")
    assert result.exit_code == 1, result.output
    saved = json.loads((out / "results.json").read_text())
    assert saved["policy"]["status"] == "fail"
    assert saved["verdicts"][0]["verdict"] == "fail"
    assert "FAIL" in result.output and "demographic_parity_ratio >= 0.8" in result.output
    assert "Traceback" not in result.output


def test_cli_exit_0_when_rules_pass(tmp_path, csv_of):
    result, _ = audit(tmp_path, csv_of(FAIR), "--fail-on", "demographic_parity_ratio>=0.8")
    assert result.exit_code == 0, result.output


def test_cli_strict_fails_inconclusive(tmp_path, csv_of):
    result, out = audit(
        tmp_path, csv_of(SMALL), "--fail-on", "demographic_parity_ratio>=0.8", "--strict"
    )
    assert result.exit_code == 1, result.output
    assert json.loads((out / "results.json").read_text())["policy"]["gate"] == "strict"


def test_cli_bad_rule_exits_2_and_writes_nothing(tmp_path, csv_of):
    result, out = audit(tmp_path, csv_of(FAIR), "--fail-on", "demographic_parity_ratio ~ 0.8")
    assert result.exit_code == 2
    assert "--fail-on" in result.output and "cannot read rule" in result.output
    assert not out.exists()
    result, out = audit(tmp_path, csv_of(FAIR), "--fail-on", "race: demographic_parity_ratio>=0.8")
    assert result.exit_code == 2 and "'race', which was not audited" in result.output
    assert not out.exists() or not any(out.iterdir())


def test_cli_junit_xml(tmp_path, csv_of):
    junit = tmp_path / "reports" / "policy.xml"
    result, _ = audit(
        tmp_path,
        csv_of(table(UNFAIR, rows("c", 40, 12, 20, 8))),
        "--fail-on",
        "demographic_parity_ratio>=0.8",
        "--fail-on",
        "grp: tpr >= 0.5",
        "--junit",
        junit,
    )
    assert result.exit_code == 1, result.output
    suite = ET.parse(junit).getroot().find("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == 1 + 3  # one disparity verdict, three group verdicts
    assert suite.get("tests") == "4"
    failed = [c.get("name") for c in cases if c.find("failure") is not None]
    assert "grp: demographic_parity_ratio >= 0.8" in failed
    assert int(suite.get("failures")) == len(failed)
    message = cases[0].find("failure").get("message")
    assert "interval [" in message


def test_policy_from_the_config_file(tmp_path, csv_of):
    data = csv_of(UNFAIR)
    config = tmp_path / "audit.yaml"
    config.write_text(
        f"data: {{path: {data}, target: y, sensitive: [grp]}}\n"
        "predictions: {prediction_column: pred}\n"
        "output: {formats: [json]}\n"
        "fairness: {bootstrap: {resamples: 200}}\n"
        "policy:\n"
        "  strict: false\n"
        "  junit: junit.xml\n"
        "  rules:\n"
        "    - {metric: equal_opportunity_difference, op: '<=', bound: 0.5}\n"
        "    - grp: disparate_impact >= 0.8\n"
    )
    result = run_cli("run", config, "--out", tmp_path / "out", "--quiet")
    assert result.exit_code == 1, result.output
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert [v["verdict"] for v in saved["verdicts"]] == ["pass", "fail"]
    assert saved["policy"]["rules"] == [
        "equal_opportunity_difference <= 0.5",
        "grp: disparate_impact >= 0.8",
    ]
    assert (tmp_path / "junit.xml").is_file()  # relative to the config file


def test_demo_gates_only_when_asked(demo_result, tmp_path):
    """The demo's own policy is an example (it fails, the demo exits 0); a rule given on the
    command line makes the demo a gate like `run` (exit 1 when it fails)."""
    assert demo_result["policy"]["status"] == "fail"
    result = run_cli(
        "demo",
        "--out",
        tmp_path,
        "--rows",
        "3000",
        "--format",
        "json",
        "--mitigate",
        "none",
        "--fail-on",
        "demographic_parity_ratio>=0.99",
        "--quiet",
    )
    assert result.exit_code == 1, result.output
    assert "Exit code 1: the policy failed" in result.output
