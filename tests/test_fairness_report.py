"""The report's fairness and verdict sections: intervals, intersections, bins, small groups."""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
from conftest import run_cli

from audit.report.render import figures, render_html


def test_every_verdict_is_shown_with_its_interval(demo_dir, demo_result):
    html = (demo_dir / "report.html").read_text()
    assert demo_result["verdicts"], "the demo has a policy"
    for verdict in demo_result["verdicts"]:
        low, high = verdict["ci"]
        assert f"[{low:.3f}, {high:.3f}]" in html, verdict
        assert f"{verdict['value']:.3f}" in html
    assert 'id="verdicts"' in html and "Policy: <strong>FAIL</strong>" in html
    assert "Intersection: <code>sex × race</code>" in html
    assert "Reference group: <strong>White</strong> (the largest group (default))" in html


def test_bins_small_groups_and_reference_in_the_report(tmp_path):
    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "grp": np.where(np.arange(n) < 12, "tiny", np.where(np.arange(n) % 2, "x", "y")),
            "y": rng.integers(0, 2, n),
            "score": rng.random(n),
        }
    )
    data = tmp_path / "d.csv"
    frame.to_csv(data, index=False)
    config = tmp_path / "audit.yaml"
    config.write_text(
        f"data: {{path: {data}, target: y, sensitive: [grp, age]}}\n"
        "predictions: {score_column: score, threshold: 0.5}\n"
        "fairness: {bins: {age: {edges: [30, 50]}}, reference_groups: {grp: x},"
        " bootstrap: {resamples: 200}}\n"
        "output: {formats: [json, html]}\n"
        "policy: ['grp: selection_rate >= 0.3']\n"
    )
    result = run_cli("run", config, "--out", tmp_path / "out", "--quiet")
    assert result.exit_code in (0, 1), result.output
    html = (tmp_path / "out" / "report.html").read_text()
    assert "is binned by edges: edges 30.000, 50.000; bins &lt; 30 · [30, 50) · ≥ 50" in html
    assert "Reference group: <strong>x</strong> (configured" in html
    assert "Insufficient data (fewer than 30 rows): tiny." in html
    assert html.count("insufficient data</span>") >= 2  # the tiny group in grp and grp × age
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    tiny = next(v for v in saved["verdicts"] if v["group"] == "tiny")
    assert tiny["verdict"] == "insufficient data"
    assert [f["feature"] for f in saved["fairness"]["features"]] == ["grp", "age", "grp × age"]


def test_a_result_from_before_intervals_still_renders(demo_result):
    """results.json files written by the walking skeleton (schema 1.0) re-render."""
    old = copy.deepcopy(demo_result)
    for key in ("verdicts", "policy"):
        old.pop(key)
    old["fairness"].pop("settings")
    kept = (
        "group",
        "n",
        "positives",
        "predicted_positives",
        "selection_rate",
        "tpr",
        "fpr",
        "fnr",
        "precision",
        "accuracy",
    )
    old["fairness"]["features"] = [
        {
            "feature": f["feature"],
            "groups": [{k: g[k] for k in kept} for g in f["groups"]],
            "disparities": [
                {k: d[k] for k in ("metric", "value", "definition")}
                for d in f["disparities"]
                if d["metric"].startswith(("demographic_parity", "equalized_odds"))
            ],
        }
        for f in demo_result["fairness"]["features"][:2]
    ]
    old["performance"].pop("task")
    html = render_html(old, figures(old))
    assert "No policy rules were set" in html
    assert f"{old['fairness']['features'][1]['groups'][0]['selection_rate']:.3f}" in html
