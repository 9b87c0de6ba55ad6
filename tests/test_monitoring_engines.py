"""Fairness over time on DuckDB and Spark gives the in-memory engine's monitoring section.

The reference is the in-memory engine (its windows are checked against rows picked by hand
and fairlearn in tests/test_monitoring.py), run on the same file: every window's rows,
start and end, metrics, watched disparities with intervals, verdicts, the trend and the
alerts must agree to 1e-12; the planted drift (women's scores pushed down in 2024-04) must
alert in that month only; bad times must stop both engines (exit 2) with the same message.

With a score column each window's score metrics (per-group ROC AUC, Brier, log loss,
calibration error, their intervals and disparities) come from score cells binned over that
window's own range, as in memory: compared on a log with an empty group in one window, a
one-class group in another, a window of equal scores and one of scores beyond [0, 1].

One Spark session (``local[1]``) serves the Spark tests, skipped when pyspark or Java is
absent. Run with ``-n 0``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from audit.config import build_config
from audit.datasets import make_decision_log
from audit.datasets.synthetic import AGE_GROUPS
from audit.engines.choice import AUTO_BYTES, choose_engine
from audit.engines.spark_source import spark_missing
from audit.errors import AuditError
from audit.pipeline import run_audit
from tests.conftest import assert_close, run_cli

pytest.importorskip("duckdb")

POLICY = ["demographic_parity_difference <= 0.1", "equalized_odds_difference <= 0.15"]
DRIFT_MONTH = "2024-04"


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    """Six months of 1,000 decisions, women's scores pushed down in month 4 (2024-04)."""
    return make_decision_log(6_000, months=6, drift_month=4, drift=1.5, seed=2)


@pytest.fixture(scope="module")
def files(log, tmp_path_factory) -> dict[str, object]:
    """The log as CSV (dates as text) and as Parquet (a timestamp column, with a time of
    day, so the day the SQL cuts to and the start/end times both matter)."""
    folder = tmp_path_factory.mktemp("logs")
    log.to_csv(folder / "log.csv", index=False)
    rng = np.random.default_rng(7)
    seconds = pd.to_timedelta(rng.integers(0, 86_400, len(log)), unit="s")
    timed = log.assign(decided_at=pd.to_datetime(log["decided_at"]) + seconds)
    timed.to_parquet(folder / "log.parquet")
    return {".csv": folder / "log.csv", ".parquet": folder / "log.parquet"}


def audit_file(path, engine: str, window: str = "month", **extra) -> dict:
    overrides = {
        "data": {"path": path, "target": "repaid", "sensitive": ["sex", "age_group"]},
        "predictions": {"prediction_column": "approved"},
        "fairness": {"bootstrap": {"resamples": 200}},
        "policy": {"rules": POLICY},
        "monitoring": {"time_column": "decided_at", "window": window},
        "explain": {"enabled": False},
        "engine": engine,
        "seed": 4,
        **extra,
    }
    return run_audit(build_config(None, overrides)).model_dump(mode="json", by_alias=True)


def assert_same_monitoring(result: dict, reference: dict) -> None:
    """Every window's numbers, the trend and the alerts, and the whole-data sections."""
    mon, ref = result["monitoring"], reference["monitoring"]
    assert [w["label"] for w in mon["windows"]] == [w["label"] for w in ref["windows"]]
    assert [w["n_rows"] for w in mon["windows"]] == [w["n_rows"] for w in ref["windows"]]
    assert_close(mon, ref)
    for section in ("fairness", "performance", "verdicts", "policy"):
        assert_close(result[section], reference[section])


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("window", ["month", "week", "day"])
def test_duckdb_windows_equal_memory(files, log, suffix, window):
    memory = audit_file(files[suffix], "memory", window)
    duck = audit_file(files[suffix], "duckdb", window)
    assert duck["provenance"]["engine"] == "duckdb"
    assert_same_monitoring(duck, memory)
    mon = duck["monitoring"]
    assert mon["n_rows"] == len(log) == sum(w["n_rows"] for w in mon["windows"])
    if window == "month":  # the months by hand: the first 7 characters of the date text
        counts = log["decided_at"].str[:7].value_counts().sort_index()
        assert [(w["label"], w["n_rows"]) for w in mon["windows"]] == list(counts.items())
        assert {a["window"] for a in mon["alerts"]} == {DRIFT_MONTH}
        assert any(w["policy"]["status"] == "fail" for w in mon["windows"])
    if window == "day":
        assert len(mon["windows"]) == log["decided_at"].nunique()


def test_duckdb_row_blocks_equal_memory_when_no_block_cuts_a_tie(tmp_path, log):
    """N-rows windows: every time distinct (to the second), so the time order alone
    places each row; blocks of 700 rows, the last one shorter."""
    stamps = pd.Timestamp("2024-01-01") + pd.to_timedelta(
        np.random.default_rng(3).permutation(len(log)) * 97, unit="s"
    )
    path = tmp_path / "log.parquet"
    log.assign(decided_at=stamps).to_parquet(path)
    memory = audit_file(path, "memory", "700-rows")
    duck = audit_file(path, "duckdb", "700-rows")
    assert_same_monitoring(duck, memory)
    sizes = [w["n_rows"] for w in duck["monitoring"]["windows"]]
    assert sizes == [700] * 8 + [len(log) - 8 * 700]
    # Dates only, blocks of 1 day's rows: days of 3 and 2 rows, 5-row blocks, no cut tie.
    days = pd.Series(pd.date_range("2024-01-01", periods=400, freq="D").strftime("%Y-%m-%d"))
    small = log.head(1000).assign(decided_at=np.repeat(days, [3, 2] * 200).to_numpy())
    small.to_csv(tmp_path / "days.csv", index=False)
    memory = audit_file(tmp_path / "days.csv", "memory", "5-rows")
    duck = audit_file(tmp_path / "days.csv", "duckdb", "5-rows")
    assert_same_monitoring(duck, memory)
    assert len(duck["monitoring"]["windows"]) == 200


def test_duckdb_refuses_row_blocks_that_cut_a_tie(files):
    """Dates only: a 700-row block ends inside a day, whose rows the in-memory engine
    orders by their place in the file, which DuckDB does not see. (Blocks of 1,000 end
    with the months of this log, 1,000 rows each: those are cut alike, so allowed.)"""
    with pytest.raises(AuditError, match="would cut between rows with the same time"):
        audit_file(files[".csv"], "duckdb", "700-rows")
    memory = audit_file(files[".csv"], "memory", "1000-rows")
    duck = audit_file(files[".csv"], "duckdb", "1000-rows")
    assert_same_monitoring(duck, memory)


@pytest.mark.parametrize(
    ("change", "flags", "message"),
    [
        ({4: "yesterday-ish", 9: "31/02/2024", 11: "31/02/2024"}, [], "3 not readable"),
        ({4: None, 7: " "}, [], "2 missing"),
        ("day first", [], "read differently day first and month first"),
        (None, ["--time-column", "when"], "'when' not found"),
        (None, ["--time-column", "decision_id"], "holds numbers, not dates"),
        (None, ["--time-column", "sex"], "is also the sensitive column"),
        (None, ["--resamples", "0"], "intervals are turned off"),
        (None, ["--reference-window", "2023-12"], "not a window of the data"),
    ],
)
def test_bad_times_give_the_same_message_on_both_engines(tmp_path, log, change, flags, message):
    frame = log.head(600).copy()
    if change == "day first":  # 05/03/2024 is 5 March or 3 May
        frame["decided_at"] = pd.to_datetime(frame["decided_at"]).dt.strftime("%d/%m/%Y")
    for row, value in (change if isinstance(change, dict) else {}).items():
        frame.loc[row, "decided_at"] = value
    frame.to_csv(tmp_path / "log.csv", index=False)
    outputs = []
    for engine in ("memory", "duckdb"):
        out = tmp_path / engine
        result = run_cli(
            "run", "--data", tmp_path / "log.csv", "--target", "repaid", "--sensitive", "sex",
            "--prediction-column", "approved", "--out", out, "-f", "json", "--quiet",
            "--time-column", "decided_at", "--engine", engine, *flags,
        )  # fmt: skip
        assert result.exit_code == 2, result.output
        assert message in result.output and "Traceback" not in result.output
        assert not (out / "results.json").exists()
        outputs.append(result.output)
    assert outputs[0] == outputs[1]


def test_duckdb_reads_zoned_times(tmp_path, log):
    zoned = log.assign(decided_at=pd.to_datetime(log["decided_at"]).dt.tz_localize("Europe/Paris"))
    zoned.to_parquet(tmp_path / "zoned.parquet")
    # Each time keeps its own clock: the months are the dates' months, on both engines
    # (every case in tests/test_table_windows_zones.py).
    memory = audit_file(tmp_path / "zoned.parquet", "memory")
    assert [w["label"] for w in memory["monitoring"]["windows"]][0] == "2024-01"
    assert_same_monitoring(audit_file(tmp_path / "zoned.parquet", "duckdb"), memory)


SCORE_POLICY = ["demographic_parity_difference <= 0.1", "roc_auc_difference <= 0.1"]
# Rules on probabilities' metrics: not for a log with a window of scores beyond [0, 1].
PROBABILITY_POLICY = [
    *SCORE_POLICY,
    "brier_difference <= 0.03",
    "calibration_error_difference <= 0.1",
]


@pytest.fixture(scope="module")
def scored_log() -> pd.DataFrame:
    """Six months of scored decisions (4 decimals, as logged), with awkward windows:
    2024-02 has no older applicant (an empty group), 2024-03's older applicants all repaid
    (a one-class group: no ROC AUC), 2024-04's scores all 0.42 (every pair tied),
    2024-05's scores times 1.5 (not probabilities in that window alone), and women's scores
    drift down in 2024-06. Each row has a time of its own (to the minute), so N-rows
    windows are cut alike."""
    log = make_decision_log(4_800, months=6, drift_month=6, drift=1.5, seed=11)
    month = log["decided_at"].str[:7]
    older = log["age_group"] == AGE_GROUPS[1]
    log.loc[(month == "2024-03") & older, "repaid"] = 1
    log.loc[month == "2024-04", "score"] = 0.42
    log.loc[month == "2024-05", "score"] = (log["score"] * 1.5).round(4)
    log = log[~((month == "2024-02") & older)].reset_index(drop=True)
    minutes = log.groupby("decided_at").cumcount()
    log["decided_at"] = pd.to_datetime(log["decided_at"]) + pd.to_timedelta(minutes, unit="min")
    return log


@pytest.fixture(scope="module")
def scored_files(scored_log, tmp_path_factory) -> dict[str, object]:
    """The scored log as CSV (times as text) and Parquet (a timestamp column); and as
    Parquet without 2024-05, every score a probability ("probabilities")."""
    folder = tmp_path_factory.mktemp("scored")
    scored_log.to_csv(folder / "log.csv", index=False)
    scored_log.to_parquet(folder / "log.parquet")
    may = scored_log["decided_at"].dt.strftime("%Y-%m") == "2024-05"
    scored_log[~may].to_parquet(folder / "probabilities.parquet")
    return {
        ".csv": folder / "log.csv",
        ".parquet": folder / "log.parquet",
        "probabilities": folder / "probabilities.parquet",
    }


def audit_scores(
    path, engine: str, window: str, direction: str = "higher_is_positive", rules=None
) -> dict:
    return audit_file(
        path,
        engine,
        window,
        predictions={"score_column": "score", "threshold": 0.5, "score_direction": direction},
        policy={"rules": SCORE_POLICY if rules is None else rules},
    )


def by_window(result: dict) -> dict[str, dict]:
    """Each window's groups of ``feature``, by label: {window: {group: group entry}}."""
    return {
        w["label"]: {
            entry["feature"]: {g["group"]: g for g in entry["groups"]} for entry in w["fairness"]
        }
        for w in result["monitoring"]["windows"]
    }


@pytest.mark.parametrize(
    ("suffix", "window", "direction"),
    [
        (".csv", "month", "higher_is_positive"),
        (".csv", "week", "higher_is_positive"),
        (".parquet", "month", "lower_is_positive"),  # negated: probabilities nowhere
        (".parquet", "700-rows", "higher_is_positive"),
        ("probabilities", "month", "higher_is_positive"),  # Brier, calibration watched
    ],
)
def test_duckdb_score_windows_equal_memory(scored_files, scored_log, suffix, window, direction):
    rules = PROBABILITY_POLICY if suffix == "probabilities" else SCORE_POLICY
    memory = audit_scores(scored_files[suffix], "memory", window, direction, rules)
    duck = audit_scores(scored_files[suffix], "duckdb", window, direction, rules)
    assert duck["provenance"]["engine"] == "duckdb"
    assert_same_monitoring(duck, memory)
    watched = {m["metric"] for m in duck["monitoring"]["monitored"]}
    assert {r.split()[0] for r in rules} == watched
    if suffix == "probabilities":  # the drift in women's scores: calibration and Brier
        alerted = {(a["window"], a["metric"]) for a in duck["monitoring"]["alerts"]}
        assert ("2024-06", "calibration_error_difference") in alerted
    if suffix == ".csv" and window == "month":
        groups = by_window(duck)
        months = scored_log["decided_at"].dt.strftime("%Y-%m")
        assert list(groups["2024-02"]["age_group"]) == [AGE_GROUPS[0]]  # the empty group
        assert groups["2024-03"]["age_group"][AGE_GROUPS[1]]["roc_auc"] is None  # one class
        for group in groups["2024-04"]["sex"].values():  # every pair tied: AUC ½
            assert group["roc_auc"] == pytest.approx(0.5, abs=1e-12)
        for group in groups["2024-05"]["sex"].values():  # beyond [0, 1]: no Brier there
            assert group["roc_auc"] is not None and group["brier"] is None
        # A window's group against scikit-learn on its rows (scores with 4 decimals fall
        # each in a bin of its own, so the histogram AUC is exact).
        from sklearn.metrics import brier_score_loss, roc_auc_score

        for month in ("2024-01", "2024-06"):
            for sex, group in groups[month]["sex"].items():
                rows = scored_log[(months == month) & (scored_log["sex"] == sex)]
                expected = roc_auc_score(rows["repaid"], rows["score"])
                assert group["roc_auc"] == pytest.approx(expected, abs=1e-12)
                expected = brier_score_loss(rows["repaid"], rows["score"])
                assert group["brier"] == pytest.approx(expected, abs=1e-12)
    if window == "700-rows":  # some block lies inside 2024-04: all its scores equal
        labels = {w["label"]: w for w in duck["monitoring"]["windows"]}
        assert any(w["start"][:7] == w["end"][:7] == "2024-04" for w in labels.values())


def test_probability_rules_on_a_window_beyond_0_1_refused_alike(scored_files):
    messages = []
    for engine in ("memory", "duckdb"):
        with pytest.raises(AuditError, match="this audit does not compute brier_difference") as e:
            audit_scores(scored_files[".parquet"], engine, "month", rules=PROBABILITY_POLICY)
        messages.append(str(e.value))
    assert messages[0] == messages[1]


def test_auto_picks_duckdb_for_a_big_scored_log_with_windows(tmp_path):
    big = tmp_path / "big.parquet"
    with big.open("wb") as handle:  # only the size on disk decides
        handle.truncate(AUTO_BYTES["parquet"] * 4)
    config = build_config(
        None,
        {
            "data": {"path": big, "target": "repaid", "sensitive": ["sex"]},
            "predictions": {"score_column": "score", "threshold": 0.5},
            "monitoring": {"time_column": "decided_at", "window": "month"},
        },
    )
    assert choose_engine(config)[0] == "duckdb"
    asked = build_config(None, {**config.to_dict(), "engine": "duckdb"})
    assert choose_engine(asked) == ("duckdb", "asked for (engine: duckdb)")


@pytest.mark.parametrize(
    ("suffix", "scores", "message"),
    [
        (".csv", {3: None, 8: None}, "Column 'score' has 2 missing values"),
        (".parquet", {3: np.nan, 8: None, 9: np.nan}, "Column 'score' has 3 missing values"),
        (".parquet", {5: np.inf, 6: -np.inf}, "Score column 'score' holds infinite values"),
        (".parquet", {5: np.inf, 6: np.nan}, "Column 'score' has 1 missing value;"),
    ],
)
def test_unusable_scores_give_the_memory_message(scored_log, tmp_path, suffix, scores, message):
    frame = scored_log.head(600).copy()
    for row, value in scores.items():
        frame.loc[row, "score"] = value
    path = tmp_path / f"log{suffix}"
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path)
    outputs = []
    for engine in ("memory", "duckdb"):
        out = tmp_path / engine
        result = run_cli(
            "run", "--data", path, "--target", "repaid", "--sensitive", "sex",
            "--score-column", "score", "--threshold", "0.5", "--out", out, "-f", "json",
            "--quiet", "--time-column", "decided_at", "--engine", engine,
        )  # fmt: skip
        assert result.exit_code == 2, result.output
        assert message in result.output and "Traceback" not in result.output
        assert not (out / "results.json").exists()
        outputs.append(result.output)
    # One line, the same on both engines (in memory a RuntimeWarning on infinite values
    # came first).
    assert len(outputs[0].strip().splitlines()) == 1 and outputs[0] == outputs[1]


@pytest.fixture(scope="module")
def spark():
    missing = spark_missing()
    if missing:
        pytest.skip(f"the Spark engine cannot run here: {missing}")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[1]")
        .appName("rai-audit monitoring tests")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.slow  # starts Spark (see test_engine_spark.py)
def test_spark_windows_equal_memory(spark, files, suffix):
    memory = audit_file(files[suffix], "memory", "week")
    on_spark = audit_file(files[suffix], "spark", "week")
    assert on_spark["provenance"]["engine"] == "spark"
    assert_same_monitoring(on_spark, memory)
    month = audit_file(files[suffix], "spark")
    assert {a["window"] for a in month["monitoring"]["alerts"]} == {DRIFT_MONTH}


@pytest.mark.parametrize(("suffix", "window"), [(".csv", "week"), (".parquet", "700-rows")])
@pytest.mark.slow  # starts Spark (see test_engine_spark.py)
def test_spark_score_windows_equal_memory(spark, scored_files, suffix, window):
    memory = audit_scores(scored_files[suffix], "memory", window)
    on_spark = audit_scores(scored_files[suffix], "spark", window)
    assert on_spark["provenance"]["engine"] == "spark"
    assert_same_monitoring(on_spark, memory)
    assert on_spark["monitoring"]["alerts"]


@pytest.mark.slow  # starts Spark (see test_engine_spark.py)
def test_spark_bad_times_give_the_memory_message(spark, tmp_path, log):
    frame = log.head(600).copy()
    frame.loc[[4, 9], "decided_at"] = ["yesterday-ish", "31/02/2024"]
    frame.to_csv(tmp_path / "log.csv", index=False)
    messages = []
    for engine in ("memory", "spark"):
        with pytest.raises(AuditError) as caught:
            audit_file(tmp_path / "log.csv", engine)
        messages.append(str(caught.value))
    assert "2 not readable as a date or time" in messages[0]
    assert messages[0] == messages[1]
