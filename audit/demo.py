"""The demo: synthetic credit data and an example audit.yaml, written where the user can see them.

The demo runs from real files (not an in-memory frame) so that its report has a
data hash like any other audit, and so the user can re-run or edit the exact
config it used.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import yaml

from audit.datasets import SCENARIOS, make_scenario
from audit.outputs import write_file_atomically
from audit.vocabulary.compliance import NYC_LL144

# The demo's policy: the four-fifths rule on selection rates, and equalized odds within 0.1.
# With the planted bias (1.0 log-odds against Black and Hispanic applicants) the first rule
# fails for race and sex × race — so `rai-audit demo` exits with code 1, as a CI gate would —
# and the second is inconclusive: its intervals straddle 0.1.
DEMO_POLICY = ["demographic_parity_ratio >= 0.8", "equalized_odds_difference <= 0.1"]
CONFIG_FILE = "audit.yaml"
DATA_FILE = "data/credit.csv"  # relative to the config, as a user would write it


def demo_config(model: str, seed: int, compliance: list[str] | None = None) -> dict:
    scenario = SCENARIOS["credit"]
    config = {
        "data": {
            "path": DATA_FILE,
            "target": scenario.target,
            "positive_label": scenario.positive_label,
            "sensitive": list(scenario.sensitive),
            "drop": list(scenario.id_columns),
        },
        "model": {"name": model},
        "split": {"test_size": 0.3, "stratify": True},
        "output": {"dir": ".", "formats": ["json", "html", "pdf"]},
        "mitigation": {"strategies": ["all"]},
        "policy": {"rules": list(DEMO_POLICY)},
        "seed": seed,
        # The demo's planted data defects are warnings, so no quality override is needed.
        "model_card": {
            "name": "Synthetic credit approval model (rai-audit demo)",
            "intended_use": "Showing what a rai-audit report contains, on synthetic data.",
            "out_of_scope_uses": [
                "Any decision about a real applicant.",
                "Comparing credit-scoring methods: the data and its bias are simulated.",
            ],
            "caveats_and_recommendations": (
                "The labels carry a planted bias against female, Black and Hispanic "
                "applicants; the audit is expected to find it."
            ),
        },
        "datasheet": {
            "motivation": "Built into rai-audit to demonstrate an audit with known problems.",
            "collection": (
                f"Simulated by rai-audit's synthetic credit scenario (seed {seed}); no real "
                "person's data."
            ),
        },
    }
    if compliance:
        config["compliance"] = {"rules": list(compliance)}
        if NYC_LL144 in compliance:
            config["compliance"][NYC_LL144] = demo_ll144_settings()
    return config


def demo_ll144_settings() -> dict:
    """Local Law 144 settings for the demo's data (`rai-audit demo --compliance nyc_ll144`):
    the credit scenario's sex and race columns mapped to EEO-1 categories ("Other" is none
    of them: mapped to null, it is counted as unknown)."""
    today = date.today().isoformat()
    return {
        "audit_date": today,
        "distribution_date": today,
        "data_source": {
            "kind": "test",
            "description": "synthetic data made by rai-audit demo (no real applicants), to "
            "show the Local Law 144 tables",
        },
        "sex": "sex",
        "race_ethnicity": "race",
        "categories": {
            "sex": {"male": "Male", "female": "Female"},
            "race": {
                "White": "White",
                "Black": "Black or African American",
                "Hispanic": "Hispanic or Latino",
                "Asian": "Asian",
                "Other": None,
            },
        },
    }


def demo_files(
    rows: int, bias: float, model: str, seed: int, compliance: list[str] | None = None
) -> dict[str, bytes]:
    """The demo's data and config, keyed by their paths in the output folder."""
    frame = make_scenario("credit", n_rows=rows, bias=bias, seed=seed)
    header = (
        "# Written by `rai-audit demo`: the audit it ran. Re-run with `rai-audit run audit.yaml`.\n"
        f"# Data: synthetic credit scenario, {rows} rows, injected bias {bias} (log-odds).\n"
        "# Policy: each rule is checked against its 95% interval on every sensitive feature and\n"
        "# intersection; a failed rule makes the run exit with code 1; outputs are still written.\n"
    )
    config = header + yaml.safe_dump(demo_config(model, seed, compliance), sort_keys=False)
    return {
        DATA_FILE: frame.to_csv(index=False).encode("utf-8"),
        CONFIG_FILE: config.encode("utf-8"),
    }


def prepare_demo(out: Path, rows: int, bias: float, model: str, seed: int) -> Path:
    """Write ``out/data/credit.csv`` and ``out/audit.yaml``; return the config path.

    (The CLI writes the same files through its output folder; this is for scripts.)
    """
    for name, content in demo_files(rows, bias, model, seed).items():
        write_file_atomically(out / name, content)
    return out / CONFIG_FILE
