"""AuditConfig: the one validated object that drives an audit.

It is built from an ``audit.yaml`` (or ``.toml``) file and CLI flags, flags
overriding the file, and validated once, up front: an unknown key or a bad value
fails before any data is read, with a message that names the key and what is
allowed.
"""

from __future__ import annotations

import os
import tomllib
from datetime import date
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)
from pydantic.functional_validators import field_validator

from audit.errors import AuditError
from audit.text import is_key_name, key_list, parse_problem, printable, read_text, shown_key
from audit.vocabulary import strategies as catalogue
from audit.vocabulary.checks import CHECKS
from audit.vocabulary.compliance import (
    EEO1_RACE_ETHNICITY,
    EEO1_SEX,
    NYC_LL144,
    UNKNOWN,
    category_key,
    check_compliance_rule,
)
from audit.vocabulary.report import DEFAULT_DETAIL, REPORT_DETAILS
from audit.vocabulary.rules import check_metric_name, parse_rule_text

FORMATS = ("json", "html", "pdf")
MAX_PROBLEMS = 8  # config problems listed in one message; the rest are counted


class _Section(BaseModel):
    # extra="forbid" is what turns a typo in audit.yaml into an error instead of a silent default.
    # protected_namespaces=(): model_card and model_details are config keys, not pydantic's.
    model_config = ConfigDict(extra="forbid", validate_assignment=True, protected_namespaces=())


class DataConfig(_Section):
    """Where the data is and what its columns mean."""

    path: Path | None = None
    target: str | None = None
    positive_label: str | int | float | bool | None = None
    sensitive: list[str] = Field(default_factory=list)
    features: list[str] | None = None
    drop: list[str] = Field(default_factory=list)
    task: Literal["classification", "multiclass", "regression"] = "classification"


class ModelConfig(_Section):
    """Which model to audit: one trained here from the registry, or a saved one."""

    name: str = "hist_gradient_boosting"
    params: dict[str, Any] = Field(default_factory=dict)
    file: Path | None = None
    include_sensitive: bool = False
    # None: 0.5 on a probability, 0 on a decision function (each model's own boundary).
    threshold: float | None = None
    save: bool = True
    # The user vouches for model.file: load it unchecked (pickle too). Recorded in the result.
    trust: bool = False


class PredictionsConfig(_Section):
    """Decisions or scores already made (e.g. by a deployed model): no model is needed."""

    prediction_column: str | None = None
    score_column: str | None = None
    threshold: float | None = None
    # Which end of the score means the positive outcome (e.g. a risk score where the
    # favourable outcome is the positive label: lower_is_positive).
    score_direction: Literal["higher_is_positive", "lower_is_positive"] = "higher_is_positive"

    @model_validator(mode="after")
    def _one_source(self) -> PredictionsConfig:
        if self.prediction_column and self.score_column:
            raise ValueError(
                "give either predictions.prediction_column or predictions.score_column, not both"
            )
        if self.score_column and self.threshold is None:
            raise ValueError(
                "predictions.score_column needs predictions.threshold "
                "(rows with score >= threshold are predicted positive; with "
                "score_direction: lower_is_positive, rows with score <= threshold)"
            )
        return self

    @property
    def given(self) -> bool:
        return bool(self.prediction_column or self.score_column)


class SplitConfig(_Section):
    """Which rows train the model and which are evaluated.

    ``column`` names a column of the data whose values say ``train`` or ``test`` for each
    row (it is never a model input). Otherwise a trained model is evaluated on a random
    ``test_size`` share held out from training (default 0.3); a loaded model or given
    predictions are evaluated on every row, since nothing is trained on them, unless
    ``test_size`` is set (the other rows then serve mitigation and explanations only).
    ``evaluate_on`` says which of them are audited: the ``test`` rows (default), the
    ``train`` rows, or ``all`` rows; the numbers of a model trained here are then in-sample.
    ``cv`` adds a K-fold cross-validated audit of the training rows (audit/crossval.py).
    """

    test_size: float | None = Field(None, gt=0.0, le=1.0)
    stratify: bool = True
    column: str | None = None
    cv: int | None = Field(None, ge=2)
    evaluate_on: Literal["test", "train", "all"] = "test"


class TuneConfig(_Section):
    """A search over the registry model's parameters, scored by cross-validation of the
    training rows, choosing subject to the policy (audit/tuning.py).

    ``space`` maps a parameter of the estimator to its candidate values. ``grid`` tries
    every combination; ``random`` draws ``n_trials`` distinct combinations with ``seed``
    (default: the audit's seed). The folds are ``split.cv``'s, else ``folds``.
    """

    search: Literal["grid", "random"] = "grid"
    space: dict[str, list[Any]] = Field(min_length=1)
    n_trials: int | None = Field(None, ge=1)
    seed: int | None = None
    folds: int = Field(3, ge=2)

    @model_validator(mode="after")
    def _complete(self) -> TuneConfig:
        empty = [name for name, values in self.space.items() if not values]
        if empty:
            raise ValueError(f"tune.space lists no values for {', '.join(empty)}")
        if self.search == "random" and self.n_trials is None:
            raise ValueError("tune.search: random needs tune.n_trials (how many to draw)")
        if self.search == "grid" and self.n_trials is not None:
            raise ValueError("tune.n_trials applies to search: random; a grid tries them all")
        return self


class OutputConfig(_Section):
    dir: Path = Path("audit-out")
    formats: list[Literal["json", "html", "pdf"]] = Field(default_factory=lambda: list(FORMATS))


class ReportConfig(_Section):
    """How much the report shows. ``summary``: the main body only (the PDF has no annex);
    ``standard``: the main body, then everything else in an annex after a divider page;
    ``full``: everything in the body, no annex. The HTML report always keeps all content."""

    detail: Literal[REPORT_DETAILS] = DEFAULT_DETAIL  # type: ignore[valid-type]


class ExplainConfig(_Section):
    """SHAP explanations: which rows are explained, how many, and the proxy-detection rule."""

    enabled: bool = True
    # Rows explained: a sample stratified by the sensitive groups (see audit/explain/sampling.py).
    sample_size: int = Field(2000, ge=50, le=1_000_000)
    min_group_rows: int = Field(50, ge=0, le=10_000)
    # Estimated seconds of SHAP computation allowed; an expensive model gets fewer rows.
    budget_seconds: float = Field(5.0, gt=0.0, le=3600.0)
    # Explained rows whose values are kept in results.json to draw the plots from.
    plot_rows: int = Field(400, ge=0, le=10_000)
    background_size: int = Field(100, ge=10, le=5_000)
    top_features: int = Field(4, ge=0, le=20)
    cases_per_group: int = Field(1, ge=0, le=10)

    @model_validator(mode="before")
    @classmethod
    def _moved(cls, value: Any) -> Any:
        moved = {"proxy_method": "proxy_method", "proxy_threshold": "proxy_association"}
        for old, new in moved.items():
            if isinstance(value, dict) and old in value:
                raise ValueError(
                    f"explain.{old} moved to quality.{new}: proxies are detected once, by the "
                    "data-quality checks, and the explanations cross them with the model"
                )
        return value


# Text that stands for a missing value; compared after stripping spaces and lower-casing.
NULL_MARKERS = [
    "",
    "?",
    "na",
    "n/a",
    "n.a.",
    "nan",
    "null",
    "none",
    "nil",
    "-",
    "--",
    "missing",
    "#n/a",
    "<na>",
]


class QualityConfig(_Section):
    """Data-quality checks run before training. Every threshold is stated in the report.

    Shares are fractions of rows (0.05 = 5 %). ``allow_errors`` lets an audit with
    error-severity findings go on (the findings stay in the report).
    """

    allow_errors: bool = False
    disable: list[str] = Field(default_factory=list)
    severity: dict[str, Literal["info", "warning", "error"]] = Field(default_factory=dict)
    missing_warning: float = Field(0.01, ge=0.0, le=1.0)
    sensitive_missing_error: float = Field(0.5, ge=0.0, le=1.0)
    missing_group_gap: float = Field(0.05, ge=0.0, le=1.0)
    null_markers: list[str] = Field(default_factory=lambda: list(NULL_MARKERS))
    duplicate_warning: float = Field(0.001, ge=0.0, le=1.0)
    conflict_warning: float = Field(0.01, ge=0.0, le=1.0)
    near_constant_share: float = Field(0.99, gt=0.5, le=1.0)
    id_unique_share: float = Field(0.95, gt=0.0, le=1.0)
    max_categories: int = Field(50, ge=2)
    outlier_z: float = Field(3.5, gt=0.0)
    outlier_share: float = Field(0.01, ge=0.0, le=1.0)
    outlier_extreme_z: float = Field(20.0, gt=0.0)
    imbalance_share: float = Field(0.1, ge=0.0, le=0.5)
    small_group_share: float = Field(0.05, ge=0.0, le=1.0)
    min_group_rows: int = Field(30, ge=1)
    base_rate_gap: float = Field(0.1, ge=0.0, le=1.0)
    # Proxies of sensitive attributes: Cramér's V / correlation ratio η (default), or the
    # normalised mutual information; flagged at proxy_association (default 0.2 for V / η,
    # 0.05 for mutual information).
    proxy_method: Literal["cramers_v", "mutual_info"] = "cramers_v"
    proxy_association: float | None = Field(None, gt=0.0, le=1.0)
    leakage_auc_warning: float = Field(0.95, ge=0.5, le=1.0)
    leakage_auc_error: float = Field(0.99, ge=0.5, le=1.0)
    # Regression targets: |correlation| of one input with the target.
    leakage_correlation_warning: float = Field(0.95, ge=0.0, le=1.0)
    leakage_correlation_error: float = Field(0.99, ge=0.0, le=1.0)
    unseen_share: float = Field(0.01, ge=0.0, le=1.0)
    shift_psi_info: float = Field(0.1, ge=0.0)
    shift_psi_warning: float = Field(0.25, ge=0.0)
    overlap_error: float = Field(0.5, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _known_checks(self) -> QualityConfig:
        unknown = [c for c in [*self.disable, *self.severity] if c not in CHECKS]
        if unknown:
            raise ValueError(
                f"unknown data-quality check(s) {', '.join(map(repr, unknown))}; "
                f"known checks: {', '.join(CHECKS)}"
            )
        if self.leakage_auc_error < self.leakage_auc_warning:
            raise ValueError("quality.leakage_auc_error must be >= quality.leakage_auc_warning")
        if self.leakage_correlation_error < self.leakage_correlation_warning:
            raise ValueError(
                "quality.leakage_correlation_error must be >= quality.leakage_correlation_warning"
            )
        if self.shift_psi_warning < self.shift_psi_info:
            raise ValueError("quality.shift_psi_warning must be >= quality.shift_psi_info")
        return self


class ChecklistConfig(_Section):
    """The ethics checklist: a custom checklist file and/or the user's answers file."""

    file: Path | None = None
    answers: Path | None = None


Text = str | list[str] | None


class ModelCardConfig(_Section):
    """What the user says about the model (Mitchell et al., 2019); the audit adds what it knows."""

    name: str | None = None
    version: str | None = None
    owners: list[str] = Field(default_factory=list)
    model_details: Text = None
    intended_use: Text = None
    out_of_scope_uses: Text = None
    training_data: Text = None
    evaluation_data: Text = None
    factors: Text = None
    metrics: Text = None
    ethical_considerations: Text = None
    caveats_and_recommendations: Text = None


class DatasheetConfig(_Section):
    """What the user says about the data (Gebru et al., 2021); the audit adds what it knows."""

    motivation: Text = None
    composition: Text = None
    collection: Text = None
    preprocessing: Text = None


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

    # None (not set): the default set whenever the audit has a model; [] (`none`): off.
    strategies: list[str] | None = None
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
    # A loaded model audited on every row leaves no rows to fit the strategies on alone: they
    # are then cross-fitted in this many folds (audit/mitigation/crossfit.py).
    folds: int = Field(catalogue.DEFAULT_FOLDS, ge=2, le=20)

    @model_validator(mode="before")
    @classmethod
    def _saving_implies_running(cls, data: Any) -> Any:
        # `--save-mitigated X` alone is enough: X is added to the strategies compared.
        if not isinstance(data, dict) or data.get("save") is None:
            return data
        if data.get("strategies") is None:
            return data  # the default set runs, and to_run() adds the saved strategy to it
        strategies = list(data["strategies"])
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
    def _known_strategies(cls, names: list[str] | None) -> list[str] | None:
        return None if names is None else catalogue.resolve(names)

    @field_validator("save")
    @classmethod
    def _known_save(cls, name: str | None) -> str | None:
        return None if name is None else catalogue.canonical(name)

    @model_validator(mode="after")
    def _consistent(self) -> MitigationConfig:
        if self.save and self.strategies is not None and self.save not in self.strategies:
            raise ValueError(
                f"mitigation.save '{self.save}' is not run (mitigation is off); "
                "remove --mitigate none or the save setting"
            )
        objective = self.options.threshold_optimizer.objective
        # Checked when asked for by name; the default set skips it (saying why) at run time.
        if "threshold_optimizer:equalized_odds" in (self.strategies or []) and objective not in (
            "accuracy_score",
            "balanced_accuracy_score",
        ):
            raise ValueError(
                "threshold_optimizer:equalized_odds supports only the objectives "
                f"accuracy_score and balanced_accuracy_score, not {objective}"
            )
        return self

    def to_run(self, mode: str) -> list[str]:
        """The strategies this audit compares: those configured; when none are configured,
        the default set (plus ``save``) if the audit has a model, none for predictions-only."""
        if self.strategies is not None:
            return list(self.strategies)
        if mode == "predictions":
            return []
        chosen = list(catalogue.DEFAULT_SET)
        return chosen + [self.save] if self.save and self.save not in chosen else chosen

    def check(self, mode: str, sensitive: list[str]) -> None:
        """Fail early when mitigation is asked for but cannot run on this audit."""
        asked = bool(self.strategies) or self.save is not None
        if mode == "predictions" and asked:
            raise AuditError(
                "Mitigation (mitigation.strategies / --mitigate) needs a model to retrain or "
                "post-process, but this audit reads decisions already made (predictions-only), "
                "so there is nothing to mitigate. Remove the mitigation settings, or audit the "
                "model itself (train one, or pass --model-file)."
            )
        if not self.to_run(mode):
            return
        unknown = [c for c in self.sensitive or [] if c not in sensitive]
        if unknown:
            raise AuditError(
                f"mitigation.sensitive names {', '.join(unknown)}, which is not among the "
                f"sensitive features (data.sensitive: {', '.join(sensitive)})."
            )


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


class MonitoringConfig(_Section):
    """Fairness over time (audit/monitoring): the evaluated rows cut into windows by
    ``time_column`` — calendar ``month``, ``week`` (ISO, from Monday) or ``day``, or
    ``N-rows`` blocks of N consecutive rows in time order — each audited like the whole;
    a window's disparity outside the ``reference_window``'s interval (default: the first
    window) is an alert."""

    time_column: str | None = None
    window: str = "month"
    reference_window: str | None = None

    @field_validator("window")
    @classmethod
    def _known_window(cls, window: str) -> str:
        from audit.vocabulary.monitoring import parse_window

        parse_window(window)  # raises ValueError naming what is allowed
        return window

    @model_validator(mode="after")
    def _needs_column(self) -> MonitoringConfig:
        if self.time_column is None and self.reference_window is not None:
            raise ValueError(
                "monitoring.reference_window needs monitoring.time_column (--time-column): "
                "the column whose times cut the rows into windows"
            )
        return self


class PolicyRule(_Section):
    """One rule: ``metric op bound``, on one feature / intersection or on all of them."""

    metric: str
    op: Literal[">=", ">", "<=", "<"]
    bound: float
    feature: str | list[str] | None = None
    # A multiclass audit's class the rule is checked on (one-vs-rest); None: every class.
    class_label: str | int | float | bool | None = Field(None, alias="class")

    model_config = ConfigDict(populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            return parse_rule_text(value)
        # YAML reads "- race: demographic_parity_ratio >= 0.8" as {race: "..."}.
        if isinstance(value, dict) and len(value) == 1:
            ((feature, text),) = value.items()
            if feature not in cls.model_fields and isinstance(text, str):
                return {**parse_rule_text(text), "feature": str(feature)}
        return value

    @model_validator(mode="after")
    def _known_metric(self) -> PolicyRule:
        check_metric_name(self.metric)
        return self


class PolicyConfig(_Section):
    """Rules checked against the intervals, and the gate deciding which verdicts fail the
    policy (see :mod:`audit.metrics.verdicts`). ``strict: true`` is read as ``gate: strict``.
    """

    rules: list[PolicyRule] = Field(default_factory=list)
    gate: Literal["default", "strict", "conclusive"] = "default"
    junit: Path | None = None

    @model_validator(mode="before")
    @classmethod
    def _bare_list(cls, value: Any) -> Any:
        return {"rules": value} if isinstance(value, list) else value

    @model_validator(mode="before")
    @classmethod
    def _strict_alias(cls, value: Any) -> Any:
        if not isinstance(value, dict) or "strict" not in value:
            return value
        value = dict(value)
        strict = value.pop("strict")
        if not isinstance(strict, bool):
            raise ValueError("policy.strict must be true or false (or use policy.gate: strict)")
        if strict:
            if value.get("gate", "strict") != "strict":
                raise ValueError(
                    f"policy.strict: true contradicts policy.gate: {value['gate']}; "
                    "keep only policy.gate"
                )
            value["gate"] = "strict"
        return value


class LL144DataSource(_Section):
    """The data a Local Law 144 bias audit used: historical data of the employer's use of the
    tool, or test data, and why (test data only when historical data is not enough)."""

    kind: Literal["historical", "test"]
    description: str = Field(min_length=1)


class LL144Exclusion(_Section):
    """A category under 2% of the data left out of the impact ratios, with the reason.

    ``category``: an EEO-1 name; for ``feature: intersection`` a pair [sex, race/ethnicity].
    """

    feature: Literal["sex", "race_ethnicity", "intersection"]
    category: str | list[str]
    justification: str = Field(min_length=1)

    @field_validator("justification")
    @classmethod
    def _said(cls, text: str) -> str:
        # Blank space is no reason: the justification is published with the exclusion.
        text = text.strip()
        if not text:
            raise ValueError("an exclusion's justification must say why the category is left out")
        return text

    @model_validator(mode="after")
    def _known_category(self) -> LL144Exclusion:
        names = {"sex": EEO1_SEX, "race_ethnicity": EEO1_RACE_ETHNICITY}
        if self.feature == "intersection":
            pair = self.category
            if not (isinstance(pair, list) and len(pair) == 2):
                raise ValueError(
                    "an excluded intersection is a pair [sex, race/ethnicity], e.g. [Female, Asian]"
                )
            checks = zip(("sex", "race_ethnicity"), pair, strict=True)
        else:
            if not isinstance(self.category, str):
                raise ValueError(f"an excluded {self.feature} category is one EEO-1 name")
            checks = [(self.feature, self.category)]
        for feature, name in checks:
            if name not in names[feature]:
                raise ValueError(
                    f"{name!r} is not an EEO-1 {feature} category; valid: "
                    f"{', '.join(names[feature])}"
                )
        return self


class LL144Config(_Section):
    """Settings of an NYC Local Law 144 bias audit (6 RCNY §5-300–5-304).

    ``sex`` and ``race_ethnicity`` name the data's columns; ``categories`` maps a column's
    values to EEO-1 names (a value mapped to null or Unknown is counted as unknown, as is a
    missing value; a value present in the data but not listed is an error; a column without
    a mapping must hold EEO-1 names). ``mode``: ``selection`` (selection rates of the
    decisions), ``scoring`` (the share scoring more favourably than the median of the full
    sample: above it, below it for a lower_is_positive score) or ``auto`` (scoring when the
    audit reads a score column).
    """

    audit_date: date
    distribution_date: date
    data_source: LL144DataSource
    sex: str = Field(min_length=1)
    race_ethnicity: str = Field(min_length=1)
    categories: dict[str, dict[str, str | None]] = Field(default_factory=dict)
    exclude: list[LL144Exclusion] = Field(default_factory=list)
    mode: Literal["auto", "selection", "scoring"] = "auto"
    tool_name: str | None = None
    auditor: str | None = None

    @field_validator("categories", mode="before")
    @classmethod
    def _keys_as_text(cls, value: Any) -> Any:
        # YAML reads `1: Male` with an integer key; the data's values are compared as text.
        if not isinstance(value, dict):
            return value
        return {
            str(column): {category_key(k): v for k, v in mapping.items()}
            if isinstance(mapping, dict)
            else mapping
            for column, mapping in value.items()
        }

    @model_validator(mode="after")
    def _eeo1_names(self) -> LL144Config:
        names = {self.sex: EEO1_SEX, self.race_ethnicity: EEO1_RACE_ETHNICITY}
        if self.sex == self.race_ethnicity:
            raise ValueError("sex and race_ethnicity must be two different columns")
        for column, mapping in self.categories.items():
            if column not in names:
                raise ValueError(
                    f"categories maps column {column!r}, which is neither the sex column "
                    f"({self.sex!r}) nor the race_ethnicity column ({self.race_ethnicity!r})"
                )
            wrong = [v for v in mapping.values() if v not in (*names[column], UNKNOWN, None)]
            if wrong:
                raise ValueError(
                    f"categories.{column} maps to {', '.join(map(repr, wrong))}, not EEO-1 "
                    f"names; valid: {', '.join(names[column])} (or {UNKNOWN} / null)"
                )
        return self


class ComplianceConfig(_Section):
    """Reports shaped by named rules (see audit/compliance/): ``rules`` lists them; a bare
    list is read as the rules. ``nyc_ll144`` holds that rule's settings."""

    rules: list[str] = Field(default_factory=list)
    nyc_ll144: LL144Config | None = None

    @model_validator(mode="before")
    @classmethod
    def _bare_list(cls, value: Any) -> Any:
        return {"rules": value} if isinstance(value, list) else value

    @field_validator("rules")
    @classmethod
    def _known_rules(cls, names: list[str]) -> list[str]:
        return list(dict.fromkeys(check_compliance_rule(name) for name in names))

    @model_validator(mode="after")
    def _settings_given(self) -> ComplianceConfig:
        if NYC_LL144 in self.rules and self.nyc_ll144 is None:
            raise ValueError(
                "the nyc_ll144 rule needs its settings: write compliance as a mapping, "
                "`compliance: {rules: [nyc_ll144], nyc_ll144: {audit_date, distribution_date, "
                "data_source: {kind, description}, sex: COLUMN, race_ethnicity: COLUMN}}` "
                "(see the README)"
            )
        return self


class SparkConfig(_Section):
    """The Spark engine (``engine: spark``, ``pip install 'rai-audit[spark]'``): the master
    URL of the cluster (``local[*]``: this machine's cores, ``spark://host:7077``, ``yarn``).
    Unset: a Spark session already running in the process, else ``local[*]``."""

    master: str | None = None


class AuditConfig(_Section):
    """Everything an audit needs; see README.md for an annotated example."""

    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    predictions: PredictionsConfig = Field(default_factory=PredictionsConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    explain: ExplainConfig = Field(default_factory=ExplainConfig)
    quality: QualityConfig = Field(default_factory=QualityConfig)
    checklist: ChecklistConfig = Field(default_factory=ChecklistConfig)
    model_card: ModelCardConfig = Field(default_factory=ModelCardConfig)
    datasheet: DatasheetConfig = Field(default_factory=DatasheetConfig)
    mitigation: MitigationConfig = Field(default_factory=MitigationConfig)
    fairness: FairnessConfig = Field(default_factory=FairnessConfig)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    compliance: ComplianceConfig = Field(default_factory=ComplianceConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    tune: TuneConfig | None = None
    seed: int = 0
    # Which engine computes the audit: auto (DuckDB for large predictions-only files, see
    # audit/engines/choice.py), memory (pandas) or duckdb (out of core, SQL).
    engine: Literal["auto", "memory", "duckdb", "spark"] = "auto"
    spark: SparkConfig = Field(default_factory=SparkConfig)  # engine: spark only
    # Where relative paths are shown from in results.json: the config file's folder, or the
    # working directory (a result never records an absolute local path).
    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)
    # What the Python API hands over in memory instead of files (never in a config file,
    # never in results.json): the data as a DataFrame, a fitted model or a score function.
    _frame: Any = PrivateAttr(default=None)
    _model_object: Any = PrivateAttr(default=None)

    @property
    def frame(self) -> Any:
        """The data given in memory (a pandas or Spark DataFrame), or None to read ``data.path``."""
        return self._frame

    @property
    def model_object(self) -> Any:
        """A fitted model given in memory, or None (train one, or load ``model.file``)."""
        return self._model_object

    def with_objects(self, frame: Any = None, model: Any = None) -> AuditConfig:
        """This config with in-memory data and/or a fitted model (the Python API)."""
        self._frame, self._model_object = frame, model
        return self

    @property
    def mode(self) -> Literal["train", "model_file", "predictions"]:
        """How predictions are obtained: train a model, load one (from a file or given in
        memory), or take them from the data."""
        if self.predictions.given:
            return "predictions"
        if self.model.file is not None or self._model_object is not None:
            return "model_file"
        return "train"

    def check_complete(self) -> None:
        """Fail unless the config has what a run needs (checked after flags are merged in)."""
        missing = [
            flag
            for flag, value in (
                ("data.path (--data)", self.data.path or self._frame is not None),
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
        if self.model.file and self._model_object is not None:
            raise AuditError("Give the model once: as a fitted object or as model.file.")
        if (self.model.file or self._model_object is not None) and self.predictions.given:
            raise AuditError(
                "Both a model file (model.file / --model-file) and prediction columns "
                "(predictions.* / --prediction-column / --score-column) were given: choose one."
            )
        if self.predictions.given and self.model.include_sensitive:
            raise AuditError("model.include_sensitive has no meaning in a predictions-only audit.")
        if self.data.task == "regression":
            self._check_regression()
        if self.data.task == "multiclass":
            self._check_multiclass()
        elif any(rule.class_label is not None for rule in self.policy.rules):
            raise AuditError(
                "A policy rule names a class (class:), which only a multiclass audit has: "
                "set data.task: multiclass (--task multiclass), or remove the rule's class."
            )
        if (self.split.cv is not None or self.tune is not None) and self.mode != "train":
            what = "loads a model" if self.mode == "model_file" else "reads decisions made"
            raise AuditError(
                f"split.cv (--cv) and tune cross-validate a model trained here, but this audit "
                f"{what}: there is nothing to refit on each fold. Remove them, or train a "
                "registry model (model.name) instead."
            )
        self.mitigation.check(self.mode, self.data.sensitive)

    def _check_regression(self) -> None:
        """What a regression audit (a numeric target) cannot use: scores to threshold, a
        decision threshold, the classifier-only mitigation strategies."""
        if self.predictions.score_column:
            raise AuditError(
                "data.task: regression reads numeric predictions, not scores to threshold: "
                "give the column of predicted values with predictions.prediction_column "
                "(--prediction-column) instead of predictions.score_column."
            )
        if self.model.threshold is not None:
            raise AuditError(
                "model.threshold (--threshold) has no meaning in a regression audit: a "
                "regressor's predictions are not turned into decisions. Remove it."
            )
        if self.mitigation.strategies or self.mitigation.save:
            raise AuditError(
                "The mitigation strategies (mitigation.strategies / --mitigate, "
                "mitigation.save) are for binary classifiers; a regression audit cannot run "
                "them. Remove the mitigation settings (or use --mitigate none)."
            )

    def _check_multiclass(self) -> None:
        """What a multiclass audit cannot use: a positive label, scores to threshold, a
        threshold, the binary-only mitigation strategies, cross-validation, tuning and the
        compliance tables (they count one selected outcome)."""
        refused = [
            (
                self.data.positive_label is not None,
                "data.positive_label (--positive-label)",
                "every class is audited one-vs-rest, none is 'the' positive one",
            ),
            (
                self.predictions.score_column is not None,
                "predictions.score_column (--score-column)",
                "give the predicted class labels with "
                "predictions.prediction_column (--prediction-column)",
            ),
            (
                self.model.threshold is not None,
                "model.threshold (--threshold)",
                "a multiclass model predicts its most likely class, there is no score to threshold",
            ),
            (
                bool(self.mitigation.strategies or self.mitigation.save),
                "the mitigation strategies (mitigation.strategies / --mitigate, mitigation.save)",
                "they retrain or post-process binary classifiers (use --mitigate none)",
            ),
            (
                self.split.cv is not None or self.tune is not None,
                "split.cv (--cv) and tune",
                "cross-validated multiclass audits are not supported yet",
            ),
            (
                self.monitoring.time_column is not None,
                "monitoring.time_column (--time-column)",
                "fairness over time is not supported for multiclass audits yet",
            ),
            (
                bool(self.compliance.rules),
                "compliance.rules",
                "the compliance tables count one selected outcome, which a multiclass model "
                "does not decide",
            ),
        ]
        for wrong, what, why in refused:
            if wrong:
                raise AuditError(
                    f"{what} has no meaning in a multiclass audit (data.task: multiclass): "
                    f"{why}. Remove it."
                )

    def to_dict(self) -> dict[str, Any]:
        """The resolved configuration as recorded in results.json (paths shown relative)."""
        raw = self.model_dump(mode="json")
        for section, key in PATH_KEYS:
            if raw[section].get(key) is not None:
                raw[section][key] = self.shown_path(raw[section][key])
        return raw

    def shown_path(self, path: str | Path) -> str:
        """``path`` relative to the config file's folder (or the working directory)."""
        try:
            relative = os.path.relpath(Path(path).absolute(), self._base_dir.absolute())
        except ValueError:  # another drive (Windows): the name alone
            relative = Path(path).name
        return Path(relative).as_posix()


# Every path a config holds: resolved against the config file's folder when read, shown
# relative to it in results.json.
PATH_KEYS = (
    ("data", "path"),
    ("model", "file"),
    ("output", "dir"),
    ("checklist", "file"),
    ("checklist", "answers"),
    ("policy", "junit"),
)


def _describe(errors: list[dict[str, Any]], model: type[BaseModel]) -> list[str]:
    """One line per problem, naming the dotted key and what is allowed there.

    Unknown keys are grouped by section and listed with :func:`audit.text.key_list`: a file
    that is not a config at all (every line a "key") gives one line, not a dump of the file.
    """
    lines: list[str] = []
    unknown: dict[tuple[str, ...], list[str]] = {}
    for error in errors:
        loc = tuple(str(part) for part in error["loc"])
        if error["type"] == "extra_forbidden":
            unknown.setdefault(loc[:-1], []).append(loc[-1])
            continue
        # Keys inside free-form mappings come from the file too; messages may quote a value.
        where = shown_key(".".join(loc)) if loc else "(top level)"
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"{where}: {printable(message, 300)}")
    for parent, keys in unknown.items():
        # A field's alias is the key the file spells (a rule's class_label is written class).
        fields = _section_at(model, parent).model_fields
        allowed = ", ".join(field.alias or name for name, field in fields.items())
        where = f" in {printable('.'.join(parent))}" if parent else ""
        if len(keys) == 1 and is_key_name(".".join([*parent, keys[0]])):
            lines.insert(
                0, f"unknown key '{'.'.join([*parent, keys[0]])}'; allowed keys here: {allowed}"
            )
        elif len(keys) == 1:
            lines.insert(
                0,
                f"an unknown key{where} that is not a plain name (not shown); allowed keys "
                f"here: {allowed}",
            )
        else:
            lines.insert(0, f"{key_list(keys)}{where}; allowed keys here: {allowed}")
    return lines


def _section_at(model: type[BaseModel], parent: tuple[str, ...]) -> type[BaseModel]:
    """The config section class at a dotted location (list items skipped)."""
    section = model
    for part in parent:
        if part.isdigit():  # an item of a list section, e.g. policy.rules.0
            continue
        field = section.model_fields.get(part)
        inner = _model_in(field.annotation) if field is not None else None
        if inner is None:
            break
        section = inner
    return section


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
        described = _describe(exc.errors(), AuditConfig)
        if len(described) > MAX_PROBLEMS:
            more = len(described) - MAX_PROBLEMS
            described = [*described[:MAX_PROBLEMS], f"and {more} more problems"]
        # One line, problems separated by "; ": an error message is one line (see cli.py).
        fix = "Correct this setting" if len(described) == 1 else "Correct these settings"
        raise AuditError(
            f"Invalid configuration in {source}: {'; '.join(described)}. {fix} and re-run."
        ) from None


def read_config_file(path: Path) -> dict[str, Any]:
    """Read a YAML or TOML config file into a plain dict (not yet validated)."""
    if not path.is_file():
        raise AuditError(f"Config file not found: {path}. Check the path passed to --config.")
    text = read_text(path, "Config file")
    kind = "TOML" if path.suffix == ".toml" else "YAML"
    try:
        raw = tomllib.loads(text) if kind == "TOML" else yaml.safe_load(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        raise AuditError(
            f"Config file {path} is not valid {kind}: {parse_problem(exc)}. Correct it there "
            "and re-run."
        ) from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise AuditError(
            f"Config file {path} must hold a mapping of keys, not a {type(raw).__name__}: write "
            "it as sections such as `data:` and `model:` (see the README's audit.yaml)."
        )
    _resolve_paths(raw, path.parent)
    return raw


def _resolve_paths(raw: dict[str, Any], base: Path) -> None:
    # Paths in a config file are relative to the file, so a config works from any directory.
    for section, key in PATH_KEYS:
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


def build_config(
    file: Path | None = None,
    overrides: dict[str, Any] | None = None,
    base: Path | None = None,
) -> AuditConfig:
    """Build and validate the config from an optional file and nested overrides (CLI flags,
    or the Python API's keywords).

    ``overrides`` is a nested dict such as ``{"data": {"target": "y"}}``; ``None`` values
    mean "flag not given" and are ignored, so a flag never erases a value from the file.
    ``base`` is the folder paths are shown relative to (default: the config file's folder,
    else the working directory).
    """
    raw = read_config_file(file) if file else {}
    clean = _drop_none(overrides or {})
    source = f"{file} and command-line flags" if file else "command-line flags"
    config = _validate(_merge(raw, clean), source)
    if base is not None or file is not None:
        config._base_dir = base if base is not None else file.parent  # type: ignore[union-attr]
    return config


def config_from_dict(
    raw: dict[str, Any], source: str = "the configuration", base: Path | None = None
) -> AuditConfig:
    """Validate a configuration given as a nested dict (the Python API), as is: an empty
    list means empty, unlike a repeatable flag that was not given."""
    config = _validate(raw, source)
    if base is not None:
        config._base_dir = base
    return config


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


def add_compliance_rules(config: AuditConfig, names: list[str] | None) -> None:
    """Add ``--compliance`` rules to those of the config (a rule asked twice counts once).

    Raises
    ------
    AuditError
        If a name is not a known rule, or a rule's settings are missing from the config.
    """
    if not names:
        return
    raw = config.compliance.model_dump()
    raw["rules"] = [*raw["rules"], *names]
    try:
        config.compliance = ComplianceConfig.model_validate(raw)
    except ValidationError as exc:
        problems = [str(e["msg"]).removeprefix("Value error, ") for e in exc.errors()]
        raise AuditError(f"--compliance: {'; '.join(problems)}.") from None
