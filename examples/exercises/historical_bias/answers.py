"""Answer key of the historical-bias exercise: computed from the data and the audit's
mitigation comparison."""

from __future__ import annotations

from pathlib import Path

import audit
from audit.exercises import exercise_data

HERE = Path(__file__).parent


def audits() -> audit.AuditResult:
    return audit.run(HERE / "audit.yaml", data=exercise_data("historical_bias")["loans.csv"])


def key() -> dict[str, object]:
    frame = exercise_data("historical_bias")["loans.csv"]
    result = audits()
    options = {s.name: s for s in result.mitigation.strategies}
    gap = {name: s.disparity["value"] for name, s in options.items()}
    closest = min(gap, key=gap.get)
    income = frame.groupby("group")["income"].median()
    return {
        "income_differs": bool(income["B"] < 0.9 * income["A"]),
        "baseline_gap": gap["baseline"],
        "reweighing_gap": gap["reweighing"],
        "reweighing_reduction": gap["baseline"] - gap["reweighing"],
        "reweighing_passes": bool(options["reweighing"].passes_policy),
        "closest_to_parity": closest,
        "accuracy_cost": options["baseline"].accuracy - options[closest].accuracy,
    }
