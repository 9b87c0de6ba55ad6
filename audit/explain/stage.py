"""The explanation stage of an audit: from the evaluation to result["explanations"]."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from audit import models
from audit.config import AuditConfig
from audit.explain.explanation import explain

if TYPE_CHECKING:  # the pipeline imports this module: avoid an import cycle at run time
    from audit.data import AuditData
    from audit.pipeline import Evaluation


def explain_evaluation(
    config: AuditConfig, data: AuditData, evaluation: Evaluation
) -> dict[str, Any]:
    """Explain the audited model on its evaluated rows (or run proxy detection alone).

    The background of the linear and permutation explainers is a random sample of the
    training rows (the data the model learned from); a predictions-only audit has no
    model, so only proxies are reported, on all its rows.
    """
    if not config.explain.enabled:
        return {"status": "disabled", "reason": "explain.enabled is false in the configuration."}
    rows = data.frame.iloc[evaluation.rows]
    sensitive = rows[data.sensitive].reset_index(drop=True)
    if evaluation.model is None:
        X = rows[data.features]
        background = None
    else:
        X = models.as_model_input(rows, evaluation.input_columns)
        train = data.frame.iloc[evaluation.train_rows]
        background = models.as_model_input(train, evaluation.input_columns)
    return explain(
        evaluation.model,
        X,
        sensitive,
        evaluation.y_true,
        evaluation.y_pred,
        evaluation.scores,
        config,
        background=background,
    )
