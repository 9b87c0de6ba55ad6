"""The explanation stage of an audit: from the evaluation to result["explanations"]."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from audit import models
from audit.config import AuditConfig
from audit.evaluation import Evaluation, model_decisions, strategy_rule
from audit.explain.classes import explain_classes
from audit.explain.explanation import explain
from audit.multiclass import class_names, model_classes

if TYPE_CHECKING:
    from audit.data import AuditData


def explain_evaluation(
    config: AuditConfig,
    data: AuditData,
    evaluation: Evaluation,
    proxies: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Explain the audited model on its evaluated rows (or report proxies alone).

    The background of the linear and permutation explainers is a random sample of the
    training rows (the data the model learned from); a predictions-only audit has no
    model, so only proxies are reported. ``proxies`` is the data-quality stage's
    association table (all rows), crossed here with the model's importance.
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
    if background is not None and len(background) == 0:
        background = None  # a loaded model audited on every row: the evaluated rows stand in
    if config.data.task == "multiclass" and evaluation.model is not None:
        assert data.classes is not None
        names = class_names(data.classes)
        codes = model_classes(evaluation.model, data.classes, "The model")
        return explain_classes(
            evaluation.model,
            X,
            sensitive,
            [names[c] for c in codes],
            config.explain,
            seed=config.seed,
            background=background,
            proxies=proxies,
        )
    return explain(
        evaluation.model,
        X,
        sensitive,
        evaluation.y_true,
        evaluation.y_pred,
        evaluation.scores,
        config.explain,
        seed=config.seed,
        threshold=evaluation.rule.oriented_threshold,
        positive=evaluation.output.positive_index if evaluation.output else None,
        proxies=proxies,
        background=background,
        regression=config.data.task == "regression",
    )


def explain_mitigated(
    config: AuditConfig,
    data: AuditData,
    evaluation: Evaluation,
    fitted: dict[str, Any],
    proxies: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Explanations of the mitigated models, in a summary form, one per strategy.

    A model retrained on other weights or inputs (reweighing, correlation remover) is
    explained like the audited one. A post-processed model (threshold optimizer) keeps
    the audited model as its base, so that explanation stands; its per-group rules are
    the mitigation result's ``details.rules`` and are not copied here. Randomized
    mixtures of many models (exponentiated gradient, grid search's best model aside) are
    not explained: SHAP values of a mixture's decision
    probability are not what a reviewer would read as the model's reasons.
    """
    from audit.vocabulary import strategies as catalogue

    if not config.explain.enabled or evaluation.model is None:
        return []
    rows = data.frame.iloc[evaluation.rows]
    sensitive = rows[data.sensitive].reset_index(drop=True)
    train = data.frame.iloc[evaluation.train_rows]
    variants = []
    for name, model in fitted.items():
        label = catalogue.label(name)
        method = catalogue.method_of(name)
        if method == "threshold_optimizer":
            variants.append(
                {
                    "label": label,
                    "status": "base_model",
                    # Its per-group rules are the mitigation result's (one field, one table).
                    "reason": "Post-processing: the base model is the audited model explained "
                    "above; per-group decision rules, stated with the strategy, turn its score "
                    "into decisions.",
                }
            )
        elif method in ("reweighing", "correlation_remover"):
            columns = models.model_input_columns(model, data.features)
            X = models.as_model_input(rows, columns)
            output, rule = strategy_rule(model, config.model.threshold, f"The {label} model")
            y_pred, scores = model_decisions(model, X, output, rule)
            # A loaded model audited on every row has no training rows (its strategies were
            # refitted on every row): the evaluated rows stand in, as for the audited model.
            background = models.as_model_input(train, columns) if len(train) else None
            summary = explain(
                model,
                X,
                sensitive,
                evaluation.y_true,
                y_pred,
                scores,
                config.explain,
                seed=config.seed,
                threshold=rule.oriented_threshold,
                positive=output.positive_index,
                proxies=proxies,
                background=background,
                detail="summary",
            )
            variants.append({"label": label, **summary})
        else:
            variants.append(
                {
                    "label": label,
                    "status": "not_explained",
                    "reason": "A randomized mixture of several models: its decisions are "
                    "drawn, not computed from the features, so it is not explained here.",
                }
            )
    return variants
