"""AuditConfig: the one validated object that drives an audit.

It is built from an ``audit.yaml`` (or ``.toml``) file and CLI flags, flags
overriding the file, and validated once, up front: an unknown key or a bad value
fails before any data is read, with a message that names the key and what is
allowed.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from audit.errors import AuditError

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
    task: Literal["classification", "regression"] = "classification"


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


class BinSpec(_Section):
    """How to bin a continuous sensitive column: interior ``edges`` or ``quantiles`` (k bins)."""

    edges: list[float] | None = Field(None, min_length=1)
    quantiles: int | None = Field(None, ge=2, le=100)

    @model_validator(mode="after")
    def _one_way(self) -> BinSpec:
        if (self.edges is None) == (self.quantiles is None):
            raise ValueError("give exactly one of edges: [..] or quantiles: k")
        return self


class BootstrapConfig(_Section):
    """Percentile bootstrap intervals; count metrics resample the count table, not the rows."""

    resamples: int = Field(1000, ge=0)
    confidence: float = Field(0.95, gt=0.5, lt=1.0)

    @model_validator(mode="after")
    def _enough(self) -> BootstrapConfig:
        if 0 < self.resamples < 100:
            raise ValueError("use at least 100 resamples, or 0 to turn intervals off")
        return self


class FairnessConfig(_Section):
    """Groups, intersections, intervals and the minimum group size of the fairness metrics."""

    intersections: bool | list[list[str]] = True
    min_group_size: int = Field(30, ge=1)
    missing: Literal["group", "error"] = "group"
    reference_groups: dict[str, str] = Field(default_factory=dict)
    bins: dict[str, BinSpec] = Field(default_factory=dict)
    bootstrap: BootstrapConfig = Field(default_factory=BootstrapConfig)
    calibration_bins: int = Field(10, ge=2, le=100)
    weight_column: str | None = None


class PolicyRule(_Section):
    """One rule: ``metric op bound``, on one feature / intersection or on all of them."""

    metric: str
    op: Literal[">=", ">", "<=", "<"]
    bound: float
    feature: str | list[str] | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        from audit.policy import parse_rule_text

        if isinstance(value, str):
            return parse_rule_text(value)
        # YAML reads "- race: demographic_parity_ratio >= 0.8" as {race: "..."}.
        if isinstance(value, dict) and len(value) == 1:
            (feature, text), = value.items()
            if feature not in cls.model_fields and isinstance(text, str):
                return {**parse_rule_text(text), "feature": str(feature)}
        return value

    @model_validator(mode="after")
    def _known_metric(self) -> PolicyRule:
        from audit.policy import check_metric_name

        check_metric_name(self.metric)
        return self


class PolicyConfig(_Section):
    """Rules checked against the intervals; ``strict`` fails inconclusive verdicts too."""

    rules: list[PolicyRule] = Field(default_factory=list)
    strict: bool = False
    junit: Path | None = None

    @model_validator(mode="before")
    @classmethod
    def _bare_list(cls, value: Any) -> Any:
        return {"rules": value} if isinstance(value, list) else value


class AuditConfig(_Section):
    """Everything an audit needs; see README.md for an annotated example."""

    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    predictions: PredictionsConfig = Field(default_factory=PredictionsConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    fairness: FairnessConfig = Field(default_factory=FairnessConfig)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
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

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def _describe(error: dict[str, Any], model: type[BaseModel]) -> str:
    """One line per pydantic error, naming the dotted key and what is allowed there."""
    loc = [str(part) for part in error["loc"]]
    key = ".".join(loc) or "(top level)"
    if error["type"] == "extra_forbidden":
        section = model
        for part in loc[:-1]:
            if part.isdigit():  # an item of a list section, e.g. policy.rules.0
                continue
            field = section.model_fields.get(part)
            inner = _model_in(field.annotation) if field is not None else None
            if inner is None:
                break
            section = inner
        allowed = ", ".join(section.model_fields)
        return f"unknown key '{key}'; allowed keys here: {allowed}"
    return f"'{key}': {error['msg']}"


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The config section class of a field: ``X``, ``list[X]`` or ``dict[str, X]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


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
    policy = raw.get("policy")
    if isinstance(policy, dict) and isinstance(policy.get("junit"), str):
        junit = Path(policy["junit"])
        policy["junit"] = str(junit if junit.is_absolute() else base / junit)


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
