"""AuditResult: the typed result of an audit, the one contract between stages and readers.

The stages write its sections; the report, the checklist, JUnit, the command line and
the Python API read it; ``results.json`` is it, serialised, and a published JSON Schema
(``rai-audit schema``) describes it. A report re-renders from a saved result alone.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import Field, PrivateAttr, ValidationError

from audit.errors import AuditError
from audit.result.sections import (
    ChecklistSection,
    ClassesSection,
    ComplianceSection,
    CrossValidationSection,
    DataSection,
    Datasheet,
    ExplanationSection,
    FairnessSection,
    FeatureFairness,
    Json,
    MitigationSection,
    ModelCard,
    ModelSection,
    MonitoringSection,
    Performance,
    PolicySummary,
    Provenance,
    QualitySection,
    Section,
    TuningSection,
    Verdict,
)
from audit.text import parse_problem, printable, read_text
from audit.threshold_rules import upgrade_older_result

if TYPE_CHECKING:
    from audit.comparison import Comparison

# Major version: a reader of 2.x reads every 2.y; anything else is refused (re-run the audit).
SCHEMA_VERSION = "2.0"
RESULTS_FILE = "results.json"
GIVE_RESULTS = "Give the results.json that `rai-audit run` wrote, or re-run the audit."


class AuditResult(Section):
    """Everything an audit found, typed; ``results.json`` is this, serialised.

    Attributes
    ----------
    provenance, config, data, model, performance, fairness, policy, quality
        The sections every audit has (``config`` is the resolved configuration).
    rule_verdicts : list of Verdict
        One verdict per policy rule and feature (``"verdicts"`` in ``results.json``).
    explanations, mitigation, model_card, datasheet, checklist
        The later stages' sections (``None`` while the audit is still running).
    compliance
        Reports for the named rules asked for (``None`` when none was).
    cross_validation
        The K-fold cross-validated audit of the training rows (``None`` without ``--cv``).
    tuning
        The hyperparameter search and the parameters it chose (``None`` without ``tune:``).
    classes
        A multiclass audit's classes, each audited one-vs-rest, and the macro summaries
        (``None`` unless ``data.task: multiclass``).
    monitoring
        Fairness per time window with alerts (``None`` without ``--time-column``).

    Examples
    --------
    >>> import audit
    >>> from audit.datasets import make_credit
    >>> frame = make_credit(1500, seed=1)
    >>> result = audit.run(
    ...     data=frame, target="approved", sensitive=["sex"], model="logistic_regression",
    ...     policy=["demographic_parity_ratio >= 0.8"], drop=["applicant_id"],
    ...     mitigation={"strategies": []}, explain={"enabled": False},
    ...     quality={"allow_errors": True}, fairness={"bootstrap": {"resamples": 200}},
    ... )
    >>> result.verdict in ("pass", "fail", "inconclusive")
    True
    >>> table = result.groups("sex")
    >>> sorted(table["group"])
    ['female', 'male']
    >>> {"selection_rate", "selection_rate_low", "selection_rate_high"} <= set(table.columns)
    True
    """

    schema_version: str = SCHEMA_VERSION
    provenance: Provenance
    config: Json
    data: DataSection
    model: ModelSection
    performance: Performance
    fairness: FairnessSection
    rule_verdicts: list[Verdict] = Field(alias="verdicts")
    policy: PolicySummary
    quality: QualitySection
    explanations: ExplanationSection | None = None
    mitigation: MitigationSection | None = None
    model_card: ModelCard | None = None
    datasheet: Datasheet | None = None
    checklist: ChecklistSection | None = None
    compliance: ComplianceSection | None = None
    cross_validation: CrossValidationSection | None = None  # only with split.cv (--cv K)
    tuning: TuningSection | None = None  # only with a tune: section
    classes: ClassesSection | None = None  # only with data.task: multiclass
    monitoring: MonitoringSection | None = None  # only with monitoring.time_column
    # Live objects of the run that made this result (never in results.json): the model
    # trained here and the mitigated model chosen for saving, which save() writes.
    _trained_model: Any = PrivateAttr(default=None)
    _mitigated_model: Any = PrivateAttr(default=None)
    _mitigated_file: str | None = PrivateAttr(default=None)
    _read_from: dict[str, str] = PrivateAttr(default_factory=dict)

    def with_models(
        self, trained: Any = None, mitigated: Any = None, mitigated_file: str | None = None
    ) -> AuditResult:
        """Attach the run's models, so :meth:`save` writes them beside the report."""
        self._trained_model, self._mitigated_model = trained, mitigated
        self._mitigated_file = mitigated_file
        return self

    def with_read_from(self, places: dict[str, str]) -> AuditResult:
        """Attach where the files of ``provenance.files`` were read (shown path -> absolute
        path), so the manifest :meth:`save` writes can check them later."""
        self._read_from = dict(places)
        return self

    @property
    def read_from(self) -> dict[str, str]:
        """Where this run read the files its provenance lists (empty for a loaded result)."""
        return dict(self._read_from)

    @property
    def trained_model(self) -> Any:
        """The model this audit trained (None when it loaded one or read decisions)."""
        return self._trained_model

    @property
    def mitigated_model(self) -> Any:
        """The mitigated model chosen with ``mitigation.save``, if any."""
        return self._mitigated_model

    @property
    def models_to_save(self) -> dict[str, Any]:
        """The models :meth:`save` writes, by file name (``model.skops``, ``mitigated-*``)."""
        files: dict[str, Any] = {}
        if self._trained_model is not None:
            files["model.skops"] = self._trained_model
        if self._mitigated_model is not None and self._mitigated_file:
            files[self._mitigated_file] = self._mitigated_model
        return files

    # --- the verdict ----------------------------------------------------------------

    @property
    def verdict(self) -> str:
        """The policy's overall status: ``pass``, ``fail``, ``inconclusive`` or ``no rules``."""
        return self.policy.status

    @property
    def passed(self) -> bool:
        """Whether the policy gate passes (the exit code of ``rai-audit run`` is 0).

        An inconclusive verdict whose point estimate satisfies its bound does not fail
        the default gate; see ``policy.gate_rule``.
        """
        return self.policy.exit_code == 0

    # --- tables ---------------------------------------------------------------------

    def feature(self, name: str, class_label: str | None = None) -> FeatureFairness:
        """The fairness entry of one sensitive feature or intersection (e.g. ``"sex × race"``);
        in a multiclass audit, of one class against the rest (``class_label``)."""
        entries = self.fairness.features
        if self.classes is not None:
            if class_label not in self.classes.per_class:
                raise KeyError(
                    f"A multiclass result: name the class (class_label=), one of "
                    f"{', '.join(map(repr, self.classes.labels))}."
                )
            entries = self.classes.per_class[class_label].fairness
        for entry in entries:
            if entry.feature == name:
                return entry
        known = ", ".join(repr(f.feature) for f in entries)
        raise KeyError(f"{name!r} was not audited; audited features and intersections: {known}")

    def groups(self, feature: str, class_label: str | None = None) -> pd.DataFrame:
        """Per-group metrics of ``feature``, one row per group, with interval columns.

        Every metric ``m`` has its value in column ``m`` and its confidence interval in
        ``m_low`` / ``m_high`` (NaN when undefined). ``n``, ``insufficient`` and
        ``reference`` say how many rows the group has, whether it is below the minimum
        size, and whether it is the reference group. In a multiclass audit, ``class_label``
        names the class, audited against the rest.
        """
        entry = self.feature(feature, class_label)
        rows = []
        for group in entry.groups:
            row: dict[str, Any] = {
                "group": group.group,
                "n": group.n,
                "insufficient": group.insufficient,
                "reference": group.reference,
            }
            for metric in _metrics_of(entry):
                row[metric] = _value(group.metric(metric))
                low, high = group.ci.get(metric) or (math.nan, math.nan)
                row[f"{metric}_low"], row[f"{metric}_high"] = low, high
            rows.append(row)
        return pd.DataFrame(rows)

    def disparities(self, feature: str | None = None) -> pd.DataFrame:
        """Every disparity (of one feature, or of all), with its interval and its groups."""
        rows = []
        for entry in self.fairness.features:
            if feature is not None and entry.feature != feature:
                continue
            for item in entry.disparities:
                low, high = item.ci or (math.nan, math.nan)
                rows.append(
                    {
                        "feature": entry.feature,
                        "metric": item.metric,
                        "value": _value(item.value),
                        "low": low,
                        "high": high,
                        "groups": item.groups_behind,
                        "insufficient": bool(item.insufficient),
                        "definition": item.definition,
                    }
                )
        if feature is not None and not rows:
            self.feature(feature)  # raises, naming the audited features
        return pd.DataFrame(rows)

    def verdicts(self) -> pd.DataFrame:
        """One row per policy verdict: rule, feature, group(s), value, interval, outcome."""
        columns = ["rule", "feature", "group", "groups", "value", "low", "high", "verdict"]
        rows = [
            {
                "rule": v.rule,
                "feature": v.feature,
                "group": v.group,
                "groups": v.groups_behind,
                "value": _value(v.value),
                "low": v.ci[0] if v.ci else math.nan,
                "high": v.ci[1] if v.ci else math.nan,
                "verdict": v.verdict,
                "fails_gate": v.fails_gate,
                "reason": v.reason,
                "class_label": v.class_label,
            }
            for v in self.rule_verdicts
        ]
        extra = ["class_label"] if self.classes is not None else []  # multiclass: the class
        return pd.DataFrame(rows, columns=[*columns, "fails_gate", "reason", *extra])

    # --- files ----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The result as plain JSON data (what ``results.json`` holds)."""
        return json.loads(self.to_json())

    def to_json(self, indent: int | None = 2) -> str:
        """The result as ``results.json`` text (strict JSON: undefined numbers are null).

        Optional fields a stage did not write are left out, not written as null, so a
        result saved and loaded again is the same text.
        """
        return self.model_dump_json(by_alias=True, indent=indent, exclude_unset=True)

    @classmethod
    def from_dict(cls, raw: Any, source: str = "the result") -> AuditResult:
        """Validate plain data as a result of this schema version.

        Raises
        ------
        AuditError
            When it is not a rai-audit result, was written by another major schema
            version, or lacks a section or field (named in the message).
        """
        if not isinstance(raw, dict) or "schema_version" not in raw:
            raise AuditError(f"{source} is not a rai-audit results file (no schema_version).")
        version = str(raw["schema_version"])
        if version.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
            raise AuditError(
                f"{source} has schema_version {printable(version)}; this rai-audit reads "
                f"{SCHEMA_VERSION.split('.')[0]}.x. Re-run the audit with this version."
            )
        try:
            return cls.model_validate(upgrade_older_result(plain(raw)))
        except ValidationError as exc:
            problems = _problems(exc)
        raise AuditError(
            f"{source} is not a complete rai-audit result: {problems}. Re-run the audit to "
            "write a complete results.json."
        )

    @classmethod
    def load(cls, path: str | Path) -> AuditResult:
        """Read a saved ``results.json``, or the one in an audit's output folder.

        Raises
        ------
        AuditError
            When the file is missing (or the folder holds none), not JSON, or not a result
            this version reads.
        """
        path = Path(path)
        if path.is_dir():
            if not (path / RESULTS_FILE).is_file():
                raise AuditError(
                    f"{path} holds no {RESULTS_FILE}. Give the output folder of "
                    f"`rai-audit run` or the {RESULTS_FILE} it wrote."
                )
            path = path / RESULTS_FILE
        if not path.is_file():
            raise AuditError(f"Results file not found: {path}. {GIVE_RESULTS}")
        text = read_text(path, "Results file")
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            # The position, never the text: the file may be anything (see audit.text).
            raise AuditError(
                f"{path} is not valid JSON: {parse_problem(exc)}. {GIVE_RESULTS}"
            ) from None
        return cls.from_dict(raw, str(path))

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """The JSON Schema of ``results.json`` (what ``rai-audit schema`` prints)."""
        schema = _without_default_keywords(
            cls.model_json_schema(by_alias=True, mode="serialization")
        )
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["title"] = f"rai-audit results.json, schema version {SCHEMA_VERSION}"
        return schema

    def save(
        self,
        directory: str | Path,
        formats: Iterable[str] = ("json", "html", "pdf"),
        *,
        force: bool = False,
        sign_key: str | Path | None = None,
    ) -> list[Path]:
        """Write ``results.json`` and/or the HTML and PDF report (and the models this run
        trained) into ``directory``, as ``rai-audit run`` does, with ``manifest.json`` (the
        SHA-256 of every file; check it with ``rai-audit verify``).

        The folder is replaced as a unit (see :mod:`audit.outputs`): on any failure nothing
        in it changes; a folder holding files rai-audit did not write is refused unless
        ``force``. ``sign_key``, the path of an Ed25519 private key (PEM), signs the
        manifest (``manifest.json.sig``). Returns the paths written.
        """
        # Rendering lives in audit.report and audit.outputs, above this module: imported
        # when asked for, so reading a result needs neither matplotlib nor WeasyPrint.
        from audit.outputs import OutputFolder, write_result
        from audit.signing import load_private_key

        key = load_private_key(sign_key) if sign_key is not None else None
        with OutputFolder(Path(directory), force=force, sign_key=key) as folder:
            return write_result(
                folder,
                self.to_json(),
                list(formats),
                self.models_to_save,
                read_from=self.read_from,
            )

    def compare(self, other: AuditResult | str | os.PathLike[str]) -> Comparison:
        """What changed from this audit (the old one) to ``other`` (the new one: a result,
        or the path of a saved results.json or of the audit folder holding one), as
        ``rai-audit compare OLD NEW`` shows it: file hashes, settings, every verdict (better,
        same, worse), every disparity (beyond or within noise), performance and data-quality
        findings. ``.worse`` is True when a verdict of a rule both checked got worse.

        Raises
        ------
        TypeError
            When ``other`` is neither a result nor a path.
        AuditError
            When the path holds no result this version reads.
        """
        # The comparison reads results; it lives above this module (see save()).
        from audit.comparison import compare

        if isinstance(other, str | os.PathLike):
            other = AuditResult.load(other)
        elif not isinstance(other, AuditResult):
            raise TypeError(
                "compare() takes an AuditResult, or the path of a results.json or of an audit "
                f"folder, not {type(other).__name__}."
            )
        return compare(self, other)

    def _repr_html_(self) -> str:
        """The report's first page (verdict, key numbers, top findings), for notebooks."""
        from audit.report.render import render_summary

        return render_summary(self.to_dict())


def _metrics_of(entry: FeatureFairness) -> list[str]:
    from audit.vocabulary.metrics import COUNT_RATES, REGRESSION_METRICS, SCORE_METRICS

    names = [*COUNT_RATES, *SCORE_METRICS, *REGRESSION_METRICS]
    return [m for m in names if any(g.metric(m) is not None for g in entry.groups)]


def _value(value: float | None) -> float:
    return math.nan if value is None else float(value)


def plain(value: Any) -> Any:
    """numpy types -> Python; NaN/inf -> None, so every number is strict JSON."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def _problems(exc: ValidationError, limit: int = 5) -> str:
    """The first few validation problems, each naming its section and field."""
    parts = []
    for error in exc.errors()[:limit]:
        where = ".".join(str(p) for p in error["loc"])
        if error["type"] == "missing":
            kind = "section" if len(error["loc"]) == 1 else "field"
            parts.append(f"missing {kind} '{printable(where)}'")
        else:
            parts.append(f"'{printable(where)}': {error['msg']}")
    more = len(exc.errors()) - limit
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def _without_default_keywords(node: Any) -> Any:
    """Drop what some pydantic versions write and others do not, where it adds nothing, so
    the published schema does not depend on which pydantic is installed:
    ``additionalProperties: true`` (JSON Schema's default; pydantic >= 2.9 writes it for
    free-form mappings) and the ``type`` beside a ``const`` (the constant fixes the type;
    newer pydantic writes both for a Literal)."""
    if isinstance(node, dict):
        return {
            key: _without_default_keywords(value)
            for key, value in node.items()
            if not (key == "additionalProperties" and value is True)
            and not (key == "type" and "const" in node)
        }
    if isinstance(node, list):
        return [_without_default_keywords(value) for value in node]
    return node
