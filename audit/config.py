"""AuditConfig: the one validated object that drives an audit.

It is built from an ``audit.yaml`` (or ``.toml``) file and CLI flags, flags
overriding the file, and validated once, up front: an unknown key or a bad value
fails before any data is read, with a message that names the key and what is
allowed.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.functional_validators import field_validator

from audit.errors import AuditError
from audit.mitigation import catalogue

FORMATS = ("json", "html", "pdf")


class _Section(BaseModel):
    # extra="forbid" is what turns a typo in audit.yaml into an error instead of a silent default.
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataConfig(_Section):
    """Where the data is and what its columns mean."""

    path: Path | None = None
    target: str | None = None
    positive_label: str | int | float | bool | None = None
    sensitive: list[str] = Field(default_factory=list)
    features: list[str] | None = None
    drop: list[str] = Field(default_factory=list)


class ModelConfig(_Section):
    """Which model to audit: one trained here from the registry, or a saved one."""

    name: str = "hist_gradient_boosting"
    params: dict[str, Any] = Field(default_factory=dict)
    file: Path | None = None
    include_sensitive: bool = False
    threshold: float = Field(0.5, ge=0.0, le=1.0)
    save: bool = True


class PredictionsConfig(_Section):
    """Decisions or scores already made (e.g. by a deployed model): no model is needed."""

    prediction_column: str | None = None
    score_column: str | None = None
    threshold: float | None = None

    @model_validator(mode="after")
    def _one_source(self) -> PredictionsConfig:
        if self.prediction_column and self.score_column:
            raise ValueError(
                "give either predictions.prediction_column or predictions.score_column, not both"
            )
        if self.score_column and self.threshold is None:
            raise ValueError(
                "predictions.score_column needs predictions.threshold "
                "(rows with score >= threshold are predicted positive)"
            )
        return self

    @property
    def given(self) -> bool:
        return bool(self.prediction_column or self.score_column)


class SplitConfig(_Section):
    """How the rows are split into training and held-out test rows."""

    test_size: float = Field(0.3, gt=0.0, lt=1.0)
    stratify: bool = True


class OutputConfig(_Section):
    dir: Path = Path("audit-out")
    formats: list[Literal["json", "html", "pdf"]] = Field(default_factory=lambda: list(FORMATS))


class ExponentiatedGradientOptions(_Section):
    """fairlearn ExponentiatedGradient; max_iter is bounded (fairlearn's default is 50)
    because every iteration retrains the estimator two to four times."""

    max_iter: int = Field(10, ge=1, le=200)
    eps: float = Field(0.01, gt=0.0, le=1.0)
    eta0: float = Field(2.0, gt=0.0)


class GridSearchOptions(_Section):
    """fairlearn GridSearch: one retraining per grid point."""

    grid_size: int = Field(10, ge=2, le=500)
    grid_limit: float = Field(2.0, gt=0.0)
    constraint_weight: float = Field(0.5, ge=0.0, le=1.0)


class ThresholdOptimizerOptions(_Section):
    """fairlearn ThresholdOptimizer, fitted on the baseline model's training-row scores."""

    objective: Literal[
        "accuracy_score",
        "balanced_accuracy_score",
        "selection_rate",
        "true_positive_rate",
        "true_negative_rate",
    ] = "accuracy_score"
    grid_size: int = Field(1000, ge=10, le=100_000)


class CorrelationRemoverOptions(_Section):
    """fairlearn CorrelationRemover: alpha = 1 removes all linear correlation, 0 none."""

    alpha: float = Field(1.0, ge=0.0, le=1.0)


class MitigationOptions(_Section):
    exponentiated_gradient: ExponentiatedGradientOptions = Field(
        default_factory=ExponentiatedGradientOptions
    )
    grid_search: GridSearchOptions = Field(default_factory=GridSearchOptions)
    threshold_optimizer: ThresholdOptimizerOptions = Field(
        default_factory=ThresholdOptimizerOptions
    )
    correlation_remover: CorrelationRemoverOptions = Field(
        default_factory=CorrelationRemoverOptions
    )


class MitigationConfig(_Section):
    """Bias-mitigation strategies to compare with the baseline (see audit/mitigation/)."""

    strategies: list[str] = Field(default_factory=list)
    options: MitigationOptions = Field(default_factory=MitigationOptions)
    # Columns whose combined group key the constraints and weights use (default: data.sensitive).
    sensitive: list[str] | None = None
    disparity: Literal[
        "demographic_parity_difference",
        "demographic_parity_ratio",
        "equal_opportunity_difference",
        "equal_opportunity_ratio",
        "equalized_odds_difference",
        "equalized_odds_ratio",
    ] = "demographic_parity_difference"
    feature: str | None = None
    save: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _saving_implies_running(cls, data: Any) -> Any:
        # `--save-mitigated X` alone is enough: X is added to the strategies compared.
        if not isinstance(data, dict) or data.get("save") is None:
            return data
        strategies = list(data.get("strategies") or [])
        try:
            wanted = catalogue.canonical(data["save"])
            present = catalogue.resolve(strategies)
        except ValueError:
            return data  # the field validators name the bad value
        if wanted not in present and not any(str(s).lower() == "none" for s in strategies):
            data = {**data, "strategies": [*strategies, wanted]}
        return data

    @field_validator("strategies")
    @classmethod
    def _known_strategies(cls, names: list[str]) -> list[str]:
        return catalogue.resolve(names)

    @field_validator("save")
    @classmethod
    def _known_save(cls, name: str | None) -> str | None:
        return None if name is None else catalogue.canonical(name)

    @model_validator(mode="after")
    def _consistent(self) -> MitigationConfig:
        if self.save and self.save not in self.strategies:
            raise ValueError(
                f"mitigation.save '{self.save}' is not run (mitigation is off); "
                "remove --mitigate none or the save setting"
            )
        objective = self.options.threshold_optimizer.objective
        if "threshold_optimizer:equalized_odds" in self.strategies and objective not in (
            "accuracy_score",
            "balanced_accuracy_score",
        ):
            raise ValueError(
                "threshold_optimizer:equalized_odds supports only the objectives "
                f"accuracy_score and balanced_accuracy_score, not {objective}"
            )
        return self

    def check(self, mode: str, sensitive: list[str]) -> None:
        """Fail early when mitigation is asked for but cannot run on this audit."""
        if not self.strategies:
            return
        if mode == "predictions":
            raise AuditError(
                "Mitigation (mitigation.strategies / --mitigate) needs a model to retrain or "
                "post-process, but this audit reads decisions already made (predictions-only), "
                "so there is nothing to mitigate. Remove the mitigation settings, or audit the "
                "model itself (train one, or pass --model-file)."
            )
        unknown = [c for c in self.sensitive or [] if c not in sensitive]
        if unknown:
            raise AuditError(
                f"mitigation.sensitive names {', '.join(unknown)}, which is not among the "
                f"sensitive features (data.sensitive: {', '.join(sensitive)})."
            )


class AuditConfig(_Section):
    """Everything an audit needs; see README.md for an annotated example."""

    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    predictions: PredictionsConfig = Field(default_factory=PredictionsConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    mitigation: MitigationConfig = Field(default_factory=MitigationConfig)
    seed: int = 0

    @property
    def mode(self) -> Literal["train", "model_file", "predictions"]:
        """How predictions are obtained: train a model, load one, or take them from the data."""
        if self.predictions.given:
            return "predictions"
        return "model_file" if self.model.file else "train"

    def check_complete(self) -> None:
        """Fail unless the config has what a run needs (checked after flags are merged in)."""
        missing = [
            flag
            for flag, value in (
                ("data.path (--data)", self.data.path),
                ("data.target (--target)", self.data.target),
                ("data.sensitive (--sensitive)", self.data.sensitive),
            )
            if not value
        ]
        if missing:
            raise AuditError(
                f"The audit needs {', '.join(missing)}: set it in the config file or on the "
                "command line. Run `rai-audit run --help` for all options."
            )
        if self.model.file and self.predictions.given:
            raise AuditError(
                "Both a model file (model.file / --model-file) and prediction columns "
                "(predictions.* / --prediction-column / --score-column) were given: choose one."
            )
        if self.predictions.given and self.model.include_sensitive:
            raise AuditError("model.include_sensitive has no meaning in a predictions-only audit.")
        self.mitigation.check(self.mode, self.data.sensitive)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def _describe(error: dict[str, Any], model: type[BaseModel]) -> str:
    """One line per pydantic error, naming the dotted key and what is allowed there."""
    loc = [str(part) for part in error["loc"]]
    key = ".".join(loc) or "(top level)"
    if error["type"] == "extra_forbidden":
        section = model
        for part in loc[:-1]:
            field = section.model_fields.get(part)
            if field is None or not isinstance(field.annotation, type):
                break
            section = field.annotation
        allowed = ", ".join(section.model_fields)
        return f"unknown key '{key}'; allowed keys here: {allowed}"
    return f"'{key}': {error['msg']}"


def _validate(raw: dict[str, Any], source: str) -> AuditConfig:
    try:
        return AuditConfig.model_validate(raw)
    except ValidationError as exc:
        lines = "\n  - ".join(_describe(e, AuditConfig) for e in exc.errors())
        raise AuditError(f"Invalid configuration in {source}:\n  - {lines}") from None


def read_config_file(path: Path) -> dict[str, Any]:
    """Read a YAML or TOML config file into a plain dict (not yet validated)."""
    if not path.is_file():
        raise AuditError(f"Config file not found: {path}. Check the path passed to --config.")
    text = path.read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        raise AuditError(f"Config file {path} is not valid YAML/TOML: {exc}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise AuditError(f"Config file {path} must hold a mapping of keys (data:, model:, ...).")
    _resolve_paths(raw, path.parent)
    return raw


def _resolve_paths(raw: dict[str, Any], base: Path) -> None:
    # Paths in a config file are relative to the file, so a config works from any directory.
    for section, key in (("data", "path"), ("model", "file"), ("output", "dir")):
        part = raw.get(section)
        if isinstance(part, dict) and isinstance(part.get(key), str):
            value = Path(part[key])
            part[key] = str(value if value.is_absolute() else base / value)


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def build_config(file: Path | None = None, overrides: dict[str, Any] | None = None) -> AuditConfig:
    """Build and validate the config from an optional file and nested overrides (CLI flags).

    ``overrides`` is a nested dict such as ``{"data": {"target": "y"}}``; ``None`` values
    mean "flag not given" and are ignored, so a flag never erases a value from the file.
    """
    raw = read_config_file(file) if file else {}
    clean = _drop_none(overrides or {})
    source = f"{file} and command-line flags" if file else "command-line flags"
    return _validate(_merge(raw, clean), source)


def _drop_none(tree: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            value = _drop_none(value)
            if value:
                out[key] = value
        elif value is not None and value != [] and value != ():
            out[key] = value
    return out
