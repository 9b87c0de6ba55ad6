"""The CLI starts fast: scipy.stats and scikit-learn (seconds to import on a busy machine)
are imported only by the stages that use them, never by ``import audit.cli`` nor by a
predictions-only audit counted by DuckDB. Checked in a fresh interpreter (sys.modules of
this test process already holds everything the suite imported)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from audit.metrics.performance import z_value

HEAVY = ["scipy.stats", "scipy.optimize", "sklearn", "skops", "matplotlib", "weasyprint"]


def _imported_after(code: str) -> list[str]:
    """The heavy modules in sys.modules after running ``code`` in a new interpreter."""
    script = (
        code + f"\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_the_cli_imports_no_scipy_stats_nor_sklearn():
    assert _imported_after("import audit.cli") == []


def test_the_cli_help_imports_no_heavy_module():
    code = textwrap.dedent(
        """
        from audit.cli import app
        try:
            app(["run", "--help"], standalone_mode=False)
        except SystemExit:
            pass
        """
    )
    assert _imported_after(code) == []


@pytest.mark.parametrize("decisions", ["prediction", "score"])
def test_a_duckdb_predictions_only_audit_imports_no_scipy_stats_nor_sklearn(tmp_path, decisions):
    pytest.importorskip("duckdb")
    rng = np.random.default_rng(0)
    n = 2000
    label = rng.integers(0, 2, n)
    frame = pd.DataFrame(
        {
            "sex": rng.choice(["F", "M"], n),
            "race": rng.choice(["A", "B", "C"], n),
            "label": label,
            "decision": np.where(rng.random(n) < 0.8, label, 1 - label),
            "score": np.clip(rng.normal(0.4 + 0.2 * label, 0.2), 0, 1),
        }
    )
    path = tmp_path / "log.parquet"
    frame.to_parquet(path)
    chosen = (
        ["--prediction-column", "decision"]
        if decisions == "prediction"
        else ["--score-column", "score", "--threshold", "0.5"]
    )
    args = ["run", "--data", str(path), "--target", "label", "--sensitive", "sex"]
    args += ["--sensitive", "race", *chosen, "--engine", "duckdb", "--out", str(tmp_path / "o")]
    args += ["--format", "json", "--quiet"]
    code = textwrap.dedent(
        f"""
        from audit.cli import app
        try:
            app({args!r}, standalone_mode=False)
        except SystemExit:
            pass
        """
    )
    assert _imported_after(code) == []
    result = json.loads((tmp_path / "o" / "results.json").read_text())
    assert result["provenance"]["engine"] == "duckdb"
    assert result["data"]["n_rows"] == n


@pytest.mark.parametrize("confidence", [0.5, 0.8, 0.9, 0.95, 0.99, 0.999, 0.999999])
def test_z_value_equals_scipy_normal_quantile(confidence):
    """statistics.NormalDist replaces scipy.stats.norm for the interval's z."""
    expected = float(stats.norm.ppf(0.5 + confidence / 2))
    assert z_value(confidence) == pytest.approx(expected, abs=1e-12, rel=0)
    assert NormalDist().inv_cdf(0.975) == pytest.approx(1.959963984540054, abs=1e-12, rel=0)
