"""`rai-audit compare OLD NEW` and `AuditResult.compare`: what changed between two audits.

Two small audits are written with the CLI from two CSV files of the synthetic credit
scenario: the same seed without and with planted bias, so the new model's verdicts get
worse. Some tests edit a copy of a saved results.json (numbers, verdict words, findings) to
put a value exactly where a case needs it; they say so. The expected outcomes are computed
in the tests from the raw JSON files and hand-written rank tables, never read from the
comparison under test.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

import pytest
from conftest import run_cli

from audit.comparison import compare
from audit.datasets import make_credit
from audit.result import AuditResult

CONFIG = """\
data:
  path: {data}
  target: approved
  sensitive: [sex]
  drop: [applicant_id]
model:
  name: logistic_regression
policy:
  rules:
    - demographic_parity_ratio >= 0.7
    - tpr >= 0.5
quality:
  allow_errors: true
fairness:
  bootstrap:
    resamples: 100
mitigation:
  strategies: []
explain:
  enabled: false
output:
  formats: [json]
"""
# Written here, not imported: pass > inconclusive = insufficient data > fail.
RANK = {"pass": 2, "inconclusive": 1, "insufficient data": 1, "fail": 0}


def _audit(folder: Path, name: str, bias: float) -> Path:
    data = folder / f"{name}.csv"
    make_credit(2000, bias=bias, seed=3).to_csv(data, index=False)
    config = folder / f"{name}.yaml"
    config.write_text(CONFIG.format(data=data.name))
    out = folder / name
    result = run_cli("run", config, "--out", out, "--quiet")
    assert result.exit_code in (0, 1), result.output
    return out


@pytest.fixture(scope="module")
def audits(tmp_path_factory) -> tuple[Path, Path]:
    """The output folders of the old (no planted bias) and the new (bias 2) audit."""
    folder = tmp_path_factory.mktemp("compare")
    return _audit(folder, "old", 0.0), _audit(folder, "new", 2.0)


def _raw(folder: Path) -> dict:
    return json.loads((folder / "results.json").read_text())


def _compare_json(old: Path, new: Path) -> tuple[int, dict]:
    result = run_cli("compare", old, new, "--format", "json")
    assert "Traceback" not in result.output
    return result.exit_code, json.loads(result.stdout)


def _write(path: Path, raw: dict) -> Path:
    path.write_text(json.dumps(raw))
    return path


def test_a_verdict_that_got_worse_exits_1_and_the_reverse_exits_0(audits):
    old, new = audits
    before, after = _raw(old), _raw(new)
    key = lambda v: (v["rule"], v["feature"], v.get("group"))  # noqa: E731
    # By rank, then a verdict that now fails the gate is worse (and the reverse better).
    score = lambda v: (RANK[v["verdict"]], not v["fails_gate"])  # noqa: E731
    old_scores = {key(v): score(v) for v in before["verdicts"]}
    expected = {}
    for v in after["verdicts"]:
        was, now = old_scores[key(v)], score(v)
        expected[key(v)] = "better" if now > was else "worse" if now < was else "same"
    assert "worse" in expected.values(), "the planted bias should make a verdict worse"

    code, comparison = _compare_json(old, new)
    assert code == 1
    assert comparison["worse"] is True
    got = {(v["rule"], v["feature"], v["group"]): v["change"] for v in comparison["verdicts"]}
    assert got == expected
    text = run_cli("compare", old, new)
    assert text.exit_code == 1
    worse = [k for k, change in expected.items() if change == "worse"]
    for rule, feature, group in worse:
        where = feature + (f" = {group}" if group is not None else "")
        assert f"WORSE    {where}: {rule}" in text.stdout
    assert "a policy verdict got worse" in text.stderr

    code, reverse = _compare_json(new, old)
    assert code == 0 and reverse["worse"] is False
    assert {v["change"] for v in reverse["verdicts"]} <= {"better", "same"}


def test_an_audit_compared_with_itself_exits_0_and_nothing_changed(audits):
    old, _ = audits
    result = run_cli("compare", old, old / "results.json")
    assert result.exit_code == 0, result.output
    assert "Nothing changed." in result.stdout
    code, comparison = _compare_json(old, old)
    assert code == 0
    assert comparison["worse"] is False and comparison["changed"] is False
    assert comparison["settings"] == []
    assert not any(f["changed"] for f in comparison["files"])
    assert {v["change"] for v in comparison["verdicts"]} == {"same"}
    n_disparities = sum(len(f["disparities"]) for f in _raw(old)["fairness"]["features"])
    assert len(comparison["disparities"]) == n_disparities > 0
    assert {d["change"] for d in comparison["disparities"]} == {"unchanged"}
    assert {m["change"] for m in comparison["performance"]} == {"unchanged"}
    assert {f["change"] for f in comparison["findings"]} == {"persisting"}


def test_hashes_are_those_of_the_data_files_and_differ_when_the_data_differs(audits):
    old, new = audits
    # The reference: SHA-256 of the CSV files' bytes, computed here.
    old_sha = hashlib.sha256((old.parent / "old.csv").read_bytes()).hexdigest()
    new_sha = hashlib.sha256((new.parent / "new.csv").read_bytes()).hexdigest()
    assert old_sha != new_sha
    _, comparison = _compare_json(old, new)
    data = next(f for f in comparison["files"] if f["role"] == "data")
    assert (data["old_sha256"], data["new_sha256"], data["changed"]) == (old_sha, new_sha, True)
    assert (data["old_path"], data["new_path"]) == ("old.csv", "new.csv")
    assert comparison["old"]["data_sha256"] == old_sha
    text = run_cli("compare", old, new).stdout
    assert f"data     changed {old_sha[:12]}… → {new_sha[:12]}…" in text


def test_disparities_beyond_and_within_noise(audits, tmp_path):
    """NEW is OLD's results.json with four disparities edited by hand: moved out of its new
    interval, moved inside it, moved with an interval unbounded below (holds everything
    below), moved with no interval."""
    old, _ = audits
    before = _raw(old)
    after = copy.deepcopy(before)
    by_metric = {d["metric"]: d for d in after["fairness"]["features"][0]["disparities"]}
    edits = {
        "demographic_parity_difference": (0.2, [0.1, 0.3], "beyond noise"),
        "equalized_odds_difference": (0.01, [-0.05, 0.05], "within noise"),
        "predictive_parity_difference": (0.3, [None, 0.4], "within noise"),
        "fpr_parity_difference": (0.05, None, "no interval"),
    }
    for metric, (shift, ci, _) in edits.items():
        entry = by_metric[metric]
        base = entry["value"]
        entry["value"] = base + shift
        entry["ci"] = None if ci is None else [None if e is None else base + e for e in ci]
    new = _write(tmp_path / "results.json", after)

    code, comparison = _compare_json(old, new)
    assert code == 0  # no verdict changed
    changes = {(d["feature"], d["metric"]): d for d in comparison["disparities"]}
    for metric, (_, _, expected) in edits.items():
        entry = changes[("sex", metric)]
        assert entry["change"] == expected, metric
        # A difference moved further from 0 is away from parity (all four are >= 0 here).
        assert entry["toward_parity"] is (abs(entry["new_value"]) < abs(entry["old_value"]))
    others = {d["change"] for k, d in changes.items() if k[1] not in edits}
    assert others == {"unchanged"}
    text = run_cli("compare", old, new).stdout
    assert "sex: demographic_parity_difference" in text  # listed: beyond noise
    assert "sex: equalized_odds_difference" not in text  # within noise: counted only
    assert "1 beyond noise, 2 within noise, 1 moved (no interval)" in text


def test_real_disparity_movements_follow_the_new_interval(audits):
    """On the two real audits: each disparity is beyond noise exactly when the new interval
    excludes the old value (checked here from the raw files), and both kinds occur."""
    old, new = audits
    before, after = _raw(old), _raw(new)
    expected = {}
    for fa, fb in zip(before["fairness"]["features"], after["fairness"]["features"], strict=True):
        for da, db in zip(fa["disparities"], fb["disparities"], strict=True):
            assert da["metric"] == db["metric"]
            if da["value"] is None or db["value"] is None or db.get("ci") is None:
                continue
            low, high = db["ci"]
            low = float("-inf") if low is None else low
            high = float("inf") if high is None else high
            outside = not low <= da["value"] <= high
            expected[(fb["feature"], db["metric"])] = "beyond noise" if outside else "within noise"
    assert set(expected.values()) == {"beyond noise", "within noise"}
    _, comparison = _compare_json(old, new)
    got = {(d["feature"], d["metric"]): d["change"] for d in comparison["disparities"]}
    for key, change in expected.items():
        assert got[key] == change, key


def test_verdict_order_new_removed_performance_and_findings(audits, tmp_path):
    """NEW is OLD's results.json with verdict words, accuracy and findings edited by hand."""
    old, _ = audits
    before = _raw(old)
    before["verdicts"][0]["verdict"] = "fail"
    before["verdicts"][1]["verdict"] = "inconclusive"
    before["verdicts"][2]["verdict"] = "pass"
    after = copy.deepcopy(before)
    after["verdicts"][0]["verdict"] = "pass"  # fail -> pass: better
    after["verdicts"][1]["verdict"] = "insufficient data"  # neither settled: same
    before["verdicts"][1]["fails_gate"] = after["verdicts"][1]["fails_gate"] = False
    removed = after["verdicts"].pop(2)  # only in OLD: removed, not worse
    added = dict(removed, rule="tpr >= 0.9", bound=0.9, verdict="fail")  # only in NEW: new
    after["verdicts"].append(added)
    accuracy = before["performance"]["accuracy"]
    after["performance"]["accuracy"] = accuracy - 0.1
    after["performance"]["accuracy_ci"] = [accuracy - 0.15, accuracy - 0.05]
    gone = after["quality"]["findings"].pop(0)
    fresh = dict(gone, id="missing_values:made_up", subject="made_up", severity="error")
    after["quality"]["findings"].append(fresh)
    old_file = _write(tmp_path / "old.json", before)
    new_file = _write(tmp_path / "new.json", after)

    code, comparison = _compare_json(old_file, new_file)
    assert code == 0 and comparison["worse"] is False
    changes = [(v["rule"], v["change"]) for v in comparison["verdicts"]]
    assert changes == [
        (before["verdicts"][0]["rule"], "better"),
        (before["verdicts"][1]["rule"], "same"),
        ("tpr >= 0.9", "new"),
        (removed["rule"], "removed"),
    ]
    perf = {m["metric"]: m for m in comparison["performance"]}
    assert perf["accuracy"]["change"] == "beyond noise" and perf["accuracy"]["improved"] is False
    assert perf["roc_auc"]["change"] == "unchanged"
    findings = {f["id"]: f["change"] for f in comparison["findings"]}
    assert findings[gone["id"]] == "resolved" and findings["missing_values:made_up"] == "new"
    assert list(findings.values()).count("persisting") == len(before["quality"]["findings"]) - 1
    text = run_cli("compare", old_file, new_file).stdout
    assert "inconclusive → insufficient data" in text and "fails the gate" not in text

    after["verdicts"][1]["verdict"] = "fail"  # inconclusive -> fail: worse
    code, comparison = _compare_json(old_file, _write(new_file, after))
    assert code == 1 and comparison["verdicts"][1]["change"] == "worse"


def test_the_api_comparison_equals_the_cli_json(audits):
    old, new = audits
    before = AuditResult.load(old / "results.json")
    comparison = before.compare(AuditResult.load(new / "results.json"))
    assert comparison == compare(AuditResult.load(old), AuditResult.load(new))
    _, cli = _compare_json(old, new)
    assert comparison.to_dict() == cli
    assert comparison.worse is True
    assert "verdicts worse" in repr(comparison)
    assert "Audit comparison" in comparison._repr_html_()


def test_the_html_page(audits, tmp_path):
    old, new = audits
    page = tmp_path / "pages" / "compare.html"
    result = run_cli("compare", old, new, "--html", page)
    assert result.exit_code == 1, result.output
    assert f"Wrote {page}" in result.stdout
    html = page.read_text()
    assert html.startswith("<!DOCTYPE html>") and "@font-face" in html
    assert "A verdict got worse" in html
    _, comparison = _compare_json(old, new)
    for d in comparison["disparities"]:
        if d["change"] == "beyond noise":
            # Identifiers carry <wbr> break opportunities (audit/report/wrapping.py).
            assert d["metric"].replace("_", "_<wbr>") in html


@pytest.mark.parametrize(
    "case, phrase",
    [
        ("missing", "Results file not found"),
        ("folder without results", "holds no results.json"),
        ("not json", "is not valid JSON"),
        ("not a result", "is not a rai-audit results file"),
        ("old schema", "has schema_version 1.0"),
        ("incomplete", "is not a complete rai-audit result"),
    ],
)
def test_bad_input_exits_2_with_a_message(audits, tmp_path, case, phrase):
    old, _ = audits
    bad = tmp_path / "bad.json"
    if case == "folder without results":
        bad = tmp_path / "empty"
        bad.mkdir()
    elif case == "not json":
        bad.write_text("{ not json")
    elif case == "not a result":
        bad.write_text('{"hello": 1}')
    elif case == "old schema":
        _write(bad, dict(_raw(old), schema_version="1.0"))
    elif case == "incomplete":
        raw = _raw(old)
        del raw["fairness"]
        _write(bad, raw)
    page = tmp_path / "compare.html"
    for args in ((old, bad), (bad, old)):
        result = run_cli("compare", *args, "--html", page)
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith("Error: ") and phrase in result.stderr
        assert "Traceback" not in result.output
        assert not page.exists()


def test_an_html_path_that_is_a_folder_or_an_input_is_refused(audits, tmp_path):
    old, new = audits
    results = new / "results.json"
    before = results.read_bytes()
    for target, phrase in ((tmp_path, "is a folder"), (results, "is one of the audits")):
        result = run_cli("compare", old, new, "--html", target)
        assert result.exit_code == 2 and phrase in result.stderr, result.output
    assert results.read_bytes() == before


def test_control_characters_from_the_data_never_reach_the_terminal_raw(audits, tmp_path):
    """A finding message (edited by hand) carrying an ESC sequence, as a column name could."""
    old, _ = audits
    after = _raw(old)
    finding = dict(after["quality"]["findings"][0], id="x:\x1b[2J", message="bad \x1b[2J name")
    after["quality"]["findings"].append(finding)
    new = _write(tmp_path / "results.json", after)
    for args in ((), ("--format", "json")):
        result = run_cli("compare", old, new, *args)
        assert result.exit_code == 0 and "\x1b" not in result.stdout
    assert "bad \\x1b[2J name" in run_cli("compare", old, new).stdout
    assert _compare_json(old, new)[1]["findings"][-1]["message"] == "bad \x1b[2J name"


def test_a_verdict_that_now_fails_the_gate_is_worse_though_its_word_is_the_same(audits, tmp_path):
    """OLD and NEW are OLD's results.json edited by hand: one verdict inconclusive in both,
    not failing the gate in OLD, failing it in NEW."""
    old, _ = audits
    before = _raw(old)
    for verdict in before["verdicts"]:
        verdict["verdict"], verdict["fails_gate"] = "pass", False
    before["verdicts"][0]["verdict"] = "inconclusive"
    after = copy.deepcopy(before)
    after["verdicts"][0]["fails_gate"] = True
    old_file = _write(tmp_path / "old.json", before)
    new_file = _write(tmp_path / "new.json", after)
    code, comparison = _compare_json(old_file, new_file)
    assert code == 1 and comparison["worse"] is True
    assert [v["change"] for v in comparison["verdicts"]] == ["worse"] + ["same"] * (
        len(before["verdicts"]) - 1
    )
    text = run_cli("compare", old_file, new_file)
    assert text.exit_code == 1
    assert "inconclusive → inconclusive" in text.stdout and "now fails the gate" in text.stdout
    code, reverse = _compare_json(new_file, old_file)
    assert code == 0 and reverse["verdicts"][0]["change"] == "better"


def test_every_config_key_that_differs_is_listed(audits, tmp_path):
    """The same data, config and seed, re-run with --compliance into another folder: the
    one difference is compliance.rules (output.dir says where, not how; not listed)."""
    old, _ = audits
    config = old.parent / "old.yaml"
    out = tmp_path / "with-compliance"
    done = run_cli("run", config, "--out", out, "--compliance", "eeoc_uniform_guidelines", "-q")
    assert done.exit_code in (0, 1), done.output
    before, after = _raw(old)["config"], _raw(out)["config"]
    assert before["output"]["dir"] != after["output"]["dir"]
    code, comparison = _compare_json(old, out)
    assert code == 0
    assert comparison["settings"] == [
        {"name": "compliance.rules", "old": [], "new": ["eeoc_uniform_guidelines"]}
    ]
    assert comparison["changed"] is True
    text = run_cli("compare", old, out).stdout
    assert "compliance.rules" in text and "Nothing changed" not in text


def test_float_noise_in_a_verdict_is_no_change(audits, tmp_path):
    """NEW is OLD's results.json with one verdict's value and interval moved by 1e-15
    (relative): the noise `movement` ignores is no change here either; 1e-3 is one."""
    old, _ = audits
    before = _raw(old)
    index = next(i for i, v in enumerate(before["verdicts"]) if v["value"] and v["ci"])
    after = copy.deepcopy(before)
    verdict = after["verdicts"][index]
    verdict["value"] *= 1 + 1e-15
    verdict["ci"] = [end * (1 + 1e-15) for end in verdict["ci"]]
    assert verdict["value"] != before["verdicts"][index]["value"]  # a different float
    old_file = _write(tmp_path / "old.json", before)
    code, comparison = _compare_json(old_file, _write(tmp_path / "noise.json", after))
    assert code == 0 and comparison["changed"] is False, comparison["verdicts"][index]
    verdict["value"] = before["verdicts"][index]["value"] * (1 + 1e-3)
    code, comparison = _compare_json(old_file, _write(tmp_path / "moved.json", after))
    assert code == 0 and comparison["changed"] is True


def test_the_api_compares_with_a_path_and_names_a_wrong_type(audits):
    old, new = audits
    before = AuditResult.load(old / "results.json")
    expected = compare(before, AuditResult.load(new / "results.json"))
    assert before.compare(new) == expected  # the folder
    assert before.compare(str(new / "results.json")) == expected  # a results.json, as text
    with pytest.raises(TypeError, match="compare\\(\\) takes an AuditResult, or the path"):
        before.compare(42)
