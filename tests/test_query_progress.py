"""Live progress of the DuckDB engine: rows read of the file's rows (Parquet metadata), shown
through the CLI's reporter, throttled in a log, silent with --quiet."""

from __future__ import annotations

import io
import re
import threading

import pandas as pd
import pytest

from audit.config import build_config
from audit.engines import query_progress
from audit.engines.duckdb_source import open_source
from audit.pipeline import run_audit
from audit.progress import Reporter

duckdb = pytest.importorskip("duckdb")

ROWS = 3_000_000
SHOWN = re.compile(r"^([\d,]+) of ([\d,]+) rows read \((\d+)%\)$")

# DuckDB 1.1.0 (the lowest version allowed) has no query_progress: no live progress there.
reports_progress = pytest.mark.skipif(
    not hasattr(duckdb.DuckDBPyConnection, "query_progress"),
    reason=f"DuckDB {duckdb.__version__} cannot report a running query's progress",
)


@pytest.fixture(scope="module")
def big_log(tmp_path_factory):
    """A decision log large enough that one GROUP BY takes several polls."""
    path = tmp_path_factory.mktemp("log") / "log.parquet"
    duckdb.execute(
        f"""COPY (SELECT CASE WHEN random() < 0.5 THEN 'F' ELSE 'M' END AS sex,
                         CAST(floor(random() * 4) AS INTEGER) AS region,
                         CASE WHEN random() < 0.4 THEN 1 ELSE 0 END AS label,
                         CASE WHEN random() < 0.4 THEN 1 ELSE 0 END AS decision
                  FROM range({ROWS})) TO '{path}' (FORMAT PARQUET)"""
    )
    return path


@pytest.fixture
def fast_polls(monkeypatch):
    monkeypatch.setattr(query_progress, "POLL_SECONDS", 0.001)


def test_parquet_rows_come_from_the_footer(tmp_path):
    frame = pd.DataFrame({"a": range(1234), "b": ["x"] * 1234})
    frame.to_parquet(tmp_path / "f.parquet")
    frame.to_csv(tmp_path / "f.csv", index=False)
    parquet = open_source(tmp_path / "f.parquet", show_progress=lambda text: None)
    csv = open_source(tmp_path / "f.csv", show_progress=lambda text: None)
    assert parquet.file_rows == 1234
    assert csv.file_rows is None  # unknown until read: only the percentage is shown
    parquet.close(), csv.close()


def test_rows_text():
    assert query_progress.rows_text(34.0, 10_000_000) == "3,400,000 of 10,000,000 rows read (34%)"
    assert query_progress.rows_text(12.4, None) == "12% of the file read"


@reports_progress
def test_a_query_shows_rows_read_while_it_runs(big_log, fast_polls):
    shown: list[str] = []
    source = open_source(big_log, show_progress=shown.append)
    counts = source.query(
        "SELECT sex, region, label, decision, count(*) AS n, count(DISTINCT random()) AS d "
        "FROM src GROUP BY ALL"
    )
    source.close()
    assert int(counts["n"].sum()) == ROWS
    assert shown, "no progress was shown during a multi-second query"
    read = []
    for text in shown:
        match = SHOWN.match(text)
        assert match, text
        done, total, percent = (int(g.replace(",", "")) for g in match.groups())
        assert total == ROWS and 0 <= done <= ROWS and 0 <= percent <= 100
        read.append(done)
    assert read == sorted(read)  # rows read only grow within one query
    # No thread is left polling once the query returned.
    assert not any(t.name == "duckdb-progress" for t in threading.enumerate())


def test_without_a_reporter_nothing_polls(big_log, fast_polls):
    source = open_source(big_log)
    assert source.show_progress is None and source.file_rows is None
    source.close()


def test_a_log_gets_a_detail_at_most_every_few_seconds():
    stream = io.StringIO()
    reporter = Reporter(False, stream=stream)
    reporter("Counting rows")
    reporter.detail("1 of 9 rows read (11%)", every=60)
    reporter.detail("2 of 9 rows read (22%)", every=60)  # within 60 s: not printed
    reporter.detail("reweighing, 2 of 5")  # an ordinary detail is always printed
    reporter.close()
    lines = stream.getvalue().splitlines()
    assert sum("rows read" in line for line in lines) == 1
    assert "1 of 9 rows read (11%)" in lines[1] and "reweighing" in lines[2]


def _config(path):
    return build_config(
        None,
        {
            "data": {"path": path, "target": "label", "sensitive": ["sex", "region"]},
            "predictions": {"prediction_column": "decision"},
            "fairness": {"bootstrap": {"resamples": 100}},
            "explain": {"enabled": False},
            "engine": "duckdb",
        },
    )


@reports_progress
@pytest.mark.parametrize("quiet", [False, True])
def test_an_audit_shows_rows_read_through_the_reporter_unless_quiet(big_log, fast_polls, quiet):
    stream = io.StringIO()
    reporter = Reporter(quiet, stream=stream)
    result = run_audit(_config(big_log), progress=reporter)
    reporter.close()
    assert result.provenance.engine == "duckdb"
    assert result.data.n_rows == ROWS
    if quiet:
        assert stream.getvalue() == ""
    else:
        assert re.search(r"[\d,]+ of 3,000,000 rows read \(\d+%\)", stream.getvalue())
