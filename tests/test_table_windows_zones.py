"""Fairness over time on DuckDB and Spark with times that carry a time zone or an offset.

The in-memory engine reads each time at its own zone's clock (audit.monitoring.windows
parse_times): a Parquet column's Arrow zone, a CSV text's written offset dropped. DuckDB
(and Spark, for a Parquet file, whatever its session's zone) must cut the same windows:
every label, size, start and end, per-window metric, watched disparity with its interval,
verdict, trend and alert equal to 1e-12 (tests/conftest.py assert_close), and the windows
also equal those counted by hand from the local clock.

The times are random instants near midnight in Paris, on days around both 2024 daylight
saving changes (31 March, 27 October), a month end and a Monday: read at the wrong zone's
clock, rows move to another day, week or month — checked here, so these tests fail when
the zone is ignored (one of them replaces the zone's clock by UTC's and sees the windows
differ). A Spark DataFrame given in memory has lost the zone: refused. Run with ``-n 0``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from audit.config import build_config
from audit.datasets import make_decision_log
from audit.engines import duckdb_source
from audit.errors import AuditError
from audit.pipeline import run_audit
from tests import test_monitoring_engines
from tests.conftest import assert_close
from tests.test_monitoring_engines import assert_same_monitoring, audit_file

pytest.importorskip("duckdb")

spark = test_monitoring_engines.spark  # the Spark session fixture (local[1]), skipped without Spark

# UTC midnights of days around the DST changes, a month end and Monday 1 April / 28 October.
DAYS = ["2024-03-29", "2024-03-30", "2024-03-31", "2024-04-01", "2024-10-26", "2024-10-27"]
DAYS += ["2024-10-28", "2024-10-31", "2024-11-01"]
# Each window's label written by strftime (weeks: ISO year and week), not by the engines.
LABELS = {"day": "%Y-%m-%d", "week": "%G-W%V", "month": "%Y-%m"}
FIXED = dt.timezone(dt.timedelta(hours=5, minutes=30))  # Arrow writes it as "+05:30"


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    return make_decision_log(1_800, months=2, drift_month=None, seed=5)


def instants(n: int, seed: int) -> pd.Series:
    """Random UTC instants within 3 hours of a day's UTC midnight (Paris midnight is at
    22:00 or 23:00 UTC), to the microsecond so that no two rows share a time."""
    rng = np.random.default_rng(seed)
    day = pd.to_datetime(rng.choice(DAYS, n))
    offset = rng.integers(-3 * 3600 * 10**6, 3 * 3600 * 10**6, n)
    return pd.Series(day + pd.to_timedelta(offset, unit="us")).dt.tz_localize("UTC")


def hand_windows(local: pd.Series, window: str) -> list[tuple[str, int]]:
    """(label, rows) of each calendar window of wall-clock times, in time order."""
    labels = local.dt.strftime(LABELS[window])
    first = local.groupby(labels).min().sort_values()
    counts = labels.value_counts()
    return [(label, int(counts[label])) for label in first.index]


def windows_of(result: dict) -> list[tuple[str, int]]:
    return [(w["label"], w["n_rows"]) for w in result["monitoring"]["windows"]]


@pytest.mark.parametrize(
    ("zone", "unit"),
    [("UTC", "us"), ("Europe/Paris", "us"), ("Europe/Paris", "ns"), (FIXED, "us")],
    ids=["utc", "paris", "paris-ns", "fixed-offset"],
)
@pytest.mark.parametrize("window", ["day", "week", "month", "250-rows"])
def test_zoned_parquet_windows_equal_memory(tmp_path, log, zone, unit, window):
    times = instants(len(log), seed=11).dt.tz_convert(zone)
    times = times.astype(pd.DatetimeTZDtype(unit, times.dt.tz))
    path = tmp_path / "zoned.parquet"
    log.assign(decided_at=times).to_parquet(path)
    memory = audit_file(path, "memory", window)
    duck = audit_file(path, "duckdb", window)
    assert duck["provenance"]["engine"] == "duckdb"
    assert_same_monitoring(duck, memory)
    local = times.dt.tz_localize(None)
    if window in LABELS:
        assert windows_of(duck) == hand_windows(local, window)
        if zone != "UTC":  # the zone matters: at UTC's clock the windows would differ
            assert hand_windows(local, window) != hand_windows(times.dt.tz_convert(None), window)
    else:  # blocks of 250 rows in local time order: starts and ends by hand
        ordered = local.sort_values().reset_index(drop=True)
        starts = [w["start"] for w in duck["monitoring"]["windows"]]
        assert starts == [t.isoformat() for t in ordered[::250]]


def test_ignoring_the_zone_would_fail(tmp_path, log, monkeypatch):
    """The check above is not vacuous: read at UTC's clock, DuckDB's Paris days differ."""
    times = instants(len(log), seed=11).dt.tz_convert("Europe/Paris")
    path = tmp_path / "paris.parquet"
    log.assign(decided_at=times).to_parquet(path)
    memory = audit_file(path, "memory", "day")
    monkeypatch.setattr(
        duckdb_source.DuckSource,
        "local_time",
        lambda self, column: f"timezone('UTC', {duckdb_source.quote(column)})",
    )
    at_utc = audit_file(path, "duckdb", "day")
    assert windows_of(at_utc) != windows_of(memory)
    assert windows_of(at_utc) == hand_windows(times.dt.tz_convert(None), "day")


@pytest.mark.parametrize("window", ["day", "week", "month", "250-rows"])
def test_csv_times_with_offsets_equal_memory(tmp_path, log, window):
    """Text with a different offset on each row (Z, +01:00, -0800, +05:30...): both
    engines keep the clock each time is written in, so the windows are those of the
    written dates, not of the instants."""
    rng = np.random.default_rng(13)
    wall = instants(len(log), seed=12).dt.tz_localize(None)
    offsets = rng.choice(["Z", "+01:00", "+02:00", "-0800", "+05:30", " +01:00"], len(log))
    text = wall.dt.strftime("%Y-%m-%dT%H:%M:%S.%f") + offsets
    path = tmp_path / "offsets.csv"
    log.assign(decided_at=text).to_csv(path, index=False)
    memory = audit_file(path, "memory", window)
    duck = audit_file(path, "duckdb", window)
    assert_same_monitoring(duck, memory)
    if window in LABELS:
        assert windows_of(duck) == hand_windows(wall, window)
        instants_read = pd.to_datetime(text.str.replace(" ", ""), utc=True, format="ISO8601")
        assert hand_windows(wall, window) != hand_windows(instants_read.dt.tz_convert(None), window)
    else:
        assert duck["monitoring"]["windows"][0]["start"] == wall.min().isoformat()


@pytest.mark.slow  # starts Spark (see test_engine_spark.py)
@pytest.mark.parametrize(
    ("zone", "window", "scored"),
    [
        ("Europe/Paris", "day", False),
        ("Europe/Paris", "250-rows", False),
        (FIXED, "week", False),
        ("Europe/Paris", "day", True),
    ],
    ids=["paris-day", "paris-rows", "fixed-week", "paris-day-score"],
)
def test_zoned_parquet_windows_on_spark_equal_memory(spark, tmp_path, log, zone, window, scored):
    """Spark's timestamp is an instant shown in the session's zone: the windows must not
    depend on it (set here to New York's, neither the data's nor UTC). With a score column
    too, each window binned over its own range."""
    times = instants(len(log), seed=11).dt.tz_convert(zone)
    path = tmp_path / "zoned.parquet"
    log.assign(decided_at=times).to_parquet(path)
    extra = {}
    if scored:
        extra = {
            "predictions": {"score_column": "score", "threshold": 0.5},
            "policy": {"rules": ["demographic_parity_difference <= 0.1"]},
        }
    memory = audit_file(path, "memory", window, **extra)
    before = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", "America/New_York")
    try:
        on_spark = audit_file(path, "spark", window, **extra)
    finally:
        spark.conf.set("spark.sql.session.timeZone", before)
    assert on_spark["provenance"]["engine"] == "spark"
    assert_same_monitoring(on_spark, memory)
    if window in LABELS:
        assert windows_of(on_spark) == hand_windows(times.dt.tz_localize(None), window)


@pytest.mark.slow  # starts Spark (see test_engine_spark.py)
def test_spark_dataframe_with_zoned_times_is_refused(spark, tmp_path, log):
    """A DataFrame given in memory keeps no zone for its timestamps: refused, saying so."""
    path = tmp_path / "zoned.parquet"
    log.assign(decided_at=instants(len(log), seed=11).dt.tz_convert("Europe/Paris")).to_parquet(
        path
    )
    overrides = {
        "data": {"target": "repaid", "sensitive": ["sex"]},
        "predictions": {"prediction_column": "approved"},
        "monitoring": {"time_column": "decided_at", "window": "day"},
        "explain": {"enabled": False},
        "engine": "spark",
    }
    config = build_config(None, overrides).with_objects(frame=spark.read.parquet(str(path)))
    with pytest.raises(AuditError, match="holds times with a time zone .* cannot read or apply"):
        run_audit(config)


def hand_blocks(frame: pd.DataFrame, times: pd.Series, size: int) -> list[dict[str, float]]:
    """Each block's confusion counts by hand: the rows with a target in file order, sorted
    by time with equal times kept in file order, cut every ``size`` rows."""
    kept = frame["repaid"].notna().to_numpy()
    rows = frame[kept].assign(at=times[kept].to_numpy()).reset_index(drop=True)
    rows = rows.iloc[np.lexsort((np.arange(len(rows)), rows["at"].to_numpy()))]
    block = np.arange(len(rows)) // size
    y, pred = rows["repaid"].to_numpy() == 1, rows["approved"].to_numpy() == 1
    cells = []
    for i in range(int(block.max()) + 1):
        yi, pi = y[block == i], pred[block == i]
        cells.append(
            {
                "tn": float(np.sum(~yi & ~pi)),
                "fp": float(np.sum(~yi & pi)),
                "fn": float(np.sum(yi & ~pi)),
                "tp": float(np.sum(yi & pi)),
            }
        )
    return cells


@pytest.mark.parametrize("kind", ["timestamp", "date", "paris", "text"])
@pytest.mark.parametrize("size", [7, 333])
def test_parquet_row_blocks_cut_ties_in_file_order(tmp_path, log, kind, size):
    """Dates only, rows shuffled (file order is not time order), some without a target:
    nearly every block boundary falls between rows of the same day, which both engines
    order by their place in the file. Text times write some days two ways (2024-01-05 and
    2024-01-05T00:00:00), one time for two key values."""
    frame = log.sample(frac=1, random_state=3).reset_index(drop=True)
    frame["repaid"] = frame["repaid"].astype(float).mask(frame.index % 37 == 5)
    days = pd.to_datetime(frame["decided_at"])
    column = {
        "timestamp": days,
        "date": days.dt.date,
        "paris": days.dt.tz_localize("Europe/Paris"),
        "text": frame["decided_at"].mask(frame.index % 2 == 1, frame["decided_at"] + "T00:00:00"),
    }[kind]
    path = tmp_path / "days.parquet"
    frame.assign(decided_at=column).to_parquet(path, row_group_size=300)
    memory = audit_file(path, "memory", f"{size}-rows")
    duck = audit_file(path, "duckdb", f"{size}-rows")
    assert_same_monitoring(duck, memory)
    cells = [w["performance"]["confusion_matrix"] for w in duck["monitoring"]["windows"]]
    assert_close(cells, hand_blocks(frame, days, size))
    # Not vacuous: equal times in reverse file order would fill the blocks differently.
    reverse = hand_blocks(frame.iloc[::-1], days.iloc[::-1], size)
    assert any(a != b for a, b in zip(cells, reverse, strict=True))
    n = int(frame["repaid"].notna().sum())
    assert [w["n_rows"] for w in duck["monitoring"]["windows"]] == [size] * (n // size) + [n % size]
    # Most boundaries cut a day: in time order alone (ties unordered) the blocks are unknown.
    per_day = days[frame["repaid"].notna()].value_counts().sort_index().cumsum().to_numpy()
    assert np.sum(per_day % size != 0) > len(per_day) // 2


def test_csv_row_blocks_that_cut_a_tie_are_still_refused(tmp_path, log):
    """DuckDB reads a CSV in parallel, without the rows' places: no file order to cut by."""
    frame = log.sample(frac=1, random_state=3)
    frame.to_csv(tmp_path / "days.csv", index=False)
    with pytest.raises(AuditError, match="would cut between rows with the same time"):
        audit_file(tmp_path / "days.csv", "duckdb", "7-rows")


def test_a_zone_duckdb_cannot_apply_is_refused(tmp_path, log, monkeypatch):
    """A zone name DuckDB's time zone data lacks: refused (exit 2), not read at UTC."""
    path = tmp_path / "zoned.parquet"
    log.assign(decided_at=instants(len(log), seed=11)).to_parquet(path)
    monkeypatch.setattr(duckdb_source, "parquet_time_zone", lambda path, column: "Mars/Olympus")
    with pytest.raises(AuditError, match="holds times with a time zone .* cannot read or apply"):
        audit_file(path, "duckdb", "day")


@pytest.mark.slow  # starts Spark (see test_engine_spark.py)
def test_csv_times_with_offsets_on_spark_equal_memory(spark, tmp_path, log):
    wall = instants(len(log), seed=12).dt.tz_localize(None)
    offsets = np.random.default_rng(13).choice(["Z", "+01:00", "-0800", "+05:30"], len(log))
    path = tmp_path / "offsets.csv"
    log.assign(decided_at=wall.dt.strftime("%Y-%m-%dT%H:%M:%S.%f") + offsets).to_csv(
        path, index=False
    )
    memory = audit_file(path, "memory", "week")
    on_spark = audit_file(path, "spark", "week")
    assert_same_monitoring(on_spark, memory)
    assert windows_of(on_spark) == hand_windows(wall, "week")


@pytest.mark.parametrize("window", ["day", "333-rows"])
def test_score_windows_of_zoned_times_with_ties_equal_memory(tmp_path, log, window):
    """A score column too (each window binned over its own range): Paris times near
    midnight for day windows; Paris dates only, shuffled, for row blocks that cut days."""
    frame = log.sample(frac=1, random_state=3).reset_index(drop=True)
    if window == "day":
        times = instants(len(frame), seed=11).dt.tz_convert("Europe/Paris")
    else:
        times = pd.to_datetime(frame["decided_at"]).dt.tz_localize("Europe/Paris")
    path = tmp_path / "scored.parquet"
    frame.assign(decided_at=times).to_parquet(path, row_group_size=300)
    scored = {
        "predictions": {"score_column": "score", "threshold": 0.5},
        "policy": {"rules": ["demographic_parity_difference <= 0.1", "roc_auc_difference <= 0.1"]},
    }
    memory = audit_file(path, "memory", window, **scored)
    duck = audit_file(path, "duckdb", window, **scored)
    assert_same_monitoring(duck, memory)
    if window == "day":
        assert windows_of(duck) == hand_windows(times.dt.tz_localize(None), "day")
