"""The sections of an :class:`~audit.result.AuditResult`: one typed model per stage's output.

These models are the contract between the stages that write a result and everything that
reads one (the report, the checklist, JUnit, the API, ``results.json`` and its JSON
Schema). Every model forbids unknown keys, so a stage cannot slip an undeclared field
past the readers; numbers that can be undefined are ``None``, never NaN.

Deeply nested, stage-specific detail that only that stage's report section draws
(explanation rows for plots, evidence of a data-quality finding, quality tables) is
typed as plain JSON (``dict[str, Any]``) and documented where it is produced.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# A confidence interval [low, high]; an end is None when the interval is unbounded on that
# side (e.g. a ratio whose reference group's rate is 0 in some resamples: high = +inf).
Interval = tuple[float | None, float | None]
Json = dict[str, Any]


class Section(BaseModel):
    # protected_namespaces=(): fields such as model_card are ours, not pydantic's "model_"
    # methods (pydantic < 2.10 warns about them on import).
    model_config = ConfigDict(extra="forbid", populate_by_name=True, protected_namespaces=())


# --- provenance -------------------------------------------------------------------------


class FileRead(Section):
    role: str  # "data", "model", ...
    path: str  # relative to the config file's folder or the working directory
    sha256: str


class Provenance(Section):
    created_at: str
    seed: int
    data_file: str
    data_sha256: str
    files: list[FileRead] = Field(default_factory=list)
    python: str
    versions: dict[str, str | None]
    timings_seconds: dict[str, float] = Field(default_factory=dict)
    tuned_params: Json | None = None  # the parameters a tune: search chose for the model
    # Which engine computed the audit (audit/engines/choice.py) and why it was chosen.
    engine: Literal["memory", "duckdb", "spark"] = "memory"
    engine_reason: str | None = None
    spark_master: str | None = None  # the Spark engine's master URL (e.g. local[*])


# --- data -------------------------------------------------------------------------------


class ColumnInfo(Section):
    name: str
    dtype: str
    missing: int
    unique: int
    role: str


class DataSection(Section):
    file: str
    n_rows: int
    n_columns: int
    rows_without_target_dropped: int = 0
    target: str
    positive_label: Any = None
    base_rate: float | None = None  # the mean of a regression target
    sensitive: list[str]
    features: list[str]
    n_train: int
    n_evaluated: int
    evaluated_rows: str
    # Which rows were audited (split.evaluate_on); in_sample: they include rows the model
    # was trained on here, so its numbers are in-sample (optimistic).
    evaluate_on: Literal["test", "train", "all"] = "test"
    in_sample: bool = False
    columns: list[ColumnInfo]
    group_sizes: dict[str, dict[str, int]]


# --- model ------------------------------------------------------------------------------


class DecisionRuleInfo(Section):
    text: str
    threshold: float | None = None
    score: str | None = None
    direction: Literal["higher_is_positive", "lower_is_positive"] | None = None


class ModelSection(Section):
    source: Literal["trained", "file", "object", "predictions"]
    evaluated_on: str
    decision_rule: DecisionRuleInfo
    threshold: float | None = None
    warnings: list[str] = Field(default_factory=list)
    # A model (trained, loaded or given):
    registry_name: str | None = None
    estimator: str | None = None
    params: Json | None = None
    file: str | None = None
    sha256: str | None = None
    trusted: bool | None = None
    input_columns: list[str] = Field(default_factory=list)
    output: str | None = None
    classes: list[Any] | None = None
    positive_class: Any = None
    # Decisions already made:
    column: str | None = None
    task: str | None = None


# --- performance ------------------------------------------------------------------------


class ConfusionMatrix(Section):
    """Rows per cell; expected (fractional) counts for a randomized classifier."""

    tn: float
    fp: float
    fn: float
    tp: float


class Performance(Section):
    task: Literal["classification", "multiclass", "regression"]
    n: int
    decisions: Literal["as made", "expected"] | None = None
    # classification
    base_rate: float | None = None
    selection_rate: float | None = None
    accuracy: float | None = None
    accuracy_ci: Interval | None = None
    balanced_accuracy: float | None = None
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    roc_auc: float | None = None
    brier: float | None = None
    confusion_matrix: ConfusionMatrix | None = None
    # error rates from the confusion matrix, with Wilson intervals like accuracy's
    fpr: float | None = None
    fpr_ci: Interval | None = None
    fnr: float | None = None
    fnr_ci: Interval | None = None
    tnr: float | None = None
    tnr_ci: Interval | None = None
    # regression
    mae: float | None = None
    rmse: float | None = None
    r2: float | None = None
    mean_prediction: float | None = None
    mean_target: float | None = None
    mean_residual: float | None = None
    median_prediction: float | None = None  # the scoring rate's median (full sample)
    # multiclass: the unweighted means over the classes (one-vs-rest)
    macro_precision: float | None = None
    macro_recall: float | None = None
    macro_f1: float | None = None


# --- fairness ---------------------------------------------------------------------------


class Contrast(Section):
    """One group against the reference group: signed difference and plain ratio."""

    difference: float | None = None
    difference_ci: Interval | None = None
    ratio: float | None = None
    ratio_ci: Interval | None = None


class GroupMetrics(Section):
    group: str
    n: int
    weight: float | None = None
    positives: int | None = None
    predicted_positives: float | None = None  # expected for a randomized classifier
    # confusion counts (classification): rows, expected rows for a randomized classifier
    tn: int | float | None = None
    fp: int | float | None = None
    fn: int | float | None = None
    tp: int | float | None = None
    # count metrics (classification)
    base_rate: float | None = None
    selection_rate: float | None = None
    tpr: float | None = None
    tnr: float | None = None
    fpr: float | None = None
    fnr: float | None = None
    precision: float | None = None
    npv: float | None = None
    fdr: float | None = None
    for_: float | None = Field(None, alias="for")
    accuracy: float | None = None
    # score metrics
    roc_auc: float | None = None
    brier: float | None = None
    log_loss: float | None = None
    calibration_error: float | None = None
    # regression
    mae: float | None = None
    rmse: float | None = None
    r2: float | None = None
    mean_prediction: float | None = None
    mean_target: float | None = None
    mse: float | None = None
    mean_residual: float | None = None  # mean of prediction - target: > 0 over-predicted
    scoring_rate: float | None = None  # share above the full sample's median prediction
    scoring_rate_impact_ratio: float | None = None  # scoring rate / the highest group's
    ci: dict[str, Interval | None] = Field(default_factory=dict)
    ci_notes: dict[str, str] | None = None
    undefined: dict[str, str] = Field(default_factory=dict)
    insufficient: bool
    insufficient_metrics: dict[str, str] | None = None  # metric -> what was too few
    reference: bool
    vs_reference: dict[str, Contrast] = Field(default_factory=dict)

    def metric(self, name: str) -> float | None:
        return getattr(self, "for_" if name == "for" else name)


class Disparity(Section):
    metric: str
    value: float | None
    ci: Interval | None = None
    definition: str
    compares: str
    versus: str
    aggregate: str
    groups_compared: list[str]
    insufficient: bool | None = None
    reason: str | None = None
    four_fifths_rule: str | None = None
    four_fifths_violated_by_point: bool | None = None
    groups_behind: str | None = None  # e.g. "Black vs White": the groups that give the value
    left_out: dict[str, str] | None = None  # group -> what it has too few of (a denominator)


class FeatureFairness(Section):
    feature: str
    kind: Literal["single", "intersection"]
    columns: list[str]
    reference_group: str
    reference_rule: str
    bins: Json = Field(default_factory=dict)
    min_group_size: int
    insufficient_groups: list[str] = Field(default_factory=list)
    groups: list[GroupMetrics]
    disparities: list[Disparity]


class FairnessSettings(Section):
    decisions: Literal["as made", "expected"] = "as made"
    task: Literal["classification", "multiclass", "regression"]
    min_group_size: int
    missing: str
    intersections: bool | list[list[str]]
    reference_default: str
    reference_groups: dict[str, str]
    resamples: int
    confidence: float
    z_value: float | None = None  # the normal quantile of the confidence level (1.96 for 95%)
    calibration_bins: int
    weight_column: str | None = None
    interval_method: str


class FairnessSection(Section):
    evaluated_on: str
    features: list[FeatureFairness]
    settings: FairnessSettings


# --- verdicts and the policy ------------------------------------------------------------


class Verdict(Section):
    rule: str
    feature: str
    metric: str
    op: Literal[">=", ">", "<=", "<"]
    bound: float
    group: str | None = None
    value: float | None
    ci: Interval | None = None
    groups_behind: str | None = None
    verdict: Literal["pass", "fail", "inconclusive", "insufficient data"]
    reason: str
    point_violates: bool | None = None  # None: no point value
    fails_gate: bool = False  # the one decision the terminal, JUnit and the report show
    class_label: str | None = None  # a multiclass audit's class the verdict is about


class PolicySummary(Section):
    status: Literal["pass", "fail", "inconclusive", "no rules"]
    gate: Literal["default", "strict", "conclusive"] = "default"
    gate_rule: str | None = None
    rules: list[str]
    counts: dict[str, int]
    failing: list[int]  # indices into AuditResult.verdicts of the verdicts that fail the gate
    exit_code: int
    explanation: str


# --- later stages -----------------------------------------------------------------------


class QualityCheck(Section):
    id: str
    title: str
    description: str
    rule: str
    status: Literal["ran", "skipped", "disabled"]
    reason: str | None = None
    findings: int
    severity_set_to: str | None = None


class QualityFinding(Section):
    id: str
    check: str
    subject: str
    severity: Literal["error", "warning", "info"]
    message: str
    evidence: Json
    anchor: str


class QualitySection(Section):
    n_rows: int
    split: dict[str, int] | None = None
    note: str | None = None
    settings: Json
    checks: list[QualityCheck]
    findings: list[QualityFinding]
    counts: dict[str, int]
    errors_overridden: bool
    tables: Json


class CardSection(Section):
    id: str
    title: str
    config_key: str
    provided: str | list[str] | None = None
    from_audit: list[str] = Field(default_factory=list)


class ModelCard(Section):
    name: str | None = None
    version: str | None = None
    owners: list[str] = Field(default_factory=list)
    sections: list[CardSection]
    not_provided: list[str]


class Datasheet(Section):
    sections: list[CardSection]
    not_provided: list[str]


# --- explanations -----------------------------------------------------------------------


class FeatureImportance(Section):
    feature: str
    kind: str
    mean_abs_shap: float
    share: float
    mean_shap: float


class PrincipalReason(Section):
    feature: str
    contribution: float  # the row's SHAP value for the feature (< 0), in the output space
    value: str | None  # the row's value of the feature, as text; None when missing


class ReasonRow(Section):
    """One negative decision of the explained sample and its principal reasons."""

    data_row: int | str | float | None
    groups: dict[str, str]
    reasons: list[PrincipalReason]


class ReasonGroup(Section):
    group: str
    negative_decisions: int


class ReasonFeature(Section):
    """How often one feature is a principal reason, per group (share of negative decisions)."""

    feature: str
    proxy: bool  # a flagged proxy of this sensitive feature
    counts: dict[str, int]
    shares: dict[str, float | None]  # None: the group has no negative decision
    max_share: float
    gap: float | None  # highest - lowest share among groups with enough negative decisions


class ReasonDistribution(Section):
    sensitive: str
    groups: list[ReasonGroup]
    features: list[ReasonFeature]  # most frequent first


class ReasonFlag(Section):
    """A proxy of a sensitive feature that is a frequent principal reason."""

    feature: str
    sensitive: str
    measure: str
    association: float | None
    frequent_in: list[str]
    top_group: str
    top_share: float
    top_count: int
    top_negative_decisions: int
    low_group: str
    low_share: float
    gap: float | None


class PrincipalReasons(Section):
    """Principal reasons for the negative decisions of the explained sample (audit/explain/
    reasons.py): at most ``max_reasons`` most negative SHAP values per row."""

    max_reasons: int
    explained_rows: int
    negative_decisions: int
    frequent_share: float
    min_negative_decisions: int
    rows: list[ReasonRow] | None = None  # None in a mitigated model's summary
    by_group: list[ReasonDistribution] = Field(default_factory=list)
    flags: list[ReasonFlag] = Field(default_factory=list)


class ClassExplanation(Section):
    """A multiclass model's SHAP ranking for one class's predicted probability."""

    label: str
    base_value: float
    additivity_max_error: float
    features: list[FeatureImportance]


class Explanation(Section):
    """SHAP explanations of one model (the audited one, or a mitigated variant)."""

    status: Literal["explained", "no_model", "disabled", "base_model", "not_explained", "failed"]
    reason: str | None = None
    label: str | None = None  # a mitigated variant's name
    explainer: str | None = None
    method: str | None = None
    estimator: str | None = None
    output_space: str | None = None
    base_value: float | None = None
    decision_threshold_output: float | None = None
    additivity_max_error: float | None = None
    background_rows: int | None = None
    notes: list[str] = Field(default_factory=list)
    sample: Json | None = None
    features: list[FeatureImportance] = Field(default_factory=list)
    by_group: list[Json] = Field(default_factory=list)
    disparity: list[Json] = Field(default_factory=list)
    proxies: Json | None = None
    postprocessing: Json | None = None
    reasons: PrincipalReasons | None = None
    top_features: int | None = None
    detail: Literal["full", "summary"] | None = None
    rows: Json | None = None  # explained rows' values, kept to draw the plots from
    cases: list[Json] = Field(default_factory=list)
    seconds: float | None = None
    classes: list[ClassExplanation] = Field(default_factory=list)  # multiclass: per class


class ExplanationSection(Explanation):
    variants: list[Explanation] = Field(default_factory=list)


# --- mitigation -------------------------------------------------------------------------


class StrategyResult(Section):
    """One row of the mitigation comparison: the baseline or a strategy, measured alike."""

    name: str
    label: str
    stage: str
    method: str | None = None
    constraint: str | None = None
    fit_seconds: float | None = None
    fit_note: str | None = None
    randomized: bool
    randomized_share: float | None = None
    sensitive_in_training: bool
    sensitive_at_prediction: bool
    input_columns: list[str]
    decision_rule: str
    caveats: list[str]
    details: Json
    performance: Performance
    fairness: list[FeatureFairness]  # per group: point values only
    verdicts: list[Json]
    accuracy: float | None
    balanced_accuracy: float | None
    disparity: Json
    cells: list[Json]
    passes_policy: bool | None = None
    pareto_optimal: bool
    draws: Json | None = None  # the spread of single draws of a randomized strategy


class MitigationFitting(Section):
    """How the strategies were fitted: on the training rows, or cross-fitted on the evaluated
    rows when the audit has none (audit/mitigation/crossfit.py)."""

    how: Literal["training rows", "cross-fitted"]
    text: str
    folds: int | None = None
    seed: int | None = None
    stratified_by: str | None = None
    rows_per_fold: list[int] = Field(default_factory=list)
    training_rows_per_fold: list[int] = Field(default_factory=list)
    refitted_on: int | None = None


class MitigationSection(Section):
    status: Literal["ran", "not run"]
    reason: str | None = None
    strategies: list[StrategyResult] = Field(default_factory=list)
    requested: str | None = None
    skipped: list[dict[str, str]] = Field(default_factory=list)
    disparity: Json | None = None
    policy: bool | None = None
    columns: list[Json] = Field(default_factory=list)
    recommendation: Json | None = None
    evaluated_on: str | None = None
    fitting: MitigationFitting | None = None
    n_train: int | None = None  # None when cross-fitted (no single training set)
    n_evaluated: int | None = None
    sensitive: list[str] = Field(default_factory=list)
    group_key: str | None = None
    training_group_sizes: dict[str, int] = Field(default_factory=dict)
    small_groups: list[str] = Field(default_factory=list)
    small_group_size: int | None = None
    default_set: list[str] = Field(default_factory=list)
    options: Json | None = None
    saved: Json | None = None


# --- checklist --------------------------------------------------------------------------


class EvidenceLink(Section):
    source: str
    title: str
    key: str
    anchors: list[str]
    available: bool
    summary: str | None = None
    concerns: list[str] = Field(default_factory=list)
    findings: list[Json] = Field(default_factory=list)
    reason: str | None = None


class ChecklistItem(Section):
    id: str
    question: str
    guidance: str | None = None
    status: str
    answered: bool
    rationale: str | None = None
    owner: str | None = None
    evidence: str | list[str] | None = None
    audit_evidence: list[EvidenceLink]
    evidence_state: str
    concerns: list[str]
    flags: list[str]


class ChecklistPart(Section):
    id: str
    title: str
    items: list[ChecklistItem]


class SignOff(Section):
    reviewer: str | None = None
    role: str | None = None
    date: str | None = None
    notes: str | None = None
    signed: bool


class ChecklistSection(Section):
    id: str
    title: str
    version: str
    description: str | None = None
    source: str
    answers_file: str | None = None
    statuses: list[str]
    automatic_status: str
    summary: dict[str, int]
    open_items: list[str]
    no_items: list[str]
    flagged_items: list[str]
    sign_off: SignOff
    notes: list[str]
    sections: list[ChecklistPart]


# --- compliance -------------------------------------------------------------------------


class LL144Category(Section):
    """One row of a Local Law 144 table: a category (or a sex × race/ethnicity pair)."""

    category: str
    parts: list[str]  # [sex], [race/ethnicity] or [sex, race/ethnicity]
    applicants: int
    selected: int  # selected, or scoring more favourably than the median in scoring mode
    rate: float | None
    share: float  # of all applicants in the audit, unknown category included
    impact_ratio: float | None = None  # None: excluded, or the highest rate is 0
    highest: bool = False
    excluded: bool = False
    justification: str | None = None


class LL144Table(Section):
    dimension: Literal["sex", "race_ethnicity", "intersection"]
    title: str
    categories: list[LL144Category]
    unknown: int  # applicants whose category is missing or unmapped: left out of the ratios
    unknown_selected: int


class LL144DataSourceInfo(Section):
    kind: Literal["historical", "test"]
    description: str


class LL144Section(Section):
    """NYC Local Law 144 bias audit (6 RCNY §5-301): rates and impact ratios, no verdict."""

    rule: Literal["nyc_ll144"] = "nyc_ll144"
    mode: Literal["selection", "scoring"]
    rate_name: str  # "selection rate" or "scoring rate"
    selected_name: str  # what the count column counts
    outcome: str  # how a selection (or a score) was read from the audit
    median_score: float | None = None  # scoring mode: the median of the full sample
    # Scoring mode: applicants counted score "above" the median, or "below" it when a lower
    # score is more favourable (median_score is on the score's own scale).
    favourable_side: Literal["above", "below"] | None = None
    n_applicants: int
    audit_date: str
    distribution_date: str
    data_source: LL144DataSourceInfo
    tool_name: str | None = None
    auditor: str | None = None
    columns: dict[str, str]  # sex / race_ethnicity -> the data's column
    mappings: dict[str, dict[str, str | None]] = Field(default_factory=dict)
    tables: list[LL144Table]
    notes: list[str] = Field(default_factory=list)


class EvidencePointer(Section):
    """Where the report holds (or would hold) one piece of evidence for an article item."""

    kind: Literal["audit", "checklist", "compliance"]
    title: str
    anchors: list[str] = Field(default_factory=list)  # report section ids, best first
    present: bool
    summary: str | None = None
    missing: str | None = None  # what is absent, and what to add


class EvidenceItem(Section):
    id: str  # e.g. "Art. 10(2)(f)"
    text: str  # what the item asks, in short
    status: Literal["evidenced", "partly", "missing"]
    evidence: list[EvidencePointer]
    to_add: list[str] = Field(default_factory=list)


class EUAIActSection(Section):
    """EU AI Act evidence map: where the report holds evidence for each cited item."""

    rule: Literal["eu_ai_act"] = "eu_ai_act"
    note: str
    items: list[EvidenceItem]
    counts: dict[str, int]


class ComplianceSection(Section):
    """One sub-section per rule asked for (``compliance.rules``)."""

    rules: list[str]
    nyc_ll144: LL144Section | None = None
    eeoc_uniform_guidelines: Json | None = None  # audit/compliance/eeoc.py documents it
    eu_ai_act: EUAIActSection | None = None


# --- cross-validation -------------------------------------------------------------------


class FoldAudit(Section):
    """One fold of a cross-validated audit: the model trained on the other folds, audited on
    this one by the same metric engine as the main audit."""

    fold: int  # 1 .. k
    n_train: int
    n_evaluated: int
    performance: Performance
    fairness: list[FeatureFairness]  # per group: point values only; disparities with intervals
    verdicts: list[Verdict]
    policy: PolicySummary


class FoldSpread(Section):
    """One number across the folds: its value in each fold (None: undefined there), the
    mean, sample standard deviation and range over the folds where it is defined."""

    values: list[float | None]
    defined_folds: int
    mean: float | None
    std: float | None  # None with fewer than two defined folds
    min: float | None
    max: float | None


class MetricAcrossFolds(FoldSpread):
    metric: str


class DisparityAcrossFolds(FoldSpread):
    feature: str
    metric: str


class GroupMetricAcrossFolds(FoldSpread):
    feature: str
    group: str
    metric: str


class VerdictAcrossFolds(FoldSpread):
    rule: str
    feature: str
    metric: str
    group: str | None = None
    fold_verdicts: list[Literal["pass", "fail", "inconclusive", "insufficient data"] | None]
    differs: bool  # not the same verdict in every fold
    # The main audit's value, on the rows it audits: the held-out test rows, or in-sample
    # rows under split.evaluate_on train/all (the name predates evaluate_on).
    test_value: float | None = None
    test_verdict: Literal["pass", "fail", "inconclusive", "insufficient data"] | None = None


class CrossValidationSection(Section):
    """K-fold cross-validated audit of the training rows (``split.cv``; audit/crossval.py)."""

    k: int
    seed: int
    stratified_by: str | None = None
    n_rows: int  # the training rows split into folds
    rows_per_fold: list[int]
    model: str
    text: str
    spread: str  # how the spread is computed, in words
    folds: list[FoldAudit]
    performance: list[MetricAcrossFolds]
    disparities: list[DisparityAcrossFolds]
    groups: list[GroupMetricAcrossFolds]
    verdicts: list[VerdictAcrossFolds]
    policy_statuses: list[Literal["pass", "fail", "inconclusive", "no rules"]]
    verdicts_differ: bool
    statement: str


# --- fairness over time ----------------------------------------------------------------


class MonitoringWindow(Section):
    """One time window, audited by the same metric engine, settings and seed as the whole."""

    label: str  # 2024-03 (month), 2024-W09 (ISO week), 2024-03-15 (day), 1, 2, ... (N-rows)
    start: str  # the earliest time in the window (ISO)
    end: str  # the latest
    n_rows: int
    n_alerts: int  # watched disparities that alert in this window
    n_insufficient: int  # watched disparities with insufficient data in this window
    performance: Performance
    fairness: list[FeatureFairness]  # per group: point values only; disparities with intervals
    verdicts: list[Verdict]
    policy: PolicySummary


class MonitoredPoint(Section):
    """One watched disparity in one window, against the reference window's interval."""

    window: str
    feature: str
    metric: str
    value: float | None
    ci: Interval | None = None
    groups_behind: str | None = None
    reason: str | None = None  # why the value is undefined or insufficient, when it is
    status: Literal[
        "reference", "within", "alert", "improved", "insufficient data", "no reference interval"
    ]
    reference_value: float | None = None
    reference_ci: Interval | None = None


class MonitoringAlert(Section):
    """A window's disparity outside the reference window's interval."""

    window: str
    feature: str
    metric: str
    value: float
    ci: Interval | None = None
    reference_window: str
    reference_value: float | None = None
    reference_ci: Interval
    direction: Literal["above", "below"]
    text: str


class MonitoredPair(Section):
    feature: str
    metric: str


class MonitoringSection(Section):
    """Fairness over time (``monitoring:``, ``--time-column``; audit/monitoring)."""

    time_column: str
    window: str  # month, week, day or N-rows, as configured
    reference_window: str
    reference_rule: str
    n_windows: int
    n_rows: int  # the evaluated rows, every one in exactly one window
    metrics_from: Literal["policy", "default"]  # the policy's disparities, or the defaults
    monitored: list[MonitoredPair]
    windows: list[MonitoringWindow]
    trend: list[MonitoredPoint]  # window-major: every monitored pair in each window
    alerts: list[MonitoringAlert]
    statement: str


# --- hyperparameter search --------------------------------------------------------------


class TuningTrial(Section):
    """One configuration of a ``tune:`` search, cross-validated on the training rows."""

    trial: int  # 1 .. n_trials, in the order tried
    params: Json
    score: FoldSpread  # the score metric in each fold (accuracy; R² for regression)
    margin: FoldSpread | None = None  # worst policy margin per fold (> 0: violates); no policy
    fold_statuses: list[Literal["pass", "fail", "inconclusive", "no rules"]]
    passes: bool | None = None  # policy status pass in every fold; None without a policy
    pareto_optimal: bool
    chosen: bool


class TuningSection(Section):
    """A fairness-aware hyperparameter search (``tune:``; audit/tuning.py)."""

    search: Literal["grid", "random"]
    space: Json
    n_trials: int
    seed: int
    folds: int
    model: str
    base_params: Json
    score_metric: str
    trials: list[TuningTrial]
    chosen_trial: int
    chosen: Json  # the parameters the final model was trained with (on top of base_params)
    selection: Literal[
        "most accurate passing",
        "nearest to passing on the Pareto front",
        "most accurate (no policy)",
    ]
    statement: str


# --- multiclass -------------------------------------------------------------------------


class ClassAudit(Section):
    """One class of a multiclass audit, one-vs-rest: the binary engine's numbers for
    'is this class' against 'predicted this class' (audit/metrics/multiclass.py)."""

    label: str
    support: int  # evaluated rows of this class
    predicted: int  # evaluated rows predicted as this class
    performance: Performance
    fairness: list[FeatureFairness]


class MacroDisparity(Section):
    """One disparity of one feature across the classes: each class's value, their mean,
    and the worst class (largest difference in absolute value, ratio furthest from 1)."""

    feature: str
    metric: str
    values: dict[str, float | None]
    defined_classes: int
    mean: float | None
    worst_class: str | None
    worst_value: float | None
    worst_ci: Interval | None = None


class ClassesSection(Section):
    """A multiclass audit's classes (``data.task: multiclass``), each audited one-vs-rest."""

    labels: list[str]
    text: str
    per_class: dict[str, ClassAudit]
    macro: list[MacroDisparity]
