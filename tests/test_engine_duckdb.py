"""The DuckDB engine gives the in-memory engine's numbers without loading the rows.

The reference is the in-memory engine itself (checked against scikit-learn and fairlearn
elsewhere in the suite), run on the same file: every count metric, disparity, interval
and verdict must agree to 1e-12, on data with an empty intersection, a one-class group,
missing sensitive values and text labels.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from audit.config import build_config
from audit.engines.choice import AUTO_BYTES, choose_engine
from audit.errors import AuditError
from audit.pipeline import run_audit
from tests.conftest import assert_close, run_cli

pytest.importorskip("duckdb")


def _log(n: int, seed: int) -> pd.DataFrame:
    """A decision log: text labels, missing sensitive values, an empty intersection
    (sex F × race C never occurs) and a one-class group (race D: every label 'good')."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], n)
    race = rng.choice(["A", "B", "C", "D"], n, p=[0.5, 0.3, 0.15, 0.05]).astype(object)
    race[(sex == "F") & (race == "C")] = "A"
    race[rng.random(n) < 0.02] = None
    label = np.where(rng.random(n) < 0.4 + 0.2 * (sex == "M"), "good", "bad").astype(object)
    label[race == "D"] = "good"
    decision = np.where(rng.random(n) < 0.8, label, np.where(label == "good", "bad", "good"))
    age = rng.integers(18, 80, n).astype(float)
    age[rng.random(n) < 0.01] = np.nan
    return pd.DataFrame(
        {"sex": sex, "race": race, "age": age, "label": label, "decision": decision}
    )


def _audit(path: Path, engine: str, **extra) -> dict:
    overrides = {
        "data": {
            "path": path,
            "target": "label",
            "positive_label": "good",
            "sensitive": ["sex", "race", "age"],
        },
        "predictions": {"prediction_column": "decision"},
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
        **extra,
    }
    return run_audit(build_config(None, overrides)).model_dump(mode="json", by_alias=True)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_duckdb_equals_memory(tmp_path, suffix):
    frame = _log(4000, seed=1)
    path = tmp_path / f"log{suffix}"
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path)
    memory, duck = _audit(path, "memory"), _audit(path, "duckdb")
    assert memory["provenance"]["engine"] == "memory"
    assert duck["provenance"]["engine"] == "duckdb"
    # The data has what the test is about: an empty intersection and a one-class group.
    race = next(f for f in duck["fairness"]["features"] if f["feature"] == "race")
    one_class = next(g for g in race["groups"] if g["group"] == "D")
    assert one_class["fn"] + one_class["tp"] == one_class["n"] > 0
    assert one_class["fpr"] is None and "fpr" in one_class["undefined"]
    cross = next(f for f in duck["fairness"]["features"] if f["feature"] == "sex × race")
    assert "F × C" not in [g["group"] for g in cross["groups"]]
    assert_close(duck["fairness"], memory["fairness"])
    assert_close(duck["performance"], memory["performance"])
    assert_close(duck["verdicts"], memory["verdicts"])
    assert_close(duck["policy"], memory["policy"])
    assert duck["data"]["group_sizes"] == memory["data"]["group_sizes"]
    findings = {f["id"]: f for f in memory["quality"]["findings"]}
    for finding in duck["quality"]["findings"]:  # what both engines check, they find alike
        assert finding["evidence"] == findings[finding["id"]]["evidence"] or (
            finding["check"] == "null_markers"
        )
    assert duck["data"]["n_rows"] == memory["data"]["n_rows"] == len(frame)
    for a, b in zip(duck["data"]["columns"], memory["data"]["columns"], strict=True):
        assert (a["name"], a["missing"], a["unique"], a["role"]) == (
            b["name"],
            b["missing"],
            b["unique"],
            b["role"],
        )


@pytest.mark.parametrize("direction", ["higher_is_positive", "lower_is_positive"])
def test_duckdb_equals_memory_with_scores(tmp_path, direction):
    """A score column: decisions, ROC AUC, Brier, log loss and calibration per group, and
    their intervals (from the same score cells and seed) agree between the engines."""
    frame = _log(3000, seed=4)
    rng = np.random.default_rng(5)
    good = (frame["label"] == "good").to_numpy()
    frame["score"] = np.clip(rng.normal(0.45 + 0.2 * good, 0.2), 0, 1).round(3)
    path = tmp_path / "scored.parquet"
    frame.to_parquet(path)
    extra = {
        "predictions": {"score_column": "score", "threshold": 0.5, "score_direction": direction}
    }
    memory, duck = _audit(path, "memory", **extra), _audit(path, "duckdb", **extra)
    assert_close(duck["fairness"], memory["fairness"])
    assert_close(duck["verdicts"], memory["verdicts"])
    overall = {k: v for k, v in duck["performance"].items() if k not in ("roc_auc", "brier")}
    assert_close(overall, {k: memory["performance"][k] for k in overall})
    # The overall AUC: exact (scikit-learn) in memory, from the cells in DuckDB; these
    # scores have 3 decimals, each value in a bin of its own, so they agree too.
    assert duck["performance"]["roc_auc"] == pytest.approx(
        memory["performance"]["roc_auc"], abs=1e-12
    )
    sex = next(f for f in duck["fairness"]["features"] if f["feature"] == "sex")
    assert sex["groups"][0]["ci"]["roc_auc"] is not None
    if direction == "higher_is_positive":
        assert sex["groups"][0]["brier"] is not None
    else:  # negated scores are not probabilities
        assert sex["groups"][0]["brier"] is None


def test_duckdb_counts_by_hand(tmp_path):
    """A tiny log whose table is written out here: the engine's cells are these counts."""
    rows = [
        ("F", 1, 1), ("F", 1, 1), ("F", 1, 0), ("F", 0, 0),  # F: tp 2, fn 1, tn 1
        ("M", 0, 1), ("M", 0, 1), ("M", 0, 0), ("M", 1, 1),  # M: fp 2, tn 1, tp 1
    ]  # fmt: skip
    frame = pd.DataFrame(rows * 10, columns=["sex", "y", "pred"])
    path = tmp_path / "tiny.csv"
    frame.to_csv(path, index=False)
    overrides = {
        "data": {"path": path, "target": "y", "sensitive": ["sex"]},
        "predictions": {"prediction_column": "pred"},
        "fairness": {"bootstrap": {"resamples": 0}, "min_group_size": 1},
        "explain": {"enabled": False},
        "engine": "duckdb",
    }
    result = run_audit(build_config(None, overrides)).model_dump(mode="json", by_alias=True)
    (sex,) = result["fairness"]["features"]
    cells = {g["group"]: (g["tn"], g["fp"], g["fn"], g["tp"]) for g in sex["groups"]}
    assert cells == {"F": (10, 0, 10, 20), "M": (10, 20, 0, 10)}
    assert result["performance"]["accuracy"] == pytest.approx(50 / 80, abs=1e-12)


def test_engine_choice(tmp_path):
    small = tmp_path / "small.csv"
    _log(200, 0).to_csv(small, index=False)
    base = {
        "data": {"path": small, "target": "label", "sensitive": ["sex"]},
        "predictions": {"prediction_column": "decision"},
    }
    assert choose_engine(build_config(None, base))[0] == "memory"
    big = tmp_path / "big.parquet"
    with big.open("wb") as handle:  # only the size on disk decides
        handle.truncate(AUTO_BYTES["parquet"])
    assert (
        choose_engine(build_config(None, {**base, "data": {**base["data"], "path": big}}))[0]
        == "duckdb"
    )
    trained = build_config(None, {"data": base["data"], "engine": "duckdb"})
    with pytest.raises(AuditError, match="predictions-only"):
        choose_engine(trained)


def test_cli_duckdb_end_to_end(tmp_path):
    """CSV with missing values, a '?' marker and text labels, through the CLI."""
    frame = _log(3000, seed=2)
    frame["note"] = np.where(np.arange(len(frame)) % 50 == 0, "?", "ok")
    frame.loc[frame.index[:7], "label"] = None  # rows without a target are dropped, counted
    path = tmp_path / "log.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "out"
    result = run_cli(
        "run", "--data", path, "--target", "label", "--positive-label", "good",
        "--sensitive", "sex", "--sensitive", "race", "--prediction-column", "decision",
        "--engine", "duckdb", "--resamples", "100", "--out", out, "--format", "json",
        "--format", "html",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "results.json").read_text())
    assert saved["provenance"]["engine"] == "duckdb"
    assert saved["data"]["rows_without_target_dropped"] == 7
    assert saved["data"]["n_rows"] == len(frame) - 7
    checks = {c["id"]: c for c in saved["quality"]["checks"]}
    assert checks["missing_values"]["status"] == "ran"
    assert checks["outliers"]["status"] == "skipped"
    assert "--engine memory" in checks["outliers"]["reason"]
    # Duplicate rows counted in SQL, as pandas counts them among the rows with a label.
    labelled = frame[frame["label"].notna()]
    copies = int(labelled.duplicated(keep="first").sum())
    (rows,) = [f for f in saved["quality"]["findings"] if f["id"] == "duplicates:rows"]
    assert rows["evidence"]["duplicate_rows"] == copies > 0
    assert rows["evidence"]["rows_involved"] == int(labelled.duplicated(keep=False).sum())
    ids = [f["id"] for f in saved["quality"]["findings"]]
    assert "missing_values:race" in ids and "null_markers:note" in ids
    missing_race = next(f for f in saved["quality"]["findings"] if f["id"] == "missing_values:race")
    assert missing_race["evidence"]["missing"] == int(frame["race"].isna().sum() - 0) - int(
        frame["race"].isna()[:7].sum()
    )
    html = (out / "report.html").read_text()
    assert "DuckDB (out of core" in html


def test_duckdb_refuses_what_it_cannot_do(tmp_path):
    path = tmp_path / "log.csv"
    _log(300, 0).to_csv(path, index=False)
    result = run_cli(
        "run", "--data", path, "--target", "label", "--positive-label", "good",
        "--sensitive", "sex", "--engine", "duckdb", "--out", tmp_path / "out",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "predictions-only" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out" / "results.json").exists()


MEMORY_SCRIPT = textwrap.dedent(
    """
    import resource, sys
    from pathlib import Path
    from audit.config import build_config
    from audit.pipeline import run_audit

    path, engine, headroom = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])

    def config_for(path):
        return build_config(None, {
            "data": {"path": path, "target": "label", "positive_label": "good",
                     "sensitive": ["sex", "race"]},
            "predictions": {"prediction_column": "decision"},
            "fairness": {"bootstrap": {"resamples": 100}},
            "explain": {"enabled": False},
            "engine": engine,
        })

    # A first audit of the file's first rows loads every module the audit imports when it
    # first needs it, before the limit: the limit is on what auditing the big file adds.
    small = path.with_name("first-rows.csv")
    with open(path) as big, open(small, "w") as head:
        head.writelines(line for _, line in zip(range(200), big))
    run_audit(config_for(small))
    config = config_for(path)
    with open("/proc/self/status") as handle:
        size = next(int(line.split()[1]) * 1024 for line in handle if line.startswith("VmSize"))
    resource.setrlimit(resource.RLIMIT_AS, (size + headroom, size + headroom))
    try:
        result = run_audit(config)
    except MemoryError:
        print("MemoryError")
        sys.exit(3)
    print(result.performance.n)
    """
)


@pytest.mark.slow
def test_duckdb_audits_a_file_larger_than_its_memory_limit(tmp_path):
    """Address space limited to what the process holds plus 450 MB, a 630 MB CSV: the
    DuckDB engine audits it (it spills and streams); the in-memory engine cannot load it."""
    import duckdb

    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc to read the process's address-space size (Linux)")
    n = 28_000_000
    path = tmp_path / "big.csv"
    duckdb.execute(
        f"""COPY (SELECT CASE WHEN i % 2 = 0 THEN 'female' ELSE 'male' END AS sex,
                 CASE WHEN i % 3 = 0 THEN 'group-a' WHEN i % 3 = 1 THEN 'group-b'
                      ELSE 'group-c' END AS race,
                 CASE WHEN hash(i) % 5 < 2 THEN 'good' ELSE 'bad' END AS label,
                 CASE WHEN hash(i + 7) % 5 < 2 THEN 'good' ELSE 'bad' END AS decision
              FROM range({n}) t(i)) TO '{path}' (HEADER)"""
    )
    headroom = 450 * 2**20
    assert path.stat().st_size > 1.3 * headroom
    script = tmp_path / "audit_limited.py"
    script.write_text(MEMORY_SCRIPT)
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "MALLOC_ARENA_MAX": "2",  # glibc reserves 64 MB of address space per thread arena
        "PYTHONPATH": str(Path(__file__).parents[1]),
    }

    def limited(engine: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(script), str(path), engine, str(headroom)],
            capture_output=True,
            text=True,
            env=env,
            timeout=900,
        )

    duck = limited("duckdb")
    assert duck.returncode == 0, duck.stderr[-2000:]
    assert duck.stdout.strip().splitlines()[-1] == str(n)
    memory = limited("memory")
    assert memory.returncode != 0, "the limit does not bite: the test proves nothing"


def test_duckdb_spills_past_its_memory_limit_into_a_folder_of_its_own(tmp_path, monkeypatch):
    """Past its memory limit (here 64 MB; ulimit -v sets one), DuckDB spills the exact
    distinct and duplicate counts of a column of distinct scores into a folder of the
    audit's own (not DuckDB's default, .tmp in the working folder), removed when the audit
    ends, and the numbers are the in-memory engine's."""
    from audit.engines import duckdb_source

    frame = _log(1_000_000, seed=6)
    frame["score"] = np.random.default_rng(7).random(len(frame))  # every score distinct
    path = tmp_path / "scored.parquet"
    frame.to_parquet(path)
    spills = tmp_path / "tmp"
    spills.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(spills))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(duckdb_source, "MEMORY_LIMIT", 64 * 2**20)
    spilled = []
    close = duckdb_source.DuckSource.close

    def closing(source):
        # DuckDB makes the folder when it first spills (1.1 empties it after each query).
        spilled.append(source.spill is not None and source.spill.exists())
        close(source)

    monkeypatch.setattr(duckdb_source.DuckSource, "close", closing)
    extra = {"predictions": {"score_column": "score", "threshold": 0.5}}
    duck = _audit(path, "duckdb", **extra)
    assert spilled == [True], "the limit does not bite: the test proves nothing"
    assert list(spills.iterdir()) == [] and not (tmp_path / ".tmp").exists()
    memory = _audit(path, "memory", **extra)

    def counts(result):  # the engines name the types in their own words
        return {c["name"]: (c["missing"], c["unique"]) for c in result["data"]["columns"]}

    assert counts(duck)["score"] == (0, frame["score"].nunique()) == (0, len(frame))
    assert counts(duck) == counts(memory)
    assert_close(duck["fairness"], memory["fairness"])


def test_a_column_of_distinct_values_rules_out_duplicate_rows_without_a_scan(tmp_path, monkeypatch):
    """Duplicate rows as pandas counts them: none when a column (a record id) is present and
    distinct in every labelled row, found without the GROUP BY over every column; with one
    id missing, that row's exact copy is still found (the GROUP BY runs)."""
    from audit.engines import table_audit

    frame = _log(3000, seed=8)
    frame.insert(0, "record", np.arange(len(frame), dtype=float))
    scans = []
    grouping = table_audit.duplicate_rows
    monkeypatch.setattr(
        table_audit, "duplicate_rows", lambda *args: scans.append(1) or grouping(*args)
    )

    def duplicates(frame: pd.DataFrame, name: str) -> tuple[int, list]:
        path = tmp_path / name
        frame.to_parquet(path)
        result = _audit(path, "duckdb")
        found = [f for f in result["quality"]["findings"] if f["id"] == "duplicates:rows"]
        return len(scans), found

    assert frame.duplicated().sum() == 0
    assert duplicates(frame, "distinct.parquet") == (0, [])
    copied = frame.copy()
    copied.loc[5, "record"] = np.nan
    copied = pd.concat([copied, copied.iloc[[5]]], ignore_index=True)
    assert copied.duplicated().sum() == 1
    scanned, found = duplicates(copied, "copied.parquet")
    assert scanned == 1 and found[0]["evidence"]["duplicate_rows"] == 1
