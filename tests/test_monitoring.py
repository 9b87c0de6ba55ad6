"""Fairness over time (``--time-column``, ``monitoring:``): each window audited alone.

References: each window's rows picked by hand (the month as the first 7 characters of the
date text, ISO weeks from pandas' isocalendar, N-row blocks from a stable sort) and
audited through audit.metrics.measure; fairlearn's MetricFrame for one window; a synthetic
log with a drift planted in one month, where the alert must fire in that month only.
"""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pandas as pd
import pytest
from conftest import assert_close, needs_tools, pdf_text_and_overflow, run_cli
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    equalized_odds_difference,
    selection_rate,
)
from sklearn.linear_model import LogisticRegression

import audit
from audit.config import FairnessConfig, PolicyConfig, build_config
from audit.datasets import make_decision_log
from audit.errors import AuditError
from audit.metrics import measure

RESAMPLES = 200
FAIRNESS = {"bootstrap": {"resamples": RESAMPLES}}
POLICY = ["demographic_parity_difference <= 0.1", "equalized_odds_difference <= 0.15"]
QUIET = {"explain": {"enabled": False}}
WATCHED = ["demographic_parity_difference", "equalized_odds_difference"]  # POLICY's
DEFAULTS = [
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
]


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    """Six months of 1,000 decisions, women's scores pushed down in month 4 (2024-04)."""
    return make_decision_log(6_000, months=6, drift_month=4, drift=1.5, seed=2)


def audit_log(frame: pd.DataFrame, policy=POLICY, **monitoring) -> dict:
    result = audit.run(
        data=frame,
        target="repaid",
        sensitive=["sex", "age_group"],
        predictions="approved",
        policy=policy,
        fairness=FAIRNESS,
        monitoring={"time_column": "decided_at", **monitoring},
        **QUIET,
    )
    return result.to_dict()


@pytest.fixture(scope="module")
def monthly(log) -> dict:
    return audit_log(log)


def by_hand(rows: pd.DataFrame, y_pred=None, policy=POLICY, scores=None) -> dict:
    """audit.metrics.measure of some rows, called directly."""
    return measure(
        rows["repaid"].to_numpy(),
        rows["approved"].to_numpy() if y_pred is None else y_pred,
        scores,
        rows[["sex", "age_group"]].reset_index(drop=True),
        FairnessConfig(bootstrap={"resamples": RESAMPLES}),
        PolicyConfig(rules=policy),
        seed=0,
    )


def disparities(fairness: list[dict]) -> dict:
    return {
        (entry["feature"], d["metric"]): (d["value"], d["ci"])
        for entry in fairness
        for d in entry["disparities"]
    }


def compare_window(window: dict, expected: dict, watched=WATCHED) -> None:
    """A window of the result equals measure() of its rows: metrics, the watched
    disparities (the policy's, else the defaults; only those are computed per window)
    with intervals, verdicts and policy status."""
    assert window["n_rows"] == expected["performance"]["n"]
    for metric in ("accuracy", "selection_rate", "base_rate", "fpr", "fnr"):
        assert window["performance"][metric] == pytest.approx(expected["performance"][metric])
    got, want = disparities(window["fairness"]), disparities(expected["fairness"])
    features = {feature for feature, _ in want}
    assert set(got) == {(feature, metric) for feature in features for metric in watched}
    for key, (value, ci) in got.items():
        want_value, want_ci = want[key]
        want_ci = None if want_ci is None else list(want_ci)
        assert_close([value, None if ci is None else list(ci)], [want_value, want_ci], abs=1e-12)
    verdicts = [(v["rule"], v["feature"], v["verdict"]) for v in window["verdicts"]]
    assert verdicts == [(v["rule"], v["feature"], v["verdict"]) for v in expected["verdicts"]]
    assert window["policy"]["status"] == expected["policy"]["status"]


def test_each_month_is_measured_as_its_rows_alone(log, monthly):
    mon = monthly["monitoring"]
    month = log["decided_at"].str[:7]
    assert [w["label"] for w in mon["windows"]] == sorted(month.unique())
    assert mon["n_rows"] == len(log) == sum(w["n_rows"] for w in mon["windows"])
    for window in mon["windows"]:
        rows = log[month == window["label"]]
        assert window["start"] == rows["decided_at"].min()
        assert window["end"] == rows["decided_at"].max()
        compare_window(window, by_hand(rows))


def test_one_window_against_fairlearn(log, monthly):
    window = next(w for w in monthly["monitoring"]["windows"] if w["label"] == "2024-02")
    rows = log[log["decided_at"].str.startswith("2024-02")]
    y, pred, sex = rows["repaid"], rows["approved"], rows["sex"]
    frame = MetricFrame(metrics=selection_rate, y_true=y, y_pred=pred, sensitive_features=sex)
    sex_entry = next(e for e in window["fairness"] if e["feature"] == "sex")
    for group in sex_entry["groups"]:
        assert group["selection_rate"] == pytest.approx(frame.by_group[group["group"]])
    got = {d["metric"]: d["value"] for d in sex_entry["disparities"]}
    assert got["demographic_parity_difference"] == pytest.approx(
        demographic_parity_difference(y, pred, sensitive_features=sex)
    )
    assert got["equalized_odds_difference"] == pytest.approx(
        equalized_odds_difference(y, pred, sensitive_features=sex)
    )


def test_the_planted_drift_alerts_in_its_month_only(monthly):
    mon = monthly["monitoring"]
    assert mon["metrics_from"] == "policy"
    assert {(m["feature"], m["metric"]) for m in mon["monitored"]} >= {
        ("sex", "demographic_parity_difference"),
        ("sex", "equalized_odds_difference"),
    }
    assert {a["window"] for a in mon["alerts"]} == {"2024-04"}
    assert ("sex", "demographic_parity_difference") in {
        (a["feature"], a["metric"]) for a in mon["alerts"]
    }
    reference = {(p["feature"], p["metric"]): p for p in mon["trend"] if p["window"] == "2024-01"}
    for alert in mon["alerts"]:  # the value lies above the reference window's interval
        ref = reference[(alert["feature"], alert["metric"])]
        assert alert["reference_ci"] == ref["ci"] and ref["status"] == "reference"
        assert alert["value"] > ref["ci"][1]
        assert "2024-04" in alert["text"] and alert["feature"] in alert["text"]
    assert "2024-04" in mon["statement"]


def test_the_full_year_drift_alerts_in_july_only():
    """The teaching log as generated by default: 12 months, drift in the 7th; without the
    drift, no alert."""
    for drift_month, alerted in ((7, {"2024-07"}), (None, set())):
        frame = make_decision_log(24_000, drift_month=drift_month, seed=0)
        mon = audit_log(frame, policy=None)["monitoring"]
        assert mon["metrics_from"] == "default"
        assert {a["window"] for a in mon["alerts"]} == alerted
        if drift_month:  # the trend says so beside each alert
            july = [p for p in mon["trend"] if p["window"] == "2024-07" and p["feature"] == "sex"]
            assert {p["status"] for p in july} == {"alert"}


def test_a_named_reference_window(log):
    mon = audit_log(log, reference_window="2024-04")["monitoring"]
    assert mon["reference_window"] == "2024-04"
    statuses = {
        p["window"]: p["status"]
        for p in mon["trend"]
        if p["metric"] == "demographic_parity_difference" and p["feature"] == "sex"
    }
    assert statuses["2024-04"] == "reference"
    # Every other month is nearer to parity than the drifted one: improved, never an alert.
    assert not mon["alerts"]
    assert {statuses[m] for m in statuses if m != "2024-04"} <= {"improved", "within"}
    assert "improved" in statuses.values()


def test_n_row_windows_are_blocks_in_time_order(log):
    shuffled = log.sample(frac=1.0, random_state=1).reset_index(drop=True)
    mon = audit_log(shuffled, window="2500-rows")["monitoring"]
    ordered = shuffled.iloc[np.argsort(shuffled["decided_at"].to_numpy(), kind="stable")]
    assert [w["label"] for w in mon["windows"]] == ["1", "2", "3"]
    assert [w["n_rows"] for w in mon["windows"]] == [2500, 2500, 1000]
    for i, window in enumerate(mon["windows"]):
        rows = ordered.iloc[2500 * i : 2500 * (i + 1)]
        assert (window["start"], window["end"]) == (
            rows["decided_at"].min(),
            rows["decided_at"].max(),
        )
        compare_window(window, by_hand(rows))


def test_week_and_day_windows(log):
    small = log[log["decided_at"] < "2024-02-01"]  # January: 1,000 rows
    weeks = audit_log(small, window="week", policy=None)["monitoring"]
    iso = pd.to_datetime(small["decided_at"]).dt.isocalendar()
    labels = iso["year"].astype(str) + "-W" + iso["week"].astype(str).str.zfill(2)
    expected = labels.value_counts().sort_index()
    assert [w["label"] for w in weeks["windows"]] == list(expected.index)
    assert [w["n_rows"] for w in weeks["windows"]] == list(expected)
    compare_window(
        weeks["windows"][1],
        by_hand(small[labels == weeks["windows"][1]["label"]], policy=[]),
        watched=DEFAULTS,
    )
    days = audit_log(small, window="day", policy=None)["monitoring"]
    per_day = small["decided_at"].value_counts().sort_index()
    assert [w["label"] for w in days["windows"]] == list(per_day.index)
    assert [w["n_rows"] for w in days["windows"]] == list(per_day)
    # About 32 rows a day: no group reaches the minimum size for an interval, so no alert.
    assert not days["alerts"]
    assert {p["status"] for p in days["trend"]} <= {
        "reference",
        "insufficient data",
        "no reference interval",
    }
    assert "insufficient data" in {p["status"] for p in days["trend"]}


def test_a_short_window_is_insufficient_and_never_alerts(log):
    # The last block has 200 rows: with min_group_size 150, a feature has at most one group
    # big enough, so there is no disparity with an interval.
    frame = log.copy()
    april = frame["decided_at"].str.startswith("2024-04")
    frame = pd.concat([frame[~april], frame[april].head(200).assign(decided_at="2024-07-01")])
    result = audit.run(
        data=frame,
        target="repaid",
        sensitive=["sex"],
        predictions="approved",
        fairness={**FAIRNESS, "min_group_size": 150},
        monitoring={"time_column": "decided_at"},
        **QUIET,
    ).to_dict()
    mon = result["monitoring"]
    last = [p for p in mon["trend"] if p["window"] == "2024-07"]
    assert last and {p["status"] for p in last} == {"insufficient data"}
    assert "2024-07" not in {a["window"] for a in mon["alerts"]}
    assert "too few rows" in mon["statement"]


@pytest.mark.parametrize("zoned", ["offset text", "zone-aware datetimes"])
def test_times_with_a_zone_keep_their_own_clock(log, zoned):
    # Decisions at 01:00+05:00 (or midnight in Berlin) on 1 January were put in a
    # December 2023 window (converted to UTC), 13 rows of a log that starts in January.
    frame = log.copy()
    local = pd.to_datetime(frame["decided_at"]) + pd.Timedelta(hours=1)
    if zoned == "offset text":
        frame["decided_at"] = local.dt.strftime("%Y-%m-%dT%H:%M:%S") + "+05:00"
    else:
        frame["decided_at"] = local.dt.tz_localize("Europe/Berlin")
    mon = audit_log(frame)["monitoring"]
    by_month = log["decided_at"].str[:7].value_counts().sort_index()
    assert [(w["label"], w["n_rows"]) for w in mon["windows"]] == list(by_month.items())
    assert mon["windows"][0]["start"] == log["decided_at"].min() + "T01:00:00"


def test_a_reference_window_without_an_interval_does_not_claim_no_alert(log):
    # A log in local time with an offset: 13 decisions of 1 January before 05:00 at +05:00
    # fall in December in UTC, a 20-row first window with no interval. The statement and
    # the terminal said "No alert: every window's disparity lies inside the reference
    # interval" although no window had been compared with anything.
    from audit.report.terminal import summary_lines

    frame = log.copy()
    january = frame.index[frame["decided_at"].str.startswith("2024-01")][:20]
    frame.loc[january, "decided_at"] = "2023-12-31"
    result = audit_log(frame)
    mon = result["monitoring"]
    assert mon["reference_window"] == "2023-12"
    statuses = {p["status"] for p in mon["trend"] if p["window"] != "2023-12"}
    assert statuses == {"no reference interval"} and not mon["alerts"]
    assert "No alert" not in mon["statement"]
    assert "Nothing was compared" in mon["statement"]
    assert "--reference-window" in mon["statement"]
    terminal = "\n".join(summary_lines(result))
    assert "nothing compared in 7 windows" in terminal and "no alert" not in terminal
    # Named reference with an interval: compared again.
    named = audit_log(frame, reference_window="2024-02")["monitoring"]
    assert "Nothing was compared" not in named["statement"]


def test_a_trained_and_a_loaded_model_are_watched_on_their_evaluated_rows(log):
    features = log.assign(x=log["score"], month=log["decided_at"].str[5:7].astype(int))
    trained = audit.run(
        data=features[["decided_at", "sex", "age_group", "x", "repaid"]],
        target="repaid",
        sensitive=["sex"],
        model="logistic_regression",
        fairness=FAIRNESS,
        monitoring={"time_column": "decided_at"},
        mitigation={"strategies": []},
        **QUIET,
    ).to_dict()
    assert "decided_at" not in trained["model"]["input_columns"]  # a time is never an input
    windows = trained["monitoring"]["windows"]
    assert sum(w["n_rows"] for w in windows) == trained["data"]["n_evaluated"] == 1800
    # A model fitted here by hand, loaded: every row is evaluated, each window as measured.
    model = LogisticRegression().fit(features[["x"]], features["repaid"])
    loaded = audit.run(
        data=features[["decided_at", "sex", "age_group", "x", "repaid"]],
        target="repaid",
        sensitive=["sex", "age_group"],
        model=model,
        features=["x"],
        policy=POLICY,
        fairness=FAIRNESS,
        monitoring={"time_column": "decided_at"},
        mitigation={"strategies": []},
        **QUIET,
    ).to_dict()
    month = features["decided_at"].str[:7]
    window = loaded["monitoring"]["windows"][2]
    rows = features[month == window["label"]]
    scores = model.predict_proba(rows[["x"]])[:, 1]
    compare_window(window, by_hand(rows, (scores >= 0.5).astype(np.int8), scores=scores))


def test_config_section_reads_like_the_flags(tmp_path, log):
    path = tmp_path / "audit.yaml"
    path.write_text(
        "data: {path: log.csv, target: repaid, sensitive: [sex]}\n"
        "predictions: {prediction_column: approved}\n"
        "monitoring: {time_column: decided_at, window: '1,000-rows', reference_window: '2'}\n"
    )
    config = build_config(path, {})
    assert (config.monitoring.time_column, config.monitoring.window) == ("decided_at", "1,000-rows")
    assert config.monitoring.reference_window == "2"
    path.write_text("monitoring: {reference_window: '2024-01'}\n")
    with pytest.raises(AuditError, match="reference_window needs monitoring.time_column"):
        build_config(path, {})
    path.write_text("monitoring: {time_column: t, window: fortnight}\n")
    with pytest.raises(AuditError, match="month, week, day or N-rows"):
        build_config(path, {})


@pytest.mark.parametrize(
    ("change", "flags", "message"),
    [
        (None, ["--time-column", "when"], "'when' not found"),
        (
            None,
            ["--time-column", "decided_at", "--window", "fortnight"],
            "month, week, day or N-rows",
        ),
        (None, ["--time-column", "decided_at", "--window", "0-rows"], "N >= 1"),
        (None, ["--time-column", "decision_id"], "holds numbers, not dates"),
        (
            None,
            ["--time-column", "decided_at", "--reference-window", "2023-12"],
            "not a window of the data",
        ),
        (
            {4: "yesterday-ish", 9: "31/02/2024"},
            ["--time-column", "decided_at"],
            "2 not readable as a date or time",
        ),
        ({4: None}, ["--time-column", "decided_at"], "1 missing"),
        (None, ["--time-column", "decided_at", "--resamples", "0"], "intervals are turned off"),
    ],
)
def test_bad_column_or_window_exits_2_with_a_clear_message(tmp_path, log, change, flags, message):
    frame = log.head(600).copy()
    for row, value in (change or {}).items():
        frame.loc[row, "decided_at"] = value
    frame.to_csv(tmp_path / "log.csv", index=False)
    out = tmp_path / "out"
    result = run_cli(
        "run", "--data", tmp_path / "log.csv", "--target", "repaid", "--sensitive", "sex",
        "--prediction-column", "approved", "--out", out, "-f", "json", "--quiet", *flags,
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not (out / "results.json").exists()


def test_day_first_dates_are_refused_when_ambiguous_and_read_when_not(tmp_path, log):
    """05/03/2024 is 5 March or 3 May: pandas read each value whichever way parsed, so a
    dd/mm/yyyy log had 13/03 in March and 05/03 in May (months of 465 to 542 rows instead
    of 500). Ambiguous text is refused; day-first text that only reads one way is read."""
    frame = log.head(600).copy()
    iso = pd.to_datetime(frame["decided_at"])
    frame["decided_at"] = iso.dt.strftime("%d/%m/%Y")
    frame.to_csv(tmp_path / "log.csv", index=False)
    result = run_cli(
        "run", "--data", tmp_path / "log.csv", "--target", "repaid", "--sensitive", "sex",
        "--prediction-column", "approved", "--out", tmp_path / "out", "-f", "json", "--quiet",
        "--time-column", "decided_at",
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "read differently day first and month first" in result.output
    assert "ISO 8601" in result.output and "Traceback" not in result.output
    late = frame[iso.dt.day > 12]  # 13/01/2024 ...: only day first reads
    months = audit_log(late)["monitoring"]["windows"]
    assert [(w["label"], w["n_rows"]) for w in months] == sorted(
        iso[iso.dt.day > 12].dt.strftime("%Y-%m").value_counts().items()
    )


def test_cli_writes_the_monitoring_section_and_the_report(tmp_path, log):
    log.to_csv(tmp_path / "log.csv", index=False)
    out = tmp_path / "out"
    result = run_cli(
        "run", "--data", tmp_path / "log.csv", "--target", "repaid", "--sensitive", "sex",
        "--sensitive", "age_group", "--prediction-column", "approved",
        "--time-column", "decided_at", "--window", "month", "--resamples", str(RESAMPLES),
        "--fail-on", "demographic_parity_difference <= 0.1", "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Over time: " in result.output and "window 2024-04" in result.output
    saved = json.loads((out / "results.json").read_text())
    mon = saved["monitoring"]
    assert mon["time_column"] == "decided_at" and mon["n_windows"] == 6
    assert {a["window"] for a in mon["alerts"]} == {"2024-04"}
    assert "2024-04" in [w["label"] for w in mon["windows"] if w["policy"]["status"] == "fail"]
    table = pd.read_csv(out / "tables" / "over_time.csv")
    assert len(table) == len(mon["trend"]) == mon["n_windows"] * len(mon["monitored"])
    assert set(table.loc[table["status"] == "alert", "window"]) == {"2024-04"}
    html = (out / "report.html").read_text()
    assert '<section id="monitoring">' in html and "<h2>Over time</h2>" in html
    assert 'id="annex-over-time"' in html and "Over time: every window" in html
    needs_tools("pdftotext")
    body, past = pdf_text_and_overflow(out / "report.pdf")
    assert "Over time" in body and "2024-04" in body and not past
    annex, past = pdf_text_and_overflow(out / "report-annex.pdf")
    assert "Over time: every window" in annex and not past
    # The trend figure (the tallest image: a panel per watched disparity) is printed at a
    # readable width: under the PDF's 6 cm cap on figures it was 4 cm wide with 6 panels.
    needs_tools("pdfimages")
    listing = subprocess.run(
        ["pdfimages", "-list", out / "report.pdf"], check=True, capture_output=True, text=True
    ).stdout.splitlines()[2:]
    images = [line.split() for line in listing if line.split()[2] == "image"]
    tallest = max(images, key=lambda fields: int(fields[4]))  # page num type width height ...
    width_cm = int(tallest[3]) / float(tallest[12]) * 2.54  # pixels / x-ppi
    assert width_cm >= 11


def test_the_trend_figure_is_readable_with_many_windows(monkeypatch):
    """60 day windows and 8 watched disparities: at most 6 panels (those with alerts
    first), at most 12 window labels, none touching, a key below the panels."""
    from test_figures import assert_readable

    from audit.report import monitoring_plots, plots

    drawn = []

    def keep(figure):
        uri = plots.to_data_uri(figure)
        drawn.append((figure, uri))
        return uri

    monkeypatch.setattr(monitoring_plots, "to_data_uri", keep)
    labels = [str(d.date()) for d in pd.date_range("2024-01-01", periods=60)]
    pairs = [(f"feature {i}", "demographic_parity_difference") for i in range(8)]
    rng = np.random.default_rng(0)
    trend = []
    for w, label in enumerate(labels):
        for feature, metric in pairs:
            value = float(rng.uniform(0.0, 0.1)) + (0.3 if (feature, w) == ("feature 7", 40) else 0)
            status = "reference" if w == 0 else ("alert" if value > 0.2 else "within")
            trend.append(
                {"window": label, "feature": feature, "metric": metric, "value": value,
                 "ci": [value - 0.03, value + 0.03], "status": status}
            )  # fmt: skip
    monitoring = {
        "monitored": [{"feature": f, "metric": m} for f, m in pairs],
        "windows": [{"label": label} for label in labels],
        "trend": trend,
        "alerts": [{"feature": "feature 7", "metric": pairs[0][1], "window": labels[40]}],
    }
    assert monitoring_plots.trend_chart(monitoring).startswith("data:image/png")
    ((figure, uri),) = drawn
    assert_readable(figure, uri)
    panels = [axes.get_title() for axes in figure.axes]
    assert len(panels) == 6 and panels[0].startswith("feature 7")
    assert (
        len(shown := [t.get_text() for t in figure.axes[-1].get_xticklabels() if t.get_text()])
        <= 12
    )
    assert shown[0] == labels[0]
