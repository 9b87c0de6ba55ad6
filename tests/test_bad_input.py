"""Bad input: a clear message naming the problem, exit code 2, no traceback, nothing written."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import run_cli


@pytest.fixture
def good_csv(tmp_path):
    frame = pd.DataFrame(
        {
            "x": range(40),
            "colour": ["red", "blue"] * 20,
            "sex": ["f", "m", "m", "f"] * 10,
            "y": [0, 1, 1, 0, 1] * 8,
            "score": [0.1, 0.8, 0.7, 0.2, 0.9] * 8,
        }
    )
    path = tmp_path / "good.csv"
    frame.to_csv(path, index=False)
    return path


def audit(tmp_path, *args):
    out = tmp_path / "out"
    result = run_cli("run", *args, "--mitigate", "none", "--out", out, "--quiet")
    return result, out


def assert_clean_failure(result, out, *phrases):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for phrase in phrases:
        assert phrase in result.output, (phrase, result.output)
    assert not out.exists() or not any(out.iterdir()), "a failed run wrote files"


def test_missing_data_file(tmp_path):
    result, out = audit(
        tmp_path, "--data", tmp_path / "nope.csv", "--target", "y", "--sensitive", "sex"
    )
    assert_clean_failure(result, out, "Data file not found", "nope.csv")


def test_empty_file(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    result, out = audit(tmp_path, "--data", empty, "--target", "y", "--sensitive", "sex")
    assert_clean_failure(result, out, "empty")


def test_header_without_rows(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("x,y,sex\n")
    result, out = audit(tmp_path, "--data", path, "--target", "y", "--sensitive", "sex")
    assert_clean_failure(result, out, "no rows")


def test_missing_target_column_lists_the_columns(tmp_path, good_csv):
    result, out = audit(tmp_path, "--data", good_csv, "--target", "label", "--sensitive", "sex")
    assert_clean_failure(result, out, "'label'", "not found", "colour")


def test_missing_sensitive_column(tmp_path, good_csv):
    result, out = audit(tmp_path, "--data", good_csv, "--target", "y", "--sensitive", "race")
    assert_clean_failure(result, out, "Sensitive column(s) 'race' not found")


def test_one_group_attribute(tmp_path, good_csv):
    frame = pd.read_csv(good_csv).assign(sex="f")
    frame.to_csv(good_csv, index=False)
    result, out = audit(tmp_path, "--data", good_csv, "--target", "y", "--sensitive", "sex")
    assert_clean_failure(result, out, "'sex' has fewer than two groups")


def test_positive_label_that_does_not_occur(tmp_path, good_csv):
    result, out = audit(
        tmp_path,
        "--data",
        good_csv,
        "--target",
        "y",
        "--positive-label",
        "yes",
        "--sensitive",
        "sex",
    )
    assert_clean_failure(result, out, "Positive label 'yes' does not occur", "Values found: 0, 1")


def test_text_target_needs_a_positive_label(tmp_path, good_csv):
    result, out = audit(tmp_path, "--data", good_csv, "--target", "colour", "--sensitive", "sex")
    assert_clean_failure(result, out, "--positive-label", "blue, red")


def test_non_binary_target(tmp_path, good_csv):
    result, out = audit(
        tmp_path, "--data", good_csv, "--target", "x", "--positive-label", "3", "--sensitive", "sex"
    )
    assert_clean_failure(result, out, "40 distinct values")


def test_text_score_column(tmp_path, good_csv):
    result, out = audit(
        tmp_path,
        "--data",
        good_csv,
        "--target",
        "y",
        "--sensitive",
        "sex",
        "--score-column",
        "colour",
        "--threshold",
        "0.5",
    )
    assert_clean_failure(result, out, "Score column 'colour' must be numeric")


def test_unknown_model_lists_the_registry(tmp_path, good_csv):
    result, out = audit(
        tmp_path, "--data", good_csv, "--target", "y", "--sensitive", "sex", "--model", "xgboost"
    )
    assert_clean_failure(result, out, "Unknown model 'xgboost'", "logistic_regression")


def test_corrupt_model_file(tmp_path, good_csv):
    bad = tmp_path / "model.skops"
    bad.write_bytes(b"PK\x03\x04 this is not a zip archive")
    result, out = audit(
        tmp_path, "--data", good_csv, "--target", "y", "--sensitive", "sex", "--model-file", bad
    )
    assert_clean_failure(result, out, "corrupt", "model.skops")


def test_pickle_model_file_is_refused(tmp_path, good_csv):
    pickled = tmp_path / "model.pkl"
    pickled.write_bytes(b"\x80\x04K\x01.")
    result, out = audit(
        tmp_path, "--data", good_csv, "--target", "y", "--sensitive", "sex", "--model-file", pickled
    )
    assert_clean_failure(result, out, "pickle", "--trust-model")


def test_unknown_config_key_through_the_cli(tmp_path, good_csv):
    cfg = tmp_path / "audit.yaml"
    cfg.write_text(
        f"data:\n  path: {good_csv}\n  target: y\n  sensitive: [sex]\nsplit:\n  seed: 1\n"
    )
    result, out = audit(tmp_path, cfg)
    assert_clean_failure(result, out, "unknown key 'split.seed'", "test_size, stratify")


def test_usage_error_exits_2(tmp_path):
    result = run_cli("run", "--no-such-flag")
    assert result.exit_code == 2
    assert "No such option" in result.output


def test_a_reader_that_goes_away_is_not_an_internal_error(tmp_path):
    """`rai-audit ... | head`: the reader closes the pipe before the command prints. That is
    no bug in rai-audit, so no "Internal error" message (it was one, exit 3)."""
    import subprocess
    import sys

    process = subprocess.Popen(
        [sys.executable, "-m", "audit", "checklist", "init", "--out", str(tmp_path / "a.yaml")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    process.stdout.close()  # before the command has started to write
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) not in (0, 3), stderr
    assert "Internal error" not in stderr and "Traceback" not in stderr, stderr
    assert (tmp_path / "a.yaml").is_file()  # the work itself was done
