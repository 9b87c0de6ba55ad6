"""Run the data-quality checks and stop the audit on error-severity findings.

The result (``result["quality"]``) holds every check with the rule it applied
(thresholds written out), whether it ran, its findings sorted by severity, and
the tables the report shows: representation and base rates by group, missing
values, associations with sensitive attributes, single-column AUCs and
train/test shift.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from audit.config import AuditConfig, QualityConfig
from audit.data import AuditData
from audit.errors import AuditError
from audit.metrics.association import DEFAULT_THRESHOLDS, MAX_P_VALUE
from audit.quality import columns, groups, label, rows, split
from audit.quality.findings import SEVERITY_ORDER, CheckSkipped, Finding, QualityInput
from audit.text import printable
from audit.vocabulary.checks import CHECKS, SPLIT_CHECKS

CHECK_FUNCTIONS: dict[str, Callable[[QualityInput], list[Finding]]] = {
    "missing_values": columns.missing_values,
    "missing_by_group": groups.missing_by_group,
    "null_markers": columns.null_markers,
    "duplicates": rows.duplicates,
    "conflicting_labels": rows.conflicting_labels,
    "constant_columns": columns.constant_columns,
    "id_like": columns.id_like,
    "high_cardinality": columns.high_cardinality,
    "outliers": columns.outliers,
    "sentinel_codes": columns.sentinel_codes,
    "label_imbalance": label.label_imbalance,
    "representation": groups.representation,
    "base_rate": groups.base_rate,
    "leakage": label.leakage,
    "proxy_association": groups.proxy_association,
    "unseen_categories": split.unseen_categories,
    "distribution_shift": split.distribution_shift,
    "train_test_overlap": split.train_test_overlap,
}
assert list(CHECK_FUNCTIONS) == list(CHECKS), "catalog and functions out of step"


def _proxy_limit(cfg: QualityConfig) -> float:
    if cfg.proxy_association is not None:
        return cfg.proxy_association
    return DEFAULT_THRESHOLDS[cfg.proxy_method]


def _p(value: float) -> str:
    return f"{100 * value:g}%"


def rule(check: str, cfg: QualityConfig) -> str:
    """The rule a check applies, with this audit's thresholds written out."""
    rules = {
        "missing_values": (
            f"warning when a column misses ≥ {_p(cfg.missing_warning)} of its values (info "
            f"below); any missing value in a sensitive column is a warning, ≥ "
            f"{_p(cfg.sensitive_missing_error)} an error"
        ),
        "missing_by_group": (
            f"warning when a column's missing share differs by ≥ {cfg.missing_group_gap:g} "
            f"between groups of a sensitive attribute (groups of ≥ {cfg.min_group_rows} rows)"
        ),
        "null_markers": (
            "warning when text that means 'missing' ("
            + ", ".join(repr(m) for m in cfg.null_markers[:8])
            + (" …" if len(cfg.null_markers) > 8 else "")
            + ", case and spaces ignored) is kept as a value, or a column spells missing "
            "values in two or more ways"
        ),
        "duplicates": (
            f"warning when exact duplicate rows are ≥ {_p(cfg.duplicate_warning)} of the rows "
            "(info below); repeated identifiers: warning when the same id labels different "
            "records; a column name repeated in the file with identical values: info (one copy "
            "is audited; copies that differ stop the audit)"
        ),
        "conflicting_labels": (
            f"warning when rows with identical model inputs but different labels are ≥ "
            f"{_p(cfg.conflict_warning)} of the rows (info below)"
        ),
        "constant_columns": (
            "constant (one value or none): warning for a model input, info otherwise; "
            f"near-constant (one value in ≥ {_p(cfg.near_constant_share)} of rows): info"
        ),
        "id_like": (
            f"text column with ≥ {_p(cfg.id_unique_share)} distinct values; whole-number column "
            f"with ≥ {_p(cfg.id_unique_share)} distinct values that runs like a counter (sorted "
            f"in file order, or a range at most {columns.SEQUENCE_SPAN}× the number of values); "
            "or an id-like name with ≥ 50% distinct values: warning for a model input, info "
            "otherwise"
        ),
        "high_cardinality": (
            f"text column with more than {cfg.max_categories} categories: warning for a model "
            "input or sensitive attribute, info otherwise"
        ),
        "outliers": (
            f"robust z = (x − median) / (MAD / 0.6745) (1.2533 × mean absolute deviation when "
            f"MAD is 0); info when |z| > {cfg.outlier_z:g} for ≥ {_p(cfg.outlier_share)} of a "
            f"column, warning when any |z| > {cfg.outlier_extreme_z:g}; numeric columns with "
            "≥ 10 distinct values, identifiers excluded"
        ),
        "sentinel_codes": (
            "a value -1, or made of nines (9, 99, … 9999999, and their negatives), in ≥ 2 rows "
            "that lies outside the column's other values, at least as far from them as their "
            "own range (max − min): warning for a model input, info otherwise; identifiers excluded"
        ),
        "label_imbalance": f"warning when the rarer outcome is < {_p(cfg.imbalance_share)} of rows",
        "representation": (
            f"warning when a group or intersection has < {cfg.min_group_rows} rows or < "
            f"{_p(cfg.small_group_share)} of the rows (absent combinations included)"
        ),
        "base_rate": (
            f"warning when group base rates differ by ≥ {cfg.base_rate_gap:g} (groups of ≥ "
            f"{cfg.min_group_rows} rows) or a group has only one outcome"
        ),
        "leakage": (
            f"single model input's ROC AUC for the label: warning ≥ {cfg.leakage_auc_warning:g}, "
            f"error ≥ {cfg.leakage_auc_error:g} (a warning when the rarer outcome has < "
            f"{cfg.min_group_rows} rows or in a predictions-only audit); numeric (regression) "
            f"targets: the correlation of one input with the target (|Spearman| or correlation "
            f"ratio), warning ≥ {cfg.leakage_correlation_warning:g}, error ≥ "
            f"{cfg.leakage_correlation_error:g}; only declared inputs in a predictions-only audit"
        ),
        "proxy_association": (
            (
                "warning when Cramér's V (categorical) or the correlation ratio η (numeric) "
                "between a model input and a sensitive attribute is ≥ "
                f"{_proxy_limit(cfg):g} and the chi-square / ANOVA test of no association "
                f"gives p < {MAX_P_VALUE:g}"
            )
            if cfg.proxy_method == "cramers_v"
            else (
                "warning when the normalised mutual information I(input; attribute) / "
                f"H(attribute) is ≥ {_proxy_limit(cfg):g}"
            )
        ),
        "unseen_categories": (
            f"warning when test rows with categories unseen in training are ≥ "
            f"{_p(cfg.unseen_share)} of test rows (info below)"
        ),
        "distribution_shift": (
            f"population stability index over {split.PSI_BINS} training-quantile bins (or the "
            f"categories): info ≥ {cfg.shift_psi_info:g}, warning ≥ {cfg.shift_psi_warning:g}"
        ),
        "train_test_overlap": (
            f"test rows that copy a training row (inputs and label): warning when any, error when "
            f"≥ {_p(cfg.overlap_error)} of test rows"
        ),
    }
    return rules[check]


def run_checks(inp: QualityInput) -> dict[str, Any]:
    """Run every enabled check on ``inp`` and collect checks, findings and tables."""
    cfg = inp.settings
    checks, findings = [], []
    for check, function in CHECK_FUNCTIONS.items():
        title, description = CHECKS[check]
        entry = {
            "id": check,
            "title": title,
            "description": description,
            "rule": rule(check, cfg),
            "status": "ran",
            "reason": None,
            "findings": 0,
        }
        if check in cfg.disable:
            entry.update(status="disabled", reason="turned off in quality.disable")
        elif check in inp.skipped_checks:
            entry.update(status="skipped", reason=inp.skipped_checks[check])
        elif check in SPLIT_CHECKS and not inp.has_split:
            entry.update(
                status="skipped",
                reason="no model was trained in this audit, so there are no training rows to "
                "compare the evaluated rows with",
            )
        else:
            try:
                found = function(inp)
            except CheckSkipped as skipped:
                entry.update(status="skipped", reason=str(skipped))
                found = []
            if check in cfg.severity:
                for finding in found:
                    finding.evidence["severity_by_rule"] = finding.severity
                    finding.severity = cfg.severity[check]
                entry["severity_set_to"] = cfg.severity[check]
            entry["findings"] = len(found)
            findings.extend(found)
        checks.append(entry)
    order = list(CHECK_FUNCTIONS)
    findings.sort(key=lambda f: (SEVERITY_ORDER[f.severity], order.index(f.check)))
    counts = {level: sum(f.severity == level for f in findings) for level in SEVERITY_ORDER}
    entries = [f.to_dict() for f in findings]
    _add_anchors(entries)
    return {
        "n_rows": inp.n_rows,
        "split": (
            {"train_rows": int(len(inp.train_rows)), "test_rows": int(len(inp.test_rows))}
            if inp.has_split
            else None
        ),
        "settings": cfg.model_dump(mode="json"),
        "checks": checks,
        "findings": entries,
        "counts": counts,
        "errors_overridden": False,
        "tables": _tables(inp, checks),
    }


def _add_anchors(entries: list[dict[str, Any]]) -> None:
    """A unique HTML id per finding (ids hold group labels: spaces, ×, user text)."""
    used: set[str] = set()
    for entry in entries:
        base = "quality-" + re.sub(r"[^A-Za-z0-9_.:-]+", "-", entry["id"]).strip("-")
        anchor, n = base, 1
        while anchor in used:
            n += 1
            anchor = f"{base}-{n}"
        used.add(anchor)
        entry["anchor"] = anchor


def _tables(inp: QualityInput, checks: list[dict[str, Any]]) -> dict[str, Any]:
    ran = {c["id"] for c in checks if c["status"] == "ran"}
    tables: dict[str, Any] = {"missing": columns.missing_table(inp)}
    if "representation" not in inp.skipped_checks:
        tables["representation"] = groups.representation_table(inp)
    if "missing_by_group" in ran:
        tables["missing_by_group"] = groups.missing_by_group_table(inp)
    if "proxy_association" in ran:
        tables["proxies"] = groups.association_table(inp)
    if "leakage" in ran and inp.task == "regression":
        tables["single_feature_correlation"] = label.correlation_table(inp)
    elif "leakage" in ran:
        tables["single_feature_auc"] = label.auc_table(inp)
    if "distribution_shift" in ran:
        tables["shift"] = split.shift_table(inp)
    return tables


def _raw_text(data: AuditData) -> pd.DataFrame | None:
    """The CSV's cells as written: the reader turns '', 'NA', 'n/a'... into missing values,
    and only the raw text shows which spellings the file mixed.

    Only the columns that came out of the reader with missing values are read again (by
    position, as the loader keeps the file's column order): in the others the loaded
    values are the file's text already, so re-reading them would only cost time and memory.
    """
    if data.path is None or data.path.suffix.lower() not in (".csv", ".txt"):
        return None
    positions = [
        i for i, column in enumerate(data.frame.columns) if data.frame[column].isna().any()
    ]
    if not positions:
        return None
    try:
        raw = pd.read_csv(
            data.path, dtype=str, keep_default_na=False, na_filter=False, usecols=positions
        )
    except Exception:  # the loader already read the file; without the raw view, just skip it
        return None
    raw.columns = [str(data.frame.columns[i]) for i in positions]
    return raw


def assess_quality(
    data: AuditData,
    config: AuditConfig,
    split: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, Any]:
    """Check the loaded data (and its train/test ``split``, when there is one) before training."""
    train, test = split if split is not None else (None, None)
    inp = QualityInput(
        frame=data.frame,
        target=data.target,
        y=np.asarray(data.y),
        features=list(data.features),
        sensitive=list(data.sensitive),
        settings=config.quality,
        raw_text=_raw_text(data) if "null_markers" not in config.quality.disable else None,
        train_rows=train,
        test_rows=test,
        trains_model=config.mode != "predictions",
        rows_without_target=data.rows_without_target,
        positive_label=data.positive_label,
        task=config.data.task,
        prediction=data.prediction,
        score=data.score,
        weight=data.weight,
        repeated_columns=data.repeated_columns,
    )
    report = run_checks(inp)
    if config.mode == "model_file":
        report["note"] = (
            "The model was loaded from a file: 'training rows' are the rows this audit did not "
            "hold out, not necessarily the data the model was fitted on."
        )
    return report


def stop_on_errors(report: dict[str, Any], config: AuditConfig) -> None:
    """Raise AuditError when there are error findings, unless the user allowed them."""
    errors = [f for f in report["findings"] if f["severity"] == "error"]
    if not errors:
        return
    if config.quality.allow_errors:
        report["errors_overridden"] = True
        return
    # One line (an error message is one line): the findings by id, the first few in full.
    listed = "; ".join(
        f"[{f['id']}] {printable(f['message'].rstrip('.'), 300)}" for f in errors[:3]
    )
    if len(errors) > 3:
        listed += f"; and {len(errors) - 3} more ({', '.join(f['id'] for f in errors[3:])})"
    raise AuditError(
        f"The data-quality checks found {len(errors)} error(s), so the audit stopped before "
        f"training: {listed}. Fix the data, adjust the thresholds in the `quality:` section "
        "of the config, or re-run with --allow-quality-errors (quality.allow_errors: true) to "
        "audit anyway with the errors shown in the report."
    )
