"""Getting predictions: the one place where an audit's decisions are made.

A model trained here from the registry, a model loaded from a file, or decisions and
scores already made: every path ends in an :class:`Evaluation` — which rows were
evaluated and why, their labels, decisions and scores. One :class:`DecisionRule`
turns a score into a decision (``score >= threshold``, or ``<=`` when a lower score
means the positive outcome), and :func:`model_decisions` is how every stage
(metrics, mitigation, explanations) gets a model's decisions, so they all decide
exactly alike.

Scores are kept *oriented*: higher always means "more likely positive", so ROC AUC and
the explanations read them the same way whatever the model or the score column does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import is_regressor
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from audit import model_files, models, multiclass
from audit.callable_model import ScoreFunction
from audit.config import AuditConfig
from audit.data import (
    AuditData,
    encode_predictions,
    label_matches,
    refuse_missing_predictions,
    require_columns,
    sha256_of,
)
from audit.errors import AuditError
from audit.text import printable, quoted_list

DEFAULT_TEST_SIZE = 0.3
# Values of a split column (compared lower-cased): which rows trained the model, which are tested.
TRAIN_VALUES = ("train", "training")
TEST_VALUES = ("test", "testing", "holdout")

OutputKind = Literal["probability", "decision function", "labels"]


@dataclass(frozen=True)
class DecisionRule:
    """How a score becomes a decision: positive when ``score >= threshold``.

    With ``lower_is_positive`` a row is positive when ``score <= threshold``; the
    audit then works on the negated score (higher = positive), which is why an audit
    of a lower-is-positive score equals the audit of the negated score.
    """

    threshold: float | None  # None: the model's own predicted labels decide
    lower_is_positive: bool = False
    score: str = "P(positive)"  # what is compared with the threshold, for the report

    def orient(self, raw: np.ndarray) -> np.ndarray:
        values = np.asarray(raw, dtype=np.float64)
        return -values if self.lower_is_positive else values

    @property
    def oriented_threshold(self) -> float | None:
        if self.threshold is None:
            return None
        return -self.threshold if self.lower_is_positive else self.threshold

    def decide(self, oriented_scores: np.ndarray) -> np.ndarray:
        """0/1 decisions from oriented scores."""
        assert self.oriented_threshold is not None
        return (np.asarray(oriented_scores) >= self.oriented_threshold).astype(np.int8)

    def text(self) -> str:
        if self.threshold is None:
            return "the model's predicted label"
        op = "<=" if self.lower_is_positive else ">="
        return f"{self.score} {op} {self.threshold:g} → positive"

    def as_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold,
            "score": self.score,
            "direction": "lower_is_positive" if self.lower_is_positive else "higher_is_positive",
            "text": self.text(),
        }


@dataclass(frozen=True)
class ModelOutput:
    """What a classifier gives and which of its classes is the positive outcome."""

    kind: OutputKind
    classes: tuple[Any, ...]
    positive_index: int
    # Where the model's own predict() splits its oriented decision function: 0 for a margin.
    boundary: float = 0.0

    @property
    def positive_class(self) -> Any:
        return self.classes[self.positive_index]


@dataclass(frozen=True)
class RowPlan:
    """Rows that train the model (or serve mitigation) and rows that are evaluated, and why.

    ``test`` are the held-out rows of the split; ``evaluated`` the rows audited, which
    ``split.evaluate_on`` may set to the training rows or to all rows (``in_sample`` when
    the model was trained here on some of them).
    """

    train: np.ndarray
    test: np.ndarray
    how: Literal["random split", "split column", "all rows"]
    why: str
    evaluate_on: Literal["test", "train", "all"] = "test"
    in_sample: bool = False

    @property
    def evaluated(self) -> np.ndarray:
        if self.evaluate_on == "train":
            return self.train
        if self.evaluate_on == "all":
            return np.union1d(self.train, self.test)
        return self.test


@dataclass
class Evaluation:
    """The evaluated rows with their labels, decisions and scores, and how they were made.

    Later stages (mitigation, explanations) start from this: ``train_rows`` is empty and
    ``model`` is None for a predictions-only audit; ``train_rows`` is empty for a loaded
    model audited on every row. ``scores`` are oriented (higher = positive).
    """

    rows: np.ndarray
    y_true: np.ndarray
    y_pred: np.ndarray
    scores: np.ndarray | None
    model: Any | None
    model_info: dict[str, Any]
    train_rows: np.ndarray
    rule: DecisionRule
    output: ModelOutput | None = None
    plan_how: str = "all rows"
    plan_why: str = ""
    trained_here: bool = False
    in_sample: bool = False  # the evaluated rows include rows the model was trained on here
    notes: list[str] = field(default_factory=list)
    # P(decision = 1) per row when the model draws its decisions at random: the audit then
    # measures its expected rates, not one draw.
    decision_probability: np.ndarray | None = None

    @property
    def input_columns(self) -> list[str]:
        return self.model_info.get("input_columns", [])


# --- which rows -------------------------------------------------------------------------


def plan_rows(config: AuditConfig, data: AuditData) -> RowPlan:
    """Decide which rows are evaluated (and which train), before anything is trained:
    the split, then which of its rows are audited (``split.evaluate_on``)."""
    return _evaluated_rows(_split_rows(config, data), config)


def _evaluated_rows(plan: RowPlan, config: AuditConfig) -> RowPlan:
    """The split with the rows ``split.evaluate_on`` audits, and the words that say so."""
    choice = config.split.evaluate_on
    if choice == "test" or (choice == "all" and len(plan.train) == 0):
        return replace(plan, evaluate_on=choice)  # all: the held-out rows are every row
    if len(plan.train) == 0:
        raise AuditError(
            f"split.evaluate_on is 'train', but this audit has no training rows ({plan.why}). "
            "Set evaluate_on to test or all, or split the rows with split.test_size "
            "(--test-size) or split.column (--split-column)."
        )
    in_sample = config.mode == "train"
    rows = plan.train if choice == "train" else np.union1d(plan.train, plan.test)
    train_part = "training rows" if in_sample else "rows not held out"
    what = (
        f"the {len(rows):,} {train_part}"
        if choice == "train"
        else f"all {len(rows):,} rows, the held-out ones and the {train_part},"
    )
    caveat = (
        " — in-sample: the model was trained on "
        + ("these very rows" if choice == "train" else f"{len(plan.train):,} of them")
        + ", so its performance and fairness are measured on data it has seen and are "
        "optimistic"
        if in_sample
        else ""
    )
    split = f"{plan.how}: {len(plan.train):,} {train_part}, {len(plan.test):,} held out"
    why = f"{what} were evaluated (split.evaluate_on: {choice}; {split}){caveat}"
    return replace(plan, why=why, evaluate_on=choice, in_sample=in_sample)


def _split_rows(config: AuditConfig, data: AuditData) -> RowPlan:
    """Split the rows into those that train and those held out and evaluated.

    A trained model is evaluated on held-out rows; a loaded model and given predictions on
    every row, since nothing was trained on them here — unless a split is asked for.
    """
    n_rows = len(data.frame)
    cfg = config.split
    mode = config.mode
    if cfg.column is not None:
        return _split_from_column(data, cfg.column, mode)
    if mode == "train":
        test_size = DEFAULT_TEST_SIZE if cfg.test_size is None else cfg.test_size
        if test_size >= 1.0:
            raise AuditError(
                "split.test_size 1.0 leaves no rows to train on. To audit a saved model on "
                "every row, pass it with --model-file; to train here, use a test size below 1."
            )
        train, test = _random_split(n_rows, data.y, test_size, config)
        return RowPlan(
            train,
            test,
            "random split",
            f"the model was trained here on {len(train):,} rows; the other {len(test):,} "
            f"({test_size:.0%}, drawn with seed {config.seed}) were held out and evaluated",
        )
    if mode == "predictions" and cfg.test_size is not None and cfg.test_size < 1.0:
        raise AuditError(
            "split.test_size (--test-size) has no meaning in a predictions-only audit: every "
            "row with a prediction is evaluated. To evaluate only some rows, name a column "
            "that marks them with split.column (--split-column)."
        )
    rows = np.arange(n_rows)
    if mode == "model_file" and cfg.test_size is not None and cfg.test_size < 1.0:
        train, test = _random_split(n_rows, data.y, cfg.test_size, config)
        return RowPlan(
            train,
            test,
            "random split",
            f"a split was asked for (split.test_size {cfg.test_size:g}): {len(test):,} rows "
            f"evaluated; the other {len(train):,} serve mitigation and explanations only "
            "(the loaded model was not trained here)",
        )
    what = (
        "the model was loaded, not trained here"
        if mode == "model_file"
        else ("the decisions were already made, nothing is trained here")
    )
    return RowPlan(rows[:0], rows, "all rows", f"every row of the data was evaluated: {what}")


def _random_split(
    n_rows: int, y: np.ndarray, test_size: float, config: AuditConfig
) -> tuple[np.ndarray, np.ndarray]:
    rows = np.arange(n_rows)
    stratify = y if config.split.stratify and config.data.task != "regression" else None
    try:
        train, test = train_test_split(
            rows, test_size=test_size, random_state=config.seed, stratify=stratify
        )
    except ValueError as exc:
        raise AuditError(
            f"Cannot split {n_rows} rows with test_size={test_size:g}: {exc}. "
            "Use more data, a different split.test_size, or split.stratify: false."
        ) from None
    return np.sort(train), np.sort(test)


def _split_from_column(data: AuditData, column: str, mode: str) -> RowPlan:
    require_columns(data.frame, [column], "Split", data.source)
    values = data.frame[column].astype("string").str.strip().str.lower()
    is_train = values.isin(TRAIN_VALUES).to_numpy(dtype=bool)
    is_test = values.isin(TEST_VALUES).to_numpy(dtype=bool)
    other = ~(is_train | is_test)
    if other.any():
        found = sorted(set(data.frame[column][other].astype(str)))[:5]
        raise AuditError(
            f"Split column '{column}' holds {int(other.sum())} rows whose value is neither "
            f"train ({', '.join(TRAIN_VALUES)}) nor test ({', '.join(TEST_VALUES)}), e.g. "
            f"{', '.join(map(repr, found))}. Recode them, or drop those rows."
        )
    train, test = np.flatnonzero(is_train), np.flatnonzero(is_test)
    if len(test) == 0:
        raise AuditError(
            f"Split column '{printable(column)}' marks no row as test: nothing to evaluate. "
            "Mark some rows 'test', or remove split.column (--split-column)."
        )
    if mode == "train" and len(train) == 0:
        raise AuditError(
            f"Split column '{printable(column)}' marks no row as train: nothing to train on. "
            "Mark some rows 'train', or audit a saved model with --model-file."
        )
    use = "trained the model" if mode == "train" else "serve mitigation and explanations only"
    return RowPlan(
        train,
        test,
        "split column",
        f"split column '{column}': {len(test):,} rows marked test were evaluated; "
        f"{len(train):,} rows marked train {use}",
    )


# --- models -----------------------------------------------------------------------------


def model_output(model: Any, positive_label: Any, source: str = "The model") -> ModelOutput:
    """Check ``model`` is a binary classifier and find its positive class.

    Raises
    ------
    AuditError
        For a regressor, a model with more than two classes, or one whose classes do not
        include the positive label (it is never guessed).
    """
    name = type(model).__name__
    if is_regressor(model):
        raise AuditError(
            f"{source} is a regressor ({name}); this audit needs a classifier. To audit a "
            "regression model, set data.task: regression (--task regression)."
        )
    if is_randomized(model):
        # A randomized mitigated model (audit.mitigation.estimators) draws its decisions;
        # its decision_function is P(decision = 1), not a score to threshold.
        kind: OutputKind = "labels"
    elif hasattr(model, "predict_proba"):
        kind = "probability"
    elif hasattr(model, "decision_function"):
        kind = "decision function"
    elif hasattr(model, "predict"):
        kind = "labels"
    else:
        raise AuditError(f"{source} ({name}) has no predict_proba, decision_function or predict.")
    classes = getattr(model, "classes_", None)
    if classes is None:
        raise AuditError(
            f"{source} ({name}) has no classes_, so the audit cannot tell which of its "
            "outputs is the positive outcome. Fit it as a scikit-learn classifier, or give "
            "its decisions or scores as a column (--prediction-column / --score-column)."
        )
    classes = tuple(np.asarray(classes).tolist())
    if len(classes) != 2:
        raise AuditError(
            f"{source} ({name}) has {len(classes)} classes ({_shown(classes)}); a "
            "classification audit needs a binary classifier. To audit a model with more "
            "than two classes, set data.task: multiclass (--task multiclass); otherwise give "
            "a binary classifier, or the decisions made for the positive outcome as a column "
            "(--prediction-column)."
        )
    found = [i for i, c in enumerate(classes) if label_matches(c, positive_label)]
    if len(found) != 1:
        raise AuditError(
            f"{source} ({name}) predicts the classes {_shown(classes)}, which do not name the "
            f"positive label {positive_label!r} of the target. Set --positive-label to one of "
            "the model's classes, or recode the target to the labels the model was trained on."
        )
    boundary = 0.0
    if isinstance(model, ScoreFunction):
        # A score function splits at its own threshold (0.5 for scores in [0, 1], not 0),
        # negated with the scores when its positive class is classes_[0] (model_scores).
        boundary = model.threshold if found[0] == 1 else -model.threshold
    return ModelOutput(kind, classes, found[0], boundary)


def is_randomized(model: Any) -> bool:
    """Whether the model draws its decisions at random (it then exposes ``predict_pmf``)."""
    final = model.steps[-1][1] if isinstance(model, Pipeline) else model
    return hasattr(final, "predict_pmf")


def randomized_probability(model: Any, X: pd.DataFrame) -> np.ndarray | None:
    """P(decision = 1) per row when the model's decisions are random draws, else None.

    The randomized models are the ones rai-audit saves (threshold optimizer, mixture of
    exponentiated gradient), alone or at the end of a pipeline; their ``predict`` draws
    the decisions from exactly these probabilities.
    """
    if not is_randomized(model):
        return None
    if isinstance(model, Pipeline):
        return model.steps[-1][1].predict_pmf(model[:-1].transform(X))
    return model.predict_pmf(X)


def _shown(values: Any) -> str:
    return ", ".join(printable(repr(v), 40) for v in list(values)[:5])


def default_rule(output: ModelOutput, threshold: float | None) -> DecisionRule:
    """The decision rule for a model: its own boundary unless a threshold is configured."""
    if output.kind == "probability":
        value = 0.5 if threshold is None else threshold
        if not 0.0 <= value <= 1.0:
            raise AuditError(
                f"model.threshold {value:g} is not a probability; the model gives "
                "P(positive) in [0, 1]. Set a threshold between 0 and 1."
            )
        return DecisionRule(value, score="P(positive)")
    if output.kind == "decision function":
        value = output.boundary if threshold is None else threshold
        return DecisionRule(value, score="decision function")
    if threshold is not None:
        raise AuditError(
            "model.threshold is set, but the model gives only labels (no predict_proba or "
            "decision_function), so there is no score to threshold. Remove the threshold."
        )
    return DecisionRule(None, score="predicted label")


def strategy_rule(
    model: Any, threshold: float | None, source: str = "A mitigated model"
) -> tuple[ModelOutput, DecisionRule]:
    """How a mitigation strategy's model decides: like any model, where class 1 is the
    positive outcome (strategies are fitted on the 0/1-encoded target)."""
    output = model_output(model, 1, source)
    return output, default_rule(output, threshold)


def model_scores(model: Any, X: pd.DataFrame, output: ModelOutput) -> np.ndarray | None:
    """Oriented scores of the positive class: a probability or a signed margin; None for labels."""
    if output.kind == "probability":
        proba = np.asarray(model.predict_proba(X), dtype=np.float64)
        return proba[:, output.positive_index]
    if output.kind == "decision function":
        margin = np.asarray(model.decision_function(X), dtype=np.float64).ravel()
        # A binary decision function is the margin of classes_[1].
        return margin if output.positive_index == 1 else -margin
    return None


def model_decisions(
    model: Any, X: pd.DataFrame, output: ModelOutput, rule: DecisionRule
) -> tuple[np.ndarray, np.ndarray | None]:
    """Decisions (0/1) and oriented scores of ``model`` on ``X`` under ``rule``."""
    scores = model_scores(model, X, output)
    if scores is not None and rule.threshold is not None:
        return rule.decide(scores), scores
    labels = np.asarray(model.predict(X))
    return (labels == output.positive_class).astype(np.int8), scores


# --- the stage --------------------------------------------------------------------------


def evaluate(config: AuditConfig, data: AuditData, plan: RowPlan) -> Evaluation:
    """Get the decisions for the planned rows: train, load, or read them from the data."""
    if config.mode == "predictions":
        return _given(config, data, plan)
    if config.mode == "train":
        X_train = models.as_model_input(data.frame.iloc[plan.train], data.features)
        model = models.train_model(
            config.model.name,
            config.model.params,
            config.seed,
            X_train,
            data.y[plan.train] if config.data.task == "regression" else data.labels[plan.train],
            task=config.data.task,
        )
        info = {"source": "trained", "registry_name": config.model.name, **models.describe(model)}
        columns = data.features
        source = "The trained model"
    elif config.model_object is not None:
        model = config.model_object
        if not hasattr(model, "predict") and callable(model):
            if config.data.task == "multiclass":
                raise AuditError(
                    "A multiclass audit needs a classifier with predict() (and classes_), "
                    "not a plain score function. Give a fitted classifier, or the predicted "
                    "classes as a column (--prediction-column)."
                )
            model = _score_function(model, data, plan, config.model.threshold)
        info = {"source": "object", **models.describe(model)}
        columns = models.model_input_columns(model, data.features)
        source = f"The model given ({type(model).__name__})"
    else:
        assert config.model.file is not None
        model = model_files.load_model(config.model.file, trust=config.model.trust)
        info = {
            "source": "file",
            "file": config.shown_path(config.model.file),
            "sha256": sha256_of(config.model.file),
            "trusted": config.model.trust,
            **models.describe(model),
        }
        columns = models.model_input_columns(model, data.features)
        source = f"The model in {config.model.file}"
    absent = [c for c in columns if c not in data.frame.columns]
    if absent:
        raise AuditError(
            f"{source} expects column(s) {quoted_list(absent)}, which the data does not have. "
            "Add them to the data, or give the model trained on the data's columns."
        )
    X_test = models.as_model_input(data.frame.iloc[plan.evaluated], columns)
    info.update(input_columns=columns, evaluated_on=plan.why)
    if config.data.task == "regression":
        return _regressed(config, data, plan, model, X_test, info, source)
    if config.data.task == "multiclass":
        return _classified(config, data, plan, model, X_test, info, source)
    output = model_output(model, data.positive_label, source)
    rule = default_rule(output, config.model.threshold)
    y_pred, scores = _applied(config, source, lambda: model_decisions(model, X_test, output, rule))
    probability = _applied(config, source, lambda: randomized_probability(model, X_test))
    decision_rule = rule.as_dict()
    if probability is not None:
        decision_rule = {
            "text": "randomized: each row's decision is a random draw; the audit reports the "
            "expected rates, computed exactly from each row's probability of a positive decision"
        }
    info.update(
        output=output.kind,
        classes=[multiclass.plain(c) for c in output.classes],
        positive_class=multiclass.plain(output.positive_class),
        threshold=rule.threshold,
        decision_rule=decision_rule,
    )
    return _model_evaluation(
        config,
        data,
        plan,
        model,
        info,
        y_pred=y_pred,
        scores=scores,
        rule=rule,
        output=output,
        notes=_direction_notes(scores, data.y[plan.evaluated], rule),
        decision_probability=probability,
    )


def _applied(config: AuditConfig, source: str, predict: Callable[[], Any]) -> Any:
    """``predict()``, with a model made elsewhere that fails on the data's columns (of
    another type than it was fitted on) reported as the user's input, not as a bug."""
    try:
        return predict()
    except (ValueError, TypeError, KeyError) as exc:
        if config.mode == "train":
            raise  # a model trained here on these very rows: a bug, not the user's input
        problem = printable(str(exc).strip().split("\n")[0], 160)
        raise AuditError(
            f"{source} could not be applied to the data ({type(exc).__name__}: {problem}). "
            "Check that the data's columns have the types the model was trained on."
        ) from None


def _model_evaluation(
    config: AuditConfig,
    data: AuditData,
    plan: RowPlan,
    model: Any,
    info: dict[str, Any],
    **made: Any,
) -> Evaluation:
    """The Evaluation of a model on the planned rows; ``made``: its decisions and how."""
    return Evaluation(
        rows=plan.evaluated,
        y_true=data.y[plan.evaluated],
        model=model,
        model_info=info,
        train_rows=plan.train,
        plan_how=plan.how,
        plan_why=plan.why,
        trained_here=config.mode == "train",
        in_sample=plan.in_sample,
        **made,
    )


def _regressed(
    config: AuditConfig,
    data: AuditData,
    plan: RowPlan,
    model: Any,
    X_test: pd.DataFrame,
    info: dict[str, Any],
    source: str,
) -> Evaluation:
    """A regressor's numeric predictions on the evaluated rows (``data.task: regression``)."""
    if not is_regressor(model):
        raise AuditError(
            f"data.task is regression, but {source[0].lower() + source[1:]} is not a "
            f"regressor ({type(model).__name__}). Give a fitted scikit-learn regressor, or "
            "set data.task: classification to audit a classifier."
        )
    raw = _applied(config, source, lambda: np.asarray(model.predict(X_test), dtype=np.float64))
    y_pred = _numeric(pd.Series(raw.ravel()), "predict()", f"{source}'s output", "")
    info.update(
        task="regression",
        output="prediction",
        threshold=None,
        decision_rule={"text": "the regressor's numeric prediction (predict())"},
    )
    return _model_evaluation(
        config,
        data,
        plan,
        model,
        info,
        y_pred=y_pred,
        scores=None,
        rule=DecisionRule(None, score="prediction"),
    )


def _classified(
    config: AuditConfig,
    data: AuditData,
    plan: RowPlan,
    model: Any,
    X_test: pd.DataFrame,
    info: dict[str, Any],
    source: str,
) -> Evaluation:
    """A multiclass model's predicted classes (codes) and, when it gives them, the
    probability of every class (``scores``, one column per class)."""
    assert data.classes is not None
    y_pred, proba = _applied(
        config,
        source,
        lambda: multiclass.model_predictions(model, X_test, data.classes, source),
    )
    info.update(
        task="multiclass",
        output="labels" if proba is None else "probability",
        classes=[multiclass.plain(c) for c in np.asarray(model.classes_).tolist()],
        threshold=None,
        decision_rule={"text": "the model's predicted class (predict()): its most likely class"},
    )
    return _model_evaluation(
        config,
        data,
        plan,
        model,
        info,
        y_pred=y_pred,
        scores=proba,
        rule=DecisionRule(None, score="predicted class"),
    )


def _score_function(
    function: Any, data: AuditData, plan: RowPlan, threshold: float | None
) -> ScoreFunction:
    """A plain ``f(DataFrame) -> scores`` as a classifier of the target's own labels; its
    default threshold (0.5 for scores in [0, 1], else 0) is read from the evaluated rows."""
    values = pd.unique(pd.Series(data.labels).dropna())
    positive = next(v for v in values if label_matches(v, data.positive_label))
    negatives = [v for v in values if not label_matches(v, data.positive_label)]
    negative = negatives[0] if negatives else 0
    X = models.as_model_input(data.frame.iloc[plan.evaluated], data.features)
    return ScoreFunction(
        function,
        data=X,
        threshold=threshold,
        classes=(multiclass.plain(negative), multiclass.plain(positive)),
    )


def _given(config: AuditConfig, data: AuditData, plan: RowPlan) -> Evaluation:
    """Decisions already made, read from a column (classification or regression)."""
    cfg = config.predictions
    column = cfg.prediction_column or cfg.score_column
    assert column is not None
    require_columns(
        data.frame, [column], "Prediction" if cfg.prediction_column else "Score", data.source
    )
    values = data.frame[column].iloc[plan.evaluated]
    refuse_missing_predictions(column, int(values.isna().sum()))
    info: dict[str, Any] = {"source": "predictions", "column": column, "evaluated_on": plan.why}
    scores = None
    if config.data.task == "regression":
        y_pred = _numeric(values, column, "Prediction column", "for a regression audit")
        rule = DecisionRule(None, score=column)
        info.update(task="regression", decision_rule={"text": f"numeric predictions in {column}"})
    elif config.data.task == "multiclass":
        assert data.classes is not None
        y_pred = multiclass.encode_classes(values, data.classes, f"Prediction column '{column}'")
        rule = DecisionRule(None, score=column)
        info.update(
            task="multiclass",
            threshold=None,
            decision_rule={"text": f"the class in {column}"},
        )
    elif cfg.score_column:
        raw = _numeric(values, column, "Score column", "")
        lower = cfg.score_direction == "lower_is_positive"
        rule = DecisionRule(cfg.threshold, lower_is_positive=lower, score=column)
        scores = rule.orient(raw)
        y_pred = rule.decide(scores)
        info.update(threshold=cfg.threshold, decision_rule=rule.as_dict())
    else:
        y_pred = encode_predictions(values, data.frame[data.target], data.positive_label, column)
        rule = DecisionRule(None, score=column)
        info.update(
            threshold=None,
            decision_rule={"text": f"{column} == {data.positive_label!r} → positive"},
        )
    y_true = data.y[plan.evaluated]
    notes = _direction_notes(scores, y_true, rule) if config.data.task == "classification" else []
    return Evaluation(
        rows=plan.evaluated,
        y_true=y_true,
        y_pred=y_pred,
        scores=scores,
        model=None,
        model_info=info,
        train_rows=plan.train[:0],
        rule=rule,
        plan_how=plan.how,
        plan_why=plan.why,
        notes=notes,
    )


def _numeric(values: pd.Series, column: str, what: str, purpose: str) -> np.ndarray:
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        raise AuditError(
            f"{what} '{printable(column)}' must be numeric{' ' + purpose if purpose else ''} "
            f"(found {values.dtype}). Give a column of numbers."
        )
    array = values.to_numpy(dtype=np.float64)
    if not np.isfinite(array).all():
        raise AuditError(
            f"{what} '{printable(column)}' holds infinite values. Give finite numbers only."
        )
    return array


def _direction_notes(
    scores: np.ndarray | None, y_true: np.ndarray, rule: DecisionRule
) -> list[str]:
    """A warning when the scores rank the positive class worse than chance."""
    if scores is None or y_true.min() == y_true.max():
        return []
    from sklearn.metrics import roc_auc_score

    auc = float(roc_auc_score(y_true, scores))
    if auc >= 0.5:
        return []
    if rule.score in ("P(positive)", "decision function"):
        hint = (
            "Check --positive-label: the model's scores rank the other class higher, so the "
            "positive label may be the wrong one."
        )
    else:
        other = "higher_is_positive" if rule.lower_is_positive else "lower_is_positive"
        flag = "" if rule.lower_is_positive else " (--lower-score-is-positive)"
        hint = (
            f"If a {'higher' if rule.lower_is_positive else 'lower'} '{rule.score}' means the "
            f"positive outcome, set predictions.score_direction: {other}{flag}."
        )
    return [
        f"The scores rank the positive class worse than chance (ROC AUC {auc:.3f} < 0.5). {hint}"
    ]
