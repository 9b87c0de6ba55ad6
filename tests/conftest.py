"""Shared fixtures: one demo run per test session, the CLI runner, small hand-made data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from audit.cli import app

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def run_cli(*args: str):
    """Invoke rai-audit in-process; returns the click Result (exit_code, stdout, stderr)."""
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    """`rai-audit demo` run once through the CLI, all formats.

    The demo's policy fails on its planted race bias, so it exits 1 (EXIT_POLICY_FAILED)
    after writing every output, as a CI gate would.
    """
    out = tmp_path_factory.mktemp("demo")
    result = run_cli("demo", "--out", out, "--quiet")
    assert result.exit_code == 1, result.output
    assert "demographic_parity_ratio >= 0.8" in result.output
    return out


@pytest.fixture(scope="session")
def demo_result(demo_dir) -> dict:
    return json.loads((demo_dir / "results.json").read_text())


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data not present: public dataset files absent")
    return SHARED_DATA
