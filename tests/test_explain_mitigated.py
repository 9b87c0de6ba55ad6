"""Mitigated models in the explanations: retrained ones explained like the baseline,
post-processed ones as the baseline, pointing to their per-group rules."""

from __future__ import annotations

import pytest


def variants(result: dict) -> dict[str, dict]:
    return {v["label"]: v for v in result["explanations"]["variants"]}


def test_reweighed_model_is_explained_like_the_baseline(demo_result):
    reweighed = variants(demo_result)["Reweighing (Kamiran & Calders)"]
    baseline = demo_result["explanations"]
    assert reweighed["status"] == "explained"
    assert reweighed["explainer"] == baseline["explainer"] == "tree"
    assert reweighed["additivity_max_error"] < 1e-6
    shares = [f["share"] for f in reweighed["features"]]
    assert sum(shares) == pytest.approx(1.0, abs=1e-6)
    assert {f["feature"] for f in reweighed["features"]} == {
        f["feature"] for f in baseline["features"]
    }


def test_threshold_optimizer_variant_points_to_its_rules(demo_result):
    # The rules are the mitigation result's, stated once: the variant holds no copy.
    by_name = {s["name"]: s for s in demo_result["mitigation"]["strategies"]}
    for name, strategy in by_name.items():
        if not name.startswith("threshold_optimizer"):
            continue
        variant = variants(demo_result)[strategy["label"]]
        assert variant["status"] == "base_model"
        assert "postprocessing" not in variant
        assert strategy["details"]["rules"]


def test_variants_appear_in_the_html(demo_dir):
    html = (demo_dir / "report.html").read_text()
    assert "Mitigated models" in html
    assert html.count("<summary>Decision rules by group</summary>") == 3  # one per strategy
    assert 'href="#mitigation-rules-threshold_optimizer-equalized_odds"' in html
    assert 'id="mitigation-rules-threshold_optimizer-equalized_odds"' in html
