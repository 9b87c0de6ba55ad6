"""The Spark engine gives the in-memory and DuckDB engines' numbers, in Spark local mode.

The references are the in-memory engine (checked against scikit-learn and fairlearn
elsewhere in the suite) and the DuckDB engine, run on the same file, and counts written
out by hand: every count metric, disparity, interval and verdict must agree to 1e-12, on
data with an empty intersection, a one-class group, missing values and text labels.

One Spark session serves the whole module (a JVM start costs seconds): ``local[1]``, two
shuffle partitions, no UI. Tests that need Spark skip with the reason when pyspark or a
Java runtime is absent; those about what happens then run anyway. Run with ``-n 0``.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import audit
from audit.config import build_config
from audit.engines import spark_source
from audit.engines.choice import AUTO_BYTES, choose_engine
from audit.engines.spark_source import is_spark_frame, spark_missing
from audit.errors import AuditError
from audit.pipeline import run_audit
from tests.conftest import assert_close, run_cli

# Starting Spark takes 10-20 s: run with the newest versions only (CI's lowest run: not slow).
pytestmark = pytest.mark.slow

MASTER = "local[1]"


@pytest.fixture(scope="module")
def spark():
    missing = spark_missing()
    if missing:
        pytest.skip(f"the Spark engine cannot run here: {missing}")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master(MASTER)
        .appName("rai-audit tests")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _log(n: int, seed: int) -> pd.DataFrame:
    """A decision log: text labels, missing values, an empty intersection (sex F × region
    C never occurs), a one-class group (region D: every label 'good') and a score."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], n)
    region = rng.choice(["A", "B", "C", "D"], n, p=[0.5, 0.3, 0.15, 0.05]).astype(object)
    region[(sex == "F") & (region == "C")] = "A"
    region[rng.random(n) < 0.02] = None
    label = np.where(rng.random(n) < 0.4 + 0.2 * (sex == "M"), "good", "bad").astype(object)
    label[region == "D"] = "good"
    score = np.clip(0.5 * (label == "good") + rng.normal(0.25, 0.25, n), 0, 1).round(3)
    decision = np.where(score >= 0.5, "good", "bad")
    age = rng.integers(18, 80, n).astype(float)
    age[rng.random(n) < 0.01] = np.nan
    return pd.DataFrame(
        {
            "sex": sex,
            "region": region,
            "age": age,
            "label": label,
            "decision": decision,
            "score": score,
        }
    )


def _audit(path: Path | None, engine: str, frame=None, **decisions) -> dict:
    overrides = {
        "data": {
            "path": path,
            "target": "label",
            "positive_label": "good",
            "sensitive": ["sex", "region", "age"],
        },
        "predictions": decisions or {"prediction_column": "decision"},
        "fairness": {
            "bootstrap": {"resamples": 200},
            "min_group_size": 20,
            "bins": {"age": {"edges": [30, 50]}},
        },
        "policy": {
            "rules": ["demographic_parity_ratio >= 0.8", "equalized_odds_difference <= 0.1"]
        },
        "explain": {"enabled": False},
        "engine": engine,
        "seed": 3,
    }
    config = build_config(None, overrides).with_objects(frame=frame)
    return run_audit(config).model_dump(mode="json", by_alias=True)


COUNT_METRICS = (
    *("n", "positives", "predicted_positives", "tn", "fp", "fn", "tp", "base_rate"),
    *("selection_rate", "tpr", "tnr", "fpr", "fnr", "precision", "npv", "fdr", "for", "accuracy"),
)


def _counts(result: dict) -> dict:
    """Each group's confusion counts and the rates made of them."""
    return {
        (f["feature"], g["group"]): {m: g.get(m) for m in COUNT_METRICS}
        for f in result["fairness"]["features"]
        for g in f["groups"]
    }


def _assert_same_numbers(result: dict, reference: dict) -> None:
    assert_close(_counts(result), _counts(reference))
    for section in ("fairness", "performance", "verdicts", "policy"):
        assert_close(result[section], reference[section])
    assert result["data"]["group_sizes"] == reference["data"]["group_sizes"]
    assert result["data"]["n_rows"] == reference["data"]["n_rows"]
    for a, b in zip(result["data"]["columns"], reference["data"]["columns"], strict=True):
        assert (a["name"], a["missing"], a["unique"], a["role"]) == (
            b["name"],
            b["missing"],
            b["unique"],
            b["role"],
        )


@pytest.mark.parametrize(
    ("suffix", "decisions"),
    [
        (".csv", {"prediction_column": "decision"}),
        (".parquet", {"score_column": "score", "threshold": 0.5}),
    ],
)
def test_spark_equals_duckdb_and_memory(spark, tmp_path, suffix, decisions):
    frame = _log(3000, seed=1)
    path = tmp_path / f"log{suffix}"
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path)
    memory = _audit(path, "memory", **decisions)
    duck = _audit(path, "duckdb", **decisions)
    spark_result = _audit(path, "spark", **decisions)
    assert spark_result["provenance"]["engine"] == "spark"
    assert spark_result["provenance"]["spark_master"] == MASTER
    assert spark_result["provenance"]["versions"]["pyspark"]
    assert spark_result["provenance"]["files"] == duck["provenance"]["files"]
    # The data has what the test is about: an empty intersection and a one-class group.
    region = next(f for f in spark_result["fairness"]["features"] if f["feature"] == "region")
    one_class = next(g for g in region["groups"] if g["group"] == "D")
    assert one_class["fn"] + one_class["tp"] == one_class["n"] > 0
    assert one_class["fpr"] is None and "fpr" in one_class["undefined"]
    cross = next(f for f in spark_result["fairness"]["features"] if f["feature"] == "sex × region")
    assert "F × C" not in [g["group"] for g in cross["groups"]]
    # Intervals are in the fairness section: identical from the same table and seed.
    assert any(d["ci"] is not None for d in region["disparities"])
    _assert_same_numbers(spark_result, duck)
    _assert_same_numbers(spark_result, memory)
    if "score_column" in decisions:  # AUC and Brier per group, from the same score cells
        two_class = [g for g in region["groups"] if 0 < g["positives"] < g["n"]]
        assert two_class and all(g["roc_auc"] is not None for g in two_class)
        assert one_class["roc_auc"] is None
    assert spark_result["quality"]["findings"] == duck["quality"]["findings"]


def test_spark_dataframe_through_the_api_counts_by_hand(spark):
    """A tiny log as a Spark DataFrame, given to audit.run: its cells are these counts."""
    rows = [
        ("F", 1, 1), ("F", 1, 1), ("F", 1, 0), ("F", 0, 0),  # F: tp 2, fn 1, tn 1
        ("M", 0, 1), ("M", 0, 1), ("M", 0, 0), ("M", 1, 1),  # M: fp 2, tn 1, tp 1
    ]  # fmt: skip
    frame = spark.createDataFrame(rows * 10, ["sex", "y", "pred"])
    assert is_spark_frame(frame) and not is_spark_frame(frame.toPandas())
    result = audit.run(
        data=frame,
        target="y",
        sensitive="sex",
        predictions="pred",
        fairness={"bootstrap": {"resamples": 0}, "min_group_size": 1},
        explain={"enabled": False},
    )
    assert result.provenance.engine == "spark"
    assert result.provenance.engine_reason == "auto: the data is a Spark DataFrame"
    assert result.data.file == spark_source.IN_SPARK
    (sex,) = result.model_dump(mode="json")["fairness"]["features"]
    cells = {g["group"]: (g["tn"], g["fp"], g["fn"], g["tp"]) for g in sex["groups"]}
    assert cells == {"F": (10, 0, 10, 20), "M": (10, 20, 0, 10)}
    assert result.performance.accuracy == pytest.approx(50 / 80, abs=1e-12)
    # The fingerprint: the same rows in another order give the same one, a changed cell not.
    fingerprint = result.provenance.data_sha256

    def fingerprint_of(data) -> str:
        source = spark_source.SparkSource(data, None, MASTER)
        try:
            return source.fingerprint()
        finally:
            source.close()

    assert fingerprint_of(frame.orderBy("pred", "sex")) == fingerprint
    changed = spark.createDataFrame([("F", 0, 1), *rows[1:], *(rows * 9)], ["sex", "y", "pred"])
    assert fingerprint_of(changed) != fingerprint
    with pytest.raises(AuditError, match="name of its column"):
        audit.run(data=frame, target="y", sensitive="sex", predictions=[1] * 80)
    with pytest.raises(AuditError, match="only the Spark engine"):
        audit.run(data=frame, target="y", sensitive="sex", predictions="pred", engine="memory")


def test_cli_spark_end_to_end(spark, tmp_path):
    """CSV with missing values, a '?' marker, rows without a target and text labels,
    through the CLI; the same quality findings as the DuckDB engine."""
    frame = _log(2000, seed=2)
    frame["note"] = np.where(np.arange(len(frame)) % 50 == 0, "?", "ok")
    frame.loc[frame.index[:7], "label"] = None  # rows without a target are dropped, counted
    path = tmp_path / "log.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "out"
    result = run_cli(
        "run", "--data", path, "--target", "label", "--positive-label", "good",
        "--sensitive", "sex", "--sensitive", "region", "--prediction-column", "decision",
        "--engine", "spark", "--spark-master", MASTER, "--resamples", "100", "--out", out,
        "--format", "json", "--format", "html",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    spark_saved = json.loads((out / "results.json").read_text())
    overrides = {
        "data": {
            "path": path,
            "target": "label",
            "positive_label": "good",
            "sensitive": ["sex", "region"],
        },
        "predictions": {"prediction_column": "decision"},
        "fairness": {"bootstrap": {"resamples": 100}},
        "engine": "duckdb",
    }
    duck = json.loads(run_audit(build_config(None, overrides)).to_json())  # as results.json
    assert spark_saved["provenance"]["engine"] == "spark"
    assert spark_saved["config"]["spark"] == {"master": MASTER}
    assert spark_saved["data"]["rows_without_target_dropped"] == 7
    assert spark_saved["data"]["n_rows"] == len(frame) - 7
    ids = [f["id"] for f in spark_saved["quality"]["findings"]]
    assert "missing_values:region" in ids and "null_markers:note" in ids
    assert spark_saved["quality"]["findings"] == duck["quality"]["findings"]
    assert_close(spark_saved["fairness"], duck["fairness"])
    html = (out / "report.html").read_text()
    assert f"Spark, master <code>{MASTER}</code>" in html
    # A running session cannot serve another master: said, exit 2, nothing written.
    result = run_cli(
        "run", "--data", path, "--target", "label", "--positive-label", "good",
        "--sensitive", "sex", "--prediction-column", "decision", "--engine", "spark",
        "--spark-master", "local[2]", "--out", tmp_path / "other",
    )  # fmt: skip
    assert result.exit_code == 2 and "already running" in result.output
    assert not (tmp_path / "other" / "results.json").exists()


def test_spark_reads_a_folder_of_part_files(spark, tmp_path):
    """Spark writes a table as a folder of part files: audited as the one file it came
    from, its fingerprint over the part files."""
    frame = _log(1500, seed=4)
    single = tmp_path / "log.parquet"
    frame.to_parquet(single)
    folder = tmp_path / "parts.parquet"
    spark.read.parquet(str(single)).repartition(3).write.parquet(str(folder))
    from_folder = _audit(folder, "spark")
    _assert_same_numbers(from_folder, _audit(single, "duckdb"))
    parts = sorted(p.name for p in folder.glob("part-*.parquet"))
    assert len(parts) == 3
    assert from_folder["provenance"]["data_sha256"] == spark_source.path_sha256(folder)


def test_spark_missing_is_said_with_what_to_install(tmp_path, monkeypatch):
    """No Java, or no pyspark: exit 2, what to install, nothing written (runs anywhere)."""
    path = tmp_path / "log.csv"
    _log(200, 0).to_csv(path, index=False)
    args = [
        "run", "--data", path, "--target", "label", "--positive-label", "good",
        "--sensitive", "sex", "--prediction-column", "decision", "--engine", "spark",
    ]  # fmt: skip
    monkeypatch.setenv("PATH", str(tmp_path / "no-java-here"))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    result = run_cli(*args, "--out", tmp_path / "a")
    assert result.exit_code == 2 and "Traceback" not in result.output
    expected = "Java runtime" if importlib.util.find_spec("pyspark") else "rai-audit[spark]"
    assert expected in result.output
    assert not (tmp_path / "a" / "results.json").exists()
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        spark_source.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "pyspark" else find_spec(name, *a),
    )
    result = run_cli(*args, "--out", tmp_path / "b")
    assert result.exit_code == 2 and "pip install 'rai-audit[spark]'" in result.output
    assert not (tmp_path / "b" / "results.json").exists()


def test_auto_never_picks_spark(tmp_path):
    big = tmp_path / "big.parquet"
    with big.open("wb") as handle:  # only the size on disk decides
        handle.truncate(AUTO_BYTES["parquet"] * 4)
    base = {
        "data": {"path": big, "target": "label", "sensitive": ["sex"]},
        "predictions": {"prediction_column": "decision"},
    }
    assert choose_engine(build_config(None, base))[0] == "duckdb"
    asked = build_config(None, {**base, "engine": "spark"})
    assert choose_engine(asked) == ("spark", "asked for (engine: spark)")
    with pytest.raises(AuditError, match="--spark-master"):  # a master for no Spark: said
        choose_engine(build_config(None, {**base, "spark": {"master": "local[2]"}}))
    trained = build_config(None, {"data": base["data"], "engine": "spark"})
    with pytest.raises(AuditError, match="predictions-only"):
        choose_engine(trained)
