"""The right SHAP explainer for the model, and what explaining one row costs.

* Tree ensembles (random forest, extra trees, gradient boosting, histogram
  gradient boosting, a decision tree, and LightGBM's ``LGBMClassifier`` and XGBoost's
  ``XGBClassifier``): ``shap.TreeExplainer`` on the encoded matrix, path-dependent (the
  training data's cover stands in for a background), exact. Boosting is explained in
  log-odds (its margin), forests in probability: each in the space the trees add up in.
  LightGBM and XGBoost are optional: they are recognised without being imported (a
  fitted model of theirs means they are already loaded).
* Linear classifiers (``coef_``): ``shap.LinearExplainer`` on the encoded matrix
  with a background sample (interventional), in log-odds for logistic regression,
  in the decision function's units otherwise.
* Anything else (an SVM, a neural network, a model whose preprocessing cannot be
  mapped back to the input columns): ``shap.PermutationExplainer`` on the input
  columns themselves, with a background sample, in probability when the model has
  ``predict_proba``. It is exact in sum (antithetic permutations guarantee that
  base value + sum of SHAP values = model output) and approximate per feature.

Tree and linear values on encoded columns are summed back to the input columns
(:mod:`audit.explain.columns`).

The cost per row is estimated from the model, deterministically (never from a
clock, so the same seed gives the same sample): TreeSHAP visits every node of
every tree for each row, with work growing with the square of a leaf's depth, so
a forest of deep trees costs orders of magnitude more than a boosted ensemble of
small ones. The constants were measured on the project's 2-core machine. LightGBM and
XGBoost compute TreeSHAP in their own code (shap calls it), on the same trees shap reads
from the booster's dump, so the same count applies, scaled by what each library's code
was measured to cost relative to shap's.
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import is_regressor
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.pipeline import Pipeline
from sklearn.tree import (
    DecisionTreeClassifier,
    DecisionTreeRegressor,
    ExtraTreeClassifier,
    ExtraTreeRegressor,
)

from audit.explain.columns import encoded_to_input, sum_by_input

TREE_MODELS = (
    RandomForestClassifier,
    ExtraTreesClassifier,
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    DecisionTreeClassifier,
    ExtraTreeClassifier,
    # Regressors: explained in the space of their prediction (output space "prediction").
    RandomForestRegressor,
    ExtraTreesRegressor,
    GradientBoostingRegressor,
    HistGradientBoostingRegressor,
    DecisionTreeRegressor,
    ExtraTreeRegressor,
)
BOOSTING = (GradientBoostingClassifier, HistGradientBoostingClassifier)
# What a regressor is explained in: its own prediction (SHAP values add up to predict()).
PREDICTION = "prediction"

# TreeSHAP cost model, measured here: ~2.5 ns per unit, where a tree costs
# sum over leaves of (depth + 1)^2 plus sum over inner nodes of (depth + 1), plus a fixed
# overhead per tree. It predicts the registry's HGB (46 trees after early stopping) at
# ~3,700 rows/s and its 100-tree forest of depth 10 at ~65 rows/s; measured 4,000-5,000
# and 60-105 rows/s.
TREE_SECONDS_PER_UNIT = 2.5e-9
TREE_OVERHEAD_UNITS = 250
# The classifiers of the optional boosting libraries, by (module, class name), and their
# TreeSHAP cost relative to shap's own per unit above. Measured here side by side with
# sklearn's GradientBoostingClassifier (100 trees of depth 6, 2,000 rows, 7 features):
# LightGBM 0.9-1.0x, XGBoost 1.2-1.6x (its contributions code is slower per node).
BOOSTERS = {"lightgbm": "LGBMClassifier", "xgboost": "XGBClassifier"}
BOOSTER_COST_FACTOR = {"lightgbm": 1.0, "xgboost": 1.6}
# Their objectives whose margin is the log-odds of classes_[1]; any other is a plain margin.
LOG_ODDS_OBJECTIVES = ("binary", "cross_entropy", "xentropy", "binary:logistic")
LINEAR_SECONDS_PER_ROW = 2.0e-5
# Permutation explainer: each row costs PERMUTATIONS * (2 * features + 1) masked evaluations
# of background_size rows each. A model call is assumed to cost this much per evaluated row
# (measured through shap with the registry's logistic regression and HGB pipelines: 3.5-4.5
# microseconds; a forest with n_jobs=-1 is ~5x slower, which the caller's time guard catches).
# shap also compiles its masking code with numba once per process (~7 s here).
PERMUTATIONS = 3
MODEL_SECONDS_PER_ROW = 4.0e-6


@dataclass
class Explained:
    """SHAP values of some rows on the input columns, in the explainer's output space."""

    values: np.ndarray  # rows x input columns
    base_value: float


@dataclass
class ModelExplainer:
    """A ready explainer: what it is, its output space, its cost, and how to run it."""

    kind: str  # "tree" | "linear" | "permutation"
    method: str
    estimator: str
    # "log-odds" | "probability" | "decision function" | "predicted label" | "prediction"
    output_space: str
    seconds_per_row: float
    background_rows: int | None
    columns: list[str]
    notes: list[str] = field(default_factory=list)
    _explain: Any = None
    _output: Any = None

    def explain(self, rows: pd.DataFrame) -> Explained:
        """SHAP values of ``rows`` (model input columns), summed to the input columns."""
        return self._explain(rows)

    def output(self, rows: pd.DataFrame) -> np.ndarray:
        """The model's output for ``rows`` in the explained space (cheap: no SHAP)."""
        return self._output(rows)


def _shap() -> Any:
    """shap, imported on first use: it takes seconds to import and only explanations need it."""
    with warnings.catch_warnings():
        # shap's colour maps use matplotlib calls that warn of future deprecations on import.
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        import shap
    return shap


def make_explainer(
    model: Any, background: pd.DataFrame, seed: int, positive: int | None = None
) -> ModelExplainer:
    """Pick the explainer for ``model`` (a Pipeline or a bare estimator) and set it up.

    Parameters
    ----------
    model : fitted estimator or Pipeline
        Takes a DataFrame of the input columns (as the audit evaluated it).
    background : pandas.DataFrame
        Rows standing for "the data the model usually sees" (input columns); used by the
        linear and permutation explainers. Its size is the background size.
    seed : int
        Seed of the permutation explainer's random feature orders.
    positive : int, optional
        Index in ``classes_`` of the positive outcome (default: the class ``1``, else the
        last). Margins (log-odds, decision functions) are of ``classes_[1]``, so they are
        negated when the positive class is ``classes_[0]``.
    """
    columns = [str(c) for c in background.columns]
    preprocessor, estimator = _split(model)
    notes: list[str] = []
    tree = isinstance(estimator, TREE_MODELS) or _booster_library(estimator) is not None
    if ((_is_binary(estimator) or is_regressor(estimator)) and tree) or _is_linear(estimator):
        mapping = encoded_to_input(preprocessor, columns)
        if mapping is None:
            notes.append(
                "The model's preprocessing could not be mapped back to the input columns, "
                "so the model-agnostic permutation explainer was used."
            )
        else:
            try:
                if positive is None:
                    positive = _positive_index(estimator)
                if tree:
                    return _tree(preprocessor, estimator, mapping, columns, positive)
                return _linear(preprocessor, estimator, mapping, columns, background, positive)
            except Exception as exc:  # shap cannot read every variant (e.g. native categoricals)
                notes.append(
                    f"shap could not build a model-specific explainer for "
                    f"{type(estimator).__name__} ({type(exc).__name__}: {exc}); the "
                    "permutation explainer was used."
                )
    explainer = _permutation(model, columns, background, seed, positive)
    explainer.notes = notes + explainer.notes
    return explainer


def _split(model: Any) -> tuple[Any, Any]:
    if isinstance(model, Pipeline) and len(model.steps) > 1:
        return model[:-1], model.steps[-1][1]
    if isinstance(model, Pipeline):
        return None, model.steps[-1][1]
    return None, model


def _is_binary(estimator: Any) -> bool:
    classes = getattr(estimator, "classes_", None)
    return classes is not None and len(classes) == 2


def _is_linear(estimator: Any) -> bool:
    coef = getattr(estimator, "coef_", None)
    return (
        (_is_binary(estimator) or is_regressor(estimator))
        and coef is not None
        and np.ndim(coef) in (1, 2)
        and np.atleast_2d(coef).shape[0] == 1
        and (hasattr(estimator, "decision_function") or is_regressor(estimator))
    )


def _booster_library(estimator: Any) -> str | None:
    """``"lightgbm"`` / ``"xgboost"`` for their scikit-learn classifiers, else None.

    Never imports them: an instance of their class can only exist once they are loaded.
    """
    for library, name in BOOSTERS.items():
        module = sys.modules.get(library)
        if module is not None and isinstance(estimator, getattr(module, name, ())):
            return library
    return None


def _positive_index(estimator: Any) -> int:
    classes = list(getattr(estimator, "classes_", [0, 1]))
    return classes.index(1) if 1 in classes else len(classes) - 1


def _encode(preprocessor: Any, rows: pd.DataFrame) -> np.ndarray:
    matrix = rows if preprocessor is None else preprocessor.transform(rows)
    if sparse.issparse(matrix):
        matrix = matrix.toarray()
    return np.asarray(matrix, dtype=float)


def _tree(preprocessor, estimator, mapping, columns, positive: int) -> ModelExplainer:
    explainer = _shap().TreeExplainer(estimator, feature_perturbation="tree_path_dependent")
    library = _booster_library(estimator)
    boosting = library is not None or isinstance(estimator, BOOSTING)
    regressor = is_regressor(estimator)
    space = _tree_space(estimator, library) if boosting else "probability"
    space = PREDICTION if regressor else space
    # A boosted margin is that of classes_[1]; a regressor's prediction has no class.
    sign = 1.0 if positive == 1 or regressor else -1.0

    def output(rows: pd.DataFrame) -> np.ndarray:
        # A bare estimator gets the frame itself, so its fitted feature names are checked.
        encoded = rows if preprocessor is None else _encode(preprocessor, rows)
        if regressor:
            return np.asarray(estimator.predict(encoded), dtype=float).ravel()
        if boosting:
            return sign * _margin(estimator, encoded, library)
        return np.asarray(estimator.predict_proba(encoded)[:, positive], dtype=float)

    def explain(rows: pd.DataFrame) -> Explained:
        # A bare LightGBM / XGBoost model reads the frame itself (its categorical columns too).
        bare_booster = preprocessor is None and library is not None
        encoded = rows if bare_booster else _encode(preprocessor, rows)
        with warnings.catch_warnings():
            # shap announces on every call that its LightGBM output format changed in 0.45.
            warnings.filterwarnings("ignore", message="LightGBM binary classifier")
            values = np.asarray(explainer.shap_values(encoded, check_additivity=False))
        base = np.ravel(explainer.expected_value)
        if values.ndim == 3:  # one slice per class: keep the positive class
            values, base = values[:, :, positive], base[positive]
        else:  # one margin, of classes_[1]
            values, base = sign * values, sign * base[0]
        return Explained(sum_by_input(values, mapping, len(columns)), float(base))

    units = _tree_units(explainer.model.trees)  # shap's reading of the model's trees
    return ModelExplainer(
        kind="tree",
        method="shap.TreeExplainer (exact TreeSHAP, path-dependent: the training data's "
        "cover in each tree stands in for the background)",
        estimator=type(estimator).__name__,
        output_space=space,
        seconds_per_row=units * TREE_SECONDS_PER_UNIT * BOOSTER_COST_FACTOR.get(library, 1.0),
        background_rows=None,
        columns=columns,
        _explain=explain,
        _output=output,
    )


def _tree_space(estimator: Any, library: str | None) -> str:
    """What a boosted ensemble's margin is: log-odds under a logistic loss."""
    if library == "lightgbm":
        objective = getattr(estimator, "objective_", None)
    elif library == "xgboost":
        objective = estimator.get_params().get("objective") or "binary:logistic"
    else:
        objective = getattr(estimator, "loss", "log_loss")
        return "log-odds" if objective in ("log_loss", "deviance") else "decision function"
    return "log-odds" if objective in LOG_ODDS_OBJECTIVES else "decision function"


def _margin(estimator: Any, X: Any, library: str | None) -> np.ndarray:
    """The boosted ensemble's raw sum of trees (the margin of classes_[1]) for each row."""
    if library == "lightgbm":
        margin = estimator.predict(X, raw_score=True)
    elif library == "xgboost":
        margin = estimator.predict(X, output_margin=True)
    else:
        margin = estimator.decision_function(X)
    return np.asarray(margin, dtype=float).ravel()


def _tree_units(trees: list[Any]) -> float:
    """TreeSHAP work per explained row, in the units of :data:`TREE_SECONDS_PER_UNIT`."""
    units = 0.0
    for tree in trees:
        left, right = np.asarray(tree.children_left), np.asarray(tree.children_right)
        depth = np.zeros(len(left), dtype=np.int64)
        # Nodes are stored parents-first in sklearn and shap trees; a stack keeps it general.
        stack = [0]
        while stack:
            node = stack.pop()
            for child in (left[node], right[node]):
                if child >= 0:
                    depth[child] = depth[node] + 1
                    stack.append(child)
        leaf = left < 0
        units += ((depth[leaf] + 1) ** 2).sum() + (depth[~leaf] + 1).sum() + TREE_OVERHEAD_UNITS
    return units


def _linear(preprocessor, estimator, mapping, columns, background, positive: int) -> ModelExplainer:
    encoded_background = _encode(preprocessor, background)
    shap = _shap()
    explainer = shap.LinearExplainer(
        estimator, shap.maskers.Independent(encoded_background, max_samples=len(background))
    )
    logistic = type(estimator).__name__ == "LogisticRegression" or (
        getattr(estimator, "loss", None) == "log_loss"
    )

    regressor = is_regressor(estimator)
    # The linear margin is that of classes_[1]; a regressor's prediction has no class.
    sign = 1.0 if positive == 1 or regressor else -1.0
    space = PREDICTION if regressor else "log-odds" if logistic else "decision function"

    def output(rows: pd.DataFrame) -> np.ndarray:
        encoded = rows if preprocessor is None else _encode(preprocessor, rows)
        linear = estimator.predict if regressor else estimator.decision_function
        return sign * np.asarray(linear(encoded), dtype=float).ravel()

    def explain(rows: pd.DataFrame) -> Explained:
        encoded = _encode(preprocessor, rows)
        values = sign * np.asarray(explainer.shap_values(encoded), dtype=float)
        base = sign * float(np.ravel(explainer.expected_value)[0])
        return Explained(sum_by_input(values, mapping, len(columns)), base)

    return ModelExplainer(
        kind="linear",
        method="shap.LinearExplainer (exact, interventional: features independent of "
        "each other, background sample)",
        estimator=type(estimator).__name__,
        output_space=space,
        seconds_per_row=LINEAR_SECONDS_PER_ROW,
        background_rows=len(background),
        columns=columns,
        _explain=explain,
        _output=output,
    )


class _Codec:
    """Input columns <-> a float matrix: categoricals as codes, so shap's masker can mix rows."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.columns = [str(c) for c in frame.columns]
        self.booleans = {str(c) for c in frame.columns if pd.api.types.is_bool_dtype(frame[c])}
        self.codes: dict[str, dict[str, int]] = {
            str(c): {}
            for c in frame.columns
            if not pd.api.types.is_numeric_dtype(frame[c]) and str(c) not in self.booleans
        }

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        out = np.empty((len(frame), len(self.columns)))
        for j, column in enumerate(self.columns):
            values = frame[column]
            if column in self.codes:
                codes = self.codes[column]
                present = values.notna()
                text = values.astype(str)
                for category in pd.unique(text[present]):
                    codes.setdefault(category, len(codes))  # categories met later get new codes
                out[:, j] = text.map(codes).where(present).to_numpy(dtype=float)
            else:
                out[:, j] = values.to_numpy(dtype=float, na_value=np.nan)
        return out

    def decode(self, matrix: np.ndarray) -> pd.DataFrame:
        data = {}
        for j, column in enumerate(self.columns):
            values = matrix[:, j]
            if column in self.codes:
                categories = np.asarray(list(self.codes[column]) or [""], dtype=object)
                missing = np.isnan(values)
                text = categories[np.where(missing, 0, values).astype(np.int64)]
                data[column] = pd.Series(text, dtype=object).where(~missing, np.nan)
            elif column in self.booleans:
                data[column] = values.astype(bool)
            else:
                data[column] = values
        return pd.DataFrame(data)


def _model_output(model: Any, positive: int | None) -> tuple[str, Any]:
    if is_regressor(model):
        return PREDICTION, lambda X: np.asarray(model.predict(X), dtype=float).ravel()
    if positive is None:
        positive = _positive_index(model)
    if hasattr(model, "predict_proba"):
        return "probability", lambda X: np.asarray(model.predict_proba(X))[:, positive]
    sign = 1.0 if positive == 1 else -1.0
    if hasattr(model, "decision_function"):
        return "decision function", lambda X: sign * np.ravel(model.decision_function(X))
    classes = list(getattr(model, "classes_", [0, 1]))
    label = classes[positive] if positive < len(classes) else 1
    return "predicted label", lambda X: (np.asarray(model.predict(X)) == label).astype(float)


def _permutation(
    model: Any, columns: list[str], background: pd.DataFrame, seed: int, positive: int | None
):
    codec = _Codec(background)
    space, predict = _model_output(model, positive)
    coded_background = codec.encode(background)

    def on_codes(matrix: np.ndarray) -> np.ndarray:
        return np.asarray(predict(codec.decode(matrix)), dtype=float)

    shap = _shap()
    masker = shap.maskers.Independent(coded_background, max_samples=len(background))
    max_evals = PERMUTATIONS * (2 * len(columns) + 1)

    def explain(rows: pd.DataFrame) -> Explained:
        coded = codec.encode(rows)
        explainer = shap.PermutationExplainer(on_codes, masker, seed=seed)
        result = explainer(coded, max_evals=max_evals, silent=True)
        base = float(np.ravel(result.base_values)[0])
        return Explained(np.asarray(result.values, dtype=float), base)

    def output(rows: pd.DataFrame) -> np.ndarray:
        return np.asarray(predict(rows), dtype=float)

    _, estimator = _split(model)
    return ModelExplainer(
        kind="permutation",
        method=f"shap.PermutationExplainer (model-agnostic, {PERMUTATIONS} antithetic "
        "permutations per row, background sample; exact in sum, approximate per feature)",
        estimator=type(estimator).__name__,
        output_space=space,
        seconds_per_row=max_evals * len(background) * MODEL_SECONDS_PER_ROW,
        background_rows=len(background),
        columns=columns,
        _explain=explain,
        _output=output,
    )


def class_probability_explainer(model: Any, background: pd.DataFrame, seed: int) -> ModelExplainer:
    """The permutation explainer of a multiclass model's ``predict_proba``, every class at once.

    One explanation of the whole probability vector costs the model calls of one class
    (shap masks each row once and reads every output column), and is exact in sum for each
    class: base value + SHAP values = the probability of that class. ``explain`` returns
    values of shape rows x input columns x classes (``classes_`` order) and one base value
    per class.
    """
    columns = [str(c) for c in background.columns]
    codec = _Codec(background)
    coded_background = codec.encode(background)

    def on_codes(matrix: np.ndarray) -> np.ndarray:
        return np.asarray(model.predict_proba(codec.decode(matrix)), dtype=float)

    shap = _shap()
    masker = shap.maskers.Independent(coded_background, max_samples=len(background))
    max_evals = PERMUTATIONS * (2 * len(columns) + 1)

    def explain(rows: pd.DataFrame) -> Explained:
        explainer = shap.PermutationExplainer(on_codes, masker, seed=seed)
        result = explainer(codec.encode(rows), max_evals=max_evals, silent=True)
        base = np.asarray(result.base_values, dtype=float)
        return Explained(np.asarray(result.values, dtype=float), base[0])  # type: ignore[arg-type]

    def output(rows: pd.DataFrame) -> np.ndarray:
        return np.asarray(model.predict_proba(rows), dtype=float)

    _, estimator = _split(model)
    return ModelExplainer(
        kind="permutation",
        method=f"shap.PermutationExplainer of predict_proba, every class at once "
        f"(model-agnostic, {PERMUTATIONS} antithetic permutations per row, background "
        "sample; exact in sum for each class, approximate per feature)",
        estimator=type(estimator).__name__,
        output_space="probability",
        seconds_per_row=max_evals * len(background) * MODEL_SECONDS_PER_ROW,
        background_rows=len(background),
        columns=columns,
        _explain=explain,
        _output=output,
    )


# What a multiclass model's per-class margin is: the input of its softmax.
CLASS_LOGIT = "class logit (decision function, the softmax's input)"


def class_explainer(model: Any, background: pd.DataFrame, seed: int) -> ModelExplainer:
    """The explainer of every class of a multiclass model at once.

    A scikit-learn tree ensemble gets ``shap.TreeExplainer`` (forests in probability,
    boosting in each class's logit) and a linear model ``shap.LinearExplainer`` (each
    class's logit), both exact, on the encoded matrix summed back to the input columns;
    anything else the permutation explainer of ``predict_proba``
    (:func:`class_probability_explainer`). ``explain`` returns values of shape rows x input
    columns x classes (``classes_`` order) and one base value per class; ``output`` the
    explained output per class.
    """
    columns = [str(c) for c in background.columns]
    preprocessor, estimator = _split(model)
    tree, linear = _exact_for_classes(estimator)
    notes: list[str] = []
    if tree or linear:
        mapping = encoded_to_input(preprocessor, columns)
        try:
            if mapping is not None and tree:
                return _class_tree(preprocessor, estimator, mapping, columns)
            if mapping is not None:
                return _class_linear(preprocessor, estimator, mapping, columns, background)
            notes.append(
                "The model's preprocessing could not be mapped back to the input columns, "
                "so the model-agnostic permutation explainer was used."
            )
        except Exception as exc:  # shap cannot read every variant
            notes.append(
                f"shap could not build a model-specific explainer for "
                f"{type(estimator).__name__} ({type(exc).__name__}: {exc}); the "
                "permutation explainer was used."
            )
    explainer = class_probability_explainer(model, background, seed)
    explainer.notes = notes
    return explainer


def class_explanation_obstacle(model: Any) -> str | None:
    """Why :func:`class_explainer` cannot explain ``model`` (None: it can): a model without
    an exact explainer is explained through ``predict_proba``."""
    if any(_exact_for_classes(_split(model)[1])) or hasattr(model, "predict_proba"):
        return None
    return (
        "The multiclass model has no predict_proba and no exact SHAP explainer (a tree "
        "ensemble or a linear model with one coefficient row per class): SHAP values explain "
        "a score of each class, which this model does not give."
    )


def _exact_for_classes(estimator: Any) -> tuple[bool, bool]:
    """Whether a tree explainer, or a linear one, explains every class of ``estimator``."""
    tree = isinstance(estimator, TREE_MODELS)
    coef = getattr(estimator, "coef_", None)
    n_classes = len(getattr(estimator, "classes_", []))
    # An SVM's coef_ rows are one-vs-one pairs (3 of them for 3 classes), not classes.
    one_row_per_class = coef is not None and np.ndim(coef) == 2 and len(coef) == n_classes
    return tree, one_row_per_class and not hasattr(estimator, "support_vectors_")


def _per_class(values: Any, mapping: np.ndarray, n_inputs: int) -> np.ndarray:
    """shap's per-class values (a list of matrices, or rows x encoded x classes) summed
    back to the input columns: rows x inputs x classes."""
    stacked = np.stack(values, axis=-1) if isinstance(values, list) else np.asarray(values)
    return np.stack(
        [sum_by_input(stacked[:, :, k], mapping, n_inputs) for k in range(stacked.shape[2])],
        axis=-1,
    )


def _class_tree(preprocessor, estimator, mapping, columns) -> ModelExplainer:
    explainer = _shap().TreeExplainer(estimator, feature_perturbation="tree_path_dependent")
    boosting = isinstance(estimator, BOOSTING)

    def output(rows: pd.DataFrame) -> np.ndarray:
        encoded = rows if preprocessor is None else _encode(preprocessor, rows)
        if boosting:
            return np.asarray(estimator.decision_function(encoded), dtype=float)
        return np.asarray(estimator.predict_proba(encoded), dtype=float)

    def explain(rows: pd.DataFrame) -> Explained:
        encoded = rows if preprocessor is None else _encode(preprocessor, rows)
        values = explainer.shap_values(encoded, check_additivity=False)
        base = np.ravel(explainer.expected_value).astype(float)
        return Explained(_per_class(values, mapping, len(columns)), base)  # type: ignore[arg-type]

    return ModelExplainer(
        kind="tree",
        method="shap.TreeExplainer (exact TreeSHAP, path-dependent), every class",
        estimator=type(estimator).__name__,
        output_space=CLASS_LOGIT if boosting else "probability",
        seconds_per_row=_tree_units(explainer.model.trees) * TREE_SECONDS_PER_UNIT,
        background_rows=None,
        columns=columns,
        _explain=explain,
        _output=output,
    )


def _class_linear(preprocessor, estimator, mapping, columns, background) -> ModelExplainer:
    encoded_background = _encode(preprocessor, background)
    shap = _shap()
    explainer = shap.LinearExplainer(
        estimator, shap.maskers.Independent(encoded_background, max_samples=len(background))
    )

    def output(rows: pd.DataFrame) -> np.ndarray:
        encoded = rows if preprocessor is None else _encode(preprocessor, rows)
        return np.asarray(estimator.decision_function(encoded), dtype=float)

    def explain(rows: pd.DataFrame) -> Explained:
        values = explainer.shap_values(_encode(preprocessor, rows))
        base = np.ravel(explainer.expected_value).astype(float)
        return Explained(_per_class(values, mapping, len(columns)), base)  # type: ignore[arg-type]

    return ModelExplainer(
        kind="linear",
        method="shap.LinearExplainer (exact, interventional: features independent of "
        "each other, background sample), every class",
        estimator=type(estimator).__name__,
        output_space=CLASS_LOGIT,
        seconds_per_row=LINEAR_SECONDS_PER_ROW,
        background_rows=len(background),
        columns=columns,
        _explain=explain,
        _output=output,
    )
