"""The compliance stage: a section of the result per named rule asked for (``compliance``).

Local Law 144 and the EEOC adverse-impact analysis count the evaluated rows, so they run
once the decisions are made; the EU AI Act evidence map reads the assembled result, so it
runs last, after the checklist (:func:`add_evidence_map`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from audit.compliance.eu_ai_act import evidence_map
from audit.compliance.ll144 import ll144_section
from audit.config import AuditConfig
from audit.data import AuditData
from audit.errors import AuditError
from audit.metrics.groups import bin_column, intersection_sets
from audit.result import AuditResult
from audit.vocabulary.compliance import EEOC, EU_AI_ACT, NYC_LL144
from audit.vocabulary.groups import SEPARATOR

if TYPE_CHECKING:  # only a type here: evaluation imports scikit-learn
    from audit.evaluation import Evaluation


def check_compliance_data(config: AuditConfig, data: AuditData, rows: np.ndarray) -> None:
    """Fail before any work when a rule's columns, categories or exclusions do not fit the
    data; ``rows`` are the rows to be evaluated (the applicants of a Local Law 144 audit)."""
    regression = config.data.task == "regression"
    if regression and EEOC in config.compliance.rules:
        raise AuditError(
            f"The compliance rule(s) {EEOC} count who was selected, which a regression audit "
            "does not decide. Audit the decisions (a classification) or remove the rule(s) "
            "from compliance.rules."
        )
    settings = config.compliance.nyc_ll144
    if NYC_LL144 not in config.compliance.rules or settings is None:
        return
    if regression and _ll144_mode(config) != "scoring":
        raise AuditError(
            "compliance.nyc_ll144.mode: selection counts who was selected, which a regression "
            "audit does not decide. Use mode: scoring (or auto): the share of each category "
            "whose prediction is above the median prediction."
        )
    for key, column in (("sex", settings.sex), ("race_ethnicity", settings.race_ethnicity)):
        if column not in data.frame.columns:
            raise AuditError(
                f"compliance.nyc_ll144.{key} names the column {column!r}, which is not in "
                f"the data ({data.source}). Name the column that holds each applicant's "
                f"{key.replace('_', '/')}."
            )
    if _ll144_mode(config) == "scoring" and config.mode == "predictions" and not regression:
        if not config.predictions.score_column:
            raise AuditError(
                "compliance.nyc_ll144.mode: scoring needs scores, but this audit reads "
                "decisions (predictions.prediction_column). Set mode: selection, or audit "
                "the score column (predictions.score_column)."
            )
    # The tables on these rows with no one selected: the category mappings and the 2% limit
    # of the exclusions are checked now, not after the model is trained.
    frame = data.frame.loc[rows]
    ll144_section(
        np.zeros(len(frame)),
        frame[settings.sex],
        frame[settings.race_ethnicity],
        settings,
        "selection",
        "",
    )


def compliance_rows(
    config: AuditConfig, data: AuditData, evaluation: Evaluation
) -> dict[str, Any] | None:
    """The rules that count the evaluated rows (LL144, EEOC); None when no rule is asked."""
    rules = config.compliance.rules
    if not rules:
        return None
    section: dict[str, Any] = {"rules": list(rules)}
    if NYC_LL144 in rules:
        section[NYC_LL144] = _ll144(config, data, evaluation)
    if EEOC in rules:
        section[EEOC] = _eeoc(config, data, evaluation)
    return section


def add_evidence_map(section: dict[str, Any] | None, result: AuditResult) -> None:
    """Add the EU AI Act evidence map to ``section``, read from the assembled ``result``."""
    if section is not None and EU_AI_ACT in section["rules"]:
        section[EU_AI_ACT] = evidence_map(result)


def _ll144_mode(config: AuditConfig) -> str:
    settings = config.compliance.nyc_ll144
    assert settings is not None  # the config requires the settings with the rule
    if settings.mode != "auto":
        return settings.mode
    # A tool that outputs a score (or a regressor's number) is audited on scoring rates; one
    # that decides, on selections.
    scored = config.predictions.score_column or config.data.task == "regression"
    return "scoring" if scored else "selection"


def _ll144(config: AuditConfig, data: AuditData, evaluation: Evaluation) -> dict[str, Any]:
    settings = config.compliance.nyc_ll144
    assert settings is not None
    mode = _ll144_mode(config)
    rule = evaluation.model_info.get("decision_rule") or {}
    if mode == "scoring" and config.data.task == "regression":
        lower = False  # a higher prediction is taken as the more favourable
        outcome = evaluation.y_pred
        text = f"the prediction ({rule.get('text', 'numeric')})"
    elif mode == "scoring":
        if evaluation.scores is None:
            raise AuditError(
                "compliance.nyc_ll144.mode: scoring needs scores, but the audited model gives "
                "decisions only. Set mode: selection."
            )
        lower = rule.get("direction") == "lower_is_positive"
        # The evaluation's scores are oriented (higher = positive): back to the tool's own
        # scale, so the median published is the one its users know.
        outcome = -evaluation.scores if lower else evaluation.scores
        direction = " (a lower score is more favourable)" if lower else ""
        text = f"the score '{rule.get('score') or 'P(positive)'}'{direction}"
    else:
        lower = False
        outcome = evaluation.y_pred
        text = f"selected when the decision is positive ({rule.get('text', 'as made')})"
    frame = data.frame.loc[evaluation.rows].reset_index(drop=True)
    section = ll144_section(
        outcome, frame[settings.sex], frame[settings.race_ethnicity], settings, mode, text, lower
    )
    if len(frame) < len(data.frame):  # e.g. the held-out rows of a model trained here
        section["notes"].append(
            f"The applicants counted are the {len(frame):,} evaluated rows, not every row of "
            f"the data: {evaluation.plan_why}."
        )
    return section


def _eeoc(config: AuditConfig, data: AuditData, evaluation: Evaluation) -> dict[str, Any]:
    # Imported here: its tests need scipy.stats and scipy.optimize (~1 s), only for EEOC.
    from audit.compliance.eeoc import eeoc_section

    frame = data.frame.loc[evaluation.rows].reset_index(drop=True)
    selected = np.asarray(evaluation.y_pred).astype(bool)
    groups = eeoc_groups(frame, data.sensitive, config)
    return eeoc_section(selected, groups, config.fairness.bootstrap.confidence)


def eeoc_groups(
    frame: pd.DataFrame, sensitive: list[str], config: AuditConfig
) -> dict[str, pd.Series]:
    """Each sensitive feature's group label per row, and each intersection's, as the fairness
    section names them (binned where fairness.bins says, joined with " × "); NaN where a
    value is missing (the EEOC analysis leaves those rows out of that feature)."""
    singles: dict[str, pd.Series] = {}
    for column in sensitive:
        values = frame[column]
        spec = config.fairness.bins.get(column)
        if spec is None:
            singles[column] = values.astype(str).where(values.notna(), np.nan)
        else:
            codes, info = bin_column(values, spec.model_dump(exclude_none=True), column)
            singles[column] = codes.map(dict(enumerate(info["labels"])))  # NaN stays NaN
    groups = dict(singles)
    for combo in intersection_sets(sensitive, config.fairness.intersections):
        first, *rest = (singles[column].astype(object) for column in combo)
        groups[SEPARATOR.join(combo)] = first.str.cat(rest, sep=SEPARATOR)  # NaN if any is
    return groups
