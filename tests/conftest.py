"""Shared fixtures: one demo run per test session, the CLI runner, small hand-made data."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from audit.cli import app

# The public datasets sit beside the checkout (../shared/data); RAI_AUDIT_SHARED_DATA points
# elsewhere (e.g. from a git worktree in another folder).
ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(
    os.environ.get("RAI_AUDIT_SHARED_DATA")
    or Path(__file__).resolve().parents[2] / "shared" / "data"
)


def assert_close(actual, expected, *, abs: float = 1e-12, path: str = "") -> None:
    """Nested dicts/lists equal, floats within ``abs`` (pytest.approx does not nest)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: {actual!r} is not a mapping"
        assert actual.keys() == expected.keys(), f"{path}: keys differ"
        for key in expected:
            assert_close(actual[key], expected[key], abs=abs, path=f"{path}.{key}")
    elif isinstance(expected, (list, tuple)):
        assert isinstance(actual, (list, tuple)) and len(actual) == len(expected), path
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_close(a, e, abs=abs, path=f"{path}[{i}]")
    elif isinstance(expected, float) and not isinstance(actual, bool):
        assert actual == pytest.approx(expected, abs=abs), path
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"


TIMING_KEYS = {"created_at", "timings_seconds", "fit_seconds", "seconds"}


def without_timings(result: dict) -> dict:
    """A results.json without what differs between two runs of the same audit: its timings
    and creation time (blanked also where a text quotes it, as the model card does)."""
    stamp = result["provenance"]["created_at"]

    def clean(value):
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if k not in TIMING_KEYS}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value.replace(stamp, "<created_at>") if isinstance(value, str) else value

    return clean(result)


def run_cli(*args: str):
    """Invoke rai-audit in-process; returns the click Result (exit_code, stdout, stderr)."""
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="session", autouse=True)
def every_results_json_matches_the_schema(tmp_path_factory):
    """After the suite: every results.json rai-audit wrote (listed in its folder's manifest)
    validates against the published JSON Schema (audit/result/results.schema.json)."""
    yield
    from jsonschema import Draft202012Validator

    from audit.outputs import MANIFEST

    schema = json.loads((ROOT / "audit" / "result" / "results.schema.json").read_text())
    validator = Draft202012Validator(schema)
    problems, checked = [], 0
    for manifest in tmp_path_factory.getbasetemp().rglob(MANIFEST):
        recorded = json.loads(manifest.read_text())["files"].get("results.json")
        if recorded is None:
            continue
        written = (manifest.parent / "results.json").read_bytes()
        if not isinstance(recorded, dict) or hashlib.sha256(written).hexdigest() != recorded.get(
            "sha256"
        ):
            continue  # changed after writing, on purpose (the tamper tests of `verify`)
        checked += 1
        result = json.loads(written)
        for error in list(validator.iter_errors(result))[:3]:
            where = "/".join(map(str, error.absolute_path))
            problems.append(f"{manifest.parent}: {where}: {error.message[:200]}")
    assert not problems, f"{len(problems)} schema problem(s):\n" + "\n".join(problems)


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    """`rai-audit demo` run once through the CLI, all formats.

    The demo's example policy fails on its planted race bias; the demo reports that but
    exits 0 (its policy is an example, not a gate: see test_demo_gates_only_when_asked).
    """
    out = tmp_path_factory.mktemp("demo")
    result = run_cli("demo", "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="session")
def demo_result(demo_dir) -> dict:
    return json.loads((demo_dir / "results.json").read_text())


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data not present: public dataset files absent")
    return SHARED_DATA


def needs_tools(*tools: str) -> None:
    """Skip unless these programs are installed (Debian packages chromium, chromium-driver,
    poppler-utils; ./quickstart test installs them)."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        pytest.skip(
            f"needs {', '.join(missing)} (Debian packages chromium, chromium-driver, "
            "poppler-utils; .ci/run installs them)"
        )


def pdf_text_and_overflow(pdf, *, pages_with: str = "", margin: float = 20.0):
    """The PDF's text (pdftotext -layout) and the words reaching within ``margin`` points of
    the right edge of their page (off the page, or into a margin no text should reach), on
    the pages whose text has the word ``pages_with`` (every page when empty)."""
    import re
    import subprocess

    def pdftotext(*flags: str) -> str:
        return subprocess.run(
            ["pdftotext", *flags, pdf, "-"], check=True, capture_output=True, text=True
        ).stdout

    past = []
    for width, body in re.findall(
        r'<page width="([\d.]+)"[^>]*>(.*?)</page>', pdftotext("-bbox"), re.S
    ):
        if pages_with and f">{pages_with}<" not in body:
            continue
        for x1, word in re.findall(r'xMax="([\d.]+)"[^>]*>(.*?)</word>', body):
            if float(x1) > float(width) - margin:
                past.append(word)
    return pdftotext("-layout"), past


def headless_chromium(*flags: str, logs: bool = False):
    """A Selenium driver of headless Chromium with networking off (every host resolves to
    nothing, so any fetch would fail); ``logs`` keeps the console and network logs."""
    needs_tools("chromium", "chromedriver")
    webdriver = pytest.importorskip("selenium.webdriver")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--proxy-server=127.0.0.1:9",
        *flags,
    ):
        options.add_argument(flag)
    if logs:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    service = webdriver.ChromeService(executable_path=shutil.which("chromedriver"))
    return webdriver.Chrome(options=options, service=service)


@pytest.fixture(scope="session")
def compas_report(tmp_path_factory) -> Path:
    """A predictions-only audit of ProPublica's COMPAS scores, all formats, run once per test
    process (skips without the public data)."""
    data = SHARED_DATA / "compas-scores-two-years.csv"
    if not data.is_file():
        pytest.skip(f"{data} absent: public dataset files not present")
    out = tmp_path_factory.mktemp("compas") / "out"
    result = run_cli(
        "run", "--data", data, "--target", "two_year_recid", "--score-column", "decile_score",
        "--threshold", "5", "--sensitive", "race", "--out", out, "--quiet",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (out / "report.pdf").is_file(), result.output
    return out
