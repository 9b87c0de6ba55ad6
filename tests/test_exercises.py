"""The teaching exercises (examples/exercises, `rai-audit exercise`): each audit finds the cause
its scenario plants, the answer keys derived from them mark themselves right, `check` gives
hints for wrong answers, `start` copies an exercise with its data, the wheel ships them.
The notebooks run in test_exercise_notebooks.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from audit.cli import app
from audit.datasets import teaching
from audit.exercises import (
    KEY_FILE,
    QUESTION_TYPES,
    answer_key,
    check,
    exercise_data,
    exercise_folder,
    exercise_names,
    key_module,
    load_exercise,
    mark,
    start,
)

runner = CliRunner()
FOLDER_FILES = ("task.md", "exercise.ipynb", "audit.yaml", "questions.yaml", KEY_FILE)


@pytest.fixture(scope="module")
def keys():
    """Each exercise's key as `check` gets it, computed once (each runs its audit)."""
    cache: dict[str, dict] = {}

    def get(name: str) -> dict:
        if name not in cache:
            cache[name] = answer_key(name)
        return cache[name]

    return get


def _plain(value):
    """A key value as YAML writes it (numpy scalars to Python)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _write(path: Path, answers: dict) -> Path:
    path.write_text(yaml.safe_dump({k: _plain(v) for k, v in answers.items()}), encoding="utf-8")
    return path


# --- the exercises' files ------------------------------------------------------------------


def test_at_least_eight_exercises_each_complete():
    names = exercise_names()
    assert len(names) >= 8, names
    for name in names:
        folder = exercise_folder(name)
        for file in FOLDER_FILES:
            assert (folder / file).is_file(), f"{name} lacks {file}"
        exercise = load_exercise(name)
        assert exercise.minutes > 0 and exercise.teaches and exercise.questions
        ids = [q.id for q in exercise.questions]
        assert len(ids) == len(set(ids)), f"{name}: repeated question ids"
        for q in exercise.questions:
            assert q.type in QUESTION_TYPES and q.hint.strip()
            assert (q.tolerance is not None) == (q.type == "number")
            assert q.type in ("number", "yesno") or q.options
            assert q.id in (folder / "task.md").read_text(), f"{name}: task.md omits {q.id}"
        config = yaml.safe_load((folder / "audit.yaml").read_text())
        data_file = Path(config["data"]["path"]).name
        assert data_file in exercise.data, f"{name}: audit.yaml reads a file start does not write"


def test_every_exercise_is_listed_for_the_wheel():
    """setuptools ships a data folder it is told of (the slow wheel test below proves it)."""
    import tomllib

    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    listed = set(tomllib.loads(pyproject.read_text())["tool"]["setuptools"]["packages"])
    missing = {f"audit.exercise_files.{n}" for n in exercise_names()} - listed
    assert missing == set(), "add to [tool.setuptools] packages in pyproject.toml"


def test_learning_order_is_unique():
    orders = [load_exercise(n).order for n in exercise_names()]
    assert len(orders) == len(set(orders))


@pytest.mark.parametrize("generator", sorted(teaching.GENERATORS))
def test_scenarios_are_deterministic_from_their_seed(generator):
    make = teaching.GENERATORS[generator]
    size = {"rows_per_month": 50} if generator == "monitoring" else {"n_rows": 300}
    pd.testing.assert_frame_equal(make(**size, seed=3), make(**size, seed=3))
    assert not make(**size, seed=3).equals(make(**size, seed=4))


# --- every audit finds its planted cause ---------------------------------------------------


def test_label_bias_key_is_the_planted_bias(keys):
    key = keys("label_bias")
    frame = exercise_data("label_bias")["hiring.csv"]
    test = frame[frame["split"] == "test"]
    # hand counts on the audited (test) rows: the labels' gap, and no gap in `qualified`
    rates = test.groupby("sex")["hired"].mean()
    assert key["label_gap"] == pytest.approx(rates["female"] - rates["male"], abs=1e-9)
    assert key["label_gap"] < -0.15
    qualified = frame.groupby("sex")["qualified"].mean()
    assert abs(qualified["female"] - qualified["male"]) < 0.05
    assert key["skills_differ"] is False
    assert key["disadvantaged_group"] == teaching.LABEL_BIAS_GROUP
    assert key["dp_verdict"] == "fail"
    # judged against the unbiased label, qualified women are selected far less often
    _, against_qualified = key_module("label_bias").audits()
    tpr = against_qualified.groups("sex").set_index("group")
    assert key["tpr_gap_qualified"] < -0.2
    assert tpr.loc["female", "tpr_high"] < tpr.loc["male", "tpr_low"]


def test_representation_bias_key_is_the_rare_group(keys):
    key = keys("representation_bias")
    frame = exercise_data("representation_bias")["screening.csv"]
    share = (frame["group"] == teaching.RARE_GROUP).mean()
    assert share == pytest.approx(teaching.RARE_SHARE, abs=0.01)
    assert key["rare_group"] == key["lowest_accuracy_group"] == teaching.RARE_GROUP
    groups = key_module("representation_bias").audits().groups("group").set_index("group")
    assert groups.loc["minority", "accuracy_high"] < groups.loc["majority", "accuracy_low"]
    assert key["accuracy_gap"] > 0.15
    assert key["minority_verdict"] == "fail"
    # fewer rows, wider interval: roughly sqrt(n_majority / n_minority) times wider
    n = groups["n"]
    assert key["interval_width_ratio"] > 0.5 * np.sqrt(n["majority"] / n["minority"])
    assert key["minority_signal"] == "lab_value"  # where the generator plants its signal


def test_measurement_bias_key_is_the_noisy_feature_and_group(keys):
    from sklearn.metrics import roc_auc_score

    key = keys("measurement_bias")
    frame = exercise_data("measurement_bias")["admissions.csv"]
    # the planted noise, seen by scikit-learn: the raw test score ranks the noisy group worse
    raw_auc = {
        name: roc_auc_score(rows["success"], rows[teaching.NOISY_FEATURE])
        for name, rows in frame.groupby("language")
    }
    assert raw_auc[teaching.NOISY_GROUP] < raw_auc["native"] - 0.1
    assert key["noisy_feature"] == teaching.NOISY_FEATURE
    assert key["lowest_auc_group"] == key["higher_fpr_group"] == teaching.NOISY_GROUP
    groups = key_module("measurement_bias").audits().groups("language").set_index("group")
    assert groups.loc[teaching.NOISY_GROUP, "roc_auc_high"] < groups.loc["native", "roc_auc_low"]
    assert key["auc_gap"] > 0.08
    assert key["base_rates_differ"] is False  # ability is drawn alike for both groups


def test_proxy_key_is_the_planted_proxy(keys):
    from scipy.stats.contingency import association

    key = keys("proxy")
    frame = exercise_data("proxy")["lending.csv"]
    result, without = key_module("proxy").audits()
    flagged = key_module("proxy").flagged_proxies(result)
    assert list(flagged) == [teaching.PROXY_COLUMN]  # the planted proxy, and only it
    assert key["proxy_feature"] == teaching.PROXY_COLUMN
    table = pd.crosstab(frame[teaching.PROXY_COLUMN], frame[teaching.PROXY_OF]).to_numpy()
    assert key["proxy_strength"] == pytest.approx(association(table, method="cramer"), abs=1e-9)
    assert key["race_is_input"] is False
    assert key["dp_verdict"] == "fail" and key["selection_gap"] > 0.15
    # without the proxy, nothing the model sees is associated with race: the gap closes
    assert abs(key["gap_without_proxy"]) < 0.06
    assert without.verdicts()["verdict"].tolist() != ["fail"]


def test_historical_bias_key_reweighing_cannot_remove_the_gap(keys):
    key = keys("historical_bias")
    frame = exercise_data("historical_bias")["loans.csv"]
    income = frame.groupby("group")["income"].median()
    assert income["B"] / income["A"] == pytest.approx(
        np.exp(-teaching.HISTORICAL_INCOME_GAP), abs=0.05
    )
    assert key["income_differs"] is True
    result = key_module("historical_bias").audits()
    rates = result.groups("group").set_index("group")["selection_rate"]
    assert key["baseline_gap"] == pytest.approx(rates["A"] - rates["B"], abs=1e-9)
    # reweighing reduces the gap by at least the amount task.md states, and leaves most of it
    assert key["reweighing_reduction"] >= 0.01
    reduction = load_exercise("historical_bias").question("reweighing_reduction")
    assert not mark(reduction, 0, key["reweighing_reduction"]).right  # "no change" is wrong
    reweighed = next(s for s in result.mitigation.strategies if s.name == "reweighing")
    assert reweighed.disparity["ci"][0] > 0.2 and key["reweighing_passes"] is False
    assert key["closest_to_parity"] == "threshold_optimizer:demographic_parity"
    assert key["accuracy_cost"] > 0.02  # parity is bought with accuracy


def test_thresholds_key_matches_scikit_learn_per_group(keys):
    from sklearn.metrics import precision_score, recall_score

    key = keys("thresholds")
    frame = exercise_data("thresholds")["scores.csv"]
    by_hand = {}
    for threshold in (0.3, 0.5, 0.7):
        for name, rows in frame.groupby("group"):
            decided = (rows["score"] >= threshold).astype(int)
            by_hand[threshold, name] = (
                precision_score(rows["label"], decided),
                recall_score(rows["label"], decided),
                decided.mean(),
            )
    assert key["precision_a"] == pytest.approx(by_hand[0.5, "A"][0], abs=1e-9)
    assert key["recall_b"] == pytest.approx(by_hand[0.5, "B"][1], abs=1e-9)
    assert key["recall_b_trend"] == "falls" and by_hand[0.3, "B"][1] > by_hand[0.7, "B"][1]
    assert key["precision_trend"] == "rises" and by_hand[0.3, "A"][0] < by_hand[0.7, "A"][0]
    # the planted lower base logit of B: B is selected less at every threshold, least
    # unequally at the lowest one
    ratios = {t: by_hand[t, "B"][2] / by_hand[t, "A"][2] for t in (0.3, 0.5, 0.7)}
    assert all(r < 1 for r in ratios.values()) and ratios[0.3] > ratios[0.5] > ratios[0.7]
    assert key["best_parity_threshold"] == "0.3"
    assert key["thresholds_passing_policy"] == ["0.3"]


def test_uncertainty_key_the_verdict_flips_between_500_and_50000_rows(keys):
    from scipy.stats import norm

    key = keys("uncertainty")
    # the planted truth: score = sigmoid(base logit + 1.5 z), positive when score >= 0.5,
    # i.e. z >= -base / 1.5; the scenario's selection rates follow from the normal law
    rate = {g: norm.sf(-teaching.SCORE_BASE_LOGIT[g] / 1.5) for g in ("A", "B")}
    true_ratio, true_difference = rate["B"] / rate["A"], rate["A"] - rate["B"]
    assert true_difference > 0.2  # so the rule demographic_parity_difference <= 0.2 is broken
    small, large = key_module("uncertainty").audits()
    rule = "demographic_parity_difference <= 0.2"
    big = large.verdicts().set_index("rule")
    assert big.loc[rule, "low"] <= true_difference <= big.loc[rule, "high"]
    ratio_rule = big.loc["demographic_parity_ratio >= 0.5"]
    assert ratio_rule["low"] <= true_ratio <= ratio_rule["high"]
    assert key["dp_ratio_large"] == pytest.approx(true_ratio, abs=0.02)
    # the flip: inconclusive on 500 rows, a conclusive fail on 50,000
    assert rule in key["inconclusive_small"] and key["inconclusive_large"] == []
    assert key["difference_verdict_large"] == "fail"
    assert key["small_passes_gate"] is True and large.passed is False
    assert key["width_ratio"] == pytest.approx(np.sqrt(50_000 / 500), rel=0.3)


def test_cv_tuning_key_accuracy_alone_breaks_the_policy(keys):
    key = keys("cv_tuning")
    result = key_module("cv_tuning").audits()
    trials = result.tuning.trials
    # the hand-run choice: the most accurate among the configurations passing in every fold
    passing = [t for t in trials if all(s == "pass" for s in t.fold_statuses)]
    by_hand = max(passing, key=lambda t: t.score.mean)
    assert next(t for t in trials if t.chosen).params == by_hand.params
    assert key["configurations_passing"] == len(passing) >= 1
    most_accurate = max(trials, key=lambda t: t.score.mean)
    assert not most_accurate.passes  # accuracy alone would break the policy
    assert key["accuracy_only_class_weight"] == "none"
    assert key["chosen_class_weight"] == "balanced"
    assert key["accuracy_price"] == pytest.approx(
        most_accurate.score.mean - by_hand.score.mean, abs=1e-12
    )
    assert key["accuracy_price"] > 0.02
    spread = next(
        d for d in result.cross_validation.disparities if d.metric == "demographic_parity_ratio"
    )
    assert len(spread.values) == 3
    assert key["fold_std_dp_ratio"] == pytest.approx(np.std(spread.values, ddof=1), abs=1e-12)
    assert key["test_verdict"] in ("pass", "inconclusive")


def test_monitoring_key_finds_the_planted_drift(keys):
    """The time-window audit's first alert and first failure are the month the drift was
    planted; each window's selection rates are the deployed model's decisions counted by hand."""
    key = keys("monitoring")
    module = key_module("monitoring")
    frame = exercise_data("monitoring")["monitoring.csv"]
    model = module.trained_model(frame)
    monitoring = module.audit_over_time().monitoring
    labels = [teaching.month_label(m) for m in range(1, teaching.MONTHS + 1)]
    assert [w.label for w in monitoring.windows] == labels
    drift = teaching.month_label(teaching.DRIFT_MONTH)
    month = frame["decided_on"].str[:7]
    for window in monitoring.windows:
        rows = frame[month == window.label]
        assert window.n_rows == len(rows)
        decided = pd.Series(model.predict(rows[module.INPUTS]), index=rows.index)
        by_hand = decided.groupby(rows["group"]).mean()
        assert module.selection_rates(window).to_dict() == pytest.approx(
            by_hand.to_dict(), abs=1e-12
        )
        before = window.label < drift
        assert (module.rule_verdict(window).verdict == "pass") == before, window.label
        assert (window.n_alerts == 0) == before, window.label
    assert monitoring.alerts[0].window == drift
    assert key["first_alert_window"] == key["first_failing_window"] == drift
    assert key["drifted_group"] == teaching.DRIFT_GROUP
    assert key["drifted_feature"] == "credit_score"  # the column the generator shifts
    assert key["repayment_changed"] is False
    assert key["dp_ratio_reference"] > 0.9 > 0.5 > key["dp_ratio_last"]


def test_monitoring_window_questions_offer_the_audit_s_labels():
    """The window questions' options are the windows the audit labels (2024-01 ... 2024-06)."""
    labels = [teaching.month_label(m) for m in range(1, teaching.MONTHS + 1)]
    exercise = load_exercise("monitoring")
    for question_id in ("first_alert_window", "first_failing_window"):
        assert list(exercise.question(question_id).options) == labels


# --- check ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", exercise_names())
def test_check_marks_the_key_fully_right(name, keys, tmp_path):
    answers = _write(tmp_path / "answers.yaml", keys(name))
    marks = check(name, answers, key=keys)
    assert marks and all(m.right for m in marks), [(m.question.id, m.note) for m in marks]


def _wrong(question, value):
    """A wrong answer of the question's type."""
    if question.type == "number":
        return float(value) + 2 * question.tolerance + 0.01
    if question.type == "yesno":
        return "no" if value else "yes"
    if question.type == "set":
        chosen = {str(v) for v in value}
        return [o for o in question.options if o not in chosen] or []
    return next(o for o in question.options if o != str(value))


@pytest.mark.parametrize("name", exercise_names())
def test_check_marks_wrong_answers_wrong(name, keys, tmp_path):
    exercise = load_exercise(name)
    key = keys(name)
    wrong = {q.id: _wrong(q, key[q.id]) for q in exercise.questions}
    marks = check(name, _write(tmp_path / "answers.yaml", wrong), key=keys)
    assert [m.right for m in marks] == [False] * len(exercise.questions)


@pytest.mark.parametrize("name", exercise_names())
def test_a_number_copied_from_another_question_is_wrong(name, keys):
    """A tolerance narrower than the distance to every other numeric answer of the exercise:
    e.g. the baseline's parity difference given as the reweighed model's is marked wrong."""
    key = keys(name)
    numbers = [q for q in load_exercise(name).questions if q.type == "number"]
    for question in numbers:
        for other in numbers:
            if other is not question:
                copied = mark(question, _plain(key[other.id]), key[question.id])
                assert not copied.right, (question.id, "given", other.id)


def test_check_on_the_command_line(keys, tmp_path, monkeypatch):
    """Right: exit 0; one wrong: exit 1 with that question's hint; others not hinted."""
    monkeypatch.setattr("audit.exercises.answer_key", keys)
    key = keys("label_bias")
    done = runner.invoke(
        app, ["exercise", "check", "label_bias", str(_write(tmp_path / "a.yaml", key))]
    )
    assert done.exit_code == 0, done.output
    assert "5 of 5 right" in done.output
    exercise = load_exercise("label_bias")
    wrong = {**key, "dp_verdict": "pass"}
    done = runner.invoke(
        app, ["exercise", "check", "label_bias", str(_write(tmp_path / "b.yaml", wrong))]
    )
    assert done.exit_code == 1, done.output
    assert "WRONG  dp_verdict" in done.output and "4 of 5 right" in done.output
    assert exercise.question("dp_verdict").hint.strip() in " ".join(done.output.split())
    assert "WRONG  label_gap" not in done.output


def test_number_tolerance_is_the_stated_one():
    question = next(q for q in load_exercise("label_bias").questions if q.id == "label_gap")
    assert question.tolerance == pytest.approx(0.03)
    assert mark(question, -0.20 + 0.029, -0.20).right
    assert not mark(question, -0.20 + 0.031, -0.20).right
    assert not mark(question, "about a fifth", -0.20).right
    assert "not a number" in mark(question, "about a fifth", -0.20).note
    assert not mark(question, None, -0.20).right
    chosen = load_exercise("cv_tuning").question("chosen_class_weight")
    assert "blank or null" in mark(chosen, None, "none").note  # `null` is not the option none
    assert mark(chosen, "None", "none").right
    for boolean in (True, False):  # `label_gap: yes` is not the number 1
        assert "not a number" in mark(question, boolean, 1.0).note


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("label_gap: [unclosed\n", "not readable YAML"),
        ("- just\n- a list\n", "must be a mapping"),
        ("label_gap: 0.1\nfavourite_colour: blue\n", "unknown question ids: favourite_colour"),
        ("", "is empty"),
        ("# only a comment\n", "is empty"),
        ("{}\n", "is empty"),
    ],
)
def test_check_refuses_bad_answer_files(content, says, tmp_path):
    path = tmp_path / "answers.yaml"
    path.write_text(content, encoding="utf-8")
    done = runner.invoke(app, ["exercise", "check", "label_bias", str(path)])
    assert done.exit_code == 2, done.output
    assert says in " ".join(done.output.split())
    assert "Traceback" not in done.output


def test_check_refuses_an_unknown_exercise_and_a_missing_file(tmp_path):
    path = _write(tmp_path / "answers.yaml", {})
    done = runner.invoke(app, ["exercise", "check", "no_such_exercise", str(path)])
    assert done.exit_code == 2 and "Unknown exercise 'no_such_exercise'" in done.output
    assert "label_bias" in done.output  # names the known ones
    done = runner.invoke(app, ["exercise", "check", "label_bias", str(tmp_path / "none.yaml")])
    assert done.exit_code == 2 and "Cannot read the answers file" in done.output


# --- start and list -------------------------------------------------------------------------


def test_start_copies_the_exercise_with_its_data(tmp_path):
    target = tmp_path / "mine"
    done = runner.invoke(app, ["exercise", "start", "label_bias", "--dir", str(target)])
    assert done.exit_code == 0, done.output
    names = {p.name for p in target.iterdir()}
    assert names == {
        "task.md",
        "exercise.ipynb",
        "audit.yaml",
        "questions.yaml",
        "data",
        "answers.yaml",
    }  # the key (answers.py) is the teacher's: not copied
    written = pd.read_csv(target / "data" / "hiring.csv")
    generated = teaching.make_label_bias(n_rows=3000, seed=0)
    pd.testing.assert_frame_equal(written, generated, check_dtype=False)
    template = yaml.safe_load((target / "answers.yaml").read_text())
    assert template == {q.id: None for q in load_exercise("label_bias").questions}


def test_start_refuses_a_non_empty_folder_and_writes_nothing(tmp_path):
    target = tmp_path / "taken"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    done = runner.invoke(app, ["exercise", "start", "label_bias", "--dir", str(target)])
    assert done.exit_code == 2 and "already exists and is not empty" in done.output
    assert [p.name for p in target.iterdir()] == ["notes.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]  # no staging folder left


def test_start_into_an_empty_folder_and_an_unknown_name(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert start("label_bias", empty) == empty and (empty / "data" / "hiring.csv").is_file()
    done = runner.invoke(app, ["exercise", "start", "../label_bias", "--dir", str(tmp_path / "x")])
    assert done.exit_code == 2 and "Unknown exercise" in done.output
    assert not (tmp_path / "x").exists()


def test_list_names_every_exercise_with_its_time():
    done = runner.invoke(app, ["exercise", "list"])
    assert done.exit_code == 0
    for name in exercise_names():
        assert name in done.output
        assert f"{load_exercise(name).minutes} min" in done.output


@pytest.mark.slow
def test_exercises_ship_in_the_wheel_and_run_installed(tmp_path):
    """Installed from a wheel (not editable), in another folder: every exercise's files are in
    the package, and `start` and `check` work from there."""
    import os
    import subprocess
    import sys
    import sysconfig
    import venv
    import zipfile

    root = Path(__file__).resolve().parents[1]
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", tmp_path, root],
        check=True,
    )
    (wheel,) = tmp_path.glob("rai_audit-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    for name in exercise_names():
        for file in FOLDER_FILES:
            assert f"audit/exercise_files/{name}/{file}" in shipped, (name, file)

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "--no-deps", "--quiet", wheel], check=True)
    site = subprocess.check_output(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True
    ).strip()
    # dependencies from this interpreter (no network); `audit` only from the wheel
    (Path(site) / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    rai_audit = str(env_dir / "bin" / "rai-audit")

    def run(*args):
        return subprocess.run(
            [rai_audit, "exercise", *args], cwd=work, env=env, capture_output=True, text=True
        )

    listed = run("list")
    assert listed.returncode == 0 and all(n in listed.stdout for n in exercise_names())
    started = run("start", "proxy", "--dir", "mine")
    assert started.returncode == 0, started.stderr
    assert (work / "mine" / "data" / "lending.csv").is_file()
    assert not (work / "mine" / KEY_FILE).exists()
    (work / "mine" / "answers.yaml").write_text("proxy_feature: income\n")
    checked = run("check", "proxy", "mine/answers.yaml")
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "WRONG  proxy_feature" in checked.stdout and "hint:" in checked.stdout


def test_start_where_nothing_can_be_written_exits_2(tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    done = runner.invoke(app, ["exercise", "start", "proxy", "--dir", str(blocked / "inside")])
    assert done.exit_code == 2 and "Cannot create" in done.output, done.output


def test_check_names_the_encoding_of_an_answers_file_saved_as_utf16(tmp_path):
    """A Windows editor's UTF-16 file is named as such, not called unreadable YAML."""
    path = tmp_path / "answers.yaml"
    path.write_text("label_gap: 0.1\n", encoding="utf-16")
    done = runner.invoke(app, ["exercise", "check", "label_bias", str(path)])
    assert done.exit_code == 2, done.output
    assert "UTF-16" in done.output and "UTF-8" in done.output
