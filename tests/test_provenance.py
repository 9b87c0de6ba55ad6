"""Provenance you can check: hashes of every file read, no absolute local path, and the same
seed giving the same results.json (timestamps and timings aside)."""

from __future__ import annotations

import hashlib
import json

import yaml
from conftest import run_cli, without_timings

from audit.datasets import make_credit


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _config(folder, **model) -> object:
    """An audit.yaml beside its data, with relative paths, as a user would write it."""
    make_credit(1500, seed=9).drop(columns=["applicant_id"]).to_csv(
        folder / "credit.csv", index=False
    )
    config = {
        "data": {"path": "credit.csv", "target": "approved", "sensitive": ["sex", "race"]},
        "model": {"name": "hist_gradient_boosting", **model},
        "output": {"dir": "out", "formats": ["json"]},
        "fairness": {"bootstrap": {"resamples": 200}},
        "mitigation": {"strategies": ["reweighing", "threshold_optimizer:dp"]},
        "explain": {"sample_size": 200},
        "quality": {"allow_errors": True},
        "seed": 3,
    }
    path = folder / "audit.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_the_same_seed_gives_the_same_results(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    for folder in (first, second):
        folder.mkdir()
        result = run_cli("run", _config(folder), "--quiet")
        assert result.exit_code in (0, 1), result.output
    a = json.loads((first / "out" / "results.json").read_text())
    b = json.loads((second / "out" / "results.json").read_text())
    assert a["provenance"]["created_at"]  # the keys left out below do exist
    assert a["provenance"]["timings_seconds"]
    clean_a, clean_b = without_timings(a), without_timings(b)
    for key in clean_a:
        assert clean_a[key] == clean_b[key], key


def test_results_record_file_hashes_and_no_absolute_path(tmp_path, monkeypatch):
    path = _config(tmp_path)
    assert run_cli("run", path, "--quiet").exit_code in (0, 1)
    model_file = tmp_path / "out" / "model.skops"
    data_file = tmp_path / "credit.csv"
    # Re-audit the saved model config-less, by flags given absolute paths: shown relative to
    # the working directory.
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "again"
    result = run_cli(
        "run", "--data", data_file, "--target", "approved", "--sensitive", "sex",
        "--model-file", model_file, "--out", out, "--format", "json", "--mitigate", "none",
        "--resamples", "200", "--allow-quality-errors", "--quiet",
    )  # fmt: skip
    assert result.exit_code in (0, 1), result.output
    text = (out / "results.json").read_text()
    res = json.loads(text)
    files = {f["role"]: f for f in res["provenance"]["files"]}
    assert files["data"]["sha256"] == _sha256(data_file) == res["provenance"]["data_sha256"]
    assert files["model"]["sha256"] == _sha256(model_file) == res["model"]["sha256"]
    assert str(tmp_path) not in text  # no absolute local path anywhere
    assert not files["model"]["path"].startswith("/")
    first = json.loads((tmp_path / "out" / "results.json").read_text())
    assert first["config"]["data"]["path"] == "credit.csv"  # relative to audit.yaml
    assert first["config"]["output"]["dir"] == "out"
    assert str(tmp_path) not in json.dumps(first)
