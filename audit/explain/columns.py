"""From the model's encoded columns back to the original input columns.

Tree and linear explainers see the matrix the preprocessing produces (scaled
numerics, one column per category of a categorical), but an audit reader thinks
in the columns of the data file. SHAP values are additive, so the values of all
encoded columns that come from one input column are summed: the row's total (and
so ``base value + sum = model output``) is unchanged.

The mapping is read from the fitted preprocessing: a ``ColumnTransformer`` says
which input columns each of its transformers received and which output slice it
produced; inside a slice an output name equal to an input column maps to it, and a
one-hot name ``<column>_<category>`` maps to the longest input column it starts
with. When some output cannot be mapped this way, :func:`encoded_to_input` returns
``None`` and the caller falls back to an explainer that works on the input columns
directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer


def encoded_to_input(preprocessor: Any, input_columns: Sequence[str]) -> np.ndarray | None:
    """Index of the input column behind each encoded column, or None if it cannot be told.

    Parameters
    ----------
    preprocessor : fitted transformer or None
        Everything in the model pipeline before the final estimator. ``None`` means
        the estimator takes the input columns as they are.
    input_columns : sequence of str
        The columns given to the model, in order.

    Returns
    -------
    numpy.ndarray of int or None
        ``mapping[k]`` is the position in ``input_columns`` of encoded column ``k``.
    """
    columns = [str(c) for c in input_columns]
    if preprocessor is None:
        return np.arange(len(columns))
    if isinstance(preprocessor, ColumnTransformer):
        return _from_column_transformer(preprocessor, columns)
    try:
        names = [str(n) for n in preprocessor.get_feature_names_out(columns)]
    except Exception:  # a transformer without feature names: nothing to map with
        return None
    return _map_names(names, columns, columns)


def _from_column_transformer(ct: ColumnTransformer, columns: list[str]) -> np.ndarray | None:
    try:
        names = [str(n) for n in ct.get_feature_names_out()]
    except Exception:
        return None
    mapping = np.full(len(names), -1, dtype=np.int64)
    fitted_on = [str(c) for c in getattr(ct, "feature_names_in_", columns)]
    for name, _, selected in ct.transformers_:
        block = ct.output_indices_.get(name, slice(0, 0))
        if block.stop == block.start:
            continue
        inputs = _column_names(selected, fitted_on)
        if inputs is None:
            return None
        block_names = [_strip_prefix(n, name, ct) for n in names[block]]
        mapped = _map_names(block_names, inputs, columns)
        if mapped is None:
            return None
        mapping[block] = mapped
    return None if (mapping < 0).any() else mapping


def _column_names(selected: Any, fitted_on: list[str]) -> list[str] | None:
    """The input column names a ColumnTransformer step was given (names, indices or a mask)."""
    values = np.asarray(selected)
    if values.ndim == 0:
        values = values.reshape(1)
    if values.dtype == bool:
        return [fitted_on[i] for i in np.flatnonzero(values)]
    if np.issubdtype(values.dtype, np.integer):
        return [fitted_on[i] for i in values]
    if values.dtype.kind in "OU":
        return [str(v) for v in values]
    return None


def _strip_prefix(output_name: str, step: str, ct: ColumnTransformer) -> str:
    if ct.verbose_feature_names_out and output_name.startswith(f"{step}__"):
        return output_name[len(step) + 2 :]
    return output_name


def _map_names(names: list[str], inputs: list[str], columns: list[str]) -> np.ndarray | None:
    """Map each encoded name to a position in ``columns`` via the ``inputs`` it may come from."""
    position = {c: i for i, c in enumerate(columns)}
    if any(c not in position for c in inputs):
        return None
    by_length = sorted(inputs, key=len, reverse=True)
    out = []
    for name in names:
        if name in position and name in inputs:
            out.append(position[name])
            continue
        source = next((c for c in by_length if name.startswith(f"{c}_")), None)
        if source is None and len(inputs) == 1:
            source = inputs[0]  # one input, several outputs (e.g. spline features)
        if source is None:
            return None
        out.append(position[source])
    return np.asarray(out, dtype=np.int64)


def sum_by_input(values: np.ndarray, mapping: np.ndarray, n_inputs: int) -> np.ndarray:
    """Sum the columns of ``values`` (rows x encoded columns) into rows x input columns."""
    indicator = np.zeros((len(mapping), n_inputs))
    indicator[np.arange(len(mapping)), mapping] = 1.0
    return np.asarray(values, dtype=float) @ indicator
