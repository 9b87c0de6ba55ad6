"""ONNX model files, run by onnxruntime and seen by the audit as fitted scikit-learn classifiers.

An ONNX file is a graph of standard operators: onnxruntime runs it without executing any
Python, so it is safe to load whoever made it. Two things a file could still ask for are
refused: tensors stored in *external data files* (their paths come from the file, and a
model beside other files could read one into its weights and leak it through its
predictions) and custom operators (never registered here, so onnxruntime refuses them).

Inputs come in one of two layouts:

* **several inputs, one per data column**, matched by name — what skl2onnx produces for a
  pipeline fitted on a DataFrame (a ``ColumnTransformer``). Each column is fed with its
  input's type (float, double, int64, int32, bool or string). A missing value is NaN in a
  float input; an integer or bool input cannot hold one (refused with the column's name);
  in a string input it is fed as the empty string ``""``, since ONNX strings have no
  missing value (convert string imputers with ``SimpleImputer(missing_values="")``).
* **one 2-D input** holding every feature column, in the order of the data's feature list
  (``data.features``), as one matrix of the input's type (numeric features).

Outputs: skl2onnx classifiers give a label and probabilities, the probabilities either as a
ZipMap (a list of ``{class: probability}``) or as a tensor (``zipmap=False``); both work.
The classes are read from the graph's classifier operators; a graph without class labels
(e.g. exported from PyTorch) must output probabilities, one column per class 0..k-1, or a
single column with P(class 1). Outputs that are not probabilities are refused, not guessed at.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.metaestimators import available_if

from audit.errors import AuditError

# onnxruntime's type names -> the numpy dtype its input is fed with.
INPUT_TYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(bool)": np.bool_,
    "tensor(string)": object,
}
PROBABILITY_TENSORS = ("tensor(float)", "tensor(double)")
LABEL_TENSORS = ("tensor(int64)", "tensor(int32)", "tensor(string)")
CLASS_LABEL_ATTRIBUTES = ("classlabels_int64s", "classlabels_strings", "classlabels_ints")
# Probabilities are float32 in most graphs: rows sum to 1 within this.
SUM_TOLERANCE = 1e-3


def load_onnx(path: Path) -> OnnxModel:
    """Read ``path`` as an ONNX model and prepare it for predictions (runs no Python from it)."""
    import onnx
    import onnxruntime

    data = path.read_bytes()
    try:
        graph = onnx.load_model_from_string(data)
    except Exception as exc:  # protobuf's DecodeError and friends
        raise AuditError(
            f"Model file {path} is not a readable ONNX model ({type(exc).__name__}). "
            "Export it again (skl2onnx, torch.onnx.export)."
        ) from None
    external = [t.name for t in _tensors(graph) if t.data_location == onnx.TensorProto.EXTERNAL]
    if external:
        raise AuditError(
            f"Model file {path} keeps tensor(s) {', '.join(external[:3])} in external data "
            "files, whose paths come from the file; rai-audit reads only the .onnx file itself. "
            "Save the model with its weights inside (onnx.save(model, path, "
            "save_as_external_data=False))."
        )
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 4  # errors become the AuditError below, not log lines
    # The audit calls the model many times on small batches (permutation SHAP): one thread that
    # does not spin-wait is as fast there, and leaves the other cores to everything else.
    options.intra_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        # From bytes, so onnxruntime has no folder to resolve file references against.
        session = onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise AuditError(f"onnxruntime cannot run model file {path}: {reason}") from None
    producer = f"{graph.producer_name} {graph.producer_version}".strip() or "unknown"
    return OnnxModel(session, _class_labels(graph), producer, path.name)


class OnnxModel(ClassifierMixin, BaseEstimator):
    """A fitted classifier in an ONNX graph, with scikit-learn's prediction interface.

    ``predict_proba`` (when the graph outputs probabilities), ``predict``, ``classes_``
    and, for a graph with one input per column, ``feature_names_in_`` — so the audit
    treats it like any fitted classifier (explanations use the permutation explainer on
    the raw columns; fairlearn's ThresholdOptimizer takes it as a prefit estimator). It
    cannot be refitted or cloned, so mitigation strategies that retrain the model refuse it.

    Parameters
    ----------
    session : onnxruntime.InferenceSession
    class_labels : list or None
        The classes named by the graph's classifier operators, if any.
    producer : str
        The tool that wrote the file (e.g. ``"skl2onnx 1.20.0"``).
    file_name : str
        For messages.
    """

    def __init__(
        self, session: Any, class_labels: list[Any] | None, producer: str, file_name: str
    ) -> None:
        self._session = session
        self._file = file_name
        self.producer = producer
        inputs = session.get_inputs()
        unsupported = [f"{i.name} ({i.type})" for i in inputs if i.type not in INPUT_TYPES]
        if unsupported:
            raise AuditError(
                f"The ONNX model in {file_name} has input(s) of a type rai-audit cannot feed "
                f"from a data column: {', '.join(unsupported)}."
            )
        self._inputs = [(i.name, INPUT_TYPES[i.type], list(i.shape)) for i in inputs]
        self.single_tensor = len(inputs) == 1 and len(inputs[0].shape) == 2
        if self.single_tensor:
            width = inputs[0].shape[1]
            if isinstance(width, int):
                self.n_features_in_ = width
        else:
            self.feature_names_in_ = np.asarray([i.name for i in inputs], dtype=object)
            self.n_features_in_ = len(inputs)
        self._label, self._probability, self._zipmap = _pick_outputs(session.get_outputs())
        if self._label is None and self._probability is None:
            raise AuditError(
                f"The ONNX model in {file_name} has no label or probability output "
                f"(outputs: {', '.join(f'{o.name} ({o.type})' for o in session.get_outputs())})."
            )
        self.classes_ = _classes(class_labels, self._probability_width(session))

    def _probability_width(self, session: Any) -> int | None:
        if self._probability is None or self._zipmap:
            return None
        output = next(o for o in session.get_outputs() if o.name == self._probability)
        if len(output.shape) == 1:
            return 1
        width = output.shape[-1]
        return width if isinstance(width, int) else None

    def get_params(self, deep: bool = False) -> dict[str, Any]:
        """What the report shows about the model (it has no hyper-parameters to set)."""
        layout = (
            f"one tensor '{self._inputs[0][0]}'"
            if self.single_tensor
            else f"{len(self._inputs)} inputs, one per column"
        )
        return {"format": "ONNX", "producer": self.producer, "inputs": layout}

    def fit(self, X: Any, y: Any = None) -> OnnxModel:
        raise TypeError("An ONNX model is already fitted; rai-audit cannot retrain it.")

    def __reduce__(self) -> Any:
        # skops and pickle would otherwise reach into the onnxruntime session (which aborts
        # the process when skops tries to rebuild it).
        raise TypeError(
            "it holds an ONNX model, which lives in an onnxruntime session and cannot be "
            "saved inside a skops or pickle file"
        )

    def __sklearn_clone__(self) -> OnnxModel:
        # Strategies that retrain the audited model clone it first: say why they cannot.
        raise TypeError(
            "an ONNX model cannot be retrained, so only post-processing (threshold_optimizer) "
            "applies to it"
        )

    def _has_probabilities(self) -> bool:
        return self._probability is not None

    @available_if(_has_probabilities)
    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Probability of each class in ``classes_`` for each row of ``X``."""
        (raw,) = self._session.run([self._probability], self._feed(X))
        if self._zipmap:
            rows = list(raw)
            keys = set(rows[0]) if rows else set(self.classes_.tolist())
            if keys != set(self.classes_.tolist()):
                raise AuditError(
                    f"The ONNX model in {self._file} gives probabilities for classes "
                    f"{sorted(keys, key=str)}, not its labelled classes {self.classes_.tolist()}."
                )
            proba = np.array([[row[c] for c in self.classes_.tolist()] for row in rows], float)
            return proba.reshape(len(rows), len(self.classes_))
        proba = np.asarray(raw, dtype=float)
        if proba.ndim == 1 or proba.shape[1] == 1:
            positive = proba.reshape(-1)
            proba = np.column_stack([1 - positive, positive])
        self._check_probabilities(proba)
        return proba

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """The graph's label output, else the class of highest probability."""
        if self._label is None:
            return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
        (labels,) = self._session.run([self._label], self._feed(X))
        return np.asarray(labels).reshape(-1)

    def _check_probabilities(self, proba: np.ndarray) -> None:
        if proba.shape[1] != len(self.classes_):
            raise AuditError(
                f"The ONNX model in {self._file} outputs {proba.shape[1]} probability columns "
                f"for {len(self.classes_)} classes."
            )
        if len(proba) and (
            np.nanmin(proba) < -SUM_TOLERANCE
            or np.nanmax(proba) > 1 + SUM_TOLERANCE
            or np.abs(proba.sum(axis=1) - 1).max() > SUM_TOLERANCE
        ):
            raise AuditError(
                f"The ONNX model's output '{self._probability}' ({self._file}) is not "
                "probabilities (values outside 0..1, or rows that do not sum to 1). Export the "
                "model with a softmax/sigmoid on its output."
            )

    def _feed(self, X: pd.DataFrame) -> dict[str, np.ndarray]:
        if self.single_tensor:
            name, dtype, shape = self._inputs[0]
            columns = [str(c) for c in X.columns]
            width = shape[1]
            if isinstance(width, int) and width != len(columns):
                shown = ", ".join(columns[:8]) + (", …" if len(columns) > 8 else "")
                raise AuditError(
                    f"The ONNX model in {self._file} takes one tensor '{name}' of {width} "
                    f"columns, but the data's feature list has {len(columns)} ({shown}). A "
                    "single-tensor model takes the feature columns in the order of "
                    "data.features: list exactly the columns it was trained on, in that order."
                )
            matrix = [_column(X[c], dtype, c, self._file) for c in X.columns]
            return {name: np.column_stack(matrix) if matrix else np.empty((len(X), 0), dtype)}
        feed = {}
        for name, dtype, shape in self._inputs:
            if name not in X.columns:
                raise AuditError(
                    f"The ONNX model in {self._file} takes a column '{name}' that the data "
                    "does not have."
                )
            values = _column(X[name], dtype, name, self._file)
            feed[name] = values.reshape(-1, 1) if len(shape) == 2 else values
        return feed


def _column(values: pd.Series, dtype: Any, name: str, file_name: str) -> np.ndarray:
    """One data column as the numpy array an ONNX input of ``dtype`` takes."""
    missing = values.isna().to_numpy()
    if dtype is object:
        text = values.astype(str).to_numpy(dtype=object)
        text[missing] = ""  # ONNX strings have no missing value (see the module docstring)
        return text
    if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
        raise AuditError(
            f"Column '{name}' holds text, but the ONNX model in {file_name} takes numbers for it."
        )
    if np.issubdtype(dtype, np.floating):
        return values.to_numpy(dtype=dtype, na_value=np.nan)
    if missing.any():
        raise AuditError(
            f"Column '{name}' has {int(missing.sum())} missing value(s), which the ONNX model's "
            f"{np.dtype(dtype).name} input cannot hold ({file_name}). Fill or drop those rows."
        )
    numbers = values.to_numpy()
    if np.issubdtype(dtype, np.integer) and not np.all(np.mod(numbers, 1) == 0):
        raise AuditError(
            f"Column '{name}' holds fractions, but the ONNX model in {file_name} takes "
            "integers for it."
        )
    return numbers.astype(dtype)


def _pick_outputs(outputs: list[Any]) -> tuple[str | None, str | None, bool]:
    """(label output, probability output, whether the probabilities are a ZipMap)."""
    zipmaps = [o.name for o in outputs if o.type.startswith("seq(map(")]
    tensors = [o.name for o in outputs if o.type in PROBABILITY_TENSORS]
    labels = [o.name for o in outputs if o.type in LABEL_TENSORS]
    label = labels[0] if labels else None
    if zipmaps:
        return label, zipmaps[0], True
    named = [n for n in tensors if "prob" in n.lower()]
    probability = (named or tensors[-1:] or [None])[0]
    return label, probability, False


def _classes(labels: list[Any] | None, width: int | None) -> np.ndarray:
    if labels:
        return np.asarray(labels)
    if width in (None, 1):
        return np.array([0, 1])
    return np.arange(width)


def _class_labels(model: Any) -> list[Any] | None:
    """The class labels of the graph's last classifier operator (ZipMap, LinearClassifier...)."""
    found = None
    for node in model.graph.node:
        for attribute in node.attribute:
            if attribute.name in CLASS_LABEL_ATTRIBUTES:
                values = attribute.ints or attribute.strings
                if values:
                    found = [v.decode("utf-8") if isinstance(v, bytes) else int(v) for v in values]
    return found


def _tensors(model: Any):
    """Every tensor stored in the model: initializers and operator attributes, subgraphs too."""
    graphs = [model.graph]
    nodes = [node for function in model.functions for node in function.node]
    while graphs or nodes:
        if graphs:
            graph = graphs.pop()
            yield from graph.initializer
            for sparse in graph.sparse_initializer:
                yield sparse.values
                yield sparse.indices
            nodes.extend(graph.node)
            continue
        node = nodes.pop()
        for attribute in node.attribute:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors
            if attribute.HasField("g"):
                graphs.append(attribute.g)
            graphs.extend(attribute.graphs)
