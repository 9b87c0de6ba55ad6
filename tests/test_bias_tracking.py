"""The audit finds what was planted: the measured gap follows the injected bias."""

from __future__ import annotations

from audit.config import build_config
from audit.datasets import make_scenario
from audit.pipeline import run_audit


def measured_gap(tmp_path, bias: float) -> float:
    path = tmp_path / f"credit-{bias}.csv"
    make_scenario("credit", n_rows=20_000, bias=bias, seed=1).to_csv(path, index=False)
    config = build_config(
        None,
        {
            "data": {
                "path": path,
                "target": "approved",
                "sensitive": ["race"],
                "drop": ["applicant_id"],
            },
            "model": {"name": "logistic_regression"},
            "mitigation": {"strategies": ["none"]},
            "seed": 1,
        },
    )
    race = run_audit(config).to_dict()["fairness"]["features"][0]
    return next(
        d["value"] for d in race["disparities"] if d["metric"] == "demographic_parity_difference"
    )


def test_demographic_parity_gap_tracks_injected_bias(tmp_path):
    gaps = [measured_gap(tmp_path, bias) for bias in (0.0, 1.0, 2.0)]
    # With no bias the features carry no group signal: only sampling noise across 5 groups
    # (the smallest, "Other", has ~120 test rows) separates the selection rates.
    assert gaps[0] < 0.07
    assert gaps[0] < gaps[1] < gaps[2]
    assert gaps[2] > 3 * gaps[0]
