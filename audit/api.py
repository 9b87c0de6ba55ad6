"""The Python face of rai-audit: ``audit.run(...)`` — the whole audit in one call.

The command line builds the same call (audit/cli.py); both end in
:func:`audit.pipeline.run_audit` and return an :class:`~audit.result.AuditResult`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from audit.config import AuditConfig, config_from_dict, read_config_file
from audit.engines.spark_source import is_spark_frame
from audit.errors import AuditError
from audit.result import AuditResult

# Data-section options a caller may give as plain keywords (``data`` itself is the table).
DATA_OPTIONS = ("positive_label", "features", "drop", "task")
MODEL_SUFFIXES = (".skops", ".onnx", ".pkl", ".pickle", ".joblib")
PREDICTION_COLUMN, SCORE_COLUMN = "prediction", "score"


def run(
    config: str | Path | Mapping[str, Any] | AuditConfig | None = None,
    *,
    data: pd.DataFrame | str | Path | None = None,
    target: str | None = None,
    sensitive: str | Sequence[str] | None = None,
    model: Any = None,
    predictions: str | Sequence[Any] | np.ndarray | pd.Series | None = None,
    scores: str | Sequence[float] | np.ndarray | pd.Series | None = None,
    threshold: float | None = None,
    policy: str | Sequence[str] | Mapping[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
    **options: Any,
) -> AuditResult:
    """Audit a model (or decisions already made) on a table, and return the typed result.

    Nothing is written to disk; call :meth:`AuditResult.save` for the report files.

    Parameters
    ----------
    config : path, dict or AuditConfig, optional
        An ``audit.yaml`` (or ``.toml``), the same as a dict, or a built config. Keywords
        below override it.
    data : pandas.DataFrame, Spark DataFrame or path
        The rows to audit: a DataFrame, or a CSV / Parquet file. A Spark DataFrame is
        audited by the Spark engine where it lives (decisions already made, as columns of
        it: ``predictions="col"`` or ``scores="col"``).
    target : str
        The label column.
    sensitive : str or list of str
        The sensitive feature column(s); intersections are audited too.
    model : optional
        What makes the decisions:

        * a fitted scikit-learn-compatible classifier (anything with ``predict_proba``,
          ``decision_function`` or ``predict`` and ``classes_``: XGBoost and LightGBM
          work), or a pipeline ending in one;
        * a callable ``f(DataFrame) -> scores`` (higher = more likely positive);
        * a path to a ``.skops`` or ``.onnx`` file;
        * the name of a registry model to train here (``rai-audit models``; default
          ``hist_gradient_boosting`` when neither ``model`` nor decisions are given).
    predictions, scores : column name or array, optional
        Decisions or scores already made, one per row of ``data`` (instead of a model).
        ``scores`` needs ``threshold``.
    threshold : float, optional
        The decision threshold on scores (the model's or ``scores``).
    policy : rule, list of rules or dict, optional
        Policy rules such as ``"demographic_parity_ratio >= 0.8"`` or
        ``"race: tpr >= 0.6"``; or a ``policy:`` section (rules, gate).
    progress : callable, optional
        Called with the name of each stage as it starts.
    **options
        Any other section of the configuration as a keyword (``fairness={...}``,
        ``mitigation={...}``, ``explain={...}``, ``quality={...}``, ``split={...}``, ``tune={...}``,
        ``monitoring={"time_column": "decided_at", "window": "month"}``, ``seed=3``, ...)
        and the data options ``positive_label``, ``features``, ``drop``, ``task``.

    Returns
    -------
    AuditResult

    Raises
    ------
    AuditError
        For bad input: the message names what is wrong and what to do.

    Examples
    --------
    Decisions already made, audited against a policy:

    >>> import pandas as pd
    >>> import audit
    >>> frame = pd.DataFrame({
    ...     "group": ["a"] * 60 + ["b"] * 60,
    ...     "label": [1, 0] * 60,
    ...     "decision": [1, 0] * 30 + [1, 1, 0, 0] * 15,
    ... })
    >>> result = audit.run(
    ...     data=frame, target="label", sensitive="group", predictions="decision",
    ...     policy="demographic_parity_difference <= 0.2", fairness={"min_group_size": 10},
    ... )
    >>> result.verdict, result.passed
    ('pass', True)
    >>> result.groups("group")[["group", "n", "selection_rate"]]
      group   n  selection_rate
    0     a  60             0.5
    1     b  60             0.5
    """
    if isinstance(config, AuditConfig) and not _any_given(
        data, target, sensitive, model, predictions, scores, threshold, policy, options
    ):
        built = config  # exactly what the command line built: used as it is
    else:
        built = _build(
            config, data, target, sensitive, model, predictions, scores, threshold, policy, options
        )

    from audit.pipeline import run_audit

    return run_audit(built, progress=progress)


def _any_given(*values: Any) -> bool:
    return any(v is not None and v != {} for v in values)


def _build(
    config: Any,
    data: Any,
    target: str | None,
    sensitive: Any,
    model: Any,
    predictions: Any,
    scores: Any,
    threshold: float | None,
    policy: Any,
    options: dict[str, Any],
) -> AuditConfig:
    """The validated config of a call: the config given, overridden by the keywords."""
    raw = _as_dict(config)
    overrides: dict[str, Any] = {}
    for name, value in options.items():
        if name in DATA_OPTIONS:
            overrides.setdefault("data", {})[name] = value
        elif name in AuditConfig.model_fields:
            overrides[name] = value
        else:
            known = ", ".join([*DATA_OPTIONS, *AuditConfig.model_fields])
            raise AuditError(f"audit.run() got the unknown option {name!r}; known: {known}.")
    data_section = overrides.setdefault("data", {})
    if target is not None:
        data_section["target"] = target
    if sensitive is not None:
        data_section["sensitive"] = [sensitive] if isinstance(sensitive, str) else list(sensitive)
    frame = None
    if isinstance(data, pd.DataFrame):
        frame = data.copy()
    elif is_spark_frame(data):
        frame = data  # read by Spark where it is (audit/engines/spark_source.py)
    elif data is not None:
        data_section["path"] = str(data)
    if policy is not None:
        overrides["policy"] = _policy(policy, raw.get("policy"))

    model_object = None
    given = {"predictions": predictions, "scores": scores}
    if predictions is not None and scores is not None:
        raise AuditError("Give predictions or scores, not both.")
    decisions = next(((k, v) for k, v in given.items() if v is not None), None)
    if decisions is not None:
        if model is not None:
            raise AuditError(
                "Give a model or decisions already made (predictions/scores), not both."
            )
        kind, values = decisions
        column = _column(kind, values, frame)
        if not isinstance(values, str):
            if is_spark_frame(frame):
                raise AuditError(
                    f"With a Spark DataFrame as data, give {kind} as the name of its column "
                    f"({kind}='column'), not as values."
                )
            if frame is None:
                raise AuditError(
                    f"{kind} given as values need data as a DataFrame of the same rows."
                )
            frame[column] = _one_per_row(values, len(frame), kind)
        key = "prediction_column" if kind == "predictions" else "score_column"
        overrides["predictions"] = {key: column, "threshold": threshold}
    else:
        model_object = _model(model, overrides, threshold)
    built = config_from_dict(_merge(raw, overrides), "audit.run()", base=_base(config))
    return built.with_objects(frame=frame, model=model_object)


def _as_dict(config: Any) -> dict[str, Any]:
    if config is None:
        return {}
    if isinstance(config, AuditConfig):
        return config.model_dump(exclude_unset=True, mode="json")
    if isinstance(config, (str, Path)):
        return read_config_file(Path(config))
    if isinstance(config, Mapping):
        return dict(config)
    raise AuditError(
        "config must be a path to audit.yaml, a dict or an AuditConfig, not "
        f"{type(config).__name__}."
    )


def _base(config: Any) -> Path | None:
    if isinstance(config, AuditConfig):
        return config._base_dir
    return Path(config).parent if isinstance(config, (str, Path)) else None


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _policy(policy: Any, existing: Any) -> Any:
    if isinstance(policy, str):
        policy = [policy]
    if isinstance(policy, Mapping):
        return dict(policy)
    rules = list(policy)
    if isinstance(existing, dict):  # rules added to a config's policy, as --fail-on does
        return {**existing, "rules": [*existing.get("rules", []), *rules]}
    return {"rules": rules}


def _column(kind: str, values: Any, frame: pd.DataFrame | None) -> str:
    if isinstance(values, str):
        return values
    name = PREDICTION_COLUMN if kind == "predictions" else SCORE_COLUMN
    taken = set(frame.columns) if frame is not None else set()
    column, n = name, 1
    while column in taken:  # never overwrite a column of the user's data
        n += 1
        column = f"{name}_{n}"
    return column


def _one_per_row(values: Any, n_rows: int, kind: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1 or len(array) != n_rows:
        raise AuditError(
            f"{kind} must hold one value per row of data ({n_rows}), got shape {array.shape}."
        )
    return array


def _model(model: Any, overrides: dict[str, Any], threshold: float | None) -> Any:
    """Put ``model`` where the config expects it; return it when it is an object."""
    section = overrides.setdefault("model", {})
    if threshold is not None:
        section["threshold"] = threshold
    if model is None:
        return None
    if isinstance(model, (str, Path)):
        text = str(model)
        if isinstance(model, Path) or text.lower().endswith(MODEL_SUFFIXES) or Path(text).is_file():
            section["file"] = text
        else:
            section["name"] = text  # a registry name; validated with the config
        return None
    if any(hasattr(model, m) for m in ("predict_proba", "decision_function", "predict")):
        return model
    if callable(model):
        return model  # a score function: the prediction stage wraps it (audit.callable_model)
    raise AuditError(
        f"model must be a fitted classifier, a callable f(DataFrame) -> scores, a model file "
        f"or a registry name, not {type(model).__name__}."
    )
