"""Cross-validated audit (``--cv K``, ``split.cv``): each fold audited as a split of its own.

References: scikit-learn (train_test_split, StratifiedKFold, the scaled logistic
regression refitted by hand on each fold's training part, accuracy and ROC AUC) and
fairlearn (selection rates per group, demographic parity ratio, equalized odds
difference); numpy for the mean and the sample standard deviation across folds.
"""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pandas as pd
import pytest
from conftest import assert_close, needs_tools, pdf_text_and_overflow, run_cli, without_timings
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_ratio,
    equalized_odds_difference,
    selection_rate,
)
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import audit
from audit.config import build_config
from audit.errors import AuditError
from audit.metrics import measure
from audit.report.findings import top_findings
from audit.report.render import render_html
from audit.report.tables import table_files

SEED = 3
K = 3
N_ROWS = 900
FEATURES = ["x1", "x2", "x3"]
POLICY = ["demographic_parity_ratio >= 0.8", "equalized_odds_difference <= 0.2"]
FAIRNESS = {"bootstrap": {"resamples": 100}}


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """Numeric inputs without missing values (the registry's imputer then changes nothing,
    so a plain scaled logistic regression is the same model), a group with a planted gap."""
    rng = np.random.default_rng(SEED)
    group = rng.choice(["a", "b"], size=N_ROWS, p=[0.6, 0.4])
    x = rng.normal(size=(N_ROWS, 3))
    logit = 1.2 * x[:, 0] - 0.8 * x[:, 1] + 0.3 * x[:, 2] + np.where(group == "a", 0.6, -0.4)
    y = (rng.random(N_ROWS) < 1 / (1 + np.exp(-logit))).astype(int)
    data = pd.DataFrame(x + np.where(group == "a", 0.3, 0.0)[:, None], columns=FEATURES)
    return data.assign(group=group, y=y)


def run(frame: pd.DataFrame, cv: int | None = K, policy=None, resamples: int = 100, seed=SEED):
    return audit.run(
        data=frame,
        target="y",
        sensitive=["group"],
        model="logistic_regression",
        policy=POLICY if policy is None else policy,
        split={"cv": cv},
        mitigation={"strategies": []},
        explain={"enabled": False},
        quality={"allow_errors": True},
        fairness={"bootstrap": {"resamples": resamples}},
        seed=seed,
    )


def training_rows(frame: pd.DataFrame, seed: int = SEED) -> np.ndarray:
    """The rows the audit trains on: 70% of them, stratified by label (the default split)."""
    y = frame["y"].to_numpy()
    train, _ = train_test_split(np.arange(len(frame)), test_size=0.3, random_state=seed, stratify=y)
    return np.sort(train)


def folds_by_hand(frame: pd.DataFrame, seed: int = SEED) -> list[dict]:
    """Each fold's split, model and numbers, made with scikit-learn and fairlearn alone."""
    y = frame["y"].to_numpy()
    train = training_rows(frame, seed)
    splitter = StratifiedKFold(n_splits=K, shuffle=True, random_state=seed)
    out = []
    for fit_at, held_at in splitter.split(train, y[train]):
        fit, held = train[fit_at], train[held_at]
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        model.fit(frame.loc[fit, FEATURES], y[fit])
        score = model.predict_proba(frame.loc[held, FEATURES])[:, 1]
        pred = (score >= 0.5).astype(int)
        groups = frame.loc[held, "group"].to_numpy()
        rates = MetricFrame(
            metrics=selection_rate, y_true=y[held], y_pred=pred, sensitive_features=groups
        ).by_group
        out.append(
            {
                "rows": held,
                "n_train": len(fit),
                "y": y[held],
                "pred": pred,
                "score": score,
                "groups": groups,
                "accuracy": accuracy_score(y[held], pred),
                "roc_auc": roc_auc_score(y[held], score),
                "selection_rate": rates.to_dict(),
                "demographic_parity_ratio": demographic_parity_ratio(
                    y[held], pred, sensitive_features=groups
                ),
                "equalized_odds_difference": equalized_odds_difference(
                    y[held], pred, sensitive_features=groups
                ),
            }
        )
    return out


def disparity(fold, metric: str) -> float:
    entry = next(f for f in fold.fairness if f.feature == "group")
    return next(d.value for d in entry.disparities if d.metric == metric)


def test_each_fold_equals_auditing_its_split_by_hand(frame):
    result = run(frame)
    cv = result.cross_validation
    hand = folds_by_hand(frame)
    assert cv.k == K and len(cv.folds) == K
    assert cv.rows_per_fold == [len(f["rows"]) for f in hand]
    for fold, expected in zip(cv.folds, hand, strict=True):
        assert fold.n_train == expected["n_train"]
        assert fold.n_evaluated == len(expected["rows"])
        assert fold.performance.accuracy == pytest.approx(expected["accuracy"], abs=1e-9)
        assert fold.performance.roc_auc == pytest.approx(expected["roc_auc"], abs=1e-6)
        groups = next(f for f in fold.fairness if f.feature == "group").groups
        for group in groups:
            assert group.selection_rate == pytest.approx(
                expected["selection_rate"][group.group], abs=1e-9
            )
        for metric in ("demographic_parity_ratio", "equalized_odds_difference"):
            assert disparity(fold, metric) == pytest.approx(expected[metric], abs=1e-9)
        # The fold's verdicts are the metric engine's on that split (the same intervals).
        config = build_config(None, {"fairness": FAIRNESS, "policy": POLICY})
        engine = measure(
            expected["y"],
            expected["pred"],
            expected["score"],
            pd.DataFrame({"group": expected["groups"]}),
            config.fairness,
            config.policy,
            seed=SEED,
        )
        assert [v.verdict for v in fold.verdicts] == [v["verdict"] for v in engine["verdicts"]]
        assert_close(
            [v.ci for v in fold.verdicts],
            [tuple(v["ci"]) if v["ci"] else None for v in engine["verdicts"]],
        )


def test_mean_and_spread_across_folds_are_computed_as_by_hand(frame):
    cv = run(frame).cross_validation
    hand = folds_by_hand(frame)

    def check(row, values):
        values = np.asarray(values, dtype=float)
        assert row.values == pytest.approx(list(values), abs=1e-9)
        assert row.mean == pytest.approx(values.mean(), abs=1e-9)
        assert row.std == pytest.approx(values.std(ddof=1), abs=1e-9)
        assert (row.min, row.max) == pytest.approx((values.min(), values.max()), abs=1e-9)
        assert row.defined_folds == len(values)

    accuracy = next(r for r in cv.performance if r.metric == "accuracy")
    check(accuracy, [f["accuracy"] for f in hand])
    for metric in ("demographic_parity_ratio", "equalized_odds_difference"):
        row = next(r for r in cv.disparities if r.feature == "group" and r.metric == metric)
        check(row, [f[metric] for f in hand])
        verdict = next(v for v in cv.verdicts if v.metric == metric)
        check(verdict, [f[metric] for f in hand])
    for name in ("a", "b"):
        row = next(r for r in cv.groups if (r.group, r.metric) == (name, "selection_rate"))
        check(row, [f["selection_rate"][name] for f in hand])


def test_a_verdict_that_differs_between_folds_is_stated(frame):
    values = [f["demographic_parity_ratio"] for f in folds_by_hand(frame)]
    # A bound between the lowest and highest fold: without intervals (resamples 0) the
    # verdict follows each fold's point value, so the folds below it fail, the others pass.
    bound = round((min(values) + max(values)) / 2, 4)
    assert min(values) < bound < max(values)
    result = run(frame, policy=[f"demographic_parity_ratio >= {bound}"], resamples=0)
    cv = result.cross_validation
    expected = ["pass" if v >= bound else "fail" for v in values]
    (verdict,) = cv.verdicts
    assert verdict.fold_verdicts == expected
    assert verdict.differs and cv.verdicts_differ
    passing = ", ".join(str(i + 1) for i, v in enumerate(expected) if v == "pass")
    assert f"demographic_parity_ratio >= {bound:g} on group" in cv.statement
    assert f"pass in fold{'s' if ',' in passing else ''} {passing}" in cv.statement
    assert cv.policy_statuses == expected
    # The first page names it, and the report's cross-validation section states it.
    plain = result.to_dict()
    assert any(f["anchor"] == "cross_validation" for f in top_findings(plain))
    html = render_html(plain, detail="standard")
    assert 'id="cross_validation"' in html and 'id="annex-cross-validation"' in html
    assert "verdict differs between folds" in html


def test_verdicts_that_agree_are_stated_to_agree(frame):
    cv = run(frame, policy=["demographic_parity_ratio >= 0.01"], resamples=0).cross_validation
    assert [v.fold_verdicts for v in cv.verdicts] == [["pass"] * K]
    assert not cv.verdicts_differ
    assert cv.statement == f"Every policy verdict is the same in all {K} folds."


def test_the_main_result_is_the_audit_without_cv(frame):
    with_cv = run(frame).to_dict()
    without = run(frame, cv=None).to_dict()
    assert "cross_validation" in with_cv and "cross_validation" not in without
    del with_cv["cross_validation"]
    assert with_cv["config"]["split"].pop("cv") == K
    without["config"]["split"].pop("cv")
    assert without_timings(with_cv) == without_timings(without)


def test_folds_are_seeded(frame):
    first, again = run(frame).cross_validation, run(frame).cross_validation
    assert first.model_dump() == again.model_dump()
    other = run(frame, seed=SEED + 1).cross_validation
    hand = folds_by_hand(frame, seed=SEED + 1)
    accuracy = next(r for r in other.performance if r.metric == "accuracy")
    assert accuracy.values == pytest.approx([f["accuracy"] for f in hand], abs=1e-9)


def test_the_csv_table_holds_every_fold(frame):
    plain = run(frame).to_dict()
    text = table_files(plain)["tables/cross_validation.csv"].decode()
    rows = pd.read_csv(io.StringIO(text))
    accuracy = rows[(rows["kind"] == "performance") & (rows["metric"] == "accuracy")].iloc[0]
    hand = [f["accuracy"] for f in folds_by_hand(frame)]
    assert [accuracy[f"fold_{i + 1}"] for i in range(K)] == pytest.approx(hand, abs=1e-9)
    verdicts = rows[rows["kind"] == "verdict"]
    assert len(verdicts) == len(plain["cross_validation"]["verdicts"])


@pytest.mark.parametrize(
    ("cv", "words"),
    [
        (1, "split.cv"),  # fewer than 2 folds
        (10_000, "smallest class"),  # more folds than rows of the smallest class
    ],
)
def test_a_bad_k_stops_the_cli_with_exit_2_and_nothing_written(frame, tmp_path, cv, words):
    frame.to_csv(tmp_path / "data.csv", index=False)
    out = tmp_path / "out"
    done = run_cli(
        "run", "--data", tmp_path / "data.csv", "--target", "y", "--sensitive", "group",
        "--model", "logistic_regression", "--cv", cv, "--mitigate", "none",
        "--allow-quality-errors", "--format", "json", "--quiet", "--out", out,
    )  # fmt: skip
    assert done.exit_code == 2, done.output
    assert words in done.output and "Traceback" not in done.output
    assert not out.exists()


def test_k_is_checked_against_the_smallest_class_of_the_training_rows(frame):
    smallest = int(np.bincount(frame["y"].to_numpy()[training_rows(frame)]).min())
    with pytest.raises(AuditError, match=f"at most {smallest}"):
        run(frame, cv=smallest + 1)
    assert run(frame, cv=2, resamples=0).cross_validation.k == 2


def test_cv_needs_a_model_trained_here(frame):
    with pytest.raises(AuditError, match="cross-validate a model trained here"):
        audit.run(
            data=frame.assign(decision=frame["y"]),
            target="y",
            sensitive=["group"],
            predictions="decision",
            split={"cv": 3},
        )


def test_the_cv_flag_writes_the_section_and_its_report(frame, tmp_path):
    frame.to_csv(tmp_path / "data.csv", index=False)
    out = tmp_path / "out"
    done = run_cli(
        "run", "--data", tmp_path / "data.csv", "--target", "y", "--sensitive", "group",
        "--model", "logistic_regression", "--cv", K, "--mitigate", "none", "--resamples", 100,
        "--allow-quality-errors", "--format", "json", "--format", "html", "--quiet",
        "--out", out, "--seed", SEED,
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    saved = json.loads((out / "results.json").read_text())
    assert saved["cross_validation"]["k"] == K
    assert saved["config"]["split"]["cv"] == K
    assert (out / "tables" / "cross_validation.csv").is_file()
    html = (out / "report.html").read_text()
    assert "Cross-validation" in html and "Mean ± SD" in html


def cli_audit(frame, tmp_path, *flags) -> tuple:
    frame.to_csv(tmp_path / "data.csv", index=False)
    out = tmp_path / "out"
    done = run_cli(
        "run", "--data", tmp_path / "data.csv", "--target", "y", "--sensitive", "group",
        "--model", "logistic_regression", "--mitigate", "none", "--resamples", 100,
        "--allow-quality-errors", "--quiet", "--out", out, "--seed", SEED,
        "--fail-on", POLICY[0], "--fail-on", POLICY[1], *flags,
    )  # fmt: skip
    assert done.exit_code in (0, 1), done.output
    return done, out


def test_ten_folds_fit_the_pdf_page(frame, tmp_path):
    """K = 10 in the PDF: every fold's column, the spread and the main audit's column are
    there (at most 5 folds per table), and no word of the report reaches the right margin
    (the fairness tables' long "groups behind" lines wrap too)."""
    needs_tools("pdftotext")
    _, out = cli_audit(frame, tmp_path, "--cv", 10, "--format", "json", "--format", "pdf")
    for pdf in ("report.pdf", "report-annex.pdf"):
        text, past = pdf_text_and_overflow(out / pdf)
        assert past == [], (pdf, past)
        for fold in range(1, 11):
            assert re.search(rf"Fold {fold}\b", text), (pdf, fold)
        assert "Mean ± SD" in text and "Range" in text
    body, _ = pdf_text_and_overflow(out / "report.pdf")
    assert "Held-out test rows" in body


def test_in_sample_cv_numbers_are_not_called_held_out(frame, tmp_path):
    _, out = cli_audit(frame, tmp_path, "--cv", K, "--evaluate-on", "train", "--format", "html")
    html = (out / "report.html").read_text()
    section = html[html.index('id="cross_validation"') :]
    section = section[: section.index("</section>")]
    assert "held-out test rows" not in section.lower()
    assert "Audited rows (in-sample)" in section
    assert "the training rows (in-sample)" in section


# --- tune: a fairness-aware hyperparameter search scored by the folds -----------------------

GRID = [0.001, 0.003, 0.01, 0.1, 1.0]


def tuned(frame, bound: float, **tune):
    return audit.run(
        data=frame,
        target="y",
        sensitive=["group"],
        model="logistic_regression",
        policy=[f"demographic_parity_ratio >= {bound}"],
        tune={"space": {"C": GRID}, **tune},
        split={"cv": K},
        mitigation={"strategies": []},
        explain={"enabled": False},
        quality={"allow_errors": True},
        fairness={"bootstrap": {"resamples": 0}},
        seed=SEED,
    )


def grid_by_hand(frame) -> dict[float, dict]:
    """For each C, each fold's accuracy and demographic parity ratio (scikit-learn, fairlearn)."""
    y = frame["y"].to_numpy()
    train = training_rows(frame)
    splits = list(StratifiedKFold(K, shuffle=True, random_state=SEED).split(train, y[train]))
    out = {}
    for C in GRID:
        accuracy, ratio = [], []
        for fit_at, held_at in splits:
            fit, held = train[fit_at], train[held_at]
            model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=1000))
            model.fit(frame.loc[fit, FEATURES], y[fit])
            pred = (model.predict_proba(frame.loc[held, FEATURES])[:, 1] >= 0.5).astype(int)
            groups = frame.loc[held, "group"].to_numpy()
            accuracy.append(accuracy_score(y[held], pred))
            ratio.append(demographic_parity_ratio(y[held], pred, sensitive_features=groups))
        out[C] = {"accuracy": np.mean(accuracy), "ratio": np.array(ratio)}
    return out


def test_the_tuner_picks_the_most_accurate_configuration_that_passes_the_policy(frame):
    bound = 0.83
    hand = grid_by_hand(frame)
    # Without intervals (resamples 0) a fold passes when its ratio meets the bound.
    passing = [C for C in GRID if (hand[C]["ratio"] >= bound).all()]
    expected = max(passing, key=lambda C: hand[C]["accuracy"])
    most_accurate = max(GRID, key=lambda C: hand[C]["accuracy"])
    assert passing and expected != most_accurate  # the policy changes the choice
    result = tuned(frame, bound)
    tuning = result.tuning
    assert tuning.chosen == {"C": expected}
    assert tuning.selection == "most accurate passing"
    assert [t.passes for t in tuning.trials] == [C in passing for C in GRID]
    for trial, C in zip(tuning.trials, GRID, strict=True):
        assert trial.params == {"C": C}
        assert trial.score.mean == pytest.approx(hand[C]["accuracy"], abs=1e-9)
        assert trial.margin.mean == pytest.approx(np.mean(bound - hand[C]["ratio"]), abs=1e-9)
    # The chosen parameters train the final model and are recorded in provenance.
    assert result.model.params["C"] == expected
    assert result.provenance.tuned_params == {"C": expected}
    plain = result.to_dict()
    html = render_html(plain, detail="standard")
    assert 'id="tuning"' in html and "(chosen)" in html
    assert "tables/tuning.csv" in table_files(plain)


def test_with_none_passing_the_tuner_takes_the_pareto_point_nearest_to_passing(frame):
    hand = grid_by_hand(frame)
    bound = float(max(hand[C]["ratio"].min() for C in GRID)) + 0.01  # no C passes every fold
    points = {C: (hand[C]["accuracy"], np.mean(bound - hand[C]["ratio"])) for C in GRID}

    def dominated(C):
        acc, margin = points[C]
        return any(
            (a >= acc and m <= margin) and (a > acc or m < margin)
            for other, (a, m) in points.items()
            if other != C
        )

    front = [C for C in GRID if not dominated(C)]
    expected = min(front, key=lambda C: (points[C][1], -points[C][0]))
    tuning = tuned(frame, round(bound, 6)).tuning
    assert not any(t.passes for t in tuning.trials)
    assert [t.pareto_optimal for t in tuning.trials] == [C in front for C in GRID]
    assert tuning.chosen == {"C": expected}
    assert tuning.selection == "nearest to passing on the Pareto front"
    assert "No configuration of 5 passes the policy in every fold" in tuning.statement


def test_the_final_model_is_the_audit_with_the_chosen_parameters(frame):
    result = tuned(frame, 0.83)
    plain = audit.run(
        {"model": {"name": "logistic_regression", "params": result.tuning.chosen}},
        data=frame,
        target="y",
        sensitive=["group"],
        policy=["demographic_parity_ratio >= 0.83"],
        split={"cv": K},
        mitigation={"strategies": []},
        explain={"enabled": False},
        quality={"allow_errors": True},
        fairness={"bootstrap": {"resamples": 0}},
        seed=SEED,
    ).to_dict()
    tuned_plain = result.to_dict()
    for key in ("performance", "fairness", "verdicts", "policy", "model", "cross_validation"):
        assert_close(tuned_plain[key], plain[key], path=key)


def test_a_random_search_draws_as_parameter_sampler_does(frame):
    from sklearn.model_selection import ParameterSampler

    space = {"C": GRID, "class_weight": [None, "balanced"]}
    result = audit.run(
        data=frame,
        target="y",
        sensitive=["group"],
        model="logistic_regression",
        tune={"search": "random", "n_trials": 4, "seed": 11, "space": space},
        mitigation={"strategies": []},
        explain={"enabled": False},
        quality={"allow_errors": True},
        fairness={"bootstrap": {"resamples": 0}},
        seed=SEED,
    )
    drawn = [dict(p) for p in ParameterSampler(space, 4, random_state=11)]
    assert [t.params for t in result.tuning.trials] == drawn
    assert result.tuning.folds == 3  # tune.folds, as split.cv is not set
    best = max(result.tuning.trials, key=lambda t: t.score.mean)  # no policy: most accurate
    assert result.tuning.chosen == best.params
    assert result.tuning.selection == "most accurate (no policy)"


@pytest.mark.parametrize(
    ("tune", "words"),
    [
        ({"space": {"not_a_parameter": [1, 2]}}, "does not have"),
        ({"search": "random", "space": {"C": [1.0]}}, "needs tune.n_trials"),
        ({"space": {"C": []}}, "lists no values for C"),
        # A value the estimator refuses: tune.space and the trial's values are named, and
        # the estimator's reason (C must be positive) is kept.
        ({"space": {"C": [-1.0, 1.0]}}, r"^tune\.space: trial 1 \(C=-1\.0\) .*'C' parameter"),
    ],
)
def test_a_bad_search_is_refused(frame, tune, words):
    with pytest.raises(AuditError, match=words) as refused:
        audit.run(
            data=frame,
            target="y",
            sensitive=["group"],
            model="logistic_regression",
            tune=tune,
            mitigation={"strategies": []},
            explain={"enabled": False},
            quality={"allow_errors": True},
            fairness={"bootstrap": {"resamples": 0}},
        )
    assert "model.params" not in str(refused.value)  # the values come from tune.space


def test_a_regression_target_is_split_in_plain_k_folds_and_audited_per_fold(frame):
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import mean_absolute_error, r2_score
    from sklearn.model_selection import KFold

    data = frame.assign(y=frame["x1"] * 2.0 - frame["x2"] + (frame["group"] == "a") * 0.5)
    result = audit.run(
        data=data,
        target="y",
        sensitive=["group"],
        model="linear_regression",
        task="regression",
        split={"cv": K},
        mitigation={"strategies": []},
        explain={"enabled": False},
        quality={"allow_errors": True},
        fairness={"bootstrap": {"resamples": 0}},
        seed=SEED,
    )
    cv = result.cross_validation
    assert cv.stratified_by is None
    train, _ = train_test_split(np.arange(len(data)), test_size=0.3, random_state=SEED)
    train = np.sort(train)
    y = data["y"].to_numpy()
    splits = KFold(K, shuffle=True, random_state=SEED).split(train)
    for fold, (fit_at, held_at) in zip(cv.folds, splits, strict=True):
        fit, held = train[fit_at], train[held_at]
        model = LinearRegression().fit(data.loc[fit, FEATURES], y[fit])
        pred = model.predict(data.loc[held, FEATURES])
        assert fold.n_evaluated == len(held)
        assert fold.performance.mae == pytest.approx(mean_absolute_error(y[held], pred), abs=1e-9)
        assert fold.performance.r2 == pytest.approx(r2_score(y[held], pred), abs=1e-9)
