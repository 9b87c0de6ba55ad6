"""Loading tabular data, resolving column roles and splitting rows.

Every check here raises :class:`AuditError` with a message that names the file or
column at fault and says what to do, because these are the mistakes users make.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from audit.config import AuditConfig
from audit.errors import AuditError
from audit.multiclass import class_labels, encode_classes
from audit.regression import regression_target
from audit.text import printable, quoted_list

READERS = {".csv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet"}
KIND_NAMES = {"csv": "CSV", "parquet": "Parquet"}
GIVE_DATA = "Give a CSV or Parquet file with a header row and at least one row of data."
# Where each column role is set, for a message naming a column that is not in the file.
ROLE_SETTINGS = {
    "Target": "--target (data.target)",
    "Sensitive": "--sensitive (data.sensitive)",
    "Dropped": "--drop (data.drop)",
    "Feature": "data.features",
    "Prediction": "--prediction-column (predictions.prediction_column)",
    "Score": "--score-column (predictions.score_column)",
    "Split": "--split-column (split.column)",
    "Time": "--time-column (monitoring.time_column)",
}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


IN_MEMORY = "the DataFrame given"


def _given_frame(given: Any) -> tuple[pd.DataFrame, dict[str, int]]:
    """A copy of a DataFrame given in memory, read like a file: text column names, one
    copy of each repeated column (refused when the copies differ), plain numpy columns."""
    if not isinstance(given, pd.DataFrame):
        raise AuditError(f"data must be a pandas DataFrame or a path, not {type(given).__name__}.")
    if given.empty:
        raise AuditError("The DataFrame given as data has no rows.")
    frame = given.reset_index(drop=True).copy()
    frame.columns = [str(c) for c in frame.columns]
    counts = pd.Series(frame.columns, dtype=object).value_counts()
    repeated = {str(name): int(n) for name, n in counts[counts > 1].items()}
    for name in repeated:
        copies = frame.loc[:, frame.columns == name]
        if not all(copies.iloc[:, 0].equals(copies.iloc[:, i]) for i in range(1, copies.shape[1])):
            raise AuditError(
                f"The DataFrame given holds {repeated[name]} different columns named "
                f"'{printable(name)}'; the audit cannot tell which one is meant. Rename them."
            )
    frame = frame.loc[:, ~frame.columns.duplicated()]
    return without_pd_na(frame), repeated


def frame_sha256(frame: pd.DataFrame) -> str:
    """A fingerprint of a table given in memory: SHA-256 over its column names and pandas'
    hash of every row (the same table gives the same value; any changed cell changes it)."""
    digest = hashlib.sha256()
    digest.update("\x1f".join(map(str, frame.columns)).encode("utf-8"))
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def load_table(path: Path) -> pd.DataFrame:
    """Read a CSV or Parquet file into a DataFrame."""
    if not path.exists():
        raise AuditError(f"Data file not found: {path}. Check --data / data.path.")
    if path.is_dir():
        raise AuditError(
            f"Data path {path} is a directory; give the CSV or Parquet file inside it."
        )
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise AuditError(
            f"Cannot read {path}: unknown file type '{printable(path.suffix)}' (supported: "
            f"{', '.join(sorted(READERS))}). Save it as CSV or Parquet."
        )
    if path.stat().st_size == 0:
        raise AuditError(f"Data file {path} is empty (0 bytes). {GIVE_DATA}")
    try:
        frame = pd.read_csv(path, low_memory=False) if kind == "csv" else pd.read_parquet(path)
    except UnicodeDecodeError as exc:
        raise AuditError(
            f"Could not read {path}: it is not UTF-8 text (byte {exc.start} is not valid "
            "UTF-8). Save it as UTF-8."
        ) from None
    except Exception as exc:  # pandas' and pyarrow's own error types for a damaged file
        # Their first line names the problem; later lines may list the file's schema.
        problem = printable(str(exc).strip().split("\n")[0], 200)
        raise AuditError(
            f"Could not read {path} as {KIND_NAMES[kind]} ({type(exc).__name__}: {problem}). "
            f"Check that it is a complete {KIND_NAMES[kind]} file, or export it again."
        ) from None
    if frame.empty:
        raise AuditError(f"Data file {path} has a header but no rows. {GIVE_DATA}")
    frame.columns = [str(c) for c in frame.columns]
    return without_pd_na(frame)


def without_pd_na(frame: pd.DataFrame) -> pd.DataFrame:
    """Nullable columns (Int64, boolean, string with ``pd.NA``, as Parquet files written by
    pandas restore them) as plain numpy columns with NaN for missing values.

    ``pd.NA`` has no truth value and does not compare, which scikit-learn, numpy and shap
    need; the CSV reader never produces it, so after this both file types look alike.
    """
    for column in frame.columns:
        values = frame[column]
        dtype = values.dtype
        if not isinstance(dtype, pd.api.extensions.ExtensionDtype) or isinstance(
            dtype, (pd.CategoricalDtype, pd.DatetimeTZDtype)
        ):
            continue
        missing = values.isna()
        if pd.api.types.is_bool_dtype(dtype):
            plain = values.astype(object).where(~missing, np.nan) if missing.any() else None
            frame[column] = values.astype(bool) if plain is None else plain
        elif pd.api.types.is_numeric_dtype(dtype):
            if missing.any():
                frame[column] = values.to_numpy(dtype=float, na_value=np.nan)
            else:
                frame[column] = values.to_numpy(dtype=dtype.numpy_dtype)
        elif isinstance(dtype, pd.StringDtype) and getattr(dtype, "na_value", pd.NA) is pd.NA:
            frame[column] = values.astype(object).where(~missing, np.nan)
    return frame


def _header(path: Path) -> list[str] | None:
    """The column names exactly as the file writes them (pandas renames a repeat 'x' to 'x.1')."""
    if READERS.get(path.suffix.lower()) == "parquet":
        import pyarrow.parquet as pq  # pyarrow reads Parquet for pandas: a dependency anyway

        try:
            return [str(name) for name in pq.read_schema(path).names]
        except Exception:  # unreadable: load_table says why
            return None
    try:
        header = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False)
    except Exception:
        return None
    return [str(name) for name in header.iloc[0]]


def repeated_column_names(path: Path) -> dict[str, int]:
    """Column names the file's header holds more than once, with how often."""
    names = _header(path) or []
    counts = pd.Series(names, dtype=object).value_counts()
    # Unnamed columns ('') are not repeats: pandas names them 'Unnamed: 0', 'Unnamed: 1'...
    return {str(name): int(n) for name, n in counts[counts > 1].items() if str(name).strip()}


def drop_repeated_columns(
    frame: pd.DataFrame, repeated: dict[str, int], path: Path
) -> pd.DataFrame:
    """Keep one copy of each repeated column, or refuse when the copies differ.

    pandas reads a second 'sex' as 'sex.1', which would then be audited as a column of
    its own (a model input, say). Identical copies carry nothing new, so the first is
    kept; copies that differ leave the audit to guess which one is meant, so it stops.
    """
    if not repeated:
        return frame
    refuse_repeated_parquet_columns(repeated, path)
    copies = []
    for name, count in repeated.items():
        mangled = [f"{name}.{k}" for k in range(1, count)]
        if name not in frame.columns or any(c not in frame.columns for c in mangled):
            raise AuditError(
                f"Column '{name}' appears {count} times in {path}; rename the copies so every "
                "column has its own name."
            )
        differing = [c for c in mangled if not frame[name].equals(frame[c])]
        if differing:
            raise AuditError(
                f"Column '{name}' appears {count} times in {path} with different values, so it "
                "is not clear which one is meant: rename or remove the copies."
            )
        copies += mangled
    return frame.drop(columns=copies)


def refuse_repeated_parquet_columns(repeated: dict[str, int], path: Path) -> None:
    """A Parquet file with a repeated column name is refused before it is read: pyarrow
    cannot read it, and says so by listing the file's whole schema."""
    if repeated and READERS.get(path.suffix.lower()) == "parquet":
        shown = ", ".join(f"'{printable(name, 40)}' ×{n}" for name, n in list(repeated.items())[:5])
        raise AuditError(
            f"{path} has repeated column names ({shown}); rename the copies so every "
            "column has its own name."
        )


def _is_nested(values: pd.Series) -> bool:
    """Whether a column holds lists, arrays or mappings (Parquet list/struct/map columns).

    A Parquet column has one type, so its first value tells; CSV cells are never nested.
    """
    present = values.notna().to_numpy() if values.dtype == object else np.zeros(0, bool)
    if not present.any():
        return False
    first = values.iloc[int(present.argmax())]
    return isinstance(first, (list, tuple, dict, set, np.ndarray, pd.Series))


def require_columns(
    frame: pd.DataFrame, columns: list[str], role: str, path: Path | str | None
) -> None:
    """Refuse ``columns`` (of ``role``, a key of :data:`ROLE_SETTINGS`) not in the file.

    The message shows the first few of the file's columns, escaped and cut short: enough to
    spot a typo, never a dump of a header line (which could be any file's first line).
    """
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise AuditError(
            f"{role} column(s) {quoted_list(missing)} not found in {path or IN_MEMORY}, whose "
            f"columns are {quoted_list(frame.columns, shown=10)}. Set {ROLE_SETTINGS[role]} to "
            "one of them."
        )


def refuse_missing_predictions(column: str, missing: int) -> None:
    """Refuse audited rows without a prediction (or score) in ``column``: every engine's
    message, with the count."""
    if missing:
        values = "value" if missing == 1 else "values"
        raise AuditError(
            f"Column '{printable(column)}' has {missing:,} missing {values}; every audited "
            "row needs a prediction. Fill or drop those rows first."
        )


def _matches(values: pd.Series, label: Any) -> pd.Series:
    """Rows equal to ``label``, comparing as text when types differ (CLI flags are strings)."""
    if pd.api.types.is_numeric_dtype(values) and not isinstance(label, bool):
        try:
            return values == float(label)
        except (TypeError, ValueError):
            pass
    return values.astype(str) == str(label)


def label_matches(value: Any, label: Any) -> bool:
    """Whether one class value (e.g. of a model's ``classes_``) is the label ``label``."""
    return bool(_matches(pd.Series([value]), label).iloc[0])


def resolve_positive_label(values: pd.Series, positive_label: Any, column: str) -> Any:
    """Pick the positive label: the configured one, or 1/True for a 0/1 or boolean column."""
    observed = values.dropna().unique()
    if positive_label is not None:
        if not _matches(pd.Series(observed), positive_label).any():
            shown = _values(observed)
            raise AuditError(
                f"Positive label {printable(repr(positive_label))} does not occur in column "
                f"'{printable(column)}'. "
                f"Values found: {shown}. Set --positive-label / data.positive_label to one of them."
            )
        return positive_label
    if set(pd.Series(observed).astype(str)) <= {"0", "1", "0.0", "1.0", "True", "False"}:
        return True if values.dtype == bool else 1
    shown = _values(observed)
    if len(observed) > 2:
        raise AuditError(
            f"Column '{printable(column)}' has {len(observed)} classes ({shown}); a "
            "classification audit needs two. To audit a model with more than two classes, set "
            "data.task: multiclass (--task multiclass); otherwise recode the target to two "
            "values and set --positive-label (data.positive_label)."
        )
    raise AuditError(
        f"Column '{printable(column)}' is not 0/1 or boolean: set --positive-label "
        "(data.positive_label) to the value that is the positive (favourable or predicted) "
        f"outcome. Values found: {shown}."
    )


def _values(observed: Any, shown: int = 10) -> str:
    """The first few distinct values of a column, for a message (escaped, cut short)."""
    return ", ".join(printable(v, 40) for v in sorted(observed, key=str)[:shown])


def multiclass_target(values: pd.Series, column: str) -> np.ndarray:
    """The class code (0..K-1, the labels in sorted order) of each row of a multiclass target."""
    labels = class_labels(values, column)
    return encode_classes(values, labels, f"Target column '{printable(column)}'")


def binary_target(values: pd.Series, positive_label: Any, column: str) -> np.ndarray:
    """Encode a target or prediction column as 0/1 against the positive label."""
    observed = values.dropna().unique()
    if len(observed) > 2:
        shown = _values(observed)
        raise AuditError(
            f"Column '{printable(column)}' has {len(observed)} distinct values ({shown}...); a "
            "binary classification audit needs exactly two. To audit a model with more than "
            "two classes, set data.task: multiclass (--task multiclass); otherwise recode it, "
            "or pick another column."
        )
    return _matches(values, positive_label).to_numpy(dtype=np.int8)


@dataclass
class AuditData:
    """The loaded table and the roles of its columns."""

    frame: pd.DataFrame
    path: Path | None  # None: the table was given in memory (the Python API)
    sha256: str
    target: str
    positive_label: Any
    y: np.ndarray  # 0/1 (1 = positive label), or the numeric target of a regression audit
    labels: np.ndarray  # the target's own values, which a model is trained on
    sensitive: list[str]
    features: list[str]
    rows_without_target: int = 0
    prediction: str | None = None  # the column of decisions or predicted values, if given
    score: str | None = None  # the column of scores, if given
    weight: str | None = None  # fairness.weight_column
    repeated_columns: dict[str, int] = field(default_factory=dict)  # name -> copies in the file
    classes: list[Any] | None = None  # a multiclass target's classes; y holds their codes

    @property
    def source(self) -> str:
        """Where the rows come from, for messages: the file, or the DataFrame given."""
        return str(self.path) if self.path is not None else IN_MEMORY

    def role(self, column: str, inputs: Collection[str] | None = None) -> str:
        """The role of ``column`` in this audit (see :func:`column_role`); ``inputs`` are the
        columns the model reads when they differ from ``features`` (a loaded model)."""
        return column_role(
            column,
            target=self.target,
            sensitive=self.sensitive,
            features=self.features if inputs is None else inputs,
            prediction=self.prediction,
            score=self.score,
            weight=self.weight,
        )


def column_role(
    column: str,
    *,
    target: str,
    sensitive: Collection[str],
    features: Collection[str],
    prediction: str | None = None,
    score: str | None = None,
    weight: str | None = None,
) -> str:
    """The role a column plays in an audit.

    Returns
    -------
    str
        'target', 'prediction' (decisions or predicted values already made), 'score',
        'weight' (measurement weights), 'sensitive', 'sensitive + feature' (a sensitive
        column the model also reads), 'feature' (a model input) or 'not used'.
    """
    fixed = {target: "target", prediction: "prediction", score: "score", weight: "weight"}
    if column in fixed:
        return fixed[column]
    if column in sensitive:
        return "sensitive + feature" if column in features else "sensitive"
    return "feature" if column in features else "not used"


def load_audit_data(config: AuditConfig) -> AuditData:
    """Load the data (a file, or the DataFrame given in memory) and resolve target, positive
    label, sensitive and feature columns."""
    cfg = config.data
    assert cfg.target is not None  # guaranteed by check_complete
    if config.frame is not None:
        frame, repeated = _given_frame(config.frame)
        sha256 = frame_sha256(frame)
    else:
        assert cfg.path is not None  # guaranteed by check_complete
        repeated = repeated_column_names(cfg.path)
        refuse_repeated_parquet_columns(repeated, cfg.path)
        frame = drop_repeated_columns(load_table(cfg.path), repeated, cfg.path)
        sha256 = sha256_of(cfg.path)
    source = cfg.path if config.frame is None else IN_MEMORY
    require_columns(frame, [cfg.target], "Target", source)
    require_columns(frame, cfg.sensitive, "Sensitive", source)
    require_columns(frame, cfg.drop, "Dropped", source)
    if cfg.target in cfg.sensitive:
        raise AuditError(
            f"Column '{printable(cfg.target)}' is both the target and a sensitive feature; "
            "remove it from --sensitive (data.sensitive) or choose another --target."
        )
    features = _feature_columns(frame, config)
    # Before any value is read: a list per cell cannot be counted, compared or hashed.
    frame = _without_nested_columns(frame, config, features)

    missing_target = frame[cfg.target].isna()
    if missing_target.all():
        raise AuditError(
            f"Target column '{printable(cfg.target)}' in {source} has no values; fill it, or "
            "choose another --target (data.target)."
        )
    # A row without a label cannot be scored; it is dropped and the count reported, not hidden.
    frame = frame.loc[~missing_target].reset_index(drop=True)

    classes = None
    if cfg.task == "regression":  # a numeric target, no positive label
        positive, y = None, regression_target(frame[cfg.target], cfg.target)
    elif cfg.task == "multiclass":  # class codes 0..K-1 in sorted label order, no positive label
        positive, y = None, multiclass_target(frame[cfg.target], cfg.target)
        classes = class_labels(frame[cfg.target], cfg.target)
    else:
        positive = resolve_positive_label(frame[cfg.target], cfg.positive_label, cfg.target)
        y = binary_target(frame[cfg.target], positive, cfg.target)
        if y.min() == y.max():
            raise AuditError(
                f"Target column '{printable(cfg.target)}' has only one class after encoding "
                f"(positive label {printable(repr(positive))}); an audit needs rows of both "
                "outcomes. Check --positive-label (data.positive_label), or give data with "
                "both outcomes."
            )
    for column in cfg.sensitive:
        if frame[column].nunique(dropna=True) < 2:
            raise AuditError(
                f"Sensitive column '{printable(column)}' has fewer than two groups "
                f"({quoted_list(frame[column].dropna().unique())}); fairness compares groups, so "
                "pick a column with at least two values or remove it from --sensitive."
            )

    return AuditData(
        frame=frame,
        path=cfg.path if config.frame is None else None,
        sha256=sha256,
        target=cfg.target,
        positive_label=positive,
        y=y,
        labels=frame[cfg.target].to_numpy(),
        sensitive=list(cfg.sensitive),
        features=features,
        rows_without_target=int(missing_target.sum()),
        prediction=config.predictions.prediction_column,
        score=config.predictions.score_column,
        weight=config.fairness.weight_column,
        repeated_columns=repeated,
        classes=classes,
    )


def _without_nested_columns(
    frame: pd.DataFrame, config: AuditConfig, features: list[str]
) -> pd.DataFrame:
    """Refuse list/struct columns, unless the user dropped them (then they are set aside).

    The audit checks and lists every column of the file, and no check or model can read
    a list per cell; leaving such a column out silently would hide part of the data, so
    only an explicit ``data.drop`` sets it aside.
    """
    nested = [c for c in frame.columns if _is_nested(frame[c])]
    roles = {
        c: column_role(
            c,
            target=config.data.target or "",
            sensitive=config.data.sensitive,
            features=features,
            prediction=config.predictions.prediction_column,
            score=config.predictions.score_column,
            weight=config.fairness.weight_column,
        )
        for c in nested
    }
    refused = [c for c in nested if c not in config.data.drop or roles[c] != "not used"]
    if refused:
        shown = ", ".join(f"'{c}' ({roles[c]})" for c in refused[:5])
        droppable = [c for c in refused if roles[c] in ("feature", "not used")]
        fix = f", or leave them out with --drop {droppable[0]} (data.drop)" if droppable else ""
        raise AuditError(
            f"Column(s) {shown} in {config.data.path or IN_MEMORY} hold lists or structures "
            "(nested values), "
            f"which no check or model here can read. Flatten them into plain columns{fix}."
        )
    return frame.drop(columns=nested) if nested else frame


def _feature_columns(frame: pd.DataFrame, config: AuditConfig) -> list[str]:
    cfg = config.data
    prediction_columns = {config.predictions.prediction_column, config.predictions.score_column}
    prediction_columns.add(config.fairness.weight_column)  # measurement weights: not an input
    prediction_columns.add(config.split.column)  # says which rows train: never an input
    prediction_columns.add(config.monitoring.time_column)  # places rows in windows: not an input
    if cfg.features is not None:
        require_columns(frame, cfg.features, "Feature", cfg.path)
        chosen = [c for c in cfg.features if c not in cfg.drop]
    elif config.mode == "predictions":
        # Decisions made elsewhere: which columns that model read is known only when declared.
        chosen = []
    else:
        excluded = {cfg.target, *cfg.drop, *prediction_columns}
        chosen = [c for c in frame.columns if c not in excluded]
    if not config.model.include_sensitive:
        chosen = [c for c in chosen if c not in cfg.sensitive]
    if cfg.target in chosen:
        raise AuditError(f"The target '{cfg.target}' cannot also be a feature.")
    if config.split.column is not None and config.split.column in chosen:
        raise AuditError(
            f"The split column '{config.split.column}' cannot also be a feature: remove it "
            "from data.features."
        )
    return chosen


def encode_predictions(
    values: pd.Series, target: pd.Series, positive_label: Any, column: str
) -> np.ndarray:
    """Predicted labels: in the target's own values (``target``), else 0/1 or boolean."""
    target_values = set(target.dropna().astype(str))
    shown = set(values.astype(str))
    if shown <= target_values:
        return binary_target(values, positive_label, column)
    if shown <= {"0", "1", "True", "False", "0.0", "1.0"}:
        return binary_target(values, 1, column)
    raise AuditError(
        f"Prediction column '{column}' holds values that are neither the target's values "
        f"({', '.join(sorted(target_values)[:10])}) nor 0/1. Recode it, or use --score-column."
    )
